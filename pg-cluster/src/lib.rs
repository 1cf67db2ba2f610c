//! A local PostgreSQL cluster started from the installed binaries, for the
//! test harness (ephemeral: fast, deleted when its owner exits) and the sync
//! server (persistent: durable, kept in its data directory between runs).
//!
//! The binaries are `initdb` and `postgres` on PATH or under Debian's
//! /usr/lib/postgresql/*/bin. PostgreSQL refuses to run as root, so as root
//! the cluster runs as the `postgres` user (or `nobody`). It listens on
//! 127.0.0.1 only (no Unix socket). By default it trusts every connection
//! as `postgres`, which suits a throwaway test cluster; given a superuser
//! password ([`ClusterOptions::with_superuser_password`]) it asks every
//! connection for a password (SCRAM), and a cluster made before that is
//! switched over on its next start.
//!
//! A shell guardian owns postgres and stops it when its stdin closes, which
//! happens whenever the owning process ends, however it ends: nothing
//! outlives its owner, and a persistent cluster is shut down cleanly.
//!
//! ```no_run
//! use pg_cluster::{Cluster, ClusterOptions};
//!
//! let cluster = Cluster::start(ClusterOptions::persistent("/var/lib/crm/postgres"))?;
//! cluster.create_database_if_missing("crm")?;
//! println!("{}", cluster.url("crm"));
//! cluster.stop()?;
//! # Ok::<(), pg_cluster::ClusterError>(())
//! ```
//!
//! Plain std and blocking: async callers use `spawn_blocking`.

mod binaries;
mod error;
mod guardian;
#[cfg(test)]
mod test_support;
mod user;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub use error::ClusterError;
use user::User;

/// How long [`Cluster::start`] waits for postgres to accept connections.
/// Generous: a first start of a persistent cluster after a crash replays
/// its WAL first.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Settings that trade crash safety for speed, for clusters nobody keeps.
const EPHEMERAL_SETTINGS: [&str; 3] = [
    "fsync=off",
    "synchronous_commit=off",
    "full_page_writes=off",
];

/// What kind of cluster to start, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterOptions {
    /// The cluster's data directory.
    ///
    /// Ephemeral: created by [`Cluster::start`] together with its parent,
    /// the work directory, which must not exist yet and which is deleted
    /// whole when the cluster stops.
    ///
    /// Persistent: created (by `initdb`) if it has no `PG_VERSION` yet, else
    /// used as it is; never deleted.
    pub data_dir: PathBuf,
    /// The port on 127.0.0.1 to listen on; `None` picks a free one.
    pub port: Option<u16>,
    /// Throwaway (no fsync, deleted when stopped) rather than kept.
    pub ephemeral: bool,
    /// Extra server settings (`name`, `value`), passed as `-c name=value`
    /// after this crate's own, so they override them.
    pub settings: Vec<(String, String)>,
    /// The superuser's password: every connection must then give one
    /// (SCRAM). `None`: every local connection is trusted.
    pub superuser_password: Option<String>,
}

impl ClusterOptions {
    /// A throwaway cluster in a fresh work directory under the system's
    /// temporary directory, named `{prefix}-{pid}-{nanoseconds}`.
    pub fn ephemeral(prefix: &str) -> Self {
        let stamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let work_dir =
            std::env::temp_dir().join(format!("{prefix}-{}-{stamp}", std::process::id()));
        Self {
            data_dir: work_dir.join("data"),
            port: None,
            ephemeral: true,
            settings: Vec::new(),
            superuser_password: None,
        }
    }

    /// A durable cluster kept in `data_dir` between runs.
    pub fn persistent(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            port: None,
            ephemeral: false,
            settings: Vec::new(),
            superuser_password: None,
        }
    }

    /// Listen on `port` instead of a free one.
    #[must_use]
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// Requires a password of every connection (SCRAM), the superuser's
    /// being `password`. A cluster that trusted connections until now is
    /// given the password and switched over when it starts.
    #[must_use]
    pub fn with_superuser_password(mut self, password: impl Into<String>) -> Self {
        self.superuser_password = Some(password.into());
        self
    }

    /// Adds the server setting `name = value`.
    #[must_use]
    pub fn with_setting(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.settings.push((name.into(), value.into()));
        self
    }

    /// The `-c` arguments for postgres, ours first so the caller's win.
    fn server_settings(&self) -> Vec<String> {
        let ours = if self.ephemeral {
            &EPHEMERAL_SETTINGS[..]
        } else {
            &[]
        };
        ours.iter()
            .map(|s| (*s).to_owned())
            .chain(self.settings.iter().map(|(k, v)| format!("{k}={v}")))
            .collect()
    }
}

