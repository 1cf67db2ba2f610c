//! Interactions: logging a contact with a customer (with an optional
//! follow-up date), editing and deleting it, and the follow-ups due.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use crm_domain::InteractionChannel;
use crm_domain::drafts::NewInteraction;
use crm_domain::entities::CustomerInteraction;
use crm_domain::protocol::{MutationOp, SyncTable};
use crm_domain::validation::blank_to_none;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::access::require_manages_customer;
use super::customers::{opt_text, validate_fields};
use super::outbox::changes_against;
use super::rows;
use super::{Store, timestamp};
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
        let def = def()?;
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
        let row = rows::read(self.conn(), def()?, id)?.ok_or(CoreError::NotFound {
            what: "interaction",
        })?;
        // A date compares by instant, not spelling: the server writes
        // "+00:00" where a client may write "Z".
        let stored = current.follow_up_date;
        if stored != edit.follow_up_date {
            new.insert("follow_up_date".into(), opt_time(edit.follow_up_date));
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

    /// Every follow-up in the replica due by `until`, oldest first.
    pub fn follow_ups_due(&self, until: DateTime<Utc>) -> CoreResult<Vec<FollowUp>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT i.id, i.customer_id, coalesce(c.name, ''), i.type, i.note, i.follow_up_date
             FROM customer_interactions i
             LEFT JOIN customers c ON c.id = i.customer_id
             WHERE i.follow_up_date IS NOT NULL
             ORDER BY i.follow_up_date",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, String>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, customer_id, customer_name, interaction_type, note, date) = row?;
            // Stored spellings vary ("Z" / "+00:00"), so compare instants.
            let Some(due) = super::outbox::parse_time(&date) else {
                continue;
            };
            if due > until {
                continue;
            }
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
        Ok(out)
    }

    /// The next follow-up after `after`, to know when to wake up.
    pub fn next_follow_up_after(&self, after: DateTime<Utc>) -> CoreResult<Option<DateTime<Utc>>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT follow_up_date FROM customer_interactions WHERE follow_up_date IS NOT NULL",
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
}

fn def() -> CoreResult<&'static rows::TableDef> {
    rows::table("customer_interactions").ok_or(CoreError::NotFound { what: "table" })
}

pub(crate) fn opt_time(value: Option<DateTime<Utc>>) -> Value {
    value.map_or(Value::Null, |t| Value::String(timestamp(t)))
}

pub(crate) fn parse_id(text: &str) -> CoreResult<Uuid> {
    text.parse()
        .map_err(|e: uuid::Error| CoreError::Malformed(e.to_string()))
}
