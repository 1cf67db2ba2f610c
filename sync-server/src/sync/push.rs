//! `POST /sync/push`: applies a batch of mutations exactly once each.
//!
//! One transaction per batch. The client's row in `sync.clients` is locked
//! first, so two pushes of one client never interleave. Each mutation then
//! either replays (its number is at or below the client's last: the stored
//! outcome is returned, nothing changes) or is applied as the user, with its
//! audit rows naming the client and sequence number: updates one at a time
//! in a savepoint; runs of inserts and deletes in one database call, where
//! consecutive inserts into one table writing the same columns go in as one
//! multi-row statement (faster by ~8x), split up only when a row of it is
//! refused. A mutation the rules refuse is rolled back alone and recorded as
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

use super::{check_batch, negotiate, validate_values};
use crate::accounts::AuthUser;
use crate::db::{act_as_service, back_to_user};
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::state::AppState;

type Tx = Transaction<'static, Postgres>;

/// Most conflicts one push may record (security review M7: a client could
/// otherwise bury a colleague's inbox). An honest device's edits conflict
/// now and then; a push that would exceed this has its excess mutations
/// refused, each with a sentence, and the rest applied.
const MAX_CONFLICTS_PER_PUSH: usize = 500;

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
    check_batch(&req.mutations)?;

    let mut tx = state.pool.begin().await?;
    act_as_service(&mut tx).await?;
    let last_seq = claim_client(&mut tx, req.client_id, user.id).await?;

    // Replays come first (numbers in a batch are consecutive): their stored
    // outcomes, nothing applied.
    let mut results = Vec::with_capacity(req.mutations.len());
    for m in req.mutations.iter().take_while(|m| m.seq <= last_seq) {
        results.push(stored_result(&mut tx, req.client_id, m.seq).await?);
    }
    let fresh = &req.mutations[results.len()..];
    if let Some(first) = fresh.first()
        && first.seq != last_seq + 1
    {
        return Err(ApiError::Conflict {
            code: "sequence_gap",
            message: format!(
                "expected mutation {} next, got {}; send the missing ones first",
                last_seq + 1,
                first.seq
            ),
        });
    }

    // Runs of inserts and deletes go to the database in one call; updates
    // one by one, through the merge.
    let mut outcomes = Vec::with_capacity(fresh.len());
    let mut conflict_budget = MAX_CONFLICTS_PER_PUSH;
    let mut rest = fresh;
    while let Some(m) = rest.first() {
        if let MutationOp::Update { changes } = &m.op {
            outcomes.push(
                apply_update(
                    &mut tx,
                    &user,
                    req.client_id,
                    m,
                    changes,
                    &mut conflict_budget,
                )
                .await?,
            );
            rest = &rest[1..];
        } else {
            let len = rest
                .iter()
                .position(|m| matches!(m.op, MutationOp::Update { .. }))
                .unwrap_or(rest.len());
            outcomes.extend(apply_run(&mut tx, &user, req.client_id, &rest[..len]).await?);
            rest = &rest[len..];
        }
    }

    act_as_service(&mut tx).await?;
    // A refusal because the row left the user's reach says what happened.
    for (m, outcome) in fresh.iter().zip(outcomes.iter_mut()) {
        if let MutationOutcome::Rejected { code, reason, .. } = outcome
            && super::refusals::may_explain(code)
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
        sqlx::query!(
            "INSERT INTO sync.client_mutations (client_id, seq, table_name, row_id, outcome)
             SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::uuid[], $5::jsonb[])",
            req.client_id,
            &seqs,
            &tables,
            &rows,
            &stored
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
    }))
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
        reason: None,
    }
}

