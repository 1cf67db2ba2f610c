// Form plumbing shared by every form: field messages from the core, a
// debounce for "check as you type", and the drafts each form sends. Forms
// keep their state as plain strings (what the inputs hold); the functions
// here turn that state into the exact shapes the commands accept (trimmed,
// empty text -> null), so checking and saving always send the same draft.

import type {
  AcquisitionStage,
  CustomerEdit_Deserialize,
  CustomerStatus,
  Customer_Serialize,
  ErrorReport,
  FieldMessage,
  InteractionChannel,
  NewComment,
  NewCustomer_Deserialize,
  NewInteraction_Deserialize,
  NewTicket_Deserialize,
  TicketEdit_Deserialize,
  TicketPriority,
  TicketStatus,
  Ticket_Serialize,
  Vocabulary,
} from "./bindings";
import { localInputToIso } from "./datetime";
import { fieldLabel } from "./labels";

// ---------------------------------------------------------------- messages

/** Field name (as on the wire: "name", "email", ...) -> what is wrong with it. */
export type Messages = Record<string, string>;

/** "must not be blank" -> "Must not be blank." */
function sentence(message: string): string {
  const text = message.trim();
  if (!text) return text;
  const capital = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

/** The core's list as one message per field (several rules join up). */
export function messagesByField(list: readonly FieldMessage[] | null | undefined): Messages {
  const out: Messages = {};
  for (const { field, message } of list ?? []) {
    out[field] = out[field] ? `${out[field]} ${sentence(message)}` : sentence(message);
  }
  return out;
}

/**
 * The messages to show now: a field's message appears once the user has
 * touched that field, and all of them after a save was attempted (so a new,
 * empty form does not open covered in red).
 */
export function visibleMessages(messages: Messages, touched: ReadonlySet<string>, submitted: boolean): Messages {
  if (submitted) return messages;
  const out: Messages = {};
  for (const [field, message] of Object.entries(messages)) {
    if (touched.has(field)) out[field] = message;
  }
  return out;
}

/**
 * Messages about fields the form does not show, so they are not lost, each
 * led by its field's name: the core phrases a message to follow it
 * ("owner" + "Is not a colleague." -> "Owner is not a colleague.").
 */
export function unplacedMessages(messages: Messages, shownFields: readonly string[]): string[] {
  return Object.entries(messages)
    .filter(([field]) => !shownFields.includes(field))
    .map(([field, message]) => `${fieldLabel(field)} ${message.charAt(0).toLowerCase()}${message.slice(1)}`);
}

/**
 * The sentence a failed save puts above the form's buttons. A refusal that
 * names fields gets none: its sentence only strings their messages
 * together ("email: must be ...; phone: ..."), which already show beside
 * their fields (or, for fields the form lacks, in `unplacedMessages`), and
 * there each goes as soon as it is put right, whereas the sentence would
 * stay until the next save. Anything else (no permission, a full disk)
 * keeps its sentence until the next attempt.
 */
export function saveFailureSentence(report: Pick<ErrorReport, "message" | "fields">): string | null {
  if (report.fields.length > 0) return null;
  return report.message.trim() || null;
}

// ---------------------------------------------------------------- helpers

/** Trimmed text, or null when nothing is left (the core's "absent"). */
export function textOrNull(value: string | null | undefined): string | null {
  const text = value?.trim() ?? "";
  return text === "" ? null : text;
}

export interface Debounced<A extends unknown[]> {
  (...args: A): void;
  /** Forget a pending call (the form closed). */
  cancel(): void;
  /** Run a pending call now (the form is being submitted). */
  flush(): void;
}

/** Calls `fn` once the calls have paused for `ms`, with the last arguments. */
export function debounce<A extends unknown[]>(fn: (...args: A) => void, ms: number): Debounced<A> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let pending: A | undefined;
  const run = () => {
    timer = undefined;
    const args = pending;
    pending = undefined;
    if (args) fn(...args);
  };
  const debounced = (...args: A) => {
    pending = args;
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(run, ms);
  };
  debounced.cancel = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    pending = undefined;
  };
  debounced.flush = () => {
    if (timer !== undefined) clearTimeout(timer);
    run();
  };
  return debounced;
}

// ---------------------------------------------------------------- customers

/** The customer form as its inputs hold it ("" = no product, no owner). */
export interface CustomerForm {
  name: string;
  email: string;
  phone: string;
  product_id: string;
  acquisition_stage: AcquisitionStage;
  status: CustomerStatus;
  /** The owner's id; only an admin's form lets it be chosen. */
  owner: string;
  is_archived: boolean;
}

/**
 * A new customer starts at the vocabulary's first stage and status (the
 * core's order); `owner` presets an admin's owner select (themselves).
 */
