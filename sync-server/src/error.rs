//! The API's one error shape and the one mapping from error to HTTP status:
//! `{"error": {"code": "...", "message": "...", "details": ...}}`, where `code`
//! is stable for programs, `message` is for people, and nothing internal (SQL,
//! stack, file paths) ever leaks into either.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

pub use crm_domain::codes::ErrorCode;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    BadRequest {
        code: ErrorCode,
        message: String,
        details: Option<Value>,
    },
    #[error("{message}")]
    Unauthorized { code: ErrorCode, message: String },
    #[error("{message}")]
    Forbidden { code: ErrorCode, message: String },
    #[error("{0}")]
    NotFound(String),
    /// The endpoint does not take this method (405).
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{message}")]
    Conflict { code: ErrorCode, message: String },
    /// A request that cannot be done as sent, though well formed (422).
    #[error("{message}")]
    Unprocessable { code: ErrorCode, message: String },
    /// `If-Match` no longer matches (412).
    #[error("the row has changed since the version you sent in If-Match; read it again")]
    PreconditionFailed,
    #[error("the request body is larger than the server accepts")]
    PayloadTooLarge,
    /// An upload over its limit (413).
    #[error("{message}")]
    TooLarge { code: ErrorCode, message: String },
    /// Content of a kind the endpoint does not take (415).
    #[error("{message}")]
    UnsupportedType { code: ErrorCode, message: String },
    /// The client stopped sending (408).
    #[error("{message}")]
    Timeout { code: ErrorCode, message: String },
    #[error("the range is outside the file's {size} bytes")]
    RangeNotSatisfiable { size: u64 },
    #[error("too many attempts; try again in {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    /// Over a per-user budget (see `crate::limits`).
    #[error("too many requests; try again in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("the database is not reachable")]
    Unavailable,
    #[error("the file store is not reachable; try again")]
    StorageUnavailable,
    /// The client must be updated; it keeps its unsent changes.
    #[error("{message}")]
    UpgradeRequired { message: String },
    /// Anything unexpected. Logged in full; the caller only learns that it
    /// happened.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable: `invalid_credentials`, `validation_failed`, ...
    pub code: ErrorCode,
    /// For a person to read.
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
}

impl ApiError {
    pub fn bad_request(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
            details: None,
        }
    }

    pub fn unauthorized(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Unauthorized {
            code,
            message: message.into(),
        }
    }

    pub fn forbidden(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Forbidden {
            code,
            message: message.into(),
        }
    }

    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        Self::Internal(error.into())
    }

    fn status_and_code(&self) -> (StatusCode, ErrorCode) {
        match self {
            Self::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, *code),
            Self::Unauthorized { code, .. } => (StatusCode::UNAUTHORIZED, *code),
            Self::Forbidden { code, .. } => (StatusCode::FORBIDDEN, *code),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, ErrorCode::NotFound),
            Self::MethodNotAllowed(_) => {
                (StatusCode::METHOD_NOT_ALLOWED, ErrorCode::MethodNotAllowed)
            }
            Self::Conflict { code, .. } => (StatusCode::CONFLICT, *code),
            Self::Unprocessable { code, .. } => (StatusCode::UNPROCESSABLE_ENTITY, *code),
            Self::PreconditionFailed => (
                StatusCode::PRECONDITION_FAILED,
                ErrorCode::PreconditionFailed,
            ),
            Self::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::PayloadTooLarge),
            Self::TooLarge { code, .. } => (StatusCode::PAYLOAD_TOO_LARGE, *code),
            Self::UnsupportedType { code, .. } => (StatusCode::UNSUPPORTED_MEDIA_TYPE, *code),
            Self::Timeout { code, .. } => (StatusCode::REQUEST_TIMEOUT, *code),
            Self::RangeNotSatisfiable { .. } => (
                StatusCode::RANGE_NOT_SATISFIABLE,
                ErrorCode::RangeNotSatisfiable,
            ),
            Self::TooManyRequests { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, ErrorCode::TooManyAttempts)
            }
            Self::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, ErrorCode::RateLimited),
            Self::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::DatabaseUnavailable,
            ),
            Self::StorageUnavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::StorageUnavailable,
            ),
            Self::UpgradeRequired { .. } => {
                (StatusCode::UPGRADE_REQUIRED, ErrorCode::UpgradeRequired)
            }
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal),
        }
    }
}

impl ApiError {
    /// The status this error answers with.
    pub fn status(&self) -> StatusCode {
        self.status_and_code().0
    }

    /// The body this error answers with.
    pub fn body(&self) -> ErrorBody {
        let details = match &self {
            Self::BadRequest { details, .. } => details.clone(),
            _ => None,
        };
        ErrorBody {
            error: ErrorDetail {
                code: self.status_and_code().1,
                message: self.to_string(),
                details,
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(source) = &self {
            tracing::error!(error = ?source, "request failed");
        }
        let mut response = (self.status(), Json(self.body())).into_response();
        if let Self::RangeNotSatisfiable { size } = self
            && let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}"))
        {
            response.headers_mut().insert(header::CONTENT_RANGE, value);
            return response;
        }
        if let Self::TooManyRequests { retry_after_secs } | Self::RateLimited { retry_after_secs } =
            self
            && let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
                Self::Unavailable
            }
            // A statement past its timeout (or cancelled by an operator):
            // the database is busy, try again later.
            sqlx::Error::Database(e) if e.code().as_deref() == Some("57014") => {
                tracing::warn!(error = %e, "a statement ran past its timeout");
                Self::Unavailable
            }
            _ => Self::Internal(error.into()),
        }
    }
}

impl From<crate::db::DbError> for ApiError {
    fn from(error: crate::db::DbError) -> Self {
        match error {
            crate::db::DbError::Sqlx(e) => e.into(),
            other => Self::Internal(other.into()),
        }
    }
}

impl From<crm_domain::ValidationErrors> for ApiError {
    fn from(errors: crm_domain::ValidationErrors) -> Self {
        let details = errors
            .errors()
            .iter()
            .map(|e| serde_json::json!({ "field": e.field, "message": e.message }))
            .collect();
        Self::BadRequest {
            code: ErrorCode::ValidationFailed,
            message: errors.to_string(),
            details: Some(Value::Array(details)),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::BytesRejection(_)
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                Self::PayloadTooLarge
            }
            JsonRejection::MissingJsonContentType(_) => Self::bad_request(
                ErrorCode::UnsupportedMediaType,
                "send the body as JSON (Content-Type: application/json)",
            ),
            // serde's message names the field and what was expected, never
            // anything of the server's.
            other => Self::bad_request(ErrorCode::InvalidBody, other.body_text()),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        // A path naming no row this server could hold (an id that is not
        // a UUID): there is no such thing here.
        Self::NotFound(format!("no such path: {}", rejection.body_text()))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::bad_request(ErrorCode::InvalidQuery, rejection.body_text())
    }
}

/// `Path` whose rejections answer in the API's error shape (404).
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// `Query` whose rejections answer in the API's error shape (400
/// `invalid_query`).
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// `Json` whose rejections answer in the API's error shape.
#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        Json(self.0).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
