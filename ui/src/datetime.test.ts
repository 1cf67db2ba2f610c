import { describe, expect, it } from "vitest";
import {
  daysFrom,
  followUpState,
  formatDate,
  formatDateTime,
  formatFull,
  isoToLocalInput,
  localInputInWords,
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
    for (const value of [
      "",
      "   ",
      null,
      undefined,
      "2024-06-03",
      "tomorrow",
      "2023-02-29T10:00",
      "2024-13-01T10:00",
      "2024-06-03T23:60",
    ]) {
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
    expect(formatDate(null)).toBe("");
    expect(formatDate("not a date")).toBe("");
  });

  it("can be a day alone, with its year and no time of day", () => {
    // "Customer since": a day, even today's, and the year even this year's.
    expect(formatDate(local(2024, 6, 3, 14, 5).toISOString())).toBe("3 Jun 2024");
    expect(formatDate(local(2019, 12, 24, 0, 0).toISOString())).toBe("24 Dec 2019");
    expect(formatDate(local(2024, 6, 3, 23, 59).toISOString(), { weekday: true })).toBe("Mon 3 Jun 2024");
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

describe("date inputs in words", () => {
  it("spell out the day and month, whatever order the input shows them in", () => {
    expect(localInputInWords("2026-12-08T14:30")).toBe("Tue 8 Dec 2026, 14:30");
    // The same digits the other way round are another day, and read so.
    expect(localInputInWords("2026-08-12T14:30")).toBe("Wed 12 Aug 2026, 14:30");
    expect(localInputInWords("2024-02-29T00:05:59")).toBe("Thu 29 Feb 2024, 00:05");
  });

  it("give a date input's day without a time", () => {
    expect(localInputInWords("2026-12-08")).toBe("Tue 8 Dec 2026");
  });

  it("are empty until the input holds a whole, possible date", () => {
    for (const value of ["", null, undefined, "2026-12", "2023-02-29T10:00", "2026-12-08T25:00", "08/12/2026"]) {
      expect(localInputInWords(value)).toBe("");
    }
  });

  it("describe the same moment the core is sent", () => {
    const value = "2030-03-01T09:30";
    expect(formatFull(localInputToIso(value))).toBe(localInputInWords(value));
  });
});
