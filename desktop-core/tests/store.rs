//! The replica on its own (a real SQLite file, no server): every action
//! checks its input with the server's rules and changes nothing when it
//! refuses; pages apply all or nothing; unsent work stays on top of the
//! server's state; refused changes leave the screen for the inbox.
#![allow(clippy::unwrap_used)]

mod support;

use chrono::{Duration, Utc};
use crm_desktop_core::store::customers::{
    CustomerEdit, CustomerFilter, CustomerSort, CustomerSortColumn, SortDirection,
};
use crm_desktop_core::store::tickets::TicketEdit;
use crm_desktop_core::{CoreError, Store};
use crm_domain::drafts::{NewComment, NewCustomer, NewInteraction, NewTicket};
use crm_domain::protocol::{
    Change, MutationOutcome, MutationResult, PullResponse, PushResponse, RejectionCode,
};
use crm_domain::{
    AcquisitionStage, CustomerStatus, InteractionChannel, TicketPriority, TicketStatus, UserRole,
};
use serde_json::{Value, json};
use support::{edit_of, new_customer};
use uuid::Uuid;

const ME: Uuid = Uuid::from_u128(0xA);
const OTHER: Uuid = Uuid::from_u128(0xB);

struct Replica {
    store: Store,
    _dir: tempfile::TempDir,
}

fn replica(role: UserRole) -> Replica {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(
        &dir.path().join("replica.sqlite3"),
        &crm_desktop_core::fixtures::test_key(),
    )
    .unwrap();
    store.set_user(ME, role).unwrap();
    Replica { store, _dir: dir }
}

fn upsert(table: &str, row: Value) -> Change {
    Change::Upsert {
        table: table.into(),
        row: serde_json::value::to_raw_value(&row).unwrap(),
    }
}

fn page(changes: Vec<Change>, cursor: &str) -> PullResponse {
    PullResponse {
        changes,
        cursor: cursor.into(),
        has_more: false,
        last_seq: 0,
        reset: false,
        progress: None,
        checksums: None,
    }
}

fn server_customer(id: Uuid, name: &str, owner: Uuid) -> Value {
    json!({
        "id": id, "name": name, "email": null, "phone": null, "product_id": null,
        "status": "active", "acquisition_stage": "lead", "owner": owner,
        "is_archived": false,
        "created_at": "2026-11-01T10:00:00+00:00", "updated_at": "2026-11-01T10:00:00+00:00"
    })
}

fn server_ticket(id: Uuid, status: &str, created_by: Uuid) -> Value {
    json!({
        "id": id, "title": "Printer on fire", "description": null, "priority": "high",
        "status": status, "customer_id": null, "assigned_to": null, "created_by": created_by,
        "created_at": "2026-11-01T10:00:00+00:00", "updated_at": "2026-11-01T10:00:00+00:00",
        "resolved_at": null, "closed_at": null
    })
}

/// Everything a user can see of the replica, to prove a refusal changed
/// nothing.
fn snapshot(store: &Store) -> (Vec<String>, i64, Value) {
    let names = store
        .list_customers(&CustomerFilter {
            include_archived: true,
            ..CustomerFilter::default()
        })
        .unwrap()
        .into_iter()
        .map(|c| format!("{:?}", c.customer))
        .collect();
    (
        names,
        store.pending_count().unwrap(),
        serde_json::to_value(store.my_tickets(true).unwrap()).unwrap(),
    )
}

fn assert_invalid(result: Result<impl std::fmt::Debug, CoreError>, field: &str) {
    match result {
        Err(CoreError::Invalid(errors)) => assert!(
            errors.for_field(field).next().is_some(),
            "expected a message for {field}: {errors}"
        ),
        other => panic!("expected invalid {field}, got {other:?}"),
    }
}

#[test]
fn an_action_is_saved_with_its_outbox_entry_and_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("replica.sqlite3");
    let id = {
        let mut store = Store::open(&path, &crm_desktop_core::fixtures::test_key()).unwrap();
        store.set_user(ME, UserRole::Agent).unwrap();
        store.create_customer(new_customer("Acme")).unwrap().id
    };
    let store = Store::open(&path, &crm_desktop_core::fixtures::test_key()).unwrap();
    assert_eq!(store.customer(id).unwrap().name, "Acme");
    assert_eq!(store.customer(id).unwrap().owner, Some(ME));
    let pending = store.pending_batch(10).unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].row_id, id);
    assert_eq!(pending[0].seq, 1);
}

