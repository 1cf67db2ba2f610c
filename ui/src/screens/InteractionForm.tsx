// Logging a contact with a customer: what it was ("call", "demo"), the
// channel, a note, and an optional follow-up date (a reminder fires then).

import { commands, type CustomerInteraction_Serialize } from "../bindings";
import { describedBy, Field } from "../components/Field";
import { EnumSelect } from "../components/EnumSelect";
import { Form, FormFooter } from "../components/Form";
import { useApp } from "../context";
import { emptyInteractionForm, interactionDraft, type InteractionForm as State } from "../forms";
import { useForm } from "../useForm";

interface InteractionFormProps {
  customerId: string;
  onSaved: (interaction: CustomerInteraction_Serialize) => void;
  onCancel: () => void;
}

const SHOWN = ["type", "channel", "note", "follow_up_date", "customer_id"];

export function InteractionForm({ customerId, onSaved, onCancel }: InteractionFormProps) {
  const { vocabulary } = useApp();
  const { form, set, messages, formError, saving, submit } = useForm<State, ReturnType<typeof interactionDraft>>(
    () => emptyInteractionForm(vocabulary),
    {
      toDraft: (state) => interactionDraft(state, customerId),
      check: commands.checkInteraction,
      wireNames: { follow_up: "follow_up_date" },
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
        <input
          id="interaction-follow-up"
          type="datetime-local"
          value={form.follow_up}
          {...describedBy("interaction-follow-up", messages, "follow_up_date")}
          onInput={(e) => set("follow_up", e.currentTarget.value)}
        />
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
