//! Accounts: sign-up, password sign-in (argon2id), short-lived access tokens
//! with rotating refresh tokens, sign-out, and throttling of failed sign-ins
//! per account and per address. Also the operator commands behind
//! `sync-server user ...`.

pub mod admin;
pub mod passwords;
pub mod policy;
pub mod session;
pub mod sessions;
pub mod store;
pub mod tokens;

use crm_domain::codes::ErrorCode;
use std::net::IpAddr;

use axum::extract::State;

use crate::client_address::ClientAddress;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Router, response::IntoResponse};
use chrono::Utc;
use crm_domain::{UserRole, ValidationError, ValidationErrors, validation};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::config::SignupPolicy;
use crate::data::Claims;
use crate::data::acting;
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::state::AppState;
pub use crm_domain::auth::{Account, LoginRequest, LogoutRequest, RefreshRequest, Session};
pub use session::AuthUser;

/// Failed sign-ins of one account from one address before each next try
/// waits: 1 s after these, then twice as long after each further failure,
/// at most [`FAILURE_WINDOW`]. Per account *and address*: a stranger
/// guessing from elsewhere never locks the owner out (security review M3).
pub const FREE_TRIES: i64 = 3;
/// Failed sign-ins from one address, with any accounts, in the window.
pub const MAX_FAILURES_PER_ADDRESS: i64 = 30;
pub const FAILURE_WINDOW: chrono::TimeDelta = chrono::TimeDelta::minutes(15);

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/signup", post(signup))
        .route("/auth/login", post(login))
        .route("/auth/refresh", post(refresh))
        .route("/auth/logout", post(logout))
        .route("/auth/revoke", post(revoke))
        .route("/auth/me", get(me))
        .route("/auth/sessions", get(sessions::list))
        .route("/auth/sessions/{id}/revoke", post(sessions::revoke))
        .route("/auth/password", post(sessions::change_password))
        .route("/auth/password-reset", post(sessions::reset_password))
        .route("/admin/accounts", get(admin::list).post(admin::add))
        .route("/admin/accounts/{id}/role", post(admin::set_role))
        .route("/admin/accounts/{id}/deactivate", post(admin::deactivate))
        .route("/admin/accounts/{id}/reactivate", post(admin::reactivate))
        .route("/admin/accounts/{id}/sessions", get(admin::sessions))
        .route("/admin/accounts/{id}/reset-code", post(admin::reset_code))
        .route("/admin/access-policy", get(policy::get).put(policy::put))
        .route("/colleagues", get(colleagues))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    pub email: String,
    pub password: String,
    pub full_name: Option<String>,
    /// Only an admin creating an account may set this; everyone else starts
    /// as an agent.
    #[schema(value_type = Option<String>, example = "agent")]
    pub role: Option<UserRole>,
}

fn validate_new_account(req: &SignupRequest) -> Result<(), ValidationErrors> {
    ValidationErrors::collect([
        validation::validate_email(&req.email),
        passwords::check_policy(&req.password, &req.email, req.full_name.as_deref()),
        req.full_name
            .as_deref()
            .map_or(Ok(()), validation::validate_full_name),
    ])
}

#[utoipa::path(post, path = "/auth/signup", tag = "accounts", request_body = SignupRequest,
    responses(
        (status = 201, description = "Account created; self-sign-up also signs in", body = SignupResponse),
        (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody)))]
pub(crate) async fn signup(
    State(state): State<AppState>,
    ClientAddress(peer): ClientAddress,
    caller: Option<AuthUser>,
    ApiJson(req): ApiJson<SignupRequest>,
) -> ApiResult<impl IntoResponse> {
    validate_new_account(&req)?;
    let by_admin = match &caller {
        Some(user) => user.is_admin(&state.pool).await?,
        None => false,
    };
    if !by_admin {
        if state.config.signup == SignupPolicy::Closed {
            return Err(ApiError::forbidden(
                ErrorCode::SignupClosed,
                "sign-up is closed: ask an admin to create your account",
            ));
        }
        if req.role.is_some_and(|r| r != UserRole::Agent) {
            return Err(ApiError::forbidden(
                ErrorCode::RoleNotAllowed,
                "only an admin can create an account with a role",
            ));
        }
    }
    // Self-sign-up hashes a password for anyone who asks: it goes through
    // the sign-in throttle, a refused one counting as a failure.
    let attempt = match by_admin {
        true => None,
        false => Some(begin_attempt(&state.pool, req.email.trim(), Some(peer)).await?),
    };
    let account = create_account(
        &state.pool,
        &req.email,
        &req.password,
        req.full_name.as_deref(),
        req.role.unwrap_or_default(),
    )
    .await;
    if let Some(attempt) = attempt {
        settle_attempt(&state.pool, attempt, account.is_ok()).await?;
    }
    let account = account?;
    let created = if by_admin {
        SignupResponse::Created(account)
    } else {
        SignupResponse::SignedIn(
            start_session(&state, account, &Device::new(None, None, None)).await?,
        )
    };
    Ok((StatusCode::CREATED, ApiJson(created)))
}

