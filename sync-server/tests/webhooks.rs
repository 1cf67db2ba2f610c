//! Webhooks end to end: changes made through the API and through a
//! device's sync reach a real HTTP receiver on loopback, signed (checked
//! by the reference `standardwebhooks` package from PyPI), in order per
//! record, filtered to what the subscriber may see; a receiver that is
//! down for a while loses nothing; one failing past the retry window stops
//! its subscription; two server processes share the work without sending
//! a delivery twice.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use crm_domain::UserRole;
use crm_domain::protocol::SyncTable;
use reqwest::Method;
use serde_json::{Value, json};
use support::client::SimClient;
use support::server::TestServer;
use uuid::Uuid;

const FLAGS: [&str; 3] = [
    "--webhook-allow-private-targets",
    "--webhook-retry-base-ms",
    "50",
];

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    id: String,
    timestamp: String,
    signature: String,
    body: String,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// A webhook receiver on loopback that records what it gets, and answers
/// 503 while told to fail.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    failing: Arc<Mutex<bool>>,
    refused: Arc<Mutex<usize>>,
}

impl Receiver {
    async fn start() -> (Receiver, String) {
        let receiver = Receiver::default();
        let r = receiver.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let r = r.clone();
                async move {
                    if *r.failing.lock().unwrap() {
                        *r.refused.lock().unwrap() += 1;
                        return StatusCode::SERVICE_UNAVAILABLE;
                    }
                    let h = |n: &str| {
                        headers
                            .get(n)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_owned()
                    };
                    r.got.lock().unwrap().push(Received {
                        id: h("webhook-id"),
                        timestamp: h("webhook-timestamp"),
                        signature: h("webhook-signature"),
                        body: String::from_utf8_lossy(&body).into_owned(),
                    });
                    StatusCode::NO_CONTENT
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (receiver, url)
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    fn fail(&self, failing: bool) {
        *self.failing.lock().unwrap() = failing;
    }

    /// Waits until `done` holds for what was received (at most 20 s).
    async fn until(&self, what: &str, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        for _ in 0..400 {
            let got = self.got();
            if done(&got) {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{what}: received {:#?}", self.got());
    }
}

struct Person {
    jwt: String,
}

async fn person(s: &TestServer, email: &str, role: UserRole) -> Person {
    s.create_account(email, role).await;
    Person {
        jwt: s.login(email).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned(),
    }
}

async fn subscribe(
    s: &TestServer,
    who: &Person,
    url: &str,
    events: &[&str],
    internal: bool,
) -> Value {
    let made = s
        .post_as(
            &who.jwt,
            "/webhooks",
            json!({ "url": url, "event_types": events, "include_internal": internal }),
        )
        .await;
    assert_eq!(made.status(), StatusCode::CREATED);
    made.json().await.unwrap()
}

async fn token(s: &TestServer, who: &Person) -> String {
    let made: Value = s
        .post_as(
            &who.jwt,
            "/integration-tokens",
            json!({ "name": "t", "permissions": ["customers:read", "customers:write",
                "tickets:read", "tickets:write", "comments:read", "comments:write", "comments:internal"] }),
        )
        .await
        .json()
        .await
        .unwrap();
    made["secret"].as_str().unwrap().to_owned()
}

async fn api(s: &TestServer, secret: &str, method: Method, path: &str, body: Value) -> Value {
    let response = s
        .http
        .request(method, s.url(&format!("/api/v1{path}")))
        .bearer_auth(secret)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    response.json().await.unwrap_or(Value::Null)
}

/// GETs `path` as `jwt` until `done` holds for the answer (at most 10 s).
async fn get_until(
    s: &TestServer,
    jwt: &str,
    path: &str,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let mut last = Value::Null;
    for _ in 0..200 {
        last = s.get_as(jwt, path).await.json().await.unwrap();
        if done(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}: {path} answered {last:#}");
}

/// Verifies each message with the reference implementation of the
/// format (Python's `standardwebhooks`, from PyPI; the test command
/// installs it and names its interpreter in `CRM_PYTHON_TOOLS`).
async fn verified_by_the_reference_library(secret: &str, messages: &[Received]) {
    let python = std::env::var("CRM_PYTHON_TOOLS").unwrap_or_else(|_| "python3".into());
    let input: Vec<Value> = messages
        .iter()
        .map(|m| json!({ "id": m.id, "timestamp": m.timestamp, "signature": m.signature, "body": m.body }))
        .collect();
    let script = r#"
import json, sys
from standardwebhooks.webhooks import Webhook
secret, messages = sys.argv[1], json.load(sys.stdin)
hook = Webhook(secret)
for m in messages:
    hook.verify(m["body"], {"webhook-id": m["id"], "webhook-timestamp": m["timestamp"], "webhook-signature": m["signature"]})
    try:
        hook.verify(m["body"] + " ", {"webhook-id": m["id"], "webhook-timestamp": m["timestamp"], "webhook-signature": m["signature"]})
        sys.exit("a changed body verified")
    except Exception:
        pass
print(len(messages))
"#;
    let mut child = tokio::process::Command::new(&python)
        .args(["-c", script, secret])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {python} (the test command installs standardwebhooks; set CRM_PYTHON_TOOLS): {e}"));
    use tokio::io::AsyncWriteExt;
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(serde_json::to_string(&input).unwrap().as_bytes())
        .await
        .unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        messages.len().to_string()
    );
}

#[tokio::test]
async fn events_arrive_signed_in_order_from_the_api_and_from_sync() {
    let s = TestServer::start(&FLAGS).await;
    let ada = person(&s, "ada@example.com", UserRole::Admin).await;
    let (receiver, url) = Receiver::start().await;
    let sub = subscribe(
        &s,
        &ada,
        &url,
        &[
            "customer.created",
            "ticket.created",
            "ticket.status_changed",
            "comment.added",
        ],
        false,
    )
    .await;
    let secret = sub["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));

    let pat = token(&s, &ada).await;
    let customer = api(
        &s,
        &pat,
        Method::POST,
        "/customers",
        json!({ "name": "Acme" }),
    )
    .await;
    let ticket = api(
        &s,
        &pat,
        Method::POST,
        "/tickets",
        json!({ "title": "Meter", "customer_id": customer["id"] }),
    )
    .await;
    let path = format!("/tickets/{}", ticket["id"].as_str().unwrap());
    for status in ["in_progress", "resolved", "closed"] {
        api(&s, &pat, Method::PATCH, &path, json!({ "status": status })).await;
    }
    // And a change from a device's sync.
    let app = SimClient::sign_in(&s, "ada@example.com").await;
    app.push(&[app.insert(
        SyncTable::TicketComments,
        Uuid::now_v7(),
        json!({ "ticket_id": ticket["id"], "content": "On site now" }),
    )])
    .await;

    let got = receiver.until("six events", |g| g.len() >= 6).await;
    let types: Vec<String> = got
        .iter()
        .map(|m| m.json()["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        types,
        [
            "customer.created",
            "ticket.created",
            "ticket.status_changed",
            "ticket.status_changed",
            "ticket.status_changed",
            "comment.added"
        ]
    );
    let moves: Vec<String> = got
        .iter()
        .filter(|m| m.json()["type"] == "ticket.status_changed")
        .map(|m| {
            m.json()["changes"]["status"]["to"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(moves, ["in_progress", "resolved", "closed"], "in order");
    assert_eq!(got[1].json()["data"]["title"], "Meter");
    assert!(got.iter().all(|m| m.id.starts_with("msg_")));
    verified_by_the_reference_library(&secret, &got).await;

    // The deliveries are listed, and one can be sent again.
    let listed: Value = s
        .get_as(
            &ada.jwt,
            &format!(
                "/webhooks/{}/deliveries",
                sub["webhook"]["id"].as_str().unwrap()
            ),
        )
        .await
        .json()
        .await
        .unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 6);
    assert!(listed.iter().all(|d| d["state"] == "delivered"));
    let first = listed.last().unwrap()["id"].as_i64().unwrap();
    let replayed = s
        .post_as(
            &ada.jwt,
            &format!(
                "/webhooks/{}/deliveries/{first}/replay",
                sub["webhook"]["id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    assert_eq!(replayed.status(), StatusCode::OK);
    let again = receiver.until("the replay", |g| g.len() >= 7).await;
    assert_eq!(
        again[6].id,
        format!("msg_{first}"),
        "the same message id: receivers can tell"
    );
}

#[tokio::test]
async fn a_receiver_down_for_a_while_gets_every_event_once_it_is_back() {
    let s = TestServer::start(&FLAGS).await;
    let ada = person(&s, "ada@example.com", UserRole::Admin).await;
    let (receiver, url) = Receiver::start().await;
    subscribe(&s, &ada, &url, &["customer.created"], false).await;
    let pat = token(&s, &ada).await;
    receiver.fail(true);
    for i in 0..10 {
        api(
            &s,
            &pat,
            Method::POST,
            "/customers",
            json!({ "name": format!("C{i}") }),
        )
        .await;
    }
    // It keeps trying while the receiver is down...
    for _ in 0..200 {
        if *receiver.refused.lock().unwrap() >= 20 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(*receiver.refused.lock().unwrap() >= 20, "retried");
    // ...and once it is back, everything arrives, each customer once.
    receiver.fail(false);
    let got = receiver.until("ten customers", |g| g.len() >= 10).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut names: Vec<String> = receiver
        .got()
        .iter()
        .map(|m| m.json()["data"]["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names.len(), 10, "each once: {got:?}");
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 10);
}

#[tokio::test]
async fn a_subscriber_never_hears_of_a_row_they_may_not_see() {
    let s = TestServer::start(&FLAGS).await;
    let ada = person(&s, "ada@example.com", UserRole::Admin).await;
    let ben = person(&s, "ben@example.com", UserRole::Agent).await;
    let (receiver, url) = Receiver::start().await;
    let sub = subscribe(
        &s,
        &ben,
        &url,
        &["customer.created", "comment.added"],
        false,
    )
    .await;
    let adas = token(&s, &ada).await;
    let bens = token(&s, &ben).await;
    api(
        &s,
        &adas,
        Method::POST,
        "/customers",
        json!({ "name": "Ada's own" }),
    )
    .await;
    let mine = api(
        &s,
        &bens,
        Method::POST,
        "/customers",
        json!({ "name": "Ben's" }),
    )
    .await;
    let ticket = api(
        &s,
        &bens,
        Method::POST,
        "/tickets",
        json!({ "title": "T", "customer_id": mine["id"] }),
    )
    .await;
    api(
        &s,
        &bens,
        Method::POST,
        "/comments",
        json!({ "ticket_id": ticket["id"], "content": "internal", "is_internal": true }),
    )
    .await;
    api(
        &s,
        &bens,
        Method::POST,
        "/comments",
        json!({ "ticket_id": ticket["id"], "content": "public" }),
    )
    .await;
    let got = receiver.until("two events", |g| g.len() >= 2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got_now = receiver.got();
    assert_eq!(got_now.len(), got.len());
    let what: Vec<String> = got_now
        .iter()
        .map(|m| {
            let d = m.json()["data"].clone();
            d.get("name")
                .or(d.get("content"))
                .and_then(Value::as_str)
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        what,
        ["Ben's", "public"],
        "nothing of Ada's, no internal comment"
    );

    // A row he loses sight of before its delivery's turn is skipped, like
    // Ada's customer was: made as his, and given to Ada in the same
    // transaction. (The check is made when the delivery is sent: a row
    // that changes hands while it is being sent is a race no check closes.)
    let mut tx = s.pool().begin().await.unwrap();
    sqlx::query(
        "INSERT INTO customers (name, owner) SELECT 'Soon Ada''s', id FROM profiles WHERE email = 'ben@example.com'",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query(
        "UPDATE customers SET owner = (SELECT id FROM profiles WHERE email = 'ada@example.com') WHERE name = 'Soon Ada''s'",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let id = sub["webhook"]["id"].as_str().unwrap();
    get_until(
        &s,
        &ben.jwt,
        &format!("/webhooks/{id}/deliveries?state=skipped"),
        "the deliveries of customers Ben may not see are skipped",
        |listed| listed.as_array().is_some_and(|l| l.len() == 2),
    )
    .await;
    let got = receiver.got();
    assert_eq!(
        got.len(),
        2,
        "still only Ben's customer and the public comment"
    );
    assert!(got.iter().all(|m| m.json()["data"]["name"] != "Soon Ada's"));
}

#[tokio::test]
async fn a_subscription_failing_for_the_whole_window_is_stopped_and_says_why() {
    let mut flags = FLAGS.to_vec();
    flags.extend(["--webhook-give-up-secs", "1"]);
    let s = TestServer::start(&flags).await;
    let ada = person(&s, "ada@example.com", UserRole::Admin).await;
    let (receiver, url) = Receiver::start().await;
    let sub = subscribe(&s, &ada, &url, &["customer.created"], false).await;
    let id = sub["webhook"]["id"].as_str().unwrap().to_owned();
    receiver.fail(true);
    let pat = token(&s, &ada).await;
    api(
        &s,
        &pat,
        Method::POST,
        "/customers",
        json!({ "name": "Acme" }),
    )
    .await;
    let listed = get_until(&s, &ada.jwt, "/webhooks", "stopped", |l| {
        l[0]["is_active"] == false
    })
    .await;
    let stopped = listed[0].clone();
    assert_eq!(stopped["is_active"], false, "stopped");
    assert!(
        stopped["disabled_reason"].as_str().unwrap().contains("503"),
        "{stopped}"
    );
    let deliveries: Value = s
        .get_as(&ada.jwt, &format!("/webhooks/{id}/deliveries"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(deliveries[0]["state"], "failed");
    assert_eq!(deliveries[0]["last_status"], 503);

    // Its owner restarts it and sends the failed one again.
    receiver.fail(false);
    let restarted = s
        .http
        .patch(s.url(&format!("/webhooks/{id}")))
        .bearer_auth(&ada.jwt)
        .json(&json!({ "is_active": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(restarted.status(), StatusCode::OK);
    let delivery = deliveries[0]["id"].as_i64().unwrap();
    s.post_as(
        &ada.jwt,
        &format!("/webhooks/{id}/deliveries/{delivery}/replay"),
        json!({}),
    )
    .await;
    let got = receiver
        .until("the replayed event", |g| !g.is_empty())
        .await;
    assert_eq!(got[0].json()["data"]["name"], "Acme");
    // And a test event, on demand.
    let test = s
        .post_as(&ada.jwt, &format!("/webhooks/{id}/test"), json!({}))
        .await;
    assert_eq!(test.status(), StatusCode::ACCEPTED);
    let got = receiver.until("the test event", |g| g.len() >= 2).await;
    assert_eq!(got[1].json()["type"], "webhook.test");
}

#[tokio::test]
async fn webhooks_are_not_sent_into_the_server_s_own_network_unless_allowed() {
    let s = TestServer::start(&["--webhook-retry-base-ms", "50"]).await;
    let ada = person(&s, "ada@example.com", UserRole::Admin).await;
    let (receiver, url) = Receiver::start().await;
    let literal = s
        .post_as(
            &ada.jwt,
            "/webhooks",
            json!({ "url": url, "event_types": ["customer.created"] }),
        )
        .await;
    assert_eq!(literal.status(), StatusCode::BAD_REQUEST);
    let metadata = s
        .post_as(
            &ada.jwt,
            "/webhooks",
            json!({ "url": "http://169.254.169.254/latest/meta-data", "event_types": ["customer.created"] }),
        )
        .await;
    assert_eq!(metadata.status(), StatusCode::BAD_REQUEST);
    // A name that resolves to loopback is refused when sending.
    let by_name = url.replace("127.0.0.1", "localhost");
    let sub = subscribe(&s, &ada, &by_name, &["customer.created"], false).await;
    let pat = token(&s, &ada).await;
    api(
        &s,
        &pat,
        Method::POST,
        "/customers",
        json!({ "name": "Acme" }),
    )
    .await;
    let id = sub["webhook"]["id"].as_str().unwrap();
    let listed = get_until(
        &s,
        &ada.jwt,
        &format!("/webhooks/{id}/deliveries"),
        "an attempt is recorded",
        |l| l[0]["last_error"].is_string(),
    )
    .await;
    let error = listed[0]["last_error"].as_str().unwrap_or_default();
    assert!(error.contains("no public address"), "{error}");
    assert!(receiver.got().is_empty());
}

#[tokio::test]
async fn two_server_processes_share_the_deliveries_and_send_each_once() {
    let s = TestServer::start(&FLAGS).await;
    let (_other, _dir) = s
        .another_process_with("127.0.0.1:0".parse().unwrap(), &FLAGS)
        .await;
    let ada = person(&s, "ada@example.com", UserRole::Admin).await;
    let (receiver, url) = Receiver::start().await;
    subscribe(&s, &ada, &url, &["customer.created"], false).await;
    let pat = token(&s, &ada).await;
    for i in 0..60 {
        api(
            &s,
            &pat,
            Method::POST,
            "/customers",
            json!({ "name": format!("C{i}") }),
        )
        .await;
    }
    receiver.until("sixty", |g| g.len() >= 60).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut ids: Vec<String> = receiver.got().iter().map(|m| m.id.clone()).collect();
    assert_eq!(ids.len(), 60, "none twice");
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 60);
}
