//! Interactions: logging a contact with a customer (with an optional
//! follow-up date), editing and deleting it, and the follow-ups due.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use crm_domain::InteractionChannel;
use crm_domain::drafts::NewInteraction;
use crm_domain::entities::CustomerInteraction;
use crm_domain::protocol::{MutationOp, SyncTable};
use crm_domain::validation::blank_to_none;
use rusqlite::params;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::Store;
use super::access::require_manages_customer;
use super::codec::{opt_text, opt_time, parse_id, validate_fields};
use super::outbox::changes_against;
use super::rows;
use crate::error::{CoreError, CoreResult};

/// The edit form of an interaction.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct InteractionEdit {
    #[serde(rename = "type")]
    pub interaction_type: String,
    pub channel: InteractionChannel,
    pub note: Option<String>,
    pub follow_up_date: Option<DateTime<Utc>>,
}

/// A follow-up to remind the user of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FollowUp {
    pub interaction_id: Uuid,
    pub customer_id: Uuid,
    pub customer_name: String,
    pub interaction_type: String,
    pub note: Option<String>,
    /// As stored (the server's spelling), which keys the reminder log.
    pub follow_up_date: String,
    pub due: DateTime<Utc>,
}

impl Store {
    pub fn interaction(&self, id: Uuid) -> CoreResult<CustomerInteraction> {
        let def = rows::synced(SyncTable::CustomerInteractions);
        let row = rows::read(self.conn(), def, id)?.ok_or(CoreError::NotFound {
            what: "interaction",
        })?;
        Ok(serde_json::from_value(Value::Object(row))?)
    }

    /// Logs a contact on a customer the user manages.
    pub fn log_interaction(&mut self, draft: NewInteraction) -> CoreResult<CustomerInteraction> {
        let me = self.me()?;
        let draft = NewInteraction {
            note: blank_to_none(draft.note),
            ..draft
        };
        draft.validate_at(Utc::now())?;
        require_manages_customer(self.conn(), &me, draft.customer_id)?;
        let id = Uuid::now_v7();
        let mut values = BTreeMap::new();
        values.insert(
            "customer_id".into(),
            Value::from(draft.customer_id.to_string()),
        );
        values.insert("type".into(), Value::from(draft.interaction_type.trim()));
        values.insert("channel".into(), Value::from(draft.channel.as_str()));
        values.insert("note".into(), opt_text(draft.note));
        values.insert("follow_up_date".into(), opt_time(draft.follow_up_date));
        if let Some(at) = draft.occurred_at {
            // When it happened; otherwise `record` stamps the time of logging.
            values.insert("created_at".into(), opt_time(Some(at)));
        }
        self.record(
            &me,
            SyncTable::CustomerInteractions,
            id,
            MutationOp::Insert { values },
        )?;
        self.interaction(id)
    }

    pub fn update_interaction(
        &mut self,
        id: Uuid,
        edit: InteractionEdit,
    ) -> CoreResult<CustomerInteraction> {
        let me = self.me()?;
        let current = self.interaction(id)?;
        require_manages_customer(self.conn(), &me, current.customer_id)?;
        let mut new = BTreeMap::new();
        new.insert("type".into(), Value::from(edit.interaction_type.trim()));
        new.insert("channel".into(), Value::from(edit.channel.as_str()));
        new.insert("note".into(), opt_text(blank_to_none(edit.note)));
        validate_fields(SyncTable::CustomerInteractions, &new)?;
        let row = rows::read(
            self.conn(),
            rows::synced(SyncTable::CustomerInteractions),
            id,
        )?
        .ok_or(CoreError::NotFound {
            what: "interaction",
        })?;
        // A date compares by instant, not spelling: the server writes
        // "+00:00" where a client may write "Z".
        let stored = current.follow_up_date;
        if stored != edit.follow_up_date {
            new.insert("follow_up_date".into(), opt_time(edit.follow_up_date));
            // A new date is a new follow-up: it is to do again.
            if current.follow_up_done_at.is_some() {
                new.insert("follow_up_done_at".into(), Value::Null);
            }
        }
        if let Some(op) = changes_against(&row, new) {
            self.record(&me, SyncTable::CustomerInteractions, id, op)?;
        }
        self.interaction(id)
    }

