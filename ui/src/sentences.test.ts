import { describe, expect, it } from "vitest";
import { asSentence, codeSentence, fieldSentence, messageSentence, refusalSentence, reportSentence } from "./sentences";

describe("a sentence", () => {
  it("starts with a capital and ends with a period", () => {
    expect(asSentence("the email or password is wrong")).toBe("The email or password is wrong.");
    expect(asSentence("  please sign in ")).toBe("Please sign in.");
  });

  it("keeps an ending it already has, and adds none to nothing", () => {
    expect(asSentence("Saved.")).toBe("Saved.");
    expect(asSentence("Really?")).toBe("Really?");
    expect(asSentence("Loading…")).toBe("Loading…");
    expect(asSentence("   ")).toBe("");
  });

  it("closes after a parenthesis and drops a dangling colon", () => {
    expect(asSentence("please update it (your unsent changes are kept)")).toBe("Please update it (your unsent changes are kept).");
    expect(asSentence("server unreachable:")).toBe("Server unreachable.");
  });
});

describe("a field's message", () => {
  it("is led by the field's label", () => {
    expect(fieldSentence("name", "must not be blank")).toBe("Name must not be blank.");
    expect(fieldSentence("follow_up_date", "Must be in the future.")).toBe("Follow up date must be in the future.");
    expect(fieldSentence("product_id", "is not a known product")).toBe("Product is not a known product.");
  });

  it("keeps an opening abbreviation's capitals", () => {
    expect(fieldSentence("server", "URL is not valid")).toBe("Server URL is not valid.");
  });
});

describe("the core's and the server's messages", () => {
  it("lose the field's wire name in front", () => {
    expect(messageSentence("name: must not be blank")).toBe("Name must not be blank.");
    expect(messageSentence("acquisition_stage: is not a stage")).toBe("Acquisition stage is not a stage.");
  });

  it("say each of several rules as its own sentence", () => {
    expect(messageSentence("name: must not be blank; email: is not an email address")).toBe(
      "Name must not be blank. Email is not an email address.",
    );
    expect(messageSentence("at most 3 products can be active at once; deactivate one first")).toBe(
      "At most 3 products can be active at once. Deactivate one first.",
    );
  });

  it("say what was not found in plain words", () => {
    expect(messageSentence("row not found")).toBe("The record was not found: it may have been deleted, or you can no longer see it.");
    expect(messageSentence("customer not found")).toBe(
      "The customer was not found: it may have been deleted, or you can no longer see it.",
    );
    expect(messageSentence("follow-up not found")).toMatch(/^The follow-up was not found/);
  });

  it("replace a bare code by what it means", () => {
    expect(messageSentence("not_found")).toBe("It is not on this computer: it was deleted, or you can no longer see it.");
    expect(messageSentence("validation_failed")).toBe("Some of its values break the rules.");
    expect(messageSentence("method_not_allowed")).toBe("Method not allowed.");
    expect(messageSentence("", "storage")).toBe("The app could not read or write its data on this computer.");
    expect(messageSentence("sign_in_required", "sign_in_required")).toBe("Please sign in.");
  });

  it("lead the core's technical prefixes with words, keeping the detail", () => {
    expect(messageSentence("local database: disk I/O error")).toBe("The app could not read or write its data on this computer: disk I/O error.");
    expect(messageSentence("server unreachable: connection refused")).toBe("The server cannot be reached: connection refused.");
    expect(messageSentence("malformed data: expected value at line 1")).toBe("The app found data it cannot read: expected value at line 1.");
  });

  it("do not take a word such as 'error' for a field", () => {
    expect(messageSentence("error: the disk is full")).toBe("Error: the disk is full.");
  });

  it("name a column the database refuses to change", () => {
    expect(messageSentence("tickets.created_by cannot be changed")).toBe("The ticket's created by cannot be changed.");
  });

  it("leave what already is a sentence as it is", () => {
    const samples = [
      "name: must not be blank; email: is not an email address",
      "row not found",
      "local database: disk full",
      "the email or password is wrong",
      "this version of the app is too old for the server: please update it (your unsent changes are kept)",
      "not_found",
    ];
    for (const sample of samples) {
      const once = messageSentence(sample);
      expect(messageSentence(once)).toBe(once);
    }
  });

  it("give nothing for nothing", () => {
    expect(messageSentence("")).toBe("");
    expect(messageSentence(null)).toBe("");
  });
});

describe("an error report", () => {
  it("is its message as sentences", () => {
    expect(
      reportSentence({ code: "invalid", message: "name: must not be blank", fields: [{ field: "name", message: "must not be blank" }] }),
    ).toBe("Name must not be blank.");
    expect(reportSentence({ code: "remote", message: "the email or password is wrong", fields: [] })).toBe(
      "The email or password is wrong.",
    );
  });

  it("falls back on its fields, then on its code", () => {
    expect(reportSentence({ code: "invalid", message: "", fields: [{ field: "title", message: "is too long" }] })).toBe(
      "Title is too long.",
    );
    expect(reportSentence({ code: "forbidden", message: " ", fields: [] })).toBe("You are not allowed to do this.");
    expect(reportSentence({ code: "", message: "" })).toBe("Something went wrong.");
  });

  it("never shows an unknown code as a code", () => {
    expect(codeSentence("quota_exceeded")).toBe("Quota exceeded.");
  });
});

describe("why the server refused a change", () => {
  it("says each refusal code in plain words", () => {
    const codes = [
      "forbidden",
      "not_allowed",
      "not_found",
      "already_exists",
      "missing_reference",
      "missing_value",
      "invalid_value",
      "validation_failed",
    ];
    for (const code of codes) {
      const sentence = refusalSentence(code, "");
      expect(sentence).toMatch(/^[A-Z].*\.$/);
      expect(sentence).not.toContain(code);
    }
    expect(refusalSentence("forbidden", "")).toBe("You are not allowed to make this change.");
  });

  it("adds the server's message when it says more, as a sentence", () => {
    expect(refusalSentence("not_allowed", "cannot move a ticket from closed to open")).toBe(
      "The rules do not allow this change. Cannot move a ticket from closed to open.",
    );
    expect(refusalSentence("validation_failed", "name: must not be blank; email: is not an email address")).toBe(
      "Some of its values break the rules. Name must not be blank. Email is not an email address.",
    );
  });

  it("leaves out a message that only repeats the code", () => {
    expect(refusalSentence("forbidden", "you are not allowed to make this change")).toBe("You are not allowed to make this change.");
    expect(refusalSentence("already_exists", "this already exists")).toBe("It already exists on the server.");
    expect(refusalSentence("missing_reference", "it refers to something that does not exist (any more)")).toBe(
      "It refers to something that no longer exists.",
    );
    expect(refusalSentence("not_found", "it no longer exists, or you can no longer see it")).toBe(
      "It no longer exists on the server, or you can no longer see it.",
    );
    expect(refusalSentence("invalid_value", "invalid_value")).toBe("One of its values is not in a form the server accepts.");
  });

  it("says the message alone for a code it does not know, and never the code", () => {
    expect(refusalSentence("refused", "the ticket is locked")).toBe("The ticket is locked.");
    expect(refusalSentence("refused", "")).toBe("The server refused this change.");
  });
});
