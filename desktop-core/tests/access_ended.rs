//! When the server says the account was deactivated or this device's
//! sign-in revoked, the engine stops for good and the app keeps nothing
//! readable: the unsent work first goes to a file the user can hand to an
//! admin, then the stored sign-in and the user's whole directory go.
#![allow(clippy::unwrap_used)]

mod support;

use crm_desktop_core::session::Session;
use crm_desktop_core::sync::SyncState;
use crm_desktop_core::wipe;
use support::{Backend, Client, Team, new_customer};

/// Takes the replica back from the client once its engine has stopped.
async fn into_store(mut client: Client) -> (std::sync::Arc<Session>, crm_desktop_core::Store) {
    client.stop_sync().await;
    let store = std::sync::Arc::try_unwrap(client.store)
        .ok()
        .expect("nothing else holds the replica")
        .into_inner()
        .unwrap();
    (client.session, store)
}

#[tokio::test]
async fn a_deactivated_account_leaves_its_unsent_work_in_a_file_and_nothing_else() {
    let backend = Backend::start().await;
    let team = Team::create(&backend).await;
    let data = tempfile::tempdir().unwrap();
    let mut ben = Client::sign_in_at(&backend, "ben@example.com", data.path().to_owned()).await;
    ben.start_sync();
    ben.synced().await;

    // At the office, Ada deactivates Ben; on site, Ben records a customer.
    sync_server::accounts::admin::set_active(backend.pool(), team.ben, false, Some(team.ada))
        .await
        .unwrap();
    ben.with(|s| s.create_customer(new_customer("Harbour Hardware")).unwrap());
    // And a photo on a new ticket: its bytes are sealed in the cache.
    let photo = [b"\x89PNG\r\n\x1a\n".as_slice(), &[7u8; 4096]].concat();
    let ticket = ben
        .with(|s| {
            s.open_ticket(crm_domain::NewTicket {
                title: "Leaking valve".into(),
                description: None,
                priority: crm_domain::TicketPriority::High,
                customer_id: None,
                assigned_to: None,
            })
        })
        .unwrap();
    let cache = ben.with(|s| s.files().clone());
    let staged = cache.stage(&mut photo.as_slice()).unwrap();
    ben.with(|s| s.attach(ticket.id, "valve.png", &staged))
        .unwrap();
    ben.engine.as_ref().unwrap().nudge();
    let status = ben
        .status_where(|s| s.state == SyncState::AccessEnded)
        .await;
    assert!(
        status
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("deactivated"),
        "{status:?}"
    );

    let replica = ben.session.replica_path();
    assert!(replica.exists());
    let (session, store) = into_store(ben).await;
    let wiped = wipe::wipe(data.path(), &session, store, "deactivated").unwrap();

    assert_eq!(
        wiped.saved_changes, 3,
        "the customer, the ticket, the attachment"
    );
    assert_eq!(wiped.saved_files, 1);
    let saved = std::path::PathBuf::from(wiped.saved_to.unwrap());
    let text = std::fs::read_to_string(saved.join("unsent-changes.json")).unwrap();
    assert!(text.contains("Harbour Hardware"), "{text}");
    // The photo, in the clear, for the admin who puts the work back.
    let listed: serde_json::Value = serde_json::from_str(&text).unwrap();
    let saved_as = listed["files"][0]["saved_as"].as_str().unwrap();
    assert!(saved_as.ends_with("valve.png"), "{saved_as}");
    assert_eq!(std::fs::read(saved.join(saved_as)).unwrap(), photo);
    assert!(!replica.exists(), "the replica is gone");
    assert!(
        !replica.parent().unwrap().exists(),
        "the user's directory is gone"
    );
    assert!(!data.path().join("session.json").exists());
    assert!(
        Session::resume(data.path()).unwrap().is_none(),
        "no sign-in is left"
    );
    let customers: i64 =
        sqlx::query_scalar("SELECT count(*) FROM customers WHERE name = 'Harbour Hardware'")
            .fetch_one(backend.pool())
            .await
            .unwrap();
    assert_eq!(
        customers, 0,
        "nothing reached the server after the deactivation"
    );
}

#[tokio::test]
async fn a_device_revoked_from_elsewhere_stops_syncing_for_good() {
    let backend = Backend::start().await;
    Team::create(&backend).await;
    let mut ben = Client::sign_in(&backend, "ben@example.com").await;
    ben.start_sync();
    ben.synced().await;
    sqlx::query(
        "UPDATE auth.sessions SET ended_at = now(), end_reason = 'revoked' WHERE ended_at IS NULL",
    )
    .execute(backend.pool())
    .await
    .unwrap();
    ben.engine.as_ref().unwrap().nudge();
    let status = ben
        .status_where(|s| s.state == SyncState::AccessEnded)
        .await;
    assert!(status.message.is_some());
    // Nothing unsent: nothing to save, everything removed.
    let data_dir = ben.data_dir.clone();
    let (session, store) = into_store(ben).await;
    let wiped = wipe::wipe(&data_dir, &session, store, "revoked").unwrap();
    assert_eq!(wiped.saved_to, None);
    assert!(!session.replica_path().exists());
}
