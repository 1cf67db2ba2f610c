// A ticket's page: what it is about, its status (only the moves the
// workflow allows are offered) and priority, who works on it, its history,
// its comments with a form to add one, and its attachments (attached with
// the file picker or by dropping files on the window, opened with the
// system's apps, thumbnails for images, where each file's bytes are).

import { useEffect, useRef, useState } from "preact/hooks";
import { attempt, call } from "../api";
import {
  attachedMessage,
  fileMark,
  fileStateLabel,
  fileTypeLabel,
  uploaderLabel,
  wantsThumbnail,
} from "../attachments";
import {
  commands,
  type AttachmentItem_Serialize,
  type CommentItem_Serialize,
  type TicketPage_Serialize,
  type TicketPriority,
  type TicketStatus,
} from "../bindings";
import { EnumSelect } from "../components/EnumSelect";
import { describedBy, Field } from "../components/Field";
import { Form, FormError } from "../components/Form";
import { LoadingNote } from "../components/LoadingNote";
import { Pill } from "../components/Pill";
import { useApp } from "../context";
import { formatDateTime, formatFull } from "../datetime";
import { commentDraft, statusChoices, ticketEdit } from "../forms";
import { useFileDrop, useNow, useRecordPage } from "../hooks";
import { fileSize, humanize, personName } from "../labels";
import { byName, colleagueName, historyActor, personLabel } from "../people";
import { backLabel, backTarget, type Screen } from "../route";
import { useForm } from "../useForm";

interface TicketPageProps {
  id: string;
  /** Where "back" leads (the previous screen), which the link names. */
  back?: Screen | null;
  onMissing: (message: string) => void;
}

export function TicketPage({ id, back, onMissing }: TicketPageProps) {
  const { navigate, goBack, colleagues, session } = useApp();
  const me = session.account.id;
  const page = useRecordPage(() => commands.ticketPage(id), id, onMissing);
  const now = useNow(60_000);
  const data = page.data;

  if (!data) {
    return (
      <section id="ticket-page" class="screen" data-id={id}>
        <LoadingNote error={page.error} />
      </section>
    );
  }

  const { ticket } = data;
  const backTo = backTarget(back, { name: "tickets" });
  const backWords = backLabel(backTo, backTo.name === "customer" && backTo.id === ticket.customer_id ? data.customer_name : null);
  return (
    <section id="ticket-page" class="screen" data-id={id} data-loaded="true">
      <nav class="breadcrumb" aria-label="Breadcrumb">
        <button
          type="button"
          class="link-button back-link"
          onClick={() => goBack({ name: "tickets" })}
          title={`Back to ${backWords} (Esc)`}
        >
          ← {backWords}
        </button>
      </nav>
      <header class="screen-header">
        <h1 id="ticket-heading">{ticket.title}</h1>
        <Pill kind="ticket-status" value={ticket.status} />
        <Pill kind="priority" value={ticket.priority} />
      </header>
      <p class="meta muted">
        {ticket.customer_id ? (
          <button
            type="button"
            id="ticket-customer-link"
            class="link-button"
            onClick={() => navigate({ name: "customer", id: ticket.customer_id! })}
          >
            {data.customer_name ?? "Customer"}
          </button>
        ) : (
          "No customer"
        )}
        {" · "}
        <span>
          <span title={formatFull(ticket.created_at)}>Opened {formatDateTime(ticket.created_at, now)}</span>
          {" by "}
          <span id="ticket-opened-by" data-user-id={ticket.created_by}>
            {personLabel(ticket.created_by, colleagues, me)}
          </span>
        </span>
        {ticket.resolved_at && <span title={formatFull(ticket.resolved_at)}> · Resolved {formatDateTime(ticket.resolved_at, now)}</span>}
        {ticket.closed_at && <span title={formatFull(ticket.closed_at)}> · Closed {formatDateTime(ticket.closed_at, now)}</span>}
      </p>

      <div class="columns wide-left">
        <div class="stack">
          <section class="panel" aria-label="Description">
            {ticket.description ? <p class="note">{ticket.description}</p> : <p class="empty-inline">No description.</p>}
          </section>

          <section class="panel" aria-labelledby="comments-heading">
            <h2 id="comments-heading">
              Comments <span class="count">{data.comments.length}</span>
            </h2>
            {data.comments.length === 0 && <p class="empty-inline">No comments yet.</p>}
            <ul class="comments">
              {data.comments.map((comment) => (
                <CommentRow
                  key={comment.id}
                  comment={comment}
                  now={now}
                  ticketId={id}
                  mayDelete={comment.can_edit || session.account.role === "admin"}
                />
              ))}
            </ul>
            <CommentForm ticketId={id} />
          </section>
        </div>

        <div class="stack">
          <WorkflowPanel page={data} />
          <AssigneesPanel page={data} />

          <section class="panel" aria-labelledby="history-heading">
            <h2 id="history-heading">History</h2>
            {data.history.length === 0 ? (
              <p class="empty-inline">No status changes yet.</p>
            ) : (
              <ol class="history">
                {data.history.map((entry) => (
                  <li key={entry.id}>
                    <span>
                      {entry.from_status ? (
                        <>
                          {humanize(entry.from_status)} → <strong>{humanize(entry.to_status)}</strong>
                        </>
                      ) : (
                        <>
                          Opened as <strong>{humanize(entry.to_status)}</strong>
                        </>
                      )}
                    </span>
                    <span class="muted small">
                      <span title={formatFull(entry.created_at)}>{formatDateTime(entry.created_at, now)}</span>{" "}
                      {/* No actor: the system made it (an import, a migration), not an unknown person. */}
                      <span class="history-by" data-user-id={entry.changed_by ?? undefined} data-system={entry.changed_by ? undefined : "true"}>
                        {historyActor(entry.changed_by, !entry.from_status, colleagues, me)}
                      </span>
                    </span>
                    {entry.note && <span class="history-note">{entry.note}</span>}
                  </li>
                ))}
              </ol>
            )}
          </section>

          <AttachmentsPanel page={data} now={now} />
        </div>
      </div>
    </section>
  );
}

