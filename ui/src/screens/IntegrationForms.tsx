// The Integrations screen's dialogs: a new token (name, permissions from
// the core's vocabulary, lifetime), a new webhook (URL, events, internal
// comments), a rotation (how long the old secret keeps working), and the
// secret shown once with a copy button. Each form is checked as typed with
// crm-domain's rules (`checkIntegrationToken`, `checkWebhook`); the server
// checks again and decides.

import { useState } from "preact/hooks";
import {
  commands,
  type IntegrationToken_Serialize,
  type IntegrationVocabulary,
  type TokenSecret_Serialize,
  type WebhookWithSecret_Serialize,
} from "../bindings";
import { attempt } from "../api";
import { describedBy, Field } from "../components/Field";
import { Form, FormFooter } from "../components/Form";
import { formatFull } from "../datetime";
import {
  emptyTokenForm,
  emptyWebhookForm,
  togglePermission,
  toggleEvent,
  tokenDraft,
  webhookDraft,
  type TokenForm as TokenFormState,
  type WebhookForm as WebhookFormState,
} from "../integrations";
import { useForm } from "../useForm";

interface TokenFormProps {
  vocabulary: IntegrationVocabulary;
  onSaved: (made: TokenSecret_Serialize) => void;
  onCancel: () => void;
}

export function TokenForm({ vocabulary, onSaved, onCancel }: TokenFormProps) {
  const { form, set, messages, formError, saving, submit } = useForm<TokenFormState, ReturnType<typeof tokenDraft>>(
    () => emptyTokenForm(vocabulary),
    { toDraft: tokenDraft, check: commands.checkIntegrationToken, wireNames: { days: "expires_in_days" } },
  );

  async function save() {
    const made = await submit((draft) => commands.createIntegrationToken(draft));
    if (made) onSaved(made);
  }

  return (
    <Form class="form" onSubmit={save} aria-label="New integration token">
      <Field id="token-name" label="Name" field="name" messages={messages} required hint="Say which system uses it, so it is recognised later.">
        <input
          id="token-name"
          value={form.name}
          autocomplete="off"
          {...describedBy("token-name", messages, "name")}
          onInput={(e) => set("name", e.currentTarget.value)}
        />
      </Field>
      <fieldset class="field choice-grid" id="token-permissions" aria-describedby={messages.permissions ? "token-permissions-error" : undefined}>
        <legend>
          Permissions<span class="required" aria-hidden="true"> *</span>
        </legend>
        {vocabulary.permissions.map((permission) => (
          <label key={permission} class="checkbox-inline">
            <input
              type="checkbox"
              data-permission={permission}
              checked={form.permissions.includes(permission)}
              onChange={(e) => set("permissions", togglePermission(form.permissions, permission, e.currentTarget.checked, vocabulary.permissions))}
            />
            <span class="code">{permission}</span>
          </label>
        ))}
        <p class="field-hint">The token can never do more than you can: your own access decides, row by row.</p>
        {messages.permissions && (
          <p class="field-error" data-field="permissions" id="token-permissions-error">
            {messages.permissions}
          </p>
        )}
      </fieldset>
      <Field
        id="token-days"
        label="Expires after (days)"
        field="expires_in_days"
        messages={messages}
        hint={`At most ${vocabulary.token_max_days} days; rotating it starts the count again.`}
      >
        <input
          id="token-days"
          inputMode="numeric"
          value={form.days}
          {...describedBy("token-days", messages, "expires_in_days")}
          onInput={(e) => set("days", e.currentTarget.value)}
        />
      </Field>
      <FormFooter
        messages={messages}
        shown={["name", "permissions", "expires_in_days"]}
        formError={formError}
        saving={saving}
        cancelId="token-cancel"
        saveId="token-save"
        saveLabel="Create token"
        saveTitle="Create the token (Ctrl+Enter)"
        onCancel={onCancel}
      />
    </Form>
  );
}

interface WebhookFormProps {
  vocabulary: IntegrationVocabulary;
  onSaved: (made: WebhookWithSecret_Serialize) => void;
  onCancel: () => void;
}

