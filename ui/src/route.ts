// The window's screens as values, and their text form, which the app
// remembers between runs (`rememberScreen`) and restores at start; the back
// stack, and the words of the back link that leads down it.

export type Screen =
  | { name: "customers" }
  | { name: "customer"; id: string }
  | { name: "tickets" }
  | { name: "ticket"; id: string }
  | { name: "follow-ups" }
  | { name: "inbox" }
  | { name: "dashboard" }
  | { name: "integrations" }
  | { name: "account" }
  | { name: "team" };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const HOME: Screen = { name: "customers" };

export function formatScreen(screen: Screen): string {
  switch (screen.name) {
    case "customer":
    case "ticket":
      return `${screen.name}/${screen.id}`;
    default:
      return screen.name;
  }
}

/** The screen a remembered text names; anything unreadable is home. */
export function parseScreen(text: string | null | undefined): Screen {
  if (!text) return HOME;
  const [name, id, ...rest] = text.trim().split("/");
  if (rest.length > 0) return HOME;
  switch (name) {
    case "customers":
    case "tickets":
    case "follow-ups":
    case "inbox":
    case "dashboard":
    case "integrations":
    case "account":
    case "team":
      return id === undefined ? { name } : HOME;
    case "customer":
    case "ticket":
      return id !== undefined && UUID.test(id) ? { name, id } : HOME;
    default:
      return HOME;
  }
}

export function sameScreen(a: Screen, b: Screen): boolean {
  return formatScreen(a) === formatScreen(b);
}

/** The top-level screens the navigation offers, for "which nav item is current". */
export function section(
  screen: Screen,
): "customers" | "tickets" | "follow-ups" | "inbox" | "dashboard" | "integrations" | "account" | "team" {
  switch (screen.name) {
    case "customer":
      return "customers";
    case "ticket":
      return "tickets";
    default:
      return screen.name;
  }
}

/** How many screens "back" (Escape) remembers. */
export const HISTORY_LIMIT = 30;

/**
 * The back-stack after leaving `from`: it is remembered unless it is the
 * screen already on top, and the oldest entries drop beyond the limit.
 */
export function pushHistory(history: readonly Screen[], from: Screen, limit = HISTORY_LIMIT): Screen[] {
  const top = history[history.length - 1];
  const next = top && sameScreen(top, from) ? [...history] : [...history, from];
  return next.slice(Math.max(0, next.length - limit));
}

/**
 * Where "back" leads: the screen left last, or `fallback` (the page's own
 * list) when there is none, as after a start on a remembered page.
 */
export function backTarget(previous: Screen | null | undefined, fallback: Screen): Screen {
  return previous ?? fallback;
}

/**
 * The back link's words for `target`, so the link says where it leads: a
 * list by its name as in the navigation, a customer's or ticket's page by
 * the `title` the page knows for it (a ticket's customer, a customer's
 * ticket), else by what it is.
 */
export function backLabel(target: Screen, title?: string | null): string {
  switch (target.name) {
    case "customers":
      return "Customers";
    case "tickets":
      return "Tickets";
    case "follow-ups":
      return "Follow-ups";
    case "inbox":
      return "Inbox";
    case "dashboard":
      return "Dashboard";
    case "integrations":
      return "Integrations";
    case "account":
      return "My account";
    case "team":
      return "Team";
    case "customer":
      return title?.trim() || "Previous customer";
    case "ticket":
      return title?.trim() || "Previous ticket";
  }
}
