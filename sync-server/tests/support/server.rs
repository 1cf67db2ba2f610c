//! A real sync server on loopback for the HTTP tests: its own database from
//! the shared harness, started in this process on a free port, and a client.
#![allow(dead_code, clippy::unwrap_used)]

use clap::Parser;
use crm_domain::UserRole;
use crm_testkit::TestDatabase;
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use sync_server::app::RunningServer;
use sync_server::config::Config;

pub const JWT_SECRET: &str = "test-secret-that-is-long-enough-for-hs256-signing";
pub const PASSWORD: &str = "a long enough passphrase";

pub struct TestServer {
    pub db: TestDatabase,
    pub server: RunningServer,
    pub state: sync_server::AppState,
    pub http: Client,
    data_dir: std::path::PathBuf,
}

impl TestServer {
    /// A server with the given extra flags (e.g. `["--signup", "open"]`).
    pub async fn start(flags: &[&str]) -> TestServer {
        Self::on(
            TestDatabase::create(&sync_server::db::MIGRATOR).await,
            flags,
        )
        .await
    }

    /// A server on an existing test database.
    pub async fn on(db: TestDatabase, flags: &[&str]) -> TestServer {
        let data_dir =
            std::env::temp_dir().join(format!("crm-server-test-{}", uuid::Uuid::now_v7()));
        let mut args = vec![
            "sync-server",
            "--database-url",
            db.url(),
            "--jwt-secret",
            JWT_SECRET,
            "--data-dir",
            data_dir.to_str().unwrap(),
        ];
        args.extend_from_slice(flags);
        let config = Config::try_parse_from(args).unwrap();
        let started = sync_server::start(config.server).await.unwrap();
        let state = started.state.clone();
        let server = sync_server::app::spawn(started.state, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        TestServer {
            db,
            server,
            state,
            http: Client::new(),
            data_dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.url())
    }

    pub async fn post(&self, path: &str, body: Value) -> Response {
        self.http
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_as(&self, token: &str, path: &str, body: Value) -> Response {
        self.http
            .post(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn get_as(&self, token: &str, path: &str) -> Response {
        self.http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// Creates an account directly (as `sync-server user create` does).
    pub async fn create_account(&self, email: &str, role: UserRole) -> uuid::Uuid {
        sync_server::accounts::create_account(
            &self.state.pool,
            email,
            PASSWORD,
            Some("Test User"),
            role,
        )
        .await
        .unwrap()
        .id
    }

    /// Signs in and returns the session JSON.
    pub async fn login(&self, email: &str) -> Value {
        let response = self
            .post(
                "/auth/login",
                json!({ "email": email, "password": PASSWORD }),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// Asserts an error response: its status and its stable code.
pub async fn assert_error(response: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    body
}
