//! Follow-up reminders reach a real notification daemon (dunst on a private
//! D-Bus session bus under Xvfb), each once: announced with their fields,
//! not repeated by restarts, fired again when moved, never when deleted,
//! summarised when many were missed, and also for follow-ups that arrived by
//! sync. The notifying process is the real `crm-sync` binary, pointed at the
//! private bus.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::time::Duration;

use chrono::Utc;
use crm_desktop_core::store::interactions::InteractionEdit;
use crm_domain::InteractionChannel;
use crm_domain::drafts::NewInteraction;
use support::desktop::NotificationDesk;
use support::{Backend, Client, Team, new_customer};
use tokio::process::Command;
use uuid::Uuid;

fn remind(desk: &NotificationDesk, data_dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_crm-sync"));
    // Where no keyring answers, the replica is kept with a passphrase.
    command.env(
        "CRM_REPLICA_PASSPHRASE",
        crm_desktop_core::fixtures::TEST_PASSPHRASE,
    );
    command
        .arg("--data-dir")
        .arg(data_dir)
        .env("DBUS_SESSION_BUS_ADDRESS", &desk.bus_address)
        .kill_on_drop(true)
        .arg("remind");
    command
}

async fn remind_once(desk: &NotificationDesk, data_dir: &Path) -> String {
    let output = remind(desk, data_dir).arg("--once").output().await.unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

fn customer(client: &Client, name: &str) -> Uuid {
    client.with(|s| s.create_customer(new_customer(name)).unwrap().id)
}

fn follow_up(client: &Client, customer_id: Uuid, note: &str, in_minutes: i64) -> Uuid {
    client.with(|s| {
        s.log_interaction(NewInteraction {
            customer_id,
            interaction_type: "call".into(),
            channel: InteractionChannel::Phone,
            note: Some(note.into()),
            follow_up_date: Some(Utc::now() + chrono::TimeDelta::minutes(in_minutes)),
            occurred_at: None,
        })
        .unwrap()
        .id
    })
}

fn move_follow_up(client: &Client, id: Uuid, in_minutes: i64) {
    client.with(|s| {
        let i = s.interaction(id).unwrap();
        s.update_interaction(
            id,
            InteractionEdit {
                interaction_type: i.interaction_type,
                channel: i.channel,
                note: i.note,
                follow_up_date: Some(Utc::now() + chrono::TimeDelta::minutes(in_minutes)),
            },
        )
        .unwrap();
    });
}

#[tokio::test]
async fn due_follow_ups_are_announced_once_and_again_only_when_moved() {
    let desk = NotificationDesk::start().await;
    let backend = Backend::start().await;
    Team::create(&backend).await;
    let ben = Client::sign_in(&backend, "ben@example.com").await;
    let bakery = customer(&ben, "Bakery Brown");
    let overdue = follow_up(&ben, bakery, "send the quote", -120);
    let later = follow_up(&ben, bakery, "check the delivery", 24 * 60);
    let deleted = follow_up(&ben, bakery, "cancelled visit", -30);
    ben.with(|s| s.delete_interaction(deleted).unwrap());

    assert_eq!(
        remind_once(&desk, &ben.data_dir).await.trim(),
        "1 notification(s) shown"
    );
    let seen = desk.wait_for(1).await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    let n = &seen[0];
    assert_eq!(n.app_name, "CRM");
    assert_eq!(n.summary, "Follow up: Bakery Brown");
    assert!(
        n.body.starts_with("call: send the quote (due "),
        "{}",
        n.body
    );
    assert_eq!(
        n.urgency,
        Some(1),
        "a late follow-up is news, not an emergency: never critical"
    );
    assert_eq!(n.expire_timeout, -1, "and it goes away by itself");
    let due = Utc::now() - chrono::TimeDelta::minutes(120);
    assert!(
        n.body.ends_with(&format!(
            "(due {})",
            crm_desktop_core::reminders::local_time(due, Utc::now())
        )),
        "the due time in the user's own time, as the window shows it: {}",
        n.body
    );
    assert_eq!(n.category.as_deref(), Some("x-crm.follow-up"));
    assert!(
        n.actions.windows(2).any(|w| w == ["open", "Open"])
            && n.actions
                .windows(2)
                .any(|w| w == ["snooze", "Snooze 1 hour"]),
        "dunst offers actions: {:?}",
        n.actions
    );

    // Started again: nothing repeats.
    assert_eq!(
        remind_once(&desk, &ben.data_dir).await.trim(),
        "0 notification(s) shown"
    );

    // Moved into the past: it fires at its new date; the overdue one moved
    // to another past date fires again too.
    move_follow_up(&ben, later, -1);
    move_follow_up(&ben, overdue, -5);
    assert_eq!(
        remind_once(&desk, &ben.data_dir).await.trim(),
        "2 notification(s) shown"
    );
    let seen = desk.wait_for(3).await;
    assert_eq!(seen.len(), 3);
    assert!(
        seen.iter().all(|n| !n.body.contains("cancelled visit")),
        "deleted never fires"
    );
}

#[tokio::test]
async fn many_missed_follow_ups_become_one_summary() {
    let desk = NotificationDesk::start().await;
    let backend = Backend::start().await;
    Team::create(&backend).await;
    let ben = Client::sign_in(&backend, "ben@example.com").await;
    for i in 0..5 {
        let c = customer(&ben, &format!("Shop {i}"));
        follow_up(&ben, c, "call back", -60 - i);
    }
    assert_eq!(
        remind_once(&desk, &ben.data_dir).await.trim(),
        "1 notification(s) shown"
    );
    let seen = desk.wait_for(1).await;
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].summary, "5 follow-ups are due");
    assert!(seen[0].body.contains("Shop 0"), "{}", seen[0].body);
    assert_eq!(
        remind_once(&desk, &ben.data_dir).await.trim(),
        "0 notification(s) shown"
    );
}