/// The port of a cluster already running on `data_dir` (another process
/// started it and will stop it), accepting connections now; `None` when
/// none is (a stale `postmaster.pid` of a crashed run included).
pub fn running_port(data_dir: &Path) -> Option<u16> {
    guardian::running_port(data_dir)
}

/// The URL of `database` on a cluster listening on `port` on 127.0.0.1,
/// connecting as `user` with `password`.
pub fn url(port: u16, user: &str, password: Option<&str>, database: &str) -> String {
    let password = password.map_or(String::new(), |p| format!(":{}", percent_encode(p)));
    format!(
        "postgres://{}{password}@127.0.0.1:{port}/{}",
        percent_encode(user),
        percent_encode(database)
    )
}

/// A running cluster. Stopped by [`Cluster::stop`] or on drop; if neither
/// runs (a static, an abort, a kill), its guardian stops it when this
/// process ends.
#[derive(Debug)]
pub struct Cluster {
    /// `None` once stopped.
    guardian: Option<Child>,
    bin_dir: PathBuf,
    data_dir: PathBuf,
    log: PathBuf,
    port: u16,
    /// The superuser's password, once connections need one.
    password: Option<String>,
}

impl Cluster {
    /// Starts a cluster as `options` say and returns once it accepts
    /// connections (at most a minute).
    ///
    /// # Errors
    /// When no binaries are installed, the directories cannot be prepared,
    /// `initdb` fails, or postgres does not come up (the error then holds
    /// what postgres logged). Nothing is left running then, and an ephemeral
    /// cluster's work directory is removed.
    pub fn start(options: ClusterOptions) -> Result<Self, ClusterError> {
        let path = std::env::var_os("PATH");
        let bin_dir = binaries::find_bin_dir(path.as_deref(), Path::new(binaries::DEBIAN_ROOT))
            .ok_or(ClusterError::NoBinaries)?;
        let user = user::cluster_user()?;
        let data_dir = std::path::absolute(&options.data_dir).map_err(ClusterError::io(
            format!("resolving {}", options.data_dir.display()),
        ))?;

        let work_dir = if options.ephemeral {
            let work_dir = create_work_dir(&data_dir, user)?;
            if let Err(e) = initdb(&bin_dir, &data_dir, user, true, None) {
                let _ = std::fs::remove_dir_all(&work_dir);
                return Err(e);
            }
            Some(work_dir)
        } else {
            prepare_persistent(
                &bin_dir,
                &data_dir,
                user,
                options.superuser_password.as_deref(),
            )?;
            None
        };

        let port = match options.port {
            Some(port) => port,
            None => free_port()?,
        };
        let log = data_dir.join("postgres.log");
        let log_from = guardian::log_len(&log);
        let settings = options.server_settings();
        let launch = guardian::Launch {
            bin_dir: &bin_dir,
            data_dir: &data_dir,
            port,
            log: &log,
            settings: &settings,
            // Immediate shutdown is fine for a cluster about to be deleted;
            // a kept one gets a fast shutdown, which loses nothing.
            stop_signal: if options.ephemeral { "QUIT" } else { "INT" },
            remove: work_dir.as_deref(),
            user,
        };
        let guardian = match launch.spawn() {
            Ok(guardian) => guardian,
            Err(e) => {
                if let Some(work_dir) = &work_dir {
                    let _ = std::fs::remove_dir_all(work_dir);
                }
                return Err(e);
            }
        };

        let mut cluster = Self {
            guardian: Some(guardian.child),
            bin_dir,
            data_dir,
            log,
            port,
            password: None,
        };
        let ready = cluster
            .wait_until_ready(guardian.postgres_pid, log_from)
            .and_then(|()| match options.superuser_password {
                Some(password) => cluster.require_passwords(password),
                None => Ok(()),
            });
        match ready {
            Ok(()) => Ok(cluster),
            Err(e) => {
                let _ = cluster.shutdown();
                Err(e)
            }
        }
    }

