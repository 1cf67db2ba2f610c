//! Follow-up reminders as desktop notifications (notify-rust, over the
//! freedesktop D-Bus interface), offline as online.
//!
//! A scheduler task sleeps until the next follow-up (or a snooze) falls due,
//! or until woken because a sync changed the replica, then announces what is
//! due and records it in the replica's reminder log, so each fires once.
//!
//! Follow-ups that fell due before the scheduler started (while the app was
//! closed, or before this sign-in's first load brought them) are *missed*:
//! more than [`SUMMARY_THRESHOLD`] of them become one summary, whichever
//! pass finds them, so a first sign-in on a new laptop is one calm note, not
//! a wall of them. Nothing is announced while a first load is under way
//! (the replica is still half there). A follow-up falling due while the app
//! runs is its own notification, staying until dismissed, like an alarm; a
//! missed one is an ordinary notification that goes away by itself. Times
//! are in the user's local time, as the window shows them.
//!
//! Where the notification server offers actions, each reminder has "Open"
//! (the app brings that customer forward) and "Snooze 1 hour"; the summary
//! opens the app's follow-ups screen.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use notify_rust::{Hint, Notification, Timeout, Urgency};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::error::{CoreError, CoreResult};
use crate::store::Store;
use crate::store::interactions::FollowUp;

/// More missed follow-ups than this at start-up become one summary.
pub const SUMMARY_THRESHOLD: usize = 3;
/// How long "Snooze" puts a reminder off.
pub const SNOOZE: chrono::TimeDelta = chrono::TimeDelta::hours(1);
/// The name notifications carry.
pub const APP_NAME: &str = "CRM";

/// What the user chose on a reminder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReminderAction {
    /// Show this customer.
    Open { customer_id: Uuid },
    /// Show the follow-ups screen (from the summary of missed ones).
    OpenFollowUps,
}

/// Called when the user picks "Open" (the shell focuses the window there).
pub type OnAction = Arc<dyn Fn(ReminderAction) + Send + Sync>;

use crate::store::SharedStore;

