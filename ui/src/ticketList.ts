// The ticket list's order. A view holds every ticket it names (a user's
// tickets are hundreds at most, all in the replica), so the list sorts
// what it has: by a clicked column, or open ones first, then by priority
// and age, as the core gives them.

import type { TicketListItem_Serialize, TicketPriority, TicketStatus } from "./bindings";

export type TicketSortColumn = "title" | "customer" | "status" | "priority" | "assigned" | "updated";

export interface TicketSort {
  column: TicketSortColumn;
  direction: "asc" | "desc";
}

/** The workflow's order, for sorting by status. */
const STATUS_ORDER: TicketStatus[] = ["open", "reopened", "in_progress", "pending_customer", "resolved", "closed"];
/** Most pressing first when ascending. */
const PRIORITY_ORDER: TicketPriority[] = ["urgent", "high", "medium", "low"];

/** A header click: the same column reverses, a new one starts in its natural direction. */
export function nextTicketSort(current: TicketSort | null, column: TicketSortColumn): TicketSort {
  if (current?.column === column) return { column, direction: current.direction === "asc" ? "desc" : "asc" };
  return { column, direction: column === "updated" ? "desc" : "asc" };
}

/** How the list is sorted by `column`, for the header's `aria-sort`. */
export function sortedBy(sort: TicketSort | null, column: TicketSortColumn): "ascending" | "descending" | undefined {
  if (sort?.column !== column) return undefined;
  return sort.direction === "asc" ? "ascending" : "descending";
}

/** The rows in the chosen order (stable: ties keep the core's order); null keeps the core's. */
export function sortTickets(rows: readonly TicketListItem_Serialize[], sort: TicketSort | null): TicketListItem_Serialize[] {
  if (!sort) return [...rows];
  const key = (t: TicketListItem_Serialize): string | number => {
    switch (sort.column) {
      case "title":
        return t.title.toLocaleLowerCase();
      case "customer":
        return (t.customer_name ?? "").toLocaleLowerCase();
      case "status":
        return STATUS_ORDER.indexOf(t.status);
      case "priority":
        return PRIORITY_ORDER.indexOf(t.priority);
      case "assigned":
        return (t.assigned_to_name ?? "").toLocaleLowerCase();
      case "updated":
        return new Date(t.updated_at).getTime();
    }
  };
  const sign = sort.direction === "asc" ? 1 : -1;
  return rows
    .map((row, index) => ({ row, index, key: key(row) }))
    .sort((a, b) => {
      // Empty text (no customer, nobody assigned) goes last either way.
      if (a.key === "" && b.key !== "") return 1;
      if (b.key === "" && a.key !== "") return -1;
      if (a.key < b.key) return -sign;
      if (a.key > b.key) return sign;
      return a.index - b.index;
    })
    .map((entry) => entry.row);
}
