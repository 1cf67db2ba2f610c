//! Signing in and out, and what the window needs to know about the session.

use std::sync::Arc;

use crm_desktop_core::CoreError;
use crm_desktop_core::error::ErrorReport;
use crm_desktop_core::grace::GraceCheck;
use crm_desktop_core::sync::SyncStatus;
use crm_desktop_core::trust::{Server, ServerTrust};
use crm_domain::auth::Account;
use crm_domain::tls::CertificateFingerprint;
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, State};

use crate::events::WindowNotifier;
use crate::state::AppState;

/// Who is signed in, to which server.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct SessionInfo {
    pub account: Account,
    pub server: String,
}

/// What the window needs first: the session kept on this machine (resumed
/// offline), or `None` to show the sign-in form offering `default_server`.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct Startup {
    pub session: Option<SessionInfo>,
    /// Signed in, but the data on this computer waits for its passphrase
    /// (no keyring answers here).
    pub locked: Option<Locked>,
    /// Past the offline grace period: the password before any data.
    pub password_due: Option<GraceCheck>,
    pub default_server: String,
    pub status: Option<SyncStatus>,
}

#[tauri::command]
#[specta::specta]
pub async fn startup(app: AppHandle, state: State<'_, AppState>) -> Result<Startup, ErrorReport> {
    let notifier = Arc::new(WindowNotifier::new(app));
    // A replica waiting for its passphrase is not an error here: `locked`
    // says so, and the window asks for it.
    if let Err(e) = state.resume_once(notifier).await
        && !matches!(e, CoreError::PassphraseRequired { .. })
    {
        // A replica that cannot be opened is worth saying; signing in again
        // may mend a lost session, never a broken disk.
        return Err(ErrorReport::from(&e));
    }
    Ok(Startup {
        session: session_info(&state).await,
        locked: locked_info(&state).await,
        password_due: state.password_due().await,
        default_server: state.config.server.clone(),
        status: state.sync_status().await,
    })
}

/// What the user decided about the server in the sign-in window, after
/// the app refused it (`untrusted_certificate`, `certificate_changed`,
/// `insecure_server`): `None` uses what they decided before, if anything.
#[derive(Debug, Clone, Default, Deserialize, specta::Type)]
pub struct TrustChoice {
    /// The fingerprint of the certificate they compared and accepted.
    pub pin: Option<String>,
    /// They allowed plain HTTP to a server that is not this computer.
    pub allow_plain_http: bool,
}

fn server_of(url: &str, trust: Option<TrustChoice>) -> Result<Server, ErrorReport> {
    let Some(choice) = trust else {
        return Ok(Server::from(url.trim()));
    };
    let pin = match choice
        .pin
        .as_deref()
        .map(str::parse::<CertificateFingerprint>)
    {
        None => None,
        Some(Ok(pin)) => Some(pin),
        Some(Err(e)) => {
            return Err(ErrorReport::from(&CoreError::from(
                crm_domain::ValidationError::new("pin", e.to_string()),
            )));
        }
    };
    Ok(Server::new(
        url.trim(),
        ServerTrust {
            pin,
            allow_plain_http: choice.allow_plain_http,
        },
    ))
}

#[tauri::command]
#[specta::specta]
pub async fn sign_in(
    app: AppHandle,
    state: State<'_, AppState>,
    server: String,
    email: String,
    password: String,
    trust: Option<TrustChoice>,
) -> Result<SessionInfo, ErrorReport> {
    let notifier = Arc::new(WindowNotifier::new(app));
    let account = state
        .sign_in(
            server_of(&server, trust)?,
            email.trim(),
            &password,
            notifier,
        )
        .await
        .map_err(|e| ErrorReport::from(&e))?;
    Ok(SessionInfo {
        account,
        server: server.trim().to_owned(),
    })
}

/// Sets a new password with the one-time code an admin handed over, and
/// signs in with it.
#[tauri::command]
#[specta::specta]
pub async fn sign_in_with_code(
    app: AppHandle,
    state: State<'_, AppState>,
    server: String,
    email: String,
    code: String,
    new_password: String,
    trust: Option<TrustChoice>,
) -> Result<SessionInfo, ErrorReport> {
    let notifier = Arc::new(WindowNotifier::new(app));
    let account = state
        .sign_in_with_code(
            server_of(&server, trust)?,
            email.trim(),
            code.trim(),
            &new_password,
            notifier,
        )
        .await
        .map_err(|e| ErrorReport::from(&e))?;
    Ok(SessionInfo {
        account,
        server: server.trim().to_owned(),
    })
}

/// Signs out here; `keep_data` leaves this user's replica for their next
/// sign-in (it is kept anyway while it holds unsent work).
#[tauri::command]
#[specta::specta]
pub async fn sign_out(state: State<'_, AppState>, keep_data: bool) -> Result<(), ErrorReport> {
    state
        .sign_out(keep_data)
        .await
        .map_err(|e| ErrorReport::from(&e))
}

/// A sync round now (the status bar's "sync" button); answers with the
/// status once that round has ended, so the window can say how it went.
#[tauri::command]
#[specta::specta]
pub async fn sync_now(state: State<'_, AppState>) -> Result<SyncStatus, ErrorReport> {
    state.sync_now().await
}

/// A signed-in user whose data here waits for its passphrase.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct Locked {
    pub session: SessionInfo,
    /// No passphrase yet: the user chooses one (and confirms it).
    pub new: bool,
}

async fn locked_info(state: &AppState) -> Option<Locked> {
    let (account, server, new) = state.locked().await?;
    Some(Locked {
        session: SessionInfo { account, server },
        new,
    })
}

/// Opens the signed-in user's data on this computer with its passphrase
/// (where no keyring keeps its key), and starts syncing. Answers
/// `wrong_passphrase`, or `invalid` for a new one too easy to guess.
#[tauri::command]
#[specta::specta]
pub async fn unlock(
    app: AppHandle,
    state: State<'_, AppState>,
    passphrase: String,
) -> Result<SessionInfo, ErrorReport> {
    let notifier = Arc::new(WindowNotifier::new(app));
    state
        .unlock(&passphrase, notifier)
        .await
        .map_err(|e| ErrorReport::from(&e))?;
    session_info(&state)
        .await
        .ok_or_else(|| ErrorReport::from(&CoreError::SignInRequired))
}

/// The user's password, past the offline grace period: checked offline,
/// it shows the data again. Answers `wrong_password` (with the tries
/// left) or `offline_locked_out` (only a sign-in with the server opens it).
#[tauri::command]
#[specta::specta]
pub async fn confirm_password(
    state: State<'_, AppState>,
    password: String,
) -> Result<(), ErrorReport> {
    state
        .confirm_password(password)
        .await
        .map_err(|e| ErrorReport::from(&e))
}

async fn session_info(state: &AppState) -> Option<SessionInfo> {
    let (account, server) = state.signed_in().await?;
    Some(SessionInfo { account, server })
}
