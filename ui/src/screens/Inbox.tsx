// The inbox: changes the server refused (retry, edit and resend, or
// discard), conflicts where two people changed the same field (restore the
// value that lost, or accept the one kept), and, while there are any, the
// changes still waiting for the server (the status bar's pending count
// opens this screen). Everything is said in words (changes.ts): values by
// their labels, people by name or "you", a refusal's reason as a sentence,
// never a wire value or a code.

import { useEffect, useState } from "preact/hooks";
import { attempt } from "../api";
import { commands, type ConflictItem_Serialize, type PendingChange_Serialize, type RejectedChange_Serialize } from "../bindings";
import {
  type ChangeLine,
  changeAsText,
  conflictPeople,
  conflictVerdict,
  describeMutation,
  editableFields,
  editedValues,
  rejectionSentence,
  type ValueContext,
  valueText,
} from "../changes";
import { Form } from "../components/Form";
import { LoadingNote } from "../components/LoadingNote";
import { useApp } from "../context";
import { formatDateTime, formatFull } from "../datetime";
import { useLoad, useNow } from "../hooks";
import { fieldLabel, humanize, tableNoun } from "../labels";
import type { Screen } from "../route";

/** Where the changed row can be seen, for the tables that have a page. */
function rowScreen(table: string, rowId: string): Screen | null {
  if (table === "customers") return { name: "customer", id: rowId };
  if (table === "tickets") return { name: "ticket", id: rowId };
  return null;
}

/** What the inbox's values need to be said in words (names, "you", dates relative to now). */
function useValueContext(now: Date): ValueContext {
  const { colleagues, products, session } = useApp();
  return { colleagues, products, me: session.account.id, now };
}

export function Inbox() {
  const inbox = useLoad(() => commands.inbox(), []);
  const now = useNow(60_000);
  const data = inbox.data;
  return (
    <section id="inbox" class="screen" data-loaded={data ? "true" : undefined}>
      <header class="screen-header">
        <h1>Inbox</h1>
      </header>
      {!data && <LoadingNote error={inbox.error} />}
      {data && (
        <>
          {data.pending.length > 0 && (
            <section id="pending-changes" class="inbox-section" aria-labelledby="pending-heading">
              <h2 id="pending-heading">
                Waiting to send <span class="count">{data.pending.length}</span>
              </h2>
              <p class="empty-inline">
                Saved on this computer; they go to the server by themselves, in this order, as soon as it answers.
              </p>
              <ul class="cards">
                {data.pending.map((item) => (
                  <PendingItem key={item.seq} item={item} now={now} />
                ))}
              </ul>
            </section>
          )}

          <section class="inbox-section" aria-labelledby="rejected-heading">
            <h2 id="rejected-heading">
              Refused by the server <span class="count">{data.rejected.length}</span>
            </h2>
            {data.rejected.length === 0 ? (
              <p class="empty-inline">Nothing was refused. Everything you changed was accepted or is on its way.</p>
            ) : (
              <ul class="cards">
                {data.rejected.map((item) => (
                  <RejectedItem key={item.seq} item={item} now={now} />
                ))}
              </ul>
            )}
          </section>

          <section class="inbox-section" aria-labelledby="conflicts-heading">
            <h2 id="conflicts-heading">
              Conflicts <span class="count">{data.conflicts.length}</span>
            </h2>
            {data.conflicts.length === 0 ? (
              <p class="empty-inline">No conflicts. Nobody else changed what you changed.</p>
            ) : (
              <ul class="cards">
                {data.conflicts.map((conflict) => (
                  <ConflictItem key={conflict.conflict_id} conflict={conflict} now={now} />
                ))}
              </ul>
            )}
          </section>
        </>
      )}
    </section>
  );
}

/** A change's fields: the new value, and the old one where it had one. */
function ChangeLines({ lines }: { lines: ChangeLine[] }) {
  if (lines.length === 0) return null;
  return (
    <dl class="change-lines">
      {lines.map((line) => (
        <div key={line.field}>
          <dt>{line.label}</dt>
          <dd>
            {line.before !== undefined && (
              <>
                <span class="before">{line.before}</span> →{" "}
              </>
            )}
            <span class="after">{line.after}</span>
          </dd>
        </div>
      ))}
    </dl>
  );
}

/** When a new row was made, where that is not when it was saved ("made Yesterday, 16:40"). */
function Made({ made }: { made?: string }) {
  return made ? <span class="muted small made">made {made}</span> : null;
}

