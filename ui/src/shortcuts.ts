// Keyboard shortcuts: which key press means which app action. The app's
// single keydown listener asks `matchShortcut` and does the action; keeping
// the matching here (no DOM) lets the rules be tested.
//
// Rule of thumb: chords with Alt/Ctrl work everywhere; bare keys ("n", "/",
// "?") only when the user is not typing, so they never eat a letter.

export type NavTarget = "customers" | "tickets" | "follow-ups" | "inbox" | "dashboard" | "integrations" | "team";

export type Action =
  | { kind: "navigate"; to: NavTarget }
  /** "global" is the header's search; "screen" the current screen's own (or the global one). */
  | { kind: "focus-search"; target: "global" | "screen" }
  /** The current screen's "new" button: customer, ticket, interaction. */
  | { kind: "new" }
  | { kind: "help" }
  /** Close the app (saved work is on disk already; the window remembers its size). */
  | { kind: "quit" }
  /** Escape outside any field: close what is open, or go back. */
  | { kind: "back" };

/** What the matcher needs of a KeyboardEvent (a subset, so tests can build one). */
export interface KeyPress {
  key: string;
  code?: string;
  altKey?: boolean;
  ctrlKey?: boolean;
  metaKey?: boolean;
  shiftKey?: boolean;
  /** The focus is in a text field, a textarea, a select or editable content. */
  typing?: boolean;
}

/** What the typing check needs of the focused element. */
export interface FocusedElement {
  tagName?: string;
  type?: string;
  isContentEditable?: boolean;
}

// Inputs whose keys are not text: a bare "n" on a checkbox is a shortcut.
const NON_TEXT_INPUTS = new Set(["checkbox", "radio", "button", "submit", "reset", "range", "color", "file", "image"]);

/** Whether keys pressed now go into a field (so bare-letter shortcuts must wait). */
export function isTyping(el: FocusedElement | null | undefined): boolean {
  if (!el) return false;
  if (el.isContentEditable) return true;
  const tag = el.tagName?.toUpperCase();
  if (tag === "TEXTAREA" || tag === "SELECT") return true;
  if (tag === "INPUT") return !NON_TEXT_INPUTS.has((el.type ?? "text").toLowerCase());
  return false;
}

const NAV_KEYS: Record<string, NavTarget> = {
  "1": "customers",
  "2": "tickets",
  "3": "inbox",
  "4": "dashboard",
  "5": "follow-ups",
  "6": "integrations",
  "7": "team",
};

export function matchShortcut(press: KeyPress): Action | null {
  const { key, code, altKey = false, ctrlKey = false, metaKey = false, shiftKey = false, typing = false } = press;
  const command = ctrlKey || metaKey;

  // Alt+1..7. On a Mac, Alt+1 types "¡", so the physical key (code) counts too.
  if (altKey && !command) {
    const digit = /^Digit([1-7])$/.exec(code ?? "")?.[1] ?? (NAV_KEYS[key] ? key : undefined);
    if (digit) return { kind: "navigate", to: NAV_KEYS[digit] };
  }

  if (command && !altKey && key.toLowerCase() === "k") return { kind: "focus-search", target: "global" };
  if (command && !altKey && !shiftKey && key.toLowerCase() === "q") return { kind: "quit" };

  if (typing || altKey || command) return null;

  if (key === "Escape") return { kind: "back" };
  if (key === "/") return { kind: "focus-search", target: "screen" };
  if (key === "?") return { kind: "help" };
  if (!shiftKey && key.toLowerCase() === "n") return { kind: "new" };
  return null;
}

/** Ctrl+Enter (Cmd+Enter on a Mac): submit the form, from a textarea too. */
export function isSubmitChord(press: KeyPress): boolean {
  return press.key === "Enter" && Boolean(press.ctrlKey || press.metaKey);
}

/** The list the "?" overlay shows, and the source of buttons' title hints. */
export const SHORTCUTS: { keys: string; what: string }[] = [
  { keys: "Alt+1", what: "Customers" },
  { keys: "Alt+2", what: "Tickets" },
  { keys: "Alt+3", what: "Inbox" },
  { keys: "Alt+4", what: "Dashboard" },
  { keys: "Alt+5", what: "Follow-ups" },
  { keys: "Alt+6", what: "Integrations (tokens and webhooks)" },
  { keys: "Alt+7", what: "Team (admins)" },
  { keys: "Ctrl+K", what: "Search everything" },
  { keys: "/", what: "Search this list (or everything)" },
  { keys: "N", what: "New customer / new ticket / log interaction" },
  { keys: "Enter", what: "Open the focused row; submit a one-line form" },
  { keys: "Ctrl+Enter", what: "Submit a form, from a text area too" },
  { keys: "↑ ↓", what: "Move through lists and search results" },
  { keys: "Esc", what: "Close the form or dialog; go back" },
  { keys: "?", what: "Show this help" },
  { keys: "Ctrl+Q", what: "Quit" },
];

/** A button's title with its shortcut: "New customer (N)". */
export function withHint(label: string, keys: string): string {
  return `${label} (${keys})`;
}