#[test]
fn bad_input_is_refused_with_a_clear_error_and_changes_nothing() {
    let mut r = replica(UserRole::Agent);
    let theirs = Uuid::now_v7();
    let ticket = Uuid::now_v7();
    r.store
        .apply_pull(&page(
            vec![
                upsert("customers", server_customer(theirs, "Theirs", OTHER)),
                upsert("tickets", server_ticket(ticket, "open", ME)),
            ],
            "c1",
        ))
        .unwrap();
    let mine = r.store.create_customer(new_customer("Mine")).unwrap();
    let before = snapshot(&r.store);

    assert_invalid(r.store.create_customer(new_customer("   ")), "name");
    assert_invalid(
        r.store.create_customer(NewCustomer {
            email: Some("not an email".into()),
            phone: Some("call me".into()),
            ..new_customer("X")
        }),
        "phone",
    );
    assert!(matches!(
        r.store.create_customer(NewCustomer {
            owner: Some(OTHER),
            ..new_customer("For someone else")
        }),
        Err(CoreError::Forbidden(_))
    ));
    assert_invalid(
        r.store.create_customer(NewCustomer {
            product_id: Some(Uuid::now_v7()),
            ..new_customer("Unknown product")
        }),
        "product_id",
    );
    let their_customer = r.store.customer(theirs).unwrap();
    assert!(matches!(
        r.store.update_customer(theirs, edit_of(&their_customer)),
        Err(CoreError::Forbidden(_))
    ));
    assert!(matches!(
        r.store.update_customer(
            mine.id,
            CustomerEdit {
                owner: Some(OTHER),
                ..edit_of(&mine)
            }
        ),
        Err(CoreError::Forbidden(_))
    ));
    assert_invalid(
        r.store.update_customer(
            mine.id,
            CustomerEdit {
                name: "x".repeat(201),
                ..edit_of(&mine)
            },
        ),
        "name",
    );
    assert!(matches!(
        r.store.delete_customer(mine.id),
        Err(CoreError::Forbidden(_))
    ));
    assert!(matches!(
        r.store.update_customer(Uuid::now_v7(), edit_of(&mine)),
        Err(CoreError::NotFound { .. })
    ));
    assert!(matches!(
        r.store.log_interaction(NewInteraction {
            customer_id: theirs,
            interaction_type: "call".into(),
            channel: InteractionChannel::Phone,
            note: None,
            follow_up_date: None,
            occurred_at: None,
        }),
        Err(CoreError::Forbidden(_))
    ));
    assert_invalid(
        r.store.log_interaction(NewInteraction {
            customer_id: mine.id,
            interaction_type: "".into(),
            channel: InteractionChannel::Phone,
            note: None,
            follow_up_date: None,
            occurred_at: None,
        }),
        "type",
    );
    assert_invalid(
        r.store.open_ticket(NewTicket {
            title: " ".into(),
            description: None,
            priority: TicketPriority::Low,
            customer_id: None,
            assigned_to: None,
        }),
        "title",
    );
    assert!(matches!(
        r.store.open_ticket(NewTicket {
            title: "For their customer".into(),
            description: None,
            priority: TicketPriority::Low,
            customer_id: Some(theirs),
            assigned_to: None,
        }),
        Err(CoreError::Forbidden(_))
    ));
    // The workflow: open -> reopened is not a move.
    let t = r.store.ticket(ticket).unwrap();
    assert_invalid(
        r.store.update_ticket(
            ticket,
            TicketEdit {
                title: t.title.clone(),
                description: None,
                priority: t.priority,
                status: TicketStatus::Reopened,
                customer_id: None,
                assigned_to: None,
            },
        ),
        "status",
    );
    assert_invalid(
        r.store.add_comment(NewComment {
            ticket_id: ticket,
            content: "\n".into(),
            is_internal: false,
        }),
        "content",
    );
    assert!(matches!(
        r.store.delete_ticket(ticket),
        Err(CoreError::Forbidden(_))
    ));

    assert_eq!(snapshot(&r.store), before, "nothing changed");
}

#[test]
fn a_page_applies_all_or_nothing() {
    let mut r = replica(UserRole::Agent);
    let good = Uuid::now_v7();
    let broken = page(
        vec![
            upsert("customers", server_customer(good, "Good", ME)),
            // A row without an id cannot be stored.
            upsert("customers", json!({"name": "No id"})),
        ],
        "c2",
    );
    assert!(r.store.apply_pull(&broken).is_err());
    assert!(r.store.customer(good).is_err(), "the good row went too");
    assert_eq!(r.store.cursor().unwrap(), None, "the cursor did not move");

    r.store
        .apply_pull(&page(
            vec![upsert("customers", server_customer(good, "Good", ME))],
            "c3",
        ))
        .unwrap();
    assert_eq!(r.store.customer(good).unwrap().name, "Good");
    assert_eq!(r.store.cursor().unwrap().as_deref(), Some("c3"));
}

#[test]
fn unsent_edits_stay_on_top_of_the_servers_changes() {
    let mut r = replica(UserRole::Agent);
    let id = Uuid::now_v7();
    r.store
        .apply_pull(&page(
            vec![upsert("customers", server_customer(id, "Old name", ME))],
            "c1",
        ))
        .unwrap();
    let c = r.store.customer(id).unwrap();
    r.store
        .update_customer(
            id,
            CustomerEdit {
                name: "My name".into(),
                ..edit_of(&c)
            },
        )
        .unwrap();

    // A colleague's change of another field arrives before the push.
    let mut theirs = server_customer(id, "Old name", ME);
    theirs["acquisition_stage"] = json!("proposal");
    theirs["updated_at"] = json!("2026-11-02T10:00:00+00:00");
    r.store
        .apply_pull(&page(vec![upsert("customers", theirs)], "c2"))
        .unwrap();
    let shown = r.store.customer(id).unwrap();
    assert_eq!(shown.name, "My name", "my unsent edit still shows");
    assert_eq!(
        shown.acquisition_stage,
        AcquisitionStage::Proposal,
        "theirs too"
    );

    // The server refuses my edit: the row goes back to the server's state
    // and the change waits in the inbox.
    let seq = r.store.pending_batch(1).unwrap()[0].seq;
    r.store
        .settle(&PushResponse {
            results: vec![MutationResult {
                seq,
                outcome: MutationOutcome::Rejected {
                    code: RejectionCode::Forbidden,
                    message: "not yours any more".into(),
                    field: None,
                    reason: None,
                },
            }],
            last_seq: seq,
            forked: false,
        })
        .unwrap();
    let shown = r.store.customer(id).unwrap();
    assert_eq!(shown.name, "Old name");
    assert_eq!(shown.acquisition_stage, AcquisitionStage::Proposal);
    assert_eq!(r.store.pending_count().unwrap(), 0);
    let inbox = r.store.inbox().unwrap();
    assert_eq!(inbox.rejected.len(), 1);
    assert_eq!(inbox.rejected[0].message, "not yours any more");

    // Retrying sends it again as a new change against the current row.
    r.store.retry_rejected(seq).unwrap();
    assert_eq!(r.store.customer(id).unwrap().name, "My name");
    let again = r.store.pending_batch(10).unwrap();
    assert_eq!(again.len(), 1);
    assert!(again[0].seq > seq, "a new sequence number");
    assert!(r.store.inbox().unwrap().rejected.is_empty());
}