/** A change card's first line: what, about what, when, and where to open it. */
function ChangeHead(props: {
  title: string;
  subject: string | null;
  /** "saved", "refused". */
  when: string;
  at: string;
  made: Parameters<typeof Made>[0]["made"];
  now: Date;
  table: string;
  target: Screen | null;
}) {
  const { navigate } = useApp();
  const { title, subject, when, at, made, now, table, target } = props;
  return (
    <div class="card-head">
      <span class="strong">{title}</span>
      {subject && <span class="rejected-subject">{subject}</span>}
      <span class="muted small" title={formatFull(at)}>
        {when} {formatDateTime(at, now)}
      </span>
      <Made made={made} />
      <span class="header-spacer" />
      {target && (
        <button type="button" class="link-button small" onClick={() => navigate(target)}>
          Open {tableNoun(table)}
        </button>
      )}
    </div>
  );
}

function PendingItem({ item, now }: { item: PendingChange_Serialize; now: Date }) {
  const summary = describeMutation(item.mutation, item.subject, useValueContext(now));
  const target = item.mutation.op === "delete" ? null : rowScreen(item.table, item.row_id);
  return (
    <li class="card pending-item" data-seq={item.seq}>
      <ChangeHead title={summary.title} subject={item.subject} when="saved" at={item.recorded_at} made={summary.made} now={now} table={item.table} target={target} />
      <ChangeLines lines={summary.lines} />
    </li>
  );
}

function RejectedItem({ item, now }: { item: RejectedChange_Serialize; now: Date }) {
  const { refresh, session } = useApp();
  const [editing, setEditing] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const context = useValueContext(now);
  const summary = describeMutation(item.mutation, item.subject, context);
  const fields = editableFields(item.mutation);
  const [texts, setTexts] = useState<Record<string, string>>({});
  // Out of the user's reach (reassigned, deleted): nothing to open, and
  // sending it again cannot succeed; what is left is to keep a copy.
  const reachable = item.reachable !== false;
  const target = !reachable || item.mutation.op === "delete" ? null : rowScreen(item.table, item.row_id);

  async function run(action: Promise<Awaited<ReturnType<typeof commands.retryRejected>>>) {
    setBusy(true);
    const done = await attempt(action);
    setBusy(false);
    if (done !== undefined) refresh();
  }

  return (
    <li class="card rejected-item" data-seq={item.seq}>
      <ChangeHead title={summary.title} subject={item.subject} when="refused" at={item.rejected_at} made={summary.made} now={now} table={item.table} target={target} />
      <p class="reason">{rejectionSentence(item, session.account.id, now)}</p>
      {!reachable && (
        <p class="reason-hint muted small">
          You can no longer open it, so this change cannot be sent again. Copy it to keep your work, then discard it.
        </p>
      )}

      {!editing && <ChangeLines lines={summary.lines} />}

      {editing && (
        <Form
          class="form resend-editor"
          aria-label="Edit and resend"
          onSubmit={() => run(commands.resendEdited(item.seq, editedValues(fields, texts)))}
        >
          {fields.map((field) => {
            const inputId = `resend-${item.seq}-${field.field}`;
            return (
              <div class="field" key={field.field}>
                <label for={inputId}>{field.label}</label>
                <input
                  id={inputId}
                  class="resend-field"
                  data-field={field.field}
                  value={texts[field.field] ?? field.text}
                  onInput={(e) => {
                    const value = e.currentTarget.value;
                    setTexts((old) => ({ ...old, [field.field]: value }));
                  }}
                />
              </div>
            );
          })}
          <p class="field-hint">Empty means no value. true/false and numbers keep their type.</p>
          <div class="form-actions">
            <button
              type="button"
              class="button resend-cancel"
              onClick={() => {
                setEditing(false);
                setTexts({});
              }}
            >
              Cancel
            </button>
            <button type="submit" class="button primary resend-send" disabled={busy}>
              Resend
            </button>
          </div>
        </Form>
      )}

      {!editing && (
        <div class="card-actions">
          {reachable ? (
            <>
              <button
                type="button"
                class="button retry"
                disabled={busy}
                onClick={() => run(commands.retryRejected(item.seq))}
                title="Send it again as it was"
              >
                Retry
              </button>
              <button
                type="button"
                class="button edit-resend"
                disabled={busy || fields.length === 0}
                title={fields.length === 0 ? "A deletion has nothing to edit" : "Correct the values, then send again"}
                onClick={() => setEditing(true)}
              >
                Edit and resend
              </button>
            </>
          ) : (
            <CopyChange text={changeAsText(item.mutation, item.subject, context)} />
          )}
          <span class="header-spacer" />
          {confirming ? (
            <span class="confirm" role="group" aria-label="Confirm discard">
              <span class="small">Discard this change for good?</span>
              <button type="button" class="button danger discard-confirm" disabled={busy} onClick={() => run(commands.discardRejected(item.seq))}>
                Discard
              </button>
              <button type="button" class="button discard-cancel" onClick={() => setConfirming(false)}>
                Keep
              </button>
            </span>
          ) : (
            <button type="button" class="button subtle discard" disabled={busy} onClick={() => setConfirming(true)}>
              Discard…
            </button>
          )}
        </div>
      )}
    </li>
  );
}

