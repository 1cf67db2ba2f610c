// Dates between the core (ISO-8601 strings in UTC) and the person (local
// time). `<input type="datetime-local">` speaks "YYYY-MM-DDTHH:mm" in local
// time with no zone, so both directions are done here by hand rather than
// with `Date.parse`, whose reading of zone-less strings varies. Dates are
// always written with the month as a word ("8 Dec 2026"), never as numbers
// whose order depends on the reader's country.

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const DAY_MS = 86_400_000;

const pad = (n: number) => String(n).padStart(2, "0");

/** A core timestamp as a Date; null when absent or unreadable. */
export function parseIso(iso: string | null | undefined): Date | null {
  if (!iso) return null;
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? null : date;
}

/**
 * A date input's value ("2024-06-03") or a datetime-local one
 * ("2024-06-03T14:05", seconds optional) as a local Date, and whether it
 * had a time; null for an empty, malformed or impossible value.
 */
function parseLocalInput(value: string | null | undefined): { date: Date; hasTime: boolean } | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(value?.trim() ?? "");
  if (!match) return null;
  const [year, month, day, hour, minute, second] = match.slice(1).map((part) => Number(part ?? 0));
  if (hour > 23 || minute > 59 || second > 59) return null;
  const date = new Date(year, month - 1, day, hour, minute, second);
  // The Date constructor rolls "31 Feb" over into March: refuse instead.
  if (date.getFullYear() !== year || date.getMonth() !== month - 1 || date.getDate() !== day) return null;
  return { date, hasTime: match[4] !== undefined };
}

/**
 * A datetime-local value ("2024-06-03T14:05", local time) as an ISO UTC
 * string for the core; null for an empty or impossible value, and for a
 * date without a time.
 */
export function localInputToIso(value: string | null | undefined): string | null {
  const parsed = parseLocalInput(value);
  if (!parsed?.hasTime) return null;
  return parsed.date.toISOString().replace(/\.000Z$/, "Z");
}

/** A core timestamp as a datetime-local value; "" when absent. */
export function isoToLocalInput(iso: string | null | undefined): string {
  const date = parseIso(iso);
  if (!date) return "";
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}`
  );
}

/** Whole calendar days from `now`'s day to `date`'s day (local time). */
export function daysFrom(now: Date, date: Date): number {
  const start = (d: Date) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  // Rounding absorbs the 23- or 25-hour days of daylight-saving changes.
  return Math.round((start(date) - start(now)) / DAY_MS);
}

const clock = (d: Date) => `${pad(d.getHours())}:${pad(d.getMinutes())}`;

/**
 * A timestamp for lists: "Today, 14:05", "Yesterday, 09:30", "Tomorrow,
 * 08:00", "3 Jun, 14:05" this year, "3 Jun 2023, 14:05" otherwise.
 */
export function formatDateTime(iso: string | null | undefined, now: Date = new Date()): string {
  const date = parseIso(iso);
  if (!date) return "";
  const days = daysFrom(now, date);
  if (days === 0) return `Today, ${clock(date)}`;
  if (days === -1) return `Yesterday, ${clock(date)}`;
  if (days === 1) return `Tomorrow, ${clock(date)}`;
  const year = date.getFullYear() === now.getFullYear() ? "" : ` ${date.getFullYear()}`;
  return `${date.getDate()} ${MONTHS[date.getMonth()]}${year}, ${clock(date)}`;
}

/** "Mon 3 Jun 2024" (or "3 Jun 2024" without the weekday). */
const day = (d: Date, weekday = true) =>
  `${weekday ? `${WEEKDAYS[d.getDay()]} ` : ""}${d.getDate()} ${MONTHS[d.getMonth()]} ${d.getFullYear()}`;

/** The full local timestamp, for tooltips: "Mon 3 Jun 2024, 14:05". */
export function formatFull(iso: string | null | undefined): string {
  const date = parseIso(iso);
  if (!date) return "";
  return `${day(date)}, ${clock(date)}`;
}

/**
 * The local day of a timestamp, for what is a date to a person ("customer
 * since"): "3 Jun 2024", or "Mon 3 Jun 2024" with `weekday`. The year is
 * always there: such dates are often years back.
 */
export function formatDate(iso: string | null | undefined, { weekday = false } = {}): string {
  const date = parseIso(iso);
  return date ? day(date, weekday) : "";
}

/**
 * What a date or datetime-local input holds, in words: "Tue 8 Dec 2026,
 * 14:30" ("Tue 8 Dec 2026" for a date). The input shows its value in the
 * operating system's order (is 08/12 the 8th of December or August 12th?);
 * these words beside it say which. "" while it holds no complete date.
 */
export function localInputInWords(value: string | null | undefined): string {
  const parsed = parseLocalInput(value);
  if (!parsed) return "";
  return parsed.hasTime ? `${day(parsed.date)}, ${clock(parsed.date)}` : day(parsed.date);
}

/** How long ago: "just now", "5 min ago", "3 h ago", "yesterday", "4 days ago", then a date. */
export function relativeTime(iso: string | null | undefined, now: Date = new Date()): string {
  const date = parseIso(iso);
  if (!date) return "";
  const seconds = (now.getTime() - date.getTime()) / 1000;
  // A clock slightly ahead of ours still means "just now".
  if (seconds < 45) return "just now";
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24 && daysFrom(now, date) === 0) return `${hours} h ago`;
  const days = -daysFrom(now, date);
  if (days <= 1) return "yesterday";
  if (days < 7) return `${days} days ago`;
  return formatDateTime(iso, now);
}

export type FollowUpState = "overdue" | "due" | "upcoming";

/** Whether a follow-up has passed, falls later today, or later still. */
export function followUpState(iso: string | null | undefined, now: Date = new Date()): FollowUpState | null {
  const date = parseIso(iso);
  if (!date) return null;
  if (date.getTime() < now.getTime()) return "overdue";
  return daysFrom(now, date) === 0 ? "due" : "upcoming";
}
