import { describe, expect, it } from "vitest";
import { attempt, call, CommandError, onNotFound, toReport, type Result } from "./api";
import { toaster } from "./toast";

const ok = <T>(data: T): Promise<Result<T>> => Promise.resolve({ status: "ok", data });
const failed = (code: string, message: string): Promise<Result<never>> =>
  Promise.resolve({ status: "error", error: { code, message, fields: [{ field: "name", message: "must not be blank" }] } });

describe("calling a command", () => {
  it("gives its data", async () => {
    await expect(call(ok([1, 2]))).resolves.toEqual([1, 2]);
  });

  it("throws the core's report, fields included", async () => {
    const error = await call(failed("invalid", "name: must not be blank")).catch((e) => e);
    expect(error).toBeInstanceOf(CommandError);
    expect((error as CommandError).report).toEqual({
      code: "invalid",
      message: "name: must not be blank",
      fields: [{ field: "name", message: "must not be blank" }],
    });
  });

  it("turns a thrown failure into a report too", async () => {
    const error = await call(Promise.reject(new TypeError("invoke is not a function"))).catch((e) => e);
    expect((error as CommandError).report).toEqual({ code: "internal", message: "invoke is not a function", fields: [] });
  });
});

describe("attempting a command", () => {
  it("shows a failure in the toast and gives undefined", async () => {
    toaster.dismiss();
    await expect(attempt(failed("not_found", "customer not found"))).resolves.toBeUndefined();
    expect(toaster.current()?.message).toBe("customer not found");
  });

  it("leaves the toast alone on success", async () => {
    toaster.dismiss();
    await expect(attempt(ok("done"))).resolves.toBe("done");
    expect(toaster.current()).toBeNull();
  });
});

describe("reports", () => {
  it("come from rejections of any shape", () => {
    expect(toReport("missing field `type`")).toEqual({ code: "internal", message: "missing field `type`", fields: [] });
    expect(toReport({ code: "remote", message: "down" })).toEqual({ code: "remote", message: "down", fields: [] });
    expect(toReport(undefined).message).toBe("Something went wrong.");
  });
});

describe("not found", () => {
  it("goes to the handler, other errors do not", () => {
    const missing: string[] = [];
    const handle = onNotFound((message) => missing.push(message));
    expect(handle({ code: "not_found", message: "customer not found", fields: [] })).toBe(true);
    expect(handle({ code: "internal", message: "disk full", fields: [] })).toBe(false);
    expect(handle({ code: "invalid", message: "name: must not be blank", fields: [] })).toBe(false);
    expect(missing).toEqual(["customer not found"]);
  });
});
