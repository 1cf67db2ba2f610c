// The account screens' dialogs: an action confirmed with the user's
// password (ending a device's sign-in, signing out everywhere), and a
// one-time password reset code shown to the admin who made it, once.

import { useState } from "preact/hooks";
import { toReport } from "../api";
import { commands, type ColleagueAdded, type NewColleague, type UserRole } from "../bindings";
import { describedBy, Field } from "../components/Field";
import { Form, FormFooter } from "../components/Form";
import { useForm } from "../useForm";
import { formatFull } from "../datetime";
import { plural } from "../labels";
import { reportSentence } from "../sentences";

interface PasswordConfirmProps {
  text: string;
  action: string;
  /** Throws (a CommandError) when it failed: its sentence is shown. */
  run: (password: string) => Promise<void>;
  onCancel: () => void;
}

export function PasswordConfirm({ text, action, run, onCancel }: PasswordConfirmProps) {
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit() {
    if (busy || !password) return;
    setBusy(true);
    setError(null);
    try {
      await run(password);
    } catch (failure) {
      setError(reportSentence(toReport(failure)));
      setPassword("");
    } finally {
      setBusy(false);
    }
  }

  return (
    <Form class="form" onSubmit={submit} aria-label={action}>
      <p>{text}</p>
      <Field id="confirm-password" label="Your password" field="password">
        <input id="confirm-password" type="password" autocomplete="current-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
      </Field>
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      <div class="form-actions">
        <button type="button" id="confirm-password-cancel" class="button subtle" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" id="confirm-password-action" class="button danger" disabled={busy || !password}>
          {busy ? "…" : action}
        </button>
      </div>
    </Form>
  );
}

interface ResetCodeShownProps {
  name: string;
  email: string;
  code: string;
  expiresAt: string;
  onDone: () => void;
}

export function ResetCodeShown({ name, email, code, expiresAt, onDone }: ResetCodeShownProps) {
  return (
    <div class="form" id="reset-code-shown">
      <p>
        Give this code to <strong>{name}</strong> yourself (in person or by phone). In the app's sign-in window they choose{" "}
        <em>Have a reset code?</em>, enter <strong>{email}</strong>, the code and a new password. It works once, until {formatFull(expiresAt)}.
      </p>
      <div class="secret-row">
        <input id="reset-code-value" class="secret" readOnly value={code} aria-label="Reset code" onFocus={(e) => e.currentTarget.select()} data-autofocus />
      </div>
      <p class="muted small">It is shown only now. Making another one replaces it.</p>
      <div class="form-actions">
        <button id="reset-code-done" type="button" class="button primary" onClick={onDone}>
          Done
        </button>
      </div>
    </div>
  );
}

interface SignOutChoiceProps {
  /** Changes not yet sent: then the data stays, whatever is chosen. */
  pending: number;
  onCancel: () => void;
  onConfirm: (keepData: boolean) => void;
}

/**
 * Signing out removes this user's data from the computer unless they keep
 * it for offline use; with unsent changes it always stays (they go out at
 * the next sign-in here), so nothing is lost.
 */
export function SignOutChoice({ pending, onCancel, onConfirm }: SignOutChoiceProps) {
  const [keep, setKeep] = useState(false);
  return (
    <div class="form">
      {pending > 0 ? (
        <p>
          {plural(pending, "change")} {pending === 1 ? "has" : "have"} not reached the server yet. {pending === 1 ? "It stays" : "They stay"} saved on
          this computer, with your data, and {pending === 1 ? "goes" : "go"} out when you sign in here again.
        </p>
      ) : (
        <>
          <p>Signing out removes your data from this computer, unless you keep it to work offline after your next sign-in here.</p>
          <label class="checkbox-inline">
            <input id="sign-out-keep" type="checkbox" checked={keep} onChange={(e) => setKeep(e.currentTarget.checked)} />
            Keep my data on this computer
          </label>
        </>
      )}
      <div class="form-actions">
        <button type="button" id="sign-out-cancel" class="button subtle" onClick={onCancel} data-autofocus>
          Stay signed in
        </button>
        <button type="button" id="sign-out-confirm" class="button primary" onClick={() => onConfirm(pending > 0 || keep)}>
          Sign out
        </button>
      </div>
    </div>
  );
}

interface ColleagueFormState {
  email: string;
  fullName: string;
  role: UserRole;
}

function colleagueDraft(form: ColleagueFormState): NewColleague {
  return { email: form.email.trim(), full_name: form.fullName.trim() || null, role: form.role };
}

interface ColleagueFormProps {
  onAdded: (added: ColleagueAdded) => void;
  onCancel: () => void;
}

/** An admin adds a colleague; the server answers with the code to hand over. */
export function ColleagueForm({ onAdded, onCancel }: ColleagueFormProps) {
  const { form, set, messages, formError, saving, submit } = useForm<ColleagueFormState, NewColleague>(
    () => ({ email: "", fullName: "", role: "agent" }),
    { toDraft: colleagueDraft, check: commands.checkNewColleague, wireNames: { fullName: "full_name" } },
  );

  async function save() {
    const added = await submit((draft) => commands.addColleague(draft));
    if (added) onAdded(added);
  }

  return (
    <Form class="form" onSubmit={save} aria-label="Add a colleague">
      <Field id="colleague-email" label="Email" field="email" messages={messages} required>
        <input
          id="colleague-email"
          type="email"
          autocomplete="off"
          spellcheck={false}
          value={form.email}
          {...describedBy("colleague-email", messages, "email")}
          onInput={(e) => set("email", e.currentTarget.value)}
        />
      </Field>
      <Field id="colleague-name" label="Full name" field="full_name" messages={messages}>
        <input
          id="colleague-name"
          autocomplete="off"
          value={form.fullName}
          {...describedBy("colleague-name", messages, "full_name")}
          onInput={(e) => set("fullName", e.currentTarget.value)}
        />
      </Field>
      <Field id="colleague-role" label="Role" field="role" messages={messages} hint="Admins see everyone's work and manage the team.">
        <select id="colleague-role" value={form.role} onChange={(e) => set("role", e.currentTarget.value as UserRole)}>
          <option value="agent">Agent</option>
          <option value="admin">Admin</option>
        </select>
      </Field>
      <FormFooter
        messages={messages}
        shown={["email", "full_name", "role"]}
        formError={formError}
        saving={saving}
        cancelId="colleague-cancel"
        saveId="colleague-save"
        saveLabel="Add"
        saveTitle="Add the colleague (Ctrl+Enter)"
        onCancel={onCancel}
      />
    </Form>
  );
}
