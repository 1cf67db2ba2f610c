//! Who is calling: the `AuthUser` extractor checks the bearer access token
//! and that its session is live (not signed out, revoked, past its
//! absolute lifetime, or of a deactivated account), so an ended session
//! stops at once, not when its token expires.

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use crm_domain::codes::ErrorCode;
use uuid::Uuid;

use super::store;
use super::tokens::Rejection;
use crate::data::acting;
use crate::data::{Claims, Principal};
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Clone, Copy)]
pub struct AuthUser {
    pub id: Uuid,
    /// The sign-in this request belongs to (its refresh-token family).
    pub session: Uuid,
}

impl AuthUser {
    pub fn claims(&self) -> Claims {
        Claims::user(self.id)
    }

    /// Who the request acts for, for the data service.
    pub fn principal(&self) -> Principal {
        Principal::Person {
            id: self.id,
            session: self.session,
        }
    }

    /// Whether the caller is an admin right now (roles live in `profiles`,
    /// not in the token, so a change takes effect at once).
    pub async fn is_admin(&self, pool: &sqlx::PgPool) -> Result<bool, ApiError> {
        let mut tx = acting::begin_as(pool, &self.claims()).await?;
        let admin = sqlx::query_scalar!(r#"SELECT public.is_admin() AS "admin!""#)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(admin)
    }
}

/// The token of an `Authorization: Bearer <token>` header, if it is one.
/// (Sign-ins, integration tokens and the storage endpoints all read it
/// here.)
pub(crate) fn bearer_of(value: &axum::http::HeaderValue) -> Option<&str> {
    value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

fn bearer(parts: &Parts) -> Option<Result<&str, ApiError>> {
    let value = parts.headers.get(AUTHORIZATION)?;
    Some(bearer_of(value).ok_or_else(|| {
        ApiError::unauthorized(
            ErrorCode::InvalidToken,
            "send the access token as `Authorization: Bearer <token>`",
        )
    }))
}

async fn authenticate(token: &str, state: &AppState) -> Result<AuthUser, ApiError> {
    let claims = state
        .tokens
        .verify(token)
        .map_err(|rejection| match rejection {
            Rejection::Expired => ApiError::unauthorized(
                ErrorCode::TokenExpired,
                "the access token has expired; refresh it",
            ),
            Rejection::Invalid => {
                ApiError::unauthorized(ErrorCode::InvalidToken, "the access token is not valid")
            }
        })?;
    let mut tx = acting::begin_service(&state.pool).await?;
    let session = store::session_state(&mut tx, claims.sid).await?;
    tx.commit().await?;
    match session {
        Some(store::SessionState::Live) => Ok(AuthUser {
            id: claims.sub,
            session: claims.sid,
        }),
        Some(other) => Err(refusal(other)),
        None => Err(refusal(store::SessionState::Ended(
            store::EndReason::SignedOut,
        ))),
    }
}

/// Why a session that is not live is refused, with the stable code the app
/// acts on: `account_deactivated` and `session_revoked` mean "keep nothing
/// readable here"; `session_ended` and `session_expired` mean "sign in
/// again", keeping the replica.
pub(crate) fn refusal(state: store::SessionState) -> ApiError {
    use store::{EndReason, SessionState};
    match state {
        SessionState::Deactivated | SessionState::Ended(EndReason::Deactivated) => {
            ApiError::unauthorized(
                ErrorCode::AccountDeactivated,
                "this account has been deactivated; ask an admin",
            )
        }
        SessionState::Ended(EndReason::Revoked | EndReason::SignedOutEverywhere) => {
            ApiError::unauthorized(
                ErrorCode::SessionRevoked,
                "this device's sign-in was ended from elsewhere",
            )
        }
        SessionState::Ended(EndReason::TokenReused) => ApiError::unauthorized(
            ErrorCode::SessionEnded,
            "this sign-in was ended for safety (a refresh token was used twice); sign in again",
        ),
        SessionState::Ended(_) => ApiError::unauthorized(
            ErrorCode::SessionEnded,
            "this sign-in has ended; sign in again",
        ),
        SessionState::Expired | SessionState::Live => ApiError::unauthorized(
            ErrorCode::SessionExpired,
            "this sign-in has reached its time limit; sign in again",
        ),
    }
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match bearer(parts) {
            Some(token) => authenticate(token?, state).await,
            None => Err(ApiError::unauthorized(
                ErrorCode::MissingToken,
                "sign in first: this needs an access token",
            )),
        }
    }
}

/// No header: anonymous. A header that does not check out is still an error,
/// never silently anonymous.
impl OptionalFromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, Self::Rejection> {
        match bearer(parts) {
            Some(token) => authenticate(token?, state).await.map(Some),
            None => Ok(None),
        }
    }
}
