//! The desktop core's benchmarks, on the real stack (PostgreSQL from the
//! test harness, the sync server on loopback, real SQLite files). On demand:
//!
//!     cargo bench -p crm-desktop-core --bench replica            # all four
//!     cargo bench -p crm-desktop-core --bench replica -- load    # one of load, search, open, files
//!
//! BENCH_ROWS (default 1000000) sizes the initial sync, BENCH_CUSTOMERS
//! (100000) the search and open replicas, BENCH_FILE_MIB (50) the file
//! taken into the attachment cache. Figures go to stdout.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use crm_desktop_core::session::Session;
use crm_desktop_core::store::customers::CustomerFilter;
use crm_desktop_core::sync::{self, EngineOptions, SyncState};
use crm_desktop_core::vault::ReplicaKey;
use crm_desktop_core::{Store, fixtures};
use crm_domain::UserRole;
use crm_testkit::TestDatabase;
use rand::Rng;
use rand::seq::IndexedRandom;

const PASSWORD: &str = "benchmark passphrase";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Initial sync of BENCH_ROWS customers from a real server into an empty
/// replica, next to a plain batched insert of the same rows into an empty
/// replica of the same schema.
async fn load() {
    let rows = env_usize("BENCH_ROWS", 1_000_000);
    let db = TestDatabase::create(&sync_server::db::MIGRATOR).await;
    let server_dir = tempfile::tempdir().unwrap();
    let config = sync_server::config::Config::try_parse_from([
        "sync-server",
        "--database-url",
        db.url(),
        "--data-dir",
        server_dir.path().to_str().unwrap(),
    ])
    .unwrap();
    let started = sync_server::start(config.server).await.unwrap();
    let pool = started.state.pool.clone();
    let server = sync_server::app::spawn(started.state, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let agent = sync_server::accounts::create_account(
        &pool,
        "loader@bench.example",
        PASSWORD,
        Some("Loader"),
        UserRole::Agent,
    )
    .await
    .unwrap()
    .id;
    let seeding = Instant::now();
    let mut tx = pool.begin().await.unwrap();
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
        .execute(&pool)
        .await
        .unwrap();
    eprintln!(
        "(seeded {rows} customers in {:.1} s)",
        seeding.elapsed().as_secs_f64()
    );

    let url = format!("http://{}", server.addr);
    // Side by side in one run: the app's encrypted replica (a raw key, as
    // from the keyring) and the same sync into an unencrypted one.
    let dir = tempfile::tempdir().unwrap();
    let (synced, _, held) = sync_into(&url, dir.path(), &ReplicaKey::generate(), rows).await;
    let plain_dir = tempfile::tempdir().unwrap();
    let (plain_synced, path, _) =
        sync_into(&url, plain_dir.path(), &ReplicaKey::Unencrypted, rows).await;

    // The same rows, inserted plainly in batches into an empty replica.
    let plain_path = dir.path().join("plain.sqlite3");
    drop(Store::open(&plain_path, &ReplicaKey::Unencrypted).unwrap());
    let source = rusqlite::Connection::open(&path).unwrap();
    let mut read = source
        .prepare("SELECT id, name, email, phone, product_id, status, acquisition_stage, owner, is_archived, created_at, updated_at FROM customers")
        .unwrap();
    let all: Vec<[rusqlite::types::Value; 11]> = read
        .query_map([], |r| {
            Ok(std::array::from_fn(|i| {
                r.get::<_, rusqlite::types::Value>(i).unwrap()
            }))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut plain = rusqlite::Connection::open(&plain_path).unwrap();
    plain.pragma_update(None, "journal_mode", "WAL").unwrap();
    plain.pragma_update(None, "synchronous", "FULL").unwrap();
    // The same work minus network and JSON: rows in batches, then one
    // search index build, the replica's own, as it does on a first load.
    plain
        .execute(
            "INSERT INTO sync_state (key, value) VALUES ('search_paused', '1')",
            [],
        )
        .unwrap();
    let started = Instant::now();
    for batch in all.chunks(5000) {
        let tx = plain.transaction().unwrap();
        {
            let mut insert = tx
                .prepare_cached("INSERT INTO customers (id, name, email, phone, product_id, status, acquisition_stage, owner, is_archived, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)")
                .unwrap();
            for row in batch {
                insert
                    .execute(rusqlite::params_from_iter(row.iter()))
                    .unwrap();
            }
        }
        tx.commit().unwrap();
    }
    let rows_in = started.elapsed();
    let tx = plain.transaction().unwrap();
    fixtures::rebuild_search(&tx);
    tx.commit().unwrap();
    let inserted = started.elapsed();
    eprintln!(
        "(plain insert: rows {:.1} s, search index {:.1} s)",
        rows_in.as_secs_f64(),
        (inserted - rows_in).as_secs_f64()
    );

    let sync_rate = held as f64 / synced.as_secs_f64();
    let unencrypted_rate = held as f64 / plain_synced.as_secs_f64();
    let plain_rate = all.len() as f64 / inserted.as_secs_f64();
    println!("initial sync into an empty replica: {held} rows");
    println!(
        "  from the server, encrypted replica (the app's): {:.1} s, {sync_rate:.0} rows/s",
        synced.as_secs_f64()
    );
    println!(
        "  from the server, unencrypted replica (same run): {:.1} s, {unencrypted_rate:.0} rows/s (encryption costs {:+.0}%)",
        plain_synced.as_secs_f64(),
        (synced.as_secs_f64() / plain_synced.as_secs_f64() - 1.0) * 100.0
    );
    println!(
        "  plain batched insert of the same rows, unencrypted (and one search index build): {:.1} s, {plain_rate:.0} rows/s",
        inserted.as_secs_f64()
    );
    println!(
        "  ratio (encrypted sync to plain insert): {:.2}",
        sync_rate / plain_rate
    );
    server.stop().await.unwrap();
}

/// Signs in with a data directory of its own and syncs everything into a
/// replica opened with `key`: how long it took, the replica, its rows.
async fn sync_into(
    url: &str,
    data_dir: &Path,
    key: &ReplicaKey,
    rows: usize,
) -> (Duration, std::path::PathBuf, usize) {
    let session = Session::sign_in(data_dir, url, "loader@bench.example", PASSWORD)
        .await
        .unwrap();
    let path = session.replica_path();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let store = Store::open(&path, key).unwrap();
    store
        .set_user(session.user().id, session.user().role)
        .unwrap();
    let store = Arc::new(Mutex::new(store));
    let started = Instant::now();
    let engine = sync::start(
        store.clone(),
        Arc::new(session),
        EngineOptions {
            live: false,
            ..EngineOptions::default()
        },
    );
    let mut status = engine.status();
    while !(status.borrow().state == SyncState::Idle && status.borrow().rounds >= 1) {
        status.changed().await.unwrap();
    }
    let synced = started.elapsed();
    engine.stop().await;
    let held = store.lock().unwrap().row_count().unwrap() as usize;
    assert!(held >= rows, "replica holds {held} of {rows}");
    (synced, path, held)
}

/// Search latency over BENCH_CUSTOMERS customers: prefixes of names,
/// trades, emails and phone numbers, as an agent types them.
fn search() {
    let n = env_usize("BENCH_CUSTOMERS", 100_000);
    // The same queries over an encrypted replica (the app's) and an
    // unencrypted one, in one run.
    let queries = search_queries();
    search_in(
        "encrypted (the app's)",
        n,
        &ReplicaKey::generate(),
        &queries,
    );
    search_in(
        "unencrypted (same run)",
        n,
        &ReplicaKey::Unencrypted,
        &queries,
    );
}

fn search_queries() -> Vec<String> {
    let mut rng = rand::rng();
    let mut queries = Vec::new();
    for _ in 0..2000 {
        let word = match rng.random_range(0..4) {
            0 => fixtures::LAST.choose(&mut rng).unwrap().to_string(),
            1 => fixtures::TRADE.choose(&mut rng).unwrap().to_string(),
            2 => fixtures::FIRST.choose(&mut rng).unwrap().to_lowercase(),
            _ => format!("{:04}", rng.random_range(0..10000)),
        };
        let len = rng.random_range(2..=word.len().min(6));
        queries.push(word[..len].to_string());
    }
    queries
}

fn search_in(what: &str, n: usize, key: &ReplicaKey, queries: &[String]) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("replica.sqlite3");
    fixtures::replica_with_customers(&path, n, key);
    let store = Store::open(&path, key).unwrap();
    for q in queries.iter().take(50) {
        store.search(q, 20).unwrap(); // warm the page cache
    }
    let mut global = Vec::new();
    let mut list = Vec::new();
    for q in queries {
        let t = Instant::now();
        let hits = store.search(q, 20).unwrap();
        global.push(t.elapsed());
        std::hint::black_box(hits);
        let t = Instant::now();
        let page = store
            .list_customers(&CustomerFilter {
                search: Some(q.clone()),
                limit: Some(50),
                ..CustomerFilter::default()
            })
            .unwrap();
        list.push(t.elapsed());
        std::hint::black_box(page);
    }
    global.sort();
    list.sort();
    println!(
        "search over {n} customers, {what}, {} queries of 2-6 characters:",
        queries.len()
    );
    println!(
        "  search (customers, tickets, comments; top 20): p50 {:.2} ms, p99 {:.2} ms",
        ms(percentile(&global, 0.5)),
        ms(percentile(&global, 0.99))
    );
    println!(
        "  customer list with search (first 50): p50 {:.2} ms, p99 {:.2} ms",
        ms(percentile(&list, 0.5)),
        ms(percentile(&list, 0.99))
    );
}

/// Opening a BENCH_CUSTOMERS replica and reading the first screen's data,
/// in a fresh process so its memory is the app's alone.
fn open() {
    let n = env_usize("BENCH_CUSTOMERS", 100_000);
    for (what, key) in [
        (
            "encrypted (the app's, a raw key as from the keyring)",
            ReplicaKey::generate(),
        ),
        ("unencrypted (same run)", ReplicaKey::Unencrypted),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("replica.sqlite3");
        fixtures::replica_with_customers(&path, n, &key);
        let key_text = match &key {
            ReplicaKey::Raw(bytes) => bytes.iter().map(|b| format!("{b:02x}")).collect(),
            _ => String::new(),
        };
        let output = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["open-child", path.to_str().unwrap(), &key_text])
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        println!("open a {n}-customer replica, {what}, and read the first screen:");
        print!("{}", String::from_utf8_lossy(&output.stdout));
    }
}

fn open_child(path: &str, key_hex: &str) {
    let key = if key_hex.is_empty() {
        ReplicaKey::Unencrypted
    } else {
        let mut bytes = [0u8; 32];
        for (byte, pair) in bytes.iter_mut().zip(key_hex.as_bytes().chunks_exact(2)) {
            *byte = u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap();
        }
        ReplicaKey::Raw(bytes)
    };
    let started = Instant::now();
    let store = Store::open(Path::new(path), &key).unwrap();
    let customers = store
        .list_customers(&CustomerFilter {
            limit: Some(50),
            ..CustomerFilter::default()
        })
        .unwrap();
    let dashboard = store.dashboard().unwrap();
    let tickets = store.my_tickets(false).unwrap();
    let status = (store.pending_count().unwrap(), store.inbox().unwrap().len());
    let elapsed = started.elapsed();
    std::hint::black_box((customers, dashboard, tickets, status));
    let proc_status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        proc_status
            .lines()
            .find(|l| l.starts_with(name))
            .map(|l| l.split_whitespace().nth(1).unwrap_or("?").to_string())
            .unwrap_or_else(|| "?".into())
    };
    println!(
        "  {:.0} ms (list of 50, dashboard, my tickets, outbox and inbox counts)",
        ms(elapsed)
    );
    println!(
        "  resident memory: {} kB now, {} kB at peak",
        field("VmRSS:"),
        field("VmHWM:")
    );
}

