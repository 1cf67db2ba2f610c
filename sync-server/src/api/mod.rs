//! The integration API: how other systems (an ERP, a billing tool, a web
//! form) reach the CRM, with the same rules as the app.
//!
//! - `tokens`: people make, list, rename, rotate and revoke their tokens
//!   (`/integration-tokens`, with their sign-in); the secret's format.
//! - `caller`: a request made with a token (`/api/v1`, the token as
//!   bearer) becomes an [`Integration`]: authenticated, rate-limited, its
//!   use counted, run as `Principal::Integration` (its owner, narrowed by
//!   its permissions, every audit row naming it).
//! - `limits`: rate limits that hold across server processes.
//! - `idempotency`: `Idempotency-Key` on writes.
//! - `group`: group commit: a token's concurrent creates in one
//!   transaction.
//! - `resources`: the REST handlers, one set for every resource of
//!   `crm_domain::resources`, over the data service (`crate::data`).
//! - `writing`: what every write shares (sequence numbers, refusals, the
//!   row read back).
//! - `page`: lists' filters, sorting and cursors.
//! - `audit`: what a token changed.
//! - `docs`: the resources' part of `/openapi.json`, from the same table.
//!
//! PostgreSQL's row-level security decides what a token may see and do, as
//! for the app: nothing here widens it.

pub mod audit;
pub mod caller;
pub mod docs;
pub mod group;
pub mod idempotency;
pub mod limits;
pub mod page;
pub mod resources;
pub mod tokens;
pub mod writing;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

pub use caller::Integration;

use crate::config::ServerConfig;
use crate::state::AppState;

/// What the integration API keeps per process.
pub struct ApiState {
    pub limits: limits::RateLimits,
    pub usage: caller::Usage,
    /// Tokens looked up lately (see `caller::KnownTokens`).
    pub known: caller::KnownTokens,
    /// Requests of the API running at once: at most part of the database
    /// pool, so a burst from integrations never starves the apps' sync. A
    /// group of creates (`group`) counts as one.
    pub running: Arc<tokio::sync::Semaphore>,
    /// Creates waiting for their group (see `group`).
    pub creates: group::Groups,
}

impl ApiState {
    pub fn new(config: &ServerConfig) -> ApiState {
        ApiState {
            limits: limits::RateLimits::new(config),
            usage: caller::Usage::default(),
            known: caller::KnownTokens::default(),
            creates: group::Groups::default(),
            running: Arc::new(tokio::sync::Semaphore::new(
                config.api_max_concurrent as usize,
            )),
        }
    }
}

/// Starts what runs beside the requests: writing usage counts.
pub fn start(state: &AppState) {
    caller::start_token_listener(
        state.pool.clone(),
        state.api.clone(),
        state.stopping.subscribe(),
    );
    caller::start_usage_writer(
        state.pool.clone(),
        state.api.clone(),
        state.stopping.subscribe(),
    );
}

pub fn routes(state: AppState) -> Router<AppState> {
    let v1 = Router::new()
        .route("/audit", get(audit::list))
        .route("/{resource}", get(resources::list).post(resources::create))
        .route(
            "/{resource}/{id}",
            get(resources::read)
                .patch(resources::update)
                .delete(resources::remove),
        )
        .layer(axum::middleware::from_fn_with_state(state, caller::admit));
    Router::new()
        .nest("/api/v1", v1)
        .route(
            "/integration-tokens",
            get(tokens::list).post(tokens::create),
        )
        .route(
            "/integration-tokens/{id}",
            axum::routing::patch(tokens::rename),
        )
        .route("/integration-tokens/{id}/rotate", post(tokens::rotate))
        .route("/integration-tokens/{id}/revoke", post(tokens::revoke))
}
