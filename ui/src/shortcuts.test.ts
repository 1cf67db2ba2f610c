import { describe, expect, it } from "vitest";
import { isSubmitChord, isTyping, matchShortcut, withHint } from "./shortcuts";

describe("navigation chords", () => {
  it("map Alt+1..4 to the four screens", () => {
    expect(matchShortcut({ key: "1", altKey: true })).toEqual({ kind: "navigate", to: "customers" });
    expect(matchShortcut({ key: "2", altKey: true })).toEqual({ kind: "navigate", to: "tickets" });
    expect(matchShortcut({ key: "3", altKey: true })).toEqual({ kind: "navigate", to: "inbox" });
    expect(matchShortcut({ key: "4", altKey: true })).toEqual({ kind: "navigate", to: "dashboard" });
  });

  it("follow the physical key where Alt changes the character (macOS)", () => {
    expect(matchShortcut({ key: "¡", code: "Digit1", altKey: true })).toEqual({ kind: "navigate", to: "customers" });
  });

  it("work while typing", () => {
    expect(matchShortcut({ key: "3", altKey: true, typing: true })).toEqual({ kind: "navigate", to: "inbox" });
    expect(matchShortcut({ key: "k", ctrlKey: true, typing: true })).toEqual({ kind: "focus-search", target: "global" });
    expect(matchShortcut({ key: "K", metaKey: true })).toEqual({ kind: "focus-search", target: "global" });
    expect(matchShortcut({ key: "q", ctrlKey: true, typing: true })).toEqual({ kind: "quit" });
  });

  it("quit only on Ctrl+Q itself", () => {
    expect(matchShortcut({ key: "Q", metaKey: true })).toEqual({ kind: "quit" });
    expect(matchShortcut({ key: "q" })).toBeNull();
    expect(matchShortcut({ key: "Q", ctrlKey: true, shiftKey: true })).toBeNull();
    expect(matchShortcut({ key: "q", ctrlKey: true, altKey: true })).toBeNull();
  });

  it("map Alt+5 to the follow-ups", () => {
    expect(matchShortcut({ key: "5", altKey: true })).toEqual({ kind: "navigate", to: "follow-ups" });
  });

  it("map Alt+6 to the integrations", () => {
    expect(matchShortcut({ key: "6", altKey: true })).toEqual({ kind: "navigate", to: "integrations" });
    expect(matchShortcut({ key: "^", code: "Digit6", altKey: true })).toEqual({ kind: "navigate", to: "integrations" });
  });

  it("map Alt+7 to the team", () => {
    expect(matchShortcut({ key: "7", altKey: true })).toEqual({ kind: "navigate", to: "team" });
  });

  it("ignore other digits and Ctrl+Alt", () => {
    expect(matchShortcut({ key: "8", altKey: true })).toBeNull();
    expect(matchShortcut({ key: "1", altKey: true, ctrlKey: true })).toBeNull();
    expect(matchShortcut({ key: "1" })).toBeNull();
  });
});

describe("bare keys", () => {
  it("act when not typing", () => {
    expect(matchShortcut({ key: "n" })).toEqual({ kind: "new" });
    expect(matchShortcut({ key: "N" })).toEqual({ kind: "new" });
    expect(matchShortcut({ key: "/" })).toEqual({ kind: "focus-search", target: "screen" });
    expect(matchShortcut({ key: "?", shiftKey: true })).toEqual({ kind: "help" });
    expect(matchShortcut({ key: "Escape" })).toEqual({ kind: "back" });
  });

  it("are letters while typing", () => {
    for (const key of ["n", "/", "?", "Escape"]) {
      expect(matchShortcut({ key, typing: true })).toBeNull();
    }
  });

  it("leave browser chords alone", () => {
    expect(matchShortcut({ key: "n", ctrlKey: true })).toBeNull();
    expect(matchShortcut({ key: "n", altKey: true })).toBeNull();
    expect(matchShortcut({ key: "N", shiftKey: true })).toBeNull();
  });
});

describe("typing", () => {
  it("means a text field, textarea, select or editable content has focus", () => {
    expect(isTyping({ tagName: "INPUT", type: "text" })).toBe(true);
    expect(isTyping({ tagName: "input", type: "search" })).toBe(true);
    expect(isTyping({ tagName: "INPUT", type: "datetime-local" })).toBe(true);
    expect(isTyping({ tagName: "INPUT" })).toBe(true);
    expect(isTyping({ tagName: "TEXTAREA" })).toBe(true);
    expect(isTyping({ tagName: "SELECT" })).toBe(true);
    expect(isTyping({ tagName: "DIV", isContentEditable: true })).toBe(true);
  });

  it("does not include checkboxes, buttons or the page itself", () => {
    expect(isTyping({ tagName: "INPUT", type: "checkbox" })).toBe(false);
    expect(isTyping({ tagName: "BUTTON" })).toBe(false);
    expect(isTyping({ tagName: "BODY" })).toBe(false);
    expect(isTyping(null)).toBe(false);
  });
});

describe("submitting", () => {
  it("takes Ctrl+Enter or Cmd+Enter", () => {
    expect(isSubmitChord({ key: "Enter", ctrlKey: true })).toBe(true);
    expect(isSubmitChord({ key: "Enter", metaKey: true })).toBe(true);
    expect(isSubmitChord({ key: "Enter" })).toBe(false);
  });

  it("is hinted in titles", () => {
    expect(withHint("New customer", "N")).toBe("New customer (N)");
  });
});
