import { describe, expect, it } from "vitest";
import type { Mutation, RefusalReason_Serialize } from "./bindings";
import {
  changeAsText,
  conflictPeople,
  conflictVerdict,
  describeMutation,
  editableFields,
  editedValues,
  editText,
  parseEdited,
  reasonSentence,
  rejectionSentence,
  type ValueContext,
  valueText,
  whenWords,
} from "./changes";

const base = { seq: 7, row_id: "r1", edited_at: "2024-06-03T10:00:00Z" };

const insert: Mutation = {
  ...base,
  table: "customers",
  op: "insert",
  values: { name: "Acme", email: null, is_archived: false, score: 3 },
};

const update: Mutation = {
  ...base,
  table: "tickets",
  op: "update",
  changes: { status: { base: "open", value: "closed" }, priority: { base: "low", value: "high" } },
};

const del: Mutation = { ...base, table: "ticket_comments", op: "delete" };

describe("describing a refused change", () => {
  it("lists an insert's values, leaving out empty ones", () => {
    expect(describeMutation(insert)).toEqual({
      title: "New customer",
      lines: [
        { field: "name", label: "Name", after: "Acme" },
        { field: "is_archived", label: "Is archived", after: "No" },
        { field: "score", label: "Score", after: "3" },
      ],
    });
  });

  it("shows an update's changes from before to after", () => {
    expect(describeMutation(update).title).toBe("Edit of ticket");
    expect(describeMutation(update).lines[0]).toEqual({ field: "status", label: "Status", before: "Open", after: "Closed" });
  });

  it("names a new ticket by its title, never its customer", () => {
    const ticket: Mutation = { ...base, table: "tickets", op: "insert", values: { title: "Printer jams", customer_id: "c-1" } };
    // The subject of a ticket is its own title: the customer line keeps its id.
    expect(describeMutation(ticket, "Printer jams").lines[1]).toEqual({ field: "customer_id", label: "Customer", after: "c-1" });
  });

  it("names the row a change points at by its subject, not its id", () => {
    const interaction: Mutation = {
      ...base,
      table: "customer_interactions",
      op: "insert",
      values: { customer_id: "01a2352f-7267-70b6-826e-a66d848b4965", note: "Quote sent" },
    };
    expect(describeMutation(interaction, "Northwind Traders").lines).toEqual([
      { field: "customer_id", label: "Customer", after: "Northwind Traders" },
      { field: "note", label: "Note", after: "Quote sent" },
    ]);
    // Without a subject the id is all there is.
    expect(describeMutation(interaction).lines[0].after).toBe("01a2352f-7267-70b6-826e-a66d848b4965");
  });

  it("names a deletion", () => {
    expect(describeMutation(del)).toEqual({ title: "Deletion of comment", lines: [] });
  });

  it("reads values plainly", () => {
    expect(valueText(null)).toBe("—");
    expect(valueText("")).toBe("—");
    expect(valueText("x")).toBe("x");
    expect(valueText(true)).toBe("Yes");
    expect(valueText(false)).toBe("No");
    expect(valueText(3)).toBe("3");
    expect(valueText(["a"])).toBe('["a"]');
  });
});