export function WebhookForm({ vocabulary, onSaved, onCancel }: WebhookFormProps) {
  const { form, set, messages, formError, saving, submit } = useForm<WebhookFormState, ReturnType<typeof webhookDraft>>(emptyWebhookForm, {
    toDraft: webhookDraft,
    check: commands.checkWebhook,
  });

  async function save() {
    const made = await submit((draft) => commands.createWebhook(draft));
    if (made) onSaved(made);
  }

  return (
    <Form class="form" onSubmit={save} aria-label="New webhook">
      <Field id="webhook-url" label="URL" field="url" messages={messages} required hint="Where the server sends each event, signed (Standard Webhooks).">
        <input
          id="webhook-url"
          type="url"
          value={form.url}
          autocomplete="off"
          placeholder="https://erp.example.com/hooks/crm"
          {...describedBy("webhook-url", messages, "url")}
          onInput={(e) => set("url", e.currentTarget.value)}
        />
      </Field>
      <fieldset class="field choice-grid" id="webhook-events" aria-describedby={messages.event_types ? "webhook-events-error" : undefined}>
        <legend>
          Events<span class="required" aria-hidden="true"> *</span>
        </legend>
        {vocabulary.events.map((event) => (
          <label key={event} class="checkbox-inline">
            <input
              type="checkbox"
              data-event={event}
              checked={form.event_types.includes(event)}
              onChange={(e) => set("event_types", toggleEvent(form.event_types, event, e.currentTarget.checked, vocabulary.events))}
            />
            <span class="code">{event}</span>
          </label>
        ))}
        <p class="field-hint">Only events about records you may see are sent, checked when each is sent.</p>
        {messages.event_types && (
          <p class="field-error" data-field="event_types" id="webhook-events-error">
            {messages.event_types}
          </p>
        )}
      </fieldset>
      <Field id="webhook-description" label="Description" field="description" messages={messages}>
        <input
          id="webhook-description"
          value={form.description}
          {...describedBy("webhook-description", messages, "description")}
          onInput={(e) => set("description", e.currentTarget.value)}
        />
      </Field>
      <label class="checkbox-inline">
        <input
          id="webhook-internal"
          type="checkbox"
          checked={form.include_internal}
          onChange={(e) => set("include_internal", e.currentTarget.checked)}
        />
        Include internal comments (staff only: only for systems inside the company)
      </label>
      <FormFooter
        messages={messages}
        shown={["url", "event_types", "description"]}
        formError={formError}
        saving={saving}
        cancelId="webhook-cancel"
        saveId="webhook-save"
        saveLabel="Create webhook"
        saveTitle="Create the webhook (Ctrl+Enter)"
        onCancel={onCancel}
      />
    </Form>
  );
}

interface RotateFormProps {
  token: IntegrationToken_Serialize;
  vocabulary: IntegrationVocabulary;
  onSaved: (made: TokenSecret_Serialize) => void;
  onCancel: () => void;
}

/** The old secret's grace period, in minutes, as the choices offer it. */
const GRACE_CHOICES: { minutes: number; label: string }[] = [
  { minutes: 0, label: "Stop it now" },
  { minutes: 60, label: "1 hour" },
  { minutes: 24 * 60, label: "1 day" },
  { minutes: 7 * 24 * 60, label: "1 week" },
];

