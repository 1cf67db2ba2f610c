//! What every write of the API shares, whether it goes alone (`resources`)
//! or with its token's other creates (`group`): its sequence numbers, its
//! refusal as the API answers it, and the row read back as its answer,
//! with the row's version as its `ETag`.

use std::collections::HashMap;

use axum::http::StatusCode;
use crm_domain::codes::{ErrorCode, RejectionCode};
use crm_domain::protocol::MutationOutcome;
use crm_domain::resources::Resource;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::Integration;
use super::idempotency::Answer;
use crate::data::Tx;
use crate::data::acting::act_as;
use crate::error::{ApiError, ApiResult};

/// A row's version, as its `ETag`: a hash of the row as the caller reads it.
pub fn etag(row: &str) -> String {
    let digest = Sha256::digest(row.as_bytes());
    format!("\"{}\"", hex::encode(&digest[..16]))
}

/// The row as the caller sees it (locked for an update when `lock`).
pub async fn current(tx: &mut Tx, r: &Resource, id: Uuid, lock: bool) -> ApiResult<String> {
    sqlx::query_scalar!(
        r#"SELECT api.get_row($1, $2, $3) AS "row""#,
        r.table.name(),
        id,
        lock
    )
    .fetch_one(&mut **tx)
    .await?
    .ok_or_else(|| ApiError::NotFound(format!("no such row in {}, or not one you may see", r.path)))
}

/// A refused change, as the API answers it.
pub fn refusal(outcome: MutationOutcome) -> ApiError {
    let MutationOutcome::Rejected {
        code,
        message,
        field,
        reason,
    } = outcome
    else {
        return ApiError::internal(anyhow::anyhow!("not a refusal"));
    };
    let details = field
        .map(|f| serde_json::json!([{ "field": f, "message": message }]))
        .or_else(|| reason.and_then(|r| serde_json::to_value(r).ok()));
    match code {
        RejectionCode::ValidationFailed => ApiError::BadRequest {
            code: ErrorCode::ValidationFailed,
            message,
            details,
        },
        RejectionCode::NotFound => ApiError::NotFound(message),
        RejectionCode::Forbidden => ApiError::forbidden(ErrorCode::Forbidden, message),
        RejectionCode::NotAllowed => ApiError::Conflict {
            code: ErrorCode::NotAllowed,
            message,
        },
        RejectionCode::AlreadyExists => ApiError::Conflict {
            code: ErrorCode::AlreadyExists,
            message,
        },
        RejectionCode::MissingReference => ApiError::Unprocessable {
            code: ErrorCode::MissingReference,
            message,
        },
        RejectionCode::MissingValue => ApiError::BadRequest {
            code: ErrorCode::MissingValue,
            message,
            details,
        },
        RejectionCode::InvalidValue | RejectionCode::Unknown => ApiError::BadRequest {
            code: ErrorCode::InvalidValue,
            message,
            details,
        },
    }
}

/// Sequence numbers for `n` writes (taken as the caller), in one
/// statement.
pub async fn next_seqs(tx: &mut Tx, n: usize) -> ApiResult<Vec<i64>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    Ok(sqlx::query_scalar!(
        r#"SELECT nextval('api.write_seq') AS "seq!" FROM generate_series(1, $1::int)"#,
        i32::try_from(n).unwrap_or(i32::MAX)
    )
    .fetch_all(&mut **tx)
    .await?)
}

/// The row after a write, as the caller sees it, as the answer.
pub async fn answer_with_row(
    tx: &mut Tx,
    who: &Integration,
    r: &Resource,
    id: Uuid,
    status: StatusCode,
) -> ApiResult<Answer> {
    let mut answers = answer_with_rows(tx, who, &[(r, id)], status).await?;
    answers
        .pop()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("a row read back got no answer")))
}

/// The rows after writes, as the caller sees them, as their answers.
pub async fn answer_with_rows(
    tx: &mut Tx,
    who: &Integration,
    rows: &[(&Resource, Uuid)],
    status: StatusCode,
) -> ApiResult<Vec<Answer>> {
    act_as(tx, &who.principal().claims()).await?;
    // One statement per table, whatever the number of rows.
    let mut read: HashMap<Uuid, String> = HashMap::with_capacity(rows.len());
    let mut tables: Vec<&str> = rows.iter().map(|(r, _)| r.table.name()).collect();
    tables.sort_unstable();
    tables.dedup();
    for table in tables {
        let ids: Vec<Uuid> = rows
            .iter()
            .filter(|(r, _)| r.table.name() == table)
            .map(|&(_, id)| id)
            .collect();
        let found = sqlx::query!(
            r#"SELECT id AS "id!", row_json AS "row!" FROM api.get_rows($1, $2)"#,
            table,
            &ids
        )
        .fetch_all(&mut **tx)
        .await?;
        read.extend(found.into_iter().map(|f| (f.id, f.row)));
    }
    Ok(rows
        .iter()
        .map(|&(r, id)| {
            let location =
                (status == StatusCode::CREATED).then(|| format!("/api/v1/{}/{id}", r.path));
            match read.remove(&id) {
                Some(row) => Answer {
                    status,
                    etag: Some(etag(&row)),
                    location,
                    body: row,
                },
                // Written, but the token may not read it (write without
                // read): the write still happened, and the answer says
                // which row.
                None => Answer {
                    status,
                    etag: None,
                    location,
                    body: serde_json::json!({ "id": id }).to_string(),
                },
            }
        })
        .collect())
}
