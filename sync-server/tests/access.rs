//! Access that can be ended (security review H1, M2, M3, L1, L6, L8):
//! admins deactivate and reactivate accounts, every sign-in is a device its
//! user (or an admin) can end, sessions have an absolute lifetime,
//! passwords are changed with the current one or reset with an admin's
//! one-time code, a refresh racing a sign-out never leaves a live token
//! behind, and the sign-in throttle can be neither raced, nor used to lock
//! a stranger out, nor skipped.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use crm_domain::UserRole;
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::server::{PASSWORD, TestServer, assert_error};
use uuid::Uuid;

async fn json_of(response: reqwest::Response) -> Value {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert!(status.is_success(), "{status}: {body}");
    body
}

fn token(session: &Value) -> String {
    session["access_token"].as_str().unwrap().to_owned()
}

async fn login_on(s: &TestServer, email: &str, device: &str) -> Value {
    json_of(
        s.post(
            "/auth/login",
            json!({ "email": email, "password": PASSWORD, "device_name": device, "platform": "linux" }),
        )
        .await,
    )
    .await
}

/// Reads a live stream until it ends; false if it is still open after `wait`.
async fn stream_ends(response: reqwest::Response, wait: Duration) -> bool {
    let mut body = response.bytes_stream();
    tokio::time::timeout(wait, async {
        while let Some(chunk) = body.next().await {
            if chunk.is_err() {
                break;
            }
        }
    })
    .await
    .is_ok()
}

