//! The app end to end, in real windows: an agent signs in, loses the
//! network, keeps working, and once the server is back their work reaches
//! PostgreSQL exactly once with its audit row, a change the server refuses
//! waits in the inbox, and an admin's app shows the work.
//! Screenshots of each main screen are kept in `<target>/e2e-screenshots/`.
#![allow(clippy::unwrap_used)]

mod support;

use crm_domain::UserRole;
use support::{App, Desktop, app_binary};
use sync_server::harness::{Backend, PASSWORD};
use uuid::Uuid;

/// What the agent already has on the server before the day starts.
struct Seed {
    customer: Uuid,
    ticket: Uuid,
}

async fn seed(backend: &Backend, ben: Uuid) -> Seed {
    let pool = backend.pool();
    let customer = Uuid::now_v7();
    let ticket = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO customers (id, name, email, phone, acquisition_stage, owner)
         VALUES ($1, 'Northwind Traders', 'ops@northwind.example', '+49 30 1234567', 'qualified', $2)",
    )
    .bind(customer)
    .bind(ben)
    .execute(pool)
    .await
    .unwrap();
    // A follow-up that fell due while the app was closed.
    sqlx::query(
        "INSERT INTO customer_interactions (customer_id, type, channel, note, follow_up_date, created_by)
         VALUES ($1, 'call', 'phone', 'Wants a quote for the spring order', now() - interval '1 hour', $2)",
    )
    .bind(customer)
    .bind(ben)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO tickets (id, title, description, priority, customer_id, assigned_to, created_by)
         VALUES ($1, 'Delivery arrived damaged', 'Two boxes crushed', 'high', $2, $3, $3)",
    )
    .bind(ticket)
    .bind(customer)
    .bind(ben)
    .execute(pool)
    .await
    .unwrap();
    for (content, internal) in [
        ("Sorry about that: a replacement is on its way.", false),
        ("Warehouse says the pallet was dropped.", true),
    ] {
        sqlx::query(
            "INSERT INTO ticket_comments (ticket_id, content, is_internal, created_by) VALUES ($1, $2, $3, $4)",
        )
        .bind(ticket)
        .bind(content)
        .bind(internal)
        .bind(ben)
        .execute(pool)
        .await
        .unwrap();
    }
    Seed { customer, ticket }
}

/// Files dropped from the desktop onto the window: the event the shell
/// sends when the OS drops files (the OS's own drag cannot be driven from
/// here; everything after it is the app's).
async fn drop_files(app: &App, paths: &[&std::path::Path]) {
    let paths: Vec<String> = paths
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    app.client
        .execute(
            "return window.__TAURI_INTERNALS__.invoke('plugin:event|emit', {
                 event: 'tauri://drag-drop',
                 payload: { paths: arguments[0], position: { x: 10, y: 10 } } });",
            vec![serde_json::json!(paths)],
        )
        .await
        .unwrap();
}

