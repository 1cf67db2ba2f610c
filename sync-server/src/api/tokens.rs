//! Integration tokens, as their owners manage them with their own sign-in
//! (`/integration-tokens`), and the secret's format.
//!
//! A secret is `crm_pat_` + 43 base62 characters (256 random bits) + a
//! 6-character checksum of them: secret scanners find leaked ones by the
//! prefix, and a mistyped or truncated one is told apart without touching
//! the database. Only its SHA-256 is stored: there is nothing to guess in
//! 256 random bits, so a slow hash would only slow every request.
//!
//! Every statement runs as the person (row-level security: their own
//! tokens; an admin sees and may revoke everyone's), so the rules of
//! `..._integration_api.sql` decide; the handlers only shape the answers.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, TimeDelta, Utc};
use crm_domain::codes::ErrorCode;
use crm_domain::{
    IntegrationPermission, IntegrationToken, NewIntegrationToken, TokenRename, TokenRotation,
    TokenSecret,
};
use rand::Rng;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use utoipa::IntoParams;
use uuid::Uuid;

use crate::accounts::AuthUser;
use crate::data::acting;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult};
use crate::state::AppState;

/// What every secret starts with.
pub const PREFIX: &str = "crm_pat_";
const RANDOM_CHARS: usize = 43;
const CHECK_CHARS: usize = 6;
const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A freshly made secret, with what is stored of it.
pub struct NewSecret {
    pub secret: String,
    pub hash: String,
    pub hint: String,
}

impl NewSecret {
    pub fn generate() -> NewSecret {
        let mut rng = rand::rng();
        let body: String = (0..RANDOM_CHARS)
            .map(|_| char::from(BASE62[rng.random_range(0..BASE62.len())]))
            .collect();
        let secret = format!("{PREFIX}{body}{}", checksum(&body));
        NewSecret {
            hash: hash(&secret),
            hint: secret[..PREFIX.len() + 4].to_owned(),
            secret,
        }
    }
}

/// The checksum of a secret's random part: 32 bits of its SHA-256, in
/// base62.
fn checksum(body: &str) -> String {
    let digest = Sha256::digest(body.as_bytes());
    let mut n = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
    let mut out = [b'0'; CHECK_CHARS];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether `text` is shaped like a secret of ours, checksum included.
pub fn well_formed(text: &str) -> bool {
    let Some(rest) = text.strip_prefix(PREFIX) else {
        return false;
    };
    if rest.len() != RANDOM_CHARS + CHECK_CHARS || !rest.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return false;
    }
    let (body, check) = rest.split_at(RANDOM_CHARS);
    checksum(body) == check
}

/// What is stored of a secret.
pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

