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

  it("throws the core's report, its message as a sentence, its code and fields as sent", async () => {
    const error = await call(failed("invalid", "name: must not be blank")).catch((e) => e);
    expect(error).toBeInstanceOf(CommandError);
    expect((error as CommandError).report).toEqual({
      code: "invalid",
      message: "Name must not be blank.",
      fields: [{ field: "name", message: "must not be blank" }],
      offered_certificate: null,
    });
    expect((error as CommandError).message).toBe("Name must not be blank.");
  });

  it("turns a thrown failure into a report too", async () => {
    const error = await call(Promise.reject(new TypeError("invoke is not a function"))).catch((e) => e);
    expect((error as CommandError).report).toEqual({ code: "internal", message: "Invoke is not a function.", fields: [], offered_certificate: null });
  });
});

describe("attempting a command", () => {
  it("shows a failure in the toast and gives undefined", async () => {
    toaster.dismiss();
    await expect(attempt(failed("not_found", "customer not found"))).resolves.toBeUndefined();
    expect(toaster.current()?.message).toBe("The customer was not found: it may have been deleted, or you can no longer see it.");
  });

  it("leaves 'sign in first' to the status bar and the sign-in form", async () => {
    toaster.dismiss();
    await expect(attempt(failed("sign_in_required", "please sign in"))).resolves.toBeUndefined();
    expect(toaster.current()).toBeNull();
  });

  it("leaves 'password due' to its own screen", async () => {
    toaster.dismiss();
    await expect(attempt(failed("password_due", "enter your password"))).resolves.toBeUndefined();
    expect(toaster.current()).toBeNull();
  });

  it("leaves the toast alone on success", async () => {
    toaster.dismiss();
    await expect(attempt(ok("done"))).resolves.toBe("done");
    expect(toaster.current()).toBeNull();
  });
});

describe("reports", () => {
  it("come from rejections of any shape", () => {
    expect(toReport("missing field `type`")).toEqual({ code: "internal", message: "Missing field `type`.", fields: [], offered_certificate: null });
    expect(toReport({ code: "remote", message: "down" })).toEqual({
      code: "remote",
      message: "Down.",
      fields: [],
      offered_certificate: null,
    });
    expect(toReport(undefined).message).toBe("Something went wrong.");
  });

  it("say the server's lowercase sentences and bare codes as sentences", () => {
    expect(toReport({ code: "remote", message: "the email or password is wrong", fields: [] }).message).toBe(
      "The email or password is wrong.",
    );
    expect(toReport({ code: "not_found", message: "row not found", fields: [] }).message).toBe(
      "The record was not found: it may have been deleted, or you can no longer see it.",
    );
    expect(toReport({ code: "storage", message: "", fields: [] }).message).toBe(
      "The app could not read or write its data on this computer.",
    );
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
