// The sign-in form: the first time, after signing out, and when the server
// revoked the session ("Sign in again", which keeps the unsent work).

import { useEffect, useRef, useState } from "preact/hooks";
import { call, toReport } from "../api";
import { commands, type SessionInfo_Serialize } from "../bindings";
import { Field } from "../components/Field";
import { Form } from "../components/Form";

interface SignInProps {
  server: string;
  email?: string;
  /** Shown when the user is signing in again, with a way back to the app. */
  onCancel?: () => void;
  /** Something the user must read first (their access on this computer ended). */
  notice?: string | null;
  onSignedIn: (session: SessionInfo_Serialize) => void;
}

export function SignIn({ server: initialServer, email: initialEmail = "", onCancel, onSignedIn, notice }: SignInProps) {
  const [server, setServer] = useState(initialServer);
  const [email, setEmail] = useState(initialEmail);
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  /** With a one-time code from an admin: the password field takes a new password. */
  const [withCode, setWithCode] = useState(false);
  const [code, setCode] = useState("");
  // What the inputs hold right now, even before a re-render (a fast Enter).
  const latest = useRef({ server, email, password });
  latest.current = { server, email, password };
  // The server is usually prefilled, so typing starts at the email (or at
  // the password when signing in again). Focused here rather than with
  // `autofocus`, which the browser skips when something else has focus.
  const emailInput = useRef<HTMLInputElement>(null);
  const passwordInput = useRef<HTMLInputElement>(null);
  useEffect(() => {
    (initialEmail ? passwordInput : emailInput).current?.focus();
  }, [initialEmail]);
  const edit = (field: "server" | "email" | "password", value: string, setter: (value: string) => void) => {
    latest.current = { ...latest.current, [field]: value };
    setter(value);
  };

  async function submit() {
    if (busy) return;
    const { server, email, password } = latest.current;
    if (!server.trim() || !email.trim() || !password || (withCode && !code.trim())) {
      setError(
        withCode
          ? "Enter the server address, your email, the code an admin gave you and a new password."
          : "Enter the server address, your email and your password.",
      );
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const signedIn = withCode
        ? await call(commands.signInWithCode(server.trim(), email.trim(), code.trim(), password))
        : await call(commands.signIn(server.trim(), email.trim(), password));
      onSignedIn(signedIn);
    } catch (failure) {
      setError(toReport(failure).message);
      setPassword("");
    } finally {
      setBusy(false);
    }
  }

  return (
    <main class="sign-in" data-loaded="true">
      <Form class="sign-in-card" onSubmit={submit} aria-label="Sign in">
        <div class="brand large">
          <span class="brand-mark" aria-hidden="true">F</span> Field CRM
        </div>
        <h1>{onCancel ? "Sign in again" : "Sign in"}</h1>
        {notice && (
          <p id="access-ended" class="notice" role="alert">
            {notice}
          </p>
        )}
        <p class="muted">
          {onCancel
            ? "The server asked you to sign in again. Your unsent changes are kept."
            : "Once signed in, the app works offline too and syncs when it can."}
        </p>
        <Field id="login-server" label="Server" field="server">
          <input
            id="login-server"
            type="url"
            autocomplete="url"
            spellcheck={false}
            value={server}
            onInput={(event) => edit("server", event.currentTarget.value, setServer)}
          />
        </Field>
        <Field id="login-email" label="Email" field="email">
          <input
            id="login-email"
            type="email"
            autocomplete="username"
            spellcheck={false}
            value={email}
            ref={emailInput}
            onInput={(event) => edit("email", event.currentTarget.value, setEmail)}
          />
        </Field>
        {withCode && (
          <Field id="login-code" label="Reset code" field="code" hint="The one-time code an admin gave you, like 7KQ2-M9XD-4HTA.">
            <input
              id="login-code"
              autocomplete="one-time-code"
              spellcheck={false}
              value={code}
              onInput={(event) => setCode(event.currentTarget.value)}
            />
          </Field>
        )}
        <Field id="login-password" label={withCode ? "New password" : "Password"} field="password">
          <input
            id="login-password"
            type="password"
            autocomplete={withCode ? "new-password" : "current-password"}
            value={password}
            ref={passwordInput}
            onInput={(event) => edit("password", event.currentTarget.value, setPassword)}
          />
        </Field>
        {!onCancel && (
          <button
            id="login-with-code"
            type="button"
            class="link-button small"
            onClick={() => {
              setWithCode(!withCode);
              setError(null);
            }}
          >
            {withCode ? "Sign in with my password" : "Have a reset code from an admin?"}
          </button>
        )}
        <p id="login-error" class="form-error" role="alert" hidden={!error}>
          {error}
        </p>
        <div class="form-actions">
          {onCancel && (
            <button type="button" class="button" onClick={onCancel}>
              Not now
            </button>
          )}
          <button id="login-submit" type="submit" class="button primary" disabled={busy}>
            {busy ? "Signing in…" : withCode ? "Set password and sign in" : "Sign in"}
          </button>
        </div>
      </Form>
    </main>
  );
}
