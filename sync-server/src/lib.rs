//! The sync server: the one service between the desktop apps and the central
//! PostgreSQL. Modules by concept: `accounts` (sign-up, sign-in, tokens),
//! `api` (the integration API: tokens, `/api/v1`),
//! `db` (connecting, migrating), `data` (the data service: acting as the
//! caller, applying changes), `sync` (the sync protocol over it), `embedded` (the private PostgreSQL when no URL is given), `storage`
//! (attachment files), `webhooks` (subscriptions and delivery), `app` (router, middleware,
//! serving), `client_address` (who is calling, behind trusted proxies too), `tls` (HTTPS), `health`, `openapi`, `error` (the one error shape), `config`.

pub mod accounts;
pub mod api;
pub mod app;
pub mod client_address;
pub mod config;
pub mod data;
pub mod db;
pub mod embedded;
pub mod error;
#[cfg(feature = "harness")]
pub mod harness;
pub mod health;
pub mod limits;
pub mod openapi;
pub mod secrets;
pub mod state;
pub mod storage;
pub mod sync;
pub mod tls;
pub mod webhooks;

use std::sync::Arc;

pub use state::AppState;

/// The database the server runs on, and the state every request shares.
pub struct Started {
    pub state: AppState,
    /// The private cluster, when the server runs one; stopped on drop.
    pub embedded: Option<pg_cluster::Cluster>,
}

/// Opens the database (the configured one, or the private cluster), applies
/// pending migrations, and loads the signing keys.
pub async fn start(config: config::ServerConfig) -> anyhow::Result<Started> {
    let (url, embedded) = match &config.database_url {
        Some(url) => {
            db::migrate(config.migrate_database_url.as_deref().unwrap_or(url)).await?;
            (url.clone(), None)
        }
        None => {
            let embedded = embedded::start(&config.data_dir, config.embedded_pg_port).await?;
            db::migrate(&embedded.migrate_url).await?;
            embedded.set_app_password().await?;
            (embedded.app_url.clone(), embedded.cluster)
        }
    };
    let pool = db::connect(&url).await?;
    if db::is_superuser(&pool).await? {
        tracing::warn!(
            "the database URL's user is a superuser: requests could leave their role; \
             serve as crm_app (see the README) and migrate with --migrate-database-url"
        );
    }
    let secret =
        accounts::tokens::load_or_create_secret(config.jwt_secret.as_deref(), &config.data_dir)?;
    let previous = accounts::tokens::previous_secrets(
        config.jwt_secret.as_deref(),
        &config.jwt_previous_secrets,
        &config.data_dir,
        config.access_token_ttl() + std::time::Duration::from_secs(300),
    );
    let tokens =
        accounts::tokens::TokenKeys::rotated(&secret, &previous, config.access_token_ttl())?;
    let live = sync::live::start(pool.clone());
    sync::retention::start(pool.clone(), config.change_retention());
    let storage = storage::Storage::open(&config, pool.clone(), &secret)?;
    let budgets = Arc::new(limits::Budgets::new(&config));
    sync::retention::forget_idle_budgets(budgets.clone());
    let state = AppState {
        pool,
        tokens: Arc::new(tokens),
        budgets,
        api: Arc::new(api::ApiState::new(&config)),
        storage: Arc::new(storage),
        config: Arc::new(config),
        live,
        stopping: tokio::sync::watch::Sender::new(false),
    };
    Ok(Started { state, embedded })
}

/// Starts what a serving process runs beside its requests: the
/// integration API's bookkeeping (usage counts, token announcements) and
/// the webhook deliveries. Never for a one-off command (`user create`,
/// `storage check`), which would claim deliveries and exit.
pub fn start_workers(state: &AppState) {
    api::start(state);
    webhooks::start(state);
}