/// Sets the role, claims and client for the mutations that follow.
async fn act_as_user(tx: &mut Tx, user: &AuthUser, client: Uuid, seq: i64) -> ApiResult<()> {
    let claims = serde_json::to_string(&user.claims()).map_err(ApiError::internal)?;
    sqlx::query!(
        "SELECT set_config('role', 'authenticated', true) AS role,
                set_config('request.jwt.claims', $1, true) AS claims,
                set_config('crm.client_id', $2, true) AS client,
                set_config('crm.client_seq', $3, true) AS seq",
        claims,
        client.to_string(),
        seq.to_string()
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok(())
}

/// Applies a run of inserts and deletes in one call (`sync.apply_run`);
/// then records the field clocks of the inserted rows and drops those of
/// the deleted ones, in bulk.
///
/// The run goes as groups (see [`same_group`]): the database applies a
/// group of inserts as one multi-row statement; if a row of it is refused,
/// the statement rolls back whole and the group goes again in halves, down
/// to one mutation at a time in a subtransaction of its own, so exactly the
/// refused mutations are rejected (`sync.apply_group`).
async fn apply_run(
    tx: &mut Tx,
    user: &AuthUser,
    client: Uuid,
    run: &[Mutation],
) -> ApiResult<Vec<MutationOutcome>> {
    let mut outcomes: Vec<Option<MutationOutcome>> = vec![None; run.len()];
    let mut groups: Vec<Group> = Vec::new();
    for (k, m) in run.iter().enumerate() {
        // The row as the statement inserts it: the values and the id.
        let row = match &m.op {
            MutationOp::Insert { values } => match validate_values(m.table, values.iter()) {
                Err(errors) => {
                    outcomes[k] = Some(rejected("validation_failed", errors.to_string()));
                    continue;
                }
                Ok(()) => {
                    let mut row: serde_json::Map<String, Value> =
                        values.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                    row.insert("id".into(), Value::String(m.row_id.to_string()));
                    row
                }
            },
            MutationOp::Delete => {
                serde_json::Map::from_iter([("id".into(), Value::String(m.row_id.to_string()))])
            }
            MutationOp::Update { .. } => {
                return Err(ApiError::internal(anyhow::anyhow!(
                    "an update in an insert run"
                )));
            }
        };
        let id = m.row_id.to_string();
        match groups.last_mut() {
            Some(group) if same_group(group.first, m) && !group.seqs.contains_key(&id) => {
                group.rows.push(Value::Object(row));
                group.seqs.insert(id, m.seq.into());
            }
            _ => groups.push(Group {
                first: m,
                rows: vec![Value::Object(row)],
                seqs: serde_json::Map::from_iter([(id, m.seq.into())]),
            }),
        }
    }
    let payload: Vec<Value> = groups.into_iter().map(Group::into_json).collect();
    if !payload.is_empty() {
        act_as_user(tx, user, client, run[0].seq).await?;
        let applied = sqlx::query!(
            r#"SELECT seq AS "seq!", err_code, err_message FROM sync.apply_run($1)"#,
            Value::Array(payload)
        )
        .fetch_all(&mut **tx)
        .await?;
        for row in applied {
            let k = usize::try_from(row.seq - run[0].seq).map_err(ApiError::internal)?;
            outcomes[k] = Some(
                match (
                    row.err_code.as_deref(),
                    row.err_message.as_deref().unwrap_or(""),
                ) {
                    (None, _) => MutationOutcome::Applied,
                    (Some("P0002"), _) => rejected(
                        "not_found",
                        "it was already deleted, or you may not delete it",
                    ),
                    (Some(code), message) => match refusal(Some(code)) {
                        Some(kind) => {
                            tracing::debug!(seq = row.seq, code, message, "mutation rejected");
                            rejected(kind, explain(kind, message))
                        }
                        // Not the mutation's fault: abort the push, the client
                        // retries the same numbers.
                        None if ["08", "40", "53", "57"]
                            .iter()
                            .any(|class| code.starts_with(class)) =>
                        {
                            return Err(ApiError::Unavailable);
                        }
                        None => {
                            return Err(ApiError::internal(anyhow::anyhow!(
                                "mutation {}: {code} {message}",
                                row.seq
                            )));
                        }
                    },
                },
            );
        }
    }

    // Field clocks: one per applied insert, for the fields it set (see
    // ..._insert_clocks.sql); none for deleted rows.
    let mut inserted = InsertClocks::default();
    let mut gone = (Vec::new(), Vec::new());
    for (m, outcome) in run.iter().zip(&outcomes) {
        if outcome != &Some(MutationOutcome::Applied) {
            continue;
        }
        match &m.op {
            MutationOp::Insert { values } => inserted.add(m, values.keys()),
            _ => {
                gone.0.push(m.table.name().to_owned());
                gone.1.push(m.row_id);
            }
        }
    }
    act_as_service(&mut *tx).await?;
    inserted.write(tx, user, client).await?;
    if !gone.0.is_empty() {
        sqlx::query!(
            "DELETE FROM sync.field_clock c USING unnest($1::text[], $2::uuid[]) AS g(t, r)
             WHERE c.table_name = g.t AND c.row_id = g.r",
            &gone.0,
            &gone.1
        )
        .execute(&mut **tx)
        .await?;
    }
    outcomes
        .into_iter()
        .map(|o| {
            o.ok_or_else(|| {
                ApiError::internal(anyhow::anyhow!("a mutation of the run got no outcome"))
            })
        })
        .collect()
}

/// Mutations of a run that the database applies together: the rows as
/// the statement takes them (values and `id`), and each row id's sequence
/// number, for its audit row. A row id is never in a group twice.
struct Group<'a> {
    first: &'a Mutation,
    rows: Vec<Value>,
    seqs: serde_json::Map<String, Value>,
}

