//! The whole HTTP API against its contract, `/openapi.json`, checked by an
//! independent tool: schemathesis (from PyPI; the test command installs it
//! and names it in `CRM_SCHEMATHESIS`) generates requests for every
//! operation from the document, sends them to the real server with a real
//! sign-in and a real integration token, and fails on any 5xx, any status,
//! content type, header or body the document does not describe, and any
//! endpoint that answers without its credentials.
#![allow(clippy::unwrap_used)]

mod support;

use crm_domain::UserRole;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::server::TestServer;

/// The checks that hold the server to the document. (Not schemathesis's
/// "positive data acceptance": a schema cannot say every rule of the data,
/// such as a workflow move, and a refusal of a valid-looking request with
/// a documented 4xx is the contract working.)
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
response_schema_conformance,response_headers_conformance,ignored_auth";

#[tokio::test]
async fn schemathesis_finds_no_server_error_and_no_answer_outside_the_contract() {
    let program = std::env::var("CRM_SCHEMATHESIS").unwrap_or_else(|_| "schemathesis".into());
    // Limits high enough that the generated traffic is never refused for
    // its rate: the rate limits have their own tests.
    let s = TestServer::start(&[
        "--api-requests-per-minute",
        "1000000",
        "--api-burst",
        "100000",
        "--api-anonymous-per-minute",
        "1000000",
        "--pushes-per-minute",
        "1000000",
        "--pulls-per-minute",
        "1000000",
        "--scans-per-hour",
        "1000000",
    ])
    .await;
    // The token belongs to an admin, the sign-in to an agent: the
    // generated requests to /integration-tokens cannot revoke the token
    // the rest of the run uses.
    s.create_account("ada@example.com", UserRole::Admin).await;
    s.create_account("ben@example.com", UserRole::Agent).await;
    let ada = s.login("ada@example.com").await;
    let ben = s.login("ben@example.com").await;
    let made = s
        .post_as(
            ada["access_token"].as_str().unwrap(),
            "/integration-tokens",
            json!({ "name": "contract", "permissions": [
                "customers:read", "customers:write", "interactions:read", "interactions:write",
                "tickets:read", "tickets:write", "comments:read", "comments:write",
                "comments:internal", "attachments:read", "attachments:write"] }),
        )
        .await;
    assert_eq!(made.status(), StatusCode::CREATED);
    let secret = made.json::<Value>().await.unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    // Some rows for the reads to find.
    for name in ["Acme", "Stark Hardware"] {
        let customer: Value = s
            .http
            .post(s.url("/api/v1/customers"))
            .bearer_auth(&secret)
            .json(&json!({ "name": name }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        s.http
            .post(s.url("/api/v1/tickets"))
            .bearer_auth(&secret)
            .json(&json!({ "title": "Meter broken", "customer_id": customer["id"] }))
            .send()
            .await
            .unwrap();
    }

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("schemathesis.toml");
    std::fs::write(
        &config,
        "[auth.openapi.bearer]\nbearer = \"${CRM_JWT}\"\n\n\
         [auth.openapi.integration_token]\nbearer = \"${CRM_TOKEN}\"\n",
    )
    .unwrap();
    let seed = std::env::var("CRM_SCHEMATHESIS_SEED").unwrap_or_else(|_| "1".into());
    let output = tokio::process::Command::new(&program)
        .arg("--config-file")
        .arg(&config)
        .args([
            "run",
            &s.url("/openapi.json"),
            // Signing out would end the sign-in the rest of the run uses.
            "--exclude-path",
            "/auth/logout",
            "--checks",
            CHECKS,
            "--max-examples",
            "20",
            "--seed",
            &seed,
            "--no-color",
        ])
        .env("CRM_JWT", ben["access_token"].as_str().unwrap())
        .env("CRM_TOKEN", &secret)
        .current_dir(dir.path())
        .kill_on_drop(true)
        .output()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "starting {program} (the test command installs schemathesis; set CRM_SCHEMATHESIS): {e}"
            )
        });
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "schemathesis found answers outside the contract:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Every selected operation was tried (all but signing out).
    let number_after = |label: &str| -> Option<usize> {
        let rest = &report[report.find(label)? + label.len()..];
        rest.trim_start()
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    };
    let (selected, tested) = (number_after("Selected:"), number_after("Tested:"));
    assert!(
        selected.is_some_and(|n| n > 40) && selected == tested,
        "every operation was tested:\n{report}"
    );
}
