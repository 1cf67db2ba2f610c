// Logging a contact with a customer: what it was ("call", "demo"), the
// channel, when it happened (now, unless the agent says otherwise: a call
// made yesterday is logged today), a note, and an optional follow-up date
// (a reminder fires then).

import { commands, type CustomerInteraction_Serialize } from "../bindings";
import { DateInput, describedBy, Field } from "../components/Field";
import { EnumSelect } from "../components/EnumSelect";
import { Form, FormFooter } from "../components/Form";
import { useApp } from "../context";
import { emptyInteractionForm, interactionDraft, type InteractionForm as State } from "../forms";
import { useForm } from "../useForm";
import { isoToLocalInput, localInputToIso } from "../datetime";

interface InteractionFormProps {
  customerId: string;
  onSaved: (interaction: CustomerInteraction_Serialize) => void;
  onCancel: () => void;
}

// customer_id has no field here: a message about it goes in the banner.
const SHOWN = ["type", "channel", "note", "follow_up_date", "occurred_at"];

/** Whether a follow-up date (a datetime-local value) is already past. */
function followUpInPast(value: string): boolean {
  const iso = localInputToIso(value);
  return iso !== null && new Date(iso).getTime() < Date.now();
}

export function InteractionForm({ customerId, onSaved, onCancel }: InteractionFormProps) {
  const { vocabulary } = useApp();
  const { form, set, messages, formError, saving, submit } = useForm<State, ReturnType<typeof interactionDraft>>(
    () => emptyInteractionForm(vocabulary),
    {
      toDraft: (state) => interactionDraft(state, customerId),
      check: commands.checkInteraction,
      wireNames: { follow_up: "follow_up_date", occurred: "occurred_at" },
    },
  );

  async function save() {
    const saved = await submit((draft) => commands.logInteraction(draft));
    if (saved) onSaved(saved);
  }

  return (
    <Form class="form" onSubmit={save} aria-label="Log interaction">
      <div class="field-row">
        <Field id="interaction-type" label="What" field="type" messages={messages} required hint="For example: call, demo, renewal">
          <input
            id="interaction-type"
            value={form.type}
            autocomplete="off"
            placeholder="call"
            {...describedBy("interaction-type", messages, "type")}
            onInput={(e) => set("type", e.currentTarget.value)}
          />
        </Field>
        <Field id="interaction-channel" label="Channel" field="channel" messages={messages}>
          <EnumSelect
            id="interaction-channel"
            value={form.channel}
            choices={vocabulary.channels}
            onChange={(channel) => set("channel", channel)}
          />
        </Field>
      </div>
      <Field
        id="interaction-occurred"
        label="When"
        field="occurred_at"
        messages={messages}
        hint="Leave empty for just now; set it for a contact made earlier."
      >
        <DateInput
          id="interaction-occurred"
          value={form.occurred ?? ""}
          max={isoToLocalInput(new Date().toISOString())}
          aria={describedBy("interaction-occurred", messages, "occurred_at")}
          onValue={(value) => set("occurred", value)}
        />
      </Field>
      <Field id="interaction-note" label="Note" field="note" messages={messages}>
        <textarea
          id="interaction-note"
          rows={5}
          value={form.note}
          {...describedBy("interaction-note", messages, "note")}
          onInput={(e) => set("note", e.currentTarget.value)}
        />
      </Field>
      <Field
        id="interaction-follow-up"
        label="Follow up on"
        field="follow_up_date"
        messages={messages}
        hint="Optional: you get a reminder then."
      >
        <DateInput
          id="interaction-follow-up"
          value={form.follow_up}
          aria={describedBy("interaction-follow-up", messages, "follow_up_date")}
          onValue={(value) => set("follow_up", value)}
        />
        {followUpInPast(form.follow_up) && (
          <p id="interaction-follow-up-past" class="field-warning" role="status">
            That is in the past: the reminder will show at once, as overdue.
          </p>
        )}
      </Field>
      <FormFooter
        messages={messages}
        shown={SHOWN}
        formError={formError}
        saving={saving}
        cancelId="interaction-cancel"
        saveId="interaction-save"
        saveLabel="Log interaction"
        saveTitle="Save (Ctrl+Enter)"
        onCancel={onCancel}
      />
    </Form>
  );
}
