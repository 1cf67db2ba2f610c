//! When the server says this device may no longer hold the user's data
//! (`account_deactivated`: an admin deactivated the account;
//! `session_revoked`: the user ended this sign-in from another device, or
//! an admin did), the app keeps nothing readable:
//!
//! 1. the unsent work is saved first, never silently dropped: the outbox's
//!    changes, the refused ones waiting in the inbox, and the files of
//!    attachments not yet uploaded, into a folder of its own under the
//!    data directory (`unsent/<email>-<time>/`) that the user can hand to
//!    an admin;
//! 2. then the replica's key goes from the keyring (`vault`), so a file
//!    that cannot be removed cannot be read either;
//! 3. then the stored sign-in (the refresh token, from the keyring or
//!    its file, and `session.json`), so nothing can reach the server as
//!    this user from here;
//! 4. then the user's directory: the replica (with its WAL), the
//!    attachment cache, everything under `users/<id>/`.
//!
//! A wipe that cannot remove a file says so rather than pretending.

use std::path::Path;

use chrono::Utc;
use crm_domain::protocol::Mutation;
use serde::Serialize;

use crate::error::{CoreError, CoreResult};
use crate::session::Session;
use crate::store::Store;
use crate::store::inbox::RejectedChange;

/// What a wipe did, for the window to say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Wiped {
    /// Why, in the server's words.
    pub reason: String,
    /// Where the unsent work was saved (none when there was none).
    pub saved_to: Option<String>,
    /// How many changes and files were saved there.
    pub saved_changes: usize,
    pub saved_files: usize,
}

/// The saved file's contents.
#[derive(Serialize)]
struct UnsentWork<'a> {
    about: &'static str,
    user: &'a crm_domain::auth::Account,
    server: &'a str,
    saved_at: String,
    reason: &'a str,
    /// Changes that never reached the server, oldest first.
    unsent: Vec<Mutation>,
    /// Changes the server refused, with its reasons.
    refused: Vec<RejectedChange>,
    /// Attachment files not yet uploaded, saved beside this file.
    files: Vec<SavedFile>,
}

#[derive(Serialize)]
struct SavedFile {
    attachment_id: String,
    ticket_id: String,
    file_name: String,
    saved_as: String,
}

/// Saves the unsent work, then removes everything of this user on this
/// device (see the module's documentation). `store` is closed by it.
pub fn wipe(data_dir: &Path, session: &Session, store: Store, reason: &str) -> CoreResult<Wiped> {
    let saved = save_unsent(data_dir, session, &store, reason)?;
    let files_dir = store.files().dir().to_owned();
    let user_dir = session
        .replica_path()
        .parent()
        .map(Path::to_owned)
        .ok_or_else(|| CoreError::Malformed("the replica has no directory".into()))?;
    // The key before any file: what cannot be removed cannot be read.
    crate::vault::forget_key(&user_dir, session.user().id)?;
    drop(store);
    session.forget()?;
    remove_dir(&user_dir)?;
    // The cache lives beside the replica today; a store elsewhere goes too.
    remove_dir(&files_dir)?;
    tracing::warn!(user = %session.user().id, saved_to = ?saved.saved_to, "access ended: this device's data was removed");
    Ok(saved)
}

fn remove_dir(dir: &Path) -> CoreResult<()> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(CoreError::Io(std::io::Error::new(
            e.kind(),
            format!("could not remove {}: {e}", dir.display()),
        ))),
    }
}

fn save_unsent(
    data_dir: &Path,
    session: &Session,
    store: &Store,
    reason: &str,
) -> CoreResult<Wiped> {
    let unsent = store.pending_batch(usize::MAX >> 1)?;
    let refused = store.inbox()?.rejected;
    let waiting = waiting_files(store)?;
    let nothing = Wiped {
        reason: reason.to_owned(),
        saved_to: None,
        saved_changes: 0,
        saved_files: 0,
    };
    if unsent.is_empty() && refused.is_empty() && waiting.is_empty() {
        return Ok(nothing);
    }
    let stamp = Utc::now().format("%Y%m%dT%H%M%SZ");
    let safe_email: String = session
        .user()
        .email
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "@.-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let dir = data_dir
        .join("unsent")
        .join(format!("{safe_email}-{stamp}"));
    crate::session::private_dir(&dir)?;
    let mut files = Vec::with_capacity(waiting.len());
    for (file, sha256) in waiting {
        let saved_as = format!("{}-{}", &file.attachment_id, sanitise(&file.file_name));
        // In the clear: this folder is for an admin to put the work back.
        let mut source = store.files().reader(&sha256)?;
        let mut out = std::fs::File::create(dir.join(&saved_as))?;
        std::io::copy(&mut source, &mut out)?;
        out.sync_all()?;
        files.push(SavedFile { saved_as, ..file });
    }
    let saved_changes = unsent.len() + refused.len();
    let saved_files = files.len();
    let work = UnsentWork {
        about: "Changes made on this device that the server never took. The account was deactivated or this device's sign-in was ended, so the app removed its data; hand this folder to an admin to put the work back.",
        user: session.user(),
        server: session.api().base_url(),
        saved_at: Utc::now().to_rfc3339(),
        reason,
        unsent,
        refused,
        files,
    };
    let path = dir.join("unsent-changes.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&work)?)?;
    std::fs::File::open(&path)?.sync_all()?;
    Ok(Wiped {
        reason: reason.to_owned(),
        saved_to: Some(dir.display().to_string()),
        saved_changes,
        saved_files,
    })
}

/// A file name safe to write in any directory.
fn sanitise(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// The attachments whose bytes never reached the server, with their bytes'
/// SHA-256 (their name in the cache).
fn waiting_files(store: &Store) -> CoreResult<Vec<(SavedFile, String)>> {
    let mut stmt = store.conn().prepare(
        "SELECT f.attachment_id, f.sha256, coalesce(a.ticket_id, ''), coalesce(a.file_name, f.attachment_id)
           FROM attachment_files f LEFT JOIN ticket_attachments a ON a.id = f.attachment_id
          WHERE f.state IN ('waiting', 'refused')
          ORDER BY f.added_at",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (attachment_id, sha256, ticket_id, file_name) = row?;
        if store.files().holds(&sha256) {
            out.push((
                SavedFile {
                    attachment_id,
                    ticket_id,
                    file_name,
                    saved_as: String::new(),
                },
                sha256,
            ));
        }
    }
    Ok(out)
}