struct TokenRow {
    id: Uuid,
    name: String,
    permissions: Vec<String>,
    token_hint: Option<String>,
    is_active: bool,
    created_by: Uuid,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    use_count: i64,
    rotated_at: Option<DateTime<Utc>>,
    previous_valid_until: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl TokenRow {
    fn into_token(self) -> IntegrationToken {
        IntegrationToken {
            id: self.id,
            name: self.name,
            // The table's CHECK keeps them to the vocabulary.
            permissions: self
                .permissions
                .iter()
                .filter_map(|p| p.parse::<IntegrationPermission>().ok())
                .collect(),
            hint: self.token_hint.unwrap_or_else(|| PREFIX.to_owned()),
            is_active: self.is_active,
            created_by: self.created_by,
            created_at: self.created_at,
            expires_at: self.expires_at,
            last_used_at: self.last_used_at,
            use_count: self.use_count,
            rotated_at: self.rotated_at,
            previous_valid_until: self.previous_valid_until,
            revoked_at: self.revoked_at,
        }
    }
}

/// A database refusal of a token change, as the caller should read it.
fn refused(e: sqlx::Error) -> ApiError {
    if let sqlx::Error::Database(db) = &e {
        let message = db.message().to_owned();
        match db.code().as_deref() {
            Some("55000") => {
                return ApiError::Conflict {
                    code: ErrorCode::NotAllowed,
                    message,
                };
            }
            Some("42501") => return ApiError::forbidden(ErrorCode::Forbidden, message),
            Some("23514") => return ApiError::bad_request(ErrorCode::ValidationFailed, message),
            _ => {}
        }
    }
    e.into()
}

fn gone() -> ApiError {
    ApiError::NotFound("no such integration token".into())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Admins: everyone's tokens, not only their own.
    #[serde(default)]
    pub all: bool,
}

/// Lists my tokens (an admin with `all=true`: everyone's), newest first.
#[utoipa::path(get, path = "/integration-tokens", tag = "integration tokens",
    params(ListQuery),
    responses((status = 200, body = [IntegrationToken]), (status = 401, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<ApiJson<Vec<IntegrationToken>>> {
    let mut tx = acting::begin_as(&state.pool, &user.claims()).await?;
    let rows = sqlx::query_as!(
        TokenRow,
        r#"SELECT id, name, permissions, token_hint, is_active, created_by, created_at,
                  expires_at, last_used_at, use_count, rotated_at, previous_valid_until, revoked_at
           FROM public.integration_tokens
           WHERE $1 OR created_by = auth.uid()
           ORDER BY created_at DESC, id DESC"#,
        q.all
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(ApiJson(
        rows.into_iter().map(TokenRow::into_token).collect(),
    ))
}

/// Makes a token. Its secret is in this answer and nowhere else, ever.
#[utoipa::path(post, path = "/integration-tokens", tag = "integration tokens",
    request_body = NewIntegrationToken,
    responses((status = 201, body = TokenSecret), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(draft): ApiJson<NewIntegrationToken>,
) -> ApiResult<(StatusCode, ApiJson<TokenSecret>)> {
    draft.validate()?;
    let secret = NewSecret::generate();
    let permissions: Vec<String> = draft
        .permissions
        .iter()
        .map(|p| p.as_str().to_owned())
        .collect();
    let expires_at = Utc::now() + TimeDelta::days(i64::from(draft.days()));
    let mut tx = acting::begin_as(&state.pool, &user.claims()).await?;
    let row = sqlx::query_as!(
        TokenRow,
        r#"INSERT INTO public.integration_tokens (name, token_hash, token_hint, permissions, expires_at)
           VALUES ($1, $2, $3, $4, $5)
           RETURNING id, name, permissions, token_hint, is_active, created_by, created_at,
                     expires_at, last_used_at, use_count, rotated_at, previous_valid_until, revoked_at"#,
        draft.name.trim(),
        secret.hash,
        secret.hint,
        &permissions,
        expires_at
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(refused)?;
    tx.commit().await?;
    tracing::info!(token = %row.id, "integration token created");
    Ok((
        StatusCode::CREATED,
        ApiJson(TokenSecret {
            token: row.into_token(),
            secret: secret.secret,
        }),
    ))
}

/// Renames one of my tokens.
#[utoipa::path(patch, path = "/integration-tokens/{id}", tag = "integration tokens",
    params(("id" = Uuid, Path)), request_body = TokenRename,
    responses((status = 200, body = IntegrationToken), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn rename(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(change): ApiJson<TokenRename>,
) -> ApiResult<ApiJson<IntegrationToken>> {
    change.validate()?;
    let mut tx = acting::begin_as(&state.pool, &user.claims()).await?;
    let row = sqlx::query_as!(
        TokenRow,
        r#"UPDATE public.integration_tokens SET name = $2 WHERE id = $1 AND created_by = auth.uid()
           RETURNING id, name, permissions, token_hint, is_active, created_by, created_at,
                     expires_at, last_used_at, use_count, rotated_at, previous_valid_until, revoked_at"#,
        id,
        change.name.trim()
    )
    .fetch_optional(&mut *tx)
    .await
    .map_err(refused)?
    .ok_or_else(gone)?;
    tx.commit().await?;
    Ok(ApiJson(row.into_token()))
}

/// Gives one of my tokens a new secret; the old one keeps working for the
/// grace time asked for (an hour unless said).
#[utoipa::path(post, path = "/integration-tokens/{id}/rotate", tag = "integration tokens",
    params(("id" = Uuid, Path)), request_body = TokenRotation,
    responses((status = 200, body = TokenSecret), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn rotate(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(rotation): ApiJson<TokenRotation>,
) -> ApiResult<ApiJson<TokenSecret>> {
    rotation.validate()?;
    let secret = NewSecret::generate();
    let now = Utc::now();
    let grace = rotation.grace_minutes();
    // No grace: the old secret stops now (a leaked one).
    let (previous_until, keep_previous) = if grace == 0 {
        (None, false)
    } else {
        (Some(now + TimeDelta::minutes(i64::from(grace))), true)
    };
    let expires_at = rotation
        .expires_in_days
        .map(|d| now + TimeDelta::days(i64::from(d)));
    let mut tx = acting::begin_as(&state.pool, &user.claims()).await?;
    let row = sqlx::query_as!(
        TokenRow,
        r#"UPDATE public.integration_tokens
           SET previous_hash = CASE WHEN $3 THEN token_hash END,
               previous_valid_until = $4,
               token_hash = $2, token_hint = $5, rotated_at = now(),
               expires_at = coalesce($6, expires_at)
           WHERE id = $1 AND created_by = auth.uid()
           RETURNING id, name, permissions, token_hint, is_active, created_by, created_at,
                     expires_at, last_used_at, use_count, rotated_at, previous_valid_until, revoked_at"#,
        id,
        secret.hash,
        keep_previous,
        previous_until,
        secret.hint,
        expires_at
    )
    .fetch_optional(&mut *tx)
    .await
    .map_err(refused)?
    .ok_or_else(gone)?;
    tx.commit().await?;
    state.api.known.forget(Some(id));
    tracing::info!(token = %id, grace, "integration token rotated");
    Ok(ApiJson(TokenSecret {
        token: row.into_token(),
        secret: secret.secret,
    }))
}

/// Revokes a token for good: mine, or (as an admin) anyone's. It stops
/// working at once.
#[utoipa::path(post, path = "/integration-tokens/{id}/revoke", tag = "integration tokens",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = IntegrationToken), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn revoke(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<ApiJson<IntegrationToken>> {
    let mut tx = acting::begin_as(&state.pool, &user.claims()).await?;
    // Revoking twice is not an error: the token is revoked, as asked.
    let row = sqlx::query_as!(
        TokenRow,
        r#"WITH revoked AS (
               UPDATE public.integration_tokens SET is_active = false
               WHERE id = $1 AND is_active
               RETURNING id, name, permissions, token_hint, is_active, created_by, created_at,
                         expires_at, last_used_at, use_count, rotated_at, previous_valid_until, revoked_at)
           SELECT id AS "id!", name AS "name!", permissions AS "permissions!", token_hint,
                  is_active AS "is_active!", created_by AS "created_by!", created_at AS "created_at!",
                  expires_at AS "expires_at!", last_used_at, use_count AS "use_count!", rotated_at,
                  previous_valid_until, revoked_at
           FROM revoked
           UNION ALL
           SELECT id, name, permissions, token_hint, is_active, created_by, created_at,
                  expires_at, last_used_at, use_count, rotated_at, previous_valid_until, revoked_at
           FROM public.integration_tokens WHERE id = $1 AND NOT is_active"#,
        id
    )
    .fetch_optional(&mut *tx)
    .await
    .map_err(refused)?
    .ok_or_else(gone)?;
    tx.commit().await?;
    state.api.known.forget(Some(id));
    tracing::info!(token = %id, by = %user.id, "integration token revoked");
    Ok(ApiJson(row.into_token()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_carries_its_prefix_and_checksum_and_only_its_hash_is_kept() {
        let s = NewSecret::generate();
        assert!(s.secret.starts_with(PREFIX));
        assert_eq!(s.secret.len(), PREFIX.len() + RANDOM_CHARS + CHECK_CHARS);
        assert!(well_formed(&s.secret));
        assert_eq!(s.hash, hash(&s.secret));
        assert_eq!(s.hash.len(), 64);
        assert!(s.secret.starts_with(&s.hint) && s.hint.len() == PREFIX.len() + 4);
        assert_ne!(NewSecret::generate().secret, s.secret);
    }

    #[test]
    fn a_mistyped_or_cut_secret_is_not_well_formed() {
        let s = NewSecret::generate().secret;
        let mut typo = s.clone().into_bytes();
        let i = PREFIX.len() + 5;
        typo[i] = if typo[i] == b'a' { b'b' } else { b'a' };
        assert!(!well_formed(&String::from_utf8_lossy(&typo)));
        assert!(!well_formed(&s[..s.len() - 1]));
        assert!(!well_formed(&s.replace(PREFIX, "crm_xyz_")));
        assert!(!well_formed("crm_pat_"));
    }
}
