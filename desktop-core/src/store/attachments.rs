//! Attachment files on this device: attaching one (offline too), the upload
//! queue the sync engine works through, and the cache of files opened.
//!
//! Attaching is two steps, so the replica's lock is never held while a
//! large file is read: [`stage`] copies the file into the replica's
//! `files/` directory (named by its SHA-256), checking it on the way as
//! the server will (type by content, active content, size); then
//! [`Store::attach`] records the attachment's row, its outbox insert and
//! its upload (`attachment_files`, state `waiting`) in one transaction.
//! From then on the file is safe where it is: the original may move or
//! vanish.
//!
//! The engine never pushes an attachment's row before its bytes: the
//! outbox is sent in order up to the first waiting attachment, whose file
//! is uploaded (outside the lock), and then the rest ([`Store::push_step`]).
//! A file the server refuses is marked so; its row is still sent (the
//! protocol's numbering has no gaps), the server refuses it for want of a
//! file, and the inbox shows the file's own refusal.
//!
//! The cache is bounded ([`Store::sweep_files`]): files whose attachment
//! left the replica (deleted, or its ticket out of the user's scope) go at
//! once; past the size limit, the least recently opened go first, never
//! one still to upload or on a ticket with unsent work.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use chrono::Utc;
use crm_domain::files::{self as rules, ActiveContentScan, FileRefusal, SNIFF_BYTES, StoredFile};
use crm_domain::protocol::{MutationOp, SyncTable};
use crm_domain::validation::MAX_ATTACHMENT_BYTES;
use crm_domain::{NewAttachment, TicketAttachment};
use rusqlite::{OptionalExtension, params};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{Store, rows, timestamp};
use crate::error::{CoreError, CoreResult};
use crate::sealed::{self, FileKey, FileReader, SealWriter};

/// How much of the disk the cache of opened files may take, by default.
pub const DEFAULT_CACHE_LIMIT_BYTES: u64 = 1024 * 1024 * 1024;

/// A file copied into the replica's files, checked, ready to attach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staged {
    pub sha256: String,
    pub size: i64,
    pub mime_type: &'static str,
}

/// The replica's attachment files, sealed at rest (`sealed`) under the
/// replica's directory: `files/` holds each file once, named by the
/// SHA-256 of its bytes; `open/` holds the clear copies handed to the
/// system's application, removed when the app starts again and when the
/// user signs out. A cheap handle: clone it to work outside the lock.
#[derive(Debug, Clone)]
pub struct FileCache {
    dir: PathBuf,
    opened: PathBuf,
    key: FileKey,
}

impl FileCache {
    pub(crate) fn new(user_dir: &Path, key: FileKey) -> Self {
        Self {
            dir: user_dir.join("files"),
            opened: user_dir.join("open"),
            key,
        }
    }

    /// Where the files are (sealed).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where a file's bytes are kept, by their SHA-256.
    pub fn path_of(&self, sha256: &str) -> PathBuf {
        self.dir.join(sha256.get(..2).unwrap_or("00")).join(sha256)
    }

    /// Whether this device holds a file's bytes.
    pub fn holds(&self, sha256: &str) -> bool {
        self.path_of(sha256).exists()
    }

    /// Copies `source` into the cache, sealed, checking it as the server
    /// will: its type from its first bytes (an allowed one), no active
    /// content, at most the bucket's size. Reads and writes 64 KiB at a
    /// time; the copy is synced before it is named, so a named file is
    /// always whole.
    pub fn stage(&self, source: &mut impl Read) -> CoreResult<Staged> {
        self.take_in(source, Check::Attaching)
    }

    /// Takes a downloaded file into the cache (read from `source` as it
    /// arrives), checked as an upload is: it must be what the server says
    /// it is (its SHA-256, when the server names it) and of an allowed
    /// type.
    pub fn adopt(
        &self,
        source: &mut impl Read,
        expected_sha256: Option<&str>,
    ) -> CoreResult<Staged> {
        self.take_in(source, Check::Downloaded { expected_sha256 })
    }

