//! Attachment files as the caller may see them: upload (the bucket's rules
//! enforced while the bytes stream in), read, delete. Every step that
//! touches the database runs as the caller, so PostgreSQL's storage
//! policies decide who may store, read or remove which path; the bytes go
//! to the [`BlobStore`](super::blobs::BlobStore).
//!
//! An upload's order makes a crash at any point harmless:
//! 1. the caller may attach to the ticket (checked before a byte is read);
//! 2. the bytes stream to a temporary blob, counted (the upload stops at
//!    the limit + 1 byte), typed by their first bytes, scanned for active
//!    content and hashed; nothing is buffered whole;
//! 3. in one transaction as the caller, holding the content's advisory
//!    lock (shared; housekeeping takes it exclusively before deleting a
//!    blob), the temporary blob becomes the content's blob and the
//!    `storage.objects` row is written.
//!
//! A crash before 3 leaves a temporary blob, after the move but before the
//! commit a blob no object refers to: housekeeping removes both once they
//! are older than its grace period. The `ticket_attachments` row comes
//! afterwards (a synced insert, refused by the database unless this object
//! exists with the same size and type).

use std::time::Duration;

use bytes::Bytes;
pub use crm_domain::files::StoredFile;
use crm_domain::files::{self as rules, ActiveContentScan, FileRefusal, SNIFF_BYTES};
use crm_domain::validation::MAX_ATTACHMENT_BYTES;
use futures_util::{Stream, StreamExt};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use super::Storage;
use super::blobs::{BlobError, BlobStream, TempBlob};
use crate::data::{Claims, acting};
use crate::db::DbError;

/// The one bucket; its name is the first segment of an object's path.
pub const BUCKET: &str = "ticket-attachments";

/// Why a storage request failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("{0}")]
    Refused(FileRefusal),
    #[error("you may not attach files to this ticket")]
    NotAllowed,
    #[error("only the uploader or an admin may delete this file")]
    DeleteNotAllowed,
    #[error("no such file")]
    NotFound,
    #[error("the upload sent nothing for {0:?}; send it again")]
    Stalled(Duration),
    #[error("the upload was cut off: {0}")]
    BodyFailed(String),
    #[error("the range is outside the file's {size} bytes")]
    Range { size: u64 },
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Blob(#[from] BlobError),
}

impl From<sqlx::Error> for StorageError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(DbError::Sqlx(e))
    }
}

/// The key of a content's advisory lock: its first 8 bytes.
pub(crate) fn lock_key(sha256: &str) -> i64 {
    let mut bytes = [0u8; 8];
    if let Ok(decoded) = hex::decode(sha256.get(..16).unwrap_or("")) {
        bytes.copy_from_slice(&decoded);
    }
    i64::from_be_bytes(bytes)
}

/// The path of a file in the bucket (without the bucket): the domain's
/// `{ticket_id}/{file_name}`, for a name that can be one; any other names
/// no file.
fn object_name(ticket_id: Uuid, file_name: &str) -> Result<String, StorageError> {
    crm_domain::attachment_path(ticket_id, file_name).map_err(|_| StorageError::NotFound)
}

