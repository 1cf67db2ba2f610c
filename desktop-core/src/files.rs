//! Attachment files between this device and the server, for the window:
//! opening one (from the cache, or downloaded into it first). Uploads are
//! the sync engine's (`sync`), in outbox order; what is kept where, and
//! sealed how, is the store's (`store::attachments`, `sealed`).
//!
//! A download streams into the cache's sealing writer as it arrives: the
//! file's bytes are never on disk in the clear, except for the copy handed
//! to the system's application ([`CachedFile::open_copy`]).

use std::path::PathBuf;

use futures_util::StreamExt;
use uuid::Uuid;

use crate::api::ApiError;
use crate::error::{CoreError, CoreResult};
use crate::session::Session;
use crate::store::attachments::{FileCache, FileLookup};
use crate::store::{SharedStore, on_store as with_store};

/// An attachment's file, held (sealed) on this device.
#[derive(Debug, Clone)]
pub struct CachedFile {
    cache: FileCache,
    attachment_id: Uuid,
    file_name: String,
    sha256: String,
}

impl CachedFile {
    /// The SHA-256 of its bytes.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// Its bytes, checked against their hash (blocking; for a thumbnail).
    pub fn read(&self) -> CoreResult<Vec<u8>> {
        self.cache.read(&self.sha256)
    }

    /// A clear copy for the system's application (blocking): see
    /// [`FileCache::open_copy`].
    pub fn open_copy(&self) -> CoreResult<PathBuf> {
        self.cache
            .open_copy(self.attachment_id, &self.file_name, &self.sha256)
    }
}

/// An attachment's file on this device, downloading it first if it is
/// only on the server (checked against the server's hash, then kept in the
/// cache, which stays within `cache_limit` bytes).
pub async fn fetch(
    store: &SharedStore,
    session: &Session,
    attachment_id: Uuid,
    cache_limit: u64,
) -> CoreResult<CachedFile> {
    let (lookup, cache) = with_store(store, move |s| {
        Ok((s.file_of(attachment_id)?, s.files().clone()))
    })
    .await?;
    let (ticket_id, file_name) = match lookup {
        FileLookup::Cached { sha256, file_name } => {
            with_store(store, move |s| s.file_opened(attachment_id)).await?;
            return Ok(CachedFile {
                cache,
                attachment_id,
                file_name,
                sha256,
            });
        }
        FileLookup::Remote {
            ticket_id,
            file_name,
            ..
        } => (ticket_id, file_name),
    };
    let token = session.access_token().await?;
    let download = session
        .api()
        .download_file(&token, ticket_id, &file_name)
        .await?;
    // The network's errors travel through the reader as I/O errors and
    // come back out as what they were.
    let body = download
        .body
        .map(|chunk| chunk.map_err(std::io::Error::other));
    let mut reader = tokio_util::io::SyncIoBridge::new(tokio_util::io::StreamReader::new(body));
    let etag = download.etag;
    let staged = {
        let cache = cache.clone();
        tokio::task::spawn_blocking(move || cache.adopt(&mut reader, etag.as_deref()))
            .await
            .map_err(|e| CoreError::Malformed(e.to_string()))?
            .map_err(network_error_within)?
    };
    let sha256 = staged.sha256.clone();
    with_store(store, move |s| {
        s.file_downloaded(attachment_id, &staged)?;
        s.sweep_files(cache_limit)?;
        Ok(())
    })
    .await?;
    Ok(CachedFile {
        cache,
        attachment_id,
        file_name,
        sha256,
    })
}

/// A download cut short is the network's failure (offline, try again),
/// not the disk's.
fn network_error_within(error: CoreError) -> CoreError {
    match error {
        CoreError::Io(io) if io.get_ref().is_some_and(|inner| inner.is::<ApiError>()) => io
            .into_inner()
            .and_then(|inner| inner.downcast::<ApiError>().ok())
            .map_or_else(
                || CoreError::Malformed("a download failed".into()),
                |api| CoreError::from(*api),
            ),
        other => other,
    }
}

/// What went wrong reading a file being uploaded, if anything: told apart
/// from the network's failures, which are worth a retry.
#[derive(Debug, Clone, Default)]
pub(crate) struct ReadFailure(std::sync::Arc<std::sync::Mutex<Option<std::io::Error>>>);

impl ReadFailure {
    pub(crate) fn take(&self) -> Option<std::io::Error> {
        self.0.lock().ok().and_then(|mut slot| slot.take())
    }

    fn record(&self, error: &std::io::Error) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(std::io::Error::new(error.kind(), error.to_string()));
        }
    }
}

/// A cached file's bytes in the clear, for an upload: read and unsealed on
/// the blocking pool a chunk ahead of the network. The file is opened
/// here, so one that is gone or not a file of this cache fails at once.
pub(crate) fn read_for_upload(
    cache: &FileCache,
    sha256: &str,
) -> std::io::Result<(
    impl futures_util::Stream<Item = std::io::Result<Vec<u8>>> + Send + 'static,
    ReadFailure,
)> {
    use std::io::Read;
    let mut reader = cache.reader(sha256)?;
    let failure = ReadFailure::default();
    let failed = failure.clone();
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Vec<u8>>>(4);
    tokio::task::spawn_blocking(move || {
        loop {
            let mut chunk = vec![0u8; 64 * 1024];
            match reader.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => {
                    chunk.truncate(n);
                    // The upload ended (refused, or cut): stop reading.
                    if tx.blocking_send(Ok(chunk)).is_err() {
                        break;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    failed.record(&e);
                    let _ = tx.blocking_send(Err(e));
                    break;
                }
            }
        }
    });
    let chunks = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    Ok((chunks, failure))
}
