//! Who is calling `/api/v1`: the token in `Authorization: Bearer crm_pat_…`
//! becomes an [`Integration`], or the request is refused with a stable code
//! (`invalid_token`, `token_revoked`, `token_expired`; 401).
//!
//! [`admit`] is the API's one middleware: it authenticates, spends the
//! token's rate limit (or, for a request without a valid token, its
//! address's), counts the token's use, holds one of the API's concurrency
//! permits while the handler runs (a create hands it back while it waits
//! for its group, see `group`), and adds the `RateLimit` headers.
//!
//! A token is looked up once and then known for a few seconds
//! ([`KnownTokens`]); every change of a token is announced by PostgreSQL at
//! commit and forgotten at once by every process, so a revoked token stops
//! at once everywhere, without a lookup per request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use crm_domain::IntegrationPermission;
use crm_domain::codes::ErrorCode;
use uuid::Uuid;

use super::limits::{Key, Quota};
use super::{ApiState, tokens};
use crate::client_address::ClientAddress;
use crate::data::{Principal, acting};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// A request made with an integration token, once admitted.
#[derive(Debug, Clone)]
pub struct Integration {
    pub token: Uuid,
    /// Whose rights the token narrows.
    pub owner: Uuid,
    pub permissions: Vec<IntegrationPermission>,
}

impl Integration {
    pub fn principal(&self) -> Principal {
        Principal::Integration {
            owner: self.owner,
            token: self.token,
        }
    }

    /// Refuses (403 `permission_missing`) unless the token grants `needed`
    /// (`None`: nothing is needed). Row-level security checks it again.
    pub fn require(&self, needed: Option<IntegrationPermission>) -> ApiResult<()> {
        match needed {
            Some(p) if !self.permissions.contains(&p) => Err(ApiError::forbidden(
                ErrorCode::PermissionMissing,
                format!("this token does not have the `{p}` permission"),
            )),
            _ => Ok(()),
        }
    }
}

fn bearer(request: &Request) -> Result<&str, ApiError> {
    let value = request.headers().get(AUTHORIZATION).ok_or_else(|| {
        ApiError::unauthorized(
            ErrorCode::MissingToken,
            "send an integration token as `Authorization: Bearer crm_pat_…`",
        )
    })?;
    crate::accounts::session::bearer_of(value).ok_or_else(|| {
        ApiError::unauthorized(
            ErrorCode::InvalidToken,
            "send the token as `Authorization: Bearer crm_pat_…`",
        )
    })
}

/// What is known of a token: enough to decide, at each use, whether it
/// may be used (its state and times), and who it acts for.
#[derive(Debug, Clone)]
pub struct Known {
    token: Uuid,
    owner: Uuid,
    permissions: Vec<IntegrationPermission>,
    is_active: bool,
    expires_at: DateTime<Utc>,
    /// Whether the secret is the token's current one (else its previous,
    /// valid until `previous_valid_until`).
    current: bool,
    previous_valid_until: Option<DateTime<Utc>>,
    /// Whether its owner may still sign in.
    owner_active: bool,
}

async fn look_up(state: &AppState, hash: &str) -> ApiResult<Option<Known>> {
    let mut tx = acting::begin_service(&state.pool).await?;
    let found = sqlx::query!(
        r#"SELECT t.id, t.created_by, t.permissions, t.is_active, t.expires_at,
                  t.token_hash = $1 AS "current!", t.previous_valid_until,
                  u.deactivated_at IS NULL AS "owner_active!"
           FROM public.integration_tokens t JOIN auth.users u ON u.id = t.created_by
           WHERE t.token_hash = $1 OR t.previous_hash = $1"#,
        hash
    )
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(found.map(|t| Known {
        token: t.id,
        owner: t.created_by,
        permissions: t
            .permissions
            .iter()
            .filter_map(|p| p.parse().ok())
            .collect(),
        is_active: t.is_active,
        expires_at: t.expires_at,
        current: t.current,
        previous_valid_until: t.previous_valid_until,
        owner_active: t.owner_active,
    }))
}

