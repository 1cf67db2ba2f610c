//! Calls that need the server right now, with the user's sign-in: what is
//! kept on the server only (integrations, the user's devices and password,
//! the team's accounts). A 401 (an access token the server stopped taking
//! early) gets one fresh token and one more try; an unreachable server is
//! said plainly, with why the screen needs it.

use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::api::ApiError;
use crate::session::Session;
use crate::{CoreError, CoreResult};

/// How a screen's calls read when they fail.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    /// Said when the server cannot be reached: why this needs it.
    pub offline: &'static str,
    /// What a 404 was about ("integration", "device").
    pub missing: &'static str,
}

/// Nothing to send.
pub const NO_BODY: Option<&()> = None;

/// One call (see the module's documentation).
pub async fn call<B: Serialize, R: DeserializeOwned>(
    session: &Session,
    context: Context,
    method: Method,
    path: &str,
    body: Option<&B>,
) -> CoreResult<R> {
    let failed = |e| refusal(context, e);
    let token = session.access_token().await.map_err(failed)?;
    match session.api().call(method.clone(), path, &token, body).await {
        Err(ApiError::Unauthorized(_)) => {
            session.invalidate_access().await;
            let token = session.access_token().await.map_err(failed)?;
            session
                .api()
                .call(method, path, &token, body)
                .await
                .map_err(failed)
        }
        other => other.map_err(failed),
    }
}

/// The server's answer as the user reads it: a refusal keeps its words (a
/// 403 as a refusal, a 404 as "not found"), an unreachable server says why
/// the screen needs it.
fn refusal(context: Context, error: ApiError) -> CoreError {
    match error {
        e if e.is_transient() => {
            CoreError::Remote(format!("The server cannot be reached. {}", context.offline))
        }
        ApiError::Refused {
            status: 403,
            message,
            ..
        } => CoreError::Forbidden(message),
        ApiError::Refused { status: 404, .. } => CoreError::NotFound {
            what: context.missing,
        },
        other => other.into(),
    }
}
