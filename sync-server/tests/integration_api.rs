//! The integration API over loopback, against a real server and
//! PostgreSQL: tokens (made, shown once, rotated, revoked, expired), the
//! permission matrix, the REST resources with their rules (row-level
//! security, the workflow, internal comments), audit rows naming the
//! token, `If-Match`, `Idempotency-Key`, lists, and rate limits across two
//! server processes.
#![allow(clippy::unwrap_used)]

mod support;

use chrono::{Duration, Utc};
use crm_domain::UserRole;
use crm_domain::protocol::{Mutation, MutationOp, MutationOutcome, SyncTable};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use support::client::SimClient;
use support::server::{TestServer, assert_error};
use uuid::Uuid;

const ALL: [&str; 11] = [
    "customers:read",
    "customers:write",
    "interactions:read",
    "interactions:write",
    "tickets:read",
    "tickets:write",
    "comments:read",
    "comments:write",
    "comments:internal",
    "attachments:read",
    "attachments:write",
];

/// A person signed in, who manages tokens.
struct Person {
    id: Uuid,
    jwt: String,
}

async fn person(s: &TestServer, email: &str, role: UserRole) -> Person {
    let id = s.create_account(email, role).await;
    let session = s.login(email).await;
    Person {
        id,
        jwt: session["access_token"].as_str().unwrap().to_owned(),
    }
}

