import { describe, expect, it } from "vitest";
import type { IntegrationPermission, WebhookEvent } from "./bindings";
import {
  deliveryInWords,
  emptyTokenForm,
  permissionsInWords,
  togglePermission,
  toggleEvent,
  tokenDraft,
  tokenState,
  webhookDraft,
  webhookState,
} from "./integrations";

const now = new Date("2026-12-03T12:00:00Z");
const days = (n: number) => new Date(now.getTime() + n * 86_400_000).toISOString();

const VOCABULARY: IntegrationPermission[] = [
  "customers:read",
  "customers:write",
  "tickets:read",
  "tickets:write",
  "comments:read",
  "comments:write",
  "comments:internal",
];

describe("tokenState", () => {
  it("is revoked once revoked, whatever its expiry", () => {
    expect(tokenState({ is_active: false, revoked_at: days(-1), expires_at: days(30) }, now)).toBe("revoked");
  });
  it("is expired at and after its expiry", () => {
    expect(tokenState({ is_active: true, revoked_at: null, expires_at: days(0) }, now)).toBe("expired");
    expect(tokenState({ is_active: true, revoked_at: null, expires_at: days(-3) }, now)).toBe("expired");
  });
  it("is expiring within a week, active beyond", () => {
    expect(tokenState({ is_active: true, revoked_at: null, expires_at: days(6) }, now)).toBe("expiring");
    expect(tokenState({ is_active: true, revoked_at: null, expires_at: days(8) }, now)).toBe("active");
  });
});

describe("permissions", () => {
  it("are said grouped by what they reach", () => {
    expect(permissionsInWords(["customers:read", "customers:write", "tickets:read"])).toBe("Customers: read, write · Tickets: read");
    expect(permissionsInWords([])).toBe("No permissions");
  });
  it("choosing a write also chooses the read it needs, in the vocabulary's order", () => {
    expect(togglePermission([], "tickets:write", true, VOCABULARY)).toEqual(["tickets:read", "tickets:write"]);
    expect(togglePermission(["tickets:read"], "customers:read", true, VOCABULARY)).toEqual(["customers:read", "tickets:read"]);
  });
  it("unchoosing a read unchooses what needs it, and nothing else", () => {
    const chosen: IntegrationPermission[] = ["customers:read", "comments:read", "comments:write", "comments:internal"];
    expect(togglePermission(chosen, "comments:read", false, VOCABULARY)).toEqual(["customers:read"]);
    expect(togglePermission(chosen, "comments:internal", false, VOCABULARY)).toEqual([
      "customers:read",
      "comments:read",
      "comments:write",
    ]);
  });
});

describe("token drafts", () => {
  it("start with the vocabulary's default lifetime", () => {
    expect(emptyTokenForm({ token_default_days: 90 }).days).toBe("90");
  });
  it("send the trimmed name and the days as a number; days that are not a number go as 0 for the rules to refuse", () => {
    expect(tokenDraft({ name: "  ERP  ", permissions: ["customers:read"], days: " 30 " })).toEqual({
      name: "ERP",
      permissions: ["customers:read"],
      expires_in_days: 30,
    });
    expect(tokenDraft({ name: "x", permissions: [], days: "" }).expires_in_days).toBeNull();
    expect(tokenDraft({ name: "x", permissions: [], days: "1.5" }).expires_in_days).toBe(0);
    expect(tokenDraft({ name: "x", permissions: [], days: "a year" }).expires_in_days).toBe(0);
  });
});

describe("webhooks", () => {
  it("drafts trim the URL and send no blank description", () => {
    expect(webhookDraft({ url: " https://erp.example.com/hook ", event_types: ["ticket.created"], description: "  ", include_internal: false })).toEqual({
      url: "https://erp.example.com/hook",
      event_types: ["ticket.created"],
      description: null,
      include_internal: false,
    });
  });
  it("events keep the vocabulary's order", () => {
    const all: WebhookEvent[] = ["customer.created", "ticket.created", "comment.added"];
    expect(toggleEvent(["comment.added"], "customer.created", true, all)).toEqual(["customer.created", "comment.added"]);
    expect(toggleEvent(["customer.created", "comment.added"], "comment.added", false, all)).toEqual(["customer.created"]);
  });
  it("one the server stopped is told apart from one its owner paused", () => {
    expect(webhookState({ is_active: true, disabled_reason: null })).toBe("active");
    expect(webhookState({ is_active: false, disabled_reason: null })).toBe("paused");
    expect(webhookState({ is_active: false, disabled_reason: "failing for a day" })).toBe("stopped");
  });
  it("deliveries say how they went, with the receiver's last answer", () => {
    expect(deliveryInWords({ state: "delivered", attempts: 1, last_status: 200, last_error: null })).toBe("Delivered");
    expect(deliveryInWords({ state: "delivered", attempts: 3, last_status: 200, last_error: null })).toBe("Delivered after 3 attempts");
    expect(deliveryInWords({ state: "pending", attempts: 0, last_status: null, last_error: null })).toBe("Waiting to be sent");
    expect(deliveryInWords({ state: "pending", attempts: 2, last_status: 503, last_error: null })).toBe("Retrying (2 attempts, last: HTTP 503)");
    expect(deliveryInWords({ state: "failed", attempts: 9, last_status: null, last_error: "connection refused" })).toBe(
      "Failed after 9 attempts (last: connection refused)",
    );
  });
});