#[tokio::test]
async fn a_deactivated_account_stops_everywhere_at_once_and_keeps_its_history() {
    let s = TestServer::start(&[]).await;
    let ada = s.create_account("ada@field.test", UserRole::Admin).await;
    let ben = s.create_account("ben@field.test", UserRole::Agent).await;
    let admin = token(&s.login("ada@field.test").await);
    let bens = s.login("ben@field.test").await;
    let ben_token = token(&bens);

    // Ben has a live stream open, an integration token, and a customer.
    let stream = s
        .http
        .get(s.url("/sync/events"))
        .bearer_auth(&ben_token)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    let made = json_of(
        s.post_as(
            &ben_token,
            "/integration-tokens",
            json!({ "name": "Website form", "permissions": ["customers:read"] }),
        )
        .await,
    )
    .await;
    let secret = made["secret"].as_str().unwrap().to_owned();
    let read_with_token = || {
        s.http
            .get(s.url("/api/v1/customers"))
            .bearer_auth(&secret)
            .send()
    };
    assert_eq!(read_with_token().await.unwrap().status(), StatusCode::OK);
    sqlx::query("INSERT INTO customers (name, owner) VALUES ('Harbour', $1)")
        .bind(ben)
        .execute(s.pool())
        .await
        .unwrap();

    let done = json_of(
        s.post_as(
            &admin,
            &format!("/admin/accounts/{ben}/deactivate"),
            json!({}),
        )
        .await,
    )
    .await;
    assert!(done["deactivated_at"].is_string(), "{done}");
    assert_eq!(done["active_sessions"], 0);

    assert_error(
        s.get_as(&ben_token, "/auth/me").await,
        StatusCode::UNAUTHORIZED,
        "account_deactivated",
    )
    .await;
    assert_error(
        s.post(
            "/auth/refresh",
            json!({ "refresh_token": bens["refresh_token"] }),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "account_deactivated",
    )
    .await;
    assert!(
        stream_ends(stream, Duration::from_secs(5)).await,
        "the live stream closed"
    );
    assert_error(
        read_with_token().await.unwrap(),
        StatusCode::UNAUTHORIZED,
        "account_deactivated",
    )
    .await;
    // Only the right password learns that the account is deactivated.
    assert_error(
        s.post(
            "/auth/login",
            json!({ "email": "ben@field.test", "password": "not his password at all" }),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    assert_error(
        s.post(
            "/auth/login",
            json!({ "email": "ben@field.test", "password": PASSWORD }),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "account_deactivated",
    )
    .await;

    // What he wrote stays, and the audit trail says who deactivated him.
    let customers: i64 = sqlx::query_scalar("SELECT count(*) FROM customers WHERE owner = $1")
        .bind(ben)
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert_eq!(customers, 1);
    let audited: Option<Uuid> = sqlx::query_scalar(
        "SELECT changed_by FROM audit_history WHERE table_name = 'auth.users' AND record_id = $1
          AND new_values->>'deactivated_at' IS NOT NULL",
    )
    .bind(ben)
    .fetch_one(s.pool())
    .await
    .unwrap();
    assert_eq!(audited, Some(ada));
    let listed = json_of(s.get_as(&admin, "/admin/accounts").await).await;
    let row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["email"] == "ben@field.test")
        .unwrap();
    assert!(row["deactivated_at"].is_string());

    // Reactivated, he signs in again; his old sign-in stays ended.
    json_of(
        s.post_as(
            &admin,
            &format!("/admin/accounts/{ben}/reactivate"),
            json!({}),
        )
        .await,
    )
    .await;
    let again = s.login("ben@field.test").await;
    assert_eq!(
        s.get_as(&token(&again), "/auth/me").await.status(),
        StatusCode::OK
    );
    assert_error(
        s.get_as(&ben_token, "/auth/me").await,
        StatusCode::UNAUTHORIZED,
        "account_deactivated",
    )
    .await;
    assert_eq!(read_with_token().await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn only_admins_manage_accounts_and_never_the_last_active_admin_away() {
    let s = TestServer::start(&[]).await;
    let ada = s.create_account("ada@field.test", UserRole::Admin).await;
    let max = s.create_account("max@field.test", UserRole::Admin).await;
    let ben = s.create_account("ben@field.test", UserRole::Agent).await;
    let ada_token = token(&s.login("ada@field.test").await);
    let ben_token = token(&s.login("ben@field.test").await);

    for path in [
        format!("/admin/accounts/{ada}/deactivate"),
        format!("/admin/accounts/{ada}/reset-code"),
    ] {
        assert_error(
            s.post_as(&ben_token, &path, json!({})).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
    }
    assert_error(
        s.get_as(&ben_token, "/admin/accounts").await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        s.post_as(
            &ada_token,
            &format!("/admin/accounts/{ada}/deactivate"),
            json!({}),
        )
        .await,
        StatusCode::CONFLICT,
        "not_allowed",
    )
    .await;
    assert_error(
        s.post_as(
            &ada_token,
            &format!("/admin/accounts/{}/deactivate", Uuid::now_v7()),
            json!({}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    // With Max deactivated, Ada is the last active admin: she can be
    // neither deactivated (from the command line) nor demoted.
    json_of(
        s.post_as(
            &ada_token,
            &format!("/admin/accounts/{max}/deactivate"),
            json!({}),
        )
        .await,
    )
    .await;
    let last = sync_server::accounts::admin::set_active(s.pool(), ada, false, None).await;
    assert!(last.is_err(), "the last active admin stays");
    let demoted = sqlx::query("UPDATE profiles SET role = 'agent' WHERE id = $1")
        .bind(ada)
        .execute(s.pool())
        .await;
    assert!(demoted.is_err(), "the last active admin stays an admin");
    let _ = ben;
}

#[tokio::test]
async fn every_sign_in_is_a_device_its_user_ends_with_their_password() {
    let s = TestServer::start(&[]).await;
    s.create_account("ana@field.test", UserRole::Agent).await;
    let laptop = login_on(&s, "ana@field.test", "Ana's ThinkPad").await;
    let phone = login_on(&s, "ana@field.test", "Ana's\u{7} phone").await;
    let laptop_token = token(&laptop);

    let devices = json_of(s.get_as(&laptop_token, "/auth/sessions").await).await;
    let devices = devices.as_array().unwrap();
    assert_eq!(devices.len(), 2);
    assert_eq!(devices[0]["current"], true, "the asking device first");
    assert_eq!(devices[0]["device_name"], "Ana's ThinkPad");
    assert_eq!(devices[0]["platform"], "linux");
    assert_eq!(devices[0]["last_address"], "127.0.0.1");
    assert_eq!(
        devices[1]["device_name"], "Ana's phone",
        "control characters dropped"
    );
    let phone_id = devices[1]["id"].as_str().unwrap();

    let revoke = format!("/auth/sessions/{phone_id}/revoke");
    assert_error(
        s.post_as(&laptop_token, &revoke, json!({})).await,
        StatusCode::FORBIDDEN,
        "wrong_password",
    )
    .await;
    let ended = s
        .post_as(&laptop_token, &revoke, json!({ "password": PASSWORD }))
        .await;
    assert_eq!(ended.status(), StatusCode::NO_CONTENT);
    assert_error(
        s.get_as(&token(&phone), "/auth/me").await,
        StatusCode::UNAUTHORIZED,
        "session_revoked",
    )
    .await;
    assert_error(
        s.post(
            "/auth/refresh",
            json!({ "refresh_token": phone["refresh_token"] }),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "session_revoked",
    )
    .await;
    assert_eq!(
        json_of(s.get_as(&laptop_token, "/auth/sessions").await)
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn an_admin_sees_and_ends_anyones_device_and_an_agent_cannot() {
    let s = TestServer::start(&[]).await;
    s.create_account("ada@field.test", UserRole::Admin).await;
    let ben = s.create_account("ben@field.test", UserRole::Agent).await;
    s.create_account("cy@field.test", UserRole::Agent).await;
    let admin = token(&s.login("ada@field.test").await);
    let bens = login_on(&s, "ben@field.test", "Ben's laptop").await;
    let cy = token(&s.login("cy@field.test").await);

    let devices = json_of(
        s.get_as(&admin, &format!("/admin/accounts/{ben}/sessions"))
            .await,
    )
    .await;
    let id = devices[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(devices[0]["device_name"], "Ben's laptop");
    // To another agent, Ben's device does not exist.
    assert_error(
        s.post_as(
            &cy,
            &format!("/auth/sessions/{id}/revoke"),
            json!({ "password": PASSWORD }),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let ended = s
        .post_as(&admin, &format!("/auth/sessions/{id}/revoke"), json!({}))
        .await;
    assert_eq!(ended.status(), StatusCode::NO_CONTENT);
    assert_error(
        s.get_as(&token(&bens), "/auth/me").await,
        StatusCode::UNAUTHORIZED,
        "session_revoked",
    )
    .await;
}

#[tokio::test]
async fn a_password_change_needs_the_current_one_and_signs_the_other_devices_out() {
    let s = TestServer::start(&[]).await;
    s.create_account("ana@field.test", UserRole::Agent).await;
    let here = token(&s.login("ana@field.test").await);
    let there = token(&s.login("ana@field.test").await);
    let new = "copper kettle under moonlight";

    let weak = s
        .post_as(
            &here,
            "/auth/password",
            json!({ "current_password": PASSWORD, "new_password": "password123" }),
        )
        .await;
    let body = assert_error(weak, StatusCode::BAD_REQUEST, "validation_failed").await;
    assert!(body.to_string().contains("guess"), "{body}");
    assert_error(
        s.post_as(
            &here,
            "/auth/password",
            json!({ "current_password": "not the password", "new_password": new }),
        )
        .await,
        StatusCode::FORBIDDEN,
        "wrong_password",
    )
    .await;
    let changed = s
        .post_as(
            &here,
            "/auth/password",
            json!({ "current_password": PASSWORD, "new_password": new }),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::NO_CONTENT);
    assert_eq!(s.get_as(&here, "/auth/me").await.status(), StatusCode::OK);
    // The other device signs in again, keeping its data (not "revoked").
    assert_error(
        s.get_as(&there, "/auth/me").await,
        StatusCode::UNAUTHORIZED,
        "session_ended",
    )
    .await;
    assert_error(
        s.post(
            "/auth/login",
            json!({ "email": "ana@field.test", "password": PASSWORD }),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    let signed_in = s
        .post(
            "/auth/login",
            json!({ "email": "ana@field.test", "password": new }),
        )
        .await;
    assert_eq!(signed_in.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_reset_code_sets_a_new_password_once_and_dies_after_wrong_tries() {
    let s = TestServer::start(&[]).await;
    s.create_account("ada@field.test", UserRole::Admin).await;
    let ben = s.create_account("ben@field.test", UserRole::Agent).await;
    let admin = token(&s.login("ada@field.test").await);
    let old_device = token(&s.login("ben@field.test").await);
    let new = "copper kettle under moonlight";

    let code = json_of(
        s.post_as(
            &admin,
            &format!("/admin/accounts/{ben}/reset-code"),
            json!({}),
        )
        .await,
    )
    .await;
    let code = code["code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 14, "XXXX-XXXX-XXXX: {code}");
    let reset = |code: String| {
        s.post(
            "/auth/password-reset",
            json!({ "email": "BEN@field.test", "code": code, "new_password": new, "device_name": "New laptop" }),
        )
    };
    assert_error(
        reset("AAAA-BBBB-CCCC".into()).await,
        StatusCode::UNAUTHORIZED,
        "invalid_reset_code",
    )
    .await;
    // Typed as read out: lower case, spaces for dashes.
    let typed = code.to_lowercase().replace('-', " ");
    let session = json_of(reset(typed.clone()).await).await;
    assert_eq!(
        s.get_as(&token(&session), "/auth/me").await.status(),
        StatusCode::OK
    );
    assert_error(
        s.get_as(&old_device, "/auth/me").await,
        StatusCode::UNAUTHORIZED,
        "session_ended",
    )
    .await;
    assert_error(
        reset(typed).await,
        StatusCode::UNAUTHORIZED,
        "invalid_reset_code",
    )
    .await;

    // A new code survives four wrong tries, not five (the sign-in throttle
    // aside: its window is let pass between the tries).
    let forget_tries = || sqlx::query("DELETE FROM auth.login_attempts").execute(s.pool());
    forget_tries().await.unwrap();
    let code = json_of(
        s.post_as(
            &admin,
            &format!("/admin/accounts/{ben}/reset-code"),
            json!({}),
        )
        .await,
    )
    .await;
    let code = code["code"].as_str().unwrap().to_owned();
    for _ in 0..5 {
        assert_error(
            reset("AAAA-BBBB-CCCC".into()).await,
            StatusCode::UNAUTHORIZED,
            "invalid_reset_code",
        )
        .await;
        forget_tries().await.unwrap();
    }
    assert_error(
        reset(code).await,
        StatusCode::UNAUTHORIZED,
        "invalid_reset_code",
    )
    .await;
}

#[tokio::test]
async fn a_session_past_its_absolute_lifetime_signs_in_again() {
    let s = TestServer::start(&[]).await;
    s.create_account("ana@field.test", UserRole::Agent).await;
    let session = s.login("ana@field.test").await;
    sqlx::query("UPDATE auth.sessions SET expires_at = now() - interval '1 second'")
        .execute(s.pool())
        .await
        .unwrap();
    assert_error(
        s.get_as(&token(&session), "/auth/me").await,
        StatusCode::UNAUTHORIZED,
        "session_expired",
    )
    .await;
    assert_error(
        s.post(
            "/auth/refresh",
            json!({ "refresh_token": session["refresh_token"] }),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "session_expired",
    )
    .await;
}

#[tokio::test]
async fn a_token_minted_by_a_refresh_in_flight_during_sign_out_is_dead_once_sign_out_returns() {
    let s = TestServer::start(&[]).await;
    s.create_account("ana@field.test", UserRole::Agent).await;
    let session = s.login("ana@field.test").await;
    let sid: Uuid = sqlx::query_scalar("SELECT id FROM auth.sessions")
        .fetch_one(s.pool())
        .await
        .unwrap();
    // A refresh in flight: it holds the session, as every refresh does, and
    // has minted its child but not committed yet (security review M2).
    let mut refresh = s.pool().begin().await.unwrap();
    sqlx::query("SELECT 1 FROM auth.sessions WHERE id = $1 FOR UPDATE")
        .bind(sid)
        .execute(&mut *refresh)
        .await
        .unwrap();
    let (child, hash) = sync_server::accounts::tokens::new_refresh_token();
    sqlx::query(
        "INSERT INTO auth.refresh_tokens (user_id, family_id, token_hash, expires_at)
         SELECT user_id, id, $2, now() + interval '1 day' FROM auth.sessions WHERE id = $1",
    )
    .bind(sid)
    .bind(&hash)
    .execute(&mut *refresh)
    .await
    .unwrap();
    let signing_out = {
        let http = s.http.clone();
        let url = s.url("/auth/logout");
        let access = token(&session);
        tokio::spawn(async move { http.post(url).bearer_auth(access).send().await.unwrap() })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    refresh.commit().await.unwrap();
    assert_eq!(signing_out.await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_error(
        s.post("/auth/refresh", json!({ "refresh_token": child }))
            .await,
        StatusCode::UNAUTHORIZED,
        "session_ended",
    )
    .await;
}

#[tokio::test]
async fn a_burst_of_guesses_is_counted_one_by_one() {
    let s = TestServer::start(&[]).await;
    s.create_account("ana@field.test", UserRole::Agent).await;
    let guesses = (0..40).map(|n| {
        let http = s.http.clone();
        let url = s.url("/auth/login");
        tokio::spawn(async move {
            http.post(url)
                .json(
                    &json!({ "email": "ana@field.test", "password": format!("guess number {n}") }),
                )
                .send()
                .await
                .unwrap()
                .status()
        })
    });
    let mut checked = 0;
    let mut throttled = 0;
    for guess in futures_util::future::join_all(guesses).await {
        match guess.unwrap() {
            StatusCode::UNAUTHORIZED => checked += 1,
            StatusCode::TOO_MANY_REQUESTS => throttled += 1,
            other => panic!("{other}"),
        }
    }
    // Three free tries, and one more if the burst outlasted the first wait.
    let free = usize::try_from(sync_server::accounts::FREE_TRIES).unwrap();
    assert!(
        (free..=free + 1).contains(&checked),
        "{checked} passwords checked, {throttled} throttled"
    );
}

#[tokio::test]
async fn a_stranger_guessing_from_elsewhere_never_locks_the_owner_out() {
    let s = TestServer::start(&["--trusted-proxies", "127.0.0.1"]).await;
    s.create_account("ceo@field.test", UserRole::Admin).await;
    let from = |address: &'static str, password: &'static str| {
        s.http
            .post(s.url("/auth/login"))
            .header("x-forwarded-for", address)
            .json(&json!({ "email": "ceo@field.test", "password": password }))
            .send()
    };
    let mut refused = 0;
    for _ in 0..20 {
        if from("203.0.113.7", "guess guess guess")
            .await
            .unwrap()
            .status()
            == StatusCode::TOO_MANY_REQUESTS
        {
            refused += 1;
        }
    }
    assert!(refused >= 16, "the stranger is slowed down: {refused}");
    assert_eq!(
        from("198.51.100.4", PASSWORD).await.unwrap().status(),
        StatusCode::OK,
        "the owner, from her own address, signs in"
    );
    let addresses: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT host(address) FROM auth.login_attempts ORDER BY 1")
            .fetch_all(s.pool())
            .await
            .unwrap();
    assert_eq!(addresses, ["198.51.100.4", "203.0.113.7"]);
}

#[tokio::test]
async fn a_forwarded_address_counts_only_from_a_trusted_proxy() {
    let s = TestServer::start(&[]).await;
    s.create_account("ana@field.test", UserRole::Agent).await;
    let forged = s
        .http
        .post(s.url("/auth/login"))
        .header("x-forwarded-for", "203.0.113.7")
        .json(&json!({ "email": "ana@field.test", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    let session: Value = forged.json().await.unwrap();
    let devices = json_of(s.get_as(&token(&session), "/auth/sessions").await).await;
    assert_eq!(devices[0]["first_address"], "127.0.0.1");
}

#[tokio::test]
async fn a_huge_email_is_refused_plainly_and_costs_nothing() {
    let s = TestServer::start(&[]).await;
    let email = format!("{}@field.test", "x".repeat(3000));
    for _ in 0..50 {
        assert_error(
            s.post("/auth/login", json!({ "email": email, "password": "p" }))
                .await,
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
        )
        .await;
    }
    let attempts: i64 = sqlx::query_scalar("SELECT count(*) FROM auth.login_attempts")
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert_eq!(attempts, 0, "nothing recorded, nothing hashed");
}

#[tokio::test]
async fn admins_set_the_offline_grace_period_and_every_sign_in_carries_it() {
    let s = TestServer::start(&[]).await;
    let ada = s.create_account("ada@field.test", UserRole::Admin).await;
    s.create_account("ben@field.test", UserRole::Agent).await;
    let ada_token = token(&s.login("ada@field.test").await);
    let ben_session = s.login("ben@field.test").await;
    assert_eq!(ben_session["offline_grace_days"], 14, "the default");
    let ben_token = token(&ben_session);

    // An agent reads it, and may not change it.
    let read = json_of(s.get_as(&ben_token, "/admin/access-policy").await).await;
    assert_eq!(read, json!({ "offline_grace_days": 14 }));
    assert_error(
        s.put_as(
            &ben_token,
            "/admin/access-policy",
            json!({ "offline_grace_days": 365 }),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    // Out of range is refused plainly.
    for days in [0, 366] {
        let refused = s
            .put_as(
                &ada_token,
                "/admin/access-policy",
                json!({ "offline_grace_days": days }),
            )
            .await;
        assert_error(refused, StatusCode::BAD_REQUEST, "validation_failed").await;
    }
    let set = json_of(
        s.put_as(
            &ada_token,
            "/admin/access-policy",
            json!({ "offline_grace_days": 3 }),
        )
        .await,
    )
    .await;
    assert_eq!(set, json!({ "offline_grace_days": 3 }));
    // The next sign-in and refresh say so.
    assert_eq!(s.login("ben@field.test").await["offline_grace_days"], 3);
    let refreshed = json_of(
        s.post(
            "/auth/refresh",
            json!({ "refresh_token": ben_session["refresh_token"] }),
        )
        .await,
    )
    .await;
    assert_eq!(refreshed["offline_grace_days"], 3);
    // Audited, naming the admin.
    let audited: (Uuid, Value) = sqlx::query_as(
        "SELECT changed_by, new_values FROM public.audit_history WHERE table_name = 'access_policy'",
    )
    .fetch_one(s.pool())
    .await
    .unwrap();
    assert_eq!(audited.0, ada);
    assert_eq!(audited.1["offline_grace_days"], 3);
}

#[tokio::test]
async fn a_refresh_token_alone_ends_its_sign_in_and_a_stranger_learns_nothing() {
    let s = TestServer::start(&[]).await;
    s.create_account("ben@field.test", UserRole::Agent).await;
    let session = s.login("ben@field.test").await;
    let access = token(&session);
    assert!(s.get_as(&access, "/auth/me").await.status().is_success());

    // An unknown token gets the same answer as a known one.
    let unknown = s
        .post(
            "/auth/revoke",
            json!({ "refresh_token": "not-a-token-at-all" }),
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::NO_CONTENT);
    assert!(s.get_as(&access, "/auth/me").await.status().is_success());

    let known = s
        .post(
            "/auth/revoke",
            json!({ "refresh_token": session["refresh_token"] }),
        )
        .await;
    assert_eq!(known.status(), StatusCode::NO_CONTENT);
    assert_error(
        s.get_as(&access, "/auth/me").await,
        StatusCode::UNAUTHORIZED,
        "session_ended",
    )
    .await;
    // Nor can the token be traded for another.
    let refreshed = s
        .post(
            "/auth/refresh",
            json!({ "refresh_token": session["refresh_token"] }),
        )
        .await;
    assert_eq!(refreshed.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_admin_adds_a_colleague_who_sets_their_own_password_with_the_code() {
    let s = TestServer::start(&[]).await;
    s.create_account("ada@field.test", UserRole::Admin).await;
    s.create_account("ben@field.test", UserRole::Agent).await;
    let admin = token(&s.login("ada@field.test").await);
    let agent = token(&s.login("ben@field.test").await);
    let new = json!({ "email": "cy@field.test", "full_name": "Cy Field", "role": "agent" });

    assert_error(
        s.post_as(&agent, "/admin/accounts", new.clone()).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        s.post_as(
            &admin,
            "/admin/accounts",
            json!({ "email": "not an email", "full_name": null, "role": "agent" }),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    )
    .await;
    let added = s.post_as(&admin, "/admin/accounts", new.clone()).await;
    assert_eq!(added.status(), StatusCode::CREATED);
    let added = json_of(added).await;
    assert_eq!(added["account"]["email"], "cy@field.test");
    assert_eq!(added["account"]["role"], "agent");
    let code = added["reset_code"]["code"].as_str().unwrap().to_owned();
    assert_error(
        s.post_as(&admin, "/admin/accounts", new).await,
        StatusCode::CONFLICT,
        "email_taken",
    )
    .await;

    // No one knows a password for the account until Cy sets one.
    let signed_in = json_of(
        s.post(
            "/auth/password-reset",
            json!({ "email": "cy@field.test", "code": code, "new_password": "lanterns over the quiet harbour" }),
        )
        .await,
    )
    .await;
    assert_eq!(signed_in["user"]["full_name"], "Cy Field");
}

/// A request (an admin's, or anyone's) to give account `id` the role `role`.
async fn set_role(s: &TestServer, token: &str, id: Uuid, role: &str) -> reqwest::Response {
    s.post_as(
        token,
        &format!("/admin/accounts/{id}/role"),
        json!({ "role": role }),
    )
    .await
}

#[tokio::test]
async fn admins_change_roles_but_never_leave_the_team_without_an_active_admin() {
    let s = TestServer::start(&[]).await;
    let ada = s.create_account("ada@field.test", UserRole::Admin).await;
    let ben = s.create_account("ben@field.test", UserRole::Agent).await;
    let admin = token(&s.login("ada@field.test").await);
    let agent = token(&s.login("ben@field.test").await);

    assert_error(
        set_role(&s, &agent, ben, "admin").await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        set_role(&s, &admin, ada, "agent").await,
        StatusCode::CONFLICT,
        "not_allowed",
    )
    .await;
    let promoted = json_of(set_role(&s, &admin, ben, "admin").await).await;
    assert_eq!(promoted["role"], "admin");
    // At once: Ben's next request is an admin's.
    assert!(
        s.get_as(&agent, "/admin/accounts")
            .await
            .status()
            .is_success()
    );
    // Now Ada may step down; audited, naming her.
    let stepped_down = json_of(set_role(&s, &admin, ada, "agent").await).await;
    assert_eq!(stepped_down["role"], "agent");
    let by: Option<Uuid> = sqlx::query_scalar(
        "SELECT changed_by FROM public.audit_history
          WHERE table_name = 'profiles' AND record_id = $1 AND new_values ->> 'role' = 'admin'",
    )
    .bind(ben)
    .fetch_one(s.pool())
    .await
    .unwrap();
    assert_eq!(by, Some(ada));
}