describe("values by their meaning", () => {
  // Local times, so the words do not depend on the machine's time zone.
  const now = new Date(2024, 5, 3, 16, 0);
  const at = (...parts: [number, number, number, number, number]) => new Date(...parts).toISOString();
  const context: ValueContext = {
    colleagues: [
      { id: "u-ada", full_name: "Ada Admin" },
      { id: "u-cy", full_name: "Cy Agent" },
    ],
    me: "u-ben",
    products: [{ id: "p-1", name: "Shelving Pro" }],
    now,
  };

  it("says vocabulary words as words", () => {
    expect(valueText("closed_won", "acquisition_stage", context)).toBe("Closed won");
    expect(valueText("in_progress", "status", context)).toBe("In progress");
    expect(valueText("urgent", "priority", context)).toBe("Urgent");
    // A note that happens to hold an underscore is the user's text.
    expect(valueText("see ticket_42", "note", context)).toBe("see ticket_42");
  });

  it("writes moments as the window does, or in full without a now", () => {
    expect(valueText(at(2024, 5, 3, 14, 5), "created_at", context)).toBe("Today, 14:05");
    expect(valueText(at(2024, 5, 4, 9, 30), "follow_up_date", context)).toBe("Tomorrow, 09:30");
    expect(valueText(at(2024, 5, 1, 8, 0), "follow_up_done_at", context)).toBe("1 Jun, 08:00");
    expect(valueText(at(2024, 5, 3, 14, 5), "created_at")).toBe("Mon 3 Jun 2024, 14:05");
    expect(valueText("2024-06-03", "follow_up_date", context)).toBe("Mon 3 Jun 2024");
    // Not a moment after all: shown as typed.
    expect(valueText("next week", "follow_up_date", context)).toBe("next week");
  });

  it("names people by their id, the user as you", () => {
    expect(valueText("u-ada", "owner", context)).toBe("Ada Admin");
    expect(valueText("u-cy", "assigned_to", context)).toBe("Cy Agent");
    expect(valueText("u-ben", "created_by", context)).toBe("you");
    expect(valueText("u-ada", "user_id", context)).toBe("Ada Admin");
    expect(valueText("u-gone", "owner", context)).toBe("someone");
  });

  it("names a product, and sizes in bytes", () => {
    expect(valueText("p-1", "product_id", context)).toBe("Shelving Pro");
    expect(valueText("p-9", "product_id", context)).toBe("Unknown product");
    expect(valueText(1536, "file_size", context)).toBe("1.5 KB");
  });

  it("describes an admin's reassignment by names", () => {
    const reassign: Mutation = {
      ...base,
      table: "customers",
      op: "update",
      changes: { owner: { base: "u-ben", value: "u-ada" }, acquisition_stage: { base: "proposal", value: "closed_won" } },
    };
    expect(describeMutation(reassign, "Stark Hardware", context).lines).toEqual([
      { field: "owner", label: "Owner", before: "you", after: "Ada Admin" },
      { field: "acquisition_stage", label: "Acquisition stage", before: "Proposal", after: "Closed won" },
    ]);
  });
});

describe("the creation time of a new row", () => {
  const now = new Date(2024, 5, 3, 16, 0);
  const savedAt = new Date(2024, 5, 3, 15, 0).toISOString();
  const call = (createdAt: string): Mutation => ({
    seq: 3,
    row_id: "r2",
    edited_at: savedAt,
    table: "customer_interactions",
    op: "insert",
    values: { customer_id: "c1", type: "call", channel: "phone", note: "Quote sent", created_at: createdAt },
  });

  it("is no line: the app stamps it", () => {
    const summary = describeMutation(call(savedAt), "Northwind Traders", { now });
    expect(summary.lines.map((line) => line.field)).toEqual(["customer_id", "type", "channel", "note"]);
    expect(summary.made).toBeUndefined();
  });

  it("says when a row was made only where that is not when it was saved", () => {
    const yesterday = new Date(2024, 5, 2, 16, 40).toISOString();
    expect(describeMutation(call(yesterday), "Northwind Traders", { now }).made).toBe("Yesterday, 16:40");
  });

  it("also leaves out an assignment's and an attachment's stamp", () => {
    const assign: Mutation = {
      ...base,
      table: "ticket_assignees",
      op: "insert",
      values: { ticket_id: "t1", user_id: "u-cy", assigned_at: base.edited_at },
    };
    expect(describeMutation(assign, "Printer jams", { colleagues: [{ id: "u-cy", full_name: "Cy Agent" }] }).lines).toEqual([
      { field: "ticket_id", label: "Ticket", after: "Printer jams" },
      { field: "user_id", label: "User", after: "Cy Agent" },
    ]);
  });
});

