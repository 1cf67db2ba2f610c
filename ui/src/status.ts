// The status bar's words, from the sync engine's SyncStatus. The bar shows
// whatever the last `syncStatusChanged` event said; this module decides how
// it reads, and whether an event means "new data arrived, reload".

import type { Progress, SyncState, SyncStatus_Serialize } from "./bindings";
import { relativeTime } from "./datetime";

/** The connection as a person reads it. Pushing or pulling is still online. */
export function connectionLabel(state: SyncState): string {
  switch (state) {
    case "idle":
    case "syncing":
      return "Online";
    case "offline":
      return "Offline";
    case "not_responding":
      return "Server not responding";
    case "connecting":
      return "Connecting…";
    case "loading":
      return "Loading data…";
    case "sign_in_required":
      return "Sign-in required";
    case "upgrade_required":
      return "Update required";
    case "access_ended":
      return "Access ended";
    case "stopped":
      return "Stopped";
    default:
      return String(state);
  }
}

/** A colour family for the connection dot: good, busy, warning, bad. */
export function connectionTone(state: SyncState): "good" | "busy" | "warn" | "bad" {
  switch (state) {
    case "idle":
      return "good";
    case "syncing":
    case "connecting":
    case "loading":
      return "busy";
    case "offline":
    case "not_responding":
    case "stopped":
      return "warn";
    default:
      return "bad";
  }
}

/** "All saved" when nothing waits for the server, else "3 pending". */
export function pendingLabel(pending: number): string {
  return pending > 0 ? `${pending} pending` : "All saved";
}

/** Whether the app is talking to the server (pushing or pulling included). */
export function isOnline(state: SyncState): boolean {
  return state === "idle" || state === "syncing";
}

/**
 * "Synced 5 min ago" while online; "Last synced 5 min ago" otherwise
 * (offline, connecting, signed out...), so an old sync does not read as if
 * the data were current. "Never synced" before the first round.
 */
export function lastSyncLabel(
  lastSyncAt: string | null | undefined,
  now: Date = new Date(),
  state: SyncState = "idle",
): string {
  const ago = relativeTime(lastSyncAt, now);
  if (!ago) return "Never synced";
  return isOnline(state) ? `Synced ${ago}` : `Last synced ${ago}`;
}

/** The first load's progress in whole percent, 0..100. */
export function progressPercent(progress: Progress | null | undefined): number {
  if (!progress || progress.total <= 0) return 0;
  const percent = Math.floor((progress.done / progress.total) * 100);
  return Math.min(100, Math.max(0, percent));
}

/** A sentence for the status bar, and the engine's own words behind it. */
export interface StatusNote {
  text: string;
  /** The technical reason (shown on hover), when it adds something. */
  detail: string | null;
}

/**
 * What to say when the app is not simply online. Offline is a normal state
 * for a field agent, so it is said calmly, with the reason on hover; other
 * states show the engine's sentence as it is.
 */
export function statusMessage(status: SyncStatus_Serialize): StatusNote | null {
  if (isOnline(status.state)) return null;
  const detail = status.message?.trim() || null;
  if (status.state === "offline" || status.state === "not_responding") {
    const why = status.state === "offline" ? "Working offline" : "The server is not answering";
    return {
      text:
        status.pending > 0
          ? `${why}: your changes are saved here and go out when the server is back`
          : `${why}: showing what was last synced`,
      detail,
    };
  }
  return detail ? { text: detail, detail: null } : null;
}

/**
 * Whether a status event says a sync round finished (which may have brought
 * colleagues' changes), so the screen should reload its data. The first
 * status the window sees counts as news.
 */
export function bringsNewData(
  previous: SyncStatus_Serialize | null,
  next: SyncStatus_Serialize,
): boolean {
  if (!previous) return true;
  return previous.rounds !== next.rounds || previous.last_sync_at !== next.last_sync_at;
}

/** What "Sync now" says once its round has ended, well or not. */
export function syncOutcome(status: SyncStatus_Serialize): { text: string; ok: boolean } {
  switch (status.state) {
    case "idle":
      return status.pending > 0
        ? { text: `Synced; ${pendingLabel(status.pending)} still to send`, ok: true }
        : { text: "Up to date", ok: true };
    case "offline":
      return { text: "Could not reach the server. Your changes are kept here.", ok: false };
    case "not_responding":
      return { text: "The server is not responding. Your changes are kept here.", ok: false };
    case "sign_in_required":
      return { text: "Sign in again to sync.", ok: false };
    case "upgrade_required":
      return { text: "This app must be updated before it can sync.", ok: false };
    default:
      return { text: "Still syncing…", ok: true };
  }
}
