//! The private PostgreSQL the server runs when no database URL is given: a
//! cluster made from the installed binaries in `<data dir>/postgres`, kept
//! between runs, listening on loopback only, stopped with the server (and by
//! its guardian if the server dies).
//!
//! Every connection to it needs a password (SCRAM; security review H2):
//! the superuser's, which only migrations use, and `crm_app`'s, which the
//! requests run on. Both are generated on first start and kept 0600 in the
//! data directory (`postgres-superuser.secret`, `postgres-app.secret`), so
//! an operator can still reach the database with psql.
//!
//! A command run while the server serves (`sync-server user create`, say)
//! finds the cluster running on the data directory (its `postmaster.pid`
//! names a live, ready postgres) and connects to it instead of starting a
//! second one, which could not start on the same files; it leaves it
//! running when it ends.

use std::path::Path;

/// The database the server uses inside its private cluster.
pub const DATABASE: &str = "crm";

/// The role requests run on (created by the migrations).
pub const APP_ROLE: &str = "crm_app";

/// The private cluster, and the URLs to migrate with (superuser) and to
/// serve with (`crm_app`).
pub struct Embedded {
    /// `None` when another process runs it (a `sync-server user ...`
    /// command beside the serving server): that process stops it, not this
    /// one.
    pub cluster: Option<pg_cluster::Cluster>,
    pub migrate_url: String,
    pub app_url: String,
    app_password: String,
}

impl Embedded {
    /// Gives `crm_app` its password (after the migrations made the role),
    /// as the superuser.
    pub async fn set_app_password(&self) -> anyhow::Result<()> {
        Ok(crate::db::set_app_password(&self.migrate_url, &self.app_password).await?)
    }
}

pub async fn start(data_dir: &Path, port: Option<u16>) -> anyhow::Result<Embedded> {
    let superuser = crate::secrets::load_or_create(
        &data_dir.join("postgres-superuser.secret"),
        "private PostgreSQL's superuser password",
    )?;
    let app_password = crate::secrets::load_or_create(
        &data_dir.join("postgres-app.secret"),
        "private PostgreSQL's password for crm_app",
    )?;
    let cluster_dir = data_dir.join("postgres");
    // The serving server runs it already: an operator's command uses that
    // one (a second postgres on the same files cannot start).
    if let Some(port) = pg_cluster::running_port(&cluster_dir) {
        tracing::info!(
            port,
            "using the private PostgreSQL another sync-server process runs on this data directory"
        );
        return Ok(Embedded {
            migrate_url: pg_cluster::url(port, "postgres", Some(&superuser), DATABASE),
            app_url: pg_cluster::url(port, APP_ROLE, Some(&app_password), DATABASE),
            app_password,
            cluster: None,
        });
    }
    let mut options =
        pg_cluster::ClusterOptions::persistent(cluster_dir).with_superuser_password(superuser);
    if let Some(port) = port {
        options = options.with_port(port);
    }
    let cluster = tokio::task::spawn_blocking(move || {
        let cluster = pg_cluster::Cluster::start(options)?;
        cluster.create_database_if_missing(DATABASE)?;
        Ok::<_, pg_cluster::ClusterError>(cluster)
    })
    .await??;
    tracing::info!(
        port = cluster.port(),
        database = DATABASE,
        "running a private PostgreSQL (passwords in the data directory)"
    );
    Ok(Embedded {
        migrate_url: cluster.url(DATABASE),
        app_url: cluster.url_as(APP_ROLE, Some(&app_password), DATABASE),
        app_password,
        cluster: Some(cluster),
    })
}
