// Opening a ticket: title, description, priority and (optionally) the
// customer, found by searching (CustomerPicker) and preset when opened from
// a customer's page. A new ticket starts "open" and unassigned; the app
// then shows its page.

import { useState } from "preact/hooks";
import { commands, type Ticket_Serialize } from "../bindings";
import { CustomerPicker, type ChosenCustomer } from "../components/CustomerPicker";
import { describedBy, Field } from "../components/Field";
import { EnumSelect } from "../components/EnumSelect";
import { Form, FormFooter } from "../components/Form";
import { useApp } from "../context";
import { emptyTicketForm, ticketDraft, type TicketForm as State } from "../forms";
import { useForm } from "../useForm";

interface TicketFormProps {
  customer?: { id: string; name: string };
  onSaved: (ticket: Ticket_Serialize) => void;
  onCancel: () => void;
}

const SHOWN = ["title", "description", "priority", "customer_id", "assigned_to"];

export function TicketForm({ customer, onSaved, onCancel }: TicketFormProps) {
  const { vocabulary } = useApp();
  const { form, set, messages, formError, saving, submit } = useForm<State, ReturnType<typeof ticketDraft>>(
    () => emptyTicketForm(vocabulary, customer?.id ?? ""),
    { toDraft: ticketDraft, check: commands.checkTicket },
  );
  /** The chosen customer's name beside its id (the form state holds only the id). */
  const [chosen, setChosen] = useState<ChosenCustomer | null>(customer ? { id: customer.id, name: customer.name } : null);

  function chooseCustomer(next: ChosenCustomer | null) {
    setChosen(next);
    set("customer_id", next?.id ?? "");
  }

  async function save() {
    const saved = await submit((draft) => commands.openTicket(draft));
    if (saved) onSaved(saved);
  }

  return (
    <Form class="form" onSubmit={save} aria-label="New ticket">
      <Field id="ticket-title" label="Title" field="title" messages={messages} required>
        <input
          id="ticket-title"
          value={form.title}
          autocomplete="off"
          {...describedBy("ticket-title", messages, "title")}
          onInput={(e) => set("title", e.currentTarget.value)}
        />
      </Field>
      <Field id="ticket-description" label="Description" field="description" messages={messages}>
        <textarea
          id="ticket-description"
          rows={6}
          value={form.description}
          {...describedBy("ticket-description", messages, "description")}
          onInput={(e) => set("description", e.currentTarget.value)}
        />
      </Field>
      <div class="field-row">
        <Field id="ticket-priority" label="Priority" field="priority" messages={messages}>
          <EnumSelect
            id="ticket-priority"
            value={form.priority}
            choices={vocabulary.priorities}
            onChange={(priority) => set("priority", priority)}
          />
        </Field>
        <Field id="ticket-customer-search" label="Customer" field="customer_id" messages={messages}>
          <CustomerPicker
            id="ticket-customer"
            value={chosen}
            onChange={chooseCustomer}
            aria={describedBy("ticket-customer-search", messages, "customer_id")}
          />
        </Field>
      </div>
      <FormFooter
        messages={messages}
        shown={SHOWN}
        formError={formError}
        saving={saving}
        cancelId="ticket-cancel"
        saveId="ticket-save"
        saveLabel="Open ticket"
        saveTitle="Open the ticket (Ctrl+Enter)"
        onCancel={onCancel}
      />
    </Form>
  );
}