#[tokio::test]
async fn a_follow_up_that_arrived_by_sync_fires_at_its_time() {
    let desk = NotificationDesk::start().await;
    let backend = Backend::start().await;
    Team::create(&backend).await;
    let mut ben = Client::sign_in(&backend, "ben@example.com").await;
    let mut ada = Client::sign_in(&backend, "ada@example.com").await;
    ben.start_sync();
    ada.start_sync();
    let shop = customer(&ben, "Corner Shop");
    ben.synced().await;
    ada.synced().await;

    // The admin logs a follow-up on Ben's customer, due in a few seconds.
    ada.with(|s| {
        s.log_interaction(NewInteraction {
            customer_id: shop,
            interaction_type: "visit".into(),
            channel: InteractionChannel::Meeting,
            note: Some("bring the samples".into()),
            follow_up_date: Some(Utc::now() + chrono::TimeDelta::seconds(4)),
            occurred_at: None,
        })
        .unwrap()
    });
    ada.synced().await;
    ben.synced().await;
    ben.stop_sync().await;

    // The scheduler, started before it is due, fires it when it is.
    let mut scheduler = remind(&desk, &ben.data_dir).spawn().unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(desk.seen().is_empty(), "not before its time");
    let seen = desk.wait_for(1).await;
    assert_eq!(seen[0].summary, "Follow up: Corner Shop");
    assert_eq!(seen[0].body, "visit: bring the samples");
    assert_eq!(seen[0].urgency, Some(1));
    assert_eq!(seen[0].expire_timeout, 0, "on time, it stays until seen");
    scheduler.start_kill().unwrap();
    let _ = scheduler.wait().await;
    ada.stop_sync().await;
}

