import { describe, expect, it } from "vitest";
import type { TicketListItem_Serialize } from "./bindings";
import { nextTicketSort, sortTickets } from "./ticketList";

const ticket = (over: Partial<TicketListItem_Serialize>): TicketListItem_Serialize =>
  ({
    id: over.title ?? "t",
    title: "T",
    description: null,
    priority: "medium",
    status: "open",
    customer_id: null,
    assigned_to: null,
    created_by: "u",
    created_at: "2026-12-01T10:00:00Z",
    updated_at: "2026-12-01T10:00:00Z",
    resolved_at: null,
    closed_at: null,
    customer_name: null,
    assigned_to_name: null,
    assignee_count: 0,
    ...over,
  }) as TicketListItem_Serialize;

describe("ticket list order", () => {
  const a = ticket({ title: "Broken till", priority: "low", status: "closed", customer_name: "Zeta", updated_at: "2026-12-01T09:00:00Z" });
  const b = ticket({ title: "alarm", priority: "urgent", status: "in_progress", customer_name: null, updated_at: "2026-12-02T09:00:00Z" });
  const c = ticket({ title: "Cable", priority: "high", status: "open", customer_name: "Acme", assigned_to_name: "Ben" });

  it("keeps the core's order until a column is chosen", () => {
    expect(sortTickets([a, b, c], null)).toEqual([a, b, c]);
  });

  it("sorts titles ignoring case, priorities most pressing first, statuses by the workflow", () => {
    expect(sortTickets([a, b, c], { column: "title", direction: "asc" })).toEqual([b, a, c]);
    expect(sortTickets([a, b, c], { column: "priority", direction: "asc" })).toEqual([b, c, a]);
    expect(sortTickets([a, b, c], { column: "status", direction: "asc" })).toEqual([c, b, a]);
    expect(sortTickets([a, b, c], { column: "updated", direction: "desc" })[0]).toBe(b);
  });

  it("puts tickets without a customer or assignee last in both directions", () => {
    expect(sortTickets([b, a, c], { column: "customer", direction: "asc" })).toEqual([c, a, b]);
    expect(sortTickets([b, a, c], { column: "customer", direction: "desc" })).toEqual([a, c, b]);
    expect(sortTickets([a, b, c], { column: "assigned", direction: "desc" })[0]).toBe(c);
  });

  it("reverses on a second click and starts dates newest first", () => {
    expect(nextTicketSort(null, "title")).toEqual({ column: "title", direction: "asc" });
    expect(nextTicketSort({ column: "title", direction: "asc" }, "title")).toEqual({ column: "title", direction: "desc" });
    expect(nextTicketSort({ column: "title", direction: "asc" }, "updated")).toEqual({ column: "updated", direction: "desc" });
  });
});
