import { describe, expect, it } from "vitest";
import { formatScreen, HOME, parseScreen, type Screen } from "./route";

describe("remembered screens", () => {
  it("come back as the screen they were", () => {
    const screens: Screen[] = [
      { name: "customers" },
      { name: "customer", id: "0190a3c2-1b2c-7d4e-8f00-123456789abc" },
      { name: "tickets" },
      { name: "ticket", id: "0190a3c2-1b2c-7d4e-8f00-123456789abd" },
      { name: "inbox" },
      { name: "dashboard" },
    ];
    for (const screen of screens) {
      expect(parseScreen(formatScreen(screen))).toEqual(screen);
    }
  });

  it("fall back to the customer list when unreadable", () => {
    for (const text of [null, "", "nowhere", "customer/", "customer/not-a-uuid", "inbox/x", "ticket/a/b"]) {
      expect(parseScreen(text)).toEqual(HOME);
    }
  });
});
