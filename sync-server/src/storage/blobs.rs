//! Where attachment bytes live: a narrow [`BlobStore`] with two backends,
//! the local file system under the server's data directory ([`FsBlobs`],
//! the default) and any S3-compatible object store ([`S3Blobs`], through
//! the `object_store` crate), so several server processes can share one
//! bucket.
//!
//! Bytes are kept by content: an upload is written to a temporary blob
//! (`uploads/{uuid}`) while it streams in and is hashed, then moved to
//! `blobs/{first two hex digits}/{sha256}`. The same bytes uploaded twice
//! are kept once; moving a blob onto itself only refreshes its time, which
//! housekeeping reads (see `housekeeping`). Nothing here knows about
//! tickets, users or the database: `files` does.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::stream::{BoxStream, StreamExt};
use object_store::{ObjectStore, ObjectStoreExt};
use uuid::Uuid;

/// A storage backend failed.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("no such blob")]
    NotFound,
    #[error("file storage: {0}")]
    Io(#[from] std::io::Error),
    #[error("object storage: {0}")]
    Store(#[from] object_store::Error),
}

/// A stream of a blob's bytes.
pub type BlobStream = BoxStream<'static, Result<Bytes, BlobError>>;

/// One blob, as housekeeping lists it.
#[derive(Debug, Clone)]
pub struct BlobInfo {
    pub key: String,
    pub size: u64,
    pub modified: DateTime<Utc>,
}

/// The two kinds of blob a store holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    /// Finished files, by content hash.
    Blobs,
    /// Uploads in progress (or abandoned by a crash).
    Uploads,
}

impl Area {
    fn prefix(self) -> &'static str {
        match self {
            Area::Blobs => "blobs",
            Area::Uploads => "uploads",
        }
    }
}

/// The key of the blob holding bytes of this SHA-256 (lower-case hex).
pub fn content_key(sha256: &str) -> String {
    format!("blobs/{}/{sha256}", sha256.get(..2).unwrap_or("00"))
}

/// The content hash a blob key names, if it is a content key.
pub fn sha256_of_key(key: &str) -> Option<&str> {
    let hash = key.strip_prefix("blobs/")?.split_once('/')?.1;
    (hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit())).then_some(hash)
}

/// The store's operations: write a temporary blob while it streams, move
/// it to its content key, read it (or a byte range of it), delete, list.
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Starts a temporary blob, written as the upload streams in.
    async fn create_temp(&self) -> Result<Box<dyn TempBlob>, BlobError>;

    /// Makes a finished temporary blob the blob of `sha256`, replacing
    /// (with the same bytes) one already there.
    async fn promote(&self, temp_key: &str, sha256: &str) -> Result<(), BlobError>;

    /// The bytes of `sha256`'s blob, or of `range` of them.
    async fn get(&self, sha256: &str, range: Option<Range<u64>>) -> Result<BlobStream, BlobError>;

    /// Deletes a blob by key; deleting one that is gone is not an error.
    async fn delete(&self, key: &str) -> Result<(), BlobError>;

    /// Every blob in `area`, with its size and time.
    async fn list(&self, area: Area) -> Result<Vec<BlobInfo>, BlobError>;

    /// Where the bytes go, for the logs.
    fn describe(&self) -> String;
}

/// An upload being written.
#[async_trait]
pub trait TempBlob: Send {
    async fn write(&mut self, bytes: Bytes) -> Result<(), BlobError>;
    /// Makes the bytes durable; returns the temporary key for
    /// [`BlobStore::promote`].
    async fn finish(self: Box<Self>) -> Result<String, BlobError>;
    /// Gives up: nothing of it is kept.
    async fn abort(self: Box<Self>);
}

// ---------------------------------------------------------------------------
// The local file system
// ---------------------------------------------------------------------------

/// Blobs as files under a directory (by default `{data dir}/storage`).
/// Writes go to a file in `uploads/`, are synced, and are renamed into
/// `blobs/`, so a crash leaves either the whole blob or a temporary file
/// housekeeping removes.
pub struct FsBlobs {
    root: PathBuf,
}

impl FsBlobs {
    pub fn open(root: &Path) -> Result<Self, BlobError> {
        std::fs::create_dir_all(root.join("uploads"))?;
        std::fs::create_dir_all(root.join("blobs"))?;
        Ok(Self {
            root: root.to_owned(),
        })
    }

    fn path_of(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }
}

