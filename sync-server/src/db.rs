//! The central database: connecting to it and migrating it. How a
//! transaction acts for someone is `crate::data::acting`'s.

use sqlx::{Connection, PgConnection, PgPool};

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

/// Whether the pool's user is a superuser (it should not be: see
/// `crate::embedded`).
pub async fn is_superuser(pool: &PgPool) -> Result<bool, DbError> {
    Ok(sqlx::query_scalar!(
        r#"SELECT rolsuper AS "superuser!" FROM pg_catalog.pg_roles WHERE rolname = current_user"#
    )
    .fetch_one(pool)
    .await?)
}

/// Gives the role requests run on (`crm_app`, made by the migrations) its
/// password, connecting as the superuser at `superuser_url`.
pub async fn set_app_password(superuser_url: &str, password: &str) -> Result<(), DbError> {
    let mut conn = PgConnection::connect(superuser_url).await?;
    let mut tx = conn.begin().await?;
    // The password travels as a parameter; PostgreSQL quotes it.
    sqlx::query!(
        "SELECT set_config('crm.app_password', $1, true) AS set",
        password
    )
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query!(
        "DO $$ BEGIN
             EXECUTE format('ALTER ROLE crm_app PASSWORD %L', current_setting('crm.app_password'));
         END $$"
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    conn.close().await?;
    Ok(())
}
