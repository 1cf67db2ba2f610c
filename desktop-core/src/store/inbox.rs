//! The inbox: changes the server refused, and conflicts the user was part
//! of (their value lost, or beat a colleague's). Nothing the agent typed silently disappears: each item stays
//! until they retry it, edit and resend it, restore it, or discard it.

use std::collections::BTreeMap;

use crm_domain::protocol::{FieldChange, Mutation, MutationOp, RejectionCode, SyncTable};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::codec::{parse_id, validate_fields};
use super::outbox::kept_base;
use super::rows;
use super::{Store, timestamp};
use crate::error::{CoreError, CoreResult};

/// A change the server refused, with its reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RejectedChange {
    pub seq: i64,
    pub table: SyncTable,
    pub row_id: Uuid,
    pub mutation: Mutation,
    pub code: RejectionCode,
    pub message: String,
    /// The field the refusal concerns, when the server named one.
    pub field: Option<String>,
    pub rejected_at: String,
    /// What it was about, in words: the customer's name (for a customer or
    /// one of its interactions) or the ticket's title (for a ticket or its
    /// comments, assignees, attachments). Recorded at refusal, so it stays
    /// when the row has left the replica since.
    pub subject: Option<String>,
    /// What happened to that customer or ticket, when that is why (it was
    /// reassigned or deleted), as the server read it from the audit trail.
    pub reason: Option<crm_domain::protocol::RefusalReason>,
    /// Whether the replica still holds what the change is about (the row,
    /// or for a new row its customer or ticket): if not, there is nothing
    /// to open and retrying cannot succeed.
    pub reachable: bool,
}

/// A field both the user and someone else changed: one value was kept, the
/// other lost (and can be restored).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ConflictItem {
    pub conflict_id: Uuid,
    pub table: String,
    pub row_id: Uuid,
    pub field: String,
    pub kept_value: Value,
    pub lost_value: Value,
    pub kept_by_name: Option<String>,
    pub lost_by_name: Option<String>,
    /// The user's value lost (otherwise theirs beat someone else's).
    pub mine_lost: bool,
    pub created_at: String,
    /// Which customer or ticket it concerns, in words (as for a refused
    /// change); `None` when the replica does not hold the row.
    pub subject: Option<String>,
}

/// A change saved here and still waiting for the server (the status bar's
/// "3 pending", opened).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PendingChange {
    pub seq: i64,
    pub table: SyncTable,
    pub row_id: Uuid,
    pub mutation: Mutation,
    /// When the user saved it.
    pub recorded_at: String,
    /// What it is about, in words (as for a refused change).
    pub subject: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Inbox {
    pub rejected: Vec<RejectedChange>,
    pub conflicts: Vec<ConflictItem>,
    /// Unsent work, oldest first: shown so the user can see what has not
    /// reached the server yet. Not counted in [`Inbox::len`], which counts
    /// what waits for the user's decision.
    pub pending: Vec<PendingChange>,
}

impl Inbox {
    /// Items that wait for the user: refusals and conflicts.
    pub fn len(&self) -> usize {
        self.rejected.len() + self.conflicts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The conflicts in the user's inbox (`?1`: the user's id): ones they were
/// part of, not resolved, not dismissed, on a row the user still holds (a
/// conflict must not keep a row's values readable after its row left the
/// user's reach: security review M7). One text for the list and its count.
macro_rules! open_conflicts {
    () => {
        "FROM conflicts k
         WHERE (k.lost_by = ?1 OR k.kept_by = ?1) AND k.resolved_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM dismissed_conflicts d WHERE d.conflict_id = k.id)
           AND CASE k.table_name
                 WHEN 'customers' THEN EXISTS (SELECT 1 FROM customers r WHERE r.id = k.row_id)
                 WHEN 'customer_interactions' THEN EXISTS (SELECT 1 FROM customer_interactions r WHERE r.id = k.row_id)
                 WHEN 'tickets' THEN EXISTS (SELECT 1 FROM tickets r WHERE r.id = k.row_id)
                 WHEN 'ticket_assignees' THEN EXISTS (SELECT 1 FROM ticket_assignees r WHERE r.id = k.row_id)
                 WHEN 'ticket_comments' THEN EXISTS (SELECT 1 FROM ticket_comments r WHERE r.id = k.row_id)
                 WHEN 'ticket_attachments' THEN EXISTS (SELECT 1 FROM ticket_attachments r WHERE r.id = k.row_id)
                 WHEN 'products' THEN EXISTS (SELECT 1 FROM products r WHERE r.id = k.row_id)
                 WHEN 'acquisition_stages' THEN EXISTS (SELECT 1 FROM acquisition_stages r WHERE r.id = k.row_id)
                 WHEN 'profiles' THEN EXISTS (SELECT 1 FROM profiles r WHERE r.id = k.row_id)
                 ELSE 0
               END"
    };
}