/// The running scheduler.
pub struct RemindersHandle {
    wake: Arc<Notify>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl RemindersHandle {
    /// The replica changed (a sync, an edit): look again.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// What [`Self::wake`] uses, for a task that outlives a borrow of the
    /// handle (the shell wakes the scheduler after each sync round).
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Starts the scheduler; missed follow-ups are announced at once.
pub fn start(store: SharedStore, on_action: OnAction) -> RemindersHandle {
    start_with_waker(store, on_action, Arc::new(Notify::new()))
}

/// [`start`], woken by `wake` (which others may hold from before it
/// starts).
pub fn start_with_waker(
    store: SharedStore,
    on_action: OnAction,
    wake: Arc<Notify>,
) -> RemindersHandle {
    let (stop, mut stop_rx) = watch::channel(false);
    let woken = wake.clone();
    let started = Utc::now();
    let task = tokio::spawn(async move {
        let mut failures = 0u32;
        loop {
            let store_now = store.clone();
            let actions = on_action.clone();
            let pass = tokio::task::spawn_blocking(move || {
                announce_due(&store_now, Utc::now(), started, actions)
            })
            .await
            .map_err(|e| CoreError::Malformed(e.to_string()))
            .and_then(|r| r);
            let wait = match pass {
                Ok(_) => {
                    failures = 0;
                    let next = store
                        .lock()
                        .ok()
                        .and_then(|s| s.next_reminder_at(Utc::now()).ok().flatten());
                    next.map_or(Duration::from_secs(3600), |at| {
                        (at - Utc::now()).to_std().unwrap_or(Duration::ZERO)
                    })
                }
                Err(e) => {
                    // No notification server yet (session starting): retry.
                    failures += 1;
                    tracing::info!(error = %e, "could not show reminders; retrying");
                    Duration::from_secs(u64::from(failures.min(6)) * 10)
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = woken.notified() => {}
                _ = stop_rx.changed() => return,
            }
        }
    });
    RemindersHandle { wake, stop, task }
}

/// Announces every due reminder and records it; returns how many
/// notifications were shown. Follow-ups due before `missed_before` (when
/// the scheduler started) are missed ones: more than [`SUMMARY_THRESHOLD`]
/// of them become one summary.
pub fn announce_due(
    store: &SharedStore,
    now: DateTime<Utc>,
    missed_before: DateTime<Utc>,
    on_action: OnAction,
) -> CoreResult<usize> {
    let due = {
        let store = lock(store)?;
        if store.is_first_loading()? {
            // Woken again when the load's round ends.
            return Ok(0);
        }
        store.due_reminders(now)?
    };
    tracing::debug!(due = due.len(), "reminder pass");
    if due.is_empty() {
        return Ok(0);
    }
    let with_actions = notify_rust::get_capabilities()
        .map(|caps| caps.iter().any(|c| c == "actions"))
        .unwrap_or(false);
    let (missed, on_time): (Vec<FollowUp>, Vec<FollowUp>) =
        due.into_iter().partition(|f| f.due < missed_before);
    let mut shown = 0;
    let mut one_by_one = on_time;
    if missed.len() > SUMMARY_THRESHOLD {
        let handle = summary(&missed, with_actions)
            .show()
            .map_err(|e| CoreError::Remote(format!("notification: {e}")))?;
        {
            let store = lock(store)?;
            for follow_up in &missed {
                store.mark_reminded(follow_up, now)?;
            }
        }
        shown += 1;
        if with_actions {
            let on_action = on_action.clone();
            std::thread::spawn(move || {
                handle.wait_for_action(|action| {
                    if matches!(action, "open" | "default") {
                        on_action(ReminderAction::OpenFollowUps);
                    }
                });
            });
        }
    } else {
        one_by_one.splice(0..0, missed);
    }
    for follow_up in &one_by_one {
        let handle = reminder(follow_up, now, with_actions)
            .show()
            .map_err(|e| CoreError::Remote(format!("notification: {e}")))?;
        lock(store)?.mark_reminded(follow_up, now)?;
        if with_actions {
            let store = store.clone();
            let on_action = on_action.clone();
            let follow_up = follow_up.clone();
            // Waiting for a click blocks; it ends when the notification closes.
            std::thread::spawn(move || {
                handle.wait_for_action(|action| match action {
                    "open" | "default" => on_action(ReminderAction::Open {
                        customer_id: follow_up.customer_id,
                    }),
                    "snooze" => {
                        if let Ok(store) = store.lock() {
                            let until = Utc::now() + SNOOZE;
                            if let Err(e) = store.snooze_reminder(
                                follow_up.interaction_id,
                                follow_up.due,
                                until,
                            ) {
                                tracing::warn!(error = %e, "could not snooze");
                            }
                        }
                    }
                    _ => {}
                });
            });
        }
        shown += 1;
    }
    Ok(shown)
}

fn lock(store: &SharedStore) -> CoreResult<std::sync::MutexGuard<'_, Store>> {
    store
        .lock()
        .map_err(|_| CoreError::Malformed("the replica's lock was poisoned".into()))
}

fn reminder(follow_up: &FollowUp, now: DateTime<Utc>, with_actions: bool) -> Notification {
    let mut body = follow_up.interaction_type.clone();
    if let Some(note) = &follow_up.note {
        body.push_str(": ");
        body.push_str(note);
    }
    let overdue = now - follow_up.due > chrono::TimeDelta::minutes(1);
    if overdue {
        body.push_str(&format!(" (due {})", local_time(follow_up.due, now)));
    }
    let mut n = Notification::new();
    n.appname(APP_NAME)
        .summary(&format!("Follow up: {}", follow_up.customer_name))
        .body(&body)
        .hint(Hint::Category("x-crm.follow-up".into()))
        // Never critical: a critical notification covers the work and
        // ignores "do not disturb", which a late call does not warrant.
        .urgency(Urgency::Normal)
        // One falling due now stays until seen, like an alarm; a late one
        // is news, and goes away by itself.
        .timeout(if overdue {
            Timeout::Default
        } else {
            Timeout::Never
        });
    if with_actions {
        n.action("default", "Open")
            .action("open", "Open")
            .action("snooze", "Snooze 1 hour");
    }
    n
}

fn summary(missed: &[FollowUp], with_actions: bool) -> Notification {
    let names: Vec<&str> = missed
        .iter()
        .take(5)
        .map(|f| f.customer_name.as_str())
        .collect();
    let more = missed.len().saturating_sub(names.len());
    let mut body = names.join(", ");
    if more > 0 {
        body.push_str(&format!(" and {more} more"));
    }
    body.push_str(". They are listed under Follow-ups in the app.");
    let mut n = Notification::new();
    n.appname(APP_NAME)
        .summary(&format!("{} follow-ups are due", missed.len()))
        .body(&body)
        .hint(Hint::Category("x-crm.follow-up".into()))
        .urgency(Urgency::Normal)
        .timeout(Timeout::Default);
    if with_actions {
        n.action("default", "Show follow-ups")
            .action("open", "Show follow-ups");
    }
    n
}

/// A due time as the user reads it: in their time zone, with the day when
/// it is not today ("14:30", "Mon 30 Nov 14:30").
pub fn local_time(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let local = at.with_timezone(&chrono::Local);
    if local.date_naive() == now.with_timezone(&chrono::Local).date_naive() {
        local.format("%H:%M").to_string()
    } else {
        local.format("%a %-d %b %H:%M").to_string()
    }
}
