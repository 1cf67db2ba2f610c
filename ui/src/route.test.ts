import { describe, expect, it } from "vitest";
import {
  backLabel,
  backTarget,
  formatScreen,
  HOME,
  parseScreen,
  pushHistory,
  sameScreen,
  section,
  type Screen,
} from "./route";

describe("remembered screens", () => {
  it("come back as the screen they were", () => {
    const screens: Screen[] = [
      { name: "customers" },
      { name: "customer", id: "0190a3c2-1b2c-7d4e-8f00-123456789abc" },
      { name: "tickets" },
      { name: "ticket", id: "0190a3c2-1b2c-7d4e-8f00-123456789abd" },
      { name: "inbox" },
      { name: "dashboard" },
      { name: "integrations" },
      { name: "account" },
      { name: "team" },
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

describe("the back link", () => {
  const list: Screen = { name: "customers" };
  const customer: Screen = { name: "customer", id: "0190a3c2-1b2c-7d4e-8f00-123456789abc" };
  const ticket: Screen = { name: "ticket", id: "0190a3c2-1b2c-7d4e-8f00-123456789abd" };

  it("leads to the screen left last, else to the page's list", () => {
    expect(backTarget(ticket, list)).toEqual(ticket);
    expect(backTarget(undefined, list)).toEqual(list);
    expect(backTarget(null, { name: "tickets" })).toEqual({ name: "tickets" });
  });

  it("names a list as the navigation does", () => {
    expect(backLabel(list)).toBe("Customers");
    expect(backLabel({ name: "tickets" })).toBe("Tickets");
    expect(backLabel({ name: "inbox" })).toBe("Inbox");
    expect(backLabel({ name: "dashboard" })).toBe("Dashboard");
  });

  it("names a page by its title when known, else by what it is", () => {
    expect(backLabel(ticket, "Delivery arrived damaged")).toBe("Delivery arrived damaged");
    expect(backLabel(customer, " Northwind Traders ")).toBe("Northwind Traders");
    expect(backLabel(customer)).toBe("Previous customer");
    expect(backLabel(ticket, "  ")).toBe("Previous ticket");
    expect(backLabel(ticket, null)).toBe("Previous ticket");
  });

  it("never names a list it does not lead to", () => {
    // The issue: on a customer's page reached from a ticket, the link said
    // "Customers" while it (and Escape) went back to the ticket.
    expect(backLabel(backTarget(ticket, list), "Delivery arrived damaged")).not.toBe("Customers");
  });
});
