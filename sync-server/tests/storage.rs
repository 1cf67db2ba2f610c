//! Attachment files through the real server, with real bytes, on both
//! stores: the local disk and an S3-compatible server (moto, from PyPI,
//! started here on loopback). Each behaviour runs on each store
//! (`…::on_disk`, `…::in_s3`).
//!
//! What is promised: a file goes in whole or not at all; the bucket's
//! rules (size, type by content, active content, names, ticket access)
//! refuse bad input with a clear code and keep nothing; the same bytes are
//! kept once; an attachment row exists only for a stored file; signed URLs
//! work for their one file and method until they expire; a crash
//! mid-upload leaves nothing housekeeping does not remove.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::Stdio;
use std::time::Duration;

use crm_domain::UserRole;
use crm_domain::protocol::{MutationOutcome, RejectionCode, SyncTable};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use support::client::SimClient;
use support::server::{TestServer, assert_error};
use sync_server::storage::blobs::Area;
use sync_server::storage::housekeeping;
use uuid::Uuid;

// ---------------------------------------------------------------------------
// The stores
// ---------------------------------------------------------------------------

/// A moto S3 server on a free loopback port, stopped on drop.
struct Moto {
    child: tokio::process::Child,
    endpoint: String,
}

impl Moto {
    async fn start() -> Moto {
        let program = std::env::var("CRM_MOTO_SERVER").unwrap_or_else(|_| "moto_server".into());
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let child = tokio::process::Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "starting {program} (the test command installs moto; set CRM_MOTO_SERVER): {e}"
                )
            });
        let endpoint = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        for _ in 0..100 {
            if http.get(&endpoint).send().await.is_ok() {
                // moto takes unsigned requests: make the bucket.
                let made = http
                    .put(format!("{endpoint}/crm-files"))
                    .send()
                    .await
                    .unwrap();
                assert!(made.status().is_success(), "{}", made.status());
                return Moto { child, endpoint };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("moto did not answer on {endpoint}");
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// A server keeping files on the local disk, or in moto.
async fn server(moto: Option<&Moto>, extra: &[&str]) -> TestServer {
    let mut flags: Vec<&str> = extra.to_vec();
    if let Some(moto) = moto {
        flags.extend([
            "--storage-s3-bucket",
            "crm-files",
            "--storage-s3-prefix",
            "attachments",
            "--storage-s3-endpoint",
            &moto.endpoint,
            "--storage-s3-allow-http",
            "--storage-s3-access-key-id",
            "test",
            "--storage-s3-secret-access-key",
            "test",
        ]);
    }
    TestServer::start(&flags).await
}

/// Each behaviour, on each store.
macro_rules! on_both_stores {
    ($name:ident) => {
        mod $name {
            #[tokio::test]
            async fn on_disk() {
                super::$name(super::server(None, &[]).await).await;
            }

            #[tokio::test]
            async fn in_s3() {
                let moto = super::Moto::start().await;
                super::$name(super::server(Some(&moto), &[]).await).await;
            }
        }
    };
}

// ---------------------------------------------------------------------------
// Files and people
// ---------------------------------------------------------------------------

/// A PDF of about `kib` KiB, different for each `seed`.
fn pdf(kib: usize, seed: u8) -> Vec<u8> {
    let mut bytes = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n".to_vec();
    bytes.extend((0..kib * 1024).map(|i| b'a' + ((i + seed as usize) % 26) as u8));
    bytes.extend_from_slice(b"\n%%EOF\n");
    bytes
}

fn png() -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0".to_vec();
    bytes.extend(std::iter::repeat_n(7u8, 4096));
    bytes
}

fn sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The name as one path segment: a hostile name must reach the server
/// as it is, not be resolved by the client's URL parser.
fn segment(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Ana (agent) with a ticket of hers; Ben (agent) without access to it;
/// Ada (admin).
struct Team<'s> {
    s: &'s TestServer,
    ana: SimClient<'s>,
    ben: SimClient<'s>,
    ada: SimClient<'s>,
    ticket: Uuid,
}

async fn team(s: &TestServer) -> Team<'_> {
    s.create_account("ana@field.test", UserRole::Agent).await;
    s.create_account("ben@field.test", UserRole::Agent).await;
    s.create_account("ada@field.test", UserRole::Admin).await;
    let ana = SimClient::sign_in(s, "ana@field.test").await;
    let ben = SimClient::sign_in(s, "ben@field.test").await;
    let ada = SimClient::sign_in(s, "ada@field.test").await;
    let ticket = Uuid::now_v7();
    let pushed = ana
        .push(&[ana.insert(
            SyncTable::Tickets,
            ticket,
            json!({ "title": "Meter broken", "priority": "high" }),
        )])
        .await;
    assert_eq!(pushed.results[0].outcome, MutationOutcome::Applied);
    Team {
        s,
        ana,
        ben,
        ada,
        ticket,
    }
}