/** How long "Copied" stays on the button. */
const COPIED_MS = 2500;

/**
 * "Copy my change": the change as plain text on the clipboard (to paste in
 * a mail or a note and redo it by hand), with the outcome on the button.
 */
function CopyChange({ text }: { text: string }) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  useEffect(() => {
    if (state === "idle") return;
    const timer = setTimeout(() => setState("idle"), COPIED_MS);
    return () => clearTimeout(timer);
  }, [state]);

  async function copy() {
    try {
      await navigator.clipboard.writeText(text);
      setState("copied");
    } catch {
      setState("failed");
    }
  }

  return (
    <>
      <button
        type="button"
        class="button primary copy-change"
        data-state={state}
        onClick={() => void copy()}
        title="Copy what you changed as text, to redo it or pass it on"
      >
        {state === "copied" ? "Copied" : "Copy my change"}
      </button>
      <span class="small copy-feedback" role="status">
        {state === "copied" ? "Copied to the clipboard." : state === "failed" ? "Could not copy: the clipboard is not available." : ""}
      </span>
    </>
  );
}

function ConflictItem({ conflict, now }: { conflict: ConflictItem_Serialize; now: Date }) {
  const { refresh, navigate, session } = useApp();
  const [busy, setBusy] = useState(false);
  const context = useValueContext(now);
  const target = rowScreen(conflict.table, conflict.row_id);
  const { keptBy, lostBy } = conflictPeople(conflict, session.account.full_name);

  async function run(action: Promise<Awaited<ReturnType<typeof commands.restoreConflict>>>) {
    setBusy(true);
    const done = await attempt(action);
    setBusy(false);
    if (done !== undefined) refresh();
  }

  return (
    <li class={conflict.mine_lost ? "card conflict-item mine-lost" : "card conflict-item"} data-id={conflict.conflict_id}>
      <div class="card-head">
        <span class="strong">
          {humanize(tableNoun(conflict.table))} · {fieldLabel(conflict.field)}
        </span>
        {conflict.subject && <span class="conflict-subject">{conflict.subject}</span>}
        <span class={conflict.mine_lost ? "verdict lost" : "verdict won"}>{conflictVerdict(conflict)}</span>
        <span class="muted small" title={formatFull(conflict.created_at)}>
          {formatDateTime(conflict.created_at, now)}
        </span>
        <span class="header-spacer" />
        {target && (
          <button type="button" class="link-button small" onClick={() => navigate(target)}>
            Open {tableNoun(conflict.table)}
          </button>
        )}
      </div>
      <dl class="change-lines">
        <div>
          <dt>Kept</dt>
          <dd>
            <span class="after">{valueText(conflict.kept_value, conflict.field, context)}</span> <span class="muted small">by {keptBy}</span>
          </dd>
        </div>
        <div>
          <dt>Lost</dt>
          <dd>
            <span class="lost">{valueText(conflict.lost_value, conflict.field, context)}</span> <span class="muted small">by {lostBy}</span>
          </dd>
        </div>
      </dl>
      <div class="card-actions">
        {conflict.mine_lost && (
          // Only one's own value comes back: a colleague's lost value is
          // theirs to restore, never written as this user's edit.
          <button
            type="button"
            class="button restore"
            disabled={busy}
            onClick={() => run(commands.restoreConflict(conflict.conflict_id))}
            title="Put your value back (a new edit, synced like any other)"
          >
            Restore my value
          </button>
        )}
        <button type="button" class="button dismiss" disabled={busy} onClick={() => run(commands.dismissConflict(conflict.conflict_id))} title="Accept the value kept">
          Dismiss
        </button>
      </div>
    </li>
  );
}