/// An admin creating an account gets the account; someone signing up gets
/// signed in.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum SignupResponse {
    SignedIn(Session),
    Created(Account),
}

/// Creates an account with `role`; the API and the `user create` command
/// both come here.
pub async fn create_account(
    pool: &sqlx::PgPool,
    email: &str,
    password: &str,
    full_name: Option<&str>,
    role: UserRole,
) -> ApiResult<Account> {
    let email = email.trim();
    let hash = passwords::hash(password.to_owned())
        .await
        .map_err(ApiError::internal)?;
    let mut tx = acting::begin_service(pool).await?;
    let Some(id) = store::create_user(&mut tx, email, &hash, full_name).await? else {
        return Err(ApiError::Conflict {
            code: ErrorCode::EmailTaken,
            message: "an account with this email already exists".into(),
        });
    };
    if role != UserRole::Agent {
        store::set_role(&mut tx, email, role.as_str()).await?;
    }
    tx.commit().await?;
    Ok(Account {
        id,
        email: email.to_owned(),
        full_name: full_name.map(str::to_owned),
        role,
    })
}

#[utoipa::path(post, path = "/auth/login", tag = "accounts", request_body = LoginRequest,
    responses((status = 200, body = Session), (status = 401, body = crate::error::ErrorBody),
        (status = 429, description = "Too many failed attempts; see Retry-After", body = crate::error::ErrorBody)))]