    pub fn delete_interaction(&mut self, id: Uuid) -> CoreResult<()> {
        let me = self.me()?;
        let current = self.interaction(id)?;
        require_manages_customer(self.conn(), &me, current.customer_id)?;
        self.record(&me, SyncTable::CustomerInteractions, id, MutationOp::Delete)?;
        Ok(())
    }

    /// The user's open follow-ups, oldest first: those on the customers
    /// they own and those they logged. An admin, who holds every customer,
    /// gets their own too, not everyone's: a reminder is for the person who
    /// will make the call.
    pub fn my_follow_ups(&self) -> CoreResult<Vec<FollowUp>> {
        let me = self.me()?;
        let mut stmt = self.conn().prepare_cached(FOLLOW_UPS_MINE)?;
        let rows = stmt.query_map(params![me.user_id.to_string()], follow_up_row)?;
        collect_follow_ups(rows)
    }

    /// The next open follow-up after `after`, to know when to wake up.
    pub fn next_follow_up_after(&self, after: DateTime<Utc>) -> CoreResult<Option<DateTime<Utc>>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT follow_up_date FROM customer_interactions
             WHERE follow_up_date IS NOT NULL AND follow_up_done_at IS NULL",
        )?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        let mut next: Option<DateTime<Utc>> = None;
        for row in rows {
            if let Some(t) = super::outbox::parse_time(&row?)
                && t > after
                && next.is_none_or(|n| t < n)
            {
                next = Some(t);
            }
        }
        Ok(next)
    }

    /// Marks a follow-up done (now), on a customer the user manages.
    pub fn complete_follow_up(&mut self, id: Uuid) -> CoreResult<CustomerInteraction> {
        let me = self.me()?;
        let current = self.interaction(id)?;
        require_manages_customer(self.conn(), &me, current.customer_id)?;
        if current.follow_up_date.is_none() {
            return Err(CoreError::invalid(
                "follow_up_date",
                "this interaction has no follow-up to mark done",
            ));
        }
        if current.follow_up_done_at.is_some() {
            return Ok(current);
        }
        let row = rows::read(
            self.conn(),
            rows::synced(SyncTable::CustomerInteractions),
            id,
        )?
        .ok_or(CoreError::NotFound {
            what: "interaction",
        })?;
        let mut new = BTreeMap::new();
        new.insert("follow_up_done_at".into(), opt_time(Some(Utc::now())));
        if let Some(op) = changes_against(&row, new) {
            self.record(&me, SyncTable::CustomerInteractions, id, op)?;
        }
        self.interaction(id)
    }

    /// Moves a follow-up to a new date (to do again, if it was done).
    pub fn reschedule_follow_up(
        &mut self,
        id: Uuid,
        to: DateTime<Utc>,
    ) -> CoreResult<CustomerInteraction> {
        let current = self.interaction(id)?;
        self.update_interaction(
            id,
            InteractionEdit {
                interaction_type: current.interaction_type,
                channel: current.channel,
                note: current.note,
                follow_up_date: Some(to),
            },
        )
    }
}

/// The user's (`?1`) open follow-ups, in the columns [`follow_up_row`] reads.
const FOLLOW_UPS_MINE: &str =
    "SELECT i.id, i.customer_id, coalesce(c.name, ''), i.type, i.note, i.follow_up_date
     FROM customer_interactions i
     LEFT JOIN customers c ON c.id = i.customer_id
     WHERE i.follow_up_date IS NOT NULL AND i.follow_up_done_at IS NULL
       AND (c.owner = ?1 OR i.created_by = ?1)";

type FollowUpRow = (String, String, String, String, Option<String>, String);

fn follow_up_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<FollowUpRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

/// Oldest first, compared as instants: stored spellings vary ("Z" /
/// "+00:00").
fn collect_follow_ups(
    rows: impl Iterator<Item = rusqlite::Result<FollowUpRow>>,
) -> CoreResult<Vec<FollowUp>> {
    let mut out = Vec::new();
    for row in rows {
        let (id, customer_id, customer_name, interaction_type, note, date) = row?;
        let Some(due) = super::outbox::parse_time(&date) else {
            continue;
        };
        out.push(FollowUp {
            interaction_id: parse_id(&id)?,
            customer_id: parse_id(&customer_id)?,
            customer_name,
            interaction_type,
            note,
            follow_up_date: date,
            due,
        });
    }
    out.sort_by_key(|f| f.due);
    Ok(out)
}
