// The follow-ups: the user's open ones, as a day is planned (overdue,
// today, upcoming), each with its customer, what it is about, when, and the
// actions (done, reschedule, snooze). Reached from the navigation, the
// dashboard's figures, and the summary notification of missed follow-ups.

import { commands, type FollowUpItem_Serialize } from "../bindings";
import { FollowUpActions } from "../components/FollowUpActions";
import { LoadingNote } from "../components/LoadingNote";
import { useApp } from "../context";
import { formatDateTime, formatFull } from "../datetime";
import { groupFollowUps, isSnoozed } from "../followUps";
import { useLoad, useNow } from "../hooks";

export function FollowUps() {
  const list = useLoad(() => commands.followUps(), [], { keep: true });
  const now = useNow(60_000);
  const groups = groupFollowUps(list.data ?? [], now);
  return (
    <section id="follow-ups" class="screen" data-loaded={list.loaded ? "true" : undefined}>
      <header class="screen-header">
        <h1>Follow-ups</h1>
      </header>
      {!list.data && <LoadingNote error={list.error} />}
      {list.data && list.data.length === 0 && (
        <div class="empty">
          <p>No open follow-ups. Set one when you log an interaction.</p>
        </div>
      )}
      {list.data && list.data.length > 0 && (
        <>
          <Group id="overdue" title="Overdue" items={groups.overdue} now={now} />
          <Group id="today" title="Later today" items={groups.today} now={now} />
          <Group id="upcoming" title="Upcoming" items={groups.upcoming} now={now} />
        </>
      )}
    </section>
  );
}

function Group({ id, title, items, now }: { id: string; title: string; items: FollowUpItem_Serialize[]; now: Date }) {
  const { navigate } = useApp();
  if (items.length === 0) return null;
  return (
    <section class="panel follow-up-group" id={`follow-ups-${id}`} aria-labelledby={`follow-ups-${id}-heading`}>
      <h2 id={`follow-ups-${id}-heading`}>
        {title} <span class="count">{items.length}</span>
      </h2>
      <ul class="follow-up-list">
        {items.map((item) => (
          <li key={item.interaction_id} class={`follow-up-item ${id}`} data-id={item.interaction_id}>
            <div class="follow-up-what">
              <button
                type="button"
                class="link-button strong"
                onClick={() => navigate({ name: "customer", id: item.customer_id })}
              >
                {item.customer_name || "Customer"}
              </button>
              <span class="muted">
                {" · "}
                {item.interaction_type}
                {item.note ? `: ${item.note}` : ""}
              </span>
            </div>
            <div class="follow-up-when muted small" title={formatFull(item.due)}>
              {formatDateTime(item.due, now)}
              {isSnoozed(item, now) && item.snoozed_until && <> · reminder snoozed until {formatDateTime(item.snoozed_until, now)}</>}
            </div>
            <FollowUpActions interactionId={item.interaction_id} due={item.due} />
          </li>
        ))}
      </ul>
    </section>
  );
}