pub(crate) async fn login(
    State(state): State<AppState>,
    ClientAddress(peer): ClientAddress,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<ApiJson<Session>> {
    let address = Some(peer);
    let id = check_password(&state, &req.email, req.password, address).await?;
    let account = own_account(&state.pool, id).await?;
    let device = Device::new(req.device_name.as_deref(), req.platform.as_deref(), address);
    Ok(ApiJson(start_session(&state, account, &device).await?))
}

/// Checks an email and password as a sign-in does (throttled, the attempt
/// recorded, as slow for an unknown account as for a known one): the
/// account's id, or the refusal. A deactivated account is told so only
/// with its right password.
pub(crate) async fn check_password(
    state: &AppState,
    email: &str,
    password: String,
    address: Option<IpAddr>,
) -> ApiResult<Uuid> {
    let email = email.trim().to_owned();
    let wrong = || {
        ApiError::unauthorized(
            ErrorCode::InvalidCredentials,
            "the email or password is wrong",
        )
    };
    // No account has such an address, and nothing is spent on it: not a
    // lookup, not a hash, not a row (a NUL cannot even be stored; a huge
    // email could not be indexed).
    if email.contains('\0') || email.chars().count() > validation::EMAIL_MAX_CHARS {
        return Err(wrong());
    }
    let attempt = begin_attempt(&state.pool, &email, address).await?;

    let mut tx = acting::begin_service(&state.pool).await?;
    let found = store::credentials(&mut tx, &email).await?;
    tx.commit().await?;
    let (id, stored, deactivated) = match found {
        Some(c) => (Some(c.id), c.password_hash, c.deactivated),
        None => (None, None, false),
    };
    let ok = passwords::verify(password, stored).await;

    let mut tx = acting::begin_service(&state.pool).await?;
    store::settle_attempt(&mut tx, attempt, ok).await?;
    let Some(id) = id.filter(|_| ok) else {
        tx.commit().await?;
        return Err(wrong());
    };
    if deactivated {
        tx.commit().await?;
        return Err(session::refusal(store::SessionState::Deactivated));
    }
    store::record_sign_in(&mut tx, id).await?;
    tx.commit().await?;
    Ok(id)
}

/// The device a sign-in comes from, as it describes itself (cut to the
/// stored lengths, control characters dropped: it is shown, never trusted).
pub(crate) struct Device {
    name: Option<String>,
    platform: Option<String>,
    address: Option<IpAddr>,
}

impl Device {
    pub(crate) fn new(
        name: Option<&str>,
        platform: Option<&str>,
        address: Option<IpAddr>,
    ) -> Device {
        let clean = |text: Option<&str>, max: usize| {
            text.map(|t| {
                t.chars()
                    .filter(|c| !c.is_control())
                    .take(max)
                    .collect::<String>()
                    .trim()
                    .to_owned()
            })
            .filter(|t| !t.is_empty())
        };
        Device {
            name: clean(name, 100),
            platform: clean(platform, 50),
            address,
        }
    }
}

/// Starts a sign-in attempt (or a reset code's use): refused with 429 and
/// a `Retry-After` while this account has failed from this address too
/// often lately ([`FREE_TRIES`], then waits that double) or this address
/// has with any ([`MAX_FAILURES_PER_ADDRESS`]); else recorded as in flight,
/// under a lock per address, so a burst of guesses counts each one before
/// it. Settle it with [`settle_attempt`].
pub(crate) async fn begin_attempt(
    pool: &sqlx::PgPool,
    email: &str,
    address: Option<IpAddr>,
) -> ApiResult<Uuid> {
    let now = Utc::now();
    let mut tx = acting::begin_service(pool).await?;
    store::lock_address(&mut tx, address).await?;
    let recent = store::recent_failures(&mut tx, email, address, now - FAILURE_WINDOW).await?;
    if let Some(retry_at) = retry_at(&recent, now) {
        tx.commit().await?;
        // Rounded up: a client that waits exactly this long is let in.
        let millis = u64::try_from((retry_at - now).num_milliseconds()).unwrap_or(0);
        let retry_after_secs = millis.div_ceil(1000).max(1);
        tracing::warn!(?address, retry_after_secs, "sign-in throttled");
        return Err(ApiError::TooManyRequests { retry_after_secs });
    }
    let id = store::insert_attempt(&mut tx, email, address).await?;
    tx.commit().await?;
    Ok(id)
}

/// When the next try may come, if not now.
fn retry_at(
    recent: &store::RecentFailures,
    now: chrono::DateTime<Utc>,
) -> Option<chrono::DateTime<Utc>> {
    let for_address = (recent.from_address >= MAX_FAILURES_PER_ADDRESS)
        .then(|| recent.oldest_from_address.unwrap_or(now) + FAILURE_WINDOW);
    let for_pair = (recent.of_pair >= FREE_TRIES).then(|| {
        let doublings = u32::try_from(recent.of_pair - FREE_TRIES)
            .unwrap_or(u32::MAX)
            .min(20);
        let wait = chrono::TimeDelta::seconds(1_i64 << doublings).min(FAILURE_WINDOW);
        recent.last_of_pair.unwrap_or(now) + wait
    });
    for_address
        .into_iter()
        .chain(for_pair)
        .filter(|at| *at > now)
        .max()
}

pub(crate) async fn settle_attempt(
    pool: &sqlx::PgPool,
    id: Uuid,
    succeeded: bool,
) -> ApiResult<()> {
    let mut tx = acting::begin_service(pool).await?;
    store::settle_attempt(&mut tx, id, succeeded).await?;
    tx.commit().await?;
    Ok(())
}

#[utoipa::path(post, path = "/auth/refresh", tag = "accounts", request_body = RefreshRequest,
    responses((status = 200, body = Session), (status = 401, body = crate::error::ErrorBody)))]
