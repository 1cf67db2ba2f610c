//! The offline grace period (issue 15): past the days the admins allow
//! without reaching the server, the password before any data; wrong
//! answers lock until a sign-in with the server; the admins' setting
//! reaches the device with its sign-in. A real server, real replica.
#![allow(clippy::unwrap_used)]

mod support;

use chrono::{TimeDelta, Utc};
use crm_desktop_core::CoreError;
use crm_desktop_core::grace::{self, GraceCheck, MAX_WRONG_ANSWERS};
use crm_desktop_core::session::Session;
use support::{Backend, Client, PASSWORD, Team};

/// As if the server was last reached `days` ago.
fn last_contact_days_ago(data_dir: &std::path::Path, days: i64, grace_days: u16) {
    let then = Utc::now() - TimeDelta::days(days);
    let text = serde_json::json!({
        "last_contact": then, "grace_days": grace_days, "latest_clock": then, "wrong_answers": 0
    });
    std::fs::write(data_dir.join("grace.json"), text.to_string()).unwrap();
}

#[tokio::test]
async fn past_the_grace_period_the_password_comes_first_and_wrong_answers_lock_until_an_online_sign_in()
 {
    let backend = Backend::start().await;
    Team::create(&backend).await;
    // The admins allow three days.
    sqlx::query("UPDATE auth.access_policy SET offline_grace_days = 3")
        .execute(backend.pool())
        .await
        .unwrap();
    let ben = Client::sign_in(&backend, "ben@example.com").await;
    let dir = ben.data_dir.clone();
    assert_eq!(grace::check(&dir, Utc::now()).unwrap(), GraceCheck::Open);

    last_contact_days_ago(&dir, 4, 3);
    let due = grace::check(&dir, Utc::now()).unwrap();
    assert!(
        matches!(
            due,
            GraceCheck::PasswordDue {
                days_offline: 4,
                grace_days: 3,
                ..
            }
        ),
        "{due:?}"
    );
    // The right password (checked offline, against the replica's hash).
    ben.with(|s| grace::confirm_password(&dir, s, PASSWORD))
        .unwrap();

    // Wrong ones count down, the last locks.
    for left in (1..MAX_WRONG_ANSWERS).rev() {
        let wrong = ben.with(|s| grace::confirm_password(&dir, s, "not my password"));
        assert!(
            matches!(wrong, Err(CoreError::WrongPassword { answers_left }) if answers_left == left),
            "{wrong:?}"
        );
    }
    let last = ben.with(|s| grace::confirm_password(&dir, s, "not my password"));
    assert!(matches!(last, Err(CoreError::OfflineLockedOut)), "{last:?}");
    assert_eq!(
        grace::check(&dir, Utc::now()).unwrap(),
        GraceCheck::LockedOut
    );
    // Even the right password no longer opens it offline.
    let right = ben.with(|s| grace::confirm_password(&dir, s, PASSWORD));
    assert!(
        matches!(right, Err(CoreError::OfflineLockedOut)),
        "{right:?}"
    );
    // Nothing was deleted: the replica is there, and a sign-in with the
    // server opens it again.
    assert!(ben.session.replica_path().exists());
    drop(ben);
    Session::sign_in(&dir, &backend.url(), "ben@example.com", PASSWORD)
        .await
        .unwrap();
    assert_eq!(grace::check(&dir, Utc::now()).unwrap(), GraceCheck::Open);
}

#[tokio::test]
async fn a_refresh_with_the_server_starts_the_grace_period_again() {
    let backend = Backend::start().await;
    Team::create(&backend).await;
    let ben = Client::sign_in(&backend, "ben@example.com").await;
    let dir = ben.data_dir.clone();
    last_contact_days_ago(&dir, 20, 14);
    assert!(matches!(
        grace::check(&dir, Utc::now()).unwrap(),
        GraceCheck::PasswordDue { .. }
    ));
    ben.session.invalidate_access().await;
    ben.session.access_token().await.unwrap();
    assert_eq!(grace::check(&dir, Utc::now()).unwrap(), GraceCheck::Open);
}
