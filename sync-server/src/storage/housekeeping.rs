//! Housekeeping (`sync-server storage check | clean`): finds what a crash,
//! a refused sync or a lost disk leaves behind, reports it, and (`clean`)
//! removes it once it is older than the grace period:
//!
//! - temporary uploads (a server killed mid-upload);
//! - blobs no object holds (the last file with those bytes was deleted, or
//!   a server died between moving a blob and writing its object);
//! - objects no attachment describes (uploaded, but the app's attachment
//!   row was refused or never came);
//! - objects whose bytes are missing, and attachments whose object is
//!   missing (a restored database ahead of its files): nobody can open
//!   them; `clean` removes them, the attachment with its audit row.
//!
//! A serving process runs `clean` hourly ([`start`]). The grace period (a
//! day by default) covers an app that uploaded and
//! has not synced its attachment row yet; it should be longer than an
//! agent stays offline between the two, which is minutes. A blob is only
//! deleted under its content's advisory lock, exclusively, after checking
//! again that no object holds it: an upload of the same bytes in the
//! meantime (which holds the lock shared while it commits) keeps it.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Storage;
use super::blobs::{Area, sha256_of_key};
use super::files::StorageError;
use crate::data::acting;

/// How often a serving process cleans up. Several processes may all do it:
/// rows are deleted once, and a blob only under its content's lock.
const EVERY: std::time::Duration = std::time::Duration::from_secs(60 * 60);

/// Cleans up hourly (and at start-up) while the server serves, so what a
/// crash or a refused sync left never lasts longer than the grace period
/// and an hour; ends when the pool is closed. `storage check` does not
/// start it (it reports, and must not remove what it reports).
pub fn start(storage: std::sync::Arc<Storage>) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match run(&storage, true, storage.grace).await {
                Ok(report) if report.removed > 0 => {
                    tracing::info!(removed = report.removed, "cleaned up attachment storage");
                }
                Ok(_) => {}
                Err(StorageError::Db(crate::db::DbError::Sqlx(sqlx::Error::PoolClosed))) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "cleaning up attachment storage failed; next hour again")
                }
            }
        }
    });
}

/// What a check found, by kind, each with what `clean` would remove (older
/// than the grace period) and what is too recent yet.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Report {
    pub temporary_uploads: Found,
    pub unreferenced_blobs: Found,
    pub unattached_objects: Found,
    pub objects_without_bytes: Found,
    pub attachments_without_object: Found,
    /// What `clean` removed (zero for `check`).
    pub removed: usize,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct Found {
    /// Older than the grace period: `clean` removes these.
    pub expired: Vec<String>,
    /// Within the grace period: left alone.
    pub recent: usize,
}

impl Found {
    fn add(&mut self, name: String, at: DateTime<Utc>, cutoff: DateTime<Utc>) {
        if at < cutoff {
            self.expired.push(name);
        } else {
            self.recent += 1;
        }
    }
}

impl Report {
    fn kinds(&self) -> [&Found; 5] {
        [
            &self.temporary_uploads,
            &self.unreferenced_blobs,
            &self.unattached_objects,
            &self.objects_without_bytes,
            &self.attachments_without_object,
        ]
    }

    /// Nothing left over anywhere, recent or not.
    pub fn is_clean(&self) -> bool {
        self.kinds()
            .iter()
            .all(|f| f.expired.is_empty() && f.recent == 0)
    }

    /// How many leftovers are past the grace period (what `clean` removes).
    pub fn expired(&self) -> usize {
        self.kinds().iter().map(|f| f.expired.len()).sum()
    }
}

