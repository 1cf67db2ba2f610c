//! The replica at rest (security review M9): a SQLCipher file that gives
//! nothing away without its key; a replica an older version left
//! unencrypted is encrypted in place with its outbox kept; a wipe forgets
//! the key first. Real replica files, a real server.
#![allow(clippy::unwrap_used)]

mod support;

use crm_desktop_core::fixtures::{TEST_PASSPHRASE, test_key};
use crm_desktop_core::vault::{self, Keeping, ReplicaKey};
use crm_desktop_core::{CoreError, Store};
use support::{Backend, Client, Team, new_customer};

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

/// Every file of the replica (the database, its WAL), as a thief copies them.
fn replica_bytes(path: &std::path::Path) -> Vec<u8> {
    let mut bytes = std::fs::read(path).unwrap();
    let wal = path.with_extension("sqlite3-wal");
    if let Ok(more) = std::fs::read(wal) {
        bytes.extend(more);
    }
    bytes
}

#[tokio::test]
async fn the_replica_gives_nothing_away_without_its_key() {
    let backend = Backend::start().await;
    Team::create(&backend).await;
    let mut ben = Client::sign_in(&backend, "ben@example.com").await;
    ben.start_sync();
    ben.with(|s| s.create_customer(new_customer("Harbour Hardware")).unwrap());
    ben.synced().await;
    ben.stop_sync().await;
    let path = ben.session.replica_path();
    let user_dir = path.parent().unwrap().to_owned();
    // No keyring in this test's environment: a passphrase keeps it.
    assert_eq!(
        vault::keeping(&user_dir).unwrap(),
        Some(Keeping::Passphrase)
    );

    let bytes = replica_bytes(&path);
    assert!(!bytes.starts_with(b"SQLite format 3"));
    for secret in ["Harbour Hardware", "ben@example.com", "customers"] {
        assert!(
            !contains(&bytes, secret),
            "{secret} is readable in the file"
        );
    }
    // Plain SQLite cannot read it; a wrong passphrase is told as such.
    let plain = rusqlite::Connection::open(&path).unwrap();
    assert!(
        plain
            .query_row("SELECT count(*) FROM customers", [], |r| r.get::<_, i64>(0))
            .is_err()
    );
    drop(plain);
    let wrong = Store::open(
        &path,
        &ReplicaKey::Passphrase("not the passphrase at all".into()),
    );
    assert!(
        matches!(wrong, Err(CoreError::WrongPassphrase)),
        "{:?}",
        wrong.err()
    );
    let asked = ben.session.open_replica(None);
    assert!(
        matches!(asked, Err(CoreError::PassphraseRequired { new: false })),
        "{:?}",
        asked.err()
    );
    drop(ben.store);
    let store = ben.session.open_replica(Some(TEST_PASSPHRASE)).unwrap();
    let names: Vec<String> = store
        .list_customers(&Default::default())
        .unwrap()
        .into_iter()
        .map(|c| c.customer.name)
        .collect();
    assert!(names.contains(&"Harbour Hardware".to_owned()), "{names:?}");
    // Deleted content is overwritten (`FAST`: within pages in use; freed
    // pages are ciphertext anyway).
    let secure_delete: i64 = store
        .conn_for_tests()
        .pragma_query_value(None, "secure_delete", |r| r.get(0))
        .unwrap();
    assert_eq!(secure_delete, 2);
}

#[tokio::test]
async fn a_replica_left_unencrypted_by_an_older_version_is_encrypted_keeping_its_outbox() {
    let backend = Backend::start().await;
    Team::create(&backend).await;
    let dir = tempfile::tempdir().unwrap();
    let session = support::session_at(dir.path(), &backend.url(), "ben@example.com").await;
    let path = session.replica_path();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    // As an older version left it: unencrypted, with unsent work.
    {
        let store = Store::open(&path, &ReplicaKey::Unencrypted).unwrap();
        store
            .set_user(session.user().id, session.user().role)
            .unwrap();
        let mut store = store;
        store.create_customer(new_customer("Quay Quarry")).unwrap();
        assert_eq!(store.pending_count().unwrap(), 1);
    }
    assert!(
        std::fs::read(&path)
            .unwrap()
            .starts_with(b"SQLite format 3")
    );
    assert_eq!(vault::keeping(path.parent().unwrap()).unwrap(), None);

    // This version opens it: encrypted in place, the outbox intact.
    let store = session.open_replica(Some(TEST_PASSPHRASE)).unwrap();
    assert_eq!(store.pending_count().unwrap(), 1);
    drop(store);
    let bytes = replica_bytes(&path);
    assert!(!bytes.starts_with(b"SQLite format 3"));
    assert!(!contains(&bytes, "Quay Quarry"));
    assert!(!path.with_extension("encrypting").exists());

    // And the unsent work goes out.
    let mut ben = Client::open(session, dir.path().to_path_buf());
    ben.start_sync();
    ben.synced().await;
    let on_server: i64 =
        sqlx::query_scalar("SELECT count(*) FROM public.customers WHERE name = 'Quay Quarry'")
            .fetch_one(backend.pool())
            .await
            .unwrap();
    assert_eq!(on_server, 1);
    ben.stop_sync().await;
}

#[test]
fn a_replica_opens_only_with_the_key_it_was_made_with() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("replica.sqlite3");
    drop(Store::open(&path, &test_key()).unwrap());
    let other = ReplicaKey::generate();
    assert!(matches!(
        Store::open(&path, &other),
        Err(CoreError::KeyUnavailable(_))
    ));
    assert!(Store::open(&path, &test_key()).is_ok());
}
