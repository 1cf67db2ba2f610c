//! Database refusals as the agent reads them: which SQLSTATEs mean "this
//! change can never apply as sent" (refused alone) rather than "the
//! database is in trouble" (the batch is retried), and in what words.

use crm_domain::protocol::MutationOutcome;

/// Why a mutation was refused, in words for the agent.
pub(crate) fn rejected(code: &str, message: impl Into<String>) -> MutationOutcome {
    MutationOutcome::Rejected {
        code: code.into(),
        message: message.into(),
        reason: None,
    }
}

/// SQLSTATEs that mean "this change can never apply as sent", as opposed
/// to "the database is in trouble" (which aborts the batch for a retry).
/// Whole classes, not a list of codes seen so far: a data exception (22)
/// or an integrity violation (23) of a kind nobody foresaw is still the
/// mutation's, and must be refused alone; letting it abort the batch would
/// have the device send it again for ever.
pub(crate) fn refusal(sqlstate: Option<&str>) -> Option<&'static str> {
    let code = sqlstate?;
    Some(match code {
        "42501" => "forbidden",
        "23514" | "P0001" => "not_allowed",
        "23505" => "already_exists",
        "23503" => "missing_reference",
        "23502" => "missing_value",
        // A value too large for PostgreSQL to hold (a row, an index entry).
        "54000" => "invalid_value",
        _ if code.starts_with("22") => "invalid_value",
        _ if code.starts_with("23") => "not_allowed",
        _ => return None,
    })
}

/// A message for the agent. Our own policies' and triggers' messages are
/// written for people; the generic ones get plain words.
pub(crate) fn explain(code: &str, db_message: &str) -> String {
    match code {
        "forbidden" if db_message.starts_with("new row violates row-level security") => {
            "you are not allowed to make this change".into()
        }
        "already_exists" => "this already exists".into(),
        "missing_reference" => "it refers to something that does not exist (any more)".into(),
        _ => db_message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::refusal;

    #[test]
    fn any_data_or_integrity_error_refuses_the_mutation_and_trouble_aborts_the_push() {
        for (sqlstate, code) in [
            ("42501", Some("forbidden")),
            ("23514", Some("not_allowed")),
            ("23505", Some("already_exists")),
            ("22021", Some("invalid_value")),
            ("2200N", Some("invalid_value")),
            ("23P01", Some("not_allowed")),
            ("54000", Some("invalid_value")),
            // The database in trouble: the whole push is tried again.
            ("08006", None),
            ("40001", None),
            ("53300", None),
            ("57P01", None),
        ] {
            assert_eq!(refusal(Some(sqlstate)), code, "{sqlstate}");
        }
    }
}
