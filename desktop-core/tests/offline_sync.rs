//! Offline work on several desktop clients against a real sync server and
//! PostgreSQL: everything reaches the server exactly once with its audit
//! row, each user sees what they may and nothing else, conflicts reach both
//! inboxes, refused changes come back to the user, reassignments evict.
#![allow(clippy::unwrap_used)]

mod support;

use chrono::{Duration, Utc};
use crm_desktop_core::store::customers::{CustomerEdit, CustomerFilter};
use crm_desktop_core::sync::SyncState;
use crm_domain::drafts::NewInteraction;
use crm_domain::{AcquisitionStage, InteractionChannel};
use support::{Backend, Client, Team, edit_of, new_customer};
use uuid::Uuid;

fn call(customer_id: Uuid, follow_up_in_days: Option<i64>) -> NewInteraction {
    NewInteraction {
        customer_id,
        interaction_type: "call".into(),
        channel: InteractionChannel::Phone,
        note: Some("talked about the renewal".into()),
        follow_up_date: follow_up_in_days.map(|d| Utc::now() + Duration::days(d)),
        occurred_at: None,
    }
}

fn names(client: &Client) -> Vec<String> {
    let mut names: Vec<String> = client.with(|s| {
        s.list_customers(&CustomerFilter {
            include_archived: true,
            ..CustomerFilter::default()
        })
        .unwrap()
        .into_iter()
        .map(|c| c.customer.name)
        .collect()
    });
    names.sort();
    names
}

/// An admin hands a customer to someone else.
fn reassign(admin: &Client, customer_id: Uuid, owner: Uuid) {
    let current = admin.with(|s| s.customer(customer_id).unwrap());
    admin.with(|s| {
        s.update_customer(
            customer_id,
            CustomerEdit {
                owner: Some(owner),
                ..edit_of(&current)
            },
        )
        .unwrap()
    });
}

