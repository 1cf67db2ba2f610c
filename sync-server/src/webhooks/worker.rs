//! Delivering: every server process runs a worker that wakes when a change
//! commits deliveries (`NOTIFY crm_webhooks`, and a poll in case one was
//! missed), claims a batch, and sends them.
//!
//! - A claim is a lease (`locked_until`) taken with `FOR UPDATE SKIP
//!   LOCKED`: processes share the work and never send one delivery at
//!   once; a process that dies mid-send leaves a lease that runs out, and
//!   the delivery is sent again (at least once).
//! - Only the oldest pending delivery of each (subscription, record) can
//!   be claimed, so one record's events arrive in order, a failing one
//!   holding back those after it.
//! - Before sending, the row must be one the subscriber may see now
//!   (row-level security, as them); if not, the delivery is skipped.
//! - A failure is retried with growing waits (the base times 1, 6, 24,
//!   60, 180, ... up to 8 hours), until a day after it was queued; then it
//!   fails, and a subscription with no success in that day is stopped and
//!   says why (its owner sees it with their webhooks).

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde_json::{Value, json};
use sqlx::postgres::PgListener;
use uuid::Uuid;

use super::{outbound, signing};
use crate::data::{Claims, acting};

const CHANNEL: &str = "crm_webhooks";
const BATCH: i64 = 256;
const AT_ONCE: usize = 64;

/// How a process delivers (from its configuration).
#[derive(Debug, Clone)]
pub struct Settings {
    pub retry_base: Duration,
    pub give_up_after: Duration,
    pub allow_private: bool,
    pub timeout: Duration,
}

impl Settings {
    /// The wait before attempt `attempts + 1`.
    pub fn backoff(&self, attempts: i32) -> Duration {
        const STEPS: [u32; 10] = [1, 6, 24, 60, 180, 360, 720, 1440, 2880, 5760];
        let step = STEPS[usize::try_from(attempts.max(1) - 1)
            .unwrap_or(0)
            .min(STEPS.len() - 1)];
        (self.retry_base * step).min(Duration::from_secs(8 * 3600))
    }

    fn lease(&self) -> Duration {
        self.timeout + Duration::from_secs(30)
    }
}

struct Claimed {
    id: i64,
    subscription_id: Uuid,
    event_type: String,
    table_name: Option<String>,
    row_id: Option<Uuid>,
    data: Value,
    changes: Option<Value>,
    occurred_at: DateTime<Utc>,
    attempts: i32,
    queued_at: DateTime<Utc>,
    url: String,
    subscriber: Uuid,
    secret: Option<String>,
}

/// Starts this process's worker.
pub fn start(pool: sqlx::PgPool, settings: Settings, stopping: tokio::sync::watch::Receiver<bool>) {
    tokio::spawn(run(pool, settings, stopping));
}

async fn run(
    pool: sqlx::PgPool,
    settings: Settings,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) {
    let client = outbound::client(settings.allow_private, settings.timeout);
    let mut listener = listen(&pool).await;
    loop {
        if *stopping.borrow() {
            return;
        }
        // Deliver until nothing is due.
        loop {
            match round(&pool, &client, &settings).await {
                Ok(0) => break,
                Ok(_) => {}
                Err(sqlx::Error::PoolClosed) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook round failed; trying again shortly");
                    break;
                }
            }
        }
        // Then wait for a commit's notification, or poll: retries come due
        // without one, and a notification may be missed while reconnecting.
        let poll = tokio::time::sleep(poll_interval(&settings));
        tokio::select! {
            _ = stopping.changed() => {}
            () = poll => {}
            woke = async {
                match listener.as_mut() {
                    Some(l) => l.try_recv().await.map(|_| ()),
                    None => std::future::pending().await,
                }
            } => {
                if woke.is_err() {
                    listener = listen(&pool).await;
                }
            }
        }
    }
}

fn poll_interval(settings: &Settings) -> Duration {
    settings
        .retry_base
        .clamp(Duration::from_millis(50), Duration::from_secs(2))
}

async fn listen(pool: &sqlx::PgPool) -> Option<PgListener> {
    let mut listener = PgListener::connect_with(pool).await.ok()?;
    listener.listen(CHANNEL).await.ok()?;
    Some(listener)
}

/// Claims a batch and delivers it; answers how many were claimed. The
/// subscribers' rights are checked once per subscriber and table, the
/// batch is sent concurrently, and its outcomes written together.
async fn round(
    pool: &sqlx::PgPool,
    client: &reqwest::Client,
    settings: &Settings,
) -> Result<usize, sqlx::Error> {
    let claimed = claim(pool, settings).await?;
    let n = claimed.len();
    if n == 0 {
        return Ok(0);
    }
    let hidden = hidden(pool, &claimed).await?;
    let outcomes: Vec<(Claimed, Outcome)> = futures_util::stream::iter(claimed)
        .map(|d| {
            let skip = hidden.contains(&d.id);
            async move {
                let outcome = if skip {
                    Outcome::Skipped("the subscriber may not see this row (or it is gone)")
                } else {
                    send(client, settings, &d).await
                };
                (d, outcome)
            }
        })
        .buffer_unordered(AT_ONCE)
        .collect()
        .await;
    record(pool, settings, outcomes).await?;
    Ok(n)
}

