//! Customers and their interactions: the list with search and filters, a
//! customer's page, and the forms to add, edit and log.

use crm_desktop_core::error::{ErrorReport, FieldMessage};
use crm_desktop_core::store::customers::{
    CustomerEdit, CustomerFilter, CustomerListItem, CustomerListPage, CustomerPage,
};
use crm_domain::{Customer, CustomerInteraction, NewCustomer, NewInteraction};
use tauri::State;
use uuid::Uuid;

use super::field_messages;
use crate::state::AppState;

/// A few customers matching what was typed (the ticket form's picker).
#[tauri::command]
#[specta::specta]
pub async fn list_customers(
    state: State<'_, AppState>,
    filter: CustomerFilter,
) -> Result<Vec<CustomerListItem>, ErrorReport> {
    state.read(move |s| s.list_customers(&filter)).await
}

/// The customer list screen: one page, sorted and filtered, with the
/// number of customers matching in all.
#[tauri::command]
#[specta::specta]
pub async fn customer_list(
    state: State<'_, AppState>,
    filter: CustomerFilter,
) -> Result<CustomerListPage, ErrorReport> {
    state.read(move |s| s.customer_list(&filter)).await
}

#[tauri::command]
#[specta::specta]
pub async fn customer_page(
    state: State<'_, AppState>,
    id: Uuid,
) -> Result<CustomerPage, ErrorReport> {
    state.read(move |s| s.customer_page(id)).await
}

#[tauri::command]
#[specta::specta]
pub async fn create_customer(
    state: State<'_, AppState>,
    draft: NewCustomer,
) -> Result<Customer, ErrorReport> {
    state.write(move |s| s.create_customer(draft)).await
}

#[tauri::command]
#[specta::specta]
pub async fn update_customer(
    state: State<'_, AppState>,
    id: Uuid,
    edit: CustomerEdit,
) -> Result<Customer, ErrorReport> {
    state.write(move |s| s.update_customer(id, edit)).await
}

/// The form's rules, as the user types (the same ones saving applies).
#[tauri::command]
#[specta::specta]
pub fn check_customer(draft: NewCustomer) -> Vec<FieldMessage> {
    field_messages(draft.validate())
}

#[tauri::command]
#[specta::specta]
pub async fn log_interaction(
    state: State<'_, AppState>,
    draft: NewInteraction,
) -> Result<CustomerInteraction, ErrorReport> {
    state.write(move |s| s.log_interaction(draft)).await
}

#[tauri::command]
#[specta::specta]
pub fn check_interaction(draft: NewInteraction) -> Vec<FieldMessage> {
    field_messages(draft.validate_at(chrono::Utc::now()))
}
