//! The session on disk: the refresh token goes to the OS keyring when one
//! answers (a real GNOME keyring on a private D-Bus here), else to a file
//! only the user can read; the cached session works without the network;
//! signing out leaves no token behind.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;

use support::desktop::KeyringDesk;
use support::{Backend, Client, PASSWORD, Team};
use tokio::process::Command;

fn crm_sync(data_dir: &Path, bus: Option<&str>) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_crm-sync"));
    // Where no keyring answers, the replica is kept with a passphrase.
    command.env(
        "CRM_REPLICA_PASSPHRASE",
        crm_desktop_core::fixtures::TEST_PASSPHRASE,
    );
    command.arg("--data-dir").arg(data_dir).kill_on_drop(true);
    match bus {
        Some(address) => command.env("DBUS_SESSION_BUS_ADDRESS", address),
        // No session bus at all: no keyring.
        None => command.env_remove("DBUS_SESSION_BUS_ADDRESS"),
    };
    command
}

async fn run(command: &mut Command) -> String {
    let output = command.output().await.unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

fn token_files(data_dir: &Path) -> Vec<std::path::PathBuf> {
    let users = data_dir.join("users");
    let Ok(dirs) = std::fs::read_dir(users) else {
        return Vec::new();
    };
    dirs.filter_map(Result::ok)
        .map(|d| d.path().join("refresh-token"))
        .filter(|p| p.exists())
        .collect()
}

#[tokio::test]
async fn with_a_keyring_the_token_lives_there_and_nowhere_else() {
    let keyring = KeyringDesk::start().await;
    let backend = Backend::start().await;
    Team::create(&backend).await;
    let dir = tempfile::tempdir().unwrap();
    let bus = Some(keyring.bus_address.as_str());

    run(crm_sync(dir.path(), bus)
        .args([
            "login",
            "--server",
            &backend.url(),
            "--email",
            "ben@example.com",
        ])
        .env("CRM_PASSWORD", PASSWORD))
    .await;
    assert!(
        token_files(dir.path()).is_empty(),
        "no token file with a keyring"
    );
    assert!(dir.path().join("session.json").exists());

    // The token from the keyring signs the next start in (and rotates);
    // the replica's key is there too (security review M9), no passphrase
    // asked, and the replica is encrypted with it.
    let mut sync = crm_sync(dir.path(), bus);
    sync.env_remove("CRM_REPLICA_PASSPHRASE");
    run(sync.args(["sync", "--once"])).await;
    run(crm_sync(dir.path(), bus).args(["sync", "--once"])).await;
    assert!(token_files(dir.path()).is_empty());
    let user_dir = std::fs::read_dir(dir.path().join("users"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert_eq!(
        crm_desktop_core::vault::keeping(&user_dir).unwrap(),
        Some(crm_desktop_core::vault::Keeping::Keyring)
    );
    let replica = std::fs::read(user_dir.join("replica.sqlite3")).unwrap();
    assert!(!replica.starts_with(b"SQLite format 3"));
    // Without the keyring, the key is nowhere: the replica does not open.
    let without = crm_sync(dir.path(), None)
        .arg("status")
        .output()
        .await
        .unwrap();
    assert!(!without.status.success(), "{without:?}");

    run(crm_sync(dir.path(), bus).arg("logout")).await;
    assert!(!dir.path().join("session.json").exists());
    // Signed out: a fresh start has no session, and the keyring no token.
    let status = crm_sync(dir.path(), bus)
        .arg("status")
        .output()
        .await
        .unwrap();
    assert!(!status.status.success());
}

#[tokio::test]
async fn without_a_keyring_the_token_is_a_private_file_and_works_offline() {
    use std::os::unix::fs::PermissionsExt;
    let mut backend = Backend::start().await;
    Team::create(&backend).await;
    let dir = tempfile::tempdir().unwrap();
    run(crm_sync(dir.path(), None)
        .args([
            "login",
            "--server",
            &backend.url(),
            "--email",
            "ben@example.com",
        ])
        .env("CRM_PASSWORD", PASSWORD))
    .await;
    let files = token_files(dir.path());
    assert_eq!(files.len(), 1);
    let mode = std::fs::metadata(&files[0]).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let replica_dir = files[0].parent().unwrap();
    let dir_mode = std::fs::metadata(replica_dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(dir_mode, 0o700, "the replica's folder is the user's alone");

    // Offline, the cached session opens the replica and the user works.
    backend.stop().await;
    let ben = Client::resume(dir.path().to_path_buf());
    let c = ben.with(|s| {
        s.create_customer(support::new_customer("Offline Outfitters"))
            .unwrap()
    });
    assert_eq!(ben.with(|s| s.pending_count().unwrap()), 1);
    drop(ben);

    backend.restart().await;
    run(crm_sync(dir.path(), None).args(["sync", "--once"])).await;
    let on_server: i64 = sqlx::query_scalar("SELECT count(*) FROM customers WHERE id = $1")
        .bind(c.id)
        .fetch_one(backend.pool())
        .await
        .unwrap();
    assert_eq!(on_server, 1);

    run(crm_sync(dir.path(), None).arg("logout")).await;
    assert!(
        token_files(dir.path()).is_empty(),
        "signing out removes the token"
    );
}

#[tokio::test]
async fn a_sign_out_made_offline_reaches_the_server_once_it_answers() {
    let mut backend = Backend::start().await;
    Team::create(&backend).await;
    let ben = Client::sign_in(&backend, "ben@example.com").await;
    let dir = ben.data_dir.clone();
    let pool = backend.pool().clone();
    let live_sessions = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM auth.sessions s JOIN auth.users u ON u.id = s.user_id
              WHERE u.email = 'ben@example.com' AND s.ended_at IS NULL",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    assert_eq!(live_sessions().await, 1);

    // Offline: the sign-out happens here at once, and waits to be told.
    backend.stop().await;
    ben.session.sign_out().unwrap().await;
    assert!(!dir.join("session.json").exists());
    let pending = std::fs::read_to_string(dir.join("pending-sign-outs.json")).unwrap();
    assert!(pending.contains("refresh_token"));
    assert_eq!(
        crm_desktop_core::session::deliver_pending_sign_outs(&dir).await,
        1,
        "still waiting while the server is away"
    );

    // Back: told, and the sign-in ends there too.
    backend.restart().await;
    assert_eq!(live_sessions().await, 1);
    assert_eq!(
        crm_desktop_core::session::deliver_pending_sign_outs(&dir).await,
        0
    );
    assert_eq!(live_sessions().await, 0);
    assert!(!dir.join("pending-sign-outs.json").exists());
}
