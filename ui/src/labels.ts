// Display words for the app's wire values. The vocabulary itself (which
// stages, statuses, ... exist) comes from the core through `vocabulary()`;
// this module only turns a value such as "in_progress" into "In progress",
// so a value added in Rust shows up readable without a change here.

import type { SyncTable } from "./bindings";

/** "in_progress" -> "In progress", "closed_won" -> "Closed won". */
export function humanize(value: string | null | undefined): string {
  if (!value) return "";
  const words = value.replace(/[_-]+/g, " ").trim().toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/**
 * A wire field name as a form label: "acquisition_stage" -> "Acquisition
 * stage", "product_id" -> "Product" (ids are shown as what they point to).
 */
export function fieldLabel(field: string): string {
  return humanize(field.replace(/_id$/, ""));
}

/** What one row of each synced table is, in words ("a customer"). */
const TABLE_NOUNS: Record<SyncTable, string> = {
  profiles: "profile",
  products: "product",
  acquisition_stages: "acquisition stage",
  customers: "customer",
  customer_interactions: "interaction",
  tickets: "ticket",
  ticket_assignees: "ticket assignment",
  ticket_comments: "comment",
  ticket_attachments: "attachment",
};

/** Takes any table name: conflicts name their table as plain text. */
export function tableNoun(table: SyncTable | string): string {
  return TABLE_NOUNS[table as SyncTable] ?? humanize(table).toLowerCase();
}

/** Where an address may break before a character, and where after one. */
const BREAK_BEFORE = ".-_?#&=+~%";
const BREAK_AFTER = "@/";

/**
 * An email or web address cut where a line may break without splitting a
 * word (as style guides break them): after "@" and "/" (a run of slashes
 * stays whole: "https://"), before "." and the other punctuation in
 * BREAK_BEFORE. Joined, the pieces are the text again; the page puts a
 * `<wbr>` between them, so a narrow column shows "northwind.traders1@" over
 * "example.com", never "northwind.traders1@exam" over "ple.com".
 */
export function addressPieces(text: string): string[] {
  const pieces: string[] = [];
  let piece = "";
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    // Before the first of a run ("..") only, and never at the very start.
    if (BREAK_BEFORE.includes(char) && piece !== "" && !BREAK_BEFORE.includes(text[i - 1])) {
      pieces.push(piece);
      piece = "";
    }
    piece += char;
    if (BREAK_AFTER.includes(char) && i + 1 < text.length && text[i + 1] !== char && !BREAK_BEFORE.includes(text[i + 1])) {
      pieces.push(piece);
      piece = "";
    }
  }
  if (piece) pieces.push(piece);
  return pieces;
}

/** A person's name, or a neutral word when the replica does not know it. */
export function personName(name: string | null | undefined, fallback = "Unknown"): string {
  const trimmed = name?.trim();
  return trimmed ? trimmed : fallback;
}

/** Bytes in the units a person reads: "512 B", "1.5 KB", "2.0 MB". */
export function fileSize(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "";
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let size = bytes / 1024;
  let unit = 0;
  while (size >= 1024 && unit < units.length - 1) {
    size /= 1024;
    unit += 1;
  }
  return `${size.toFixed(1)} ${units[unit]}`;
}

/** Ticket priorities that deserve a visual mark in lists. */
export function isPressing(priority: string): boolean {
  return priority === "urgent" || priority === "high";
}

/** "1 ticket" / "3 tickets". */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** A count as a person reads it: "1,250". */
export function figure(count: number): string {
  return count.toLocaleString("en-GB");
}

/**
 * How many customers the list holds: "200 customers"; with a search or
 * filter, how many match ("12 customers match", "1 customer matches"); and
 * whether archived ones are among them.
 */
export function customerCount(total: number, { matching = false, archived = false } = {}): string {
  const one = total === 1;
  let words = `${figure(total)} ${one ? "customer" : "customers"}`;
  if (matching) words += one ? " matches" : " match";
  if (archived) words += ", archived included";
  return words;
}

/** Which rows a page shows: "1–100 of 250", "201–250 of 250"; "" for an empty page. */
export function pageRange(offset: number, shown: number, total: number): string {
  if (shown <= 0) return "";
  return `${figure(offset + 1)}–${figure(offset + shown)} of ${figure(total)}`;
}

/**
 * A figure-per-key map (the dashboard's "by stage", "by status") in the
 * vocabulary's order, with keys the vocabulary does not know at the end.
 */
export function orderedCounts(counts: Readonly<Record<string, number>>, order: readonly string[]): [string, number][] {
  const known = order.filter((key) => key in counts).map((key): [string, number] => [key, counts[key]]);
  const extra = Object.keys(counts)
    .filter((key) => !order.includes(key))
    .sort()
    .map((key): [string, number] => [key, counts[key]]);
  return [...known, ...extra];
}

/** A duration in hours as a person says it: "45 min", "5.2 h", "3.5 days"; "—" when unknown. */
export function hoursLabel(hours: number | null | undefined): string {
  if (hours === null || hours === undefined || !Number.isFinite(hours) || hours < 0) return "—";
  if (hours < 1) return `${Math.round(hours * 60)} min`;
  if (hours < 48) return `${hours.toFixed(1)} h`;
  return `${(hours / 24).toFixed(1)} days`;
}

/**
 * Why the customer or ticket on screen went away: after a sync, a record
 * leaves the replica when it was deleted or the user lost access (e.g. an
 * admin reassigned the customer). Said plainly, and where refused work went.
 */
export function goneMessage(kind: "customer" | "ticket"): string {
  const what = kind === "customer" ? "This customer" : "This ticket";
  return `${what} is no longer available to you: it was reassigned or deleted. Any change of yours the server refused is in your Inbox.`;
}