async fn server_count(backend: &Backend, sql: &'static str, id: Uuid) -> i64 {
    sqlx::query_scalar(sql)
        .bind(id)
        .fetch_one(backend.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn offline_work_on_both_sides_arrives_exactly_once_with_audit_rows() {
    let mut backend = Backend::start().await;
    Team::create(&backend).await;
    let mut ben = Client::sign_in(&backend, "ben@example.com").await;
    let mut cy = Client::sign_in(&backend, "cy@example.com").await;
    let mut ada = Client::sign_in(&backend, "ada@example.com").await;
    for c in [&mut ben, &mut cy, &mut ada] {
        c.start_sync();
        c.synced().await;
    }

    // The network goes away; both agents keep working.
    backend.stop().await;
    let bens = ben.with(|s| s.create_customer(new_customer("Bakery Brown")).unwrap());
    let follow_up = ben.with(|s| s.log_interaction(call(bens.id, Some(2))).unwrap());
    let cys = cy.with(|s| s.create_customer(new_customer("Cafe Cyan")).unwrap());
    let renamed = cy.with(|s| {
        s.update_customer(
            cys.id,
            CustomerEdit {
                name: "Cafe Cyan & Co".into(),
                ..edit_of(&cys)
            },
        )
        .unwrap()
    });
    assert_eq!(renamed.name, "Cafe Cyan & Co", "the change shows at once");
    assert_eq!(ben.with(|s| s.pending_count().unwrap()), 2);
    assert_eq!(cy.with(|s| s.pending_count().unwrap()), 2);
    let offline = ben.status_where(|s| s.state == crm_desktop_core::sync::SyncState::Offline);
    ben.engine.as_ref().unwrap().nudge();
    assert_eq!(
        offline.await.pending,
        2,
        "the status bar counts unsent work"
    );

    // The server comes back: everything arrives without a click.
    backend.restart().await;
    ben.synced().await;
    cy.synced().await;
    ada.synced().await;

    for (id, audits) in [(bens.id, 1), (cys.id, 2)] {
        assert_eq!(
            server_count(&backend, "SELECT count(*) FROM customers WHERE id = $1", id).await,
            1
        );
        assert_eq!(
            server_count(
                &backend,
                "SELECT count(*) FROM audit_history WHERE record_id = $1 AND client_id IS NOT NULL",
                id
            )
            .await,
            audits,
            "one audit row per applied change"
        );
    }
    assert_eq!(
        server_count(
            &backend,
            "SELECT count(*) FROM customer_interactions WHERE id = $1",
            follow_up.id
        )
        .await,
        1
    );
    let server_name: String = sqlx::query_scalar("SELECT name FROM customers WHERE id = $1")
        .bind(cys.id)
        .fetch_one(backend.pool())
        .await
        .unwrap();
    assert_eq!(server_name, "Cafe Cyan & Co");

    // Each agent sees their own; the admin sees both.
    assert_eq!(names(&ben), vec!["Bakery Brown"]);
    assert_eq!(names(&cy), vec!["Cafe Cyan & Co"]);
    assert_eq!(names(&ada), vec!["Bakery Brown", "Cafe Cyan & Co"]);
    let page = ada.with(|s| s.customer_page(bens.id).unwrap());
    assert_eq!(page.interactions.len(), 1);
    assert_eq!(
        page.owner_name.as_deref(),
        Some("Ben Agent"),
        "colleagues' names synced"
    );

    // A second round changes nothing: no duplicate pushes.
    ben.synced().await;
    assert_eq!(
        server_count(
            &backend,
            "SELECT count(*) FROM audit_history WHERE client_id IS NOT NULL AND changed_by = $1",
            ben.session.user().id
        )
        .await,
        2
    );
    for c in [&mut ben, &mut cy, &mut ada] {
        c.stop_sync().await;
    }
}

#[tokio::test]
async fn a_field_both_changed_offline_is_a_conflict_in_both_inboxes() {
    let mut backend = Backend::start().await;
    Team::create(&backend).await;
    let mut ben = Client::sign_in(&backend, "ben@example.com").await;
    let mut ada = Client::sign_in(&backend, "ada@example.com").await;
    ben.start_sync();
    ada.start_sync();
    let c = ben.with(|s| s.create_customer(new_customer("Dairy Dunn")).unwrap());
    ben.synced().await;
    ada.synced().await;

    backend.stop().await;
    // Ben renames and moves the stage; Ada renames later and sets the phone.
    let c_ben = ben.with(|s| s.customer(c.id).unwrap());
    ben.with(|s| {
        s.update_customer(
            c.id,
            CustomerEdit {
                name: "Dunn Dairy (Ben)".into(),
                acquisition_stage: AcquisitionStage::Qualified,
                ..edit_of(&c_ben)
            },
        )
        .unwrap()
    });
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let c_ada = ada.with(|s| s.customer(c.id).unwrap());
    ada.with(|s| {
        s.update_customer(
            c.id,
            CustomerEdit {
                name: "Dunn Dairy (Ada)".into(),
                phone: Some("+44 20 7946 0000".into()),
                ..edit_of(&c_ada)
            },
        )
        .unwrap()
    });

    backend.restart().await;
    // Ben's edit is older; it lands first, then Ada's wins the name.
    ben.synced().await;
    ada.synced().await;
    ben.synced().await;

    let merged = ben.with(|s| s.customer(c.id).unwrap());
    assert_eq!(
        merged.name, "Dunn Dairy (Ada)",
        "the later edit wins the field"
    );
    assert_eq!(
        merged.acquisition_stage,
        AcquisitionStage::Qualified,
        "Ben's other field survives"
    );
    assert_eq!(
        merged.phone.as_deref(),
        Some("+44 20 7946 0000"),
        "Ada's other field survives"
    );
    assert_eq!(
        ada.with(|s| s.customer(c.id).unwrap()),
        merged,
        "both replicas agree"
    );

    let ben_inbox = ben.with(|s| s.inbox().unwrap());
    let ada_inbox = ada.with(|s| s.inbox().unwrap());
    assert_eq!(ben_inbox.conflicts.len(), 1, "{ben_inbox:?}");
    assert_eq!(ada_inbox.conflicts.len(), 1, "{ada_inbox:?}");
    assert_eq!(ben.with(|s| s.inbox_len().unwrap()), ben_inbox.len());
    let conflict = &ben_inbox.conflicts[0];
    assert!(conflict.mine_lost);
    assert!(!ada_inbox.conflicts[0].mine_lost);
    assert_eq!(conflict.field, "name");
    assert_eq!(conflict.lost_value, serde_json::json!("Dunn Dairy (Ben)"));
    // Both inboxes say which customer it was, by its name as it stands.
    assert_eq!(conflict.subject.as_deref(), Some("Dunn Dairy (Ada)"));
    assert_eq!(
        ada_inbox.conflicts[0].subject.as_deref(),
        Some("Dunn Dairy (Ada)")
    );

    // Ben restores his value: a new edit, which then stands everywhere.
    ben.with(|s| s.restore_conflict(conflict.conflict_id).unwrap());
    assert!(ben.with(|s| s.inbox().unwrap().conflicts.is_empty()));
    ben.synced().await;
    ada.synced().await;
    assert_eq!(
        ada.with(|s| s.customer(c.id).unwrap().name),
        "Dunn Dairy (Ben)"
    );
    ben.stop_sync().await;
    ada.stop_sync().await;
}

#[tokio::test]
async fn a_refused_change_comes_back_to_the_inbox_and_leaves_the_replica() {
    let backend = Backend::start().await;
    let team = Team::create(&backend).await;
    let mut ben = Client::sign_in(&backend, "ben@example.com").await;
    let mut ada = Client::sign_in(&backend, "ada@example.com").await;
    ben.start_sync();
    ada.start_sync();
    let c = ben.with(|s| s.create_customer(new_customer("Emporium Eve")).unwrap());
    ben.synced().await;
    ada.synced().await;

    // Offline, Ben logs a call; meanwhile Ada hands the customer to Cy.
    ben.stop_sync().await;
    let logged = ben.with(|s| s.log_interaction(call(c.id, None)).unwrap());
    reassign(&ada, c.id, team.cy);
    ada.synced().await;

    ben.start_sync();
    ben.synced().await;
    let inbox = ben.with(|s| s.inbox().unwrap());
    assert_eq!(inbox.rejected.len(), 1, "{inbox:?}");
    assert_eq!(inbox.rejected[0].row_id, logged.id);
    assert!(
        !inbox.rejected[0].message.is_empty(),
        "the server's reason is kept"
    );
    assert!(
        ben.with(|s| s.interaction(logged.id)).is_err(),
        "the refused row is not shown as if it were saved"
    );
    assert!(
        ben.with(|s| s.customer(c.id)).is_err(),
        "the reassigned customer left Ben's replica"
    );
    assert_eq!(
        server_count(
            &backend,
            "SELECT count(*) FROM customer_interactions WHERE id = $1",
            logged.id
        )
        .await,
        0
    );

    // Discarding is Ben's decision, and final.
    ben.with(|s| s.discard_rejected(inbox.rejected[0].seq).unwrap());
    assert!(ben.with(|s| s.inbox().unwrap().is_empty()));
    ben.stop_sync().await;
    ada.stop_sync().await;
}

#[tokio::test]
async fn a_reassignment_moves_the_customer_and_its_interactions_between_replicas() {
    let backend = Backend::start().await;
    let team = Team::create(&backend).await;
    let mut ben = Client::sign_in(&backend, "ben@example.com").await;
    let mut cy = Client::sign_in(&backend, "cy@example.com").await;
    let mut ada = Client::sign_in(&backend, "ada@example.com").await;
    for c in [&mut ben, &mut cy, &mut ada] {
        c.start_sync();
    }
    let c = ben.with(|s| s.create_customer(new_customer("Forge Fox")).unwrap());
    let i = ben.with(|s| s.log_interaction(call(c.id, Some(1))).unwrap());
    ben.synced().await;
    ada.synced().await;
    cy.synced().await;
    assert!(
        cy.with(|s| s.customer(c.id)).is_err(),
        "Cy cannot see Ben's customer"
    );

    reassign(&ada, c.id, team.cy);
    ada.synced().await;
    ben.synced().await;
    cy.synced().await;

    assert!(
        ben.with(|s| s.customer(c.id)).is_err(),
        "evicted from the old owner"
    );
    assert!(
        ben.with(|s| s.interaction(i.id)).is_err(),
        "with its interactions"
    );
    assert_eq!(cy.with(|s| s.customer(c.id).unwrap().owner), Some(team.cy));
    assert_eq!(
        cy.with(|s| s.interaction(i.id).unwrap().id),
        i.id,
        "delivered to the new one"
    );
    // Ben's replica holds exactly what the server says he should.
    assert_eq!(
        ben.with(|s| s.checksums().unwrap()),
        server_checksums(&ben).await
    );
    for c in [&mut ben, &mut cy, &mut ada] {
        c.stop_sync().await;
    }
}

/// The checksums the server computes for a client's user.
async fn server_checksums(
    client: &Client,
) -> std::collections::BTreeMap<String, crm_domain::protocol::TableChecksum> {
    let token = client.session.access_token().await.unwrap();
    let client_id = client.with(|s| s.client_id().unwrap());
    let mut cursor = None;
    loop {
        let page = client
            .session
            .api()
            .pull(
                &token,
                &crm_domain::protocol::PullRequest {
                    protocol_version: crm_domain::protocol::PROTOCOL_VERSION,
                    client_id,
                    cursor: cursor.take(),
                    checksums: true,
                    refetch: Vec::new(),
                },
            )
            .await
            .unwrap();
        if !page.has_more {
            return page.checksums.expect("checksums when caught up");
        }
        cursor = Some(page.cursor);
    }
}

#[tokio::test]
async fn a_drifted_table_is_found_at_the_next_check_and_only_that_table_fetched_again() {
    let backend = Backend::start().await;
    Team::create(&backend).await;
    let mut ben = Client::sign_in(&backend, "ben@example.com").await;
    ben.start_sync();
    let c = ben.with(|s| s.create_customer(new_customer("Gadget Grove")).unwrap());
    let t = ben.with(|s| {
        s.open_ticket(crm_domain::drafts::NewTicket {
            title: "Broken gadget".into(),
            description: None,
            priority: crm_domain::TicketPriority::Low,
            customer_id: Some(c.id),
            assigned_to: None,
        })
        .unwrap()
    });
    ben.synced().await;

    // Something outside the app loses a row of the replica.
    let path = ben.session.replica_path();
    let side = crm_desktop_core::fixtures::side_connection(
        &path,
        &crm_desktop_core::fixtures::test_passphrase(),
    );
    let ticket_rowid = |conn: &rusqlite::Connection| -> i64 {
        conn.query_row(
            "SELECT rowid FROM tickets WHERE id = ?1",
            [t.id.to_string()],
            |r| r.get(0),
        )
        .unwrap()
    };
    let before = ticket_rowid(&side);
    side.execute("DELETE FROM customers WHERE id = ?1", [c.id.to_string()])
        .unwrap();
    assert!(ben.with(|s| s.customer(c.id)).is_err());
    // ... and holds one the server never had.
    let stray = uuid::Uuid::now_v7();
    side.execute(
        "INSERT INTO customers (id, name, status, acquisition_stage, owner, is_archived)
         VALUES (?1, 'Stray', 'active', 'lead', ?2, 0)",
        [stray.to_string(), ben.session.user().id.to_string()],
    )
    .unwrap();

    // A check reads every row on both sides, so it does not ride on every
    // pull: within the interval the loss goes unnoticed...
    ben.synced().await;
    assert!(ben.with(|s| s.customer(c.id)).is_err());
    // ...and the engine's first caught-up pull checks and repairs it.
    ben.stop_sync().await;
    ben.start_sync();
    ben.synced().await;
    assert_eq!(ben.with(|s| s.customer(c.id).unwrap().name), "Gadget Grove");
    assert!(
        ben.with(|s| s.customer(stray)).is_err(),
        "the row the server never had is gone"
    );
    assert_eq!(
        ticket_rowid(&side),
        before,
        "the tickets table was left alone"
    );
    ben.stop_sync().await;
}

#[tokio::test]
async fn work_done_offline_keeps_its_time_after_it_syncs() {
    let mut backend = Backend::start().await;
    Team::create(&backend).await;
    let mut ben = Client::sign_in(&backend, "ben@example.com").await;
    ben.start_sync();
    ben.synced().await;

    backend.stop().await;
    let customer = ben.with(|s| s.create_customer(new_customer("Bakery Brown")).unwrap());
    let logged = ben.with(|s| s.log_interaction(call(customer.id, None)).unwrap());
    // A call made yesterday, logged today.
    let yesterday = Utc::now() - Duration::days(1);
    let earlier = ben.with(|s| {
        s.log_interaction(NewInteraction {
            occurred_at: Some(yesterday),
            ..call(customer.id, None)
        })
        .unwrap()
    });
    assert_eq!(
        earlier.created_at.timestamp_micros(),
        yesterday.timestamp_micros()
    );
    // The outage lasts a while before the server is back.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    backend.restart().await;
    ben.synced().await;

    for (id, made) in [
        (customer.id, customer.created_at),
        (logged.id, logged.created_at),
        (earlier.id, yesterday),
    ] {
        let on_server: chrono::DateTime<Utc> = sqlx::query_scalar(
            "SELECT created_at FROM customer_interactions WHERE id = $1
             UNION ALL SELECT created_at FROM customers WHERE id = $1",
        )
        .bind(id)
        .fetch_one(backend.pool())
        .await
        .unwrap();
        assert_eq!(
            on_server.timestamp_micros(),
            made.timestamp_micros(),
            "the server keeps the time the agent did it"
        );
    }
    // And the replica, now holding the server's rows, agrees.
    let pulled = ben.with(|s| s.interaction(logged.id).unwrap());
    assert_eq!(
        pulled.created_at.timestamp_micros(),
        logged.created_at.timestamp_micros()
    );

    // A time in the future is refused before it is saved.
    let ahead = ben.with(|s| {
        s.log_interaction(NewInteraction {
            occurred_at: Some(Utc::now() + Duration::hours(2)),
            ..call(customer.id, None)
        })
    });
    assert!(ahead.is_err());
}

#[tokio::test]
async fn a_frozen_server_reads_as_not_responding_and_sign_out_does_not_wait_for_it() {
    let mut backend = Backend::start().await;
    Team::create(&backend).await;
    let mut ben = Client::sign_in(&backend, "ben@example.com").await;
    ben.start_sync();
    ben.synced().await;

    // The server takes connections and never answers.
    backend.freeze().await;
    let started = std::time::Instant::now();
    ben.with(|s| s.create_customer(new_customer("Bakery Brown")).unwrap());
    let asked = ben.engine.as_ref().unwrap().nudge();
    let said = ben
        .status_where(|s| s.state == SyncState::NotResponding)
        .await;
    assert_eq!(said.pending, 1);
    let waited = started.elapsed();
    assert!(
        waited <= crm_desktop_core::api::SILENCE_LIMIT + std::time::Duration::from_secs(3),
        "said within the silence limit, not after a long timeout: {waited:?}"
    );
    // Retrying does not read as online: the next attempt is under way
    // within the (test's) backoff, and the bar still says not responding.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let retrying = ben.engine.as_ref().unwrap().status().borrow().clone();
    assert_eq!(retrying.state, SyncState::NotResponding, "{retrying:?}");
    // "Sync now" hears how its round ended (a round already under way when
    // it asked may come first: at most two silences).
    let answered = ben.status_where(|s| s.attempted_nudge >= asked).await;
    assert_eq!(answered.state, SyncState::NotResponding, "{answered:?}");

    // Signing out does not wait for the silent server (a round is in
    // flight or about to be): the engine stops and the session is gone
    // here at once; the unsent change stays in the replica.
    let signing_out = std::time::Instant::now();
    ben.stop_sync().await;
    let goodbye = ben.session.sign_out().unwrap();
    assert!(
        signing_out.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        signing_out.elapsed()
    );
    assert!(
        crm_desktop_core::session::Session::resume(&ben.data_dir)
            .unwrap()
            .is_none()
    );
    assert_eq!(ben.with(|s| s.pending_count().unwrap()), 1);
    // Telling the server gives up on its own too.
    tokio::time::timeout(std::time::Duration::from_secs(30), goodbye)
        .await
        .unwrap();
    backend.restart().await;
}

/// The ticket's lead and its assignees (earliest first) as the replica has them.
fn team_here(client: &Client, ticket: Uuid) -> (Option<Uuid>, Vec<Uuid>) {
    let page = client.with(|s| s.ticket_page(ticket).unwrap());
    (
        page.ticket.assigned_to,
        page.assignees.iter().map(|a| a.assignee.user_id).collect(),
    )
}

#[tokio::test]
async fn a_tickets_lead_and_assignees_agree_offline_and_after_sync() {
    let mut backend = Backend::start().await;
    let team = Team::create(&backend).await;
    let mut ben = Client::sign_in(&backend, "ben@example.com").await;
    ben.start_sync();
    ben.synced().await;

    backend.stop().await;
    let ticket = ben.with(|s| {
        s.open_ticket(crm_domain::NewTicket {
            title: "Till keeps rebooting".into(),
            description: None,
            priority: crm_domain::TicketPriority::High,
            customer_id: None,
            assigned_to: None,
        })
        .unwrap()
        .id
    });
    assert_eq!(team_here(&ben, ticket), (None, vec![]));
    // The first assignee leads; the next one joins.
    ben.with(|s| s.add_assignee(ticket, team.cy).unwrap());
    assert_eq!(team_here(&ben, ticket), (Some(team.cy), vec![team.cy]));
    ben.with(|s| s.add_assignee(ticket, team.ada).unwrap());
    assert_eq!(team_here(&ben, ticket).0, Some(team.cy));
    // Ben takes the lead himself: he becomes an assignee too.
    ben.with(|s| s.set_ticket_lead(ticket, team.ben).unwrap());
    assert_eq!(
        team_here(&ben, ticket),
        (Some(team.ben), vec![team.cy, team.ada, team.ben])
    );
    // The lead leaves: the longest-serving assignee leads.
    ben.with(|s| s.remove_assignee(ticket, team.ben).unwrap());
    let offline = team_here(&ben, ticket);
    assert_eq!(offline, (Some(team.cy), vec![team.cy, team.ada]));
    // The list names the same lead the page does.
    let listed = ben.with(|s| {
        s.tickets(
            crm_desktop_core::store::tickets::TicketView::CreatedByMe,
            false,
        )
        .unwrap()
    });
    assert_eq!(listed[0].assigned_to_name.as_deref(), Some("Cy Agent"));

    backend.restart().await;
    ben.synced().await;
    assert!(
        ben.with(|s| s.inbox().unwrap()).is_empty(),
        "the server found every step already right: nothing refused, no conflict"
    );
    let on_server: Option<Uuid> =
        sqlx::query_scalar("SELECT assigned_to FROM tickets WHERE id = $1")
            .bind(ticket)
            .fetch_one(backend.pool())
            .await
            .unwrap();
    let assignees: Vec<Uuid> = sqlx::query_scalar(
        "SELECT user_id FROM ticket_assignees WHERE ticket_id = $1 ORDER BY assigned_at, id",
    )
    .bind(ticket)
    .fetch_all(backend.pool())
    .await
    .unwrap();
    assert_eq!((on_server, assignees), offline);
    assert_eq!(
        team_here(&ben, ticket),
        offline,
        "and the replica still agrees"
    );
}

#[tokio::test]
async fn a_follow_up_done_offline_is_done_everywhere_and_audited() {
    let mut backend = Backend::start().await;
    Team::create(&backend).await;
    let mut ben = Client::sign_in(&backend, "ben@example.com").await;
    ben.start_sync();
    let customer = ben.with(|s| s.create_customer(new_customer("Bakery Brown")).unwrap());
    let late = ben.with(|s| s.log_interaction(call(customer.id, Some(-2))).unwrap());
    let soon = ben.with(|s| s.log_interaction(call(customer.id, Some(3))).unwrap());
    ben.synced().await;
    let before = ben.with(|s| s.dashboard().unwrap());
    assert_eq!(
        (before.follow_ups_overdue, before.follow_ups_next_7_days),
        (1, 1)
    );

    backend.stop().await;
    ben.with(|s| s.complete_follow_up(late.id).unwrap());
    let after = ben.with(|s| s.dashboard().unwrap());
    assert_eq!(after.follow_ups_overdue, 0, "done is not overdue");
    let open: Vec<Uuid> = ben.with(|s| {
        s.my_follow_ups()
            .unwrap()
            .iter()
            .map(|f| f.interaction_id)
            .collect()
    });
    assert_eq!(open, [soon.id], "nor is it listed or reminded");
    assert!(
        ben.with(|s| s.due_reminders(Utc::now()).unwrap())
            .is_empty()
    );

    backend.restart().await;
    ben.synced().await;
    let done_on_server: Option<chrono::DateTime<Utc>> =
        sqlx::query_scalar("SELECT follow_up_done_at FROM customer_interactions WHERE id = $1")
            .bind(late.id)
            .fetch_one(backend.pool())
            .await
            .unwrap();
    assert!(done_on_server.is_some_and(|t| t <= Utc::now()));
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_history
         WHERE record_id = $1 AND action = 'UPDATE' AND new_values ? 'follow_up_done_at'
           AND new_values ->> 'follow_up_done_at' IS NOT NULL",
    )
    .bind(late.id)
    .fetch_one(backend.pool())
    .await
    .unwrap();
    assert_eq!(audited, 1, "the audit trail says who did it, when");
    let figures: serde_json::Value = {
        let mut tx = sync_server::data::acting::begin_as(
            backend.pool(),
            &sync_server::data::Claims::user(ben.session.user().id),
        )
        .await
        .unwrap();
        let v = sqlx::query_scalar("SELECT get_dashboard_data()")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        v
    };
    assert_eq!(figures["follow_ups_overdue"], 0, "{figures}");
    assert_eq!(figures["follow_ups_next_7_days"], 1, "{figures}");

    // Moved to a new date, it is to do again.
    let moved = ben.with(|s| {
        s.reschedule_follow_up(late.id, Utc::now() + Duration::days(1))
            .unwrap()
    });
    assert_eq!(moved.follow_up_done_at, None);
    assert_eq!(ben.with(|s| s.my_follow_ups().unwrap()).len(), 2);
}

#[tokio::test]
async fn a_refusal_says_who_reassigned_or_deleted_the_customer_and_when() {
    use crm_domain::protocol::RefusalKind;
    let backend = Backend::start().await;
    let team = Team::create(&backend).await;
    let mut ben = Client::sign_in(&backend, "ben@example.com").await;
    let mut ada = Client::sign_in(&backend, "ada@example.com").await;
    ben.start_sync();
    ada.start_sync();
    let moved = ben.with(|s| s.create_customer(new_customer("Stark Hardware")).unwrap());
    let gone = ben.with(|s| s.create_customer(new_customer("Closed Corner")).unwrap());
    ben.synced().await;
    ada.synced().await;

    // Offline, Ben logs a call on one and renames the other; meanwhile Ada
    // gives the first to Cy and deletes the second.
    ben.stop_sync().await;
    ben.with(|s| s.log_interaction(call(moved.id, None)).unwrap());
    ben.with(|s| {
        s.update_customer(
            gone.id,
            CustomerEdit {
                name: "Corner Shop".into(),
                ..edit_of(&gone)
            },
        )
        .unwrap()
    });
    reassign(&ada, moved.id, team.cy);
    ada.with(|s| s.delete_customer(gone.id).unwrap());
    ada.synced().await;
    let before = Utc::now();

    ben.start_sync();
    ben.synced().await;
    let inbox = ben.with(|s| s.inbox().unwrap());
    assert_eq!(inbox.rejected.len(), 2, "{inbox:?}");
    let (call_refused, rename_refused) = (&inbox.rejected[0], &inbox.rejected[1]);

    let reason = call_refused.reason.as_ref().expect("a reason in words");
    assert_eq!(reason.kind, RefusalKind::Reassigned);
    assert_eq!(
        (reason.by, reason.by_name.as_deref()),
        (Some(team.ada), Some("Ada Admin"))
    );
    assert_eq!(
        (reason.to, reason.to_name.as_deref()),
        (Some(team.cy), Some("Cy Agent"))
    );
    assert!(reason.at <= before);
    assert_eq!(call_refused.subject.as_deref(), Some("Stark Hardware"));
    assert!(!call_refused.reachable, "nothing to open, no retry");

    let reason = rename_refused.reason.as_ref().expect("a reason in words");
    assert_eq!(reason.kind, RefusalKind::Deleted);
    assert_eq!(reason.by, Some(team.ada));
    assert_eq!(reason.to, None);
    assert!(!rename_refused.reachable);
    ben.stop_sync().await;
    ada.stop_sync().await;
}

#[tokio::test]
async fn an_idle_app_notices_the_server_going_away_without_waiting_for_the_poll() {
    let mut backend = Backend::start().await;
    Team::create(&backend).await;
    let mut ben = Client::sign_in(&backend, "ben@example.com").await;
    ben.start_sync();
    ben.synced().await;
    // Let the live stream settle, then take the server away.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let stopped = std::time::Instant::now();
    backend.stop().await;
    ben.status_where(|s| s.state == SyncState::Offline).await;
    let noticed = stopped.elapsed();
    assert!(
        noticed < support::fast_options().poll_interval / 3,
        "the live stream's end woke the engine: {noticed:?}"
    );
    backend.restart().await;
    ben.synced().await;
}

#[tokio::test]
async fn only_ones_own_lost_value_can_be_restored_and_a_conflict_leaves_with_its_row() {
    let mut backend = Backend::start().await;
    let team = Team::create(&backend).await;
    let mut ben = Client::sign_in(&backend, "ben@example.com").await;
    let mut ada = Client::sign_in(&backend, "ada@example.com").await;
    ben.start_sync();
    ada.start_sync();
    let c = ben.with(|s| s.create_customer(new_customer("Dairy Dunn")).unwrap());
    ben.synced().await;
    ada.synced().await;
    // Both rename offline; Ada's later edit wins, Ben's value loses.
    backend.stop().await;
    let rename = |client: &Client, name: &str| {
        let current = client.with(|s| s.customer(c.id).unwrap());
        client.with(|s| {
            s.update_customer(
                c.id,
                CustomerEdit {
                    name: name.into(),
                    ..edit_of(&current)
                },
            )
            .unwrap()
        });
    };
    rename(&ben, "Dunn Dairy (Ben)");
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    rename(&ada, "Dunn Dairy (Ada)");
    backend.restart().await;
    ben.synced().await;
    ada.synced().await;
    ben.synced().await;

    // Ada's conflict is Ben's lost value: not hers to write as her own.
    let adas = ada.with(|s| s.inbox().unwrap()).conflicts;
    assert_eq!(adas.len(), 1);
    assert!(!adas[0].mine_lost);
    assert!(matches!(
        ada.with(|s| s.restore_conflict(adas[0].conflict_id)),
        Err(crm_desktop_core::CoreError::Forbidden(_))
    ));

    // The customer goes to Cy: Ben's conflict about it leaves his inbox
    // with the row, so its values are not kept readable there.
    assert_eq!(ben.with(|s| s.inbox().unwrap()).conflicts.len(), 1);
    reassign(&ada, c.id, team.cy);
    ada.synced().await;
    ben.synced().await;
    assert!(ben.with(|s| s.customer(c.id)).is_err());
    assert!(ben.with(|s| s.inbox().unwrap()).conflicts.is_empty());
    assert_eq!(ben.with(|s| s.inbox_len().unwrap()), 0);
    ben.stop_sync().await;
    ada.stop_sync().await;
}

/// Copies a data directory as a backup tool would (the app closed).
fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[tokio::test]
async fn a_replica_restored_from_a_backup_sends_its_new_work_and_nothing_twice() {
    let backend = Backend::start().await;
    Team::create(&backend).await;
    let laptop = tempfile::tempdir().unwrap();
    let mut ben =
        Client::sign_in_at(&backend, "ben@example.com", laptop.path().to_path_buf()).await;
    ben.start_sync();
    ben.with(|s| {
        s.create_customer(new_customer("Before the backup"))
            .unwrap()
    });
    ben.synced().await;
    ben.stop_sync().await;
    drop(ben);
    let backup = tempfile::tempdir().unwrap();
    copy_dir(laptop.path(), backup.path());

    // The laptop works on after the backup was taken...
    let mut ben = Client::resume(laptop.path().to_path_buf());
    ben.start_sync();
    ben.with(|s| s.create_customer(new_customer("After the backup")).unwrap());
    ben.synced().await;
    ben.stop_sync().await;
    drop(ben);

    // ...then dies; Ben restores the backup on a new one (signing in again:
    // the backup's refresh token was used since) and goes on working. His
    // next change takes the number the lost laptop's last one had.
    let mut restored =
        Client::sign_in_at(&backend, "ben@example.com", backup.path().to_path_buf()).await;
    restored.with(|s| {
        s.create_customer(new_customer("On the restored laptop"))
            .unwrap()
    });
    restored.start_sync();
    restored.synced().await;

    let mut on_server: Vec<String> = sqlx::query_scalar("SELECT name FROM customers")
        .fetch_all(backend.pool())
        .await
        .unwrap();
    on_server.sort();
    assert_eq!(
        on_server,
        [
            "After the backup",
            "Before the backup",
            "On the restored laptop"
        ],
        "each change once, the restored laptop's included"
    );
    assert_eq!(names(&restored), on_server, "the replica shows them all");
    assert_eq!(restored.with(|s| s.inbox_len().unwrap()), 0);
    assert_eq!(restored.with(|s| s.pending_count().unwrap()), 0);
}
