//! Follow-up reminders as desktop notifications (notify-rust, over the
//! freedesktop D-Bus interface), offline as online.
//!
//! A scheduler task sleeps until the next follow-up (or a snooze) falls due,
//! or until woken because a sync changed the replica, then announces what is
//! due and records it in the replica's reminder log, so each fires once. On
//! start, follow-ups missed while the app was closed are announced one by
//! one, or as one summary when there are more than [`SUMMARY_THRESHOLD`].
//! Where the notification server offers actions, each reminder has "Open"
//! (the app brings that customer forward) and "Snooze 1 hour".

use std::sync::{Arc, Mutex};
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
}

/// Called when the user picks "Open" (the shell focuses the window there).
pub type OnAction = Arc<dyn Fn(ReminderAction) + Send + Sync>;

type SharedStore = Arc<Mutex<Store>>;

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
    let wake = Arc::new(Notify::new());
    let (stop, mut stop_rx) = watch::channel(false);
    let woken = wake.clone();
    let task = tokio::spawn(async move {
        let mut first = true;
        let mut failures = 0u32;
        loop {
            let store_now = store.clone();
            let actions = on_action.clone();
            let pass = tokio::task::spawn_blocking(move || {
                announce_due(&store_now, Utc::now(), first, actions)
            })
            .await
            .map_err(|e| CoreError::Malformed(e.to_string()))
            .and_then(|r| r);
            let wait = match pass {
                Ok(_) => {
                    first = false;
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
/// notifications were shown. `at_start`: many missed ones become a summary.
pub fn announce_due(
    store: &SharedStore,
    now: DateTime<Utc>,
    at_start: bool,
    on_action: OnAction,
) -> CoreResult<usize> {
    let due = {
        let store = lock(store)?;
        store.due_reminders(now)?
    };
    if due.is_empty() {
        return Ok(0);
    }
    let with_actions = notify_rust::get_capabilities()
        .map(|caps| caps.iter().any(|c| c == "actions"))
        .unwrap_or(false);
    if at_start && due.len() > SUMMARY_THRESHOLD {
        summary(&due, now)
            .show()
            .map_err(|e| CoreError::Remote(format!("notification: {e}")))?;
        let store = lock(store)?;
        for follow_up in &due {
            store.mark_reminded(follow_up, now)?;
        }
        return Ok(1);
    }
    for follow_up in &due {
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
    }
    Ok(due.len())
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
        body.push_str(&format!(
            " (due {})",
            follow_up.due.format("%Y-%m-%d %H:%M UTC")
        ));
    }
    let mut n = Notification::new();
    n.appname(APP_NAME)
        .summary(&format!("Follow up: {}", follow_up.customer_name))
        .body(&body)
        .hint(Hint::Category("x-crm.follow-up".into()))
        .urgency(if overdue {
            Urgency::Critical
        } else {
            Urgency::Normal
        })
        .timeout(Timeout::Never);
    if with_actions {
        n.action("default", "Open")
            .action("open", "Open")
            .action("snooze", "Snooze 1 hour");
    }
    n
}

fn summary(due: &[FollowUp], now: DateTime<Utc>) -> Notification {
    let names: Vec<&str> = due
        .iter()
        .take(5)
        .map(|f| f.customer_name.as_str())
        .collect();
    let more = due.len().saturating_sub(names.len());
    let mut body = names.join(", ");
    if more > 0 {
        body.push_str(&format!(" and {more} more"));
    }
    let mut n = Notification::new();
    n.appname(APP_NAME)
        .summary(&format!("{} follow-ups are due", due.len()))
        .body(&body)
        .hint(Hint::Category("x-crm.follow-up".into()))
        .urgency(
            if due
                .iter()
                .any(|f| now - f.due > chrono::TimeDelta::minutes(1))
            {
                Urgency::Critical
            } else {
                Urgency::Normal
            },
        )
        .timeout(Timeout::Never);
    n
}
