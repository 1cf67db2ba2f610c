// The sign-in window's questions about a server the app would not talk to
// as it stands (the core's `trust` module decides; this only words the
// question and carries the answer back): a certificate to compare with the
// administrator's fingerprint, a certificate that changed, or plain HTTP
// to another machine.

import type { ErrorReport, TrustChoice } from "./bindings";

export type TrustQuestion =
  | { kind: "compare"; fingerprint: string; message: string }
  | { kind: "changed"; fingerprint: string; message: string }
  | { kind: "unencrypted"; message: string };

// The core's messages name the fingerprint inline (for the command line);
// the window shows it apart, in lines, so its words here do not.
const COMPARE =
  "No authority this computer trusts vouches for this server's certificate: it is probably the one the " +
  "server made for itself. Compare its fingerprint with the one your administrator gave you.";
const CHANGED =
  "This is not the certificate you trusted for this server before. If your administrator did not " +
  "replace it, someone may be intercepting the connection: do not go on, and tell them.";

/** The question a refused sign-in asks its user, if it is one of these. */
export function trustQuestion(report: ErrorReport): TrustQuestion | null {
  const fingerprint = report.offered_certificate;
  switch (report.code) {
    case "untrusted_certificate":
      return fingerprint ? { kind: "compare", fingerprint, message: COMPARE } : null;
    case "certificate_changed":
      return fingerprint ? { kind: "changed", fingerprint, message: CHANGED } : null;
    case "insecure_server":
      return { kind: "unencrypted", message: report.message };
    default:
      return null;
  }
}

/** What the next attempt sends once the user accepted `question`. */
export function acceptedTrust(question: TrustQuestion, before: TrustChoice | null): TrustChoice {
  switch (question.kind) {
    case "compare":
    case "changed":
      return { pin: question.fingerprint, allow_plain_http: before?.allow_plain_http ?? false };
    case "unencrypted":
      return { pin: before?.pin ?? null, allow_plain_http: true };
  }
}

/** The fingerprint in groups of four pairs, easier to compare by eye. */
export function fingerprintLines(fingerprint: string): string[] {
  const pairs = fingerprint.split(":");
  const lines: string[] = [];
  for (let i = 0; i < pairs.length; i += 8) lines.push(pairs.slice(i, i + 8).join(":"));
  return lines;
}
