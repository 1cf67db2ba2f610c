//! The integration API through the real server process, on demand:
//!
//!     cargo bench -p sync-server --bench api            # all three
//!     cargo bench -p sync-server --bench api -- list    # or create, webhooks
//!
//! 1. `list`: pages of 100 customers through `/api/v1/customers` (token,
//!    rate limit, RLS, keyset page), next to the same query run directly
//!    in PostgreSQL as the same user (role `authenticated`, the user's
//!    claims, the same rows), in one run, each with 8 clients at once:
//!    the API's rate as a share of the direct one.
//! 2. `create`: customers created through the API, each with its own
//!    `Idempotency-Key`, with 32, 64 and 128 requests in flight (a token's
//!    creates are written in groups; see `api::group`), each level its
//!    own run: the rate and the latency.
//! 3. `webhooks`: 10,000 customers inserted in transactions of 100, each
//!    a `customer.created` event for a receiver on loopback; the time from
//!    each transaction's commit to its events' arrival.
//!
//! The server is the `sync-server` binary in a process of its own, on the
//! test harness's PostgreSQL. BENCH_PAGES (2000), BENCH_CREATES (10000),
//! BENCH_EVENTS (10000) change the sizes; BENCH_CLIENTS (`32,64,128`) the
//! create levels.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crm_domain::UserRole;
use crm_testkit::TestDatabase;
use futures_util::StreamExt;
use serde_json::{Value, json};
use sync_server::data::{Claims, acting};
use sync_server::harness;

const PASSWORD: &str = "benchmark passphrase";