export function RotateForm({ token, vocabulary, onSaved, onCancel }: RotateFormProps) {
  const choices = GRACE_CHOICES.filter((c) => c.minutes <= vocabulary.rotation_max_grace_minutes);
  const [grace, setGrace] = useState(vocabulary.rotation_default_grace_minutes);
  const [saving, setSaving] = useState(false);

  async function save() {
    if (saving) return;
    setSaving(true);
    const made = await attempt(commands.rotateIntegrationToken(token.id, grace));
    setSaving(false);
    if (made) onSaved(made);
  }

  return (
    <Form class="form" onSubmit={save} aria-label={`Rotate ${token.name}`}>
      <p>
        A new secret replaces <span class="code">{token.hint}…</span>. Give the system that uses it time to switch: the old secret keeps working until
        then.
      </p>
      <Field id="rotate-grace" label="The old secret keeps working for" field="grace_minutes">
        <select id="rotate-grace" value={String(grace)} onChange={(e) => setGrace(Number(e.currentTarget.value))}>
          {choices.map((c) => (
            <option key={c.minutes} value={String(c.minutes)}>
              {c.label}
            </option>
          ))}
        </select>
      </Field>
      <div class="form-actions">
        <button id="rotate-cancel" type="button" class="button" onClick={onCancel} title="Cancel (Esc)">
          Cancel
        </button>
        <button id="rotate-save" type="submit" class="button primary" disabled={saving}>
          {saving ? "Rotating…" : "Rotate"}
        </button>
      </div>
    </Form>
  );
}

interface SecretShownProps {
  /** "token" or "webhook": what the secret is for, in the words around it. */
  what: "token" | "webhook";
  name: string;
  secret: string;
  /** When a token expires, said beside its secret. */
  expiresAt?: string | null;
  onDone: () => void;
}

/** A secret, once: copy it now, it is never shown again. */
export function SecretShown({ what, name, secret, expiresAt, onDone }: SecretShownProps) {
  const [copied, setCopied] = useState(false);

  async function copy() {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied(true);
    } catch {
      // No clipboard (a locked-down desktop): the field is selected for Ctrl+C.
      const field = document.getElementById("secret-value") as HTMLInputElement | null;
      field?.select();
    }
  }

  return (
    <div class="form" id="secret-shown">
      <p>
        {what === "token" ? (
          <>
            This is <strong>{name}</strong>'s secret. Send it as <span class="code">Authorization: Bearer …</span>.
          </>
        ) : (
          <>
            Deliveries to <strong>{name}</strong> are signed with this secret; the receiver checks each one with it.
          </>
        )}{" "}
        <strong>It is shown only now:</strong> copy it into the other system before you close this.
      </p>
      <div class="secret-row">
        <input id="secret-value" class="secret" readOnly value={secret} aria-label="Secret" onFocus={(e) => e.currentTarget.select()} />
        <button id="secret-copy" type="button" class="button" onClick={copy} data-autofocus>
          {copied ? "Copied" : "Copy"}
        </button>
      </div>
      {expiresAt && <p class="muted small">It expires on {formatFull(expiresAt)}.</p>}
      <div class="form-actions">
        <button id="secret-done" type="button" class="button primary" onClick={onDone}>
          I have copied it
        </button>
      </div>
    </div>
  );
}

interface RenameFormProps {
  token: IntegrationToken_Serialize;
  onSaved: () => void;
  onCancel: () => void;
}

export function RenameTokenForm({ token, onSaved, onCancel }: RenameFormProps) {
  const { form, set, messages, formError, saving, submit } = useForm<{ name: string }, ReturnType<typeof tokenDraft>>(
    () => ({ name: token.name }),
    // The name's rules are the new token's: checked as one with the token's permissions.
    { toDraft: (f) => ({ name: f.name.trim(), permissions: token.permissions, expires_in_days: null }), check: commands.checkIntegrationToken },
  );

  async function save() {
    const saved = await submit((draft) => commands.renameIntegrationToken(token.id, draft.name));
    if (saved) onSaved();
  }

  return (
    <Form class="form" onSubmit={save} aria-label={`Rename ${token.name}`}>
      <Field id="rename-token-name" label="Name" field="name" messages={messages} required>
        <input
          id="rename-token-name"
          value={form.name}
          autocomplete="off"
          {...describedBy("rename-token-name", messages, "name")}
          onInput={(e) => set("name", e.currentTarget.value)}
        />
      </Field>
      <FormFooter
        messages={messages}
        shown={["name"]}
        formError={formError}
        saving={saving}
        cancelId="rename-token-cancel"
        saveId="rename-token-save"
        saveLabel="Rename"
        saveTitle="Rename (Ctrl+Enter)"
        onCancel={onCancel}
      />
    </Form>
  );
}
