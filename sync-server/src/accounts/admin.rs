//! What admins do to accounts: list them, deactivate and reactivate them,
//! see and end their devices, and make a one-time password reset code to
//! hand over (there is no email). The CLI's `sync-server user ...`
//! commands come to the same functions.
//!
//! Deactivation is a column (`auth.users.deactivated_at`): the account and
//! everything it wrote stay. The rules are PostgreSQL's
//! (`..._sessions_and_deactivation.sql`), whichever path changes it: every
//! session ends at once, the last active admin stays, and the change is
//! audited with who made it.

use axum::extract::State;
use chrono::{TimeDelta, Utc};
use crm_domain::UserRole;
use crm_domain::auth::{
    AccountSummary, ColleagueAdded, DeviceSession, NewColleague, ResetCode, RoleChange,
};
use crm_domain::codes::ErrorCode;
use rand::Rng;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{AuthUser, store};
use crate::data::acting;
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult};
use crate::state::AppState;

/// How long a reset code works.
pub const RESET_CODE_LIFETIME: TimeDelta = TimeDelta::hours(24);
/// Wrong tries a code survives.
pub const RESET_CODE_TRIES: i32 = 5;
/// Crockford's base32: no I, L, O or U to misread when read out.
const CODE_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const CODE_CHARS: usize = 12;

/// A code as typed, normalised (case, dashes and spaces, the letters people
/// mistake for digits), hashed.
pub fn hash_code(code: &str) -> Vec<u8> {
    let normal: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| match c.to_ascii_uppercase() {
            'I' | 'L' => '1',
            'O' => '0',
            other => other,
        })
        .collect();
    Sha256::digest(normal.as_bytes()).to_vec()
}

async fn require_admin(state: &AppState, user: &AuthUser) -> ApiResult<()> {
    if user.is_admin(&state.pool).await? {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            ErrorCode::Forbidden,
            "only an admin can manage accounts",
        ))
    }
}

/// The database keeps the last active admin (deactivation and demotion
/// alike raise `check_violation`): said as a conflict, in its words.
fn last_admin_kept(error: sqlx::Error) -> ApiError {
    match &error {
        sqlx::Error::Database(db) if db.code().as_deref() == Some("23514") => ApiError::Conflict {
            code: ErrorCode::NotAllowed,
            message: db.message().to_owned(),
        },
        _ => error.into(),
    }
}

fn gone() -> ApiError {
    ApiError::NotFound("no such account".into())
}

async fn summaries(state: &AppState, only: Option<Uuid>) -> ApiResult<Vec<AccountSummary>> {
    let mut tx = acting::begin_service(&state.pool).await?;
    let rows = sqlx::query!(
        r#"SELECT u.id, u.email, p.full_name, coalesce(p.role::text, 'agent') AS "role!",
                  u.created_at, u.last_sign_in_at, u.deactivated_at,
                  (SELECT count(*) FROM auth.sessions s
                    WHERE s.user_id = u.id AND s.ended_at IS NULL AND s.expires_at > now()) AS "active_sessions!"
           FROM auth.users u LEFT JOIN public.profiles p ON p.id = u.id
           WHERE $1::uuid IS NULL OR u.id = $1
           ORDER BY u.deactivated_at IS NOT NULL, lower(coalesce(p.full_name, u.email)), u.id"#,
        only
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    rows.into_iter()
        .map(|r| {
            Ok(AccountSummary {
                id: r.id,
                email: r.email,
                full_name: r.full_name,
                role: r.role.parse::<UserRole>().map_err(ApiError::internal)?,
                created_at: r.created_at,
                last_sign_in_at: r.last_sign_in_at,
                deactivated_at: r.deactivated_at,
                active_sessions: r.active_sessions,
            })
        })
        .collect()
}

/// Every account, active ones first, by name.
#[utoipa::path(get, path = "/admin/accounts", tag = "administration", security(("bearer" = [])),
    responses((status = 200, body = [AccountSummary]), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<ApiJson<Vec<AccountSummary>>> {
    require_admin(&state, &user).await?;
    Ok(ApiJson(summaries(&state, None).await?))
}

/// Sets whether account `id` may sign in; `by` is the admin (`None`: an
/// operator at the command line). The database ends its sessions, refuses
/// the last active admin, and audits the change.
pub async fn set_active(
    pool: &sqlx::PgPool,
    id: Uuid,
    active: bool,
    by: Option<Uuid>,
) -> ApiResult<()> {
    let mut tx = acting::begin_service(pool).await?;
    let found = sqlx::query!(
        "UPDATE auth.users
            SET deactivated_at = CASE WHEN $2 THEN NULL ELSE coalesce(deactivated_at, now()) END,
                status_changed_by = $3
          WHERE id = $1",
        id,
        active,
        by
    )
    .execute(&mut *tx)
    .await
    .map_err(last_admin_kept)?;
    if found.rows_affected() == 0 {
        return Err(gone());
    }
    tx.commit().await?;
    tracing::info!(account = %id, active, by = ?by, "account status changed");
    Ok(())
}

/// Deactivates an account: its requests fail at once (`account_deactivated`),
/// its devices keep nothing readable, its integration tokens stop.
#[utoipa::path(post, path = "/admin/accounts/{id}/deactivate", tag = "administration",
    params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = AccountSummary), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn deactivate(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<ApiJson<AccountSummary>> {
    require_admin(&state, &user).await?;
    if id == user.id {
        return Err(ApiError::Conflict {
            code: ErrorCode::NotAllowed,
            message: "you cannot deactivate your own account; ask another admin".into(),
        });
    }
    set_active(&state.pool, id, false, Some(user.id)).await?;
    one(&state, id).await
}

/// Lets a deactivated account sign in again (its old devices sign in anew).
#[utoipa::path(post, path = "/admin/accounts/{id}/reactivate", tag = "administration",
    params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = AccountSummary), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)))]
