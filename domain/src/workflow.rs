//! The ticket status state machine: which status may follow which. A
//! PostgreSQL function mirrors this table, and a test compares the two pair by
//! pair, so [`TicketStatus::allowed_transitions`] is the one place to change it.

use thiserror::Error;

use crate::enums::TicketStatus;

impl TicketStatus {
    /// The statuses a ticket in this status may move to, in [`TicketStatus::ALL`]
    /// order. Staying in the same status is never listed: it is not a move.
    pub const fn allowed_transitions(self) -> &'static [TicketStatus] {
        match self {
            Self::Open => &[
                Self::InProgress,
                Self::PendingCustomer,
                Self::Resolved,
                Self::Closed,
            ],
            Self::InProgress => &[Self::PendingCustomer, Self::Resolved, Self::Closed],
            Self::PendingCustomer => &[Self::InProgress, Self::Resolved, Self::Closed],
            // Work on a resolved ticket resumes only through `reopened`, so the
            // history shows that the resolution did not hold.
            Self::Resolved => &[Self::Closed, Self::Reopened],
            Self::Closed => &[Self::Reopened],
            // Not `open` again: nothing returns to `open`, so `open` always means
            // "never worked on yet".
            Self::Reopened => &[
                Self::InProgress,
                Self::PendingCustomer,
                Self::Resolved,
                Self::Closed,
            ],
        }
    }

    /// Whether moving from `self` to `to` is a real, allowed move. False when
    /// `to == self`, because staying put is not a transition.
    pub fn can_transition_to(self, to: TicketStatus) -> bool {
        self.allowed_transitions().contains(&to)
    }

    /// Whether the ticket still needs work, i.e. it is neither resolved nor closed.
    pub const fn is_open(self) -> bool {
        !matches!(self, Self::Resolved | Self::Closed)
    }
}

/// Every allowed `(from, to)` pair, ordered by `from` then `to` as in
/// [`TicketStatus::ALL`]; handy for comparing with the database's copy.
pub fn allowed_transition_pairs() -> impl Iterator<Item = (TicketStatus, TicketStatus)> {
    TicketStatus::ALL
        .into_iter()
        .flat_map(|from| from.allowed_transitions().iter().map(move |&to| (from, to)))
}

/// A status change the workflow does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error(
    "cannot move a ticket from {from} to {to}; allowed from {from}: {}",
    join_statuses(.from.allowed_transitions())
)]
pub struct TransitionError {
    /// The ticket's current status.
    pub from: TicketStatus,
    /// The refused target status.
    pub to: TicketStatus,
}

impl TransitionError {
    /// The moves that would have been accepted instead.
    pub const fn allowed(&self) -> &'static [TicketStatus] {
        self.from.allowed_transitions()
    }
}

fn join_statuses(statuses: &[TicketStatus]) -> String {
    statuses
        .iter()
        .map(|status| status.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Accepts an allowed move, and also `from == to`: saving a ticket without
/// changing its status is a no-op, not a refused transition.
pub fn check_transition(from: TicketStatus, to: TicketStatus) -> Result<(), TransitionError> {
    if from == to || from.can_transition_to(to) {
        Ok(())
    } else {
        Err(TransitionError { from, to })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use TicketStatus::{Closed, InProgress, Open, PendingCustomer, Reopened, Resolved};

    /// The specification's table, written out independently of the code under test.
    const EXPECTED: [(TicketStatus, TicketStatus); 17] = [
        (Open, InProgress),
        (Open, PendingCustomer),
        (Open, Resolved),
        (Open, Closed),
        (InProgress, PendingCustomer),
        (InProgress, Resolved),
        (InProgress, Closed),
        (PendingCustomer, InProgress),
        (PendingCustomer, Resolved),
        (PendingCustomer, Closed),
        (Resolved, Closed),
        (Resolved, Reopened),
        (Closed, Reopened),
        (Reopened, InProgress),
        (Reopened, PendingCustomer),
        (Reopened, Resolved),
        (Reopened, Closed),
    ];

    #[test]
    fn every_pair_is_allowed_exactly_when_the_table_lists_it() {
        for from in TicketStatus::ALL {
            for to in TicketStatus::ALL {
                let expected = EXPECTED.contains(&(from, to));
                assert_eq!(
                    from.can_transition_to(to),
                    expected,
                    "{from} -> {to} should be {}",
                    if expected { "allowed" } else { "refused" }
                );
            }
        }
    }

    #[test]
    fn allowed_pairs_list_the_table_in_order() {
        assert_eq!(allowed_transition_pairs().collect::<Vec<_>>(), EXPECTED);
    }

    #[test]
    fn staying_in_the_same_status_is_not_a_transition() {
        for status in TicketStatus::ALL {
            assert!(!status.can_transition_to(status));
            assert!(!status.allowed_transitions().contains(&status));
        }
    }

    #[test]
    fn checking_a_move_to_the_same_status_is_a_no_op() {
        for status in TicketStatus::ALL {
            assert_eq!(check_transition(status, status), Ok(()));
        }
    }

    #[test]
    fn check_transition_accepts_every_allowed_move() {
        for (from, to) in EXPECTED {
            assert_eq!(check_transition(from, to), Ok(()));
        }
    }

    #[test]
    fn closed_ticket_can_only_be_reopened() {
        assert_eq!(Closed.allowed_transitions(), &[Reopened]);
        for to in [Open, InProgress, PendingCustomer, Resolved] {
            assert_eq!(
                check_transition(Closed, to),
                Err(TransitionError { from: Closed, to })
            );
        }
    }

    #[test]
    fn resolved_ticket_must_be_reopened_before_work_resumes() {
        assert!(!Resolved.can_transition_to(InProgress));
        assert!(!Resolved.can_transition_to(PendingCustomer));
        assert!(Resolved.can_transition_to(Reopened));
    }

    #[test]
    fn nothing_moves_back_to_open() {
        for from in TicketStatus::ALL {
            assert!(!from.can_transition_to(Open));
        }
    }

    #[test]
    fn only_resolved_and_closed_tickets_can_be_reopened() {
        let can_reopen: Vec<_> = TicketStatus::ALL
            .into_iter()
            .filter(|s| s.can_transition_to(Reopened))
            .collect();
        assert_eq!(can_reopen, [Resolved, Closed]);
    }

    #[test]
    fn refused_transition_explains_what_is_allowed() {
        let err = check_transition(Closed, InProgress).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot move a ticket from closed to in_progress; allowed from closed: reopened"
        );
        assert_eq!(err.allowed(), &[Reopened]);

        let err = check_transition(InProgress, Open).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot move a ticket from in_progress to open; \
             allowed from in_progress: pending_customer, resolved, closed"
        );
    }

    #[test]
    fn open_means_neither_resolved_nor_closed() {
        let open: Vec<_> = TicketStatus::ALL
            .into_iter()
            .filter(|s| s.is_open())
            .collect();
        assert_eq!(open, [Open, InProgress, PendingCustomer, Reopened]);
    }

    #[test]
    fn every_status_has_a_way_out() {
        for status in TicketStatus::ALL {
            assert!(
                !status.allowed_transitions().is_empty(),
                "{status} is a dead end"
            );
        }
    }
}
