//! The central database: its migrations, and how every piece of user data is
//! reached — inside a transaction running as the `authenticated` role with the
//! caller's claims set, so that PostgreSQL's own row-level security and audit
//! triggers decide, never the service's superuser rights.

use serde::Serialize;
use sqlx::{Connection, PgConnection, PgPool, Postgres, Transaction};
use uuid::Uuid;

/// The migrations in `migrations/postgres/`, embedded at build time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("migrating the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// A connection pool to the database at `url`.
pub async fn connect(url: &str) -> Result<PgPool, DbError> {
    Ok(sqlx::postgres::PgPoolOptions::new()
        .max_connections(32)
        .acquire_timeout(std::time::Duration::from_secs(10))
        .connect(url)
        .await?)
}

/// Applies pending migrations to the database at `url`.
pub async fn migrate(url: &str) -> Result<(), DbError> {
    let mut conn = PgConnection::connect(url).await?;
    MIGRATOR.run(&mut conn).await?;
    conn.close().await?;
    Ok(())
}

/// Who a transaction acts for: the JWT claims PostgreSQL's `auth.uid()`,
/// `auth.role()` and `auth.integration_token_id()` read.
#[derive(Debug, Clone, Serialize)]
pub struct Claims {
    pub sub: Uuid,
    pub role: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integration_token_id: Option<Uuid>,
}

impl Claims {
    /// A person's own session.
    pub fn user(id: Uuid) -> Self {
        Self {
            sub: id,
            role: "authenticated",
            integration_token_id: None,
        }
    }

    /// A request made with one of `owner`'s integration tokens.
    pub fn integration(owner: Uuid, token_id: Uuid) -> Self {
        Self {
            sub: owner,
            role: "authenticated",
            integration_token_id: Some(token_id),
        }
    }
}

/// Begins a transaction that acts as `claims` says: role `authenticated`, the
/// claims in `request.jwt.claims`. Both settings are transaction-local, so
/// they end with the transaction and never leak into a pooled connection's
/// next user.
pub async fn begin_as(
    pool: &PgPool,
    claims: &Claims,
) -> Result<Transaction<'static, Postgres>, DbError> {
    let mut tx = pool.begin().await?;
    act_as(&mut tx, claims).await?;
    Ok(tx)
}

/// Begins a transaction as `service_role`, for the server's own records
/// (accounts, refresh tokens, sign-in attempts, sync bookkeeping) — never for
/// a user's data.
pub async fn begin_service(pool: &PgPool) -> Result<Transaction<'static, Postgres>, DbError> {
    let mut tx = pool.begin().await?;
    act_as_service(&mut tx).await?;
    Ok(tx)
}

/// Switches a transaction to act as `claims` (see [`begin_as`]). A sync
/// transaction switches back and forth: data as the user, bookkeeping as the
/// service.
pub async fn act_as(conn: &mut PgConnection, claims: &Claims) -> Result<(), DbError> {
    let claims = serde_json::to_string(claims).map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
    sqlx::query!(
        "SELECT set_config('role', 'authenticated', true) AS role, set_config('request.jwt.claims', $1, true) AS claims",
        claims
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(())
}

/// Switches a transaction back to the user's role after a stretch as the
/// service; the claims set by [`act_as`] (or a push's own) still stand.
pub async fn back_to_user(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query!("SELECT set_config('role', 'authenticated', true) AS role")
        .fetch_one(&mut *conn)
        .await?;
    Ok(())
}

/// Switches a transaction to `service_role` (see [`begin_service`]).
pub async fn act_as_service(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query!("SELECT set_config('role', 'service_role', true) AS role")
        .fetch_one(&mut *conn)
        .await?;
    Ok(())
}
