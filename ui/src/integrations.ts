// The Integrations screen's rules without the DOM: where a token stands
// (active, expiring soon, expired, revoked), a token's permissions grouped
// by what they reach, a webhook's state, the forms' values and the drafts
// they send. The vocabulary (permissions, events, limits) comes from the
// core (`integrationVocabulary`), never from a list kept here.

import type {
  DeliveryState,
  IntegrationPermission,
  IntegrationToken_Serialize,
  IntegrationVocabulary,
  NewIntegrationToken_Deserialize,
  NewWebhook_Deserialize,
  Webhook_Serialize,
  WebhookEvent,
} from "./bindings";
import { parseIso } from "./datetime";
import { textOrNull } from "./forms";
import { humanize } from "./labels";

/** A token this close to its expiry is shown as expiring. */
export const EXPIRING_DAYS = 7;

export type TokenState = "active" | "expiring" | "expired" | "revoked";

export function tokenState(token: Pick<IntegrationToken_Serialize, "is_active" | "revoked_at" | "expires_at">, now: Date): TokenState {
  if (!token.is_active || token.revoked_at) return "revoked";
  const expires = parseIso(token.expires_at);
  if (!expires || expires.getTime() <= now.getTime()) return "expired";
  return expires.getTime() - now.getTime() <= EXPIRING_DAYS * 86_400_000 ? "expiring" : "active";
}

/** Whether the token can still be renamed, rotated or revoked. */
export function tokenUsable(state: TokenState): boolean {
  return state === "active" || state === "expiring";
}

/** "customers:read" -> ["customers", "read"]. */
function split(permission: IntegrationPermission): [string, string] {
  const at = permission.indexOf(":");
  return at < 0 ? [permission, ""] : [permission.slice(0, at), permission.slice(at + 1)];
}

/**
 * Permissions grouped by what they reach, in the vocabulary's order:
 * `[{resource: "customers", actions: ["read", "write"]}, ...]`.
 */
export function permissionGroups(permissions: readonly IntegrationPermission[]): { resource: string; actions: string[] }[] {
  const groups: { resource: string; actions: string[] }[] = [];
  for (const permission of permissions) {
    const [resource, action] = split(permission);
    const group = groups.find((g) => g.resource === resource);
    if (group) group.actions.push(action);
    else groups.push({ resource, actions: [action] });
  }
  return groups;
}

/** "Customers: read, write · Tickets: read". */
export function permissionsInWords(permissions: readonly IntegrationPermission[]): string {
  if (permissions.length === 0) return "No permissions";
  return permissionGroups(permissions)
    .map((g) => `${humanize(g.resource)}: ${g.actions.join(", ")}`)
    .join(" · ");
}

/**
 * Choosing a permission also chooses what it needs to make sense (writing
 * customers without reading them helps nobody); unchoosing one unchooses
 * what needs it. The server accepts any set: this is only the form's help.
 */
export function togglePermission(
  chosen: readonly IntegrationPermission[],
  permission: IntegrationPermission,
  on: boolean,
  vocabulary: readonly IntegrationPermission[],
): IntegrationPermission[] {
  const [resource, action] = split(permission);
  const read = `${resource}:read` as IntegrationPermission;
  const next = new Set(chosen);
  if (on) {
    next.add(permission);
    if (action !== "read" && vocabulary.includes(read)) next.add(read);
  } else {
    next.delete(permission);
    if (action === "read") for (const p of vocabulary) if (split(p)[0] === resource) next.delete(p);
  }
  return vocabulary.filter((p) => next.has(p));
}

export interface TokenForm {
  name: string;
  permissions: IntegrationPermission[];
  /** As typed: a whole number of days. */
  days: string;
}

export function emptyTokenForm(vocabulary: Pick<IntegrationVocabulary, "token_default_days">): TokenForm {
  return { name: "", permissions: [], days: String(vocabulary.token_default_days) };
}

/** What `createIntegrationToken` and its check take; days that are not a number go as 0, which the rules refuse. */
export function tokenDraft(form: TokenForm): NewIntegrationToken_Deserialize {
  const days = form.days.trim() === "" ? null : /^\d+$/.test(form.days.trim()) ? Number(form.days.trim()) : 0;
  return { name: form.name.trim(), permissions: form.permissions, expires_in_days: days };
}

export interface WebhookForm {
  url: string;
  event_types: WebhookEvent[];
  description: string;
  include_internal: boolean;
}

export function emptyWebhookForm(): WebhookForm {
  return { url: "", event_types: [], description: "", include_internal: false };
}

export function webhookDraft(form: WebhookForm): NewWebhook_Deserialize {
  return {
    url: form.url.trim(),
    event_types: form.event_types,
    description: textOrNull(form.description),
    include_internal: form.include_internal,
  };
}

/** Adds or removes one event, keeping the vocabulary's order. */
export function toggleEvent(chosen: readonly WebhookEvent[], event: WebhookEvent, on: boolean, vocabulary: readonly WebhookEvent[]): WebhookEvent[] {
  const next = new Set(chosen);
  if (on) next.add(event);
  else next.delete(event);
  return vocabulary.filter((e) => next.has(e));
}

export type WebhookState = "active" | "paused" | "stopped";

/** "stopped" is the server's doing (deliveries failing for a day); "paused" the user's. */
export function webhookState(webhook: Pick<Webhook_Serialize, "is_active" | "disabled_reason">): WebhookState {
  if (webhook.is_active) return "active";
  return webhook.disabled_reason ? "stopped" : "paused";
}

/** A delivery's state in words, with its last answer when it has one. */
export function deliveryInWords(delivery: { state: DeliveryState; attempts: number; last_status: number | null; last_error: string | null }): string {
  const tries = delivery.attempts === 1 ? "1 attempt" : `${delivery.attempts} attempts`;
  const answer = delivery.last_status !== null ? `HTTP ${delivery.last_status}` : delivery.last_error;
  switch (delivery.state) {
    case "delivered":
      return `Delivered${delivery.attempts > 1 ? ` after ${tries}` : ""}`;
    case "pending":
      return delivery.attempts === 0 ? "Waiting to be sent" : `Retrying (${tries}${answer ? `, last: ${answer}` : ""})`;
    case "failed":
      return `Failed after ${tries}${answer ? ` (last: ${answer})` : ""}`;
    case "skipped":
      return "Not sent: the subscriber may not see this record";
  }
}
