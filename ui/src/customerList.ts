// The customer list's pure parts: which order it is shown in and what a
// click on a column header does, which page it is on, the admin's owner
// filter, and the filter the core gets (`customerList`). The screen
// (screens/Customers.tsx) keeps the state and renders; the decisions are
// here.
//
// With no order chosen, the list goes by name, and a search shows the best
// matches first (the core's ranking). A chosen order applies to a search's
// matches too, until the user goes back to "best match".

import type { AcquisitionStage, CustomerFilter_Deserialize, CustomerSortColumn, CustomerStatus, SortDirection } from "./bindings";
import { textOrNull } from "./forms";
import { byName, colleagueName, type Person, type PersonChoice } from "./people";

/** How many customers a page shows. */
export const PAGE_SIZE = 100;

export interface ListSort {
  column: CustomerSortColumn;
  direction: SortDirection;
}

/** What the list screen remembers (memory.ts) and asks the core for. */
export interface ListState {
  /** As typed (the screen debounces it before asking). */
  search: string;
  stage: AcquisitionStage | "";
  status: CustomerStatus | "";
  /** A user id, "" for everyone's customers (admins only). */
  owner: string;
  showArchived: boolean;
  /** The order the user chose by clicking a header; null for the default. */
  sort: ListSort | null;
  /** The first row of the page shown (0, 100, 200, ...). */
  offset: number;
}

export function initialListState(): ListState {
  return { search: "", stage: "", status: "", owner: "", showArchived: false, sort: null, offset: 0 };
}

/** Whether search, stage, status or owner narrow the list ("Showing archived" only widens it). */
export function isFiltered(state: Pick<ListState, "search" | "stage" | "status" | "owner">): boolean {
  return Boolean(textOrNull(state.search) || state.stage || state.status || state.owner);
}

/**
 * The order the rows are in: the chosen one; else by name, A–Z; null while
 * searching without a chosen order (best match first, no column sorted).
 */
export function shownSort(chosen: ListSort | null, searching: boolean): ListSort | null {
  if (chosen) return chosen;
  return searching ? null : { column: "name", direction: "asc" };
}

/** Dates start newest first (what one looks for); names and the rest A–Z. */
export function firstDirection(column: CustomerSortColumn): SortDirection {
  return column === "created_at" || column === "updated_at" ? "desc" : "asc";
}

/** A click on `column`'s header: the sorted column turns around, another one starts at its first direction. */
export function nextSort(shown: ListSort | null, column: CustomerSortColumn): ListSort {
  if (shown?.column === column) return { column, direction: shown.direction === "asc" ? "desc" : "asc" };
  return { column, direction: firstDirection(column) };
}

/** The header's `aria-sort`: only the sorted column has one. */
export function ariaSort(shown: ListSort | null, column: CustomerSortColumn): "ascending" | "descending" | undefined {
  if (shown?.column !== column) return undefined;
  return shown.direction === "asc" ? "ascending" : "descending";
}

/**
 * Where a page that came back empty should be instead: customers left or
 * were archived since the page was chosen (or it was remembered from a
 * longer list), so the last page that has rows, or the first.
 */
export function offsetWithin(offset: number, total: number, pageSize = PAGE_SIZE): number {
  if (total <= 0 || pageSize <= 0) return 0;
  if (offset < total) return Math.max(0, offset);
  return Math.floor((total - 1) / pageSize) * pageSize;
}

export function hasPreviousPage(offset: number): boolean {
  return offset > 0;
}

export function hasNextPage(offset: number, total: number, pageSize = PAGE_SIZE): boolean {
  return offset + pageSize < total;
}

/** The page before or after; never before the first. */
export function turnPage(offset: number, step: 1 | -1, pageSize = PAGE_SIZE): number {
  return Math.max(0, offset + step * pageSize);
}

/** The pager is worth showing: more than a page, or not on the first one. */
export function showPager(offset: number, total: number, pageSize = PAGE_SIZE): boolean {
  return total > pageSize || offset > 0;
}

/**
 * The admin's owner filter: everyone, the admin themself, then each
 * colleague by name; always the chosen one too, even when the colleague
 * list does not (or not yet) hold them, so the select never shows another
 * owner than the one the list is narrowed to.
 */
export function ownerFilterChoices(colleagues: readonly Person[], me: string, chosen = ""): PersonChoice[] {
  const choices: PersonChoice[] = [
    { id: "", label: "All owners" },
    { id: me, label: "Me" },
  ];
  for (const person of byName(colleagues)) {
    if (person.id !== me) choices.push({ id: person.id, label: colleagueName(person) });
  }
  if (chosen && !choices.some((choice) => choice.id === chosen)) choices.push({ id: chosen, label: "Unknown user" });
  return choices;
}

/**
 * What the core gets for the list as it stands. `query` is the debounced
 * search; the owner filter is an admin's only (an agent's remembered
 * choice, if any, is ignored).
 */
export function listFilter(state: ListState, query: string, isAdmin: boolean, pageSize = PAGE_SIZE): CustomerFilter_Deserialize {
  return {
    search: textOrNull(query),
    stage: state.stage || null,
    status: state.status || null,
    owner: isAdmin && state.owner ? state.owner : null,
    include_archived: state.showArchived,
    sort: state.sort,
    limit: pageSize,
    offset: Math.max(0, state.offset),
  };
}
