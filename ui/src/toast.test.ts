import { describe, expect, it } from "vitest";
import { createToaster, type Toast } from "./toast";

describe("the toast", () => {
  it("shows the newest message and tells its listeners", () => {
    const toaster = createToaster();
    const seen: (Toast | null)[] = [];
    toaster.subscribe((toast) => seen.push(toast));
    toaster.show("Customer not found");
    toaster.show("Disk full");
    expect(toaster.current()?.message).toBe("Disk full");
    expect(seen.map((t) => t?.message)).toEqual(["Customer not found", "Disk full"]);
  });

  it("counts a repeated message instead of replacing it", () => {
    const toaster = createToaster();
    toaster.show("Offline");
    const first = toaster.current()!;
    toaster.show("Offline");
    expect(toaster.current()).toEqual({ id: first.id, message: "Offline", repeats: 2 });
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

  it("never shows an empty message", () => {
    const toaster = createToaster();
    toaster.show("   ");
    expect(toaster.current()?.message).toBe("Something went wrong.");
  });
});
