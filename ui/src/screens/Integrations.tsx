// Integrations: the user's tokens for other systems (an ERP, a form on the
// website) and the webhooks that tell those systems what changed; an admin
// may show everyone's, and revoke any token or remove any webhook. These
// live on the server only, so this screen needs a connection: offline it
// says so and keeps what the server said last.
//
// A new token's or webhook's secret is shown once, in a dialog with a copy
// button (IntegrationForms.tsx); the lists only ever show a token's first
// characters.

import { useEffect, useState } from "preact/hooks";
import {
  commands,
  type ErrorReport,
  type IntegrationToken_Serialize,
  type IntegrationVocabulary,
  type Webhook_Serialize,
  type WebhookDelivery_Serialize,
} from "../bindings";
import { attempt, call, toReport } from "../api";
import { LoadingNote } from "../components/LoadingNote";
import { useApp } from "../context";
import { formatDateTime, formatFull, relativeTime } from "../datetime";
import { useLoad, useNewAction, useNow } from "../hooks";
import { deliveryInWords, permissionsInWords, tokenState, tokenUsable, webhookState } from "../integrations";
import { humanize, plural } from "../labels";
import { personLabel } from "../people";
import { reportSentence } from "../sentences";
import { showError } from "../toast";

export function Integrations() {
  const { session, openDialog } = useApp();
  const admin = session.account.role === "admin";
  const [everyone, setEveryone] = useState(false);
  const [vocabulary, setVocabulary] = useState<IntegrationVocabulary | null>(null);
  useEffect(() => {
    void commands.integrationVocabulary().then(setVocabulary, (e) => showError(toReport(e).message));
  }, []);
  // Errors are said on the screen (once), not in a toast at every reload.
  const quiet = { keep: true, onError: () => true };
  const tokens = useLoad(() => commands.integrationTokens(everyone), [everyone], quiet);
  const webhooks = useLoad(() => commands.webhooks(everyone), [everyone], quiet);
  const error = tokens.error ?? webhooks.error;

  const newToken = vocabulary ? () => openDialog({ kind: "new-token", vocabulary }) : null;
  useNewAction(newToken, [vocabulary]);

  return (
    <section id="integrations" class="screen" data-loaded={tokens.loaded && webhooks.loaded ? "true" : undefined}>
      <header class="screen-header">
        <h1>Integrations</h1>
        {admin && (
          <label class="checkbox-inline">
            <input id="integrations-everyone" type="checkbox" checked={everyone} onChange={(e) => setEveryone(e.currentTarget.checked)} />
            Everyone's
          </label>
        )}
      </header>
      <p class="muted">
        Other systems reach the CRM with a token and hear about changes through webhooks. A token never does more than its owner may, and every
        change it makes is in the audit trail under its name.
      </p>
      {error && (tokens.loaded || webhooks.loaded) && (
        <p id="integrations-error" class="notice" role="status">
          {reportSentence(error)} Showing what the server said last.
        </p>
      )}
      <TokensPanel
        tokens={tokens.data}
        error={tokens.error}
        everyone={everyone}
        onNew={newToken}
        vocabulary={vocabulary}
        reload={tokens.reload}
      />
      <WebhooksPanel
        webhooks={webhooks.data}
        error={webhooks.error}
        everyone={everyone}
        onNew={vocabulary ? () => openDialog({ kind: "new-webhook", vocabulary }) : null}
        reload={webhooks.reload}
      />
    </section>
  );
}

interface TokensPanelProps {
  tokens: IntegrationToken_Serialize[] | undefined;
  error: ErrorReport | null;
  everyone: boolean;
  onNew: (() => void) | null;
  vocabulary: IntegrationVocabulary | null;
  reload: () => void;
}

