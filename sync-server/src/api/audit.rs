//! `GET /api/v1/audit`: the audit rows a token may read, newest first —
//! the changes it made itself (row-level security: a token never reads its
//! owner's other work through the audit trail; people read theirs, admins
//! everyone's, from the app).

use axum::Extension;
use axum::extract::State;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use crm_domain::codes::ErrorCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::Integration;
use super::page;
use crate::data::acting;
use crate::error::{ApiError, ApiJson, ApiQuery, ApiResult};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only this table's rows (`customers`, `tickets`, ...).
    pub table: Option<String>,
    /// Only this row's history.
    pub record_id: Option<Uuid>,
    /// Only changes at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// 1 to 500; 50 unless given.
    pub limit: Option<i32>,
    pub cursor: Option<String>,
}

/// One change, as the audit trail recorded it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntry {
    pub id: Uuid,
    pub table_name: String,
    pub record_id: Uuid,
    /// `INSERT`, `UPDATE` or `DELETE`.
    pub action: String,
    pub old_values: Option<serde_json::Value>,
    pub new_values: Option<serde_json::Value>,
    pub changed_by: Option<Uuid>,
    pub integration_token_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub data: Vec<AuditEntry>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

fn invalid(message: &str) -> ApiError {
    ApiError::bad_request(ErrorCode::InvalidQuery, message)
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "integration API",
    params(AuditQuery),
    responses((status = 200, body = AuditPage), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)),
    security(("integration_token" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Extension(who): Extension<Integration>,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<ApiJson<AuditPage>> {
    let limit = page::limit(q.limit)?;
    let after: Option<(DateTime<Utc>, Uuid)> = match &q.cursor {
        None => None,
        Some(c) => Some(
            URL_SAFE_NO_PAD
                .decode(c)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .ok_or_else(|| invalid("cursor: not one this list gave"))?,
        ),
    };
    let mut tx = acting::begin_as(&state.pool, &who.principal().claims()).await?;
    let mut rows = sqlx::query_as!(
        AuditEntry,
        r#"SELECT id, table_name, record_id, action, old_values, new_values, changed_by,
                  integration_token_id, created_at
           FROM public.audit_history
           WHERE ($1::text IS NULL OR table_name = $1)
             AND ($2::uuid IS NULL OR record_id = $2)
             AND ($3::timestamptz IS NULL OR created_at >= $3)
             AND ($4::timestamptz IS NULL OR (created_at, id) < ($4, $5))
           ORDER BY created_at DESC, id DESC
           LIMIT $6"#,
        q.table,
        q.record_id,
        q.since,
        after.map(|a| a.0),
        after.map(|a| a.1),
        i64::from(limit) + 1
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_cursor = rows.last().filter(|_| more).and_then(|last| {
        serde_json::to_vec(&(last.created_at, last.id))
            .ok()
            .map(|b| URL_SAFE_NO_PAD.encode(b))
    });
    Ok(ApiJson(AuditPage {
        data: rows,
        next_cursor,
    }))
}
