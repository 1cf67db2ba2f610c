import { describe, expect, it } from "vitest";
import {
  PAGE_SIZE,
  ariaSort,
  firstDirection,
  hasNextPage,
  hasPreviousPage,
  initialListState,
  isFiltered,
  listFilter,
  nextSort,
  offsetWithin,
  ownerFilterChoices,
  showPager,
  shownSort,
  turnPage,
  type ListState,
} from "./customerList";
import type { Person } from "./people";

describe("the order shown", () => {
  it("is by name until the user chooses one", () => {
    expect(shownSort(null, false)).toEqual({ column: "name", direction: "asc" });
  });

  it("is the best match while searching, with no column marked", () => {
    expect(shownSort(null, true)).toBeNull();
    expect(ariaSort(shownSort(null, true), "name")).toBeUndefined();
  });

  it("is the chosen one, searching or not", () => {
    const byEmail = { column: "email", direction: "desc" } as const;
    expect(shownSort(byEmail, false)).toEqual(byEmail);
    expect(shownSort(byEmail, true)).toEqual(byEmail);
  });
});

describe("a click on a header", () => {
  it("sorts by that column, A–Z first, dates newest first", () => {
    const byName = shownSort(null, false);
    expect(nextSort(byName, "email")).toEqual({ column: "email", direction: "asc" });
    expect(nextSort(byName, "owner")).toEqual({ column: "owner", direction: "asc" });
    expect(nextSort(byName, "created_at")).toEqual({ column: "created_at", direction: "desc" });
    expect(firstDirection("updated_at")).toBe("desc");
    expect(firstDirection("stage")).toBe("asc");
  });

  it("turns the sorted column around, and back", () => {
    const byName = shownSort(null, false);
    const reversed = nextSort(byName, "name");
    expect(reversed).toEqual({ column: "name", direction: "desc" });
    expect(nextSort(reversed, "name")).toEqual({ column: "name", direction: "asc" });
  });

  it("while searching by best match, starts a column's order", () => {
    expect(nextSort(null, "phone")).toEqual({ column: "phone", direction: "asc" });
  });

  it("marks only the sorted column for assistive technology", () => {
    const byStage = { column: "stage", direction: "desc" } as const;
    expect(ariaSort(byStage, "stage")).toBe("descending");
    expect(ariaSort({ ...byStage, direction: "asc" }, "stage")).toBe("ascending");
    expect(ariaSort(byStage, "name")).toBeUndefined();
  });
});

describe("pages", () => {
  it("go forward and back a page at a time within the total", () => {
    expect(hasPreviousPage(0)).toBe(false);
    expect(hasNextPage(0, 200)).toBe(true);
    expect(turnPage(0, 1)).toBe(PAGE_SIZE);
    expect(hasPreviousPage(100)).toBe(true);
    // 101–200 is the last page of 200.
    expect(hasNextPage(100, 200)).toBe(false);
    expect(hasNextPage(100, 201)).toBe(true);
    expect(turnPage(100, -1)).toBe(0);
    expect(turnPage(50, -1)).toBe(0);
  });

  it("show a pager only when there is more than one page", () => {
    expect(showPager(0, 100)).toBe(false);
    expect(showPager(0, 101)).toBe(true);
    expect(showPager(0, 0)).toBe(false);
    // Still on page 2 while a filter's answer is on its way: keep a way back.
    expect(showPager(100, 30)).toBe(true);
  });

  it("fall back to the last page with rows when the one shown emptied", () => {
    expect(offsetWithin(200, 250)).toBe(200);
    expect(offsetWithin(300, 250)).toBe(200);
    expect(offsetWithin(200, 200)).toBe(100);
    expect(offsetWithin(100, 0)).toBe(0);
    expect(offsetWithin(0, 0)).toBe(0);
    expect(offsetWithin(-5, 10)).toBe(0);
  });
});

describe("the owner filter", () => {
  const colleagues: Person[] = [
    { id: "u3", full_name: "zoë Martin", role: "agent" },
    { id: "me", full_name: "Ana Lopez", role: "admin" },
    { id: "u4", full_name: null, role: "agent" },
    { id: "u2", full_name: "Émile Dubois", role: "agent" },
  ];

  it("offers everyone, the admin, then each colleague by name", () => {
    expect(ownerFilterChoices(colleagues, "me")).toEqual([
      { id: "", label: "All owners" },
      { id: "me", label: "Me" },
      { id: "u2", label: "Émile Dubois" },
      { id: "u3", label: "zoë Martin" },
      { id: "u4", label: "Unnamed user" },
    ]);
  });

  it("keeps the chosen owner even when the colleagues do not hold them", () => {
    const choices = ownerFilterChoices([], "me", "gone");
    expect(choices.map((c) => c.id)).toEqual(["", "me", "gone"]);
    expect(choices[2].label).toBe("Unknown user");
    expect(ownerFilterChoices(colleagues, "me", "u3").filter((c) => c.id === "u3")).toHaveLength(1);
  });
});

describe("what the core is asked", () => {
  const state: ListState = {
    ...initialListState(),
    stage: "lead",
    owner: "u3",
    showArchived: true,
    sort: { column: "created_at", direction: "desc" },
    offset: 200,
  };

  it("carries the filters, the order and the page", () => {
    expect(listFilter(state, "  north  ", true)).toEqual({
      search: "north",
      stage: "lead",
      status: null,
      owner: "u3",
      include_archived: true,
      sort: { column: "created_at", direction: "desc" },
      limit: PAGE_SIZE,
      offset: 200,
    });
  });

  it("sends no search for blank text, and no order when none was chosen", () => {
    const filter = listFilter(initialListState(), "   ", false);
    expect(filter.search).toBeNull();
    expect(filter.sort).toBeNull();
    expect(filter.include_archived).toBe(false);
    expect(filter.offset).toBe(0);
  });

  it("leaves the owner out for agents", () => {
    expect(listFilter(state, "", false).owner).toBeNull();
  });

  it("counts search, stage, status and owner as narrowing, not archived", () => {
    expect(isFiltered(initialListState())).toBe(false);
    expect(isFiltered({ ...initialListState(), search: "  " })).toBe(false);
    expect(isFiltered({ ...initialListState(), search: "ab" })).toBe(true);
    expect(isFiltered({ ...initialListState(), owner: "u3" })).toBe(true);
    const archivedShown: ListState = { ...initialListState(), showArchived: true };
    expect(isFiltered(archivedShown)).toBe(false);
  });
});
