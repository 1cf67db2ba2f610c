//! The engine's decisions, as a pure state machine: no tokio, no HTTP, no
//! clock, no randomness of its own (the driver passes a draw in). Given how
//! a round ended, it says what to show, whether to drop the access token,
//! and how long to wait before the next round; a live stream that ends says
//! how long to wait before reconnecting. The driver (`super::Engine`) does
//! the I/O and obeys.
//!
//! Why only these decisions, not each page of a round: within a round the
//! engine follows the protocol in a straight line (push until the outbox is
//! empty, pull while `has_more`), with nothing to decide between steps;
//! everything that chooses (retry or not, how soon, what the user is told)
//! happens when a round ends, and is here.

use std::time::Duration;

use super::SyncState;

/// How a round ended, as far as the decision goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RoundEnd {
    /// Pushed and pulled until caught up.
    Done,
    /// The server did not accept the access token (it may just have
    /// expired).
    Unauthorized(String),
    /// The account was deactivated or this sign-in revoked: never retried.
    AccessEnded(String),
    /// This app is too old for the server.
    UpgradeRequired,
    /// The server took the connection but said nothing for too long.
    NotResponding(String),
    /// The server could not be reached, or answered with an error.
    Unreachable(String),
    /// The replica failed (disk full, a corrupt page): nothing the server
    /// can fix, but worth retrying later.
    LocalFailure(String),
}

/// What the driver does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decision {
    /// Show this state and message (none: leave the status as it is).
    pub publish: Option<(SyncState, Option<String>)>,
    /// Forget the access token before the next round (a fresh one is
    /// fetched with the refresh token).
    pub drop_access_token: bool,
    /// Wait this long (or until woken) before the next round.
    pub wait: Duration,
}

/// Backoff bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Backoff {
    pub min: Duration,
    pub max: Duration,
}

impl Backoff {
    /// Exponential backoff with "equal jitter": a wait drawn evenly from the
    /// upper half of min(max, min * 2^failures), `draw` (in 0..=1) placing
    /// it. Half is random so that many clients dropped at once by one outage
    /// do not come back in step; half is fixed so that a retry never comes
    /// at once (full jitter can draw ~0).
    pub fn wait(&self, failures: u32, draw: f64) -> Duration {
        let ceiling = self
            .min
            .saturating_mul(1u32 << failures.min(16))
            .min(self.max)
            .max(Duration::from_millis(1));
        let half = ceiling / 2;
        half + (ceiling - half).mul_f64(draw.clamp(0.0, 1.0))
    }
}

/// How long to wait when the server will not talk to this app or session
/// any more: until the user acts (a sign-in or an update wakes the engine).
pub(crate) const PARKED: Duration = Duration::from_secs(3600);

/// The engine's memory between rounds.
#[derive(Debug, Clone)]
pub(crate) struct Machine {
    backoff: Backoff,
    poll_interval: Duration,
    /// Rounds that failed in a row.
    failures: u32,
}

impl Machine {
    pub fn new(backoff: Backoff, poll_interval: Duration) -> Machine {
        Machine {
            backoff,
            poll_interval,
            failures: 0,
        }
    }

    /// A round ended; `draw` (in 0..=1) is the jitter for a backoff.
    pub fn round_ended(&mut self, end: RoundEnd, draw: f64) -> Decision {
        let decide = |publish, drop_access_token, wait| Decision {
            publish: Some(publish),
            drop_access_token,
            wait,
        };
        match end {
            RoundEnd::Done => {
                self.failures = 0;
                decide((SyncState::Idle, None), false, self.poll_interval)
            }
            RoundEnd::Unauthorized(message) => {
                // One fresh try with a new access token; a second refusal
                // means the session itself is over.
                self.failures += 1;
                if self.failures > 2 {
                    decide((SyncState::SignInRequired, Some(message)), true, PARKED)
                } else {
                    Decision {
                        publish: None,
                        drop_access_token: true,
                        wait: Duration::ZERO,
                    }
                }
            }
            RoundEnd::AccessEnded(message) => {
                decide((SyncState::AccessEnded, Some(message)), true, PARKED)
            }
            RoundEnd::UpgradeRequired => decide(
                (
                    SyncState::UpgradeRequired,
                    Some(crate::error::CoreError::UpgradeRequired.to_string()),
                ),
                false,
                PARKED,
            ),
            RoundEnd::NotResponding(message) => {
                self.back_off(SyncState::NotResponding, message, draw)
            }
            RoundEnd::Unreachable(message) | RoundEnd::LocalFailure(message) => {
                self.back_off(SyncState::Offline, message, draw)
            }
        }
    }