/// Finds what is left over; with `clean`, removes what is older than
/// `grace` (the server's `--storage-grace-hours`, as `storage.grace`).
pub async fn run(
    storage: &Storage,
    clean: bool,
    grace: std::time::Duration,
) -> Result<Report, StorageError> {
    let cutoff = Utc::now() - chrono::Duration::from_std(grace).unwrap_or_default();
    let mut report = Report::default();

    for temp in storage.blobs.list(Area::Uploads).await? {
        report
            .temporary_uploads
            .add(temp.key, temp.modified, cutoff);
    }

    let mut tx = acting::begin_service(&storage.pool).await?;
    let objects = sqlx::query!(
        r#"SELECT o.name, o.content_sha256, o.created_at,
                  EXISTS (SELECT 1 FROM public.ticket_attachments a WHERE a.file_path = o.name) AS "attached!"
             FROM storage.objects o WHERE o.bucket_id = 'ticket-attachments'"#
    )
    .fetch_all(&mut *tx)
    .await?;
    let orphan_rows = sqlx::query!(
        r#"SELECT a.id, a.file_path, a.uploaded_at FROM public.ticket_attachments a
            WHERE NOT EXISTS (SELECT 1 FROM storage.objects o
                               WHERE o.bucket_id = 'ticket-attachments' AND o.name = a.file_path)"#
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;

    let blobs = storage.blobs.list(Area::Blobs).await?;
    let stored: HashSet<&str> = blobs.iter().filter_map(|b| sha256_of_key(&b.key)).collect();
    let held: HashSet<&str> = objects
        .iter()
        .filter_map(|o| o.content_sha256.as_deref())
        .collect();
    for blob in &blobs {
        if sha256_of_key(&blob.key).is_some_and(|hash| !held.contains(hash)) {
            report
                .unreferenced_blobs
                .add(blob.key.clone(), blob.modified, cutoff);
        }
    }
    for object in &objects {
        let has_bytes = object
            .content_sha256
            .as_deref()
            .is_some_and(|h| stored.contains(h));
        if !has_bytes {
            report
                .objects_without_bytes
                .add(object.name.clone(), object.created_at, cutoff);
        } else if !object.attached {
            report
                .unattached_objects
                .add(object.name.clone(), object.created_at, cutoff);
        }
    }
    for row in &orphan_rows {
        report
            .attachments_without_object
            .add(row.file_path.clone(), row.uploaded_at, cutoff);
    }

    if clean {
        report.removed = remove(storage, &report).await?;
    }
    Ok(report)
}

/// Removes what `report` found past the grace period, checking each again
/// as it goes (a row that came since keeps its file); returns how many
/// went.
pub async fn remove(storage: &Storage, report: &Report) -> Result<usize, StorageError> {
    let mut removed = 0;
    for key in &report.temporary_uploads.expired {
        storage.blobs.delete(key).await?;
        removed += 1;
    }
    // Rows first: an object removed here may leave its blob unreferenced,
    // which the next run (past the grace period, as the blob is old) takes.
    let mut tx = acting::begin_service(&storage.pool).await?;
    for path in &report.attachments_without_object.expired {
        removed += sqlx::query!(
            "DELETE FROM public.ticket_attachments WHERE file_path = $1",
            path
        )
        .execute(&mut *tx)
        .await?
        .rows_affected() as usize;
    }
    for name in &report.unattached_objects.expired {
        // Only if its attachment row has still not come: one that arrived
        // since the report keeps its file.
        removed += sqlx::query!(
            "DELETE FROM storage.objects o
              WHERE o.bucket_id = 'ticket-attachments' AND o.name = $1
                AND NOT EXISTS (SELECT 1 FROM public.ticket_attachments a WHERE a.file_path = o.name)",
            name
        )
        .execute(&mut *tx)
        .await?
        .rows_affected() as usize;
    }
    for name in &report.objects_without_bytes.expired {
        // Nobody can open it: its attachment goes too, with its audit row,
        // and takes the object with it (the attachment's trigger).
        let attachments = sqlx::query!(
            "DELETE FROM public.ticket_attachments WHERE file_path = $1",
            name
        )
        .execute(&mut *tx)
        .await?
        .rows_affected() as usize;
        let objects = sqlx::query!(
            "DELETE FROM storage.objects WHERE bucket_id = 'ticket-attachments' AND name = $1",
            name
        )
        .execute(&mut *tx)
        .await?
        .rows_affected() as usize;
        removed += attachments.max(objects);
    }
    tx.commit().await?;
    for key in &report.unreferenced_blobs.expired {
        let Some(hash) = sha256_of_key(key) else {
            continue;
        };
        let mut tx = acting::begin_service(&storage.pool).await?;
        let locked = sqlx::query_scalar!(
            r#"SELECT pg_try_advisory_xact_lock($1) AS "locked!""#,
            super::files::lock_key(hash)
        )
        .fetch_one(&mut *tx)
        .await?;
        let held = sqlx::query_scalar!(
            r#"SELECT EXISTS (SELECT 1 FROM storage.objects WHERE content_sha256 = $1) AS "held!""#,
            hash
        )
        .fetch_one(&mut *tx)
        .await?;
        // Locked by an upload of the same bytes, or held again: keep it.
        if locked && !held {
            storage.blobs.delete(key).await?;
            removed += 1;
        }
        tx.commit().await?;
    }
    Ok(removed)
}