/// The token a secret belongs to, if it may be used now.
async fn authenticate(state: &AppState, secret: &str) -> ApiResult<Integration> {
    if !tokens::well_formed(secret) {
        return Err(ApiError::unauthorized(
            ErrorCode::InvalidToken,
            "this is not an integration token (they start with crm_pat_); the app's sign-in does not open /api/v1",
        ));
    }
    let hash = tokens::hash(secret);
    let known = match state.api.known.get(&hash) {
        Some(known) => Some(known),
        None => {
            let generation = state.api.known.generation();
            state
                .api
                .known
                .lookups
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let found = look_up(state, &hash).await?;
            if let Some(k) = &found {
                state.api.known.put(generation, hash, k.clone());
            }
            found
        }
    };
    let Some(t) = known else {
        return Err(ApiError::unauthorized(
            ErrorCode::InvalidToken,
            "this integration token is not known",
        ));
    };
    let now = Utc::now();
    if !t.is_active {
        return Err(ApiError::unauthorized(
            ErrorCode::TokenRevoked,
            "this integration token has been revoked",
        ));
    }
    if !t.owner_active {
        return Err(ApiError::unauthorized(
            ErrorCode::AccountDeactivated,
            "the account this integration token acts for has been deactivated",
        ));
    }
    if t.expires_at <= now {
        return Err(ApiError::unauthorized(
            ErrorCode::TokenExpired,
            "this integration token has expired; its owner can make a new one",
        ));
    }
    if !t.current && t.previous_valid_until.is_none_or(|until| until <= now) {
        return Err(ApiError::unauthorized(
            ErrorCode::TokenExpired,
            "this secret was replaced when the token was rotated; use the new one",
        ));
    }
    Ok(Integration {
        token: t.token,
        owner: t.owner,
        permissions: t.permissions,
    })
}

/// Tokens this process looked up lately, by their secret's hash, so a
/// busy integration costs no lookup per request. Safe because PostgreSQL
/// announces every change of a token at commit (`crm_tokens`), and this
/// process forgets the token as soon as it hears: the cache is used only
/// while it is listening, an entry lives at most [`KNOWN_FOR`], and a
/// lookup that raced with an announcement is not kept.
#[derive(Default)]
pub struct KnownTokens {
    entries: Mutex<HashMap<String, (Known, std::time::Instant)>>,
    /// Whether the announcements are being heard.
    listening: std::sync::atomic::AtomicBool,
    /// Counts announcements (and losses of the connection).
    heard: std::sync::atomic::AtomicU64,
    /// Counts lookups in PostgreSQL, for tests and benchmarks to see the
    /// cache at work.
    lookups: std::sync::atomic::AtomicU64,
}

const KNOWN_FOR: Duration = Duration::from_secs(30);

impl KnownTokens {
    fn get(&self, hash: &str) -> Option<Known> {
        if !self.listening.load(std::sync::atomic::Ordering::Acquire) {
            return None;
        }
        let entries = self.entries.lock().ok()?;
        let (known, at) = entries.get(hash)?;
        (at.elapsed() < KNOWN_FOR).then(|| known.clone())
    }

    /// Whether announcements are being heard (the cache is in use).
    pub fn listening(&self) -> bool {
        self.listening.load(std::sync::atomic::Ordering::Acquire)
    }

