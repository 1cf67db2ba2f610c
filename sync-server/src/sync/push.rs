//! `POST /sync/push`: applies a batch of mutations exactly once each.
//!
//! One transaction per batch. The client's row in `sync.clients` is locked
//! first, so two pushes of one client never interleave. Each mutation then
//! either replays (its number is at or below the client's last: the stored
//! outcome is returned, nothing changes) or is applied as the user by the
//! data service (`crate::data::write`), with its audit rows naming the
//! client and sequence number. A mutation the rules refuse is recorded as
//! rejected, consuming its number; the others are unaffected. A transient
//! failure (database gone) aborts the whole batch, so the client retries the
//! same numbers and nothing is half-done. This module holds only the
//! protocol's bookkeeping: client ids, sequence numbers, replays, stored
//! outcomes.

use axum::extract::State;
use crm_domain::codes::ErrorCode;
use crm_domain::protocol::{Mutation, MutationOutcome, MutationResult, PushRequest, PushResponse};
use serde_json::Value;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use super::{check_batch, negotiate};
use crate::accounts::AuthUser;
use crate::data::{self, acting::act_as_service};
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::limits::Budget;
use crate::state::AppState;

type Tx = Transaction<'static, Postgres>;

#[utoipa::path(post, path = "/sync/push", tag = "sync", security(("bearer" = [])),
    request_body(content = crm_domain::protocol::PushRequest, description = "A batch of outbox mutations (see docs/sync-protocol.md)"),
    responses((status = 200, description = "An outcome per mutation, and last_seq", body = crm_domain::protocol::PushResponse),
        (status = 400, body = crate::error::ErrorBody), (status = 409, description = "sequence_gap", body = crate::error::ErrorBody),
        (status = 426, description = "the app must be updated; it keeps its outbox", body = crate::error::ErrorBody)))]
#[tracing::instrument(name = "push", skip_all, fields(user = %user.id, client = %req.client_id, n = req.mutations.len()))]
pub(crate) async fn push(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(req): ApiJson<PushRequest>,
) -> ApiResult<ApiJson<PushResponse>> {
    negotiate(req.protocol_version)?;
    state.budgets.spend(Budget::Push, user.id)?;
    check_batch(&req.mutations)?;

    let mut tx = state.pool.begin().await?;
    act_as_service(&mut tx).await?;
    let first_seq = req.mutations.first().map_or(1, |m| m.seq);
    let last_seq = claim_client(&mut tx, req.client_id, user.id, first_seq).await?;

    // Replays come first (numbers in a batch are consecutive): their stored
    // outcomes, nothing applied. A number whose stored mutation is another
    // one means a restored or copied replica (M4): the replays before it
    // are answered, the rest waits for the client's new id.
    let mut results = Vec::with_capacity(req.mutations.len());
    for m in req.mutations.iter().take_while(|m| m.seq <= last_seq) {
        match stored_result(&mut tx, req.client_id, m).await? {
            Some(result) => results.push(result),
            None => {
                tracing::info!(
                    seq = m.seq,
                    "a replica's numbering forked; the client takes a new id"
                );
                return Ok(ApiJson(PushResponse {
                    results,
                    last_seq: m.seq - 1,
                    forked: true,
                }));
            }
        }
    }
    let fresh = &req.mutations[results.len()..];
    if let Some(first) = fresh.first()
        && first.seq != last_seq + 1
    {
        return Err(ApiError::Conflict {
            code: ErrorCode::SequenceGap,
            message: format!(
                "expected mutation {} next, got {}; send the missing ones first",
                last_seq + 1,
                first.seq
            ),
        });
    }

    let principal = user.principal();
    let mut outcomes = data::write::apply(&mut tx, &principal, req.client_id, fresh).await?;

    act_as_service(&mut tx).await?;
    // A refusal because the row left the user's reach says what happened.
    for (m, outcome) in fresh.iter().zip(outcomes.iter_mut()) {
        if let MutationOutcome::Rejected { code, reason, .. } = outcome
            && super::refusals::may_explain(*code)
        {
            *reason = super::refusals::reason_for(&mut tx, m).await?;
        }
    }
    let last = fresh.last().map_or(last_seq, |m| m.seq);
    if !fresh.is_empty() {
        let stored: Vec<Value> = outcomes
            .iter()
            .map(serde_json::to_value)
            .collect::<Result<_, _>>()
            .map_err(ApiError::internal)?;
        let seqs: Vec<i64> = fresh.iter().map(|m| m.seq).collect();
        let tables: Vec<String> = fresh.iter().map(|m| m.table.name().to_owned()).collect();
        let rows: Vec<Uuid> = fresh.iter().map(|m| m.row_id).collect();
        let fingerprints: Vec<String> = fresh.iter().map(Mutation::fingerprint).collect();
        sqlx::query!(
            "INSERT INTO sync.client_mutations (client_id, seq, table_name, row_id, outcome, fingerprint)
             SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::uuid[], $5::jsonb[], $6::text[])",
            req.client_id,
            &seqs,
            &tables,
            &rows,
            &stored,
            &fingerprints
        )
        .execute(&mut *tx)
        .await?;
    }
    results.extend(
        fresh
            .iter()
            .zip(outcomes)
            .map(|(m, outcome)| MutationResult {
                seq: m.seq,
                outcome,
            }),
    );
    sqlx::query!(
        "UPDATE sync.clients SET last_seq = $2, last_push_at = now() WHERE client_id = $1",
        req.client_id,
        last
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(ApiJson(PushResponse {
        results,
        last_seq: last,
        forked: false,
    }))
}

/// The client's last settled sequence number, registering the client on its
/// first push. A client id belongs to one user for good. A new client's
/// numbering starts with its first push (a replica that took a new id
/// after a fork goes on from where its outbox is).
async fn claim_client(tx: &mut Tx, client: Uuid, user: Uuid, first_seq: i64) -> ApiResult<i64> {
    sqlx::query!(
        "INSERT INTO sync.clients (client_id, user_id, last_seq) VALUES ($1, $2, $3)
         ON CONFLICT (client_id) DO NOTHING",
        client,
        user,
        (first_seq - 1).max(0)
    )
    .execute(&mut **tx)
    .await?;
    let row = sqlx::query!(
        "SELECT user_id, last_seq FROM sync.clients WHERE client_id = $1 FOR UPDATE",
        client
    )
    .fetch_one(&mut **tx)
    .await?;
    if row.user_id != user {
        return Err(ApiError::forbidden(
            ErrorCode::ClientOfAnotherUser,
            "this client id belongs to another account; each account syncs with a client id of its own",
        ));
    }
    Ok(row.last_seq)
}

/// The stored answer to a replayed mutation; `None` when the server holds
/// another mutation under its number, or no longer knows what it held (a
/// replay older than what is kept: a very old copy of the replica).
async fn stored_result(
    tx: &mut Tx,
    client: Uuid,
    m: &Mutation,
) -> ApiResult<Option<MutationResult>> {
    let Some(stored) = sqlx::query!(
        "SELECT outcome, fingerprint FROM sync.client_mutations WHERE client_id = $1 AND seq = $2",
        client,
        m.seq
    )
    .fetch_optional(&mut **tx)
    .await?
    else {
        return Ok(None);
    };
    if stored
        .fingerprint
        .is_some_and(|fingerprint| fingerprint != m.fingerprint())
    {
        return Ok(None);
    }
    let outcome = serde_json::from_value(stored.outcome).map_err(ApiError::internal)?;
    Ok(Some(MutationResult {
        seq: m.seq,
        outcome,
    }))
}
