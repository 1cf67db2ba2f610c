import { describe, expect, it } from "vitest";
import { accessEndedWords } from "./access";

describe("accessEndedWords", () => {
  it("says why, and where the unsent work went", () => {
    const words = accessEndedWords({
      reason: "this account has been deactivated; ask an admin",
      error: null,
      wiped: { reason: "x", saved_to: "/home/ben/.local/share/crm/unsent/ben-1", saved_changes: 2, saved_files: 1 },
    });
    expect(words).toContain("This account has been deactivated");
    expect(words).toContain("(2 changes and 1 file) were saved");
    expect(words).toContain("/home/ben/.local/share/crm/unsent/ben-1");
  });
  it("counts one change as one", () => {
    const words = accessEndedWords({
      reason: "deactivated",
      error: null,
      wiped: { reason: "x", saved_to: "/tmp/u", saved_changes: 1, saved_files: 0 },
    });
    expect(words).toContain("(1 change) was saved in /tmp/u");
  });
  it("says when nothing was waiting", () => {
    const words = accessEndedWords({
      reason: "this device's sign-in was ended from elsewhere",
      error: null,
      wiped: { reason: "x", saved_to: null, saved_changes: 0, saved_files: 0 },
    });
    expect(words).toContain("nothing was waiting");
  });
  it("says plainly when the data could not all be removed", () => {
    const words = accessEndedWords({ reason: "deactivated", error: "permission denied", wiped: null });
    expect(words).toContain("could not remove");
    expect(words).toContain("permission denied");
  });
});