pub(crate) async fn refresh(
    State(state): State<AppState>,
    ClientAddress(peer): ClientAddress,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> ApiResult<ApiJson<Session>> {
    let hash = tokens::hash_refresh_token(&req.refresh_token);
    let mut tx = acting::begin_service(&state.pool).await?;
    let Some(stored) = store::lock_refresh_token(&mut tx, &hash).await? else {
        return Err(ApiError::unauthorized(
            ErrorCode::InvalidRefreshToken,
            "sign in again",
        ));
    };
    let reused = || {
        ApiError::unauthorized(
            ErrorCode::RefreshTokenReused,
            "this sign-in was ended for safety; sign in again",
        )
    };
    match stored.session {
        store::SessionState::Live => {}
        store::SessionState::Ended(store::EndReason::TokenReused) => return Err(reused()),
        other => return Err(session::refusal(other)),
    }
    if stored.used && !stored.revoked && stored.retry {
        // The device did not get the last answer (the connection was cut
        // mid-response): the token it was given instead never arrived.
        store::revoke_successors(&mut tx, stored.id).await?;
    } else if stored.used || stored.revoked {
        // A token presented twice was copied: end the whole sign-in.
        store::end_session(
            &mut tx,
            stored.family_id,
            store::EndReason::TokenReused,
            None,
        )
        .await?;
        tx.commit().await?;
        tracing::warn!(user = %stored.user_id, session = %stored.family_id, "refresh token reused; sign-in ended");
        return Err(reused());
    }
    if stored.expires_at <= Utc::now() {
        return Err(ApiError::unauthorized(
            ErrorCode::RefreshTokenExpired,
            "sign in again",
        ));
    }
    if !stored.used {
        store::mark_used(&mut tx, stored.id).await?;
    }
    store::touch_session(&mut tx, stored.family_id, Some(peer)).await?;
    let (refresh_token, new_hash) = tokens::new_refresh_token();
    store::insert_refresh_token(
        &mut tx,
        stored.user_id,
        stored.family_id,
        Some(stored.id),
        &new_hash,
        refresh_expiry(&state).min(stored.session_expires_at),
    )
    .await?;
    tx.commit().await?;

    let user = own_account(&state.pool, stored.user_id).await?;
    let access_token = state
        .tokens
        .issue(user.id, stored.family_id)
        .map_err(ApiError::internal)?;
    Ok(ApiJson(
        session(&state, access_token, refresh_token, user).await?,
    ))
}

#[utoipa::path(post, path = "/auth/logout", tag = "accounts", request_body = LogoutRequest,
    security(("bearer" = [])), responses((status = 204), (status = 401, body = crate::error::ErrorBody),
        (status = 403, description = "`everywhere` without the right password", body = crate::error::ErrorBody)))]
pub(crate) async fn logout(
    State(state): State<AppState>,
    ClientAddress(peer): ClientAddress,
    user: AuthUser,
    body: axum::body::Bytes,
) -> ApiResult<StatusCode> {
    // The body is optional: none means "this sign-in only".
    let request: LogoutRequest = if body.is_empty() {
        LogoutRequest::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(ErrorCode::InvalidBody, e.to_string()))?
    };
    if request.everywhere {
        // The other devices are told they were revoked (they keep nothing
        // readable): not for a leaked access token alone (review L6).
        sessions::confirm_password(&state, &user, request.password, Some(peer)).await?;
    }
    let mut tx = acting::begin_service(&state.pool).await?;
    if request.everywhere {
        store::end_sessions_of(
            &mut tx,
            user.id,
            Some(user.session),
            store::EndReason::SignedOutEverywhere,
            Some(user.id),
        )
        .await?;
    }
    store::end_session(&mut tx, user.session, store::EndReason::SignedOut, None).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ends the sign-in a refresh token belongs to, with the token alone (as
/// RFC 7009's revocation): how an app that signed out while offline tells
/// the server later, when its access token has long expired (security
/// review L6). The answer is the same whether the token was known or not,
/// so it tells nothing; ending a sign-in is all it can do.
#[utoipa::path(post, path = "/auth/revoke", tag = "accounts", request_body = RefreshRequest,
    responses((status = 204, description = "the sign-in is ended, if the token was one"),
              (status = 400, body = crate::error::ErrorBody)))]