/** How long "Attached …" stays under the attachments. */
const ATTACHED_MS = 4000;

/**
 * The ticket's files, with "Attach files…" (the system's picker) and, while
 * the page is shown, files dropped anywhere on the window. Attaching copies
 * them into the replica at once, so it works offline; sync sends them.
 */
function AttachmentsPanel({ page, now }: { page: TicketPage_Serialize; now: Date }) {
  const { refresh } = useApp();
  const ticketId = page.ticket.id;
  const [work, setWork] = useState<"idle" | "picking" | "attaching">("idle");
  const [feedback, setFeedback] = useState("");
  const panel = useRef<HTMLElement>(null);
  const attachButton = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (!feedback) return;
    const timer = setTimeout(() => setFeedback(""), ATTACHED_MS);
    return () => clearTimeout(timer);
  }, [feedback]);

  async function attach(paths: string[]) {
    if (paths.length === 0) return;
    setWork("attaching");
    setFeedback("");
    const attached = await attempt(commands.attachFiles(ticketId, paths));
    setWork("idle");
    if (attached) setFeedback(attachedMessage(attached.map((a) => a.file_name)));
    // Even on an error: the files before the refused one are attached.
    refresh();
  }

  async function pick() {
    setWork("picking");
    const paths = await attempt(commands.pickFiles());
    setWork("idle");
    if (paths && paths.length > 0) await attach(paths);
  }

  const { dragging, ready: dropReady } = useFileDrop((paths) => void attach(paths));
  // The hint is where the files go: keep the panel in sight while they hover.
  useEffect(() => {
    if (dragging) panel.current?.scrollIntoView?.({ block: "nearest" });
  }, [dragging]);

  const items = page.attachments;
  return (
    <section
      ref={panel}
      class={dragging ? "panel drop-target" : "panel"}
      id="attachments-panel"
      aria-labelledby="attachments-heading"
      aria-busy={work === "attaching" ? "true" : undefined}
      data-drop-ready={dropReady ? "true" : undefined}
    >
      <h2 id="attachments-heading">
        Attachments <span class="count">{items.length}</span>
      </h2>
      {dragging && <p class="drop-hint">Drop files to attach them to this ticket</p>}
      {items.length === 0 ? (
        <p class="empty-inline">No attachments. Drop files here to attach them.</p>
      ) : (
        <ul class="attachments">
          {items.map((item) => (
            <AttachmentRow key={item.attachment.id} item={item} now={now} onDeleted={() => attachButton.current?.focus()} />
          ))}
        </ul>
      )}
      <div class="attachments-actions">
        <button
          id="attach-files"
          ref={attachButton}
          type="button"
          class="button small"
          disabled={work !== "idle"}
          onClick={() => void pick()}
          title="Attach files from this computer (or drop them on this page); they are kept here and sent when online"
        >
          {work === "attaching" ? "Attaching…" : "Attach files…"}
        </button>
        <span id="attach-feedback" class="small muted" role="status">
          {feedback}
        </span>
      </div>
    </section>
  );
}

