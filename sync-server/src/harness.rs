//! A sync server for tests (feature `harness`; this crate's and the desktop
//! crates'): a throwaway database from crm-testkit and the real server on
//! loopback, which a test can stop (the network goes away) and start again
//! on the same address.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use crm_domain::UserRole;
use crm_testkit::TestDatabase;
use sqlx::PgPool;
use uuid::Uuid;

use crate::app::RunningServer;
use crate::config::Config;

pub const JWT_SECRET: &str = "test-secret-that-is-long-enough-for-hs256-signing";
pub const PASSWORD: &str = "a long enough passphrase";

/// The central side: database and sync server.
pub struct Backend {
    pub db: TestDatabase,
    pub state: crate::AppState,
    pub addr: SocketAddr,
    /// The certificate it serves, when given `--tls on` (or a certificate).
    pub tls: Option<crate::tls::ServerTls>,
    server: Option<RunningServer>,
    /// While frozen: the listener that takes connections and never answers.
    frozen: Option<tokio::task::JoinHandle<()>>,
    // Held so the server's data directory lives as long as the server.
    _data_dir: tempfile::TempDir,
}

impl Backend {
    pub async fn start() -> Backend {
        Self::start_with(&[]).await
    }

    /// A server on a fresh test database, with extra flags (e.g.
    /// `["--tls", "on"]`).
    pub async fn start_with(flags: &[&str]) -> Backend {
        Self::on(TestDatabase::create(&crate::db::MIGRATOR).await, flags).await
    }

    /// A server on an existing test database, with extra flags (e.g.
    /// `["--signup", "open"]`).
    pub async fn on(db: TestDatabase, flags: &[&str]) -> Backend {
        let data_dir = tempfile::tempdir().unwrap();
        // Requests run as crm_app, as in production; migrations as the
        // test cluster's superuser.
        let app_url = as_app_role(db.url()).unwrap_or_else(|| db.url().to_owned());
        let mut args = vec![
            "sync-server",
            "--database-url",
            &app_url,
            "--migrate-database-url",
            db.url(),
            "--jwt-secret",
            JWT_SECRET,
            "--data-dir",
            data_dir.path().to_str().unwrap(),
        ];
        args.extend_from_slice(flags);
        let config = Config::try_parse_from(args).unwrap();
        let tls = crate::tls::load(&config.server).unwrap();
        let started = crate::start(config.server).await.unwrap();
        crate::start_workers(&started.state);
        let state = started.state.clone();
        let acceptor = tls.as_ref().map(|tls| tls.acceptor.clone());
        let server =
            crate::app::spawn_with_tls(started.state, "127.0.0.1:0".parse().unwrap(), acceptor)
                .await
                .unwrap();
        Backend {
            db,
            state,
            addr: server.addr,
            tls,
            server: Some(server),
            frozen: None,
            _data_dir: data_dir,
        }
    }

    /// Another server process on the same database, as a deployment
    /// behind a load balancer runs several: its own pool, its own `LISTEN`
    /// connection, its own budgets; the same signing secret and the same
    /// attachment files (this one's storage directory, as a shared disk
    /// would be). It listens on `addr` (port 0: any).
    pub async fn another_process(&self, addr: SocketAddr) -> (RunningServer, tempfile::TempDir) {
        self.another_process_with(addr, &[]).await
    }

    /// [`Backend::another_process`] with extra flags (a deployment gives
    /// every process the same).
    pub async fn another_process_with(
        &self,
        addr: SocketAddr,
        flags: &[&str],
    ) -> (RunningServer, tempfile::TempDir) {
        let data_dir = tempfile::tempdir().unwrap();
        let storage = self.state.config.storage_dir();
        let app_url = as_app_role(self.db.url()).unwrap_or_else(|| self.db.url().to_owned());
        let mut args = vec![
            "sync-server",
            "--database-url",
            &app_url,
            "--migrate-database-url",
            self.db.url(),
            "--jwt-secret",
            JWT_SECRET,
            "--data-dir",
            data_dir.path().to_str().unwrap(),
            "--storage-dir",
            storage.to_str().unwrap(),
        ];
        args.extend_from_slice(flags);
        let config = Config::try_parse_from(args).unwrap();
        let started = crate::start(config.server).await.unwrap();
        crate::start_workers(&started.state);
        let server = crate::app::spawn(started.state, addr).await.unwrap();
        (server, data_dir)
    }

    /// `http://127.0.0.1:PORT`, or `https://` when it serves TLS.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The database as its superuser, to look at and arrange what a test
    /// needs (the server's own pool runs as `crm_app`).
    pub fn pool(&self) -> &PgPool {
        self.db.pool()
    }

