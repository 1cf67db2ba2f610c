//! `Idempotency-Key` on the API's writes, with Stripe's and the IETF
//! draft's semantics:
//!
//! - a retry with the same key and the same request answers what the
//!   first did (`Idempotent-Replayed: true`) and changes nothing;
//! - the same key with another request is a client's mistake: 422
//!   `idempotency_key_reused`;
//! - a retry while the first is still running: 409
//!   `idempotency_key_in_use`, try again shortly.
//!
//! The write's transaction holds a transaction-level advisory lock on the
//! (token, key) pair and stores the answer in `api.idempotency_keys` before
//! it commits: a key has an answer exactly when its change committed, in
//! every server process, and a crash mid-write leaves the key free (the
//! retry then does the write). Answers of 5xx are never stored (nothing
//! was changed; the retry should try again). Keys are kept for a day.

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use crm_domain::codes::ErrorCode;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::data::Tx;
use crate::data::acting::act_as_service;
use crate::error::{ApiError, ApiResult};

pub const HEADER: &str = "idempotency-key";
/// How long a key's answer is kept.
pub const KEPT_HOURS: i32 = 24;

/// A write's answer, as it is sent and stored.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub etag: Option<String>,
    pub location: Option<String>,
    /// JSON, or empty (204).
    pub body: String,
}

impl Answer {
    pub fn from_error(e: &ApiError) -> Answer {
        Answer {
            status: e.status(),
            etag: None,
            location: None,
            body: serde_json::to_string(&e.body()).unwrap_or_default(),
        }
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let mut headers = HeaderMap::new();
        if !self.body.is_empty() {
            headers.insert(
                axum::http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
        }
        for (name, value) in [
            (axum::http::header::ETAG, &self.etag),
            (axum::http::header::LOCATION, &self.location),
        ] {
            if let Some(v) = value.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
                headers.insert(name, v);
            }
        }
        (self.status, headers, self.body).into_response()
    }
}

/// The request's key, if it sent one: 1 to 255 visible ASCII characters.
pub fn key(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(value) = headers.get(HEADER) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .filter(|k| (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
        .map(|k| Some(k.to_owned()))
        .ok_or_else(|| {
            ApiError::bad_request(
                ErrorCode::ValidationFailed,
                "Idempotency-Key: 1 to 255 visible ASCII characters (a UUID is a good one)",
            )
        })
}

/// What makes two requests "the same": method, path and body.
pub fn fingerprint(method: &str, path: &str, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(method.as_bytes());
    hasher.update([0]);
    hasher.update(path.as_bytes());
    hasher.update([0]);
    hasher.update(body);
    hex::encode(hasher.finalize())
}

/// Takes `key` for this transaction. `Some` is the first request's answer
/// to send again; `None`: go ahead, then [`finish`].
pub async fn begin(
    tx: &mut Tx,
    token: Uuid,
    key: &str,
    fingerprint: &str,
) -> ApiResult<Option<Response>> {
    act_as_service(tx).await?;
    let locked = sqlx::query_scalar!(
        r#"SELECT pg_try_advisory_xact_lock(hashtextextended($1, 7)) AS "locked!""#,
        format!("idempotency:{token}:{key}")
    )
    .fetch_one(&mut **tx)
    .await?;
    if !locked {
        return Err(ApiError::Conflict {
            code: ErrorCode::IdempotencyKeyInUse,
            message: "a request with this Idempotency-Key is still running; try again shortly"
                .into(),
        });
    }
    let stored = sqlx::query!(
        r#"SELECT fingerprint, status, headers, body FROM api.idempotency_keys
           WHERE token_id = $1 AND key = $2
             AND created_at > now() - make_interval(hours => $3)"#,
        token,
        key,
        KEPT_HOURS
    )
    .fetch_optional(&mut **tx)
    .await?;
    let Some(stored) = stored else {
        // An expired one goes now, so the key can be stored again.
        sqlx::query!(
            "DELETE FROM api.idempotency_keys WHERE token_id = $1 AND key = $2",
            token,
            key
        )
        .execute(&mut **tx)
        .await?;
        return Ok(None);
    };
    if stored.fingerprint != fingerprint {
        return Err(ApiError::Unprocessable {
            code: ErrorCode::IdempotencyKeyReused,
            message:
                "this Idempotency-Key was used for another request; use a new key for a new request"
                    .into(),
        });
    }
    let header = |name: &str| {
        stored
            .headers
            .get(name)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let answer = Answer {
        status: StatusCode::from_u16(u16::try_from(stored.status).unwrap_or(500))
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        etag: header("etag"),
        location: header("location"),
        body: stored.body,
    };
    let mut response = answer.into_response();
    response
        .headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    Ok(Some(response))
}

/// Stores `answer` under `key`, in the write's transaction.
pub async fn finish(
    tx: &mut Tx,
    token: Uuid,
    key: &str,
    fingerprint: &str,
    answer: &Answer,
) -> ApiResult<()> {
    act_as_service(tx).await?;
    let headers = serde_json::json!({ "etag": answer.etag, "location": answer.location });
    sqlx::query!(
        "INSERT INTO api.idempotency_keys (token_id, key, fingerprint, status, headers, body)
         VALUES ($1, $2, $3, $4, $5, $6)",
        token,
        key,
        fingerprint,
        i16::try_from(answer.status.as_u16()).unwrap_or(500),
        headers,
        answer.body
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Forgets keys older than a day.
pub async fn prune(pool: &sqlx::PgPool) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    act_as_service(&mut tx).await?;
    let gone = sqlx::query!(
        "DELETE FROM api.idempotency_keys WHERE created_at < now() - make_interval(hours => $1)",
        KEPT_HOURS
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(gone)
}
