//! The REST handlers, one set for every resource of
//! `crm_domain::resources`: list, read, create, update, delete.
//!
//! Reads run as the integration (row-level security decides what exists
//! for it). Writes go through the data service (`crate::data::write`),
//! exactly as a device's pushed changes do: the catalogue's rules, the
//! field merge with its clocks, audit rows naming the token, refusals with
//! typed codes. A write's "client" is the token, its sequence number from
//! `api.write_seq`, so field clocks and conflicts name the integration.
//!
//! An update is an edit made now on the row as it is: its base is the
//! row's current value, so it applies, and an agent's older offline edit
//! of the same field, arriving later, loses to it as a recorded conflict
//! (the agent sees it in the inbox). `If-Match` makes it conditional on
//! the version read (412 if the row changed since).

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use crm_domain::codes::ErrorCode;
use crm_domain::protocol::{FieldChange, Mutation, MutationOp, MutationOutcome};
use crm_domain::resources::{RESOURCES, Resource, resource};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::Integration;
use super::group;
use super::idempotency::{self, Answer};
use super::page::ListQuery;
use super::writing::{answer_with_row, current, etag, next_seqs, refusal};
use crate::data::acting::act_as;
use crate::data::{Tx, acting, write};
use crate::error::{ApiError, ApiPath, ApiQuery, ApiResult};
use crate::state::AppState;

fn resource_at(path: &str) -> ApiResult<&'static Resource> {
    resource(path).ok_or_else(|| {
        let known: Vec<&str> = RESOURCES.iter().map(|r| r.path).collect();
        ApiError::NotFound(format!(
            "no resource {path:?} in /api/v1; there are: audit, {}",
            known.join(", ")
        ))
    })
}

fn not_taken(r: &Resource, verb: &str) -> ApiError {
    ApiError::MethodNotAllowed(format!("{} cannot be {verb} through the API", r.path))
}

/// Whether an `If-Match`/`If-None-Match` value names `tag` (or is `*`).
fn names(header_value: &HeaderValue, tag: &str) -> bool {
    header_value.to_str().is_ok_and(|v| {
        v.split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == "*" || t == tag)
    })
}

/// A query's database refusal: a value the column's type does not take
/// (an unknown status, say) is the caller's mistake.
fn query_refused(e: sqlx::Error) -> ApiError {
    if let sqlx::Error::Database(db) = &e
        && db.code().is_some_and(|c| c.starts_with("22"))
    {
        return ApiError::bad_request(
            ErrorCode::InvalidQuery,
            format!(
                "a filter's value is not one its field takes: {}",
                db.message()
            ),
        );
    }
    e.into()
}

/// Lists a resource: a page of rows the token may see, with the cursor of
/// the next page (`null` on the last), and the total when asked.
pub async fn list(
    State(state): State<AppState>,
    Extension(who): Extension<Integration>,
    ApiPath(path): ApiPath<String>,
    ApiQuery(pairs): ApiQuery<Vec<(String, String)>>,
) -> ApiResult<Response> {
    let r = resource_at(&path)?;
    who.require(r.read)?;
    let q = ListQuery::parse(r, &pairs)?;
    let mut tx = acting::begin_as(&state.pool, &who.principal().claims()).await?;
    let table = r.table.name();
    let mut rows = sqlx::query_scalar!(
        r#"SELECT r AS "row!" FROM api.list_rows($1, $2, $3, $4, $5, $6, $7, $8, $9) r"#,
        table,
        Value::Object(q.eq.clone()),
        Value::Object(q.min.clone()),
        Value::Object(q.max.clone()),
        &q.null,
        q.sort,
        q.descending,
        q.after.clone(),
        q.limit + 1
    )
    .fetch_all(&mut *tx)
    .await
    .map_err(query_refused)?;
    let total = if q.total {
        Some(
            sqlx::query_scalar!(
                r#"SELECT api.count_rows($1, $2, $3, $4, $5) AS "n!""#,
                table,
                Value::Object(q.eq.clone()),
                Value::Object(q.min.clone()),
                Value::Object(q.max.clone()),
                &q.null
            )
            .fetch_one(&mut *tx)
            .await
            .map_err(query_refused)?,
        )
    } else {
        None
    };
    tx.commit().await?;

    let more = rows.len() > q.limit as usize;
    rows.truncate(q.limit as usize);
    let next = match rows.last() {
        Some(last) if more => {
            let last: Value = serde_json::from_str(last).map_err(ApiError::internal)?;
            q.cursor_after(&last)
        }
        _ => None,
    };
    // The rows are JSON text already: the page is assembled around them,
    // not parsed and written again.
    let mut body = String::with_capacity(rows.iter().map(|r| r.len() + 1).sum::<usize>() + 64);
    body.push_str("{\"data\":[");
    body.push_str(&rows.join(","));
    body.push_str("],\"next_cursor\":");
    body.push_str(&serde_json::to_string(&next).map_err(ApiError::internal)?);
    if let Some(total) = total {
        body.push_str(",\"total\":");
        body.push_str(&total.to_string());
    }
    body.push('}');
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// Reads one row, with its `ETag` (`If-None-Match` answers 304).
pub async fn read(
    State(state): State<AppState>,
    Extension(who): Extension<Integration>,
    ApiPath((path, id)): ApiPath<(String, Uuid)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let r = resource_at(&path)?;
    who.require(r.read)?;
    let mut tx = acting::begin_as(&state.pool, &who.principal().claims()).await?;
    let row = current(&mut tx, r, id, false).await?;
    tx.commit().await?;
    let tag = etag(&row);
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| names(v, &tag))
    {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, tag)]).into_response());
    }
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (header::ETAG, tag),
        ],
        row,
    )
        .into_response())
}

