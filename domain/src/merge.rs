//! How the server merges an offline edit into a row others may have changed
//! meanwhile, field by field:
//!
//! - a field nobody else touched since the client saw it (server value ==
//!   the client's `base`) takes the client's value;
//! - a field both sides changed goes to the later edit, by edit time (ties
//!   keep the server's value, so the outcome never depends on arrival
//!   order); the other value is recorded as a conflict, never silently lost;
//! - a ticket's `status` must also follow the workflow from the value it
//!   actually has on the server: a move that is not allowed from there loses,
//!   whatever its time;
//! - a field already at the client's new value needs nothing.
//!
//! Fields the client did not send are never touched, so edits of different
//! fields by different people all survive.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::TicketStatus;

/// What to do with one incoming field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldDecision {
    /// Nobody else changed it: apply.
    Apply,
    /// Both changed it and the client's edit wins: apply, recording the
    /// server's overwritten value as a conflict.
    ApplyOverwriting,
    /// Both changed it and the server's value stays: record the client's
    /// value as a conflict.
    KeepServer,
    /// The server already has the client's new value.
    AlreadyThere,
}

/// The server's side of one field: its value now, and when it was last
/// edited.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerField<'a> {
    pub value: &'a Value,
    pub edited_at: DateTime<Utc>,
}

/// Decides one field. `base` and `value` are the client's (last seen, new);
/// values must be in one canonical form on both sides (the server
/// normalises them through the column's type first).
pub fn decide_field(
    field: &str,
    base: &Value,
    value: &Value,
    server: &ServerField<'_>,
    client_edited_at: DateTime<Utc>,
    is_ticket: bool,
) -> FieldDecision {
    if server.value == value {
        return FieldDecision::AlreadyThere;
    }
    let concurrent = server.value != base;
    if !concurrent {
        return FieldDecision::Apply;
    }
    if is_ticket && field == "status" && !status_move_allowed(server.value, value) {
        return FieldDecision::KeepServer;
    }
    if client_edited_at > server.edited_at {
        FieldDecision::ApplyOverwriting
    } else {
        FieldDecision::KeepServer
    }
}

fn status_move_allowed(from: &Value, to: &Value) -> bool {
    let parse = |v: &Value| v.as_str().and_then(|s| s.parse::<TicketStatus>().ok());
    match (parse(from), parse(to)) {
        (Some(from), Some(to)) => from.can_transition_to(to),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 9, minute, 0)
            .single()
            .unwrap_or_default()
    }

    fn decide(
        field: &str,
        base: Value,
        value: Value,
        server: Value,
        server_at: u32,
        client_at: u32,
    ) -> FieldDecision {
        let server = ServerField {
            value: &server,
            edited_at: at(server_at),
        };
        decide_field(field, &base, &value, &server, at(client_at), true)
    }

    #[test]
    fn an_untouched_field_takes_the_clients_value() {
        assert_eq!(
            decide("title", json!("a"), json!("b"), json!("a"), 30, 10),
            FieldDecision::Apply
        );
    }

    #[test]
    fn a_field_both_changed_goes_to_the_later_edit() {
        assert_eq!(
            decide("title", json!("a"), json!("mine"), json!("theirs"), 10, 20),
            FieldDecision::ApplyOverwriting
        );
        assert_eq!(
            decide("title", json!("a"), json!("mine"), json!("theirs"), 20, 10),
            FieldDecision::KeepServer
        );
    }

    #[test]
    fn a_tie_keeps_the_servers_value_whoever_arrives_first() {
        assert_eq!(
            decide("title", json!("a"), json!("mine"), json!("theirs"), 15, 15),
            FieldDecision::KeepServer
        );
    }

    #[test]
    fn the_same_edit_on_both_sides_is_no_conflict() {
        assert_eq!(
            decide("title", json!("a"), json!("same"), json!("same"), 20, 10),
            FieldDecision::AlreadyThere
        );
    }

    #[test]
    fn a_status_move_must_be_allowed_from_the_servers_status() {
        // Someone closed the ticket; a later "in progress" from open loses:
        // closed tickets only reopen.
        assert_eq!(
            decide(
                "status",
                json!("open"),
                json!("in_progress"),
                json!("closed"),
                10,
                50
            ),
            FieldDecision::KeepServer
        );
        // From in_progress, resolved is allowed, and the later edit wins.
        assert_eq!(
            decide(
                "status",
                json!("open"),
                json!("resolved"),
                json!("in_progress"),
                10,
                50
            ),
            FieldDecision::ApplyOverwriting
        );
        // Not concurrent: the plain workflow check is the trigger's job.
        assert_eq!(
            decide(
                "status",
                json!("open"),
                json!("in_progress"),
                json!("open"),
                10,
                50
            ),
            FieldDecision::Apply
        );
    }

    #[test]
    fn status_is_only_special_on_tickets() {
        let server = ServerField {
            value: &json!("inactive"),
            edited_at: at(10),
        };
        let decision = decide_field(
            "status",
            &json!("active"),
            &json!("churned"),
            &server,
            at(50),
            false,
        );
        assert_eq!(decision, FieldDecision::ApplyOverwriting);
    }
}
