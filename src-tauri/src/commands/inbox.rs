//! The inbox: changes the server refused and conflicts where the user's
//! value lost, with what the user can do about each.

use std::collections::BTreeMap;

use crm_desktop_core::error::ErrorReport;
use crm_desktop_core::store::inbox::Inbox;
use serde_json::Value;
use tauri::State;
use uuid::Uuid;

use crate::state::AppState;

#[tauri::command]
#[specta::specta]
pub async fn inbox(state: State<'_, AppState>) -> Result<Inbox, ErrorReport> {
    state.read(|s| s.inbox()).await
}

/// Sends a refused change again as it was (e.g. after access was granted).
#[tauri::command]
#[specta::specta]
pub async fn retry_rejected(state: State<'_, AppState>, seq: i64) -> Result<(), ErrorReport> {
    state.write(move |s| s.retry_rejected(seq)).await
}

/// Sends a refused change again with the user's corrections.
#[tauri::command]
#[specta::specta]
pub async fn resend_edited(
    state: State<'_, AppState>,
    seq: i64,
    values: BTreeMap<String, Value>,
) -> Result<(), ErrorReport> {
    state.write(move |s| s.resend_edited(seq, values)).await
}

#[tauri::command]
#[specta::specta]
pub async fn discard_rejected(state: State<'_, AppState>, seq: i64) -> Result<(), ErrorReport> {
    state.write(move |s| s.discard_rejected(seq)).await
}

/// Puts the user's lost value back (a new edit, synced like any other).
#[tauri::command]
#[specta::specta]
pub async fn restore_conflict(
    state: State<'_, AppState>,
    conflict_id: Uuid,
) -> Result<(), ErrorReport> {
    state.write(move |s| s.restore_conflict(conflict_id)).await
}

/// Accepts the value that was kept.
#[tauri::command]
#[specta::specta]
pub async fn dismiss_conflict(
    state: State<'_, AppState>,
    conflict_id: Uuid,
) -> Result<(), ErrorReport> {
    state.write(move |s| s.dismiss_conflict(conflict_id)).await
}