#[test]
fn a_refused_change_is_sent_again_only_if_the_rules_would_now_allow_it() {
    let mut r = replica(UserRole::Agent);
    let id = Uuid::now_v7();
    r.store
        .apply_pull(&page(
            vec![upsert("tickets", server_ticket(id, "open", ME))],
            "c1",
        ))
        .unwrap();
    // I start work on it; before that reaches the server, a colleague
    // closes it, and the server refuses my move.
    let t = r.store.ticket(id).unwrap();
    r.store
        .update_ticket(
            id,
            TicketEdit {
                title: t.title,
                description: t.description,
                priority: t.priority,
                status: TicketStatus::InProgress,
                customer_id: t.customer_id,
                assigned_to: t.assigned_to,
            },
        )
        .unwrap();
    r.store
        .apply_pull(&page(
            vec![upsert("tickets", server_ticket(id, "closed", ME))],
            "c2",
        ))
        .unwrap();
    let seq = r.store.pending_batch(1).unwrap()[0].seq;
    r.store
        .settle(&PushResponse {
            results: vec![MutationResult {
                seq,
                outcome: MutationOutcome::Rejected {
                    code: RejectionCode::NotAllowed,
                    message: "cannot move a ticket from closed to in_progress".into(),
                    field: Some("status".into()),
                    reason: None,
                },
            }],
            last_seq: seq,
            forked: false,
        })
        .unwrap();
    assert_eq!(r.store.ticket(id).unwrap().status, TicketStatus::Closed);

    // Sending it again would ask the server for the same impossible move:
    // the app says so at once, and the change stays for the user to decide.
    assert_invalid(r.store.retry_rejected(seq), "status");
    assert_eq!(r.store.pending_count().unwrap(), 0);
    let inbox = r.store.inbox().unwrap();
    assert_eq!(inbox.rejected.len(), 1);
    assert_eq!(inbox.rejected[0].field.as_deref(), Some("status"));
}

#[test]
fn a_refused_insert_disappears_and_an_accepted_one_stays() {
    let mut r = replica(UserRole::Agent);
    let kept = r.store.create_customer(new_customer("Kept")).unwrap();
    let refused = r.store.create_customer(new_customer("Refused")).unwrap();
    r.store
        .settle(&PushResponse {
            results: vec![
                MutationResult {
                    seq: 1,
                    outcome: MutationOutcome::Applied,
                },
                MutationResult {
                    seq: 2,
                    outcome: MutationOutcome::Rejected {
                        code: RejectionCode::NotAllowed,
                        message: "no".into(),
                        field: None,
                        reason: None,
                    },
                },
            ],
            last_seq: 2,
            forked: false,
        })
        .unwrap();
    assert_eq!(r.store.customer(kept.id).unwrap().name, "Kept");
    assert!(r.store.customer(refused.id).is_err());
    assert_eq!(r.store.inbox().unwrap().rejected.len(), 1);
}

#[test]
fn search_finds_prefixes_across_customers_tickets_and_comments() {
    let mut r = replica(UserRole::Agent);
    let c = r
        .store
        .create_customer(NewCustomer {
            email: Some("orders@zeppelin-bakery.example".into()),
            phone: Some("+44 20 7946 0018".into()),
            ..new_customer("Zeppelin Bakery")
        })
        .unwrap();
    r.store.create_customer(new_customer("Other Shop")).unwrap();
    let t = r
        .store
        .open_ticket(NewTicket {
            title: "Oven thermostat".into(),
            description: Some("The zeppelin oven overheats".into()),
            priority: TicketPriority::High,
            customer_id: Some(c.id),
            assigned_to: None,
        })
        .unwrap();
    r.store
        .add_comment(NewComment {
            ticket_id: t.id,
            content: "Replaced the thermostat sensor".into(),
            is_internal: true,
        })
        .unwrap();

    let hits = r.store.search("zepp", 20).unwrap();
    let kinds: Vec<_> = hits.iter().map(|h| (h.kind, h.target_id)).collect();
    assert!(kinds.contains(&(crm_desktop_core::store::search::HitKind::Customer, c.id)));
    assert!(kinds.contains(&(crm_desktop_core::store::search::HitKind::Ticket, t.id)));
    assert_eq!(hits.len(), 2);

    let by_phone = r.store.search("7946", 20).unwrap();
    assert_eq!(by_phone.len(), 1);
    assert_eq!(by_phone[0].id, c.id);

    let thermo = r.store.search("thermo", 20).unwrap();
    assert_eq!(thermo.len(), 2, "the ticket's title and the comment");

    let listed = r
        .store
        .list_customers(&CustomerFilter {
            search: Some("bak".into()),
            ..CustomerFilter::default()
        })
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].customer.id, c.id);

    // Renaming keeps the index in step.
    r.store
        .update_customer(
            c.id,
            CustomerEdit {
                name: "Blimp Bakery".into(),
                email: None,
                ..edit_of(&r.store.customer(c.id).unwrap())
            },
        )
        .unwrap();
    assert!(
        r.store
            .search("zeppelin bak", 20)
            .unwrap()
            .iter()
            .all(|h| h.id != c.id)
    );
    assert_eq!(r.store.search("blimp", 20).unwrap()[0].id, c.id);
    assert!(
        r.store.search("\"(*", 20).unwrap().is_empty(),
        "syntax is not an error"
    );
}