/// The body of a create or update: a JSON object of the fields it writes,
/// each one the catalogue lets a client write on that verb.
fn fields(r: &Resource, body: &[u8], insert: bool) -> ApiResult<Map<String, Value>> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(ErrorCode::InvalidBody, format!("the body is not JSON: {e}"))
    })?;
    let Value::Object(mut fields) = value else {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidBody,
            "send a JSON object of the fields to write",
        ));
    };
    if insert {
        fields.remove("id");
    }
    let def = r.table.def();
    let writable = |name: &str| {
        def.column(name).is_some_and(|c| {
            if insert {
                c.write.on_insert()
            } else {
                c.write.on_update()
            }
        })
    };
    if let Some(bad) = fields.keys().find(|k| !writable(k)) {
        let allowed: Vec<&str> = if insert {
            def.insertable().map(|c| c.name).collect()
        } else {
            def.updatable().map(|c| c.name).collect()
        };
        return Err(ApiError::bad_request(
            ErrorCode::ColumnNotWritable,
            format!(
                "{bad} cannot be {} on {}; these can: {}",
                if insert { "given" } else { "changed" },
                r.path,
                allowed.join(", ")
            ),
        ));
    }
    Ok(fields)
}

/// One change of row `id` of `r`, as the integration, through the data
/// service (a sequence number of its own, edited now).
async fn change(
    tx: &mut Tx,
    who: &Integration,
    r: &Resource,
    id: Uuid,
    op: MutationOp,
) -> ApiResult<()> {
    let seq = next_seqs(tx, 1)
        .await?
        .pop()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("no sequence number")))?;
    let m = Mutation {
        seq,
        table: r.table,
        row_id: id,
        op,
        edited_at: Utc::now(),
    };
    let outcome = write::apply(tx, &who.principal(), who.token, std::slice::from_ref(&m))
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("a write got no outcome")))?;
    match outcome {
        MutationOutcome::Applied | MutationOutcome::Merged { .. } => Ok(()),
        refused => Err(refusal(refused)),
    }
}

/// A write's transaction, under its `Idempotency-Key` when it has one (see
/// `idempotency`).
struct Write {
    tx: Tx,
    /// The key and the request's fingerprint.
    key: Option<(String, String)>,
}

impl Write {
    /// Begins the write, acting as the integration; `Err(response)` is a
    /// replay of the key's first answer, to send as it is.
    async fn begin(
        state: &AppState,
        who: &Integration,
        headers: &HeaderMap,
        fingerprint: impl FnOnce() -> String,
    ) -> ApiResult<Result<Write, Response>> {
        let key = idempotency::key(headers)?.map(|k| (k, fingerprint()));
        let mut tx = state.pool.begin().await?;
        if let Some((key, fp)) = &key
            && let Some(replay) = idempotency::begin(&mut tx, who.token, key, fp).await?
        {
            tx.commit().await?;
            return Ok(Err(replay));
        }
        act_as(&mut tx, &who.principal().claims()).await?;
        Ok(Ok(Write { tx, key }))
    }

    /// Ends it: a refusal (4xx) is an answer like any other, stored under
    /// the key and committed (nothing of the refused change is in it); a
    /// failure (5xx) rolls everything back.
    async fn end(mut self, who: &Integration, done: ApiResult<Answer>) -> ApiResult<Response> {
        let answer = match done {
            Ok(answer) => answer,
            Err(e) if e.status().is_client_error() => Answer::from_error(&e),
            Err(e) => return Err(e),
        };
        if let Some((key, fp)) = &self.key {
            idempotency::finish(&mut self.tx, who.token, key, fp, &answer).await?;
        }
        self.tx.commit().await?;
        Ok(answer.into_response())
    }
}