    fn take_in(&self, source: &mut impl Read, check: Check<'_>) -> CoreResult<Staged> {
        std::fs::create_dir_all(&self.dir)?;
        let temp = self.dir.join(format!("incoming-{}", Uuid::new_v4()));
        let result = (|| -> CoreResult<Staged> {
            let out = std::fs::File::create(&temp)?;
            let mut sealed = SealWriter::new(&self.key, std::io::BufWriter::new(out))?;
            let staged = read_checked(source, &mut sealed, &check)?;
            let out = sealed
                .finish()?
                .into_inner()
                .map_err(|e| CoreError::Io(e.into_error()))?;
            out.sync_all()?;
            if let Check::Downloaded {
                expected_sha256: Some(expected),
            } = check
                && expected != staged.sha256
            {
                return Err(CoreError::Remote(
                    "the downloaded file is not the one the server holds; try again".into(),
                ));
            }
            let target = self.path_of(&staged.sha256);
            if let Some(dir) = target.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::rename(&temp, &target)?;
            Ok(staged)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        result
    }

    /// A file's bytes, in the clear, read as they are needed.
    pub fn reader(&self, sha256: &str) -> std::io::Result<FileReader> {
        sealed::open(&self.key, &self.path_of(sha256))
    }

    /// A file's bytes, whole, checked against its name (for a thumbnail;
    /// bounded by the caller).
    pub fn read(&self, sha256: &str) -> CoreResult<Vec<u8>> {
        let mut bytes = Vec::new();
        self.copy_checked(sha256, &mut bytes)?;
        Ok(bytes)
    }

    /// Writes a file's bytes, in the clear, to `out`; an error if they are
    /// not the bytes named `sha256` (what `out` holds then is not to be
    /// used).
    fn copy_checked(&self, sha256: &str, out: &mut impl Write) -> CoreResult<()> {
        let mut source = self.reader(sha256)?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = source.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n])?;
        }
        if hex(&hasher.finalize()) != sha256 {
            return Err(damaged());
        }
        Ok(())
    }

    /// A clear copy of a file for the system's application, named as the
    /// user knows it, in a directory of its own only this user can read
    /// (`open/`, emptied when the app starts again). Its bytes are checked
    /// against their name on the way.
    pub fn open_copy(
        &self,
        attachment_id: Uuid,
        file_name: &str,
        sha256: &str,
    ) -> CoreResult<PathBuf> {
        let dir = self.opened.join(attachment_id.to_string());
        crate::session::private_dir(&self.opened)?;
        crate::session::private_dir(&dir)?;
        let name = rules::normalise_file_name(file_name).unwrap_or_else(|_| "attachment".into());
        let target = dir.join(name);
        let temp = dir.join(format!(".incoming-{}", Uuid::new_v4()));
        let result = (|| -> CoreResult<()> {
            let mut out = std::io::BufWriter::new(std::fs::File::create(&temp)?);
            self.copy_checked(sha256, &mut out)?;
            out.flush()?;
            std::fs::rename(&temp, &target)?;
            Ok(())
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        result.map(|()| target)
    }

    /// Removes the clear copies handed out before (they are the app's to
    /// clean; the application that showed them has had its time).
    pub fn remove_open_copies(&self) -> CoreResult<()> {
        match std::fs::remove_dir_all(&self.opened) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// Seals the files an older version left in the clear; how many. Run
    /// once when the replica opens (the cache is bounded, and sealed files
    /// are skipped after reading 8 bytes).
    pub fn seal_files_in_the_clear(&self) -> CoreResult<usize> {
        let mut sealed_now = 0;
        let Ok(dirs) = std::fs::read_dir(&self.dir) else {
            return Ok(0);
        };
        for dir in dirs.flatten() {
            if !dir.path().is_dir() {
                continue;
            }
            for file in std::fs::read_dir(dir.path())?.flatten() {
                let name = file.file_name();
                let path = file.path();
                if name.to_string_lossy().ends_with(".sealing") {
                    // A sealing cut short: the file in the clear is whole.
                    let _ = std::fs::remove_file(&path);
                } else {
                    match sealed::seal_in_place(&self.key, &path) {
                        Ok(true) => sealed_now += 1,
                        Ok(false) => {}
                        // Swept meanwhile.
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
        Ok(sealed_now)
    }
}

fn damaged() -> CoreError {
    CoreError::Io(std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        "the file on this device is damaged or was altered; delete the app's copy by opening it again once online",
    ))
}

/// How a file coming into the cache is checked.
enum Check<'a> {
    /// Being attached here: held to the bucket's size and to no active
    /// content, as the server will.
    Attaching,
    /// Downloaded: the server checked it; it must be the one it holds.
    Downloaded { expected_sha256: Option<&'a str> },
}

fn refused(refusal: FileRefusal) -> CoreError {
    CoreError::invalid("file", refusal.to_string())
}

/// Reads `source` to its end into `out`: its type from its first bytes
/// (an allowed one), its SHA-256 and size, and for a file being attached
/// the bucket's size and no active content.
fn read_checked(
    source: &mut impl Read,
    out: &mut impl Write,
    check: &Check<'_>,
) -> CoreResult<Staged> {
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    source.take(SNIFF_BYTES as u64).read_to_end(&mut head)?;
    let mime_type = rules::sniff(&head).map_err(refused)?;
    let attaching = matches!(check, Check::Attaching);
    let mut scan = ActiveContentScan::new(mime_type);
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut take = |bytes: &[u8]| -> CoreResult<()> {
        size += bytes.len() as u64;
        if attaching {
            if size > MAX_ATTACHMENT_BYTES as u64 {
                return Err(refused(FileRefusal::TooLarge));
            }
            scan.feed(bytes);
        }
        out.write_all(bytes)?;
        hasher.update(bytes);
        Ok(())
    };
    take(&head)?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = source.read(&mut buf)?;
        if n == 0 {
            break;
        }
        take(&buf[..n])?;
    }
    if attaching {
        scan.verdict().map_err(refused)?;
    }
    Ok(Staged {
        sha256: hex(&hasher.finalize()),
        size: size as i64,
        mime_type,
    })
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the engine does next with the outbox.
#[derive(Debug, Clone, PartialEq)]
pub enum PushStep {
    /// Nothing to send.
    Idle,
    /// Push these (in order; they stop before a waiting attachment).
    Batch(Vec<crm_domain::protocol::Mutation>),
    /// Upload this file first: its attachment's row is next in the outbox.
    Upload(PendingUpload),
}

/// A file to upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingUpload {
    pub attachment_id: Uuid,
    pub ticket_id: Uuid,
    pub file_name: String,
    pub size: i64,
    /// Its bytes in the cache ([`FileCache::reader`]).
    pub sha256: String,
}

/// Where an attachment's bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileLookup {
    /// On this device: its bytes in the cache, by their SHA-256.
    Cached { sha256: String, file_name: String },
    /// Only on the server: download `ticket_id/file_name`.
    Remote {
        ticket_id: Uuid,
        file_name: String,
        size: i64,
    },
}

/// An attachment's file as the ticket page shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum FileState {
    /// Attached here; sent when the network allows.
    Waiting,
    /// On the server, and on this device (opens offline).
    AvailableOffline,
    /// On the server only: opening it downloads it.
    OnServer,
    /// The server would not take it; the inbox says why.
    Refused,
}

impl Store {
    /// This replica's attachment files.
    pub fn files(&self) -> &FileCache {
        &self.files
    }

    /// Attaches a staged file to a ticket, as `given_name` (normalised, and
    /// numbered if the ticket has a file of that name): the row, its outbox
    /// insert and its upload in one transaction.
    pub fn attach(
        &mut self,
        ticket_id: Uuid,
        given_name: &str,
        staged: &Staged,
    ) -> CoreResult<TicketAttachment> {
        let me = self.me()?;
        let base = rules::normalise_file_name(given_name)
            .map_err(|e| CoreError::invalid("file_name", e.to_string()))?;
        let mut file_name = base.clone();
        for n in 2.. {
            let taken: bool = self.conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM ticket_attachments WHERE ticket_id = ?1 AND file_name = ?2)",
                params![ticket_id.to_string(), file_name],
                |r| r.get(0),
            )?;
            if !taken {
                break;
            }
            file_name = rules::numbered_file_name(&base, n);
        }
        let draft = NewAttachment {
            ticket_id,
            file_name: file_name.clone(),
            file_size: staged.size,
            mime_type: staged.mime_type.to_owned(),
        };
        draft.validate()?;
        let path = draft.path()?;
        super::access::require_ticket_access(self.conn(), &me, ticket_id)?;
        let id = Uuid::now_v7();
        let mut values = BTreeMap::new();
        values.insert("ticket_id".into(), Value::from(ticket_id.to_string()));
        values.insert("file_name".into(), Value::from(file_name));
        values.insert("file_path".into(), Value::from(path));
        values.insert("file_size".into(), Value::from(staged.size));
        values.insert("mime_type".into(), Value::from(staged.mime_type));
        let now = timestamp(Utc::now());
        self.record_all_with(
            &me,
            vec![(SyncTable::TicketAttachments, id, MutationOp::Insert { values })],
            |tx| {
                tx.execute(
                    "INSERT INTO attachment_files (attachment_id, sha256, size, state, added_at, opened_at)
                     VALUES (?1, ?2, ?3, 'waiting', ?4, ?4)",
                    params![id.to_string(), staged.sha256, staged.size, now],
                )?;
                Ok(())
            },
        )?;
        self.attachment(id)
    }

    /// Deletes an attachment (its uploader or an admin); the server deletes
    /// its file with it, and this device's copy goes at the next sweep.
    pub fn delete_attachment(&mut self, id: Uuid) -> CoreResult<()> {
        let me = self.me()?;
        let current = self.attachment(id)?;
        if current.uploaded_by != me.user_id && !me.is_admin() {
            return Err(CoreError::forbidden(
                "only its uploader or an admin can delete an attachment",
            ));
        }
        super::access::require_ticket_access(self.conn(), &me, current.ticket_id)?;
        self.record(&me, SyncTable::TicketAttachments, id, MutationOp::Delete)?;
        Ok(())
    }

    pub fn attachment(&self, id: Uuid) -> CoreResult<TicketAttachment> {
        let row = rows::read(self.conn(), rows::synced(SyncTable::TicketAttachments), id)?
            .ok_or(CoreError::NotFound { what: "attachment" })?;
        Ok(serde_json::from_value(Value::Object(row))?)
    }

    /// The state of each attachment's file on a ticket, by attachment.
    pub fn file_states(&self, ticket_id: Uuid) -> CoreResult<BTreeMap<Uuid, FileState>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT a.id, f.state, f.sha256 FROM ticket_attachments a
               LEFT JOIN attachment_files f ON f.attachment_id = a.id
              WHERE a.ticket_id = ?1",
        )?;
        let rows = stmt.query_map(params![ticket_id.to_string()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })?;
        let mut states = BTreeMap::new();
        for row in rows {
            let (id, state, sha256) = row?;
            let present = sha256.is_some_and(|h| self.files.holds(&h));
            let state = match state.as_deref() {
                Some("waiting") => FileState::Waiting,
                Some("refused") => FileState::Refused,
                Some(_) if present => FileState::AvailableOffline,
                _ => FileState::OnServer,
            };
            if let Ok(id) = Uuid::parse_str(&id) {
                states.insert(id, state);
            }
        }
        Ok(states)
    }

    /// What to send next: a batch of the outbox up to the first waiting
    /// attachment, or that attachment's file when it is first in line.
    pub fn push_step(&self, limit: usize) -> CoreResult<PushStep> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT o.mutation, f.attachment_id IS NOT NULL, f.sha256, f.size
               FROM outbox o
               LEFT JOIN attachment_files f
                 ON o.table_name = 'ticket_attachments' AND f.attachment_id = o.row_id
                AND f.state = 'waiting'
              ORDER BY o.seq LIMIT ?1",
        )?;
        let rows = stmt.query_map(params![limit as i64], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, bool>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<i64>>(3)?,
            ))
        })?;
        let mut batch = Vec::new();
        for row in rows {
            let (text, waiting, sha256, size) = row?;
            let mutation: crm_domain::protocol::Mutation = serde_json::from_str(&text)?;
            if waiting && matches!(mutation.op, MutationOp::Insert { .. }) {
                if !batch.is_empty() {
                    break;
                }
                let MutationOp::Insert { values } = &mutation.op else {
                    unreachable!("matched above")
                };
                let text_of = |key: &str| values.get(key).and_then(Value::as_str).unwrap_or("");
                let ticket_id = Uuid::parse_str(text_of("ticket_id"))
                    .map_err(|e| CoreError::Malformed(e.to_string()))?;
                let sha256 = sha256.unwrap_or_default();
                return Ok(PushStep::Upload(PendingUpload {
                    attachment_id: mutation.row_id,
                    ticket_id,
                    file_name: text_of("file_name").to_owned(),
                    size: size.unwrap_or(0),
                    sha256,
                }));
            }
            batch.push(mutation);
        }
        Ok(if batch.is_empty() {
            PushStep::Idle
        } else {
            PushStep::Batch(batch)
        })
    }

    /// The server has the file. If it stored it under another name (the
    /// ticket had a file of that name), the attachment takes that name
    /// before its row is sent.
    pub fn upload_done(&mut self, attachment_id: Uuid, stored: &StoredFile) -> CoreResult<()> {
        let tx = self.conn.transaction()?;
        let id = attachment_id.to_string();
        tx.execute(
            "UPDATE attachment_files SET state = 'uploaded', attempts = attempts + 1, last_error = NULL
              WHERE attachment_id = ?1",
            params![id],
        )?;
        let current: Option<String> = tx
            .query_row(
                "SELECT file_name FROM ticket_attachments WHERE id = ?1",
                params![id],
                |r| r.get(0),
            )
            .optional()?;
        if current.is_some_and(|name| name != stored.file_name) {
            tx.execute(
                "UPDATE ticket_attachments SET file_name = ?2, file_path = ?3 WHERE id = ?1",
                params![id, stored.file_name, stored.path],
            )?;
            let pending: Option<(i64, String)> = tx
                .query_row(
                    "SELECT seq, mutation FROM outbox WHERE table_name = 'ticket_attachments' AND row_id = ?1
                      ORDER BY seq LIMIT 1",
                    params![id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            if let Some((seq, text)) = pending {
                let mut mutation: crm_domain::protocol::Mutation = serde_json::from_str(&text)?;
                if let MutationOp::Insert { values } = &mut mutation.op {
                    values.insert("file_name".into(), Value::from(stored.file_name.clone()));
                    values.insert("file_path".into(), Value::from(stored.path.clone()));
                }
                tx.execute(
                    "UPDATE outbox SET mutation = ?2 WHERE seq = ?1",
                    params![seq, serde_json::to_string(&mutation)?],
                )?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The server will not take the file (type, size, access): its
    /// attachment goes to the inbox with this reason when its row is
    /// refused.
    pub fn upload_refused(
        &mut self,
        attachment_id: Uuid,
        code: &str,
        message: &str,
    ) -> CoreResult<()> {
        self.conn.execute(
            "UPDATE attachment_files SET state = 'refused', attempts = attempts + 1,
                    refusal_code = ?2, last_error = ?3
              WHERE attachment_id = ?1",
            params![attachment_id.to_string(), code, message],
        )?;
        Ok(())
    }

    /// Why the server refused an attachment's file, if it did.
    pub(crate) fn file_refusal(
        conn: &rusqlite::Connection,
        attachment_id: &str,
    ) -> CoreResult<Option<String>> {
        Ok(conn
            .query_row(
                "SELECT last_error FROM attachment_files WHERE attachment_id = ?1 AND state = 'refused'",
                params![attachment_id],
                |r| r.get(0),
            )
            .optional()?
            .flatten())
    }

    /// Where an attachment's bytes are: here, or on the server.
    pub fn file_of(&self, attachment_id: Uuid) -> CoreResult<FileLookup> {
        let attachment = self.attachment(attachment_id)?;
        let sha256: Option<String> = self
            .conn
            .query_row(
                "SELECT sha256 FROM attachment_files WHERE attachment_id = ?1",
                params![attachment_id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(sha256) = sha256
            && self.files.holds(&sha256)
        {
            return Ok(FileLookup::Cached {
                sha256,
                file_name: attachment.file_name,
            });
        }
        Ok(FileLookup::Remote {
            ticket_id: attachment.ticket_id,
            file_name: attachment.file_name,
            size: attachment.file_size,
        })
    }

    /// The user opened the file: it goes to the back of the eviction line.
    pub fn file_opened(&self, attachment_id: Uuid) -> CoreResult<()> {
        self.conn.execute(
            "UPDATE attachment_files SET opened_at = ?2 WHERE attachment_id = ?1",
            params![attachment_id.to_string(), timestamp(Utc::now())],
        )?;
        Ok(())
    }

    /// A downloaded file (staged into the cache) belongs to this attachment.
    pub fn file_downloaded(&self, attachment_id: Uuid, staged: &Staged) -> CoreResult<()> {
        let now = timestamp(Utc::now());
        self.conn.execute(
            "INSERT INTO attachment_files (attachment_id, sha256, size, state, added_at, opened_at)
             VALUES (?1, ?2, ?3, 'downloaded', ?4, ?4)
             ON CONFLICT (attachment_id) DO UPDATE SET sha256 = excluded.sha256,
                 size = excluded.size, opened_at = excluded.opened_at",
            params![attachment_id.to_string(), staged.sha256, staged.size, now],
        )?;
        Ok(())
    }

    /// Keeps the cache within `limit` bytes and free of files nobody needs:
    /// see the module documentation. Returns how many files were removed.
    pub fn sweep_files(&mut self, limit: u64) -> CoreResult<usize> {
        // Attachments that left the replica (deleted, or out of scope).
        let mut released: Vec<String> = Vec::new();
        {
            let mut stmt = self.conn.prepare(
                "DELETE FROM attachment_files
                  WHERE state IN ('uploaded', 'downloaded')
                    AND attachment_id NOT IN (SELECT id FROM ticket_attachments)
                 RETURNING sha256",
            )?;
            for sha in stmt.query_map([], |r| r.get::<_, String>(0))? {
                released.push(sha?);
            }
        }
        // Past the limit: least recently opened first, never a file still
        // to send, refused (the inbox may send it again) or on a ticket
        // with unsent work.
        let mut candidates = Vec::new();
        {
            let mut stmt = self.conn.prepare(
                "WITH busy(ticket_id) AS (
                     SELECT row_id FROM outbox WHERE table_name = 'tickets'
                     UNION SELECT c.ticket_id FROM outbox o JOIN ticket_comments c
                         ON o.table_name = 'ticket_comments' AND c.id = o.row_id
                     UNION SELECT s.ticket_id FROM outbox o JOIN ticket_assignees s
                         ON o.table_name = 'ticket_assignees' AND s.id = o.row_id
                     UNION SELECT a.ticket_id FROM outbox o JOIN ticket_attachments a
                         ON o.table_name = 'ticket_attachments' AND a.id = o.row_id)
                 SELECT f.attachment_id, f.sha256, f.size FROM attachment_files f
                   JOIN ticket_attachments a ON a.id = f.attachment_id
                  WHERE f.state IN ('uploaded', 'downloaded')
                    AND a.ticket_id NOT IN (SELECT ticket_id FROM busy)
                  ORDER BY coalesce(f.opened_at, f.added_at)",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })?;
            for row in rows {
                candidates.push(row?);
            }
        }
        let mut total = self.cached_bytes()?;
        for (attachment_id, sha256, size) in candidates {
            if total <= limit {
                break;
            }
            self.conn.execute(
                "DELETE FROM attachment_files WHERE attachment_id = ?1",
                params![attachment_id],
            )?;
            released.push(sha256);
            total = total.saturating_sub(size.max(0) as u64);
        }
        self.remove_unheld_files(&released)
    }

    /// Bytes of the distinct files the cache holds.
    fn cached_bytes(&self) -> CoreResult<u64> {
        let total: i64 = self.conn.query_row(
            "SELECT coalesce(sum(size), 0) FROM (SELECT sha256, max(size) AS size FROM attachment_files GROUP BY sha256)",
            [],
            |r| r.get(0),
        )?;
        Ok(total.max(0) as u64)
    }

    /// Deletes files on disk that no row holds: at once those `released`
    /// just now, others (and copies a crash cut short) once they are a
    /// minute old, as a file staged a moment ago may be about to be
    /// attached.
    fn remove_unheld_files(&self, released: &[String]) -> CoreResult<usize> {
        let mut held = std::collections::HashSet::new();
        {
            let mut stmt = self
                .conn
                .prepare("SELECT DISTINCT sha256 FROM attachment_files")?;
            for sha in stmt.query_map([], |r| r.get::<_, String>(0))? {
                held.insert(sha?);
            }
        }
        let mut removed = 0;
        let Ok(dirs) = std::fs::read_dir(self.files.dir()) else {
            return Ok(0);
        };
        for dir in dirs.flatten() {
            let path = dir.path();
            if path.is_dir() {
                for file in std::fs::read_dir(&path)?.flatten() {
                    let name = file.file_name().to_string_lossy().into_owned();
                    // A file staged this minute may be about to be attached.
                    let just_released = released.contains(&name);
                    if !held.contains(&name) && (just_released || older_than_a_minute(&file)) {
                        std::fs::remove_file(file.path())?;
                        removed += 1;
                    }
                }
            } else if dir.file_name().to_string_lossy().starts_with("incoming-") {
                // Copies cut short; one being written now is younger.
                if older_than_a_minute(&dir) {
                    std::fs::remove_file(&path)?;
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }
}

fn older_than_a_minute(entry: &std::fs::DirEntry) -> bool {
    entry
        .metadata()
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age.as_secs() > 60)
}
