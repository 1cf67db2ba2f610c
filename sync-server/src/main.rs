//! `sync-server`: serves the API (default), applies migrations, or manages
//! accounts. `sync-server --help` lists every setting.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use crm_domain::UserRole;
use sync_server::config::{
    Command, Config, JwtCommand, LogFormat, ServerConfig, StorageCommand, TlsCommand, UserCommand,
};
use sync_server::tls::{CertificateOrigin, ServerTls};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let config = Config::parse();
    init_tracing(&config.server);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sync-server: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("sync-server: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(config: &ServerConfig) {
    let filter = EnvFilter::try_new(&config.log).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn run(config: Config) -> anyhow::Result<()> {
    if let Some(Command::Jwt(JwtCommand::Rotate)) = config.command {
        if config.server.jwt_secret.is_some() {
            anyhow::bail!(
                "the secret is configured (--jwt-secret): set the new one there and the old one in \
                 --jwt-previous-secrets for an access token's lifetime"
            );
        }
        sync_server::accounts::tokens::rotate_generated_secret(&config.server.data_dir)?;
        println!(
            "a new JWT signing secret is made; the old one stays valid for the tokens it signed. Restart the server to use it."
        );
        return Ok(());
    }
    if let Some(Command::Tls(TlsCommand::Fingerprint)) = config.command {
        // Needs no database: the certificate's file is enough.
        match sync_server::tls::fingerprint(&config.server)? {
            Some(fingerprint) => println!("SHA256 {fingerprint}"),
            None if !config.server.serves_tls() => {
                anyhow::bail!("this server serves plain HTTP (see --tls)")
            }
            None => anyhow::bail!("no certificate yet: it is made when the server first starts"),
        }
        return Ok(());
    }
    // Before the database: a bad certificate file is found in a second.
    let tls = match &config.command {
        None | Some(Command::Serve) => sync_server::tls::load(&config.server)?,
        _ => None,
    };
    let started = sync_server::start(config.server.clone()).await?;
    let pool = started.state.pool.clone();
    match config.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let listener = tokio::net::TcpListener::bind(config.server.listen)
                .await
                .with_context(|| format!("listening on {}", config.server.listen))?;
            let address = listener.local_addr()?;
            match &tls {
                Some(tls) => announce_certificate(tls, address),
                None => tracing::info!(%address, "serving plain HTTP"),
            }
            sync_server::storage::housekeeping::start(started.state.storage.clone());
            sync_server::start_workers(&started.state);
            let acceptor = tls.map(|tls| tls.acceptor);
            sync_server::app::serve(listener, started.state, acceptor, shutdown_signal()).await?;
            tracing::info!("stopped");
        }
        Command::Migrate => tracing::info!("the schema is up to date"),
        Command::Tls(_) | Command::Jwt(_) => {}
        Command::User(UserCommand::Create {
            email,
            password,
            password_stdin,
            full_name,
            admin,
        }) => {
            let password = match (password, password_stdin) {
                (Some(p), _) => p,
                (None, true) => {
                    let mut line = String::new();
                    std::io::stdin()
                        .read_line(&mut line)
                        .context("reading the password from stdin")?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
                (None, false) => {
                    anyhow::bail!("give the password with --password-stdin (or --password)")
                }
            };
            let policy = sync_server::accounts::passwords::check_policy(
                &password,
                &email,
                full_name.as_deref(),
            );
            let valid = crm_domain::ValidationErrors::collect([
                crm_domain::validation::validate_email(&email),
                policy,
            ]);
            valid.map_err(|e| anyhow::anyhow!("{e}"))?;
            let role = if admin {
                UserRole::Admin
            } else {
                UserRole::Agent
            };
            let account = sync_server::accounts::create_account(
                &pool,
                &email,
                &password,
                full_name.as_deref(),
                role,
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "created {} ({}) with id {}",
                account.email, account.role, account.id
            );
        }
        Command::User(UserCommand::SetRole { email, role }) => {
            let role: UserRole = role.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
            sync_server::accounts::set_role(&pool, &email, role).await?;
            println!("{email} is now {role}");
        }
        Command::User(UserCommand::Deactivate { email }) => {
            let id = sync_server::accounts::account_id(&pool, &email).await?;
            sync_server::accounts::admin::set_active(&pool, id, false, None)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{email} is deactivated: its devices are signed out");
        }
        Command::User(UserCommand::Reactivate { email }) => {
            let id = sync_server::accounts::account_id(&pool, &email).await?;
            sync_server::accounts::admin::set_active(&pool, id, true, None)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{email} can sign in again");
        }
        Command::User(UserCommand::ResetCode { email }) => {
            let id = sync_server::accounts::account_id(&pool, &email).await?;
            let code = sync_server::accounts::admin::make_reset_code(&pool, id, None)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "{}\n(for {email}, valid until {}: they choose a new password with it in the app's sign-in window)",
                code.code, code.expires_at
            );
        }
        Command::Storage(command) => {
            let clean = matches!(command, StorageCommand::Clean);
            let storage = &started.state.storage;
            let report = sync_server::storage::housekeeping::run(storage, clean, storage.grace)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            let left = report.expired();
            if !clean && left > 0 {
                pool.close().await;
                drop(started.embedded);
                anyhow::bail!(
                    "{left} leftovers are past the grace period; `sync-server storage clean` removes them"
                );
            }
        }
    }
    // Close our connections before stopping the private cluster under them.
    pool.close().await;
    drop(started.embedded);
    Ok(())
}

/// Says how the server serves HTTPS; a self-signed certificate's
/// fingerprint also goes to standard output, for the operator to hand to
/// users (their app shows the one it is offered and asks them to compare).
fn announce_certificate(tls: &ServerTls, address: std::net::SocketAddr) {
    let fingerprint = tls.fingerprint.to_string();
    match &tls.origin {
        CertificateOrigin::Configured { cert } => {
            tracing::info!(%address, cert = %cert.display(), %fingerprint, "serving HTTPS");
        }
        CertificateOrigin::SelfSigned { cert, generated } => {
            tracing::info!(%address, cert = %cert.display(), %fingerprint, generated, "serving HTTPS with a self-signed certificate");
            println!(
                "Serving https://{address} with a self-signed certificate ({}).\n\
                 Users' apps ask them to compare its fingerprint with this one:\n\
                 \n    SHA256 {fingerprint}\n",
                cert.display()
            );
        }
    }
}

/// Ctrl-C or SIGTERM: stop taking connections, finish what is in flight.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
