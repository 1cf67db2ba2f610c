//! Live updates: a client listening on one server process learns of a
//! change pushed through another process on the same database, within a
//! fraction of a second (LISTEN/NOTIFY, then server-sent events).
#![allow(clippy::unwrap_used)]

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crm_domain::UserRole;
use crm_domain::protocol::SyncTable;
use serde_json::json;
use support::client::SimClient;
use support::server::{JWT_SECRET, TestServer};
use uuid::Uuid;

/// Reads the event stream until an event named `name` arrives.
async fn next_event(stream: &mut reqwest::Response, name: &str, within: Duration) -> Duration {
    let started = Instant::now();
    let mut seen = String::new();
    loop {
        let left = within.checked_sub(started.elapsed()).unwrap_or_default();
        let chunk = tokio::time::timeout(left, stream.chunk())
            .await
            .unwrap_or_else(|_| panic!("no `{name}` event within {within:?}; got {seen:?}"))
            .unwrap()
            .expect("the stream stays open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
        if seen.contains(&format!("event: {name}")) {
            return started.elapsed();
        }
    }
}

#[tokio::test]
async fn a_change_pushed_through_one_server_process_is_announced_by_another() {
    let a = TestServer::start(&[]).await;
    a.create_account("ana@field.test", UserRole::Agent).await;
    a.create_account("ben@field.test", UserRole::Agent).await;

    // A second server process on the same database.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut b = Command::new(env!("CARGO_BIN_EXE_sync-server"))
        .args([
            "--database-url",
            a.db.url(),
            "--jwt-secret",
            JWT_SECRET,
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .args([
            "--data-dir",
            std::env::temp_dir()
                .join(format!("crm-live-{}", Uuid::now_v7()))
                .to_str()
                .unwrap(),
        ])
        .env("CRM_LOG", "warn")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let b_url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !reqwest::get(format!("{b_url}/health"))
        .await
        .map(|r| r.status().is_success())
        .unwrap_or(false)
    {
        assert!(Instant::now() < deadline, "second server did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let ana = SimClient::sign_in(&a, "ana@field.test").await;
    let ben = SimClient::sign_in(&a, "ben@field.test").await;
    let mut on_b = a
        .http
        .get(format!("{b_url}/sync/events"))
        .bearer_auth(&ben.token)
        .send()
        .await
        .unwrap();
    assert_eq!(on_b.headers()["content-type"], "text/event-stream");
    next_event(&mut on_b, "ready", Duration::from_secs(5)).await;
    let mut on_a = a
        .http
        .get(a.url("/sync/events"))
        .bearer_auth(&ben.token)
        .send()
        .await
        .unwrap();
    next_event(&mut on_a, "ready", Duration::from_secs(5)).await;

    ana.push(&[ana.insert(
        SyncTable::Customers,
        Uuid::now_v7(),
        json!({ "name": "Fresh" }),
    )])
    .await;
    let latency_b = next_event(&mut on_b, "changes", Duration::from_secs(2)).await;
    let latency_a = next_event(&mut on_a, "changes", Duration::from_secs(2)).await;
    assert!(latency_b < Duration::from_secs(2) && latency_a < Duration::from_secs(2));

    // Without a token there is no stream.
    let anonymous = a
        .http
        .get(format!("{b_url}/sync/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), reqwest::StatusCode::UNAUTHORIZED);

    // Stopping a server with a stream open still finishes promptly.
    let term = Command::new("kill")
        .args(["-TERM", &b.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let stopped = Instant::now();
    loop {
        if let Some(status) = b.try_wait().unwrap() {
            assert!(status.success(), "clean exit, got {status}");
            break;
        }
        assert!(
            stopped.elapsed() < Duration::from_secs(10),
            "open streams must not hold the shutdown"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        on_b.chunk().await.map(|c| c.is_none()).unwrap_or(true),
        "the stream ended"
    );
}
