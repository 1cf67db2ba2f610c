//! A real PostgreSQL for tests, and a fresh database for each test.
//!
//! The server is `DATABASE_URL` when that points at a reachable server (it
//! must be allowed to create databases and roles). Otherwise one throwaway
//! cluster per test process is made from the installed binaries (`initdb`,
//! `postgres` on PATH or under /usr/lib/postgresql/*/bin); PostgreSQL refuses
//! to run as root, so as root the cluster runs as the `postgres` user (or
//! `nobody`). A small shell guardian owns the cluster and removes it when its
//! stdin closes, which happens however the test process ends, so nothing
//! outlives a run.
//!
//! Migrations run once per process into a template database; each test then
//! gets `CREATE DATABASE … TEMPLATE`, which takes milliseconds.

use std::io::Read;
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, Executor, PgConnection, PgPool};
use tokio::sync::OnceCell;

/// The server every test of this process uses.
struct Server {
    /// URL of a database to run administrative statements from.
    admin_url: String,
    /// True when the server is `DATABASE_URL`'s: test databases are then
    /// dropped after use, since the server outlives the process.
    external: bool,
    /// The guardian of our own cluster. Never dropped: its stdin stays open
    /// until the process exits, and closing it stops and removes the cluster.
    _guardian: Option<Child>,
}

static SERVER: OnceCell<Server> = OnceCell::const_new();
static TEMPLATE: OnceCell<String> = OnceCell::const_new();

/// A database of its own for one test, with the migrations applied.
pub struct TestDatabase {
    name: String,
    url: String,
    pool: PgPool,
    external: bool,
    admin_url: String,
}

impl TestDatabase {
    /// A fresh database with `migrator`'s migrations applied, connected as
    /// the server's superuser (tests switch to `authenticated` themselves).
    ///
    /// # Panics
    /// When no PostgreSQL can be found or started: the message says what to
    /// install. A test cannot do anything useful without one.
    pub async fn create(migrator: &'static Migrator) -> Self {
        let server = server().await;
        let template = TEMPLATE
            .get_or_init(|| ensure_template(&server.admin_url, migrator))
            .await;
        Self::new(server, Some(template)).await
    }

    /// A fresh database with nothing in it (for tests of the migrations
    /// themselves).
    pub async fn empty() -> Self {
        Self::new(server().await, None).await
    }

    async fn new(server: &Server, template: Option<&str>) -> Self {
        let name = unique_name("crm_test");
        create_database(&server.admin_url, &name, template).await;
        let url = with_database(&server.admin_url, &name);
        let pool = PgPoolOptions::new()
            .max_connections(20)
            .acquire_timeout(Duration::from_secs(30))
            .connect(&url)
            .await
            .unwrap_or_else(|e| panic!("connecting to test database {name}: {e}"));
        Self {
            name,
            url,
            pool,
            external: server.external,
            admin_url: server.admin_url.clone(),
        }
    }

    /// A pool of superuser connections to this database.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The database's URL (superuser), for programs the test starts.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's connection options (superuser).
    pub fn options(&self) -> PgConnectOptions {
        self.url
            .parse()
            .unwrap_or_else(|e| panic!("test database URL does not parse: {e}"))
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Our own cluster is removed whole when the process ends; a shared
        // server must not fill up with test databases.
        if !self.external {
            return;
        }
        // Drop runs on the test's runtime thread, which must not be blocked
        // on from within: use a runtime of our own on another thread. FORCE
        // ends the pool's connections; closing the pool here would wait on
        // the test's runtime, which is blocked on us.
        let (name, admin_url) = (self.name.clone(), self.admin_url.clone());
        let dropper = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(mut conn) = PgConnection::connect(&admin_url).await {
                    let _ = conn
                        .execute(sqlx::AssertSqlSafe(format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        )))
                        .await;
                }
            });
        });
        let _ = dropper.join();
    }
}

