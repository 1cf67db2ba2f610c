//! The window itself: the screen it showed last (restored at the next
//! start) and quitting. Size and position are kept by
//! tauri-plugin-window-state, which saves them when the app exits normally
//! (so Quit, not a kill, is how they survive a restart).

use crm_desktop_core::CoreError;
use crm_desktop_core::error::ErrorReport;
use tauri::{AppHandle, State};

use crate::state::AppState;

/// Where the signed-in user's last screen is kept: in their own directory
/// (it names a customer or a ticket), never where another user of this
/// computer could read it (security review L9); `None` when signed out.
async fn screen_file(state: &AppState) -> Option<std::path::PathBuf> {
    let (account, _) = state.signed_in().await?;
    Some(
        crm_desktop_core::session::user_dir(&state.config.data_dir, account.id).join("last-screen"),
    )
}

/// The screen the window showed last, restored at the next start.
#[tauri::command]
#[specta::specta]
pub async fn last_screen(state: State<'_, AppState>) -> Result<Option<String>, ErrorReport> {
    // Left by versions that kept one file for every user of the directory.
    let _ = std::fs::remove_file(state.config.data_dir.join("last-screen"));
    Ok(match screen_file(&state).await {
        Some(file) => std::fs::read_to_string(file).ok(),
        None => None,
    })
}

#[tauri::command]
#[specta::specta]
pub async fn remember_screen(
    state: State<'_, AppState>,
    screen: String,
) -> Result<(), ErrorReport> {
    if screen.len() > 200 {
        return Err(ErrorReport::from(&CoreError::Malformed(
            "screen name too long".into(),
        )));
    }
    let Some(file) = screen_file(&state).await else {
        return Ok(());
    };
    std::fs::write(file, screen).map_err(|e| ErrorReport::from(&CoreError::Io(e)))
}

/// Quits the app (Ctrl+Q): the sync engine stops between pages, and the
/// window's size and position are saved for the next start.
#[tauri::command]
#[specta::specta]
pub fn quit(app: AppHandle) {
    app.exit(0);
}
