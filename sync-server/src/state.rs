//! What every request handler shares: the database pool, the token keys,
//! the configuration, the request budgets, and the process's live-stream
//! signals. Kept apart
//! from the router (`app`), so handler modules depend on the state they
//! use, never on the router that mounts them.

use std::sync::Arc;

use crate::accounts::tokens::TokenKeys;
use crate::config::ServerConfig;
use crate::limits::Budgets;

#[derive(Clone)]
pub struct AppState {
    pub pool: sqlx::PgPool,
    pub tokens: Arc<TokenKeys>,
    pub config: Arc<ServerConfig>,
    /// Attachment files: where they are kept, the link signer.
    pub storage: Arc<crate::storage::Storage>,
    /// Per-user request budgets (see `crate::limits`).
    pub budgets: Arc<Budgets>,
    /// The integration API's rate limits, usage counts and concurrency.
    pub api: Arc<crate::api::ApiState>,
    /// Wakes the live streams of this process (see `sync::live`).
    pub live: crate::sync::live::Live,
    /// Turns true when the server starts shutting down, which ends the live
    /// streams: graceful shutdown waits for open requests, and a stream
    /// would otherwise never finish.
    pub stopping: tokio::sync::watch::Sender<bool>,
}
