//! The sync server's HTTP API as the desktop app calls it: sign-in, push,
//! pull, colleagues, and the live event stream. Request and response types
//! are crm-domain's; nothing here is redefined.

use crm_domain::codes::ErrorCode;
use std::time::Duration;

use crm_domain::Colleague;
use crm_domain::auth::{LoginRequest, RefreshRequest, Session};
use crm_domain::files::StoredFile;
use crm_domain::protocol::{PullRequest, PullResponse, PushRequest, PushResponse};
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::trust::Server;

/// How a call went wrong, as the engine needs to know it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The server could not be reached, or failed for now: retry later.
    #[error("server unreachable: {0}")]
    Unreachable(String),
    /// The server took the connection but did not answer in time (frozen,
    /// overloaded, or a link that passes nothing): retry later.
    #[error("the server is not responding")]
    NotResponding,
    /// The access token is missing, expired or revoked.
    #[error("not signed in: {0}")]
    Unauthorized(String),
    /// This device may no longer hold the user's data: the account was
    /// deactivated, or this sign-in was ended from elsewhere (its user on
    /// another device, or an admin). The app keeps nothing readable.
    #[error("{message}")]
    AccessEnded { code: ErrorCode, message: String },
    /// This app is older than the server accepts.
    #[error("the app must be updated")]
    UpgradeRequired,
    /// The server refused the request itself (a bug, or bad credentials).
    #[error("{message}")]
    Refused {
        status: u16,
        code: ErrorCode,
        message: String,
    },
    /// The server answered with something this app cannot read.
    #[error("the server's answer could not be read: {0}")]
    Malformed(String),
    /// The app will not talk to this server as it stands (plain HTTP to
    /// another machine, a certificate no one vouches for, or not the
    /// pinned one): its user must decide (`trust`).
    #[error("{0}")]
    NotTrusted(#[from] crate::trust::TrustError),
}

impl ApiError {
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unreachable(_) | Self::NotResponding)
    }
}

impl From<ApiError> for crate::CoreError {
    fn from(error: ApiError) -> Self {
        match error {
            ApiError::Unauthorized(_) => Self::SignInRequired,
            ApiError::AccessEnded { message, .. } => Self::AccessEnded(message),
            ApiError::UpgradeRequired => Self::UpgradeRequired,
            ApiError::NotTrusted(e) => Self::NotTrusted(e),
            other => Self::Remote(other.to_string()),
        }
    }
}

/// How long a request may go without a byte from the server before the
/// server counts as not responding. A frozen server (taking connections,
/// answering nothing) must show as such within about 15 s; a large page
/// that is arriving keeps resetting the clock, so it is never cut off.
pub const SILENCE_LIMIT: Duration = Duration::from_secs(12);

/// The same for the live stream, which the server keeps alive with a
/// comment every 15 s (`sync::live`): three missed beats.
const STREAM_SILENCE_LIMIT: Duration = Duration::from_secs(45);

/// How long a file transfer may go without a byte either way: the server
/// answers an upload only once it has stored all of it.
const TRANSFER_SILENCE_LIMIT: Duration = Duration::from_secs(120);

/// A file coming from the server ([`Api::download_file`]).
pub struct Download {
    /// The SHA-256 of its bytes, as the server has them.
    pub etag: Option<String>,
    pub body: futures_util::stream::BoxStream<'static, Result<bytes::Bytes, ApiError>>,
}

/// A client for one server.
#[derive(Debug, Clone)]
pub struct Api {
    http: reqwest::Client,
    /// For the live stream, with its own silence limit.
    stream: reqwest::Client,
    /// For attachment files, with theirs.
    transfer: reqwest::Client,
    base: String,
    /// Certificates the clients' TLS refused, to say which and why.
    refusals: crate::trust::Refusals,
}

impl Api {
    /// A client for `server`, if the app may talk to it (`trust`).
    pub fn new(server: impl Into<Server>) -> Result<Self, ApiError> {
        Self::with_silence_limit(server, SILENCE_LIMIT)
    }