describe("the resend editor", () => {
  it("edits an insert's values and an update's new values", () => {
    expect(editableFields(insert).map((f) => [f.field, f.text])).toEqual([
      ["name", "Acme"],
      ["email", ""],
      ["is_archived", "false"],
      ["score", "3"],
    ]);
    expect(editableFields(update).map((f) => [f.field, f.text])).toEqual([
      ["status", "closed"],
      ["priority", "high"],
    ]);
    expect(editableFields(del)).toEqual([]);
    expect(editText({ a: 1 })).toBe('{"a":1}');
  });

  it("keeps strings as strings and empties as null", () => {
    expect(parseEdited("  Acme Ltd ", "Acme")).toBe("Acme Ltd");
    expect(parseEdited("", "Acme")).toBeNull();
    expect(parseEdited("  ", null)).toBeNull();
    expect(parseEdited("ops@acme.test", null)).toBe("ops@acme.test");
    // A string column holding digits stays a string.
    expect(parseEdited("0612", "0611")).toBe("0612");
  });

  it("keeps booleans, numbers and JSON as their types", () => {
    expect(parseEdited("TRUE", false)).toBe(true);
    expect(parseEdited("false", true)).toBe(false);
    expect(parseEdited("12.5", 3)).toBe(12.5);
    expect(parseEdited('["a","b"]', [])).toEqual(["a", "b"]);
  });

  it("sends text that does not fit the type as typed", () => {
    expect(parseEdited("maybe", true)).toBe("maybe");
    expect(parseEdited("lots", 3)).toBe("lots");
    expect(parseEdited("{oops", {})).toBe("{oops");
  });

  it("resends only the fields the user changed", () => {
    const fields = editableFields(insert);
    const texts = { name: "Acme", email: "ops@acme.test", is_archived: "true", score: "3" };
    expect(editedValues(fields, texts)).toEqual({ email: "ops@acme.test", is_archived: true });
    expect(editedValues(fields, {})).toEqual({});
  });
});

describe("conflicts", () => {
  it("say who won from the user's side", () => {
    expect(conflictVerdict({ mine_lost: true, kept_by_name: "Bo", lost_by_name: "Me" })).toBe("Your value lost");
    expect(conflictVerdict({ mine_lost: false, kept_by_name: "Me", lost_by_name: "Bo" })).toBe("Your value won over Bo");
    expect(conflictVerdict({ mine_lost: false, kept_by_name: null, lost_by_name: null })).toBe("Your value won over a colleague");
  });

  it("call the user you, on their side and wherever their name is", () => {
    expect(conflictPeople({ mine_lost: true, kept_by_name: "Ada Admin", lost_by_name: "Ben Agent" }, "Ben Agent")).toEqual({
      keptBy: "Ada Admin",
      lostBy: "you",
    });
    expect(conflictPeople({ mine_lost: false, kept_by_name: "Ben Agent", lost_by_name: "Ada Admin" }, "Ben Agent")).toEqual({
      keptBy: "you",
      lostBy: "Ada Admin",
    });
    // The user's own edit from another computer beat this one.
    expect(conflictPeople({ mine_lost: true, kept_by_name: "Ben Agent", lost_by_name: "Ben Agent" }, "Ben Agent")).toEqual({
      keptBy: "you",
      lostBy: "you",
    });
    expect(conflictPeople({ mine_lost: false, kept_by_name: null, lost_by_name: null }, null)).toEqual({
      keptBy: "you",
      lostBy: "a colleague",
    });
  });
});