fn size(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let run = |name: &str| only.is_empty() || only.iter().any(|o| o == name);

    let db = TestDatabase::create(&sync_server::db::MIGRATOR).await;
    let ben = sync_server::accounts::create_account(
        db.pool(),
        "bench@example.com",
        PASSWORD,
        Some("Bench"),
        UserRole::Agent,
    )
    .await
    .unwrap()
    .id;
    let app_url = harness::as_app_role(db.url()).unwrap_or_else(|| db.url().to_owned());
    let work = tempfile::tempdir().unwrap();
    let server = harness::ServerProcess::start(
        env!("CARGO_BIN_EXE_sync-server"),
        &db,
        &work.path().join("server"),
        harness::free_port(),
        &[
            "--api-requests-per-minute",
            "100000000",
            "--api-burst",
            "1000000",
            "--api-max-concurrent",
            "16",
            "--webhook-allow-private-targets",
        ],
    )
    .await;
    let base = server.base.clone();
    let http = reqwest::Client::new();
    let session: Value = http
        .post(format!("{base}/auth/login"))
        .json(&json!({ "email": "bench@example.com", "password": PASSWORD }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwt = session["access_token"].as_str().unwrap().to_owned();
    let made: Value = http
        .post(format!("{base}/integration-tokens"))
        .bearer_auth(&jwt)
        .json(&json!({ "name": "bench", "permissions": ["customers:read", "customers:write"] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = made["secret"].as_str().unwrap().to_owned();

    // 5,000 customers of the user, and as many of someone else's.
    sqlx::query(
        "INSERT INTO customers (name, owner, acquisition_stage)
         SELECT 'Customer ' || g, CASE WHEN g % 2 = 0 THEN $1 ELSE NULL END, 'lead'
         FROM generate_series(1, 10000) g",
    )
    .bind(ben)
    .execute(db.pool())
    .await
    .unwrap();
    // As a database in service would be: its statistics known, so that
    // autovacuum's first pass does not land in the middle of a run.
    sqlx::query("VACUUM ANALYZE")
        .execute(db.pool())
        .await
        .unwrap();

    if run("list") {
        let pages = size("BENCH_PAGES", 2000);
        let clients = 8;
        // Through the API: the first page, over and over.
        let started = Instant::now();
        futures_util::stream::iter(0..pages)
            .for_each_concurrent(clients, |_| {
                let (http, base, secret) = (&http, &base, &secret);
                async move {
                    let page: Value = http
                        .get(format!("{base}/api/v1/customers?limit=100"))
                        .bearer_auth(secret)
                        .send()
                        .await
                        .unwrap()
                        .json()
                        .await
                        .unwrap();
                    assert_eq!(page["data"].as_array().map(Vec::len), Some(100));
                }
            })
            .await;
        let api = pages as f64 / started.elapsed().as_secs_f64();
        // Directly, as the same user, the same rows.
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(clients as u32)
            .connect(&app_url)
            .await
            .unwrap();
        let claims = Claims::user(ben);
        let started = Instant::now();
        futures_util::stream::iter(0..pages)
            .for_each_concurrent(clients, |_| {
                let (pool, claims) = (&pool, &claims);
                async move {
                    let mut tx = acting::begin_as(pool, claims).await.unwrap();
                    let rows: Vec<(Value,)> = sqlx::query_as(
                        "SELECT to_jsonb(t) FROM (SELECT * FROM public.customers
                           ORDER BY created_at, id LIMIT 100) t ORDER BY created_at, id",
                    )
                    .fetch_all(&mut *tx)
                    .await
                    .unwrap();
                    tx.commit().await.unwrap();
                    assert_eq!(rows.len(), 100);
                }
            })
            .await;
        let direct = pages as f64 / started.elapsed().as_secs_f64();
        println!(
            "list: {pages} pages of 100, {clients} clients: API {api:.0} pages/s, direct {direct:.0} pages/s, ratio {:.2} (aim >= 0.5)",
            api / direct
        );
    }

    if run("create") {
        let creates = size("BENCH_CREATES", 10_000);
        // Creates of one token are written in groups, one transaction a
        // group, and a group holds what arrived while the previous one was
        // written: about half the requests in flight. So the rate depends
        // on how many requests an integration keeps in flight, and the run
        // says it for several (BENCH_CLIENTS: a comma-separated list).
        let levels: Vec<usize> = std::env::var("BENCH_CLIENTS")
            .ok()
            .map(|v| v.split(',').filter_map(|c| c.trim().parse().ok()).collect())
            .filter(|l: &Vec<usize>| !l.is_empty())
            .unwrap_or_else(|| vec![32, 64, 128]);
        for (level, clients) in levels.into_iter().enumerate() {
            let started = Instant::now();
            // BENCH_VERBOSE: the rate every two seconds, to see a run settle.
            let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let ticker = std::env::var("BENCH_VERBOSE").is_ok().then(|| {
                let done = done.clone();
                tokio::spawn(async move {
                    let mut last = 0;
                    loop {
                        tokio::time::sleep(Duration::from_secs(2)).await;
                        let now = done.load(std::sync::atomic::Ordering::Relaxed);
                        eprintln!("  {:.0}/s", (now - last) as f64 / 2.0);
                        last = now;
                    }
                })
            });
            let latencies = Arc::new(Mutex::new(Vec::with_capacity(creates)));
            futures_util::stream::iter(0..creates)
                .for_each_concurrent(clients, |i| {
                    let (http, base, secret, done, latencies) =
                        (&http, &base, &secret, &done, &latencies);
                    async move {
                        let sent = Instant::now();
                        let mut request = http
                            .post(format!("{base}/api/v1/customers"))
                            .bearer_auth(secret);
                        if std::env::var("BENCH_NO_KEY").is_err() {
                            request =
                                request.header("Idempotency-Key", format!("bench-{level}-{i}"));
                        }
                        let response = request
                            .json(&json!({ "name": format!("Made {level}-{i}") }))
                            .send()
                            .await
                            .unwrap();
                        assert_eq!(response.status(), 201);
                        latencies.lock().unwrap().push(sent.elapsed());
                        done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                })
                .await;
            let took = started.elapsed();
            if let Some(ticker) = ticker {
                ticker.abort();
            }
            let mut latencies = latencies.lock().unwrap().clone();
            latencies.sort();
            println!(
                "create: {creates} customers with Idempotency-Key, {clients} requests in flight: {:.0}/s, latency p50 {:.1} ms, p99 {:.1} ms (aim >= 2,000/s)",
                creates as f64 / took.as_secs_f64(),
                percentile(&latencies, 0.5).as_secs_f64() * 1000.0,
                percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
            );
        }
    }

    if run("webhooks") {
        let events = size("BENCH_EVENTS", 10_000);
        let batch = 100;
        // The receiver notes when each customer's event arrives.
        let arrived: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
        let noted = arrived.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |body: axum::body::Bytes| {
                let noted = noted.clone();
                async move {
                    let at = Instant::now();
                    let event: Value = serde_json::from_slice(&body).unwrap_or_default();
                    if let Some(name) = event["data"]["name"].as_str() {
                        noted.lock().unwrap().insert(name.to_owned(), at);
                    }
                    axum::http::StatusCode::NO_CONTENT
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let hook = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let sub = http
            .post(format!("{base}/webhooks"))
            .bearer_auth(&jwt)
            .json(&json!({ "url": hook, "event_types": ["customer.created"] }))
            .send()
            .await
            .unwrap();
        assert_eq!(sub.status(), 201);
        // Transactions of 100 customers, as the user (RLS, audit, the
        // webhook trigger), paced at about 2,000 events per second.
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(2)
            .connect(&app_url)
            .await
            .unwrap();
        let claims = Claims::user(ben);
        let mut committed: Vec<(usize, Instant)> = Vec::new();
        let started = Instant::now();
        for b in 0..events / batch {
            let mut tx = acting::begin_as(&pool, &claims).await.unwrap();
            sqlx::query(
                "INSERT INTO customers (name) SELECT 'Hook ' || g FROM generate_series($1::int, $2::int) g",
            )
            .bind((b * batch) as i32)
            .bind((b * batch + batch - 1) as i32)
            .execute(&mut *tx)
            .await
            .unwrap();
            tx.commit().await.unwrap();
            committed.push((b, Instant::now()));
            let due = started + Duration::from_millis((b as u64 + 1) * 50);
            tokio::time::sleep_until(due.into()).await;
        }
        let deadline = Instant::now() + Duration::from_secs(120);
        while arrived.lock().unwrap().len() < events && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let arrived = arrived.lock().unwrap();
        let mut latencies: Vec<Duration> = Vec::new();
        for (b, at) in &committed {
            for i in b * batch..b * batch + batch {
                if let Some(came) = arrived.get(&format!("Hook {i}")) {
                    latencies.push(came.saturating_duration_since(*at));
                }
            }
        }
        latencies.sort();
        println!(
            "webhooks: {} of {events} events delivered; commit to delivery p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (aim p99 < 1 s)",
            latencies.len(),
            percentile(&latencies, 0.5).as_secs_f64() * 1000.0,
            percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
            latencies.last().copied().unwrap_or_default().as_secs_f64() * 1000.0
        );
    }
}
