//! What the app holds while it runs: the signed-in user's session, their
//! replica, the sync engine and the reminder scheduler. Signing in starts
//! them; signing out stops them and closes the replica, so the next user
//! gets a replica of their own.
//!
//! Commands reach the replica through [`AppState::read`] and
//! [`AppState::write`], which run the store's (blocking, SQLite) work off
//! the async runtime; a write also tells the engine there is something to
//! push and the reminders that a follow-up may have changed.

use std::sync::{Arc, Mutex};

use crm_desktop_core::error::ErrorReport;
use crm_desktop_core::grace::{self, GraceCheck};
use crm_desktop_core::reminders::{self, OnAction, RemindersHandle};
use crm_desktop_core::session::Session;
use crm_desktop_core::sync::{self, EngineOptions, SyncHandle, SyncState, SyncStatus};
use crm_desktop_core::trust::Server;
use crm_desktop_core::wipe::{self, Wiped};
use crm_desktop_core::{CoreError, CoreResult, Store};
use crm_domain::auth::Account;
use tokio::sync::watch;

use crate::config::Config;

/// A signed-in user's running parts.
struct Running {
    session: Arc<Session>,
    store: Arc<Mutex<Store>>,
    engine: SyncHandle,
    /// Not started while the password is due (`grace`): a reminder would
    /// show a customer's name.
    reminders: Option<RemindersHandle>,
    reminder_wake: Arc<tokio::sync::Notify>,
    on_action: OnAction,
    /// Past the offline grace period: no data until the password is given.
    password_due: Option<GraceCheck>,
}

impl Running {
    async fn stop_reminders(&mut self) {
        if let Some(reminders) = self.reminders.take() {
            reminders.stop().await;
        }
    }
}

pub struct AppState {
    pub config: Config,
    running: tokio::sync::Mutex<Option<Running>>,
    /// A signed-in session whose replica waits for its passphrase (no
    /// keyring answers here): [`AppState::unlock`] opens it.
    locked: tokio::sync::Mutex<Option<Session>>,
    /// The kept session is resumed once, when the window first asks.
    resumed: tokio::sync::Mutex<bool>,
}

/// What the shell does when the engine or a reminder has news.
pub trait Notifier: Send + Sync + 'static {
    fn sync_status(&self, status: SyncStatus);
    fn reminder_action(&self, action: reminders::ReminderAction);
    /// The server ended this device's access (account deactivated, sign-in
    /// revoked): the shell wipes the user's data here
    /// ([`AppState::end_access`]) and tells the window.
    fn access_ended(&self, reason: String);
}

impl AppState {
    pub fn new(config: Config) -> Self {
        Self {
            config,
            running: tokio::sync::Mutex::new(None),
            locked: tokio::sync::Mutex::new(None),
            resumed: tokio::sync::Mutex::new(false),
        }
    }

    /// Who is signed in, and to which server, if anyone.
    pub async fn signed_in(&self) -> Option<(Account, String)> {
        let running = self.running.lock().await;
        running.as_ref().map(|r| {
            (
                r.session.user().clone(),
                r.session.api().base_url().to_owned(),
            )
        })
    }

    /// Resumes the session kept on this machine (works offline), the first
    /// time only: later calls find it running, or signed out.
    pub async fn resume_once(&self, notifier: Arc<dyn Notifier>) -> CoreResult<()> {
        let mut resumed = self.resumed.lock().await;
        if *resumed {
            return Ok(());
        }
        *resumed = true;
        // Sign-outs made here while the server could not be reached: told
        // now, in the background, or at the next start.
        let data_dir = self.config.data_dir.clone();
        tokio::spawn(async move {
            crm_desktop_core::session::deliver_pending_sign_outs(&data_dir).await;
        });
        if let Some(session) = Session::resume(&self.config.data_dir)? {
            self.start(session, notifier).await?;
        }
        Ok(())
    }

    /// Signs in (needs the network) and starts syncing.
    pub async fn sign_in(
        &self,
        server: Server,
        email: &str,
        password: &str,
        notifier: Arc<dyn Notifier>,
    ) -> CoreResult<Account> {
        self.shut_down().await;
        let session = Session::sign_in(&self.config.data_dir, server, email, password).await?;
        self.start(session, notifier).await
    }

