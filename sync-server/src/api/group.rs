//! Group commit for the API's creates: creates of one token that arrive
//! while an earlier group is being written go to PostgreSQL together, in
//! one transaction, through the data service's batch path — as a device's
//! push does (a thousand mutations a transaction).
//!
//! Nothing waits on purpose: the first create of a token starts a writer
//! for it at once (a group of one); creates that arrive meanwhile queue,
//! and the writer takes them all as its next group, until the queue is
//! empty. Under load the groups grow by themselves; alone, a create costs
//! what it did.
//!
//! Each create keeps its own answer: a refusal is that create's (the batch
//! path rejects exactly the refused mutations), stored under its own
//! `Idempotency-Key`. A failure of the database (a 5xx) fails the whole
//! group and nothing of it is kept, so every create in it may be retried
//! as it was. The writer runs on a task of its own: a client that hangs
//! up does not cut the group short for the others (its create is still
//! written, and a retry with its key answers it).

use std::collections::HashMap;
use std::sync::Mutex;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use crm_domain::protocol::{Mutation, MutationOp, MutationOutcome};
use crm_domain::resources::Resource;
use serde_json::{Map, Value};
use tokio::sync::oneshot;
use uuid::Uuid;

use super::Integration;
use super::idempotency::{self, Answer, Taken};
use super::writing::{answer_with_rows, next_seqs, refusal};
use crate::data::acting::act_as;
use crate::data::write;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The most creates one transaction takes (the rest wait for the next).
const MAX_GROUP: usize = 500;
/// Groups of one token written at once (each takes one of the API's
/// permits). One: with three, groups were smaller and the benchmark slower
/// on two cores (657–666/s against 714–749/s).
const WRITERS_PER_TOKEN: usize = 1;

/// A create, checked and waiting for its group.
pub struct Create {
    pub resource: &'static Resource,
    pub id: Uuid,
    pub values: Map<String, Value>,
    /// Its `Idempotency-Key` and the request's fingerprint.
    pub key: Option<(String, String)>,
}

struct Waiting {
    create: Create,
    answer: oneshot::Sender<Response>,
}

/// A token's creates waiting, and its writers running.
#[derive(Default)]
struct Queue {
    waiting: Vec<Waiting>,
    writers: usize,
}

/// The creates waiting, by token; a token has an entry exactly while one
/// of its writers runs.
#[derive(Default)]
pub struct Groups {
    queues: Mutex<HashMap<Uuid, Queue>>,
}

impl Groups {
    /// Writes `create` with the next group of its token's creates.
    pub async fn create(&self, state: &AppState, who: &Integration, create: Create) -> Response {
        let (answer, answered) = oneshot::channel();
        let start = {
            let Ok(mut queues) = self.queues.lock() else {
                return ApiError::internal(anyhow::anyhow!("the create queue is poisoned"))
                    .into_response();
            };
            let queue = queues.entry(who.token).or_default();
            queue.waiting.push(Waiting { create, answer });
            let start = queue.writers < WRITERS_PER_TOKEN;
            if start {
                queue.writers += 1;
            }
            start
        };
        if start {
            tokio::spawn(write_groups(state.clone(), who.clone()));
        }
        answered.await.unwrap_or_else(|_| {
            ApiError::internal(anyhow::anyhow!(
                "the create's group ended without an answer"
            ))
            .into_response()
        })
    }

    /// A writer's next group of `token`'s creates; none when nothing
    /// waits, and then the writer is gone (the entry too, with the last
    /// one), so the next create starts one.
    fn next_group(&self, token: Uuid) -> Vec<Waiting> {
        let Ok(mut queues) = self.queues.lock() else {
            return Vec::new();
        };
        let Some(queue) = queues.get_mut(&token) else {
            return Vec::new();
        };
        if queue.waiting.is_empty() {
            queue.writers = queue.writers.saturating_sub(1);
            if queue.writers == 0 {
                queues.remove(&token);
            }
            return Vec::new();
        }
        let n = queue.waiting.len().min(MAX_GROUP);
        queue.waiting.drain(..n).collect()
    }
}

