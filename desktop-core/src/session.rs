//! The signed-in session: sign in once online, then open and work offline
//! with the cached session; the engine trades the refresh token for access
//! tokens when the network is there.
//!
//! On disk, under the app's data directory:
//! - `session.json`: who is signed in, and to which server (no secret);
//! - the refresh token, in the OS keyring (the Secret Service on Linux,
//!   Keychain, Credential Manager) where one answers, else in a file
//!   readable by the user only (0600);
//! - `users/<user id>/replica.sqlite3`: one replica per user, so another
//!   user on the same machine never sees the first one's data.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crm_domain::auth::{Account, Session as ServerSession};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::api::{Api, ApiError};
use crate::error::{CoreError, CoreResult};
use crate::trust::{Server, ServerTrust};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SessionFile {
    server_url: String,
    /// What the user decided about the server's certificate (or plain
    /// HTTP) when they signed in.
    #[serde(default)]
    trust: ServerTrust,
    user: Account,
}

struct Tokens {
    refresh: String,
    access: Option<(String, Instant)>,
}

/// A user's session with one server.
pub struct Session {
    api: Api,
    data_dir: PathBuf,
    user: Account,
    tokens: Mutex<Tokens>,
    /// What the user decided about the server (pins, plain HTTP).
    trust: ServerTrust,
    /// The hash of the password just signed in with, for the replica's
    /// offline check (`grace`), until the replica is opened.
    verifier: std::sync::Mutex<Option<String>>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("server", &self.api.base_url())
            .field("user", &self.user.email)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Signs in (needs the network) and keeps the session for offline use.
    /// `server` is an address, or an address with what the user decided
    /// about it (`trust`).
    pub async fn sign_in(
        data_dir: &Path,
        server: impl Into<Server>,
        email: &str,
        password: &str,
    ) -> CoreResult<Self> {
        let server = crate::trust::with_remembered(data_dir, server.into());
        let api = Api::new(server.clone())?;
        let session = api.login(email, password).await.map_err(refused)?;
        let established = Self::established(data_dir, server, api, session)?;
        established.keep_verifier(password)?;
        Ok(established)
    }

    /// Sets a new password with the one-time code an admin handed over,
    /// and signs in with it (needs the network).
    pub async fn sign_in_with_code(
        data_dir: &Path,
        server: impl Into<Server>,
        email: &str,
        code: &str,
        new_password: &str,
    ) -> CoreResult<Self> {
        crm_domain::validation::validate_new_password(new_password, &[email])?;
        let server = crate::trust::with_remembered(data_dir, server.into());
        let api = Api::new(server.clone())?;
        let session = api
            .reset_password(email, code, new_password)
            .await
            .map_err(refused)?;
        let established = Self::established(data_dir, server, api, session)?;
        established.keep_verifier(new_password)?;
        Ok(established)
    }

    /// Keeps a session the server just gave, for offline use.
    fn established(
        data_dir: &Path,
        server: Server,
        api: Api,
        session: ServerSession,
    ) -> CoreResult<Self> {
        let file = SessionFile {
            server_url: api.base_url().to_owned(),
            trust: server.trust,
            user: session.user.clone(),
        };
        private_dir(data_dir)?;
        crate::trust::remember(data_dir, &file.server_url, &file.trust)?;
        crate::grace::record_contact(data_dir, session.offline_grace_days, chrono::Utc::now())?;
        save_refresh_token(
            data_dir,
            &file.server_url,
            &session.user,
            &session.refresh_token,
        )?;
        write_private(
            &data_dir.join("session.json"),
            &serde_json::to_string_pretty(&file)?,
        )?;
        Ok(Self {
            api,
            data_dir: data_dir.to_path_buf(),
            user: session.user.clone(),
            tokens: Mutex::new(Tokens {
                refresh: session.refresh_token.clone(),
                access: Some(access_of(&session)),
            }),
            trust: file.trust,
            verifier: std::sync::Mutex::new(None),
        })
    }

    /// Keeps the hash of `password` for the replica's offline check.
    fn keep_verifier(&self, password: &str) -> CoreResult<()> {
        let hash = crate::grace::password_verifier(password)?;
        if let Ok(mut slot) = self.verifier.lock() {
            *slot = Some(hash);
        }
        Ok(())
    }