interface AttachmentRowProps {
  item: AttachmentItem_Serialize;
  now: Date;
  /** After it was deleted: the row is about to go, so the focus moves on. */
  onDeleted: () => void;
}

/**
 * One attachment: its thumbnail or mark, its name (opens it with the
 * system's app), what and whose it is, where its bytes are, and "Delete"
 * after a confirm for its uploader or an admin.
 */
function AttachmentRow({ item, now, onDeleted }: AttachmentRowProps) {
  const { refresh, upload, session } = useApp();
  const { attachment, file } = item;
  const name = attachment.file_name;
  const [opening, setOpening] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const deleteButton = useRef<HTMLButtonElement>(null);
  const keepButton = useRef<HTMLButtonElement>(null);
  const wasConfirming = useRef(false);

  // The question takes the focus on the safe answer; "Keep" gives it back.
  useEffect(() => {
    if (confirming) keepButton.current?.focus();
    else if (wasConfirming.current) deleteButton.current?.focus();
    wasConfirming.current = confirming;
  }, [confirming]);

  async function open() {
    if (opening) return;
    setOpening(true);
    const opened = await attempt(commands.openAttachment(attachment.id));
    setOpening(false);
    // A file that was only on the server is on this device now.
    if (opened !== undefined && file === "on_server") refresh();
  }

  async function remove() {
    setConfirming(false);
    const done = await attempt(commands.deleteAttachment(attachment.id));
    if (done !== undefined) {
      onDeleted();
      refresh();
    }
  }

  const state = opening && file === "on_server" ? "Downloading…" : fileStateLabel(attachment.id, file, upload);
  return (
    <li class="attachment" data-id={attachment.id} data-state={file}>
      <AttachmentThumb id={attachment.id} name={name} mime={attachment.mime_type} file={file} />
      <div class="attachment-body">
        <button
          type="button"
          class="link-button attachment-open"
          aria-label={`Open ${name}`}
          aria-busy={opening ? "true" : undefined}
          title={file === "on_server" ? `Download and open ${name}` : `Open ${name}`}
          onClick={() => void open()}
        >
          {name}
        </button>
        <span class="attachment-meta muted small">
          {fileSize(attachment.file_size)} · {fileTypeLabel(attachment.mime_type)} · by{" "}
          <span class="attachment-by" data-user-id={attachment.uploaded_by}>
            {uploaderLabel(attachment.uploaded_by, item.uploaded_by_name, session.account.id)}
          </span>{" "}
          <span title={formatFull(attachment.uploaded_at)}>{formatDateTime(attachment.uploaded_at, now)}</span>
        </span>
        <span class="attachment-foot">
          <span class="pill attachment-state">{state}</span>
          {item.can_delete && !confirming && (
            <button
              type="button"
              ref={deleteButton}
              class="link-button small attachment-delete"
              aria-label={`Delete ${name}`}
              title={`Delete ${name}`}
              onClick={() => setConfirming(true)}
            >
              Delete
            </button>
          )}
          {confirming && (
            <span
              class="attachment-confirm"
              onKeyDown={(event) => {
                if (event.key === "Escape") {
                  event.preventDefault();
                  event.stopPropagation();
                  setConfirming(false);
                }
              }}
            >
              <span class="small">Delete this file for everyone?</span>
              <button type="button" class="link-button small danger attachment-delete-confirm" onClick={() => void remove()}>
                Delete
              </button>
              <button type="button" ref={keepButton} class="link-button small attachment-delete-cancel" onClick={() => setConfirming(false)}>
                Keep
              </button>
            </span>
          )}
        </span>
      </div>
    </li>
  );
}

