import { describe, expect, it } from "vitest";
import type { ErrorReport } from "./bindings";
import { acceptedTrust, fingerprintLines, trustQuestion } from "./trust";

const FINGERPRINT = Array.from({ length: 32 }, (_, i) => i.toString(16).padStart(2, "0").toUpperCase()).join(":");

function report(code: string, offered: string | null = null): ErrorReport {
  return { code, message: `${code} message`, fields: [], offered_certificate: offered };
}

describe("trust questions at sign-in", () => {
  it("asks to compare an untrusted certificate's fingerprint, and pins it once accepted", () => {
    const question = trustQuestion(report("untrusted_certificate", FINGERPRINT));
    expect(question?.kind).toBe("compare");
    expect(question && "fingerprint" in question && question.fingerprint).toBe(FINGERPRINT);
    expect(question?.message).toContain("Compare its fingerprint");
    expect(acceptedTrust(question!, null)).toEqual({ pin: FINGERPRINT, allow_plain_http: false });
  });

  it("says a pinned certificate changed, and pins the new one only if accepted", () => {
    const question = trustQuestion(report("certificate_changed", FINGERPRINT));
    expect(question?.kind).toBe("changed");
    expect(acceptedTrust(question!, { pin: "OLD", allow_plain_http: false }).pin).toBe(FINGERPRINT);
  });

  it("asks before plain HTTP to another machine, keeping any pin already chosen", () => {
    const question = trustQuestion(report("insecure_server"));
    expect(question).toEqual({ kind: "unencrypted", message: "insecure_server message" });
    expect(acceptedTrust(question!, null)).toEqual({ pin: null, allow_plain_http: true });
  });

  it("asks nothing for other failures, or without the certificate to show", () => {
    expect(trustQuestion(report("forbidden"))).toBeNull();
    expect(trustQuestion(report("remote"))).toBeNull();
    expect(trustQuestion(report("untrusted_certificate", null))).toBeNull();
  });

  it("shows a fingerprint as four lines of eight pairs", () => {
    const lines = fingerprintLines(FINGERPRINT);
    expect(lines).toHaveLength(4);
    expect(lines.join(":")).toBe(FINGERPRINT);
  });
});