    /// Sets a new password with an admin's one-time code, signs in with it
    /// (needs the network) and starts syncing.
    pub async fn sign_in_with_code(
        &self,
        server: Server,
        email: &str,
        code: &str,
        new_password: &str,
        notifier: Arc<dyn Notifier>,
    ) -> CoreResult<Account> {
        self.shut_down().await;
        let session =
            Session::sign_in_with_code(&self.config.data_dir, server, email, code, new_password)
                .await?;
        self.start(session, notifier).await
    }

    /// Opens the signed-in user's replica and starts syncing. Where the
    /// replica needs a passphrase not given, the session waits in
    /// `locked` for [`AppState::unlock`].
    async fn start(&self, session: Session, notifier: Arc<dyn Notifier>) -> CoreResult<Account> {
        self.start_with(session, None, notifier).await
    }

    /// The user, and whether they choose a new passphrase, when a
    /// session waits for one.
    pub async fn locked(&self) -> Option<(Account, String, bool)> {
        let locked = self.locked.lock().await;
        let session = locked.as_ref()?;
        let dir = crm_desktop_core::session::user_dir(session.data_dir(), session.user().id);
        let new = crm_desktop_core::vault::keeping(&dir)
            .ok()
            .flatten()
            .is_none();
        Some((
            session.user().clone(),
            session.api().base_url().to_owned(),
            new,
        ))
    }

    /// Opens the waiting session's replica with its passphrase.
    pub async fn unlock(
        &self,
        passphrase: &str,
        notifier: Arc<dyn Notifier>,
    ) -> CoreResult<Account> {
        let Some(session) = self.locked.lock().await.take() else {
            return Err(CoreError::SignInRequired);
        };
        self.start_with(session, Some(passphrase.to_owned()), notifier)
            .await
    }

