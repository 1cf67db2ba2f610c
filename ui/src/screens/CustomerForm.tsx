// The customer form, for a new customer and for editing one. Rules are
// checked as the user types (`checkCustomer`, the same rules saving
// applies); saving creates or updates, then the app reloads. An admin also
// chooses the owner (reassigning a customer to another agent); an agent's
// new customers are their own and an edit keeps the owner.

import { commands, type Customer_Serialize } from "../bindings";
import { describedBy, Field } from "../components/Field";
import { EnumSelect } from "../components/EnumSelect";
import { Form, FormFooter } from "../components/Form";
import { useApp } from "../context";
import { customerEdit, customerFormFrom, emptyCustomerForm, newCustomerDraft } from "../forms";
import { ownerChoices } from "../people";
import { useForm } from "../useForm";

interface CustomerFormProps {
  /** The customer being edited; none for a new one. */
  customer?: Customer_Serialize;
  onSaved: (customer: Customer_Serialize) => void;
  onCancel: () => void;
}

const SHOWN = ["name", "email", "phone", "product_id", "acquisition_stage", "status", "is_archived"];

export function CustomerForm({ customer, onSaved, onCancel }: CustomerFormProps) {
  const { vocabulary, products, colleagues, session } = useApp();
  const me = session.account.id;
  /** Only admins may give a customer to someone else. */
  const chooseOwner = session.account.role === "admin";
  const { form, set, messages, formError, saving, submit } = useForm(
    // An admin's new customer starts as their own, like an agent's.
    () => (customer ? customerFormFrom(customer) : emptyCustomerForm(vocabulary, chooseOwner ? me : "")),
    { toDraft: (values) => newCustomerDraft(values, chooseOwner), check: commands.checkCustomer },
  );

  // Inactive products are not offered, except the one the customer already has.
  const productChoices = products.filter((p) => p.is_active || p.id === customer?.product_id);

  async function save() {
    const saved = customer
      ? await submit((_draft, values) => commands.updateCustomer(customer.id, customerEdit(values, customer.owner, chooseOwner)))
      : await submit((draft) => commands.createCustomer(draft));
    if (saved) onSaved(saved);
  }

  return (
    <Form class="form" onSubmit={save} aria-label={customer ? "Edit customer" : "New customer"}>
      <Field id="customer-name" label="Name" field="name" messages={messages} required>
        <input
          id="customer-name"
          value={form.name}
          autocomplete="off"
          {...describedBy("customer-name", messages, "name")}
          onInput={(e) => set("name", e.currentTarget.value)}
        />
      </Field>
      <div class="field-row">
        <Field id="customer-email" label="Email" field="email" messages={messages}>
          <input
            id="customer-email"
            type="email"
            value={form.email}
            autocomplete="off"
            spellcheck={false}
            {...describedBy("customer-email", messages, "email")}
            onInput={(e) => set("email", e.currentTarget.value)}
          />
        </Field>
        <Field id="customer-phone" label="Phone" field="phone" messages={messages}>
          <input
            id="customer-phone"
            type="tel"
            value={form.phone}
            autocomplete="off"
            {...describedBy("customer-phone", messages, "phone")}
            onInput={(e) => set("phone", e.currentTarget.value)}
          />
        </Field>
      </div>
      <Field id="customer-product" label="Product" field="product_id" messages={messages}>
        <select id="customer-product" value={form.product_id} onChange={(e) => set("product_id", e.currentTarget.value)}>
          <option value="">No product</option>
          {productChoices.map((product) => (
            <option key={product.id} value={product.id}>
              {product.name}
              {product.is_active ? "" : " (no longer sold)"}
            </option>
          ))}
        </select>
      </Field>
      <div class="field-row">
        <Field id="customer-stage" label="Stage" field="acquisition_stage" messages={messages}>
          <EnumSelect
            id="customer-stage"
            value={form.acquisition_stage}
            choices={vocabulary.stages}
            onChange={(stage) => set("acquisition_stage", stage)}
          />
        </Field>
        <Field id="customer-status" label="Status" field="status" messages={messages}>
          <EnumSelect
            id="customer-status"
            value={form.status}
            choices={vocabulary.customer_statuses}
            onChange={(status) => set("status", status)}
          />
        </Field>
      </div>
      {chooseOwner && (
        <Field id="customer-owner" label="Owner" field="owner" messages={messages}>
          <select
            id="customer-owner"
            value={form.owner}
            {...describedBy("customer-owner", messages, "owner")}
            onChange={(e) => set("owner", e.currentTarget.value)}
          >
            {ownerChoices(colleagues, customer ? customer.owner : me, me).map((choice) => (
              <option key={choice.id} value={choice.id}>
                {choice.label}
              </option>
            ))}
          </select>
        </Field>
      )}
      {customer && (
        <div class="field checkbox">
          <label>
            <input
              id="customer-archived"
              type="checkbox"
              checked={form.is_archived}
              onChange={(e) => set("is_archived", e.currentTarget.checked)}
            />
            Archived <span class="muted">(hidden from the customer list)</span>
          </label>
        </div>
      )}
      <FormFooter
        messages={messages}
        shown={chooseOwner ? [...SHOWN, "owner"] : SHOWN}
        formError={formError}
        saving={saving}
        cancelId="customer-cancel"
        saveId="customer-save"
        saveLabel={customer ? "Save changes" : "Create customer"}
        saveTitle="Save (Enter or Ctrl+Enter)"
        onCancel={onCancel}
      />
    </Form>
  );
}
