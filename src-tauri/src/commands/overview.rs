//! What several screens share: the dashboard figures, search across
//! everything, the people and products to pick from, and the app's
//! vocabulary.

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
