// The inbox's words and its "edit and resend" editor: a refused change
// (a Mutation from the outbox) described for a person, its fields as text
// inputs, and the edited text turned back into JSON values for
// `resendEdited`.

import type { ConflictItem_Serialize, Mutation, Value } from "./bindings";
import { fieldLabel, tableNoun } from "./labels";

/** A value for reading: text as is, nothing as "—", anything else as JSON. */
export function valueText(value: Value): string {
  if (value === null || value === undefined) return "—";
  if (typeof value === "string") return value === "" ? "—" : value;
  return JSON.stringify(value);
}

export interface ChangeLine {
  field: string;
  label: string;
  /** For an update: the value the user's change started from. */
  before?: string;
  after: string;
}

/** The fields that point at the row a change is about (its subject). */
const SUBJECT_FIELDS = new Set(["customer_id", "ticket_id"]);

/**
 * "New customer" with its values, "Edit of ticket" with before -> after, or
 * "Deletion of comment". Given the change's `subject` (the customer's name
 * or the ticket's title, from the core), the field pointing at that row
 * shows the name instead of an id.
 */
export function describeMutation(mutation: Mutation, subject?: string | null): { title: string; lines: ChangeLine[] } {
  const noun = tableNoun(mutation.table);
  const shown = (field: string, value: Value) => (subject && SUBJECT_FIELDS.has(field) ? subject : valueText(value));
  switch (mutation.op) {
    case "insert":
      return {
        title: `New ${noun}`,
        lines: Object.entries(mutation.values)
          .filter(([, value]) => value !== null)
          .map(([field, value]) => ({ field, label: fieldLabel(field), after: shown(field, value) })),
      };
    case "update":
      return {
        title: `Edit of ${noun}`,
        lines: Object.entries(mutation.changes).map(([field, change]) => ({
          field,
          label: fieldLabel(field),
          before: valueText(change.base),
          after: valueText(change.value),
        })),
      };
    case "delete":
      return { title: `Deletion of ${noun}`, lines: [] };
  }
}

/** One input of the resend editor, with the value it started from. */
export interface EditableField {
  field: string;
  label: string;
  original: Value;
  text: string;
}

/** A value as an input's text: nothing is "", JSON for lists and objects. */
export function editText(value: Value): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

/** The fields a refused change set: an insert's values, an update's new values. */
export function editableFields(mutation: Mutation): EditableField[] {
  const entries: [string, Value][] =
    mutation.op === "insert"
      ? Object.entries(mutation.values)
      : mutation.op === "update"
        ? Object.entries(mutation.changes).map(([field, change]) => [field, change.value])
        : [];
  return entries.map(([field, original]) => ({ field, label: fieldLabel(field), original, text: editText(original) }));
}

/**
 * An input's text back as a JSON value. Empty is null; the original value's
 * type decides the rest: true/false stay booleans, numbers stay numbers,
 * lists and objects are read as JSON; text stays text. Text that does not
 * fit the type is sent as typed, for the core to refuse with a reason.
 */
export function parseEdited(text: string, original: Value): Value {
  const trimmed = text.trim();
  if (trimmed === "") return null;
  if (typeof original === "boolean") {
    const lower = trimmed.toLowerCase();
    if (lower === "true") return true;
    if (lower === "false") return false;
    return trimmed;
  }
  if (typeof original === "number") {
    const number = Number(trimmed);
    return Number.isFinite(number) ? number : trimmed;
  }
  if (original !== null && typeof original === "object") {
    try {
      return JSON.parse(trimmed) as Value;
    } catch {
      return trimmed;
    }
  }
  return trimmed;
}

/** The values to resend: only the fields whose text the user changed. */
export function editedValues(fields: readonly EditableField[], texts: Readonly<Record<string, string>>): Record<string, Value> {
  const out: Record<string, Value> = {};
  for (const field of fields) {
    const text = texts[field.field];
    if (text === undefined || text === field.text) continue;
    out[field.field] = parseEdited(text, field.original);
  }
  return out;
}

/** Who won a conflict, from the user's side. */
export function conflictVerdict(conflict: Pick<ConflictItem_Serialize, "mine_lost" | "kept_by_name" | "lost_by_name">): string {
  if (conflict.mine_lost) return "Your value lost";
  return `Your value won over ${conflict.lost_by_name?.trim() || "a colleague"}`;
}
