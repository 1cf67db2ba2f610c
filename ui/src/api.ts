// Calling the core. Commands answer `{status: "ok", data}` or `{status:
// "error", error: ErrorReport}`; they may also throw (no Tauri, a broken
// invoke). `call` turns both failures into one thrown CommandError that
// carries an ErrorReport, so screens handle a single shape; `attempt`
// additionally shows the error in the toast and returns undefined.
// `onNotFound` routes a "not found" answer elsewhere than the toast.
// Every report's message leaves here as sentences (sentences.ts), so no
// screen shows "name: must not be blank" or a bare code; its code and
// field messages stay as the core sent them, for code to branch on.

import type { ErrorReport } from "./bindings";
import { reportSentence } from "./sentences";
import { showError } from "./toast";

/** What every fallible command resolves to (the shape bindings.ts produces). */
export type Result<T> = { status: "ok"; data: T } | { status: "error"; error: ErrorReport };

export class CommandError extends Error {
  constructor(readonly report: ErrorReport) {
    super(report.message);
    this.name = "CommandError";
  }
}

function isReport(value: unknown): value is ErrorReport {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as ErrorReport).code === "string" &&
    typeof (value as ErrorReport).message === "string"
  );
}

/** A report whose message reads as sentences (`reportSentence`). */
function worded(report: ErrorReport): ErrorReport {
  return { ...report, message: reportSentence(report) };
}

/**
 * Any failure as an ErrorReport (code "internal" when it was not the
 * core's), its message in sentences.
 */
export function toReport(error: unknown): ErrorReport {
  if (error instanceof CommandError) return error.report;
  if (isReport(error))
    return worded({
      ...error,
      fields: Array.isArray(error.fields) ? error.fields : [],
      offered_certificate: error.offered_certificate ?? null,
    });
  if (error instanceof Error) return worded(internal(error.message));
  if (typeof error === "string" && error.trim()) return worded(internal(error));
  return internal("Something went wrong.");
}

function internal(message: string): ErrorReport {
  return { code: "internal", message, fields: [], offered_certificate: null };
}

/** The command's data, or a thrown CommandError. */
export async function call<T>(command: Promise<Result<T>>): Promise<T> {
  let result: Result<T>;
  try {
    result = await command;
  } catch (error) {
    throw new CommandError(toReport(error));
  }
  if (result.status === "error") throw new CommandError(toReport(result.error));
  return result.data;
}

/** The command's data, or undefined after showing its error in the toast. */
export async function attempt<T>(command: Promise<Result<T>>): Promise<T | undefined> {
  try {
    return await call(command);
  } catch (error) {
    toastReport(toReport(error));
    return undefined;
  }
}

/**
 * Shows a failure in the toast, except "sign in first": the status bar (or
 * the sign-in form, once signed out) already says that, and commands still
 * in flight while the session ends would repeat it; likewise "password
 * due", which its own screen says.
 */
export function toastReport(report: ErrorReport): void {
  // The password-due screen already says why nothing shows.
  if (report.code === "sign_in_required" || report.code === "password_due") return;
  showError(report.message);
}

/**
 * An error handler (see `useLoad`'s `onError`) that gives a "not_found"
 * report's message to `onMissing` and says it was handled; any other error
 * is left to the caller (the toast).
 */
export function onNotFound(onMissing: (message: string) => void): (error: ErrorReport) => boolean {
  return (error) => {
    if (error.code !== "not_found") return false;
    onMissing(error.message);
    return true;
  };
}
