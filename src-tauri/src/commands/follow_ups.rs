//! Follow-ups: the user's open ones (overdue, today, upcoming: the window
//! groups them by its local day), marking one done, moving it to a new
//! date, and putting its reminder off.

use chrono::{DateTime, Utc};
use crm_desktop_core::error::ErrorReport;
use crm_desktop_core::store::interactions::FollowUp;
use crm_domain::CustomerInteraction;
use serde::{Deserialize, Serialize};
use tauri::State;
use uuid::Uuid;

use crate::state::AppState;

/// A follow-up as the list shows it.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct FollowUpItem {
    #[serde(flatten)]
    pub follow_up: FollowUp,
    /// Its reminder is put off until then.
    pub snoozed_until: Option<DateTime<Utc>>,
}

/// The user's open follow-ups, oldest first.
#[tauri::command]
#[specta::specta]
pub async fn follow_ups(state: State<'_, AppState>) -> Result<Vec<FollowUpItem>, ErrorReport> {
    state
        .read(|s| {
            s.my_follow_ups()?
                .into_iter()
                .map(|follow_up| {
                    Ok(FollowUpItem {
                        snoozed_until: s.snoozed_until(&follow_up)?,
                        follow_up,
                    })
                })
                .collect()
        })
        .await
}

/// Marks a follow-up done (synced and audited like any change).
#[tauri::command]
#[specta::specta]
pub async fn complete_follow_up(
    state: State<'_, AppState>,
    interaction_id: Uuid,
) -> Result<CustomerInteraction, ErrorReport> {
    state
        .write(move |s| s.complete_follow_up(interaction_id))
        .await
}

/// Moves a follow-up to a new date.
#[tauri::command]
#[specta::specta]
pub async fn reschedule_follow_up(
    state: State<'_, AppState>,
    interaction_id: Uuid,
    to: DateTime<Utc>,
) -> Result<CustomerInteraction, ErrorReport> {
    state
        .write(move |s| s.reschedule_follow_up(interaction_id, to))
        .await
}

/// Puts a follow-up's reminder off until `until` (on this computer only:
/// the follow-up itself keeps its date).
#[tauri::command]
#[specta::specta]
pub async fn snooze_follow_up(
    state: State<'_, AppState>,
    interaction_id: Uuid,
    until: DateTime<Utc>,
) -> Result<(), ErrorReport> {
    state
        .write(move |s| s.snooze_follow_up(interaction_id, until))
        .await
}
