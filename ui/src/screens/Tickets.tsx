// My tickets: the ones I created or am assigned to; resolved and closed
// ones only on request.

import { useEffect, useState } from "preact/hooks";
import { commands } from "../bindings";
import { Pill } from "../components/Pill";
import { openableRow } from "../components/rows";
import { useApp } from "../context";
import { formatDateTime, formatFull } from "../datetime";
import { useLoad, useNewAction, useNow } from "../hooks";
import { isPressing, personName } from "../labels";
import { screenMemory } from "../memory";
import { withHint } from "../shortcuts";

export function Tickets() {
  const { navigate, openDialog } = useApp();
  const [includeDone, setIncludeDone] = useState(screenMemory.tickets.includeDone);
  useEffect(() => {
    screenMemory.tickets = { includeDone };
  }, [includeDone]);
  const list = useLoad(() => commands.myTickets(includeDone), [includeDone], { keep: true });
  const now = useNow(60_000);

  const newTicket = () => openDialog({ kind: "new-ticket" });
  useNewAction(newTicket, []);

  const tickets = list.data ?? [];
  return (
    <section id="tickets-screen" class="screen" data-loaded={list.loaded ? "true" : undefined}>
      <header class="screen-header">
        <h1>My tickets</h1>
        <span class="header-spacer" />
        <label class="checkbox-inline">
          <input id="include-done" type="checkbox" checked={includeDone} onChange={(e) => setIncludeDone(e.currentTarget.checked)} />
          Show resolved and closed
        </label>
        <button id="new-ticket" type="button" class="button primary" onClick={newTicket} title={withHint("New ticket", "N")}>
          New ticket
        </button>
      </header>

      <div id="ticket-list" class="list" data-loaded={list.loaded ? "true" : undefined}>
        {list.loaded && tickets.length === 0 && (
          <div class="empty">
            <p>{includeDone ? "No tickets." : "No open tickets. Nice."}</p>
          </div>
        )}
        {tickets.length > 0 && (
          <table class="table">
            <thead>
              <tr>
                <th>Title</th>
                <th>Customer</th>
                <th>Status</th>
                <th>Priority</th>
                <th>Assigned</th>
                <th>Updated</th>
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
                  <td class="muted">{personName(ticket.assigned_to_name, ticket.assigned_to ? "Unknown" : "—")}</td>
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