    /// The session kept on this machine, if any: works with no network.
    pub fn resume(data_dir: &Path) -> CoreResult<Option<Self>> {
        let path = data_dir.join("session.json");
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let file: SessionFile = serde_json::from_str(&text)?;
        let Some(refresh) = load_refresh_token(data_dir, &file.server_url, &file.user)? else {
            return Ok(None);
        };
        Ok(Some(Self {
            api: Api::new(Server::new(file.server_url, file.trust.clone()))?,
            data_dir: data_dir.to_path_buf(),
            user: file.user,
            tokens: Mutex::new(Tokens {
                refresh,
                access: None,
            }),
            trust: file.trust,
            verifier: std::sync::Mutex::new(None),
        }))
    }

    /// The app's data directory this session lives in.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn user(&self) -> &Account {
        &self.user
    }

    pub fn api(&self) -> &Api {
        &self.api
    }

    /// Where this user's replica lives.
    pub fn replica_path(&self) -> PathBuf {
        replica_path(&self.data_dir, &self.user)
    }

    /// Opens this user's replica (creating it in a private directory), as
    /// this user.
    ///
    /// Its key comes from the keyring; where none answers, from
    /// `passphrase` (`CoreError::PassphraseRequired` without one).
    pub fn open_replica(&self, passphrase: Option<&str>) -> CoreResult<crate::Store> {
        let path = self.replica_path();
        let dir = user_dir(&self.data_dir, self.user.id);
        private_dir(&dir)?;
        let key = crate::vault::replica_key(&dir, self.user.id, passphrase)?;
        let store = crate::Store::open(&path, &key)?;
        store.set_user(self.user.id, self.user.role)?;
        // Clear copies handed to other applications last time go now; files
        // an older version cached in the clear are sealed in the background.
        let files = store.files().clone();
        files.remove_open_copies()?;
        let sealing = std::thread::Builder::new().name("seal-files".into());
        let _ = sealing.spawn(move || match files.seal_files_in_the_clear() {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                files = n,
                "sealed files an older version cached in the clear"
            ),
            Err(e) => {
                tracing::warn!(error = %e, "could not seal the cached files left in the clear")
            }
        });
        let verifier = self.verifier.lock().ok().and_then(|mut slot| slot.take());
        if let Some(hash) = verifier {
            store.set_offline_verifier(&hash)?;
        }
        Ok(store)
    }

    /// A valid access token, refreshed (and the refresh token rotated and
    /// saved) when the cached one is about to expire.
    pub async fn access_token(&self) -> Result<String, ApiError> {
        let mut tokens = self.tokens.lock().await;
        if let Some((token, until)) = &tokens.access
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let session = self.api.refresh(&tokens.refresh).await?;
        // Saved before use: a rotated token that is lost would sign the user
        // out on the next start.
        save_refresh_token(
            &self.data_dir,
            self.api.base_url(),
            &self.user,
            &session.refresh_token,
        )
        .map_err(|e| ApiError::Unreachable(format!("could not save the session: {e}")))?;
        // The server answered: the offline grace period starts again.
        if let Err(e) = crate::grace::record_contact(
            &self.data_dir,
            session.offline_grace_days,
            chrono::Utc::now(),
        ) {
            tracing::warn!(error = %e, "could not record the server's answer for the offline check");
        }
        tokens.refresh = session.refresh_token.clone();
        let access = access_of(&session);
        tokens.access = Some(access.clone());
        Ok(access.0)
    }

    /// Forgets the cached access token (the server said 401).
    pub async fn invalidate_access(&self) {
        self.tokens.lock().await.access = None;
    }

    /// Forgets the session on this device: `session.json` and the refresh
    /// token (keyring and file), so nothing here can act as this user.
    pub fn forget(&self) -> CoreResult<()> {
        remove_if_present(&self.data_dir.join("session.json"))?;
        crate::grace::forget(&self.data_dir)?;
        forget_refresh_token(&self.data_dir, self.api.base_url(), &self.user)?;
        Ok(())
    }

    /// Signs out, at once: the session is forgotten here before anything
    /// else, and the returned future tells the server (ending the sign-in
    /// everywhere it is checked) when it can be reached, within a few
    /// seconds or not at all. Callers that must not wait (the window) run it
    /// in the background. The replica file stays for this user's next
    /// sign-in (its outbox included); no other user can open it.
    ///
    /// A server that cannot be reached now is told later (security review
    /// L6): the sign-out waits in `pending-sign-outs.json` (0600) until
    /// [`deliver_pending_sign_outs`] reaches it, at the app's next start or
    /// sign-in, so an offline sign-out does not leave the sign-in alive on
    /// the server for its whole lifetime.
    pub fn sign_out(&self) -> CoreResult<impl std::future::Future<Output = ()> + Send + 'static> {
        // The refresh token as it is now; a refresh still in flight
        // (holding the lock) may rotate it, and the one it saves is
        // forgotten with the rest just below.
        let refresh = self.tokens.try_lock().ok().map(|t| t.refresh.clone());
        let server = self.server();
        if let Some(refresh) = &refresh {
            queue_sign_out(&self.data_dir, &server, refresh)?;
        }
        self.forget()?;
        let data_dir = self.data_dir.clone();
        Ok(async move {
            if refresh.is_none() {
                tracing::info!("the server is told of the sign-out later: a refresh was under way");
                return;
            }
            deliver_pending_sign_outs(&data_dir).await;
        })
    }

    /// The server this session is with, and what its user decided about it.
    pub fn server(&self) -> Server {
        Server::new(self.api.base_url(), self.trust.clone())
    }
}

