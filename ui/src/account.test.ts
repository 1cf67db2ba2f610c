import { describe, expect, it } from "vitest";
import type { AccountSummary_Serialize } from "./bindings";
import { accountState, deviceLabel, repeatMismatch, teamOrder } from "./account";

function account(email: string, full_name: string | null, deactivated_at: string | null = null): AccountSummary_Serialize {
  return {
    id: email,
    email,
    full_name,
    role: "agent",
    created_at: "2026-12-01T00:00:00Z",
    last_sign_in_at: null,
    deactivated_at,
    active_sessions: 0,
  };
}

describe("devices", () => {
  it("are named as they said, with their system in words", () => {
    expect(deviceLabel({ device_name: "Ben's ThinkPad", platform: "linux" })).toBe("Ben's ThinkPad (Linux)");
    expect(deviceLabel({ device_name: null, platform: "macos" })).toBe("A device (macOS)");
    expect(deviceLabel({ device_name: "  ", platform: null })).toBe("A device");
    expect(deviceLabel({ device_name: "Box", platform: "freebsd" })).toBe("Box (Freebsd)");
  });
});

describe("the team", () => {
  it("lists active people first, then by name", () => {
    const order = teamOrder([
      account("zed@x.io", null, "2026-12-02T00:00:00Z"),
      account("cy@x.io", "Cy"),
      account("ada@x.io", "Ada"),
    ]).map((a) => a.email);
    expect(order).toEqual(["ada@x.io", "cy@x.io", "zed@x.io"]);
  });
  it("tells deactivated accounts apart", () => {
    expect(accountState(account("a@x.io", null))).toBe("active");
    expect(accountState(account("a@x.io", null, "2026-12-02T00:00:00Z"))).toBe("deactivated");
  });
});

describe("a new password's repetition", () => {
  it("is only checked once typed", () => {
    expect(repeatMismatch("copper kettle", "")).toBeNull();
    expect(repeatMismatch("copper kettle", "copper kettl")).toBe("The two passwords differ.");
    expect(repeatMismatch("copper kettle", "copper kettle")).toBeNull();
  });
});