#[test]
fn the_dashboard_counts_what_the_replica_holds() {
    let mut r = replica(UserRole::Agent);
    let a = r.store.create_customer(new_customer("A")).unwrap();
    let b = r.store.create_customer(new_customer("B")).unwrap();
    r.store
        .update_customer(
            b.id,
            CustomerEdit {
                acquisition_stage: AcquisitionStage::Proposal,
                ..edit_of(&b)
            },
        )
        .unwrap();
    for days in [-1, 2, 30] {
        r.store
            .log_interaction(NewInteraction {
                customer_id: a.id,
                interaction_type: "visit".into(),
                channel: InteractionChannel::Meeting,
                note: None,
                follow_up_date: Some(Utc::now() + Duration::days(days)),
                occurred_at: None,
            })
            .unwrap();
    }
    let t = r
        .store
        .open_ticket(NewTicket {
            title: "Broken".into(),
            description: None,
            priority: TicketPriority::Urgent,
            customer_id: Some(a.id),
            assigned_to: Some(ME),
        })
        .unwrap();
    let d = r.store.dashboard().unwrap();
    assert_eq!(d.customers.total, 2);
    assert_eq!(d.customers.by_stage["lead"], 1);
    assert_eq!(d.customers.by_stage["proposal"], 1);
    assert_eq!(d.customers.by_stage["closed_won"], 0);
    assert_eq!(d.tickets.open, 1);
    assert_eq!(d.tickets.urgent_open, 1);
    assert_eq!(d.my_open_tickets, 1);
    assert_eq!(d.follow_ups_overdue, 1);
    assert_eq!(d.follow_ups_next_7_days, 1);
    assert_eq!(d.interactions_last_7_days, 3);

    // Resolving the ticket moves it out of the open counts, with its stamp.
    let page = r.store.ticket_page(t.id).unwrap();
    assert!(page.allowed_statuses.contains(&TicketStatus::Resolved));
    let resolved = r
        .store
        .update_ticket(
            t.id,
            TicketEdit {
                title: t.title.clone(),
                description: None,
                priority: t.priority,
                status: TicketStatus::Resolved,
                customer_id: t.customer_id,
                assigned_to: t.assigned_to,
            },
        )
        .unwrap();
    assert!(resolved.resolved_at.is_some());
    let d = r.store.dashboard().unwrap();
    assert_eq!(d.tickets.open, 0);
    assert_eq!(d.tickets.by_status["resolved"], 1);
    assert!(d.tickets.avg_resolution_hours.is_some());
}

#[test]
fn a_replica_belongs_to_one_user() {
    let r = replica(UserRole::Agent);
    assert!(matches!(
        r.store.set_user(OTHER, UserRole::Agent),
        Err(CoreError::Forbidden(_))
    ));
}

#[test]
fn broad_queries_list_newest_first_and_narrow_ones_are_ranked() {
    use crm_desktop_core::store::search::RANKED_MATCHES_MAX;
    let mut r = replica(UserRole::Agent);
    let n = RANKED_MATCHES_MAX as usize + 100;
    let ids: Vec<Uuid> = (0..n).map(|_| Uuid::now_v7()).collect();
    let changes = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            upsert(
                "customers",
                server_customer(*id, &format!("Alpha Shop {i}"), ME),
            )
        })
        .collect();
    r.store.apply_pull(&page(changes, "c1")).unwrap();
    let unique = r
        .store
        .create_customer(new_customer("Alphorn Unique"))
        .unwrap();

    let broad = r.store.search("alp", 10).unwrap();
    assert_eq!(broad.len(), 10);
    assert!(broad.iter().all(|h| h.rank.is_none()), "too broad to rank");
    assert_eq!(broad[0].id, unique.id, "newest first");
    assert_eq!(broad[1].id, ids[n - 1]);

    let narrow = r.store.search("alphorn", 10).unwrap();
    assert_eq!(narrow.len(), 1);
    assert!(narrow[0].rank.is_some());

    let listed = r
        .store
        .list_customers(&CustomerFilter {
            search: Some("alp".into()),
            limit: Some(5),
            ..CustomerFilter::default()
        })
        .unwrap();
    assert_eq!(listed[0].customer.id, unique.id);
    assert_eq!(listed.len(), 5);
}

#[test]
fn a_load_in_pages_is_searchable_when_it_ends_with_edits_made_meanwhile() {
    let mut r = replica(UserRole::Agent);
    let first = Uuid::now_v7();
    let second = Uuid::now_v7();
    let mut page1 = page(
        vec![upsert(
            "customers",
            server_customer(first, "Quartz Quarry", ME),
        )],
        "p1",
    );
    page1.has_more = true;
    r.store.apply_pull(&page1).unwrap();
    // The agent works while the load goes on.
    let typed = r
        .store
        .create_customer(new_customer("Quince Quilts"))
        .unwrap();
    r.store
        .apply_pull(&page(
            vec![upsert(
                "customers",
                server_customer(second, "Quill Quays", ME),
            )],
            "p2",
        ))
        .unwrap();
    let mut found: Vec<Uuid> = r
        .store
        .search("qu", 10)
        .unwrap()
        .into_iter()
        .map(|h| h.id)
        .collect();
    found.sort();
    let mut expected = vec![first, second, typed.id];
    expected.sort();
    assert_eq!(found, expected);

    // After the load, edits are indexed as they happen again.
    let c = r.store.customer(second).unwrap();
    r.store
        .update_customer(
            second,
            CustomerEdit {
                name: "Zebra Zone".into(),
                ..edit_of(&c)
            },
        )
        .unwrap();
    assert_eq!(r.store.search("zebra", 10).unwrap()[0].id, second);
    assert!(r.store.search("quill", 10).unwrap().is_empty());
}

