//! The background sync engine. From start-up it loads the replica (with
//! progress), then follows live updates, and pushes the outbox whenever
//! there is work and a network. One task does all of it, so two pushes
//! never run at once; failures back off exponentially with jitter and the
//! engine resumes from the replica's cursor and outbox, so the server being
//! down, the laptop sleeping or the app being killed mid-sync lose nothing.
//!
//! Status reaches the UI through a `watch` channel ([`SyncHandle::status`]),
//! never by polling. What to do when a round ends (retry, how soon, what
//! to show) is decided by the pure state machine in [`machine`]; this
//! module is its driver, and does the I/O.

mod machine;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crm_domain::protocol::{
    MAX_MUTATIONS_PER_PUSH, PROTOCOL_VERSION, Progress, PullRequest, PullResponse, PushRequest,
};
use rand::Rng;
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tracing::Instrument;

use self::machine::{Backoff, Machine, RoundEnd};
use crate::api::ApiError;
use crate::error::{CoreError, CoreResult};
use crate::session::Session;
use crate::store::Store;
use crate::store::attachments::{PendingUpload, PushStep};

/// What the engine is doing, for the status bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum SyncState {
    /// Starting, or reaching for the server.
    Connecting,
    /// The first load is running (see `progress`).
    Loading,
    /// Pushing or pulling.
    Syncing,
    /// Up to date and listening for news.
    Idle,
    /// The server cannot be reached; work goes on locally.
    Offline,
    /// The server takes connections but does not answer (frozen, overloaded,
    /// or a link that passes nothing); work goes on locally.
    NotResponding,
    /// The session was revoked: sign in again (the outbox is kept).
    SignInRequired,
    /// The account was deactivated or this device's sign-in ended from
    /// elsewhere: the app saves the unsent work to a file and keeps
    /// nothing readable (`crate::wipe`).
    AccessEnded,
    /// This app is too old for the server (the outbox is kept).
    UpgradeRequired,
    Stopped,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SyncStatus {
    pub state: SyncState,
    /// During the first load: rows received and the total.
    pub progress: Option<Progress>,
    /// Changes waiting for the server.
    pub pending: i64,
    /// Refused changes and lost conflicts waiting for the user.
    pub inbox: usize,
    /// When the replica last caught up with the server.
    pub last_sync_at: Option<String>,
    /// Why the engine is offline or stuck, in words.
    pub message: Option<String>,
    /// Rounds completed since start (a round: push, pull, push).
    pub rounds: u64,
    /// The last [`SyncHandle::nudge`] a completed round started after.
    pub served_nudge: u64,
    /// The last nudge a round started after that has ended, well or not:
    /// "Sync now" waits for this to answer the user either way.
    pub attempted_nudge: u64,
    /// The attachment file being uploaded, and how far it is.
    pub upload: Option<UploadProgress>,
}

/// An attachment file on its way to the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct UploadProgress {
    pub attachment_id: uuid::Uuid,
    pub file_name: String,
    /// Bytes sent so far (JavaScript numbers hold them exactly: files are
    /// at most 50 MiB).
    pub sent: u32,
    pub total: u32,
}

/// Tuning, mostly for tests.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Pull anyway this often, in case a live event was missed.
    pub poll_interval: Duration,
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    /// Listen to the server's live events.
    pub live: bool,
    /// How often a caught-up pull also compares table checksums with the
    /// server (always on the engine's first one). A check reads every row
    /// the user holds, on both sides, so it must not ride on every live
    /// update.
    pub verify_interval: Duration,
    /// How much disk the cache of opened attachment files may take.
    pub file_cache_limit_bytes: u64,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(60),
            min_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
            live: true,
            verify_interval: Duration::from_secs(600),
            file_cache_limit_bytes: crate::store::attachments::DEFAULT_CACHE_LIMIT_BYTES,
        }
    }
}

impl EngineOptions {
    fn backoff(&self) -> Backoff {
        Backoff {
            min: self.min_backoff,
            max: self.max_backoff,
        }
    }
}

