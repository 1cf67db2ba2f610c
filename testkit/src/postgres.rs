//! A real PostgreSQL for tests, and a fresh database for each test.
//!
//! The server is `DATABASE_URL` when that points at a reachable server (it
//! must be allowed to create databases and roles). Otherwise one throwaway
//! cluster per test process is started by `pg-cluster` from the installed
//! binaries (as the `postgres` user when run as root). Its guardian removes
//! it when the test process ends, however it ends, so nothing outlives a
//! run.
//!
//! Migrations run once per process into a template database; each test then
//! gets `CREATE DATABASE … TEMPLATE`, which takes milliseconds.

use std::time::Duration;

use pg_cluster::{Cluster, ClusterError, ClusterOptions};
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
    /// Our own cluster. Never dropped (statics are not): its guardian's
    /// stdin stays open until the process exits, whose closing stops and
    /// removes the cluster, after the last test rather than after the first
    /// test that happened to start it.
    _cluster: Option<Cluster>,
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
                    _cluster: None,
                };
            }
            match start_cluster().await {
                Ok(server) => server,
                Err(error) => panic!("{error}"),
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

/// One throwaway cluster for this process, in a `crm-test-pg-*` directory
/// under the system's temporary directory.
async fn start_cluster() -> Result<Server, ClusterError> {
    // Tests run many pools side by side, and the default of 100 connections
    // runs out; initdb may size shared memory down on a small machine.
    let options = ClusterOptions::ephemeral("crm-test-pg")
        .with_setting("max_connections", "300")
        .with_setting("shared_buffers", "128MB");
    // Starting blocks (initdb, then waiting for postgres): keep it off the
    // runtime's worker threads.
    let cluster = tokio::task::spawn_blocking(move || Cluster::start(options))
        .await
        .unwrap_or_else(|e| panic!("starting the test cluster panicked: {e}"))?;
    Ok(Server {
        admin_url: cluster.url("postgres"),
        external: false,
        _cluster: Some(cluster),
    })
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