#[tokio::test]
async fn choosing_a_reminder_opens_its_customer() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let desk = NotificationDesk::start().await;
    let backend = Backend::start().await;
    Team::create(&backend).await;
    let ben = Client::sign_in(&backend, "ben@example.com").await;
    let shop = customer(&ben, "Harbour Hardware");
    follow_up(&ben, shop, "confirm the order", -10);

    let mut scheduler = remind(&desk, &ben.data_dir)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    desk.wait_for(1).await;
    // The user clicks the notification (dunst's default action).
    let clicked = Command::new("dunstctl")
        .args(["action", "0"])
        .env("DBUS_SESSION_BUS_ADDRESS", &desk.bus_address)
        .status()
        .await
        .unwrap();
    assert!(clicked.success());
    let mut lines = BufReader::new(scheduler.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("the app heard the click")
        .unwrap()
        .unwrap();
    assert_eq!(line, format!("Open {{ customer_id: {shop} }}"));
    scheduler.start_kill().unwrap();
    let _ = scheduler.wait().await;
}

#[test]
fn a_snoozed_reminder_comes_back_after_the_snooze() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = crm_desktop_core::Store::open(
        &dir.path().join("r.sqlite3"),
        &crm_desktop_core::fixtures::test_key(),
    )
    .unwrap();
    let me = Uuid::now_v7();
    store.set_user(me, crm_domain::UserRole::Agent).unwrap();
    let c = store
        .create_customer(support::new_customer("Snooze Supplies"))
        .unwrap();
    let due = Utc::now() - chrono::TimeDelta::minutes(5);
    let i = store
        .log_interaction(NewInteraction {
            customer_id: c.id,
            interaction_type: "call".into(),
            channel: InteractionChannel::Phone,
            note: None,
            follow_up_date: Some(due),
            occurred_at: None,
        })
        .unwrap();
    let now = Utc::now();
    let first = store.due_reminders(now).unwrap();
    assert_eq!(first.len(), 1);
    store.mark_reminded(&first[0], now).unwrap();
    assert!(store.due_reminders(now).unwrap().is_empty(), "fired once");

    let until = now + crm_desktop_core::reminders::SNOOZE;
    store.snooze_reminder(i.id, first[0].due, until).unwrap();
    assert!(
        store.due_reminders(now).unwrap().is_empty(),
        "not during the snooze"
    );
    let next = store.next_reminder_at(now).unwrap().unwrap();
    assert!(
        (next - until).num_milliseconds().abs() < 1,
        "wakes when the snooze ends"
    );
    let later = until + chrono::TimeDelta::seconds(1);
    assert_eq!(
        store.due_reminders(later).unwrap().len(),
        1,
        "back after it"
    );
}

#[tokio::test]
async fn a_first_sign_in_on_a_new_laptop_announces_missed_follow_ups_as_one_summary() {
    let desk = NotificationDesk::start().await;
    let backend = Backend::start().await;
    Team::create(&backend).await;
    // Ben's follow-ups, made on his old laptop and all overdue.
    let mut old_laptop = Client::sign_in(&backend, "ben@example.com").await;
    old_laptop.start_sync();
    for i in 0..8 {
        let c = customer(&old_laptop, &format!("Shop {i}"));
        follow_up(&old_laptop, c, "call back", -60 - i);
    }
    old_laptop.synced().await;
    old_laptop.stop_sync().await;

    // A new laptop: signed in, its replica empty; the app syncs and reminds.
    let new_laptop = tempfile::tempdir().unwrap();
    drop(Client::sign_in_at(&backend, "ben@example.com", new_laptop.path().to_path_buf()).await);
    let mut app = Command::new(env!("CARGO_BIN_EXE_crm-sync"));
    app.env(
        "CRM_REPLICA_PASSPHRASE",
        crm_desktop_core::fixtures::TEST_PASSPHRASE,
    );
    let mut app = app
        .arg("--data-dir")
        .arg(new_laptop.path())
        .env("DBUS_SESSION_BUS_ADDRESS", &desk.bus_address)
        .kill_on_drop(true)
        .args(["sync", "--remind"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let seen = desk.wait_for(1).await;
    assert_eq!(seen[0].summary, "8 follow-ups are due", "{seen:?}");
    assert_eq!(seen[0].urgency, Some(1), "not critical");
    assert_eq!(seen[0].expire_timeout, -1, "not sticky");
    // Nothing follows one by one.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(desk.seen().len(), 1, "{:?}", desk.seen());
    app.start_kill().unwrap();
    let _ = app.wait().await;
}
