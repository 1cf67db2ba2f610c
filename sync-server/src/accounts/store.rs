//! The accounts' SQL. Everything here runs as `service_role` (see
//! `data::acting::begin_service`): accounts, refresh tokens and login attempts are the
//! server's own records, never a user's data.
//!
//! Sessions: a sign-in is a row of `auth.sessions` (its device, first and
//! last seen, its absolute end) and its refresh tokens are a family: each
//! refresh marks the presented token used and issues its child. Presenting
//! a used token ends the session, so a stolen token is good for at most
//! one refresh, and only until its owner's next one. A session ends by
//! marking its own row, which every refresh locks (security review M2).

use chrono::{DateTime, Utc};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

type Tx = Transaction<'static, Postgres>;

pub struct Credentials {
    pub id: Uuid,
    pub password_hash: Option<String>,
    pub deactivated: bool,
}

pub async fn credentials(tx: &mut Tx, email: &str) -> sqlx::Result<Option<Credentials>> {
    let row = sqlx::query!(
        r#"SELECT id, encrypted_password, deactivated_at IS NOT NULL AS "deactivated!"
           FROM auth.users WHERE lower(email) = lower($1)"#,
        email
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|r| Credentials {
        id: r.id,
        password_hash: r.encrypted_password,
        deactivated: r.deactivated,
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

/// Serialises the sign-in attempts from one address until the transaction
/// ends, so each one counts those before it, in flight or not.
pub async fn lock_address(tx: &mut Tx, address: Option<std::net::IpAddr>) -> sqlx::Result<()> {
    let key = format!(
        "crm.sign_in.{}",
        address.map_or_else(String::new, |a| a.to_string())
    );
    sqlx::query!("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", key)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Records an attempt whose password is being checked (`succeeded` NULL:
/// it counts as a failure until settled).
pub async fn insert_attempt(
    tx: &mut Tx,
    email: &str,
    address: Option<std::net::IpAddr>,
) -> sqlx::Result<Uuid> {
    let address = address.map(|a| a.to_string());
    sqlx::query_scalar!(
        "INSERT INTO auth.login_attempts (email, address, succeeded) VALUES ($1, $2::text::inet, NULL)
         RETURNING id",
        email,
        address
    )
    .fetch_one(&mut **tx)
    .await
}

pub async fn settle_attempt(tx: &mut Tx, id: Uuid, succeeded: bool) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE auth.login_attempts SET succeeded = $2 WHERE id = $1",
        id,
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

/// Failed (or unsettled) sign-ins since `since`: of this account from this
/// address, and from this address with any account, with the last of the
/// first and the oldest of the second (to tell the client when to retry).
pub struct RecentFailures {
    pub of_pair: i64,
    pub last_of_pair: Option<DateTime<Utc>>,
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
               WHERE lower(email) = lower($1) AND address IS NOT DISTINCT FROM $2::text::inet
                 AND succeeded IS NOT TRUE AND attempted_at > $3) AS "of_pair!",
             (SELECT max(attempted_at) FROM auth.login_attempts
               WHERE lower(email) = lower($1) AND address IS NOT DISTINCT FROM $2::text::inet
                 AND succeeded IS NOT TRUE AND attempted_at > $3) AS last_of_pair,
             (SELECT count(*) FROM auth.login_attempts
               WHERE address IS NOT DISTINCT FROM $2::text::inet AND succeeded IS NOT TRUE
                 AND attempted_at > $3) AS "from_address!",
             (SELECT min(attempted_at) FROM auth.login_attempts
               WHERE address IS NOT DISTINCT FROM $2::text::inet AND succeeded IS NOT TRUE
                 AND attempted_at > $3) AS oldest_from_address"#,
        email,
        address,
        since
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok(RecentFailures {
        of_pair: row.of_pair,
        last_of_pair: row.last_of_pair,
        from_address: row.from_address,
        oldest_from_address: row.oldest_from_address,
    })
}

/// What a new sign-in records of its device.
pub struct NewSession<'a> {
    pub user: Uuid,
    pub device_name: Option<&'a str>,
    pub platform: Option<&'a str>,
    pub address: Option<std::net::IpAddr>,
    pub expires_at: DateTime<Utc>,
}

/// Starts a session (a device's sign-in); its refresh tokens are its family.
pub async fn create_session(tx: &mut Tx, new: &NewSession<'_>) -> sqlx::Result<Uuid> {
    let address = new.address.map(|a| a.to_string());
    sqlx::query_scalar!(
        "INSERT INTO auth.sessions (user_id, device_name, platform, first_address, last_address, expires_at)
         VALUES ($1, $2, $3, $4::text::inet, $4::text::inet, $5)
         RETURNING id",
        new.user,
        new.device_name,
        new.platform,
        address,
        new.expires_at
    )
    .fetch_one(&mut **tx)
    .await
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

/// Why a session ended, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    SignedOut,
    Revoked,
    SignedOutEverywhere,
    PasswordChanged,
    PasswordReset,
    TokenReused,
    Deactivated,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignedOut => "signed_out",
            Self::Revoked => "revoked",
            Self::SignedOutEverywhere => "signed_out_everywhere",
            Self::PasswordChanged => "password_changed",
            Self::PasswordReset => "password_reset",
            Self::TokenReused => "token_reused",
            Self::Deactivated => "deactivated",
        }
    }

    fn parse(text: &str) -> Self {
        match text {
            "revoked" => Self::Revoked,
            "signed_out_everywhere" => Self::SignedOutEverywhere,
            "password_changed" => Self::PasswordChanged,
            "password_reset" => Self::PasswordReset,
            "token_reused" => Self::TokenReused,
            "deactivated" => Self::Deactivated,
            _ => Self::SignedOut,
        }
    }
}

/// Where a session stands now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    Live,
    Ended(EndReason),
    /// Past its absolute lifetime.
    Expired,
    /// Its account is deactivated (its sessions were ended with it; this
    /// also covers one started in the same instant).
    Deactivated,
}