    fn back_off(&mut self, state: SyncState, message: String, draw: f64) -> Decision {
        self.failures += 1;
        Decision {
            publish: Some((state, Some(message))),
            drop_access_token: false,
            wait: self.backoff.wait(self.failures, draw),
        }
    }

    /// Rounds that failed in a row.
    #[cfg(test)]
    pub fn failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BACKOFF: Backoff = Backoff {
        min: Duration::from_millis(500),
        max: Duration::from_secs(15),
    };

    fn machine() -> Machine {
        Machine::new(BACKOFF, Duration::from_secs(60))
    }

    #[test]
    fn backoff_doubles_to_its_ceiling_and_keeps_half_of_each_wait_fixed() {
        for (failures, ceiling_ms) in [
            (1u32, 1_000u64),
            (2, 2_000),
            (4, 8_000),
            (5, 15_000),
            (40, 15_000),
        ] {
            let low = BACKOFF.wait(failures, 0.0).as_millis() as u64;
            let high = BACKOFF.wait(failures, 1.0).as_millis() as u64;
            assert_eq!(
                (low, high),
                (ceiling_ms / 2, ceiling_ms),
                "failure {failures}"
            );
            let mid = BACKOFF.wait(failures, 0.5).as_millis() as u64;
            assert_eq!(mid, ceiling_ms * 3 / 4, "failure {failures}");
        }
        // A draw out of range is clamped, never a wait beyond the bounds.
        assert_eq!(BACKOFF.wait(40, 7.0), Duration::from_secs(15));
        assert_eq!(BACKOFF.wait(1, -1.0), Duration::from_millis(500));
    }

    #[test]
    fn a_server_that_cannot_be_reached_is_retried_ever_later_and_a_success_starts_over() {
        let mut m = machine();
        let waits: Vec<_> = (0..6)
            .map(|_| m.round_ended(RoundEnd::Unreachable("refused".into()), 1.0))
            .map(|d| {
                assert_eq!(d.publish.map(|p| p.0), Some(SyncState::Offline));
                d.wait
            })
            .collect();
        assert!(waits.windows(2).all(|w| w[0] <= w[1]), "{waits:?}");
        assert_eq!(waits.last(), Some(&Duration::from_secs(15)));
        let done = m.round_ended(RoundEnd::Done, 1.0);
        assert_eq!(done.publish, Some((SyncState::Idle, None)));
        assert_eq!(done.wait, Duration::from_secs(60), "the poll interval");
        assert_eq!(m.failures(), 0);
        let again = m.round_ended(RoundEnd::Unreachable("refused".into()), 1.0);
        assert_eq!(again.wait, Duration::from_secs(1), "back to the first step");
    }

    #[test]
    fn a_silent_server_is_told_apart_from_an_unreachable_one() {
        let mut m = machine();
        let d = m.round_ended(RoundEnd::NotResponding("silent".into()), 0.0);
        assert_eq!(
            d.publish,
            Some((SyncState::NotResponding, Some("silent".to_string())))
        );
        let local = m.round_ended(RoundEnd::LocalFailure("disk full".into()), 0.0);
        assert_eq!(local.publish.map(|p| p.0), Some(SyncState::Offline));
        assert!(local.wait > d.wait, "failures of either kind add up");
    }

    #[test]
    fn a_refused_token_is_renewed_at_once_and_a_refused_session_asks_for_sign_in() {
        let mut m = machine();
        let first = m.round_ended(RoundEnd::Unauthorized("expired".into()), 0.5);
        assert!(first.drop_access_token);
        assert_eq!(first.wait, Duration::ZERO);
        assert_eq!(first.publish, None, "no alarm for an expired token");
        m.round_ended(RoundEnd::Unauthorized("expired".into()), 0.5);
        let third = m.round_ended(RoundEnd::Unauthorized("revoked".into()), 0.5);
        assert_eq!(
            third.publish,
            Some((SyncState::SignInRequired, Some("revoked".to_string())))
        );
        assert_eq!(third.wait, PARKED);
    }

    #[test]
    fn an_app_too_old_for_the_server_waits_for_an_update_and_says_so() {
        let mut m = machine();
        let d = m.round_ended(RoundEnd::UpgradeRequired, 0.5);
        let (state, message) = d.publish.unwrap_or((SyncState::Idle, None));
        assert_eq!(state, SyncState::UpgradeRequired);
        assert!(message.is_some());
        assert_eq!(d.wait, PARKED);
        assert!(!d.drop_access_token);
    }

    #[test]
    fn access_ended_parks_the_engine_at_once_without_a_second_try() {
        let mut m = machine();
        let d = m.round_ended(RoundEnd::AccessEnded("deactivated".into()), 0.5);
        assert_eq!(
            d.publish,
            Some((SyncState::AccessEnded, Some("deactivated".to_string())))
        );
        assert_eq!(d.wait, PARKED);
    }
}
