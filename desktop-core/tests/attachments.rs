//! Attachment files from the field to the back office: attached offline
//! (copied into the replica at once), uploaded before their row when the
//! network returns, opened on a colleague's device with the same bytes,
//! renamed rather than overwritten, refused files in the inbox with the
//! server's reason, an app stopped mid-upload sending the file once, and a
//! cache that stays within its size and lets go of the files of tickets
//! that left the user's scope, sealed at rest: no file's bytes in
//! the clear on disk, an altered file refused, files an older version left
//! in the clear sealed. Real server, PostgreSQL and files.
#![allow(clippy::unwrap_used)]

mod support;

use std::io::Cursor;

use crm_desktop_core::files;
use crm_desktop_core::store::attachments::{self, FileState};
use crm_domain::NewTicket;
use sha2::{Digest, Sha256};
use support::{Backend, Client, Team};
use uuid::Uuid;

fn pdf(kib: usize, seed: u8) -> Vec<u8> {
    let mut bytes = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n".to_vec();
    bytes.extend((0..kib * 1024).map(|i| b'a' + ((i + seed as usize) % 26) as u8));
    bytes.extend_from_slice(b"\n%%EOF\n");
    bytes
}

fn png(seed: u8) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0".to_vec();
    bytes.extend(std::iter::repeat_n(seed, 8192));
    bytes
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn ticket(title: &str) -> NewTicket {
    NewTicket {
        title: title.into(),
        description: None,
        priority: crm_domain::TicketPriority::High,
        customer_id: None,
        assigned_to: None,
    }
}

/// Attaches `bytes` as `name`, as the window does: staged, then recorded.
fn attach(
    client: &Client,
    ticket_id: Uuid,
    name: &str,
    bytes: &[u8],
) -> crm_domain::TicketAttachment {
    let cache = client.with(|s| s.files().clone());
    let staged = cache.stage(&mut Cursor::new(bytes)).unwrap();
    client.with(|s| s.attach(ticket_id, name, &staged)).unwrap()
}

async fn server_count(backend: &Backend, sql: &'static str, id: Uuid) -> i64 {
    sqlx::query_scalar(sql)
        .bind(id)
        .fetch_one(backend.pool())
        .await
        .unwrap()
}

/// Attachment rows of a ticket on the server.
async fn attachments_on(backend: &Backend, ticket: Uuid) -> i64 {
    server_count(
        backend,
        "SELECT count(*) FROM ticket_attachments WHERE ticket_id = $1",
        ticket,
    )
    .await
}

/// Stored files of a ticket on the server.
async fn files_on(backend: &Backend, ticket: Uuid) -> i64 {
    server_count(
        backend,
        "SELECT count(*) FROM storage.objects WHERE name LIKE $1::text || '/%'",
        ticket,
    )
    .await
}

fn states(client: &Client, ticket_id: Uuid) -> Vec<(String, FileState)> {
    let page = client.with(|s| s.ticket_page(ticket_id)).unwrap();
    page.attachments
        .into_iter()
        .map(|a| (a.attachment.file_name, a.file))
        .collect()
}

