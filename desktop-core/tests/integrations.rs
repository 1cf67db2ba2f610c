//! The user's integrations through the core, against the real server:
//! tokens made, renamed, rotated and revoked, webhooks made, paused, tested
//! and removed; an admin sees and revokes anyone's token; drafts that break
//! crm-domain's rules are refused before anything is sent; and without the
//! server the user is told why.
#![allow(clippy::unwrap_used)]

mod support;

use crm_desktop_core::CoreError;
use crm_desktop_core::integrations;
use crm_desktop_core::session::Session;
use crm_domain::webhooks::{NewWebhook, WebhookChange};
use crm_domain::{
    IntegrationPermission, NewIntegrationToken, TokenRename, TokenRotation, enums::WebhookEvent,
};
use support::{Backend, PASSWORD, Team};

async fn signed_in(backend: &Backend, email: &str) -> (Session, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let session = Session::sign_in(dir.path(), &backend.url(), email, PASSWORD)
        .await
        .unwrap();
    (session, dir)
}

/// What `/api/v1/customers` answers a secret (its status).
async fn api_status(backend: &Backend, secret: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{}/api/v1/customers", backend.url()))
        .bearer_auth(secret)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn draft(name: &str) -> NewIntegrationToken {
    NewIntegrationToken {
        name: name.into(),
        permissions: vec![IntegrationPermission::CustomersRead],
        expires_in_days: Some(30),
    }
}

#[tokio::test]
async fn an_agent_manages_their_tokens_and_an_admin_sees_and_revokes_them() {
    let backend = Backend::start().await;
    Team::create(&backend).await;
    let (ben, _b) = signed_in(&backend, "ben@example.com").await;
    let (ada, _a) = signed_in(&backend, "ada@example.com").await;

    let made = integrations::create_token(&ben, &draft("Website form"))
        .await
        .unwrap();
    assert!(made.secret.starts_with("crm_pat_"));
    assert_eq!(api_status(&backend, &made.secret).await, 200);
    let id = made.token.id;

    let renamed = integrations::rename_token(
        &ben,
        id,
        &TokenRename {
            name: "Website contact form".into(),
        },
    )
    .await
    .unwrap();
    assert_eq!(renamed.name, "Website contact form");

    // Rotated with an hour's grace: both secrets work for now.
    let rotated = integrations::rotate_token(
        &ben,
        id,
        &TokenRotation {
            grace_minutes: Some(60),
            expires_in_days: None,
        },
    )
    .await
    .unwrap();
    assert_ne!(rotated.secret, made.secret);
    assert!(rotated.token.previous_valid_until.is_some());
    assert_eq!(api_status(&backend, &made.secret).await, 200);
    assert_eq!(api_status(&backend, &rotated.secret).await, 200);

    // Ada's own list does not hold Ben's token; everyone's does.
    let ada_own = integrations::tokens(&ada, false).await.unwrap();
    assert!(ada_own.iter().all(|t| t.id != id));
    let everyone = integrations::tokens(&ada, true).await.unwrap();
    assert!(everyone.iter().any(|t| t.id == id));
    // An agent asking for everyone's gets his own only.
    let bens_all = integrations::tokens(&ben, true).await.unwrap();
    assert_eq!(bens_all.len(), 1);

    // Ada's token is not Ben's to revoke: to him it does not exist.
    let adas = integrations::create_token(&ada, &draft("Billing"))
        .await
        .unwrap();
    let refused = integrations::revoke_token(&ben, adas.token.id).await;
    assert!(
        matches!(refused, Err(CoreError::NotFound { .. })),
        "{refused:?}"
    );

    // The admin revokes Ben's: both of its secrets stop at once.
    let revoked = integrations::revoke_token(&ada, id).await.unwrap();
    assert!(!revoked.is_active && revoked.revoked_at.is_some());
    assert_eq!(api_status(&backend, &rotated.secret).await, 401);
    assert_eq!(api_status(&backend, &made.secret).await, 401);
    let mine = integrations::tokens(&ben, false).await.unwrap();
    assert!(!mine[0].is_active, "Ben sees it revoked");
    // Nothing brings it back.
    let again = integrations::rotate_token(&ben, id, &TokenRotation::default()).await;
    assert!(again.is_err(), "{again:?}");
}

#[tokio::test]
async fn a_webhook_is_made_paused_tested_and_removed() {
    let backend = Backend::start().await;
    Team::create(&backend).await;
    let (ben, _b) = signed_in(&backend, "ben@example.com").await;

    let made = integrations::create_webhook(
        &ben,
        &NewWebhook {
            url: "https://erp.example.com/hooks/crm".into(),
            event_types: vec![WebhookEvent::TicketCreated, WebhookEvent::CommentAdded],
            description: Some("ERP".into()),
            include_internal: false,
        },
    )
    .await
    .unwrap();
    assert!(made.secret.starts_with("whsec_"));
    let id = made.webhook.id;

    let test = integrations::test_webhook(&ben, id).await.unwrap();
    assert_eq!(test.event_type, "webhook.test");
    let deliveries = integrations::deliveries(&ben, id).await.unwrap();
    assert_eq!(deliveries.first().map(|d| d.id), Some(test.id));

    let paused = integrations::update_webhook(
        &ben,
        id,
        &WebhookChange {
            is_active: Some(false),
            ..WebhookChange::default()
        },
    )
    .await
    .unwrap();
    assert!(!paused.is_active && paused.disabled_reason.is_none());

    integrations::delete_webhook(&ben, id).await.unwrap();
    assert!(
        integrations::webhooks(&ben, false)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_draft_that_breaks_the_rules_is_refused_before_anything_is_sent() {
    let backend = Backend::start().await;
    Team::create(&backend).await;
    let (ben, _b) = signed_in(&backend, "ben@example.com").await;

    let mut bad = draft("  ");
    bad.permissions.clear();
    bad.expires_in_days = Some(400);
    let Err(CoreError::Invalid(errors)) = integrations::create_token(&ben, &bad).await else {
        panic!("refused as invalid");
    };
    let fields: Vec<_> = errors.into_iter().map(|e| e.field).collect();
    assert_eq!(fields, ["name", "permissions", "expires_in_days"]);
    let bad_hook = NewWebhook {
        url: "ftp://erp.example.com".into(),
        event_types: vec![],
        description: None,
        include_internal: false,
    };
    assert!(matches!(
        integrations::create_webhook(&ben, &bad_hook).await,
        Err(CoreError::Invalid(_))
    ));
    let tokens: i64 = sqlx::query_scalar("SELECT count(*) FROM integration_tokens")
        .fetch_one(backend.pool())
        .await
        .unwrap();
    assert_eq!(tokens, 0, "nothing reached the server");
}

#[tokio::test]
async fn without_the_server_the_user_is_told_integrations_need_a_connection() {
    let mut backend = Backend::start().await;
    Team::create(&backend).await;
    let (ben, _b) = signed_in(&backend, "ben@example.com").await;
    backend.stop().await;
    let Err(CoreError::Remote(message)) = integrations::tokens(&ben, false).await else {
        panic!("a remote error");
    };
    assert!(message.contains("needs a connection"), "{message}");
}