async fn server() -> &'static Server {
    SERVER
        .get_or_init(|| async {
            if let Ok(url) = std::env::var("DATABASE_URL")
                && reachable(&url).await
            {
                return Server {
                    admin_url: url,
                    external: true,
                    _guardian: None,
                };
            }
            match start_cluster().await {
                Ok(server) => server,
                Err(message) => panic!("{message}"),
            }
        })
        .await
}

async fn reachable(url: &str) -> bool {
    matches!(
        tokio::time::timeout(Duration::from_secs(5), PgConnection::connect(url)).await,
        Ok(Ok(_))
    )
}

async fn connect(url: &str) -> PgConnection {
    PgConnection::connect(url)
        .await
        .unwrap_or_else(|e| panic!("connecting to {url}: {e}"))
}

/// The migrated template for `migrator`, named after its migrations'
/// checksums so that a shared server keeps one per schema version and every
/// test process reuses it. Built under an advisory lock and published by a
/// rename, so a concurrent or crashed builder never leaves a half-migrated
/// template in use.
async fn ensure_template(admin_url: &str, migrator: &'static Migrator) -> String {
    let mut fingerprint: u64 = 0xcbf2_9ce4_8422_2325;
    for migration in migrator.iter() {
        for byte in migration
            .version
            .to_le_bytes()
            .iter()
            .chain(migration.checksum.iter())
        {
            fingerprint = (fingerprint ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    let name = format!("crm_template_{fingerprint:016x}");
    let mut admin = connect(admin_url).await;
    let lock = sqlx::query("SELECT pg_advisory_lock($1)").bind(fingerprint as i64);
    if let Err(e) = lock.execute(&mut admin).await {
        panic!("locking the template: {e}");
    }
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("looking for the template: {e}"));
    if !exists {
        let building = unique_name("crm_building");
        create_database(admin_url, &building, None).await;
        let mut conn = connect(&with_database(admin_url, &building)).await;
        if let Err(e) = migrator.run(&mut conn).await {
            panic!("applying the migrations to the template database failed: {e}");
        }
        let _ = conn.close().await;
        let rename = format!("ALTER DATABASE \"{building}\" RENAME TO \"{name}\"");
        if let Err(e) = admin.execute(sqlx::AssertSqlSafe(rename)).await {
            panic!("publishing the template: {e}");
        }
    }
    let _ = admin.close().await;
    name
}

async fn create_database(admin_url: &str, name: &str, template: Option<&str>) {
    let mut conn = connect(admin_url).await;
    // Names are generated here from a fixed prefix and a UUID, never from
    // input, and CREATE DATABASE takes no bind parameters.
    let statement = match template {
        Some(t) => format!("CREATE DATABASE \"{name}\" TEMPLATE \"{t}\""),
        None => format!("CREATE DATABASE \"{name}\""),
    };
    if let Err(e) = conn.execute(sqlx::AssertSqlSafe(statement)).await {
        panic!("creating database {name}: {e}");
    }
    let _ = conn.close().await;
}

fn unique_name(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

/// `url` with its database replaced by `database`, query string kept.
fn with_database(url: &str, database: &str) -> String {
    let (main, query) = match url.split_once('?') {
        Some((m, q)) => (m, Some(q)),
        None => (url, None),
    };
    let authority_start = main.find("://").map_or(0, |i| i + 3);
    let base = match main[authority_start..].find('/') {
        Some(i) => &main[..authority_start + i],
        None => main,
    };
    match query {
        Some(q) => format!("{base}/{database}?{q}"),
        None => format!("{base}/{database}"),
    }
}

/// The directory holding `initdb` and `postgres`: PATH first, then the
/// newest of Debian's /usr/lib/postgresql/*/bin.
fn find_bin_dir() -> Option<PathBuf> {
    let has_both = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if has_both(&dir) {
                // PATH may hold symlinks (Debian's /usr/local/bin/initdb):
                // postgres wants its real home to find its share files.
                let real = std::fs::canonicalize(dir.join("initdb")).ok()?;
                return real.parent().map(Path::to_path_buf);
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            has_both(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// The (uid, gid) to run PostgreSQL as: ourselves, or when we are root, the
/// `postgres` user (else `nobody`).
fn cluster_user() -> Result<Option<(u32, u32)>, String> {
    let me = std::fs::metadata("/proc/self").map_err(|e| format!("reading /proc/self: {e}"))?;
    if me.uid() != 0 {
        return Ok(None);
    }
    let passwd =
        std::fs::read_to_string("/etc/passwd").map_err(|e| format!("reading /etc/passwd: {e}"))?;
    for wanted in ["postgres", "nobody"] {
        for line in passwd.lines() {
            let fields: Vec<&str> = line.split(':').collect();
            if fields.len() > 3
                && fields[0] == wanted
                && let (Ok(uid), Ok(gid)) = (fields[2].parse(), fields[3].parse())
            {
                return Ok(Some((uid, gid)));
            }
        }
    }
    Err(
        "running as root, and neither a `postgres` nor a `nobody` user exists to run PostgreSQL as"
            .into(),
    )
}

fn as_cluster_user(mut cmd: Command, user: Option<(u32, u32)>) -> Command {
    if let Some((uid, gid)) = user {
        cmd.gid(gid).uid(uid);
    }
    cmd
}

fn free_port() -> Result<u16, String> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|e| format!("finding a free port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

const GUARDIAN: &str = r#"
"$PGBIN/postgres" -D "$PGDIR/data" -p "$PGPORT" -k "$PGDIR" \
    -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
    -c full_page_writes=off -c max_connections=300 -c shared_buffers=128MB \
    >"$PGDIR/postgres.log" 2>&1 &
pid=$!
echo started
read -r _ || true
kill -QUIT "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
rm -rf "$PGDIR"
"#;

async fn start_cluster() -> Result<Server, String> {
    let bin = find_bin_dir().ok_or(
        "no PostgreSQL server binaries found (initdb and postgres, on PATH or under \
         /usr/lib/postgresql/*/bin). Install them (Debian/Ubuntu: `sudo apt-get install \
         postgresql`, or run the README's setup command), or set DATABASE_URL to a server \
         whose user may create databases and roles.",
    )?;
    let user = cluster_user()?;
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("crm-test-pg-{}-{stamp}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    if let Some((uid, gid)) = user {
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
            .map_err(|e| format!("handing {} to uid {uid}: {e}", dir.display()))?;
    }

    let initdb = as_cluster_user(Command::new(bin.join("initdb")), user)
        .args(["-D"])
        .arg(dir.join("data"))
        .args([
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        ])
        .output()
        .map_err(|e| format!("running initdb: {e}"))?;
    if !initdb.status.success() {
        let _ = std::fs::remove_dir_all(&dir);
        return Err(format!(
            "initdb failed: {}",
            String::from_utf8_lossy(&initdb.stderr)
        ));
    }

    let port = free_port()?;
    let mut guardian = as_cluster_user(Command::new("sh"), user)
        .args(["-c", GUARDIAN])
        .env("PGBIN", &bin)
        .env("PGDIR", &dir)
        .env("PGPORT", port.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("starting PostgreSQL: {e}"))?;
    // Wait for the guardian to have launched postgres before polling.
    if let Some(out) = guardian.stdout.as_mut() {
        let mut first = [0u8; 8];
        let _ = out.read(&mut first);
    }

    let admin_url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if reachable(&admin_url).await {
            return Ok(Server {
                admin_url,
                external: false,
                _guardian: Some(guardian),
            });
        }
        let log = std::fs::read_to_string(dir.join("postgres.log")).unwrap_or_default();
        if Instant::now() > deadline || matches!(guardian.try_wait(), Ok(Some(_))) {
            drop(guardian.stdin.take());
            return Err(format!("PostgreSQL did not start on port {port}:\n{log}"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_is_replaced_and_query_kept() {
        assert_eq!(
            with_database("postgres://u:p@h:5/a?sslmode=disable", "b"),
            "postgres://u:p@h:5/b?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://u@h:5/a", "b"),
            "postgres://u@h:5/b"
        );
        assert_eq!(with_database("postgres://u@h:5", "b"), "postgres://u@h:5/b");
    }
}
