//! The sync server's benchmarks, on the real stack: PostgreSQL (the test
//! harness's), the server on loopback, HTTP clients. Run on demand:
//!
//!     cargo bench -p sync-server --bench sync            # all three
//!     cargo bench -p sync-server --bench sync -- push    # one of push, load, live
//!
//! Sizes can be changed with BENCH_MUTATIONS (default 20000), BENCH_ROWS
//! (1000000) and BENCH_CLIENTS (200). Figures go to stdout.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use chrono::Utc;
use clap::Parser;
use crm_domain::UserRole;
use crm_domain::protocol::{
    Mutation, MutationOp, PROTOCOL_VERSION, PullRequest, PullResponse, PushRequest, PushResponse,
    SyncTable,
};
use crm_testkit::TestDatabase;
use serde_json::json;
use sync_server::app::RunningServer;
use uuid::Uuid;

const PASSWORD: &str = "benchmark passphrase";

struct Bench {
    db: TestDatabase,
    server: RunningServer,
    state: sync_server::AppState,
    http: reqwest::Client,
}

impl Bench {
    async fn start() -> Bench {
        let db = TestDatabase::create(&sync_server::db::MIGRATOR).await;
        let data_dir = std::env::temp_dir().join(format!("crm-bench-{}", Uuid::now_v7()));
        let config = sync_server::config::Config::try_parse_from([
            "sync-server",
            "--database-url",
            db.url(),
            "--jwt-secret",
            "benchmark-secret-that-is-long-enough-for-hs256",
            "--data-dir",
            data_dir.to_str().unwrap(),
            "--max-body-bytes",
            "16777216",
            "--log",
            "warn",
        ])
        .unwrap();
        let started = sync_server::start(config.server).await.unwrap();
        let state = started.state.clone();
        let server = sync_server::app::spawn(started.state, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .build()
            .unwrap();
        Bench {
            db,
            server,
            state,
            http,
        }
    }

    /// POSTs `body` as JSON to `path` with a bearer token.
    async fn post(
        &self,
        path: &str,
        token: &str,
        body: &impl serde::Serialize,
    ) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.server.url()))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    async fn agent(&self, email: &str) -> (Uuid, String) {
        let account = sync_server::accounts::create_account(
            &self.state.pool,
            email,
            PASSWORD,
            None,
            UserRole::Agent,
        )
        .await
        .unwrap();
        let session: serde_json::Value = self
            .http
            .post(format!("{}/auth/login", self.server.url()))
            .json(&json!({ "email": email, "password": PASSWORD }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (
            account.id,
            session["access_token"].as_str().unwrap().to_owned(),
        )
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn customer_insert(seq: i64, id: Uuid, n: usize) -> Mutation {
    let values = json!({ "name": format!("Customer {n}"), "email": format!("c{n}@bench.example"), "acquisition_stage": "lead" });
    Mutation {
        seq,
        table: SyncTable::Customers,
        row_id: id,
        op: MutationOp::Insert {
            values: values.as_object().unwrap().clone().into_iter().collect(),
        },
        edited_at: Utc::now(),
    }
}

/// Accepted mutations per second through the HTTP API (RLS, audit,
/// idempotency, merge bookkeeping), next to a superuser's multi-row INSERT of
/// the same rows into the same table with every trigger on.
async fn push() {
    let total = env_usize("BENCH_MUTATIONS", 20_000);
    let bench = Bench::start().await;
    let (_, token) = bench.agent("pusher@bench.example").await;
    let client_id = Uuid::now_v7();
    let batch = crm_domain::protocol::MAX_MUTATIONS_PER_PUSH;

    let started = Instant::now();
    let mut seq = 0i64;
    while (seq as usize) < total {
        let mutations: Vec<Mutation> = (0..batch.min(total - seq as usize))
            .map(|_| {
                seq += 1;
                customer_insert(seq, Uuid::now_v7(), seq as usize)
            })
            .collect();
        let request = PushRequest {
            protocol_version: PROTOCOL_VERSION,
            client_id,
            mutations,
        };
        let response: PushResponse = bench
            .post("/sync/push", &token, &request)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(response.last_seq, seq);
        assert!(
            response
                .results
                .iter()
                .all(|r| r.outcome == crm_domain::protocol::MutationOutcome::Applied)
        );
    }
    let api = started.elapsed();

    // The same rows, as a superuser's multi-row INSERTs (triggers on).
    let (owner, _) = bench.agent("baseline@bench.example").await;
    let pool = bench.db.pool();
    let started = Instant::now();
    let mut n = 0usize;
    while n < total {
        let size = batch.min(total - n);
        let ids: Vec<Uuid> = (0..size).map(|_| Uuid::now_v7()).collect();
        let names: Vec<String> = (n..n + size).map(|i| format!("Customer {i}")).collect();
        let emails: Vec<String> = (n..n + size)
            .map(|i| format!("c{i}@bench.example"))
            .collect();
        sqlx::query(
            "INSERT INTO customers (id, name, email, acquisition_stage, owner)
             SELECT id, name, email, 'lead', $4 FROM unnest($1::uuid[], $2::text[], $3::text[]) AS t(id, name, email)",
        )
        .bind(&ids)
        .bind(&names)
        .bind(&emails)
        .bind(owner)
        .execute(pool)
        .await
        .unwrap();
        n += size;
    }
    let baseline = started.elapsed();

    let api_rate = total as f64 / api.as_secs_f64();
    let base_rate = total as f64 / baseline.as_secs_f64();
    println!("push: {total} mutations in batches of {batch}");
    println!(
        "  through the API:           {api_rate:>9.0} mutations/s ({:.2} s)",
        api.as_secs_f64()
    );
    println!(
        "  superuser multi-row INSERT: {base_rate:>9.0} rows/s ({:.2} s)",
        baseline.as_secs_f64()
    );
    println!("  ratio:                     {:>9.2}", api_rate / base_rate);
}

/// A fresh client's first load of `BENCH_ROWS` visible rows: rows per
/// second out of the server, received and parsed by the client.
async fn load() {
    let rows = env_usize("BENCH_ROWS", 1_000_000);
    let bench = Bench::start().await;
    let (agent, token) = bench.agent("loader@bench.example").await;
    // Seed without triggers: this is set-up, not what is measured.
    let seeding = Instant::now();
    let mut tx = bench.db.pool().begin().await.unwrap();
    sqlx::query("SET LOCAL session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO customers (id, name, email, phone, acquisition_stage, owner)
         SELECT uuid_generate_v7(), 'Customer ' || n, 'c' || n || '@bench.example', '+1 555 ' || lpad((n % 10000)::text, 4, '0'),
                (enum_range(NULL::acquisition_stage_enum))[1 + n % 6], $2
         FROM generate_series(1, $1) n",
    )
    .bind(i64::try_from(rows).unwrap())
    .bind(agent)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    sqlx::query("ANALYZE customers")
        .execute(bench.db.pool())
        .await
        .unwrap();
    eprintln!(
        "(seeded {rows} customers in {:.1} s)",
        seeding.elapsed().as_secs_f64()
    );

    let client_id = Uuid::now_v7();
    let started = Instant::now();
    let mut cursor = None;
    let mut received = 0usize;
    let mut pages = 0usize;
    loop {
        let request = PullRequest {
            protocol_version: PROTOCOL_VERSION,
            client_id,
            cursor,
            checksums: false,
            refetch: Vec::new(),
        };
        let page: PullResponse = bench
            .post("/sync/pull", &token, &request)
            .await
            .json()
            .await
            .unwrap();
        received += page.changes.len();
        pages += 1;
        cursor = Some(page.cursor);
        if !page.has_more {
            break;
        }
    }
    let elapsed = started.elapsed();
    assert!(received >= rows, "received {received} of {rows}");
    println!("initial sync: {received} rows in {pages} pages");
    println!(
        "  {:.1} s, {:.0} rows/s",
        elapsed.as_secs_f64(),
        received as f64 / elapsed.as_secs_f64()
    );
}

/// Change-to-client propagation with `BENCH_CLIENTS` live streams: from the
/// moment a push is sent until each client's stream says `changes`.
async fn live() {
    let clients = env_usize("BENCH_CLIENTS", 200);
    let rounds = env_usize("BENCH_ROUNDS", 30);
    let bench = Bench::start().await;
    let (_, writer) = bench.agent("writer@bench.example").await;
    let (_, reader) = bench.agent("reader@bench.example").await;

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, Instant)>();
    let mut streams = Vec::new();
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    for c in 0..clients {
        let response = bench
            .http
            .get(format!("{}/sync/events", bench.server.url()))
            .bearer_auth(&reader)
            .send()
            .await
            .unwrap();
        let (tx, ready_tx) = (tx.clone(), ready_tx.clone());
        streams.push(tokio::spawn(async move {
            let mut response = response;
            while let Ok(Some(chunk)) = response.chunk().await {
                let text = String::from_utf8_lossy(&chunk);
                if text.contains("event: ready") {
                    let _ = ready_tx.send(());
                }
                if text.contains("event: changes") {
                    let _ = tx.send((c, Instant::now()));
                }
            }
        }));
    }
    for _ in 0..clients {
        ready_rx.recv().await.unwrap();
    }

    let client_id = Uuid::now_v7();
    let mut latencies = Vec::with_capacity(clients * rounds);
    for round in 1..=rounds {
        while rx.try_recv().is_ok() {}
        let mutation = customer_insert(round as i64, Uuid::now_v7(), round);
        let request = PushRequest {
            protocol_version: PROTOCOL_VERSION,
            client_id,
            mutations: vec![mutation],
        };
        let sent = Instant::now();
        let response = bench.post("/sync/push", &writer, &request).await;
        assert!(response.status().is_success());
        let mut heard = vec![false; clients];
        let mut count = 0;
        while count < clients {
            let (c, at) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
                .await
                .unwrap()
                .unwrap();
            if !heard[c] {
                heard[c] = true;
                count += 1;
                latencies.push(at.saturating_duration_since(sent));
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    latencies.sort();
    println!("live: {clients} clients, {rounds} changes");
    println!(
        "  propagation p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().unwrap().as_secs_f64() * 1e3
    );
    for s in streams {
        s.abort();
    }
}

fn main() {
    let which: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wants = |name: &str| which.is_empty() || which.iter().any(|w| w == name);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        if wants("push") {
            push().await;
        }
        if wants("load") {
            load().await;
        }
        if wants("live") {
            live().await;
        }
    });
}