    /// The server crashes: it stops at once, requests in flight dropped
    /// where they are. [`Backend::restart`] brings it back.
    pub fn crash(&mut self) {
        if let Some(server) = self.server.take() {
            server.crash();
        }
    }

    /// The network goes away: the server stops (requests in flight finish).
    pub async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await.unwrap();
        }
    }

    /// The server freezes: it still takes connections on its address but
    /// never answers (a hung process, or a link that passes nothing back).
    /// [`Backend::restart`] thaws it.
    pub async fn freeze(&mut self) {
        self.stop().await;
        let mut listener = None;
        for _ in 0..50 {
            match tokio::net::TcpListener::bind(self.addr).await {
                Ok(l) => {
                    listener = Some(l);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        let listener = listener.expect("the server's address is free again");
        self.frozen = Some(tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        }));
    }

    /// The server comes back on the same address.
    pub async fn restart(&mut self) {
        if let Some(frozen) = self.frozen.take() {
            frozen.abort();
            // The listener is dropped with the task: wait until it is.
            let _ = frozen.await;
        }
        assert!(self.server.is_none(), "already running");
        let mut last = None;
        for _ in 0..50 {
            let acceptor = self.tls.as_ref().map(|tls| tls.acceptor.clone());
            match crate::app::spawn_with_tls(self.state.clone(), self.addr, acceptor).await {
                Ok(server) => {
                    self.server = Some(server);
                    return;
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("could not listen on {} again: {last:?}", self.addr);
    }

    pub async fn create_account(&self, email: &str, name: &str, role: UserRole) -> Uuid {
        crate::accounts::create_account(&self.state.pool, email, PASSWORD, Some(name), role)
            .await
            .unwrap()
            .id
    }
}

/// A port free on loopback now, for a server process a test starts.
/// The `sync-server` binary (`binary`: the caller's
/// `env!("CARGO_BIN_EXE_sync-server")`) on a test database, requests as
/// `crm_app`, with `data_dir` and the harness's JWT secret, then `args`:
/// for the tests and benchmarks that need the server in a process of its
/// own (to kill it, or to measure its memory).
pub fn server_command(
    binary: &str,
    db: &TestDatabase,
    data_dir: &std::path::Path,
    args: &[&str],
) -> std::process::Command {
    let app_url = as_app_role(db.url()).unwrap_or_else(|| db.url().to_owned());
    let mut command = std::process::Command::new(binary);
    command
        .env_remove("DATABASE_URL")
        .env("CRM_LOG", "error")
        .args(["--database-url", &app_url])
        .args(["--migrate-database-url", db.url()])
        .args(["--jwt-secret", JWT_SECRET])
        .arg("--data-dir")
        .arg(data_dir)
        .args(args);
    command
}

/// A server process (see [`server_command`]), killed when dropped.
pub struct ServerProcess {
    pub child: std::process::Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
}

impl ServerProcess {
    /// Serves on `port` with `flags`, and waits until it answers `/health`.
    pub async fn start(
        binary: &str,
        db: &TestDatabase,
        data_dir: &std::path::Path,
        port: u16,
        flags: &[&str],
    ) -> ServerProcess {
        let listen = format!("127.0.0.1:{port}");
        let mut args = vec!["--listen", listen.as_str()];
        args.extend_from_slice(flags);
        args.push("serve");
        // Owned at once, so no path leaves the process running.
        let server = ServerProcess {
            child: server_command(binary, db, data_dir, &args)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::inherit())
                .spawn()
                .unwrap(),
            base: format!("http://{listen}"),
        };
        wait_healthy(&reqwest::Client::new(), &server.base).await;
        server
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until the server at `base` (`http://HOST:PORT`) answers
/// `/health`; panics after 90 s (a server that never came up).
pub async fn wait_healthy(http: &reqwest::Client, base: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while std::time::Instant::now() < deadline {
        if http
            .get(format!("{base}/health"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server did not come up on {base}");
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The resident memory of a process, in bytes (Linux's `/proc`; 0 when it
/// cannot be read).
pub fn resident_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0)
        * 1024
}

/// The peak resident memory of a process while it is watched (sampled
/// every 5 ms).
pub struct PeakMemory {
    pub before: u64,
    peak: std::sync::Arc<std::sync::atomic::AtomicU64>,
    sampling: tokio::task::JoinHandle<()>,
}

impl PeakMemory {
    pub fn watch(pid: u32) -> PeakMemory {
        let before = resident_bytes(pid);
        let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(before));
        let sampled = peak.clone();
        let sampling = tokio::spawn(async move {
            loop {
                sampled.fetch_max(resident_bytes(pid), std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        });
        PeakMemory {
            before,
            peak,
            sampling,
        }
    }

    /// Stops watching; answers the peak seen.
    pub fn stop(self) -> u64 {
        self.sampling.abort();
        self.peak.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Signs `email` in at the server at `base` and opens a ticket as them,
/// over HTTP as an app would; answers the access token and the ticket.
pub async fn ticket_over_http(base: &str, email: &str, password: &str) -> (String, Uuid) {
    use crm_domain::protocol::{Mutation, MutationOp, PROTOCOL_VERSION, PushRequest, SyncTable};
    let http = reqwest::Client::new();
    let session: serde_json::Value = http
        .post(format!("{base}/auth/login"))
        .json(&serde_json::json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = session["access_token"].as_str().unwrap().to_owned();
    let ticket = Uuid::now_v7();
    let mut values = std::collections::BTreeMap::new();
    values.insert("title".to_owned(), serde_json::json!("Meter broken"));
    let push = PushRequest {
        protocol_version: PROTOCOL_VERSION,
        client_id: Uuid::now_v7(),
        mutations: vec![Mutation {
            seq: 1,
            table: SyncTable::Tickets,
            row_id: ticket,
            op: MutationOp::Insert { values },
            edited_at: chrono::Utc::now(),
        }],
    };
    let pushed = http
        .post(format!("{base}/sync/push"))
        .bearer_auth(&token)
        .json(&push)
        .send()
        .await
        .unwrap();
    assert!(pushed.status().is_success(), "{}", pushed.status());
    (token, ticket)
}

/// `url` connecting as `crm_app` instead of its user, when it carries no
/// password (the test cluster trusts local connections); `None` otherwise
/// (an external test server: its user is kept).
pub fn as_app_role(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let (userinfo, host) = rest.split_once('@')?;
    if userinfo.contains(':') {
        return None;
    }
    Some(format!("{scheme}://{}@{host}", crate::embedded::APP_ROLE))
}

/// Starts (or starts again) a PostgreSQL of a test's own in `dir`, as a
/// supervisor would: after a crash, the killed postmaster's backends take a
/// moment to exit, and until then PostgreSQL refuses to start on their
/// shared memory. For the tests that stop and crash their database.
pub fn start_own_cluster(
    dir: &std::path::Path,
    port: u16,
    superuser_password: &str,
) -> pg_cluster::Cluster {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        match pg_cluster::Cluster::start(
            pg_cluster::ClusterOptions::persistent(dir)
                .with_port(port)
                .with_superuser_password(superuser_password),
        ) {
            Ok(cluster) => return cluster,
            Err(e) if std::time::Instant::now() < deadline => {
                eprintln!("PostgreSQL not back yet: {e}");
                std::thread::sleep(Duration::from_millis(250));
            }
            Err(e) => panic!("PostgreSQL did not come back: {e}"),
        }
    }
}

/// The pid of the postmaster running on `dir` (the first line of its
/// `postmaster.pid`), to crash it.
pub fn postmaster_pid(dir: &std::path::Path) -> u32 {
    std::fs::read_to_string(dir.join("postmaster.pid"))
        .expect("PostgreSQL is running")
        .lines()
        .next()
        .and_then(|line| line.trim().parse().ok())
        .expect("postmaster.pid names its process")
}

/// Kills a process with SIGKILL, as an out-of-memory killer or a power cut
/// would: nothing of it gets to finish.
pub fn kill9(pid: u32) {
    let killed = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success(), "kill -9 {pid}");
}

/// Migrates the database at `migrate_url` with the server `binary` (its
/// `migrate` command, as an operator would) and gives `crm_app` the
/// password `app_password`, for the tests that run server processes on a
/// database of their own.
pub async fn migrate_with(
    binary: &std::path::Path,
    migrate_url: &str,
    work: &std::path::Path,
    app_password: &str,
) {
    let migrate = std::process::Command::new(binary)
        .env_remove("DATABASE_URL")
        .env("CRM_LOG", "error")
        .args(["--database-url", migrate_url, "--data-dir"])
        .arg(work.join("migrate"))
        .arg("migrate")
        .status()
        .expect("the server binary runs");
    assert!(migrate.success(), "{} migrate", binary.display());
    crate::db::set_app_password(migrate_url, app_password)
        .await
        .expect("crm_app gets its password");
}
