//! My account (my signed-in devices, my password, signing out everywhere)
//! and, for admins, the team's accounts (deactivate, reactivate, devices,
//! one-time reset codes), on the server through
//! `crm_desktop_core::account`. Online only.

use crm_desktop_core::account;
use crm_desktop_core::error::{ErrorReport, FieldMessage};
use crm_domain::UserRole;
use crm_domain::auth::{AccountSummary, ColleagueAdded, DeviceSession, NewColleague, ResetCode};
use tauri::State;
use uuid::Uuid;

use crate::state::AppState;

fn report(e: crm_desktop_core::CoreError) -> ErrorReport {
    ErrorReport::from(&e)
}

/// My devices signed in now, this one first.
#[tauri::command]
#[specta::specta]
pub async fn my_devices(state: State<'_, AppState>) -> Result<Vec<DeviceSession>, ErrorReport> {
    let session = state.session().await?;
    account::devices(&session).await.map_err(report)
}

/// Ends a device's sign-in: one of mine with my password, or (admins)
/// anyone's with none. That device keeps nothing readable.
#[tauri::command]
#[specta::specta]
pub async fn revoke_device(
    state: State<'_, AppState>,
    id: Uuid,
    password: Option<String>,
) -> Result<(), ErrorReport> {
    let session = state.session().await?;
    account::revoke_device(&session, id, password)
        .await
        .map_err(report)
}

/// A new password's broken rules, as the form shows them while typing.
#[tauri::command]
#[specta::specta]
pub async fn check_new_password(
    state: State<'_, AppState>,
    password: String,
) -> Result<Vec<FieldMessage>, ErrorReport> {
    let session = state.session().await?;
    Ok(super::field_messages(
        account::check_new_password(&session, &password).map_err(Into::into),
    ))
}

/// Changes my password; my other devices must sign in again.
#[tauri::command]
#[specta::specta]
pub async fn change_password(
    state: State<'_, AppState>,
    current: String,
    replacement: String,
) -> Result<(), ErrorReport> {
    let session = state.session().await?;
    account::change_password(&session, current, replacement.clone())
        .await
        .map_err(report)?;
    // The offline check (past the grace period) takes the new one.
    state
        .write(move |store| crm_desktop_core::grace::remember_password(store, &replacement))
        .await
}

/// Ends every sign-in of mine, then signs out here.
#[tauri::command]
#[specta::specta]
pub async fn sign_out_everywhere(
    state: State<'_, AppState>,
    password: String,
) -> Result<(), ErrorReport> {
    let session = state.session().await?;
    account::sign_out_everywhere(&session, password)
        .await
        .map_err(report)?;
    // This device keeps its data: its user is the one at the keyboard.
    state.sign_out(true).await.map_err(report)
}

/// Admins: every account, active ones first.
#[tauri::command]
#[specta::specta]
pub async fn team(state: State<'_, AppState>) -> Result<Vec<AccountSummary>, ErrorReport> {
    let session = state.session().await?;
    account::accounts(&session).await.map_err(report)
}

/// Admins: deactivates (`active: false`) or reactivates an account.
#[tauri::command]
#[specta::specta]
pub async fn set_account_active(
    state: State<'_, AppState>,
    id: Uuid,
    active: bool,
) -> Result<AccountSummary, ErrorReport> {
    let session = state.session().await?;
    account::set_account_active(&session, id, active)
        .await
        .map_err(report)
}

/// Admins: an account's devices signed in now.
#[tauri::command]
#[specta::specta]
pub async fn account_devices(
    state: State<'_, AppState>,
    id: Uuid,
) -> Result<Vec<DeviceSession>, ErrorReport> {
    let session = state.session().await?;
    account::account_devices(&session, id).await.map_err(report)
}

/// Admins: a one-time password reset code to hand over, shown once.
#[tauri::command]
#[specta::specta]
pub async fn make_reset_code(
    state: State<'_, AppState>,
    id: Uuid,
) -> Result<ResetCode, ErrorReport> {
    let session = state.session().await?;
    account::reset_code(&session, id).await.map_err(report)
}

/// Admins: adds a colleague, with the one-time code (shown once) they set
/// their password with.
#[tauri::command]
#[specta::specta]
pub async fn add_colleague(
    state: State<'_, AppState>,
    colleague: NewColleague,
) -> Result<ColleagueAdded, ErrorReport> {
    let session = state.session().await?;
    account::add_colleague(&session, colleague)
        .await
        .map_err(report)
}

/// Admins: changes an account's role.
#[tauri::command]
#[specta::specta]
pub async fn set_role(
    state: State<'_, AppState>,
    id: Uuid,
    role: UserRole,
) -> Result<AccountSummary, ErrorReport> {
    let session = state.session().await?;
    account::set_role(&session, id, role).await.map_err(report)
}

/// Checks a new colleague as the server will, as the admin types.
#[tauri::command]
#[specta::specta]
pub fn check_new_colleague(colleague: NewColleague) -> Vec<FieldMessage> {
    super::field_messages(colleague.check())
}
