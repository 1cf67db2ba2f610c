//! The endpoints under `/storage`, in Supabase Storage's shape:
//!
//! - `PUT` or `POST /storage/ticket-attachments/{ticket_id}/{file_name}`:
//!   upload (the body is the file's bytes, streamed);
//! - `GET` (and `HEAD`) of the same path: download, with byte ranges;
//! - `DELETE` of the same path: the file and the attachment it backs;
//! - `POST /storage/sign`: a signed URL for one file and one method.
//!
//! A request is the caller's by their bearer token, or by a signed URL's
//! query (`expires`, `user`, `signature`) for the method and file it was
//! signed for.

use axum::Router;
use axum::body::Body;
use axum::extract::{
    DefaultBodyLimit, FromRequestParts, OptionalFromRequestParts, Path, Query, State,
};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use crm_domain::IntegrationPermission;
use crm_domain::codes::ErrorCode;
use crm_domain::files::FileRefusal;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::files::{self, BUCKET, StorageError, StoredFile};
use super::signed::{LinkParams, LinkRefusal};
use crate::accounts::session::AuthUser;
use crate::data::Claims;
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/storage/ticket-attachments/{ticket_id}/{file_name}",
            get(download).put(upload).post(upload).delete(remove),
        )
        // Uploads stream past the JSON body limit; the bucket's own limit
        // is enforced while they stream.
        .layer(DefaultBodyLimit::disable())
        .route("/storage/sign", post(sign))
}

/// A signed URL's query, when the request carries one.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct LinkQuery {
    expires: Option<i64>,
    user: Option<Uuid>,
    signature: Option<String>,
}

/// `ticket-attachments/{ticket}/{name}`: what a link is signed for.
fn object(ticket_id: Uuid, file_name: &str) -> String {
    format!("{BUCKET}/{ticket_id}/{file_name}")
}

/// A request on one file: the file its path names, and who it acts for
/// (the bearer's user, else the user a valid signed URL for this method
/// and file names).
pub(crate) struct FileRequest {
    claims: Claims,
    ticket_id: Uuid,
    file_name: String,
}

impl FromRequestParts<AppState> for FileRequest {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let Path((ticket, file_name)) =
            <Path<(String, String)> as FromRequestParts<AppState>>::from_request_parts(
                parts, state,
            )
            .await
            .map_err(|_| no_such_file())?;
        // A path that is not a ticket's names no file.
        let ticket_id: Uuid = ticket.parse().map_err(|_| no_such_file())?;
        // Another system's integration token: its owner's rights, narrowed
        // to the token's attachments permissions (the storage policies
        // check them again).
        if let Some(secret) = integration_secret(parts) {
            let needed = if matches!(parts.method, Method::GET | Method::HEAD) {
                IntegrationPermission::AttachmentsRead
            } else {
                IntegrationPermission::AttachmentsWrite
            };
            let integration = crate::api::caller::integration_for(state, secret, needed).await?;
            return Ok(Self {
                claims: integration.principal().claims(),
                ticket_id,
                file_name,
            });
        }
        let auth =
            <AuthUser as OptionalFromRequestParts<AppState>>::from_request_parts(parts, state)
                .await?;
        if let Some(user) = auth {
            return Ok(Self {
                claims: user.claims(),
                ticket_id,
                file_name,
            });
        }
        let Query(link) =
            <Query<LinkQuery> as FromRequestParts<AppState>>::from_request_parts(parts, state)
                .await
                .map_err(|_| link_refused(LinkRefusal::BadSignature))?;
        let (Some(expires), Some(user), Some(signature)) =
            (link.expires, link.user, link.signature)
        else {
            return Err(ApiError::unauthorized(
                ErrorCode::MissingToken,
                "sign in first, or use a signed URL",
            ));
        };
        // A link is signed for what it does: HEAD reads what GET would, and
        // an upload is signed as PUT, whichever of PUT or POST it uses.
        let method = match parts.method {
            Method::HEAD => Method::GET,
            Method::POST => Method::PUT,
            ref other => other.clone(),
        };
        let params = LinkParams {
            expires,
            user,
            signature,
        };
        let user = state
            .storage
            .signer
            .verify(
                method.as_str(),
                &object(ticket_id, &file_name),
                &params,
                Utc::now().timestamp(),
            )
            .map_err(link_refused)?;
        Ok(Self {
            claims: Claims::user(user),
            ticket_id,
            file_name,
        })
    }
}

/// The bearer, when it is an integration token rather than a sign-in.
fn integration_secret(parts: &Parts) -> Option<&str> {
    crate::accounts::session::bearer_of(parts.headers.get(header::AUTHORIZATION)?)
        .filter(|secret| secret.starts_with(crate::api::tokens::PREFIX))
}

fn no_such_file() -> ApiError {
    ApiError::NotFound("no such file".into())
}