/// A sign-out the server has not heard of yet.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PendingSignOut {
    server_url: String,
    #[serde(default)]
    trust: ServerTrust,
    refresh_token: String,
    since: chrono::DateTime<chrono::Utc>,
}

fn pending_sign_outs_path(data_dir: &Path) -> PathBuf {
    data_dir.join("pending-sign-outs.json")
}

fn pending_sign_outs(data_dir: &Path) -> Vec<PendingSignOut> {
    read_json_or_default(&pending_sign_outs_path(data_dir))
}

fn save_pending_sign_outs(data_dir: &Path, pending: &[PendingSignOut]) -> std::io::Result<()> {
    if pending.is_empty() {
        return remove_if_present(&pending_sign_outs_path(data_dir));
    }
    write_json_private(&pending_sign_outs_path(data_dir), pending)
}

fn queue_sign_out(data_dir: &Path, server: &Server, refresh_token: &str) -> std::io::Result<()> {
    let mut pending = pending_sign_outs(data_dir);
    pending.push(PendingSignOut {
        server_url: server.url.clone(),
        trust: server.trust.clone(),
        refresh_token: refresh_token.to_owned(),
        since: chrono::Utc::now(),
    });
    save_pending_sign_outs(data_dir, &pending)
}

/// How long a sign-out waits to be told: past it, the sign-in has ended on
/// the server by itself (its absolute lifetime).
const PENDING_SIGN_OUT_DAYS: i64 = 366;

/// Tells the server of the sign-outs made here while it could not be
/// reached; those it cannot hear yet wait for the next try. Returns how
/// many are still waiting.
pub async fn deliver_pending_sign_outs(data_dir: &Path) -> usize {
    let pending = pending_sign_outs(data_dir);
    if pending.is_empty() {
        return 0;
    }
    let mut done = Vec::new();
    for sign_out in &pending {
        let expired =
            chrono::Utc::now() - sign_out.since > chrono::TimeDelta::days(PENDING_SIGN_OUT_DAYS);
        let told = if expired {
            Ok(())
        } else {
            let server = Server::new(sign_out.server_url.clone(), sign_out.trust.clone());
            match Api::new(server) {
                Ok(api) => api.revoke(&sign_out.refresh_token).await,
                Err(e) => Err(e),
            }
        };
        match told {
            Ok(()) => {
                tracing::info!(server = %sign_out.server_url, "the server knows of the sign-out");
                done.push(sign_out.refresh_token.clone());
            }
            // Refused for good (a token it no longer takes): nothing to end.
            Err(
                ApiError::Refused { .. } | ApiError::Unauthorized(_) | ApiError::AccessEnded { .. },
            ) => {
                done.push(sign_out.refresh_token.clone());
            }
            Err(e) => tracing::info!(error = %e, "the server is told of the sign-out later"),
        }
    }
    // Read again: a sign-out queued meanwhile stays.
    let mut left = pending_sign_outs(data_dir);
    left.retain(|p| !done.contains(&p.refresh_token));
    if let Err(e) = save_pending_sign_outs(data_dir, &left) {
        tracing::warn!(error = %e, "could not keep the sign-outs still to tell the server");
    }
    left.len()
}

/// A sign-in the server refused, in its words (a deactivated account is
/// told so, as access ended).
fn refused(error: ApiError) -> CoreError {
    match error {
        ApiError::Refused { message, .. } | ApiError::Unauthorized(message) => {
            CoreError::Forbidden(message)
        }
        other => other.into(),
    }
}

