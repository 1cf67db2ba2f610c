import { describe, expect, it } from "vitest";
import {
  arrived,
  closed,
  customerSearchFilter,
  focused,
  initialPicker,
  pressed,
  typed,
  upToDate,
  type PickerState,
} from "./picker";

type Item = { id: string };
const a = { id: "a" };
const b = { id: "b" };
const c = { id: "c" };

/** A picker that typed `text` and got `matches` for it. */
function answered(text: string, matches: Item[]): PickerState<Item> {
  return arrived(typed(initialPicker<Item>(), text), text.trim(), matches).state;
}

describe("customer search filter", () => {
  it("asks for 20 customers matching the trimmed text, archived ones left out", () => {
    expect(customerSearchFilter("  acme ")).toEqual({
      search: "acme",
      stage: null,
      status: null,
      include_archived: false,
      limit: 20,
      offset: 0,
    });
    expect(customerSearchFilter("   ").search).toBeNull();
    expect(customerSearchFilter("x", 5).limit).toBe(5);
  });
});

describe("typing and answers", () => {
  it("opens the list and keeps old matches until new ones arrive", () => {
    const before = answered("ac", [a, b]);
    const next = typed(before, "acm");
    expect(next.open).toBe(true);
    expect(next.matches).toEqual([a, b]);
    expect(upToDate(next)).toBe(false);
  });

  it("takes the answer for the typed text and highlights the first match", () => {
    const state = answered(" acme ", [a, b]);
    expect(state.matches).toEqual([a, b]);
    expect(state.highlight).toBe(0);
    expect(upToDate(state)).toBe(true);
    expect(answered("zz", []).highlight).toBe(-1);
  });

  it("drops an answer to an older query", () => {
    const state = typed(answered("ac", [a]), "acme");
    const late = arrived(state, "ac", [a, b, c]);
    expect(late.state).toBe(state);
    expect(late.pick).toBeNull();
  });

  it("opens on focus and closes on blur", () => {
    expect(focused(initialPicker<Item>()).open).toBe(true);
    expect(closed(focused(initialPicker<Item>())).open).toBe(false);
  });
});

describe("keys", () => {
  it("move the highlight with the arrows, wrapping around", () => {
    let state = answered("x", [a, b, c]);
    state = pressed(state, "ArrowDown").state;
    expect(state.highlight).toBe(1);
    state = pressed(state, "ArrowDown").state;
    state = pressed(state, "ArrowDown").state;
    expect(state.highlight).toBe(0);
    expect(pressed(state, "ArrowUp").state.highlight).toBe(2);
  });

  it("reopen a closed list on the first arrow without moving", () => {
    const state = closed(pressed(answered("x", [a, b, c]), "ArrowDown").state);
    const next = pressed(state, "ArrowDown");
    expect(next.handled).toBe(true);
    expect(next.state.open).toBe(true);
    expect(next.state.highlight).toBe(1);
  });

  it("pick the highlighted match with Enter, and close the list", () => {
    const state = pressed(answered("x", [a, b]), "ArrowDown").state;
    const out = pressed(state, "Enter");
    expect(out.pick).toBe(b);
    expect(out.handled).toBe(true);
    expect(out.state.open).toBe(false);
  });

  it("pick the first match once it arrives when Enter came first", () => {
    const typedFast = typed(answered("a", [a, b]), "c");
    const enter = pressed(typedFast, "Enter");
    expect(enter).toMatchObject({ pick: null, handled: true, searchNow: true });
    expect(enter.state.pickOnArrival).toBe(true);
    const out = arrived(enter.state, "c", [c]);
    expect(out.pick).toBe(c);
    expect(out.state.pickOnArrival).toBe(false);
    expect(out.state.open).toBe(false);
  });

  it("pick nothing when the awaited answer is empty, and keep the list open to say so", () => {
    const enter = pressed(typed(initialPicker<Item>(), "zz"), "Enter");
    const out = arrived(enter.state, "zz", []);
    expect(out.pick).toBeNull();
    expect(out.state.open).toBe(true);
    expect(out.state.matches).toEqual([]);
  });

  it("forget a pending Enter when the user types on", () => {
    const enter = pressed(typed(initialPicker<Item>(), "ac"), "Enter").state;
    const more = typed(enter, "acm");
    expect(arrived(more, "acm", [a]).pick).toBeNull();
  });

  it("keep Enter from submitting the form while the list is open, even with no matches", () => {
    const out = pressed(answered("zz", []), "Enter");
    expect(out.handled).toBe(true);
    expect(out.pick).toBeNull();
  });

  it("reopen a closed list with text in the box on Enter, without picking", () => {
    const out = pressed(closed(answered("x", [a])), "Enter");
    expect(out).toMatchObject({ pick: null, handled: true });
    expect(out.state.open).toBe(true);
  });

  it("leave Enter to the form when the box is empty and closed", () => {
    expect(pressed(initialPicker<Item>(), "Enter").handled).toBe(false);
  });

  it("close an open list with Escape, and leave Escape to the dialog otherwise", () => {
    const open = answered("x", [a]);
    const out = pressed(open, "Escape");
    expect(out.handled).toBe(true);
    expect(out.state.open).toBe(false);
    expect(pressed(out.state, "Escape").handled).toBe(false);
  });

  it("ignore other keys", () => {
    const state = answered("x", [a]);
    expect(pressed(state, "a")).toEqual({ state, pick: null, handled: false, searchNow: false });
  });
});
