//! The local SQLite replica: what the signed-in user may see, plus their
//! unsent work. One file per user; one writer (this struct's connection).
//!
//! Every user action is one SQLite transaction that checks the change with
//! the server's rules (crm-domain's validation and workflow, and the access
//! matrix in [`access`]), changes the rows optimistically and appends the
//! protocol mutation to the outbox. With `synchronous = FULL`, once an action
//! returns, a crash or power loss can neither lose it nor half-apply it.
//! The file is encrypted (SQLCipher, with the key from `vault`).

mod access;
pub mod attachments;
pub(crate) mod codec;
pub mod customers;
pub mod inbox;
pub mod interactions;
mod outbox;
mod policy;
mod products;
pub mod reminders;
pub mod replica;
pub(crate) mod rows;
pub mod search;
mod settle;
pub mod stats;
pub mod tickets;

use std::path::Path;
use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, Utc};
use crm_domain::UserRole;
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use crate::error::{CoreError, CoreResult};
use crate::sealed::FileKey;
use crate::vault::ReplicaKey;

mod embedded {
    refinery::embed_migrations!("../migrations/sqlite");
}

/// Who is acting: decides what the local checks allow, as RLS does on the
/// server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Me {
    pub user_id: Uuid,
    pub role: UserRole,
}

impl Me {
    pub fn is_admin(&self) -> bool {
        self.role == UserRole::Admin
    }
}

pub struct Store {
    conn: Connection,
    /// Attachment files (see `attachments`): beside the replica's file,
    /// sealed with a key kept in it.
    files: attachments::FileCache,
}

