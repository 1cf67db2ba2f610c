//! The one gate every recorded change passes, whichever screen or path it
//! comes from (a form, a follow-up's "Done", the inbox's resend, a restored
//! conflict): the catalogue's field rules, the access rules of
//! `crm_domain::access` read against the replica, and the ticket workflow.
//! The entity modules check first, with sentences fitted to their forms;
//! this gate makes sure no path records a change they would not.
//!
//! The server re-checks everything; the gate only spares the user a change
//! that would bounce back.

use std::collections::BTreeMap;

use crm_domain::access::{self, Op, Relation};
use crm_domain::protocol::{MutationOp, SyncTable};
use crm_domain::validation::validate_sync_field;
use crm_domain::workflow::check_transition;
use crm_domain::{TicketStatus, ValidationErrors};
use rusqlite::Connection;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::Me;
use super::access::{has_ticket_access, owns_customer};
use super::rows;
use crate::error::{CoreError, CoreResult};

/// Checks a change before it is recorded, against the replica as it is
/// (inside the recording transaction, so earlier changes of one action
/// count).
pub(crate) fn check(
    conn: &Connection,
    me: &Me,
    table: SyncTable,
    row_id: Uuid,
    op: &MutationOp,
) -> CoreResult<()> {
    let (kind, new): (Op, BTreeMap<&str, &Value>) = match op {
        MutationOp::Insert { values } => (
            Op::Insert,
            values.iter().map(|(k, v)| (k.as_str(), v)).collect(),
        ),
        MutationOp::Update { changes } => (
            Op::Update,
            changes
                .iter()
                .map(|(k, c)| (k.as_str(), &c.value))
                .collect(),
        ),
        MutationOp::Delete => (Op::Delete, BTreeMap::new()),
    };
    validate(table, kind, &new)?;
    let current = match kind {
        Op::Insert => None,
        Op::Update | Op::Delete => Some(
            rows::read(conn, rows::synced(table), row_id)?
                .ok_or(CoreError::NotFound { what: "row" })?,
        ),
    };
    let rule = access::rule(table, kind);
    let row = Row {
        conn,
        me,
        table,
        row_id,
        current: current.as_ref(),
        new: &new,
    };
    let needed = rule.needs(me.is_admin());
    if !row.holds(needed)? {
        return Err(CoreError::forbidden(refusal(needed)));
    }
    if !me.is_admin()
        && let Some(column) = rule.admin_only.iter().find(|c| new.contains_key(**c))
    {
        return Err(CoreError::forbidden(format!(
            "only an admin can change {}",
            column.replace('_', " ")
        )));
    }
    // A ticket may be linked only to a customer the user manages.
    if table == SyncTable::Tickets
        && let Some(Value::String(customer)) = new.get("customer_id")
        && current.as_ref().and_then(|c| c.get("customer_id")) != new.get("customer_id").copied()
        && !row.manages(customer)?
    {
        return Err(CoreError::forbidden(refusal(Relation::ManagesCustomer)));
    }
    if table == SyncTable::Tickets
        && let (Some(current), Some(to)) = (&current, new.get("status"))
    {
        let status = |v: Option<&Value>| -> CoreResult<TicketStatus> {
            Ok(serde_json::from_value(v.cloned().unwrap_or(Value::Null))?)
        };
        check_transition(status(current.get("status"))?, status(Some(to))?)
            .map_err(|e| CoreError::invalid("status", e.to_string()))?;
    }
    Ok(())
}

/// The catalogue's rule for every value the change writes.
fn validate(table: SyncTable, kind: Op, new: &BTreeMap<&str, &Value>) -> CoreResult<()> {
    let def = table.def();
    Ok(ValidationErrors::collect(new.iter().map(
        |(field, value)| match def.column(field) {
            Some(column)
                if (kind == Op::Insert && column.write.on_insert())
                    || (kind == Op::Update && column.write.on_update()) =>
            {
                validate_sync_field(table, column.name, value)
            }
            _ => Err(crm_domain::ValidationError::new(
                "field",
                format!("{field} cannot be written here"),
            )),
        },
    ))?)
}

fn refusal(needed: Relation) -> &'static str {
    match needed {
        Relation::Nobody | Relation::Anyone => "only an admin can do this",
        Relation::OwnProfile => "you can only change your own profile",
        Relation::ManagesCustomer => "only the customer's owner or an admin can do this",
        Relation::TicketAccess => "you have no access to this ticket",
        Relation::Author(_) => "only its author can do this",
    }
}

/// The row a change is about, to judge relations against.
struct Row<'a> {
    conn: &'a Connection,
    me: &'a Me,
    table: SyncTable,
    row_id: Uuid,
    /// The row as the replica holds it (none for an insert).
    current: Option<&'a Map<String, Value>>,
    /// The values the change writes.
    new: &'a BTreeMap<&'a str, &'a Value>,
}

impl Row<'_> {
    fn holds(&self, relation: Relation) -> CoreResult<bool> {
        let me = self.me.user_id.to_string();
        Ok(match relation {
            Relation::Nobody => false,
            Relation::Anyone => true,
            Relation::OwnProfile => self.row_id == self.me.user_id,
            Relation::ManagesCustomer => match self.table {
                SyncTable::Customers => match self.current {
                    Some(row) => text(row.get("owner")) == Some(me.as_str()),
                    // A new customer is the user's unless given to another.
                    None => self
                        .new
                        .get("owner")
                        .is_none_or(|owner| owner.as_str() == Some(me.as_str())),
                },
                _ => {
                    // The customer it hangs off, before and after the change.
                    let parents = self.parents()?;
                    !parents.is_empty()
                        && parents
                            .iter()
                            .try_fold(true, |all, c| Ok::<_, CoreError>(all && self.manages(c)?))?
                }
            },
            Relation::TicketAccess => {
                let tickets = match self.table {
                    SyncTable::Tickets => vec![self.row_id.to_string()],
                    _ => self.parents()?,
                };
                !tickets.is_empty()
                    && tickets.iter().try_fold(true, |all, t| {
                        Ok::<_, CoreError>(all && self.has_ticket_access(t)?)
                    })?
            }
            Relation::Author(column) => {
                let author = self.current.and_then(|row| text(row.get(column)));
                author == Some(me.as_str()) && self.holds(Relation::TicketAccess)?
            }
        })
    }

    /// The ids of the customer or ticket the row hangs off: the one it has
    /// and, if the change moves it, the one it goes to.
    fn parents(&self) -> CoreResult<Vec<String>> {
        let Some((_, column)) = self.table.parent() else {
            return Ok(Vec::new());
        };
        let mut ids: Vec<String> = [
            self.current.and_then(|row| text(row.get(column))),
            self.new.get(column).and_then(|v| v.as_str()),
        ]
        .into_iter()
        .flatten()
        .map(str::to_owned)
        .collect();
        ids.dedup();
        Ok(ids)
    }

    fn manages(&self, customer: &str) -> CoreResult<bool> {
        if self.me.is_admin() {
            return Ok(true);
        }
        let id = Uuid::parse_str(customer).map_err(|_| CoreError::NotFound { what: "customer" })?;
        owns_customer(self.conn, self.me, id)
    }

    fn has_ticket_access(&self, ticket: &str) -> CoreResult<bool> {
        let id = Uuid::parse_str(ticket).map_err(|_| CoreError::NotFound { what: "ticket" })?;
        has_ticket_access(self.conn, self.me, id)
    }
}

fn text(value: Option<&Value>) -> Option<&str> {
    value.and_then(Value::as_str)
}