impl Team<'_> {
    fn path(&self, name: &str) -> String {
        format!(
            "/storage/ticket-attachments/{}/{}",
            self.ticket,
            segment(name)
        )
    }

    async fn put(&self, who: &SimClient<'_>, name: &str, bytes: Vec<u8>) -> reqwest::Response {
        self.s
            .http
            .put(self.s.url(&self.path(name)))
            .bearer_auth(&who.token)
            .body(bytes)
            .send()
            .await
            .unwrap()
    }

    async fn get(&self, who: &SimClient<'_>, name: &str) -> reqwest::Response {
        self.s
            .http
            .get(self.s.url(&self.path(name)))
            .bearer_auth(&who.token)
            .send()
            .await
            .unwrap()
    }

    async fn delete(&self, who: &SimClient<'_>, name: &str) -> reqwest::Response {
        self.s
            .http
            .delete(self.s.url(&self.path(name)))
            .bearer_auth(&who.token)
            .send()
            .await
            .unwrap()
    }

    /// The attachment row for a stored file, pushed as the app does after
    /// its upload.
    async fn attach(&self, who: &SimClient<'_>, id: Uuid, stored: &Value) -> MutationOutcome {
        let pushed = who
            .push(&[who.insert(
                SyncTable::TicketAttachments,
                id,
                json!({
                    "ticket_id": self.ticket,
                    "file_name": stored["file_name"],
                    "file_path": stored["path"],
                    "file_size": stored["size"],
                    "mime_type": stored["mime_type"],
                }),
            )])
            .await;
        pushed.results[0].outcome.clone()
    }

    /// Blobs and temporary uploads in the store, and object rows.
    async fn kept(&self) -> (usize, usize, i64) {
        let blobs = &self.s.state.storage.blobs;
        let objects: i64 = sqlx::query_scalar("SELECT count(*) FROM storage.objects")
            .fetch_one(self.s.pool())
            .await
            .unwrap();
        (
            blobs.list(Area::Blobs).await.unwrap().len(),
            blobs.list(Area::Uploads).await.unwrap().len(),
            objects,
        )
    }
}

// ---------------------------------------------------------------------------
// Behaviours
// ---------------------------------------------------------------------------

