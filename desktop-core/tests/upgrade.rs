//! Upgrades never cost work: a laptop that was offline for thirty days while
//! the server was upgraded (a column added to a replicated table, a new
//! synced table), its sign-in expired meanwhile, sends its outbox with
//! nothing lost, and follows the new schema's changes
//! without tripping over what it does not know yet; and an app too old for
//! the server (a real older build) is told to update and keeps its outbox
//! until it is.
#![allow(clippy::unwrap_used)]

mod support;

use crm_desktop_core::grace::{self, GraceCheck};
use crm_desktop_core::store::customers::CustomerFilter;
use crm_desktop_core::sync::SyncState;
use crm_domain::InteractionChannel;
use crm_domain::drafts::NewInteraction;
use sqlx::Executor;
use support::{Backend, Client, Team, edit_of, new_customer};

/// Two server migrations of a later version, as they would be written:
/// a column on a replicated table, and a new table that syncs.
const LATER_MIGRATIONS: &str = "
    ALTER TABLE public.customers ADD COLUMN region text;
    UPDATE public.customers SET region = 'north';

    CREATE TABLE public.regions (
        id uuid PRIMARY KEY DEFAULT public.uuid_generate_v7(),
        name text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
    );
    ALTER TABLE public.regions ENABLE ROW LEVEL SECURITY;
    ALTER TABLE public.regions FORCE ROW LEVEL SECURITY;
    CREATE POLICY regions_select ON public.regions FOR SELECT TO authenticated
        USING ((SELECT auth.uid()) IS NOT NULL);
    GRANT SELECT ON public.regions TO authenticated;
    GRANT ALL ON public.regions TO service_role;
    CREATE TRIGGER regions_sync_insert AFTER INSERT ON public.regions
        REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.log_inserted_rows();
    CREATE TRIGGER regions_sync_update AFTER UPDATE ON public.regions
        FOR EACH ROW EXECUTE FUNCTION sync.log_change();
    CREATE TRIGGER regions_sync_delete AFTER DELETE ON public.regions
        REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sync.log_deleted_rows();
    INSERT INTO sync.synced_tables (name, load_order, relation) VALUES ('regions', 12, 'public.regions');
    INSERT INTO public.regions (name) VALUES ('North'), ('South');
";

/// Puts the replica of tests/fixtures (written by the build of b71092f,
/// three changes in its outbox) at `replica`, as `user`'s: the fixture was
/// made for a user id of its own, and ids are the server's.
fn place_old_replica(replica: &std::path::Path, user: uuid::Uuid) {
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/replica-b71092f.sqlite3"
        ),
        replica,
    )
    .unwrap();
    rusqlite::Connection::open(replica)
        .unwrap()
        .execute(
            "UPDATE sync_state SET value = ?1 WHERE key = 'user_id'",
            [user.to_string()],
        )
        .unwrap();
}

