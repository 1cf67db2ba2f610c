// The inbox's words and its "edit and resend" editor: a change (a
// Mutation from the outbox, refused or still waiting) described for a
// person, why the server refused it, its fields as text inputs, and the
// edited text turned back into JSON values for `resendEdited`.
//
// Values are shown as the rest of the window shows them, never as they
// travel: "Closed won" for `closed_won`, "Yes" for `true`, "Today, 14:05"
// for an ISO timestamp, a colleague's name (or "you") for a user id, the
// customer's name or ticket's title for the id of the row the change is
// about. The editor alone keeps the wire values, which it sends back.

import type { ConflictItem_Serialize, Mutation, Product_Serialize, RefusalReason_Serialize, RejectedChange_Serialize, SyncTable, Value } from "./bindings";
import { formatDateTime, formatFull, localInputInWords, parseIso } from "./datetime";
import { fieldLabel, fileSize, humanize, personName, tableNoun } from "./labels";
import { personLabel, type Person } from "./people";
import { refusalSentence } from "./sentences";

/** What a value needs to be shown by its meaning rather than as sent. */
export interface ValueContext {
  /** For names beside user ids. */
  colleagues?: readonly Person[];
  /** The signed-in user's id: their own id reads "you". */
  me?: string | null;
  /** For a product's name beside `product_id`. */
  products?: readonly Pick<Product_Serialize, "id" | "name">[];
  /**
   * Dates relative to now, as lists show them ("Today, 14:05"); without
   * it, in full ("Mon 3 Jun 2024, 14:05"), for text that outlives the
   * moment (a copied change).
   */
  now?: Date;
}

/** Fields that hold a user's id. */
const PERSON_FIELDS = new Set(["owner", "assigned_to", "user_id", "created_by", "changed_by", "assigned_by", "uploaded_by", "kept_by", "lost_by"]);

/** Fields that hold a vocabulary word ("closed_won", "in_progress"). */
const WORD_FIELDS = new Set(["status", "priority", "acquisition_stage", "channel", "role", "from_status", "to_status"]);

/** Fields that hold a moment ("created_at", "follow_up_date", "snoozed_until"). */
const TIME_FIELD = /(?:_at|_date|_until)$/;

/** A date without a time ("2024-06-03"): a day, not a moment, so no time zone moves it. */
const DAY_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * A value for reading. Nothing is "—", true/false "Yes"/"No"; given its
 * field, a vocabulary word in words, a moment as the window writes dates,
 * a user id as the colleague's name ("you" for oneself), a product id as
 * the product's name, a file size in KB/MB. Other text as it is; lists and
 * objects as JSON.
 */
export function valueText(value: Value, field = "", context: ValueContext = {}): string {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value === "boolean") return value ? "Yes" : "No";
  if (typeof value === "number") return field === "file_size" ? fileSize(value) : String(value);
  if (typeof value !== "string") return JSON.stringify(value);
  if (PERSON_FIELDS.has(field)) return personLabel(value, context.colleagues ?? [], context.me);
  if (field === "product_id") return context.products?.find((p) => p.id === value)?.name ?? "Unknown product";
  if (WORD_FIELDS.has(field)) return humanize(value);
  if (TIME_FIELD.test(field)) {
    if (DAY_ONLY.test(value)) return localInputInWords(value);
    if (parseIso(value)) return context.now ? formatDateTime(value, context.now) : formatFull(value);
  }
  return value;
}

export interface ChangeLine {
  field: string;
  label: string;
  /** For an update: the value the user's change started from. */
  before?: string;
  after: string;
}

export interface ChangeSummary {
  /** "New customer", "Edit of ticket", "Deletion of comment". */
  title: string;
  lines: ChangeLine[];
  /**
   * When a new row was made, where that is not when it was saved (an
   * interaction logged today for a call made yesterday); otherwise none,
   * as the card already says when it was saved.
   */
  made?: string;
}

/**
 * The field that points at the row a change's `subject` names (the core
 * names an interaction by its customer, a comment, assignee or attachment
 * by its ticket; a ticket by its own title, so a ticket's `customer_id` is
 * not its subject).
 */
const SUBJECT_FIELDS: Partial<Record<SyncTable, string>> = {
  customer_interactions: "customer_id",
  ticket_comments: "ticket_id",
  ticket_assignees: "ticket_id",
  ticket_attachments: "ticket_id",
};

/**
 * The column the app stamps with a new row's creation time (as
 * `SyncTable::creation_column` in the domain crate). A line for it would
 * only repeat when the change was saved.
 */
const CREATION_COLUMNS: Partial<Record<SyncTable, string>> = {
  customers: "created_at",
  customer_interactions: "created_at",
  tickets: "created_at",
  ticket_comments: "created_at",
  ticket_assignees: "assigned_at",
  ticket_attachments: "uploaded_at",
};

/** How far a creation time may be from the edit's before it says something (clocks, rounding). */
const SAME_MOMENT_MS = 60_000;

/**
 * "New customer" with its values, "Edit of ticket" with before -> after, or
 * "Deletion of comment", each value in words (`valueText`). Given the
 * change's `subject` (the customer's name or the ticket's title, from the
 * core), the field pointing at that row shows the name instead of an id.
 * A new row's creation time is no line: it shows as `made`, and only when
 * it differs from when the change was saved.
 */
