//! The window itself: the screen it showed last (restored at the next
//! start) and quitting. Size and position are kept by
//! tauri-plugin-window-state, which saves them when the app exits normally
//! (so Quit, not a kill, is how they survive a restart).

use crm_desktop_core::CoreError;
use crm_desktop_core::error::ErrorReport;
use tauri::{AppHandle, State};

use crate::state::AppState;

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
        return Err(ErrorReport::from(&CoreError::Malformed(
            "screen name too long".into(),
        )));
    }
    std::fs::write(state.config.data_dir.join("last-screen"), screen)
        .map_err(|e| ErrorReport::from(&CoreError::Io(e)))
}

/// Quits the app (Ctrl+Q): the sync engine stops between pages, and the
/// window's size and position are saved for the next start.
#[tauri::command]
#[specta::specta]
pub fn quit(app: AppHandle) {
    app.exit(0);
}
