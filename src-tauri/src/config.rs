//! The app's one configuration, from flags and the environment.

use std::path::PathBuf;

use clap::Parser;

#[derive(Debug, Clone, Parser)]
#[command(
    name = "crm-desktop",
    version,
    about = "Field CRM: customers, interactions and tickets, offline and online"
)]
pub struct Config {
    /// Where the session and the replicas live (one replica per user). One
    /// app at a time may use a data directory. Unset: under
    /// `$XDG_DATA_HOME`, else the home directory; never a shared one.
    #[arg(long, env = "CRM_DESKTOP_DATA_DIR", default_value_os_t = default_data_dir().unwrap_or_default())]
    pub data_dir: PathBuf,

    /// The sync server the sign-in form offers.
    #[arg(long, env = "CRM_SERVER_URL", default_value = "http://127.0.0.1:8740")]
    pub server: String,

    /// The program that opens an attachment (given its path). Unset: the
    /// desktop's own opener (xdg-open, open, start).
    #[arg(long, env = "CRM_OPEN_WITH")]
    pub open_with: Option<String>,

    /// How much disk the cache of opened attachment files may take, in MiB.
    #[arg(long, env = "CRM_FILE_CACHE_MIB", default_value_t = 1024)]
    pub file_cache_mib: u64,

    /// Log filter (tracing's env-filter syntax), written to stderr.
    #[arg(long, env = "CRM_LOG", default_value = "info")]
    pub log: String,
}

/// The user's own data directory. Never the shared temp directory, where
/// another local user could make it first (security review L9): with no
/// home directory at all (`home_dir` also asks the system's user
/// database), there is no default, and the app says to give one.
fn default_data_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_DATA_HOME")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::home_dir().map(|home| home.join(".local/share")))
        .map(|base| base.join("crm-desktop"))
}

impl Config {
    /// Whether a data directory is known (given, or found by default).
    pub fn has_data_dir(&self) -> bool {
        !self.data_dir.as_os_str().is_empty()
    }
}
