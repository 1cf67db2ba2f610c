//! A user's own devices and password: the list of their sign-ins, ending
//! one from another (with the password, so a leaked access token alone
//! cannot), changing the password (the other devices sign in again), and
//! setting a new one with the one-time code an admin handed over.
//!
//! Which code a device then gets decides what its app does (see
//! `session::refusal`): a device its user or an admin ended is told
//! `session_revoked` and keeps nothing readable; one signed out by a
//! password change is told `session_ended` and keeps its data for the next
//! sign-in.

use axum::extract::State;
use axum::http::StatusCode;
use crm_domain::auth::{DeviceSession, PasswordChange, PasswordConfirmation, PasswordReset};
use crm_domain::codes::ErrorCode;
use uuid::Uuid;

use super::{AuthUser, Device, Session, passwords, store};
use crate::client_address::ClientAddress;
use crate::data::acting;
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult};
use crate::state::AppState;

/// Checks the caller's own password (a wrong one counts as a failed
/// sign-in for the throttle): 403 `wrong_password` when it does not match.
pub(crate) async fn confirm_password(
    state: &AppState,
    user: &AuthUser,
    password: Option<String>,
    address: Option<std::net::IpAddr>,
) -> ApiResult<()> {
    let Some(password) = password else {
        return Err(ApiError::forbidden(
            ErrorCode::WrongPassword,
            "confirm this with your password",
        ));
    };
    let (email, _) = identity(state, user.id).await?;
    match super::check_password(state, &email, password, address).await {
        Ok(id) if id == user.id => Ok(()),
        Err(ApiError::TooManyRequests { retry_after_secs }) => {
            Err(ApiError::TooManyRequests { retry_after_secs })
        }
        _ => Err(ApiError::forbidden(
            ErrorCode::WrongPassword,
            "the password is wrong",
        )),
    }
}

/// My devices signed in now, the one asking first.
#[utoipa::path(get, path = "/auth/sessions", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = [DeviceSession]), (status = 401, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<ApiJson<Vec<DeviceSession>>> {
    let mut tx = acting::begin_service(&state.pool).await?;
    let rows = store::live_sessions(&mut tx, user.id).await?;
    tx.commit().await?;
    let mut devices: Vec<DeviceSession> = rows
        .into_iter()
        .map(|r| r.into_device(user.session))
        .collect();
    devices.sort_by_key(|d| !d.current);
    Ok(ApiJson(devices))
}

/// Ends a session: one of my own devices (with my password), or, for an
/// admin, anyone's. The device is told its sign-in was revoked and keeps
/// nothing readable.
#[utoipa::path(post, path = "/auth/sessions/{id}/revoke", tag = "accounts",
    params(("id" = Uuid, Path)), request_body = PasswordConfirmation, security(("bearer" = [])),
    responses((status = 204), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)))]
pub async fn revoke(
    State(state): State<AppState>,
    ClientAddress(peer): ClientAddress,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(confirmation): ApiJson<PasswordConfirmation>,
) -> ApiResult<StatusCode> {
    let mut tx = acting::begin_service(&state.pool).await?;
    let target = store::live_session(&mut tx, id).await?;
    tx.commit().await?;
    let gone = || ApiError::NotFound("no such signed-in device".into());
    let target = target.ok_or_else(gone)?;
    if target.user_id == user.id {
        confirm_password(&state, &user, confirmation.password, Some(peer)).await?;
    } else if !user.is_admin(&state.pool).await? {
        // Someone else's sessions do not exist, as far as an agent knows.
        return Err(gone());
    }
    let mut tx = acting::begin_service(&state.pool).await?;
    store::end_session(&mut tx, id, store::EndReason::Revoked, Some(user.id)).await?;
    tx.commit().await?;
    tracing::info!(by = %user.id, session = %id, "session revoked");
    Ok(StatusCode::NO_CONTENT)
}

/// Changes my password; every other device signs in again (keeping its
/// data: a password change is not a lost laptop).
#[utoipa::path(post, path = "/auth/password", tag = "accounts", request_body = PasswordChange,
    security(("bearer" = [])),
    responses((status = 204), (status = 400, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody)))]