#[tokio::test]
async fn files_attached_offline_reach_the_server_before_their_rows_and_open_for_the_back_office() {
    let backend = Backend::start().await;
    Team::create(&backend).await;
    let mut ben = Client::sign_in(&backend, "ben@example.com").await;
    // On site, no network: a ticket, the invoice and a photo of the meter.
    let t = ben.with(|s| s.open_ticket(ticket("Meter broken"))).unwrap();
    let invoice = pdf(3 * 1024, 1);
    let photo = png(7);
    // The invoice comes from a file that is then moved away: the replica
    // has its own copy.
    let original = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(original.path(), &invoice).unwrap();
    let bens_files = ben.with(|s| s.files().clone());
    let staged = bens_files
        .stage(&mut std::fs::File::open(original.path()).unwrap())
        .unwrap();
    original.close().unwrap();
    ben.with(|s| s.attach(t.id, "Invoice 2026-118.pdf", &staged))
        .unwrap();
    let shot = attach(&ben, t.id, "meter.png", &photo);
    assert_eq!(shot.mime_type, "image/png");
    assert_eq!(
        states(&ben, t.id),
        [
            ("Invoice 2026-118.pdf".to_owned(), FileState::Waiting),
            ("meter.png".to_owned(), FileState::Waiting)
        ]
    );

    // Ben's copies are sealed: not a run of the invoice's bytes on disk.
    for (bytes, sha) in [(&invoice, &staged.sha256), (&photo, &sha256(&photo))] {
        let on_disk = std::fs::read(bens_files.path_of(sha)).unwrap();
        assert_eq!(&on_disk[..8], crm_desktop_core::sealed::MAGIC);
        assert!(
            !contains(&on_disk, &bytes[..8]),
            "a file's head in the clear"
        );
        assert!(!contains(&on_disk, &bytes[bytes.len() - 64..]));
    }

    // Back in range.
    ben.start_sync();
    ben.synced().await;
    assert_eq!(attachments_on(&backend, t.id).await, 2);
    assert_eq!(files_on(&backend, t.id).await, 2);
    assert!(
        states(&ben, t.id)
            .iter()
            .all(|(_, s)| *s == FileState::AvailableOffline),
        "{:?}",
        states(&ben, t.id)
    );

    // The back office: the same bytes.
    let mut ada = Client::sign_in(&backend, "ada@example.com").await;
    ada.start_sync();
    ada.synced().await;
    assert!(
        states(&ada, t.id)
            .iter()
            .all(|(_, s)| *s == FileState::OnServer)
    );
    let page = ada.with(|s| s.ticket_page(t.id)).unwrap();
    let limit = attachments::DEFAULT_CACHE_LIMIT_BYTES;
    let adas_files = ada.with(|s| s.files().clone());
    for item in &page.attachments {
        let file = files::fetch(&ada.store, &ada.session, item.attachment.id, limit)
            .await
            .unwrap();
        let expected = if item.attachment.file_name == "meter.png" {
            &photo
        } else {
            &invoice
        };
        assert_eq!(sha256(&file.read().unwrap()), sha256(expected));
        assert_eq!(item.uploaded_by_name.as_deref(), Some("Ben Agent"));
        // Downloaded straight into the sealed cache.
        let on_disk = std::fs::read(adas_files.path_of(file.sha256())).unwrap();
        assert!(!contains(&on_disk, &expected[expected.len() - 64..]));
        // What the system's application opens: the same bytes, under the
        // file's own name, in a directory only Ada can read.
        let copy = file.open_copy().unwrap();
        assert_eq!(
            copy.file_name().unwrap().to_string_lossy(),
            item.attachment.file_name
        );
        assert_eq!(std::fs::read(&copy).unwrap(), *expected);
        let open_dir = copy.parent().unwrap().parent().unwrap();
        assert_eq!(mode(open_dir), 0o700);
    }
    assert!(
        states(&ada, t.id)
            .iter()
            .all(|(_, s)| *s == FileState::AvailableOffline)
    );

    // Ben deletes the photo: gone for Ada, and from her device.
    ben.with(|s| s.delete_attachment(shot.id)).unwrap();
    ben.synced().await;
    ada.synced().await;
    assert_eq!(
        states(&ada, t.id),
        [(
            "Invoice 2026-118.pdf".to_owned(),
            FileState::AvailableOffline
        )]
    );
    assert!(!adas_files.holds(&sha256(&photo)));
    assert_eq!(files_on(&backend, t.id).await, 1);

    // Ada's app starts again: the clear copies handed out are gone; the
    // sealed cache stays.
    let opened = adas_files.dir().with_file_name("open");
    assert!(opened.exists());
    ada.stop_sync().await;
    let first = ada;
    let ada = Client::resume(first.data_dir.clone());
    assert!(!opened.exists(), "clear copies outlive a restart");
    assert_eq!(
        states(&ada, t.id),
        [(
            "Invoice 2026-118.pdf".to_owned(),
            FileState::AvailableOffline
        )]
    );
}

