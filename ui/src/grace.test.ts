import { describe, expect, it } from "vitest";
import { passwordDueWords } from "./screens/PasswordDue";

describe("the password asked past the offline grace period", () => {
  it("says how long the computer has been away and what the team allows", () => {
    const words = passwordDueWords({ state: "password_due", days_offline: 16, grace_days: 14, answers_left: 5 });
    expect(words).toContain("16 days");
    expect(words).toContain("allows 14");
  });

  it("blames a clock set back when the days do not explain it", () => {
    const words = passwordDueWords({ state: "password_due", days_offline: 0, grace_days: 14, answers_left: 5 });
    expect(words).toContain("clock went back");
  });

  it("says a locked app opens with a sign-in, and that nothing was deleted", () => {
    const words = passwordDueWords({ state: "locked_out" });
    expect(words).toContain("Sign in again");
    expect(words).toContain("nothing on this computer was deleted");
  });
});
