// What the window says when something failed, as sentences a person reads.
// The core and the server phrase their messages for developers as much as
// for people: lowercase, no final period, a field's wire name in front
// ("name: must not be blank"), several rules joined by "; ", sometimes only
// a code or "row not found". Everything that reaches the screen (the
// toast, a form's banner, the sign-in card, a screen that could not load,
// the inbox) goes through here, so each such message reads as one or more
// proper sentences, and no code shows. The words are changed, never the
// facts: every detail of the original message stays in the sentence.

import type { ErrorReport, RejectionCode_Serialize } from "./bindings";
import { fieldLabel, tableNoun } from "./labels";

/** Ends a sentence: a final period unless it already ends as one. */
const ENDED = /[.!?…]$/;

/** "Abc" for "abc"; an opening "URL" or "I/O" stays as it is. */
function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** "is required" after a field's label; "URL must ..." keeps its capitals. */
function lowerFirst(text: string): string {
  if (/^[A-Z][A-Z]/.test(text)) return text;
  return text.charAt(0).toLowerCase() + text.slice(1);
}

/**
 * Any text as a sentence: trimmed, a capital first letter, a final period
 * ("please sign in" -> "Please sign in."). "" stays "".
 */
export function asSentence(text: string): string {
  const trimmed = text.trim().replace(/[\s:;,]+$/, "");
  if (!trimmed) return "";
  const capital = capitalise(trimmed);
  return ENDED.test(capital) ? capital : `${capital}.`;
}

/** One field's message led by its label: ("name", "must not be blank") -> "Name must not be blank." */
export function fieldSentence(field: string, message: string): string {
  const text = message.trim();
  if (!text) return asSentence(fieldLabel(field));
  return asSentence(`${fieldLabel(field)} ${lowerFirst(text)}`);
}

/**
 * Plain words for the codes an ErrorReport carries (desktop-core's
 * `CoreError::code`, and "internal" for failures that were not the
 * core's), used when the report has no sentence of its own.
 */
const ERROR_CODES: Record<string, string> = {
  invalid: "Some of the values are not valid.",
  forbidden: "You are not allowed to do this.",
  not_found: "It is not on this computer: it was deleted, or you can no longer see it.",
  storage: "The app could not read or write its data on this computer.",
  malformed: "The app found data it cannot read.",
  remote: "The server could not be reached, or it refused the request.",
  sign_in_required: "Please sign in.",
  upgrade_required: "This version of the app is too old for the server: please update it. Your unsent changes are kept.",
  internal: "Something went wrong.",
};

/**
 * Plain words for why the server refused a synced change (crm-domain's
 * `RejectionCode`, generated), said of the change. Typed by the generated
 * union, so a code added in Rust fails this file until it has words.
 */
const REFUSAL_CODES: Record<RejectionCode_Serialize, string> = {
  forbidden: "You are not allowed to make this change.",
  not_allowed: "The rules do not allow this change.",
  not_found: "It no longer exists on the server, or you can no longer see it.",
  already_exists: "It already exists on the server.",
  missing_reference: "It refers to something that no longer exists.",
  missing_value: "A required value is missing.",
  invalid_value: "One of its values is not in a form the server accepts.",
  validation_failed: "Some of its values break the rules.",
  unknown: "The server refused this change.",
};

/**
 * The server's own wording of a refusal that its code already says (see
 * `explain` in sync-server's push): repeating it after the code's sentence
 * would say the same thing twice.
 */
const GENERIC_REFUSALS = new Set([
  "you are not allowed to make this change",
  "this already exists",
  "it refers to something that does not exist (any more)",
  "it no longer exists, or you can no longer see it",
]);

/**
 * Messages the core builds as "<what>: <detail>" that are not about a
 * field, with the words that lead them instead (the detail is kept).
 */
const LEADS: Record<string, string> = {
  "local database": "The app could not read or write its data on this computer",
  "local database migration": "The app could not upgrade its data on this computer",
  "malformed data": "The app found data it cannot read",
  "server unreachable": "The server cannot be reached",
  "not signed in": "You are not signed in",
  notification: "A notification could not be shown",
};