/// Whether the caller may attach files to the ticket (and may see it).
pub async fn may_attach(
    storage: &Storage,
    claims: &Claims,
    ticket_id: Uuid,
) -> Result<bool, StorageError> {
    let mut tx = acting::begin_as(&storage.pool, claims).await?;
    let allowed = sqlx::query_scalar!(
        r#"SELECT public.can_access_ticket($1) AND public.token_permits('attachments:write') AS "allowed!""#,
        ticket_id
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(allowed)
}

/// What the stream carried, once it is all in a temporary blob.
struct Received {
    temp_key: String,
    size: i64,
    mime_type: &'static str,
    sha256: String,
}

/// Stores the body as a file of the ticket, as the caller: see the module
/// documentation for the order of things. `declared_size` (the request's
/// `Content-Length`) refuses an oversized file before a byte is read; the
/// count refuses one that lied.
pub async fn upload<S, E>(
    storage: &Storage,
    claims: &Claims,
    ticket_id: Uuid,
    given_name: &str,
    declared_size: Option<u64>,
    body: S,
) -> Result<(StoredFile, bool), StorageError>
where
    S: Stream<Item = Result<Bytes, E>> + Send + Unpin,
    E: std::fmt::Display,
{
    // The app stores a file under the name `normalise_file_name` gives it,
    // before it is sent; anything else (a path, `..`, control characters,
    // a name too long) is refused, never quietly changed into another.
    let file_name = rules::normalise_file_name(given_name).map_err(StorageError::Refused)?;
    if file_name != given_name {
        return Err(StorageError::Refused(FileRefusal::BadName(
            "must be a plain file name: no folders, no \"..\", no control characters, at most 255 bytes",
        )));
    }
    if declared_size.is_some_and(|n| n > MAX_ATTACHMENT_BYTES as u64) {
        return Err(StorageError::Refused(FileRefusal::TooLarge));
    }
    if !may_attach(storage, claims, ticket_id).await? {
        return Err(StorageError::NotAllowed);
    }
    let received = receive(storage, body).await?;
    match record(storage, claims, ticket_id, &file_name, &received).await {
        Ok(stored) => Ok(stored),
        Err(e) => {
            // The temporary blob, if it was not moved; a moved one is the
            // content's, perhaps shared, and housekeeping decides.
            let _ = storage.blobs.delete(&received.temp_key).await;
            Err(e)
        }
    }
}

/// Streams the body into a temporary blob: counted, typed by its first
/// bytes, scanned, hashed. On any refusal the temporary blob is removed.
async fn receive<S, E>(storage: &Storage, mut body: S) -> Result<Received, StorageError>
where
    S: Stream<Item = Result<Bytes, E>> + Send + Unpin,
    E: std::fmt::Display,
{
    let limit = MAX_ATTACHMENT_BYTES as u64;
    let mut head: Vec<u8> = Vec::new();
    let mut pending: Vec<Bytes> = Vec::new();
    let mut ended = false;
    // Until the type is known, hold what came (at most SNIFF_BYTES and one
    // chunk): a refused type never reaches the store.
    while head.len() < SNIFF_BYTES {
        match next_chunk(storage, &mut body).await? {
            Some(chunk) => {
                head.extend_from_slice(&chunk[..chunk.len().min(SNIFF_BYTES - head.len())]);
                pending.push(chunk);
            }
            None => {
                ended = true;
                break;
            }
        }
    }
    let mime_type = rules::sniff(&head).map_err(StorageError::Refused)?;
    let mut digest = Digest::start(mime_type);
    let mut size: u64 = 0;
    let mut temp = storage.blobs.create_temp().await?;
    let outcome: Result<(), StorageError> = async {
        for chunk in pending.drain(..) {
            take(&mut *temp, &mut digest, &mut size, limit, chunk).await?;
        }
        if !ended {
            while let Some(chunk) = next_chunk(storage, &mut body).await? {
                take(&mut *temp, &mut digest, &mut size, limit, chunk).await?;
            }
        }
        Ok(())
    }
    .await;
    let digested = match outcome {
        Ok(()) => digest.finish().await,
        Err(e) => Err(e),
    };
    let sha256 = match digested {
        Ok(sha256) => sha256,
        Err(e) => {
            temp.abort().await;
            return Err(e);
        }
    };
    let temp_key = temp.finish().await?;
    Ok(Received {
        temp_key,
        size: size as i64,
        mime_type,
        sha256,
    })
}

/// The hash and the active-content scan of an upload, on a thread of their
/// own fed through a short queue: they overlap with receiving the next
/// chunk and writing the last, instead of taking turns with them.
struct Digest {
    chunks: Option<tokio::sync::mpsc::Sender<Bytes>>,
    done: tokio::task::JoinHandle<(String, Result<(), FileRefusal>)>,
}

impl Digest {
    fn start(mime_type: &'static str) -> Self {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(8);
        let done = tokio::task::spawn_blocking(move || {
            let mut scan = ActiveContentScan::new(mime_type);
            let mut hasher = Sha256::new();
            while let Some(chunk) = rx.blocking_recv() {
                scan.feed(&chunk);
                hasher.update(&chunk);
            }
            (hex::encode(hasher.finalize()), scan.verdict())
        });
        Self {
            chunks: Some(tx),
            done,
        }
    }

    async fn feed(&mut self, chunk: Bytes) {
        if let Some(chunks) = &self.chunks {
            // Only fails if the thread is gone, which `finish` reports.
            let _ = chunks.send(chunk).await;
        }
    }

    /// The content's SHA-256 (hex), or why the content is refused.
    async fn finish(mut self) -> Result<String, StorageError> {
        self.chunks = None;
        let (sha256, verdict) = self
            .done
            .await
            .map_err(|e| StorageError::BodyFailed(format!("hashing the upload failed: {e}")))?;
        verdict.map_err(StorageError::Refused)?;
        Ok(sha256)
    }
}

/// One chunk into the temporary blob, refusing past the limit.
async fn take(
    temp: &mut dyn TempBlob,
    digest: &mut Digest,
    size: &mut u64,
    limit: u64,
    chunk: Bytes,
) -> Result<(), StorageError> {
    *size += chunk.len() as u64;
    if *size > limit {
        return Err(StorageError::Refused(FileRefusal::TooLarge));
    }
    digest.feed(chunk.clone()).await;
    temp.write(chunk).await?;
    Ok(())
}

/// The next chunk of the body, or an error if the client stalls.
async fn next_chunk<S, E>(storage: &Storage, body: &mut S) -> Result<Option<Bytes>, StorageError>
where
    S: Stream<Item = Result<Bytes, E>> + Send + Unpin,
    E: std::fmt::Display,
{
    loop {
        match tokio::time::timeout(storage.upload_idle_timeout, body.next()).await {
            Err(_) => return Err(StorageError::Stalled(storage.upload_idle_timeout)),
            Ok(None) => return Ok(None),
            Ok(Some(Err(e))) => return Err(StorageError::BodyFailed(e.to_string())),
            Ok(Some(Ok(chunk))) if chunk.is_empty() => continue,
            Ok(Some(Ok(chunk))) => return Ok(Some(chunk)),
        }
    }
}

/// How many numbered names are tried before giving up.
const NAME_ATTEMPTS: u32 = 100;

/// The object row, as the caller, with the blob moved into place under the
/// content's lock. The same bytes at the same path: the existing object
/// (nothing new is stored). Another file at the path: the next free
/// numbered name.
async fn record(
    storage: &Storage,
    claims: &Claims,
    ticket_id: Uuid,
    file_name: &str,
    received: &Received,
) -> Result<(StoredFile, bool), StorageError> {
    let mut tx = acting::begin_as(&storage.pool, claims).await?;
    sqlx::query!(
        "SELECT pg_advisory_xact_lock_shared($1) AS locked",
        lock_key(&received.sha256)
    )
    .fetch_one(&mut *tx)
    .await?;
    let mut moved = false;
    for attempt in 1..=NAME_ATTEMPTS {
        let candidate = if attempt == 1 {
            file_name.to_owned()
        } else {
            rules::numbered_file_name(file_name, attempt)
        };
        let name = object_name(ticket_id, &candidate)?;
        let existing = sqlx::query!(
            r#"SELECT content_sha256, size, mime_type, created_at
                 FROM storage.objects WHERE bucket_id = 'ticket-attachments' AND name = $1"#,
            name
        )
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(existing) = existing {
            if existing.content_sha256.as_deref() == Some(received.sha256.as_str()) {
                tx.commit().await?;
                let _ = storage.blobs.delete(&received.temp_key).await;
                return Ok((
                    StoredFile {
                        path: name,
                        ticket_id,
                        file_name: candidate,
                        size: existing.size,
                        mime_type: existing.mime_type,
                        sha256: received.sha256.clone(),
                        created_at: existing.created_at,
                    },
                    false,
                ));
            }
            continue;
        }
        if !moved {
            storage
                .blobs
                .promote(&received.temp_key, &received.sha256)
                .await?;
            moved = true;
        }
        let inserted = sqlx::query_scalar!(
            r#"INSERT INTO storage.objects (bucket_id, name, owner, size, mime_type, content_sha256)
               VALUES ('ticket-attachments', $1, auth.uid(), $2, $3, $4)
               ON CONFLICT (bucket_id, name) DO NOTHING
               RETURNING created_at"#,
            name,
            received.size,
            received.mime_type,
            received.sha256
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(
            |e| match e.as_database_error().and_then(|d| d.code()).as_deref() {
                Some("42501") => StorageError::NotAllowed,
                _ => StorageError::from(e),
            },
        )?;
        // Taken meanwhile by another upload: try the next name.
        let Some(created_at) = inserted else { continue };
        tx.commit().await?;
        return Ok((
            StoredFile {
                path: name,
                ticket_id,
                file_name: candidate,
                size: received.size,
                mime_type: received.mime_type.to_owned(),
                sha256: received.sha256.clone(),
                created_at,
            },
            true,
        ));
    }
    Err(StorageError::Refused(FileRefusal::BadName(
        "is taken, and so are its numbered variants",
    )))
}

/// A file the caller may read.
#[derive(Debug, Clone)]
pub struct FoundFile {
    pub size: u64,
    pub mime_type: String,
    pub sha256: String,
}

/// The object at `ticket_id/file_name`, if the caller may read it.
pub async fn find(
    storage: &Storage,
    claims: &Claims,
    ticket_id: Uuid,
    file_name: &str,
) -> Result<FoundFile, StorageError> {
    let name = object_name(ticket_id, file_name)?;
    let mut tx = acting::begin_as(&storage.pool, claims).await?;
    let row = sqlx::query!(
        r#"SELECT size, mime_type, content_sha256
             FROM storage.objects WHERE bucket_id = 'ticket-attachments' AND name = $1"#,
        name
    )
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    let row = row.ok_or(StorageError::NotFound)?;
    // An object from before files were kept has no bytes to give.
    let sha256 = row.content_sha256.ok_or(StorageError::NotFound)?;
    Ok(FoundFile {
        size: u64::try_from(row.size).unwrap_or(0),
        mime_type: row.mime_type,
        sha256,
    })
}

/// The bytes of a found file, or of a range of them.
pub async fn read(
    storage: &Storage,
    file: &FoundFile,
    range: Option<std::ops::Range<u64>>,
) -> Result<BlobStream, StorageError> {
    match storage.blobs.get(&file.sha256, range).await {
        Ok(stream) => Ok(stream),
        Err(BlobError::NotFound) => {
            tracing::error!(sha256 = %file.sha256, "a stored file's bytes are missing; run `sync-server storage check`");
            Err(StorageError::NotFound)
        }
        Err(e) => Err(e.into()),
    }
}

/// Deletes the file and the attachment that describes it, as the caller,
/// in one transaction (with the attachment's audit row). The bytes stay
/// until housekeeping finds no object holding them.
pub async fn delete(
    storage: &Storage,
    claims: &Claims,
    ticket_id: Uuid,
    file_name: &str,
) -> Result<(), StorageError> {
    let name = object_name(ticket_id, file_name)?;
    let mut tx = acting::begin_as(&storage.pool, claims).await?;
    let visible = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM storage.objects WHERE bucket_id = 'ticket-attachments' AND name = $1"#,
        name
    )
    .fetch_one(&mut *tx)
    .await?;
    if visible == 0 {
        return Err(StorageError::NotFound);
    }
    sqlx::query!(
        "DELETE FROM public.ticket_attachments WHERE file_path = $1",
        name
    )
    .execute(&mut *tx)
    .await?;
    let deleted = sqlx::query!(
        "DELETE FROM storage.objects WHERE bucket_id = 'ticket-attachments' AND name = $1",
        name
    )
    .execute(&mut *tx)
    .await;
    match deleted {
        // Still attached (the attachment's delete was not the caller's to
        // make): the object's trigger refuses.
        Err(e) if e.as_database_error().and_then(|d| d.code()).as_deref() == Some("23503") => {
            return Err(StorageError::DeleteNotAllowed);
        }
        Err(e) => return Err(e.into()),
        Ok(_) => {}
    }
    let left = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM storage.objects WHERE bucket_id = 'ticket-attachments' AND name = $1"#,
        name
    )
    .fetch_one(&mut *tx)
    .await?;
    if left > 0 {
        return Err(StorageError::DeleteNotAllowed);
    }
    tx.commit().await?;
    Ok(())
}

