//! One app per data directory: a second start on the same replica would be
//! a second writer and a second sync engine numbering the same outbox.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

/// Held for the app's lifetime; the lock goes with the process however it
/// ends (the kernel drops it), so a crash never leaves the directory locked.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "Field CRM is already running with {0} (close it first, or start with another --data-dir)"
    )]
    InUse(String),
    #[error("cannot use the data directory {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

impl DataDirLock {
    pub fn acquire(data_dir: &Path) -> Result<Self, LockError> {
        let io = |source| LockError::Io {
            path: data_dir.display().to_string(),
            source,
        };
        crm_desktop_core::session::private_dir(data_dir).map_err(io)?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(data_dir.join("app.lock"))
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(TryLockError::WouldBlock) => Err(LockError::InUse(data_dir.display().to_string())),
            Err(TryLockError::Error(e)) => Err(io(e)),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_second_app_on_the_same_data_dir_is_refused_until_the_first_ends() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataDirLock::acquire(dir.path()).unwrap();
        let second = DataDirLock::acquire(dir.path());
        assert!(matches!(second, Err(LockError::InUse(_))), "{second:?}");
        drop(first);
        DataDirLock::acquire(dir.path()).expect("free again once the first has gone");
    }

    #[test]
    fn apps_on_different_data_dirs_run_side_by_side() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let _a = DataDirLock::acquire(a.path()).unwrap();
        DataDirLock::acquire(b.path()).unwrap();
    }
}