on_both_stores!(an_uploaded_file_reads_back_whole_and_in_ranges);
async fn an_uploaded_file_reads_back_whole_and_in_ranges(s: TestServer) {
    let t = team(&s).await;
    // Larger than a chunk, a part and a read buffer, so every loop turns.
    let report = pdf(6 * 1024, 1);
    let response = t.put(&t.ana, "Service report.pdf", report.clone()).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let stored: Value = response.json().await.unwrap();
    assert_eq!(stored["file_name"], "Service report.pdf");
    assert_eq!(stored["mime_type"], "application/pdf");
    assert_eq!(stored["size"], report.len());
    assert_eq!(stored["sha256"], sha256(&report));
    assert_eq!(stored["path"], format!("{}/Service report.pdf", t.ticket));

    let whole = t.get(&t.ana, "Service report.pdf").await;
    assert_eq!(whole.status(), StatusCode::OK);
    let headers = whole.headers().clone();
    assert_eq!(headers["content-type"], "application/pdf");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["content-security-policy"], "sandbox");
    assert_eq!(headers["accept-ranges"], "bytes");
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("filename*=UTF-8''Service%20report.pdf")
    );
    assert_eq!(sha256(&whole.bytes().await.unwrap()), sha256(&report));

    let ranged =
        t.s.http
            .get(t.s.url(&t.path("Service report.pdf")))
            .bearer_auth(&t.ana.token)
            .header("Range", "bytes=5000000-5000099")
            .send()
            .await
            .unwrap();
    assert_eq!(ranged.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        ranged.headers()["content-range"],
        format!("bytes 5000000-5000099/{}", report.len()).as_str()
    );
    assert_eq!(
        &ranged.bytes().await.unwrap()[..],
        &report[5_000_000..5_000_100]
    );

    let outside =
        t.s.http
            .get(t.s.url(&t.path("Service report.pdf")))
            .bearer_auth(&t.ana.token)
            .header("Range", format!("bytes={}-", report.len()))
            .send()
            .await
            .unwrap();
    assert_eq!(
        outside.headers()["content-range"],
        format!("bytes */{}", report.len()).as_str()
    );
    assert_error(
        outside,
        StatusCode::RANGE_NOT_SATISFIABLE,
        "range_not_satisfiable",
    )
    .await;

    let etag = headers["etag"].clone();
    let unchanged =
        t.s.http
            .get(t.s.url(&t.path("Service report.pdf")))
            .bearer_auth(&t.ana.token)
            .header("If-None-Match", etag)
            .send()
            .await
            .unwrap();
    assert_eq!(unchanged.status(), StatusCode::NOT_MODIFIED);

    // Ben cannot see Ana's ticket, so the file does not exist for him.
    assert_error(
        t.get(&t.ben, "Service report.pdf").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // Ada, an admin, reads the same bytes.
    let read = t.get(&t.ada, "Service report.pdf").await;
    assert_eq!(sha256(&read.bytes().await.unwrap()), sha256(&report));
}

on_both_stores!(the_same_bytes_are_kept_once_and_a_taken_name_gets_a_number);
async fn the_same_bytes_are_kept_once_and_a_taken_name_gets_a_number(s: TestServer) {
    let t = team(&s).await;
    let photo = png();
    assert_eq!(
        t.put(&t.ana, "meter.png", photo.clone()).await.status(),
        StatusCode::CREATED
    );
    // The app sends it again (its answer was lost): the same file, nothing new.
    let again = t.put(&t.ana, "meter.png", photo.clone()).await;
    assert_eq!(again.status(), StatusCode::OK);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["file_name"], "meter.png");
    // The same photo under another name: a second file, the same bytes.
    assert_eq!(
        t.put(&t.ana, "meter copy.png", photo.clone())
            .await
            .status(),
        StatusCode::CREATED
    );
    assert_eq!(t.kept().await, (1, 0, 2), "two files, one blob");
    // Another photo under a taken name: kept beside it, numbered.
    let mut other = png();
    other.push(1);
    let numbered = t.put(&t.ana, "meter.png", other.clone()).await;
    assert_eq!(numbered.status(), StatusCode::CREATED);
    let numbered: Value = numbered.json().await.unwrap();
    assert_eq!(numbered["file_name"], "meter (2).png");
    let first = t.get(&t.ana, "meter.png").await.bytes().await.unwrap();
    let second = t.get(&t.ana, "meter (2).png").await.bytes().await.unwrap();
    assert_eq!(
        (sha256(&first), sha256(&second)),
        (sha256(&photo), sha256(&other))
    );
    assert_eq!(t.kept().await, (2, 0, 3));
}

