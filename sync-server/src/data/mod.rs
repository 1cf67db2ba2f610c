//! The data service: every read and write of user data, by anyone, goes
//! through here, acting as a [`Principal`]. `acting` is the one place that
//! switches roles and sets claims; `write` applies changes (validation,
//! field merge, clocks, conflicts) and maps the database's refusals to
//! typed codes (`refusal`). The sync protocol (`crate::sync`: sequence
//! numbers, replays, cursors) is a thin layer over it, as the integration
//! API (`crate::api`) is.

pub mod acting;
mod clocks;
pub mod feed;
pub(crate) mod refusal;
pub mod write;

pub use acting::Claims;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

pub(crate) type Tx = Transaction<'static, Postgres>;

/// Who a request acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A person, signed in on one of their devices.
    Person {
        id: Uuid,
        /// The sign-in (refresh-token family) the request belongs to.
        session: Uuid,
    },
    /// Another system, calling with one of `owner`'s integration tokens: it
    /// acts as the owner, narrowed by the token's permissions, and every
    /// audit row names the token.
    Integration { owner: Uuid, token: Uuid },
}

impl Principal {
    /// The user whose rights apply (PostgreSQL's `auth.uid()`).
    pub fn user_id(&self) -> Uuid {
        match self {
            Principal::Person { id, .. } => *id,
            Principal::Integration { owner, .. } => *owner,
        }
    }

    /// The claims PostgreSQL reads for this principal.
    pub fn claims(&self) -> Claims {
        match self {
            Principal::Person { id, .. } => Claims::user(*id),
            Principal::Integration { owner, token } => Claims::integration(*owner, *token),
        }
    }
}
