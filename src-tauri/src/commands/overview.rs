//! What several screens share: the dashboard figures, search across
//! everything, the people and products to pick from, the app's vocabulary,
//! and the window's last screen.

use crm_desktop_core::error::ErrorReport;
use crm_desktop_core::store::search::SearchHit;
use crm_desktop_core::store::stats::Dashboard;
use crm_domain::{
    AcquisitionStage, Colleague, CustomerStatus, InteractionChannel, Product, TicketPriority,
    TicketStatus,
};
use serde::{Deserialize, Serialize};
use tauri::State;

use crate::state::AppState;

#[tauri::command]
#[specta::specta]
pub async fn dashboard(state: State<'_, AppState>) -> Result<Dashboard, ErrorReport> {
    state.read(|s| s.dashboard()).await
}

/// Customers, tickets and comments matching `query` (prefixes match), best
/// first.
#[tauri::command]
#[specta::specta]
pub async fn search(
    state: State<'_, AppState>,
    query: String,
) -> Result<Vec<SearchHit>, ErrorReport> {
    state.read(move |s| s.search(&query, 20)).await
}

#[tauri::command]
#[specta::specta]
pub async fn colleagues(state: State<'_, AppState>) -> Result<Vec<Colleague>, ErrorReport> {
    state.read(|s| s.colleagues()).await
}

#[tauri::command]
#[specta::specta]
pub async fn products(state: State<'_, AppState>) -> Result<Vec<Product>, ErrorReport> {
    state.read(|s| s.products()).await
}

/// Every value of the enums the forms offer, in their order, from
/// crm-domain (so the UI never keeps a list of its own).
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct Vocabulary {
    pub stages: Vec<AcquisitionStage>,
    pub customer_statuses: Vec<CustomerStatus>,
    pub channels: Vec<InteractionChannel>,
    pub priorities: Vec<TicketPriority>,
    pub ticket_statuses: Vec<TicketStatus>,
}

#[tauri::command]
#[specta::specta]
pub fn vocabulary() -> Vocabulary {
    Vocabulary {
        stages: AcquisitionStage::ALL.to_vec(),
        customer_statuses: CustomerStatus::ALL.to_vec(),
        channels: InteractionChannel::ALL.to_vec(),
        priorities: TicketPriority::ALL.to_vec(),
        ticket_statuses: TicketStatus::ALL.to_vec(),
    }
}

/// The screen the window showed last, restored at the next start.
#[tauri::command]
#[specta::specta]
pub fn last_screen(state: State<'_, AppState>) -> Option<String> {
    std::fs::read_to_string(state.config.data_dir.join("last-screen")).ok()
}

#[tauri::command]
#[specta::specta]
pub fn remember_screen(state: State<'_, AppState>, screen: String) -> Result<(), ErrorReport> {
    if screen.len() > 200 {
        return Err(ErrorReport::from(&crm_desktop_core::CoreError::Malformed(
            "screen name too long".into(),
        )));
    }
    std::fs::write(state.config.data_dir.join("last-screen"), screen)
        .map_err(|e| ErrorReport::from(&crm_desktop_core::CoreError::Io(e)))
}
