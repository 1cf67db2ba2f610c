//! `POST /sync/push`: applies a batch of mutations exactly once each.
//!
//! One transaction per batch. The client's row in `sync.clients` is locked
//! first, so two pushes of one client never interleave. Each mutation then
//! either replays (its number is at or below the client's last: the stored
//! outcome is returned, nothing changes) or is applied inside a savepoint as
//! the user, with its audit rows naming the client and sequence number. A
//! mutation the rules refuse is rolled back to its savepoint and recorded as
//! rejected, consuming its number; the others are unaffected. A transient
//! failure (database gone) aborts the whole batch, so the client retries the
//! same numbers and nothing is half-done.

use axum::extract::State;
use chrono::{DateTime, Utc};
use crm_domain::merge::{FieldDecision, ServerField, decide_field};
use crm_domain::protocol::{
    FieldChange, FieldConflict, Mutation, MutationOp, MutationOutcome, MutationResult, PushRequest,
    PushResponse, SyncTable,
};
use serde_json::Value;
use sqlx::{Executor, Postgres, Transaction};
use uuid::Uuid;

use super::{Values, check_batch, negotiate, validate_values};
use crate::accounts::AuthUser;
use crate::app::AppState;
use crate::error::{ApiError, ApiJson, ApiResult};

type Tx = Transaction<'static, Postgres>;

#[utoipa::path(post, path = "/sync/push", tag = "sync", security(("bearer" = [])),
    request_body(content = Object, description = "PushRequest (crm_domain::protocol; see docs/sync-protocol.md)"),
    responses((status = 200, description = "PushResponse: an outcome per mutation, and last_seq", body = Object),
        (status = 400, body = crate::error::ErrorBody), (status = 409, description = "sequence_gap", body = crate::error::ErrorBody),
        (status = 426, description = "the app must be updated; it keeps its outbox", body = crate::error::ErrorBody)))]
#[tracing::instrument(name = "push", skip_all, fields(user = %user.id, client = %req.client_id, n = req.mutations.len()))]
pub(crate) async fn push(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(req): ApiJson<PushRequest>,
) -> ApiResult<ApiJson<PushResponse>> {
    negotiate(req.protocol_version)?;
    check_batch(&req.mutations)?;

    let mut tx = state.pool.begin().await?;
    act_as_service(&mut tx).await?;
    let last_seq = claim_client(&mut tx, req.client_id, user.id).await?;

    let mut results = Vec::with_capacity(req.mutations.len());
    let mut last = last_seq;
    for m in &req.mutations {
        if m.seq <= last_seq {
            results.push(stored_result(&mut tx, req.client_id, m.seq).await?);
            continue;
        }
        if m.seq != last + 1 {
            return Err(ApiError::Conflict {
                code: "sequence_gap",
                message: format!(
                    "expected mutation {} next, got {}; send the missing ones first",
                    last + 1,
                    m.seq
                ),
            });
        }
        let outcome = apply(&mut tx, &user, req.client_id, m).await?;
        act_as_service(&mut tx).await?;
        let stored = serde_json::to_value(&outcome).map_err(ApiError::internal)?;
        sqlx::query!(
            "INSERT INTO sync.client_mutations (client_id, seq, table_name, row_id, outcome) VALUES ($1, $2, $3, $4, $5)",
            req.client_id,
            m.seq,
            m.table.name(),
            m.row_id,
            stored
        )
        .execute(&mut *tx)
        .await?;
        results.push(MutationResult {
            seq: m.seq,
            outcome,
        });
        last = m.seq;
    }
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
    }))
}

async fn act_as_service(tx: &mut Tx) -> Result<(), sqlx::Error> {
    sqlx::query!("SELECT set_config('role', 'service_role', true) AS role")
        .fetch_one(&mut **tx)
        .await?;
    Ok(())
}

