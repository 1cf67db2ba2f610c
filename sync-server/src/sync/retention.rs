//! Pruning what would grow forever, hourly and at start-up: change-log
//! entries older than the retention period (a client whose cursor predates
//! what was pruned is told to reload: `reset`; see the change_retention
//! migration and `pull`), the sync bookkeeping (replay outcomes, clocks of
//! rows gone, old resolved conflicts, clients silent for a year: see the
//! prune_bookkeeping migration for what is kept and why), and sign-in
//! attempts older than [`LOGIN_ATTEMPTS_KEPT`].

use std::time::Duration;

/// How often a server process prunes. Several processes on one database may
/// all do it: pruning twice deletes nothing more.
const EVERY: Duration = Duration::from_secs(60 * 60);

/// How long sign-in attempts are kept: long past the throttling window
/// (15 minutes), long enough to look into a burst of failures.
pub const LOGIN_ATTEMPTS_KEPT: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// Starts this process's pruner; it ends when the pool is closed.
pub fn start(pool: sqlx::PgPool, keep: Duration) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match prune(&pool, keep).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(entries = n, "pruned the change log"),
                Err(sqlx::Error::PoolClosed) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "pruning the change log failed; next hour again")
                }
            }
            match prune_bookkeeping(&pool, keep).await {
                Ok(pruned) if pruned.is_empty() => {}
                Ok(pruned) => tracing::info!(?pruned, "pruned the sync bookkeeping"),
                Err(sqlx::Error::PoolClosed) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "pruning the sync bookkeeping failed; next hour again")
                }
            }
            match crate::accounts::store::prune_login_attempts(&pool, LOGIN_ATTEMPTS_KEPT).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(attempts = n, "pruned old sign-in attempts"),
                Err(sqlx::Error::PoolClosed) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "pruning sign-in attempts failed; next hour again")
                }
            }
        }
    });
}

/// Deletes the log entries older than `keep`; returns how many went.
#[tracing::instrument(name = "prune_changes", skip(pool))]
pub async fn prune(pool: &sqlx::PgPool, keep: Duration) -> Result<i64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    crate::data::acting::act_as_service(&mut tx).await?;
    let seconds = i64::try_from(keep.as_secs()).unwrap_or(i64::MAX);
    let n = sqlx::query_scalar!(
        r#"SELECT sync.prune_changes(make_interval(secs => $1::bigint::double precision)) AS "n!""#,
        seconds
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(n)
}

/// What one pass of [`prune_bookkeeping`] removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    pub outcomes: i64,
    pub clocks: i64,
    pub conflicts: i64,
    pub clients: i64,
}

impl Pruned {
    fn is_empty(&self) -> bool {
        self.outcomes + self.clocks + self.conflicts + self.clients == 0
    }
}

/// Deletes the sync bookkeeping nothing needs any more (older than `keep`,
/// or about rows that are gone).
#[tracing::instrument(name = "prune_bookkeeping", skip(pool))]
pub async fn prune_bookkeeping(pool: &sqlx::PgPool, keep: Duration) -> Result<Pruned, sqlx::Error> {
    let mut tx = pool.begin().await?;
    crate::data::acting::act_as_service(&mut tx).await?;
    let seconds = i64::try_from(keep.as_secs()).unwrap_or(i64::MAX);
    let row = sqlx::query!(
        r#"SELECT outcomes AS "outcomes!", clocks AS "clocks!", conflicts AS "conflicts!", clients AS "clients!"
           FROM sync.prune_bookkeeping(make_interval(secs => $1::bigint::double precision))"#,
        seconds
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Pruned {
        outcomes: row.outcomes,
        clocks: row.clocks,
        conflicts: row.conflicts,
        clients: row.clients,
    })
}

/// Every ten minutes, drops the request budgets of users who have been
/// quiet long enough for theirs to be full again.
pub fn forget_idle_budgets(budgets: std::sync::Arc<crate::limits::Budgets>) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(std::time::Duration::from_secs(600));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            budgets.forget_idle();
        }
    });
}