/// Makes a token as `who`; answers (token JSON, secret).
async fn make_token(s: &TestServer, who: &Person, permissions: &[&str]) -> (Value, String) {
    let response = s
        .post_as(
            &who.jwt,
            "/integration-tokens",
            json!({ "name": "ERP bridge", "permissions": permissions }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    (
        body["token"].clone(),
        body["secret"].as_str().unwrap().to_owned(),
    )
}

fn call(s: &TestServer, secret: &str, method: Method, path: &str) -> RequestBuilder {
    s.http
        .request(method, s.url(&format!("/api/v1{path}")))
        .bearer_auth(secret)
}

async fn json_of(response: Response) -> Value {
    response.json().await.unwrap()
}

async fn create(s: &TestServer, secret: &str, path: &str, body: Value) -> Response {
    call(s, secret, Method::POST, path)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_token_s_secret_is_shown_once_only_its_hash_is_kept_and_its_hint_is_listed() {
    let s = TestServer::start(&[]).await;
    let ben = person(&s, "ben@example.com", UserRole::Agent).await;
    let (token, secret) = make_token(&s, &ben, &["customers:read"]).await;
    assert!(
        secret.starts_with("crm_pat_") && secret.len() == 57,
        "{secret}"
    );
    assert!(secret.starts_with(token["hint"].as_str().unwrap()));
    let expires: chrono::DateTime<Utc> = token["expires_at"].as_str().unwrap().parse().unwrap();
    let days = (expires - Utc::now()).num_hours() as f64 / 24.0;
    assert!((89.9..=90.1).contains(&days), "90 days by default: {days}");

    let stored: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM integration_tokens")
        .fetch_all(s.pool())
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], secret);
    assert!(!stored[0].contains(&secret[8..20]));

    let listed = json_of(s.get_as(&ben.jwt, "/integration-tokens").await).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(!listed.to_string().contains(&secret));
    assert_eq!(listed[0]["permissions"], json!(["customers:read"]));

    // A year at most; a permission outside the vocabulary is refused.
    let too_long = s
        .post_as(
            &ben.jwt,
            "/integration-tokens",
            json!({ "name": "x", "permissions": ["customers:read"], "expires_in_days": 400 }),
        )
        .await;
    assert_error(too_long, StatusCode::BAD_REQUEST, "validation_failed").await;
    let unknown = s
        .post_as(
            &ben.jwt,
            "/integration-tokens",
            json!({ "name": "x", "permissions": ["customers:delete"] }),
        )
        .await;
    assert_error(unknown, StatusCode::BAD_REQUEST, "invalid_body").await;
    // A token never opens the token endpoints, nor the app's sync.
    let with_token = s.get_as(&secret, "/integration-tokens").await;
    assert_eq!(with_token.status(), StatusCode::UNAUTHORIZED);
    let sync = s.get_as(&secret, "/auth/me").await;
    assert_eq!(sync.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_token_acts_as_its_owner_and_every_audit_row_names_it() {
    let s = TestServer::start(&[]).await;
    let ben = person(&s, "ben@example.com", UserRole::Agent).await;
    let (token, secret) = make_token(&s, &ben, &ALL).await;
    let token_id: Uuid = token["id"].as_str().unwrap().parse().unwrap();

    let made = create(
        &s,
        &secret,
        "/customers",
        json!({ "name": "Stark Hardware", "email": "ops@stark.test" }),
    )
    .await;
    assert_eq!(made.status(), StatusCode::CREATED);
    let location = made.headers()["location"].to_str().unwrap().to_owned();
    let customer = json_of(made).await;
    let id: Uuid = customer["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(location, format!("/api/v1/customers/{id}"));
    assert_eq!(
        customer["owner"],
        ben.id.to_string(),
        "owned by the token's owner"
    );

    let ticket = json_of(
        create(
            &s,
            &secret,
            "/tickets",
            json!({ "title": "Meter broken", "customer_id": id, "priority": "high" }),
        )
        .await,
    )
    .await;
    assert_eq!(ticket["status"], "open");
    assert_eq!(ticket["created_by"], ben.id.to_string());

    let audit: Vec<(String, Option<Uuid>, Option<Uuid>)> = sqlx::query_as(
        "SELECT table_name, changed_by, integration_token_id FROM audit_history
         WHERE table_name IN ('customers', 'tickets') ORDER BY created_at",
    )
    .fetch_all(s.pool())
    .await
    .unwrap();
    assert!(audit.len() >= 2, "{audit:?}");
    for (table, by, via) in &audit {
        assert_eq!(*by, Some(ben.id), "{table}");
        assert_eq!(*via, Some(token_id), "{table}");
    }
    // And the token reads back what it did, and only that.
    let history = json_of(
        call(&s, &secret, Method::GET, "/audit")
            .send()
            .await
            .unwrap(),
    )
    .await;
    let entries = history["data"].as_array().unwrap();
    assert_eq!(entries.len(), audit.len());
    assert!(
        entries
            .iter()
            .all(|e| e["integration_token_id"] == token_id.to_string())
    );
}

/// Each permission opens exactly its resource and verb; an agent's token
/// and an admin's alike.
#[tokio::test]
async fn each_permission_opens_its_own_resource_and_verb_and_nothing_else() {
    let s = TestServer::start(&[]).await;
    let admin = person(&s, "ada@example.com", UserRole::Admin).await;
    let ben = person(&s, "ben@example.com", UserRole::Agent).await;
    for owner in [&ben, &admin] {
        let (_, everything) = make_token(&s, owner, &ALL).await;
        let customer =
            json_of(create(&s, &everything, "/customers", json!({ "name": "Acme" })).await).await;
        let ticket = json_of(
            create(
                &s,
                &everything,
                "/tickets",
                json!({ "title": "T", "customer_id": customer["id"] }),
            )
            .await,
        )
        .await;
        let cases: [(&str, &str, Value, &str); 4] = [
            (
                "/customers",
                "customers",
                json!({ "name": "Beta" }),
                "customers",
            ),
            (
                "/interactions",
                "interactions",
                json!({ "customer_id": customer["id"], "type": "call", "channel": "phone" }),
                "interactions",
            ),
            (
                "/tickets",
                "tickets",
                json!({ "title": "U", "customer_id": customer["id"] }),
                "tickets",
            ),
            (
                "/comments",
                "comments",
                json!({ "ticket_id": ticket["id"], "content": "On my way" }),
                "comments",
            ),
        ];
        for (path, resource, body, _) in &cases {
            for permission in ALL {
                let (_, secret) = make_token(&s, owner, &[permission]).await;
                let list = call(&s, &secret, Method::GET, path).send().await.unwrap();
                let made = create(&s, &secret, path, body.clone()).await;
                if permission == format!("{resource}:read") {
                    assert_eq!(list.status(), StatusCode::OK, "{permission} lists {path}");
                } else {
                    assert_error(list, StatusCode::FORBIDDEN, "permission_missing").await;
                }
                if permission == format!("{resource}:write") {
                    assert_eq!(
                        made.status(),
                        StatusCode::CREATED,
                        "{permission} creates on {path}"
                    );
                } else {
                    assert_error(made, StatusCode::FORBIDDEN, "permission_missing").await;
                }
            }
        }
        // Reference data needs no permission; it is read-only.
        let (_, one) = make_token(&s, owner, &["tickets:read"]).await;
        for path in ["/products", "/stages"] {
            let read = call(&s, &one, Method::GET, path).send().await.unwrap();
            assert_eq!(read.status(), StatusCode::OK, "{path}");
        }
        let stage = create(&s, &everything, "/products", json!({ "name": "P" })).await;
        assert_error(stage, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
        // Deleting a customer is an admin's right: the agent's token with
        // every permission still cannot.
        let delete = call(
            &s,
            &everything,
            Method::DELETE,
            &format!("/customers/{}", customer["id"].as_str().unwrap()),
        )
        .send()
        .await
        .unwrap();
        if owner.id == admin.id {
            // It has a ticket: archived, not deleted (a rule of the data).
            assert!(delete.status().is_client_error(), "{}", delete.status());
            let lone =
                json_of(create(&s, &everything, "/customers", json!({ "name": "Lone" })).await)
                    .await;
            let gone = call(
                &s,
                &everything,
                Method::DELETE,
                &format!("/customers/{}", lone["id"].as_str().unwrap()),
            )
            .send()
            .await
            .unwrap();
            assert_eq!(gone.status(), StatusCode::NO_CONTENT);
        } else {
            assert_eq!(delete.status(), StatusCode::NOT_FOUND);
        }
    }
    // An agent's token sees the agent's rows only, never the admin's.
    let (_, bens) = make_token(&s, &ben, &["customers:read"]).await;
    let listed = json_of(
        call(&s, &bens, Method::GET, "/customers?limit=500")
            .send()
            .await
            .unwrap(),
    )
    .await;
    for c in listed["data"].as_array().unwrap() {
        assert_eq!(c["owner"], ben.id.to_string());
    }
}

#[tokio::test]
async fn revoked_expired_and_rotated_tokens_are_refused_with_stable_codes() {
    let s = TestServer::start(&[]).await;
    let ben = person(&s, "ben@example.com", UserRole::Agent).await;
    let admin = person(&s, "ada@example.com", UserRole::Admin).await;
    let works = |secret: String| {
        let s = &s;
        async move {
            call(s, &secret, Method::GET, "/customers")
                .send()
                .await
                .unwrap()
        }
    };

    // Rotation with a grace time: both secrets work until it ends.
    let (token, old) = make_token(&s, &ben, &["customers:read"]).await;
    let id = token["id"].as_str().unwrap().to_owned();
    let rotated = s
        .post_as(
            &ben.jwt,
            &format!("/integration-tokens/{id}/rotate"),
            json!({ "grace_minutes": 5 }),
        )
        .await;
    assert_eq!(rotated.status(), StatusCode::OK);
    let new = json_of(rotated).await["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(works(old.clone()).await.status(), StatusCode::OK);
    assert_eq!(works(new.clone()).await.status(), StatusCode::OK);
    // Without grace, the old secret stops at once.
    let again = json_of(
        s.post_as(
            &ben.jwt,
            &format!("/integration-tokens/{id}/rotate"),
            json!({ "grace_minutes": 0 }),
        )
        .await,
    )
    .await;
    let newest = again["secret"].as_str().unwrap().to_owned();
    assert_error(
        works(new.clone()).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
    assert_error(works(old).await, StatusCode::UNAUTHORIZED, "invalid_token").await;
    assert_eq!(works(newest.clone()).await.status(), StatusCode::OK);

    // Revoked by an admin: refused at once, and nothing brings it back.
    let revoked = s
        .post_as(
            &admin.jwt,
            &format!("/integration-tokens/{id}/revoke"),
            json!({}),
        )
        .await;
    assert_eq!(revoked.status(), StatusCode::OK);
    assert_error(
        works(newest).await,
        StatusCode::UNAUTHORIZED,
        "token_revoked",
    )
    .await;
    let renamed = s
        .http
        .patch(s.url(&format!("/integration-tokens/{id}")))
        .bearer_auth(&ben.jwt)
        .json(&json!({ "name": "back" }))
        .send()
        .await
        .unwrap();
    assert_error(renamed, StatusCode::CONFLICT, "not_allowed").await;
    let back = s
        .post_as(
            &ben.jwt,
            &format!("/integration-tokens/{id}/rotate"),
            json!({}),
        )
        .await;
    assert_error(back, StatusCode::CONFLICT, "not_allowed").await;
    let sql = sqlx::query("UPDATE integration_tokens SET is_active = true WHERE id = $1::uuid")
        .bind(&id)
        .execute(s.pool())
        .await;
    assert!(sql.is_err(), "not even in SQL");
    // An admin may revoke, never rename or rotate someone's token.
    let (other, _) = make_token(&s, &ben, &["customers:read"]).await;
    let by_admin = s
        .http
        .patch(s.url(&format!(
            "/integration-tokens/{}",
            other["id"].as_str().unwrap()
        )))
        .bearer_auth(&admin.jwt)
        .json(&json!({ "name": "mine now" }))
        .send()
        .await
        .unwrap();
    assert_eq!(by_admin.status(), StatusCode::NOT_FOUND);
    let all = json_of(s.get_as(&admin.jwt, "/integration-tokens?all=true").await).await;
    assert_eq!(
        all.as_array().unwrap().len(),
        2,
        "an admin lists everyone's"
    );
    let bens_view = json_of(s.get_as(&ben.jwt, "/integration-tokens?all=true").await).await;
    assert_eq!(
        bens_view.as_array().unwrap().len(),
        2,
        "an agent only their own"
    );

    // Expired: refused, and its expiry cannot be moved.
    let (expiring, secret) = make_token(&s, &ben, &["customers:read"]).await;
    let mut tx = s.pool().begin().await.unwrap();
    sqlx::query("SET LOCAL session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("UPDATE integration_tokens SET expires_at = now() - interval '1 minute' WHERE id = $1::uuid")
        .bind(expiring["id"].as_str().unwrap())
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_error(
        works(secret).await,
        StatusCode::UNAUTHORIZED,
        "token_expired",
    )
    .await;
    let revive = s
        .post_as(
            &ben.jwt,
            &format!(
                "/integration-tokens/{}/rotate",
                expiring["id"].as_str().unwrap()
            ),
            json!({ "expires_in_days": 30 }),
        )
        .await;
    assert_error(revive, StatusCode::CONFLICT, "not_allowed").await;

    // Not a token at all, or none.
    assert_error(
        works("crm_pat_nope".into()).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
    let none = s.http.get(s.url("/api/v1/customers")).send().await.unwrap();
    assert_error(none, StatusCode::UNAUTHORIZED, "missing_token").await;
}

#[tokio::test]
async fn a_demoted_owner_s_token_loses_the_admin_s_rights_at_once() {
    let s = TestServer::start(&[]).await;
    let ada = person(&s, "ada@example.com", UserRole::Admin).await;
    let _keeper = person(&s, "root@example.com", UserRole::Admin).await;
    let ben = person(&s, "ben@example.com", UserRole::Agent).await;
    let (_, secret) = make_token(&s, &ada, &["customers:read", "customers:write"]).await;
    let (_, bens) = make_token(&s, &ben, &["customers:write"]).await;
    let first = json_of(create(&s, &bens, "/customers", json!({ "name": "Ben's" })).await).await;
    let second =
        json_of(create(&s, &bens, "/customers", json!({ "name": "Ben's too" })).await).await;
    let url = |c: &Value| format!("/customers/{}", c["id"].as_str().unwrap());
    let deleted = call(&s, &secret, Method::DELETE, &url(&first))
        .send()
        .await
        .unwrap();
    assert_eq!(
        deleted.status(),
        StatusCode::NO_CONTENT,
        "an admin's token deletes"
    );

    sync_server::accounts::set_role(s.pool(), "ada@example.com", UserRole::Agent)
        .await
        .unwrap();
    let seen = call(&s, &secret, Method::GET, &url(&second))
        .send()
        .await
        .unwrap();
    assert_eq!(
        seen.status(),
        StatusCode::NOT_FOUND,
        "no longer sees Ben's customers"
    );
    let refused = call(&s, &secret, Method::DELETE, &url(&second))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    let still = call(&s, &bens, Method::GET, &url(&second))
        .send()
        .await
        .unwrap();
    assert_eq!(
        still.status(),
        StatusCode::FORBIDDEN,
        "Ben's token lacks read"
    );
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM customers WHERE id = $1::uuid")
        .bind(second["id"].as_str().unwrap())
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn internal_comments_need_their_own_permission_to_be_seen_or_written() {
    let s = TestServer::start(&[]).await;
    let ben = person(&s, "ben@example.com", UserRole::Agent).await;
    let (_, all) = make_token(&s, &ben, &ALL).await;
    let (_, public) = make_token(
        &s,
        &ben,
        &["comments:read", "comments:write", "tickets:read"],
    )
    .await;
    let customer = json_of(create(&s, &all, "/customers", json!({ "name": "Acme" })).await).await;
    let ticket = json_of(
        create(
            &s,
            &all,
            "/tickets",
            json!({ "title": "T", "customer_id": customer["id"] }),
        )
        .await,
    )
    .await;
    let internal = create(
        &s,
        &all,
        "/comments",
        json!({ "ticket_id": ticket["id"], "content": "Customer is difficult", "is_internal": true }),
    )
    .await;
    assert_eq!(internal.status(), StatusCode::CREATED);
    let internal = json_of(internal).await;
    create(
        &s,
        &all,
        "/comments",
        json!({ "ticket_id": ticket["id"], "content": "Fixed" }),
    )
    .await;

    let path = format!("/comments?ticket_id={}", ticket["id"].as_str().unwrap());
    let seen = json_of(call(&s, &public, Method::GET, &path).send().await.unwrap()).await;
    let contents: Vec<&str> = seen["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["content"].as_str().unwrap())
        .collect();
    assert_eq!(contents, ["Fixed"]);
    let direct = call(
        &s,
        &public,
        Method::GET,
        &format!("/comments/{}", internal["id"].as_str().unwrap()),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(direct.status(), StatusCode::NOT_FOUND);
    let write = create(
        &s,
        &public,
        "/comments",
        json!({ "ticket_id": ticket["id"], "content": "psst", "is_internal": true }),
    )
    .await;
    assert_error(write, StatusCode::FORBIDDEN, "forbidden").await;
    let everything = json_of(call(&s, &all, Method::GET, &path).send().await.unwrap()).await;
    assert_eq!(everything["data"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_retried_write_with_its_idempotency_key_answers_the_same_and_writes_once() {
    let s = TestServer::start(&[]).await;
    let ben = person(&s, "ben@example.com", UserRole::Agent).await;
    let (token, secret) = make_token(&s, &ben, &["customers:write", "customers:read"]).await;
    let send = |key: &str, body: Value| {
        call(&s, &secret, Method::POST, "/customers")
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };
    let first = send("order-17", json!({ "name": "Wayne" })).await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first_location = first.headers()["location"].clone();
    let first = json_of(first).await;
    let again = send("order-17", json!({ "name": "Wayne" })).await.unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.headers()["location"], first_location);
    assert_eq!(json_of(again).await, first);
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM customers WHERE name = 'Wayne'")
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert_eq!(n, 1, "written once");

    let other = send("order-17", json!({ "name": "Not Wayne" }))
        .await
        .unwrap();
    assert_error(
        other,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    )
    .await;

    // A refusal is an answer too, kept for the retry.
    let bad = send("order-18", json!({ "name": "" })).await.unwrap();
    assert_error(bad, StatusCode::BAD_REQUEST, "validation_failed").await;
    let bad_again = send("order-18", json!({ "name": "" })).await.unwrap();
    assert_eq!(bad_again.headers()["idempotent-replayed"], "true");

    // While the first request with a key runs (here: its lock held), a
    // retry is told to wait.
    let mut holder = s.pool().acquire().await.unwrap();
    let key = format!("idempotency:{}:order-19", token["id"].as_str().unwrap());
    sqlx::query("SELECT pg_advisory_lock(hashtextextended($1, 7))")
        .bind(&key)
        .execute(&mut *holder)
        .await
        .unwrap();
    let busy = send("order-19", json!({ "name": "Kent" })).await.unwrap();
    assert_error(busy, StatusCode::CONFLICT, "idempotency_key_in_use").await;
    sqlx::query("SELECT pg_advisory_unlock(hashtextextended($1, 7))")
        .bind(&key)
        .execute(&mut *holder)
        .await
        .unwrap();
    let done = send("order-19", json!({ "name": "Kent" })).await.unwrap();
    assert_eq!(done.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn creates_arriving_together_are_written_together_each_with_its_own_answer() {
    // A budget for the burst: this is about grouping, not limits.
    let s = TestServer::start(&["--api-burst", "1000", "--api-requests-per-minute", "60000"]).await;
    let ben = person(&s, "ben@example.com", UserRole::Agent).await;
    let (_, secret) = make_token(&s, &ben, &["customers:write", "customers:read"]).await;
    // 48 creates at once: one refused (7), a key sent twice (20 and 21,
    // the same request), one without a key (30).
    let request = |i: usize| {
        let (name, key) = match i {
            7 => (String::new(), "together-7".to_owned()),
            21 => ("Together 20".to_owned(), "together-20".to_owned()),
            _ => (format!("Together {i}"), format!("together-{i}")),
        };
        let mut request =
            call(&s, &secret, Method::POST, "/customers").json(&json!({ "name": name }));
        if i != 30 {
            request = request.header("Idempotency-Key", key);
        }
        request
    };
    let sent = (0..48).map(|i| {
        let request = request(i);
        async move { (i, request.send().await.unwrap()) }
    });
    let answers = futures_util::future::join_all(sent).await;
    let mut twins = Vec::new();
    for (i, answer) in answers {
        match i {
            7 => {
                assert_error(answer, StatusCode::BAD_REQUEST, "validation_failed").await;
            }
            20 | 21 => twins.push(answer),
            _ => {
                assert_eq!(answer.status(), StatusCode::CREATED, "create {i}");
                let location = answer.headers()["location"].to_str().unwrap().to_owned();
                let body = json_of(answer).await;
                // Each answer is its own request's, not a neighbour's.
                assert_eq!(body["name"], format!("Together {i}"), "create {i}");
                assert_eq!(
                    location,
                    format!("/api/v1/customers/{}", body["id"].as_str().unwrap())
                );
            }
        }
    }
    // Of the twins, whichever ran first wrote; the other ran in the same
    // group (in use) or after it (the first's answer again): never a
    // second row.
    twins.sort_by_key(|t| (t.headers().contains_key("idempotent-replayed"), t.status()));
    let (first, second) = (twins.remove(0), twins.remove(0));
    assert_eq!(first.status(), StatusCode::CREATED);
    assert!(!first.headers().contains_key("idempotent-replayed"));
    if second.status() == StatusCode::CONFLICT {
        assert_error(second, StatusCode::CONFLICT, "idempotency_key_in_use").await;
    } else {
        assert_eq!(second.status(), StatusCode::CREATED);
        assert_eq!(second.headers()["idempotent-replayed"], "true");
        assert_eq!(json_of(second).await["name"], "Together 20");
    }
    let (rows, transactions): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT xmin::text) FROM customers WHERE name LIKE 'Together %'",
    )
    .fetch_one(s.pool())
    .await
    .unwrap();
    assert_eq!(rows, 46, "48 less the refused one and the twin");
    assert!(
        transactions < rows,
        "creates that arrived together were written together: {rows} rows in {transactions} transactions"
    );
    // The refusal was stored under its key like any answer.
    let again = request(7).send().await.unwrap();
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_error(again, StatusCode::BAD_REQUEST, "validation_failed").await;
    // Every row has its audit row, naming the token.
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_history a JOIN customers c ON c.id = a.record_id
          WHERE c.name LIKE 'Together %' AND a.action = 'INSERT'
            AND a.integration_token_id IS NOT NULL",
    )
    .fetch_one(s.pool())
    .await
    .unwrap();
    assert_eq!(audited, 46);
}

#[tokio::test]
async fn the_data_service_takes_a_group_whose_sequence_numbers_have_gaps() {
    // The API's sequence numbers come from one sequence that every token's
    // writes draw on at once: a group's only increase, with gaps.
    let s = TestServer::start(&[]).await;
    let ben = person(&s, "ben@example.com", UserRole::Agent).await;
    let (token, _) = make_token(&s, &ben, &["customers:write"]).await;
    let token_id: Uuid = token["id"].as_str().unwrap().parse().unwrap();
    let principal = sync_server::data::Principal::Integration {
        owner: ben.id,
        token: token_id,
    };
    let mutations: Vec<Mutation> = [(10, "Gap A"), (12, ""), (15, "Gap C"), (31, "Gap D")]
        .into_iter()
        .map(|(seq, name)| Mutation {
            seq,
            table: SyncTable::Customers,
            row_id: Uuid::now_v7(),
            op: MutationOp::Insert {
                values: [("name".to_owned(), json!(name))].into_iter().collect(),
            },
            edited_at: Utc::now(),
        })
        .collect();
    let mut tx = s.pool().begin().await.unwrap();
    let outcomes = sync_server::data::write::apply(&mut tx, &principal, token_id, &mutations)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(outcomes[0], MutationOutcome::Applied);
    assert!(
        matches!(outcomes[1], MutationOutcome::Rejected { .. }),
        "{:?}",
        outcomes[1]
    );
    assert_eq!(outcomes[2], MutationOutcome::Applied);
    assert_eq!(outcomes[3], MutationOutcome::Applied);
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM customers WHERE name LIKE 'Gap %'")
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert_eq!(n, 3);
}

#[tokio::test]
async fn if_match_makes_an_update_conditional_on_the_version_read() {
    let s = TestServer::start(&[]).await;
    let ben = person(&s, "ben@example.com", UserRole::Agent).await;
    let (_, secret) = make_token(
        &s,
        &ben,
        &["tickets:read", "tickets:write", "customers:write"],
    )
    .await;
    let customer =
        json_of(create(&s, &secret, "/customers", json!({ "name": "Acme" })).await).await;
    let made = create(
        &s,
        &secret,
        "/tickets",
        json!({ "title": "T", "customer_id": customer["id"] }),
    )
    .await;
    let etag = made.headers()["etag"].to_str().unwrap().to_owned();
    let path = format!("/tickets/{}", json_of(made).await["id"].as_str().unwrap());

    let read = call(&s, &secret, Method::GET, &path).send().await.unwrap();
    assert_eq!(read.headers()["etag"], etag.as_str());
    let unchanged = call(&s, &secret, Method::GET, &path)
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(unchanged.status(), StatusCode::NOT_MODIFIED);

    let moved = call(&s, &secret, Method::PATCH, &path)
        .header("If-Match", &etag)
        .json(&json!({ "status": "in_progress" }))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), StatusCode::OK);
    let fresh = moved.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(fresh, etag);
    assert_eq!(json_of(moved).await["status"], "in_progress");

    let stale = call(&s, &secret, Method::PATCH, &path)
        .header("If-Match", &etag)
        .json(&json!({ "priority": "urgent" }))
        .send()
        .await
        .unwrap();
    assert_error(
        stale,
        StatusCode::PRECONDITION_FAILED,
        "precondition_failed",
    )
    .await;
    // The workflow still decides: open → closed directly is not a move.
    let skip = call(&s, &secret, Method::PATCH, &path)
        .json(&json!({ "status": "reopened" }))
        .send()
        .await
        .unwrap();
    assert_error(skip, StatusCode::CONFLICT, "not_allowed").await;
    let unwritable = call(&s, &secret, Method::PATCH, &path)
        .json(&json!({ "created_by": Uuid::nil() }))
        .send()
        .await
        .unwrap();
    assert_error(unwritable, StatusCode::BAD_REQUEST, "column_not_writable").await;
}

/// An integration's edit and an agent's offline edit of other fields both
/// survive; of the same field, the later wins and the other is a
/// recorded conflict naming the token.
#[tokio::test]
async fn an_integration_edit_merges_with_an_agent_s_offline_edit_field_by_field() {
    let s = TestServer::start(&[]).await;
    s.create_account("ben@example.com", UserRole::Agent).await;
    let session = s.login("ben@example.com").await;
    let ben = Person {
        id: session["user"]["id"].as_str().unwrap().parse().unwrap(),
        jwt: session["access_token"].as_str().unwrap().to_owned(),
    };
    let (token, secret) = make_token(&s, &ben, &["customers:read", "customers:write"]).await;
    let app = SimClient::sign_in(&s, "ben@example.com").await;
    let id = Uuid::now_v7();
    let made = app
        .push(&[app.insert(
            SyncTable::Customers,
            id,
            json!({ "name": "Acme", "phone": "+1 555 0101" }),
        )])
        .await;
    assert_eq!(made.results[0].outcome, MutationOutcome::Applied);
    let offline_at = Utc::now() - Duration::minutes(10);

    // The ERP changes the email and the phone now...
    let patched = call(&s, &secret, Method::PATCH, &format!("/customers/{id}"))
        .json(&json!({ "email": "erp@acme.test", "phone": "+1 555 0102" }))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), StatusCode::OK);
    // ...the agent, offline ten minutes ago, changed the name and the phone.
    let pushed = app
        .push(&[app.update_at(
            SyncTable::Customers,
            id,
            &[
                ("name", json!("Acme"), json!("Acme Corp")),
                ("phone", json!("+1 555 0101"), json!("+1 555 0103")),
            ],
            offline_at,
        )])
        .await;
    let MutationOutcome::Merged { conflicts } = &pushed.results[0].outcome else {
        panic!("{:?}", pushed.results[0]);
    };
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].field, "phone");
    assert!(conflicts[0].lost_is_yours);
    let row = json_of(
        call(&s, &secret, Method::GET, &format!("/customers/{id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (
            row["name"].as_str(),
            row["email"].as_str(),
            row["phone"].as_str()
        ),
        (
            Some("Acme Corp"),
            Some("erp@acme.test"),
            Some("+1 555 0102")
        )
    );
    let named: (Option<Uuid>,) = sqlx::query_as(
        "SELECT a.integration_token_id FROM sync.field_clock c
         JOIN audit_history a ON a.client_id = c.client_id AND a.client_seq = c.client_seq
         WHERE c.row_id = $1 AND c.field = 'phone'",
    )
    .bind(id)
    .fetch_one(s.pool())
    .await
    .unwrap();
    assert_eq!(
        named.0.map(|u| u.to_string()),
        token["id"].as_str().map(str::to_owned),
        "the kept value is the token's"
    );
}

#[tokio::test]
async fn lists_filter_sort_count_and_page_without_repeating_or_skipping() {
    let s = TestServer::start(&[]).await;
    let ben = person(&s, "ben@example.com", UserRole::Agent).await;
    let (_, secret) = make_token(&s, &ben, &["customers:read", "customers:write"]).await;
    for i in 0..7 {
        let stage = if i % 2 == 0 { "lead" } else { "qualified" };
        let c = create(
            &s,
            &secret,
            "/customers",
            json!({ "name": format!("C{i}"), "acquisition_stage": stage }),
        )
        .await;
        assert_eq!(c.status(), StatusCode::CREATED);
    }
    let get = |path: String| {
        let s = &s;
        let secret = secret.clone();
        async move { call(s, &secret, Method::GET, &path).send().await.unwrap() }
    };
    let leads = json_of(get("/customers?stage=lead&total=true&sort=name".into()).await).await;
    let names: Vec<&str> = leads["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["C0", "C2", "C4", "C6"]);
    assert_eq!(leads["total"], 4);
    assert!(leads["next_cursor"].is_null());

    // Pages of two, with rows added between pages: each row already there
    // is read exactly once.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut added = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/customers?limit=2&sort=-created_at&cursor={c}"),
            None => "/customers?limit=2&sort=-created_at".into(),
        };
        let page = json_of(get(path).await).await;
        for c in page["data"].as_array().unwrap() {
            seen.push(c["name"].as_str().unwrap().to_owned());
        }
        if added < 3 {
            create(
                &s,
                &secret,
                "/customers",
                json!({ "name": format!("New{added}") }),
            )
            .await;
            added += 1;
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let mut originals: Vec<&String> = seen.iter().filter(|n| n.starts_with('C')).collect();
    assert_eq!(originals.len(), 7, "{seen:?}");
    originals.dedup();
    assert_eq!(originals.len(), 7, "no repeats: {seen:?}");
    assert!(
        seen.iter().all(|n| !n.starts_with("New")),
        "newer rows sort before the cursor: {seen:?}"
    );

    let bad = get("/customers?stage=nonsense".into()).await;
    assert_error(bad, StatusCode::BAD_REQUEST, "invalid_query").await;
    let typo = get("/customers?stgae=lead".into()).await;
    assert_error(typo, StatusCode::BAD_REQUEST, "invalid_query").await;
    let since = (Utc::now() + Duration::hours(1)).to_rfc3339();
    let none = json_of(get(format!("/customers?updated_since={}", urlencode(&since))).await).await;
    assert_eq!(none["data"].as_array().unwrap().len(), 0);
}

fn urlencode(text: &str) -> String {
    text.replace('+', "%2B").replace(':', "%3A")
}

#[tokio::test]
async fn usage_is_counted_in_batches_and_shown_to_the_owner() {
    let s = TestServer::start(&[]).await;
    let ben = person(&s, "ben@example.com", UserRole::Agent).await;
    let (_, secret) = make_token(&s, &ben, &["customers:read"]).await;
    for _ in 0..3 {
        call(&s, &secret, Method::GET, "/customers")
            .send()
            .await
            .unwrap();
    }
    s.state.api.usage.write(&s.state.pool).await.unwrap();
    let listed = json_of(s.get_as(&ben.jwt, "/integration-tokens").await).await;
    assert_eq!(listed[0]["use_count"], 3);
    assert!(listed[0]["last_used_at"].is_string());
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_history WHERE table_name = 'integration_tokens' AND action = 'UPDATE'",
    )
    .fetch_one(s.pool())
    .await
    .unwrap();
    assert_eq!(audited, 0, "counting use is not a change anyone made");
}

/// The limit holds across two server processes on one database, answers
/// 429 with `Retry-After`, and says where a token stands on every answer.
#[tokio::test]
async fn the_rate_limit_holds_across_processes_and_says_when_to_come_back() {
    let flags = ["--api-burst", "4", "--api-requests-per-minute", "6"];
    let s = TestServer::start(&flags).await;
    let ben = person(&s, "ben@example.com", UserRole::Agent).await;
    let (_, secret) = make_token(&s, &ben, &["customers:read"]).await;
    let (other, _dir) = s
        .another_process_with("127.0.0.1:0".parse().unwrap(), &flags)
        .await;
    let other_url = format!("{}/api/v1/customers", other.url());
    let here = || call(&s, &secret, Method::GET, "/customers").send();
    let there = || s.http.get(&other_url).bearer_auth(&secret).send();

    let first = here().await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(first.headers()["ratelimit-policy"], "\"token\";q=4;w=40");
    assert!(
        first.headers()["ratelimit"]
            .to_str()
            .unwrap()
            .starts_with("\"token\";r=3;")
    );
    let mut ok = 1;
    let mut limited = None;
    for i in 0..10 {
        let r = if i % 2 == 0 {
            there().await
        } else {
            here().await
        }
        .unwrap();
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(r);
            break;
        }
        ok += 1;
    }
    let limited = limited.expect("limited within ten requests");
    // The burst, and one more only if the steady rate refilled one meanwhile.
    assert!(
        (4..=5).contains(&ok),
        "the two processes let through the burst: {ok}"
    );
    let retry: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=10).contains(&retry), "{retry}");
    assert_error(limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;

    // The apps' sync does not share this budget.
    let me = s.get_as(&ben.jwt, "/auth/me").await;
    assert_eq!(me.status(), StatusCode::OK);
}

#[tokio::test]
async fn requests_without_a_valid_token_are_limited_per_address() {
    let s = TestServer::start(&["--api-anonymous-per-minute", "6"]).await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let r = s
            .http
            .get(s.url("/api/v1/customers"))
            .bearer_auth("crm_pat_guess")
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 429, 429]);
}

/// A process that knows a token (it keeps lookups for a few seconds)
/// forgets it as soon as another process revokes it.
#[tokio::test]
async fn a_token_revoked_through_another_process_stops_working_here_at_once() {
    let s = TestServer::start(&[]).await;
    let ben = person(&s, "ben@example.com", UserRole::Agent).await;
    let (token, secret) = make_token(&s, &ben, &["customers:read"]).await;
    let (other, _dir) = s.another_process("127.0.0.1:0".parse().unwrap()).await;
    let known = &s.state.api.known;
    for _ in 0..100 {
        if known.listening() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(known.listening(), "the process hears token changes");
    let before = known.lookups();
    for _ in 0..5 {
        let ok = call(&s, &secret, Method::GET, "/customers")
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), StatusCode::OK);
    }
    assert_eq!(
        known.lookups() - before,
        1,
        "five requests, one lookup: the token is known after the first"
    );
    let revoked = s
        .http
        .post(format!(
            "{}/integration-tokens/{}/revoke",
            other.url(),
            token["id"].as_str().unwrap()
        ))
        .bearer_auth(&ben.jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    // The announcement takes a moment to arrive; never more than one.
    let mut refused = None;
    for _ in 0..100 {
        let r = call(&s, &secret, Method::GET, "/customers")
            .send()
            .await
            .unwrap();
        if r.status() != StatusCode::OK {
            refused = Some(r);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_error(
        refused.expect("refused within a second"),
        StatusCode::UNAUTHORIZED,
        "token_revoked",
    )
    .await;
}

/// Another system attaches a file to a ticket: the bytes through
/// `/storage` with its token, then the attachment's row through
/// `/api/v1/attachments`; a person opens the same bytes, and the token's
/// attachments permissions decide what it may do with files.
#[tokio::test]
async fn an_integration_attaches_a_file_that_a_person_then_opens() {
    let s = TestServer::start(&[]).await;
    let ben = person(&s, "ben@example.com", UserRole::Agent).await;
    let (token, secret) = make_token(
        &s,
        &ben,
        &[
            "customers:write",
            "tickets:write",
            "attachments:read",
            "attachments:write",
        ],
    )
    .await;
    let customer =
        json_of(create(&s, &secret, "/customers", json!({ "name": "Acme" })).await).await;
    let ticket = json_of(
        create(
            &s,
            &secret,
            "/tickets",
            json!({ "title": "Meter", "customer_id": customer["id"] }),
        )
        .await,
    )
    .await;
    let ticket_id = ticket["id"].as_str().unwrap();
    let pdf = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
        .to_vec();
    let url = s.url(&format!(
        "/storage/ticket-attachments/{ticket_id}/invoice.pdf"
    ));
    let stored = s
        .http
        .put(&url)
        .bearer_auth(&secret)
        .body(pdf.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(stored.status(), StatusCode::CREATED);
    let stored = json_of(stored).await;
    let row = create(
        &s,
        &secret,
        "/attachments",
        json!({
            "ticket_id": ticket_id,
            "file_name": stored["file_name"],
            "file_path": stored["path"],
            "file_size": stored["size"],
            "mime_type": stored["mime_type"],
        }),
    )
    .await;
    assert_eq!(row.status(), StatusCode::CREATED);
    let row = json_of(row).await;
    assert_eq!(row["uploaded_by"], ben.id.to_string());
    let via: Option<Uuid> = sqlx::query_scalar(
        "SELECT integration_token_id FROM audit_history WHERE table_name = 'ticket_attachments' AND record_id = $1::uuid",
    )
    .bind(row["id"].as_str().unwrap())
    .fetch_one(s.pool())
    .await
    .unwrap();
    assert_eq!(via.map(|u| u.to_string()).as_deref(), token["id"].as_str());

    // Ben opens the same bytes with his sign-in.
    let opened = s.http.get(&url).bearer_auth(&ben.jwt).send().await.unwrap();
    assert_eq!(opened.status(), StatusCode::OK);
    assert_eq!(opened.bytes().await.unwrap().to_vec(), pdf);

    // A token that may only read files reads them, and cannot add any.
    let (_, reader) = make_token(&s, &ben, &["attachments:read"]).await;
    let read = s.http.get(&url).bearer_auth(&reader).send().await.unwrap();
    assert_eq!(read.status(), StatusCode::OK);
    let refused = s
        .http
        .put(s.url(&format!(
            "/storage/ticket-attachments/{ticket_id}/other.pdf"
        )))
        .bearer_auth(&reader)
        .body(pdf.clone())
        .send()
        .await
        .unwrap();
    assert_error(refused, StatusCode::FORBIDDEN, "permission_missing").await;
    // And a token without attachments:read cannot fetch it either.
    let (_, blind) = make_token(&s, &ben, &["tickets:read"]).await;
    let blind = s.http.get(&url).bearer_auth(&blind).send().await.unwrap();
    assert_error(blind, StatusCode::FORBIDDEN, "permission_missing").await;
}

/// The whole matrix: every permission, alone, against every resource and
/// every verb, for an agent's token and an admin's. A verb the resource
/// does not take is 405 whatever the token; one it takes is refused with
/// `permission_missing` unless the token has the permission the resource
/// names for it, and otherwise reaches the data (which then decides: here
/// a row that does not exist, or a body missing its fields).
#[tokio::test]
async fn every_permission_against_every_resource_and_verb() {
    use crm_domain::resources::RESOURCES;
    let s = TestServer::start(&[]).await;
    let ada = person(&s, "ada@example.com", UserRole::Admin).await;
    let ben = person(&s, "ben@example.com", UserRole::Agent).await;
    let nobody = Uuid::now_v7();
    let mut checked = 0;
    for owner in [&ben, &ada] {
        for permission in ALL {
            let (_, secret) = make_token(&s, owner, &[permission]).await;
            for r in &RESOURCES {
                let list = format!("/{}", r.path);
                let item = format!("/{}/{nobody}", r.path);
                let verbs: [(
                    Method,
                    &str,
                    bool,
                    Option<crm_domain::IntegrationPermission>,
                ); 5] = [
                    (Method::GET, list.as_str(), true, r.read),
                    (Method::GET, item.as_str(), true, r.read),
                    (Method::POST, list.as_str(), r.verbs.create, r.write),
                    (Method::PATCH, item.as_str(), r.verbs.update, r.write),
                    (Method::DELETE, item.as_str(), r.verbs.delete, r.write),
                ];
                for (method, path, taken, needed) in verbs {
                    let mut request = call(&s, &secret, method.clone(), path);
                    if matches!(method, Method::POST | Method::PATCH) {
                        request = request.json(&json!({ "id": nobody }));
                    }
                    let answer = request.send().await.unwrap();
                    let status = answer.status();
                    let body: Value = answer.json().await.unwrap_or(Value::Null);
                    let code = body["error"]["code"].as_str().unwrap_or("");
                    let what = format!("{permission} {method} {path}");
                    if !taken {
                        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{what}");
                    } else if needed.is_some_and(|p| p.as_str() != permission) {
                        assert_eq!(
                            (status, code),
                            (StatusCode::FORBIDDEN, "permission_missing"),
                            "{what}"
                        );
                    } else {
                        assert!(
                            code != "permission_missing" && !status.is_server_error(),
                            "{what}: {status} {body}"
                        );
                    }
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(checked, 2 * 11 * 8 * 5);
}

/// Integrations never take the apps' share of the server: with every
/// `/api/v1` slot of a process busy, the next API request waits for one,
/// while a device's push and pull go through.
#[tokio::test]
async fn a_saturated_integration_api_leaves_the_apps_sync_untouched() {
    let s = TestServer::start(&["--api-max-concurrent", "2"]).await;
    let ben = person(&s, "ben@example.com", UserRole::Agent).await;
    let (_, secret) = make_token(&s, &ben, &["customers:read"]).await;
    // Every slot taken, as by two long requests.
    let busy = s
        .state
        .api
        .running
        .clone()
        .acquire_many_owned(2)
        .await
        .unwrap();
    let waiting = call(&s, &secret, Method::GET, "/customers")
        .timeout(std::time::Duration::from_millis(500))
        .send()
        .await;
    assert!(waiting.is_err(), "the API request waits for a slot");

    let mut app = SimClient::sign_in(&s, "ben@example.com").await;
    let pushed = app
        .push(&[app.insert(
            SyncTable::Customers,
            Uuid::now_v7(),
            json!({ "name": "Offline Co" }),
        )])
        .await;
    assert_eq!(pushed.results[0].outcome, MutationOutcome::Applied);
    app.pull().await;
    assert_eq!(app.held("customers").len(), 1, "the sync went through");

    // A slot frees, the API answers again.
    drop(busy);
    let served = call(&s, &secret, Method::GET, "/customers")
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), StatusCode::OK);
}