on_both_stores!(bad_files_are_refused_with_a_clear_code_and_nothing_is_kept);
async fn bad_files_are_refused_with_a_clear_code_and_nothing_is_kept(s: TestServer) {
    let t = team(&s).await;
    let program = std::fs::read("/bin/true").unwrap();
    let svg = br#"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#.to_vec();
    let mut scripted = pdf(200, 2);
    scripted.extend_from_slice(b"2 0 obj << /S /JavaScript /JS (app.alert(1)) >> endobj\n");
    let mut docm = b"PK\x03\x04\x14\0\0\0\x08\0".to_vec();
    docm.extend_from_slice(b"[Content_Types].xml....word/document.xml....word/vbaProject.bin");
    for (name, bytes, status, code) in [
        (
            "invoice.pdf",
            program,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "file_type_not_allowed",
        ),
        (
            "drawing.svg",
            svg,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "file_type_not_allowed",
        ),
        (
            "form.pdf",
            scripted,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "active_content",
        ),
        (
            "notes.txt",
            b"plain words".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "file_type_not_allowed",
        ),
        (
            "empty.pdf",
            Vec::new(),
            StatusCode::BAD_REQUEST,
            "validation_failed",
        ),
        (
            "../../etc/passwd",
            pdf(1, 3),
            StatusCode::BAD_REQUEST,
            "file_name_not_allowed",
        ),
        // (`..` alone cannot be sent: URL parsers resolve it away.)
        (
            "...",
            pdf(1, 3),
            StatusCode::BAD_REQUEST,
            "file_name_not_allowed",
        ),
        (
            "a\\b.pdf",
            pdf(1, 3),
            StatusCode::BAD_REQUEST,
            "file_name_not_allowed",
        ),
        (
            "line\nbreak.pdf",
            pdf(1, 3),
            StatusCode::BAD_REQUEST,
            "file_name_not_allowed",
        ),
        (
            &"x".repeat(300),
            pdf(1, 3),
            StatusCode::BAD_REQUEST,
            "file_name_not_allowed",
        ),
    ] {
        let response = t.put(&t.ana, name, bytes).await;
        let body = assert_error(response, status, code).await;
        assert!(
            !body["error"]["message"].as_str().unwrap().is_empty(),
            "{name}"
        );
        assert_eq!(t.kept().await, (0, 0, 0), "{name}: nothing kept");
    }
    // Another agent's ticket: refused before a byte is read.
    assert_error(
        t.put(&t.ben, "report.pdf", pdf(1, 4)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    // A ticket that does not exist, and a path that is not a ticket's.
    let nowhere = format!("/storage/ticket-attachments/{}/a.pdf", Uuid::now_v7());
    let response = s
        .http
        .put(s.url(&nowhere))
        .bearer_auth(&t.ana.token)
        .body(pdf(1, 5))
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::FORBIDDEN, "forbidden").await;
    let response = s
        .http
        .put(s.url("/storage/ticket-attachments/not-a-ticket/a.pdf"))
        .bearer_auth(&t.ana.token)
        .body(pdf(1, 5))
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    // No token at all.
    let response = s
        .http
        .put(s.url(&t.path("a.pdf")))
        .body(pdf(1, 5))
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::UNAUTHORIZED, "missing_token").await;
    assert_eq!(t.kept().await, (0, 0, 0));
}

