//! Who works on a ticket. The seed has two fields for it: `tickets.assigned_to`
//! and the `ticket_assignees` rows. They are one model:
//!
//! - the assignees are everyone working on the ticket;
//! - `assigned_to` is its **lead**: the one assignee who answers for it, and
//!   always one of the assignees;
//! - a ticket has a lead exactly when it has assignees.
//!
//! So "assigned to me" means "I am among the assignees" everywhere (lists,
//! counts, the access rules, which already read both), and the list's
//! "Assigned" column names the lead. These functions are the rule; the
//! desktop core records changes by them, and PostgreSQL's triggers
//! (migration `..._ticket_lead.sql`) keep every other writer to the same
//! rule, which `sync-server/tests/schema_ticket_lead.rs` checks against them.

use uuid::Uuid;

/// The lead after `added` joins the assignees: the lead stays; a ticket
/// nobody led gets `added`.
pub fn lead_after_adding(lead: Option<Uuid>, added: Uuid) -> Option<Uuid> {
    lead.or(Some(added))
}

/// The lead after `removed` leaves the assignees; `others` are the ones who
/// stay, earliest assigned first. Removing the lead hands the ticket to the
/// one who has been on it longest; removing the last assignee leaves no lead.
pub fn lead_after_removing(lead: Option<Uuid>, removed: Uuid, others: &[Uuid]) -> Option<Uuid> {
    if lead == Some(removed) {
        others.iter().copied().find(|o| *o != removed)
    } else {
        lead
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANA: Uuid = Uuid::from_u128(1);
    const BEN: Uuid = Uuid::from_u128(2);
    const CY: Uuid = Uuid::from_u128(3);

    #[test]
    fn the_first_assignee_leads_and_later_ones_join() {
        assert_eq!(lead_after_adding(None, ANA), Some(ANA));
        assert_eq!(lead_after_adding(Some(ANA), BEN), Some(ANA));
    }

    #[test]
    fn removing_the_lead_hands_the_ticket_to_the_longest_serving_assignee() {
        assert_eq!(lead_after_removing(Some(ANA), ANA, &[CY, BEN]), Some(CY));
        assert_eq!(lead_after_removing(Some(ANA), ANA, &[]), None);
        assert_eq!(lead_after_removing(Some(ANA), BEN, &[ANA]), Some(ANA));
        // The leaving one is never chosen, even if still listed.
        assert_eq!(lead_after_removing(Some(ANA), ANA, &[ANA, BEN]), Some(BEN));
    }
}
