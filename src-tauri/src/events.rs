//! What the app tells the window without being asked: sync status (state,
//! first-load progress, pending changes, inbox count) on every change, and
//! "show this customer" when the user clicks a follow-up reminder ("show
//! the follow-ups" for the summary of missed ones). Events,
//! never polling.

use crm_desktop_core::reminders::ReminderAction;
use crm_desktop_core::sync::SyncStatus;
use crm_desktop_core::wipe::Wiped;
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Manager};
use tauri_specta::Event;
use uuid::Uuid;

use crate::state::{AppState, Notifier};

/// The sync engine's status changed.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, Event)]
pub struct SyncStatusChanged(pub SyncStatus);

/// Show this customer (the user chose a follow-up reminder).
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, Event)]
pub struct OpenCustomer {
    pub customer_id: Uuid,
}

/// Show the follow-ups screen (the user chose the missed follow-ups'
/// summary).
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, Event)]
pub struct OpenFollowUps;

/// The server ended this device's access, and the user's data was removed
/// from it (the unsent work saved first, see `saved_to`); or the removal
/// failed (`error`), which the window must say just as plainly.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, Event)]
pub struct AccessEnded {
    pub wiped: Option<Wiped>,
    pub reason: String,
    pub error: Option<String>,
}

/// Delivers the core's news to the main window.
pub struct WindowNotifier {
    app: AppHandle,
}

impl WindowNotifier {
    pub fn new(app: AppHandle) -> Self {
        Self { app }
    }
}

impl Notifier for WindowNotifier {
    fn sync_status(&self, status: SyncStatus) {
        if let Err(e) = SyncStatusChanged(status).emit(&self.app) {
            tracing::debug!(error = %e, "sync status not delivered");
        }
    }

    fn access_ended(&self, reason: String) {
        let app = self.app.clone();
        tauri::async_runtime::spawn(async move {
            let state = app.state::<AppState>();
            let event = match state.end_access(&reason).await {
                Ok(wiped) => AccessEnded {
                    wiped: Some(wiped),
                    reason,
                    error: None,
                },
                Err(e) => {
                    tracing::error!(error = %e, "access ended, but this device's data could not all be removed");
                    AccessEnded {
                        wiped: None,
                        reason,
                        error: Some(e.to_string()),
                    }
                }
            };
            bring_forward(&app);
            if let Err(e) = event.emit(&app) {
                tracing::warn!(error = %e, "could not tell the window that access ended");
            }
        });
    }

    fn reminder_action(&self, action: ReminderAction) {
        match action {
            ReminderAction::Open { customer_id } => {
                bring_forward(&self.app);
                if let Err(e) = (OpenCustomer { customer_id }).emit(&self.app) {
                    tracing::warn!(error = %e, "could not open the reminder's customer");
                }
            }
            ReminderAction::OpenFollowUps => {
                bring_forward(&self.app);
                if let Err(e) = OpenFollowUps.emit(&self.app) {
                    tracing::warn!(error = %e, "could not open the follow-ups");
                }
            }
        }
    }
}

/// Shows the main window above the others.
pub fn bring_forward(app: &AppHandle) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}
