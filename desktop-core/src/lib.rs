//! The desktop app without its window. Everything a field agent relies on
//! offline lives here, so it builds and tests without WebKit:
//!
//! - [`store`]: the local SQLite replica. Every user action is one SQLite
//!   transaction that changes the rows optimistically and appends its
//!   mutation to the outbox, after the same checks the server makes.
//! - [`sync`]: the background engine speaking the sync server's protocol
//!   (crm-domain's `protocol`): first load with progress, live updates,
//!   outbox pushes with backoff, rebase of unsent work on top of the server's.
//! - [`api`]: the sync server's HTTP API with crm-domain's types, below
//!   both the engine and the session (so neither imports the other's
//!   insides).
//! - [`session`]: sign-in, the cached session that works offline, one
//!   replica per user.
//! - [`trust`]: which servers the app talks to: HTTPS checked against the
//!   system's authorities or a fingerprint its user pinned, plain HTTP only
//!   to loopback unless allowed.
//! - [`reminders`]: follow-up dates turned into desktop notifications, each
//!   fired once.
//! - [`files`]: attachment files opened from the cache or downloaded into
//!   it (their upload is the engine's, in outbox order); [`sealed`] is how
//!   the cache keeps them encrypted at rest.
//! - [`integrations`]: the user's integration tokens and webhooks, which
//!   live on the server only (online only).
//! - [`account`]: my devices and password, and the team's accounts for
//!   admins (online only); [`online`] is how such calls are made.
//! - [`grace`]: the offline grace period: past it, the password before
//!   any data; too many wrong answers lock until an online sign-in.
//! - [`vault`]: the replica's encryption key, in the OS keyring or from a
//!   passphrase where none answers.
//! - [`wipe`]: when the account is deactivated or this sign-in revoked,
//!   the unsent work saved to a file, then nothing readable left.
//!
//! The Tauri shell (`src-tauri/`) is a thin layer of commands over this crate.

pub mod account;
pub mod api;
pub mod error;
pub mod files;
#[cfg(feature = "fixtures")]
pub mod fixtures;
pub mod grace;
pub mod integrations;
pub mod online;
pub mod reminders;
pub mod sealed;
pub mod session;
pub mod store;
pub mod sync;
pub mod trust;
pub mod vault;
pub mod wipe;

pub use error::{CoreError, CoreResult};
pub use store::Store;