/// The SHA-256 the server stored for `ticket`'s file `name`.
async fn stored_sha256(backend: &Backend, ticket: Uuid, name: &str) -> String {
    sqlx::query_scalar("SELECT content_sha256 FROM storage.objects WHERE name = $1")
        .bind(format!("{ticket}/{name}"))
        .fetch_one(backend.pool())
        .await
        .unwrap()
}

/// Alters a file on disk: one bit of the byte at `at(its length)`.
fn flip_a_bit(path: &std::path::Path, at: impl Fn(usize) -> usize) {
    let mut bytes = std::fs::read(path).unwrap();
    let i = at(bytes.len());
    bytes[i] ^= 0x40;
    std::fs::write(path, &bytes).unwrap();
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn a_file_is_checked_as_the_server_would_before_anything_is_recorded() {
    let backend = Backend::start().await;
    Team::create(&backend).await;
    let ben = Client::sign_in(&backend, "ben@example.com").await;
    let cache = ben.with(|s| s.files().clone());
    let program = std::fs::read("/bin/true").unwrap();
    let mut scripted = pdf(10, 2);
    scripted.extend_from_slice(b"<< /S /JavaScript /JS (app.alert(1)) >>");
    for bytes in [program, scripted, Vec::new()] {
        let refused = cache.stage(&mut Cursor::new(bytes));
        assert!(
            matches!(refused, Err(crm_desktop_core::CoreError::Invalid(_))),
            "{refused:?}"
        );
    }
    assert_eq!(ben.with(|s| s.pending_count()).unwrap(), 0);
    // Nothing half-copied is left behind.
    let left: Vec<_> = std::fs::read_dir(cache.dir()).unwrap().flatten().collect();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test]
async fn a_name_taken_on_the_server_meanwhile_is_numbered_and_both_files_are_kept() {
    let backend = Backend::start().await;
    let team = Team::create(&backend).await;
    let mut ada = Client::sign_in(&backend, "ada@example.com").await;
    let mut ben = Client::sign_in(&backend, "ben@example.com").await;
    let t = ben.with(|s| s.open_ticket(ticket("Two reports"))).unwrap();
    ben.with(|s| s.add_assignee(t.id, team.ada)).unwrap();
    ben.start_sync();
    ben.synced().await;
    ada.start_sync();
    ada.synced().await;
    // Both write a report offline, under the same name.
    ben.stop_sync().await;
    ada.stop_sync().await;
    let bens = pdf(20, 3);
    let adas = pdf(20, 4);
    attach(&ben, t.id, "report.pdf", &bens);
    attach(&ada, t.id, "report.pdf", &adas);
    ben.start_sync();
    ben.synced().await;
    ada.start_sync();
    ada.synced().await;
    ben.synced().await;
    let mut names: Vec<String> = states(&ben, t.id).into_iter().map(|(n, _)| n).collect();
    names.sort();
    assert_eq!(names, ["report (2).pdf", "report.pdf"]);
    let page = ben.with(|s| s.ticket_page(t.id)).unwrap();
    for item in page.attachments {
        let file = files::fetch(&ben.store, &ben.session, item.attachment.id, u64::MAX)
            .await
            .unwrap();
        let expected = if item.attachment.file_name == "report.pdf" {
            &bens
        } else {
            &adas
        };
        assert_eq!(
            sha256(&file.read().unwrap()),
            sha256(expected),
            "{}",
            item.attachment.file_name
        );
    }
    assert_eq!(ada.with(|s| s.inbox()).unwrap().len(), 0);
}

#[tokio::test]
async fn a_file_the_server_refuses_goes_to_the_inbox_with_its_reason() {
    let backend = Backend::start().await;
    let team = Team::create(&backend).await;
    let mut ada = Client::sign_in(&backend, "ada@example.com").await;
    let mut ben = Client::sign_in(&backend, "ben@example.com").await;
    let t = ada
        .with(|s| s.open_ticket(ticket("Ben's for now")))
        .unwrap();
    ada.with(|s| s.add_assignee(t.id, team.ben)).unwrap();
    ada.start_sync();
    ada.synced().await;
    ben.start_sync();
    ben.synced().await;
    // Ben attaches offline; meanwhile he is taken off the ticket.
    ben.stop_sync().await;
    attach(&ben, t.id, "site.png", &png(3));
    ada.with(|s| s.remove_assignee(t.id, team.ben)).unwrap();
    ada.synced().await;
    ben.start_sync();
    ben.status_where(|s| s.inbox == 1).await;
    let inbox = ben.with(|s| s.inbox()).unwrap();
    assert_eq!(inbox.rejected.len(), 1);
    let refused = &inbox.rejected[0];
    assert_eq!(refused.field.as_deref(), Some("file"));
    assert!(
        refused.message.contains("may not attach"),
        "{}",
        refused.message
    );
    assert_eq!(refused.subject.as_deref(), Some("Ben's for now"));
    assert_eq!(files_on(&backend, t.id).await, 0);
    // Put back on the ticket, Ben sends it again from the inbox: the file
    // goes up again, then its row.
    let seq = refused.seq;
    ada.with(|s| s.add_assignee(t.id, team.ben)).unwrap();
    ada.synced().await;
    ben.synced().await;
    ben.with(|s| s.retry_rejected(seq)).unwrap();
    ben.synced().await;
    assert_eq!(ben.with(|s| s.inbox()).unwrap().len(), 0);
    assert_eq!(attachments_on(&backend, t.id).await, 1);
    assert_eq!(files_on(&backend, t.id).await, 1);
}

#[tokio::test]
async fn an_app_stopped_mid_upload_sends_the_file_once_when_it_starts_again() {
    let backend = Backend::start().await;
    Team::create(&backend).await;
    let mut ben = Client::sign_in(&backend, "ben@example.com").await;
    let t = ben.with(|s| s.open_ticket(ticket("Big scan"))).unwrap();
    let scan = pdf(40 * 1024, 5);
    attach(&ben, t.id, "scan.pdf", &scan);
    ben.start_sync();
    let mid = ben
        .status_where(|s| s.upload.as_ref().is_some_and(|u| u.sent > 0))
        .await;
    assert_eq!(mid.upload.unwrap().total as usize, scan.len());
    // The app quits (or is killed) with the upload in flight.
    ben.stop_sync().await;
    // The app starts again on the same data directory (the first client
    // is kept only because it owns the temporary directory).
    let first = ben;
    let mut ben = Client::resume(first.data_dir.clone());
    ben.start_sync();
    ben.synced().await;
    assert_eq!(ben.with(|s| s.inbox()).unwrap().len(), 0);
    assert_eq!(attachments_on(&backend, t.id).await, 1);
    assert_eq!(files_on(&backend, t.id).await, 1);
    assert_eq!(
        stored_sha256(&backend, t.id, "scan.pdf").await,
        sha256(&scan)
    );
}

#[tokio::test]
async fn the_cache_lets_the_least_recently_opened_go_first_but_never_unsent_work() {
    let backend = Backend::start().await;
    Team::create(&backend).await;
    let mut ben = Client::sign_in(&backend, "ben@example.com").await;
    let mut ada = Client::sign_in(&backend, "ada@example.com").await;
    let one = ben.with(|s| s.open_ticket(ticket("One"))).unwrap();
    let two = ben.with(|s| s.open_ticket(ticket("Two"))).unwrap();
    let a = attach(&ben, one.id, "a.pdf", &pdf(100, 1));
    let b = attach(&ben, two.id, "b.pdf", &pdf(100, 2));
    ben.start_sync();
    ben.synced().await;
    ada.start_sync();
    ada.synced().await;
    let limit = u64::MAX;
    files::fetch(&ada.store, &ada.session, a.id, limit)
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    files::fetch(&ada.store, &ada.session, b.id, limit)
        .await
        .unwrap();
    // Room for one: the least recently opened (a) goes.
    let one_file = a.file_size as u64 + 16;
    ada.with(|s| s.sweep_files(one_file)).unwrap();
    assert_eq!(
        states(&ada, one.id),
        [("a.pdf".to_owned(), FileState::OnServer)]
    );
    assert_eq!(
        states(&ada, two.id),
        [("b.pdf".to_owned(), FileState::AvailableOffline)]
    );
    // Unsent work on ticket two keeps its file, whatever the limit.
    ada.stop_sync().await;
    ada.with(|s| {
        s.add_comment(crm_domain::NewComment {
            ticket_id: two.id,
            content: "checked the scan".into(),
            is_internal: false,
        })
    })
    .unwrap();
    ada.with(|s| s.sweep_files(0)).unwrap();
    assert_eq!(
        states(&ada, two.id),
        [("b.pdf".to_owned(), FileState::AvailableOffline)]
    );
}

#[tokio::test]
async fn a_cached_file_goes_when_its_ticket_leaves_the_users_scope() {
    let backend = Backend::start().await;
    let team = Team::create(&backend).await;
    let mut ada = Client::sign_in(&backend, "ada@example.com").await;
    let mut cy = Client::sign_in(&backend, "cy@example.com").await;
    // Ada opens a ticket for Cy with the meter's photo on it.
    let meter = ada
        .with(|s| {
            s.open_ticket(NewTicket {
                assigned_to: Some(team.cy),
                ..ticket("Meter")
            })
        })
        .unwrap();
    let photo = png(7);
    let attached = attach(&ada, meter.id, "meter.png", &photo);
    ada.start_sync();
    ada.synced().await;
    cy.start_sync();
    cy.synced().await;
    let cached = files::fetch(&cy.store, &cy.session, attached.id, u64::MAX)
        .await
        .unwrap();
    assert_eq!(cached.read().unwrap(), photo);
    let cache = cy.with(|s| s.files().clone());
    assert!(cache.holds(&sha256(&photo)), "Cy has the photo offline");
    // The ticket goes to Ben: Cy may no longer see it, nor keep its file.
    ada.with(|s| s.set_ticket_lead(meter.id, team.ben)).unwrap();
    ada.with(|s| s.remove_assignee(meter.id, team.cy)).unwrap();
    ada.synced().await;
    cy.synced().await;
    assert!(
        cy.with(|s| s.ticket(meter.id)).is_err(),
        "the ticket left Cy's replica"
    );
    assert!(
        !cache.holds(&sha256(&photo)),
        "the file of a ticket out of Cy's scope left her cache"
    );
    assert!(matches!(
        cy.with(|s| s.file_of(attached.id)),
        Err(crm_desktop_core::error::CoreError::NotFound { .. })
    ));
}

#[tokio::test]
async fn a_cached_file_altered_on_disk_is_refused_rather_than_shown() {
    let backend = Backend::start().await;
    Team::create(&backend).await;
    let mut ben = Client::sign_in(&backend, "ben@example.com").await;
    let t = ben.with(|s| s.open_ticket(ticket("Gauge"))).unwrap();
    let report = pdf(200, 6);
    let attached = attach(&ben, t.id, "gauge.pdf", &report);
    ben.start_sync();
    ben.synced().await;
    let limit = u64::MAX;
    let file = files::fetch(&ben.store, &ben.session, attached.id, limit)
        .await
        .unwrap();
    assert_eq!(file.read().unwrap(), report);
    // One bit changed in the middle of the sealed file.
    let cache = ben.with(|s| s.files().clone());
    flip_a_bit(&cache.path_of(file.sha256()), |len| len / 2);
    let error = file.read().unwrap_err();
    assert!(
        error.to_string().contains("damaged or was altered"),
        "{error}"
    );
    assert!(file.open_copy().is_err());
    // Nothing half-written is handed to another application.
    let opened = cache
        .dir()
        .with_file_name("open")
        .join(attached.id.to_string());
    let left: Vec<_> = std::fs::read_dir(&opened)
        .map(|d| d.flatten().collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test]
async fn a_file_to_upload_damaged_on_disk_goes_to_the_inbox_and_the_rest_is_sent() {
    let backend = Backend::start().await;
    Team::create(&backend).await;
    let mut ben = Client::sign_in(&backend, "ben@example.com").await;
    let t = ben.with(|s| s.open_ticket(ticket("Damaged"))).unwrap();
    let scan = pdf(300, 8);
    attach(&ben, t.id, "scan.pdf", &scan);
    let after = ben
        .with(|s| s.create_customer(support::new_customer("Quay Supplies")))
        .unwrap();
    let cache = ben.with(|s| s.files().clone());
    // In the last chunk: its first ones go before the reading fails.
    flip_a_bit(&cache.path_of(&sha256(&scan)), |len| len - 3);
    ben.start_sync();
    ben.status_where(|s| s.inbox == 1).await;
    ben.synced().await;
    let inbox = ben.with(|s| s.inbox()).unwrap();
    assert_eq!(inbox.rejected.len(), 1);
    assert!(
        inbox.rejected[0].message.contains("damaged or was altered"),
        "{}",
        inbox.rejected[0].message
    );
    assert_eq!(files_on(&backend, t.id).await, 0);
    assert_eq!(attachments_on(&backend, t.id).await, 0);
    let customers: i64 = sqlx::query_scalar("SELECT count(*) FROM customers WHERE id = $1")
        .bind(after.id)
        .fetch_one(backend.pool())
        .await
        .unwrap();
    assert_eq!(customers, 1, "the work after the file was sent");
}

#[tokio::test]
async fn files_an_older_version_cached_in_the_clear_open_and_are_sealed_when_the_app_starts() {
    let backend = Backend::start().await;
    Team::create(&backend).await;
    let mut ben = Client::sign_in(&backend, "ben@example.com").await;
    let t = ben.with(|s| s.open_ticket(ticket("Legacy"))).unwrap();
    let (sent, waiting) = (pdf(150, 9), png(9));
    let uploaded = attach(&ben, t.id, "sent.pdf", &sent);
    ben.start_sync();
    ben.synced().await;
    ben.stop_sync().await;
    attach(&ben, t.id, "waiting.png", &waiting);
    // As an older version kept them: the bytes themselves.
    let cache = ben.with(|s| s.files().clone());
    for bytes in [&sent, &waiting] {
        std::fs::write(cache.path_of(&sha256(bytes)), bytes).unwrap();
    }
    let file = files::fetch(&ben.store, &ben.session, uploaded.id, u64::MAX)
        .await
        .unwrap();
    assert_eq!(file.read().unwrap(), sent, "read while still in the clear");

    let first = ben;
    let mut ben = Client::resume(first.data_dir.clone());
    let sealed =
        |bytes: &[u8]| crm_desktop_core::sealed::is_sealed(&cache.path_of(&sha256(bytes))).unwrap();
    for _ in 0..100 {
        if sealed(&sent) && sealed(&waiting) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        sealed(&sent) && sealed(&waiting),
        "sealed in the background"
    );
    let file = files::fetch(&ben.store, &ben.session, uploaded.id, u64::MAX)
        .await
        .unwrap();
    assert_eq!(file.read().unwrap(), sent);
    // The one still to send goes up whole.
    ben.start_sync();
    ben.synced().await;
    assert_eq!(files_on(&backend, t.id).await, 2);
    assert_eq!(
        stored_sha256(&backend, t.id, "waiting.png").await,
        sha256(&waiting)
    );
}
