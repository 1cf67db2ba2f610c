//! Accounts over real HTTP on loopback: sign-up, sign-in, rotating refresh
//! tokens, sign-out, throttling, and the error shape for bad input.
#![allow(clippy::unwrap_used)]

mod support;

use crm_domain::UserRole;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::server::{PASSWORD, TestServer, assert_error};

#[tokio::test]
async fn open_signup_creates_an_agent_and_signs_them_in() {
    let s = TestServer::start(&["--signup", "open"]).await;
    let response = s
        .post(
            "/auth/signup",
            json!({ "email": "Nia@Field.test", "password": PASSWORD, "full_name": "Nia" }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let session: Value = response.json().await.unwrap();
    assert_eq!(session["user"]["role"], "agent");
    let token = session["access_token"].as_str().unwrap();
    let me: Value = s.get_as(token, "/auth/me").await.json().await.unwrap();
    assert_eq!(
        (me["email"].as_str(), me["full_name"].as_str()),
        (Some("Nia@Field.test"), Some("Nia"))
    );

    // The same email in another case is the same person.
    let again = s
        .post(
            "/auth/signup",
            json!({ "email": "nia@field.test", "password": PASSWORD }),
        )
        .await;
    assert_error(again, StatusCode::CONFLICT, "email_taken").await;
    // Nobody signs themselves up as an admin.
    let admin = s
        .post(
            "/auth/signup",
            json!({ "email": "x@field.test", "password": PASSWORD, "role": "admin" }),
        )
        .await;
    assert_error(admin, StatusCode::FORBIDDEN, "role_not_allowed").await;
}

#[tokio::test]
async fn signup_is_closed_by_default_but_admins_create_accounts() {
    let s = TestServer::start(&[]).await;
    let response = s
        .post(
            "/auth/signup",
            json!({ "email": "eve@field.test", "password": PASSWORD }),
        )
        .await;
    assert_error(response, StatusCode::FORBIDDEN, "signup_closed").await;

    s.create_account("ada@field.test", UserRole::Admin).await;
    let admin = s.login("ada@field.test").await;
    let token = admin["access_token"].as_str().unwrap();
    let created = s
        .post_as(
            token,
            "/auth/signup",
            json!({ "email": "bo@field.test", "password": PASSWORD, "role": "admin" }),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let account: Value = created.json().await.unwrap();
    assert_eq!(account["role"], "admin");
    assert!(
        account.get("access_token").is_none(),
        "the admin is not signed in as the new account"
    );

    // An agent is not an admin.
    s.create_account("ag@field.test", UserRole::Agent).await;
    let agent = s.login("ag@field.test").await;
    let response = s
        .post_as(
            agent["access_token"].as_str().unwrap(),
            "/auth/signup",
            json!({ "email": "c@field.test", "password": PASSWORD }),
        )
        .await;
    assert_error(response, StatusCode::FORBIDDEN, "signup_closed").await;
}

#[tokio::test]
async fn bad_signups_get_a_clear_error_and_create_nothing() {
    let s = TestServer::start(&["--signup", "open"]).await;
    let response = s
        .post(
            "/auth/signup",
            json!({ "email": "not-an-email", "password": "short" }),
        )
        .await;
    let body = assert_error(response, StatusCode::BAD_REQUEST, "validation_failed").await;
    let fields: Vec<&str> = body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["email", "password"]);

    let unknown_field = s
        .post(
            "/auth/signup",
            json!({ "email": "a@b.io", "password": PASSWORD, "is_admin": true }),
        )
        .await;
    assert_error(unknown_field, StatusCode::BAD_REQUEST, "invalid_body").await;
    let wrong_type = s
        .post("/auth/signup", json!({ "email": 42, "password": PASSWORD }))
        .await;
    assert_error(wrong_type, StatusCode::BAD_REQUEST, "invalid_body").await;
    let not_json = s
        .http
        .post(s.url("/auth/signup"))
        .body("email=a@b.io")
        .send()
        .await
        .unwrap();
    assert_error(not_json, StatusCode::BAD_REQUEST, "unsupported_media_type").await;
    let hostile = s
        .post(
            "/auth/signup",
            json!({ "email": "x');DROP/**/TABLE/**/auth.users;--@b.io", "password": PASSWORD }),
        )
        .await;
    assert_eq!(
        hostile.status(),
        StatusCode::CREATED,
        "odd but valid: stored as text, never run"
    );

    let accounts: i64 = sqlx::query_scalar("SELECT count(*) FROM auth.users")
        .fetch_one(s.db.pool())
        .await
        .unwrap();
    assert_eq!(accounts, 1);
}

#[tokio::test]
async fn wrong_credentials_do_not_say_which_part_was_wrong() {
    let s = TestServer::start(&[]).await;
    s.create_account("ana@field.test", UserRole::Agent).await;
    let wrong_password = s
        .post(
            "/auth/login",
            json!({ "email": "ana@field.test", "password": "not the password" }),
        )
        .await;
    let a = assert_error(
        wrong_password,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    let unknown = s
        .post(
            "/auth/login",
            json!({ "email": "who@field.test", "password": PASSWORD }),
        )
        .await;
    let b = assert_error(unknown, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    assert_eq!(a, b);
    // Any case of the email signs in.
    let ok = s
        .post(
            "/auth/login",
            json!({ "email": "ANA@field.test", "password": PASSWORD }),
        )
        .await;
    assert_eq!(ok.status(), StatusCode::OK);
}

#[tokio::test]
async fn failures_of_one_account_from_one_address_make_its_next_try_wait() {
    let s = TestServer::start(&[]).await;
    s.create_account("ana@field.test", UserRole::Agent).await;
    s.create_account("ben@field.test", UserRole::Agent).await;
    let guess = || {
        s.post(
            "/auth/login",
            json!({ "email": "ana@field.test", "password": "guess guess guess" }),
        )
    };
    for _ in 0..sync_server::accounts::FREE_TRIES {
        assert_eq!(guess().await.status(), StatusCode::UNAUTHORIZED);
    }
    // Now even the right password waits a second.
    let blocked = s
        .post(
            "/auth/login",
            json!({ "email": "ana@field.test", "password": PASSWORD }),
        )
        .await;
    let retry_after: u64 = blocked.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(retry_after, 1);
    assert_error(blocked, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
    // Ben is not Ana.
    s.login("ben@field.test").await;
    // After the wait, one more try; a wrong one doubles the wait.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(guess().await.status(), StatusCode::UNAUTHORIZED);
    let blocked = guess().await;
    assert_eq!(blocked.headers()["retry-after"], "2");
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    s.login("ana@field.test").await;
}

#[tokio::test]
async fn many_failures_from_one_address_throttle_the_address() {
    let s = TestServer::start(&[]).await;
    s.create_account("ana@field.test", UserRole::Agent).await;
    for n in 0..sync_server::accounts::MAX_FAILURES_PER_ADDRESS {
        let r = s
            .post(
                "/auth/login",
                json!({ "email": format!("spray{n}@field.test"), "password": "guess guess guess" }),
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let blocked = s
        .post(
            "/auth/login",
            json!({ "email": "ana@field.test", "password": PASSWORD }),
        )
        .await;
    assert_error(blocked, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_ends_the_sign_in() {
    let s = TestServer::start(&[]).await;
    s.create_account("ana@field.test", UserRole::Agent).await;
    let first = s.login("ana@field.test").await;
    let (access1, refresh1) = (
        first["access_token"].as_str().unwrap(),
        first["refresh_token"].as_str().unwrap(),
    );

    let second: Value = s
        .post("/auth/refresh", json!({ "refresh_token": refresh1 }))
        .await
        .json()
        .await
        .unwrap();
    let (access2, refresh2) = (
        second["access_token"].as_str().unwrap(),
        second["refresh_token"].as_str().unwrap(),
    );
    assert_ne!(refresh1, refresh2);
    assert_eq!(s.get_as(access2, "/auth/me").await.status(), StatusCode::OK);
    // The device goes on with the second token.
    let third: Value = s
        .post("/auth/refresh", json!({ "refresh_token": refresh2 }))
        .await
        .json()
        .await
        .unwrap();
    let refresh3 = third["refresh_token"].as_str().unwrap();

    // Someone replays the first token: the whole sign-in ends.
    let replay = s
        .post("/auth/refresh", json!({ "refresh_token": refresh1 }))
        .await;
    assert_error(replay, StatusCode::UNAUTHORIZED, "refresh_token_reused").await;
    let next = s
        .post("/auth/refresh", json!({ "refresh_token": refresh3 }))
        .await;
    assert_error(next, StatusCode::UNAUTHORIZED, "refresh_token_reused").await;
    for token in [access1, access2] {
        assert_error(
            s.get_as(token, "/auth/me").await,
            StatusCode::UNAUTHORIZED,
            "session_ended",
        )
        .await;
    }
    // A fresh sign-in is unaffected.
    let fresh = s.login("ana@field.test").await;
    assert_eq!(
        s.get_as(fresh["access_token"].as_str().unwrap(), "/auth/me")
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_refresh_whose_answer_was_lost_may_be_asked_again_and_a_copy_is_still_caught() {
    let s = TestServer::start(&[]).await;
    s.create_account("ana@field.test", UserRole::Agent).await;
    let first = s.login("ana@field.test").await;
    let refresh1 = first["refresh_token"].as_str().unwrap();
    let refresh = |token: &str| s.post("/auth/refresh", json!({ "refresh_token": token }));

    // The answer to the first refresh never reaches the device (the
    // connection was cut): it asks again with the same token, and gets a
    // working sign-in; the token it never received stops working.
    let lost: Value = refresh(refresh1).await.json().await.unwrap();
    let lost = lost["refresh_token"].as_str().unwrap();
    let again = refresh(refresh1).await;
    assert_eq!(again.status(), StatusCode::OK);
    let again: Value = again.json().await.unwrap();
    let access = again["access_token"].as_str().unwrap();
    let refresh2 = again["refresh_token"].as_str().unwrap();
    assert_eq!(s.get_as(access, "/auth/me").await.status(), StatusCode::OK);
    let next: Value = refresh(refresh2).await.json().await.unwrap();
    let refresh3 = next["refresh_token"].as_str().unwrap();
    // Once the device used what it got, the first token is spent for good.
    assert_error(
        refresh(refresh1).await,
        StatusCode::UNAUTHORIZED,
        "refresh_token_reused",
    )
    .await;
    assert_error(
        refresh(refresh3).await,
        StatusCode::UNAUTHORIZED,
        "refresh_token_reused",
    )
    .await;
    assert_error(
        refresh(lost).await,
        StatusCode::UNAUTHORIZED,
        "refresh_token_reused",
    )
    .await;

    // A copy used within the minute, before the device's next refresh,
    // gets a token, but the device's next refresh (with the token the
    // copy's refresh revoked) ends the sign-in, the copy's with it.
    let other = s.login("ana@field.test").await;
    let device = other["refresh_token"].as_str().unwrap();
    let mine: Value = refresh(device).await.json().await.unwrap();
    let mine = mine["refresh_token"].as_str().unwrap();
    let copy: Value = refresh(device).await.json().await.unwrap();
    let copy_access = copy["access_token"].as_str().unwrap();
    assert_error(
        refresh(mine).await,
        StatusCode::UNAUTHORIZED,
        "refresh_token_reused",
    )
    .await;
    assert_error(
        s.get_as(copy_access, "/auth/me").await,
        StatusCode::UNAUTHORIZED,
        "session_ended",
    )
    .await;
}

#[tokio::test]
async fn logout_ends_this_sign_in_or_every_one() {
    let s = TestServer::start(&[]).await;
    s.create_account("ana@field.test", UserRole::Agent).await;
    let laptop = s.login("ana@field.test").await;
    let phone = s.login("ana@field.test").await;
    let laptop_token = laptop["access_token"].as_str().unwrap();
    let phone_token = phone["access_token"].as_str().unwrap();

    let out = s
        .http
        .post(s.url("/auth/logout"))
        .bearer_auth(laptop_token)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    assert_error(
        s.get_as(laptop_token, "/auth/me").await,
        StatusCode::UNAUTHORIZED,
        "session_ended",
    )
    .await;
    let refresh = s
        .post(
            "/auth/refresh",
            json!({ "refresh_token": laptop["refresh_token"] }),
        )
        .await;
    assert_error(refresh, StatusCode::UNAUTHORIZED, "session_ended").await;
    assert_eq!(
        s.get_as(phone_token, "/auth/me").await.status(),
        StatusCode::OK
    );

    // Everywhere: the other devices are told they were revoked (their
    // apps keep nothing readable), so a leaked access token alone cannot
    // do it (security review L6).
    let tablet = s.login("ana@field.test").await;
    let tablet_token = tablet["access_token"].as_str().unwrap();
    for body in [
        json!({ "everywhere": true }),
        json!({ "everywhere": true, "password": "not it at all" }),
    ] {
        assert_error(
            s.post_as(phone_token, "/auth/logout", body).await,
            StatusCode::FORBIDDEN,
            "wrong_password",
        )
        .await;
    }
    assert_eq!(
        s.get_as(tablet_token, "/auth/me").await.status(),
        StatusCode::OK
    );
    let out = s
        .post_as(
            phone_token,
            "/auth/logout",
            json!({ "everywhere": true, "password": PASSWORD }),
        )
        .await;
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    assert_error(
        s.get_as(phone_token, "/auth/me").await,
        StatusCode::UNAUTHORIZED,
        "session_ended",
    )
    .await;
    assert_error(
        s.get_as(tablet_token, "/auth/me").await,
        StatusCode::UNAUTHORIZED,
        "session_revoked",
    )
    .await;
}

#[tokio::test]
async fn forged_expired_and_missing_tokens_are_refused() {
    let s = TestServer::start(&[]).await;
    let id = s.create_account("ana@field.test", UserRole::Agent).await;
    let session = s.login("ana@field.test").await;
    let sid: Value = serde_json::from_slice(&base64_decode(
        session["access_token"]
            .as_str()
            .unwrap()
            .split('.')
            .nth(1)
            .unwrap(),
    ))
    .unwrap();
    let now = chrono::Utc::now().timestamp();
    let claims = |secret: &str, exp: i64| {
        let claims = json!({ "sub": id, "role": "authenticated", "sid": sid["sid"], "iat": now - 3600, "exp": exp,
                             "iss": "crm-sync-server", "aud": "crm" });
        jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    };
    let forged = claims("another-secret-that-is-long-enough-to-sign-with", now + 600);
    assert_error(
        s.get_as(&forged, "/auth/me").await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
    let expired = claims(support::server::JWT_SECRET, now - 600);
    assert_error(
        s.get_as(&expired, "/auth/me").await,
        StatusCode::UNAUTHORIZED,
        "token_expired",
    )
    .await;
    let still_valid = claims(support::server::JWT_SECRET, now + 600);
    assert_eq!(
        s.get_as(&still_valid, "/auth/me").await.status(),
        StatusCode::OK,
        "the test's own token is sound"
    );
    let missing = s.http.get(s.url("/auth/me")).send().await.unwrap();
    assert_error(missing, StatusCode::UNAUTHORIZED, "missing_token").await;
    let garbage = s
        .http
        .get(s.url("/auth/me"))
        .header("authorization", "Basic abc")
        .send()
        .await
        .unwrap();
    assert_error(garbage, StatusCode::UNAUTHORIZED, "invalid_token").await;
}

fn base64_decode(segment: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(segment)
        .unwrap()
}

#[tokio::test]
async fn health_openapi_unknown_routes_and_huge_bodies() {
    let s = TestServer::start(&["--max-body-bytes", "65536"]).await;
    let health: Value = s
        .http
        .get(s.url("/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["database"], true);
    assert_eq!(
        health["protocol_version"],
        crm_domain::protocol::PROTOCOL_VERSION
    );

    let api: Value = s
        .http
        .get(s.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/health",
        "/auth/signup",
        "/auth/login",
        "/auth/refresh",
        "/auth/logout",
        "/auth/me",
        "/sync/push",
        "/sync/pull",
        "/sync/events",
    ] {
        assert!(api["paths"].get(path).is_some(), "{path} is documented");
    }
    // The sync bodies are described by the protocol's own types, not as
    // opaque objects, so a client in another language can be written from
    // this document alone.
    let schemas = &api["components"]["schemas"];
    for name in [
        "PushRequest",
        "PushResponse",
        "Mutation",
        "MutationOutcome",
        "PullRequest",
        "PullResponse",
        "Change",
        "TableChecksum",
        "Colleague",
    ] {
        assert!(schemas.get(name).is_some(), "{name} has a schema");
    }
    let push_body = &api["paths"]["/sync/push"]["post"]["requestBody"]["content"]["application/json"]
        ["schema"]["$ref"];
    assert_eq!(push_body, "#/components/schemas/PushRequest");
    let tables: Vec<&str> = schemas["SyncTable"]["enum"]
        .as_array()
        .expect("SyncTable is an enum")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let expected: Vec<&str> = crm_domain::protocol::SyncTable::ALL
        .iter()
        .map(|t| t.name())
        .collect();
    assert_eq!(
        tables, expected,
        "the documented tables are the writable ones"
    );
    // Every code a program may branch on is listed, from crm-domain's enums.
    for (schema, codes) in [
        (
            "ErrorCode",
            crm_domain::codes::ErrorCode::ALL
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>(),
        ),
        (
            "RejectionCode",
            crm_domain::codes::RejectionCode::ALL
                .iter()
                .map(|c| c.as_str())
                .collect(),
        ),
    ] {
        let documented: Vec<&str> = schemas[schema]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{schema} is an enum: {}", schemas[schema]))
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for code in codes {
            assert!(documented.contains(&code), "{schema} lists {code}");
        }
    }

    assert_error(
        s.http.get(s.url("/nope")).send().await.unwrap(),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let huge = json!({ "email": "a@b.io", "password": "x".repeat(100_000) });
    assert_error(
        s.post("/auth/login", huge).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    )
    .await;
}

#[tokio::test]
async fn old_sign_in_attempts_are_pruned_and_recent_ones_kept() {
    let s = TestServer::start(&[]).await;
    for age in ["8 days", "1 hour"] {
        sqlx::query(
            "INSERT INTO auth.login_attempts (email, succeeded, attempted_at)
             VALUES ('someone@field.test', false, now() - $1::interval)",
        )
        .bind(age)
        .execute(s.db.pool())
        .await
        .unwrap();
    }
    // The server's own retention task prunes as it starts, and may win the
    // race with this call: what counts is what is left.
    let pruned = sync_server::accounts::store::prune_login_attempts(
        s.db.pool(),
        sync_server::sync::retention::LOGIN_ATTEMPTS_KEPT,
    )
    .await
    .unwrap();
    assert!(pruned <= 1);
    let left: Vec<bool> = sqlx::query_scalar(
        "SELECT attempted_at > now() - interval '2 hours' FROM auth.login_attempts",
    )
    .fetch_all(s.db.pool())
    .await
    .unwrap();
    assert_eq!(
        left,
        [true],
        "the old one is gone, the recent one stays for throttling"
    );
}

#[tokio::test]
async fn a_client_that_sends_its_headers_too_slowly_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = TestServer::start(&["--header-read-timeout", "1"]).await;
    let mut slow = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    // Half a request, and then nothing (a slow-loris holds connections so).
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    // The server ends the connection (with a 408, or simply closing it);
    // the bound only keeps a broken server from hanging the test.
    tokio::time::timeout(
        std::time::Duration::from_secs(20),
        slow.read_to_end(&mut answer),
    )
    .await
    .expect("the server closed the connection")
    .unwrap_or_default();
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
    // A prompt client is served as ever.
    let health = s.http.get(s.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}