    /// The port the cluster listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of `database`, connecting as the superuser `postgres` (with
    /// its password, when the cluster asks for one).
    pub fn url(&self, database: &str) -> String {
        self.url_as("postgres", self.password.as_deref(), database)
    }

    /// The URL of `database`, connecting as `user` with `password`.
    pub fn url_as(&self, user: &str, password: Option<&str>, database: &str) -> String {
        url(self.port, user, password, database)
    }

    /// Makes every connection give a password: the superuser gets
    /// `password`, and a cluster that trusted connections (made before this
    /// was asked for) is switched to SCRAM and reloaded. A cluster made
    /// with the password already asks for it.
    fn require_passwords(&mut self, password: String) -> Result<(), ClusterError> {
        let hba = self.data_dir.join("pg_hba.conf");
        let text = std::fs::read_to_string(&hba)
            .map_err(ClusterError::io(format!("reading {}", hba.display())))?;
        let trusting = hba_lines(&text).any(|line| line.split_whitespace().any(|w| w == "trust"));
        if trusting {
            // Still trusted: set the password, then stop trusting.
            self.psql_for(
                "ALTER ROLE postgres PASSWORD :'name';\n",
                &password,
                "psql, setting the superuser's password",
            )?;
            let hardened: String = text
                .lines()
                .map(|line| {
                    if line.trim_start().starts_with('#') {
                        line.to_owned()
                    } else {
                        line.split(' ')
                            .map(|w| if w == "trust" { "scram-sha-256" } else { w })
                            .collect::<Vec<_>>()
                            .join(" ")
                    }
                })
                .map(|line| line + "\n")
                .collect();
            std::fs::write(&hba, hardened)
                .map_err(ClusterError::io(format!("writing {}", hba.display())))?;
            self.psql_for(
                "SELECT pg_reload_conf();\n",
                "",
                "psql, reloading pg_hba.conf",
            )?;
        }
        self.password = Some(password);
        Ok(())
    }

    /// The cluster's data directory (absolute).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Where postgres logs: `postgres.log` in the data directory. A
    /// persistent cluster appends to it across runs.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Creates database `name` unless it exists, with `psql` (the one beside
    /// the server binaries, else PATH's). Safe to call concurrently.
    ///
    /// # Errors
    /// When psql cannot be run or the database can neither be created nor
    /// found.
    pub fn create_database_if_missing(&self, name: &str) -> Result<(), ClusterError> {
        // psql quotes the name (:'name' as a literal, %I as an identifier),
        // so any name is safe, and \gexec runs the CREATE only when needed.
        const CREATE: &str = "SELECT format('CREATE DATABASE %I', :'name') \
             WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'name') \\gexec\n";
        const EXISTS: &str = "SELECT count(*) FROM pg_database WHERE datname = :'name';\n";
        match self.psql(CREATE, name) {
            Ok(_) => Ok(()),
            // Someone else may have created it between our check and our
            // CREATE: then it exists, which is all that was asked.
            Err(e) => match self.psql(EXISTS, name) {
                Ok(count) if count.trim() == "1" => Ok(()),
                _ => Err(e),
            },
        }
    }

    /// Stops postgres (and, for an ephemeral cluster, deletes its work
    /// directory) and returns once that is done.
    ///
    /// # Errors
    /// When postgres did not shut down cleanly, e.g. because it had crashed.
    pub fn stop(mut self) -> Result<(), ClusterError> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<(), ClusterError> {
        let Some(mut child) = self.guardian.take() else {
            return Ok(());
        };
        let status = guardian::stop(&mut child)
            .map_err(ClusterError::io("waiting for PostgreSQL to stop"))?;
        if status.success() {
            Ok(())
        } else {
            Err(ClusterError::Shutdown {
                status,
                log: self.log.clone(),
            })
        }
    }