/**
 * An image's thumbnail, asked for once the row is in sight (the core may
 * download the image for it); the file's mark otherwise, and whenever no
 * thumbnail comes (offline, too large): that is not an error.
 */
function AttachmentThumb({ id, name, mime, file }: { id: string; name: string; mime: string; file: AttachmentItem_Serialize["file"] }) {
  const wanted = wantsThumbnail(mime, file);
  const [src, setSrc] = useState<string | null>(null);
  const [seen, setSeen] = useState(false);
  const box = useRef<HTMLSpanElement>(null);

  useEffect(() => {
    if (!wanted || seen) return;
    const element = box.current;
    if (!element || typeof IntersectionObserver === "undefined") {
      setSeen(true);
      return;
    }
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((entry) => entry.isIntersecting)) {
        observer.disconnect();
        setSeen(true);
      }
    });
    observer.observe(element);
    return () => observer.disconnect();
  }, [wanted, seen]);

  useEffect(() => {
    if (!wanted || !seen || src) return;
    let gone = false;
    call(commands.attachmentPreview(id)).then(
      (url) => {
        if (!gone && url) setSrc(url);
      },
      () => {
        // No thumbnail (offline, unreadable): the mark stays.
      },
    );
    return () => {
      gone = true;
    };
  }, [id, wanted, seen]);

  return (
    <span class="attachment-visual" ref={box}>
      {src ? (
        <img class="attachment-thumb" src={src} alt="" width={48} height={48} onError={() => setSrc(null)} />
      ) : (
        <span class="attachment-mark" aria-hidden="true">
          {fileMark(name)}
        </span>
      )}
    </span>
  );
}

/** Status and priority, saved together with "Save". */
function WorkflowPanel({ page }: { page: TicketPage_Serialize }) {
  const { vocabulary, refresh } = useApp();
  const { ticket } = page;
  // What the user picked but has not saved; the ticket's own values otherwise,
  // so a colleague's change shows up after a sync.
  const [status, setStatus] = useState<TicketStatus | null>(null);
  const [priority, setPriority] = useState<TicketPriority | null>(null);
  const [saving, setSaving] = useState(false);
  const shownStatus = status ?? ticket.status;
  const shownPriority = priority ?? ticket.priority;
  const changed = shownStatus !== ticket.status || shownPriority !== ticket.priority;

  async function save() {
    setSaving(true);
    const saved = await attempt(commands.updateTicket(ticket.id, ticketEdit(ticket, { status: shownStatus, priority: shownPriority })));
    setSaving(false);
    if (saved) {
      setStatus(null);
      setPriority(null);
      refresh();
    }
  }

  return (
    <section class="panel" aria-labelledby="workflow-heading">
      <h2 id="workflow-heading">Status</h2>
      <Form class="form compact" onSubmit={save} aria-label="Status and priority">
        <Field id="ticket-status" label="Status" field="status">
          <select id="ticket-status" value={shownStatus} onChange={(e) => setStatus(e.currentTarget.value as TicketStatus)}>
            {statusChoices(ticket.status, page.allowed_statuses).map((choice) => (
              <option key={choice} value={choice}>
                {humanize(choice)}
                {choice === ticket.status ? " (current)" : ""}
              </option>
            ))}
          </select>
        </Field>
        <Field id="ticket-priority-select" label="Priority" field="priority">
          <EnumSelect id="ticket-priority-select" value={shownPriority} choices={vocabulary.priorities} onChange={setPriority} />
        </Field>
        <div class="form-actions">
          {changed && (
            <button
              type="button"
              class="button"
              onClick={() => {
                setStatus(null);
                setPriority(null);
              }}
            >
              Undo
            </button>
          )}
          <button id="ticket-save-status" type="submit" class="button primary" disabled={!changed || saving}>
            {saving ? "Saving…" : "Save"}
          </button>
        </div>
      </Form>
    </section>
  );
}

