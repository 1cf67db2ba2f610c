//! What admins decide for every device (issue 15): the offline grace
//! period, the days a device may go without reaching the server before its
//! app asks for the password again before it shows any data. Kept in
//! `auth.access_policy` (one row); PostgreSQL lets only admins change it
//! and audits each change. Every sign-in and refresh tells the device the
//! current value (`Session::offline_grace_days`).

use axum::extract::State;
use crm_domain::auth::AccessPolicy;
use crm_domain::codes::ErrorCode;

use super::AuthUser;
use crate::data::acting;
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::state::AppState;

/// The offline grace period now, for a session being handed out.
pub(crate) async fn offline_grace_days(pool: &sqlx::PgPool) -> ApiResult<u16> {
    let mut tx = acting::begin_service(pool).await?;
    let days = sqlx::query_scalar!("SELECT offline_grace_days FROM auth.access_policy")
        .fetch_optional(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(days
        .and_then(|d| u16::try_from(d).ok())
        .unwrap_or(crm_domain::auth::DEFAULT_OFFLINE_GRACE_DAYS))
}

/// The access policy every device follows.
#[utoipa::path(get, path = "/admin/access-policy", tag = "administration", security(("bearer" = [])),
    responses((status = 200, body = AccessPolicy), (status = 401, body = crate::error::ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    _user: AuthUser,
) -> ApiResult<ApiJson<AccessPolicy>> {
    Ok(ApiJson(AccessPolicy {
        offline_grace_days: offline_grace_days(&state.pool).await?,
    }))
}

/// Sets the access policy (admins only); devices hear of it at their next
/// refresh.
#[utoipa::path(put, path = "/admin/access-policy", tag = "administration", security(("bearer" = [])),
    request_body = AccessPolicy,
    responses((status = 200, body = AccessPolicy), (status = 403, body = crate::error::ErrorBody),
              (status = 400, body = crate::error::ErrorBody)))]
pub async fn put(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(policy): ApiJson<AccessPolicy>,
) -> ApiResult<ApiJson<AccessPolicy>> {
    policy.check()?;
    // As the caller: the table's policy decides who may.
    let mut tx = acting::begin_as(&state.pool, &user.claims()).await?;
    let updated = sqlx::query_scalar!(
        "UPDATE auth.access_policy SET offline_grace_days = $1, updated_by = auth.uid()
          RETURNING offline_grace_days",
        i32::from(policy.offline_grace_days)
    )
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    let Some(days) = updated else {
        return Err(ApiError::forbidden(
            ErrorCode::Forbidden,
            "only an admin can set the access policy",
        ));
    };
    tracing::info!(by = %user.id, offline_grace_days = days, "access policy changed");
    Ok(ApiJson(AccessPolicy {
        offline_grace_days: u16::try_from(days).map_err(ApiError::internal)?,
    }))
}
