//! Nothing is lost when real processes die: two `sync-server` processes on
//! one PostgreSQL of their own, killed with SIGKILL in the middle of the
//! work and started again, and PostgreSQL itself stopped (fast) or killed
//! (SIGKILL of the postmaster: an immediate crash) and started again, while
//! clients push their outboxes as the app does (a batch stays until its
//! answer comes, and is sent again, to either server, until then).
//! Afterwards every insert is in the database exactly once with one INSERT
//! audit row, every update exactly once with one UPDATE audit row, and each
//! row holds its last value.
//!
//! `PROCESS_FAULT_STEPS` (default 60) sets the length; the figures are
//! printed (`-- --nocapture`). The desktop cores' side of the same story
//! (offline work, a proxy that cuts answers) is
//! `desktop-core/tests/faults.rs`.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use crm_domain::UserRole;
use crm_domain::protocol::{
    FieldChange, Mutation, MutationOp, MutationOutcome, PROTOCOL_VERSION, PushRequest,
    PushResponse, SyncTable,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use sync_server::harness::{kill9, postmaster_pid};
use uuid::Uuid;

const SUPERUSER_PASSWORD: &str = "superuser-secret-for-the-test";
const APP_PASSWORD: &str = "app-secret-for-the-test";
const JWT: &str = "test-secret-that-is-long-enough-for-hs256-signing";
const PASSWORD: &str = "a long enough passphrase";

fn start_db(dir: &std::path::Path, port: u16) -> pg_cluster::Cluster {
    sync_server::harness::start_own_cluster(dir, port, SUPERUSER_PASSWORD)
}

/// A server process on `port`.
fn serve(port: u16, app_url: &str, migrate_url: &str, data_dir: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_sync-server"))
        .env_remove("DATABASE_URL")
        .env("CRM_LOG", "error")
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args([
            "--database-url",
            app_url,
            "--migrate-database-url",
            migrate_url,
        ])
        .args(["--jwt-secret", JWT])
        .arg("--data-dir")
        .arg(data_dir)
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

struct Fleet {
    http: reqwest::Client,
    ports: [u16; 2],
    children: [Child; 2],
}

impl Fleet {
    async fn healthy(&self, which: usize) {
        let base = format!("http://127.0.0.1:{}", self.ports[which]);
        sync_server::harness::wait_healthy(&self.http, &base).await;
    }
}

impl Drop for Fleet {
    /// However the test ends, no server outlives it.
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One app's outbox, pushed as the app pushes it.
struct Outbox {
    client_id: Uuid,
    token: String,
    next_seq: i64,
    pending: Vec<Mutation>,
}

impl Outbox {
    fn record(&mut self, table: SyncTable, row_id: Uuid, op: MutationOp) {
        self.pending.push(Mutation {
            seq: self.next_seq,
            table,
            row_id,
            op,
            edited_at: Utc::now(),
        });
        self.next_seq += 1;
    }

    /// One push of the head of the outbox to `port`; `true` when an answer
    /// settled something.
    async fn push(&mut self, http: &reqwest::Client, port: u16) -> bool {
        let batch: Vec<Mutation> = self.pending.iter().take(20).cloned().collect();
        if batch.is_empty() {
            return false;
        }
        let request = PushRequest {
            protocol_version: PROTOCOL_VERSION,
            client_id: self.client_id,
            mutations: batch,
        };
        let Ok(response) = http
            .post(format!("http://127.0.0.1:{port}/sync/push"))
            .bearer_auth(&self.token)
            .json(&request)
            .timeout(Duration::from_secs(20))
            .send()
            .await
        else {
            return false;
        };
        if !response.status().is_success() {
            return false;
        }
        let Ok(answer) = response.json::<PushResponse>().await else {
            return false;
        };
        assert!(!answer.forked, "one outbox never forks");
        for result in &answer.results {
            assert!(
                matches!(result.outcome, MutationOutcome::Applied),
                "{result:?}"
            );
        }
        self.pending.retain(|m| m.seq > answer.last_seq);
        true
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_servers_and_a_crashed_database_lose_nothing_and_apply_nothing_twice() {
    let steps: usize = std::env::var("PROCESS_FAULT_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let work = tempfile::tempdir().unwrap();
    let pg_port = sync_server::harness::free_port();
    let mut db = Some(start_db(&work.path().join("pg"), pg_port));
    db.as_ref()
        .unwrap()
        .create_database_if_missing("crm")
        .unwrap();
    let migrate_url = db.as_ref().unwrap().url("crm");
    let app_url = db
        .as_ref()
        .unwrap()
        .url_as("crm_app", Some(APP_PASSWORD), "crm");

    // Migrate (the first server would too), give crm_app its password,
    // make the accounts.
    sync_server::harness::migrate_with(
        std::path::Path::new(env!("CARGO_BIN_EXE_sync-server")),
        &migrate_url,
        work.path(),
        APP_PASSWORD,
    )
    .await;
    let admin = sqlx::PgPool::connect(&migrate_url).await.unwrap();
    let emails = ["ana@field.test", "ben@field.test"];
    for email in emails {
        sync_server::accounts::create_account(&admin, email, PASSWORD, None, UserRole::Agent)
            .await
            .unwrap();
    }
    admin.close().await;

    let http = reqwest::Client::new();
    let ports = [
        sync_server::harness::free_port(),
        sync_server::harness::free_port(),
    ];
    let dirs = [work.path().join("s0"), work.path().join("s1")];
    let mut fleet = Fleet {
        http: http.clone(),
        children: [
            serve(ports[0], &app_url, &migrate_url, &dirs[0]),
            serve(ports[1], &app_url, &migrate_url, &dirs[1]),
        ],
        ports,
    };
    fleet.healthy(0).await;
    fleet.healthy(1).await;

    let mut outboxes = Vec::new();
    for email in emails {
        let session: Value = http
            .post(format!("http://127.0.0.1:{}/auth/login", ports[0]))
            .json(&json!({ "email": email, "password": PASSWORD }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        outboxes.push(Outbox {
            client_id: Uuid::now_v7(),
            token: session["access_token"].as_str().unwrap().to_owned(),
            next_seq: 1,
            pending: Vec::new(),
        });
    }

    let mut rng = StdRng::seed_from_u64(11);
    // Per row: its last name, and how many updates it was sent.
    let mut rows: BTreeMap<Uuid, (String, usize)> = BTreeMap::new();
    let mut owner: BTreeMap<Uuid, usize> = BTreeMap::new();
    let (mut server_kills, mut db_stops, mut db_kills, mut pushes) = (0, 0, 0, 0);
    for step in 0..steps {
        // Both apps record some work.
        for (who, outbox) in outboxes.iter_mut().enumerate() {
            for _ in 0..rng.random_range(1..6) {
                let mine: Vec<Uuid> = owner
                    .iter()
                    .filter(|(_, o)| **o == who)
                    .map(|(id, _)| *id)
                    .collect();
                if mine.is_empty() || rng.random_bool(0.6) {
                    let id = Uuid::now_v7();
                    let name = format!("{who}-{step}-new");
                    outbox.record(
                        SyncTable::Customers,
                        id,
                        MutationOp::Insert {
                            values: BTreeMap::from([("name".into(), Value::from(name.clone()))]),
                        },
                    );
                    rows.insert(id, (name, 0));
                    owner.insert(id, who);
                } else {
                    let id = mine[rng.random_range(0..mine.len())];
                    let (last, updates) = rows.get_mut(&id).unwrap();
                    let name = format!("{who}-{step}-{}", *updates + 1);
                    outbox.record(
                        SyncTable::Customers,
                        id,
                        MutationOp::Update {
                            changes: BTreeMap::from([(
                                "name".into(),
                                FieldChange {
                                    base: Value::from(last.clone()),
                                    value: Value::from(name.clone()),
                                },
                            )]),
                        },
                    );
                    *last = name;
                    *updates += 1;
                }
            }
        }
        // They push, to either server, while something dies.
        // Every kind of fault at least once, whatever the dice say.
        let dice = rng.random_range(0..100);
        let fault = match step {
            3 => 0,
            10 => 25,
            20 => 31,
            _ => dice,
        };
        let targets: Vec<u16> = outboxes
            .iter()
            .map(|_| ports[rng.random_range(0..2)])
            .collect();
        let delay = Duration::from_millis(rng.random_range(0..30));
        pushes += outboxes.len();
        let pushing = async {
            for (outbox, port) in outboxes.iter_mut().zip(&targets) {
                outbox.push(&http, *port).await;
            }
        };
        match fault {
            0..25 => {
                // A server is killed while the pushes are in flight.
                let which = step % 2;
                let pid = fleet.children[which].id();
                let killing = async {
                    tokio::time::sleep(delay).await;
                    kill9(pid);
                };
                tokio::join!(pushing, killing);
                let _ = fleet.children[which].wait();
                fleet.children[which] = serve(ports[which], &app_url, &migrate_url, &dirs[which]);
                fleet.healthy(which).await;
                server_kills += 1;
            }
            25..31 => {
                // PostgreSQL stops (fast shutdown) and starts again.
                pushing.await;
                db.take().unwrap().stop().unwrap();
                db = Some(start_db(&work.path().join("pg"), pg_port));
                db_stops += 1;
            }
            31..40 => {
                // PostgreSQL crashes: its postmaster killed mid-work.
                let pid = postmaster_pid(&work.path().join("pg"));
                let killing = async {
                    tokio::time::sleep(delay).await;
                    kill9(pid);
                };
                tokio::join!(pushing, killing);
                drop(db.take());
                db = Some(start_db(&work.path().join("pg"), pg_port));
                db_kills += 1;
            }
            _ => pushing.await,
        }
    }

    // Settle: push until every outbox is empty.
    let deadline = Instant::now() + Duration::from_secs(120);
    while outboxes.iter().any(|o| !o.pending.is_empty()) {
        assert!(Instant::now() < deadline, "the outboxes never emptied");
        for outbox in outboxes.iter_mut() {
            if !outbox.push(&http, ports[0]).await {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }

    let pool = sqlx::PgPool::connect(&migrate_url).await.unwrap();
    let (mut lost, mut twice) = (0, 0);
    for (id, (name, updates)) in &rows {
        let stored: Option<String> = sqlx::query_scalar("SELECT name FROM customers WHERE id = $1")
            .bind(id)
            .fetch_optional(&pool)
            .await
            .unwrap();
        let audits: Vec<(String, i64)> = sqlx::query_as(
            "SELECT action, count(*) FROM audit_history WHERE record_id = $1 GROUP BY action ORDER BY action",
        )
        .bind(id)
        .fetch_all(&pool)
        .await
        .unwrap();
        let expected: Vec<(String, i64)> = if *updates == 0 {
            vec![("INSERT".into(), 1)]
        } else {
            vec![("INSERT".into(), 1), ("UPDATE".into(), *updates as i64)]
        };
        if stored.as_ref() != Some(name) {
            lost += 1;
            eprintln!("{id}: {stored:?}, expected {name}");
        }
        if audits != expected {
            twice += 1;
            eprintln!("{id}: audit {audits:?}, expected {expected:?}");
        }
    }
    let total_updates: usize = rows.values().map(|(_, u)| u).sum();
    println!(
        "process faults: {steps} steps, {} inserts, {total_updates} updates, {pushes} pushes; \
         {server_kills} servers killed (SIGKILL), {db_stops} PostgreSQL fast stops, \
         {db_kills} PostgreSQL crashes (SIGKILL); lost {lost}, applied twice {twice}",
        rows.len()
    );
    assert_eq!((lost, twice), (0, 0));
    assert!(server_kills > 0 && db_stops > 0 && db_kills > 0);
    pool.close().await;
}
