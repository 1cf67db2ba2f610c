// The passphrase that protects this computer's copy of the user's data,
// where no keyring answers to keep its key (the core's `vault`): chosen
// once, after the first sign-in here, and entered at each start.

import { useEffect, useRef, useState } from "preact/hooks";
import { call, toReport } from "../api";
import { commands, type Locked, type SessionInfo_Serialize } from "../bindings";
import { Field } from "../components/Field";
import { SignInCard } from "../components/SignInCard";

interface UnlockProps {
  locked: Locked;
  onUnlocked: (session: SessionInfo_Serialize) => void;
  /** Leaves this user's locked data here and shows the sign-in form. */
  onSignOut: () => void;
}

export function Unlock({ locked, onUnlocked, onSignOut }: UnlockProps) {
  const [passphrase, setPassphrase] = useState("");
  const [again, setAgain] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  const latest = useRef({ passphrase, again });
  latest.current = { passphrase, again };

  async function submit() {
    if (busy) return;
    const { passphrase, again } = latest.current;
    if (!passphrase) {
      setError("Enter the passphrase.");
      return;
    }
    if (locked.new && passphrase !== again) {
      setError("The two passphrases differ: type the same one twice.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      onUnlocked(await call(commands.unlock(passphrase)));
    } catch (failure) {
      const report = toReport(failure);
      // A new passphrase breaks the password rules: say it of the passphrase.
      const rule = report.code === "invalid" ? report.fields[0]?.message : undefined;
      setError(rule ? `This passphrase ${rule}.` : report.message);
      setPassphrase("");
      setAgain("");
      input.current?.focus();
    } finally {
      setBusy(false);
    }
  }

  return (
    <SignInCard label="Unlock" onSubmit={submit}>
      <h1>{locked.new ? "Protect your data on this computer" : "Unlock"}</h1>
      <p class="muted">
        {locked.new
          ? `This computer has no keyring to keep the key of your data in, ${locked.session.account.full_name ?? locked.session.account.email}. Choose a passphrase: the app asks for it each time it starts, and without it no one can read what it keeps here. It cannot be recovered: if you forget it, you sign in again and the app downloads your data afresh.`
          : `Your data on this computer is encrypted with your passphrase, ${locked.session.account.full_name ?? locked.session.account.email}.`}
      </p>
      <Field id="unlock-passphrase" label="Passphrase" field="passphrase">
        <input
          id="unlock-passphrase"
          type="password"
          autocomplete={locked.new ? "new-password" : "current-password"}
          value={passphrase}
          ref={input}
          onInput={(event) => setPassphrase(event.currentTarget.value)}
        />
      </Field>
      {locked.new && (
        <Field id="unlock-again" label="The same passphrase again" field="again">
          <input
            id="unlock-again"
            type="password"
            autocomplete="new-password"
            value={again}
            onInput={(event) => setAgain(event.currentTarget.value)}
          />
        </Field>
      )}
      <p id="unlock-error" class="form-error" role="alert" hidden={!error}>
        {error}
      </p>
      <div class="form-actions">
        <button type="button" class="button" onClick={onSignOut}>
          Sign out
        </button>
        <button id="unlock-submit" type="submit" class="button primary" disabled={busy}>
          {busy ? "Opening…" : locked.new ? "Protect and open" : "Unlock"}
        </button>
      </div>
    </SignInCard>
  );
}
