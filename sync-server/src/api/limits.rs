//! Rate limits of the integration API, per token and (for requests without
//! a valid one) per client address, that hold across server processes.
//!
//! The budget lives in PostgreSQL (`api.rate_buckets`, a GCRA bucket per
//! key: a steady rate and a burst). A process takes a few requests' worth
//! at a time (a lease, a tenth of the burst at most) and spends them
//! locally, so a busy token costs one statement per lease, not per
//! request; one refill at a time per key, so requests that find the
//! lease empty together wait for it rather than each taking a lease from
//! the bucket's row. Leases are spent within a second or dropped, and what a
//! process leased is gone from the shared bucket whether it is spent or
//! not: several processes together never let through more than the limit,
//! they may only let through a little less.
//!
//! Answers carry the IETF draft's `RateLimit-Policy` and `RateLimit`
//! headers; a 429 also `Retry-After`. The sync endpoints have their own
//! budgets (`crate::limits`), so a burst here never slows the apps' sync.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderValue};
use uuid::Uuid;

use crate::config::ServerConfig;
use crate::error::{ApiError, ApiResult};

/// Whose budget a request spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    Token(Uuid),
    /// A request without a valid token, by the address it came from.
    Address(IpAddr),
}

impl Key {
    fn bucket(&self) -> String {
        match self {
            Key::Token(id) => format!("token:{id}"),
            Key::Address(ip) => format!("address:{ip}"),
        }
    }
}

/// A steady rate with a burst.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub name: &'static str,
    pub per_minute: u32,
    pub burst: u32,
}

impl Policy {
    /// Milliseconds between two requests at the steady rate.
    fn interval_ms(&self) -> f64 {
        60_000.0 / f64::from(self.per_minute.max(1))
    }

    /// How many requests a process takes from the shared bucket at once.
    fn lease(&self) -> u32 {
        (self.burst / 10).clamp(1, 20)
    }
}

/// Where a key's budget stands after a request was let through.
#[derive(Debug, Clone, Copy)]
pub struct Quota {
    pub policy: Policy,
    /// Requests left in the burst (as this process knows it).
    pub remaining: u32,
}

impl Quota {
    /// `RateLimit-Policy: "token";q=100;w=10` (the burst, and the seconds
    /// the steady rate takes to refill it) and `RateLimit: "token";r=42;t=6`
    /// (left, and seconds until the burst is whole again).
    pub fn write_headers(&self, headers: &mut HeaderMap) {
        let p = &self.policy;
        let window = (f64::from(p.burst) * p.interval_ms() / 1000.0).ceil() as u64;
        let refill = (f64::from(p.burst.saturating_sub(self.remaining)) * p.interval_ms() / 1000.0)
            .ceil() as u64;
        if let Ok(v) = HeaderValue::from_str(&format!("\"{}\";q={};w={window}", p.name, p.burst)) {
            headers.insert("ratelimit-policy", v);
        }
        if let Ok(v) =
            HeaderValue::from_str(&format!("\"{}\";r={};t={refill}", p.name, self.remaining))
        {
            headers.insert("ratelimit", v);
        }
    }
}

/// What this process holds of one key's budget.
#[derive(Debug, Default)]
struct Held {
    /// Requests leased and not spent yet.
    left: u32,
    /// What the shared bucket had left after the last lease.
    shared: u32,
    leased_at: Option<Instant>,
    /// Refused until then, without asking the database again.
    refused_until: Option<Instant>,
}

/// A lease is spent within this, or dropped: a lease taken long ago and
/// spent now would let a process burst past the limit.
const LEASE_LIFE: Duration = Duration::from_secs(1);

pub struct RateLimits {
    token: Policy,
    address: Policy,
    held: Mutex<HashMap<Key, Held>>,
    /// Taken while a key's lease is refilled (see `spend`).
    refills: Mutex<HashMap<Key, std::sync::Arc<tokio::sync::Mutex<()>>>>,
}

impl RateLimits {
    pub fn new(config: &ServerConfig) -> RateLimits {
        RateLimits {
            token: Policy {
                name: "token",
                per_minute: config.api_requests_per_minute,
                burst: config.api_burst.max(1),
            },
            address: Policy {
                name: "address",
                per_minute: config.api_anonymous_per_minute,
                burst: (config.api_anonymous_per_minute / 3).max(1),
            },
            held: Mutex::new(HashMap::new()),
            refills: Mutex::new(HashMap::new()),
        }
    }

