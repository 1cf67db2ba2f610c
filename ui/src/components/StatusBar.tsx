// The bar along the bottom: connection, last sync, pending changes, inbox
// count, the engine's message when something is wrong, the first load's
// progress, and "Sync now". It only shows the SyncStatus it is given; the
// app updates that from `syncStatusChanged` events (never by polling).

import { useEffect, useState } from "preact/hooks";
import type { SyncStatus_Serialize } from "../bindings";
import { formatFull } from "../datetime";
import { useNow } from "../hooks";
import { plural } from "../labels";
import {
  connectionLabel,
  connectionTone,
  lastSyncLabel,
  pendingLabel,
  progressPercent,
  statusMessage,
  syncOutcome,
} from "../status";

interface StatusBarProps {
  status: SyncStatus_Serialize | null;
  /** Runs a round and answers with the status once it has ended. */
  onSyncNow: () => Promise<SyncStatus_Serialize | null>;
  onSignInAgain: () => void;
  onOpenInbox: () => void;
  /** Opens the list of changes still waiting for the server. */
  onOpenPending: () => void;
}

export function StatusBar({ status, onSyncNow, onSignInAgain, onOpenInbox, onOpenPending }: StatusBarProps) {
  const now = useNow(30_000);
  const [syncing, setSyncing] = useState(false);
  const [outcome, setOutcome] = useState<{ text: string; ok: boolean } | null>(null);
  // The answer stays long enough to read, then makes way.
  useEffect(() => {
    if (!outcome) return;
    const timer = setTimeout(() => setOutcome(null), 8000);
    return () => clearTimeout(timer);
  }, [outcome]);

  async function syncNow() {
    setSyncing(true);
    setOutcome(null);
    try {
      const after = await onSyncNow();
      if (after) setOutcome(syncOutcome(after));
    } finally {
      setSyncing(false);
    }
  }

  if (!status) {
    return (
      <footer id="status-bar" class="status-bar">
        <span id="status-connection" data-state="" class="status-connection tone-busy">
          <span class="dot" aria-hidden="true" />
          Starting…
        </span>
      </footer>
    );
  }
  const tone = connectionTone(status.state);
  const message = statusMessage(status);
  const progress = status.progress ?? { done: 0, total: 0 };
  const percent = progressPercent(progress);
  return (
    <footer id="status-bar" class="status-bar" aria-label="Sync status">
      <span
        id="status-connection"
        data-state={status.state}
        class={`status-connection tone-${tone}${status.state === "syncing" ? " syncing" : ""}`}
        title={status.state === "syncing" ? "Online, syncing now" : undefined}
      >
        <span class="dot" aria-hidden="true" />
        {connectionLabel(status.state)}
      </span>

      {status.state === "loading" && (
        <span
          id="status-progress"
          class="status-progress"
          data-done={progress.done}
          data-total={progress.total}
          role="progressbar"
          aria-label="First load"
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={percent}
        >
          <span class="progress-track">
            <span class="progress-fill" style={{ width: `${percent}%` }} />
          </span>
          <span class="progress-text">
            {progress.total > 0 ? (
              <>
                {percent}%<span class="progress-detail"> · {progress.done} of {progress.total}</span>
              </>
            ) : (
              "Preparing…"
            )}
          </span>
        </span>
      )}

      {status.state === "sign_in_required" && (
        <button type="button" id="status-sign-in" class="link-button strong" onClick={onSignInAgain}>
          Sign in again
        </button>
      )}

      {message && (
        <span id="status-message" class="status-message" title={message.detail ?? message.text}>
          {message.text}
        </span>
      )}

      <span class="status-spacer" />

      {status.pending > 0 ? (
        <button
          type="button"
          id="status-pending"
          data-count={status.pending}
          class="link-button status-item attention"
          title="Show what has not reached the server yet"
          onClick={onOpenPending}
        >
          {pendingLabel(status.pending)}
        </button>
      ) : (
        <span id="status-pending" data-count={status.pending} class="status-item">
          {pendingLabel(status.pending)}
        </span>
      )}

      {status.inbox > 0 && (
        <button type="button" id="status-inbox" class="link-button status-item attention" onClick={onOpenInbox}>
          {plural(status.inbox, "item")} in inbox
        </button>
      )}

      <span id="status-last-sync" class="status-item" title={formatFull(status.last_sync_at) || undefined}>
        {lastSyncLabel(status.last_sync_at, now, status.state)}
      </span>

      <span id="sync-outcome" role="status" aria-live="polite" class={outcome && !outcome.ok ? "status-item attention" : "status-item"}>
        {outcome?.text ?? ""}
      </span>

      <button
        type="button"
        id="sync-now"
        class="button small"
        onClick={() => void syncNow()}
        disabled={syncing}
        aria-busy={syncing}
        title="Sync now"
      >
        {syncing ? "Syncing…" : "Sync now"}
      </button>
    </footer>
  );
}
