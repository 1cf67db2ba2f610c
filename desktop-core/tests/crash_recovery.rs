//! Killing the app mid-sync (SIGKILL, no goodbye) loses nothing, duplicates
//! nothing and never leaves half a page: the client is the real `crm-sync`
//! binary, killed while it loads and while it pushes, then started again.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::Stdio;
use std::time::Duration;

use crm_desktop_core::Store;
use crm_desktop_core::session::Session;
use support::{Backend, Client, Team, new_customer};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

fn crm_sync(data_dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_crm-sync"));
    // Where no keyring answers, the replica is kept with a passphrase.
    command.env(
        "CRM_REPLICA_PASSPHRASE",
        crm_desktop_core::fixtures::TEST_PASSPHRASE,
    );
    command
        .arg("--data-dir")
        .arg(data_dir)
        .args(["sync", "--once"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    command
}

async fn run_to_completion(data_dir: &std::path::Path) {
    let output = tokio::time::timeout(Duration::from_secs(120), crm_sync(data_dir).output())
        .await
        .expect("crm-sync finished")
        .unwrap();
    assert!(output.status.success(), "{output:?}");
}

fn open_replica(data_dir: &std::path::Path) -> Store {
    let session = Session::resume(data_dir).unwrap().unwrap();
    session
        .open_replica(Some(crm_desktop_core::fixtures::TEST_PASSPHRASE))
        .unwrap()
}

async fn kill(mut child: Child) {
    child.start_kill().unwrap();
    child.wait().await.unwrap();
}

#[tokio::test]
async fn killed_during_the_first_load_it_keeps_whole_pages_and_resumes() {
    let backend = Backend::start().await;
    let team = Team::create(&backend).await;
    // Rows the admin sees; written without triggers, as a restore would.
    let mut tx = backend.pool().begin().await.unwrap();
    sqlx::query("SET LOCAL session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO customers (name, owner) SELECT 'Customer ' || g, $1 FROM generate_series(1, 40000) g",
    )
    .bind(team.ben)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    drop(Client::sign_in_at(&backend, "ada@example.com", dir.path().to_path_buf()).await);

    let mut child = crm_sync(dir.path()).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    loop {
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .unwrap()
            .unwrap()
            .expect("the load reported progress before finishing");
        let status: serde_json::Value = serde_json::from_str(&line).unwrap();
        if status["progress"]["done"].as_u64().unwrap_or(0) >= 10_000 {
            break;
        }
    }
    kill(child).await;

    let store = open_replica(dir.path());
    let progress = store.load_progress().unwrap().expect("some pages landed");
    assert!(
        progress.done < progress.total,
        "killed mid-load: {progress:?}"
    );
    assert_eq!(
        store.row_count().unwrap(),
        progress.done,
        "exactly the rows of the pages committed: no half page"
    );
    drop(store);

    run_to_completion(dir.path()).await;
    let store = open_replica(dir.path());
    let customers: i64 = store
        .list_customers(&crm_desktop_core::store::customers::CustomerFilter {
            limit: Some(1000),
            offset: Some(39_999),
            ..Default::default()
        })
        .unwrap()
        .len() as i64;
    assert_eq!(customers, 1, "all 40,000 customers, none twice");
    assert!(store.has_loaded().unwrap());
}

#[tokio::test]
async fn killed_during_a_push_it_loses_and_duplicates_nothing() {
    const CHANGES: usize = 3000;
    let backend = Backend::start().await;
    let team = Team::create(&backend).await;
    let dir = tempfile::tempdir().unwrap();
    let client_id = {
        let ben = Client::sign_in_at(&backend, "ben@example.com", dir.path().to_path_buf()).await;
        ben.with(|s| {
            for i in 0..CHANGES {
                s.create_customer(new_customer(&format!("Offline customer {i}")))
                    .unwrap();
            }
            s.client_id().unwrap()
        })
    };

    let child = crm_sync(dir.path()).spawn().unwrap();
    let settled = async {
        loop {
            let last: Option<i64> =
                sqlx::query_scalar("SELECT last_seq FROM sync.clients WHERE client_id = $1")
                    .bind(client_id)
                    .fetch_optional(backend.pool())
                    .await
                    .unwrap();
            if let Some(last) = last.filter(|n| *n > 0) {
                return last;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    let at_kill = tokio::time::timeout(Duration::from_secs(60), settled)
        .await
        .unwrap();
    kill(child).await;
    assert!(
        (at_kill as usize) < CHANGES,
        "killed mid-push (server had {at_kill})"
    );
    let store = open_replica(dir.path());
    assert!(
        store.pending_count().unwrap() > 0,
        "the rest is still queued"
    );
    drop(store);

    run_to_completion(dir.path()).await;
    let (rows, audits): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM customers WHERE owner = $1),
                (SELECT count(*) FROM audit_history WHERE client_id = $2 AND action = 'INSERT')",
    )
    .bind(team.ben)
    .bind(client_id)
    .fetch_one(backend.pool())
    .await
    .unwrap();
    assert_eq!(rows as usize, CHANGES, "every change landed once");
    assert_eq!(audits as usize, CHANGES, "with one audit row each");
    let store = open_replica(dir.path());
    assert_eq!(store.pending_count().unwrap(), 0);
    assert!(store.inbox().unwrap().is_empty());
}