/// The running engine.
pub struct SyncHandle {
    status: watch::Receiver<SyncStatus>,
    wake: Arc<Notify>,
    nudges: Arc<AtomicU64>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl SyncHandle {
    /// The engine's status; `changed()` wakes on every update.
    pub fn status(&self) -> watch::Receiver<SyncStatus> {
        self.status.clone()
    }

    /// Something was saved locally (or the user asked): sync soon. Returns
    /// a number that `served_nudge` reaches once a round that started after
    /// this call has finished.
    pub fn nudge(&self) -> u64 {
        let n = self.nudges.fetch_add(1, Ordering::SeqCst) + 1;
        self.wake.notify_one();
        n
    }

    /// Stops the engine; a page or push in flight is either fully applied
    /// or not at all (its transaction never committed).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

use crate::store::SharedStore;

/// Starts the engine for a signed-in user and their replica.
pub fn start(store: SharedStore, session: Arc<Session>, options: EngineOptions) -> SyncHandle {
    let initial = SyncStatus {
        state: SyncState::Connecting,
        progress: None,
        pending: 0,
        inbox: 0,
        last_sync_at: None,
        message: None,
        rounds: 0,
        served_nudge: 0,
        attempted_nudge: 0,
        upload: None,
    };
    let (status_tx, status) = watch::channel(initial);
    let (stop, stop_rx) = watch::channel(false);
    let wake = Arc::new(Notify::new());
    let nudges = Arc::new(AtomicU64::new(0));
    let engine = Engine {
        nudges: nudges.clone(),
        store,
        session: session.clone(),
        status: status_tx,
        wake: wake.clone(),
        stop: stop_rx.clone(),
        options: options.clone(),
        verified_at: None,
    };
    let mut tasks = vec![tokio::spawn(engine.run())];
    if options.live {
        tasks.push(tokio::spawn(listen(
            session,
            wake.clone(),
            stop_rx,
            options,
        )));
    }
    SyncHandle {
        status,
        wake,
        nudges,
        stop,
        tasks,
    }
}

struct Engine {
    nudges: Arc<AtomicU64>,
    store: SharedStore,
    session: Arc<Session>,
    status: watch::Sender<SyncStatus>,
    wake: Arc<Notify>,
    stop: watch::Receiver<bool>,
    options: EngineOptions,
    /// When the replica's checksums last matched (or were repaired).
    verified_at: Option<Instant>,
}

/// Why a round ended early.
enum RoundError {
    Api(ApiError),
    Core(CoreError),
}

impl From<ApiError> for RoundError {
    fn from(e: ApiError) -> Self {
        Self::Api(e)
    }
}

impl From<CoreError> for RoundError {
    fn from(e: CoreError) -> Self {
        Self::Core(e)
    }
}

impl Engine {
    async fn run(mut self) {
        let mut machine = Machine::new(self.options.backoff(), self.options.poll_interval);
        loop {
            if *self.stop.borrow() {
                break;
            }
            let serving = self.nudges.load(Ordering::SeqCst);
            // Stopping does not wait for a request in flight (a frozen
            // server would hold a sign-out for as long as it stays silent):
            // dropping the round is safe, as a push is settled only by its
            // answer and store work runs to its commit on its own thread.
            let mut stop = self.stop.clone();
            let round = tokio::select! {
                round = self.round().instrument(tracing::info_span!("sync_round")) => round,
                _ = stop.wait_for(|stop| *stop) => break,
            };
            self.status
                .send_modify(|s| s.attempted_nudge = s.attempted_nudge.max(serving));
            let end = match round {
                Ok(()) => {
                    self.status.send_modify(|s| {
                        s.rounds += 1;
                        s.served_nudge = serving;
                    });
                    RoundEnd::Done
                }
                Err(RoundError::Api(ApiError::Unauthorized(message))) => {
                    RoundEnd::Unauthorized(message)
                }
                Err(RoundError::Api(ApiError::AccessEnded { message, .. })) => {
                    tracing::warn!(%message, "access ended");
                    RoundEnd::AccessEnded(message)
                }
                Err(RoundError::Api(ApiError::UpgradeRequired)) => RoundEnd::UpgradeRequired,
                Err(RoundError::Api(e)) => {
                    tracing::info!(error = %e, "sync round failed; backing off");
                    if matches!(e, ApiError::NotResponding) {
                        RoundEnd::NotResponding(e.to_string())
                    } else {
                        RoundEnd::Unreachable(e.to_string())
                    }
                }
                Err(RoundError::Core(e)) => {
                    tracing::warn!(error = %e, "sync round failed locally");
                    RoundEnd::LocalFailure(e.to_string())
                }
            };
            let decision = machine.round_ended(end, rand::rng().random());
            if decision.drop_access_token {
                self.session.invalidate_access().await;
            }
            if let Some((state, message)) = decision.publish {
                self.publish(state, None, message).await;
            }
            let wait = decision.wait;
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
                _ = self.stop.changed() => {}
            }
        }
        self.publish(SyncState::Stopped, None, None).await;
    }

    /// One round: push what is pending, pull until caught up, refresh the
    /// colleagues' names.
    async fn round(&mut self) -> Result<(), RoundError> {
        self.push_all().await?;
        self.pull_all().await?;
        // Files of attachments that left (deleted, or out of scope) go;
        // the cache stays within its size.
        let limit = self.options.file_cache_limit_bytes;
        self.with_store(move |s| s.sweep_files(limit)).await?;
        let token = self.session.access_token().await?;
        let colleagues = self.session.api().colleagues(&token).await?;
        self.with_store(move |s| s.replace_colleagues(&colleagues))
            .await?;
        // Changes made during the pull go out now rather than next round.
        self.push_all().await?;
        Ok(())
    }

    /// Pushes the outbox in order; an attachment's file goes up just
    /// before its row (see `store::attachments`).
    async fn push_all(&mut self) -> Result<(), RoundError> {
        loop {
            let (step, client_id) = self
                .with_store(|s| Ok((s.push_step(MAX_MUTATIONS_PER_PUSH)?, s.client_id()?)))
                .await?;
            let batch = match step {
                PushStep::Idle => return Ok(()),
                PushStep::Upload(file) => {
                    self.upload(file).await?;
                    continue;
                }
                PushStep::Batch(batch) => batch,
            };
            self.publish(SyncState::Syncing, None, None).await;
            let token = self.session.access_token().await?;
            let request = PushRequest {
                protocol_version: PROTOCOL_VERSION,
                client_id,
                mutations: batch,
            };
            let response = self.session.api().push(&token, &request).await?;
            let settled = self.with_store(move |s| s.settle(&response)).await?;
            tracing::info!(?settled, "pushed");
        }
    }

    /// Uploads one attachment's file, showing its progress. A refusal
    /// (type, size, access) is the file's, recorded for the inbox; any
    /// other failure ends the round, to be tried again after a backoff.
    #[tracing::instrument(name = "upload", skip_all, fields(attachment = %file.attachment_id, size = file.size))]
    async fn upload(&mut self, file: PendingUpload) -> Result<(), RoundError> {
        self.publish(SyncState::Syncing, None, None).await;
        let token = self.session.access_token().await?;
        let shown = UploadProgress {
            attachment_id: file.attachment_id,
            file_name: file.file_name.clone(),
            sent: 0,
            total: u32::try_from(file.size).unwrap_or(u32::MAX),
        };
        self.status.send_modify(|s| s.upload = Some(shown.clone()));
        let id = file.attachment_id;
        let cache = self.with_store(|s| Ok(s.files().clone())).await?;
        let (chunks, read_failure) = match crate::files::read_for_upload(&cache, &file.sha256) {
            Ok(reading) => reading,
            Err(e) => {
                self.status.send_modify(|s| s.upload = None);
                return self.unreadable(id, e).await;
            }
        };
        let status = self.status.clone();
        let result = self
            .session
            .api()
            .upload_file(
                &token,
                file.ticket_id,
                &file.file_name,
                u64::try_from(file.size).unwrap_or(0),
                chunks,
                move |sent| {
                    let mut now = shown.clone();
                    now.sent = u32::try_from(sent).unwrap_or(u32::MAX);
                    status.send_modify(|s| s.upload = Some(now));
                },
            )
            .await;
        self.status.send_modify(|s| s.upload = None);
        match result {
            Ok(stored) => {
                tracing::info!(path = %stored.path, "uploaded");
                self.with_store(move |s| s.upload_done(id, &stored)).await?;
                Ok(())
            }
            Err(ApiError::Refused {
                status,
                code,
                message,
            }) if status != 408 => {
                tracing::warn!(%code, %message, "the server refused a file");
                self.with_store(move |s| s.upload_refused(id, code.as_str(), &message))
                    .await?;
                Ok(())
            }
            Err(e) => match read_failure.take() {
                // This device's copy, not the network, failed.
                Some(local) => self.unreadable(id, local).await,
                None => Err(e.into()),
            },
        }
    }

    /// A file to upload that cannot be read here: gone (removed by hand)
    /// or damaged. Retrying cannot help; its attachment goes to the inbox
    /// with the reason, where the user can attach the file again.
    async fn unreadable(&self, id: uuid::Uuid, error: std::io::Error) -> Result<(), RoundError> {
        let (code, message) = match error.kind() {
            std::io::ErrorKind::NotFound => (
                "file_missing",
                format!("the file is gone from this device: {error}"),
            ),
            std::io::ErrorKind::InvalidData => ("file_damaged", error.to_string()),
            _ => return Err(CoreError::Io(error).into()),
        };
        tracing::warn!(code, %message, "a file to upload cannot be read");
        self.with_store(move |s| s.upload_refused(id, code, &message))
            .await?;
        Ok(())
    }

    async fn pull_all(&mut self) -> Result<(), RoundError> {
        // A refetch ends only with the pull that asked for it.
        let (cursor, client_id, loaded) = self
            .with_store(|s| {
                s.abandon_refetch()?;
                Ok((s.cursor()?, s.client_id()?, s.has_loaded()?))
            })
            .await?;
        let loading = !loaded;
        let verify = self
            .verified_at
            .is_none_or(|at| at.elapsed() >= self.options.verify_interval);
        self.publish(
            if loading {
                SyncState::Loading
            } else {
                SyncState::Syncing
            },
            None,
            None,
        )
        .await;
        // The next page is fetched while this one is applied.
        let mut next = Some(self.fetch(client_id, cursor, verify));
        while let Some(fetching) = next.take() {
            let page = fetching
                .await
                .map_err(|e| ApiError::Unreachable(e.to_string()))??;
            if page.has_more && !page.reset {
                next = Some(self.fetch(client_id, Some(page.cursor.clone()), verify));
            }
            let progress = page.progress;
            let page = Arc::new(page);
            let applied = {
                let page = page.clone();
                self.with_store(move |s| s.apply_pull(&page)).await?
            };
            if applied.reset {
                tracing::info!("the server asked for a fresh load");
                next = Some(self.fetch(client_id, None, verify));
                continue;
            }
            if progress.is_some() {
                self.publish(SyncState::Loading, progress, None).await;
            }
            if !page.has_more
                && let Some(sums) = page.checksums.clone()
            {
                // Unsent work changes rows on purpose: compare only
                // without it (None: not compared, ask again next time).
                let drifted = self
                    .with_store(move |s| {
                        if s.pending_count()? > 0 {
                            return Ok(None);
                        }
                        let drifted = s.drifted_tables(&sums)?;
                        if !drifted.is_empty() {
                            s.begin_refetch(&drifted)?;
                        }
                        Ok(Some(drifted))
                    })
                    .await?;
                match drifted {
                    None => {}
                    Some(drifted) if drifted.is_empty() => {
                        self.verified_at = Some(Instant::now());
                    }
                    Some(drifted) => {
                        tracing::warn!(
                            ?drifted,
                            "the replica drifted from the server; fetching those tables again"
                        );
                        next = Some(self.fetch_with(
                            client_id,
                            Some(page.cursor.clone()),
                            true,
                            drifted,
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Starts fetching one pull page in the background; `checksums`: ask
    /// for them if this page reaches the present.
    fn fetch(
        &self,
        client_id: uuid::Uuid,
        cursor: Option<String>,
        checksums: bool,
    ) -> JoinHandle<Result<PullResponse, ApiError>> {
        self.fetch_with(client_id, cursor, checksums, Vec::new())
    }

    /// Fetches a page; `refetch` names tables to be sent whole again.
    fn fetch_with(
        &self,
        client_id: uuid::Uuid,
        cursor: Option<String>,
        checksums: bool,
        refetch: Vec<String>,
    ) -> JoinHandle<Result<PullResponse, ApiError>> {
        let session = self.session.clone();
        tokio::spawn(async move {
            let token = session.access_token().await?;
            let request = PullRequest {
                protocol_version: PROTOCOL_VERSION,
                client_id,
                cursor,
                checksums,
                refetch,
            };
            session.api().pull(&token, &request).await
        })
    }

    /// Runs store work off the async threads.
    async fn with_store<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Store) -> CoreResult<T> + Send + 'static,
    ) -> Result<T, CoreError> {
        crate::store::on_store(&self.store, work).await
    }

    /// Publishes a state with fresh counts, read off the async threads (a
    /// page being applied holds the store for a while).
    async fn publish(&self, state: SyncState, progress: Option<Progress>, message: Option<String>) {
        let counts = self
            .with_store(|s| Ok((s.pending_count()?, s.inbox_len()?, s.last_pull_at()?)))
            .await
            .ok();
        self.status.send_modify(|status| {
            // A retry is not yet a connection: while the server cannot be
            // reached, the bar keeps saying so until a round succeeds (it
            // would otherwise flip to "Online" for every attempt, and a
            // frozen server holds each attempt for the silence limit).
            let retrying = state == SyncState::Syncing
                && matches!(status.state, SyncState::Offline | SyncState::NotResponding);
            if !retrying {
                status.state = state;
                status.progress = progress;
                status.message = message;
            }
            if let Some((pending, inbox, last)) = counts {
                status.pending = pending;
                status.inbox = inbox;
                status.last_sync_at = last;
            }
        });
    }
}

/// Keeps the live stream open and wakes the engine on news (and on every
/// reconnect, in case something was missed meanwhile).
async fn listen(
    session: Arc<Session>,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
    options: EngineOptions,
) {
    let mut failures = 0u32;
    loop {
        let attempt = async {
            let token = session.access_token().await?;
            session
                .api()
                .events(&token, |event| {
                    if event == "changes" || event == "ready" {
                        wake.notify_one();
                    }
                })
                .await
        };
        tokio::select! {
            result = attempt => {
                match result {
                    Ok(()) => failures = 0,
                    Err(ApiError::AccessEnded { .. }) => {
                        // For good: a round finds out too, and the app
                        // keeps nothing readable.
                        wake.notify_one();
                        return;
                    }
                    Err(ApiError::Unauthorized(_)) => {
                        session.invalidate_access().await;
                        failures += 1;
                    }
                    Err(_) => failures += 1,
                }
                // The stream ended or could not be opened: the server may
                // have gone. A round finds out and says so in the status
                // bar now, not at the next poll a minute later.
                wake.notify_one();
            }
            _ = stop.changed() => return,
        }
        tokio::select! {
            _ = tokio::time::sleep(jittered(options.backoff(), failures)) => {}
            _ = stop.changed() => return,
        }
    }
}

/// A backoff wait with a fresh random draw: the machine decides the bounds,
/// this supplies the jitter it asks for.
fn jittered(backoff: Backoff, failures: u32) -> Duration {
    backoff.wait(failures, rand::rng().random())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_its_ceiling_and_keeps_half_of_each_wait_fixed() {
        let options = EngineOptions {
            min_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(15),
            ..EngineOptions::default()
        };
        for (failures, ceiling_ms) in [
            (1u32, 1_000u64),
            (2, 2_000),
            (4, 8_000),
            (5, 15_000),
            (40, 15_000),
        ] {
            let mut seen = std::collections::BTreeSet::new();
            for _ in 0..200 {
                let wait = jittered(options.backoff(), failures).as_millis() as u64;
                assert!(
                    (ceiling_ms / 2..=ceiling_ms).contains(&wait),
                    "failure {failures}: {wait} ms outside {}..={ceiling_ms}",
                    ceiling_ms / 2
                );
                seen.insert(wait);
            }
            assert!(
                seen.len() > 20,
                "the waits are spread, not in step: {seen:?}"
            );
        }
    }
}