function AssigneesPanel({ page }: { page: TicketPage_Serialize }) {
  const { refresh, colleagues } = useApp();
  const ticketId = page.ticket.id;
  const assigned = new Set(page.assignees.map((a) => a.user_id));
  const addable = byName(colleagues).filter((c) => !assigned.has(c.id));

  async function add(userId: string) {
    if (!userId) return;
    if ((await attempt(commands.addAssignee(ticketId, userId))) !== undefined) refresh();
  }

  async function remove(userId: string) {
    if ((await attempt(commands.removeAssignee(ticketId, userId))) !== undefined) refresh();
  }

  async function makeLead(userId: string) {
    if ((await attempt(commands.setTicketLead(ticketId, userId))) !== undefined) refresh();
  }

  const lead = page.ticket.assigned_to;
  return (
    <section class="panel" aria-labelledby="assignees-heading">
      <h2 id="assignees-heading">Assignees</h2>
      {page.assignees.length === 0 ? (
        <p class="empty-inline">Nobody is assigned. The first one you add leads the ticket.</p>
      ) : (
        <ul class="assignees">
          {page.assignees.map((assignee) => {
            const name = personName(assignee.name);
            return (
              <li
                key={assignee.user_id}
                class={assignee.user_id === lead ? "assignee lead" : "assignee"}
                data-user-id={assignee.user_id}
              >
                <span class="avatar" aria-hidden="true">
                  {name.charAt(0).toUpperCase()}
                </span>
                <span class="grow ellipsis">{name}</span>
                {assignee.user_id === lead ? (
                  <span class="lead-badge" title="The lead answers for this ticket; the list shows their name">
                    Lead
                  </span>
                ) : (
                  <button
                    type="button"
                    class="link-button small make-lead"
                    title={`Make ${name} the lead`}
                    onClick={() => makeLead(assignee.user_id)}
                  >
                    Make lead
                  </button>
                )}
                <button
                  type="button"
                  class="icon-button remove-assignee"
                  aria-label={`Remove ${name}`}
                  title={`Remove ${name}`}
                  onClick={() => remove(assignee.user_id)}
                >
                  ×
                </button>
              </li>
            );
          })}
        </ul>
      )}
      <label class="visually-hidden" for="add-assignee">
        Add assignee
      </label>
      <select
        id="add-assignee"
        value=""
        disabled={addable.length === 0}
        onChange={(e) => {
          const userId = e.currentTarget.value;
          e.currentTarget.value = "";
          void add(userId);
        }}
      >
        <option value="">{colleagues.length > 0 && addable.length === 0 ? "Everyone is assigned" : "Add assignee…"}</option>
        {addable.map((colleague) => (
          <option key={colleague.id} value={colleague.id}>
            {colleagueName(colleague)}
            {colleague.role === "admin" ? " (admin)" : ""}
          </option>
        ))}
      </select>
    </section>
  );
}

interface CommentRowProps {
  comment: CommentItem_Serialize;
  now: Date;
  ticketId: string;
  /** Its author or an admin may delete it (the core checks again). */
  mayDelete: boolean;
}

/** One comment; its author can edit it in place, and delete it after a confirm. */
function CommentRow({ comment, now, ticketId, mayDelete }: CommentRowProps) {
  const { refresh } = useApp();
  const [editing, setEditing] = useState(false);
  const [confirming, setConfirming] = useState(false);

  async function remove() {
    setConfirming(false);
    const done = await attempt(commands.deleteComment(comment.id));
    if (done !== undefined) refresh();
  }

  return (
    <li class={comment.is_internal ? "comment internal" : "comment"} data-id={comment.id}>
      <div class="comment-head">
        <span class="strong">{personName(comment.author_name)}</span>
        {comment.is_internal && <span class="pill internal-tag">Internal</span>}
        <span class="muted small" title={formatFull(comment.created_at)}>
          {formatDateTime(comment.created_at, now)}
        </span>
        <span class="header-spacer" />
        {!editing && comment.can_edit && (
          <button type="button" class="link-button comment-edit" onClick={() => setEditing(true)}>
            Edit
          </button>
        )}
        {!editing && mayDelete && !confirming && (
          <button type="button" class="link-button comment-delete" onClick={() => setConfirming(true)}>
            Delete
          </button>
        )}
        {confirming && (
          <>
            <span class="small">Delete this comment?</span>
            <button type="button" class="link-button danger comment-delete-confirm" onClick={() => void remove()}>
              Delete
            </button>
            <button type="button" class="link-button comment-delete-cancel" onClick={() => setConfirming(false)}>
              Keep
            </button>
          </>
        )}
      </div>
      {editing ? (
        <CommentEditor comment={comment} ticketId={ticketId} onDone={() => setEditing(false)} />
      ) : (
        <p class="note">{comment.content}</p>
      )}
    </li>
  );
}