pub async fn change_password(
    State(state): State<AppState>,
    ClientAddress(peer): ClientAddress,
    user: AuthUser,
    ApiJson(change): ApiJson<PasswordChange>,
) -> ApiResult<StatusCode> {
    let (email, full_name) = identity(&state, user.id).await?;
    passwords::check_policy(&change.new_password, &email, full_name.as_deref())?;
    confirm_password(&state, &user, Some(change.current_password), Some(peer)).await?;
    let hash = passwords::hash(change.new_password)
        .await
        .map_err(ApiError::internal)?;
    let mut tx = acting::begin_service(&state.pool).await?;
    set_password(&mut tx, user.id, &hash).await?;
    store::end_sessions_of(
        &mut tx,
        user.id,
        Some(user.session),
        store::EndReason::PasswordChanged,
        Some(user.id),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sets a new password with an admin's one-time code, and signs in.
#[utoipa::path(post, path = "/auth/password-reset", tag = "accounts", request_body = PasswordReset,
    responses((status = 200, body = Session), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody),
              (status = 429, body = crate::error::ErrorBody)))]
pub async fn reset_password(
    State(state): State<AppState>,
    ClientAddress(peer): ClientAddress,
    ApiJson(reset): ApiJson<PasswordReset>,
) -> ApiResult<ApiJson<Session>> {
    let address = Some(peer);
    let email = reset.email.trim().to_owned();
    let invalid = || {
        ApiError::unauthorized(
            ErrorCode::InvalidResetCode,
            "this code is not valid: ask an admin for a new one",
        )
    };
    if email.contains('\0') || email.len() > crm_domain::validation::EMAIL_MAX_CHARS {
        return Err(invalid());
    }
    passwords::check_policy(&reset.new_password, &email, None)?;
    let attempt = super::begin_attempt(&state.pool, &email, address).await?;
    let code_hash = super::admin::hash_code(&reset.code);

    let mut tx = acting::begin_service(&state.pool).await?;
    // Locked: two tries at once count as two.
    let found = sqlx::query!(
        r#"SELECT c.user_id, c.code_hash, c.expires_at > now() AS "live!", c.failures,
                  u.deactivated_at IS NOT NULL AS "deactivated!"
           FROM auth.password_reset_codes c JOIN auth.users u ON u.id = c.user_id
           WHERE lower(u.email) = lower($1)
           FOR UPDATE OF c"#,
        email
    )
    .fetch_optional(&mut *tx)
    .await?;
    let matched = found.as_ref().is_some_and(|c| {
        c.live && c.failures < super::admin::RESET_CODE_TRIES && c.code_hash == code_hash
    });
    store::settle_attempt(&mut tx, attempt, matched).await?;
    let Some(code) = found.filter(|_| matched) else {
        sqlx::query!(
            "UPDATE auth.password_reset_codes SET failures = failures + 1
             WHERE user_id = (SELECT id FROM auth.users WHERE lower(email) = lower($1))",
            email
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        return Err(invalid());
    };
    if code.deactivated {
        tx.commit().await?;
        return Err(super::session::refusal(store::SessionState::Deactivated));
    }
    sqlx::query!(
        "DELETE FROM auth.password_reset_codes WHERE user_id = $1",
        code.user_id
    )
    .execute(&mut *tx)
    .await?;
    // Hashed only for a right code: a wrong one costs no argon2.
    let hash = passwords::hash(reset.new_password)
        .await
        .map_err(ApiError::internal)?;
    set_password(&mut tx, code.user_id, &hash).await?;
    store::end_sessions_of(
        &mut tx,
        code.user_id,
        None,
        store::EndReason::PasswordReset,
        None,
    )
    .await?;
    store::record_sign_in(&mut tx, code.user_id).await?;
    tx.commit().await?;
    let account = super::own_account(&state.pool, code.user_id).await?;
    let device = Device::new(
        reset.device_name.as_deref(),
        reset.platform.as_deref(),
        address,
    );
    Ok(ApiJson(
        super::start_session(&state, account, &device).await?,
    ))
}

async fn identity(state: &AppState, user: Uuid) -> ApiResult<(String, Option<String>)> {
    let mut tx = acting::begin_service(&state.pool).await?;
    let row = sqlx::query!(
        "SELECT u.email, p.full_name FROM auth.users u LEFT JOIN public.profiles p ON p.id = u.id
         WHERE u.id = $1",
        user
    )
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    let row = row.ok_or_else(super::account_gone)?;
    Ok((row.email, row.full_name))
}

async fn set_password(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    user: Uuid,
    hash: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE auth.users SET encrypted_password = $2, password_changed_at = now(), updated_at = now()
         WHERE id = $1",
        user,
        hash
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}