/// The state of session `id` (`None`: no such session).
pub async fn session_state(tx: &mut Tx, id: Uuid) -> sqlx::Result<Option<SessionState>> {
    let row = sqlx::query!(
        r#"SELECT s.end_reason, s.expires_at <= now() AS "expired!",
                  u.deactivated_at IS NOT NULL AS "deactivated!"
           FROM auth.sessions s JOIN auth.users u ON u.id = s.user_id
           WHERE s.id = $1"#,
        id
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|r| state_of(r.deactivated, r.end_reason.as_deref(), r.expired)))
}

fn state_of(deactivated: bool, end_reason: Option<&str>, expired: bool) -> SessionState {
    match (deactivated, end_reason, expired) {
        (true, _, _) => SessionState::Deactivated,
        (_, Some(reason), _) => SessionState::Ended(EndReason::parse(reason)),
        (_, None, true) => SessionState::Expired,
        (_, None, false) => SessionState::Live,
    }
}

pub struct StoredRefreshToken {
    pub id: Uuid,
    pub user_id: Uuid,
    pub family_id: Uuid,
    pub expires_at: DateTime<Utc>,
    pub used: bool,
    pub revoked: bool,
    /// Used less than [`REFRESH_RETRY_LEEWAY_SECS`] ago, and no token it
    /// was exchanged for has been used since: the answer may never have
    /// reached the device (a connection cut mid-response), which is now
    /// asking again.
    pub retry: bool,
    /// Its session's state, and its absolute end.
    pub session: SessionState,
    pub session_expires_at: DateTime<Utc>,
}

/// The token with this hash, with its session, both locked until the
/// transaction ends. Every refresh and every end of a session takes the
/// session's row, so they are serialised: a refresh cannot mint a child
/// that an ending of its session misses (security review M2), and two
/// concurrent refreshes with one token cannot both succeed.
pub async fn lock_refresh_token(
    tx: &mut Tx,
    hash: &[u8],
) -> sqlx::Result<Option<StoredRefreshToken>> {
    let row = sqlx::query!(
        r#"SELECT t.id, t.user_id, t.family_id, t.expires_at,
                  t.used_at IS NOT NULL AS "used!", t.revoked_at IS NOT NULL AS "revoked!",
                  coalesce(t.used_at > now() - make_interval(secs => $2)
                           AND NOT EXISTS (SELECT 1 FROM auth.refresh_tokens c
                                            WHERE c.parent_id = t.id AND c.used_at IS NOT NULL),
                           false) AS "retry!",
                  s.end_reason, s.expires_at AS session_expires_at,
                  s.expires_at <= now() AS "session_expired!",
                  u.deactivated_at IS NOT NULL AS "deactivated!"
           FROM auth.refresh_tokens t
           JOIN auth.sessions s ON s.id = t.family_id
           JOIN auth.users u ON u.id = t.user_id
           WHERE t.token_hash = $1
           FOR UPDATE OF s, t"#,
        hash,
        REFRESH_RETRY_LEEWAY_SECS
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
        retry: r.retry,
        session: state_of(r.deactivated, r.end_reason.as_deref(), r.session_expired),
        session_expires_at: r.session_expires_at,
    }))
}