    /// A client that gives up on a silent server after `silence` (tests
    /// shorten it).
    pub fn with_silence_limit(
        server: impl Into<Server>,
        silence: Duration,
    ) -> Result<Self, ApiError> {
        let server = server.into();
        crate::trust::check_address(&server)?;
        let refusals = crate::trust::Refusals::default();
        let tls = crate::trust::client_config(&server.trust, refusals.clone());
        let client = |read_timeout| {
            reqwest::Client::builder()
                .use_preconfigured_tls(tls.clone())
                .connect_timeout(Duration::from_secs(5))
                .read_timeout(read_timeout)
                .build()
                .map_err(|e| ApiError::Unreachable(e.to_string()))
        };
        Ok(Self {
            http: client(silence)?,
            stream: client(STREAM_SILENCE_LIMIT.max(silence))?,
            transfer: client(TRANSFER_SILENCE_LIMIT.max(silence))?,
            base: server.url.trim().trim_end_matches('/').to_string(),
            refusals,
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    pub async fn login(&self, email: &str, password: &str) -> Result<Session, ApiError> {
        let body = LoginRequest {
            email: email.to_string(),
            password: password.to_string(),
            device_name: device_name(),
            platform: Some(std::env::consts::OS.to_owned()),
        };
        self.post("/auth/login", None, &body).await
    }

    /// Sets a new password with an admin's one-time code, and signs in.
    pub async fn reset_password(
        &self,
        email: &str,
        code: &str,
        new_password: &str,
    ) -> Result<Session, ApiError> {
        let body = crm_domain::auth::PasswordReset {
            email: email.to_string(),
            code: code.to_string(),
            new_password: new_password.to_string(),
            device_name: device_name(),
            platform: Some(std::env::consts::OS.to_owned()),
        };
        self.post("/auth/password-reset", None, &body).await
    }

    pub async fn refresh(&self, refresh_token: &str) -> Result<Session, ApiError> {
        let body = RefreshRequest {
            refresh_token: refresh_token.to_string(),
        };
        self.post("/auth/refresh", None, &body).await
    }

    /// Ends the sign-in `refresh_token` belongs to, with the token alone
    /// (no access token needed: it may have expired long ago).
    pub async fn revoke(&self, refresh_token: &str) -> Result<(), ApiError> {
        let response = self
            .http
            .post(format!("{}/auth/revoke", self.base))
            .json(&RefreshRequest {
                refresh_token: refresh_token.to_string(),
            })
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        check(response).await.map(|_| ())
    }

    pub async fn push(&self, token: &str, request: &PushRequest) -> Result<PushResponse, ApiError> {
        self.post("/sync/push", Some(token), request).await
    }

    pub async fn pull(&self, token: &str, request: &PullRequest) -> Result<PullResponse, ApiError> {
        self.post("/sync/pull", Some(token), request).await
    }

    pub async fn colleagues(&self, token: &str) -> Result<Vec<Colleague>, ApiError> {
        let response = self
            .http
            .get(format!("{}/colleagues", self.base))
            .bearer_auth(token)
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        decode(check(response).await?).await
    }

    fn file_url(&self, ticket_id: uuid::Uuid, file_name: &str) -> String {
        format!(
            "{}/storage/ticket-attachments/{ticket_id}/{}",
            self.base,
            crm_domain::files::url_segment(file_name)
        )
    }

    /// Uploads a file of `size` bytes, streaming `chunks` (read from the
    /// cache as they are sent); `sent` hears how many bytes have gone so
    /// far.
    pub async fn upload_file(
        &self,
        token: &str,
        ticket_id: uuid::Uuid,
        file_name: &str,
        size: u64,
        chunks: impl futures_util::Stream<Item = std::io::Result<Vec<u8>>> + Send + 'static,
        sent: impl Fn(u64) + Send + Sync + 'static,
    ) -> Result<StoredFile, ApiError> {
        let mut total = 0u64;
        let counted = chunks.map(move |chunk| {
            if let Ok(bytes) = &chunk {
                total += bytes.len() as u64;
                sent(total);
            }
            chunk
        });
        let response = self
            .transfer
            .put(self.file_url(ticket_id, file_name))
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_LENGTH, size)
            .body(reqwest::Body::wrap_stream(counted))
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        decode(check(response).await?).await
    }

    /// Starts a download: the SHA-256 the server says the file has (its
    /// `ETag`, to check the bytes against) and its bytes as they arrive.
    pub async fn download_file(
        &self,
        token: &str,
        ticket_id: uuid::Uuid,
        file_name: &str,
    ) -> Result<Download, ApiError> {
        let response = self
            .transfer
            .get(self.file_url(ticket_id, file_name))
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        let response = check(response).await?;
        let etag = response
            .headers()
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim_matches('"').to_owned());
        let body = response.bytes_stream().map(|c| c.map_err(cut_off)).boxed();
        Ok(Download { etag, body })
    }

    /// Opens the live stream; `on_event` is called for each event name
    /// (`ready`, `changes`) until the stream ends or fails.
    pub async fn events(
        &self,
        token: &str,
        mut on_event: impl FnMut(&str),
    ) -> Result<(), ApiError> {
        let response = self
            .stream
            .get(format!("{}/sync/events", self.base))
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        let response = check(response).await?;
        let mut stream = response.bytes_stream();
        let mut buffer = String::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| self.unreachable(e))?;
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            // Events end with a blank line; only the event name matters.
            while let Some(end) = buffer.find("\n\n") {
                let block: String = buffer.drain(..end + 2).collect();
                if let Some(name) = block.lines().find_map(|line| line.strip_prefix("event:")) {
                    on_event(name.trim());
                }
            }
        }
        Ok(())
    }

    /// A JSON call with the user's sign-in to any of the server's
    /// endpoints (`method` and `path`, query included); `None` as the body
    /// sends none. The answer is decoded as `R` (`()` reads an empty one).
    pub async fn call<B: Serialize, R: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<&B>,
    ) -> Result<R, ApiError> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token)
            .timeout(Duration::from_secs(30));
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = check(request.send().await.map_err(|e| self.unreachable(e))?).await?;
        let bytes = response.bytes().await.map_err(|e| self.unreachable(e))?;
        // An empty answer (204) reads as JSON `null`, which `()` accepts.
        let bytes: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
        serde_json::from_slice(bytes).map_err(|e| ApiError::Malformed(e.to_string()))
    }

    async fn post<B: Serialize, R: DeserializeOwned>(
        &self,
        path: &str,
        token: Option<&str>,
        body: &B,
    ) -> Result<R, ApiError> {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .json(body)
            // A first-load page can be large; a dead connection still ends.
            .timeout(Duration::from_secs(120));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.map_err(|e| self.unreachable(e))?;
        decode(check(response).await?).await
    }
}