/// The client's last settled sequence number, registering the client on its
/// first push. A client id belongs to one user for good.
async fn claim_client(tx: &mut Tx, client: Uuid, user: Uuid) -> ApiResult<i64> {
    sqlx::query!(
        "INSERT INTO sync.clients (client_id, user_id) VALUES ($1, $2) ON CONFLICT (client_id) DO NOTHING",
        client,
        user
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
            "client_of_another_user",
            "this client id belongs to another account; each account syncs with a client id of its own",
        ));
    }
    Ok(row.last_seq)
}

async fn stored_result(tx: &mut Tx, client: Uuid, seq: i64) -> ApiResult<MutationResult> {
    let stored = sqlx::query_scalar!(
        "SELECT outcome FROM sync.client_mutations WHERE client_id = $1 AND seq = $2",
        client,
        seq
    )
    .fetch_one(&mut **tx)
    .await?;
    let outcome = serde_json::from_value(stored).map_err(ApiError::internal)?;
    Ok(MutationResult { seq, outcome })
}

/// Why a mutation was refused, in words for the agent.
fn rejected(code: &str, message: impl Into<String>) -> MutationOutcome {
    MutationOutcome::Rejected {
        code: code.into(),
        message: message.into(),
    }
}

/// Applies one mutation in a savepoint. `Ok` carries the outcome (a refusal
/// included); `Err` only for failures that are not the mutation's fault.
async fn apply(
    tx: &mut Tx,
    user: &AuthUser,
    client: Uuid,
    m: &Mutation,
) -> ApiResult<MutationOutcome> {
    tx.execute("SAVEPOINT mutation").await?;
    let claims = serde_json::to_string(&user.claims()).map_err(ApiError::internal)?;
    sqlx::query!(
        "SELECT set_config('role', 'authenticated', true) AS role,
                set_config('request.jwt.claims', $1, true) AS claims,
                set_config('crm.client_id', $2, true) AS client,
                set_config('crm.client_seq', $3, true) AS seq",
        claims,
        client.to_string(),
        m.seq.to_string()
    )
    .fetch_one(&mut **tx)
    .await?;

    // The agent's clock may run ahead; it must not win every merge for that.
    let edited_at = m.edited_at.min(Utc::now());
    let result = match &m.op {
        MutationOp::Insert { values } => insert(tx, user, client, m, values, edited_at).await,
        MutationOp::Update { changes } => update(tx, user, client, m, changes, edited_at).await,
        MutationOp::Delete => delete(tx, m).await,
    };
    match result {
        Ok(MutationOutcome::Rejected { code, message }) => {
            tx.execute("ROLLBACK TO SAVEPOINT mutation").await?;
            Ok(MutationOutcome::Rejected { code, message })
        }
        Ok(outcome) => {
            tx.execute("RELEASE SAVEPOINT mutation").await?;
            Ok(outcome)
        }
        Err(sqlx::Error::Database(e)) if refusal(e.code().as_deref()).is_some() => {
            tx.execute("ROLLBACK TO SAVEPOINT mutation").await?;
            let code = refusal(e.code().as_deref()).unwrap_or("refused");
            tracing::debug!(seq = m.seq, code, error = %e.message(), "mutation rejected");
            Ok(rejected(code, explain(code, e.message())))
        }
        Err(e) => Err(e.into()),
    }
}

/// SQLSTATEs that mean "the rules refuse this change", as opposed to "the
/// database is in trouble" (which aborts the batch for a retry).
fn refusal(sqlstate: Option<&str>) -> Option<&'static str> {
    Some(match sqlstate? {
        "42501" => "forbidden",
        "23514" | "P0001" => "not_allowed",
        "23505" => "already_exists",
        "23503" => "missing_reference",
        "23502" => "missing_value",
        "22P02" | "22007" | "22008" | "22003" | "22001" | "22023" | "22P05" => "invalid_value",
        _ => return None,
    })
}

/// A message for the agent. Our own policies' and triggers' messages are
/// written for people; the generic ones get plain words.
fn explain(code: &str, db_message: &str) -> String {
    match code {
        "forbidden" if db_message.starts_with("new row violates row-level security") => {
            "you are not allowed to make this change".into()
        }
        "already_exists" => "this already exists".into(),
        "missing_reference" => "it refers to something that does not exist (any more)".into(),
        _ => db_message.to_owned(),
    }
}

