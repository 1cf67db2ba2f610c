//! Real clusters from the installed binaries: an ephemeral one leaves
//! nothing behind, a persistent one keeps its data across stops and starts.

// A test's helpers panic on anything unexpected: that is the test failing.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use pg_cluster::{Cluster, ClusterError, ClusterOptions};

/// A scratch directory removed however the test ends.
struct Scratch(PathBuf);

impl Scratch {
    fn new(label: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("pg-cluster-it-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `sql` with the psql on PATH (a client like any other) and returns
/// its unaligned output.
fn psql(url: &str, sql: &str) -> String {
    let output = Command::new("psql")
        .args([
            "-X",
            "-q",
            "-t",
            "-A",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            url,
            "-c",
            sql,
        ])
        .output()
        .expect("running psql");
    assert!(
        output.status.success(),
        "psql {sql:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

fn accepting(port: u16) -> bool {
    Command::new("pg_isready")
        .args(["-q", "-h", "127.0.0.1", "-p", &port.to_string(), "-t", "3"])
        .status()
        .expect("running pg_isready")
        .success()
}

/// The user running the process with `pid`, from /proc.
fn uid_of(pid: &str) -> u32 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn postmaster_pid(data_dir: &Path) -> String {
    let pid_file = std::fs::read_to_string(data_dir.join("postmaster.pid")).unwrap();
    pid_file.lines().next().unwrap().to_owned()
}

fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").unwrap().uid() == 0
}

#[test]
fn an_ephemeral_cluster_serves_and_leaves_nothing_behind() {
    let options = ClusterOptions::ephemeral("pg-cluster-it-ephemeral");
    let work_dir = options.data_dir.parent().unwrap().to_path_buf();

    let cluster = Cluster::start(options).unwrap();

    let port = cluster.port();
    assert!(accepting(port));
    assert_eq!(psql(&cluster.url("postgres"), "select 1"), "1");
    assert_eq!(psql(&cluster.url("postgres"), "show fsync"), "off");
    assert_eq!(
        psql(&cluster.url("postgres"), "show listen_addresses"),
        "127.0.0.1"
    );
    if running_as_root() {
        let pid = postmaster_pid(cluster.data_dir());
        assert_ne!(uid_of(&pid), 0, "postgres must not run as root");
    }
    assert!(work_dir.is_dir());

    cluster.stop().unwrap();

    assert!(!work_dir.exists(), "{} is left behind", work_dir.display());
    assert!(!accepting(port));
}

#[test]
fn dropping_a_cluster_stops_it() {
    let options = ClusterOptions::ephemeral("pg-cluster-it-drop");
    let work_dir = options.data_dir.parent().unwrap().to_path_buf();
    let cluster = Cluster::start(options).unwrap();
    let port = cluster.port();

    drop(cluster);

    assert!(!work_dir.exists());
    assert!(!accepting(port));
}

#[test]
fn a_persistent_cluster_keeps_its_data_across_restarts_and_crashes() {
    let scratch = Scratch::new("persistent");
    let data_dir = scratch.0.join("pgdata");

    // First run: the data directory is created and initialised.
    let cluster = Cluster::start(ClusterOptions::persistent(&data_dir)).unwrap();
    assert_eq!(psql(&cluster.url("postgres"), "show fsync"), "on");
    cluster.create_database_if_missing("kept db").unwrap();
    cluster.create_database_if_missing("kept db").unwrap();
    let url = cluster.url("kept db");
    psql(&url, "create table t (x int); insert into t values (42)");
    let pid_file = std::fs::read(data_dir.join("postmaster.pid")).unwrap();
    cluster.stop().unwrap();
    assert!(data_dir.join("PG_VERSION").is_file());
    assert!(!data_dir.join("postmaster.pid").exists());

    // As if the last run had crashed: its pid file is still there, naming a
    // postgres that is gone.
    std::fs::write(data_dir.join("postmaster.pid"), &pid_file).unwrap();

    // Second run: the same cluster, its data intact.
    let cluster = Cluster::start(ClusterOptions::persistent(&data_dir)).unwrap();
    assert_eq!(psql(&cluster.url("kept db"), "select x from t"), "42");
    cluster.create_database_if_missing("kept db").unwrap();
    assert_eq!(
        psql(
            &cluster.url("postgres"),
            "select count(*) from pg_database where datname = 'kept db'"
        ),
        "1"
    );
    let port = cluster.port();
    cluster.stop().unwrap();
    assert!(!accepting(port));
    assert!(data_dir.join("PG_VERSION").is_file(), "the data is kept");
}

#[test]
fn a_port_held_by_another_server_fails_fast_with_the_log() {
    let other = Cluster::start(ClusterOptions::ephemeral("pg-cluster-it-holder")).unwrap();
    let scratch = Scratch::new("port-taken");
    let started = Instant::now();

    let result =
        Cluster::start(ClusterOptions::persistent(scratch.0.join("data")).with_port(other.port()));

    match result {
        Err(ClusterError::NotReady { port, log, .. }) => {
            assert_eq!(port, other.port());
            assert!(log.contains("could not bind"), "{log}");
        }
        other => panic!("expected NotReady, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(30));
    // The other server answered on that port all along: it must not have
    // been taken for ours.
    assert_eq!(psql(&other.url("postgres"), "show fsync"), "off");
    other.stop().unwrap();
}

/// Whether psql gets in at `url` without a password being offered.
fn connects(url: &str) -> bool {
    Command::new("psql")
        .args(["-X", "-w", "-q", "-t", "-A", "-d", url, "-c", "select 1"])
        .env_remove("PGPASSWORD")
        .output()
        .expect("running psql")
        .status
        .success()
}

#[test]
fn a_cluster_with_a_superuser_password_lets_no_one_in_without_it() {
    let scratch = Scratch::new("password");
    let data_dir = scratch.0.join("pgdata");
    let options = || ClusterOptions::persistent(&data_dir).with_superuser_password("s3cret pass");

    // Made with the password: SCRAM from the first start.
    let cluster = Cluster::start(options()).unwrap();
    cluster.create_database_if_missing("crm").unwrap();
    let port = cluster.port();
    assert!(connects(&cluster.url("crm")), "with the password");
    let bare = format!("postgres://postgres@127.0.0.1:{port}/crm");
    assert!(!connects(&bare), "without it");
    assert!(!connects(&format!(
        "postgres://postgres:wrong@127.0.0.1:{port}/crm"
    )));
    assert!(
        !scratch.0.join("pgdata.pwfile").exists(),
        "the password file for initdb is gone"
    );
    cluster.stop().unwrap();

    // A cluster made trusting (an older install) is switched over on its
    // next start with a password.
    let old_dir = scratch.0.join("old");
    let old = Cluster::start(ClusterOptions::persistent(&old_dir)).unwrap();
    old.create_database_if_missing("crm").unwrap();
    let port = old.port();
    assert!(connects(&format!(
        "postgres://postgres@127.0.0.1:{port}/crm"
    )));
    old.stop().unwrap();
    let hardened =
        Cluster::start(ClusterOptions::persistent(&old_dir).with_superuser_password("now one"))
            .unwrap();
    let port = hardened.port();
    assert!(connects(&hardened.url("crm")));
    assert!(!connects(&format!(
        "postgres://postgres@127.0.0.1:{port}/crm"
    )));
    hardened.stop().unwrap();
    // And it stays so, password or not asked for on the next start.
    let again = Cluster::start(ClusterOptions::persistent(&old_dir)).unwrap();
    let port = again.port();
    assert!(!connects(&format!(
        "postgres://postgres@127.0.0.1:{port}/crm"
    )));
    drop(again);
}
