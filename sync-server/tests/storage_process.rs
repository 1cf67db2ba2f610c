//! Attachment files with the real `sync-server` binary, in processes of
//! its own: its memory does not grow with an upload (one of 50 MiB + 1
//! byte is stopped while it streams), a server killed with SIGKILL in the
//! middle of an upload loses nothing (the retry stores the file once), and
//! `sync-server storage check | clean` finds and removes what the kill
//! left.
#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::time::{Duration, Instant};

use crm_domain::UserRole;
use crm_testkit::TestDatabase;
use serde_json::Value;
use sync_server::harness;
use uuid::Uuid;

const PASSWORD: &str = "a long enough passphrase";

/// The server's settings, shared by `serve` and the storage commands.
struct Setup {
    db: TestDatabase,
    data_dir: tempfile::TempDir,
}

impl Setup {
    async fn new() -> Setup {
        Setup {
            db: TestDatabase::create(&sync_server::db::MIGRATOR).await,
            data_dir: tempfile::tempdir().unwrap(),
        }
    }

    async fn serve(&self, port: u16) -> harness::ServerProcess {
        harness::ServerProcess::start(
            env!("CARGO_BIN_EXE_sync-server"),
            &self.db,
            self.data_dir.path(),
            port,
            &[],
        )
        .await
    }

    /// `sync-server storage check|clean` with a grace period of zero: its
    /// exit status and its report.
    fn storage(&self, what: &str) -> (bool, Value) {
        let out = harness::server_command(
            env!("CARGO_BIN_EXE_sync-server"),
            &self.db,
            self.data_dir.path(),
            &["--storage-grace-hours", "0", "storage", what],
        )
        .output()
        .unwrap();
        let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (out.status.success(), report)
    }
}

/// Ana, an agent, with a ticket; answers her token and the ticket.
async fn agent_with_ticket(setup: &Setup, base: &str) -> (String, Uuid) {
    sync_server::accounts::create_account(
        setup.db.pool(),
        "ana@field.test",
        PASSWORD,
        Some("Ana"),
        UserRole::Agent,
    )
    .await
    .unwrap();
    harness::ticket_over_http(base, "ana@field.test", PASSWORD).await
}

/// `bytes` bytes of a PDF, sent in 1 MiB pieces without saying the size.
fn pdf_stream(bytes: usize) -> reqwest::Body {
    let mut pieces = vec![bytes::Bytes::from_static(b"%PDF-1.7\n")];
    let mut sent = pieces[0].len();
    let block = bytes::Bytes::from(vec![b'x'; 1024 * 1024]);
    while sent < bytes {
        let piece = block.slice(..block.len().min(bytes - sent));
        sent += piece.len();
        pieces.push(piece);
    }
    reqwest::Body::wrap_stream(futures_util::stream::iter(
        pieces.into_iter().map(Ok::<_, std::io::Error>),
    ))
}

#[tokio::test]
async fn an_upload_over_the_limit_is_stopped_while_it_streams_without_the_server_growing() {
    let setup = Setup::new().await;
    let port = harness::free_port();
    let server = setup.serve(port).await;
    let base = format!("http://127.0.0.1:{port}");
    let (token, ticket) = agent_with_ticket(&setup, &base).await;
    let pid = server.pid();
    let memory = harness::PeakMemory::watch(pid);
    let limit = crm_domain::validation::MAX_ATTACHMENT_BYTES as usize;
    let response = reqwest::Client::new()
        .put(format!(
            "{base}/storage/ticket-attachments/{ticket}/huge.pdf"
        ))
        .bearer_auth(&token)
        .body(pdf_stream(limit + 1))
        .send()
        .await
        .unwrap();
    let before = memory.before;
    let grew = memory.stop().saturating_sub(before);
    assert_eq!(response.status(), reqwest::StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "file_too_large");
    // A buffered upload would have grown by the file's 50 MiB; the stream
    // holds a few buffers of a MiB.
    assert!(
        grew < 24 * 1024 * 1024,
        "the server grew by {} MiB",
        grew / (1024 * 1024)
    );
    let (clean, report) = setup.storage("check");
    assert!(clean, "nothing left over: {report}");
    let objects: i64 = sqlx::query_scalar("SELECT count(*) FROM storage.objects")
        .fetch_one(setup.db.pool())
        .await
        .unwrap();
    assert_eq!(objects, 0);
}

#[tokio::test]
async fn a_server_killed_mid_upload_loses_nothing_and_housekeeping_clears_what_it_left() {
    let setup = Setup::new().await;
    let port = harness::free_port();
    let mut server = setup.serve(port).await;
    let base = format!("http://127.0.0.1:{port}");
    let (token, ticket) = agent_with_ticket(&setup, &base).await;
    let url = format!("{base}/storage/ticket-attachments/{ticket}/scan.pdf");

    // Half of a 30 MiB file goes up; then the server is killed.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(64);
    let mut file = b"%PDF-1.7\n".to_vec();
    file.extend(std::iter::repeat_n(b'q', 30 * 1024 * 1024));
    for piece in file[..file.len() / 2].chunks(1024 * 1024) {
        tx.send(Ok(bytes::Bytes::copy_from_slice(piece)))
            .await
            .unwrap();
    }
    let sending = {
        let (url, token) = (url.clone(), token.clone());
        tokio::spawn(async move {
            reqwest::Client::new()
                .put(url)
                .bearer_auth(token)
                .body(reqwest::Body::wrap_stream({
                    let mut rx = rx;
                    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
                }))
                .send()
                .await
        })
    };
    let uploads = setup.data_dir.path().join("storage/uploads");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let written: u64 = std::fs::read_dir(&uploads)
            .map(|d| {
                d.flatten()
                    .filter_map(|e| e.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0);
        if written > 0 || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Command::new("kill")
        .args(["-9", &server.pid().to_string()])
        .status()
        .unwrap();
    let _ = server.child.wait();
    assert!(
        sending.await.unwrap().is_err(),
        "the upload died with the server"
    );
    drop(tx);

    // What the kill left: a temporary upload, found by `storage check`.
    let (clean, report) = setup.storage("check");
    assert!(!clean, "check exits 1 with leftovers past the grace period");
    assert_eq!(
        report["temporary_uploads"]["expired"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "{report}"
    );

    // Started again, the app sends the file again: stored once.
    server = setup.serve(port).await;
    let retry = reqwest::Client::new()
        .put(&url)
        .bearer_auth(&token)
        .body(file.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(retry.status(), reqwest::StatusCode::CREATED);
    let stored: Vec<Option<String>> =
        sqlx::query_scalar("SELECT content_sha256 FROM storage.objects")
            .fetch_all(setup.db.pool())
            .await
            .unwrap();
    use sha2::Digest;
    let sha: String = sha2::Sha256::digest(&file)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(stored, [Some(sha)]);

    // `storage clean` removes the leftover (and the file no attachment row
    // came for, with a grace period of zero); then nothing is left.
    let (_, cleaned) = setup.storage("clean");
    assert!(cleaned["removed"].as_u64().unwrap_or(0) >= 1, "{cleaned}");
    setup.storage("clean");
    let (clean, report) = setup.storage("check");
    assert!(clean, "{report}");
    drop(server);
}