/// The attachment cache sealed at rest: a BENCH_FILE_MIB file taken in
/// (checked, hashed, sealed, synced) and read back (unsealed, hash
/// checked), next to a plain synced copy and a plain read of the same
/// file, in one run; and the sealing alone, in memory, for where the
/// difference goes. Three rounds; the source is in the OS's cache.
fn files() {
    use std::io::{Read, Write};
    let mib = env_usize("BENCH_FILE_MIB", 50);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("replica.sqlite3"), &ReplicaKey::generate()).unwrap();
    let cache = store.files().clone();
    let source = dir.path().join("source.pdf");
    let mut bytes = b"%PDF-1.7\n".to_vec();
    let mut rng = rand::rng();
    bytes.extend((bytes.len()..mib * 1024 * 1024).map(|_| b'a' + rng.random_range(0..26u8)));
    std::fs::write(&source, &bytes).unwrap();
    let rate = |took: Duration| mib as f64 / took.as_secs_f64();
    println!("the attachment cache, a {mib} MiB file (MiB/s, three rounds):");
    for round in 1..=3 {
        let started = Instant::now();
        let plain = dir.path().join(format!("plain-{round}"));
        std::fs::copy(&source, &plain).unwrap();
        std::fs::File::open(&plain).unwrap().sync_all().unwrap();
        let copy = started.elapsed();

        let started = Instant::now();
        let staged = cache
            .stage(&mut std::fs::File::open(&source).unwrap())
            .unwrap();
        let stage = started.elapsed();

        let started = Instant::now();
        let mut back = Vec::with_capacity(bytes.len());
        std::fs::File::open(&plain)
            .unwrap()
            .read_to_end(&mut back)
            .unwrap();
        let plain_read = started.elapsed();

        let started = Instant::now();
        let unsealed = cache.read(&staged.sha256).unwrap();
        let sealed_read = started.elapsed();
        assert_eq!(unsealed.len(), bytes.len());

        let started = Instant::now();
        let mut writer = crm_desktop_core::sealed::SealWriter::new(
            &crm_desktop_core::sealed::FileKey::generate(),
            std::io::sink(),
        )
        .unwrap();
        writer.write_all(&bytes).unwrap();
        writer.finish().unwrap();
        let seal_only = started.elapsed();

        let started = Instant::now();
        std::hint::black_box(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
        let hash_only = started.elapsed();

        println!(
            "  round {round}: take in {:.0} (plain synced copy {:.0}); read back {:.0} (plain read {:.0}); in memory: sealing {:.0}, SHA-256 {:.0}",
            rate(stage),
            rate(copy),
            rate(sealed_read),
            rate(plain_read),
            rate(seal_only),
            rate(hash_only)
        );
        std::fs::remove_file(cache.path_of(&staged.sha256)).unwrap();
        std::fs::remove_file(&plain).unwrap();
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if args.first().map(String::as_str) == Some("open-child") {
        open_child(&args[1], args.get(2).map_or("", String::as_str));
        return;
    }
    let which: Vec<&str> = if args.is_empty() {
        vec!["load", "search", "open", "files"]
    } else {
        args.iter().map(String::as_str).collect()
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for bench in which {
        match bench {
            "load" => runtime.block_on(load()),
            "search" => search(),
            "open" => open(),
            "files" => files(),
            other => panic!("unknown benchmark {other}: use load, search, open or files"),
        }
    }
}
