// Past the offline grace period (the core's `grace`): this device has not
// reached the server for longer than the admins allow, so the app asks
// for the user's password before it shows any data. Too many wrong
// answers lock it until a sign-in with the server.

import { useEffect, useRef, useState } from "preact/hooks";
import { call, toReport } from "../api";
import { commands, type GraceCheck, type SessionInfo_Serialize } from "../bindings";
import { Field } from "../components/Field";
import { SignInCard } from "../components/SignInCard";

interface PasswordDueProps {
  session: SessionInfo_Serialize;
  check: GraceCheck;
  onConfirmed: () => void;
  /** Locked out, or the user prefers to: the sign-in form (online). */
  onSignOut: () => void;
}

/** Why the password is asked, in words. */
export function passwordDueWords(check: GraceCheck): string {
  switch (check.state) {
    case "password_due":
      return check.days_offline > check.grace_days
        ? `This computer has not reached the server for ${check.days_offline} days (your team allows ${check.grace_days}). Enter your password to see your data.`
        : "This computer's clock went back since it last reached the server. Enter your password to see your data.";
    case "locked_out":
      return "Too many wrong passwords. Sign in again once the server can be reached: nothing on this computer was deleted.";
    default:
      return "";
  }
}

export function PasswordDue({ session, check, onConfirmed, onSignOut }: PasswordDueProps) {
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [lockedOut, setLockedOut] = useState(check.state === "locked_out");
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  const latest = useRef(password);
  latest.current = password;

  async function submit() {
    if (busy || lockedOut) return;
    if (!latest.current) {
      setError("Enter your password.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await call(commands.confirmPassword(latest.current));
      onConfirmed();
    } catch (failure) {
      const report = toReport(failure);
      if (report.code === "offline_locked_out") setLockedOut(true);
      setError(report.message);
      setPassword("");
      input.current?.focus();
    } finally {
      setBusy(false);
    }
  }

  return (
    <SignInCard label="Confirm your password" onSubmit={submit}>
      <h1>{lockedOut ? "Locked" : "Confirm it is you"}</h1>
      <p id="password-due-reason" class="muted">
        {lockedOut ? passwordDueWords({ state: "locked_out" }) : passwordDueWords(check)}
      </p>
      {!lockedOut && (
        <Field id="password-due-input" label={`Password for ${session.account.email}`} field="password">
          <input
            id="password-due-input"
            type="password"
            autocomplete="current-password"
            value={password}
            ref={input}
            onInput={(event) => setPassword(event.currentTarget.value)}
          />
        </Field>
      )}
      <p id="password-due-error" class="form-error" role="alert" hidden={!error}>
        {error}
      </p>
      <div class="form-actions">
        <button id="password-due-sign-out" type="button" class="button" onClick={onSignOut}>
          Sign out
        </button>
        {!lockedOut && (
          <button id="password-due-submit" type="submit" class="button primary" disabled={busy}>
            {busy ? "Checking…" : "Continue"}
          </button>
        )}
      </div>
    </SignInCard>
  );
}
