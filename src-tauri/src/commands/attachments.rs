//! Attachment files: attach (from the file picker or a drop onto the
//! ticket, also offline), open with the system's application (from this
//! device, or downloaded first), preview images, delete. The checks and
//! the queue are the core's (`store::attachments`); the copy into the
//! replica happens outside the replica's lock, so a large file never
//! stalls the window or the sync engine.

use std::path::{Path, PathBuf};

use base64::Engine;
use crm_desktop_core::CoreError;
use crm_desktop_core::error::ErrorReport;
use crm_domain::TicketAttachment;
use tauri::{AppHandle, State};
use tauri_plugin_dialog::DialogExt;
use uuid::Uuid;

use crate::state::AppState;

/// Attaches files from disk to a ticket, in order; each is copied into the
/// replica first, so it is kept even if the original moves. Stops at the
/// first file refused (its name says which), keeping those before it.
#[tauri::command]
#[specta::specta]
pub async fn attach_files(
    state: State<'_, AppState>,
    ticket_id: Uuid,
    paths: Vec<String>,
) -> Result<Vec<TicketAttachment>, ErrorReport> {
    let files = state.read(|s| Ok(s.files().clone())).await?;
    let mut attached = Vec::new();
    for path in paths {
        let path = PathBuf::from(path);
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let files = files.clone();
        let source = path.clone();
        let staged = tokio::task::spawn_blocking(move || {
            let mut file = std::fs::File::open(&source)?;
            files.stage(&mut file)
        })
        .await
        .map_err(|e| ErrorReport::from(&CoreError::Malformed(e.to_string())))?
        .map_err(|e| named(&name, &e))?;
        let shown = name.clone();
        let attachment = state
            .write(move |s| s.attach(ticket_id, &name, &staged))
            .await
            .map_err(|mut report| {
                report.message = format!("{shown}: {}", report.message);
                report
            })?;
        attached.push(attachment);
    }
    Ok(attached)
}

fn named(name: &str, error: &CoreError) -> ErrorReport {
    let mut report = ErrorReport::from(error);
    report.message = format!("{name}: {}", report.message);
    report
}

/// The system's file picker, for files to attach (images, PDFs, Office
/// documents); no files if the user cancels.
#[tauri::command]
#[specta::specta]
pub async fn pick_files(app: AppHandle) -> Result<Vec<String>, ErrorReport> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .set_title("Attach files")
        .add_filter(
            "Images, PDFs and Office documents",
            &[
                "png", "jpg", "jpeg", "gif", "webp", "pdf", "doc", "docx", "xls", "xlsx", "ppt",
                "pptx",
            ],
        )
        .pick_files(move |picked| {
            let _ = tx.send(picked);
        });
    let picked = rx.await.ok().flatten().unwrap_or_default();
    Ok(picked
        .into_iter()
        .filter_map(|p| p.into_path().ok())
        .map(|p| p.to_string_lossy().into_owned())
        .collect())
}

/// Opens an attachment with the system's application for its type,
/// downloading it first if it is not on this device. The cache is sealed;
/// the application gets a clear copy in a private directory, removed when
/// the app starts again or the user signs out.
#[tauri::command]
#[specta::specta]
pub async fn open_attachment(state: State<'_, AppState>, id: Uuid) -> Result<(), ErrorReport> {
    let file = state.fetch_file(id).await?;
    let path = blocking(move || file.open_copy()).await?;
    open_with_system(&path, state.config.open_with.as_deref())
        .map_err(|e| ErrorReport::from(&CoreError::Io(e)))
}

/// Runs file work on the blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, CoreError> + Send + 'static,
) -> Result<T, ErrorReport> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ErrorReport::from(&CoreError::Malformed(e.to_string())))?
        .map_err(|e| ErrorReport::from(&e))
}

/// An image attachment as a `data:` URL for its thumbnail (downloaded if
/// needed); none for other files.
#[tauri::command]
#[specta::specta]
pub async fn attachment_preview(
    state: State<'_, AppState>,
    id: Uuid,
) -> Result<Option<String>, ErrorReport> {
    let attachment = state.read(move |s| s.attachment(id)).await?;
    // Thumbnails of the types a webview shows, and not of huge images.
    let shown = ["image/png", "image/jpeg", "image/gif", "image/webp"];
    if !shown.contains(&attachment.mime_type.as_str()) || attachment.file_size > 8 * 1024 * 1024 {
        return Ok(None);
    }
    let file = state.fetch_file(id).await?;
    // Unsealed in memory: a thumbnail leaves nothing in the clear on disk.
    let bytes = blocking(move || file.read()).await?;
    Ok(Some(format!(
        "data:{};base64,{}",
        attachment.mime_type,
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )))
}

#[tauri::command]
#[specta::specta]
pub async fn delete_attachment(state: State<'_, AppState>, id: Uuid) -> Result<(), ErrorReport> {
    state.write(move |s| s.delete_attachment(id)).await
}

/// Hands a file to the desktop's opener (`xdg-open`, `open`, `start`), or
/// to the command configured with `--open-with`.
fn open_with_system(path: &Path, open_with: Option<&str>) -> std::io::Result<()> {
    let mut command = match open_with {
        Some(program) => std::process::Command::new(program),
        None if cfg!(target_os = "macos") => std::process::Command::new("open"),
        None if cfg!(target_os = "windows") => {
            let mut c = std::process::Command::new("cmd");
            c.args(["/C", "start", ""]);
            c
        }
        None => std::process::Command::new("xdg-open"),
    };
    command.arg(path);
    // The opener runs on its own; its exit is not the app's business.
    let mut child = command.spawn()?;
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    Ok(())
}