#[tokio::test]
async fn work_done_offline_for_thirty_days_reaches_a_server_upgraded_meanwhile_and_the_replica_follows_it()
 {
    let backend = Backend::start().await;
    let team = Team::create(&backend).await;
    let laptop = tempfile::tempdir().unwrap();
    let mut ben =
        Client::sign_in_at(&backend, "ben@example.com", laptop.path().to_path_buf()).await;
    ben.start_sync();
    let kept = ben.with(|s| s.create_customer(new_customer("Before")).unwrap());
    ben.synced().await;
    ben.stop_sync().await;

    // Offline: an edit, a new customer, an interaction wait in the outbox.
    ben.with(|s| {
        s.update_customer(
            kept.id,
            crm_desktop_core::store::customers::CustomerEdit {
                name: "Edited offline".into(),
                ..edit_of(&kept)
            },
        )
        .unwrap()
    });
    let made = ben.with(|s| s.create_customer(new_customer("Made offline")).unwrap());
    let call = ben.with(|s| {
        s.log_interaction(NewInteraction {
            customer_id: made.id,
            interaction_type: "call".into(),
            channel: InteractionChannel::Phone,
            note: None,
            follow_up_date: None,
            occurred_at: None,
        })
        .unwrap()
    });
    assert_eq!(ben.with(|s| s.pending_count().unwrap()), 3);
    // The laptop is shut.
    drop(ben);

    // Thirty days pass. The server is upgraded twice meanwhile; Ben's
    // sign-in outlives its refresh token (30 days), and the laptop has not
    // reached the server for longer than the offline grace period (14).
    backend.pool().execute(LATER_MIGRATIONS).await.unwrap();
    sqlx::query(
        "UPDATE auth.refresh_tokens SET expires_at = now() - interval '1 day' WHERE user_id = $1",
    )
    .bind(team.ben)
    .execute(backend.pool())
    .await
    .unwrap();
    let month_ago = chrono::Utc::now() - chrono::TimeDelta::days(30);
    std::fs::write(
        laptop.path().join("grace.json"),
        serde_json::json!({
            "last_contact": month_ago, "grace_days": 14, "latest_clock": month_ago,
            "wrong_answers": 0
        })
        .to_string(),
    )
    .unwrap();

    // Ben opens the app: his password first (offline past the grace
    // period), his three changes still waiting.
    let mut ben = Client::resume(laptop.path().to_path_buf());
    assert!(matches!(
        grace::check(laptop.path(), chrono::Utc::now()).unwrap(),
        GraceCheck::PasswordDue { .. }
    ));
    ben.with(|s| grace::confirm_password(laptop.path(), s, support::PASSWORD))
        .unwrap();
    assert_eq!(ben.with(|s| s.pending_count().unwrap()), 3);
    // Back online, the expired sign-in asks him to sign in again, and
    // keeps the outbox.
    ben.start_sync();
    let asked = ben
        .status_where(|s| s.state == SyncState::SignInRequired)
        .await;
    assert_eq!(asked.pending, 3);
    ben.stop_sync().await;
    drop(ben);
    let session = support::session_at(laptop.path(), &backend.url(), "ben@example.com").await;
    let mut ben = Client::open(session, laptop.path().to_path_buf());
    assert_eq!(ben.with(|s| s.pending_count().unwrap()), 3);

    // Everything goes through, and the new schema's changes (a column the
    // app does not know, a table it does not hold) are taken in stride,
    // checksums included.
    ben.start_sync();
    ben.synced().await;
    ben.synced().await;
    let names: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT name, region FROM customers ORDER BY name")
            .fetch_all(backend.pool())
            .await
            .unwrap();
    assert_eq!(
        names,
        [
            ("Edited offline".to_string(), Some("north".to_string())),
            ("Made offline".to_string(), None),
        ]
    );
    let calls: i64 = sqlx::query_scalar("SELECT count(*) FROM customer_interactions WHERE id = $1")
        .bind(call.id)
        .fetch_one(backend.pool())
        .await
        .unwrap();
    assert_eq!(calls, 1);
    assert_eq!(ben.with(|s| s.pending_count().unwrap()), 0);
    assert!(ben.with(|s| s.inbox().unwrap()).rejected.is_empty());
    let mut shown: Vec<String> = ben.with(|s| {
        s.list_customers(&CustomerFilter::default())
            .unwrap()
            .into_iter()
            .map(|i| i.customer.name)
            .collect()
    });
    shown.sort();
    assert_eq!(shown, ["Edited offline", "Made offline"]);

    // A later change on the server reaches the replica as ever.
    sqlx::query("UPDATE customers SET name = 'Renamed by the server' WHERE id = $1")
        .bind(made.id)
        .execute(backend.pool())
        .await
        .unwrap();
    ben.synced().await;
    assert_eq!(
        ben.with(|s| s.customer(made.id).unwrap()).name,
        "Renamed by the server"
    );
}

#[tokio::test]
async fn a_replica_left_by_an_older_version_reaches_an_upgraded_server_with_all_its_unsent_work() {
    let backend = Backend::start().await;
    let team = Team::create(&backend).await;
    // Ben's laptop, last used with the build of b71092f (replica schema V8):
    // three changes recorded offline, never sent (tests/fixtures/README.md).
    let laptop = tempfile::tempdir().unwrap();
    let session = support::session_at(laptop.path(), &backend.url(), "ben@example.com").await;
    let replica = session.replica_path();
    drop(session);
    std::fs::create_dir_all(replica.parent().unwrap()).unwrap();
    place_old_replica(&replica, team.ben);

    // While the laptop was away, the server was upgraded twice too.
    backend.pool().execute(LATER_MIGRATIONS).await.unwrap();

    // Today's app opens it (migrating it) and sends what it held.
    // That version kept it unencrypted: this one encrypts it in place
    // first (security review M9), its outbox with it.
    assert!(
        std::fs::read(&replica)
            .unwrap()
            .starts_with(b"SQLite format 3")
    );
    let mut ben = Client::resume(laptop.path().to_path_buf());
    assert!(
        !std::fs::read(&replica)
            .unwrap()
            .starts_with(b"SQLite format 3")
    );
    assert_eq!(ben.with(|s| s.pending_count().unwrap()), 3);
    ben.start_sync();
    ben.synced().await;
    let titles: Vec<(String, i64)> = sqlx::query_as(
        "SELECT t.title, (SELECT count(*) FROM ticket_comments c WHERE c.ticket_id = t.id)
         FROM tickets t ORDER BY t.title",
    )
    .fetch_all(backend.pool())
    .await
    .unwrap();
    assert_eq!(
        titles,
        [
            (
                "Meter reading (recorded offline by the previous version)".to_string(),
                0
            ),
            (
                "Pump broken (recorded offline by the previous version)".to_string(),
                1
            ),
        ]
    );
    let created_by: Vec<uuid::Uuid> = sqlx::query_scalar("SELECT DISTINCT created_by FROM tickets")
        .fetch_all(backend.pool())
        .await
        .unwrap();
    assert_eq!(created_by, [team.ben]);
    assert_eq!(ben.with(|s| s.pending_count().unwrap()), 0);
    assert!(ben.with(|s| s.inbox().unwrap()).rejected.is_empty());
    assert_eq!(ben.with(|s| s.my_tickets(true).unwrap()).len(), 2);
}