fn check_if_match(headers: &HeaderMap, row: &str) -> ApiResult<()> {
    match headers.get(header::IF_MATCH) {
        Some(v) if !names(v, &etag(row)) => Err(ApiError::PreconditionFailed),
        _ => Ok(()),
    }
}

/// Creates a row (its `id` may be given; else the server makes one).
pub async fn create(
    State(state): State<AppState>,
    Extension(who): Extension<Integration>,
    Extension(permit): Extension<super::caller::Permit>,
    ApiPath(path): ApiPath<String>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let r = resource_at(&path)?;
    if !r.verbs.create {
        return Err(not_taken(r, "created"));
    }
    who.require(r.write)?;
    let id = match serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("id").cloned())
    {
        None | Some(Value::Null) => Uuid::now_v7(),
        Some(v) => v
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| ApiError::bad_request(ErrorCode::InvalidBody, "id: a UUID"))?,
    };
    let values = fields(r, &body, true)?;
    let key = idempotency::key(&headers)?.map(|k| {
        (
            k,
            idempotency::fingerprint(Method::POST.as_str(), uri.path(), &body),
        )
    });
    // Written with the token's other creates of the moment (`group`).
    let create = group::Create {
        resource: r,
        id,
        values,
        key,
    };
    // The group's writer holds a connection for all of it.
    permit.release();
    Ok(state.api.creates.create(&state, &who, create).await)
}

/// Changes some fields of a row (`If-Match` makes it conditional).
pub async fn update(
    State(state): State<AppState>,
    Extension(who): Extension<Integration>,
    ApiPath((path, id)): ApiPath<(String, Uuid)>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let r = resource_at(&path)?;
    if !r.verbs.update {
        return Err(not_taken(r, "changed"));
    }
    who.require(r.write)?;
    let values = fields(r, &body, false)?;
    if values.is_empty() {
        return Err(ApiError::bad_request(
            ErrorCode::EmptyUpdate,
            "name at least one field to change",
        ));
    }
    let mut w = match Write::begin(&state, &who, &headers, || {
        idempotency::fingerprint(Method::PATCH.as_str(), uri.path(), &body)
    })
    .await?
    {
        Ok(w) => w,
        Err(replay) => return Ok(replay),
    };
    let done = async {
        let tx = &mut w.tx;
        let row = current(tx, r, id, true).await?;
        check_if_match(&headers, &row)?;
        let now: Value = serde_json::from_str(&row).map_err(ApiError::internal)?;
        let changes = values
            .into_iter()
            .map(|(field, value)| {
                let base = now.get(&field).cloned().unwrap_or(Value::Null);
                (field, FieldChange { base, value })
            })
            .collect();
        change(tx, &who, r, id, MutationOp::Update { changes }).await?;
        answer_with_row(tx, &who, r, id, StatusCode::OK).await
    }
    .await;
    w.end(&who, done).await
}

/// Deletes a row (`If-Match` makes it conditional).
pub async fn remove(
    State(state): State<AppState>,
    Extension(who): Extension<Integration>,
    ApiPath((path, id)): ApiPath<(String, Uuid)>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let r = resource_at(&path)?;
    if !r.verbs.delete {
        return Err(not_taken(r, "deleted"));
    }
    who.require(r.write)?;
    let mut w = match Write::begin(&state, &who, &headers, || {
        idempotency::fingerprint(Method::DELETE.as_str(), uri.path(), b"")
    })
    .await?
    {
        Ok(w) => w,
        Err(replay) => return Ok(replay),
    };
    let done = async {
        let tx = &mut w.tx;
        if headers.contains_key(header::IF_MATCH) {
            let row = current(tx, r, id, true).await?;
            check_if_match(&headers, &row)?;
        }
        change(tx, &who, r, id, MutationOp::Delete).await?;
        Ok(Answer {
            status: StatusCode::NO_CONTENT,
            etag: None,
            location: None,
            body: String::new(),
        })
    }
    .await;
    w.end(&who, done).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_etag_is_matched_by_itself_a_list_or_a_star_and_weakly() {
        let tag = etag("{\"id\":1}");
        assert!(tag.starts_with('"') && tag.len() == 34);
        let h = |s: &str| HeaderValue::from_str(s).unwrap_or(HeaderValue::from_static(""));
        assert!(names(&h(&tag), &tag));
        assert!(names(&h(&format!("\"x\", {tag}")), &tag));
        assert!(names(&h(&format!("W/{tag}")), &tag));
        assert!(names(&h("*"), &tag));
        assert!(!names(&h("\"other\""), &tag));
        assert_ne!(etag("{\"id\":2}"), tag);
    }
}
