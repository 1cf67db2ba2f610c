//! What can go wrong starting, using or stopping a cluster, worded so that
//! the message alone tells the reader what to do.

use std::path::PathBuf;
use std::process::ExitStatus;

/// Why a cluster could not be started, used or stopped cleanly.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "no PostgreSQL server binaries found (initdb and postgres, on PATH or under \
         /usr/lib/postgresql/*/bin). Install them (Debian/Ubuntu: `sudo apt-get install \
         postgresql`, or run the README's setup command), or set DATABASE_URL to a server \
         whose user may create databases and roles."
    )]
    NoBinaries,

    #[error(
        "running as root, and neither a `postgres` nor a `nobody` user exists to run \
         PostgreSQL as (PostgreSQL refuses to run as root): create one, e.g. \
         `sudo apt-get install postgresql` creates `postgres`"
    )]
    NoClusterUser,

    #[error(
        "an ephemeral cluster deletes its work directory (the data directory's parent) when \
         it stops, so it must create that directory itself, but {0} already exists: choose a \
         fresh path, e.g. with ClusterOptions::ephemeral"
    )]
    WorkDirExists(PathBuf),

    #[error(
        "running as root, PostgreSQL runs as uid {uid}, who cannot reach {}: {} is closed to \
         other users (mode {mode:o}). Keep the data directory somewhere that user may enter \
         (e.g. under /var/lib), or run as an ordinary user",
        data_dir.display(),
        blocked.display()
    )]
    Unreachable {
        data_dir: PathBuf,
        /// The first ancestor the cluster user may not enter.
        blocked: PathBuf,
        mode: u32,
        uid: u32,
    },

    #[error("{action}: {source}")]
    Io {
        /// What was being done, e.g. "creating /tmp/x".
        action: String,
        #[source]
        source: std::io::Error,
    },

    #[error("initdb failed to create a cluster in {}:\n{stderr}", data_dir.display())]
    Initdb { data_dir: PathBuf, stderr: String },

    #[error("PostgreSQL did not start on 127.0.0.1:{port}: {reason}\n--- its log ---\n{log}")]
    NotReady {
        port: u16,
        reason: String,
        /// What postgres logged during this attempt.
        log: String,
    },

    #[error("{command} failed ({status}):\n{stderr}")]
    Command {
        command: String,
        status: ExitStatus,
        stderr: String,
    },

    #[error(
        "PostgreSQL did not shut down cleanly (its guardian ended with {status}); see {}",
        log.display()
    )]
    Shutdown { status: ExitStatus, log: PathBuf },
}

impl ClusterError {
    pub(crate) fn io(action: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let action = action.into();
        move |source| Self::Io { action, source }
    }
}