pub async fn reactivate(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<ApiJson<AccountSummary>> {
    require_admin(&state, &user).await?;
    set_active(&state.pool, id, true, Some(user.id)).await?;
    one(&state, id).await
}

async fn one(state: &AppState, id: Uuid) -> ApiResult<ApiJson<AccountSummary>> {
    summaries(state, Some(id))
        .await?
        .into_iter()
        .next()
        .map(ApiJson)
        .ok_or_else(gone)
}

/// An account's devices signed in now (end one with
/// `POST /auth/sessions/{id}/revoke`).
#[utoipa::path(get, path = "/admin/accounts/{id}/sessions", tag = "administration",
    params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = [DeviceSession]), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)))]
pub async fn sessions(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<ApiJson<Vec<DeviceSession>>> {
    require_admin(&state, &user).await?;
    let mut tx = acting::begin_service(&state.pool).await?;
    let rows = store::live_sessions(&mut tx, id).await?;
    tx.commit().await?;
    Ok(ApiJson(
        rows.into_iter()
            .map(|r| r.into_device(user.session))
            .collect(),
    ))
}

/// Makes a one-time code for `id` to set a new password with (replacing
/// any earlier one); `by` is the admin (`None`: an operator).
pub async fn make_reset_code(
    pool: &sqlx::PgPool,
    id: Uuid,
    by: Option<Uuid>,
) -> ApiResult<ResetCode> {
    let code: String = {
        let mut rng = rand::rng();
        (0..CODE_CHARS)
            .map(|_| char::from(CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())]))
            .collect()
    };
    let shown = format!("{}-{}-{}", &code[..4], &code[4..8], &code[8..]);
    let expires_at = Utc::now() + RESET_CODE_LIFETIME;
    let mut tx = acting::begin_service(pool).await?;
    let done = sqlx::query!(
        "INSERT INTO auth.password_reset_codes (user_id, code_hash, created_by, expires_at)
         SELECT id, $2, $3, $4 FROM auth.users WHERE id = $1
         ON CONFLICT (user_id) DO UPDATE
            SET code_hash = EXCLUDED.code_hash, created_by = EXCLUDED.created_by,
                created_at = now(), expires_at = EXCLUDED.expires_at, failures = 0",
        id,
        hash_code(&code),
        by,
        expires_at
    )
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(gone());
    }
    tx.commit().await?;
    tracing::info!(account = %id, by = ?by, "password reset code made");
    Ok(ResetCode {
        code: shown,
        expires_at,
    })
}

/// A one-time password reset code for the account, shown this once.
#[utoipa::path(post, path = "/admin/accounts/{id}/reset-code", tag = "administration",
    params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = ResetCode), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)))]
pub async fn reset_code(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<ApiJson<ResetCode>> {
    require_admin(&state, &user).await?;
    Ok(ApiJson(
        make_reset_code(&state.pool, id, Some(user.id)).await?,
    ))
}

/// Adds a colleague, with no password anyone knows: the answer's one-time
/// code is what they set theirs with (valid 24 hours; a new one can be
/// made). Admins only.
#[utoipa::path(post, path = "/admin/accounts", tag = "administration", security(("bearer" = [])),
    request_body = NewColleague,
    responses((status = 201, body = ColleagueAdded), (status = 400, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn add(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(new): ApiJson<NewColleague>,
) -> ApiResult<(axum::http::StatusCode, ApiJson<ColleagueAdded>)> {
    require_admin(&state, &user).await?;
    new.check()?;
    // A password no one will ever type: the code sets the real one.
    let unusable = {
        use base64::Engine;
        let mut bytes = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    };
    let account = super::create_account(
        &state.pool,
        &new.email,
        &unusable,
        new.full_name.as_deref(),
        new.role,
    )
    .await?;
    let reset_code = make_reset_code(&state.pool, account.id, Some(user.id)).await?;
    tracing::info!(account = %account.id, by = %user.id, "colleague added");
    Ok((
        axum::http::StatusCode::CREATED,
        ApiJson(ColleagueAdded {
            account,
            reset_code,
        }),
    ))
}

/// Changes an account's role, as the admin asking: PostgreSQL lets only
/// admins do it, keeps the last active admin, and audits it.
#[utoipa::path(post, path = "/admin/accounts/{id}/role", tag = "administration", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = RoleChange,
    responses((status = 200, body = AccountSummary), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn set_role(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(change): ApiJson<RoleChange>,
) -> ApiResult<ApiJson<AccountSummary>> {
    require_admin(&state, &user).await?;
    let mut tx = acting::begin_as(&state.pool, &user.claims()).await?;
    let changed = sqlx::query!(
        "UPDATE public.profiles SET role = $2::text::public.user_role WHERE id = $1",
        id,
        change.role.as_str()
    )
    .execute(&mut *tx)
    .await
    .map_err(last_admin_kept)?;
    if changed.rows_affected() == 0 {
        return Err(gone());
    }
    tx.commit().await?;
    tracing::info!(account = %id, role = change.role.as_str(), by = %user.id, "role changed");
    one(&state, id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_reads_back_however_it_is_typed() {
        assert_eq!(hash_code("AB1O-KL0I-XYZ9"), hash_code("ab10 k101 xyz9"));
        assert_ne!(hash_code("AB10-K100-XYZ9"), hash_code("AB10-K100-XYZ8"));
    }
}
