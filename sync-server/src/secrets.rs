//! Secrets the server makes for itself and keeps in its data directory,
//! readable by its owner only (0600): the JWT signing key and the private
//! PostgreSQL's passwords. Made once, read on every start; a file someone
//! loosened is tightened again, with a warning.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;

#[derive(Debug, thiserror::Error)]
#[error("secret file {path}: {source}")]
pub struct SecretError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// The secret in `path`, made (48 random bytes, URL-safe base64: letters,
/// digits, `-` and `_` only) if there is none yet.
pub fn load_or_create(path: &Path, what: &str) -> Result<String, SecretError> {
    let file_error = |source| SecretError {
        path: path.to_path_buf(),
        source,
    };
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let mode = std::fs::metadata(path)
                .map_err(file_error)?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                tracing::warn!(path = %path.display(), "the {what} was readable by others; restricting it to its owner");
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                    .map_err(file_error)?;
            }
            Ok(text.trim().to_owned())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(file_error)?;
            }
            let mut bytes = [0u8; 48];
            rand::rng().fill_bytes(&mut bytes);
            let secret = URL_SAFE_NO_PAD.encode(bytes);
            write_new(path, secret.as_bytes(), 0o600).map_err(file_error)?;
            tracing::info!(path = %path.display(), "generated the {what}");
            Ok(secret)
        }
        Err(e) => Err(file_error(e)),
    }
}

/// Writes `bytes` to a new file (never over an old one) with `mode`, and
/// syncs it: 0600 for a secret.
pub fn write_new(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_made_once_owner_only_and_tightened_if_loosened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/secret");
        let made = load_or_create(&path, "test secret").unwrap();
        assert!(made.len() >= 64);
        assert!(
            made.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(load_or_create(&path, "test secret").unwrap(), made);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