describe("why a change was refused", () => {
  const now = new Date(2024, 11, 3, 16, 0); // Tue 3 Dec 2024
  const at = (...parts: [number, number, number, number, number]) => new Date(...parts).toISOString();
  const reassigned: RefusalReason_Serialize = {
    kind: "reassigned",
    by: "u-ada",
    by_name: "Ada Admin",
    to: "u-cy",
    to_name: "Cy Agent",
    at: at(2024, 11, 3, 15, 17),
  };
  const about = { subject: "Stark Hardware", table: "customer_interactions" as const };

  it("says who reassigned the customer to whom, and when", () => {
    expect(reasonSentence(reassigned, about, "u-ben", now)).toBe("Ada Admin reassigned Stark Hardware to Cy Agent at 15:17.");
  });

  it("says you for the user, whichever side they are on", () => {
    expect(reasonSentence({ ...reassigned, to: "u-ben", to_name: "Ben Agent" }, about, "u-ben", now)).toBe(
      "Ada Admin reassigned Stark Hardware to you at 15:17.",
    );
    expect(reasonSentence({ ...reassigned, by: "u-ben", by_name: "Ben Agent" }, about, "u-ben", now)).toBe(
      "You reassigned Stark Hardware to Cy Agent at 15:17.",
    );
  });

  it("says who deleted it, on which day", () => {
    const deleted: RefusalReason_Serialize = { kind: "deleted", by: "u-ada", by_name: "Ada Admin", to: null, to_name: null, at: at(2024, 11, 1, 9, 12) };
    expect(reasonSentence(deleted, { subject: "Closed Corner", table: "customers" }, "u-ben", now)).toBe(
      "Ada Admin deleted Closed Corner on Sun 1 Dec at 09:12.",
    );
  });

  it("says the system when nobody did it, and names the row when it has no subject", () => {
    const deleted: RefusalReason_Serialize = { kind: "deleted", by: null, by_name: null, to: null, to_name: null, at: at(2024, 11, 2, 9, 12) };
    expect(reasonSentence(deleted, { subject: null, table: "ticket_comments" }, "u-ben", now)).toBe(
      "The system deleted the ticket yesterday at 09:12.",
    );
    expect(reasonSentence({ ...reassigned, by_name: null, to_name: "  " }, about, "u-ben", now)).toBe(
      "A colleague reassigned Stark Hardware to a colleague at 15:17.",
    );
  });

  it("writes when in words: today, yesterday, a day this year, a day before", () => {
    expect(whenWords(at(2024, 11, 3, 8, 5), now)).toBe("at 08:05");
    expect(whenWords(at(2024, 11, 2, 23, 59), now)).toBe("yesterday at 23:59");
    expect(whenWords(at(2024, 5, 3, 14, 5), now)).toBe("on Mon 3 Jun at 14:05");
    expect(whenWords(at(2023, 11, 1, 9, 12), now)).toBe("on Fri 1 Dec 2023 at 09:12");
    expect(whenWords(null, now)).toBe("");
  });

  it("falls back on the code and message in words, never the code", () => {
    const item = { code: "not_allowed" as const, message: "cannot move a ticket from closed to open", reason: null, subject: "Printer", table: "tickets" as const };
    expect(rejectionSentence(item, "u-ben", now)).toBe("The rules do not allow this change. Cannot move a ticket from closed to open.");
    expect(rejectionSentence({ ...item, reason: reassigned }, "u-ben", now)).toBe("Ada Admin reassigned Printer to Cy Agent at 15:17.");
  });
});

describe("a change copied as text", () => {
  it("says what it was, what about, and each field in words", () => {
    const interaction: Mutation = {
      ...base,
      table: "customer_interactions",
      op: "insert",
      values: {
        customer_id: "c1",
        type: "call",
        channel: "phone",
        note: "Quote sent",
        follow_up_date: new Date(2030, 2, 1, 9, 30).toISOString(),
        created_at: base.edited_at,
      },
    };
    expect(changeAsText(interaction, "Northwind Traders", { now: new Date(2030, 1, 28, 12, 0) })).toBe(
      [
        "New interaction — Northwind Traders",
        "Customer: Northwind Traders",
        "Type: call",
        "Channel: Phone",
        "Note: Quote sent",
        // In full: the text outlives "tomorrow".
        "Follow up date: Fri 1 Mar 2030, 09:30",
      ].join("\n"),
    );
  });

  it("writes an edit as before → after", () => {
    expect(changeAsText(update)).toBe("Edit of ticket\nStatus: Open → Closed\nPriority: Low → High");
  });
});