on_both_stores!(a_file_one_byte_over_the_limit_is_stopped_while_it_streams);
async fn a_file_one_byte_over_the_limit_is_stopped_while_it_streams(s: TestServer) {
    let t = team(&s).await;
    let limit = crm_domain::validation::MAX_ATTACHMENT_BYTES as usize;
    // Said up front: refused before a byte is read.
    let declared = s
        .http
        .put(s.url(&t.path("huge.pdf")))
        .bearer_auth(&t.ana.token)
        .header("Content-Length", (limit + 1).to_string())
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter([
            Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"%PDF-1.7\n")),
        ])))
        .send()
        .await;
    match declared {
        Ok(response) => {
            assert_error(response, StatusCode::PAYLOAD_TOO_LARGE, "file_too_large").await;
        }
        // The server may answer and close before the client finishes
        // sending what it promised.
        Err(e) => assert!(e.is_request() || e.is_body(), "{e}"),
    }
    // Not said (chunked): counted, and stopped at limit + 1.
    let chunk = bytes::Bytes::from(vec![b'x'; 1024 * 1024]);
    let mut chunks = vec![bytes::Bytes::from_static(b"%PDF-1.7\n")];
    let mut sent = chunks[0].len();
    while sent <= limit {
        let piece = chunk.slice(..chunk.len().min(limit + 1 - sent));
        sent += piece.len();
        chunks.push(piece);
    }
    assert_eq!(sent, limit + 1);
    let streamed = s
        .http
        .put(s.url(&t.path("huge.pdf")))
        .bearer_auth(&t.ana.token)
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks.into_iter().map(Ok::<_, std::io::Error>),
        )))
        .send()
        .await
        .unwrap();
    assert_error(streamed, StatusCode::PAYLOAD_TOO_LARGE, "file_too_large").await;
    assert_eq!(t.kept().await, (0, 0, 0));
}

