//! The key the replica is encrypted with (security review M9). A stolen
//! laptop gives nothing away: the replica is a SQLCipher database (AES-256
//! per page, with an HMAC that catches tampering), opened with
//!
//! - a random 32-byte key kept in the OS keyring (the Secret Service on
//!   Linux, Keychain, Credential Manager), which opens in well under a
//!   millisecond and never asks the user anything; or, where no keyring
//!   answers,
//! - a passphrase the user chose, which SQLCipher stretches (PBKDF2, some
//!   150 ms) each time the app opens. The key is never written to a file.
//!
//! Which of the two a replica uses is recorded beside it (`replica.key`,
//! no secret in it), so a keyring that stops answering is reported as
//! such rather than taken for "ask for a passphrase", which could never
//! open a keyring-keyed replica.
//!
//! A wipe (`wipe`) forgets the key before it removes any file: if a file
//! cannot be removed, what is left cannot be read.

use std::path::{Path, PathBuf};

use rand::RngCore;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{CoreError, CoreResult};
use crate::store::attachments::hex;

/// What opens a replica.
#[derive(Clone)]
pub enum ReplicaKey {
    /// A random key from the keyring.
    Raw([u8; 32]),
    /// A passphrase, stretched by SQLCipher.
    Passphrase(String),
    /// No encryption: only for benchmarks that compare with it, and tests
    /// that make a replica as an older version of the app left it.
    #[cfg(feature = "fixtures")]
    Unencrypted,
}

impl std::fmt::Debug for ReplicaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Raw(_) => "ReplicaKey::Raw(..)",
            Self::Passphrase(_) => "ReplicaKey::Passphrase(..)",
            #[cfg(feature = "fixtures")]
            Self::Unencrypted => "ReplicaKey::Unencrypted",
        })
    }
}

