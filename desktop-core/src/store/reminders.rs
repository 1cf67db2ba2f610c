//! The reminder log: which follow-ups have been announced, and which are
//! due. A follow-up is keyed by its interaction and its date (as an instant,
//! whatever the spelling), so a moved follow-up fires again at its new date,
//! a deleted one is gone with its row, and restarts or re-syncs never repeat
//! one.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use uuid::Uuid;

use super::interactions::FollowUp;
use super::outbox::parse_time;
use super::{Store, timestamp};
use crate::error::{CoreError, CoreResult};

impl Store {
    /// The user's follow-ups due by `now` that have not been announced (or
    /// whose snooze is over), oldest first. An agent's are the follow-ups on
    /// their customers and the ones they logged; an admin, who sees every
    /// customer, is reminded of the same — their own — not everyone's.
    pub fn due_reminders(&self, now: DateTime<Utc>) -> CoreResult<Vec<FollowUp>> {
        let mut out = Vec::new();
        for follow_up in self.my_follow_ups()? {
            if follow_up.due > now {
                break;
            }
            if self.reminder_pending(&follow_up, now)? {
                out.push(follow_up);
            }
        }
        Ok(out)
    }

    /// Whether a due follow-up still has to be announced: never announced,
    /// or its snooze is over.
    fn reminder_pending(&self, follow_up: &FollowUp, now: DateTime<Utc>) -> CoreResult<bool> {
        Ok(match self.fired(follow_up)? {
            None => true,
            Some(Some(until)) => parse_time(&until).is_some_and(|t| t <= now),
            Some(None) => false,
        })
    }

    /// Until when a follow-up's reminder is snoozed, if it is.
    pub fn snoozed_until(&self, follow_up: &FollowUp) -> CoreResult<Option<DateTime<Utc>>> {
        Ok(self
            .fired(follow_up)?
            .flatten()
            .and_then(|until| parse_time(&until)))
    }

    /// The reminder log's entry for a follow-up: `None` if never announced,
    /// else its snooze's end, if snoozed.
    fn fired(&self, follow_up: &FollowUp) -> CoreResult<Option<Option<String>>> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT snoozed_until FROM reminders_fired
                 WHERE interaction_id = ?1 AND follow_up_date = ?2",
            )?
            .query_row(
                params![
                    follow_up.interaction_id.to_string(),
                    timestamp(follow_up.due)
                ],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Records that a follow-up was announced.
    pub fn mark_reminded(&self, follow_up: &FollowUp, at: DateTime<Utc>) -> CoreResult<()> {
        self.conn().execute(
            "INSERT INTO reminders_fired (interaction_id, follow_up_date, fired_at, snoozed_until)
             VALUES (?1, ?2, ?3, NULL)
             ON CONFLICT (interaction_id, follow_up_date)
             DO UPDATE SET fired_at = excluded.fired_at, snoozed_until = NULL",
            params![
                follow_up.interaction_id.to_string(),
                timestamp(follow_up.due),
                timestamp(at)
            ],
        )?;
        Ok(())
    }

    /// Puts the reminder of one of the user's open follow-ups off until
    /// `until` (on this computer: the follow-up keeps its date).
    pub fn snooze_follow_up(&self, interaction_id: Uuid, until: DateTime<Utc>) -> CoreResult<()> {
        let follow_up = self
            .my_follow_ups()?
            .into_iter()
            .find(|f| f.interaction_id == interaction_id)
            .ok_or(CoreError::NotFound { what: "follow-up" })?;
        self.snooze_reminder(interaction_id, follow_up.due, until)
    }

    /// Announces a follow-up again at `until`.
    pub fn snooze_reminder(
        &self,
        interaction_id: Uuid,
        due: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> CoreResult<()> {
        self.conn().execute(
            "INSERT INTO reminders_fired (interaction_id, follow_up_date, fired_at, snoozed_until)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (interaction_id, follow_up_date) DO UPDATE SET snoozed_until = excluded.snoozed_until",
            params![
                interaction_id.to_string(),
                timestamp(due),
                timestamp(Utc::now()),
                timestamp(until)
            ],
        )?;
        Ok(())
    }

    /// When the next reminder falls due after `now`: a follow-up's date or
    /// the end of a snooze.
    pub fn next_reminder_at(&self, now: DateTime<Utc>) -> CoreResult<Option<DateTime<Utc>>> {
        let follow_up = self.next_follow_up_after(now)?;
        let snooze: Option<String> = self.conn().query_row(
            "SELECT min(snoozed_until) FROM reminders_fired WHERE snoozed_until IS NOT NULL",
            [],
            |r| r.get(0),
        )?;
        let snooze = snooze.and_then(|s| parse_time(&s)).filter(|t| *t > now);
        Ok(match (follow_up, snooze) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
    }
}
