//! Acting for someone: the one place that switches a transaction's role
//! and sets the claims PostgreSQL's `auth.uid()`, `auth.role()` and
//! `auth.integration_token_id()` read (and, for a synced change, the client
//! and sequence number its audit rows name). Every piece of user data is
//! reached inside a transaction running as the `authenticated` role with
//! the caller's claims, so that row-level security and the audit triggers
//! decide, never the service's own rights. Both settings are
//! transaction-local: they end with the transaction and never leak into a
//! pooled connection's next user.

use serde::Serialize;
use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::Principal;
use crate::db::DbError;

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

/// Switches a transaction back to the caller's role after a stretch as the
/// service; the claims set by [`act_as`] (or [`act_for_change`]) still stand.
pub async fn back_to_caller(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
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

/// Acts as `principal` for the synced changes that follow, naming the
/// client and the sequence number of the first in their audit rows.
pub async fn act_for_change(
    conn: &mut PgConnection,
    principal: &Principal,
    client: Uuid,
    seq: i64,
) -> Result<(), DbError> {
    let claims = serde_json::to_string(&principal.claims())
        .map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
    sqlx::query!(
        "SELECT set_config('role', 'authenticated', true) AS role,
                set_config('request.jwt.claims', $1, true) AS claims,
                set_config('crm.client_id', $2, true) AS client,
                set_config('crm.client_seq', $3, true) AS seq",
        claims,
        client.to_string(),
        seq.to_string()
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(())
}