impl Store {
    /// How many items [`Store::inbox`] holds, without reading them (the
    /// status bar asks on every change of the sync state).
    pub fn inbox_len(&self) -> CoreResult<usize> {
        let me = self.me()?;
        let n: i64 = self
            .conn()
            .prepare_cached(concat!(
                "SELECT (SELECT count(*) FROM rejected) + (SELECT count(*) ",
                open_conflicts!(),
                ")"
            ))?
            .query_row(params![me.user_id.to_string()], |r| r.get(0))?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    pub fn inbox(&self) -> CoreResult<Inbox> {
        let me = self.me()?;
        let conn = self.conn();
        let mut rejected = Vec::new();
        {
            let mut stmt = conn.prepare_cached(
                "SELECT seq, mutation, code, message, rejected_at, subject, reason, field
                 FROM rejected ORDER BY seq",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, Option<String>>(7)?,
                ))
            })?;
            for row in rows {
                let (seq, text, code, message, rejected_at, subject, reason, field) = row?;
                let mutation: Mutation = serde_json::from_str(&text)?;
                rejected.push(RejectedChange {
                    seq,
                    table: mutation.table,
                    row_id: mutation.row_id,
                    reachable: reachable(conn, &mutation)?,
                    mutation,
                    code: RejectionCode::parse(&code),
                    message,
                    field,
                    rejected_at,
                    subject,
                    // Unreadable (a future shape): the change is still shown.
                    reason: reason.and_then(|r| serde_json::from_str(&r).ok()),
                });
            }
        }
        let mut conflicts = Vec::new();
        {
            let mut stmt = conn.prepare_cached(concat!(
                "SELECT k.id, k.table_name, k.row_id, k.field, k.kept_value, k.lost_value,
                        k.kept_by, k.created_at, k.lost_by ",
                open_conflicts!(),
                " ORDER BY k.created_at"
            ))?;
            let rows = stmt.query_map(params![me.user_id.to_string()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, Option<String>>(7)?,
                    r.get::<_, Option<String>>(8)?,
                ))
            })?;
            for row in rows {
                let (id, table, row_id, field, kept, lost, kept_by, created_at, lost_by) = row?;
                let json = |t: Option<String>| {
                    t.and_then(|t| serde_json::from_str(&t).ok())
                        .unwrap_or(Value::Null)
                };
                let kept_by = kept_by.and_then(|k| k.parse::<Uuid>().ok());
                let lost_by = lost_by.and_then(|k| k.parse::<Uuid>().ok());
                let row_id = parse_id(&row_id)?;
                let subject = match SyncTable::from_name(&table) {
                    Some(t) => subject(conn, t, row_id, None)?,
                    None => None,
                };
                conflicts.push(ConflictItem {
                    conflict_id: parse_id(&id)?,
                    table,
                    row_id,
                    field,
                    kept_value: json(kept),
                    lost_value: json(lost),
                    kept_by_name: self.person_name(kept_by)?,
                    lost_by_name: self.person_name(lost_by)?,
                    mine_lost: lost_by == Some(me.user_id),
                    created_at: created_at.unwrap_or_default(),
                    subject,
                });
            }
        }
        Ok(Inbox {
            rejected,
            conflicts,
            pending: self.pending_changes()?,
        })
    }

    /// The changes still waiting for the server, oldest first.
    pub fn pending_changes(&self) -> CoreResult<Vec<PendingChange>> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare_cached("SELECT seq, mutation, created_at FROM outbox ORDER BY seq")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        let mut pending = Vec::new();
        for row in rows {
            let (seq, text, recorded_at) = row?;
            let mutation: Mutation = serde_json::from_str(&text)?;
            pending.push(PendingChange {
                seq,
                table: mutation.table,
                row_id: mutation.row_id,
                subject: subject_of(conn, &mutation)?,
                mutation,
                recorded_at,
            });
        }
        Ok(pending)
    }

    /// Sends a refused change again, as a new change against the row as it
    /// is now.
    pub fn retry_rejected(&mut self, seq: i64) -> CoreResult<()> {
        let item = self.rejected_change(seq)?;
        self.resend(item, None)
    }

    /// Sends a refused change again with the fields the user corrected.
    pub fn resend_edited(&mut self, seq: i64, values: BTreeMap<String, Value>) -> CoreResult<()> {
        let item = self.rejected_change(seq)?;
        self.resend(item, Some(values))
    }

    /// Drops a refused change for good.
    pub fn discard_rejected(&mut self, seq: i64) -> CoreResult<()> {
        let n = self
            .conn()
            .execute("DELETE FROM rejected WHERE seq = ?1", params![seq])?;
        if n == 0 {
            return Err(CoreError::NotFound {
                what: "refused change",
            });
        }
        Ok(())
    }

    /// Puts the user's losing value back, as a new edit of that field.
    pub fn restore_conflict(&mut self, conflict_id: Uuid) -> CoreResult<()> {
        let me = self.me()?;
        let conflict = self
            .inbox()?
            .conflicts
            .into_iter()
            .find(|c| c.conflict_id == conflict_id)
            .ok_or(CoreError::NotFound { what: "conflict" })?;
        // Only one's own value: restoring a colleague's would write it as
        // one's own edit, which a forged conflict could exploit (M7).
        if !conflict.mine_lost {
            return Err(CoreError::forbidden(
                "only your own value can be restored; the kept value is a colleague's edit you may change like any other",
            ));
        }
        let table =
            SyncTable::from_name(&conflict.table).ok_or(CoreError::NotFound { what: "table" })?;
        let def = rows::synced(table);
        let row = rows::read(self.conn(), def, conflict.row_id)?
            .ok_or(CoreError::NotFound { what: "row" })?;
        let mut fields = BTreeMap::new();
        fields.insert(conflict.field.clone(), conflict.lost_value.clone());
        validate_fields(table, &fields)?;
        if let Some(op) = super::outbox::changes_against(&row, fields) {
            self.record(&me, table, conflict.row_id, op)?;
        }
        self.dismiss_conflict(conflict_id)
    }

    /// Sets a conflict aside: the kept value stands.
    pub fn dismiss_conflict(&mut self, conflict_id: Uuid) -> CoreResult<()> {
        self.conn().execute(
            "INSERT OR IGNORE INTO dismissed_conflicts (conflict_id, dismissed_at) VALUES (?1, ?2)",
            params![conflict_id.to_string(), timestamp(chrono::Utc::now())],
        )?;
        Ok(())
    }

    fn rejected_change(&self, seq: i64) -> CoreResult<Mutation> {
        let text: Option<String> = self
            .conn()
            .query_row(
                "SELECT mutation FROM rejected WHERE seq = ?1",
                params![seq],
                |r| r.get(0),
            )
            .optional()?;
        let text = text.ok_or(CoreError::NotFound {
            what: "refused change",
        })?;
        Ok(serde_json::from_str(&text)?)
    }

    fn resend(&mut self, old: Mutation, edited: Option<BTreeMap<String, Value>>) -> CoreResult<()> {
        let me = self.me()?;
        let def = rows::synced(old.table);
        let current = rows::read(self.conn(), def, old.row_id)?;
        let op = match (old.op, current) {
            (MutationOp::Insert { mut values }, _) => {
                if let Some(edited) = edited {
                    values.extend(edited);
                }
                for (field, value) in &values {
                    if let Some(column) = old.table.insertable_columns().find(|c| c == field) {
                        crm_domain::validation::validate_sync_field(old.table, column, value)?;
                    }
                }
                MutationOp::Insert { values }
            }
            (MutationOp::Update { changes }, Some(row)) => {
                let mut new: BTreeMap<String, Value> =
                    changes.into_iter().map(|(k, c)| (k, c.value)).collect();
                if let Some(edited) = edited {
                    new.extend(edited);
                }
                validate_fields(old.table, &new)?;
                let changes: BTreeMap<String, FieldChange> = new
                    .into_iter()
                    .map(|(field, value)| {
                        let base = row.get(&field).cloned().unwrap_or(Value::Null);
                        (field, FieldChange { base, value })
                    })
                    .collect();
                MutationOp::Update { changes }
            }
            (MutationOp::Delete, Some(_)) => MutationOp::Delete,
            (_, None) => return Err(CoreError::NotFound { what: "row" }),
        };
        // A refused attachment goes again with its file: it is uploaded
        // again before the row (it may have been refused for want of
        // access, which the user has since regained).
        let refile =
            old.table == SyncTable::TicketAttachments && matches!(op, MutationOp::Insert { .. });
        let row_id = old.row_id.to_string();
        let tx_seq = self.record_all_with(&me, vec![(old.table, old.row_id, op)], |tx| {
            if refile {
                tx.execute(
                    "UPDATE attachment_files SET state = 'waiting', refusal_code = NULL, last_error = NULL
                      WHERE attachment_id = ?1 AND state = 'refused'",
                    params![row_id],
                )?;
            }
            Ok(())
        })?;
        tracing::debug!(old = old.seq, new = tx_seq, "resent a refused change");
        self.conn()
            .execute("DELETE FROM rejected WHERE seq = ?1", params![old.seq])?;
        Ok(())
    }
}