    /// How many times this process looked a token up in PostgreSQL.
    pub fn lookups(&self) -> u64 {
        self.lookups.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn generation(&self) -> u64 {
        self.heard.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Keeps a lookup made at `generation`, unless something was announced
    /// since (it may have been about this token).
    fn put(&self, generation: u64, hash: String, known: Known) {
        if !self.listening.load(std::sync::atomic::Ordering::Acquire) {
            return;
        }
        if let Ok(mut entries) = self.entries.lock()
            && self.generation() == generation
        {
            if entries.len() > 10_000 {
                entries.retain(|_, (_, at)| at.elapsed() < KNOWN_FOR);
            }
            entries.insert(hash, (known, std::time::Instant::now()));
        }
    }

    /// Forgets `token` (`None`: every token). Also done for changes made
    /// in this process as soon as they commit, before the announcement.
    pub fn forget(&self, token: Option<Uuid>) {
        self.heard.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        if let Ok(mut entries) = self.entries.lock() {
            match token {
                Some(id) => entries.retain(|_, (k, _)| k.token != id),
                None => entries.clear(),
            }
        }
    }
}

/// Listens for token changes (see [`KnownTokens`]), reconnecting when the
/// connection is lost; the cache is off meanwhile.
pub fn start_token_listener(
    pool: sqlx::PgPool,
    api: Arc<ApiState>,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) {
    use std::sync::atomic::Ordering;
    tokio::spawn(async move {
        loop {
            let listened = async {
                let mut listener = sqlx::postgres::PgListener::connect_with(&pool).await?;
                listener.listen("crm_tokens").await?;
                api.known.forget(None);
                api.known.listening.store(true, Ordering::Release);
                loop {
                    match listener.try_recv().await? {
                        Some(n) => api.known.forget(n.payload().parse().ok()),
                        // Reconnected: what was said meanwhile is lost.
                        None => api.known.forget(None),
                    }
                }
                #[allow(unreachable_code)]
                Ok::<(), sqlx::Error>(())
            };
            let result = tokio::select! {
                r = listened => r,
                _ = stopping.wait_for(|s| *s) => return,
            };
            api.known.listening.store(false, Ordering::Release);
            api.known.forget(None);
            if let Err(sqlx::Error::PoolClosed) = result {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}

/// A request outside `/api/v1` made with an integration token (the
/// attachment files under `/storage`): authenticated, its rate limit spent
/// and its use counted as for the API, refused unless the token grants
/// `needed`.
pub async fn integration_for(
    state: &AppState,
    secret: &str,
    needed: IntegrationPermission,
) -> ApiResult<Integration> {
    let integration = authenticate(state, secret).await?;
    state
        .api
        .limits
        .spend(&state.pool, Key::Token(integration.token))
        .await?;
    state.api.usage.record(integration.token);
    integration.require(Some(needed))?;
    Ok(integration)
}

/// The API's middleware (see the module's documentation).
pub async fn admit(
    State(state): State<AppState>,
    ClientAddress(peer): ClientAddress,
    mut request: Request,
    next: Next,
) -> Response {
    let authenticated = match bearer(&request) {
        Ok(secret) => authenticate(&state, secret).await,
        Err(e) => Err(e),
    };
    let integration = match authenticated {
        Ok(integration) => integration,
        Err(refusal) => {
            // Without a valid token, the address's budget decides whether
            // it even gets its answer.
            let quota = state
                .api
                .limits
                .spend(&state.pool, Key::Address(peer))
                .await;
            return match quota {
                Ok(quota) => with_quota(refusal.into_response(), &quota),
                Err(limited) => limited.into_response(),
            };
        }
    };
    let quota = match state
        .api
        .limits
        .spend(&state.pool, Key::Token(integration.token))
        .await
    {
        Ok(quota) => quota,
        Err(limited) => return limited.into_response(),
    };
    state.api.usage.record(integration.token);
    let Ok(permit) = state.api.running.clone().acquire_owned().await else {
        return ApiError::Unavailable.into_response();
    };
    let span = tracing::info_span!("integration", token = %integration.token);
    request.extensions_mut().insert(integration);
    request.extensions_mut().insert(Permit::holding(permit));
    let response = tracing::Instrument::instrument(next.run(request), span).await;
    with_quota(response, &quota)
}

/// The request's share of the API's database connections (see
/// [`ApiState::running`]), held while it runs. A create hands it back
/// while it waits for its group: the group's writer holds one for all its
/// creates, so a burst of creates uses one connection, not one each.
#[derive(Clone)]
pub struct Permit(Arc<Mutex<Option<tokio::sync::OwnedSemaphorePermit>>>);

impl Permit {
    fn holding(permit: tokio::sync::OwnedSemaphorePermit) -> Permit {
        Permit(Arc::new(Mutex::new(Some(permit))))
    }

    /// Hands the permit back before the request ends.
    pub fn release(&self) {
        if let Ok(mut held) = self.0.lock() {
            held.take();
        }
    }
}

fn with_quota(mut response: Response, quota: &Quota) -> Response {
    quota.write_headers(response.headers_mut());
    response
}

/// Requests per token since the last write, kept in memory and written
/// every few seconds (and when the server stops), so counting use is not a
/// write per request.
#[derive(Default)]
pub struct Usage {
    pending: Mutex<HashMap<Uuid, (i64, DateTime<Utc>)>>,
}

impl Usage {
    pub fn record(&self, token: Uuid) {
        if let Ok(mut pending) = self.pending.lock() {
            let entry = pending.entry(token).or_insert((0, Utc::now()));
            entry.0 += 1;
            entry.1 = Utc::now();
        }
    }

    /// Writes what was counted since the last write.
    pub async fn write(&self, pool: &sqlx::PgPool) -> Result<(), sqlx::Error> {
        let taken: Vec<(Uuid, (i64, DateTime<Utc>))> = match self.pending.lock() {
            Ok(mut pending) => pending.drain().collect(),
            Err(_) => return Ok(()),
        };
        if taken.is_empty() {
            return Ok(());
        }
        let ids: Vec<Uuid> = taken.iter().map(|(id, _)| *id).collect();
        let counts: Vec<i64> = taken.iter().map(|(_, (n, _))| *n).collect();
        let times: Vec<DateTime<Utc>> = taken.iter().map(|(_, (_, t))| *t).collect();
        let written = async {
            let mut tx = acting::begin_service(pool).await.map_err(|e| match e {
                crate::db::DbError::Sqlx(e) => e,
                other => sqlx::Error::Protocol(other.to_string()),
            })?;
            sqlx::query!(
                "UPDATE public.integration_tokens t
                 SET use_count = t.use_count + u.n,
                     last_used_at = greatest(t.last_used_at, u.at)
                 FROM unnest($1::uuid[], $2::bigint[], $3::timestamptz[]) AS u(id, n, at)
                 WHERE t.id = u.id",
                &ids,
                &counts,
                &times
            )
            .execute(&mut *tx)
            .await?;
            tx.commit().await
        }
        .await;
        if written.is_err() {
            // Counted again next time rather than lost.
            if let Ok(mut pending) = self.pending.lock() {
                for (id, (n, at)) in taken {
                    let entry = pending.entry(id).or_insert((0, at));
                    entry.0 += n;
                    entry.1 = entry.1.max(at);
                }
            }
        }
        written
    }
}

/// Writes usage every five seconds, and once more when the server stops;
/// forgets idle rate-limit leases; hourly, prunes the API's records.
pub fn start_usage_writer(
    pool: sqlx::PgPool,
    api: Arc<ApiState>,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Pruning waits an hour: a short-lived process (a CLI command)
        // never starts it.
        let mut ticks: u64 = 1;
        loop {
            let stop = tokio::select! {
                _ = tick.tick() => false,
                _ = stopping.wait_for(|s| *s) => true,
            };
            api.limits.forget_idle();
            // Hourly: keys past their day, buckets long full.
            if ticks.is_multiple_of(720) {
                if let Err(e) = super::idempotency::prune(&pool).await {
                    tracing::warn!(error = %e, "pruning idempotency keys failed");
                }
                if let Err(e) = super::limits::prune(&pool).await {
                    tracing::warn!(error = %e, "pruning rate-limit buckets failed");
                }
            }
            ticks += 1;
            if let Err(e) = api.usage.write(&pool).await {
                tracing::warn!(error = %e, "writing integration token usage failed; kept for the next try");
            }
            if stop {
                break;
            }
        }
    });
}