impl Store {
    /// Opens (creating if needed) the replica at `path` and brings its schema
    /// up to date.
    /// Opens (or creates) the replica at `path` with `key` (`vault`). A
    /// replica an older version left unencrypted is encrypted first,
    /// keeping everything in it.
    pub fn open(path: &Path, key: &ReplicaKey) -> CoreResult<Self> {
        if crate::vault::is_plaintext(path)? {
            crate::vault::encrypt_in_place(path, key)?;
        }
        let mut conn = Connection::open(path)?;
        key.unlock(&conn)?;
        // Deleted content is overwritten where that costs no extra I/O
        // (within pages still in use); freed pages keep their old bytes,
        // which are ciphertext like every page of the file. `ON` would
        // also zero every freed page, which a first load (dropping and
        // rebuilding its indexes) pays for: 24.8 s against 23.8 s for a
        // million rows in the replica benchmark.
        conn.pragma_update(None, "secure_delete", "FAST")?;
        // Pages are decrypted as SQLite reads them from the file: a page
        // read again from a small cache costs its decryption again (the
        // OS's cache holds only ciphertext). 32 MiB holds a first screen's
        // pages over 100,000 customers; memory is taken as pages are read.
        conn.pragma_update(None, "cache_size", -32 * 1024)?;
        // WAL: readers never block the writer. FULL: a committed action
        // survives power loss, not only a crash.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let runner = embedded::migrations::runner();
        // A load killed midway leaves its indexes deferred; a migration may
        // expect them, so they are built before one runs.
        let existing: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'refinery_schema_history')",
            [],
            |r| r.get(0),
        )?;
        let applied = if existing {
            runner
                .get_last_applied_migration(&mut conn)?
                .map(|m| m.version())
        } else {
            None
        };
        let latest = runner.get_migrations().iter().map(|m| m.version()).max();
        if applied.is_some() && applied < latest {
            replica::restore_indexes(&conn)?;
        }
        runner.run(&mut conn)?;
        let key = match get_state(&conn, "file_key")?.and_then(|k| FileKey::from_hex(&k)) {
            Some(key) => key,
            None => {
                let key = FileKey::generate();
                set_state(&conn, "file_key", &key.to_hex())?;
                key
            }
        };
        let user_dir = path.parent().unwrap_or(Path::new("."));
        let store = Self {
            conn,
            files: attachments::FileCache::new(user_dir, key),
        };
        store.client_id()?;
        Ok(store)
    }

    /// The raw connection, for tests that look at its settings.
    #[cfg(feature = "fixtures")]
    pub fn conn_for_tests(&self) -> &Connection {
        &self.conn
    }

    /// The raw connection, for the crate's own modules.
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// This install's id towards the server, made once per replica.
    pub fn client_id(&self) -> CoreResult<Uuid> {
        if let Some(id) = self.state("client_id")? {
            return Uuid::from_str(&id).map_err(|e| CoreError::Malformed(e.to_string()));
        }
        let id = Uuid::now_v7();
        self.set_state("client_id", &id.to_string())?;
        Ok(id)
    }

    /// The hash of the user's password for the offline check (`grace`).
    pub(crate) fn offline_verifier(&self) -> CoreResult<Option<String>> {
        self.state("offline_verifier")
    }

    pub(crate) fn set_offline_verifier(&self, hash: &str) -> CoreResult<()> {
        self.set_state("offline_verifier", hash)
    }

    /// Records whose replica this is. The role is read from the user's own
    /// profile row once it has synced; until then the one given here (from
    /// the sign-in) stands.
    pub fn set_user(&self, user_id: Uuid, role: UserRole) -> CoreResult<()> {
        if let Some(existing) = self.state("user_id")?
            && existing != user_id.to_string()
        {
            return Err(CoreError::forbidden("this replica belongs to another user"));
        }
        self.set_state("user_id", &user_id.to_string())?;
        self.set_state("signed_in_role", role.as_str())?;
        Ok(())
    }

    /// The signed-in user, for the access checks.
    pub fn me(&self) -> CoreResult<Me> {
        let user_id = self
            .state("user_id")?
            .ok_or(CoreError::SignInRequired)
            .and_then(|s| Uuid::from_str(&s).map_err(|e| CoreError::Malformed(e.to_string())))?;
        let synced: Option<String> = self
            .conn
            .query_row(
                "SELECT role FROM profiles WHERE id = ?1",
                params![user_id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        let role = synced
            .or(self.state("signed_in_role")?)
            .and_then(|r| UserRole::from_str(&r).ok())
            // Least privilege when nothing says otherwise.
            .unwrap_or(UserRole::Agent);
        Ok(Me { user_id, role })
    }

    pub(crate) fn state(&self, key: &str) -> CoreResult<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT value FROM sync_state WHERE key = ?1",
                params![key],
                |r| r.get(0),
            )
            .optional()?)
    }

    pub(crate) fn set_state(&self, key: &str, value: &str) -> CoreResult<()> {
        set_state(&self.conn, key, value)
    }
}

/// The replica as the engine, the reminders and the window share it: one
/// writer behind one lock.
pub type SharedStore = std::sync::Arc<std::sync::Mutex<Store>>;

/// Runs store work on the blocking pool (SQLite blocks; a page being
/// applied holds the lock a while), never on the async threads.
pub async fn on_store<T: Send + 'static>(
    store: &SharedStore,
    work: impl FnOnce(&mut Store) -> CoreResult<T> + Send + 'static,
) -> CoreResult<T> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || {
        let mut guard = store
            .lock()
            .map_err(|_| CoreError::Malformed("the replica's lock was poisoned".into()))?;
        work(&mut guard)
    })
    .await
    .map_err(|e| CoreError::Malformed(e.to_string()))?
}

pub(crate) fn set_state(conn: &Connection, key: &str, value: &str) -> CoreResult<()> {
    conn.execute(
        "INSERT INTO sync_state (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

pub(crate) fn get_state(conn: &Connection, key: &str) -> CoreResult<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT value FROM sync_state WHERE key = ?1",
            params![key],
            |r| r.get(0),
        )
        .optional()?)
}

/// A timestamp as the replica stores it: RFC 3339 with microseconds, like
/// PostgreSQL's JSON.
pub(crate) fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, false)
}