on_both_stores!(an_attachment_row_syncs_only_for_a_stored_file_and_takes_it_when_deleted);
async fn an_attachment_row_syncs_only_for_a_stored_file_and_takes_it_when_deleted(s: TestServer) {
    let t = team(&s).await;
    let id = Uuid::now_v7();
    let unsent = json!({
        "file_name": "report.pdf",
        "path": format!("{}/report.pdf", t.ticket),
        "size": 10,
        "mime_type": "application/pdf",
    });
    match t.attach(&t.ana, id, &unsent).await {
        MutationOutcome::Rejected { code, message, .. } => {
            assert_eq!(code, RejectionCode::MissingReference);
            assert!(message.contains("upload"), "{message}");
        }
        other => panic!("an attachment without its file: {other:?}"),
    }
    let report = pdf(300, 6);
    let stored: Value = t
        .put(&t.ana, "report.pdf", report.clone())
        .await
        .json()
        .await
        .unwrap();
    let id = Uuid::now_v7();
    assert_eq!(
        t.attach(&t.ana, id, &stored).await,
        MutationOutcome::Applied
    );

    // Ben may not delete Ana's file; Ada may read it; Ana deletes it.
    assert_error(
        t.delete(&t.ben, "report.pdf").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let deleted = t.delete(&t.ana, "report.pdf").await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_error(
        t.get(&t.ada, "report.pdf").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let (rows, audits): (i64, Vec<String>) = (
        sqlx::query_scalar("SELECT count(*) FROM ticket_attachments WHERE id = $1")
            .bind(id)
            .fetch_one(s.pool())
            .await
            .unwrap(),
        sqlx::query_scalar(
            "SELECT action FROM audit_history WHERE record_id = $1 ORDER BY created_at",
        )
        .bind(id)
        .fetch_all(s.pool())
        .await
        .unwrap(),
    );
    assert_eq!(rows, 0);
    assert_eq!(
        audits,
        ["INSERT", "DELETE"],
        "the attachment's delete is audited"
    );
    // The bytes wait for housekeeping (no object holds them now).
    assert_eq!(t.kept().await, (1, 0, 0));
}

on_both_stores!(a_signed_url_opens_one_file_for_one_method_until_it_expires);
async fn a_signed_url_opens_one_file_for_one_method_until_it_expires(s: TestServer) {
    let t = team(&s).await;
    let report = pdf(64, 7);
    let stored: Value = t
        .put(&t.ana, "report.pdf", report.clone())
        .await
        .json()
        .await
        .unwrap();
    let id = Uuid::now_v7();
    assert_eq!(
        t.attach(&t.ana, id, &stored).await,
        MutationOutcome::Applied
    );
    t.put(&t.ana, "other.pdf", pdf(1, 8)).await;

    let signed = s
        .post_as(
            &t.ana.token,
            "/storage/sign",
            json!({ "attachment_id": id }),
        )
        .await;
    assert_eq!(signed.status(), StatusCode::OK);
    let signed: Value = signed.json().await.unwrap();
    let url = signed["url"].as_str().unwrap().to_owned();
    assert_eq!(signed["method"], "GET");
    // No bearer: the link is the credential.
    let opened = s.http.get(s.url(&url)).send().await.unwrap();
    assert_eq!(opened.status(), StatusCode::OK);
    assert_eq!(sha256(&opened.bytes().await.unwrap()), sha256(&report));

    // Another method, another file, a forged signature: refused.
    let refused = s.http.delete(s.url(&url)).send().await.unwrap();
    assert_error(refused, StatusCode::FORBIDDEN, "link_invalid").await;
    let elsewhere = url.replace("report.pdf", "other.pdf");
    assert_error(
        s.http.get(s.url(&elsewhere)).send().await.unwrap(),
        StatusCode::FORBIDDEN,
        "link_invalid",
    )
    .await;
    let (base, signature) = url.rsplit_once("signature=").unwrap();
    let forged = format!(
        "{base}signature={}",
        signature.chars().rev().collect::<String>()
    );
    assert_error(
        s.http.get(s.url(&forged)).send().await.unwrap(),
        StatusCode::FORBIDDEN,
        "link_invalid",
    )
    .await;
    let other_user = url.replace(&t.ana.user_id.to_string(), &t.ada.user_id.to_string());
    assert_error(
        s.http.get(s.url(&other_user)).send().await.unwrap(),
        StatusCode::FORBIDDEN,
        "link_invalid",
    )
    .await;
    // An expired one, signed by the server's own key.
    let past = chrono::Utc::now().timestamp() - 1;
    let object = format!("ticket-attachments/{}/report.pdf", t.ticket);
    let expired = format!(
        "{}?{}",
        t.path("report.pdf"),
        s.state
            .storage
            .signer
            .sign("GET", &object, past, t.ana.user_id)
    );
    assert_error(
        s.http.get(s.url(&expired)).send().await.unwrap(),
        StatusCode::FORBIDDEN,
        "link_expired",
    )
    .await;

    // Ben may not have a link to a file he cannot see.
    let denied = s
        .post_as(
            &t.ben.token,
            "/storage/sign",
            json!({ "attachment_id": id }),
        )
        .await;
    assert_error(denied, StatusCode::NOT_FOUND, "not_found").await;
    // A link signed for a user who since lost the ticket stops working:
    // Ben is given a link the moment he is assigned, then taken off.
    let assignee = Uuid::now_v7();
    let pushed = t
        .ana
        .push(&[t.ana.insert(
            SyncTable::TicketAssignees,
            assignee,
            json!({ "ticket_id": t.ticket, "user_id": t.ben.user_id }),
        )])
        .await;
    assert_eq!(pushed.results[0].outcome, MutationOutcome::Applied);
    let bens: Value = s
        .post_as(
            &t.ben.token,
            "/storage/sign",
            json!({ "attachment_id": id }),
        )
        .await
        .json()
        .await
        .unwrap();
    let bens = bens["url"].as_str().unwrap().to_owned();
    assert_eq!(
        s.http.get(s.url(&bens)).send().await.unwrap().status(),
        StatusCode::OK
    );
    let pushed = t
        .ana
        .push(&[t.ana.delete(SyncTable::TicketAssignees, assignee)])
        .await;
    assert_eq!(pushed.results[0].outcome, MutationOutcome::Applied);
    assert_error(
        s.http.get(s.url(&bens)).send().await.unwrap(),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    // A signed upload: PUT to a path, by a link, no bearer.
    let upload: Value = s
        .post_as(
            &t.ana.token,
            "/storage/sign",
            json!({ "path": format!("{}/scan.png", t.ticket), "method": "PUT" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let put = s
        .http
        .put(s.url(upload["url"].as_str().unwrap()))
        .body(png())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::CREATED);
}

// Housekeeping, with a grace period of zero: whatever a crash or a
// refused sync left is found and removed, and then nothing is left.
on_both_stores!(housekeeping_finds_and_removes_what_a_crash_left);
async fn housekeeping_finds_and_removes_what_a_crash_left(s: TestServer) {
    // With a grace period of zero, everything left over counts.
    let t = team(&s).await;
    // A file whose attachment row never came.
    t.put(&t.ana, "orphan.pdf", pdf(10, 9)).await;
    // A file that was attached, then deleted: its bytes stay behind.
    let kept: Value = t
        .put(&t.ana, "kept.pdf", pdf(10, 10))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        t.attach(&t.ana, Uuid::now_v7(), &kept).await,
        MutationOutcome::Applied
    );
    let gone: Value = t
        .put(&t.ana, "gone.pdf", pdf(10, 11))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        t.attach(&t.ana, Uuid::now_v7(), &gone).await,
        MutationOutcome::Applied
    );
    t.delete(&t.ana, "gone.pdf").await;
    // An upload a crash cut short.
    let mut temp = s.state.storage.blobs.create_temp().await.unwrap();
    temp.write(bytes::Bytes::from_static(b"%PDF-1.7 half of it"))
        .await
        .unwrap();
    drop(temp);
    tokio::time::sleep(Duration::from_millis(20)).await;

    let report = housekeeping::run(&s.state.storage, false, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(
        report.unattached_objects.expired,
        [format!("{}/orphan.pdf", t.ticket)]
    );
    assert_eq!(report.unreferenced_blobs.expired.len(), 1, "{report:?}");
    assert!(report.temporary_uploads.expired.len() <= 1, "{report:?}");
    assert!(report.objects_without_bytes.expired.is_empty());
    assert_eq!(report.removed, 0, "check removes nothing");

    housekeeping::run(&s.state.storage, true, Duration::ZERO)
        .await
        .unwrap();
    // The orphan's bytes are unreferenced now: the next round takes them.
    housekeeping::run(&s.state.storage, true, Duration::ZERO)
        .await
        .unwrap();
    let after = housekeeping::run(&s.state.storage, false, Duration::ZERO)
        .await
        .unwrap();
    assert!(after.is_clean(), "{after:?}");
    assert_eq!(t.kept().await, (1, 0, 1), "only the attached file is left");
    let still = t.get(&t.ada, "kept.pdf").await;
    assert_eq!(still.status(), StatusCode::OK);
}

/// A server killed mid-upload: the app sends the file again, it is kept
/// once, and housekeeping clears what the first attempt left.
#[tokio::test]
async fn a_server_killed_mid_upload_keeps_the_file_once_after_the_retry() {
    let mut s = server(None, &[]).await;
    let ticket;
    let ana_token;
    {
        let t = team(&s).await;
        ticket = t.ticket;
        ana_token = t.ana.token.clone();
    }
    let url = s.url(&format!("/storage/ticket-attachments/{ticket}/big.pdf"));
    let report = pdf(8 * 1024, 12);
    // Half the file, then the sender waits for ever.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(4);
    let half = bytes::Bytes::from(report[..report.len() / 2].to_vec());
    tx.send(Ok(half)).await.unwrap();
    let http = s.http.clone();
    let token = ana_token.clone();
    let sending = tokio::spawn(async move {
        http.put(url)
            .bearer_auth(token)
            .body(reqwest::Body::wrap_stream(tokio_stream(rx)))
            .send()
            .await
    });
    // Wait until the half has reached the store.
    for _ in 0..100 {
        if !s
            .state
            .storage
            .blobs
            .list(Area::Uploads)
            .await
            .unwrap()
            .is_empty()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    s.crash();
    assert!(
        sending.await.unwrap().is_err(),
        "the connection died with the server"
    );
    drop(tx);
    s.restart().await;

    let retry = s
        .http
        .put(s.url(&format!("/storage/ticket-attachments/{ticket}/big.pdf")))
        .bearer_auth(&ana_token)
        .body(report.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(retry.status(), StatusCode::CREATED);
    let objects: i64 = sqlx::query_scalar("SELECT count(*) FROM storage.objects")
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert_eq!(objects, 1, "kept once");
    let left = s.state.storage.blobs.list(Area::Uploads).await.unwrap();
    assert_eq!(left.len(), 1, "the cut-off upload's temporary file");
    let cleaned = housekeeping::run(&s.state.storage, true, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(cleaned.temporary_uploads.expired.len(), 1);
    assert!(
        s.state
            .storage
            .blobs
            .list(Area::Uploads)
            .await
            .unwrap()
            .is_empty()
    );
}

/// An mpsc receiver as a stream.
fn tokio_stream<T: Send + 'static>(
    mut rx: tokio::sync::mpsc::Receiver<T>,
) -> impl futures_util::Stream<Item = T> + Send + 'static {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// An upload that stops sending is dropped after the idle timeout, and
/// leaves nothing.
#[tokio::test]
async fn an_upload_that_stops_sending_is_dropped_and_leaves_nothing() {
    let s = server(None, &["--upload-idle-timeout", "1"]).await;
    let t = team(&s).await;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(4);
    tx.send(Ok(bytes::Bytes::from(pdf(100, 13)))).await.unwrap();
    let response = s
        .http
        .put(s.url(&t.path("slow.pdf")))
        .bearer_auth(&t.ana.token)
        .body(reqwest::Body::wrap_stream(tokio_stream(rx)))
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::REQUEST_TIMEOUT, "upload_stalled").await;
    drop(tx);
    assert_eq!(t.kept().await, (0, 0, 0));
}

/// A serving process cleans up by itself (at start-up and hourly), past
/// its grace period (zero here).
#[tokio::test]
async fn a_serving_process_cleans_up_leftovers_by_itself() {
    let s = server(None, &["--storage-grace-hours", "0"]).await;
    let t = team(&s).await;
    assert_eq!(
        t.put(&t.ana, "orphan.pdf", pdf(10, 14)).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(t.kept().await, (1, 0, 1));
    housekeeping::start(s.state.storage.clone());
    for _ in 0..100 {
        // The object goes first; its bytes, unheld then, on the next pass
        // or this one's blob sweep.
        if t.kept().await.2 == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        t.kept().await.2,
        0,
        "the file no attachment came for is gone"
    );
}

/// A file found without its attachment row keeps it if the row arrives
/// between the check and the clean-up.
#[tokio::test]
async fn a_file_whose_row_arrives_after_the_check_is_kept_by_the_clean_up() {
    let s = server(None, &[]).await;
    let t = team(&s).await;
    let stored: Value = t
        .put(&t.ana, "late.pdf", pdf(10, 15))
        .await
        .json()
        .await
        .unwrap();
    let report = housekeeping::run(&s.state.storage, false, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(
        report.unattached_objects.expired,
        [format!("{}/late.pdf", t.ticket)]
    );
    assert_eq!(
        t.attach(&t.ana, Uuid::now_v7(), &stored).await,
        MutationOutcome::Applied
    );
    assert_eq!(
        housekeeping::remove(&s.state.storage, &report)
            .await
            .unwrap(),
        0
    );
    assert_eq!(t.kept().await, (1, 0, 1));
    assert_eq!(t.get(&t.ada, "late.pdf").await.status(), StatusCode::OK);
}
