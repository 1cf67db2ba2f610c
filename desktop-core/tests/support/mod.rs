//! The desktop core's test harness: a real sync server on loopback over a
//! real PostgreSQL (sync-server's `harness::Backend`, which a test can stop
//! and start again on the same port), and simulated desktop clients, each a
//! real replica file with its own sync engine.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub mod desktop;

use crm_desktop_core::Store;
use crm_desktop_core::session::Session;
use crm_desktop_core::sync::{self, EngineOptions, SyncHandle, SyncState, SyncStatus};
use crm_domain::UserRole;
use uuid::Uuid;

pub use sync_server::harness::{Backend, PASSWORD};

/// One desktop app: a data directory, a session, a replica, an engine.
pub struct Client {
    pub data_dir: PathBuf,
    _dir: Option<tempfile::TempDir>,
    pub session: Arc<Session>,
    pub store: Arc<Mutex<Store>>,
    pub engine: Option<SyncHandle>,
}

pub fn fast_options() -> EngineOptions {
    EngineOptions {
        poll_interval: Duration::from_secs(30),
        min_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(400),
        live: true,
        ..EngineOptions::default()
    }
}

impl Client {
    /// Signs in (online) and opens the user's replica, without syncing yet.
    pub async fn sign_in(backend: &Backend, email: &str) -> Client {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().to_path_buf();
        let mut client = Self::sign_in_at(backend, email, data_dir).await;
        client._dir = Some(dir);
        client
    }

    pub async fn sign_in_at(backend: &Backend, email: &str, data_dir: PathBuf) -> Client {
        let session = session_at(&data_dir, &backend.url(), email).await;
        Self::open(session, data_dir)
    }

    /// Signs in to the server at `url` (a proxy in front of one, say), in
    /// a data directory of its own.
    pub async fn sign_in_via(url: &str, email: &str) -> Client {
        let dir = tempfile::tempdir().unwrap();
        let session = session_at(dir.path(), url, email).await;
        let mut client = Self::open(session, dir.path().to_path_buf());
        client._dir = Some(dir);
        client
    }

    /// Opens the cached session in `data_dir` (works offline).
    pub fn resume(data_dir: PathBuf) -> Client {
        let session = Session::resume(&data_dir)
            .unwrap()
            .expect("a saved session");
        Self::open(session, data_dir)
    }

    /// A client over a session signed in some other way.
    pub fn open(session: Session, data_dir: PathBuf) -> Client {
        let store = session
            .open_replica(Some(crm_desktop_core::fixtures::TEST_PASSPHRASE))
            .unwrap();
        Client {
            data_dir,
            _dir: None,
            session: Arc::new(session),
            store: Arc::new(Mutex::new(store)),
            engine: None,
        }
    }

    pub fn start_sync(&mut self) {
        assert!(self.engine.is_none());
        self.engine = Some(sync::start(
            self.store.clone(),
            self.session.clone(),
            fast_options(),
        ));
    }

    pub async fn stop_sync(&mut self) {
        if let Some(engine) = self.engine.take() {
            engine.stop().await;
        }
    }

    /// Runs `f` on the replica.
    pub fn with<T>(&self, f: impl FnOnce(&mut Store) -> T) -> T {
        f(&mut self.store.lock().unwrap())
    }

    /// Waits until a sync round that started after this call has finished
    /// with nothing left to push. Panics after 60 s (a hung engine, not a
    /// speed check).
    pub async fn synced(&self) -> SyncStatus {
        let engine = self.engine.as_ref().expect("sync is running");
        let mut status = engine.status();
        let nudge = engine.nudge();
        let wait = async {
            loop {
                {
                    let s = status.borrow_and_update();
                    if s.served_nudge >= nudge && s.state == SyncState::Idle && s.pending == 0 {
                        return s.clone();
                    }
                }
                status.changed().await.unwrap();
            }
        };
        tokio::time::timeout(Duration::from_secs(60), wait)
            .await
            .unwrap_or_else(|_| panic!("not synced: {:?}", status.borrow()))
    }

    /// Waits for a status that satisfies `accept`.
    pub async fn status_where(&self, accept: impl Fn(&SyncStatus) -> bool) -> SyncStatus {
        let mut status = self.engine.as_ref().expect("sync is running").status();
        let wait = async {
            loop {
                {
                    let s = status.borrow_and_update();
                    if accept(&s) {
                        return s.clone();
                    }
                }
                status.changed().await.unwrap();
            }
        };
        tokio::time::timeout(Duration::from_secs(60), wait)
            .await
            .unwrap_or_else(|_| panic!("status never came: {:?}", status.borrow()))
    }
}

/// Signs `email` in (with the harness's password) to the server at `url`,
/// keeping the session in `data_dir`.
pub async fn session_at(data_dir: &std::path::Path, url: &str, email: &str) -> Session {
    Session::sign_in(data_dir, url, email, PASSWORD)
        .await
        .unwrap()
}

/// A customer draft with just a name.
pub fn new_customer(name: &str) -> crm_domain::drafts::NewCustomer {
    crm_domain::drafts::NewCustomer {
        name: name.into(),
        email: None,
        phone: None,
        product_id: None,
        status: crm_domain::CustomerStatus::Active,
        acquisition_stage: crm_domain::AcquisitionStage::Lead,
        owner: None,
    }
}

/// The edit form filled with a customer as they are.
pub fn edit_of(c: &crm_domain::Customer) -> crm_desktop_core::store::customers::CustomerEdit {
    crm_desktop_core::store::customers::CustomerEdit {
        name: c.name.clone(),
        email: c.email.clone(),
        phone: c.phone.clone(),
        product_id: c.product_id,
        status: c.status,
        acquisition_stage: c.acquisition_stage,
        owner: c.owner,
        is_archived: c.is_archived,
    }
}

/// The three people of most tests, with a client each.
pub struct Team {
    pub ada: Uuid,
    pub ben: Uuid,
    pub cy: Uuid,
}

impl Team {
    /// Ada is an admin; Ben and Cy are agents.
    pub async fn create(backend: &Backend) -> Team {
        Team {
            ada: backend
                .create_account("ada@example.com", "Ada Admin", UserRole::Admin)
                .await,
            ben: backend
                .create_account("ben@example.com", "Ben Agent", UserRole::Agent)
                .await,
            cy: backend
                .create_account("cy@example.com", "Cy Agent", UserRole::Agent)
                .await,
        }
    }
}
