import { describe, expect, it } from "vitest";
import type { SyncStatus_Serialize } from "./bindings";
import {
  bringsNewData,
  connectionLabel,
  connectionTone,
  lastSyncLabel,
  pendingLabel,
  progressPercent,
  statusMessage,
  syncOutcome,
} from "./status";

const status = (over: Partial<SyncStatus_Serialize> = {}): SyncStatus_Serialize => ({
  state: "idle",
  progress: null,
  pending: 0,
  inbox: 0,
  last_sync_at: null,
  message: null,
  rounds: 0,
  served_nudge: 0,
  attempted_nudge: 0,
  upload: null,
  ...over,
});

describe("connection", () => {
  it("reads online while idle or syncing", () => {
    expect(connectionLabel("idle")).toBe("Online");
    expect(connectionLabel("syncing")).toBe("Online");
  });

  it("names every other state", () => {
    expect(connectionLabel("offline")).toBe("Offline");
    expect(connectionLabel("connecting")).toBe("Connecting…");
    expect(connectionLabel("loading")).toBe("Loading data…");
    expect(connectionLabel("sign_in_required")).toBe("Sign-in required");
    expect(connectionLabel("upgrade_required")).toBe("Update required");
  });

  it("colours problems apart from work in progress", () => {
    expect(connectionTone("idle")).toBe("good");
    expect(connectionTone("syncing")).toBe("busy");
    expect(connectionTone("offline")).toBe("warn");
    expect(connectionTone("sign_in_required")).toBe("bad");
    expect(connectionTone("upgrade_required")).toBe("bad");
  });
});

describe("pending and last sync", () => {
  it("count waiting changes", () => {
    expect(pendingLabel(0)).toBe("All saved");
    expect(pendingLabel(3)).toBe("3 pending");
  });

  it("tell how long ago the replica caught up", () => {
    const now = new Date("2024-06-03T12:00:00Z");
    expect(lastSyncLabel(null, now)).toBe("Never synced");
    expect(lastSyncLabel("2024-06-03T11:55:00Z", now)).toBe("Synced 5 min ago");
    expect(lastSyncLabel("2024-06-03T11:59:50Z", now)).toBe("Synced just now");
  });

  it("say last synced when not online, so old data does not look current", () => {
    const now = new Date("2024-06-03T12:00:00Z");
    expect(lastSyncLabel("2024-06-03T11:55:00Z", now, "offline")).toBe("Last synced 5 min ago");
    expect(lastSyncLabel("2024-06-03T11:59:50Z", now, "offline")).toBe("Last synced just now");
    expect(lastSyncLabel("2024-06-03T11:55:00Z", now, "connecting")).toBe("Last synced 5 min ago");
    expect(lastSyncLabel("2024-06-03T11:55:00Z", now, "sign_in_required")).toBe("Last synced 5 min ago");
    expect(lastSyncLabel("2024-06-03T11:55:00Z", now, "idle")).toBe("Synced 5 min ago");
    expect(lastSyncLabel("2024-06-03T11:55:00Z", now, "syncing")).toBe("Synced 5 min ago");
    expect(lastSyncLabel(null, now, "offline")).toBe("Never synced");
  });
});

describe("initial load progress", () => {
  it("is a clamped whole percent", () => {
    expect(progressPercent({ done: 0, total: 200 })).toBe(0);
    expect(progressPercent({ done: 91, total: 200 })).toBe(45);
    expect(progressPercent({ done: 200, total: 200 })).toBe(100);
    expect(progressPercent({ done: 250, total: 200 })).toBe(100);
  });

  it("is zero when the total is not known yet", () => {
    expect(progressPercent({ done: 10, total: 0 })).toBe(0);
    expect(progressPercent(null)).toBe(0);
  });
});

describe("engine messages", () => {
  it("show only when not simply online", () => {
    expect(statusMessage(status({ state: "idle", message: "stale" }))).toBeNull();
    expect(statusMessage(status({ state: "syncing", message: "stale" }))).toBeNull();
    expect(statusMessage(status({ state: "sign_in_required", message: "session revoked" }))).toEqual({
      text: "session revoked",
      detail: null,
    });
    expect(statusMessage(status({ state: "upgrade_required", message: "  " }))).toBeNull();
  });

  it("say calmly that work goes on offline, with the reason on hover", () => {
    const note = statusMessage(status({ state: "offline", pending: 2, message: "server unreachable: connection refused" }));
    expect(note?.text).toMatch(/saved here/);
    expect(note?.detail).toBe("server unreachable: connection refused");
    expect(statusMessage(status({ state: "offline", pending: 0, message: null }))?.text).toMatch(/last synced/);
  });
});

describe("reloading after sync", () => {
  it("happens when a round finished or the replica caught up", () => {
    const before = status({ rounds: 4, last_sync_at: "2024-06-03T11:00:00Z" });
    expect(bringsNewData(before, status({ rounds: 5, last_sync_at: "2024-06-03T11:00:00Z" }))).toBe(true);
    expect(bringsNewData(before, status({ rounds: 4, last_sync_at: "2024-06-03T11:01:00Z" }))).toBe(true);
  });

  it("does not happen for a mere state or count change", () => {
    const before = status({ rounds: 4, last_sync_at: "2024-06-03T11:00:00Z" });
    expect(bringsNewData(before, { ...before, state: "syncing", pending: 2, inbox: 1 })).toBe(false);
  });

  it("happens for the first status seen", () => {
    expect(bringsNewData(null, status())).toBe(true);
  });
});

describe("a frozen server", () => {
  it("reads as not responding, calmly, with the unsent work kept", () => {
    expect(connectionLabel("not_responding")).toBe("Server not responding");
    expect(connectionTone("not_responding")).toBe("warn");
    expect(statusMessage(status({ state: "not_responding", pending: 1 }))?.text).toBe(
      "The server is not answering: your changes are saved here and go out when the server is back",
    );
  });
});

describe("sync now", () => {
  it("answers in words however the round ended", () => {
    expect(syncOutcome(status({ state: "idle" }))).toEqual({ text: "Up to date", ok: true });
    expect(syncOutcome(status({ state: "offline", pending: 2 })).ok).toBe(false);
    expect(syncOutcome(status({ state: "not_responding" })).text).toMatch(/not responding/);
    expect(syncOutcome(status({ state: "sign_in_required" })).text).toBe("Sign in again to sync.");
  });
});