/** The author's in-place editor of a comment, with the same checks as a new one. */
function CommentEditor({ comment, ticketId, onDone }: { comment: CommentItem_Serialize; ticketId: string; onDone: () => void }) {
  const { refresh } = useApp();
  const { form, set, messages, formError, saving, submit } = useForm(
    { text: comment.content, internal: comment.is_internal },
    {
      toDraft: (state) => commentDraft(ticketId, state.text, state.internal),
      check: commands.checkComment,
      wireNames: { text: "content", internal: "is_internal" },
    },
  );
  const fieldId = `comment-edit-${comment.id}`;

  async function save() {
    const saved = await submit((draft) => commands.editComment(comment.id, draft.content, draft.is_internal));
    if (saved) {
      onDone();
      refresh();
    }
  }

  return (
    <Form class="form comment-form" onSubmit={save} aria-label="Edit the comment">
      <Field id={fieldId} label="Comment" field="content" messages={messages}>
        <textarea
          id={fieldId}
          class="comment-edit-text"
          rows={3}
          value={form.text}
          {...describedBy(fieldId, messages, "content")}
          onInput={(e) => set("text", e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === "Escape") {
              e.stopPropagation();
              onDone();
            }
          }}
        />
      </Field>
      <FormError message={formError} />
      <div class="form-actions">
        <label class="checkbox-inline" title="Internal notes are for staff only">
          <input type="checkbox" checked={form.internal} onChange={(e) => set("internal", e.currentTarget.checked)} />
          Internal
        </label>
        <span class="header-spacer" />
        <button type="button" class="button" onClick={onDone} title="Cancel (Esc)">
          Cancel
        </button>
        <button type="submit" class="button primary comment-edit-save" disabled={saving} title="Save (Ctrl+Enter)">
          {saving ? "Saving…" : "Save comment"}
        </button>
      </div>
    </Form>
  );
}

function CommentForm({ ticketId }: { ticketId: string }) {
  const { refresh } = useApp();
  const { form, set, messages, formError, saving, submit, reset } = useForm(
    { text: "", internal: false },
    {
      toDraft: (state) => commentDraft(ticketId, state.text, state.internal),
      check: commands.checkComment,
      wireNames: { text: "content", internal: "is_internal" },
    },
  );

  async function send() {
    const saved = await submit((draft) => commands.addComment(draft));
    if (saved) {
      // Keep the "internal" choice: several notes in a row are usually of one kind.
      reset({ text: "", internal: form.internal });
      refresh();
    }
  }

  return (
    <Form class="form comment-form" onSubmit={send} aria-label="Add a comment">
      <Field id="comment-text" label="Add a comment" field="content" messages={messages}>
        <textarea
          id="comment-text"
          rows={3}
          value={form.text}
          placeholder="Write a comment… (Ctrl+Enter to send)"
          {...describedBy("comment-text", messages, "content")}
          onInput={(e) => set("text", e.currentTarget.value)}
        />
      </Field>
      <FormError message={formError} />
      <div class="form-actions">
        <label class="checkbox-inline" title="Internal notes are for staff only">
          <input id="comment-internal" type="checkbox" checked={form.internal} onChange={(e) => set("internal", e.currentTarget.checked)} />
          Internal
        </label>
        <span class="header-spacer" />
        <button id="comment-send" type="submit" class="button primary" disabled={saving} title="Send (Ctrl+Enter)">
          {saving ? "Sending…" : form.internal ? "Add internal note" : "Send comment"}
        </button>
      </div>
    </Form>
  );
}
