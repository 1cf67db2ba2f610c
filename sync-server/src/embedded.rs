//! The private PostgreSQL the server runs when no database URL is given: a
//! cluster made from the installed binaries in `<data dir>/postgres`, kept
//! between runs, listening on loopback only, stopped with the server (and by
//! its guardian if the server dies).

use std::path::Path;

/// The database the server uses inside its private cluster.
pub const DATABASE: &str = "crm";

pub async fn start(data_dir: &Path, port: Option<u16>) -> anyhow::Result<pg_cluster::Cluster> {
    let mut options = pg_cluster::ClusterOptions::persistent(data_dir.join("postgres"));
    if let Some(port) = port {
        options = options.with_port(port);
    }
    let cluster = tokio::task::spawn_blocking(move || {
        let cluster = pg_cluster::Cluster::start(options)?;
        cluster.create_database_if_missing(DATABASE)?;
        Ok::<_, pg_cluster::ClusterError>(cluster)
    })
    .await??;
    tracing::info!(url = %cluster.url(DATABASE), "running a private PostgreSQL");
    Ok(cluster)
}