struct FsTemp {
    key: String,
    path: PathBuf,
    file: Arc<std::fs::File>,
    /// Chunks received (a few KiB each, as they arrive) and not yet handed
    /// to a write: up to [`FS_BUFFER_BYTES`], written together with one
    /// vectored write, so the bytes are copied once, into the kernel.
    pending: Vec<Bytes>,
    pending_bytes: usize,
    /// The write running on the blocking pool, if one is: one at a time,
    /// in order, while the next chunks arrive.
    writing: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    /// The sync running, if one is (see [`WRITEBACK_BYTES`]).
    sync: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    /// Bytes handed to writes, and how many of them when the last sync
    /// began.
    written: u64,
    synced_at: u64,
}

/// While a file arrives, every this many bytes what arrived is synced to
/// the disk on a thread of its own (one at a time), as PostgreSQL's
/// `*_flush_after` settings do: the sync at the end, which the client
/// waits for, finds most of the file on the disk already, and an upload
/// does not pile up dirty pages in memory.
const WRITEBACK_BYTES: u64 = 8 * 1024 * 1024;

/// Bytes written or read at a time: few trips to the blocking pool, and a
/// bounded amount of memory per transfer.
const FS_BUFFER_BYTES: usize = 1024 * 1024;

/// Writes `chunks` in order, with as few system calls as the kernel allows
/// (`writev`; std caps the slices at the system's limit).
fn write_chunks(mut file: &std::fs::File, chunks: &[Bytes]) -> std::io::Result<()> {
    use std::io::{IoSlice, Write};
    let mut slices: Vec<IoSlice<'_>> = chunks.iter().map(|c| IoSlice::new(c)).collect();
    let mut rest = &mut slices[..];
    IoSlice::advance_slices(&mut rest, 0);
    while !rest.is_empty() {
        match file.write_vectored(rest) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut rest, n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Waits for a blocking file task.
async fn joined(task: tokio::task::JoinHandle<std::io::Result<()>>) -> Result<(), BlobError> {
    Ok(task.await.map_err(std::io::Error::other)??)
}

impl FsTemp {
    /// Hands the chunks received so far to a write, once the previous
    /// write is done.
    async fn hand_over(&mut self) -> Result<(), BlobError> {
        if let Some(previous) = self.writing.take() {
            joined(previous).await?;
        }
        if self.pending.is_empty() {
            return Ok(());
        }
        let chunks = std::mem::take(&mut self.pending);
        self.written += self.pending_bytes as u64;
        self.pending_bytes = 0;
        let file = self.file.clone();
        self.writing = Some(tokio::task::spawn_blocking(move || {
            write_chunks(&file, &chunks)
        }));
        Ok(())
    }

    /// Starts syncing what was written so far, unless a sync still runs.
    async fn start_sync(&mut self) -> Result<(), BlobError> {
        if self.sync.as_ref().is_some_and(|s| !s.is_finished()) {
            return Ok(());
        }
        if let Some(done) = self.sync.take() {
            joined(done).await?;
        }
        let file = self.file.clone();
        self.sync = Some(tokio::task::spawn_blocking(move || file.sync_data()));
        self.synced_at = self.written;
        Ok(())
    }
}

#[async_trait]
impl TempBlob for FsTemp {
    async fn write(&mut self, bytes: Bytes) -> Result<(), BlobError> {
        self.pending_bytes += bytes.len();
        self.pending.push(bytes);
        if self.pending_bytes >= FS_BUFFER_BYTES {
            self.hand_over().await?;
        }
        if self.written - self.synced_at >= WRITEBACK_BYTES {
            self.start_sync().await?;
        }
        Ok(())
    }

    async fn finish(mut self: Box<Self>) -> Result<String, BlobError> {
        // The rest, then every write done; what the last sync took is on
        // the disk or on its way, and this one writes the rest.
        self.hand_over().await?;
        if let Some(last) = self.writing.take() {
            joined(last).await?;
        }
        if let Some(sync) = self.sync.take() {
            joined(sync).await?;
        }
        let file = self.file.clone();
        joined(tokio::task::spawn_blocking(move || file.sync_all())).await?;
        Ok(self.key.clone())
    }

    async fn abort(self: Box<Self>) {
        let path = self.path.clone();
        // A write still running finishes before the file goes.
        if let Some(writing) = self.writing {
            let _ = writing.await;
        }
        let _ = tokio::fs::remove_file(path).await;
    }
}

#[async_trait]
impl BlobStore for FsBlobs {
    async fn create_temp(&self) -> Result<Box<dyn TempBlob>, BlobError> {
        let key = format!("uploads/{}", Uuid::new_v4());
        let path = self.path_of(&key);
        let file = tokio::fs::File::create(&path).await?.into_std().await;
        Ok(Box::new(FsTemp {
            key,
            path,
            file: Arc::new(file),
            pending: Vec::new(),
            pending_bytes: 0,
            writing: None,
            sync: None,
            written: 0,
            synced_at: 0,
        }))
    }

    async fn promote(&self, temp_key: &str, sha256: &str) -> Result<(), BlobError> {
        let target = self.path_of(&content_key(sha256));
        let dir = target
            .parent()
            .map(Path::to_owned)
            .unwrap_or_else(|| self.root.clone());
        tokio::fs::create_dir_all(&dir).await?;
        tokio::fs::rename(self.path_of(temp_key), &target).await?;
        // The rename is durable once its directory is.
        tokio::task::spawn_blocking(move || std::fs::File::open(dir)?.sync_all())
            .await
            .map_err(std::io::Error::other)??;
        Ok(())
    }

    async fn get(&self, sha256: &str, range: Option<Range<u64>>) -> Result<BlobStream, BlobError> {
        let path = self.path_of(&content_key(sha256));
        let opened = tokio::task::spawn_blocking(move || {
            use std::io::{Seek, SeekFrom};
            let mut file = std::fs::File::open(path)?;
            let (start, end) = match range {
                Some(r) => (r.start, r.end),
                None => (0, file.metadata()?.len()),
            };
            file.seek(SeekFrom::Start(start))?;
            Ok::<_, std::io::Error>((file, end.saturating_sub(start)))
        })
        .await
        .map_err(std::io::Error::other)?;
        let (file, length) = match opened {
            Ok(opened) => opened,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(BlobError::NotFound),
            Err(e) => return Err(e.into()),
        };
        // Reads of a bounded size (the memory of a download does not grow
        // with the file), each straight into the chunk it is sent as: no
        // buffer in between, nothing zeroed first.
        let stream =
            futures_util::stream::try_unfold((Arc::new(file), length), |(file, left)| async move {
                if left == 0 {
                    return Ok(None);
                }
                let want = left.min(FS_BUFFER_BYTES as u64);
                let reading = file.clone();
                let chunk = tokio::task::spawn_blocking(move || {
                    use std::io::Read;
                    let mut chunk = Vec::with_capacity(usize::try_from(want).unwrap_or(0));
                    (&*reading).take(want).read_to_end(&mut chunk)?;
                    Ok::<_, std::io::Error>(chunk)
                })
                .await
                .map_err(std::io::Error::other)??;
                if chunk.is_empty() {
                    // Shorter than it was a moment ago: end here.
                    return Ok(None);
                }
                let left = left - chunk.len() as u64;
                Ok(Some((Bytes::from(chunk), (file, left))))
            });
        Ok(stream.boxed())
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        match tokio::fs::remove_file(self.path_of(key)).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn list(&self, area: Area) -> Result<Vec<BlobInfo>, BlobError> {
        let root = self.root.clone();
        let found = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<BlobInfo>> {
            let mut found = Vec::new();
            let base = root.join(area.prefix());
            let mut dirs = vec![base];
            while let Some(dir) = dirs.pop() {
                let entries = match std::fs::read_dir(&dir) {
                    Ok(entries) => entries,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e),
                };
                for entry in entries {
                    let entry = entry?;
                    let meta = entry.metadata()?;
                    if meta.is_dir() {
                        dirs.push(entry.path());
                    } else if let Ok(relative) = entry.path().strip_prefix(&root) {
                        found.push(BlobInfo {
                            key: relative.to_string_lossy().replace('\\', "/"),
                            size: meta.len(),
                            modified: meta.modified().map(DateTime::<Utc>::from)?,
                        });
                    }
                }
            }
            Ok(found)
        })
        .await
        .map_err(std::io::Error::other)??;
        Ok(found)
    }

    fn describe(&self) -> String {
        format!("files under {}", self.root.display())
    }
}

// ---------------------------------------------------------------------------
// S3-compatible object stores
// ---------------------------------------------------------------------------

/// How to reach an S3-compatible bucket.
#[derive(Debug, Clone)]
pub struct S3Settings {
    pub bucket: String,
    /// Keys start with this (no leading or trailing `/`), for a bucket
    /// shared with other data.
    pub prefix: String,
    /// The service's URL (MinIO, Garage, moto, ...); unset: AWS.
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    /// Allow `http://` endpoints (a store on loopback or a private network).
    pub allow_http: bool,
}

/// Blobs in an S3-compatible bucket. Uploads go up in 5 MiB parts (S3's
/// smallest), at most two in flight per upload, so an upload holds about
/// 10 MiB whatever its size.
pub struct S3Blobs {
    store: object_store::aws::AmazonS3,
    prefix: String,
    described: String,
}

const S3_PART_BYTES: usize = 5 * 1024 * 1024;
const S3_PARTS_IN_FLIGHT: usize = 2;

impl S3Blobs {
    pub fn open(settings: &S3Settings) -> Result<Self, BlobError> {
        let mut builder = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(&settings.bucket)
            .with_region(&settings.region)
            .with_allow_http(settings.allow_http);
        if let Some(endpoint) = &settings.endpoint {
            // Path-style requests (`endpoint/bucket/key`): what self-hosted
            // stores expect.
            builder = builder
                .with_endpoint(endpoint)
                .with_virtual_hosted_style_request(false);
        }
        if let (Some(id), Some(secret)) = (&settings.access_key_id, &settings.secret_access_key) {
            builder = builder
                .with_access_key_id(id)
                .with_secret_access_key(secret);
        }
        let store = builder.build()?;
        let prefix = settings.prefix.trim_matches('/').to_owned();
        Ok(Self {
            store,
            described: format!(
                "s3://{}/{} at {}",
                settings.bucket,
                prefix,
                settings.endpoint.as_deref().unwrap_or("AWS")
            ),
            prefix,
        })
    }

    fn location(&self, key: &str) -> object_store::path::Path {
        if self.prefix.is_empty() {
            object_store::path::Path::from(key)
        } else {
            object_store::path::Path::from(format!("{}/{key}", self.prefix))
        }
    }

    fn key_of(&self, location: &object_store::path::Path) -> String {
        let full = location.as_ref();
        if self.prefix.is_empty() {
            full.to_owned()
        } else {
            full.strip_prefix(&format!("{}/", self.prefix))
                .unwrap_or(full)
                .to_owned()
        }
    }
}

struct S3Temp {
    key: String,
    upload: object_store::WriteMultipart,
}

#[async_trait]
impl TempBlob for S3Temp {
    async fn write(&mut self, bytes: Bytes) -> Result<(), BlobError> {
        self.upload.wait_for_capacity(S3_PARTS_IN_FLIGHT).await?;
        self.upload.put(bytes);
        Ok(())
    }

    async fn finish(self: Box<Self>) -> Result<String, BlobError> {
        let S3Temp { key, upload } = *self;
        upload.finish().await?;
        Ok(key)
    }

    async fn abort(self: Box<Self>) {
        if let Err(e) = self.upload.abort().await {
            tracing::warn!(error = %e, "aborting a multipart upload failed; the bucket's lifecycle rule removes it");
        }
    }
}

#[async_trait]
impl BlobStore for S3Blobs {
    async fn create_temp(&self) -> Result<Box<dyn TempBlob>, BlobError> {
        let key = format!("uploads/{}", Uuid::new_v4());
        let upload = self.store.put_multipart(&self.location(&key)).await?;
        Ok(Box::new(S3Temp {
            key,
            upload: object_store::WriteMultipart::new_with_chunk_size(upload, S3_PART_BYTES),
        }))
    }

    async fn promote(&self, temp_key: &str, sha256: &str) -> Result<(), BlobError> {
        self.store
            .rename(
                &self.location(temp_key),
                &self.location(&content_key(sha256)),
            )
            .await?;
        Ok(())
    }

    async fn get(&self, sha256: &str, range: Option<Range<u64>>) -> Result<BlobStream, BlobError> {
        let options = object_store::GetOptions {
            range: range.map(object_store::GetRange::Bounded),
            ..Default::default()
        };
        let result = match self
            .store
            .get_opts(&self.location(&content_key(sha256)), options)
            .await
        {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => return Err(BlobError::NotFound),
            Err(e) => return Err(e.into()),
        };
        Ok(result
            .into_stream()
            .map(|chunk| chunk.map_err(BlobError::from))
            .boxed())
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        match self.store.delete(&self.location(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn list(&self, area: Area) -> Result<Vec<BlobInfo>, BlobError> {
        let prefix = self.location(area.prefix());
        let mut listing = self.store.list(Some(&prefix));
        let mut found = Vec::new();
        while let Some(meta) = listing.next().await {
            let meta = meta?;
            found.push(BlobInfo {
                key: self.key_of(&meta.location),
                size: meta.size,
                modified: meta.last_modified,
            });
        }
        Ok(found)
    }

    fn describe(&self) -> String {
        self.described.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_content_key_names_its_hash_and_nothing_else_does() {
        let hash = "ab".repeat(32);
        assert_eq!(content_key(&hash), format!("blobs/ab/{hash}"));
        assert_eq!(sha256_of_key(&content_key(&hash)), Some(hash.as_str()));
        assert_eq!(sha256_of_key("uploads/0a"), None);
        assert_eq!(sha256_of_key("blobs/ab/not-a-hash"), None);
    }
}
