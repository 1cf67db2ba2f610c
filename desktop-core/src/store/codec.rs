//! How values travel between the core's types and the replica's rows:
//! optional text, ids and times as JSON values, ids read back from text,
//! and the domain's field rules applied to a change. Below every other
//! store module, so that the entity modules share these without importing
//! each other.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use crm_domain::ValidationErrors;
use crm_domain::protocol::SyncTable;
use crm_domain::validation::validate_sync_field;
use serde_json::Value;
use uuid::Uuid;

use super::timestamp;
use crate::error::{CoreError, CoreResult};

/// Checks the fields of a change a client may update with the domain's
/// rules, as the server will, reporting all at once.
pub(crate) fn validate_fields(
    table: SyncTable,
    fields: &BTreeMap<String, Value>,
) -> Result<(), ValidationErrors> {
    ValidationErrors::collect(table.updatable_columns().filter_map(|column| {
        fields
            .get(column)
            .map(|value| validate_sync_field(table, column, value))
    }))
}

pub(crate) fn opt_text(value: Option<String>) -> Value {
    value.map_or(Value::Null, |s| Value::String(s.trim().to_string()))
}

pub(crate) fn opt_uuid(value: Option<Uuid>) -> Value {
    value.map_or(Value::Null, |id| Value::String(id.to_string()))
}

pub(crate) fn opt_time(value: Option<DateTime<Utc>>) -> Value {
    value.map_or(Value::Null, |t| Value::String(timestamp(t)))
}

pub(crate) fn parse_id(text: &str) -> CoreResult<Uuid> {
    text.parse()
        .map_err(|e: uuid::Error| CoreError::Malformed(e.to_string()))
}