pub(crate) async fn revoke(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<RefreshRequest>,
) -> ApiResult<StatusCode> {
    let hash = tokens::hash_refresh_token(&request.refresh_token);
    let mut tx = acting::begin_service(&state.pool).await?;
    if let Some(token) = store::lock_refresh_token(&mut tx, &hash).await? {
        store::end_session(&mut tx, token.family_id, store::EndReason::SignedOut, None).await?;
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/auth/me", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = Account), (status = 401, body = crate::error::ErrorBody)))]
pub(crate) async fn me(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<ApiJson<Account>> {
    Ok(ApiJson(own_account(&state.pool, user.id).await?))
}

/// Everyone's name, avatar and role (never the email), for assignment
/// pickers and names on tickets, through `get_colleagues()` as the caller.
#[utoipa::path(get, path = "/colleagues", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, description = "Everyone's name and role", body = Vec<crm_domain::entities::Colleague>), (status = 401, body = crate::error::ErrorBody)))]
pub(crate) async fn colleagues(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<ApiJson<Vec<crm_domain::Colleague>>> {
    let mut tx = acting::begin_as(&state.pool, &user.claims()).await?;
    let rows = sqlx::query!(
        r#"SELECT id AS "id!", full_name, avatar_url, role::text AS "role!" FROM public.get_colleagues()"#
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(crm_domain::Colleague {
            id: r.id,
            full_name: r.full_name,
            avatar_url: r.avatar_url,
            role: r.role.parse().map_err(ApiError::internal)?,
        });
    }
    Ok(ApiJson(out))
}

/// A signed-in account that no longer exists.
pub(crate) fn account_gone() -> ApiError {
    ApiError::unauthorized(ErrorCode::AccountGone, "this account no longer exists")
}

/// The account as its owner sees it, read as that user (RLS applies).
pub(crate) async fn own_account(pool: &sqlx::PgPool, id: Uuid) -> ApiResult<Account> {
    let mut tx = acting::begin_as(pool, &Claims::user(id)).await?;
    let row = sqlx::query!(
        r#"SELECT id, email, full_name, role::text AS "role!" FROM public.profiles WHERE id = auth.uid()"#
    )
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    let row = row.ok_or_else(account_gone)?;
    let role = row.role.parse().map_err(ApiError::internal)?;
    Ok(Account {
        id: row.id,
        email: row.email,
        full_name: row.full_name,
        role,
    })
}

fn refresh_expiry(state: &AppState) -> chrono::DateTime<Utc> {
    Utc::now()
        + chrono::TimeDelta::from_std(state.config.refresh_token_ttl())
            .unwrap_or(chrono::TimeDelta::days(30))
}

pub(crate) async fn start_session(
    state: &AppState,
    user: Account,
    device: &Device,
) -> ApiResult<Session> {
    let (refresh_token, hash) = tokens::new_refresh_token();
    let mut tx = acting::begin_service(&state.pool).await?;
    let expires_at = Utc::now() + state.config.session_max_age();
    let family = store::create_session(
        &mut tx,
        &store::NewSession {
            user: user.id,
            device_name: device.name.as_deref(),
            platform: device.platform.as_deref(),
            address: device.address,
            expires_at,
        },
    )
    .await?;
    store::insert_refresh_token(
        &mut tx,
        user.id,
        family,
        None,
        &hash,
        refresh_expiry(state).min(expires_at),
    )
    .await?;
    tx.commit().await?;
    let access_token = state
        .tokens
        .issue(user.id, family)
        .map_err(ApiError::internal)?;
    session(state, access_token, refresh_token, user).await
}

async fn session(
    state: &AppState,
    access_token: String,
    refresh_token: String,
    user: Account,
) -> ApiResult<Session> {
    Ok(Session {
        access_token,
        token_type: "Bearer".into(),
        expires_in: state.tokens.access_ttl().as_secs(),
        refresh_token,
        user,
        offline_grace_days: policy::offline_grace_days(&state.pool).await?,
    })
}

/// The id of the account with `email`, for the operator commands.
pub async fn account_id(pool: &sqlx::PgPool, email: &str) -> anyhow::Result<Uuid> {
    let mut tx = acting::begin_service(pool).await?;
    let id = sqlx::query_scalar!(
        "SELECT id FROM auth.users WHERE lower(email) = lower($1)",
        email.trim()
    )
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    id.ok_or_else(|| anyhow::anyhow!("no account with email {email}"))
}

/// `sync-server user set-role`: for operators, outside any request.
pub async fn set_role(pool: &sqlx::PgPool, email: &str, role: UserRole) -> anyhow::Result<()> {
    let mut tx = acting::begin_service(pool).await?;
    if !store::set_role(&mut tx, email, role.as_str()).await? {
        anyhow::bail!("no account with email {email}");
    }
    tx.commit().await?;
    Ok(())
}

impl From<ValidationError> for ApiError {
    fn from(error: ValidationError) -> Self {
        ValidationErrors::from(error).into()
    }
}
