//! The `ticket-attachments` bucket: attachment files, stored by the
//! server, readable by whoever may see their ticket.
//!
//! - `blobs`: where the bytes live (local files or an S3-compatible
//!   store), by content hash;
//! - `files`: upload, read and delete as the caller, with the bucket's
//!   rules enforced while the bytes stream (the rules themselves are
//!   `crm_domain::files`, shared with the app);
//! - `signed`: links to one file, for one method, for minutes;
//! - `http`: the endpoints under `/storage`;
//! - `housekeeping`: `sync-server storage check | clean`.

pub mod blobs;
pub mod files;
pub mod housekeeping;
pub(crate) mod http;
pub mod signed;

use std::sync::Arc;
use std::time::Duration;

pub use http::routes;

use crate::config::ServerConfig;
use blobs::{BlobError, BlobStore, FsBlobs, S3Blobs};

/// What the storage endpoints share.
pub struct Storage {
    pub pool: sqlx::PgPool,
    pub blobs: Arc<dyn BlobStore>,
    pub signer: signed::UrlSigner,
    /// How long leftovers are kept before housekeeping removes them.
    pub grace: Duration,
    /// How long a signed URL works, at most.
    pub max_link_ttl: Duration,
    /// How long an upload may send nothing before it is dropped.
    pub upload_idle_timeout: Duration,
}

impl Storage {
    /// The configured store: S3 when `--storage-s3-bucket` is given, else
    /// files under `--storage-dir` (default: `{data dir}/storage`).
    pub fn open(
        config: &ServerConfig,
        pool: sqlx::PgPool,
        secret: &[u8],
    ) -> Result<Self, BlobError> {
        let blobs: Arc<dyn BlobStore> = match config.storage_s3_settings() {
            Some(settings) => Arc::new(S3Blobs::open(&settings)?),
            None => Arc::new(FsBlobs::open(&config.storage_dir())?),
        };
        tracing::info!(store = %blobs.describe(), "attachment files");
        Ok(Self {
            pool,
            blobs,
            signer: signed::UrlSigner::from_secret(secret),
            grace: Duration::from_secs(config.storage_grace_hours * 3600),
            max_link_ttl: Duration::from_secs(config.signed_url_max_ttl_secs),
            upload_idle_timeout: Duration::from_secs(config.upload_idle_timeout_secs),
        })
    }
}