    async fn start_with(
        &self,
        session: Session,
        passphrase: Option<String>,
        notifier: Arc<dyn Notifier>,
    ) -> CoreResult<Account> {
        let account = session.user().clone();
        let session = Arc::new(session);
        let opened = session.clone();
        let store = tokio::task::spawn_blocking(move || opened.open_replica(passphrase.as_deref()))
            .await
            .map_err(|e| CoreError::Malformed(e.to_string()))?;
        let store = match store {
            Ok(store) => store,
            Err(
                e @ (CoreError::PassphraseRequired { .. }
                | CoreError::WrongPassphrase
                | CoreError::Invalid(_)),
            ) => {
                // Asked again; the session waits (no one else holds it).
                if let Ok(session) = Arc::try_unwrap(session) {
                    *self.locked.lock().await = Some(session);
                }
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        let store = Arc::new(Mutex::new(store));
        // The engine runs even while the password is due: a server that
        // answers may end this device's access.
        let engine = sync::start(
            store.clone(),
            session.clone(),
            engine_options(self.config.file_cache_mib),
        );
        let on_action: OnAction = {
            let notifier = notifier.clone();
            Arc::new(move |action| notifier.reminder_action(action))
        };
        let reminder_wake = Arc::new(tokio::sync::Notify::new());
        forward_status(engine.status(), notifier, reminder_wake.clone());
        let password_due = match grace::check(session.data_dir(), chrono::Utc::now())? {
            GraceCheck::Open => None,
            due => Some(due),
        };
        let reminders = password_due.is_none().then(|| {
            reminders::start_with_waker(store.clone(), on_action.clone(), reminder_wake.clone())
        });
        *self.running.lock().await = Some(Running {
            session,
            store,
            engine,
            reminders,
            reminder_wake,
            on_action,
            password_due,
        });
        Ok(account)
    }

    /// Signs out at once: stops syncing (not waiting for a request in
    /// flight) and forgets the session here; the server is told in the
    /// background, if it answers within a few seconds. With `keep_data`
    /// the replica stays for this user's next sign-in; without, it is
    /// removed, unless it holds unsent work, which is never dropped (it
    /// goes out at the next sign-in here).
    pub async fn sign_out(&self, keep_data: bool) -> CoreResult<()> {
        if let Some(locked) = self.locked.lock().await.take() {
            // Signed out before the replica was opened: it stays, locked.
            tokio::spawn(locked.sign_out()?);
            return Ok(());
        }
        let Some(mut running) = self.running.lock().await.take() else {
            return Ok(());
        };
        running.stop_reminders().await;
        running.engine.stop().await;
        // Clear copies of attachments handed to other applications go in
        // any case; the sealed cache stays with a kept replica.
        crm_desktop_core::store::on_store(&running.store, |s| s.files().remove_open_copies())
            .await?;
        tokio::spawn(running.session.sign_out()?);
        if keep_data {
            return Ok(());
        }
        let store = sole_store(running.store).await?;
        if store.pending_count()? > 0 {
            tracing::info!("signed out keeping the replica: it holds unsent work");
            return Ok(());
        }
        let session = running.session;
        let data_dir = self.config.data_dir.clone();
        tokio::task::spawn_blocking(move || {
            wipe::wipe(&data_dir, &session, store, "signed out").map(|_| ())
        })
        .await
        .map_err(|e| CoreError::Malformed(e.to_string()))?
    }

    /// Stops the running parts, returning the session.
    async fn stop(&self) -> Option<Arc<Session>> {
        let mut running = self.running.lock().await.take()?;
        running.stop_reminders().await;
        running.engine.stop().await;
        drop(running.store);
        Some(running.session)
    }

    /// The server ended this device's access: stops everything, saves the
    /// unsent work to a file and removes the user's data from this device
    /// (`crm_desktop_core::wipe`).
    pub async fn end_access(&self, reason: &str) -> CoreResult<Wiped> {
        let Some(mut running) = self.running.lock().await.take() else {
            return Err(CoreError::SignInRequired);
        };
        running.stop_reminders().await;
        running.engine.stop().await;
        let store = sole_store(running.store).await?;
        let session = running.session;
        let data_dir = self.config.data_dir.clone();
        let reason = reason.to_owned();
        tokio::task::spawn_blocking(move || wipe::wipe(&data_dir, &session, store, &reason))
            .await
            .map_err(|e| CoreError::Malformed(e.to_string()))?
    }

    /// Stops everything without signing out (the app is closing, or another
    /// sign-in replaces this one).
    pub async fn shut_down(&self) {
        let _ = self.stop().await;
        self.locked.lock().await.take();
    }

    /// The engine's current status, if someone is signed in.
    pub async fn sync_status(&self) -> Option<SyncStatus> {
        let running = self.running.lock().await;
        running.as_ref().map(|r| r.engine.status().borrow().clone())
    }

    /// Asks the engine for a round now and waits for it to end, well or
    /// not, so the user hears how it went (at most a minute; a round against
    /// a silent server ends within the API's silence limit).
    pub async fn sync_now(&self) -> Result<SyncStatus, ErrorReport> {
        let (asked, mut status) = {
            let running = self.running.lock().await;
            let running = running.as_ref().ok_or_else(signed_out)?;
            (running.engine.nudge(), running.engine.status())
        };
        let ended = tokio::time::timeout(
            std::time::Duration::from_secs(60),
            status.wait_for(|s| s.attempted_nudge >= asked),
        )
        .await
        .ok()
        .and_then(Result::ok)
        .map(|s| s.clone());
        Ok(ended.unwrap_or_else(|| {
            tracing::info!("sync now: no round ended in time, or the engine stopped");
            status.borrow().clone()
        }))
    }

    /// An attachment's file on this device, downloaded first if needed
    /// (see `crm_desktop_core::files`).
    pub async fn fetch_file(
        &self,
        id: uuid::Uuid,
    ) -> Result<crm_desktop_core::files::CachedFile, ErrorReport> {
        let store = self.store().await?;
        let session = self.session().await?;
        let limit = self.config.file_cache_mib.saturating_mul(1024 * 1024);
        crm_desktop_core::files::fetch(&store, &session, id, limit)
            .await
            .map_err(|e| ErrorReport::from(&e))
    }

    /// The signed-in session, for calls that go to the server directly
    /// (integrations, which live there only).
    pub async fn session(&self) -> Result<Arc<Session>, ErrorReport> {
        let running = self.running.lock().await;
        running
            .as_ref()
            .map(|r| r.session.clone())
            .ok_or_else(signed_out)
    }

    /// The replica, unless the password is due first (`grace`): every
    /// read and write of the window comes through here.
    async fn store(&self) -> Result<Arc<Mutex<Store>>, ErrorReport> {
        let running = self.running.lock().await;
        let running = running.as_ref().ok_or_else(signed_out)?;
        if running.password_due.is_some() {
            return Err(ErrorReport::from(&CoreError::PasswordDue));
        }
        Ok(running.store.clone())
    }

    /// Past the offline grace period, what the window asks first.
    pub async fn password_due(&self) -> Option<GraceCheck> {
        let running = self.running.lock().await;
        running.as_ref().and_then(|r| r.password_due)
    }

    /// The user's password, checked offline against the replica's hash:
    /// right, the data shows (and reminders start); wrong, it counts
    /// towards the lock.
    pub async fn confirm_password(&self, password: String) -> CoreResult<()> {
        let (store, data_dir) = {
            let running = self.running.lock().await;
            let running = running.as_ref().ok_or(CoreError::SignInRequired)?;
            if running.password_due.is_none() {
                return Ok(());
            }
            (running.store.clone(), running.session.data_dir().to_owned())
        };
        tokio::task::spawn_blocking(move || {
            let store = store
                .lock()
                .map_err(|_| CoreError::Malformed("replica lock poisoned".into()))?;
            grace::confirm_password(&data_dir, &store, &password)
        })
        .await
        .map_err(|e| CoreError::Malformed(e.to_string()))??;
        let mut running = self.running.lock().await;
        if let Some(running) = running.as_mut() {
            running.password_due = None;
            if running.reminders.is_none() {
                running.reminders = Some(reminders::start_with_waker(
                    running.store.clone(),
                    running.on_action.clone(),
                    running.reminder_wake.clone(),
                ));
            }
        }
        Ok(())
    }

    /// Runs a read of the replica.
    pub async fn read<T, F>(&self, read: F) -> Result<T, ErrorReport>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> CoreResult<T> + Send + 'static,
    {
        let store = self.store().await?;
        blocking(move || {
            let store = store.lock().map_err(|_| poisoned())?;
            read(&store)
        })
        .await
    }

    /// Runs a user action on the replica (one SQLite transaction in the
    /// store), then wakes the engine to push it and the reminders.
    pub async fn write<T, F>(&self, write: F) -> Result<T, ErrorReport>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> CoreResult<T> + Send + 'static,
    {
        let store = self.store().await?;
        let result = blocking(move || {
            let mut store = store.lock().map_err(|_| poisoned())?;
            write(&mut store)
        })
        .await?;
        let running = self.running.lock().await;
        if let Some(running) = running.as_ref() {
            running.engine.nudge();
            running.reminder_wake.notify_one();
        }
        Ok(result)
    }
}

/// The engine as the window wants it: an agent watching the pending count
/// after the network returns should not wait a minute, so retries are at
/// most 15 s apart (one client's cheap request; the server copes).
fn engine_options(file_cache_mib: u64) -> EngineOptions {
    EngineOptions {
        max_backoff: std::time::Duration::from_secs(15),
        file_cache_limit_bytes: file_cache_mib.saturating_mul(1024 * 1024),
        ..EngineOptions::default()
    }
}

async fn blocking<T, F>(work: F) -> Result<T, ErrorReport>
where
    T: Send + 'static,
    F: FnOnce() -> CoreResult<T> + Send + 'static,
{
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.map_err(|e| ErrorReport::from(&e)),
        Err(e) => Err(ErrorReport::from(&CoreError::Malformed(e.to_string()))),
    }
}

/// The replica, once nothing else holds it (the engine and the reminders
/// are stopped; a command may hold it for a moment: it is waited for).
async fn sole_store(mut store: Arc<Mutex<Store>>) -> CoreResult<Store> {
    loop {
        match Arc::try_unwrap(store) {
            Ok(mutex) => return mutex.into_inner().map_err(|_| poisoned()),
            Err(shared) => {
                store = shared;
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

fn signed_out() -> ErrorReport {
    ErrorReport::from(&CoreError::SignInRequired)
}

fn poisoned() -> CoreError {
    CoreError::Malformed(
        "the replica is unavailable after an earlier failure; restart the app".into(),
    )
}

/// Forwards every engine status to the window, and wakes the reminders
/// whenever a round finished (it may have brought follow-ups).
fn forward_status(
    mut status: watch::Receiver<SyncStatus>,
    notifier: Arc<dyn Notifier>,
    reminders: Arc<tokio::sync::Notify>,
) {
    tokio::spawn(async move {
        let mut rounds = 0;
        loop {
            let current = status.borrow_and_update().clone();
            if current.rounds != rounds {
                rounds = current.rounds;
                reminders.notify_one();
            }
            let ended = (current.state == SyncState::AccessEnded)
                .then(|| current.message.clone().unwrap_or_default());
            notifier.sync_status(current);
            if let Some(reason) = ended {
                // Once: the engine is parked for good, and is stopped now.
                notifier.access_ended(reason);
                return;
            }
            if status.changed().await.is_err() {
                return;
            }
        }
    });
}