    fn wait_until_ready(&self, postgres_pid: u32, log_from: u64) -> Result<(), ClusterError> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            // The pid file first: pg_isready alone would also be satisfied
            // by another server that holds our port while ours fails to bind.
            if guardian::postmaster_ready(&self.data_dir, postgres_pid) && self.pg_isready()? {
                return Ok(());
            }
            let failure = if !guardian::alive(postgres_pid) {
                Some("postgres exited during start-up".to_owned())
            } else if Instant::now() > deadline {
                Some(format!(
                    "not accepting connections after {} s",
                    READY_TIMEOUT.as_secs()
                ))
            } else {
                None
            };
            if let Some(reason) = failure {
                return Err(ClusterError::NotReady {
                    port: self.port,
                    reason,
                    log: guardian::log_since(&self.log, log_from),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn pg_isready(&self) -> Result<bool, ClusterError> {
        let output = self
            .client("pg_isready")
            .args(["-q", "-t", "5", "-d", "postgres"])
            .stdin(Stdio::null())
            .output()
            .map_err(ClusterError::io("running pg_isready"))?;
        match output.status.code() {
            Some(0) => Ok(true),
            // 3: it made no attempt (bad arguments); waiting will not help.
            Some(3) => Err(ClusterError::Command {
                command: "pg_isready".into(),
                status: output.status,
                stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            }),
            // 1: still starting up; 2: no answer yet.
            _ => Ok(false),
        }
    }

    /// Runs `script` through psql with the variable `name` set, returning
    /// its unaligned, tuples-only output.
    fn psql(&self, script: &str, name: &str) -> Result<String, ClusterError> {
        self.psql_for(script, name, &format!("psql, for database {name:?}"))
    }

    /// As [`Cluster::psql`], naming the command `what` in errors (the
    /// variable may be a secret).
    fn psql_for(&self, script: &str, name: &str, what: &str) -> Result<String, ClusterError> {
        use std::io::Write;
        let mut child = self
            .client("psql")
            .args([
                "-X",
                "-w",
                "-q",
                "-t",
                "-A",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                "postgres",
            ])
            .arg("-v")
            .arg(format!("name={name}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(ClusterError::io("running psql"))?;
        // Variables are interpolated only in scripts psql reads, not in
        // -c, hence stdin. The script is tiny, so writing all of it before
        // reading any output cannot deadlock.
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(script.as_bytes())
                .map_err(ClusterError::io("writing to psql"))?;
        }
        let output = child
            .wait_with_output()
            .map_err(ClusterError::io("running psql"))?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(ClusterError::Command {
                command: what.to_owned(),
                status: output.status,
                stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            })
        }
    }

    /// A client tool pointed at this cluster as `postgres`. libpq reads PG*
    /// variables (PGSSLMODE, PGPASSWORD, PGSERVICE…) meant for other
    /// servers; they must not steer it away from ours.
    fn client(&self, name: &str) -> Command {
        let mut cmd = Command::new(binaries::tool(&self.bin_dir, name));
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("PG") {
                cmd.env_remove(key);
            }
        }
        cmd.args(["-h", "127.0.0.1", "-U", "postgres", "-p"])
            .arg(self.port.to_string());
        if let Some(password) = &self.password {
            cmd.env("PGPASSWORD", password);
        }
        cmd
    }
}

impl Drop for Cluster {
    /// Stops the cluster cleanly when its owner lets go of it (a server's
    /// main returning). Errors have nowhere to go here; `stop` reports them.
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// Creates the work directory (the data directory's parent) of an
/// ephemeral cluster. It must be new: it is deleted whole when the cluster
/// stops, so it must not hold anything else.
fn create_work_dir(data_dir: &Path, user: Option<User>) -> Result<PathBuf, ClusterError> {
    let Some(work_dir) = data_dir.parent() else {
        return Err(ClusterError::WorkDirExists(data_dir.to_path_buf()));
    };
    if let Some(parent) = work_dir.parent() {
        std::fs::create_dir_all(parent)
            .map_err(ClusterError::io(format!("creating {}", parent.display())))?;
    }
    match std::fs::create_dir(work_dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(ClusterError::WorkDirExists(work_dir.to_path_buf()));
        }
        Err(e) => return Err(ClusterError::io(format!("creating {}", work_dir.display()))(e)),
    }
    if let Some(user) = user
        && let Err(e) = user::chown_tree(work_dir, user)
    {
        let _ = std::fs::remove_dir_all(work_dir);
        return Err(e);
    }
    Ok(work_dir.to_path_buf())
}

/// Makes `data_dir` ready for a persistent cluster: ours (as root, the
/// cluster user's), and initialised unless it already holds a cluster.
/// A stale postmaster.pid is left alone: postgres itself sees that its pid
/// is dead and replaces it.
fn prepare_persistent(
    bin_dir: &Path,
    data_dir: &Path,
    user: Option<User>,
    password: Option<&str>,
) -> Result<(), ClusterError> {
    if let Some(user) = user
        && let Some((blocked, mode)) = user::blocked_ancestor(data_dir, user)
    {
        return Err(ClusterError::Unreachable {
            data_dir: data_dir.to_path_buf(),
            blocked,
            mode,
            uid: user.uid,
        });
    }
    let exists = data_dir.try_exists().map_err(ClusterError::io(format!(
        "looking at {}",
        data_dir.display()
    )))?;
    if exists {
        if let Some(user) = user {
            use std::os::unix::fs::MetadataExt;
            let owner = std::fs::metadata(data_dir)
                .map_err(ClusterError::io(format!(
                    "looking at {}",
                    data_dir.display()
                )))?
                .uid();
            if owner != user.uid {
                user::chown_tree(data_dir, user)?;
            }
        }
    } else {
        // Created here rather than by initdb: as root, initdb runs as the
        // cluster user, who may not be allowed to write to the parent.
        std::fs::create_dir_all(data_dir)
            .map_err(ClusterError::io(format!("creating {}", data_dir.display())))?;
        if let Some(user) = user {
            user::chown_tree(data_dir, user)?;
        }
    }
    let initialised = data_dir
        .join("PG_VERSION")
        .try_exists()
        .map_err(ClusterError::io(format!(
            "looking into {}",
            data_dir.display()
        )))?;
    if initialised {
        Ok(())
    } else {
        initdb(bin_dir, data_dir, user, false, password)
    }
}

fn initdb(
    bin_dir: &Path,
    data_dir: &Path,
    user: Option<User>,
    ephemeral: bool,
    password: Option<&str>,
) -> Result<(), ClusterError> {
    let mut cmd = user::run_as(Command::new(bin_dir.join("initdb")), user);
    cmd.arg("-D")
        .arg(data_dir)
        .args(["-U", "postgres", "-E", "UTF8", "--no-locale"]);
    // The password goes in a file only the cluster's user can read, for
    // the moment initdb needs it: never on a command line.
    let pwfile = password
        .map(|password| write_pwfile(data_dir, password, user))
        .transpose()?;
    match &pwfile {
        Some(file) => {
            cmd.args(["-A", "scram-sha-256"]).arg("--pwfile").arg(file);
        }
        None => {
            cmd.args(["-A", "trust"]);
        }
    }
    if ephemeral {
        // Nothing to make durable in a cluster that will be deleted.
        cmd.arg("--no-sync");
    }
    let output = cmd.output();
    if let Some(file) = &pwfile {
        let _ = std::fs::remove_file(file);
    }
    let output = output.map_err(ClusterError::io("running initdb"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(ClusterError::Initdb {
            data_dir: data_dir.to_path_buf(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }
}

/// Writes the superuser's password for initdb beside the data directory,
/// readable by the cluster's user only.
fn write_pwfile(
    data_dir: &Path,
    password: &str,
    user: Option<User>,
) -> Result<PathBuf, ClusterError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let file = data_dir.with_extension("pwfile");
    let _ = std::fs::remove_file(&file);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&file)
        .and_then(|mut f| f.write_all(password.as_bytes()))
        .map_err(ClusterError::io(format!("writing {}", file.display())))?;
    if let Some(user) = user {
        user::chown_tree(&file, user)?;
    }
    Ok(file)
}

/// The lines of pg_hba.conf that say something (not comments or blank).
fn hba_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
}

/// A port that was free a moment ago. Another process could take it before
/// postgres binds; start then fails with postgres's "address in use".
fn free_port() -> Result<u16, ClusterError> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(ClusterError::io("finding a free port"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(ClusterError::io("finding a free port"))
}

/// `text` as a URL path segment: anything but unreserved characters is
/// percent-encoded.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::TempDir;

    fn unstarted(port: u16) -> Cluster {
        Cluster {
            guardian: None,
            bin_dir: PathBuf::from("/nowhere"),
            data_dir: PathBuf::from("/nowhere/data"),
            log: PathBuf::from("/nowhere/data/postgres.log"),
            port,
            password: None,
        }
    }

    #[test]
    fn a_url_carries_the_password_encoded_when_connections_need_one() {
        let mut cluster = unstarted(54321);
        cluster.password = Some("p@ss/word".into());
        assert_eq!(
            cluster.url("crm"),
            "postgres://postgres:p%40ss%2Fword@127.0.0.1:54321/crm"
        );
        assert_eq!(
            cluster.url_as("crm_app", Some("x"), "crm"),
            "postgres://crm_app:x@127.0.0.1:54321/crm"
        );
    }

    #[test]
    fn urls_connect_as_postgres_on_localhost() {
        let cluster = unstarted(54321);
        assert_eq!(
            cluster.url("crm"),
            "postgres://postgres@127.0.0.1:54321/crm"
        );
        assert_eq!(
            cluster.url("a b/ü"),
            "postgres://postgres@127.0.0.1:54321/a%20b%2F%C3%BC"
        );
        assert_eq!(cluster.port(), 54321);
    }

    #[test]
    fn a_stopped_cluster_stops_again_quietly() {
        assert!(unstarted(1).stop().is_ok());
    }

    #[test]
    fn ephemeral_options_point_into_a_fresh_work_dir() {
        let options = ClusterOptions::ephemeral("crm-unit");
        let work_dir = options.data_dir.parent().unwrap();
        let name = work_dir.file_name().unwrap().to_str().unwrap();
        assert!(options.ephemeral);
        assert_eq!(options.data_dir.file_name().unwrap(), "data");
        assert_eq!(work_dir.parent().unwrap(), std::env::temp_dir());
        assert!(
            name.starts_with(&format!("crm-unit-{}-", std::process::id())),
            "{name}"
        );
        assert_ne!(
            ClusterOptions::ephemeral("crm-unit").data_dir,
            options.data_dir
        );
    }

    #[test]
    fn settings_come_after_ours_so_they_win() {
        let ephemeral = ClusterOptions::ephemeral("x")
            .with_setting("fsync", "on")
            .with_port(7);
        assert_eq!(ephemeral.port, Some(7));
        assert_eq!(
            ephemeral.server_settings(),
            [
                "fsync=off",
                "synchronous_commit=off",
                "full_page_writes=off",
                "fsync=on"
            ]
        );
        let persistent =
            ClusterOptions::persistent("/srv/pg").with_setting("max_connections", "50");
        assert!(!persistent.ephemeral);
        assert_eq!(persistent.server_settings(), ["max_connections=50"]);
    }

    #[test]
    fn an_ephemeral_work_dir_is_never_one_that_exists() {
        let tmp = TempDir::new("workdir");
        let fresh = tmp.path().join("a/b/work");
        assert_eq!(create_work_dir(&fresh.join("data"), None).unwrap(), fresh);
        assert!(fresh.is_dir());

        for taken in [fresh.join("data"), PathBuf::from("/")] {
            match create_work_dir(&taken, None) {
                Err(ClusterError::WorkDirExists(dir)) => {
                    assert_eq!(dir, taken.parent().unwrap_or(&taken));
                }
                other => panic!("{taken:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn messages_say_what_to_do() {
        let none = ClusterError::NoBinaries.to_string();
        assert!(none.contains("apt-get install postgresql"), "{none}");
        assert!(none.contains("DATABASE_URL"), "{none}");
    }
}