/** One-word prefixes that are not fields ("error: ..."), read as plain text. */
const NOT_FIELDS = new Set(["error", "warning", "info", "internal", "http", "https"]);

/** What a "<what> not found" message is about, where the core's word is not a person's. */
const NOT_FOUND_NOUNS: Record<string, string> = {
  row: "record",
  table: "kind of record",
};

/** A snake_case code on its own ("not_found", "validation_failed"). */
const CODE = /^[a-z]+(?:_[a-z]+)+$/;

/** The sentence for a code: known words, else the code's own words ("Method not allowed."). */
export function codeSentence(code: string): string {
  return ERROR_CODES[code] ?? (REFUSAL_CODES as Record<string, string>)[code] ?? asSentence(code.replace(/_+/g, " "));
}

/** One part of a message (between "; ") as a sentence. */
function partSentence(part: string): string {
  const text = part.trim();
  if (!text) return "";
  if (CODE.test(text)) return codeSentence(text);

  const notFound = /^([a-z][a-z -]*) not found$/i.exec(text);
  if (notFound) {
    const what = notFound[1].toLowerCase();
    return `The ${NOT_FOUND_NOUNS[what] ?? what} was not found: it may have been deleted, or you can no longer see it.`;
  }

  // The database's "tickets.created_by cannot be changed".
  const column = /^([a-z_]+)\.([a-z_]+) cannot be changed$/.exec(text);
  if (column) return `The ${tableNoun(column[1])}'s ${fieldLabel(column[2]).toLowerCase()} cannot be changed.`;

  const colon = text.indexOf(": ");
  if (colon > 0) {
    const head = text.slice(0, colon);
    const rest = text.slice(colon + 2).trim();
    const lead = LEADS[head.toLowerCase()];
    if (lead) return asSentence(rest ? `${lead}: ${rest}` : lead);
    if (/^[a-z][a-z0-9_]*$/.test(head) && !NOT_FIELDS.has(head) && rest) return fieldSentence(head, rest);
  }
  return asSentence(text);
}

/**
 * A message from the core or the server as sentences: each "; "-joined
 * part its own sentence, a field's wire name as its label ("name: must not
 * be blank; email: is not an email address" -> "Name must not be blank.
 * Email is not an email address."), "row not found" and bare codes in plain
 * words. Already a sentence, it stays as it is. `code` says what happened
 * when the message says nothing.
 */
export function messageSentence(message: string | null | undefined, code?: string): string {
  const text = (message ?? "").trim();
  if (!text || text === code) return code ? codeSentence(code) : "";
  return text
    .split(/;\s+/)
    .map(partSentence)
    .filter((part) => part !== "")
    .join(" ");
}

/**
 * An ErrorReport's message as the window shows it: its message as
 * sentences (the core's message for broken rules already names each
 * field: "name: must not be blank"); without one, its fields' messages led
 * by their labels, else its code's words.
 */
export function reportSentence(report: Pick<ErrorReport, "code" | "message"> & { fields?: ErrorReport["fields"] }): string {
  const said = messageSentence(report.message);
  if (said) return said;
  const fields = report.fields ?? [];
  if (fields.length > 0) return fields.map(({ field, message }) => fieldSentence(field, message)).join(" ");
  return codeSentence(report.code || "internal");
}

/** Lowercase words only, for comparing two wordings. */
const words = (text: string) =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9 ]+/g, " ")
    .replace(/\s+/g, " ")
    .trim();

/**
 * Why the server refused a synced change, when it did not say what
 * happened to the row: the code in words, then the server's message as a
 * sentence when it adds something (a rule's own words: "Cannot move a
 * ticket from closed to open."), left out when it only repeats the code.
 */
export function refusalSentence(code: string, message: string | null | undefined): string {
  const known = (REFUSAL_CODES as Record<string, string>)[code] ?? ERROR_CODES[code];
  const said = messageSentence(message);
  if (!known) return said || "The server refused this change.";
  const plain = words(message ?? "");
  const repeats = !plain || plain === words(code) || GENERIC_REFUSALS.has((message ?? "").trim().toLowerCase()) || plain === words(known);
  return repeats ? known : `${known} ${said}`;
}