fn link_refused(refusal: LinkRefusal) -> ApiError {
    let code = match refusal {
        LinkRefusal::Expired => ErrorCode::LinkExpired,
        LinkRefusal::BadSignature => ErrorCode::LinkInvalid,
    };
    ApiError::forbidden(code, refusal.to_string())
}

#[utoipa::path(put, path = "/storage/ticket-attachments/{ticket_id}/{file_name}", tag = "storage",
    security(("bearer" = []), ("integration_token" = [])),
    params(("ticket_id" = Uuid, Path), ("file_name" = String, Path, description = "A plain file name (no folders, no control characters, at most 255 bytes); if the ticket has another file of that name, the new one is numbered: the answer says the name it got")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream",
        description = "The file's bytes. Its type is read from them (images, PDF, Office documents); at most 50 MiB."),
    responses(
        (status = 201, description = "Stored", body = StoredFile),
        (status = 200, description = "The same bytes were already stored at this path: nothing new was kept", body = StoredFile),
        (status = 400, description = "file_name_not_allowed", body = crate::error::ErrorBody),
        (status = 403, description = "forbidden: the caller may not attach files to the ticket", body = crate::error::ErrorBody),
        (status = 404, description = "No such ticket, or not one the caller may see", body = crate::error::ErrorBody),
        (status = 408, description = "upload_stalled", body = crate::error::ErrorBody),
        (status = 413, description = "file_too_large", body = crate::error::ErrorBody),
        (status = 415, description = "file_type_not_allowed, active_content", body = crate::error::ErrorBody)))]
#[tracing::instrument(name = "upload", skip_all, fields(ticket = %file.ticket_id))]
pub(crate) async fn upload(
    State(state): State<AppState>,
    file: FileRequest,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let (stored, created) = files::upload(
        &state.storage,
        &file.claims,
        file.ticket_id,
        &file.file_name,
        declared,
        body.into_data_stream(),
    )
    .await?;
    tracing::info!(path = %stored.path, size = stored.size, created, "stored a file");
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, ApiJson(stored)).into_response())
}

#[utoipa::path(get, path = "/storage/ticket-attachments/{ticket_id}/{file_name}", tag = "storage",
    security(("bearer" = []), ("integration_token" = []), ()),
    params(("ticket_id" = Uuid, Path), ("file_name" = String, Path),
        ("expires" = Option<i64>, Query, description = "Signed URL: expiry (Unix seconds)"),
        ("user" = Option<Uuid>, Query, description = "Signed URL: the user it acts for"),
        ("signature" = Option<String>, Query, description = "Signed URL: its signature"),
        ("Range" = Option<String>, Header, description = "One byte range, `bytes=start-end`")),
    responses(
        (status = 200, description = "The file", content_type = "application/octet-stream"),
        (status = 206, description = "The range asked for"),
        (status = 304, description = "Unchanged (If-None-Match)"),
        (status = 403, description = "link_expired, link_invalid", body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody),
        (status = 416, description = "range_not_satisfiable", body = crate::error::ErrorBody)))]
#[tracing::instrument(name = "download", skip_all, fields(ticket = %file.ticket_id))]
pub(crate) async fn download(
    State(state): State<AppState>,
    file: FileRequest,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let FileRequest {
        claims,
        ticket_id,
        file_name,
    } = file;
    let found = files::find(&state.storage, &claims, ticket_id, &file_name).await?;
    let etag = format!("\"{}\"", found.sha256);
    let mut response_headers = HeaderMap::new();
    insert(&mut response_headers, header::ETAG, &etag);
    insert(&mut response_headers, header::ACCEPT_RANGES, "bytes");
    insert(
        &mut response_headers,
        header::CACHE_CONTROL,
        "private, no-cache",
    );
    // What the file is, as read from it; never run, never sniffed again.
    insert(
        &mut response_headers,
        header::CONTENT_TYPE,
        &found.mime_type,
    );
    insert(
        &mut response_headers,
        header::X_CONTENT_TYPE_OPTIONS,
        "nosniff",
    );
    insert(
        &mut response_headers,
        header::CONTENT_SECURITY_POLICY,
        "sandbox",
    );
    let inline = found.mime_type.starts_with("image/") || found.mime_type == "application/pdf";
    insert(
        &mut response_headers,
        header::CONTENT_DISPOSITION,
        &content_disposition(&file_name, inline),
    );
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|tag| tag.trim() == etag || tag.trim() == "*")
        })
    {
        return Ok((StatusCode::NOT_MODIFIED, response_headers).into_response());
    }
    let range = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        Some(value) => parse_range(value, found.size)
            .map_err(|()| ApiError::from(StorageError::Range { size: found.size }))?,
        None => None,
    };
    let (status, length) = match &range {
        Some(r) => {
            insert(
                &mut response_headers,
                header::CONTENT_RANGE,
                &format!("bytes {}-{}/{}", r.start, r.end - 1, found.size),
            );
            (StatusCode::PARTIAL_CONTENT, r.end - r.start)
        }
        None => (StatusCode::OK, found.size),
    };
    insert(
        &mut response_headers,
        header::CONTENT_LENGTH,
        &length.to_string(),
    );
    let stream = files::read(&state.storage, &found, range).await?;
    let body = Body::from_stream(stream.map(|chunk| chunk.map_err(std::io::Error::other)));
    Ok((status, response_headers, body).into_response())
}

