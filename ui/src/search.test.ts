import { describe, expect, it } from "vitest";
import { moveHighlight, snippetParts } from "./search";

describe("snippets", () => {
  it("split into plain text and hits", () => {
    expect(snippetParts("call [Acme] about [invoice]s")).toEqual([
      { text: "call ", hit: false },
      { text: "Acme", hit: true },
      { text: " about ", hit: false },
      { text: "invoice", hit: true },
      { text: "s", hit: false },
    ]);
  });

  it("treat an unclosed bracket as text", () => {
    expect(snippetParts("size [large")).toEqual([{ text: "size [large", hit: false }]);
    expect(snippetParts("a]b")).toEqual([{ text: "a]b", hit: false }]);
  });

  it("drop empty pieces", () => {
    expect(snippetParts("[Acme]")).toEqual([{ text: "Acme", hit: true }]);
    expect(snippetParts("")).toEqual([]);
    expect(snippetParts("[]x")).toEqual([{ text: "x", hit: false }]);
  });
});

describe("moving through results", () => {
  it("wraps around both ends", () => {
    expect(moveHighlight(-1, 3, 1)).toBe(0);
    expect(moveHighlight(-1, 3, -1)).toBe(2);
    expect(moveHighlight(2, 3, 1)).toBe(0);
    expect(moveHighlight(0, 3, -1)).toBe(2);
    expect(moveHighlight(1, 3, 1)).toBe(2);
  });

  it("highlights nothing in an empty list", () => {
    expect(moveHighlight(0, 0, 1)).toBe(-1);
  });
});
