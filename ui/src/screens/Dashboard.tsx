// The dashboard: the replica's figures (customers, tickets, follow-ups,
// recent activity) as cards, with the per-stage and per-status counts as
// simple bars. A figure's words never reuse a status's name for something
// else: the core's `customers.active` counts customers not archived (of any
// status) and `tickets.open` tickets not resolved or closed (of any other
// status), while the bars beside them count the statuses "Active" and
// "Open" themselves (desktop-core/src/store/stats.rs).

import { commands } from "../bindings";
import { LoadingNote } from "../components/LoadingNote";
import { useApp } from "../context";
import { formatFull, relativeTime } from "../datetime";
import { useLoad, useNow } from "../hooks";
import { hoursLabel, humanize, orderedCounts } from "../labels";

export function Dashboard() {
  const { vocabulary, navigate } = useApp();
  const dashboard = useLoad(() => commands.dashboard(), []);
  const now = useNow(30_000);
  const data = dashboard.data;

  if (!data) {
    return (
      <section id="dashboard" class="screen">
        <header class="screen-header">
          <h1>Dashboard</h1>
        </header>
        <LoadingNote error={dashboard.error} />
      </section>
    );
  }

  const { customers, tickets } = data;
  return (
    <section id="dashboard" class="screen" data-loaded="true">
      <header class="screen-header">
        <h1>Dashboard</h1>
        <span class="header-spacer" />
        <span class="muted small" title={formatFull(data.generated_at)}>
          Figures from {relativeTime(data.generated_at, now)}
        </span>
      </header>

      <div class="figures">
        <Figure label="My unresolved tickets" value={data.my_open_tickets} onOpen={() => navigate({ name: "tickets" })} />
        <Figure
          label="Follow-ups overdue"
          value={data.follow_ups_overdue}
          alert={data.follow_ups_overdue > 0}
          onOpen={() => navigate({ name: "follow-ups" })}
        />
        <Figure
          label="Follow-ups in the next 7 days"
          value={data.follow_ups_next_7_days}
          onOpen={() => navigate({ name: "follow-ups" })}
        />
        <Figure label="Interactions in the last 7 days" value={data.interactions_last_7_days} />
      </div>

      <div class="cards-grid">
        <section class="panel" aria-labelledby="dash-customers">
          <h2 id="dash-customers">Customers</h2>
          <div class="mini-figures">
            <Mini label="Total" value={customers.total} />
            <Mini
              label="Not archived"
              value={customers.active}
              title="Customers in the list, whatever their status (archived ones are left out)"
            />
            <Mini label="Archived" value={customers.archived} />
            <Mini label="New, 30 days" value={customers.new_last_30_days} />
          </div>
          <Breakdown title="Not archived, by stage" counts={orderedCounts(customers.by_stage, vocabulary.stages)} />
          <Breakdown title="Not archived, by status" counts={orderedCounts(customers.by_status, vocabulary.customer_statuses)} />
        </section>

        <section class="panel" aria-labelledby="dash-tickets">
          <h2 id="dash-tickets">Tickets</h2>
          <div class="mini-figures">
            <Mini label="Total" value={tickets.total} />
            <Mini label="Unresolved" value={tickets.open} title="Neither resolved nor closed, whatever their status" />
            <Mini label="Urgent, unresolved" value={tickets.urgent_open} alert={tickets.urgent_open > 0} />
            <Mini label="Resolved, 7 days" value={tickets.resolved_last_7_days} />
            <Mini label="Average resolution" value={hoursLabel(tickets.avg_resolution_hours)} />
          </div>
          <Breakdown title="By status" counts={orderedCounts(tickets.by_status, vocabulary.ticket_statuses)} />
          <Breakdown title="Unresolved, by priority" counts={orderedCounts(tickets.by_priority, vocabulary.priorities)} />
        </section>
      </div>
    </section>
  );
}

function Figure({ label, value, alert, onOpen }: { label: string; value: number; alert?: boolean; onOpen?: () => void }) {
  const body = (
    <>
      <span class="figure-value">{value}</span>
      <span class="figure-label">{label}</span>
    </>
  );
  const className = alert ? "figure alert" : "figure";
  return onOpen ? (
    <button type="button" class={`${className} clickable`} onClick={onOpen}>
      {body}
    </button>
  ) : (
    <div class={className}>{body}</div>
  );
}

/** A small figure; `title` says exactly what it counts when the label cannot. */
function Mini({ label, value, alert, title }: { label: string; value: number | string; alert?: boolean; title?: string }) {
  return (
    <div class={alert ? "mini alert" : "mini"} title={title}>
      <span class="mini-value">{value}</span>
      <span class="mini-label">{label}</span>
    </div>
  );
}

function Breakdown({ title, counts }: { title: string; counts: [string, number][] }) {
  const max = Math.max(1, ...counts.map(([, n]) => n));
  return (
    <div class="breakdown">
      <h3>{title}</h3>
      {counts.length === 0 ? (
        <p class="empty-inline">Nothing yet.</p>
      ) : (
        <ul>
          {counts.map(([key, count]) => (
            <li key={key}>
              <span class="breakdown-label">{humanize(key)}</span>
              <span class="bar" aria-hidden="true">
                <span class="bar-fill" style={{ width: `${(count / max) * 100}%` }} />
              </span>
              <span class="breakdown-count">{count}</span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