/// What `mutation` is about, in words (see [`RejectedChange::subject`]),
/// named as the server last had it; `None` when the replica cannot tell.
pub(crate) fn subject_of(
    conn: &rusqlite::Connection,
    mutation: &Mutation,
) -> CoreResult<Option<String>> {
    let inserted = match &mutation.op {
        MutationOp::Insert { values } => Some(values),
        _ => None,
    };
    subject(conn, mutation.table, mutation.row_id, inserted)
}

/// Whether the replica holds what `mutation` is about (see
/// [`RejectedChange::reachable`]).
fn reachable(conn: &rusqlite::Connection, mutation: &Mutation) -> CoreResult<bool> {
    let holds = |table: &str, id: Uuid| -> CoreResult<bool> {
        // Table names come from the protocol's own list, never from input.
        Ok(conn
            .query_row(
                &format!("SELECT EXISTS (SELECT 1 FROM {table} WHERE id = ?1)"),
                params![id.to_string()],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(false))
    };
    match (&mutation.op, mutation.table.parent()) {
        (MutationOp::Insert { values }, Some((parent, column))) => match values
            .get(column)
            .and_then(Value::as_str)
            .and_then(|s| s.parse().ok())
        {
            Some(id) => holds(parent.name(), id),
            None => Ok(false),
        },
        (MutationOp::Insert { .. }, None) => Ok(true),
        _ => holds(mutation.table.name(), mutation.row_id),
    }
}

/// What a row is about, in words (see [`RejectedChange::subject`]);
/// `inserted`: the values of a row new in a mutation, which the replica may
/// not hold.
fn subject(
    conn: &rusqlite::Connection,
    table: SyncTable,
    row_id: Uuid,
    inserted: Option<&BTreeMap<String, Value>>,
) -> CoreResult<Option<String>> {
    let own = |field: &str| -> CoreResult<Option<String>> {
        if let Some(text) = known_text(conn, table.name(), row_id, field)? {
            return Ok(Some(text));
        }
        Ok(inserted
            .and_then(|values| values.get(field))
            .and_then(|v| v.as_str().map(str::to_owned)))
    };
    if let Some((parent, column)) = table.parent() {
        return match own(column)?.and_then(|i| i.parse::<Uuid>().ok()) {
            Some(id) => known_text(conn, parent.name(), id, naming_field(parent)),
            None => Ok(None),
        };
    }
    own(naming_field(table))
}

/// The field that names a row of `table` for a person (a row with a
/// parent is named by its parent).
fn naming_field(table: SyncTable) -> &'static str {
    match table {
        SyncTable::Profiles => "full_name",
        SyncTable::Tickets => "title",
        _ => "name",
    }
}

/// A text field of a row as the server last had it: the base kept for unsent
/// work if there is one (the screen shows that work on top), else the row.
fn known_text(
    conn: &rusqlite::Connection,
    table: &str,
    id: Uuid,
    field: &str,
) -> CoreResult<Option<String>> {
    let Some(def) = rows::table(table) else {
        return Ok(None);
    };
    let row = match kept_base(conn, def.name, &id.to_string())? {
        Some(Some(row)) => Some(row),
        // Unsent work on a row the server does not have (yet): as shown.
        Some(None) | None => rows::read(conn, def, id)?,
    };
    Ok(row
        .and_then(|r| r.get(field).cloned())
        .and_then(|v| v.as_str().map(str::to_owned)))
}
