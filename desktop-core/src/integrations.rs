//! The user's integrations: the tokens other systems call the CRM with, and
//! the webhooks that tell them what changed. Both live on the server only
//! (a secret exists there once, and nowhere on a laptop), so unlike the
//! rest of the app this works online only, and says so plainly when the
//! server cannot be reached.
//!
//! Drafts are checked here with crm-domain's rules before anything is sent
//! (so a form shows its field messages at once); the server checks them
//! again, under its row-level security, and decides.

use crm_domain::webhooks::{
    NewWebhook, Webhook, WebhookChange, WebhookDelivery, WebhookWithSecret,
};
use crm_domain::{IntegrationToken, NewIntegrationToken, TokenRename, TokenRotation, TokenSecret};
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::CoreResult;
use crate::online::{self, Context, NO_BODY};
use crate::session::Session;

/// My tokens; an admin with `all` sees everyone's.
pub async fn tokens(session: &Session, all: bool) -> CoreResult<Vec<IntegrationToken>> {
    let path = if all {
        "/integration-tokens?all=true"
    } else {
        "/integration-tokens"
    };
    call(session, Method::GET, path, NO_BODY).await
}

/// Makes a token; the answer holds its secret, which is never shown again.
pub async fn create_token(
    session: &Session,
    draft: &NewIntegrationToken,
) -> CoreResult<TokenSecret> {
    draft.validate()?;
    call(session, Method::POST, "/integration-tokens", Some(draft)).await
}

pub async fn rename_token(
    session: &Session,
    id: Uuid,
    rename: &TokenRename,
) -> CoreResult<IntegrationToken> {
    rename.validate()?;
    let path = format!("/integration-tokens/{id}");
    call(session, Method::PATCH, &path, Some(rename)).await
}

/// A new secret for the token; the old one works for the grace period.
pub async fn rotate_token(
    session: &Session,
    id: Uuid,
    rotation: &TokenRotation,
) -> CoreResult<TokenSecret> {
    rotation.validate()?;
    let path = format!("/integration-tokens/{id}/rotate");
    call(session, Method::POST, &path, Some(rotation)).await
}

/// Ends the token for good (its owner's, or any token for an admin).
pub async fn revoke_token(session: &Session, id: Uuid) -> CoreResult<IntegrationToken> {
    let path = format!("/integration-tokens/{id}/revoke");
    call(session, Method::POST, &path, NO_BODY).await
}

/// My webhooks; an admin with `all` sees everyone's.
pub async fn webhooks(session: &Session, all: bool) -> CoreResult<Vec<Webhook>> {
    let path = if all {
        "/webhooks?all=true"
    } else {
        "/webhooks"
    };
    call(session, Method::GET, path, NO_BODY).await
}

/// Subscribes a URL; the answer holds the signing secret, shown once.
pub async fn create_webhook(
    session: &Session,
    draft: &NewWebhook,
) -> CoreResult<WebhookWithSecret> {
    draft.validate()?;
    call(session, Method::POST, "/webhooks", Some(draft)).await
}

/// Changes a webhook; `is_active: true` restarts one the server stopped.
pub async fn update_webhook(
    session: &Session,
    id: Uuid,
    change: &WebhookChange,
) -> CoreResult<Webhook> {
    change.validate()?;
    let path = format!("/webhooks/{id}");
    call(session, Method::PATCH, &path, Some(change)).await
}

pub async fn delete_webhook(session: &Session, id: Uuid) -> CoreResult<()> {
    let path = format!("/webhooks/{id}");
    call(session, Method::DELETE, &path, NO_BODY).await
}

/// Queues a test event (`webhook.test`) to the webhook now, so its receiver
/// can be checked.
pub async fn test_webhook(session: &Session, id: Uuid) -> CoreResult<WebhookDelivery> {
    let path = format!("/webhooks/{id}/test");
    call(session, Method::POST, &path, NO_BODY).await
}

/// The webhook's latest deliveries, newest first.
pub async fn deliveries(session: &Session, id: Uuid) -> CoreResult<Vec<WebhookDelivery>> {
    let path = format!("/webhooks/{id}/deliveries?limit=50");
    call(session, Method::GET, &path, NO_BODY).await
}

/// Sends a delivery again (one that failed, or any to look at again).
pub async fn replay_delivery(
    session: &Session,
    id: Uuid,
    delivery: i64,
) -> CoreResult<WebhookDelivery> {
    let path = format!("/webhooks/{id}/deliveries/{delivery}/replay");
    call(session, Method::POST, &path, NO_BODY).await
}

/// How this module's calls read when they fail.
const CONTEXT: Context = Context {
    offline: "Integrations are kept on the server, so managing them needs a connection.",
    missing: "integration",
};

async fn call<B: Serialize, R: DeserializeOwned>(
    session: &Session,
    method: Method,
    path: &str,
    body: Option<&B>,
) -> CoreResult<R> {
    online::call(session, CONTEXT, method, path, body).await
}