/// This computer's name, as its user knows it, for their list of signed-in
/// devices (`None` where the system does not say).
pub fn device_name() -> Option<String> {
    let from_env = ["COMPUTERNAME", "HOSTNAME"]
        .iter()
        .find_map(|key| std::env::var(key).ok());
    let name = from_env.or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())?;
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_owned())
}

impl Api {
    /// A request that got no answer: a refused certificate (which the
    /// user must decide about), silence, or no way through.
    fn unreachable(&self, error: reqwest::Error) -> ApiError {
        match self.refusals.take() {
            Some(refused) => ApiError::NotTrusted(refused),
            None => cut_off(error),
        }
    }
}

/// A connection that went silent or broke once a response was under way.
fn cut_off(error: reqwest::Error) -> ApiError {
    if error.is_timeout() {
        ApiError::NotResponding
    } else {
        ApiError::Unreachable(error.to_string())
    }
}

async fn decode<R: DeserializeOwned>(response: reqwest::Response) -> Result<R, ApiError> {
    let bytes = response.bytes().await.map_err(cut_off)?;
    serde_json::from_slice(&bytes).map_err(|e| ApiError::Malformed(e.to_string()))
}

/// Turns error statuses into [`ApiError`]s, reading the server's one error
/// shape (`{"error": {"code", "message"}}`).
async fn check(response: reqwest::Response) -> Result<reqwest::Response, ApiError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    let code = ErrorCode::parse(body["error"]["code"].as_str().unwrap_or_default());
    let message = body["error"]["message"]
        .as_str()
        .unwrap_or("the server refused the request")
        .to_string();
    Err(match status {
        StatusCode::UNAUTHORIZED
            if matches!(
                code,
                ErrorCode::AccountDeactivated | ErrorCode::SessionRevoked
            ) =>
        {
            ApiError::AccessEnded { code, message }
        }
        StatusCode::UNAUTHORIZED => ApiError::Unauthorized(message),
        StatusCode::UPGRADE_REQUIRED => ApiError::UpgradeRequired,
        s if s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS => {
            ApiError::Unreachable(format!("{s}: {message}"))
        }
        s => ApiError::Refused {
            status: s.as_u16(),
            code,
            message,
        },
    })
}