/// The `crm-sync` of commit 14d71f1 (sync protocol 1), which the test
/// command builds (`build_old_client` in scripts/lib/common.sh).
fn old_client() -> std::path::PathBuf {
    let path = std::env::var_os("CRM_OLD_CLIENT").expect(
        "CRM_OLD_CLIENT: the test command builds the older client; \
         or run `. scripts/lib/common.sh && build_old_client`",
    );
    std::path::PathBuf::from(path)
}

#[tokio::test]
async fn an_app_too_old_for_the_server_is_told_to_update_and_keeps_its_outbox_until_it_is() {
    let backend = Backend::start().await;
    let team = Team::create(&backend).await;
    let laptop = tempfile::tempdir().unwrap();
    let old = |args: &[&str]| {
        let mut command = std::process::Command::new(old_client());
        command
            .arg("--data-dir")
            .arg(laptop.path())
            .args(args)
            .env("CRM_PASSWORD", support::PASSWORD)
            .env_remove("CRM_LOG");
        command
    };

    // Ben signs in with the older app (signing in is not the sync protocol,
    // and that version's sign-in still works) ...
    // (Run off the runtime's thread: the server answers on it.)
    let run = |mut command: std::process::Command| async move {
        tokio::task::spawn_blocking(move || command.output().unwrap())
            .await
            .unwrap()
    };
    let signed_in = run(old(&[
        "login",
        "--server",
        &backend.url(),
        "--email",
        "ben@example.com",
    ]))
    .await;
    assert!(
        signed_in.status.success(),
        "{}",
        String::from_utf8_lossy(&signed_in.stderr)
    );
    // ... and his laptop holds three changes recorded offline, never sent
    // (the replica of tests/fixtures, which that version migrates on open).
    let replica =
        crm_desktop_core::session::user_dir(laptop.path(), team.ben).join("replica.sqlite3");
    place_old_replica(&replica, team.ben);

    // The older app syncs: the server, which needs protocol 2, answers 426
    // `upgrade_required`, and the app says so (that version already knew
    // the answer), with its three changes still waiting.
    let mut syncing = old(&["sync"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = syncing.stdout.take().unwrap();
    let (line, lines) = std::sync::mpsc::channel();
    // A thread of its own (not the runtime's), ended by the kill below.
    std::thread::spawn(move || {
        use std::io::BufRead;
        for status in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if line.send(status).is_err() {
                break;
            }
        }
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut shown = Vec::new();
    let told = loop {
        match lines.try_recv() {
            Ok(status) if status.contains(r#""state":"upgrade_required""#) => break Some(status),
            Ok(status) => shown.push(status),
            Err(std::sync::mpsc::TryRecvError::Empty) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Err(_) => break None,
        }
    };
    syncing.kill().unwrap();
    syncing.wait().unwrap();
    let told = told.unwrap_or_else(|| {
        panic!("the older app never showed the server's request to update; it showed {shown:#?}")
    });
    let told: serde_json::Value = serde_json::from_str(&told).unwrap();
    assert_eq!(told["pending"], 3, "the older app's status: {told}");
    assert!(
        told["message"]
            .as_str()
            .is_some_and(|m| m.contains("update") && m.contains("unsent changes are kept")),
        "the older app's status: {told}"
    );

    // Nothing of it was applied, and it still holds all three.
    let tickets: i64 = sqlx::query_scalar("SELECT count(*) FROM tickets")
        .fetch_one(backend.pool())
        .await
        .unwrap();
    assert_eq!(tickets, 0);
    let status = run(old(&["status"])).await;
    assert!(status.status.success());
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["pending"], 3, "the older app's figures: {status}");

    // Ben updates the app: today's build opens the same replica (encrypting
    // it in place, outbox and all) and sends everything it held.
    let mut ben = Client::resume(laptop.path().to_path_buf());
    assert_eq!(ben.with(|s| s.pending_count().unwrap()), 3);
    ben.start_sync();
    ben.synced().await;
    let titles: Vec<String> = sqlx::query_scalar("SELECT title FROM tickets ORDER BY title")
        .fetch_all(backend.pool())
        .await
        .unwrap();
    assert_eq!(titles.len(), 2, "{titles:?}");
    let comments: i64 = sqlx::query_scalar("SELECT count(*) FROM ticket_comments")
        .fetch_one(backend.pool())
        .await
        .unwrap();
    assert_eq!(comments, 1);
    assert_eq!(ben.with(|s| s.pending_count().unwrap()), 0);
    assert!(ben.with(|s| s.inbox().unwrap()).rejected.is_empty());
}
