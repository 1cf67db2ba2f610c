//! The outbox: the user's changes waiting for the server, and how the
//! replica shows them on top of the server's state.
//!
//! Recording a change (one SQLite transaction): snapshot the row's server
//! state into `outbox_base` if no change to it is pending yet, apply the
//! mutation to the row, append the mutation with the next sequence number.
//! The replica therefore always reads as server state plus unsent work.
//!
//! When the server's version of a row with pending work arrives (a pull) or
//! a pending change is settled (a push), the row is rebuilt: its server
//! state, then the still-pending mutations in order. So a refused change
//! disappears from the screen (into the inbox) and a colleague's edit shows
//! under the user's own unsent one.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use crm_domain::catalogue::Fill;
use crm_domain::protocol::{Mutation, MutationOp, SyncTable};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::rows::{self, TableDef};
use super::{Me, Store, get_state, set_state, timestamp};
use crate::error::CoreResult;

impl Store {
    /// Applies one user change locally and queues it for the server, in one
    /// transaction. Callers have checked it already.
    pub(crate) fn record(
        &mut self,
        me: &Me,
        table: SyncTable,
        row_id: Uuid,
        op: MutationOp,
    ) -> CoreResult<i64> {
        self.record_all(me, vec![(table, row_id, op)])
    }

    /// Applies one user action made of several changes (a ticket's new lead
    /// and the assignee row it needs), in this order and in one
    /// transaction: all of them or none. Returns the last sequence number.
    pub(crate) fn record_all(
        &mut self,
        me: &Me,
        changes: Vec<(SyncTable, Uuid, MutationOp)>,
    ) -> CoreResult<i64> {
        self.record_all_with(me, changes, |_| Ok(()))
    }

    /// As [`Store::record_all`], with `also` run in the same transaction
    /// (an attachment's upload is queued with its row).
    pub(crate) fn record_all_with(
        &mut self,
        me: &Me,
        changes: Vec<(SyncTable, Uuid, MutationOp)>,
        also: impl FnOnce(&rusqlite::Transaction<'_>) -> CoreResult<()>,
    ) -> CoreResult<i64> {
        let tx = self.conn.transaction()?;
        let mut seq = next_seq(&tx)?;
        let edited_at = Utc::now();
        for (table, row_id, mut op) in changes {
            if let (MutationOp::Insert { values }, Some(column)) =
                (&mut op, table.creation_column())
            {
                // The row was made now, whenever it reaches the server.
                values
                    .entry(column.to_string())
                    .or_insert_with(|| Value::String(timestamp(edited_at)));
            }
            let mutation = Mutation {
                seq,
                table,
                row_id,
                op,
                edited_at,
            };
            // Every path to the outbox passes the one gate.
            super::policy::check(&tx, me, table, row_id, &mutation.op)?;
            let def = rows::synced(table);
            snapshot_base(&tx, def, row_id)?;
            apply(&tx, me, &mutation)?;
            tx.execute(
                "INSERT INTO outbox (seq, table_name, row_id, mutation, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    seq,
                    table.name(),
                    row_id.to_string(),
                    serde_json::to_string(&mutation)?,
                    timestamp(mutation.edited_at)
                ],
            )?;
            seq += 1;
        }
        set_state(&tx, "next_seq", &seq.to_string())?;
        also(&tx)?;
        tx.commit()?;
        Ok(seq - 1)
    }

    /// How many changes wait for the server.
    pub fn pending_count(&self) -> CoreResult<i64> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM outbox", [], |r| r.get(0))?)
    }

    /// The oldest pending mutations, to push in this order.
    pub fn pending_batch(&self, limit: usize) -> CoreResult<Vec<Mutation>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT mutation FROM outbox ORDER BY seq LIMIT ?1")?;
        let rows = stmt.query_map(params![limit as i64], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for text in rows {
            out.push(serde_json::from_str(&text?)?);
        }
        Ok(out)
    }
}

fn next_seq(conn: &Connection) -> CoreResult<i64> {
    Ok(get_state(conn, "next_seq")?
        .and_then(|s| s.parse().ok())
        .unwrap_or(1))
}

