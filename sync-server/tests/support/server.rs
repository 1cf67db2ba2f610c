//! A real sync server on loopback for the HTTP tests (sync-server's own
//! `harness::Backend`: its own database, started in this process on a free
//! port), and a client.
#![allow(dead_code, unused_imports, clippy::unwrap_used)]

use std::ops::Deref;

use crm_domain::UserRole;
use crm_testkit::TestDatabase;
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use sync_server::harness::Backend;
pub use sync_server::harness::{JWT_SECRET, PASSWORD};

/// The shared harness's server (database, state, address), and an HTTP
/// client for it.
pub struct TestServer {
    backend: Backend,
    pub http: Client,
}

impl Deref for TestServer {
    type Target = Backend;

    fn deref(&self) -> &Backend {
        &self.backend
    }
}

impl std::ops::DerefMut for TestServer {
    fn deref_mut(&mut self) -> &mut Backend {
        &mut self.backend
    }
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
        TestServer {
            backend: Backend::on(db, flags).await,
            http: Client::new(),
        }
    }

    /// A URL of this server: `path` is like `/health`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.backend.url())
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

    pub async fn put_as(&self, token: &str, path: &str, body: Value) -> Response {
        self.http
            .put(self.url(path))
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
        sync_server::accounts::create_account(self.pool(), email, PASSWORD, Some("Test User"), role)
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
