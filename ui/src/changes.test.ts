import { describe, expect, it } from "vitest";
import type { Mutation } from "./bindings";
import { conflictVerdict, describeMutation, editableFields, editedValues, editText, parseEdited, valueText } from "./changes";

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
        { field: "is_archived", label: "Is archived", after: "false" },
        { field: "score", label: "Score", after: "3" },
      ],
    });
  });

  it("shows an update's changes from before to after", () => {
    expect(describeMutation(update).title).toBe("Edit of ticket");
    expect(describeMutation(update).lines[0]).toEqual({ field: "status", label: "Status", before: "open", after: "closed" });
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
    expect(valueText(true)).toBe("true");
    expect(valueText(["a"])).toBe('["a"]');
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
});