#[test]
fn summaries_and_workload_are_computed_from_the_replica() {
    let mut r = replica(UserRole::Agent);
    r.store
        .apply_pull(&page(
            vec![upsert(
                "profiles",
                json!({"id": ME, "email": "me@example.com", "full_name": "Me Myself", "avatar_url": null,
                       "role": "agent", "created_at": "2026-11-01T10:00:00+00:00",
                       "updated_at": "2026-11-01T10:00:00+00:00"}),
            )],
            "c1",
        ))
        .unwrap();
    let a = r
        .store
        .create_customer(new_customer("Summary Shop"))
        .unwrap();
    let soon = Utc::now() + Duration::days(2);
    for due in [Some(Utc::now() - Duration::days(1)), Some(soon), None] {
        r.store
            .log_interaction(NewInteraction {
                customer_id: a.id,
                interaction_type: "call".into(),
                channel: InteractionChannel::Phone,
                note: None,
                follow_up_date: due,
                occurred_at: None,
            })
            .unwrap();
    }
    let t = r
        .store
        .open_ticket(NewTicket {
            title: "Summarise me".into(),
            description: None,
            priority: TicketPriority::Urgent,
            customer_id: Some(a.id),
            assigned_to: Some(ME),
        })
        .unwrap();
    r.store
        .add_comment(NewComment {
            ticket_id: t.id,
            content: "on it".into(),
            is_internal: false,
        })
        .unwrap();

    let cs = r.store.customer_summary(a.id).unwrap();
    assert_eq!(cs.interaction_count, 3);
    assert_eq!(cs.ticket_count, 1);
    assert_eq!(cs.open_ticket_count, 1);
    assert_eq!(cs.owner_name.as_deref(), Some("Me Myself"));
    let next = cs.next_follow_up_at.unwrap();
    let next = chrono::DateTime::parse_from_rfc3339(&next).unwrap();
    assert!(
        (next.with_timezone(&Utc) - soon).num_seconds().abs() < 1,
        "the next one ahead"
    );

    let ts = r.store.ticket_summary(t.id).unwrap();
    assert_eq!(ts.customer_name.as_deref(), Some("Summary Shop"));
    assert_eq!(ts.comment_count, 1);
    assert_eq!(ts.assigned_to_name.as_deref(), Some("Me Myself"));
    assert!(ts.age_hours.unwrap() < 1.0);

    let workload = r.store.user_workload().unwrap();
    assert_eq!(workload.len(), 1);
    assert_eq!(workload[0].user_id, ME);
    assert_eq!(workload[0].open_tickets, 1);
    assert_eq!(workload[0].high_priority_open_tickets, 1);
}

#[test]
fn products_are_listed_active_first_then_by_name() {
    let mut r = replica(UserRole::Agent);
    let product = |name: &str, active: bool| {
        upsert(
            "products",
            json!({
                "id": Uuid::now_v7(), "name": name, "description": null, "is_active": active,
                "created_at": "2026-11-01T10:00:00+00:00", "updated_at": "2026-11-01T10:00:00+00:00"
            }),
        )
    };
    r.store
        .apply_pull(&page(
            vec![
                product("Zeta Care", true),
                product("Legacy Plan", false),
                product("alpha Support", true),
            ],
            "c1",
        ))
        .unwrap();
    let names: Vec<(String, bool)> = r
        .store
        .products()
        .unwrap()
        .into_iter()
        .map(|p| (p.name, p.is_active))
        .collect();
    assert_eq!(
        names,
        vec![
            ("alpha Support".to_owned(), true),
            ("Zeta Care".to_owned(), true),
            ("Legacy Plan".to_owned(), false),
        ]
    );
}