export function describeMutation(mutation: Mutation, subject?: string | null, context: ValueContext = {}): ChangeSummary {
  const noun = tableNoun(mutation.table);
  const subjectField = SUBJECT_FIELDS[mutation.table];
  const shown = (field: string, value: Value) => (subject && field === subjectField ? subject : valueText(value, field, context));
  switch (mutation.op) {
    case "insert": {
      const creation = CREATION_COLUMNS[mutation.table];
      const summary: ChangeSummary = {
        title: `New ${noun}`,
        lines: Object.entries(mutation.values)
          .filter(([field, value]) => value !== null && field !== creation)
          .map(([field, value]) => ({ field, label: fieldLabel(field), after: shown(field, value) })),
      };
      const created = creation ? mutation.values[creation] : undefined;
      const createdAt = typeof created === "string" ? parseIso(created) : null;
      const editedAt = parseIso(mutation.edited_at);
      if (createdAt && (!editedAt || Math.abs(createdAt.getTime() - editedAt.getTime()) > SAME_MOMENT_MS)) {
        summary.made = valueText(created as string, creation, context);
      }
      return summary;
    }
    case "update":
      return {
        title: `Edit of ${noun}`,
        lines: Object.entries(mutation.changes).map(([field, change]) => ({
          field,
          label: fieldLabel(field),
          // The subject names the row as it is now: it is no word for an old value.
          before: valueText(change.base, field, context),
          after: valueText(change.value, field, context),
        })),
      };
    case "delete":
      return { title: `Deletion of ${noun}`, lines: [] };
  }
}

/**
 * A change as plain text, for the clipboard: what it was and what it is
 * about, then one "Label: value" line per field (an update's "before →
 * after"). Dates are written in full, since the text outlives the moment.
 *
 *     New interaction — Northwind Traders
 *     Customer: Northwind Traders
 *     Note: Quote sent
 */
export function changeAsText(mutation: Mutation, subject?: string | null, context: ValueContext = {}): string {
  const summary = describeMutation(mutation, subject, { ...context, now: undefined });
  const head = subject ? `${summary.title} — ${subject}` : summary.title;
  const lines = summary.lines.map((line) => `${line.label}: ${line.before !== undefined ? `${line.before} → ${line.after}` : line.after}`);
  if (summary.made) lines.push(`Made: ${summary.made}`);
  return [head, ...lines].join("\n");
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

/**
 * Who set a conflict's two values, as said after "by": "you" for the
 * user's side (the value that lost when `mine_lost`, else the one kept; a
 * conflict always has the user on one side), and for the other side "you"
 * too when it carries the user's own name (their edit from another
 * computer), else the colleague's name, or "a colleague".
 */
export function conflictPeople(
  conflict: Pick<ConflictItem_Serialize, "mine_lost" | "kept_by_name" | "lost_by_name">,
  myName: string | null | undefined,
): { keptBy: string; lostBy: string } {
  const mine = myName?.trim();
  const other = (name: string | null) => {
    const named = name?.trim();
    if (mine && named === mine) return "you";
    return personName(named, "a colleague");
  };
  return conflict.mine_lost
    ? { keptBy: other(conflict.kept_by_name), lostBy: "you" }
    : { keptBy: "you", lostBy: other(conflict.lost_by_name) };
}

// ---------------------------------------------------------------- refusals

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const pad = (n: number) => String(n).padStart(2, "0");

/** Calendar days from `now`'s local day to `date`'s. */
function dayOffset(now: Date, date: Date): number {
  const start = (d: Date) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  return Math.round((start(date) - start(now)) / 86_400_000);
}

/**
 * When something happened, as said at the end of a sentence, local time:
 * "at 15:17" today, "yesterday at 15:17", "on Tue 1 Dec at 09:12" this
 * year, "on Tue 1 Dec 2025 at 09:12" before; "" for no readable time.
 */
export function whenWords(iso: string | null | undefined, now: Date): string {
  const date = parseIso(iso);
  if (!date) return "";
  const clock = `${pad(date.getHours())}:${pad(date.getMinutes())}`;
  const days = dayOffset(now, date);
  if (days === 0) return `at ${clock}`;
  if (days === -1) return `yesterday at ${clock}`;
  const year = date.getFullYear() === now.getFullYear() ? "" : ` ${date.getFullYear()}`;
  return `on ${WEEKDAYS[date.getDay()]} ${date.getDate()} ${MONTHS[date.getMonth()]}${year} at ${clock}`;
}

/** What a refusal's reason is about when the change has no subject: its customer or its ticket. */
function reasonFallback(table: SyncTable): string {
  return table === "customers" || table === "customer_interactions" ? "the customer" : "the ticket";
}

/**
 * What happened to the customer or ticket a refused change was about, as
 * one sentence: "Ada Admin reassigned Stark Hardware to Cy Agent at
 * 15:17.", "You deleted ...", "The system deleted ..." (no actor: an
 * import, a migration), "... to you ...". `subject` names the row.
 */
export function reasonSentence(
  reason: RefusalReason_Serialize,
  about: { subject?: string | null; table: SyncTable },
  me: string | null | undefined,
  now: Date,
): string {
  const who = !reason.by ? "The system" : me && reason.by === me ? "You" : personName(reason.by_name, "A colleague");
  const what = about.subject?.trim() || reasonFallback(about.table);
  const when = whenWords(reason.at, now);
  let done: string;
  if (reason.kind === "deleted") done = `deleted ${what}`;
  else if (reason.to) done = `reassigned ${what} to ${me && reason.to === me ? "you" : personName(reason.to_name, "a colleague")}`;
  else done = `took ${what} from its owner`;
  return `${who} ${done}${when ? ` ${when}` : ""}.`;
}

/**
 * Why the server refused a change, in words: what happened to its customer
 * or ticket when the server knows (`reasonSentence`), else its code and
 * message as sentences (`refusalSentence`). Never the code itself.
 */
export function rejectionSentence(
  item: Pick<RejectedChange_Serialize, "code" | "message" | "reason" | "subject" | "table">,
  me: string | null | undefined,
  now: Date,
): string {
  if (item.reason) return reasonSentence(item.reason, item, me, now);
  return refusalSentence(item.code, item.message);
}
