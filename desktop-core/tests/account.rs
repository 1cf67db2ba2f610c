//! My devices and password, and the team's accounts for admins, through
//! the core against the real server.
#![allow(clippy::unwrap_used)]

mod support;

use crm_desktop_core::CoreError;
use crm_desktop_core::account;
use crm_desktop_core::session::Session;
use support::{Backend, PASSWORD, Team};

async fn signed_in(backend: &Backend, email: &str) -> (Session, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let session = Session::sign_in(dir.path(), &backend.url(), email, PASSWORD)
        .await
        .unwrap();
    (session, dir)
}

#[tokio::test]
async fn a_user_ends_another_of_their_devices_and_changes_their_password() {
    let backend = Backend::start().await;
    Team::create(&backend).await;
    let (laptop, _l) = signed_in(&backend, "ben@example.com").await;
    let (phone, _p) = signed_in(&backend, "ben@example.com").await;

    let devices = account::devices(&laptop).await.unwrap();
    assert_eq!(devices.len(), 2);
    assert!(devices[0].current);
    assert_eq!(devices[0].platform.as_deref(), Some(std::env::consts::OS));
    let wrong = account::revoke_device(&laptop, devices[1].id, Some("not it at all".into())).await;
    assert!(matches!(wrong, Err(CoreError::Forbidden(_))), "{wrong:?}");
    account::revoke_device(&laptop, devices[1].id, Some(PASSWORD.into()))
        .await
        .unwrap();
    // The phone finds out it may keep nothing.
    phone.invalidate_access().await;
    let ended = account::devices(&phone).await;
    assert!(matches!(ended, Err(CoreError::AccessEnded(_))), "{ended:?}");

    let weak = account::change_password(&laptop, PASSWORD.into(), "password123".into()).await;
    assert!(
        matches!(weak, Err(CoreError::Invalid(_))),
        "checked before sending: {weak:?}"
    );
    account::change_password(
        &laptop,
        PASSWORD.into(),
        "copper kettle under moonlight".into(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    Session::sign_in(
        dir.path(),
        &backend.url(),
        "ben@example.com",
        "copper kettle under moonlight",
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn an_admin_deactivates_a_colleague_and_hands_over_a_reset_code() {
    let backend = Backend::start().await;
    let team = Team::create(&backend).await;
    let (ada, _a) = signed_in(&backend, "ada@example.com").await;
    let (ben, _b) = signed_in(&backend, "ben@example.com").await;

    let refused = account::accounts(&ben).await;
    assert!(
        matches!(refused, Err(CoreError::Forbidden(_))),
        "{refused:?}"
    );
    let everyone = account::accounts(&ada).await.unwrap();
    assert_eq!(everyone.len(), 3);

    let cy = account::set_account_active(&ada, team.cy, false)
        .await
        .unwrap();
    assert!(cy.deactivated_at.is_some());
    let again = account::set_account_active(&ada, team.cy, true)
        .await
        .unwrap();
    assert!(again.deactivated_at.is_none());

    let code = account::reset_code(&ada, team.cy).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let weak = Session::sign_in_with_code(
        dir.path(),
        &backend.url(),
        "cy@example.com",
        &code.code,
        "cy123456789",
    )
    .await;
    assert!(matches!(weak, Err(CoreError::Invalid(_))), "{weak:?}");
    let cys = Session::sign_in_with_code(
        dir.path(),
        &backend.url(),
        "cy@example.com",
        &code.code.to_lowercase(),
        "copper kettle under moonlight",
    )
    .await
    .unwrap();
    assert_eq!(cys.user().email, "cy@example.com");
    assert!(
        Session::resume(dir.path()).unwrap().is_some(),
        "kept for offline use"
    );
}

#[tokio::test]
async fn an_admin_adds_a_colleague_and_makes_them_an_admin() {
    let backend = Backend::start().await;
    Team::create(&backend).await;
    let (ada, _a) = signed_in(&backend, "ada@example.com").await;
    let new = crm_domain::auth::NewColleague {
        email: "dee@example.com".into(),
        full_name: Some("Dee Field".into()),
        role: crm_domain::UserRole::Agent,
    };
    let bad = crm_domain::auth::NewColleague {
        email: "dee at example".into(),
        ..new.clone()
    };
    assert!(matches!(
        account::add_colleague(&ada, bad).await,
        Err(CoreError::Invalid(_))
    ));
    let added = account::add_colleague(&ada, new).await.unwrap();
    assert_eq!(added.account.email, "dee@example.com");

    // Dee sets her password with the code, in her own app.
    let dir = tempfile::tempdir().unwrap();
    let dee = Session::sign_in_with_code(
        dir.path(),
        &backend.url(),
        "dee@example.com",
        &added.reset_code.code,
        "lanterns over the quiet harbour",
    )
    .await
    .unwrap();
    assert_eq!(dee.user().role, crm_domain::UserRole::Agent);

    let promoted = account::set_role(&ada, added.account.id, crm_domain::UserRole::Admin)
        .await
        .unwrap();
    assert_eq!(promoted.role, crm_domain::UserRole::Admin);
    assert_eq!(
        account::accounts(&dee).await.unwrap().len(),
        4,
        "Dee now sees the team"
    );
}
