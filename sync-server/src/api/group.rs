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
//! A second writer starts only when as many creates wait as the largest
//! group being written, and a writer that finishes while another still
//! writes takes the queue only on the same terms (else it stops, and the
//! other takes the queue when it finishes). So the groups stay as large
//! as one writer would make them, and the writers overlap: one group's
//! round trips and statements run while the next is being written, on the
//! other core. Without the rule a free writer took whatever had arrived,
//! often a group of one, and two writers were no faster than one.
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
/// permits), under the rule above.
const WRITERS_PER_TOKEN: usize = 2;

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
    /// Writers running: the size of the group each is writing (0 for one
    /// that has not taken its first yet).
    writing: Vec<usize>,
}

impl Queue {
    /// Whether a writer may take the queue now, beside the token's other
    /// writers (`writing`): always when none writes; beside another, only
    /// once as many wait as the largest group being written, so that
    /// groups do not shrink.
    fn worth_a_group(&self) -> bool {
        let largest = self.writing.iter().copied().max().unwrap_or(0);
        !self.waiting.is_empty() && (self.writing.is_empty() || self.waiting.len() >= largest)
    }

    /// Counts a new writer in, if one may start now; whether it may.
    fn start_writer(&mut self) -> bool {
        let start = self.writing.len() < WRITERS_PER_TOKEN && self.worth_a_group();
        if start {
            self.writing.push(0);
        }
        start
    }
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
            queue.start_writer()
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

    /// The next group of `token`'s creates for the writer that has just
    /// written a group of `last` (0 for its first). None when nothing
    /// waits, or too little beside another writer (see the module's
    /// documentation): then the writer is gone (the entry too, with the
    /// last one). Whatever waits always has a writer: one stops beside
    /// another only, which takes the queue when it finishes.
    fn next_group(&self, token: Uuid, last: usize) -> Vec<Waiting> {
        let Ok(mut queues) = self.queues.lock() else {
            return Vec::new();
        };
        let Some(queue) = queues.get_mut(&token) else {
            return Vec::new();
        };
        let Some(mine) = queue.writing.iter().position(|&size| size == last) else {
            return Vec::new();
        };
        queue.writing.swap_remove(mine);
        if !queue.worth_a_group() {
            if queue.writing.is_empty() {
                queues.remove(&token);
            }
            return Vec::new();
        }
        let n = queue.waiting.len().min(MAX_GROUP);
        queue.writing.push(n);
        queue.waiting.drain(..n).collect()
    }
}

/// A token's writer: groups until none waits.
async fn write_groups(state: AppState, who: Integration) {
    let mut last = 0;
    loop {
        let group = state.api.creates.next_group(who.token, last);
        if group.is_empty() {
            return;
        }
        last = group.len();
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` creates waiting for `token`, their answers dropped.
    fn queue(groups: &Groups, token: Uuid, n: usize) {
        let mut queues = groups.queues.lock().unwrap();
        let queue = queues.entry(token).or_default();
        for _ in 0..n {
            let (answer, _) = oneshot::channel();
            queue.waiting.push(Waiting {
                create: Create {
                    resource: crm_domain::resources::resource("customers").unwrap(),
                    id: Uuid::new_v4(),
                    values: Map::new(),
                    key: None,
                },
                answer,
            });
        }
    }

    /// Whether a create arriving now would start a writer for `token`
    /// (counted in if so), as `Groups::create` asks.
    fn starts_writer(groups: &Groups, token: Uuid) -> bool {
        let mut queues = groups.queues.lock().unwrap();
        queues.entry(token).or_default().start_writer()
    }

    fn set_writing(groups: &Groups, token: Uuid, sizes: Vec<usize>) {
        let mut queues = groups.queues.lock().unwrap();
        queues.entry(token).or_default().writing = sizes;
    }

    fn writing(groups: &Groups, token: Uuid) -> Vec<usize> {
        let queues = groups.queues.lock().unwrap();
        queues
            .get(&token)
            .map(|q| q.writing.clone())
            .unwrap_or_default()
    }

    #[test]
    fn a_lone_writer_takes_whatever_waits() {
        let groups = Groups::default();
        let token = Uuid::new_v4();
        queue(&groups, token, 3);
        assert!(starts_writer(&groups, token));
        assert_eq!(groups.next_group(token, 0).len(), 3);
        assert_eq!(writing(&groups, token), vec![3]);
        // Nothing waits: the writer stops and the token is forgotten.
        assert!(groups.next_group(token, 3).is_empty());
        assert!(groups.queues.lock().unwrap().get(&token).is_none());
    }

    #[test]
    fn a_second_writer_takes_a_group_only_as_large_as_the_one_being_written() {
        let groups = Groups::default();
        let token = Uuid::new_v4();
        queue(&groups, token, 16);
        assert!(starts_writer(&groups, token));
        assert_eq!(groups.next_group(token, 0).len(), 16);
        // 15 wait beside a group of 16: no second writer yet.
        queue(&groups, token, 15);
        assert!(!starts_writer(&groups, token));
        // The 16th makes a group as large: a second writer may take it.
        queue(&groups, token, 1);
        assert!(starts_writer(&groups, token));
        assert_eq!(groups.next_group(token, 0).len(), 16);
        assert_eq!(writing(&groups, token), vec![16, 16]);
    }

    #[test]
    fn a_writer_beside_another_leaves_a_small_queue_to_it_and_nothing_is_left_unwritten() {
        let groups = Groups::default();
        let token = Uuid::new_v4();
        set_writing(&groups, token, vec![16, 16]);
        queue(&groups, token, 4);
        // The first finishes: 4 wait beside a group of 16, so it stops.
        assert!(groups.next_group(token, 16).is_empty());
        assert_eq!(writing(&groups, token), vec![16]);
        // The other finishes: alone now, it takes the 4.
        assert_eq!(groups.next_group(token, 16).len(), 4);
        assert_eq!(writing(&groups, token), vec![4]);
        assert!(groups.next_group(token, 4).is_empty());
        assert!(groups.queues.lock().unwrap().get(&token).is_none());
    }
}
