//! Per-user budgets for the sync endpoints (security review M6): pushes,
//! pulls, and whole-table reads (a first load, a refetch, a checksum
//! comparison), each a token bucket keyed by user, so that one account,
//! however many devices or scripts it runs, cannot make the server do
//! unbounded work, while a well-behaved app never meets a limit (its
//! first load fits in the pull burst; it compares checksums every ten
//! minutes). Past a budget the answer is 429 with `Retry-After`; the app
//! backs off and tries again, losing nothing.
//!
//! Budgets are per server process: behind several processes a user gets
//! each one's. The integration API's limits, which must hold across
//! processes, are a different design (in PostgreSQL).

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use uuid::Uuid;

use crate::config::ServerConfig;
use crate::error::ApiError;

/// What a request spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    Push,
    Pull,
    /// A read of every row the user may see.
    Scan,
}

pub struct Budgets {
    push: DefaultKeyedRateLimiter<Uuid>,
    pull: DefaultKeyedRateLimiter<Uuid>,
    scan: DefaultKeyedRateLimiter<Uuid>,
}

impl Budgets {
    pub fn new(config: &ServerConfig) -> Budgets {
        let quota = |per: Duration, n: u32, burst_share: u32| {
            let n = NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
            let burst = NonZeroU32::new(n.get() / burst_share).unwrap_or(NonZeroU32::MIN);
            Quota::with_period(per / n.get())
                .unwrap_or_else(|| Quota::per_second(n))
                .allow_burst(burst)
        };
        let minute = Duration::from_secs(60);
        Budgets {
            push: RateLimiter::keyed(quota(minute, config.pushes_per_minute, 10)),
            pull: RateLimiter::keyed(quota(minute, config.pulls_per_minute, 4)),
            scan: RateLimiter::keyed(quota(minute * 60, config.scans_per_hour, 4)),
        }
    }

    /// Spends one of `user`'s `budget`, or says when to come back.
    pub fn spend(&self, budget: Budget, user: Uuid) -> Result<(), ApiError> {
        let limiter = match budget {
            Budget::Push => &self.push,
            Budget::Pull => &self.pull,
            Budget::Scan => &self.scan,
        };
        limiter.check_key(&user).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            tracing::info!(%user, ?budget, ?wait, "over budget");
            ApiError::RateLimited {
                retry_after_secs: wait.as_secs().max(1),
            }
        })
    }

    /// Forgets users who have not spent anything for a while (the buckets
    /// of a busy server would otherwise only grow).
    pub fn forget_idle(&self) {
        for limiter in [&self.push, &self.pull, &self.scan] {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    fn budgets(flags: &[&str]) -> Budgets {
        let mut args = vec!["sync-server"];
        args.extend_from_slice(flags);
        let config = crate::config::Config::try_parse_from(args).unwrap_or_else(|e| panic!("{e}"));
        Budgets::new(&config.server)
    }

    #[test]
    fn a_burst_is_allowed_then_the_next_waits_and_other_users_are_untouched() {
        let b = budgets(&["--scans-per-hour", "8"]);
        let (ana, ben) = (Uuid::now_v7(), Uuid::now_v7());
        // A quarter of the hour's budget at once.
        assert!(b.spend(Budget::Scan, ana).is_ok());
        assert!(b.spend(Budget::Scan, ana).is_ok());
        match b.spend(Budget::Scan, ana) {
            Err(ApiError::RateLimited { retry_after_secs }) => {
                assert!(
                    (400..=450).contains(&retry_after_secs),
                    "{retry_after_secs}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(b.spend(Budget::Scan, ben).is_ok(), "budgets are per user");
        assert!(b.spend(Budget::Pull, ana).is_ok(), "and per kind");
    }

    #[test]
    fn the_default_pull_burst_covers_a_first_load_of_a_million_rows() {
        let b = budgets(&[]);
        let ana = Uuid::now_v7();
        // 1,000,000 rows in pages of 5,000.
        for page in 0..200 {
            assert!(b.spend(Budget::Pull, ana).is_ok(), "page {page}");
        }
    }
}