/// The sequence number up to which the server has settled this client's
/// mutations (whether or not this replica has heard the outcomes yet).
pub(crate) fn settled_seq(conn: &Connection) -> CoreResult<i64> {
    Ok(get_state(conn, "server_last_seq")?
        .and_then(|s| s.parse().ok())
        .unwrap_or(0))
}

pub(crate) fn note_settled_seq(conn: &Connection, last_seq: i64) -> CoreResult<()> {
    if last_seq > settled_seq(conn)? {
        set_state(conn, "server_last_seq", &last_seq.to_string())?;
    }
    Ok(())
}

/// Whether a row has unsent work (then its server state lives in
/// `outbox_base`, and the table shows the rebuilt row).
pub(crate) fn has_base(conn: &Connection, table: &str, row_id: &str) -> CoreResult<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM outbox_base WHERE table_name = ?1 AND row_id = ?2")?
        .query_row(params![table, row_id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// The server state kept for a row with unsent work: `None` when nothing is
/// kept (no unsent work), `Some(None)` when the server has no such row (a
/// pending insert, or one removed since).
pub(crate) fn kept_base(
    conn: &Connection,
    table: &str,
    row_id: &str,
) -> CoreResult<Option<Option<Map<String, Value>>>> {
    let text: Option<Option<String>> = conn
        .prepare_cached("SELECT row FROM outbox_base WHERE table_name = ?1 AND row_id = ?2")?
        .query_row(params![table, row_id], |r| r.get(0))
        .optional()?;
    Ok(text
        .map(|row| row.map(|t| serde_json::from_str(&t)).transpose())
        .transpose()?)
}

/// Keeps the row's server state aside before the first pending change to it.
fn snapshot_base(conn: &Connection, def: &TableDef, row_id: Uuid) -> CoreResult<()> {
    let id = row_id.to_string();
    if has_base(conn, def.name, &id)? {
        return Ok(());
    }
    let row = rows::read(conn, def, row_id)?;
    conn.execute(
        "INSERT INTO outbox_base (table_name, row_id, row) VALUES (?1, ?2, ?3)",
        params![def.name, id, row.map(|r| Value::Object(r).to_string())],
    )?;
    Ok(())
}

/// Replaces the server state kept for a row with pending work.
pub(crate) fn set_base(
    conn: &Connection,
    table: &str,
    row_id: &str,
    row: Option<&str>,
) -> CoreResult<()> {
    conn.prepare_cached("UPDATE outbox_base SET row = ?3 WHERE table_name = ?1 AND row_id = ?2")?
        .execute(params![table, row_id, row])?;
    Ok(())
}

/// Writes a row as server state plus its still-pending mutations; forgets
/// the kept server state once nothing is pending for the row.
pub(crate) fn rebuild_row(conn: &Connection, me: &Me, table: &str, row_id: Uuid) -> CoreResult<()> {
    let Some(def) = rows::table(table) else {
        return Ok(());
    };
    let id = row_id.to_string();
    let Some(base) = kept_base(conn, table, &id)? else {
        return Ok(());
    };
    match base {
        Some(row) => {
            rows::upsert(conn, def, &row)?;
        }
        None => {
            rows::delete(conn, def, row_id)?;
        }
    }
    let settled = settled_seq(conn)?;
    let pending = pending_for_row(conn, table, &id)?;
    for mutation in pending.iter().filter(|m| m.seq > settled) {
        apply(conn, me, mutation)?;
    }
    if pending.is_empty() {
        conn.execute(
            "DELETE FROM outbox_base WHERE table_name = ?1 AND row_id = ?2",
            params![table, id],
        )?;
    }
    Ok(())
}

fn pending_for_row(conn: &Connection, table: &str, row_id: &str) -> CoreResult<Vec<Mutation>> {
    let mut stmt = conn.prepare_cached(
        "SELECT mutation FROM outbox WHERE table_name = ?1 AND row_id = ?2 ORDER BY seq",
    )?;
    let rows = stmt.query_map(params![table, row_id], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for text in rows {
        out.push(serde_json::from_str(&text?)?);
    }
    Ok(out)
}

/// A mutation's effect on the replica, as the server would apply it when
/// nothing conflicts: inserts get the server's defaults (author, times),
/// updates change their fields and the row's `updated_at`.
pub(crate) fn apply(conn: &Connection, me: &Me, mutation: &Mutation) -> CoreResult<()> {
    let def = rows::synced(mutation.table);
    let now = timestamp(mutation.edited_at);
    match &mutation.op {
        MutationOp::Insert { values } => {
            let mut row = local_defaults(mutation.table, me, &now);
            row.extend(values.iter().map(|(k, v)| (k.clone(), v.clone())));
            row.insert("id".into(), Value::String(mutation.row_id.to_string()));
            rows::upsert(conn, def, &row)?;
        }
        MutationOp::Update { changes } => {
            let mut fields: Map<String, Value> = changes
                .iter()
                .map(|(k, c)| (k.clone(), c.value.clone()))
                .collect();
            if def.kind("updated_at").is_some() {
                fields.insert("updated_at".into(), Value::String(now.clone()));
            }
            if mutation.table == SyncTable::Tickets
                && let Some(status) = changes.get("status").and_then(|c| c.value.as_str())
            {
                derive_ticket_stamps(conn, mutation.row_id, status, &now, &mut fields)?;
            }
            rows::update(conn, def, mutation.row_id, &fields)?;
        }
        MutationOp::Delete => {
            rows::delete(conn, def, mutation.row_id)?;
            cascade_delete(conn, mutation.table, mutation.row_id)?;
        }
    }
    Ok(())
}

/// resolved_at / closed_at as the server's trigger derives them.
fn derive_ticket_stamps(
    conn: &Connection,
    ticket_id: Uuid,
    status: &str,
    now: &str,
    fields: &mut Map<String, Value>,
) -> CoreResult<()> {
    let (resolved, closed): (Option<String>, Option<String>) = conn
        .query_row(
            "SELECT resolved_at, closed_at FROM tickets WHERE id = ?1",
            params![ticket_id.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .unwrap_or_default();
    let stamp = |kept: Option<String>| kept.map_or(Value::String(now.to_string()), Value::String);
    match status {
        "resolved" => {
            fields.insert("resolved_at".into(), stamp(resolved));
        }
        "closed" => {
            fields.insert("closed_at".into(), stamp(closed));
        }
        "reopened" | "open" | "in_progress" | "pending_customer" => {
            fields.insert("resolved_at".into(), Value::Null);
            fields.insert("closed_at".into(), Value::Null);
        }
        _ => {}
    }
    Ok(())
}

/// Removes a deleted row's dependants, as the server's cascades do (pulls
/// bring their own removals).
fn cascade_delete(conn: &Connection, table: SyncTable, row_id: Uuid) -> CoreResult<()> {
    for (child, column) in table.def().dependants() {
        conn.execute(
            &format!("DELETE FROM {} WHERE {column} = ?1", child.name),
            params![row_id.to_string()],
        )?;
    }
    Ok(())
}

/// What the server fills in on insert, so the optimistic row looks like the
/// one that will come back: the catalogue's fills.
pub(crate) fn local_defaults(table: SyncTable, me: &Me, now: &str) -> Map<String, Value> {
    table
        .def()
        .columns
        .iter()
        .filter_map(|column| {
            let value = match column.fill? {
                Fill::Text(text) => Value::from(text),
                Fill::Bool(b) => Value::Bool(b),
                Fill::Now => Value::String(now.to_string()),
                Fill::Me => Value::String(me.user_id.to_string()),
            };
            Some((column.name.to_string(), value))
        })
        .collect()
}

/// The protocol's update: per field, the value the user saw and the new one;
/// fields that do not change are left out. `None` when nothing changes.
pub(crate) fn changes_against(
    current: &Map<String, Value>,
    new: BTreeMap<String, Value>,
) -> Option<MutationOp> {
    let changes: BTreeMap<_, _> = new
        .into_iter()
        .filter_map(|(field, value)| {
            let base = current.get(&field).cloned().unwrap_or(Value::Null);
            (base != value).then_some((field, crm_domain::protocol::FieldChange { base, value }))
        })
        .collect();
    (!changes.is_empty()).then_some(MutationOp::Update { changes })
}

/// A parsed timestamp from the replica.
pub(crate) fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}
