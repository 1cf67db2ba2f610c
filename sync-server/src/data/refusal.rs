//! Database refusals as the agent reads them: which SQLSTATEs mean "this
//! change can never apply as sent" (refused alone) rather than "the
//! database is in trouble" (the batch is retried), and in what words.

use crm_domain::protocol::{MutationOutcome, RejectionCode, SyncTable};

/// Why a mutation was refused, in words for the agent.
pub(crate) fn rejected(code: RejectionCode, message: impl Into<String>) -> MutationOutcome {
    rejected_field(code, message, None)
}

/// A refusal that concerns one field.
pub(crate) fn rejected_field(
    code: RejectionCode,
    message: impl Into<String>,
    field: Option<String>,
) -> MutationOutcome {
    MutationOutcome::Rejected {
        code,
        message: message.into(),
        field,
        reason: None,
    }
}

/// The refusal of the database's error, with the field it concerns: the
/// column PostgreSQL names (a missing value), else the one its constraint
/// is named after (`customers_phone_check`: phone).
pub(crate) fn database_refusal(
    table: SyncTable,
    code: RejectionCode,
    message: &str,
    constraint: Option<&str>,
    column: Option<&str>,
) -> MutationOutcome {
    let field = column
        .and_then(|c| table.def().column(c))
        .map(|c| c.name)
        .or_else(|| constraint.and_then(|c| table.def().column_of_constraint(c)));
    // PostgreSQL's sentences name a constraint, not a field; ours (raised
    // by triggers) are written for people and kept.
    let sentence = match (code, field) {
        (RejectionCode::MissingValue, Some(field)) => format!("{field}: is required"),
        (RejectionCode::MissingReference, Some(field))
            if message.contains("violates foreign key constraint") =>
        {
            format!("{field}: refers to something that does not exist (any more)")
        }
        (_, Some(field)) if message.contains("violates check constraint") => {
            format!("{field}: is not a value it accepts")
        }
        (_, Some(field)) => format!("{field}: {}", explain(code, message)),
        (_, None) => explain(code, message),
    };
    rejected_field(code, sentence, field.map(str::to_owned))
}

/// SQLSTATEs that mean "this change can never apply as sent", as opposed
/// to "the database is in trouble" (which aborts the batch for a retry).
/// Whole classes, not a list of codes seen so far: a data exception (22)
/// or an integrity violation (23) of a kind nobody foresaw is still the
/// mutation's, and must be refused alone; letting it abort the batch would
/// have the device send it again for ever.
pub(crate) fn refusal(sqlstate: Option<&str>) -> Option<RejectionCode> {
    let code = sqlstate?;
    Some(match code {
        "42501" => RejectionCode::Forbidden,
        "23514" | "P0001" => RejectionCode::NotAllowed,
        "23505" => RejectionCode::AlreadyExists,
        "23503" => RejectionCode::MissingReference,
        "23502" => RejectionCode::MissingValue,
        // A value too large for PostgreSQL to hold (a row, an index entry).
        "54000" => RejectionCode::InvalidValue,
        _ if code.starts_with("22") => RejectionCode::InvalidValue,
        _ if code.starts_with("23") => RejectionCode::NotAllowed,
        _ => return None,
    })
}

/// A message for the agent. Our own policies' and triggers' messages are
/// written for people; the generic ones get plain words.
pub(crate) fn explain(code: RejectionCode, db_message: &str) -> String {
    match code {
        RejectionCode::Forbidden
            if db_message.starts_with("new row violates row-level security") =>
        {
            "you are not allowed to make this change".into()
        }
        RejectionCode::AlreadyExists => "this already exists".into(),
        RejectionCode::MissingReference
            if db_message.contains("violates foreign key constraint") =>
        {
            "it refers to something that does not exist (any more)".into()
        }
        _ => db_message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::refusal;
    use crm_domain::protocol::RejectionCode;

    #[test]
    fn any_data_or_integrity_error_refuses_the_mutation_and_trouble_aborts_the_push() {
        for (sqlstate, code) in [
            ("42501", Some(RejectionCode::Forbidden)),
            ("23514", Some(RejectionCode::NotAllowed)),
            ("23505", Some(RejectionCode::AlreadyExists)),
            ("22021", Some(RejectionCode::InvalidValue)),
            ("2200N", Some(RejectionCode::InvalidValue)),
            ("23P01", Some(RejectionCode::NotAllowed)),
            ("54000", Some(RejectionCode::InvalidValue)),
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