async fn insert(
    tx: &mut Tx,
    user: &AuthUser,
    client: Uuid,
    m: &Mutation,
    values: &Values,
    edited_at: DateTime<Utc>,
) -> Result<MutationOutcome, sqlx::Error> {
    if let Err(errors) = validate_values(m.table, values.iter()) {
        return Ok(rejected("validation_failed", errors.to_string()));
    }
    let values_json = Value::Object(values.clone().into_iter().collect());
    sqlx::query!(
        "SELECT sync.apply_insert($1, $2, $3)",
        m.table.name(),
        m.row_id,
        values_json
    )
    .fetch_one(&mut **tx)
    .await?;
    let fields: Vec<&str> = values.keys().map(String::as_str).collect();
    record_clock(tx, user, client, m, &fields, edited_at).await?;
    Ok(MutationOutcome::Applied)
}

async fn delete(tx: &mut Tx, m: &Mutation) -> Result<MutationOutcome, sqlx::Error> {
    let deleted = sqlx::query_scalar!(
        r#"SELECT sync.apply_delete($1, $2) AS "deleted!""#,
        m.table.name(),
        m.row_id
    )
    .fetch_one(&mut **tx)
    .await?;
    if !deleted {
        return Ok(rejected(
            "not_found",
            "it was already deleted, or you may not delete it",
        ));
    }
    act_as_service(tx).await?;
    sqlx::query!(
        "DELETE FROM sync.field_clock WHERE table_name = $1 AND row_id = $2",
        m.table.name(),
        m.row_id
    )
    .execute(&mut **tx)
    .await?;
    Ok(MutationOutcome::Applied)
}

