//! Applying changes as the caller: validation by the catalogue's rules,
//! inserts and deletes in bulk, updates through the field merge (with field
//! clocks and recorded conflicts), each refusal rolled back alone and
//! answered with a typed code.
//!
//! Updates go one at a time in a savepoint; runs of inserts and deletes in
//! one database call, where consecutive inserts into one table writing the
//! same columns go in as one multi-row statement (faster by ~8x), split up
//! only when a row of it is refused.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use crm_domain::catalogue::Fill;
use crm_domain::merge::{FieldDecision, ServerField, decide_field};
use crm_domain::protocol::{
    FieldChange, FieldConflict, Mutation, MutationOp, MutationOutcome, RejectionCode, SyncTable,
};
use serde_json::Value;
use sqlx::Executor;
use uuid::Uuid;

use super::acting::{act_as_service, act_for_change, back_to_caller};
use super::clocks::{InsertClocks, record_clock, record_conflict};
use super::refusal::{database_refusal, explain, refusal, rejected, rejected_field};
use super::{Principal, Tx};
use crate::error::{ApiError, ApiResult};

/// Most conflicts one batch may record (security review M7: a client could
/// otherwise bury a colleague's inbox). An honest device's edits conflict
/// now and then; a batch that would exceed this has its excess mutations
/// refused, each with a sentence, and the rest applied.
pub const MAX_CONFLICTS_PER_PUSH: usize = 500;

/// Applies `mutations` (consecutive, from `client`) as `principal`, in
/// order, and answers an outcome for each. `Err` only for a failure that
/// is not the mutations' fault: the caller then rolls back everything.
pub async fn apply(
    tx: &mut Tx,
    principal: &Principal,
    client: Uuid,
    mutations: &[Mutation],
) -> ApiResult<Vec<MutationOutcome>> {
    // Runs of inserts and deletes go to the database in one call; updates
    // one by one, through the merge.
    let mut outcomes = Vec::with_capacity(mutations.len());
    let mut conflict_budget = MAX_CONFLICTS_PER_PUSH;
    let mut rest = mutations;
    while let Some(m) = rest.first() {
        if let MutationOp::Update { changes } = &m.op {
            outcomes
                .push(apply_update(tx, principal, client, m, changes, &mut conflict_budget).await?);
            rest = &rest[1..];
        } else {
            let len = rest
                .iter()
                .position(|m| matches!(m.op, MutationOp::Update { .. }))
                .unwrap_or(rest.len());
            outcomes.extend(apply_run(tx, principal, client, &rest[..len]).await?);
            rest = &rest[len..];
        }
    }

    Ok(outcomes)
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
    principal: &Principal,
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
                    outcomes[k] = Some(invalid(errors));
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
        act_for_change(tx, principal, client, run[0].seq).await?;
        let applied = sqlx::query!(
            r#"SELECT seq AS "seq!", err_code, err_message, err_constraint, err_column
               FROM sync.apply_run($1)"#,
            Value::Array(payload)
        )
        .fetch_all(&mut **tx)
        .await?;
        // By sequence number: a device's are consecutive, but the API's
        // (one sequence for every token, taken by concurrent writes) are
        // only increasing.
        let position: std::collections::HashMap<i64, usize> =
            run.iter().enumerate().map(|(k, m)| (m.seq, k)).collect();
        for row in applied {
            let k = *position.get(&row.seq).ok_or_else(|| {
                ApiError::internal(anyhow::anyhow!(
                    "an outcome for mutation {}, not in the run",
                    row.seq
                ))
            })?;
            outcomes[k] = Some(
                match (
                    row.err_code.as_deref(),
                    row.err_message.as_deref().unwrap_or(""),
                ) {
                    (None, _) => MutationOutcome::Applied,
                    (Some("P0002"), _) => rejected(
                        RejectionCode::NotFound,
                        "it was already deleted, or you may not delete it",
                    ),
                    (Some(code), message) => match refusal(Some(code)) {
                        Some(kind) => {
                            tracing::debug!(seq = row.seq, code, message, "mutation rejected");
                            database_refusal(
                                run[k].table,
                                kind,
                                message,
                                row.err_constraint.as_deref(),
                                row.err_column.as_deref(),
                            )
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
    inserted.write(tx, principal, client).await?;
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
    principal: &Principal,
    client: Uuid,
    m: &Mutation,
    changes: &BTreeMap<String, FieldChange>,
    conflict_budget: &mut usize,
) -> ApiResult<MutationOutcome> {
    tx.execute("SAVEPOINT mutation").await?;
    act_for_change(tx, principal, client, m.seq).await?;
    // The agent's clock may run ahead; it must not win every merge for that.
    let edited_at = m.edited_at.min(Utc::now());
    match update(
        tx,
        principal,
        client,
        m,
        changes,
        edited_at,
        conflict_budget,
    )
    .await
    {
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
            let code = refusal(e.code().as_deref()).unwrap_or(RejectionCode::NotAllowed);
            tracing::debug!(seq = m.seq, %code, error = %e.message(), "mutation rejected");
            let column = e
                .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .and_then(|pg| pg.column());
            Ok(database_refusal(
                m.table,
                code,
                e.message(),
                e.constraint(),
                column,
            ))
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
    back_to_caller(tx).await?;
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
            RejectionCode::Forbidden,
            "you are not allowed to make this change",
        ))),
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42501") => {
            Ok(Some(rejected(
                RejectionCode::Forbidden,
                explain(RejectionCode::Forbidden, e.message()),
            )))
        }
        Err(sqlx::Error::Database(e)) if refusal(e.code().as_deref()).is_some() => Ok(None),
        Err(e) => Err(e),
    }
}

async fn update(
    tx: &mut Tx,
    principal: &Principal,
    client: Uuid,
    m: &Mutation,
    changes: &BTreeMap<String, FieldChange>,
    edited_at: DateTime<Utc>,
    conflict_budget: &mut usize,
) -> Result<MutationOutcome, sqlx::Error> {
    if let Err(errors) = validate_values(m.table, changes.iter().map(|(k, c)| (k, &c.value))) {
        return Ok(invalid(errors));
    }
    // The values the client saw are stored with a conflict: they must be
    // storable too (only that: they were the rules' business when written).
    if let Some((field, _)) = changes.iter().find(|(_, c)| holds_nul(&c.base)) {
        return Ok(rejected_field(
            RejectionCode::ValidationFailed,
            format!("{field}: {}", crm_domain::validation::NUL_MESSAGE),
            Some(field.clone()),
        ));
    }
    let table = m.table.name();
    let current = sqlx::query_scalar!("SELECT sync.current_row($1, $2)", table, m.row_id)
        .fetch_one(&mut **tx)
        .await?;
    let Some(Value::Object(current)) = current else {
        return Ok(rejected(
            RejectionCode::NotFound,
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
    // (Its last update, else its making: the columns the server stamps
    // with the time.)
    let stamps = m
        .table
        .def()
        .columns
        .iter()
        .filter(|c| c.fill == Some(Fill::Now));
    let row_edited_at = stamps
        .clone()
        .filter(|c| c.name == "updated_at")
        .chain(stamps)
        .find_map(|c| current.get(c.name).and_then(Value::as_str))
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
            RejectionCode::NotAllowed,
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
                    Some(principal.user_id()),
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
                    Some(principal.user_id()),
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
        back_to_caller(tx).await?;
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
                RejectionCode::Forbidden,
                "you are not allowed to make this change",
            ));
        }
        let fields: Vec<&str> = to_apply.keys().map(String::as_str).collect();
        record_clock(tx, principal, client, m, &fields, edited_at).await?;
    }
    if conflicts.is_empty() {
        Ok(MutationOutcome::Applied)
    } else {
        Ok(MutationOutcome::Merged { conflicts })
    }
}

