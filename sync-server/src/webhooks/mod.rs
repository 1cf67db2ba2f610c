//! Webhooks: other systems hear what changed in the CRM.
//!
//! PostgreSQL records each event's deliveries in the change's own
//! transaction (`..._webhooks.sql`); here: `subscriptions` (what people
//! manage at `/webhooks`), `worker` (claiming and sending, in order per
//! record, retried for a day), `signing` (Standard Webhooks signatures),
//! `outbound` (the HTTP client, kept out of the server's own network).

pub mod outbound;
pub mod signing;
pub mod subscriptions;
pub mod worker;

use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/webhooks",
            get(subscriptions::list).post(subscriptions::create),
        )
        .route(
            "/webhooks/{id}",
            axum::routing::patch(subscriptions::update).delete(subscriptions::remove),
        )
        .route("/webhooks/{id}/deliveries", get(subscriptions::deliveries))
        .route(
            "/webhooks/{id}/deliveries/{delivery}/replay",
            post(subscriptions::replay),
        )
        .route("/webhooks/{id}/test", post(subscriptions::test))
}

/// Starts this process's delivery worker.
pub fn start(state: &AppState) {
    let config = &state.config;
    worker::start(
        state.pool.clone(),
        worker::Settings {
            retry_base: Duration::from_millis(config.webhook_retry_base_ms),
            give_up_after: Duration::from_secs(config.webhook_give_up_secs),
            allow_private: config.webhook_allow_private_targets,
            timeout: Duration::from_secs(config.webhook_timeout_secs),
        },
        state.stopping.subscribe(),
    );
}
