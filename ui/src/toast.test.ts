import { describe, expect, it } from "vitest";
import { createToaster, type Toast } from "./toast";

describe("the toast", () => {
  it("shows the newest message and tells its listeners", () => {
    const toaster = createToaster();
    const seen: (Toast | null)[] = [];
    toaster.subscribe((toast) => seen.push(toast));
    toaster.show("The customer is gone.");
    toaster.show("The disk is full.");
    expect(toaster.current()?.message).toBe("The disk is full.");
    expect(seen.map((t) => t?.message)).toEqual(["The customer is gone.", "The disk is full."]);
  });

  it("counts a repeated message instead of replacing it", () => {
    const toaster = createToaster();
    toaster.show("You are offline.");
    const first = toaster.current()!;
    toaster.show("You are offline.");
    expect(toaster.current()).toEqual({ id: first.id, message: "You are offline.", repeats: 2 });
  });

  it("goes away when dismissed, and stops telling unsubscribed listeners", () => {
    const toaster = createToaster();
    let calls = 0;
    const unsubscribe = toaster.subscribe(() => calls++);
    toaster.show("x");
    toaster.dismiss();
    expect(toaster.current()).toBeNull();
    unsubscribe();
    toaster.show("y");
    expect(calls).toBe(2);
  });

  it("shows a raw message as a sentence, and counts it as the same message", () => {
    const toaster = createToaster();
    toaster.show("name: must not be blank");
    expect(toaster.current()?.message).toBe("Name must not be blank.");
    toaster.show("Name must not be blank.");
    expect(toaster.current()?.repeats).toBe(2);
  });

  it("never shows an empty message", () => {
    const toaster = createToaster();
    toaster.show("   ");
    expect(toaster.current()?.message).toBe("Something went wrong.");
  });
});