function TokensPanel({ tokens, error, everyone, onNew, vocabulary, reload }: TokensPanelProps) {
  const { session, colleagues, openDialog, closeDialog } = useApp();
  const now = useNow(60_000);
  const me = session.account.id;

  function revoke(token: IntegrationToken_Serialize) {
    openDialog({
      kind: "confirm",
      id: "revoke-token-dialog",
      title: `Revoke ${token.name}?`,
      text: "Every system using this token is refused from now on. A revoked token cannot be brought back; make a new one instead.",
      action: "Revoke",
      confirm: async () => {
        closeDialog();
        if (await attempt(commands.revokeIntegrationToken(token.id))) reload();
      },
    });
  }

  return (
    <section class="panel" id="tokens" aria-labelledby="tokens-heading">
      <div class="panel-title-row">
        <h2 id="tokens-heading">
          Tokens {tokens && <span class="count">{tokens.length}</span>}
        </h2>
        <button id="new-token" type="button" class="button primary" disabled={!onNew} onClick={() => onNew?.()} title="New token (N)">
          New token
        </button>
      </div>
      {!tokens && <LoadingNote error={error} />}
      {tokens && tokens.length === 0 && <p class="empty-inline muted">No tokens yet. Make one for each system that should reach the CRM.</p>}
      {tokens && tokens.length > 0 && (
        <table class="table" id="token-list">
          <thead>
            <tr>
              <th scope="col">Name</th>
              {everyone && <th scope="col">Owner</th>}
              <th scope="col">May</th>
              <th scope="col">Last used</th>
              <th scope="col">Expires</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {tokens.map((token) => {
              const state = tokenState(token, now);
              const mine = token.created_by === me;
              return (
                <tr key={token.id} class={`token-row ${state}`} data-id={token.id} data-state={state}>
                  <td>
                    <div class="strong ellipsis">{token.name}</div>
                    <div class="muted small">
                      <span class="code">{token.hint}…</span> <span class={`pill token-${state}`}>{humanize(state)}</span>
                    </div>
                  </td>
                  {everyone && <td class="muted ellipsis">{personLabel(token.created_by, colleagues, me)}</td>}
                  <td class="small">{permissionsInWords(token.permissions)}</td>
                  <td class="muted small" title={token.last_used_at ? formatFull(token.last_used_at) : undefined}>
                    {token.last_used_at ? `${relativeTime(token.last_used_at, now)} · ${plural(token.use_count, "request")}` : "Never"}
                  </td>
                  <td class="muted small" title={formatFull(token.expires_at)}>
                    {state === "revoked" && token.revoked_at ? `Revoked ${formatDateTime(token.revoked_at, now)}` : formatDateTime(token.expires_at, now)}
                    {token.previous_valid_until && new Date(token.previous_valid_until) > now && (
                      <div>Old secret works until {formatDateTime(token.previous_valid_until, now)}</div>
                    )}
                  </td>
                  <td class="row-actions">
                    {tokenUsable(state) && mine && vocabulary && (
                      <>
                        <button type="button" class="button small" data-action="rename" onClick={() => openDialog({ kind: "rename-token", token })}>
                          Rename
                        </button>
                        <button
                          type="button"
                          class="button small"
                          data-action="rotate"
                          onClick={() => openDialog({ kind: "rotate-token", token, vocabulary })}
                        >
                          Rotate
                        </button>
                      </>
                    )}
                    {state !== "revoked" && (
                      <button type="button" class="button small danger" data-action="revoke" onClick={() => revoke(token)}>
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

interface WebhooksPanelProps {
  webhooks: Webhook_Serialize[] | undefined;
  error: ErrorReport | null;
  everyone: boolean;
  onNew: (() => void) | null;
  reload: () => void;
}

function WebhooksPanel({ webhooks, error, everyone, onNew, reload }: WebhooksPanelProps) {
  const { session, colleagues, openDialog, closeDialog } = useApp();
  const me = session.account.id;
  const [open, setOpen] = useState<string | null>(null);

  async function setActive(webhook: Webhook_Serialize, active: boolean) {
    const change = { url: null, event_types: null, description: null, include_internal: null, is_active: active };
    if (await attempt(commands.updateWebhook(webhook.id, change))) reload();
  }

  function remove(webhook: Webhook_Serialize) {
    openDialog({
      kind: "confirm",
      id: "delete-webhook-dialog",
      title: "Remove this webhook?",
      text: `Nothing more is sent to ${webhook.url}, and its deliveries are forgotten.`,
      action: "Remove",
      confirm: async () => {
        closeDialog();
        try {
          await call(commands.deleteWebhook(webhook.id));
          reload();
        } catch (failure) {
          showError(toReport(failure).message);
        }
      },
    });
  }

  return (
    <section class="panel" id="webhooks" aria-labelledby="webhooks-heading">
      <div class="panel-title-row">
        <h2 id="webhooks-heading">
          Webhooks {webhooks && <span class="count">{webhooks.length}</span>}
        </h2>
        <button id="new-webhook" type="button" class="button" disabled={!onNew} onClick={() => onNew?.()}>
          New webhook
        </button>
      </div>
      {!webhooks && <LoadingNote error={error} />}
      {webhooks && webhooks.length === 0 && <p class="empty-inline muted">No webhooks. Add one to tell another system when customers or tickets change.</p>}
      {webhooks && webhooks.length > 0 && (
        <ul class="webhook-list" id="webhook-list">
          {webhooks.map((webhook) => {
            const state = webhookState(webhook);
            const mine = webhook.created_by === me;
            return (
              <li key={webhook.id} class="webhook-item" data-id={webhook.id} data-state={state}>
                <div class="webhook-head">
                  <div class="grow">
                    <div class="strong ellipsis">{webhook.url}</div>
                    <div class="muted small">
                      <span class={`pill webhook-${state}`}>{humanize(state)}</span> {webhook.event_types.join(", ")}
                      {webhook.include_internal && " · internal comments too"}
                      {webhook.description && ` · ${webhook.description}`}
                      {everyone && ` · ${personLabel(webhook.created_by, colleagues, me)}`}
                    </div>
                    {state === "stopped" && (
                      <p class="field-error webhook-stopped">
                        The server stopped sending{webhook.disabled_at ? ` on ${formatFull(webhook.disabled_at)}` : ""}: {webhook.disabled_reason}
                      </p>
                    )}
                  </div>
                  <div class="row-actions">
                    <button
                      type="button"
                      class="button small"
                      data-action="deliveries"
                      aria-expanded={open === webhook.id}
                      onClick={() => setOpen(open === webhook.id ? null : webhook.id)}
                    >
                      Deliveries
                    </button>
                    {mine && (
                      <>
                        <button
                          type="button"
                          class="button small"
                          data-action="test"
                          disabled={!webhook.is_active}
                          onClick={async () => {
                            if (await attempt(commands.testWebhook(webhook.id))) setOpen(webhook.id);
                          }}
                        >
                          Send test
                        </button>
                        <button
                          type="button"
                          class="button small"
                          data-action={webhook.is_active ? "pause" : "resume"}
                          onClick={() => setActive(webhook, !webhook.is_active)}
                        >
                          {webhook.is_active ? "Pause" : state === "stopped" ? "Restart" : "Resume"}
                        </button>
                      </>
                    )}
                    <button type="button" class="button small danger" data-action="delete" onClick={() => remove(webhook)}>
                      Remove
                    </button>
                  </div>
                </div>
                {open === webhook.id && <Deliveries webhookId={webhook.id} />}
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}

/** A webhook's latest deliveries, newest first; a failed one can be sent again. */
function Deliveries({ webhookId }: { webhookId: string }) {
  const now = useNow(30_000);
  const list = useLoad(() => commands.webhookDeliveries(webhookId), [webhookId], { keep: true, onError: () => true });
  // While something waits to be sent, look again every few seconds: the
  // server's worker sends it, and nothing else would tell this screen.
  const waiting = list.data?.some((d) => d.state === "pending") ?? false;
  const reload = list.reload;
  useEffect(() => {
    if (!waiting) return undefined;
    const timer = setInterval(reload, 5_000);
    return () => clearInterval(timer);
  }, [waiting]);

  async function replay(delivery: WebhookDelivery_Serialize) {
    if (await attempt(commands.replayWebhookDelivery(webhookId, delivery.id))) list.reload();
  }

  if (!list.data) return <LoadingNote error={list.error} />;
  if (list.data.length === 0) return <p class="muted small deliveries-empty">Nothing sent yet.</p>;
  return (
    <table class="table compact deliveries" aria-label="Deliveries">
      <tbody>
        {list.data.map((delivery) => (
          <tr key={delivery.id} data-state={delivery.state}>
            <td class="muted small" title={formatFull(delivery.occurred_at)}>
              {formatDateTime(delivery.occurred_at, now)}
            </td>
            <td class="small">
              <span class="code">{delivery.event_type}</span>
            </td>
            <td class="small delivery-state">{deliveryInWords(delivery)}</td>
            <td class="row-actions">
              {delivery.state !== "pending" && (
                <button type="button" class="button small subtle" data-action="replay" onClick={() => replay(delivery)}>
                  Send again
                </button>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
