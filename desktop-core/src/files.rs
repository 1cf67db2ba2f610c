//! Attachment files between this device and the server, for the window:
//! opening one (from the cache, or downloaded into it first). Uploads are
//! the sync engine's (`sync`), in outbox order; what is kept where is the
//! store's (`store::attachments`).

use std::path::PathBuf;

use uuid::Uuid;

use crate::error::{CoreError, CoreResult};
use crate::session::Session;
use crate::store::attachments::{self, FileLookup};
use crate::store::{SharedStore, on_store as with_store};

/// The path of an attachment's file on this device, downloading it first
/// if it is only on the server (checked against the server's hash, then
/// kept in the cache, which stays within `cache_limit` bytes).
pub async fn fetch(
    store: &SharedStore,
    session: &Session,
    attachment_id: Uuid,
    cache_limit: u64,
) -> CoreResult<PathBuf> {
    let (lookup, files_dir) = with_store(store, move |s| {
        Ok((s.file_of(attachment_id)?, s.files_dir().to_owned()))
    })
    .await?;
    let (ticket_id, file_name) = match lookup {
        FileLookup::Cached(path) => {
            with_store(store, move |s| s.file_opened(attachment_id)).await?;
            return Ok(path);
        }
        FileLookup::Remote {
            ticket_id,
            file_name,
            ..
        } => (ticket_id, file_name),
    };
    std::fs::create_dir_all(&files_dir)?;
    let temp = files_dir.join(format!("incoming-{}", Uuid::new_v4()));
    let token = session.access_token().await?;
    let downloaded = session
        .api()
        .download_file(&token, ticket_id, &file_name, &temp)
        .await;
    let etag = match downloaded {
        Ok(etag) => etag,
        Err(e) => {
            let _ = std::fs::remove_file(&temp);
            return Err(e.into());
        }
    };
    let staged = {
        let files_dir = files_dir.clone();
        let temp = temp.clone();
        tokio::task::spawn_blocking(move || attachments::adopt(&files_dir, &temp, etag.as_deref()))
            .await
            .map_err(|e| CoreError::Malformed(e.to_string()))??
    };
    let path = attachments::cached_path(&files_dir, &staged.sha256);
    with_store(store, move |s| {
        s.file_downloaded(attachment_id, &staged)?;
        s.sweep_files(cache_limit)?;
        Ok(())
    })
    .await?;
    Ok(path)
}