fn sha256_of(path: &std::path::Path) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(std::fs::read(path).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn sign_in(app: &App, email: &str) {
    app.fill("#login-email", email).await;
    app.fill("#login-password", PASSWORD).await;
    app.click("#login-submit").await;
    app.find("#customer-list[data-loaded='true']").await;
}

/// The tests here share the machine's two cores: one window at a time.
static ONE_WINDOW_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread")]
async fn an_agent_works_offline_and_the_team_sees_it_once_back_online() {
    let _window = ONE_WINDOW_AT_A_TIME.lock().await;
    let mut backend = Backend::start().await;
    let ben = backend
        .create_account("ben@example.com", "Ben Agent", UserRole::Agent)
        .await;
    let ada = backend
        .create_account("ada@example.com", "Ada Admin", UserRole::Admin)
        .await;
    let seeded = seed(&backend, ben).await;
    let server = backend.url();

    let bens_desk = Desktop::start().await;
    let bens_data = tempfile::tempdir().unwrap();
    let bens_dir = bens_data.path().to_str().unwrap().to_owned();
    let app = bens_desk
        .open_app(&["--data-dir", &bens_dir, "--server", &server])
        .await;

    app.find("#login-email").await;
    app.attribute_is("#login-server", "value", &server).await;
    app.screenshot("1-sign-in").await;
    sign_in(&app, "ben@example.com").await;
    app.attribute_is("#status-connection", "data-state", "idle")
        .await;
    app.count("#customer-list .customer-row", 1).await;
    app.screenshot("2-customers").await;

    // The same replica cannot be opened twice.
    let second = std::process::Command::new(app_binary())
        .args(["--data-dir", &bens_dir, "--server", &server])
        .env("DISPLAY", &bens_desk.display)
        .output()
        .unwrap();
    assert_eq!(
        second.status.code(),
        Some(2),
        "a second app on the same replica is refused"
    );
    assert!(String::from_utf8_lossy(&second.stderr).contains("already running"));

    // The follow-up that fell due while the app was closed is announced;
    // choosing it brings the customer forward.
    bens_desk.notifications_shown(1).await;
    let clicked = bens_desk
        .command("dunstctl")
        .args(["action", "0"])
        .status()
        .unwrap();
    assert!(clicked.success());
    app.attribute_is("#customer-page", "data-id", &seeded.customer.to_string())
        .await;
    app.count(".interaction-row", 1).await;
    app.screenshot("3-customer-page").await;

    // The ticket, with its internal comment marked.
    app.click(&format!(".ticket-row[data-id='{}']", seeded.ticket))
        .await;
    app.attribute_is("#ticket-page", "data-id", &seeded.ticket.to_string())
        .await;
    app.count(".comment", 2).await;
    app.count(".comment.internal", 1).await;
    app.screenshot("4-ticket-page").await;
    // The author corrects his comment in place.
    app.click(".comment:not(.internal) .comment-edit").await;
    app.fill(
        ".comment-edit-text",
        "Sorry about that: the replacement left today.",
    )
    .await;
    app.click(".comment-edit-save").await;
    app.text_contains(".comment:not(.internal) .note", "left today")
        .await;
    app.attribute_is("#status-pending", "data-count", "0").await;
    app.click("#nav-tickets").await;
    app.count("#ticket-list .ticket-row", 1).await;
    app.screenshot("5-my-tickets").await;

    // The missed follow-up waits under Follow-ups; he has made the call.
    app.click("#nav-follow-ups").await;
    app.count("#follow-ups-overdue .follow-up-item", 1).await;
    app.screenshot("5b-follow-ups").await;
    app.click("#follow-ups-overdue .follow-up-done").await;
    app.find("#follow-ups .empty").await;
    // It reaches the server by itself (within the test's patience).
    let mut done: Option<chrono::DateTime<chrono::Utc>> = None;
    for _ in 0..100 {
        done = sqlx::query_scalar(
            "SELECT follow_up_done_at FROM customer_interactions WHERE customer_id = $1",
        )
        .bind(seeded.customer)
        .fetch_one(backend.pool())
        .await
        .unwrap();
        if done.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(done.is_some(), "marked done on the server");
    app.attribute_is("#status-pending", "data-count", "0").await;

    // The network goes away; the agent keeps working.
    backend.stop().await;
    app.click("#nav-customers").await;
    app.find("#customer-list[data-loaded='true']").await;
    app.click("#new-customer").await;
    app.fill("#customer-name", "Harbour Hardware").await;
    app.fill("#customer-email", "not an email").await;
    app.find(".field-error[data-field='email']").await;
    app.fill("#customer-email", "shop@harbour.example").await;
    app.count(".field-error", 0).await;
    app.fill("#customer-phone", "+49 40 555 0100").await;
    app.click("#customer-save").await;
    app.text_contains("#customer-title", "Harbour Hardware")
        .await;
    app.attribute_is("#status-pending", "data-count", "1").await;

    app.click("#log-interaction").await;
    app.fill("#interaction-type", "visit").await;
    app.set_value("#interaction-channel", "meeting").await;
    app.fill("#interaction-note", "Wants twenty shelving units by March")
        .await;
    app.set_value("#interaction-follow-up", "2030-03-01T09:30")
        .await;
    app.click("#interaction-save").await;
    app.count(".interaction-row", 1).await;
    app.attribute_is("#status-pending", "data-count", "2").await;
    app.attribute_is("#status-connection", "data-state", "offline")
        .await;

    // On site, still offline: the signed report and a photo of the damage
    // go onto the ticket, dropped from the desktop.
    let files = tempfile::tempdir().unwrap();
    let report = files.path().join("Service report.pdf");
    let mut pdf = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n".to_vec();
    pdf.extend((0..300_000).map(|i| b'a' + (i % 26) as u8));
    std::fs::write(&report, &pdf).unwrap();
    let photo = files.path().join("damage.png");
    // A real picture, so its thumbnail can show.
    let png = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/damage.png"
    ))
    .unwrap();
    std::fs::write(&photo, &png).unwrap();
    app.click("#nav-tickets").await;
    app.count("#ticket-list .ticket-row", 1).await;
    app.click(&format!(
        "#ticket-list .ticket-row[data-id='{}'] td.strong",
        seeded.ticket
    ))
    .await;
    app.attribute_is("#ticket-page", "data-id", &seeded.ticket.to_string())
        .await;
    app.find("#attachments-panel[data-drop-ready='true']").await;
    drop_files(&app, &[&report, &photo]).await;
    app.count(".attachment[data-state='waiting']", 2).await;
    app.attribute_is("#status-pending", "data-count", "4").await;
    app.screenshot("6b-attached-offline").await;

    // Meanwhile, at the office, the admin gives Northwind to herself; Ben,
    // offline, does not know and logs a call with them.
    sqlx::query("UPDATE customers SET owner = $1 WHERE id = $2")
        .bind(ada)
        .bind(seeded.customer)
        .execute(backend.pool())
        .await
        .unwrap();
    app.click("#nav-customers").await;
    app.click(&format!(
        ".customer-row[data-id='{}'] .customer-name",
        seeded.customer
    ))
    .await;
    app.attribute_is("#customer-page", "data-id", &seeded.customer.to_string())
        .await;
    app.click("#log-interaction").await;
    app.fill("#interaction-type", "call").await;
    app.fill("#interaction-note", "Quote sent").await;
    app.click("#interaction-save").await;
    app.count(".interaction-row", 2).await;
    app.attribute_is("#status-pending", "data-count", "5").await;
    app.screenshot("6-offline-with-pending-work").await;

    // The network comes back: the work goes out without a click. The call
    // on a customer Ben no longer owns is refused, and waits in his inbox
    // with the server's reason; Northwind leaves his replica.
    backend.restart().await;
    app.attribute_is("#status-pending", "data-count", "0").await;
    app.attribute_is("#inbox-count", "data-count", "1").await;
    // He was looking at Northwind: the window says why it went away.
    app.text_contains("#toast", "no longer available to you")
        .await;
    app.find("#customers-screen").await;

    let pool = backend.pool();
    let attached: Vec<(String, i64)> = sqlx::query_as(
        "SELECT a.file_name, o.size FROM ticket_attachments a
           JOIN storage.objects o ON o.name = a.file_path
          WHERE a.ticket_id = $1 ORDER BY a.file_name",
    )
    .bind(seeded.ticket)
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(
        attached,
        [
            ("Service report.pdf".to_owned(), pdf.len() as i64),
            ("damage.png".to_owned(), png.len() as i64)
        ],
        "both files and their rows reached the server"
    );
    let ids: Vec<Uuid> =
        sqlx::query_scalar("SELECT id FROM customers WHERE name = 'Harbour Hardware'")
            .fetch_all(pool)
            .await
            .unwrap();
    assert_eq!(ids.len(), 1, "the customer reached PostgreSQL exactly once");
    let audits: Vec<(String, Option<Uuid>, Option<i64>)> = sqlx::query_as(
        "SELECT action, client_id, client_seq FROM audit_history WHERE table_name = 'customers' AND record_id = $1",
    )
    .bind(ids[0])
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(audits.len(), 1, "one audit row: {audits:?}");
    assert_eq!(audits[0].0, "INSERT");
    assert!(
        audits[0].1.is_some() && audits[0].2 == Some(3),
        "the audit row names the app's mutation (its third, after the comment edit and the follow-up done): {audits:?}"
    );
    let interactions: i64 =
        sqlx::query_scalar("SELECT count(*) FROM customer_interactions WHERE customer_id = $1")
            .bind(ids[0])
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(interactions, 1);
    let edited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM ticket_comments WHERE ticket_id = $1 AND content LIKE '%left today%'",
    )
    .bind(seeded.ticket)
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(edited, 1, "the edited comment reached PostgreSQL");

    app.click("#nav-inbox").await;
    app.find("#inbox[data-loaded='true']").await;
    app.count(".rejected-item", 1).await;
    app.text_contains(".rejected-item", "Quote sent").await;
    // Named by its customer, although Northwind has left Ben's replica.
    app.text_contains(".rejected-item .rejected-subject", "Northwind")
        .await;
    app.screenshot("7-inbox").await;
    app.click("#nav-customers").await;
    app.count("#customer-list .customer-row", 1).await;
    app.text_contains(
        "#customer-list .customer-row .customer-name",
        "Harbour Hardware",
    )
    .await;
    app.click("#nav-dashboard").await;
    app.screenshot("8-dashboard").await;

    // A second app, the admin's, sees the agent's new customer.
    let adas_desk = Desktop::start().await;
    let adas_data = tempfile::tempdir().unwrap();
    // Ada's "system application" is a script that keeps what it is given.
    let opened = tempfile::tempdir().unwrap();
    let opener = opened.path().join("open.sh");
    std::fs::write(
        &opener,
        format!("#!/bin/sh\ncp \"$1\" '{}/'\n", opened.path().display()),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&opener, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let admin = adas_desk
        .open_app(&[
            "--data-dir",
            adas_data.path().to_str().unwrap(),
            "--server",
            &server,
            "--open-with",
            opener.to_str().unwrap(),
        ])
        .await;
    sign_in(&admin, "ada@example.com").await;
    admin.fill("#customer-search", "harbour").await;
    admin.count("#customer-list .customer-row", 1).await;
    admin
        .text_contains(
            "#customer-list .customer-row .customer-name",
            "Harbour Hardware",
        )
        .await;
    admin.screenshot("9-admin-sees-it").await;

    // The back office opens Ben's report: the same bytes.
    admin.click("#nav-tickets").await;
    admin.click("#ticket-view-all").await;
    let row = format!(
        "#ticket-list .ticket-row[data-id='{}'] td.strong",
        seeded.ticket
    );
    admin.find(&row).await;
    admin.click(&row).await;
    admin
        .attribute_is("#ticket-page", "data-id", &seeded.ticket.to_string())
        .await;
    admin.count(".attachment[data-state='on_server']", 2).await;
    admin
        .click(".attachment-open[aria-label='Open Service report.pdf']")
        .await;
    let copy = opened.path().join("");
    let mut seen = None;
    for _ in 0..100 {
        let found: Vec<_> = std::fs::read_dir(&copy)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_none_or(|e| e != "sh"))
            .collect();
        if let Some(path) = found.first()
            && std::fs::metadata(path).map(|m| m.len()).unwrap_or(0) == pdf.len() as u64
        {
            seen = Some(path.clone());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let seen = seen.expect("the opener was handed the report");
    assert_eq!(sha256_of(&seen), sha256_of(&report), "the same bytes");
    admin
        .find(".attachment[data-state='available_offline'] .attachment-open[aria-label='Open Service report.pdf']")
        .await;
    // Thumbnails load as the list scrolls into view.
    admin
        .client
        .execute(
            "document.querySelector('#attachments-heading').scrollIntoView(); return null;",
            vec![],
        )
        .await
        .unwrap();
    admin.find(".attachment .attachment-thumb").await;
    admin.screenshot("9a-attachments").await;
    // And deletes the photo, for everyone.
    admin
        .click(".attachment-delete[aria-label='Delete damage.png']")
        .await;
    admin.click(".attachment-delete-confirm").await;
    admin.count(".attachment", 1).await;
    let mut left = (0i64, 0i64);
    for _ in 0..100 {
        left = sqlx::query_as(
            "SELECT (SELECT count(*) FROM ticket_attachments WHERE ticket_id = $1),
                    (SELECT count(*) FROM storage.objects WHERE name LIKE $1::text || '/%')",
        )
        .bind(seeded.ticket)
        .fetch_one(backend.pool())
        .await
        .unwrap();
        if left == (1, 1) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        left,
        (1, 1),
        "the photo and its file are gone from the server"
    );

    // Ada connects the company's ERP: a token that may write customers
    // (reading them comes with it), its secret shown once, and a webhook.
    admin.click("#nav-integrations").await;
    admin.find("#integrations[data-loaded='true']").await;
    admin.click("#new-token").await;
    admin.fill("#token-name", "ERP bridge").await;
    admin
        .click("#new-token-dialog input[data-permission='customers:write']")
        .await;
    admin
        .attribute_is(
            "#new-token-dialog input[data-permission='customers:read']",
            "checked",
            "true",
        )
        .await;
    admin.screenshot("9a1-new-token").await;
    admin.click("#token-save").await;
    let secret = admin
        .find("#secret-value")
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(secret.starts_with("crm_pat_"), "{secret}");
    admin.screenshot("9a2-token-secret").await;
    admin.click("#secret-done").await;
    admin
        .count("#token-list .token-row[data-state='active']", 1)
        .await;
    admin
        .text_contains("#token-list .token-row", "Customers: read, write")
        .await;
    // The ERP reads the customers with it.
    let erp = reqwest::Client::new();
    let customers_url = format!("{server}/api/v1/customers");
    let answer = erp
        .get(&customers_url)
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert!(answer.text().await.unwrap().contains("Harbour Hardware"));
    admin.click("#new-webhook").await;
    admin
        .fill("#webhook-url", "https://erp.example.com/hooks/crm")
        .await;
    admin
        .click("#new-webhook-dialog input[data-event='customer.created']")
        .await;
    admin.click("#webhook-save").await;
    let signing = admin
        .find("#secret-value")
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(signing.starts_with("whsec_"), "{signing}");
    admin.click("#secret-done").await;
    admin
        .count("#webhook-list .webhook-item[data-state='active']", 1)
        .await;
    admin
        .click("#webhook-list .webhook-item [data-action='test']")
        .await;
    admin
        .text_contains("#webhook-list .deliveries", "webhook.test")
        .await;
    admin.screenshot("9a3-integrations").await;
    // She revokes the token: the ERP is refused from now on.
    admin
        .click("#token-list .token-row [data-action='revoke']")
        .await;
    admin.find("#revoke-token-dialog").await;
    admin.click("#confirm-action").await;
    admin
        .count("#token-list .token-row[data-state='revoked']", 1)
        .await;
    let answer = erp
        .get(&customers_url)
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 401, "a revoked token is refused at once");

    // Ada looks after the team: Ben's signed-in devices, and a one-time
    // code to hand over should he forget his password.
    admin.click("#nav-team").await;
    admin.find("#team[data-loaded='true']").await;
    admin.count("#team-list .account-item", 2).await;
    let bens_row = format!("#team-list .account-item[data-id='{ben}']");
    admin
        .click(&format!("{bens_row} [data-action='devices']"))
        .await;
    admin.count(&format!("{bens_row} .device-row"), 1).await;
    admin
        .click(&format!("{bens_row} [data-action='reset-code']"))
        .await;
    let code = admin
        .find("#reset-code-value")
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    assert_eq!(code.len(), 14, "{code}");
    admin.screenshot("9a4-team-reset-code").await;
    admin.click("#reset-code-done").await;
    // A new colleague: no password anyone knows, a code to hand over; then
    // Ada makes her an admin.
    admin.click("#add-colleague").await;
    admin.fill("#colleague-email", "dee@example.com").await;
    admin.fill("#colleague-name", "Dee Field").await;
    admin.click("#colleague-save").await;
    admin.find("#reset-code-value").await;
    admin.screenshot("9a4b-colleague-added").await;
    admin.click("#reset-code-done").await;
    admin.count("#team-list .account-item", 3).await;
    let dee: Uuid = sqlx::query_scalar("SELECT id FROM auth.users WHERE email = 'dee@example.com'")
        .fetch_one(backend.pool())
        .await
        .unwrap();
    admin
        .set_value(
            &format!("#team-list .account-item[data-id='{dee}'] [data-action='role']"),
            "admin",
        )
        .await;
    let mut role = String::new();
    for _ in 0..100 {
        role = sqlx::query_scalar("SELECT role::text FROM public.profiles WHERE id = $1")
            .bind(dee)
            .fetch_one(backend.pool())
            .await
            .unwrap();
        if role == "admin" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(role, "admin");
    // Her own account: this device, marked.
    admin.click("#nav-account").await;
    admin.find("#account[data-loaded='true']").await;
    admin
        .count("#devices .device-row[data-current='true']", 1)
        .await;
    admin.screenshot("9a5-my-account").await;

    // The server freezes (takes connections, answers nothing). Ada's next
    // change waits to be sent, and the bar says why within the silence
    // limit instead of "Online".
    backend.freeze().await;
    admin.click("#nav-customers").await;
    admin.click("#new-customer").await;
    admin.fill("#customer-name", "Frozen Foods").await;
    admin.click("#customer-save").await;
    admin.text_contains("#customer-title", "Frozen Foods").await;
    admin
        .attribute_is("#status-pending", "data-count", "1")
        .await;
    admin
        .attribute_is("#status-connection", "data-state", "not_responding")
        .await;
    admin.screenshot("9b-server-not-responding").await;
    // The pending count opens the list of what is still to send.
    admin.click("#status-pending").await;
    admin
        .text_contains("#pending-changes .pending-item", "Frozen Foods")
        .await;
    // Signing out with unsent work asks first, then is immediate: the
    // frozen server is not waited for.
    admin.click("#sign-out").await;
    admin.find("#sign-out-dialog").await;
    admin.screenshot("9c-sign-out-asks").await;
    let asked = std::time::Instant::now();
    admin.click("#sign-out-confirm").await;
    admin.find("#login-email").await;
    assert!(
        asked.elapsed() < std::time::Duration::from_secs(5),
        "sign-out did not wait for the server: {:?}",
        asked.elapsed()
    );
    backend.restart().await;
    // Her unsent work was kept: she signs in again and it goes out. Then
    // she signs out for good, and her data leaves this computer.
    let adas_files = adas_data.path().join("users").join(ada.to_string());
    assert!(adas_files.join("replica.sqlite3").exists());
    // (She comes back to the page she left, the new customer's.)
    admin.fill("#login-email", "ada@example.com").await;
    admin.fill("#login-password", PASSWORD).await;
    admin.click("#login-submit").await;
    admin
        .attribute_is("#status-pending", "data-count", "0")
        .await;
    admin.click("#sign-out").await;
    admin.find("#sign-out-keep").await;
    admin.click("#sign-out-confirm").await;
    admin.find("#login-email").await;
    for _ in 0..100 {
        if !adas_files.exists() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(!adas_files.exists(), "signing out removed her replica");

    admin.close().await;
    app.close().await;
    support::wait_for_exit(&bens_dir).await;

    // Next morning, on the plane: the app opens offline with the kept
    // session, on the screen it showed last, with yesterday's work.
    backend.stop().await;
    let app = bens_desk
        .open_app(&["--data-dir", &bens_dir, "--server", &server])
        .await;
    app.find("#dashboard[data-loaded='true']").await;
    app.attribute_is("#status-connection", "data-state", "offline")
        .await;
    app.click("#nav-customers").await;
    app.fill("#customer-search", "harbour").await;
    app.count("#customer-list .customer-row", 1).await;
    app.screenshot("10-reopened-offline").await;

    // The window keeps its size: resized, quit with Ctrl+Q, opened again.
    app.client.set_window_size(1000, 700).await.unwrap();
    let resized = app.client.get_window_size().await.unwrap();
    assert_ne!(
        resized,
        (1200, 800),
        "the window was resized from its default"
    );
    // The window goes away while the key is still being delivered, so
    // WebDriver may answer with an error: the app having ended is the check.
    let _ = app
        .client
        .active_element()
        .await
        .unwrap()
        .send_keys("\u{E009}q\u{E000}")
        .await;
    support::wait_for_exit(&bens_dir).await;
    let _ = app.client.close().await;
    let app = bens_desk
        .open_app(&["--data-dir", &bens_dir, "--server", &server])
        .await;
    app.find("#customers-screen[data-loaded='true']").await;
    assert_eq!(
        app.client.get_window_size().await.unwrap(),
        resized,
        "the window opens at the size it was left"
    );
    app.close().await;
    support::wait_for_exit(&bens_dir).await;

    // Ben leaves the company: Ada deactivates his account. The next time
    // his app reaches the server it keeps nothing readable, and says so.
    backend.restart().await;
    sync_server::accounts::admin::set_active(backend.pool(), ben, false, Some(ada))
        .await
        .unwrap();
    let bens_files = bens_data.path().join("users").join(ben.to_string());
    assert!(bens_files.join("replica.sqlite3").exists());
    let app = bens_desk
        .open_app(&["--data-dir", &bens_dir, "--server", &server])
        .await;
    app.text_contains("#access-ended", "deactivated").await;
    app.find("#login-email").await;
    app.screenshot("11-access-ended").await;
    assert!(!bens_files.exists(), "his replica and files are gone");
    assert!(!bens_data.path().join("session.json").exists());
    app.close().await;
}

/// Security review M8 and M9 in the window: a server serving HTTPS with
/// its own self-signed certificate is not trusted until its user compares
/// the fingerprint the window shows with the one the operator gave them;
/// on a desktop where no keyring answers, the data kept here is protected
/// by a passphrase its user chooses, and asked for at each start.
#[tokio::test(flavor = "multi_thread")]
async fn without_a_keyring_an_agent_trusts_the_server_and_protects_the_data_with_a_passphrase() {
    let _window = ONE_WINDOW_AT_A_TIME.lock().await;
    let mut backend = Backend::start_with(&["--tls", "on"]).await;
    backend
        .create_account("ben@example.com", "Ben Agent", UserRole::Agent)
        .await;
    // What `sync-server tls fingerprint` prints for the operator.
    let fingerprint = backend.tls.as_ref().unwrap().fingerprint.to_string();
    let server = backend.url();
    assert!(server.starts_with("https://"));

    let desk = Desktop::without_keyring().await;
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().to_str().unwrap().to_owned();
    let app = desk
        .open_app(&["--data-dir", &data_dir, "--server", &server])
        .await;
    app.fill("#login-email", "ben@example.com").await;
    app.fill("#login-password", PASSWORD).await;
    app.click("#login-submit").await;
    app.find("#server-trust").await;
    // Shown in four lines of eight pairs, to compare by eye.
    for line in fingerprint.split(':').collect::<Vec<_>>().chunks(8) {
        app.text_contains("#offered-fingerprint", &line.join(":"))
            .await;
    }
    app.screenshot("tls-1-compare-fingerprint").await;
    app.click("#trust-server").await;
    // No keyring here: Ben chooses a passphrase (a guessable one is refused).
    app.find("#unlock-again").await;
    app.fill("#unlock-passphrase", "password123").await;
    app.fill("#unlock-again", "password123").await;
    app.click("#unlock-submit").await;
    app.find("#unlock-error:not([hidden])").await;
    app.fill("#unlock-passphrase", "meter readings at dawn")
        .await;
    app.fill("#unlock-again", "meter readings at dawn").await;
    app.screenshot("tls-2-choose-passphrase").await;
    app.click("#unlock-submit").await;
    app.find("#customer-list[data-loaded='true']").await;
    app.attribute_is("#status-connection", "data-state", "idle")
        .await;
    app.screenshot("tls-3-signed-in").await;
    app.close().await;
    // The pin was kept with the session; the replica is not readable as
    // SQLite without its key.
    let session = std::fs::read_to_string(data.path().join("session.json")).unwrap();
    assert!(session.contains(&fingerprint), "{session}");
    let users: Vec<_> = std::fs::read_dir(data.path().join("users"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let replica = std::fs::read(users[0].join("replica.sqlite3")).unwrap();
    assert!(!replica.starts_with(b"SQLite format 3"));

    // The next start asks for the passphrase before it shows anything.
    let app = desk
        .open_app(&["--data-dir", &data_dir, "--server", &server])
        .await;
    app.find("#unlock-passphrase").await;
    app.fill("#unlock-passphrase", "meter readings at noon")
        .await;
    app.click("#unlock-submit").await;
    app.text_contains("#unlock-error", "not the passphrase")
        .await;
    app.fill("#unlock-passphrase", "meter readings at dawn")
        .await;
    app.click("#unlock-submit").await;
    app.find("#customer-list[data-loaded='true']").await;
    app.screenshot("tls-4-unlocked").await;
    app.close().await;

    // Three weeks later, never having reached the server (the admins
    // allow 14 days): the password before any data.
    let weeks_ago = (chrono::Utc::now() - chrono::TimeDelta::days(21)).to_rfc3339();
    std::fs::write(
        data.path().join("grace.json"),
        format!(
            r#"{{"last_contact":"{weeks_ago}","grace_days":14,"latest_clock":"{weeks_ago}","wrong_answers":0}}"#
        ),
    )
    .unwrap();
    backend.stop().await;
    let app = desk
        .open_app(&["--data-dir", &data_dir, "--server", &server])
        .await;
    app.fill("#unlock-passphrase", "meter readings at dawn")
        .await;
    app.click("#unlock-submit").await;
    app.text_contains("#password-due-reason", "21 days").await;
    app.fill("#password-due-input", "not my password").await;
    app.click("#password-due-submit").await;
    app.text_contains("#password-due-error", "4 more tries")
        .await;
    app.screenshot("tls-5-password-due").await;
    app.fill("#password-due-input", PASSWORD).await;
    app.click("#password-due-submit").await;
    app.find("#customer-list[data-loaded='true']").await;
    app.close().await;
}
