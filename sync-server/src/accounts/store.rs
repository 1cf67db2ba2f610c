//! The accounts' SQL. Everything here runs as `service_role` (see
//! `data::acting::begin_service`): accounts, refresh tokens and login attempts are the
//! server's own records, never a user's data.
//!
//! Refresh-token families: a sign-in creates a family; each refresh marks the
//! presented token used and issues its child in the same family. Presenting a
//! used or revoked token revokes the whole family, so a stolen token is good
//! for at most one refresh, and only until its owner's next one.

use chrono::{DateTime, Utc};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

type Tx = Transaction<'static, Postgres>;

pub struct Credentials {
    pub id: Uuid,
    pub password_hash: Option<String>,
}

pub async fn credentials(tx: &mut Tx, email: &str) -> sqlx::Result<Option<Credentials>> {
    let row = sqlx::query!(
        "SELECT id, encrypted_password FROM auth.users WHERE lower(email) = lower($1)",
        email
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|r| Credentials {
        id: r.id,
        password_hash: r.encrypted_password,
    }))
}

/// Creates the account (the profile follows by trigger, as an agent).
/// `Ok(None)` when the email is taken.
pub async fn create_user(
    tx: &mut Tx,
    email: &str,
    password_hash: &str,
    full_name: Option<&str>,
) -> sqlx::Result<Option<Uuid>> {
    let meta = serde_json::json!({ "full_name": full_name });
    let inserted = sqlx::query_scalar!(
        "INSERT INTO auth.users (email, encrypted_password, raw_user_meta_data)
         VALUES ($1, $2, $3)
         ON CONFLICT (lower(email)) DO NOTHING
         RETURNING id",
        email,
        password_hash,
        meta
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(inserted)
}

/// Sets an account's role; false when there is no such account.
pub async fn set_role(tx: &mut Tx, email: &str, role: &str) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE public.profiles SET role = $2::text::public.user_role WHERE lower(email) = lower($1)",
        email,
        role
    )
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn record_sign_in(tx: &mut Tx, user: Uuid) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE auth.users SET last_sign_in_at = now() WHERE id = $1",
        user
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn record_login_attempt(
    tx: &mut Tx,
    email: &str,
    address: Option<std::net::IpAddr>,
    succeeded: bool,
) -> sqlx::Result<()> {
    let address = address.map(|a| a.to_string());
    sqlx::query!(
        "INSERT INTO auth.login_attempts (email, address, succeeded) VALUES ($1, $2::text::inet, $3)",
        email,
        address,
        succeeded
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Deletes the sign-in attempts older than `keep`; returns how many went.
/// They hold raw addresses (and now and then a password typed into the
/// email field) and matter for throttling for minutes only (security
/// review L7).
pub async fn prune_login_attempts(
    pool: &sqlx::PgPool,
    keep: std::time::Duration,
) -> sqlx::Result<u64> {
    let mut tx = pool.begin().await?;
    crate::data::acting::act_as_service(&mut tx).await?;
    let seconds = i64::try_from(keep.as_secs()).unwrap_or(i64::MAX);
    let done = sqlx::query!(
        "DELETE FROM auth.login_attempts
         WHERE attempted_at < now() - make_interval(secs => $1::bigint::double precision)",
        seconds
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(done.rows_affected())
}

/// Failed sign-ins since `since`, for this account and from this address,
/// and when the oldest of each happened (to tell the client when to retry).
pub struct RecentFailures {
    pub for_account: i64,
    pub oldest_for_account: Option<DateTime<Utc>>,
    pub from_address: i64,
    pub oldest_from_address: Option<DateTime<Utc>>,
}

pub async fn recent_failures(
    tx: &mut Tx,
    email: &str,
    address: Option<std::net::IpAddr>,
    since: DateTime<Utc>,
) -> sqlx::Result<RecentFailures> {
    let address = address.map(|a| a.to_string());
    let row = sqlx::query!(
        r#"SELECT
             (SELECT count(*) FROM auth.login_attempts
               WHERE lower(email) = lower($1) AND NOT succeeded AND attempted_at > $3) AS "for_account!",
             (SELECT min(attempted_at) FROM auth.login_attempts
               WHERE lower(email) = lower($1) AND NOT succeeded AND attempted_at > $3) AS oldest_for_account,
             (SELECT count(*) FROM auth.login_attempts
               WHERE address = $2::text::inet AND NOT succeeded AND attempted_at > $3) AS "from_address!",
             (SELECT min(attempted_at) FROM auth.login_attempts
               WHERE address = $2::text::inet AND NOT succeeded AND attempted_at > $3) AS oldest_from_address"#,
        email,
        address,
        since
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok(RecentFailures {
        for_account: row.for_account,
        oldest_for_account: row.oldest_for_account,
        from_address: row.from_address,
        oldest_from_address: row.oldest_from_address,
    })
}

pub async fn insert_refresh_token(
    tx: &mut Tx,
    user: Uuid,
    family: Uuid,
    parent: Option<Uuid>,
    hash: &[u8],
    expires_at: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO auth.refresh_tokens (user_id, family_id, parent_id, token_hash, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
        user,
        family,
        parent,
        hash,
        expires_at
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub struct StoredRefreshToken {
    pub id: Uuid,
    pub user_id: Uuid,
    pub family_id: Uuid,
    pub expires_at: DateTime<Utc>,
    pub used: bool,
    pub revoked: bool,
}

/// The token with this hash, locked until the transaction ends so that two
/// concurrent refreshes with one token cannot both succeed.
pub async fn lock_refresh_token(
    tx: &mut Tx,
    hash: &[u8],
) -> sqlx::Result<Option<StoredRefreshToken>> {
    let row = sqlx::query!(
        r#"SELECT id, user_id, family_id, expires_at,
                  used_at IS NOT NULL AS "used!", revoked_at IS NOT NULL AS "revoked!"
           FROM auth.refresh_tokens WHERE token_hash = $1 FOR UPDATE"#,
        hash
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|r| StoredRefreshToken {
        id: r.id,
        user_id: r.user_id,
        family_id: r.family_id,
        expires_at: r.expires_at,
        used: r.used,
        revoked: r.revoked,
    }))
}

pub async fn mark_used(tx: &mut Tx, id: Uuid) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE auth.refresh_tokens SET used_at = now() WHERE id = $1",
        id
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn revoke_family(tx: &mut Tx, family: Uuid) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE auth.refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL",
        family
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn revoke_all_for_user(tx: &mut Tx, user: Uuid) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE auth.refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL",
        user
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Whether a sign-in (family) is still live: an access token outlives a
/// logout by at most its own lifetime, but not a revoked family.
pub async fn family_is_live(tx: &mut Tx, family: Uuid) -> sqlx::Result<bool> {
    let live = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM auth.refresh_tokens
                          WHERE family_id = $1 AND revoked_at IS NULL) AS "live!""#,
        family
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok(live)
}