async fn update(
    tx: &mut Tx,
    user: &AuthUser,
    client: Uuid,
    m: &Mutation,
    changes: &std::collections::BTreeMap<String, FieldChange>,
    edited_at: DateTime<Utc>,
) -> Result<MutationOutcome, sqlx::Error> {
    if let Err(errors) = validate_values(m.table, changes.iter().map(|(k, c)| (k, &c.value))) {
        return Ok(rejected("validation_failed", errors.to_string()));
    }
    let table = m.table.name();
    let current = sqlx::query_scalar!("SELECT sync.current_row($1, $2)", table, m.row_id)
        .fetch_one(&mut **tx)
        .await?;
    let Some(Value::Object(current)) = current else {
        return Ok(rejected(
            "not_found",
            "it no longer exists, or you can no longer see it",
        ));
    };
    let bases = Value::Object(
        changes
            .iter()
            .map(|(k, c)| (k.clone(), c.base.clone()))
            .collect(),
    );
    let news = Value::Object(
        changes
            .iter()
            .map(|(k, c)| (k.clone(), c.value.clone()))
            .collect(),
    );
    let normalized = sqlx::query!(
        r#"SELECT sync.normalize($1, $2) AS "bases!", sync.normalize($1, $3) AS "news!""#,
        table,
        bases,
        news
    )
    .fetch_one(&mut **tx)
    .await?;

    act_as_service(tx).await?;
    let clocks = sqlx::query!(
        "SELECT field, edited_at, edited_by FROM sync.field_clock WHERE table_name = $1 AND row_id = $2",
        table,
        m.row_id
    )
    .fetch_all(&mut **tx)
    .await?;
    // A field never edited through sync counts as edited when the row last was.
    let row_edited_at = ["updated_at", "created_at", "assigned_at", "uploaded_at"]
        .iter()
        .find_map(|k| current.get(*k).and_then(Value::as_str))
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map_or(DateTime::<Utc>::MIN_UTC, |t| t.with_timezone(&Utc));

    let mut to_apply = serde_json::Map::new();
    let mut conflicts = Vec::new();
    for field in changes.keys() {
        let base = &normalized.bases[field];
        let value = &normalized.news[field];
        let server_value = current.get(field).unwrap_or(&Value::Null);
        let clock = clocks.iter().find(|c| &c.field == field);
        let server = ServerField {
            value: server_value,
            edited_at: clock.map_or(row_edited_at, |c| c.edited_at),
        };
        let server_editor = clock.and_then(|c| c.edited_by);
        match decide_field(
            field,
            base,
            value,
            &server,
            edited_at,
            m.table == SyncTable::Tickets,
        ) {
            FieldDecision::Apply => {
                to_apply.insert(field.clone(), value.clone());
            }
            FieldDecision::AlreadyThere => {}
            FieldDecision::ApplyOverwriting => {
                to_apply.insert(field.clone(), value.clone());
                let id = record_conflict(
                    tx,
                    m,
                    client,
                    field,
                    value,
                    server_value,
                    Some(user.id),
                    server_editor,
                )
                .await?;
                conflicts.push(FieldConflict {
                    conflict_id: id,
                    field: field.clone(),
                    kept: value.clone(),
                    lost: server_value.clone(),
                    lost_is_yours: false,
                });
            }
            FieldDecision::KeepServer => {
                let id = record_conflict(
                    tx,
                    m,
                    client,
                    field,
                    server_value,
                    value,
                    server_editor,
                    Some(user.id),
                )
                .await?;
                conflicts.push(FieldConflict {
                    conflict_id: id,
                    field: field.clone(),
                    kept: server_value.clone(),
                    lost: value.clone(),
                    lost_is_yours: true,
                });
            }
        }
    }

    if !to_apply.is_empty() {
        sqlx::query!("SELECT set_config('role', 'authenticated', true) AS role")
            .fetch_one(&mut **tx)
            .await?;
        let updated = sqlx::query_scalar!(
            r#"SELECT sync.apply_update($1, $2, $3) AS "updated!""#,
            table,
            m.row_id,
            Value::Object(to_apply.clone())
        )
        .fetch_one(&mut **tx)
        .await?;
        if !updated {
            return Ok(rejected(
                "forbidden",
                "you are not allowed to make this change",
            ));
        }
        let fields: Vec<&str> = to_apply.keys().map(String::as_str).collect();
        record_clock(tx, user, client, m, &fields, edited_at).await?;
    }
    if conflicts.is_empty() {
        Ok(MutationOutcome::Applied)
    } else {
        Ok(MutationOutcome::Merged { conflicts })
    }
}

#[allow(clippy::too_many_arguments)]
async fn record_conflict(
    tx: &mut Tx,
    m: &Mutation,
    client: Uuid,
    field: &str,
    kept: &Value,
    lost: &Value,
    kept_by: Option<Uuid>,
    lost_by: Option<Uuid>,
) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar!(
        "INSERT INTO sync.conflicts (table_name, row_id, field, kept_value, lost_value, kept_by, lost_by, client_id, client_seq)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        m.table.name(),
        m.row_id,
        field,
        kept,
        lost,
        kept_by,
        lost_by,
        client,
        m.seq
    )
    .fetch_one(&mut **tx)
    .await
}

/// Remembers when (by the editor's clock) and by whom these fields were last
/// set, for the next merge.
async fn record_clock(
    tx: &mut Tx,
    user: &AuthUser,
    client: Uuid,
    m: &Mutation,
    fields: &[&str],
    edited_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    act_as_service(tx).await?;
    let fields: Vec<String> = fields.iter().map(|f| (*f).to_owned()).collect();
    sqlx::query!(
        "INSERT INTO sync.field_clock (table_name, row_id, field, edited_at, edited_by, client_id, client_seq)
         SELECT $1, $2, f, $4, $5, $6, $7 FROM unnest($3::text[]) f
         ON CONFLICT (table_name, row_id, field) DO UPDATE
         SET edited_at = GREATEST(sync.field_clock.edited_at, excluded.edited_at), edited_by = excluded.edited_by,
             client_id = excluded.client_id, client_seq = excluded.client_seq",
        m.table.name(),
        m.row_id,
        &fields,
        edited_at,
        user.id,
        client,
        m.seq
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}
