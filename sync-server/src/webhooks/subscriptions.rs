//! `/webhooks`: people make, list, change and remove their subscriptions,
//! see their deliveries, send one again, and send a test. Every statement
//! about a subscription runs as the person (row-level security: their own;
//! an admin sees and removes anyone's); the deliveries and secrets are the
//! server's, reached once the subscription is known to be theirs.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use crm_domain::codes::ErrorCode;
use crm_domain::webhooks::{
    DeliveryState, NewWebhook, Webhook, WebhookChange, WebhookDelivery, WebhookEvent,
    WebhookWithSecret,
};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{outbound, signing};
use crate::accounts::AuthUser;
use crate::data::acting;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};
use crate::state::AppState;

struct Row {
    id: Uuid,
    url: String,
    event_types: Vec<String>,
    description: Option<String>,
    include_internal: bool,
    is_active: bool,
    disabled_reason: Option<String>,
    disabled_at: Option<DateTime<Utc>>,
    created_by: Uuid,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl Row {
    fn into_webhook(self) -> Webhook {
        Webhook {
            id: self.id,
            url: self.url,
            // The table's CHECK keeps them to the vocabulary.
            event_types: self
                .event_types
                .iter()
                .filter_map(|e| e.parse().ok())
                .collect(),
            description: self.description,
            include_internal: self.include_internal,
            is_active: self.is_active,
            disabled_reason: self.disabled_reason,
            disabled_at: self.disabled_at,
            created_by: self.created_by,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

fn names(events: &[WebhookEvent]) -> Vec<String> {
    events.iter().map(|e| e.as_str().to_owned()).collect()
}

fn gone() -> ApiError {
    ApiError::NotFound("no such webhook".into())
}

/// Refuses an address-literal URL into the server's own network (hosts
/// are checked again at every delivery).
fn check_target(state: &AppState, url: &str) -> ApiResult<()> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|_| ApiError::bad_request(ErrorCode::ValidationFailed, "url: not a URL"))?;
    if outbound::forbidden_literal(&parsed, state.config.webhook_allow_private_targets) {
        return Err(ApiError::bad_request(
            ErrorCode::ValidationFailed,
            "url: webhooks are not sent into the server's own network",
        ));
    }
    Ok(())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Admins: everyone's subscriptions, not only their own.
    #[serde(default)]
    pub all: bool,
}

/// Lists my subscriptions (an admin with `all=true`: everyone's).
#[utoipa::path(get, path = "/webhooks", tag = "webhooks", params(ListQuery),
    responses((status = 200, body = [Webhook])), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<ApiJson<Vec<Webhook>>> {
    let mut tx = acting::begin_as(&state.pool, &user.claims()).await?;
    let rows = sqlx::query_as!(
        Row,
        "SELECT id, url, event_types, description, include_internal, is_active, disabled_reason,
                disabled_at, created_by, created_at, updated_at
         FROM public.webhook_subscriptions WHERE $1 OR created_by = auth.uid()
         ORDER BY created_at DESC, id DESC",
        q.all
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(ApiJson(rows.into_iter().map(Row::into_webhook).collect()))
}

/// Subscribes a URL. The answer holds the signing secret, this once.
#[utoipa::path(post, path = "/webhooks", tag = "webhooks", request_body = NewWebhook,
    responses((status = 201, body = WebhookWithSecret), (status = 400, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(draft): ApiJson<NewWebhook>,
) -> ApiResult<(StatusCode, ApiJson<WebhookWithSecret>)> {
    draft.validate()?;
    check_target(&state, &draft.url)?;
    let secret = signing::new_secret();
    let mut tx = acting::begin_as(&state.pool, &user.claims()).await?;
    let row = sqlx::query_as!(
        Row,
        "INSERT INTO public.webhook_subscriptions (url, event_types, description, include_internal)
         VALUES ($1, $2, $3, $4)
         RETURNING id, url, event_types, description, include_internal, is_active, disabled_reason,
                   disabled_at, created_by, created_at, updated_at",
        draft.url,
        &names(&draft.event_types),
        draft.description,
        draft.include_internal
    )
    .fetch_one(&mut *tx)
    .await?;
    acting::act_as_service(&mut tx).await?;
    sqlx::query!(
        "INSERT INTO api.webhook_secrets (subscription_id, secret) VALUES ($1, $2)",
        row.id,
        secret
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(webhook = %row.id, "webhook subscribed");
    Ok((
        StatusCode::CREATED,
        ApiJson(WebhookWithSecret {
            webhook: row.into_webhook(),
            secret,
        }),
    ))
}

/// Changes one of my subscriptions (`is_active: true` restarts one the
/// server stopped).
#[utoipa::path(patch, path = "/webhooks/{id}", tag = "webhooks", params(("id" = Uuid, Path)),
    request_body = WebhookChange,
    responses((status = 200, body = Webhook), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(change): ApiJson<WebhookChange>,
) -> ApiResult<ApiJson<Webhook>> {
    change.validate()?;
    if let Some(url) = &change.url {
        check_target(&state, url)?;
    }
    let events = change.event_types.as_deref().map(names);
    let mut tx = acting::begin_as(&state.pool, &user.claims()).await?;
    let row = sqlx::query_as!(
        Row,
        "UPDATE public.webhook_subscriptions SET
             url = coalesce($2, url),
             event_types = coalesce($3, event_types),
             description = coalesce($4, description),
             include_internal = coalesce($5, include_internal),
             is_active = coalesce($6, is_active),
             disabled_reason = CASE WHEN $6 THEN NULL ELSE disabled_reason END,
             disabled_at = CASE WHEN $6 THEN NULL ELSE disabled_at END
         WHERE id = $1 AND created_by = auth.uid()
         RETURNING id, url, event_types, description, include_internal, is_active, disabled_reason,
                   disabled_at, created_by, created_at, updated_at",
        id,
        change.url,
        events.as_deref(),
        change.description,
        change.include_internal,
        change.is_active
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(gone)?;
    tx.commit().await?;
    Ok(ApiJson(row.into_webhook()))
}

/// Removes a subscription (mine, or as an admin anyone's) with its
/// deliveries.
#[utoipa::path(delete, path = "/webhooks/{id}", tag = "webhooks", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn remove(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    let mut tx = acting::begin_as(&state.pool, &user.claims()).await?;
    let n = sqlx::query!("DELETE FROM public.webhook_subscriptions WHERE id = $1", id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    tx.commit().await?;
    if n == 0 {
        return Err(gone());
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Whether `user` may see subscription `id` (theirs, or as an admin).
async fn visible(state: &AppState, user: &AuthUser, id: Uuid) -> ApiResult<()> {
    let mut tx = acting::begin_as(&state.pool, &user.claims()).await?;
    let found = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM public.webhook_subscriptions WHERE id = $1) AS "found!""#,
        id
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    if found { Ok(()) } else { Err(gone()) }
}

struct DeliveryRow {
    id: i64,
    event_type: String,
    record_id: Uuid,
    state: String,
    attempts: i32,
    occurred_at: DateTime<Utc>,
    next_attempt_at: DateTime<Utc>,
    delivered_at: Option<DateTime<Utc>>,
    last_status: Option<i32>,
    last_error: Option<String>,
}

impl DeliveryRow {
    fn into_delivery(self) -> WebhookDelivery {
        let state = self.state.parse().unwrap_or(DeliveryState::Pending);
        WebhookDelivery {
            id: self.id,
            event_type: self.event_type,
            record_id: self.record_id,
            next_attempt_at: (state == DeliveryState::Pending).then_some(self.next_attempt_at),
            state,
            attempts: self.attempts,
            occurred_at: self.occurred_at,
            delivered_at: self.delivered_at,
            last_status: self.last_status,
            last_error: self.last_error,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveriesQuery {
    /// Only deliveries in this state.
    pub state: Option<DeliveryState>,
    /// Only deliveries older than this one (the last `id` of a page).
    pub before: Option<i64>,
    /// 1 to 500; 50 unless given.
    pub limit: Option<i32>,
}

/// A subscription's deliveries, newest first.
#[utoipa::path(get, path = "/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = Uuid, Path), DeliveriesQuery),
    responses((status = 200, body = [WebhookDelivery]), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn deliveries(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<DeliveriesQuery>,
) -> ApiResult<ApiJson<Vec<WebhookDelivery>>> {
    let limit = i64::from(crate::api::page::limit(q.limit)?);
    visible(&state, &user, id).await?;
    let mut tx = acting::begin_service(&state.pool).await?;
    let rows = sqlx::query_as!(
        DeliveryRow,
        "SELECT id, event_type, record_id, state, attempts, occurred_at, next_attempt_at,
                delivered_at, last_status, last_error
         FROM api.webhook_deliveries
         WHERE subscription_id = $1 AND ($2::text IS NULL OR state = $2)
           AND ($3::bigint IS NULL OR id < $3)
         ORDER BY id DESC LIMIT $4",
        id,
        q.state.map(|s| s.as_str()),
        q.before,
        limit
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(ApiJson(
        rows.into_iter().map(DeliveryRow::into_delivery).collect(),
    ))
}

/// Sends a delivery again (whatever its state), as soon as a worker is
/// free; retries start over.
#[utoipa::path(post, path = "/webhooks/{id}/deliveries/{delivery}/replay", tag = "webhooks",
    params(("id" = Uuid, Path), ("delivery" = i64, Path)),
    responses((status = 200, body = WebhookDelivery), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn replay(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath((id, delivery)): ApiPath<(Uuid, i64)>,
) -> ApiResult<ApiJson<WebhookDelivery>> {
    visible(&state, &user, id).await?;
    let mut tx = acting::begin_service(&state.pool).await?;
    let row = sqlx::query_as!(
        DeliveryRow,
        "UPDATE api.webhook_deliveries
         SET state = 'pending', attempts = 0, queued_at = now(), next_attempt_at = now(),
             locked_until = NULL, delivered_at = NULL
         WHERE id = $1 AND subscription_id = $2
         RETURNING id, event_type, record_id, state, attempts, occurred_at, next_attempt_at,
                   delivered_at, last_status, last_error",
        delivery,
        id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| ApiError::NotFound("no such delivery".into()))?;
    sqlx::query!("SELECT pg_notify('crm_webhooks', '')")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(ApiJson(row.into_delivery()))
}

/// Queues a `webhook.test` event for the subscription, to see the
/// receiver answer.
#[utoipa::path(post, path = "/webhooks/{id}/test", tag = "webhooks", params(("id" = Uuid, Path)),
    responses((status = 202, body = WebhookDelivery), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn test(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<(StatusCode, ApiJson<WebhookDelivery>)> {
    visible(&state, &user, id).await?;
    let mut tx = acting::begin_service(&state.pool).await?;
    let row = sqlx::query_as!(
        DeliveryRow,
        "INSERT INTO api.webhook_deliveries (subscription_id, event_type, record_id, data)
         VALUES ($1, 'webhook.test', $1, jsonb_build_object('message', 'A test from the CRM', 'webhook_id', $1::uuid))
         RETURNING id, event_type, record_id, state, attempts, occurred_at, next_attempt_at,
                   delivered_at, last_status, last_error",
        id
    )
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query!("SELECT pg_notify('crm_webhooks', '')")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok((StatusCode::ACCEPTED, ApiJson(row.into_delivery())))
}