#[test]
fn a_first_load_builds_its_indexes_once_at_its_end_and_reads_work_meanwhile() {
    let mut r = replica(UserRole::Agent);
    let catalog = crm_desktop_core::fixtures::side_connection(
        &r._dir.path().join("replica.sqlite3"),
        &crm_desktop_core::fixtures::test_key(),
    );
    let indexes = || -> Vec<String> {
        let mut stmt = catalog
            .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name = 'customers' ORDER BY name")
            .unwrap();
        stmt.query_map([], |row| row.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let before = indexes();
    assert!(
        before.len() >= 3,
        "the schema indexes customers: {before:?}"
    );

    let mut first = page(
        vec![
            upsert(
                "customers",
                server_customer(Uuid::now_v7(), "Acme Tools", ME),
            ),
            upsert(
                "customers",
                server_customer(Uuid::now_v7(), "Bolt Bakery", ME),
            ),
        ],
        "c1",
    );
    first.has_more = true;
    r.store.apply_pull(&first).unwrap();
    assert!(indexes().is_empty(), "no index upkeep while the load runs");
    let names: Vec<String> = r
        .store
        .list_customers(&CustomerFilter::default())
        .unwrap()
        .into_iter()
        .map(|c| c.customer.name)
        .collect();
    assert_eq!(
        names,
        vec!["Acme Tools", "Bolt Bakery"],
        "reads work meanwhile"
    );

    r.store
        .apply_pull(&page(
            vec![upsert(
                "customers",
                server_customer(Uuid::now_v7(), "Crane Cafe", ME),
            )],
            "c2",
        ))
        .unwrap();
    assert_eq!(indexes(), before, "every index is back when the load ends");
    let hits = r.store.search("cra", 10).unwrap();
    assert_eq!(hits.len(), 1, "and search covers the whole load");

    // Later pages are ordinary: no index is dropped again.
    r.store
        .apply_pull(&page(
            vec![upsert(
                "customers",
                server_customer(Uuid::now_v7(), "Delta Dental", ME),
            )],
            "c3",
        ))
        .unwrap();
    assert_eq!(indexes(), before);
}

#[test]
fn a_load_indexes_once_its_rows_are_in_and_the_catch_up_is_searchable() {
    let mut r = replica(UserRole::Agent);
    let catalog = crm_desktop_core::fixtures::side_connection(
        &r._dir.path().join("replica.sqlite3"),
        &crm_desktop_core::fixtures::test_key(),
    );
    let indexed = || -> bool {
        catalog
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'customers_name_idx'",
                [],
                |row| row.get::<_, i64>(0),
            )
            .unwrap()
            == 1
    };
    let load_page = |changes, cursor, done| PullResponse {
        has_more: true,
        progress: Some(crm_domain::protocol::Progress { done, total: 3 }),
        ..page(changes, cursor)
    };
    let (acme, bolt, crane) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    r.store
        .apply_pull(&load_page(
            vec![
                upsert("customers", server_customer(acme, "Acme Tools", ME)),
                upsert("customers", server_customer(bolt, "Bolt Bakery", ME)),
            ],
            "l1",
            2,
        ))
        .unwrap();
    assert!(!indexed(), "no index upkeep while rows are still coming");

    // The load's last rows: everything is indexed now, while the server
    // works out the catch-up that follows.
    r.store
        .apply_pull(&load_page(
            vec![upsert(
                "customers",
                server_customer(crane, "Crane Cafe", ME),
            )],
            "l2",
            3,
        ))
        .unwrap();
    assert!(indexed());
    assert_eq!(r.store.search("bolt", 10).unwrap()[0].id, bolt);
    assert!(
        !r.store.has_loaded().unwrap(),
        "the catch-up is still to come"
    );

    // The catch-up: what changed during the load, kept in step row by row.
    let delta = Uuid::now_v7();
    r.store
        .apply_pull(&page(
            vec![
                upsert("customers", server_customer(delta, "Delta Dental", ME)),
                upsert("customers", server_customer(acme, "Anvil Works", ME)),
            ],
            "f1",
        ))
        .unwrap();
    assert!(r.store.has_loaded().unwrap());
    assert_eq!(r.store.search("delta", 10).unwrap()[0].id, delta);
    assert_eq!(r.store.search("anvil", 10).unwrap()[0].id, acme);
    assert!(r.store.search("acme", 10).unwrap().is_empty());
    assert_eq!(r.store.search("cra", 10).unwrap()[0].id, crane);
}

#[test]
fn a_refused_change_names_what_it_was_about_after_its_row_has_left() {
    let mut r = replica(UserRole::Agent);
    let northwind = Uuid::now_v7();
    r.store
        .apply_pull(&page(
            vec![upsert(
                "customers",
                server_customer(northwind, "Northwind Traders", ME),
            )],
            "c1",
        ))
        .unwrap();
    r.store
        .log_interaction(NewInteraction {
            customer_id: northwind,
            interaction_type: "call".into(),
            channel: InteractionChannel::Phone,
            note: Some("Called about the renewal".into()),
            follow_up_date: None,
            occurred_at: None,
        })
        .unwrap();
    let c = r.store.customer(northwind).unwrap();
    r.store
        .update_customer(
            northwind,
            CustomerEdit {
                name: "Northwind Ltd".into(),
                ..edit_of(&c)
            },
        )
        .unwrap();
    let refused = |seq| MutationResult {
        seq,
        outcome: MutationOutcome::Rejected {
            code: RejectionCode::Forbidden,
            message: "this customer now belongs to someone else".into(),
            field: None,
            reason: None,
        },
    };
    r.store
        .settle(&PushResponse {
            results: vec![refused(1), refused(2)],
            last_seq: 2,
            forked: false,
        })
        .unwrap();
    // The customer was given to a colleague: it leaves this replica.
    r.store
        .apply_pull(&page(
            vec![Change::Remove {
                table: "customers".into(),
                row_id: northwind,
            }],
            "c2",
        ))
        .unwrap();
    assert!(r.store.customer(northwind).is_err());

    let inbox = r.store.inbox().unwrap();
    assert_eq!(r.store.inbox_len().unwrap(), 2);
    let subjects: Vec<Option<&str>> = inbox
        .rejected
        .iter()
        .map(|item| item.subject.as_deref())
        .collect();
    // The interaction by its customer; the rename by the name the server
    // had, not the refused one.
    assert_eq!(
        subjects,
        vec![Some("Northwind Traders"), Some("Northwind Traders")]
    );
}

/// A server row of a customer, `fields` overriding `server_customer`'s.
fn customer_with(id: Uuid, name: &str, fields: Value) -> Change {
    let mut row = server_customer(id, name, ME);
    if let (Some(row), Some(fields)) = (row.as_object_mut(), fields.as_object()) {
        row.extend(fields.clone());
    }
    upsert("customers", row)
}

fn names(items: &[crm_desktop_core::store::customers::CustomerListItem]) -> Vec<&str> {
    items.iter().map(|c| c.customer.name.as_str()).collect()
}

#[test]
fn every_customer_is_reachable_through_pages_that_know_the_total() {
    let mut r = replica(UserRole::Agent);
    let ids: Vec<Uuid> = (0..250).map(|_| Uuid::now_v7()).collect();
    let changes = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            upsert(
                "customers",
                server_customer(*id, &format!("Shop {i:03}"), ME),
            )
        })
        .collect();
    r.store.apply_pull(&page(changes, "c1")).unwrap();

    let mut seen = Vec::new();
    for (offset, expected) in [(0, 100), (100, 100), (200, 50)] {
        let page = r
            .store
            .customer_list(&CustomerFilter {
                limit: Some(100),
                offset: Some(offset),
                ..CustomerFilter::default()
            })
            .unwrap();
        assert_eq!(page.total, 250, "every page knows the total");
        assert_eq!(page.items.len(), expected);
        seen.extend(page.items.into_iter().map(|c| c.customer.id));
    }
    let mut all = ids.clone();
    all.sort();
    let mut reached = seen.clone();
    reached.sort();
    reached.dedup();
    assert_eq!(reached, all, "each of the 250 once, none twice");
    assert_eq!(seen.len(), 250);

    // A page past the end (customers left meanwhile) is empty but still
    // says how many there are, so the window can go back to the last page.
    let beyond = r
        .store
        .customer_list(&CustomerFilter {
            offset: Some(300),
            ..CustomerFilter::default()
        })
        .unwrap();
    assert!(beyond.items.is_empty());
    assert_eq!(beyond.total, 250);

    // The total counts the matches of a search, not the page.
    let searched = r
        .store
        .customer_list(&CustomerFilter {
            search: Some("shop 12".into()),
            limit: Some(5),
            ..CustomerFilter::default()
        })
        .unwrap();
    assert_eq!(searched.total, 10, "Shop 120 to 129");
    assert_eq!(searched.items.len(), 5);
}

