//! The sync protocol's HTTP side. `POST /sync/push` takes a batch of
//! mutations from a client's outbox (see `push`); `POST /sync/pull` returns
//! what changed for the caller since their cursor (see `pull`);
//! `GET /sync/events` says when to pull again (see `live`). Types come from
//! `crm_domain::protocol`, shared with the desktop app.
//!
//! Two kinds of bad input, answered differently on purpose:
//! - a malformed batch (not the protocol: unknown table or column, a column
//!   clients may not write, sequence numbers out of order) is a 4xx and
//!   changes nothing — our own client never sends one;
//! - a well-formed mutation the rules refuse (a value that fails validation,
//!   a row the user may not touch, a forbidden workflow move) is *rejected*:
//!   recorded with its reason, it uses up its sequence number, and the rest of
//!   the outbox goes on, so one bad change never blocks an agent's queue.

pub mod live;
pub(crate) mod pull;
pub(crate) mod push;
mod refusals;
pub mod retention;

use axum::Router;
use axum::routing::post;
use crm_domain::catalogue::Write;
use crm_domain::codes::ErrorCode;
use crm_domain::protocol::{
    MAX_MUTATIONS_PER_PUSH, MIN_SUPPORTED_PROTOCOL_VERSION, Mutation, MutationOp, PROTOCOL_VERSION,
};

use crate::error::ApiError;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sync/push", post(push::push))
        .route("/sync/pull", post(pull::pull))
        .route("/sync/events", axum::routing::get(live::events))
}

/// Refuses clients this server cannot talk to, telling them what to do.
fn negotiate(client_version: u32) -> Result<(), ApiError> {
    if client_version < MIN_SUPPORTED_PROTOCOL_VERSION {
        return Err(ApiError::UpgradeRequired {
            message: format!(
                "this app speaks sync protocol {client_version}; the server needs {MIN_SUPPORTED_PROTOCOL_VERSION} or later. \
                 Update the app: your unsent changes are kept and will be sent after the update."
            ),
        });
    }
    if client_version > PROTOCOL_VERSION {
        return Err(ApiError::bad_request(
            ErrorCode::ProtocolTooNew,
            format!(
                "this server speaks sync protocol up to {PROTOCOL_VERSION}, the app {client_version}"
            ),
        ));
    }
    Ok(())
}

/// The structural checks of a batch: anything failing here is not our
/// protocol, and the whole batch is refused before anything is applied.
fn check_batch(mutations: &[Mutation]) -> Result<(), ApiError> {
    if mutations.len() > MAX_MUTATIONS_PER_PUSH {
        return Err(ApiError::bad_request(
            ErrorCode::BatchTooLarge,
            format!("send at most {MAX_MUTATIONS_PER_PUSH} mutations per push"),
        ));
    }
    for pair in mutations.windows(2) {
        if pair[1].seq != pair[0].seq + 1 {
            return Err(ApiError::bad_request(
                ErrorCode::SequenceNotConsecutive,
                format!(
                    "mutation {} follows {}: sequence numbers in a push must be consecutive",
                    pair[1].seq, pair[0].seq
                ),
            ));
        }
    }
    for m in mutations {
        if m.seq < 1 {
            return Err(ApiError::bad_request(
                ErrorCode::InvalidSequence,
                "sequence numbers start at 1",
            ));
        }
        match &m.op {
            MutationOp::Insert { values } => check_columns(m, values.keys(), Write::on_insert)?,
            MutationOp::Update { changes } => {
                if changes.is_empty() {
                    return Err(ApiError::bad_request(
                        ErrorCode::EmptyUpdate,
                        format!("mutation {} changes no field", m.seq),
                    ));
                }
                check_columns(m, changes.keys(), Write::on_update)?;
            }
            MutationOp::Delete => {}
        }
    }
    Ok(())
}

fn check_columns<'a>(
    m: &Mutation,
    keys: impl Iterator<Item = &'a String>,
    allowed: fn(Write) -> bool,
) -> Result<(), ApiError> {
    for key in keys {
        if !m.table.def().column(key).is_some_and(|c| allowed(c.write)) {
            return Err(ApiError::bad_request(
                ErrorCode::ColumnNotWritable,
                format!(
                    "mutation {}: {}.{key} cannot be written by a client",
                    m.seq,
                    m.table.name()
                ),
            ));
        }
    }
    Ok(())
}
