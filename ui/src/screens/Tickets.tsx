// The ticket list, in views: assigned to me (lead or assignee: what the
// dashboard's "my tickets" counts), created by me, unassigned, and all the
// user can see (every ticket, for an admin); resolved and closed ones only
// on request. The "Assigned" column names the lead, and how many more work
// on it.

import { useEffect, useState } from "preact/hooks";
import { commands, type TicketView } from "../bindings";
import { Pill } from "../components/Pill";
import { SortableHeader } from "../components/SortableHeader";
import { openableRow } from "../components/rows";
import { useApp } from "../context";
import { formatDateTime, formatFull } from "../datetime";
import { useLoad, useNewAction, useNow } from "../hooks";
import { isPressing, personName, plural } from "../labels";
import { screenMemory } from "../memory";
import { nextTicketSort, sortedBy, sortTickets, type TicketSort, type TicketSortColumn } from "../ticketList";
import { withHint } from "../shortcuts";

export function Tickets() {
  const { navigate, openDialog, session } = useApp();
  const [includeDone, setIncludeDone] = useState(screenMemory.tickets.includeDone);
  const [view, setView] = useState<TicketView>(screenMemory.tickets.view);
  const [sort, setSort] = useState<TicketSort | null>(screenMemory.tickets.sort ?? null);
  useEffect(() => {
    screenMemory.tickets = { includeDone, view, sort };
  }, [includeDone, view, sort]);
  const list = useLoad(() => commands.tickets(view, includeDone), [view, includeDone], { keep: true });
  const views = ticketViews(session.account.role === "admin");
  const now = useNow(60_000);

  const newTicket = () => openDialog({ kind: "new-ticket" });
  useNewAction(newTicket, []);

  const tickets = sortTickets(list.data ?? [], sort);
  const onSort = (column: TicketSortColumn) => setSort(nextTicketSort(sort, column));
  return (
    <section id="tickets-screen" class="screen" data-loaded={list.loaded ? "true" : undefined}>
      <header class="screen-header">
        <h1>Tickets</h1>
        <div class="segmented" role="radiogroup" aria-label="Which tickets">
          {views.map((choice) => (
            <button
              key={choice.view}
              type="button"
              id={`ticket-view-${choice.view}`}
              role="radio"
              aria-checked={view === choice.view}
              class={view === choice.view ? "segment active" : "segment"}
              onClick={() => setView(choice.view)}
            >
              {choice.label}
            </button>
          ))}
        </div>
        <span class="header-spacer" />
        <label class="checkbox-inline">
          <input id="include-done" type="checkbox" checked={includeDone} onChange={(e) => setIncludeDone(e.currentTarget.checked)} />
          Show resolved and closed
        </label>
        <button id="new-ticket" type="button" class="button primary" onClick={newTicket} title={withHint("New ticket", "N")}>
          New ticket
        </button>
      </header>

      {list.loaded && (
        <p id="ticket-list-total" class="list-summary" aria-live="polite">
          {plural(tickets.length, "ticket")}
          {includeDone ? ", resolved and closed included" : ""}
        </p>
      )}
      <div id="ticket-list" class="list" data-loaded={list.loaded ? "true" : undefined}>
        {list.loaded && tickets.length === 0 && (
          <div class="empty">
            <p>{emptyWords(view, includeDone)}</p>
          </div>
        )}
        {tickets.length > 0 && (
          <table class="table">
            <thead>
              <tr>
                <SortableHeader id="ticket-sort-title" label="Title" sorted={sortedBy(sort, "title")} onSort={() => onSort("title")} />
                <SortableHeader id="ticket-sort-customer" label="Customer" sorted={sortedBy(sort, "customer")} onSort={() => onSort("customer")} />
                <SortableHeader id="ticket-sort-status" label="Status" sorted={sortedBy(sort, "status")} onSort={() => onSort("status")} />
                <SortableHeader id="ticket-sort-priority" label="Priority" sorted={sortedBy(sort, "priority")} onSort={() => onSort("priority")} />
                <SortableHeader id="ticket-sort-assigned" label="Assigned" sorted={sortedBy(sort, "assigned")} onSort={() => onSort("assigned")} />
                <SortableHeader id="ticket-sort-updated" label="Updated" sorted={sortedBy(sort, "updated")} onSort={() => onSort("updated")} />
              </tr>
            </thead>
            <tbody>
              {tickets.map((ticket) => (
                <tr
                  key={ticket.id}
                  class={isPressing(ticket.priority) ? `ticket-row pressing ${ticket.priority}` : "ticket-row"}
                  data-id={ticket.id}
                  {...openableRow(() => navigate({ name: "ticket", id: ticket.id }))}
                >
                  <td class="strong ellipsis">{ticket.title}</td>
                  <td class="muted ellipsis">{ticket.customer_name ?? "—"}</td>
                  <td>
                    <Pill kind="ticket-status" value={ticket.status} />
                  </td>
                  <td>
                    <Pill kind="priority" value={ticket.priority} />
                  </td>
                  <td class="muted ellipsis">
                    {personName(ticket.assigned_to_name, ticket.assigned_to ? "Unknown" : "—")}
                    {ticket.assignee_count > 1 && <span class="small"> +{ticket.assignee_count - 1}</span>}
                  </td>
                  <td class="muted small" title={formatFull(ticket.updated_at)}>
                    {formatDateTime(ticket.updated_at, now)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </section>
  );
}

/** The views offered: "all" is every ticket for an admin, and what the
 * agent can see (created by or assigned to them) for an agent. */
export function ticketViews(admin: boolean): { view: TicketView; label: string }[] {
  return [
    { view: "assigned_to_me", label: "Assigned to me" },
    { view: "created_by_me", label: "Created by me" },
    { view: "unassigned", label: "Unassigned" },
    { view: "all", label: admin ? "All tickets" : "All mine" },
  ];
}

function emptyWords(view: TicketView, includeDone: boolean): string {
  const open = includeDone ? "" : " open";
  switch (view) {
    case "assigned_to_me":
      return `No${open} tickets assigned to you.`;
    case "created_by_me":
      return `No${open} tickets you opened.`;
    case "unassigned":
      return `No${open} tickets without an assignee.`;
    case "all":
      return `No${open} tickets.`;
  }
}