    fn policy(&self, key: &Key) -> Policy {
        match key {
            Key::Token(_) => self.token,
            Key::Address(_) => self.address,
        }
    }

    /// Spends one request from what this process holds of `key`'s budget,
    /// if it holds any (`Err`: refused, without asking the database).
    fn spend_held(&self, key: Key, policy: Policy) -> ApiResult<Option<Quota>> {
        let now = Instant::now();
        let mut held = self.held.lock().map_err(|_| ApiError::Unavailable)?;
        let h = held.entry(key).or_default();
        if let Some(until) = h.refused_until {
            if until > now {
                return Err(limited(until - now));
            }
            h.refused_until = None;
        }
        if h.leased_at.is_some_and(|at| now - at > LEASE_LIFE) {
            h.left = 0;
        }
        if h.left == 0 {
            return Ok(None);
        }
        h.left -= 1;
        Ok(Some(Quota {
            policy,
            remaining: h.left + h.shared,
        }))
    }

    /// Spends one request of `key`'s budget, or answers 429 with when to
    /// come back.
    pub async fn spend(&self, pool: &sqlx::PgPool, key: Key) -> ApiResult<Quota> {
        let policy = self.policy(&key);
        if let Some(spent) = self.spend_held(key, policy)? {
            return Ok(spent);
        }
        // One lease at a time per key: requests that found the lease empty
        // together wait for one refill, rather than all queueing on the
        // bucket's row in PostgreSQL and each taking a lease.
        let refill = {
            let mut refills = self.refills.lock().map_err(|_| ApiError::Unavailable)?;
            refills.entry(key).or_default().clone()
        };
        let _refilling = refill.lock().await;
        if let Some(spent) = self.spend_held(key, policy)? {
            return Ok(spent);
        }
        // Else a new lease from the shared bucket.
        let mut tx = crate::data::acting::begin_service(pool).await?;
        let row = sqlx::query!(
            r#"SELECT granted AS "granted!", remaining AS "remaining!", retry_after_ms AS "retry_after_ms!"
               FROM api.take_from_bucket($1, $2, $3, $4)"#,
            key.bucket(),
            policy.interval_ms(),
            i32::try_from(policy.burst).unwrap_or(i32::MAX),
            i32::try_from(policy.lease()).unwrap_or(1)
        )
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        let mut held = self.held.lock().map_err(|_| ApiError::Unavailable)?;
        let h = held.entry(key).or_default();
        if row.granted <= 0 {
            let wait = Duration::from_millis(u64::try_from(row.retry_after_ms).unwrap_or(1000));
            h.refused_until = Some(Instant::now() + wait);
            tracing::info!(?key, ?wait, "integration API rate limit reached");
            return Err(limited(wait));
        }
        let granted = u32::try_from(row.granted).unwrap_or(1);
        h.left += granted - 1;
        h.shared = u32::try_from(row.remaining).unwrap_or(0);
        h.leased_at = Some(Instant::now());
        Ok(Quota {
            policy,
            remaining: h.left + h.shared,
        })
    }

    /// Forgets keys not seen for a while.
    pub fn forget_idle(&self) {
        if let Ok(mut held) = self.held.lock() {
            let now = Instant::now();
            held.retain(|_, h| {
                h.refused_until.is_some_and(|u| u > now)
                    || h.leased_at.is_some_and(|at| now - at < LEASE_LIFE)
            });
        }
        if let Ok(mut refills) = self.refills.lock() {
            // Nobody is refilling or waiting to.
            refills.retain(|_, refill| std::sync::Arc::strong_count(refill) > 1);
        }
    }
}

/// Drops buckets that have been full for an hour (a bucket absent is full).
pub async fn prune(pool: &sqlx::PgPool) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    crate::data::acting::act_as_service(&mut tx).await?;
    sqlx::query!("DELETE FROM api.rate_buckets WHERE tat < now() - interval '1 hour'")
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

fn limited(wait: Duration) -> ApiError {
    ApiError::RateLimited {
        retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
    }
}
