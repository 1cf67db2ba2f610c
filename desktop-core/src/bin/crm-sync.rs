//! `crm-sync`: the desktop core without a window. Signs in, and keeps a
//! replica in sync from the command line: for servers without a desktop,
//! for scripting, and for the tests that kill a client mid-sync.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use clap::{Parser, Subcommand};
use crm_desktop_core::Store;
use crm_desktop_core::reminders;
use crm_desktop_core::session::Session;
use crm_desktop_core::sync::{self, EngineOptions, SyncState};
use crm_desktop_core::trust::{Server, ServerTrust};

#[derive(Debug, Parser)]
#[command(
    version,
    about = "Sign in to a CRM sync server and keep a local replica in sync"
)]
struct Config {
    /// Where the session and the replicas live.
    #[arg(long, env = "CRM_DESKTOP_DATA_DIR")]
    data_dir: PathBuf,

    /// The passphrase of the replica, where no keyring answers (the
    /// replica's key is kept in the keyring when one does).
    #[arg(long, env = "CRM_REPLICA_PASSPHRASE", hide_env_values = true)]
    passphrase: Option<String>,

    /// Log filter (tracing's env-filter syntax), written to stderr.
    #[arg(long, env = "CRM_LOG", default_value = "warn")]
    log: String,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Signs in (needs the network) and keeps the session for offline use.
    Login {
        #[arg(long, env = "CRM_SERVER_URL")]
        server: String,
        #[arg(long)]
        email: String,
        /// The password; better given through the environment.
        #[arg(long, env = "CRM_PASSWORD", hide_env_values = true)]
        password: String,
        /// Trust the server's certificate with this SHA-256 fingerprint
        /// (what `sync-server tls fingerprint` prints), and no other: for
        /// a self-signed certificate.
        #[arg(long, env = "CRM_SERVER_FINGERPRINT")]
        fingerprint: Option<crm_domain::tls::CertificateFingerprint>,
        /// Allow plain http:// to a server that is not this machine
        /// (everything, the password too, crosses the network readable).
        #[arg(long)]
        allow_plain_http: bool,
    },
    /// Runs the sync engine, printing each status as a JSON line.
    Sync {
        /// Exit once caught up with nothing left to push.
        #[arg(long)]
        once: bool,
        /// Also announce follow-ups, looking again after every sync round,
        /// as the desktop app does.
        #[arg(long)]
        remind: bool,
    },
    /// Announces due follow-ups as desktop notifications (missed ones
    /// first), then keeps doing so as they fall due.
    Remind {
        /// Announce what is due now and exit.
        #[arg(long)]
        once: bool,
    },
    /// Prints the replica's figures as JSON.
    Status,
    /// Signs out and forgets the session on this machine.
    Logout,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&config.log))
        .with_writer(std::io::stderr)
        .init();
    // Sign-outs made here while the server could not be reached.
    crm_desktop_core::session::deliver_pending_sign_outs(&config.data_dir).await;
    match config.command {
        Command::Login {
            server,
            email,
            password,
            fingerprint,
            allow_plain_http,
        } => {
            let trust = ServerTrust {
                pin: fingerprint,
                allow_plain_http,
            };
            let server = Server::new(server, trust);
            let session = Session::sign_in(&config.data_dir, server, &email, &password).await?;
            open_store(&session, config.passphrase.as_deref())?;
            println!("signed in as {}", session.user().email);
        }
        Command::Sync { once, remind } => {
            let session = Arc::new(resume(&config)?);
            let store = Arc::new(Mutex::new(open_store(
                &session,
                config.passphrase.as_deref(),
            )?));
            let reminders = remind.then(|| {
                reminders::start(store.clone(), Arc::new(|action| println!("{action:?}")))
            });
            let engine = sync::start(store, session, EngineOptions::default());
            let mut status = engine.status();
            let target = engine.nudge();
            let mut rounds = 0;
            loop {
                let current = status.borrow_and_update().clone();
                if current.rounds != rounds {
                    // A round may have brought follow-ups.
                    rounds = current.rounds;
                    if let Some(reminders) = &reminders {
                        reminders.wake();
                    }
                }
                println!("{}", serde_json::to_string(&current)?);
                if once
                    && current.state == SyncState::Idle
                    && current.served_nudge >= target
                    && current.pending == 0
                {
                    break;
                }
                tokio::select! {
                    changed = status.changed() => changed?,
                    _ = tokio::signal::ctrl_c() => break,
                }
            }
            engine.stop().await;
            if let Some(reminders) = reminders {
                reminders.stop().await;
            }
        }
        Command::Remind { once } => {
            let session = resume(&config)?;
            let store = Arc::new(Mutex::new(open_store(
                &session,
                config.passphrase.as_deref(),
            )?));
            let on_action: reminders::OnAction = Arc::new(|action| {
                println!("{action:?}");
            });
            if once {
                let shown = reminders::announce_due(
                    &store,
                    chrono::Utc::now(),
                    chrono::Utc::now(),
                    on_action,
                )?;
                println!("{shown} notification(s) shown");
            } else {
                let handle = reminders::start(store, on_action);
                tokio::signal::ctrl_c().await?;
                handle.stop().await;
            }
        }
        Command::Status => {
            let session = resume(&config)?;
            let store = open_store(&session, config.passphrase.as_deref())?;
            let figures = serde_json::json!({
                "user": session.user().email,
                "pending": store.pending_count()?,
                "inbox": store.inbox_len()?,
                "rows": store.row_count()?,
                "load": store.load_progress()?,
                "loaded": store.has_loaded()?,
            });
            println!("{figures}");
        }
        Command::Logout => {
            resume(&config)?.sign_out()?.await;
            println!("signed out");
        }
    }
    Ok(())
}

fn resume(config: &Config) -> anyhow::Result<Session> {
    Session::resume(&config.data_dir)?.context("not signed in: run `crm-sync login` first")
}

fn open_store(session: &Session, passphrase: Option<&str>) -> anyhow::Result<Store> {
    Ok(session.open_replica(passphrase)?)
}