export function emptyCustomerForm(vocabulary: Pick<Vocabulary, "stages" | "customer_statuses">, owner = ""): CustomerForm {
  return {
    name: "",
    email: "",
    phone: "",
    product_id: "",
    acquisition_stage: vocabulary.stages[0],
    status: vocabulary.customer_statuses[0],
    owner,
    is_archived: false,
  };
}

export function customerFormFrom(customer: Customer_Serialize): CustomerForm {
  return {
    name: customer.name,
    email: customer.email ?? "",
    phone: customer.phone ?? "",
    product_id: customer.product_id ?? "",
    acquisition_stage: customer.acquisition_stage,
    status: customer.status,
    owner: customer.owner ?? "",
    is_archived: customer.is_archived,
  };
}

/**
 * What a new customer and an edit send alike: the fields trimmed, empty
 * text as null. The owner is the one chosen with `chooseOwner` (an admin's
 * form), else `otherwise`.
 */
function customerFields(form: CustomerForm, chooseOwner: boolean, otherwise: string | null) {
  return {
    name: form.name.trim(),
    email: textOrNull(form.email),
    phone: textOrNull(form.phone),
    product_id: textOrNull(form.product_id),
    status: form.status,
    acquisition_stage: form.acquisition_stage,
    owner: chooseOwner ? textOrNull(form.owner) : otherwise,
  };
}

/**
 * What `createCustomer` and `checkCustomer` take. With `chooseOwner` (an
 * admin's form) the chosen owner goes along; otherwise the owner is null,
 * which the core fills with the signed-in agent.
 */
export function newCustomerDraft(form: CustomerForm, chooseOwner = false): NewCustomer_Deserialize {
  return customerFields(form, chooseOwner, null);
}

/**
 * What `updateCustomer` takes: every editable field. The owner is the one
 * chosen with `chooseOwner` (an admin reassigning), else `currentOwner` as
 * it was (agents cannot hand a customer to someone else).
 */
export function customerEdit(form: CustomerForm, currentOwner: string | null, chooseOwner = false): CustomerEdit_Deserialize {
  return { ...customerFields(form, chooseOwner, currentOwner), is_archived: form.is_archived };
}

// ---------------------------------------------------------------- interactions

export interface InteractionForm {
  type: string;
  channel: InteractionChannel;
  note: string;
  /** A datetime-local value, "" for none. */
  follow_up: string;
  /** When it happened, a datetime-local value; "" for just now. */
  occurred?: string;
}

export function emptyInteractionForm(vocabulary: Pick<Vocabulary, "channels">): InteractionForm {
  return { type: "", channel: vocabulary.channels[0], note: "", follow_up: "", occurred: "" };
}

export function interactionDraft(form: InteractionForm, customerId: string): NewInteraction_Deserialize {
  return {
    customer_id: customerId,
    type: form.type.trim(),
    channel: form.channel,
    note: textOrNull(form.note),
    follow_up_date: localInputToIso(form.follow_up),
    // Left empty, the core stamps the moment it is logged.
    occurred_at: localInputToIso(form.occurred ?? ""),
  };
}

// ---------------------------------------------------------------- tickets

export interface TicketForm {
  title: string;
  description: string;
  priority: TicketPriority;
  /** "" for no customer. */
  customer_id: string;
}

/** New tickets default to "medium" when the vocabulary offers it. */
export function emptyTicketForm(vocabulary: Pick<Vocabulary, "priorities">, customerId = ""): TicketForm {
  const priority = vocabulary.priorities.find((p) => p === "medium") ?? vocabulary.priorities[0];
  return { title: "", description: "", priority, customer_id: customerId };
}

/** What `openTicket` and `checkTicket` take; nobody is assigned at creation. */
export function ticketDraft(form: TicketForm): NewTicket_Deserialize {
  return {
    title: form.title.trim(),
    description: textOrNull(form.description),
    priority: form.priority,
    customer_id: textOrNull(form.customer_id),
    assigned_to: null,
  };
}

/** The full edit `updateTicket` needs, from the ticket with the chosen changes. */
export function ticketEdit(
  ticket: Ticket_Serialize,
  change: { status?: TicketStatus; priority?: TicketPriority },
): TicketEdit_Deserialize {
  return {
    title: ticket.title,
    description: ticket.description,
    priority: change.priority ?? ticket.priority,
    status: change.status ?? ticket.status,
    customer_id: ticket.customer_id,
    assigned_to: ticket.assigned_to,
  };
}

/** The status select's options: where the ticket is, then the moves the workflow allows. */
export function statusChoices(current: TicketStatus, allowed: readonly TicketStatus[]): TicketStatus[] {
  return [current, ...allowed.filter((status, i) => status !== current && allowed.indexOf(status) === i)];
}

export function commentDraft(ticketId: string, text: string, isInternal: boolean): NewComment {
  return { ticket_id: ticketId, content: text.trim(), is_internal: isInternal };
}
