// The sign-in form: the first time, after signing out, and when the server
// revoked the session ("Sign in again", which keeps the unsent work).

import { useEffect, useRef, useState } from "preact/hooks";
import { call, toReport } from "../api";
import { commands, type SessionInfo_Serialize, type TrustChoice } from "../bindings";
import { Field } from "../components/Field";
import { SignInCard } from "../components/SignInCard";
import { acceptedTrust, fingerprintLines, type TrustQuestion, trustQuestion } from "../trust";

interface SignInProps {
  server: string;
  email?: string;
  /** Shown when the user is signing in again, with a way back to the app. */
  onCancel?: () => void;
  /** Something the user must read first (their access on this computer ended). */
  notice?: string | null;
  onSignedIn: (session: SessionInfo_Serialize) => void;
  /** Signed in, but this computer's copy of the data asks for its passphrase. */
  onLocked?: () => void;
}

export function SignIn({
  server: initialServer,
  email: initialEmail = "",
  onCancel,
  onSignedIn,
  onLocked,
  notice,
}: SignInProps) {
  const [server, setServer] = useState(initialServer);
  const [email, setEmail] = useState(initialEmail);
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  /** With a one-time code from an admin: the password field takes a new password. */
  const [withCode, setWithCode] = useState(false);
  const [code, setCode] = useState("");
  /** A question about the server the app would not talk to as it stands. */
  const [question, setQuestion] = useState<TrustQuestion | null>(null);
  /** What the user decided about it, sent with the next attempt. */
  const trust = useRef<TrustChoice | null>(null);
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
    if (field === "server") {
      // A decision about one server says nothing about another.
      trust.current = null;
      setQuestion(null);
    }
  };

  function accept() {
    if (!question) return;
    trust.current = acceptedTrust(question, trust.current);
    setQuestion(null);
    void submit();
  }

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
    setQuestion(null);
    try {
      const signedIn = withCode
        ? await call(commands.signInWithCode(server.trim(), email.trim(), code.trim(), password, trust.current))
        : await call(commands.signIn(server.trim(), email.trim(), password, trust.current));
      onSignedIn(signedIn);
    } catch (failure) {
      const report = toReport(failure);
      if ((report.code === "choose_passphrase" || report.code === "passphrase_required") && onLocked) {
        onLocked();
        return;
      }
      const asked = trustQuestion(report);
      if (asked) {
        // Nothing was sent (the connection was refused first): the
        // password stays for the attempt after the user's answer.
        setQuestion(asked);
      } else {
        setError(report.message);
        setPassword("");
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <SignInCard label="Sign in" onSubmit={submit}>
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
      {question && <TrustPanel question={question} onAccept={accept} onDecline={() => setQuestion(null)} />}
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
    </SignInCard>
  );
}

interface TrustPanelProps {
  question: TrustQuestion;
  onAccept: () => void;
  onDecline: () => void;
}

/** The question, with the certificate's fingerprint large enough to compare. */
function TrustPanel({ question, onAccept, onDecline }: TrustPanelProps) {
  const acceptButton = useRef<HTMLButtonElement>(null);
  useEffect(() => acceptButton.current?.focus(), [question]);
  const heading =
    question.kind === "compare"
      ? "Check this server's certificate"
      : question.kind === "changed"
        ? "The server's certificate changed"
        : "This connection is not encrypted";
  const acceptLabel =
    question.kind === "unencrypted" ? "Connect without encryption" : "They match: trust this server";
  return (
    <section id="server-trust" class={`notice trust ${question.kind}`} role="alert" aria-labelledby="server-trust-heading">
      <h2 id="server-trust-heading">{heading}</h2>
      <p>{question.message}</p>
      {question.kind !== "unencrypted" && (
        <code id="offered-fingerprint" class="fingerprint" aria-label="SHA-256 fingerprint">
          {fingerprintLines(question.fingerprint).map((line) => (
            <span key={line}>{line}</span>
          ))}
        </code>
      )}
      <div class="form-actions">
        <button type="button" class="button" onClick={onDecline}>
          Cancel
        </button>
        <button id="trust-server" type="button" class="button primary" ref={acceptButton} onClick={onAccept}>
          {acceptLabel}
        </button>
      </div>
    </section>
  );
}