/// A token's writer: groups until none waits.
async fn write_groups(state: AppState, who: Integration) {
    loop {
        let group = state.api.creates.next_group(who.token);
        if group.is_empty() {
            return;
        }
        let (creates, answers): (Vec<Create>, Vec<oneshot::Sender<Response>>) =
            group.into_iter().map(|w| (w.create, w.answer)).unzip();
        let n = creates.len();
        // Its own task, so that a panic fails this group, not the writer.
        // One of the API's database permits for the whole group.
        let written = tokio::spawn({
            let (state, who) = (state.clone(), who.clone());
            async move {
                let _permit = state
                    .api
                    .running
                    .clone()
                    .acquire_owned()
                    .await
                    .map_err(|_| ApiError::Unavailable)?;
                write_group(&state, &who, creates).await
            }
        })
        .await;
        let responses: Vec<Response> = match written {
            Ok(Ok(responses)) => responses,
            Ok(Err(e)) => {
                tracing::error!(error = %e, creates = n, "a group of creates failed");
                (0..n)
                    .map(|_| Answer::from_error(&e).into_response())
                    .collect()
            }
            Err(e) => {
                tracing::error!(error = %e, creates = n, "a group of creates panicked");
                let e = ApiError::internal(anyhow::anyhow!("internal error"));
                (0..n)
                    .map(|_| Answer::from_error(&e).into_response())
                    .collect()
            }
        };
        for (answer, response) in answers.into_iter().zip(responses) {
            // A client that hung up has nobody to tell.
            let _ = answer.send(response);
        }
    }
}

/// One transaction: the keys taken, the rows inserted, read back and the
/// answers stored under their keys; one response per create, in order.
#[tracing::instrument(name = "create_group", skip_all, fields(token = %who.token, creates = creates.len()))]
async fn write_group(
    state: &AppState,
    who: &Integration,
    creates: Vec<Create>,
) -> ApiResult<Vec<Response>> {
    let mut tx = state.pool.begin().await?;
    let mut responses: Vec<Option<Response>> = (0..creates.len()).map(|_| None).collect();
    let keys: Vec<Option<(&str, &str)>> = creates
        .iter()
        .map(|c| c.key.as_ref().map(|(k, fp)| (k.as_str(), fp.as_str())))
        .collect();
    let taken = idempotency::take(&mut tx, who.token, &keys).await?;
    for (slot, taken) in responses.iter_mut().zip(&taken) {
        match taken {
            Taken::Go => {}
            Taken::Replay(answer) => *slot = Some(answer.clone().replayed()),
            Taken::Refused(e) => *slot = Some(Answer::from_error(e).into_response()),
        }
    }
    act_as(&mut tx, &who.principal().claims()).await?;
    let going: Vec<usize> = (0..creates.len())
        .filter(|&i| responses[i].is_none())
        .collect();
    let seqs = next_seqs(&mut tx, going.len()).await?;
    let mutations: Vec<Mutation> = going
        .iter()
        .zip(seqs)
        .map(|(&i, seq)| Mutation {
            seq,
            table: creates[i].resource.table,
            row_id: creates[i].id,
            op: MutationOp::Insert {
                values: creates[i].values.clone().into_iter().collect(),
            },
            edited_at: chrono::Utc::now(),
        })
        .collect();
    let outcomes = write::apply(&mut tx, &who.principal(), who.token, &mutations).await?;
    let mut answers: Vec<(usize, Answer)> = Vec::with_capacity(going.len());
    let mut applied: Vec<usize> = Vec::new();
    for (&i, outcome) in going.iter().zip(outcomes) {
        match outcome {
            MutationOutcome::Applied | MutationOutcome::Merged { .. } => applied.push(i),
            refused => answers.push((i, Answer::from_error(&refusal(refused)))),
        }
    }
    let rows: Vec<(&Resource, Uuid)> = applied
        .iter()
        .map(|&i| (creates[i].resource, creates[i].id))
        .collect();
    let read_back = answer_with_rows(&mut tx, who, &rows, StatusCode::CREATED).await?;
    answers.extend(applied.into_iter().zip(read_back));
    let stored: Vec<(&str, &str, &Answer)> = answers
        .iter()
        .filter_map(|(i, answer)| {
            creates[*i]
                .key
                .as_ref()
                .map(|(k, fp)| (k.as_str(), fp.as_str(), answer))
        })
        .collect();
    idempotency::finish_all(&mut tx, who.token, &stored).await?;
    tx.commit().await?;
    for (i, answer) in answers {
        responses[i] = Some(answer.into_response());
    }
    Ok(responses
        .into_iter()
        .map(|r| {
            r.unwrap_or_else(|| {
                ApiError::internal(anyhow::anyhow!("a create got no answer")).into_response()
            })
        })
        .collect())
}
