import { describe, expect, it } from "vitest";
import type { FollowUpItem_Serialize } from "./bindings";
import { groupFollowUps, isSnoozed, snoozeChoices } from "./followUps";

const item = (due: Date, snoozed: Date | null = null): FollowUpItem_Serialize => ({
  interaction_id: `i-${due.getTime()}`,
  customer_id: "c",
  customer_name: "Acme",
  interaction_type: "call",
  note: null,
  follow_up_date: due.toISOString(),
  due: due.toISOString(),
  snoozed_until: snoozed?.toISOString() ?? null,
});

describe("follow-up groups", () => {
  it("split by the local day: overdue, later today, later", () => {
    const now = new Date(2026, 11, 2, 10, 0);
    const yesterday = item(new Date(2026, 11, 1, 16, 0));
    const thisMorning = item(new Date(2026, 11, 2, 9, 0));
    const thisAfternoon = item(new Date(2026, 11, 2, 15, 0));
    const nextWeek = item(new Date(2026, 11, 9, 9, 0));
    const groups = groupFollowUps([yesterday, thisMorning, thisAfternoon, nextWeek], now);
    expect(groups.overdue).toEqual([yesterday, thisMorning]);
    expect(groups.today).toEqual([thisAfternoon]);
    expect(groups.upcoming).toEqual([nextWeek]);
  });
});

describe("snooze", () => {
  it("offers an hour, or tomorrow at nine local time", () => {
    const now = new Date(2026, 11, 2, 22, 30);
    const [hour, tomorrow] = snoozeChoices(now);
    expect(hour.until.getTime() - now.getTime()).toBe(3_600_000);
    expect(tomorrow.until).toEqual(new Date(2026, 11, 3, 9, 0));
  });

  it("runs until its time", () => {
    const now = new Date(2026, 11, 2, 10, 0);
    expect(isSnoozed(item(now, new Date(2026, 11, 2, 11, 0)), now)).toBe(true);
    expect(isSnoozed(item(now, new Date(2026, 11, 2, 9, 0)), now)).toBe(false);
    expect(isSnoozed(item(now), now)).toBe(false);
  });
});