impl ReplicaKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        Self::Raw(key)
    }

    /// The key as SQLCipher's `PRAGMA key` and `ATTACH ... KEY` take it:
    /// `x'<64 hex digits>'` for a raw key (no derivation), the passphrase
    /// as it is otherwise. `None` for no encryption.
    pub(crate) fn sql_text(&self) -> Option<String> {
        match self {
            Self::Raw(key) => Some(format!("x'{}'", hex(key))),
            Self::Passphrase(passphrase) => Some(passphrase.clone()),
            #[cfg(feature = "fixtures")]
            Self::Unencrypted => None,
        }
    }

    /// Opens `conn` with this key; the first read tells a wrong key.
    pub(crate) fn unlock(&self, conn: &Connection) -> CoreResult<()> {
        if let Some(text) = self.sql_text() {
            // A wrong key is reported as such below; SQLCipher would also
            // write it to stderr.
            conn.pragma_update(None, "cipher_log_level", "NONE")?;
            conn.pragma_update(None, "key", &text)?;
        }
        match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        }) {
            Ok(_) => Ok(()),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::NotADatabase =>
            {
                Err(match self {
                    Self::Passphrase(_) => CoreError::WrongPassphrase,
                    _ => CoreError::KeyUnavailable(
                        "the key in the keyring does not open this computer's copy of your data"
                            .into(),
                    ),
                })
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// A 32-byte key from its 64 hex digits (as keys are kept).
pub(crate) fn unhex(text: &str) -> Option<[u8; 32]> {
    let text = text.trim();
    if text.len() != 64 {
        return None;
    }
    let mut key = [0u8; 32];
    for (byte, pair) in key.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(key)
}

/// Whether the file at `path` is an unencrypted SQLite database (what
/// versions before encryption left): its first 16 bytes say so in clear.
pub(crate) fn is_plaintext(path: &Path) -> std::io::Result<bool> {
    use std::io::Read;
    let mut header = [0u8; 16];
    match std::fs::File::open(path) {
        Ok(mut file) => match file.read_exact(&mut header) {
            Ok(()) => Ok(&header == b"SQLite format 3\0"),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
            Err(e) => Err(e),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// How a user's replica key is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Keeping {
    Keyring,
    Passphrase,
}

#[derive(Serialize, Deserialize)]
struct KeyRecord {
    keeping: Keeping,
}

fn record_path(user_dir: &Path) -> PathBuf {
    user_dir.join("replica.key")
}

/// How the replica in `user_dir` is keyed, if it has been.
pub fn keeping(user_dir: &Path) -> CoreResult<Option<Keeping>> {
    match std::fs::read_to_string(record_path(user_dir)) {
        Ok(text) => Ok(Some(serde_json::from_str::<KeyRecord>(&text)?.keeping)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn record(user_dir: &Path, keeping: Keeping) -> CoreResult<()> {
    let text = serde_json::to_string(&KeyRecord { keeping })?;
    crate::session::write_private(&record_path(user_dir), &text)?;
    Ok(())
}

fn keyring_entry(user_id: Uuid) -> keyring::Result<keyring::Entry> {
    keyring::Entry::new("crm-desktop", &format!("replica key {user_id}"))
}

/// The key of `user_id`'s replica in `user_dir`: from the keyring (made
/// there on first use), or from `passphrase` where the replica is kept
/// with one or no keyring answers. Asks for a passphrase (an error the
/// window turns into the question) when one is needed and not given.
pub fn replica_key(
    user_dir: &Path,
    user_id: Uuid,
    passphrase: Option<&str>,
) -> CoreResult<ReplicaKey> {
    let replica_exists = user_dir.join("replica.sqlite3").exists();
    match keeping(user_dir)? {
        Some(Keeping::Passphrase) => match passphrase {
            Some(p) => Ok(ReplicaKey::Passphrase(p.to_owned())),
            None => Err(CoreError::PassphraseRequired { new: false }),
        },
        Some(Keeping::Keyring) => {
            let entry = keyring_entry(user_id).map_err(keyring_failed)?;
            match entry.get_password() {
                Ok(text) => unhex(&text).map(ReplicaKey::Raw).ok_or_else(|| {
                    CoreError::KeyUnavailable("the keyring holds a damaged key".into())
                }),
                Err(keyring::Error::NoEntry) if replica_exists => Err(CoreError::KeyUnavailable(
                    "the key of this computer's copy of your data is gone from the keyring".into(),
                )),
                // The replica went too (or never was): start afresh.
                Err(keyring::Error::NoEntry) => new_keyring_key(user_dir, user_id, passphrase),
                Err(e) => Err(keyring_failed(e)),
            }
        }
        // A new replica, or one from before encryption (opening it
        // encrypts it with the key chosen now).
        None => new_keyring_key(user_dir, user_id, passphrase),
    }
}

/// A new key in the keyring, or the passphrase where none answers.
fn new_keyring_key(
    user_dir: &Path,
    user_id: Uuid,
    passphrase: Option<&str>,
) -> CoreResult<ReplicaKey> {
    crate::session::private_dir(user_dir)?;
    let key = ReplicaKey::generate();
    let ReplicaKey::Raw(bytes) = &key else {
        unreachable!("generate makes a raw key")
    };
    let stored = keyring_entry(user_id).and_then(|entry| {
        entry.set_password(&hex(bytes))?;
        // Read back: some stores accept a write they cannot keep.
        entry.get_password()
    });
    match stored {
        Ok(text) if unhex(&text).as_ref() == Some(bytes) => {
            record(user_dir, Keeping::Keyring)?;
            Ok(key)
        }
        Ok(_) => Err(CoreError::KeyUnavailable(
            "the keyring did not keep the key it was given".into(),
        )),
        Err(e) => {
            tracing::info!(error = %e, "no keyring answers; the replica is kept with a passphrase");
            match passphrase {
                Some(p) => {
                    crm_domain::validation::validate_new_password(p, &[])?;
                    record(user_dir, Keeping::Passphrase)?;
                    Ok(ReplicaKey::Passphrase(p.to_owned()))
                }
                None => Err(CoreError::PassphraseRequired { new: true }),
            }
        }
    }
}

fn keyring_failed(error: keyring::Error) -> CoreError {
    CoreError::KeyUnavailable(format!(
        "the system keyring that holds the key of this computer's copy of your data did not answer ({error}); unlock it and try again"
    ))
}

/// Forgets `user_id`'s replica key: from the keyring, and the record of
/// how it was kept. First in a wipe, so that files that cannot be removed
/// cannot be read either.
pub fn forget_key(user_dir: &Path, user_id: Uuid) -> std::io::Result<()> {
    if let Ok(entry) = keyring_entry(user_id) {
        match entry.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => {}
            Err(e) => {
                tracing::warn!(error = %e, "could not remove the replica key from the keyring")
            }
        }
    }
    crate::session::remove_if_present(&record_path(user_dir))
}

/// Encrypts, in place, a replica that an older version left unencrypted,
/// keeping every row (the outbox with them). The encrypted copy is made
/// beside it and renamed over it only once complete, so a crash midway
/// leaves the old file to encrypt on the next start.
pub(crate) fn encrypt_in_place(path: &Path, key: &ReplicaKey) -> CoreResult<()> {
    let Some(text) = key.sql_text() else {
        return Ok(());
    };
    let partial = path.with_extension("encrypting");
    let _ = std::fs::remove_file(&partial);
    {
        let plain = Connection::open(path)?;
        // Folds the WAL into the file and removes it: no plaintext WAL is
        // left to pair with the encrypted file.
        plain.pragma_update(None, "journal_mode", "DELETE")?;
        let version: i64 = plain.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let partial_text = partial.to_string_lossy().into_owned();
        plain.execute(
            "ATTACH DATABASE ?1 AS encrypted KEY ?2",
            rusqlite::params![partial_text, text],
        )?;
        plain.query_row("SELECT sqlcipher_export('encrypted')", [], |_| Ok(()))?;
        plain.pragma_update(Some("encrypted"), "user_version", version)?;
        plain.execute("DETACH DATABASE encrypted", [])?;
    }
    std::fs::File::open(&partial)?.sync_all()?;
    std::fs::rename(&partial, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    tracing::info!(path = %path.display(), "encrypted a replica an older version left unencrypted");
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_raw_key_is_sixty_four_hex_digits_and_reads_back() {
        let ReplicaKey::Raw(bytes) = ReplicaKey::generate() else {
            panic!()
        };
        let text = hex(&bytes);
        assert_eq!(text.len(), 64);
        assert_eq!(unhex(&text), Some(bytes));
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex(&"zz".repeat(32)), None);
    }

    #[test]
    fn a_key_never_shows_in_logs() {
        let key = ReplicaKey::Passphrase("correct horse battery staple".into());
        assert!(!format!("{key:?}").contains("horse"));
        let ReplicaKey::Raw(bytes) = ReplicaKey::generate() else {
            panic!()
        };
        assert!(!format!("{:?}", ReplicaKey::Raw(bytes)).contains(&hex(&bytes)));
    }

    #[test]
    fn without_a_keyring_a_new_replica_asks_for_a_passphrase_and_remembers_that_it_did() {
        // No session bus, so no Secret Service: as on a bare Linux box.
        if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let user = Uuid::now_v7();
        assert!(matches!(
            replica_key(dir.path(), user, None),
            Err(CoreError::PassphraseRequired { new: true })
        ));
        // A guessable passphrase is refused, as a password would be.
        assert!(matches!(
            replica_key(dir.path(), user, Some("password1")),
            Err(CoreError::Invalid(_))
        ));
        let key = replica_key(dir.path(), user, Some("a long enough passphrase")).unwrap();
        assert!(matches!(key, ReplicaKey::Passphrase(_)));
        assert_eq!(keeping(dir.path()).unwrap(), Some(Keeping::Passphrase));
        assert!(matches!(
            replica_key(dir.path(), user, None),
            Err(CoreError::PassphraseRequired { new: false })
        ));
        forget_key(dir.path(), user).unwrap();
        assert_eq!(keeping(dir.path()).unwrap(), None);
    }
}
