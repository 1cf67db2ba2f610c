import { describe, expect, it } from "vitest";
import { formatScreen, HOME, parseScreen, pushHistory, sameScreen, section, type Screen } from "./route";

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

describe("going back", () => {
  const list: Screen = { name: "customers" };
  const page: Screen = { name: "customer", id: "0190a3c2-1b2c-7d4e-8f00-123456789abc" };

  it("remembers the screens left, without repeating the top one", () => {
    expect(pushHistory([], list)).toEqual([list]);
    expect(pushHistory([list], page)).toEqual([list, page]);
    expect(pushHistory([list, page], { ...page })).toEqual([list, page]);
  });

  it("forgets the oldest beyond the limit", () => {
    const history = pushHistory(pushHistory(pushHistory([], list, 2), page, 2), { name: "inbox" }, 2);
    expect(history).toEqual([page, { name: "inbox" }]);
  });

  it("compares screens by what they show", () => {
    expect(sameScreen(page, { name: "customer", id: page.id })).toBe(true);
    expect(sameScreen(page, list)).toBe(false);
  });

  it("puts detail pages under their list in the navigation", () => {
    expect(section(page)).toBe("customers");
    expect(section({ name: "ticket", id: "x" })).toBe("tickets");
    expect(section({ name: "dashboard" })).toBe("dashboard");
  });
});
