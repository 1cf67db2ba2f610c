// A searchable picker's pure parts (the ticket form's customer picker):
// what the box holds, the matches shown and which query they answer, the
// highlighted match, and what the keys do. The component (components/
// CustomerPicker.tsx) runs the searches and renders; every decision is here.
//
// Matches answer one query; an answer to an older query is dropped, so a
// slow search never replaces a newer one. Enter pressed before the matches
// for the typed text arrived picks the first match once they do.

import type { CustomerFilter_Deserialize } from "./bindings";
import { textOrNull } from "./forms";
import { moveHighlight } from "./search";

/** How many matches the customer picker asks for. */
export const PICKER_LIMIT = 20;

/** What `listCustomers` gets for the text typed (not archived, best first by name). */
export function customerSearchFilter(text: string, limit = PICKER_LIMIT): CustomerFilter_Deserialize {
  return { search: textOrNull(text), stage: null, status: null, include_archived: false, limit, offset: 0 };
}

export interface PickerState<T> {
  /** The box's text as typed. */
  query: string;
  /** The matches shown; null before any arrived. */
  matches: readonly T[] | null;
  /** The (trimmed) query `matches` answer. */
  answered: string | null;
  /** Index into `matches`, -1 for none. */
  highlight: number;
  /** The list is showing. */
  open: boolean;
  /** Enter came before the matches: pick the first one when they arrive. */
  pickOnArrival: boolean;
}

export function initialPicker<T>(query = ""): PickerState<T> {
  return { query, matches: null, answered: null, highlight: -1, open: false, pickOnArrival: false };
}

/** The text to search for: the query without surrounding spaces. */
export function searchText(state: PickerState<unknown>): string {
  return state.query.trim();
}

/** Whether the shown matches answer what the box holds now. */
export function upToDate(state: PickerState<unknown>): boolean {
  return state.answered !== null && state.answered === searchText(state);
}

/** The user typed: the list opens; the old matches stay until new ones arrive. */
export function typed<T>(state: PickerState<T>, text: string): PickerState<T> {
  return { ...state, query: text, open: true, pickOnArrival: false };
}

/** The box got the focus: the list opens (on the first 20 by name when empty). */
export function focused<T>(state: PickerState<T>): PickerState<T> {
  return { ...state, open: true };
}

/** The box lost the focus, or Escape: the list closes. */
export function closed<T>(state: PickerState<T>): PickerState<T> {
  return { ...state, open: false, pickOnArrival: false };
}

export interface Outcome<T> {
  state: PickerState<T>;
  /** The match chosen now, if any. */
  pick: T | null;
}

/** Matches for `query` arrived. Stale answers change nothing. */
export function arrived<T>(state: PickerState<T>, query: string, matches: readonly T[]): Outcome<T> {
  if (query !== searchText(state)) return { state, pick: null };
  const next: PickerState<T> = { ...state, matches, answered: query, highlight: matches.length > 0 ? 0 : -1 };
  if (state.pickOnArrival) {
    const pick = matches[0] ?? null;
    return { state: { ...next, pickOnArrival: false, open: pick ? false : next.open }, pick };
  }
  return { state: next, pick: null };
}

export interface KeyOutcome<T> extends Outcome<T> {
  /** The key was the picker's: prevent its default (no form submit) and stop it. */
  handled: boolean;
  /** Run the pending search now (Enter before the answer). */
  searchNow: boolean;
}

/** What a key press in the box does. Keys other than ↑ ↓ Enter Escape are not the picker's. */
export function pressed<T>(state: PickerState<T>, key: string): KeyOutcome<T> {
  const none = { state, pick: null, handled: false, searchNow: false };
  const count = state.matches?.length ?? 0;
  switch (key) {
    case "ArrowDown":
    case "ArrowUp": {
      const step = key === "ArrowDown" ? 1 : -1;
      // The first press on a closed list only opens it, on the match highlighted before.
      const highlight = state.open ? moveHighlight(state.highlight, count, step) : state.highlight;
      return { state: { ...state, open: true, highlight }, pick: null, handled: true, searchNow: false };
    }
    case "Enter": {
      // An empty, closed box: Enter is the form's (submit).
      if (!state.open && searchText(state) === "") return none;
      if (!upToDate(state)) {
        return { state: { ...state, open: true, pickOnArrival: true }, pick: null, handled: true, searchNow: true };
      }
      // A closed list with text in the box opens again; an empty list has nothing to pick.
      if (!state.open) return { state: { ...state, open: true }, pick: null, handled: true, searchNow: false };
      if (count === 0) return { ...none, handled: true };
      const pick = state.matches![state.highlight >= 0 ? state.highlight : 0] ?? null;
      return { state: { ...state, open: false }, pick, handled: true, searchNow: false };
    }
    case "Escape":
      // An open list closes; a closed one lets Escape close the dialog.
      return state.open ? { state: closed(state), pick: null, handled: true, searchNow: false } : none;
    default:
      return none;
  }
}
