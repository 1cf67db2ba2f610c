//! Tickets: the list's views, a ticket's page (status moves the workflow
//! allows, priority, assignees and their lead, comments), and the forms to
//! open one and comment.

use crm_desktop_core::error::{ErrorReport, FieldMessage};
use crm_desktop_core::store::tickets::{TicketEdit, TicketListItem, TicketPage, TicketView};
use crm_domain::{NewComment, NewTicket, Ticket, TicketComment};
use tauri::State;
use uuid::Uuid;

use super::field_messages;
use crate::state::AppState;

/// One view of the ticket list; resolved and closed tickets only with
/// `include_done`.
#[tauri::command]
#[specta::specta]
pub async fn tickets(
    state: State<'_, AppState>,
    view: TicketView,
    include_done: bool,
) -> Result<Vec<TicketListItem>, ErrorReport> {
    state.read(move |s| s.tickets(view, include_done)).await
}

#[tauri::command]
#[specta::specta]
pub async fn ticket_page(state: State<'_, AppState>, id: Uuid) -> Result<TicketPage, ErrorReport> {
    state.read(move |s| s.ticket_page(id)).await
}

#[tauri::command]
#[specta::specta]
pub async fn open_ticket(
    state: State<'_, AppState>,
    draft: NewTicket,
) -> Result<Ticket, ErrorReport> {
    state.write(move |s| s.open_ticket(draft)).await
}

/// Saves the ticket form (a status move is checked against the workflow).
#[tauri::command]
#[specta::specta]
pub async fn update_ticket(
    state: State<'_, AppState>,
    id: Uuid,
    edit: TicketEdit,
) -> Result<Ticket, ErrorReport> {
    state.write(move |s| s.update_ticket(id, edit)).await
}

#[tauri::command]
#[specta::specta]
pub async fn add_comment(
    state: State<'_, AppState>,
    draft: NewComment,
) -> Result<TicketComment, ErrorReport> {
    state.write(move |s| s.add_comment(draft)).await
}

/// Changes a comment (only its author may).
#[tauri::command]
#[specta::specta]
pub async fn edit_comment(
    state: State<'_, AppState>,
    id: Uuid,
    content: String,
    is_internal: bool,
) -> Result<TicketComment, ErrorReport> {
    state
        .write(move |s| s.edit_comment(id, content, is_internal))
        .await
}

/// Deletes a comment (its author or an admin).
#[tauri::command]
#[specta::specta]
pub async fn delete_comment(state: State<'_, AppState>, id: Uuid) -> Result<(), ErrorReport> {
    state.write(move |s| s.delete_comment(id)).await
}

#[tauri::command]
#[specta::specta]
pub async fn add_assignee(
    state: State<'_, AppState>,
    ticket_id: Uuid,
    user_id: Uuid,
) -> Result<(), ErrorReport> {
    state
        .write(move |s| s.add_assignee(ticket_id, user_id))
        .await
}

/// Makes someone the ticket's lead (adding them to its assignees if needed).
#[tauri::command]
#[specta::specta]
pub async fn set_ticket_lead(
    state: State<'_, AppState>,
    ticket_id: Uuid,
    user_id: Uuid,
) -> Result<(), ErrorReport> {
    state
        .write(move |s| s.set_ticket_lead(ticket_id, user_id))
        .await
}

#[tauri::command]
#[specta::specta]
pub async fn remove_assignee(
    state: State<'_, AppState>,
    ticket_id: Uuid,
    user_id: Uuid,
) -> Result<(), ErrorReport> {
    state
        .write(move |s| s.remove_assignee(ticket_id, user_id))
        .await
}

#[tauri::command]
#[specta::specta]
pub fn check_ticket(draft: NewTicket) -> Vec<FieldMessage> {
    field_messages(draft.validate())
}

#[tauri::command]
#[specta::specta]
pub fn check_comment(draft: NewComment) -> Vec<FieldMessage> {
    field_messages(draft.validate())
}
