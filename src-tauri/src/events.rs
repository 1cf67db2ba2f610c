//! What the app tells the window without being asked: sync status (state,
//! first-load progress, pending changes, inbox count) on every change, and
//! "show this customer" when the user clicks a follow-up reminder ("show
//! the follow-ups" for the summary of missed ones). Events,
//! never polling.

use crm_desktop_core::reminders::ReminderAction;
use crm_desktop_core::sync::SyncStatus;
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Manager};
use tauri_specta::Event;
use uuid::Uuid;

use crate::state::Notifier;

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