#[test]
fn the_list_sorts_by_each_column_both_ways_with_blanks_last() {
    const THIRD: Uuid = Uuid::from_u128(0xC);
    let mut r = replica(UserRole::Admin);
    let colleague = |id, name: &str| crm_domain::entities::Colleague {
        id,
        full_name: Some(name.into()),
        avatar_url: None,
        role: UserRole::Agent,
    };
    r.store
        .replace_colleagues(&[
            colleague(ME, "Zoe Mills"),
            colleague(OTHER, "Ann Other"),
            colleague(THIRD, "Mark Third"),
        ])
        .unwrap();
    let changes = vec![
        customer_with(
            Uuid::now_v7(),
            "Alder",
            json!({"email": "zed@x.example", "phone": "+44 3", "acquisition_stage": "proposal",
                   "status": "churned", "owner": ME,
                   "created_at": "2024-01-01T00:00:00+00:00", "updated_at": "2026-03-01T00:00:00+00:00"}),
        ),
        customer_with(
            Uuid::now_v7(),
            "birch",
            json!({"email": "amy@x.example", "phone": null, "acquisition_stage": "lead",
                   "status": "active", "owner": OTHER,
                   "created_at": "2025-06-01T09:30:00.5+00:00", "updated_at": "2026-01-01T00:00:00+00:00"}),
        ),
        customer_with(
            Uuid::now_v7(),
            "Cedar",
            json!({"email": null, "phone": "+44 1", "acquisition_stage": "closed_won",
                   "status": "inactive", "owner": null,
                   "created_at": "2023-05-05T00:00:00+00:00", "updated_at": "2026-02-01T00:00:00+00:00"}),
        ),
        customer_with(
            Uuid::now_v7(),
            "Dogwood",
            // Half a second before birch, spelled differently: compared as
            // instants, not as text (where "Z" sorts after ".5").
            json!({"email": "mia@x.example", "phone": "+44 2", "acquisition_stage": "qualified",
                   "status": "active", "owner": THIRD,
                   "created_at": "2025-06-01T09:30:00Z", "updated_at": "2026-04-01T00:00:00+00:00"}),
        ),
    ];
    r.store.apply_pull(&page(changes, "c1")).unwrap();

    let sorted = |column, direction| {
        let list = r
            .store
            .list_customers(&CustomerFilter {
                sort: Some(CustomerSort { column, direction }),
                ..CustomerFilter::default()
            })
            .unwrap();
        names(&list)
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>()
    };
    use CustomerSortColumn::*;
    use SortDirection::{Asc, Desc};
    let expected: [(CustomerSortColumn, [&str; 4], [&str; 4]); 8] = [
        // Ignoring case: "birch" between Alder and Cedar.
        (
            Name,
            ["Alder", "birch", "Cedar", "Dogwood"],
            ["Dogwood", "Cedar", "birch", "Alder"],
        ),
        // Cedar has no email, birch no phone: last both ways.
        (
            Email,
            ["birch", "Dogwood", "Alder", "Cedar"],
            ["Alder", "Dogwood", "birch", "Cedar"],
        ),
        (
            Phone,
            ["Cedar", "Dogwood", "Alder", "birch"],
            ["Alder", "Dogwood", "Cedar", "birch"],
        ),
        // The pipeline's order, not the alphabet's.
        (
            Stage,
            ["birch", "Dogwood", "Alder", "Cedar"],
            ["Cedar", "Alder", "Dogwood", "birch"],
        ),
        // Active, inactive, churned; the two active ones by name either way.
        (
            Status,
            ["birch", "Dogwood", "Cedar", "Alder"],
            ["Alder", "Cedar", "birch", "Dogwood"],
        ),
        // By the owner's name (Ann, Mark, Zoe); Cedar has no owner.
        (
            Owner,
            ["birch", "Dogwood", "Alder", "Cedar"],
            ["Alder", "Dogwood", "birch", "Cedar"],
        ),
        (
            CreatedAt,
            ["Cedar", "Alder", "Dogwood", "birch"],
            ["birch", "Dogwood", "Alder", "Cedar"],
        ),
        (
            UpdatedAt,
            ["birch", "Cedar", "Alder", "Dogwood"],
            ["Dogwood", "Alder", "Cedar", "birch"],
        ),
    ];
    for (column, ascending, descending) in expected {
        assert_eq!(sorted(column, Asc), ascending, "{column:?} ascending");
        assert_eq!(sorted(column, Desc), descending, "{column:?} descending");
    }

    // A chosen order applies to a search's matches too, instead of the rank.
    let matches = r
        .store
        .customer_list(&CustomerFilter {
            search: Some("example".into()),
            sort: Some(CustomerSort {
                column: Name,
                direction: Desc,
            }),
            ..CustomerFilter::default()
        })
        .unwrap();
    assert_eq!(names(&matches.items), ["Dogwood", "birch", "Alder"]);
    assert_eq!(matches.total, 3);

    // The window sends the order as words; the direction defaults to up.
    let filter: CustomerFilter = serde_json::from_value(json!({
        "sort": {"column": "created_at"}
    }))
    .unwrap();
    assert_eq!(
        filter.sort,
        Some(CustomerSort {
            column: CreatedAt,
            direction: Asc
        })
    );
}

#[test]
fn an_admin_narrows_the_list_to_one_owners_customers() {
    let mut r = replica(UserRole::Admin);
    let changes = (0..5)
        .map(|i| {
            let owner = if i < 2 { OTHER } else { ME };
            upsert(
                "customers",
                server_customer(Uuid::now_v7(), &format!("Shop {i}"), owner),
            )
        })
        .collect();
    r.store.apply_pull(&page(changes, "c1")).unwrap();
    let of = |owner| {
        r.store
            .customer_list(&CustomerFilter {
                owner,
                ..CustomerFilter::default()
            })
            .unwrap()
    };

    let others = of(Some(OTHER));
    assert_eq!(names(&others.items), ["Shop 0", "Shop 1"]);
    assert_eq!(others.total, 2);
    assert!(others.items.iter().all(|c| c.customer.owner == Some(OTHER)));
    assert_eq!(of(Some(ME)).total, 3);
    assert_eq!(of(None).total, 5, "no owner chosen: everyone's");
    assert_eq!(of(Some(Uuid::from_u128(0xF))).total, 0);
}