/// The claimed deliveries whose row their subscriber may not see now
/// (row-level security, as the subscriber: one query per subscriber and
/// table).
async fn hidden(
    pool: &sqlx::PgPool,
    claimed: &[Claimed],
) -> Result<std::collections::HashSet<i64>, sqlx::Error> {
    let mut groups: std::collections::BTreeMap<(Uuid, &str), Vec<&Claimed>> = Default::default();
    for d in claimed {
        if let (Some(table), Some(_)) = (d.table_name.as_deref(), d.row_id) {
            groups.entry((d.subscriber, table)).or_default().push(d);
        }
    }
    let mut hidden = std::collections::HashSet::new();
    for ((subscriber, table), group) in groups {
        let mut tx = acting::begin_as(pool, &Claims::user(subscriber))
            .await
            .map_err(|e| match e {
                crate::db::DbError::Sqlx(e) => e,
                other => sqlx::Error::Protocol(other.to_string()),
            })?;
        let ids: Vec<Uuid> = group.iter().filter_map(|d| d.row_id).collect();
        let seen: std::collections::HashSet<Uuid> = sqlx::query_scalar!(
            r#"SELECT v AS "id!" FROM api.visible_ids($1, $2) v"#,
            table,
            &ids
        )
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .collect();
        tx.commit().await?;
        hidden.extend(
            group
                .iter()
                .filter(|d| d.row_id.is_some_and(|r| !seen.contains(&r)))
                .map(|d| d.id),
        );
    }
    Ok(hidden)
}

async fn claim(pool: &sqlx::PgPool, settings: &Settings) -> Result<Vec<Claimed>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    acting::act_as_service(&mut tx).await?;
    let lease = settings.lease().as_secs_f64();
    let rows = sqlx::query_as!(
        Claimed,
        r#"WITH due AS (
               SELECT d.id FROM api.webhook_deliveries d
               JOIN public.webhook_subscriptions s ON s.id = d.subscription_id AND s.is_active
               WHERE d.state = 'pending' AND d.next_attempt_at <= now()
                 AND (d.locked_until IS NULL OR d.locked_until < now())
                 AND NOT EXISTS (SELECT 1 FROM api.webhook_deliveries e
                                 WHERE e.subscription_id = d.subscription_id
                                   AND e.record_id = d.record_id
                                   AND e.state = 'pending' AND e.id < d.id)
               ORDER BY d.id
               LIMIT $1
               FOR UPDATE OF d SKIP LOCKED)
           UPDATE api.webhook_deliveries d
           SET locked_until = now() + make_interval(secs => $2), attempts = d.attempts + 1
           FROM due, public.webhook_subscriptions s
           WHERE d.id = due.id AND s.id = d.subscription_id
           RETURNING d.id, d.subscription_id, d.event_type, d.table_name, d.row_id, d.data,
                     d.changes, d.occurred_at, d.attempts, d.queued_at,
                     s.url, s.created_by AS subscriber,
                     (SELECT k.secret FROM api.webhook_secrets k WHERE k.subscription_id = s.id) AS secret"#,
        BATCH,
        lease
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows)
}

