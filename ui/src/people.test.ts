import { describe, expect, it } from "vitest";
import { actorLabel, byName, colleagueName, historyActor, ownerChoices, personLabel, type Person } from "./people";

const colleagues: Person[] = [
  { id: "u3", full_name: "zoë Martin", role: "agent" },
  { id: "u1", full_name: "Ana Lopez", role: "admin" },
  { id: "u4", full_name: null, role: "agent" },
  { id: "u2", full_name: "  Émile Dubois ", role: "agent" },
];

describe("personLabel", () => {
  it("names a colleague by id", () => {
    expect(personLabel("u3", colleagues, "u1")).toBe("zoë Martin");
    expect(personLabel("u2", colleagues, "u1")).toBe("Émile Dubois");
  });

  it("says you for the signed-in user", () => {
    expect(personLabel("u1", colleagues, "u1")).toBe("you");
    // Even before the colleagues arrived.
    expect(personLabel("u1", [], "u1")).toBe("you");
  });

  it("says someone for a missing or unknown id", () => {
    expect(personLabel("u9", colleagues, "u1")).toBe("someone");
    expect(personLabel(null, colleagues, "u1")).toBe("someone");
    expect(personLabel(undefined, colleagues, "u1")).toBe("someone");
    expect(personLabel("", colleagues, "")).toBe("someone");
  });

  it("calls a known colleague without a name an unnamed user", () => {
    expect(personLabel("u4", colleagues, "u1")).toBe("Unnamed user");
    expect(colleagueName({ full_name: "   " })).toBe("Unnamed user");
  });
});

describe("who made a recorded change", () => {
  it("is the system when no actor was recorded, someone only for an unknown id", () => {
    expect(actorLabel(null, colleagues, "u1")).toBe("the system");
    expect(actorLabel(undefined, colleagues, "u1")).toBe("the system");
    expect(actorLabel("u9", colleagues, "u1")).toBe("someone");
    expect(actorLabel("u1", colleagues, "u1")).toBe("you");
    expect(actorLabel("u3", colleagues, "u1")).toBe("zoë Martin");
  });

  it("reads in a ticket's history as by whom, or imported for a ticket nobody opened in the app", () => {
    expect(historyActor("u3", false, colleagues, "u1")).toBe("by zoë Martin");
    expect(historyActor("u1", true, colleagues, "u1")).toBe("by you");
    expect(historyActor(null, false, colleagues, "u1")).toBe("by the system");
    expect(historyActor(null, true, colleagues, "u1")).toBe("imported");
    expect(historyActor("u9", true, colleagues, "u1")).toBe("by someone");
  });
});

describe("byName", () => {
  it("sorts ignoring case and accents, nameless last, without touching the input", () => {
    const before = colleagues.map((c) => c.id);
    expect(byName(colleagues).map((c) => c.id)).toEqual(["u1", "u2", "u3", "u4"]);
    expect(colleagues.map((c) => c.id)).toEqual(before);
  });

  it("keeps equal names in id order", () => {
    const twins: Person[] = [
      { id: "b", full_name: "Sam" },
      { id: "a", full_name: "sam" },
    ];
    expect(byName(twins).map((c) => c.id)).toEqual(["a", "b"]);
  });
});

describe("ownerChoices", () => {
  it("lists everyone by name, marking me and admins", () => {
    expect(ownerChoices(colleagues, "u3", "u2")).toEqual([
      { id: "u1", label: "Ana Lopez (admin)" },
      { id: "u2", label: "Émile Dubois (you)" },
      { id: "u3", label: "zoë Martin" },
      { id: "u4", label: "Unnamed user" },
    ]);
  });

  it("keeps an owner the list does not know, first", () => {
    const choices = ownerChoices(colleagues, "u9", "u1");
    expect(choices[0]).toEqual({ id: "u9", label: "Current owner (unknown user)" });
    expect(choices).toHaveLength(5);
    expect(ownerChoices([], "u1", "u1")).toEqual([{ id: "u1", label: "You" }]);
  });

  it("offers nobody only when the customer has no owner", () => {
    expect(ownerChoices(colleagues, null, "u1")[0]).toEqual({ id: "", label: "Nobody" });
    expect(ownerChoices(colleagues, "u1", "u1").some((c) => c.id === "")).toBe(false);
  });
});
