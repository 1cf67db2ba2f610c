import { describe, expect, it } from "vitest";
import {
  daysFrom,
  followUpState,
  formatDateTime,
  formatFull,
  isoToLocalInput,
  localInputToIso,
  parseIso,
  relativeTime,
} from "./datetime";

// Dates are built with the local-time constructor so the tests hold in any
// time zone the machine runs in.
const local = (y: number, m: number, d: number, h = 0, min = 0, s = 0) => new Date(y, m - 1, d, h, min, s);

describe("datetime-local values", () => {
  it("become UTC ISO strings of the same instant", () => {
    const iso = localInputToIso("2024-06-03T14:05");
    expect(iso).toBe(local(2024, 6, 3, 14, 5).toISOString().replace(".000Z", "Z"));
    expect(iso!.endsWith("Z")).toBe(true);
  });

  it("come back unchanged through the core's form", () => {
    for (const value of ["2024-06-03T14:05", "2023-12-31T23:59", "2024-02-29T00:00"]) {
      expect(isoToLocalInput(localInputToIso(value))).toBe(value);
    }
  });

  it("accept seconds, which some browsers add", () => {
    expect(localInputToIso("2024-06-03T14:05:30")).toBe(local(2024, 6, 3, 14, 5, 30).toISOString().replace(".000Z", "Z"));
  });

  it("are null when empty, malformed or impossible", () => {
    for (const value of ["", "   ", null, undefined, "2024-06-03", "tomorrow", "2023-02-29T10:00", "2024-13-01T10:00"]) {
      expect(localInputToIso(value)).toBeNull();
    }
  });

  it("are empty for absent or unreadable timestamps", () => {
    expect(isoToLocalInput(null)).toBe("");
    expect(isoToLocalInput("")).toBe("");
    expect(isoToLocalInput("not a date")).toBe("");
    expect(parseIso("not a date")).toBeNull();
  });
});

describe("friendly dates", () => {
  const now = local(2024, 6, 3, 12, 0);

  it("name nearby days", () => {
    expect(formatDateTime(local(2024, 6, 3, 9, 5).toISOString(), now)).toBe("Today, 09:05");
    expect(formatDateTime(local(2024, 6, 2, 23, 59).toISOString(), now)).toBe("Yesterday, 23:59");
    expect(formatDateTime(local(2024, 6, 4, 0, 0).toISOString(), now)).toBe("Tomorrow, 00:00");
  });

  it("show the year only when it is not this one", () => {
    expect(formatDateTime(local(2024, 1, 15, 8, 30).toISOString(), now)).toBe("15 Jan, 08:30");
    expect(formatDateTime(local(2023, 12, 24, 18, 0).toISOString(), now)).toBe("24 Dec 2023, 18:00");
  });

  it("spell out the full date for tooltips", () => {
    expect(formatFull(local(2024, 6, 3, 14, 5).toISOString())).toBe("Mon 3 Jun 2024, 14:05");
  });

  it("are empty for nothing", () => {
    expect(formatDateTime(null, now)).toBe("");
    expect(formatFull(undefined)).toBe("");
  });

  it("count calendar days, not 24-hour spans", () => {
    expect(daysFrom(local(2024, 6, 3, 23, 50), local(2024, 6, 4, 0, 10))).toBe(1);
    expect(daysFrom(local(2024, 6, 3, 0, 10), local(2024, 6, 2, 23, 50))).toBe(-1);
  });
});

describe("relative times", () => {
  const now = local(2024, 6, 3, 12, 0);
  const ago = (ms: number) => new Date(now.getTime() - ms).toISOString();

  it("grow from seconds to days", () => {
    expect(relativeTime(ago(10_000), now)).toBe("just now");
    expect(relativeTime(ago(-5_000), now)).toBe("just now");
    expect(relativeTime(ago(60_000), now)).toBe("1 min ago");
    expect(relativeTime(ago(42 * 60_000), now)).toBe("42 min ago");
    expect(relativeTime(ago(3 * 3_600_000), now)).toBe("3 h ago");
    expect(relativeTime(local(2024, 6, 2, 18, 0).toISOString(), now)).toBe("yesterday");
    expect(relativeTime(local(2024, 5, 30, 18, 0).toISOString(), now)).toBe("4 days ago");
    expect(relativeTime(local(2024, 5, 1, 18, 0).toISOString(), now)).toBe("1 May, 18:00");
  });

  it("say yesterday for last night even if under 24 hours ago", () => {
    expect(relativeTime(local(2024, 6, 2, 23, 0).toISOString(), local(2024, 6, 3, 8, 0))).toBe("yesterday");
  });
});

describe("follow-ups", () => {
  const now = local(2024, 6, 3, 12, 0);

  it("are overdue once passed, due later today, upcoming after", () => {
    expect(followUpState(local(2024, 6, 3, 11, 59).toISOString(), now)).toBe("overdue");
    expect(followUpState(local(2024, 5, 1).toISOString(), now)).toBe("overdue");
    expect(followUpState(local(2024, 6, 3, 17, 0).toISOString(), now)).toBe("due");
    expect(followUpState(local(2024, 6, 4, 9, 0).toISOString(), now)).toBe("upcoming");
    expect(followUpState(null, now)).toBeNull();
  });
});