fn access_of(session: &ServerSession) -> (String, Instant) {
    // Renew a little early so a token never expires in flight.
    let lifetime = Duration::from_secs(session.expires_in.saturating_sub(30).max(1));
    (session.access_token.clone(), Instant::now() + lifetime)
}

/// The directory of one user's data on this device (replica, files, their
/// window's last screen), private to the user.
pub fn user_dir(data_dir: &Path, user: uuid::Uuid) -> PathBuf {
    data_dir.join("users").join(user.to_string())
}

pub fn replica_path(data_dir: &Path, user: &Account) -> PathBuf {
    user_dir(data_dir, user.id).join("replica.sqlite3")
}

/// The keyring entry of a user's refresh token for one server.
fn keyring_entry(server_url: &str, user: &Account) -> keyring::Result<keyring::Entry> {
    keyring::Entry::new("crm-desktop", &format!("{server_url} {}", user.id))
}

/// Keeps the refresh token in the keyring if one answers, else in a 0600
/// file; never in both (a token left behind would outlive a sign-out).
fn save_refresh_token(
    data_dir: &Path,
    server_url: &str,
    user: &Account,
    token: &str,
) -> std::io::Result<()> {
    let file = refresh_token_path(data_dir, user);
    match keyring_entry(server_url, user).and_then(|entry| entry.set_password(token)) {
        Ok(()) => remove_if_present(&file),
        Err(e) => {
            tracing::debug!(error = %e, "no keyring; keeping the session in a private file");
            write_private(&file, token)
        }
    }
}

fn load_refresh_token(
    data_dir: &Path,
    server_url: &str,
    user: &Account,
) -> std::io::Result<Option<String>> {
    match std::fs::read_to_string(refresh_token_path(data_dir, user)) {
        Ok(token) => return Ok(Some(token.trim().to_string())),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        Err(_) => {}
    }
    Ok(keyring_entry(server_url, user)
        .and_then(|entry| entry.get_password())
        .ok())
}

fn forget_refresh_token(data_dir: &Path, server_url: &str, user: &Account) -> std::io::Result<()> {
    if let Ok(entry) = keyring_entry(server_url, user) {
        let _ = entry.delete_credential();
    }
    remove_if_present(&refresh_token_path(data_dir, user))
}

fn refresh_token_path(data_dir: &Path, user: &Account) -> PathBuf {
    data_dir
        .join("users")
        .join(user.id.to_string())
        .join("refresh-token")
}

/// A small JSON file of the app's (decisions, pending work), or its
/// default when there is none or it cannot be read: such files only ever
/// remember, so a lost one asks again rather than stopping the app.
pub(crate) fn read_json_or_default<T: serde::de::DeserializeOwned + Default>(path: &Path) -> T {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

/// Writes `value` as JSON with [`write_private`].
pub(crate) fn write_json_private<T: Serialize + ?Sized>(
    path: &Path,
    value: &T,
) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(std::io::Error::other)?;
    write_private(path, &text)
}

/// Writes a file only its owner can read, atomically (a crash leaves the old
/// file or the new one).
pub(crate) fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        private_dir(dir)?;
    }
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// Creates a directory (and its parents) that only the user can enter: it
/// holds the replica, customer data included. One that exists already is
/// tightened to the user alone, and refused if someone else owns it (a
/// directory another local user made first, to read what lands in it;
/// security review L9).
pub fn private_dir(path: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let meta = std::fs::metadata(path)?;
        if let Some(me) = current_uid()
            && meta.uid() != me
        {
            return Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!(
                    "{} belongs to another user; choose another data directory (--data-dir)",
                    path.display()
                ),
            ));
        }
        if meta.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    Ok(())
}

/// The user this process runs as: the owner of `/proc/self` (no unsafe
/// call needed); `None` where there is no /proc, where the check is left
/// to the permissions alone.
#[cfg(unix)]
fn current_uid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

pub(crate) fn remove_if_present(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(all(test, unix))]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_private_directory_that_exists_is_tightened_to_its_user() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        private_dir(&dir).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }

    #[test]
    fn a_directory_someone_else_made_first_is_refused() {
        if current_uid() != Some(0) {
            // Only root can give a directory away; CI's test command runs
            // as root.
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("planted");
        std::fs::create_dir(&dir).unwrap();
        std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).unwrap();
        let refused = private_dir(&dir).unwrap_err();
        assert_eq!(refused.kind(), std::io::ErrorKind::PermissionDenied);
        assert!(refused.to_string().contains("another user"));
    }
}
