import { describe, expect, it } from "vitest";
import {
  addressPieces,
  fieldLabel,
  customerCount,
  figure,
  fileSize,
  goneMessage,
  hoursLabel,
  humanize,
  isPressing,
  orderedCounts,
  pageRange,
  personName,
  plural,
  tableNoun,
} from "./labels";

describe("humanize", () => {
  it("turns wire values into sentence-case words", () => {
    expect(humanize("in_progress")).toBe("In progress");
    expect(humanize("closed_won")).toBe("Closed won");
    expect(humanize("pending_customer")).toBe("Pending customer");
    expect(humanize("open")).toBe("Open");
    expect(humanize("URGENT")).toBe("Urgent");
  });

  it("gives nothing for nothing", () => {
    expect(humanize("")).toBe("");
    expect(humanize(null)).toBe("");
    expect(humanize(undefined)).toBe("");
  });
});

describe("field labels", () => {
  it("drop the _id of references", () => {
    expect(fieldLabel("product_id")).toBe("Product");
    expect(fieldLabel("customer_id")).toBe("Customer");
    expect(fieldLabel("follow_up_date")).toBe("Follow up date");
    expect(fieldLabel("is_archived")).toBe("Is archived");
  });
});

describe("table nouns", () => {
  it("name one row of a synced table", () => {
    expect(tableNoun("customers")).toBe("customer");
    expect(tableNoun("customer_interactions")).toBe("interaction");
    expect(tableNoun("ticket_comments")).toBe("comment");
    expect(tableNoun("audit_notes")).toBe("audit notes");
  });
});

describe("person names", () => {
  it("fall back when unknown or blank", () => {
    expect(personName("Ada Lovelace")).toBe("Ada Lovelace");
    expect(personName(null)).toBe("Unknown");
    expect(personName("  ", "Nobody")).toBe("Nobody");
  });
});

describe("file sizes", () => {
  it("use the largest unit below 1024", () => {
    expect(fileSize(0)).toBe("0 B");
    expect(fileSize(1023)).toBe("1023 B");
    expect(fileSize(1536)).toBe("1.5 KB");
    expect(fileSize(5 * 1024 * 1024)).toBe("5.0 MB");
    expect(fileSize(-1)).toBe("");
  });
});

describe("priorities and counts", () => {
  it("mark only urgent and high", () => {
    expect(["low", "medium", "high", "urgent"].filter(isPressing)).toEqual(["high", "urgent"]);
  });

  it("pluralise counts", () => {
    expect(plural(1, "ticket")).toBe("1 ticket");
    expect(plural(0, "ticket")).toBe("0 tickets");
    expect(plural(2, "reply", "replies")).toBe("2 replies");
  });
});

describe("dashboard figures", () => {
  it("follow the vocabulary's order, unknown keys last", () => {
    expect(orderedCounts({ proposal: 2, lead: 5, legacy: 1 }, ["lead", "qualified", "proposal"])).toEqual([
      ["lead", 5],
      ["proposal", 2],
      ["legacy", 1],
    ]);
  });

  it("say durations in fitting units", () => {
    expect(hoursLabel(0.75)).toBe("45 min");
    expect(hoursLabel(5.24)).toBe("5.2 h");
    expect(hoursLabel(84)).toBe("3.5 days");
    expect(hoursLabel(null)).toBe("—");
  });
});

describe("list counts", () => {
  it("say how many customers there are, or how many match", () => {
    expect(customerCount(200)).toBe("200 customers");
    expect(customerCount(1)).toBe("1 customer");
    expect(customerCount(0)).toBe("0 customers");
    expect(customerCount(12, { matching: true })).toBe("12 customers match");
    expect(customerCount(1, { matching: true })).toBe("1 customer matches");
    expect(customerCount(205, { archived: true })).toBe("205 customers, archived included");
  });

  it("group the digits of large figures", () => {
    expect(figure(100000)).toBe("100,000");
    expect(customerCount(1250)).toBe("1,250 customers");
  });

  it("give a page's rows as a range of the total", () => {
    expect(pageRange(0, 100, 200)).toBe("1–100 of 200");
    expect(pageRange(200, 50, 250)).toBe("201–250 of 250");
    expect(pageRange(0, 1, 1)).toBe("1–1 of 1");
    expect(pageRange(1000, 100, 1250)).toBe("1,001–1,100 of 1,250");
    expect(pageRange(300, 0, 250)).toBe("");
  });
});

describe("a record that left the replica", () => {
  it("is explained, with where refused work went", () => {
    expect(goneMessage("customer")).toMatch(/^This customer is no longer available to you/);
    expect(goneMessage("ticket")).toMatch(/^This ticket /);
    expect(goneMessage("customer")).toMatch(/Inbox/);
  });
});

describe("addresses", () => {
  it("break after @ and before dots, never inside a word", () => {
    expect(addressPieces("northwind.traders1@example.com")).toEqual(["northwind", ".traders1@", "example", ".com"]);
    expect(addressPieces("ops@northwind.example")).toEqual(["ops@", "northwind", ".example"]);
  });

  it("keep a web address's slashes and punctuation with what follows", () => {
    expect(addressPieces("https://example.com/spring-order?id=7")).toEqual([
      "https://",
      "example",
      ".com/",
      "spring",
      "-order",
      "?id",
      "=7",
    ]);
  });

  it("join up to the text again", () => {
    for (const text of ["", "a", "first.last+crm@mail.example.co.uk", "..x@@y//z", "@start", "end@", ".dot"]) {
      expect(addressPieces(text).join("")).toBe(text);
      expect(addressPieces(text).every((piece) => piece !== "")).toBe(true);
    }
  });

  it("leave a text without break points whole", () => {
    expect(addressPieces("+49 30 1234567")).toEqual(["+49 30 1234567"]);
    expect(addressPieces("northwind")).toEqual(["northwind"]);
  });
});
