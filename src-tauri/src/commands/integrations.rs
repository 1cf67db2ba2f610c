//! Integrations: the user's tokens for other systems and their webhooks
//! (an admin's choice of everyone's), managed on the server through
//! `crm_desktop_core::integrations`. Online only: nothing of them is kept
//! in the replica, and a secret is in one answer and nowhere else.

use crm_desktop_core::error::{ErrorReport, FieldMessage};
use crm_desktop_core::integrations;
use crm_domain::enums::WebhookEvent;
use crm_domain::resources::{
    ROTATION_DEFAULT_GRACE_MINUTES, ROTATION_MAX_GRACE_MINUTES, TOKEN_DEFAULT_DAYS, TOKEN_MAX_DAYS,
};
use crm_domain::webhooks::{
    NewWebhook, Webhook, WebhookChange, WebhookDelivery, WebhookWithSecret,
};
use crm_domain::{
    IntegrationPermission, IntegrationToken, NewIntegrationToken, TokenRename, TokenRotation,
    TokenSecret,
};
use serde::{Deserialize, Serialize};
use tauri::State;
use uuid::Uuid;

use crate::commands::field_messages;
use crate::state::AppState;

/// What the integration forms offer, from crm-domain (so the UI keeps no
/// list or limit of its own).
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct IntegrationVocabulary {
    pub permissions: Vec<IntegrationPermission>,
    pub events: Vec<WebhookEvent>,
    pub token_default_days: u32,
    pub token_max_days: u32,
    pub rotation_default_grace_minutes: u32,
    pub rotation_max_grace_minutes: u32,
}

#[tauri::command]
#[specta::specta]
pub fn integration_vocabulary() -> IntegrationVocabulary {
    IntegrationVocabulary {
        permissions: IntegrationPermission::ALL.to_vec(),
        events: WebhookEvent::ALL.to_vec(),
        token_default_days: TOKEN_DEFAULT_DAYS,
        token_max_days: TOKEN_MAX_DAYS,
        rotation_default_grace_minutes: ROTATION_DEFAULT_GRACE_MINUTES,
        rotation_max_grace_minutes: ROTATION_MAX_GRACE_MINUTES,
    }
}

/// A token draft's broken rules, as the form shows them while typing.
#[tauri::command]
#[specta::specta]
pub fn check_integration_token(draft: NewIntegrationToken) -> Vec<FieldMessage> {
    field_messages(draft.validate())
}

#[tauri::command]
#[specta::specta]
pub fn check_webhook(draft: NewWebhook) -> Vec<FieldMessage> {
    field_messages(draft.validate())
}

fn report(e: crm_desktop_core::CoreError) -> ErrorReport {
    ErrorReport::from(&e)
}

/// My tokens, newest first; `all` (admins): everyone's.
#[tauri::command]
#[specta::specta]
pub async fn integration_tokens(
    state: State<'_, AppState>,
    all: bool,
) -> Result<Vec<IntegrationToken>, ErrorReport> {
    let session = state.session().await?;
    integrations::tokens(&session, all).await.map_err(report)
}

#[tauri::command]
#[specta::specta]
pub async fn create_integration_token(
    state: State<'_, AppState>,
    draft: NewIntegrationToken,
) -> Result<TokenSecret, ErrorReport> {
    let session = state.session().await?;
    integrations::create_token(&session, &draft)
        .await
        .map_err(report)
}

#[tauri::command]
#[specta::specta]
pub async fn rename_integration_token(
    state: State<'_, AppState>,
    id: Uuid,
    name: String,
) -> Result<IntegrationToken, ErrorReport> {
    let session = state.session().await?;
    integrations::rename_token(&session, id, &TokenRename { name })
        .await
        .map_err(report)
}

/// A new secret; the old one keeps working for `grace_minutes`.
#[tauri::command]
#[specta::specta]
pub async fn rotate_integration_token(
    state: State<'_, AppState>,
    id: Uuid,
    grace_minutes: Option<u32>,
) -> Result<TokenSecret, ErrorReport> {
    let session = state.session().await?;
    let rotation = TokenRotation {
        grace_minutes,
        expires_in_days: None,
    };
    integrations::rotate_token(&session, id, &rotation)
        .await
        .map_err(report)
}

#[tauri::command]
#[specta::specta]
pub async fn revoke_integration_token(
    state: State<'_, AppState>,
    id: Uuid,
) -> Result<IntegrationToken, ErrorReport> {
    let session = state.session().await?;
    integrations::revoke_token(&session, id)
        .await
        .map_err(report)
}

/// My webhooks; `all` (admins): everyone's.
#[tauri::command]
#[specta::specta]
pub async fn webhooks(state: State<'_, AppState>, all: bool) -> Result<Vec<Webhook>, ErrorReport> {
    let session = state.session().await?;
    integrations::webhooks(&session, all).await.map_err(report)
}

#[tauri::command]
#[specta::specta]
pub async fn create_webhook(
    state: State<'_, AppState>,
    draft: NewWebhook,
) -> Result<WebhookWithSecret, ErrorReport> {
    let session = state.session().await?;
    integrations::create_webhook(&session, &draft)
        .await
        .map_err(report)
}

#[tauri::command]
#[specta::specta]
pub async fn update_webhook(
    state: State<'_, AppState>,
    id: Uuid,
    change: WebhookChange,
) -> Result<Webhook, ErrorReport> {
    let session = state.session().await?;
    integrations::update_webhook(&session, id, &change)
        .await
        .map_err(report)
}

#[tauri::command]
#[specta::specta]
pub async fn delete_webhook(state: State<'_, AppState>, id: Uuid) -> Result<(), ErrorReport> {
    let session = state.session().await?;
    integrations::delete_webhook(&session, id)
        .await
        .map_err(report)
}

/// Sends the webhook a test event (`webhook.test`) now.
#[tauri::command]
#[specta::specta]
pub async fn test_webhook(
    state: State<'_, AppState>,
    id: Uuid,
) -> Result<WebhookDelivery, ErrorReport> {
    let session = state.session().await?;
    integrations::test_webhook(&session, id)
        .await
        .map_err(report)
}

/// The webhook's latest deliveries, newest first.
#[tauri::command]
#[specta::specta]
pub async fn webhook_deliveries(
    state: State<'_, AppState>,
    id: Uuid,
) -> Result<Vec<WebhookDelivery>, ErrorReport> {
    let session = state.session().await?;
    integrations::deliveries(&session, id).await.map_err(report)
}

#[tauri::command]
#[specta::specta]
pub async fn replay_webhook_delivery(
    state: State<'_, AppState>,
    id: Uuid,
    delivery: i64,
) -> Result<WebhookDelivery, ErrorReport> {
    let session = state.session().await?;
    integrations::replay_delivery(&session, id, delivery)
        .await
        .map_err(report)
}