/// How long a device may present a refresh token again after it was
/// exchanged, as long as the token it was exchanged for was never used:
/// long enough for an app to retry after its answer was lost, short
/// enough that a copied token is still caught (as Okta's rotation grace
/// period, at most 60 s there too). A copy used within it still ends the
/// sign-in at the device's next refresh: the device then presents the
/// token the copy's refresh revoked.
pub const REFRESH_RETRY_LEEWAY_SECS: f64 = 60.0;

/// A refresh retried within the leeway: the tokens handed out for `id`
/// before, which never reached the device, stop working.
pub async fn revoke_successors(tx: &mut Tx, id: Uuid) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE auth.refresh_tokens SET revoked_at = now() WHERE parent_id = $1 AND revoked_at IS NULL",
        id
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
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

/// Notes that the session's device was seen (at a refresh).
pub async fn touch_session(
    tx: &mut Tx,
    id: Uuid,
    address: Option<std::net::IpAddr>,
) -> sqlx::Result<()> {
    let address = address.map(|a| a.to_string());
    sqlx::query!(
        "UPDATE auth.sessions SET last_seen_at = now(), last_address = coalesce($2::text::inet, last_address)
         WHERE id = $1",
        id,
        address
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Ends session `id` (if it is still live) for `reason`; `by` is whoever
/// ended it when not its own device. Returns whether it was live.
pub async fn end_session(
    tx: &mut Tx,
    id: Uuid,
    reason: EndReason,
    by: Option<Uuid>,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE auth.sessions SET ended_at = now(), end_reason = $2, ended_by = $3
         WHERE id = $1 AND ended_at IS NULL",
        id,
        reason.as_str(),
        by
    )
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Ends every live session of `user` but `except`; returns how many.
pub async fn end_sessions_of(
    tx: &mut Tx,
    user: Uuid,
    except: Option<Uuid>,
    reason: EndReason,
    by: Option<Uuid>,
) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        "UPDATE auth.sessions SET ended_at = now(), end_reason = $3, ended_by = $4
         WHERE user_id = $1 AND ended_at IS NULL AND id IS DISTINCT FROM $2",
        user,
        except,
        reason.as_str(),
        by
    )
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected())
}

/// A live session as stored.
pub struct SessionRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub device_name: Option<String>,
    pub platform: Option<String>,
    pub created_at: DateTime<Utc>,
    pub first_address: Option<String>,
    pub last_seen_at: DateTime<Utc>,
    pub last_address: Option<String>,
    pub expires_at: DateTime<Utc>,
}

impl SessionRow {
    pub fn into_device(self, current: Uuid) -> crm_domain::auth::DeviceSession {
        // inet's text form carries a prefix length for single hosts only
        // when it is not the whole address: "10.0.0.7/32" never appears,
        // but strip one anyway so the list shows plain addresses.
        let plain =
            |a: Option<String>| a.map(|a| a.split('/').next().unwrap_or_default().to_owned());
        crm_domain::auth::DeviceSession {
            current: self.id == current,
            id: self.id,
            device_name: self.device_name,
            platform: self.platform,
            created_at: self.created_at,
            first_address: plain(self.first_address),
            last_seen_at: self.last_seen_at,
            last_address: plain(self.last_address),
            expires_at: self.expires_at,
        }
    }
}

/// The user's live sessions, newest first.
pub async fn live_sessions(tx: &mut Tx, user: Uuid) -> sqlx::Result<Vec<SessionRow>> {
    sqlx::query_as!(
        SessionRow,
        r#"SELECT id, user_id, device_name, platform, created_at, first_address::text AS first_address,
                  last_seen_at, last_address::text AS last_address, expires_at
           FROM auth.sessions
           WHERE user_id = $1 AND ended_at IS NULL AND expires_at > now()
           ORDER BY last_seen_at DESC, id DESC"#,
        user
    )
    .fetch_all(&mut **tx)
    .await
}

/// The session `id`, if it is live.
pub async fn live_session(tx: &mut Tx, id: Uuid) -> sqlx::Result<Option<SessionRow>> {
    sqlx::query_as!(
        SessionRow,
        r#"SELECT id, user_id, device_name, platform, created_at, first_address::text AS first_address,
                  last_seen_at, last_address::text AS last_address, expires_at
           FROM auth.sessions
           WHERE id = $1 AND ended_at IS NULL AND expires_at > now()"#,
        id
    )
    .fetch_optional(&mut **tx)
    .await
}
