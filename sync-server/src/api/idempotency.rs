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
//! Creates taken together in one transaction (`group`) take their keys
//! together ([`take`], [`finish_all`]); a lone write takes one.
//!
//! The write's transaction holds a transaction-level advisory lock on the
//! (token, key) pair and stores the answer in `api.idempotency_keys` before
//! it commits: a key has an answer exactly when its change committed, in
//! every server process, and a crash mid-write leaves the key free (the
//! retry then does the write). Answers of 5xx are never stored (nothing
//! was changed; the retry should try again). Keys are kept for a day.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

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
    /// The answer sent again for a retry (`Idempotent-Replayed: true`).
    pub fn replayed(self) -> Response {
        let mut response = self.into_response();
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
        response
    }

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

/// The advisory lock that makes one (token, key) pair's requests run one
/// at a time, in every process.
fn lock_name(token: Uuid, key: &str) -> String {
    format!("idempotency:{token}:{key}")
}

/// What a write may do with its key.
#[derive(Debug)]
pub enum Taken {
    /// The key is this transaction's: write, then store the answer.
    Go,
    /// The first request's answer, to send again.
    Replay(Answer),
    /// A request with this key is running (409), or the key was used for
    /// another request (422).
    Refused(ApiError),
}

/// Takes `key` for this transaction. `Some` is the first request's answer
/// to send again; `None`: go ahead, then [`finish`].
pub async fn begin(
    tx: &mut Tx,
    token: Uuid,
    key: &str,
    fingerprint: &str,
) -> ApiResult<Option<Response>> {
    match take(tx, token, &[Some((key, fingerprint))]).await?.pop() {
        Some(Taken::Replay(answer)) => Ok(Some(answer.replayed())),
        Some(Taken::Refused(e)) => Err(e),
        Some(Taken::Go) | None => Ok(None),
    }
}

fn in_use() -> ApiError {
    ApiError::Conflict {
        code: ErrorCode::IdempotencyKeyInUse,
        message: "a request with this Idempotency-Key is still running; try again shortly".into(),
    }
}

