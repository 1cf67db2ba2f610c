//! Settling a push: the server's outcome for each sent change, applied to
//! the replica. An accepted change becomes part of its row's kept server
//! state; a refused one leaves the outbox for the inbox, named while the
//! replica still holds what it was about (a refusal often means the row is
//! about to leave). Above the outbox and the inbox, so that neither
//! imports the other.

use chrono::Utc;
use crm_domain::protocol::{Mutation, MutationOp};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;
use uuid::Uuid;

use super::outbox::{kept_base, local_defaults, note_settled_seq, rebuild_row, set_base};
use super::{Me, Store, set_state, timestamp};
use crate::error::CoreResult;

/// What a push settled, for the engine's events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Settled {
    pub applied: usize,
    pub merged: usize,
    pub rejected: usize,
    /// The replica took a new client id (see `PushResponse::forked`).
    pub forked: bool,
}

impl Store {
    /// Takes in the server's answer to a push: settled mutations leave the
    /// outbox; refused ones go to the inbox and their rows are rebuilt
    /// without them.
    pub fn settle(&mut self, response: &crm_domain::protocol::PushResponse) -> CoreResult<Settled> {
        use crm_domain::protocol::MutationOutcome;
        let me = self.me()?;
        let tx = self.conn.transaction()?;
        let mut settled = Settled::default();
        let mut touched = Vec::new();
        for result in &response.results {
            let Some((table, row_id, text)) = tx
                .prepare_cached("SELECT table_name, row_id, mutation FROM outbox WHERE seq = ?1")?
                .query_row(params![result.seq], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                })
                .optional()?
            else {
                continue; // settled earlier (a replayed answer)
            };
            let mutation: Mutation = serde_json::from_str(&text)?;
            tx.execute("DELETE FROM outbox WHERE seq = ?1", params![result.seq])?;
            match &result.outcome {
                MutationOutcome::Applied | MutationOutcome::Merged { .. } => {
                    if matches!(result.outcome, MutationOutcome::Applied) {
                        settled.applied += 1;
                    } else {
                        settled.merged += 1;
                    }
                    advance_base(&tx, &me, &table, &row_id, &mutation)?;
                }
                MutationOutcome::Rejected {
                    code,
                    message,
                    field,
                    reason,
                } => {
                    settled.rejected += 1;
                    // Named now, while the replica still holds the rows.
                    let subject = super::inbox::subject_of(&tx, &mutation)?;
                    // An attachment refused for want of its file says why
                    // the server would not take the file.
                    let file_refusal = if table == "ticket_attachments" {
                        Store::file_refusal(&tx, &row_id)?
                    } else {
                        None
                    };
                    let (code, message, field) = match &file_refusal {
                        Some(why) => (
                            &crm_domain::protocol::RejectionCode::ValidationFailed,
                            why,
                            &Some("file".to_owned()),
                        ),
                        None => (code, message, field),
                    };
                    tx.execute(
                        "INSERT OR REPLACE INTO rejected
                             (seq, table_name, row_id, mutation, code, message, rejected_at, subject,
                              reason, field)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                        params![
                            result.seq,
                            table,
                            row_id,
                            text,
                            code.as_str(),
                            message,
                            timestamp(Utc::now()),
                            subject,
                            reason.as_ref().map(serde_json::to_string).transpose()?,
                            field
                        ],
                    )?;
                }
            }
            touched.push((table, mutation.row_id));
        }
        note_settled_seq(&tx, response.last_seq)?;
        if response.forked {
            // Another copy of this replica used the numbers after
            // `last_seq` (it was restored from a backup, or copied): this
            // one goes on under a new client id, from its first unsent
            // change, and nothing of its outbox counts as settled.
            let first_unsent: Option<i64> =
                tx.query_row("SELECT min(seq) FROM outbox", [], |r| r.get(0))?;
            let client = Uuid::now_v7();
            tracing::warn!(%client, "this replica's numbering forked from a copy of it; taking a new client id");
            set_state(&tx, "client_id", &client.to_string())?;
            set_state(
                &tx,
                "server_last_seq",
                &first_unsent.map_or(0, |seq| seq - 1).to_string(),
            )?;
            settled.forked = true;
            let mut pending = tx.prepare("SELECT DISTINCT table_name, row_id FROM outbox")?;
            let rows =
                pending.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
            for row in rows {
                let (table, row_id) = row?;
                if let Ok(row_id) = Uuid::parse_str(&row_id) {
                    touched.push((table, row_id));
                }
            }
        }
        touched.sort();
        touched.dedup();
        for (table, row_id) in touched {
            rebuild_row(&tx, &me, &table, row_id)?;
        }
        tx.commit()?;
        Ok(settled)
    }
}

/// An accepted mutation becomes part of the row's server state, so a later
/// rebuild (after a refusal of the next one) keeps it.
fn advance_base(
    conn: &Connection,
    me: &Me,
    table: &str,
    row_id: &str,
    mutation: &Mutation,
) -> CoreResult<()> {
    let Some(mut row) = kept_base(conn, table, row_id)? else {
        return Ok(());
    };
    match &mutation.op {
        MutationOp::Insert { values } => {
            let mut new = local_defaults(mutation.table, me, &timestamp(mutation.edited_at));
            new.extend(values.iter().map(|(k, v)| (k.clone(), v.clone())));
            new.insert("id".into(), Value::String(row_id.to_string()));
            row = Some(new);
        }
        MutationOp::Update { changes } => {
            if let Some(row) = row.as_mut() {
                for (field, change) in changes {
                    row.insert(field.clone(), change.value.clone());
                }
            }
        }
        MutationOp::Delete => row = None,
    }
    let text = row.map(|r| Value::Object(r).to_string());
    set_base(conn, table, row_id, text.as_deref())
}