#[test]
fn archived_customers_leave_the_list_unless_asked_for_but_search_finds_them_marked() {
    let mut r = replica(UserRole::Agent);
    let kept = Uuid::now_v7();
    let archived = Uuid::now_v7();
    r.store
        .apply_pull(&page(
            vec![
                customer_with(kept, "Harbour Hardware", json!({})),
                customer_with(archived, "Harbour Bakery", json!({"is_archived": true})),
            ],
            "c1",
        ))
        .unwrap();
    let list = |search: Option<&str>, include_archived| {
        r.store
            .customer_list(&CustomerFilter {
                search: search.map(String::from),
                include_archived,
                ..CustomerFilter::default()
            })
            .unwrap()
    };

    for search in [None, Some("harbour")] {
        let shown = list(search, false);
        assert_eq!(names(&shown.items), ["Harbour Hardware"], "{search:?}");
        assert_eq!(shown.total, 1, "the total leaves them out too");
        let all = list(search, true);
        assert_eq!(all.total, 2);
        assert!(
            all.items
                .iter()
                .any(|c| c.customer.id == archived && c.customer.is_archived)
        );
    }

    let hits = r.store.search("harbour", 20).unwrap();
    let marks: Vec<(Uuid, bool)> = {
        let mut marks: Vec<_> = hits.iter().map(|h| (h.id, h.is_archived)).collect();
        marks.sort();
        marks
    };
    let mut expected = vec![(kept, false), (archived, true)];
    expected.sort();
    assert_eq!(marks, expected, "both found; the archived one says so");
}

#[test]
fn stages_sort_in_the_pipelines_order_and_statuses_in_the_vocabularys() {
    let mut r = replica(UserRole::Agent);
    // Named against the order, so a sort by name cannot pass for it.
    let mut changes = Vec::new();
    for (i, stage) in AcquisitionStage::ALL.iter().enumerate() {
        let row = json!({"acquisition_stage": stage.as_str()});
        changes.push(customer_with(Uuid::now_v7(), &format!("S{}", 9 - i), row));
    }
    for (i, status) in CustomerStatus::ALL.iter().enumerate() {
        let row = json!({"status": status.as_str(), "acquisition_stage": "closed_lost"});
        changes.push(customer_with(Uuid::now_v7(), &format!("T{}", 9 - i), row));
    }
    r.store.apply_pull(&page(changes, "c1")).unwrap();
    let by = |column| {
        r.store
            .list_customers(&CustomerFilter {
                sort: Some(CustomerSort {
                    column,
                    direction: SortDirection::Asc,
                }),
                ..CustomerFilter::default()
            })
            .unwrap()
    };

    let stages: Vec<AcquisitionStage> = by(CustomerSortColumn::Stage)
        .iter()
        .map(|c| c.customer.acquisition_stage)
        .collect();
    let mut expected = AcquisitionStage::ALL.to_vec();
    // The statuses' customers are all closed_lost, the last stage.
    expected.extend([AcquisitionStage::ClosedLost; 3]);
    assert_eq!(stages, expected);

    let statuses: Vec<CustomerStatus> = by(CustomerSortColumn::Status)
        .iter()
        .filter(|c| c.customer.name.starts_with('T'))
        .map(|c| c.customer.status)
        .collect();
    assert_eq!(statuses, CustomerStatus::ALL);
}

#[test]
fn a_refetch_replaces_rows_in_place_and_removes_only_what_the_server_did_not_send() {
    let mut r = replica(UserRole::Agent);
    let (kept, gone) = (Uuid::now_v7(), Uuid::now_v7());
    r.store
        .apply_pull(&page(
            vec![
                upsert("customers", server_customer(kept, "Kept", ME)),
                upsert(
                    "customers",
                    server_customer(gone, "Gone from the server", ME),
                ),
            ],
            "c1",
        ))
        .unwrap();
    let names = |store: &Store| -> Vec<String> {
        let mut names: Vec<String> = store
            .list_customers(&CustomerFilter::default())
            .unwrap()
            .into_iter()
            .map(|i| i.customer.name)
            .collect();
        names.sort();
        names
    };

    // The table drifted: it is sent whole again. Meanwhile the user still
    // sees and works on their rows (before, the table was emptied first).
    r.store.begin_refetch(&["customers".to_string()]).unwrap();
    assert_eq!(names(&r.store), ["Gone from the server", "Kept"]);
    let made = r
        .store
        .create_customer(new_customer("Made meanwhile"))
        .unwrap();
    r.store
        .log_interaction(NewInteraction {
            customer_id: kept,
            interaction_type: "call".into(),
            channel: InteractionChannel::Phone,
            note: None,
            follow_up_date: None,
            occurred_at: None,
        })
        .unwrap();

    // The first page of the refetch: the kept row, renamed on the server.
    let mut first = page(
        vec![upsert(
            "customers",
            server_customer(kept, "Kept, renamed", ME),
        )],
        "c2",
    );
    first.has_more = true;
    r.store.apply_pull(&first).unwrap();
    assert_eq!(
        names(&r.store),
        ["Gone from the server", "Kept, renamed", "Made meanwhile"]
    );

    // The last: the row the server did not send goes; unsent work stays.
    r.store.apply_pull(&page(Vec::new(), "c3")).unwrap();
    assert_eq!(names(&r.store), ["Kept, renamed", "Made meanwhile"]);
    assert!(r.store.customer(made.id).is_ok());
    assert_eq!(r.store.pending_count().unwrap(), 2);

    // And a later page, with no refetch running, removes nothing.
    r.store.apply_pull(&page(Vec::new(), "c4")).unwrap();
    assert_eq!(names(&r.store), ["Kept, renamed", "Made meanwhile"]);

    // A refetch cut short (the next pull begins without it ending) removes
    // nothing either: the rows stay until a refetch has sent them all.
    r.store.begin_refetch(&["customers".to_string()]).unwrap();
    r.store.abandon_refetch().unwrap();
    r.store.apply_pull(&page(Vec::new(), "c5")).unwrap();
    assert_eq!(names(&r.store), ["Kept, renamed", "Made meanwhile"]);
}