/// Takes the keys of several writes (`None`: a write without one) for this
/// transaction, in three statements whatever their number: the locks, then
/// (in a snapshot taken after them, so an answer committed by the lock's
/// last holder is seen) the stored answers, then expired answers forgotten
/// so the keys can be stored again. A key twice among them is in use the
/// second time.
pub async fn take(
    tx: &mut Tx,
    token: Uuid,
    keys: &[Option<(&str, &str)>],
) -> ApiResult<Vec<Taken>> {
    let mut taken: Vec<Taken> = keys.iter().map(|_| Taken::Go).collect();
    let mut first: HashMap<&str, usize> = HashMap::new();
    for (i, key) in keys.iter().enumerate() {
        if let Some((key, _)) = key {
            match first.entry(key) {
                Entry::Occupied(_) => taken[i] = Taken::Refused(in_use()),
                Entry::Vacant(slot) => {
                    slot.insert(i);
                }
            }
        }
    }
    // Each distinct key once, in the order of its first write.
    let mut distinct: Vec<(&str, usize)> = first.into_iter().collect();
    distinct.sort_by_key(|&(_, i)| i);
    if distinct.is_empty() {
        return Ok(taken);
    }
    act_as_service(tx).await?;
    let names: Vec<String> = distinct.iter().map(|(k, _)| lock_name(token, k)).collect();
    let locked = sqlx::query!(
        r#"SELECT n AS "n!", pg_try_advisory_xact_lock(hashtextextended(name, 7)) AS "locked!"
           FROM unnest($1::text[]) WITH ORDINALITY AS k(name, n)"#,
        &names
    )
    .fetch_all(&mut **tx)
    .await?;
    let mut mine: Vec<String> = Vec::with_capacity(distinct.len());
    for row in locked {
        let Some(&(key, i)) = usize::try_from(row.n - 1)
            .ok()
            .and_then(|n| distinct.get(n))
        else {
            continue;
        };
        if row.locked {
            mine.push(key.to_owned());
        } else {
            taken[i] = Taken::Refused(in_use());
        }
    }
    if mine.is_empty() {
        return Ok(taken);
    }
    let stored = sqlx::query!(
        r#"SELECT key, fingerprint, status, headers, body FROM api.idempotency_keys
           WHERE token_id = $1 AND key = ANY($2)
             AND created_at > now() - make_interval(hours => $3)"#,
        token,
        &mine,
        KEPT_HOURS
    )
    .fetch_all(&mut **tx)
    .await?;
    let index: HashMap<&str, usize> = distinct.iter().copied().collect();
    for stored in stored {
        let Some(&i) = index.get(stored.key.as_str()) else {
            continue;
        };
        let Some((_, fingerprint)) = keys[i] else {
            continue;
        };
        taken[i] = if stored.fingerprint != fingerprint {
            Taken::Refused(ApiError::Unprocessable {
                code: ErrorCode::IdempotencyKeyReused,
                message:
                    "this Idempotency-Key was used for another request; use a new key for a new request"
                        .into(),
            })
        } else {
            let header = |name: &str| {
                stored
                    .headers
                    .get(name)
                    .and_then(|v| v.as_str())
                    .map(str::to_owned)
            };
            Taken::Replay(Answer {
                status: StatusCode::from_u16(u16::try_from(stored.status).unwrap_or(500))
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                etag: header("etag"),
                location: header("location"),
                body: stored.body,
            })
        };
    }
    // Expired answers of the keys taken go now, so they can be stored again.
    sqlx::query!(
        "DELETE FROM api.idempotency_keys
          WHERE token_id = $1 AND key = ANY($2)
            AND created_at <= now() - make_interval(hours => $3)",
        token,
        &mine,
        KEPT_HOURS
    )
    .execute(&mut **tx)
    .await?;
    Ok(taken)
}

/// Stores `answer` under `key`, in the write's transaction.
pub async fn finish(
    tx: &mut Tx,
    token: Uuid,
    key: &str,
    fingerprint: &str,
    answer: &Answer,
) -> ApiResult<()> {
    finish_all(tx, token, &[(key, fingerprint, answer)]).await
}

/// Stores the answers of several writes under their keys, in one
/// statement, in their transaction.
pub async fn finish_all(
    tx: &mut Tx,
    token: Uuid,
    answers: &[(&str, &str, &Answer)],
) -> ApiResult<()> {
    if answers.is_empty() {
        return Ok(());
    }
    act_as_service(tx).await?;
    let keys: Vec<&str> = answers.iter().map(|(k, _, _)| *k).collect();
    let fingerprints: Vec<&str> = answers.iter().map(|(_, f, _)| *f).collect();
    let statuses: Vec<i16> = answers
        .iter()
        .map(|(_, _, a)| i16::try_from(a.status.as_u16()).unwrap_or(500))
        .collect();
    let etags: Vec<Option<&str>> = answers.iter().map(|(_, _, a)| a.etag.as_deref()).collect();
    let locations: Vec<Option<&str>> = answers
        .iter()
        .map(|(_, _, a)| a.location.as_deref())
        .collect();
    let bodies: Vec<&str> = answers.iter().map(|(_, _, a)| a.body.as_str()).collect();
    sqlx::query!(
        "INSERT INTO api.idempotency_keys (token_id, key, fingerprint, status, headers, body)
         SELECT $1, k, f, s, jsonb_build_object('etag', e, 'location', l), b
           FROM unnest($2::text[], $3::text[], $4::int2[], $5::text[], $6::text[], $7::text[])
                AS t(k, f, s, e, l, b)",
        token,
        &keys as &[&str],
        &fingerprints as &[&str],
        &statuses,
        &etags as &[Option<&str>],
        &locations as &[Option<&str>],
        &bodies as &[&str]
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