impl Group<'_> {
    /// The group as `sync.apply_run` takes it.
    fn into_json(self) -> Value {
        let op = if matches!(self.first.op, MutationOp::Insert { .. }) {
            "insert"
        } else {
            "delete"
        };
        Value::Object(serde_json::Map::from_iter([
            ("table".into(), self.first.table.name().into()),
            ("op".into(), op.into()),
            ("rows".into(), Value::Array(self.rows)),
            ("seqs".into(), Value::Object(self.seqs)),
        ]))
    }
}

/// Whether `m` joins the group `first` began: the same table and op and,
/// for inserts, the same columns (a multi-row insert must name the same
/// columns in every row: a column left out takes its default).
fn same_group(first: &Mutation, m: &Mutation) -> bool {
    first.table == m.table
        && match (&first.op, &m.op) {
            (MutationOp::Insert { values: a }, MutationOp::Insert { values: b }) => {
                a.keys().eq(b.keys())
            }
            (MutationOp::Delete, MutationOp::Delete) => true,
            _ => false,
        }
}

/// Applies one update in a savepoint, through the field merge. `Ok`
/// carries the outcome (a refusal included); `Err` only for failures that
/// are not the mutation's fault.
async fn apply_update(
    tx: &mut Tx,
    user: &AuthUser,
    client: Uuid,
    m: &Mutation,
    changes: &std::collections::BTreeMap<String, FieldChange>,
    conflict_budget: &mut usize,
) -> ApiResult<MutationOutcome> {
    tx.execute("SAVEPOINT mutation").await?;
    act_as_user(tx, user, client, m.seq).await?;
    // The agent's clock may run ahead; it must not win every merge for that.
    let edited_at = m.edited_at.min(Utc::now());
    match update(tx, user, client, m, changes, edited_at, conflict_budget).await {
        Ok(refused @ MutationOutcome::Rejected { .. }) => {
            tx.execute("ROLLBACK TO SAVEPOINT mutation").await?;
            Ok(refused)
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

/// Whether the user could write `values` into the row now, by writing them
/// in a savepoint that is then undone. Only a refusal of *access* counts
/// (row-level security, a guard such as "only admins change roles"): a
/// value the workflow will not take from the row's current state is still
/// a fair loss, recorded as a conflict. `Some` is the refusal to answer.
async fn may_write(
    tx: &mut Tx,
    table: &str,
    row_id: Uuid,
    values: serde_json::Map<String, Value>,
) -> Result<Option<MutationOutcome>, sqlx::Error> {
    tx.execute("SAVEPOINT may_write").await?;
    back_to_user(tx).await?;
    let tried = sqlx::query_scalar!(
        r#"SELECT sync.apply_update($1, $2, $3) AS "updated!""#,
        table,
        row_id,
        Value::Object(values)
    )
    .fetch_one(&mut **tx)
    .await;
    tx.execute("ROLLBACK TO SAVEPOINT may_write").await?;
    tx.execute("RELEASE SAVEPOINT may_write").await?;
    act_as_service(tx).await?;
    match tried {
        Ok(true) => Ok(None),
        Ok(false) => Ok(Some(rejected(
            "forbidden",
            "you are not allowed to make this change",
        ))),
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42501") => Ok(Some(
            rejected("forbidden", explain("forbidden", e.message())),
        )),
        Err(sqlx::Error::Database(e)) if refusal(e.code().as_deref()).is_some() => Ok(None),
        Err(e) => Err(e),
    }
}

/// SQLSTATEs that mean "this change can never apply as sent", as opposed
/// to "the database is in trouble" (which aborts the batch for a retry).
/// Whole classes, not a list of codes seen so far: a data exception (22)
/// or an integrity violation (23) of a kind nobody foresaw is still the
/// mutation's, and must be refused alone; letting it abort the batch would
/// have the device send it again for ever.
fn refusal(sqlstate: Option<&str>) -> Option<&'static str> {
    let code = sqlstate?;
    Some(match code {
        "42501" => "forbidden",
        "23514" | "P0001" => "not_allowed",
        "23505" => "already_exists",
        "23503" => "missing_reference",
        "23502" => "missing_value",
        // A value too large for PostgreSQL to hold (a row, an index entry).
        "54000" => "invalid_value",
        _ if code.starts_with("22") => "invalid_value",
        _ if code.starts_with("23") => "not_allowed",
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

async fn update(
    tx: &mut Tx,
    user: &AuthUser,
    client: Uuid,
    m: &Mutation,
    changes: &std::collections::BTreeMap<String, FieldChange>,
    edited_at: DateTime<Utc>,
    conflict_budget: &mut usize,
) -> Result<MutationOutcome, sqlx::Error> {
    if let Err(errors) = validate_values(m.table, changes.iter().map(|(k, c)| (k, &c.value))) {
        return Ok(rejected("validation_failed", errors.to_string()));
    }
    // The values the client saw are stored with a conflict: they must be
    // storable too (only that: they were the rules' business when written).
    if let Some((field, _)) = changes.iter().find(|(_, c)| super::holds_nul(&c.base)) {
        return Ok(rejected(
            "validation_failed",
            format!("{field}: {}", crm_domain::validation::NUL_MESSAGE),
        ));
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

    act_as_service(&mut *tx).await?;
    // Each field's clock: its own row, else the insert's if the insert set
    // it (..._insert_clocks.sql).
    let clocks = sqlx::query!(
        r#"SELECT field AS "field!", edited_at AS "edited_at!", edited_by FROM sync.field_clock
           WHERE table_name = $1 AND row_id = $2 AND field <> '*'
           UNION ALL
           SELECT f, i.edited_at, i.edited_by FROM sync.field_clock i, unnest(i.fields) f
           WHERE i.table_name = $1 AND i.row_id = $2 AND i.field = '*'
             AND NOT EXISTS (SELECT FROM sync.field_clock c
                             WHERE c.table_name = $1 AND c.row_id = $2 AND c.field = f)"#,
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

    // Each field's decision, with the server's side of it.
    let mut decided = Vec::with_capacity(changes.len());
    for field in changes.keys() {
        let server_value = current.get(field).cloned().unwrap_or(Value::Null);
        let clock = clocks.iter().find(|c| &c.field == field);
        let decision = decide_field(
            field,
            &normalized.bases[field.as_str()],
            &normalized.news[field.as_str()],
            &ServerField {
                value: &server_value,
                edited_at: clock.map_or(row_edited_at, |c| c.edited_at),
            },
            edited_at,
            m.table == SyncTable::Tickets,
        );
        decided.push((
            field,
            decision,
            server_value,
            clock.and_then(|c| c.edited_by),
        ));
    }

    // A losing value is recorded as a conflict only if the user could have
    // written it: the server keeps its value because it is newer, not
    // because this user may never change it. Without this check a stale
    // base and an old edit time forge conflicts (a colleague's inbox
    // flooded with values the user may not write, each one click from being
    // written as the colleague's own edit: security review M7).
    let losing: serde_json::Map<String, Value> = decided
        .iter()
        .filter(|(_, d, _, _)| *d == FieldDecision::KeepServer)
        .map(|(field, ..)| ((*field).clone(), normalized.news[field.as_str()].clone()))
        .collect();
    if !losing.is_empty()
        && let Some(refused) = may_write(tx, table, m.row_id, losing).await?
    {
        return Ok(refused);
    }
    // And no push records more than its share: an honest device's edits
    // conflict now and then, never by the thousand.
    let conflicting = decided
        .iter()
        .filter(|(_, d, _, _)| {
            matches!(
                d,
                FieldDecision::KeepServer | FieldDecision::ApplyOverwriting
            )
        })
        .count();
    if conflicting > *conflict_budget {
        return Ok(rejected(
            "not_allowed",
            format!(
                "this push would record more than {MAX_CONFLICTS_PER_PUSH} conflicting edits; \
                 send fewer at a time"
            ),
        ));
    }
    *conflict_budget -= conflicting;

    let mut to_apply = serde_json::Map::new();
    let mut conflicts = Vec::new();
    for (field, decision, server_value, server_editor) in decided {
        let value = &normalized.news[field.as_str()];
        match decision {
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
                    &server_value,
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
                    &server_value,
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
        back_to_user(tx).await?;
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
    act_as_service(&mut *tx).await?;
    let mut clocks = FieldClocks::default();
    clocks.add(m, fields.iter().copied(), edited_at);
    clocks.write(tx, user, client).await
}

/// Field clocks to record, written in one statement. The one place that
/// says how a clock moves: never back in time.
#[derive(Default)]
struct FieldClocks {
    tables: Vec<String>,
    rows: Vec<Uuid>,
    fields: Vec<String>,
    edited_at: Vec<DateTime<Utc>>,
    seqs: Vec<i64>,
}

impl FieldClocks {
    fn add<'a>(
        &mut self,
        m: &Mutation,
        fields: impl IntoIterator<Item = &'a str>,
        edited_at: DateTime<Utc>,
    ) {
        for field in fields {
            self.tables.push(m.table.name().to_owned());
            self.rows.push(m.row_id);
            self.fields.push(field.to_owned());
            self.edited_at.push(edited_at);
            self.seqs.push(m.seq);
        }
    }

    /// Writes them, as `service_role` (the caller has switched).
    async fn write(self, tx: &mut Tx, user: &AuthUser, client: Uuid) -> Result<(), sqlx::Error> {
        if self.tables.is_empty() {
            return Ok(());
        }
        // MERGE rather than INSERT ... ON CONFLICT: the same outcome (no
        // two writers reach one row's clocks at once: the row is locked
        // first), without a speculative insertion per row. A field's first
        // own clock starts no earlier than the insert's clock for it.
        sqlx::query!(
            "MERGE INTO sync.field_clock c
             USING (SELECT u.*, i.edited_at AS inserted_at
                    FROM unnest($1::text[], $2::uuid[], $3::text[], $4::timestamptz[], $5::bigint[]) AS u(t, r, f, e, s)
                    LEFT JOIN sync.field_clock i
                      ON i.table_name = u.t AND i.row_id = u.r AND i.field = '*' AND u.f = ANY (i.fields)) u
             ON c.table_name = u.t AND c.row_id = u.r AND c.field = u.f
             WHEN MATCHED THEN UPDATE
                 SET edited_at = GREATEST(c.edited_at, u.e), edited_by = $6, client_id = $7, client_seq = u.s
             WHEN NOT MATCHED THEN INSERT (table_name, row_id, field, edited_at, edited_by, client_id, client_seq)
                 VALUES (u.t, u.r, u.f, GREATEST(u.inserted_at, u.e), $6, $7, u.s)",
            &self.tables,
            &self.rows,
            &self.fields,
            &self.edited_at,
            &self.seqs,
            user.id,
            client
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}

/// The clocks of inserted rows: one per row, for the fields the insert set
/// (field `'*'`, see `..._insert_clocks.sql`), written in one statement.
#[derive(Default)]
struct InsertClocks {
    tables: Vec<String>,
    rows: Vec<Uuid>,
    edited_at: Vec<DateTime<Utc>>,
    seqs: Vec<i64>,
    /// The fields, comma-separated (column names are checked identifiers).
    fields: Vec<String>,
}

impl InsertClocks {
    fn add<'a>(&mut self, m: &Mutation, fields: impl IntoIterator<Item = &'a String>) {
        self.tables.push(m.table.name().to_owned());
        self.rows.push(m.row_id);
        // The agent's clock may run ahead; it must not win every merge for that.
        self.edited_at.push(m.edited_at.min(Utc::now()));
        self.seqs.push(m.seq);
        self.fields.push(
            fields
                .into_iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(","),
        );
    }

    /// Writes them, as `service_role` (the caller has switched). A row
    /// that somehow has one already (deleted outside sync, inserted again)
    /// gets this insert's.
    async fn write(self, tx: &mut Tx, user: &AuthUser, client: Uuid) -> Result<(), sqlx::Error> {
        if self.tables.is_empty() {
            return Ok(());
        }
        sqlx::query!(
            "MERGE INTO sync.field_clock c
             USING unnest($1::text[], $2::uuid[], $3::timestamptz[], $4::bigint[], $5::text[]) AS u(t, r, e, s, f)
             ON c.table_name = u.t AND c.row_id = u.r AND c.field = '*'
             WHEN MATCHED THEN UPDATE
                 SET edited_at = GREATEST(c.edited_at, u.e), edited_by = $6, client_id = $7, client_seq = u.s,
                     fields = string_to_array(u.f, ',')
             WHEN NOT MATCHED THEN INSERT (table_name, row_id, field, edited_at, edited_by, client_id, client_seq, fields)
                 VALUES (u.t, u.r, '*', u.e, $6, $7, u.s, string_to_array(u.f, ','))",
            &self.tables,
            &self.rows,
            &self.edited_at,
            &self.seqs,
            &self.fields,
            user.id,
            client
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::refusal;

    #[test]
    fn any_data_or_integrity_error_refuses_the_mutation_and_trouble_aborts_the_push() {
        for (sqlstate, code) in [
            ("42501", Some("forbidden")),
            ("23514", Some("not_allowed")),
            ("23505", Some("already_exists")),
            ("22021", Some("invalid_value")),
            ("2200N", Some("invalid_value")),
            ("23P01", Some("not_allowed")),
            ("54000", Some("invalid_value")),
            // The database in trouble: the whole push is tried again.
            ("08006", None),
            ("40001", None),
            ("53300", None),
            ("57P01", None),
        ] {
            assert_eq!(refusal(Some(sqlstate)), code, "{sqlstate}");
        }
    }
}
