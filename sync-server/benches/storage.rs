//! Attachment files through the real server process, on demand:
//!
//!     cargo bench -p sync-server --bench storage
//!
//! 1. A 50 MiB file up and down through the API, next to a plain copy of
//!    the same file on the same disk (synced, as the server syncs what it
//!    stores), in one run: the API's rate as a share of the copy's.
//! 2. Ten 50 MiB uploads at once: how much the server process's resident
//!    memory grows (sampled from /proc every 5 ms).
//!
//! The server is the `sync-server` binary in a process of its own (so its
//! memory is its own), on the test harness's PostgreSQL, storing files on
//! the local disk. BENCH_FILE_MIB changes the file size (default 50).
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use crm_domain::UserRole;
use crm_testkit::TestDatabase;
use serde_json::Value;
use sync_server::harness;
use uuid::Uuid;

const PASSWORD: &str = "benchmark passphrase";

/// A PDF-shaped file of `bytes` bytes, different for each `seed`.
fn write_file(path: &Path, bytes: usize, seed: u64) {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    out.write_all(b"%PDF-1.7\n").unwrap();
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
    let mut written = 9;
    let mut block = vec![0u8; 1 << 16];
    while written < bytes {
        for b in block.iter_mut() {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            // Printable bytes: nothing a scan could take for a marker.
            *b = b'a' + ((state >> 33) % 26) as u8;
        }
        let n = block.len().min(bytes - written);
        out.write_all(&block[..n]).unwrap();
        written += n;
    }
    out.into_inner().unwrap().sync_all().unwrap();
}

fn mib_per_s(bytes: u64, took: Duration) -> f64 {
    bytes as f64 / (1024.0 * 1024.0) / took.as_secs_f64()
}

async fn upload(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    ticket: Uuid,
    name: &str,
    path: &Path,
) -> Value {
    let file = std::sync::Arc::new(std::fs::File::open(path).unwrap());
    let size = file.metadata().unwrap().len();
    // Read as a careful client does: a MiB at a time, straight into the
    // chunk that is sent (no buffer in between, nothing zeroed first).
    let chunks = futures_util::stream::try_unfold(file, |file| async move {
        let reading = file.clone();
        let chunk = tokio::task::spawn_blocking(move || {
            use std::io::Read;
            let mut chunk = Vec::with_capacity(1024 * 1024);
            (&*reading).take(1024 * 1024).read_to_end(&mut chunk)?;
            Ok::<_, std::io::Error>(chunk)
        })
        .await
        .map_err(std::io::Error::other)??;
        if chunk.is_empty() {
            return Ok::<_, std::io::Error>(None);
        }
        Ok(Some((chunk, file)))
    });
    let response = http
        .put(format!("{base}/storage/ticket-attachments/{ticket}/{name}"))
        .bearer_auth(token)
        .header("Content-Length", size)
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.unwrap()
}

#[tokio::main]
async fn main() {
    let mib: usize = std::env::var("BENCH_FILE_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let size = mib * 1024 * 1024;
    let db = TestDatabase::create(&sync_server::db::MIGRATOR).await;
    sync_server::accounts::create_account(
        db.pool(),
        "bench@example.com",
        PASSWORD,
        Some("Bench"),
        UserRole::Agent,
    )
    .await
    .unwrap();
    let work = tempfile::tempdir().unwrap();
    // Requests as crm_app, as in production.
    let server = harness::ServerProcess::start(
        env!("CARGO_BIN_EXE_sync-server"),
        &db,
        &work.path().join("server"),
        harness::free_port(),
        &[],
    )
    .await;
    let pid = server.pid();
    let base = server.base.clone();
    let http = reqwest::Client::new();
    let (token, ticket) = harness::ticket_over_http(&base, "bench@example.com", PASSWORD).await;

    // 1. One file: copy, upload, download, on the same disk, each five
    //    times in turn (one run of 50 MiB takes tens of milliseconds, so
    //    single runs vary by half); the medians are compared.
    let source = work.path().join("source.pdf");
    write_file(&source, size, 1);
    let (mut copies, mut uploads, mut downloads) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..5 {
        let copy = work.path().join("copy.pdf");
        let _ = std::fs::remove_file(&copy);
        let started = Instant::now();
        std::fs::copy(&source, &copy).unwrap();
        std::fs::File::open(&copy).unwrap().sync_all().unwrap();
        copies.push(started.elapsed());

        let name = format!("one-{round}.pdf");
        let started = Instant::now();
        let stored = upload(&http, &base, &token, ticket, &name, &source).await;
        uploads.push(started.elapsed());
        assert_eq!(stored["size"].as_u64(), Some(size as u64));

        let started = Instant::now();
        {
            use futures_util::StreamExt;
            use tokio::io::AsyncWriteExt;
            let response = http
                .get(format!("{base}/storage/ticket-attachments/{ticket}/{name}"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            // Buffered as the app's client is: hyper hands over chunks of a
            // few KiB, and each unbuffered write is a trip to the blocking
            // pool.
            let file = tokio::fs::File::create(work.path().join("down.pdf"))
                .await
                .unwrap();
            let mut out = tokio::io::BufWriter::with_capacity(1024 * 1024, file);
            let mut body = response.bytes_stream();
            while let Some(chunk) = body.next().await {
                out.write_all(&chunk.unwrap()).await.unwrap();
            }
            out.flush().await.unwrap();
            out.get_ref().sync_all().await.unwrap();
        }
        downloads.push(started.elapsed());
    }
    let median = |runs: &mut Vec<Duration>| {
        runs.sort();
        runs[runs.len() / 2]
    };
    let (copied, uploaded, downloaded) = (
        median(&mut copies),
        median(&mut uploads),
        median(&mut downloads),
    );
    let copy_rate = mib_per_s(size as u64, copied);
    println!("storage: one {mib} MiB file on the same disk (medians of 5)");
    println!(
        "  plain copy (synced)   {:>8.1} MiB/s  ({copied:.2?})",
        copy_rate
    );
    for (what, took) in [("upload (API)", uploaded), ("download (API)", downloaded)] {
        let rate = mib_per_s(size as u64, took);
        println!(
            "  {what:<21} {rate:>8.1} MiB/s  ({took:.2?})  {:.2} of the copy's rate",
            rate / copy_rate
        );
    }

    // 2. Ten at once: the server's memory.
    let sources: Vec<_> = (0..10)
        .map(|i| {
            let path = work.path().join(format!("many-{i}.pdf"));
            write_file(&path, size, 100 + i);
            path
        })
        .collect();
    let memory = harness::PeakMemory::watch(pid);
    let started = Instant::now();
    let uploads = sources.iter().enumerate().map(|(i, path)| {
        let (http, base, token) = (http.clone(), base.clone(), token.clone());
        let path = path.clone();
        async move {
            upload(
                &http,
                &base,
                &token,
                ticket,
                &format!("many-{i}.pdf"),
                &path,
            )
            .await
        }
    });
    futures_util::future::join_all(uploads).await;
    let took = started.elapsed();
    let before = memory.before;
    let peak = memory.stop();
    println!("storage: ten {mib} MiB uploads at once in {took:.2?}");
    println!(
        "  server resident memory: {:.1} MiB before, {:.1} MiB at the peak: grew {:.1} MiB",
        before as f64 / 1048576.0,
        peak as f64 / 1048576.0,
        peak.saturating_sub(before) as f64 / 1048576.0
    );
    drop(server);
}