/// What became of one attempt.
enum Outcome {
    Delivered(u16),
    Skipped(&'static str),
    /// Worth trying again (the receiver failed or could not be reached).
    Failed {
        status: Option<u16>,
        error: String,
    },
    /// Never worth trying again (a target the server may not reach).
    Refused(String),
}

/// Writes a batch's outcomes: deliveries and skips in one statement each,
/// failures one by one (they decide on retries and on stopping).
async fn record(
    pool: &sqlx::PgPool,
    settings: &Settings,
    outcomes: Vec<(Claimed, Outcome)>,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    acting::act_as_service(&mut tx).await?;
    let (mut delivered, mut statuses) = (Vec::new(), Vec::new());
    let (mut skipped, mut why) = (Vec::new(), Vec::new());
    for (d, outcome) in outcomes {
        match outcome {
            Outcome::Delivered(status) => {
                delivered.push(d.id);
                statuses.push(i32::from(status));
            }
            Outcome::Skipped(reason) => {
                skipped.push(d.id);
                why.push(reason.to_owned());
            }
            Outcome::Failed { status, error } => {
                let give_up = d.queued_at
                    + chrono::TimeDelta::from_std(settings.give_up_after)
                        .unwrap_or(chrono::TimeDelta::days(1));
                let next = Utc::now()
                    + chrono::TimeDelta::from_std(settings.backoff(d.attempts))
                        .unwrap_or(chrono::TimeDelta::hours(8));
                if next > give_up {
                    fail(&mut tx, &d, status, &error, settings).await?;
                } else {
                    sqlx::query!(
                        "UPDATE api.webhook_deliveries SET next_attempt_at = $2, last_status = $3,
                             last_error = $4, locked_until = NULL WHERE id = $1",
                        d.id,
                        next,
                        status.map(i32::from),
                        error
                    )
                    .execute(&mut *tx)
                    .await?;
                }
            }
            Outcome::Refused(error) => fail(&mut tx, &d, None, &error, settings).await?,
        }
    }
    if !delivered.is_empty() {
        sqlx::query!(
            "UPDATE api.webhook_deliveries d SET state = 'delivered', delivered_at = now(),
                 last_status = u.status, last_error = NULL, locked_until = NULL
             FROM unnest($1::bigint[], $2::int[]) AS u(id, status) WHERE d.id = u.id",
            &delivered,
            &statuses
        )
        .execute(&mut *tx)
        .await?;
    }
    if !skipped.is_empty() {
        sqlx::query!(
            "UPDATE api.webhook_deliveries d SET state = 'skipped', last_error = u.why, locked_until = NULL
             FROM unnest($1::bigint[], $2::text[]) AS u(id, why) WHERE d.id = u.id",
            &skipped,
            &why
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

/// Gives a delivery up; stops its subscription if nothing got through to
/// it for as long as a delivery is retried.
async fn fail(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    d: &Claimed,
    status: Option<u16>,
    error: &str,
    settings: &Settings,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE api.webhook_deliveries SET state = 'failed', last_status = $2, last_error = $3,
             locked_until = NULL WHERE id = $1",
        d.id,
        status.map(i32::from),
        error
    )
    .execute(&mut **tx)
    .await?;
    let window = settings.give_up_after.as_secs_f64();
    let stopped = sqlx::query!(
        "UPDATE public.webhook_subscriptions s
         SET is_active = false, disabled_at = now(),
             disabled_reason = 'stopped by the server: deliveries failed for '
                 || to_char(make_interval(secs => $2), 'HH24:MI:SS') || ' (last: ' || left($3, 200) || ')'
         WHERE s.id = $1 AND s.is_active
           AND NOT EXISTS (SELECT 1 FROM api.webhook_deliveries k
                           WHERE k.subscription_id = s.id AND k.state = 'delivered'
                             AND k.delivered_at > now() - make_interval(secs => $2))",
        d.subscription_id,
        window,
        error
    )
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if stopped > 0 {
        tracing::warn!(webhook = %d.subscription_id, "webhook stopped: deliveries failed for the whole retry window");
    }
    Ok(())
}

async fn send(client: &reqwest::Client, settings: &Settings, d: &Claimed) -> Outcome {
    let Some(secret) = &d.secret else {
        return Outcome::Refused("the subscription has no secret".into());
    };
    let Ok(url) = reqwest::Url::parse(&d.url) else {
        return Outcome::Refused("the URL does not parse".into());
    };
    if outbound::forbidden_literal(&url, settings.allow_private) {
        return Outcome::Refused("the URL points into the server's own network".into());
    }
    let mut body = json!({
        "type": d.event_type,
        "timestamp": d.occurred_at,
        "data": d.data,
    });
    if let Some(changes) = &d.changes {
        body["changes"] = changes.clone();
    }
    let body = body.to_string();
    let message_id = format!("msg_{}", d.id);
    let timestamp = Utc::now().timestamp();
    let Some(signature) = signing::sign(secret, &message_id, timestamp, body.as_bytes()) else {
        return Outcome::Refused("the secret does not decode".into());
    };
    let sent = client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &message_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await;
    match sent {
        Ok(response) if response.status().is_success() => {
            Outcome::Delivered(response.status().as_u16())
        }
        Ok(response) => Outcome::Failed {
            status: Some(response.status().as_u16()),
            error: format!("the receiver answered {}", response.status()),
        },
        Err(e) => Outcome::Failed {
            status: None,
            error: format!("sending failed: {}", error_chain(&e)),
        },
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text.chars().take(500).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_longer_each_time_up_to_eight_hours() {
        let s = Settings {
            retry_base: Duration::from_secs(5),
            give_up_after: Duration::from_secs(86_400),
            allow_private: false,
            timeout: Duration::from_secs(10),
        };
        let waits: Vec<u64> = (1..=12).map(|a| s.backoff(a).as_secs()).collect();
        assert_eq!(waits[..4], [5, 30, 120, 300]);
        assert!(waits.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(*waits.last().unwrap_or(&0), 8 * 3600);
    }
}