/// The path of an attachment by its id, as the spec's
/// `get_ticket_attachment_url()` gives it to the caller (who must be able
/// to see the ticket), split into ticket and file name.
pub async fn attachment_object(
    storage: &Storage,
    claims: &Claims,
    attachment_id: Uuid,
) -> Result<(Uuid, String), StorageError> {
    let mut tx = acting::begin_as(&storage.pool, claims).await?;
    let path = sqlx::query_scalar!(
        r#"SELECT public.get_ticket_attachment_url($1) AS "path!""#,
        attachment_id
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(
        |e| match e.as_database_error().and_then(|d| d.code()).as_deref() {
            Some("P0002") => StorageError::NotFound,
            _ => StorageError::from(e),
        },
    )?;
    tx.commit().await?;
    let rest = path
        .strip_prefix(BUCKET)
        .and_then(|p| p.strip_prefix('/'))
        .ok_or(StorageError::NotFound)?;
    let (ticket, name) = rest.split_once('/').ok_or(StorageError::NotFound)?;
    let ticket = ticket.parse().map_err(|_| StorageError::NotFound)?;
    Ok((ticket, name.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_contents_lock_key_comes_from_its_hash() {
        assert_eq!(lock_key(&"00".repeat(32)), 0);
        assert_eq!(
            lock_key(&format!("{}{}", "ff".repeat(8), "00".repeat(24))),
            -1
        );
        assert_ne!(lock_key(&"ab".repeat(32)), lock_key(&"ac".repeat(32)));
    }
}