fn insert(headers: &mut HeaderMap, name: header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

/// `attachment; filename="report.pdf"; filename*=UTF-8''report.pdf`: an
/// ASCII fallback for old clients, the exact name for the rest.
fn content_disposition(file_name: &str, inline: bool) -> String {
    let fallback: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let kind = if inline { "inline" } else { "attachment" };
    format!(
        "{kind}; filename=\"{fallback}\"; filename*=UTF-8''{}",
        crm_domain::files::url_segment(file_name)
    )
}

/// One byte range of a file of `size` bytes (`bytes=a-b`, `bytes=a-`,
/// `bytes=-n`), as a half-open range. Several ranges are answered whole
/// (which RFC 9110 allows); one outside the file is an error.
fn parse_range(value: &str, size: u64) -> Result<Option<std::ops::Range<u64>>, ()> {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let (start, end) = spec.split_once('-').ok_or(())?;
    let (start, end) = match (start.trim(), end.trim()) {
        ("", suffix) => {
            let n: u64 = suffix.parse().map_err(|_| ())?;
            if n == 0 {
                return Err(());
            }
            (size.saturating_sub(n), size)
        }
        (start, "") => (start.parse().map_err(|_| ())?, size),
        (start, end) => {
            let start: u64 = start.parse().map_err(|_| ())?;
            let end: u64 = end.parse().map_err(|_| ())?;
            if end < start {
                return Err(());
            }
            (start, (end + 1).min(size))
        }
    };
    if start >= size {
        return Err(());
    }
    Ok(Some(start..end))
}

#[utoipa::path(delete, path = "/storage/ticket-attachments/{ticket_id}/{file_name}", tag = "storage",
    security(("bearer" = []), ("integration_token" = []), ()),
    params(("ticket_id" = Uuid, Path), ("file_name" = String, Path)),
    responses(
        (status = 204, description = "The file and the attachment it backs are deleted"),
        (status = 403, description = "forbidden: only the uploader or an admin", body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
#[tracing::instrument(name = "delete_file", skip_all, fields(ticket = %file.ticket_id))]
pub(crate) async fn remove(
    State(state): State<AppState>,
    file: FileRequest,
) -> ApiResult<StatusCode> {
    files::delete(
        &state.storage,
        &file.claims,
        file.ticket_id,
        &file.file_name,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What to sign: an attachment (by id) or a path, and for which method.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SignRequest {
    /// The attachment whose file to link to.
    pub attachment_id: Option<Uuid>,
    /// Or the file's path, `{ticket_id}/{file_name}` (a `ticket-attachments/`
    /// prefix is allowed): for an upload, which has no attachment yet.
    pub path: Option<String>,
    /// `GET` (the default), `PUT` or `DELETE`.
    #[serde(default)]
    pub method: Option<String>,
    /// Seconds the link works (default and most: the server's
    /// `--signed-url-max-ttl`, 5 minutes unless configured).
    pub expires_in: Option<u64>,
}

/// A signed URL: relative to the server's address.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SignedUrl {
    /// `/storage/ticket-attachments/{ticket}/{name}?expires=...&user=...&signature=...`
    pub url: String,
    pub method: String,
    pub expires_at: DateTime<Utc>,
}

#[utoipa::path(post, path = "/storage/sign", tag = "storage", security(("bearer" = [])),
    request_body = SignRequest,
    responses(
        (status = 200, body = SignedUrl),
        (status = 400, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
#[tracing::instrument(name = "sign", skip_all, fields(user = %user.id))]
pub(crate) async fn sign(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(req): ApiJson<SignRequest>,
) -> ApiResult<ApiJson<SignedUrl>> {
    let storage = &state.storage;
    let claims = user.claims();
    let method = req.method.as_deref().unwrap_or("GET").to_ascii_uppercase();
    if !matches!(method.as_str(), "GET" | "PUT" | "DELETE") {
        return Err(ApiError::bad_request(
            ErrorCode::ValidationFailed,
            "method: must be GET, PUT or DELETE",
        ));
    }
    let (ticket_id, file_name) = match (req.attachment_id, req.path.as_deref()) {
        (Some(id), None) => files::attachment_object(storage, &claims, id).await?,
        (None, Some(path)) => {
            let path = path.strip_prefix("ticket-attachments/").unwrap_or(path);
            let (ticket, name) = path.split_once('/').ok_or_else(|| {
                ApiError::bad_request(
                    ErrorCode::ValidationFailed,
                    "path: must be {ticket_id}/{file_name}",
                )
            })?;
            let ticket = ticket.parse().map_err(|_| {
                ApiError::bad_request(
                    ErrorCode::ValidationFailed,
                    "path: must start with a ticket id",
                )
            })?;
            (ticket, name.to_owned())
        }
        _ => {
            return Err(ApiError::bad_request(
                ErrorCode::ValidationFailed,
                "give either attachment_id or path",
            ));
        }
    };
    // A link to something the caller may not do is never minted.
    if method == "PUT" {
        let name = crm_domain::files::normalise_file_name(&file_name)
            .map_err(|e| ApiError::from(StorageError::Refused(e)))?;
        if name != file_name {
            return Err(StorageError::Refused(FileRefusal::BadName(
                "must be the name it will be stored under",
            ))
            .into());
        }
        if !files::may_attach(storage, &claims, ticket_id).await? {
            return Err(StorageError::NotAllowed.into());
        }
    } else {
        files::find(storage, &claims, ticket_id, &file_name).await?;
    }
    let max = storage.max_link_ttl.as_secs();
    let ttl = req.expires_in.unwrap_or(max).clamp(1, max);
    let expires_at = Utc::now() + chrono::Duration::seconds(ttl as i64);
    let query = storage.signer.sign(
        &method,
        &object(ticket_id, &file_name),
        expires_at.timestamp(),
        user.id,
    );
    Ok(ApiJson(SignedUrl {
        url: format!(
            "/storage/{BUCKET}/{ticket_id}/{}?{query}",
            crm_domain::files::url_segment(&file_name)
        ),
        method,
        expires_at,
    }))
}

impl From<StorageError> for ApiError {
    fn from(error: StorageError) -> Self {
        let message = error.to_string();
        match error {
            StorageError::Refused(FileRefusal::TooLarge) => ApiError::TooLarge {
                code: ErrorCode::FileTooLarge,
                message,
            },
            StorageError::Refused(FileRefusal::TypeNotAllowed(_) | FileRefusal::UnknownType) => {
                ApiError::UnsupportedType {
                    code: ErrorCode::FileTypeNotAllowed,
                    message,
                }
            }
            StorageError::Refused(FileRefusal::ActiveContent(_)) => ApiError::UnsupportedType {
                code: ErrorCode::ActiveContent,
                message,
            },
            StorageError::Refused(FileRefusal::BadName(_)) => {
                ApiError::bad_request(ErrorCode::FileNameNotAllowed, message)
            }
            StorageError::Refused(FileRefusal::Empty) => {
                ApiError::bad_request(ErrorCode::ValidationFailed, message)
            }
            StorageError::NotAllowed | StorageError::DeleteNotAllowed => {
                ApiError::forbidden(ErrorCode::Forbidden, message)
            }
            StorageError::NotFound => ApiError::NotFound(message),
            StorageError::Stalled(_) => ApiError::Timeout {
                code: ErrorCode::UploadStalled,
                message,
            },
            StorageError::BodyFailed(_) => ApiError::bad_request(ErrorCode::InvalidBody, message),
            StorageError::Range { size } => ApiError::RangeNotSatisfiable { size },
            StorageError::Db(e) => e.into(),
            StorageError::Blob(e) => {
                tracing::error!(error = %e, "the file store failed");
                ApiError::StorageUnavailable
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_is_one_span_inside_the_file() {
        assert_eq!(parse_range("bytes=0-9", 100), Ok(Some(0..10)));
        assert_eq!(parse_range("bytes=90-", 100), Ok(Some(90..100)));
        assert_eq!(parse_range("bytes=-10", 100), Ok(Some(90..100)));
        assert_eq!(parse_range("bytes=-1000", 100), Ok(Some(0..100)));
        assert_eq!(parse_range("bytes=50-1000", 100), Ok(Some(50..100)));
        // Several ranges, or another unit: the whole file.
        assert_eq!(parse_range("bytes=0-1,5-6", 100), Ok(None));
        assert_eq!(parse_range("items=0-1", 100), Ok(None));
        for bad in [
            "bytes=100-",
            "bytes=9-3",
            "bytes=-0",
            "bytes=x-y",
            "bytes=5",
        ] {
            assert_eq!(parse_range(bad, 100), Err(()), "{bad}");
        }
    }

    #[test]
    fn a_file_name_reaches_every_client_intact() {
        assert_eq!(
            content_disposition("März \"Bericht\".pdf", true),
            "inline; filename=\"M_rz _Bericht_.pdf\"; filename*=UTF-8''M%C3%A4rz%20%22Bericht%22.pdf"
        );
    }
}