/// A mutation whose values break the domain's rules: the first field at
/// fault is named (the message lists them all).
fn invalid(errors: crm_domain::ValidationErrors) -> MutationOutcome {
    let field = errors.errors().first().map(|e| e.field.to_owned());
    rejected_field(RejectionCode::ValidationFailed, errors.to_string(), field)
}

/// The whitelisted, `'static` name of a column a batch check has passed.
fn static_column(table: SyncTable, key: &str) -> &'static str {
    table.def().column(key).map_or("value", |c| c.name)
}

/// Validates the values a mutation writes with the domain's rules, and
/// refuses text PostgreSQL can never hold (U+0000) in any field, ruled or
/// not: such a mutation is rejected alone, rather than failing the whole
/// push each time it is sent and so stopping the device's sync for good.
fn validate_values<'a>(
    table: SyncTable,
    values: impl Iterator<Item = (&'a String, &'a serde_json::Value)>,
) -> Result<(), crm_domain::ValidationErrors> {
    crm_domain::ValidationErrors::collect(values.map(|(k, v)| {
        let column = static_column(table, k);
        if holds_nul(v) {
            return Err(crm_domain::ValidationError::new(
                column,
                crm_domain::validation::NUL_MESSAGE,
            ));
        }
        crm_domain::validation::validate_sync_field(table, column, v)
    }))
}

/// Whether a JSON value holds U+0000 anywhere in its text.
fn holds_nul(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(text) => text.contains('\0'),
        serde_json::Value::Array(items) => items.iter().any(holds_nul),
        serde_json::Value::Object(fields) => {
            fields.iter().any(|(k, v)| k.contains('\0') || holds_nul(v))
        }
        _ => false,
    }
}
