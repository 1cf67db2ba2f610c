//! Pushing offline work: every mutation lands exactly once with its audit
//! row, replays change nothing, gaps are refused, a refused mutation never
//! blocks the ones after it, and concurrent edits merge field by field with
//! every losing value kept as a conflict both users can see.
#![allow(clippy::unwrap_used)]

mod support;

use chrono::{TimeDelta, Utc};
use crm_domain::UserRole;
use crm_domain::protocol::{MutationOutcome, PROTOCOL_VERSION, SyncTable};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::client::SimClient;
use support::server::{TestServer, assert_error};
use sync_server::data::Claims;
use uuid::Uuid;

async fn team(s: &TestServer) {
    s.create_account("ana@field.test", UserRole::Agent).await;
    s.create_account("ben@field.test", UserRole::Agent).await;
    s.create_account("ada@field.test", UserRole::Admin).await;
}

/// (client_seq, action) of the audit rows a client's mutations caused.
async fn audit_of(s: &TestServer, client: Uuid) -> Vec<(i64, String)> {
    sqlx::query_as("SELECT client_seq, action FROM audit_history WHERE client_id = $1 ORDER BY client_seq, created_at")
        .bind(client)
        .fetch_all(s.db.pool())
        .await
        .unwrap()
}

async fn row(s: &TestServer, sql: &'static str, id: Uuid) -> Value {
    sqlx::query_scalar(sql)
        .bind(id)
        .fetch_one(s.db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn each_mutation_lands_exactly_once_with_its_audit_row() {
    let s = TestServer::start(&[]).await;
    team(&s).await;
    let ana = SimClient::sign_in(&s, "ana@field.test").await;
    let (customer, interaction) = (Uuid::now_v7(), Uuid::now_v7());
    let batch = vec![
        ana.insert(
            SyncTable::Customers,
            customer,
            json!({ "name": "Acme", "phone": "+49 30 1234567" }),
        ),
        ana.update(
            SyncTable::Customers,
            customer,
            &[("name", json!("Acme"), json!("Acme GmbH"))],
        ),
        ana.insert(
            SyncTable::CustomerInteractions,
            interaction,
            json!({ "customer_id": customer, "type": "visit", "channel": "meeting",
                    "follow_up_date": "2026-12-01T09:00:00Z" }),
        ),
    ];
    let first = ana.push(&batch).await;
    assert_eq!(first.last_seq, 3);
    assert!(
        first
            .results
            .iter()
            .all(|r| r.outcome == MutationOutcome::Applied),
        "{first:?}"
    );
    assert_eq!(
        audit_of(&s, ana.client_id).await,
        [
            (1, "INSERT".into()),
            (2, "UPDATE".into()),
            (3, "INSERT".into())
        ]
    );
    let actors: Vec<Option<Uuid>> =
        sqlx::query_scalar("SELECT DISTINCT changed_by FROM audit_history WHERE client_id = $1")
            .bind(ana.client_id)
            .fetch_all(s.db.pool())
            .await
            .unwrap();
    assert_eq!(actors, [Some(ana.user_id)]);

    // The response was lost; the client sends the same batch again.
    let replay = ana.push(&batch).await;
    assert_eq!(replay, first, "a replay returns the stored results");
    assert_eq!(
        audit_of(&s, ana.client_id).await.len(),
        3,
        "and applies nothing twice"
    );
    let name = row(
        &s,
        "SELECT to_jsonb(name) FROM customers WHERE id = $1",
        customer,
    )
    .await;
    assert_eq!(name, "Acme GmbH");
    let owner = row(
        &s,
        "SELECT to_jsonb(owner) FROM customers WHERE id = $1",
        customer,
    )
    .await;
    assert_eq!(
        owner,
        json!(ana.user_id),
        "the owner defaults to the pusher"
    );
}

#[tokio::test]
async fn a_gap_is_refused_and_changes_nothing() {
    let s = TestServer::start(&[]).await;
    team(&s).await;
    let ana = SimClient::sign_in(&s, "ana@field.test").await;
    let first = ana.insert(
        SyncTable::Customers,
        Uuid::now_v7(),
        json!({ "name": "One" }),
    );
    let _lost = ana.insert(
        SyncTable::Customers,
        Uuid::now_v7(),
        json!({ "name": "Two" }),
    );
    let third = ana.insert(
        SyncTable::Customers,
        Uuid::now_v7(),
        json!({ "name": "Three" }),
    );
    ana.push(&[first]).await;

    let body = serde_json::to_value(ana.request(std::slice::from_ref(&third))).unwrap();
    let body = assert_error(
        ana.push_raw(&body).await,
        StatusCode::CONFLICT,
        "sequence_gap",
    )
    .await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expected mutation 2")
    );
    let names: Vec<String> = sqlx::query_scalar("SELECT name FROM customers")
        .fetch_all(s.db.pool())
        .await
        .unwrap();
    assert_eq!(names, ["One"]);

    // Out of order inside one batch is not the protocol either.
    let body = serde_json::to_value(ana.request(&[third.clone(), third])).unwrap();
    assert_error(
        ana.push_raw(&body).await,
        StatusCode::BAD_REQUEST,
        "sequence_not_consecutive",
    )
    .await;
}

#[tokio::test]
async fn a_refused_mutation_is_reported_and_does_not_block_the_ones_after_it() {
    let s = TestServer::start(&[]).await;
    team(&s).await;
    let ben = SimClient::sign_in(&s, "ben@field.test").await;
    let ana = SimClient::sign_in(&s, "ana@field.test").await;
    let ticket = Uuid::now_v7();
    ana.push(&[ana.insert(
        SyncTable::Tickets,
        ticket,
        json!({ "title": "Pump broken" }),
    )])
    .await;

    let good = Uuid::now_v7();
    let batch = vec![
        // Someone else's customer: RLS says no.
        ana.insert(
            SyncTable::Customers,
            Uuid::now_v7(),
            json!({ "name": "Planted", "owner": ben.user_id }),
        ),
        // open -> reopened is not a move the workflow allows.
        ana.update(
            SyncTable::Tickets,
            ticket,
            &[("status", json!("open"), json!("reopened"))],
        ),
        // The same rule as the forms: names have a limit.
        ana.insert(
            SyncTable::Customers,
            Uuid::now_v7(),
            json!({ "name": "x".repeat(201) }),
        ),
        // A value the column cannot hold.
        ana.insert(
            SyncTable::Customers,
            Uuid::now_v7(),
            json!({ "name": "Odd", "acquisition_stage": "maybe" }),
        ),
        // A row that is not there.
        ana.update(
            SyncTable::Customers,
            Uuid::now_v7(),
            &[("name", json!("a"), json!("b"))],
        ),
        ana.insert(SyncTable::Customers, good, json!({ "name": "Fine" })),
    ];
    let response = ana.push(&batch).await;
    assert_eq!(response.last_seq, 7);
    let codes: Vec<String> = response
        .results
        .iter()
        .map(|r| match &r.outcome {
            MutationOutcome::Rejected { code, message, .. } => {
                assert!(!message.is_empty());
                code.to_string()
            }
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        codes,
        [
            "forbidden",
            "not_allowed",
            "validation_failed",
            "invalid_value",
            "not_found",
            "Applied"
        ]
    );
    // Only the good one left a trace; the ticket is still open.
    assert_eq!(
        audit_of(&s, ana.client_id).await,
        [(1, "INSERT".into()), (7, "INSERT".into())]
    );
    let status = row(
        &s,
        "SELECT to_jsonb(status) FROM tickets WHERE id = $1",
        ticket,
    )
    .await;
    assert_eq!(status, "open");

    // The refusals are settled: a replay reports them again, and the next
    // push carries on from 8.
    assert_eq!(ana.push(&batch).await, response);
    let next = ana
        .push(&[ana.insert(
            SyncTable::Customers,
            Uuid::now_v7(),
            json!({ "name": "Next" }),
        )])
        .await;
    assert_eq!(next.last_seq, 8);
}

#[tokio::test]
async fn a_refusal_names_the_field_it_concerns() {
    let s = TestServer::start(&[]).await;
    team(&s).await;
    let ana = SimClient::sign_in(&s, "ana@field.test").await;
    let customer = Uuid::now_v7();
    ana.push(&[ana.insert(SyncTable::Customers, customer, json!({ "name": "Acme" }))])
        .await;
    let batch = vec![
        // The domain's rule for the field.
        ana.insert(
            SyncTable::Customers,
            Uuid::now_v7(),
            json!({ "name": "Acme", "phone": "call me" }),
        ),
        // A CHECK constraint named after its column, in a run of inserts.
        ana.insert(
            SyncTable::Customers,
            Uuid::now_v7(),
            json!({ "name": "Acme", "status": "thinking" }),
        ),
        // The same, in an update.
        ana.update(
            SyncTable::Customers,
            customer,
            &[("status", json!("active"), json!("thinking"))],
        ),
        // A value the row cannot do without.
        ana.insert(
            SyncTable::Customers,
            Uuid::now_v7(),
            json!({ "email": null }),
        ),
        // A rule with no one field: none is named.
        ana.update(
            SyncTable::Customers,
            Uuid::now_v7(),
            &[("name", json!("a"), json!("b"))],
        ),
    ];
    let response = ana.push(&batch).await;
    let refusals: Vec<(String, Option<String>, String)> = response
        .results
        .iter()
        .map(|r| match &r.outcome {
            MutationOutcome::Rejected {
                code,
                field,
                message,
                ..
            } => (code.to_string(), field.clone(), message.clone()),
            other => panic!("{other:?}"),
        })
        .collect();
    let fields: Vec<_> = refusals
        .iter()
        .map(|(c, f, _)| (c.as_str(), f.as_deref()))
        .collect();
    assert_eq!(
        fields,
        [
            ("validation_failed", Some("phone")),
            ("not_allowed", Some("status")),
            ("not_allowed", Some("status")),
            ("missing_value", Some("name")),
            ("not_found", None),
        ]
    );
    // The sentence leads with the field, never with a constraint's name.
    for (_, field, message) in &refusals[..4] {
        let field = field.as_deref().unwrap_or_default();
        assert!(message.starts_with(&format!("{field}: ")), "{message}");
        assert!(!message.contains("_check"), "{message}");
    }
}

#[tokio::test]
async fn a_restored_replicas_new_work_is_applied_not_taken_for_a_replay() {
    let s = TestServer::start(&[]).await;
    team(&s).await;
    let ana = SimClient::sign_in(&s, "ana@field.test").await;
    let insert = |seq: i64, name: &str| {
        let mut m = ana.insert(
            SyncTable::Customers,
            Uuid::now_v7(),
            json!({ "name": name }),
        );
        m.seq = seq;
        m
    };
    // The original replica sends 1..=3.
    let (one, two, three) = (insert(1, "One"), insert(2, "Two"), insert(3, "Three"));
    ana.push(&[one.clone(), two, three]).await;
    // A copy made after 1 went on with its own 2 and 3, and sends them
    // with its backlog (1 again, a true replay).
    let copy = [one, insert(2, "Copy two"), insert(3, "Copy three")];
    let answer = ana.push(&copy).await;
    assert!(answer.forked, "{answer:?}");
    assert_eq!(
        answer.last_seq, 1,
        "the replay is answered, nothing after it"
    );
    assert_eq!(answer.results.len(), 1);
    // The copy takes a new client id and sends the rest under it, from
    // where its outbox is.
    let mut renamed = ana.request(&copy[1..]);
    renamed.client_id = Uuid::now_v7();
    let answer: crm_domain::protocol::PushResponse = ana
        .push_raw(&serde_json::to_value(&renamed).unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert!(!answer.forked);
    assert_eq!(answer.last_seq, 3);
    assert!(
        answer
            .results
            .iter()
            .all(|r| r.outcome == MutationOutcome::Applied),
        "{answer:?}"
    );
    let mut names: Vec<String> = sqlx::query_scalar("SELECT name FROM customers")
        .fetch_all(s.db.pool())
        .await
        .unwrap();
    names.sort();
    assert_eq!(names, ["Copy three", "Copy two", "One", "Three", "Two"]);
}

#[tokio::test]
async fn the_sync_bookkeeping_is_pruned_of_what_nothing_needs_any_more() {
    let s = TestServer::start(&[]).await;
    team(&s).await;
    let ana = SimClient::sign_in(&s, "ana@field.test").await;
    let pool = s.db.pool();
    let (kept, dropped) = (Uuid::now_v7(), Uuid::now_v7());
    ana.push(&[
        ana.insert(SyncTable::Customers, kept, json!({ "name": "Kept" })),
        ana.insert(SyncTable::Customers, dropped, json!({ "name": "Dropped" })),
    ])
    .await;
    ana.push(&[
        ana.update(
            SyncTable::Customers,
            kept,
            &[("name", json!("Kept"), json!("Kept!"))],
        ),
        ana.update(
            SyncTable::Customers,
            dropped,
            &[("name", json!("Dropped"), json!("Gone"))],
        ),
    ])
    .await;
    // Deleted outside sync: its field clocks lose their row.
    sqlx::query("DELETE FROM customers WHERE id = $1")
        .bind(dropped)
        .execute(pool)
        .await
        .unwrap();
    // Conflicts: an old resolved one goes, an old open one on a live row
    // stays (it is still the agent's to see).
    for (id, resolved) in [(Uuid::now_v7(), true), (Uuid::now_v7(), false)] {
        sqlx::query(
            "INSERT INTO sync.conflicts (id, table_name, row_id, field, kept_value, lost_value, client_id,
                                         client_seq, created_at, resolved_at, resolution)
             VALUES ($1, 'customers', $2, 'name', '\"a\"', '\"b\"', $3, 3, now() - interval '200 days',
                     CASE WHEN $4 THEN now() - interval '199 days' END, CASE WHEN $4 THEN 'dismissed' END)",
        )
        .bind(id)
        .bind(kept)
        .bind(ana.client_id)
        .bind(resolved)
        .execute(pool)
        .await
        .unwrap();
    }
    // This client's first outcomes are old and a thousand behind its last;
    // another client has been silent for over a year.
    sqlx::query(
        "UPDATE sync.client_mutations SET settled_at = now() - interval '100 days' WHERE client_id = $1;",
    )
    .bind(ana.client_id)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query("UPDATE sync.clients SET last_seq = 1003 WHERE client_id = $1")
        .bind(ana.client_id)
        .execute(pool)
        .await
        .unwrap();
    let silent = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO sync.clients (client_id, user_id, last_seq, created_at, last_push_at)
         SELECT $1, user_id, 0, now() - interval '2 years', now() - interval '400 days'
         FROM sync.clients WHERE client_id = $2",
    )
    .bind(silent)
    .bind(ana.client_id)
    .execute(pool)
    .await
    .unwrap();

    let pruned = sync_server::sync::retention::prune_bookkeeping(
        pool,
        std::time::Duration::from_secs(90 * 24 * 3600),
    )
    .await
    .unwrap();
    assert_eq!(
        pruned,
        sync_server::sync::retention::Pruned {
            outcomes: 3,
            // The deleted row's insert clock and its name's.
            clocks: 2,
            conflicts: 1,
            clients: 1
        }
    );
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM sync.field_clock WHERE row_id = $1")
        .bind(kept)
        .fetch_one(pool)
        .await
        .unwrap();
    assert!(left > 0, "the live row keeps its clocks");
    // A replay of a pruned outcome is answered as a fork: the client sends
    // it again under a new id, and nothing is lost.
    let mut replay = ana.insert(
        SyncTable::Customers,
        Uuid::now_v7(),
        json!({ "name": "Late" }),
    );
    replay.seq = 1;
    let answer = ana.push(&[replay]).await;
    assert!(answer.forked);
}

/// (client_seq, record_id) of the audit rows a client's mutations caused.
async fn audited_rows(s: &TestServer, client: Uuid) -> Vec<(i64, Uuid)> {
    sqlx::query_as(
        "SELECT client_seq, record_id FROM audit_history WHERE client_id = $1 ORDER BY client_seq",
    )
    .bind(client)
    .fetch_all(s.db.pool())
    .await
    .unwrap()
}

/// In how many (sub)transactions these rows were written: rows one
/// multi-row statement inserted share one; one by one, each has its own.
async fn writing_transactions(s: &TestServer, ids: &[Uuid]) -> i64 {
    sqlx::query_scalar("SELECT count(DISTINCT xmin::text) FROM customers WHERE id = ANY($1)")
        .bind(ids)
        .fetch_one(s.db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_run_of_inserts_goes_in_together_and_a_refused_row_of_it_is_rejected_alone() {
    let s = TestServer::start(&[]).await;
    team(&s).await;
    let ana = SimClient::sign_in(&s, "ana@field.test").await;
    let ben = SimClient::sign_in(&s, "ben@field.test").await;
    // Twenty inserts naming the same columns: one group, one statement for
    // the database. Two rows are refused by PostgreSQL itself (not by the
    // server's validation): RLS (someone else as owner), and a value the
    // column cannot hold.
    let ids: Vec<Uuid> = (0..20).map(|_| Uuid::now_v7()).collect();
    let (forbidden, invalid) = (3, 13);
    let batch: Vec<_> = ids
        .iter()
        .enumerate()
        .map(|(k, id)| {
            let owner = if k == forbidden {
                ben.user_id
            } else {
                ana.user_id
            };
            let stage = if k == invalid { "maybe" } else { "lead" };
            ana.insert(
                SyncTable::Customers,
                *id,
                json!({ "name": format!("Run {k}"), "owner": owner, "acquisition_stage": stage }),
            )
        })
        .collect();
    let response = ana.push(&batch).await;
    assert_eq!(response.last_seq, 20);
    let codes: Vec<String> = response
        .results
        .iter()
        .map(|r| match &r.outcome {
            MutationOutcome::Rejected { code, .. } => code.to_string(),
            other => format!("{other:?}"),
        })
        .collect();
    let expected: Vec<&str> = (0..20)
        .map(|k| match k {
            k if k == forbidden => "forbidden",
            k if k == invalid => "invalid_value",
            _ => "Applied",
        })
        .collect();
    assert_eq!(codes, expected);
    // Exactly the others are there, each with one audit row naming its
    // own mutation, and one change-log row.
    let good: Vec<(i64, Uuid)> = ids
        .iter()
        .enumerate()
        .filter(|(k, _)| *k != forbidden && *k != invalid)
        .map(|(k, id)| (k as i64 + 1, *id))
        .collect();
    assert_eq!(audited_rows(&s, ana.client_id).await, good);
    let mut good_ids: Vec<Uuid> = good.iter().map(|(_, id)| *id).collect();
    good_ids.sort();
    let stored: Vec<Uuid> =
        sqlx::query_scalar("SELECT id FROM customers WHERE name LIKE 'Run %' ORDER BY id")
            .fetch_all(s.db.pool())
            .await
            .unwrap();
    assert_eq!(stored, good_ids);
    let logged: Vec<Uuid> = sqlx::query_scalar(
        "SELECT row_id FROM sync.changes WHERE table_name = 'customers' AND op = 'upsert' ORDER BY row_id",
    )
    .fetch_all(s.db.pool())
    .await
    .unwrap();
    assert_eq!(logged, good_ids);
    // The refusals did not send the other 18 in one by one: the group was
    // halved until the refused rows stood alone.
    assert!(writing_transactions(&s, &good_ids).await < 18);

    // A run that is all fine goes in as one statement per group of equal
    // columns, every row with its own number; rows naming fewer columns
    // get the columns' defaults, exactly as one by one.
    let plain: Vec<Uuid> = (0..4).map(|_| Uuid::now_v7()).collect();
    let fuller = Uuid::now_v7();
    let response = ana
        .push(&[
            ana.insert(SyncTable::Customers, plain[0], json!({ "name": "Plain" })),
            ana.insert(SyncTable::Customers, plain[1], json!({ "name": "Plain" })),
            ana.insert(
                SyncTable::Customers,
                fuller,
                json!({ "name": "Fuller", "status": "inactive" }),
            ),
            ana.insert(SyncTable::Customers, plain[2], json!({ "name": "Plain" })),
            ana.insert(SyncTable::Customers, plain[3], json!({ "name": "Plain" })),
        ])
        .await;
    assert!(
        response
            .results
            .iter()
            .all(|r| r.outcome == MutationOutcome::Applied),
        "{response:?}"
    );
    assert_eq!(
        audited_rows(&s, ana.client_id).await[18..],
        [
            (21, plain[0]),
            (22, plain[1]),
            (23, fuller),
            (24, plain[2]),
            (25, plain[3])
        ]
    );
    assert_eq!(writing_transactions(&s, &plain[..2]).await, 1);
    assert_eq!(writing_transactions(&s, &plain[2..]).await, 1);
    for id in &plain {
        let stored = row(
            &s,
            "SELECT jsonb_build_object('owner', owner, 'status', status) FROM customers WHERE id = $1",
            *id,
        )
        .await;
        assert_eq!(stored, json!({ "owner": ana.user_id, "status": "active" }));
    }

    // The same row twice in a run: the first lands, the second already
    // exists; the one after still goes in.
    let (twice, after) = (Uuid::now_v7(), Uuid::now_v7());
    let response = ana
        .push(&[
            ana.insert(SyncTable::Customers, twice, json!({ "name": "Twice" })),
            ana.insert(SyncTable::Customers, twice, json!({ "name": "Twice" })),
            ana.insert(SyncTable::Customers, after, json!({ "name": "After" })),
        ])
        .await;
    let codes: Vec<String> = response
        .results
        .iter()
        .map(|r| match &r.outcome {
            MutationOutcome::Rejected { code, .. } => code.to_string(),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(codes, ["Applied", "already_exists", "Applied"]);
    assert_eq!(
        audited_rows(&s, ana.client_id).await[23..],
        [(26, twice), (28, after)]
    );
}

#[tokio::test]
async fn offline_edits_of_different_fields_both_survive() {
    let s = TestServer::start(&[]).await;
    team(&s).await;
    let ana = SimClient::sign_in(&s, "ana@field.test").await;
    let ada = SimClient::sign_in(&s, "ada@field.test").await;
    let customer = Uuid::now_v7();
    ana.push(&[ana.insert(
        SyncTable::Customers,
        customer,
        json!({ "name": "Acme", "email": "old@acme.example" }),
    )])
    .await;

    // Both went offline having seen the same row.
    let ana_edit = ana.update(
        SyncTable::Customers,
        customer,
        &[("phone", Value::Null, json!("+1 555 0100"))],
    );
    let ada_edit = ada.update(
        SyncTable::Customers,
        customer,
        &[(
            "email",
            json!("old@acme.example"),
            json!("new@acme.example"),
        )],
    );
    assert_eq!(
        ada.push(&[ada_edit]).await.results[0].outcome,
        MutationOutcome::Applied
    );
    assert_eq!(
        ana.push(&[ana_edit]).await.results[0].outcome,
        MutationOutcome::Applied
    );

    let now: Value = row(
        &s,
        "SELECT jsonb_build_object('phone', phone, 'email', email) FROM customers WHERE id = $1",
        customer,
    )
    .await;
    assert_eq!(
        now,
        json!({ "phone": "+1 555 0100", "email": "new@acme.example" })
    );
}

/// The conflicts of a push's one mutation, which must have been merged.
/// An insert records one clock for the fields it set: it decides their
/// merges (when, and whose value is lost) until an edit gives a field a
/// clock of its own, which then never starts earlier than the insert's.
#[tokio::test]
async fn an_inserts_clock_decides_for_the_fields_it_set_until_they_are_edited() {
    let s = TestServer::start(&[]).await;
    team(&s).await;
    let ana = SimClient::sign_in(&s, "ana@field.test").await;
    let ada = SimClient::sign_in(&s, "ada@field.test").await;
    let customer = Uuid::now_v7();
    let now = Utc::now();
    // Created offline two hours ago, synced now.
    let mut insert = ana.insert(SyncTable::Customers, customer, json!({ "name": "Acme" }));
    insert.edited_at = now - TimeDelta::hours(2);
    ana.push(&[insert]).await;

    // Ada renamed it an hour ago, from a name she had from elsewhere: her
    // edit is later than the insert's, so it wins, and Ana's name is the
    // one kept as a conflict, lost by Ana.
    let pushed = ada
        .push(&[ada.update_at(
            SyncTable::Customers,
            customer,
            &[("name", json!("Acme Inc"), json!("Acme Ltd"))],
            now - TimeDelta::hours(1),
        )])
        .await;
    let conflict = &merged(&pushed)[0];
    assert_eq!(
        (conflict.lost.clone(), conflict.lost_is_yours),
        (json!("Acme"), false)
    );
    let lost_by: Option<Uuid> =
        sqlx::query_scalar("SELECT lost_by FROM sync.conflicts WHERE id = $1")
            .bind(conflict.conflict_id)
            .fetch_one(s.db.pool())
            .await
            .unwrap();
    assert_eq!(lost_by, Some(ana.user_id));

    // A field the insert did not set has no clock: the row's timestamp
    // (just now) decides, and Ada's hour-old edit loses.
    let pushed = ada
        .push(&[ada.update_at(
            SyncTable::Customers,
            customer,
            &[("email", json!("old@acme.test"), json!("new@acme.test"))],
            now - TimeDelta::hours(1),
        )])
        .await;
    assert!(merged(&pushed)[0].lost_is_yours);

    // The name has its own clock now (Ada's, an hour ago): Ana's edit from
    // 90 minutes ago is the earlier one and loses.
    let pushed = ana
        .push(&[ana.update_at(
            SyncTable::Customers,
            customer,
            &[("name", json!("Acme"), json!("ACME"))],
            now - TimeDelta::minutes(90),
        )])
        .await;
    let conflict = &merged(&pushed)[0];
    assert_eq!(
        (conflict.kept.clone(), conflict.lost_is_yours),
        (json!("Acme Ltd"), true)
    );
}

fn merged(pushed: &crm_domain::protocol::PushResponse) -> &[crm_domain::protocol::FieldConflict] {
    match &pushed.results[0].outcome {
        MutationOutcome::Merged { conflicts } => conflicts,
        other => panic!("expected a merge, got {other:?}"),
    }
}

async fn conflicts_seen_by(s: &TestServer, user: Uuid) -> Vec<(String, Value, Value)> {
    let mut tx = sync_server::data::acting::begin_as(s.db.pool(), &Claims::user(user))
        .await
        .unwrap();
    sqlx::query_as("SELECT field, kept_value, lost_value FROM sync.conflicts ORDER BY created_at")
        .fetch_all(&mut *tx)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_later_edit_of_a_field_wins_and_the_other_is_kept_as_a_conflict() {
    let s = TestServer::start(&[]).await;
    team(&s).await;
    let ana = SimClient::sign_in(&s, "ana@field.test").await;
    let ada = SimClient::sign_in(&s, "ada@field.test").await;
    let ben = SimClient::sign_in(&s, "ben@field.test").await;
    let customer = Uuid::now_v7();
    ana.push(&[ana.insert(SyncTable::Customers, customer, json!({ "name": "Acme" }))])
        .await;
    let t0 = Utc::now();

    // Ana renamed it on the plane at t0+1 min; Ada at t0+2 min, and Ada
    // syncs first. Ana's later sync must not overwrite the later edit.
    let ada_edit = ada.update_at(
        SyncTable::Customers,
        customer,
        &[("name", json!("Acme"), json!("Acme Ltd"))],
        t0 - TimeDelta::minutes(8),
    );
    let ana_edit = ana.update_at(
        SyncTable::Customers,
        customer,
        &[("name", json!("Acme"), json!("ACME"))],
        t0 - TimeDelta::minutes(9),
    );
    ada.push(&[ada_edit]).await;
    let pushed = ana.push(&[ana_edit]).await;
    let conflicts = merged(&pushed);
    assert_eq!(
        (
            conflicts[0].kept.clone(),
            conflicts[0].lost.clone(),
            conflicts[0].lost_is_yours
        ),
        (json!("Acme Ltd"), json!("ACME"), true)
    );
    assert_eq!(
        row(
            &s,
            "SELECT to_jsonb(name) FROM customers WHERE id = $1",
            customer
        )
        .await,
        "Acme Ltd"
    );

    // Both see the conflict; an uninvolved agent does not.
    let expected = vec![("name".to_owned(), json!("Acme Ltd"), json!("ACME"))];
    assert_eq!(conflicts_seen_by(&s, ana.user_id).await, expected);
    assert_eq!(conflicts_seen_by(&s, ada.user_id).await, expected);
    assert!(conflicts_seen_by(&s, ben.user_id).await.is_empty());

    // Now Ana's edit is the later one: it wins, and Ada's loses.
    let ana_late = ana.update_at(
        SyncTable::Customers,
        customer,
        &[("name", json!("Acme"), json!("Acme AG"))],
        Utc::now(),
    );
    let pushed = ana.push(&[ana_late]).await;
    let conflicts = merged(&pushed);
    assert!(!conflicts[0].lost_is_yours);
    assert_eq!(conflicts[0].lost, json!("Acme Ltd"));
    assert_eq!(
        row(
            &s,
            "SELECT to_jsonb(name) FROM customers WHERE id = $1",
            customer
        )
        .await,
        "Acme AG"
    );
    let lost_by: Option<Uuid> =
        sqlx::query_scalar("SELECT lost_by FROM sync.conflicts WHERE id = $1")
            .bind(conflicts[0].conflict_id)
            .fetch_one(s.db.pool())
            .await
            .unwrap();
    assert_eq!(lost_by, Some(ada.user_id));
    // The audit row of the winning mutation is there to link to.
    assert_eq!(audit_of(&s, ana.client_id).await.last().unwrap().0, 3);
}

#[tokio::test]
async fn a_concurrent_status_change_must_follow_the_workflow_from_the_servers_status() {
    let s = TestServer::start(&[]).await;
    team(&s).await;
    let ana = SimClient::sign_in(&s, "ana@field.test").await;
    let ben = SimClient::sign_in(&s, "ben@field.test").await;
    let ticket = Uuid::now_v7();
    ana.push(&[ana.insert(
        SyncTable::Tickets,
        ticket,
        json!({ "title": "Leak", "assigned_to": ben.user_id }),
    )])
    .await;

    // Ben closes it; Ana, offline with the ticket still open, starts work on
    // it later. A closed ticket can only be reopened: Ben's close stands.
    let close = ben.update_at(
        SyncTable::Tickets,
        ticket,
        &[("status", json!("open"), json!("closed"))],
        Utc::now() - TimeDelta::minutes(5),
    );
    let start = ana.update_at(
        SyncTable::Tickets,
        ticket,
        &[("status", json!("open"), json!("in_progress"))],
        Utc::now(),
    );
    ben.push(&[close]).await;
    let pushed = ana.push(&[start]).await;
    let conflicts = merged(&pushed);
    assert!(conflicts[0].lost_is_yours);
    assert_eq!(
        row(
            &s,
            "SELECT to_jsonb(status) FROM tickets WHERE id = $1",
            ticket
        )
        .await,
        "closed"
    );
}

#[tokio::test]
async fn hostile_and_malformed_pushes_get_a_clear_4xx_and_change_nothing() {
    let s = TestServer::start(&["--max-body-bytes", "1048576"]).await;
    team(&s).await;
    let ana = SimClient::sign_in(&s, "ana@field.test").await;
    let ben = SimClient::sign_in(&s, "ben@field.test").await;
    let id = Uuid::now_v7();
    let base = |m: Value| json!({ "protocol_version": PROTOCOL_VERSION, "client_id": ana.client_id, "mutations": [m] });
    let now = Utc::now();

    let unknown_table = base(
        json!({ "seq": 1, "table": "audit_history", "row_id": id, "op": "delete", "edited_at": now }),
    );
    assert_error(
        ana.push_raw(&unknown_table).await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    )
    .await;
    let unknown_column = base(
        json!({ "seq": 1, "table": "customers", "row_id": id, "op": "insert",
                                      "values": { "name": "x", "nickname": "y" }, "edited_at": now }),
    );
    assert_error(
        ana.push_raw(&unknown_column).await,
        StatusCode::BAD_REQUEST,
        "column_not_writable",
    )
    .await;
    let forged_author = base(
        json!({ "seq": 1, "table": "tickets", "row_id": id, "op": "insert",
                                     "values": { "title": "x", "created_by": ben.user_id }, "edited_at": now }),
    );
    assert_error(
        ana.push_raw(&forged_author).await,
        StatusCode::BAD_REQUEST,
        "column_not_writable",
    )
    .await;
    let wrong_types = base(
        json!({ "seq": "one", "table": "customers", "row_id": 5, "op": "insert", "edited_at": now }),
    );
    assert_error(
        ana.push_raw(&wrong_types).await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    )
    .await;

    let huge: Vec<Value> = (1..=20)
        .map(|seq| {
            json!({ "seq": seq, "table": "customers", "row_id": Uuid::now_v7(), "op": "insert",
                           "values": { "name": "x".repeat(60_000) }, "edited_at": now })
        })
        .collect();
    let huge = json!({ "protocol_version": PROTOCOL_VERSION, "client_id": ana.client_id, "mutations": huge });
    assert_error(
        ana.push_raw(&huge).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    )
    .await;

    // Version 1 could not handle a forked replica (M4): too old now.
    let old = json!({ "protocol_version": 1, "client_id": ana.client_id, "mutations": [] });
    assert_error(
        ana.push_raw(&old).await,
        StatusCode::UPGRADE_REQUIRED,
        "upgrade_required",
    )
    .await;

    let request = serde_json::to_value(ana.request(&[ana.insert(
        SyncTable::Customers,
        id,
        json!({ "name": "Mine" }),
    )]))
    .unwrap();
    let no_token = s
        .http
        .post(s.url("/sync/push"))
        .json(&request)
        .send()
        .await
        .unwrap();
    assert_error(no_token, StatusCode::UNAUTHORIZED, "missing_token").await;
    let forged = s
        .http
        .post(s.url("/sync/push"))
        .bearer_auth("eyJhbGciOiJIUzI1NiJ9.e30.x")
        .json(&request)
        .send()
        .await
        .unwrap();
    assert_error(forged, StatusCode::UNAUTHORIZED, "invalid_token").await;
    // Ben may not push as Ana's client.
    let stolen = s
        .http
        .post(s.url("/sync/push"))
        .bearer_auth(&ben.token)
        .json(&request)
        .send()
        .await
        .unwrap();
    assert_eq!(
        stolen.status(),
        StatusCode::OK,
        "Ben's first push claims the id for Ben…"
    );
    let again = s
        .http
        .post(s.url("/sync/push"))
        .bearer_auth(&ana.token)
        .json(&request)
        .send()
        .await
        .unwrap();
    assert_error(again, StatusCode::FORBIDDEN, "client_of_another_user").await;

    // SQL in strings is just text.
    let carol = SimClient::sign_in(&s, "ana@field.test").await;
    let sneaky = Uuid::now_v7();
    let pushed = carol
        .push(&[carol.insert(
            SyncTable::Customers,
            sneaky,
            json!({ "name": "Robert'); DROP TABLE customers;--" }),
        )])
        .await;
    assert_eq!(pushed.results[0].outcome, MutationOutcome::Applied);
    let customers: i64 = sqlx::query_scalar("SELECT count(*) FROM customers")
        .fetch_one(s.db.pool())
        .await
        .unwrap();
    assert_eq!(
        customers, 2,
        "Ben's row and the sneaky one; nothing else happened"
    );
}

#[tokio::test]
async fn offline_work_keeps_the_time_it_was_done_but_never_a_future_one() {
    let s = TestServer::start(&[]).await;
    team(&s).await;
    let ana = SimClient::sign_in(&s, "ana@field.test").await;
    let (customer, monday_call, ahead, late) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    // Whole microseconds, as PostgreSQL keeps them (it rounds nanoseconds).
    let two_days_ago = chrono::DateTime::from_timestamp_micros(
        (Utc::now() - TimeDelta::days(2)).timestamp_micros(),
    )
    .unwrap();
    let tomorrow = Utc::now() + TimeDelta::days(1);
    let batch = vec![
        ana.insert(
            SyncTable::Customers,
            customer,
            json!({ "name": "Acme", "created_at": two_days_ago }),
        ),
        ana.insert(
            SyncTable::CustomerInteractions,
            monday_call,
            json!({ "customer_id": customer, "type": "call", "channel": "phone",
                    "created_at": two_days_ago }),
        ),
        // A laptop whose clock runs a day ahead.
        ana.insert(
            SyncTable::CustomerInteractions,
            ahead,
            json!({ "customer_id": customer, "type": "call", "channel": "phone",
                    "created_at": tomorrow }),
        ),
        // An older app that sends no time: the server's, as before.
        ana.insert(
            SyncTable::CustomerInteractions,
            late,
            json!({ "customer_id": customer, "type": "visit", "channel": "meeting" }),
        ),
    ];
    let pushed = ana.push(&batch).await;
    assert!(
        pushed
            .results
            .iter()
            .all(|r| r.outcome == MutationOutcome::Applied),
        "{pushed:?}"
    );
    let pool = s.db.pool();
    let created = |id| async move {
        sqlx::query_scalar::<_, chrono::DateTime<Utc>>(
            "SELECT created_at FROM customer_interactions WHERE id = $1
             UNION ALL SELECT created_at FROM customers WHERE id = $1",
        )
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
    };
    let micros = |t: chrono::DateTime<Utc>| t.timestamp_micros();
    assert_eq!(micros(created(customer).await), micros(two_days_ago));
    assert_eq!(micros(created(monday_call).await), micros(two_days_ago));
    let now = Utc::now();
    for id in [ahead, late] {
        let at = created(id).await;
        assert!(at <= now && at > now - TimeDelta::minutes(1), "{at}");
    }
    // The audit trail keeps the server's own time of the change.
    let audited: chrono::DateTime<Utc> = sqlx::query_scalar(
        "SELECT created_at FROM audit_history WHERE record_id = $1 AND action = 'INSERT'",
    )
    .bind(monday_call)
    .fetch_one(s.db.pool())
    .await
    .unwrap();
    assert!(audited > now - TimeDelta::minutes(1), "{audited}");

    // It is set once: no client may move it later.
    let moved = ana.update(
        SyncTable::CustomerInteractions,
        monday_call,
        &[("created_at", json!(two_days_ago), json!(now))],
    );
    let request = serde_json::to_value(ana.request(&[moved])).unwrap();
    assert_error(
        ana.push_raw(&request).await,
        StatusCode::BAD_REQUEST,
        "column_not_writable",
    )
    .await;
}

#[tokio::test]
async fn a_follow_up_can_be_marked_done_but_only_if_there_is_one() {
    let s = TestServer::start(&[]).await;
    team(&s).await;
    let ana = SimClient::sign_in(&s, "ana@field.test").await;
    let (customer, with_date, without) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let in_a_week = Utc::now() + TimeDelta::days(7);
    let pushed = ana
        .push(&[
            ana.insert(SyncTable::Customers, customer, json!({ "name": "Acme" })),
            ana.insert(
                SyncTable::CustomerInteractions,
                with_date,
                json!({ "customer_id": customer, "type": "call", "channel": "phone",
                        "follow_up_date": in_a_week }),
            ),
            ana.insert(
                SyncTable::CustomerInteractions,
                without,
                json!({ "customer_id": customer, "type": "call", "channel": "phone" }),
            ),
        ])
        .await;
    assert!(
        pushed
            .results
            .iter()
            .all(|r| r.outcome == MutationOutcome::Applied)
    );
    let done_at = Utc::now() + TimeDelta::hours(3);
    let marked = ana
        .push(&[
            ana.update(
                SyncTable::CustomerInteractions,
                with_date,
                &[("follow_up_done_at", Value::Null, json!(done_at))],
            ),
            ana.update(
                SyncTable::CustomerInteractions,
                without,
                &[("follow_up_done_at", Value::Null, json!(done_at))],
            ),
        ])
        .await;
    assert_eq!(marked.results[0].outcome, MutationOutcome::Applied);
    assert!(
        matches!(&marked.results[1].outcome, MutationOutcome::Rejected { code, .. } if code == "not_allowed"),
        "nothing to mark done: {marked:?}"
    );
    let stored: chrono::DateTime<Utc> =
        sqlx::query_scalar("SELECT follow_up_done_at FROM customer_interactions WHERE id = $1")
            .bind(with_date)
            .fetch_one(s.db.pool())
            .await
            .unwrap();
    assert!(
        stored <= Utc::now(),
        "clamped to the server's clock: {stored}"
    );
}

#[tokio::test]
async fn a_mutation_postgresql_can_never_store_is_refused_alone_and_the_rest_goes_through() {
    let s = TestServer::start(&[]).await;
    team(&s).await;
    let ana = SimClient::sign_in(&s, "ana@field.test").await;
    let (good, poison, after, note) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    let pushed = ana
        .push(&[
            ana.insert(SyncTable::Customers, good, json!({ "name": "Acme" })),
            ana.insert(SyncTable::Customers, poison, json!({ "name": "Ac\u{0}me" })),
            ana.insert(SyncTable::Customers, after, json!({ "name": "Acme Two" })),
            // A field with no text rule of its own.
            ana.insert(
                SyncTable::CustomerInteractions,
                note,
                json!({ "customer_id": good, "type": "call", "channel": "phone",
                        "follow_up_date": "2026-12-01T09:00:00Z\u{0}" }),
            ),
            ana.update(
                SyncTable::Customers,
                good,
                &[("name", json!("Ac\u{0}me"), json!("Acme Ltd"))],
            ),
        ])
        .await;
    let codes: Vec<String> = pushed
        .results
        .iter()
        .map(|r| match &r.outcome {
            MutationOutcome::Rejected { code, .. } => code.to_string(),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        codes,
        [
            "Applied",
            "validation_failed",
            "Applied",
            "validation_failed",
            "validation_failed"
        ]
    );
    // Nothing of the refused ones, all of the others; and the device's
    // next push goes on from there.
    let names: Vec<String> = sqlx::query_scalar("SELECT name FROM customers ORDER BY name")
        .fetch_all(s.db.pool())
        .await
        .unwrap();
    assert_eq!(names, ["Acme", "Acme Two"]);
    let next = ana
        .push(&[ana.update(
            SyncTable::Customers,
            good,
            &[("name", json!("Acme"), json!("Acme Ltd"))],
        )])
        .await;
    assert_eq!(next.results[0].outcome, MutationOutcome::Applied);
}

#[tokio::test]
async fn a_sign_in_with_a_nul_in_the_address_is_a_wrong_address_not_a_crash() {
    let s = TestServer::start(&[]).await;
    team(&s).await;
    let response = s
        .http
        .post(s.url("/auth/login"))
        .json(&json!({ "email": "ana@field.test\u{0}", "password": "whatever it is" }))
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
}

/// A time long before any real edit: a forger's stale clock.
fn long_ago() -> chrono::DateTime<Utc> {
    Utc::now() - TimeDelta::days(3650)
}

async fn conflict_count(s: &TestServer) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM sync.conflicts")
        .fetch_one(s.db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_conflict_is_recorded_only_for_a_value_the_user_could_have_written() {
    let s = TestServer::start(&[]).await;
    team(&s).await;
    let ana = SimClient::sign_in(&s, "ana@field.test").await;
    let ben = SimClient::sign_in(&s, "ben@field.test").await;
    // A ticket Ben opened with Ana on it, and a comment of Ben's there.
    let (ticket, comment) = (Uuid::now_v7(), Uuid::now_v7());
    let opened = ben
        .push(&[
            ben.insert(
                SyncTable::Tickets,
                ticket,
                json!({ "title": "Shared", "assigned_to": ana.user_id }),
            ),
            ben.insert(
                SyncTable::TicketComments,
                comment,
                json!({ "ticket_id": ticket, "content": "Ben's words" }),
            ),
        ])
        .await;
    assert!(
        opened
            .results
            .iter()
            .all(|r| r.outcome == MutationOutcome::Applied)
    );

    // Ana's stale "edits" of what she may not write: Ben's comment, and her
    // own role. Before, each became a conflict in Ben's or an admin's inbox,
    // one click from being written as their own edit.
    let forged = ana
        .push(&[
            ana.update_at(
                SyncTable::TicketComments,
                comment,
                &[(
                    "content",
                    json!("junk"),
                    json!("Click https://phish.example"),
                )],
                long_ago(),
            ),
            ana.update_at(
                SyncTable::Profiles,
                ana.user_id,
                &[("role", json!("admin"), json!("admin"))],
                long_ago(),
            ),
        ])
        .await;
    for result in &forged.results {
        assert!(
            matches!(&result.outcome, MutationOutcome::Rejected { code, .. }
                     if code == "forbidden" || code == "not_found"),
            "{result:?}"
        );
    }
    assert_eq!(conflict_count(&s).await, 0, "no conflict was recorded");

    // A stale edit of what she may write is a fair loss, recorded as before.
    let fair = ana
        .push(&[ana.update_at(
            SyncTable::Tickets,
            ticket,
            &[("title", json!("junk"), json!("Ana's title"))],
            long_ago(),
        )])
        .await;
    assert!(merged(&fair)[0].lost_is_yours);
    assert_eq!(conflict_count(&s).await, 1);
}

#[tokio::test]
async fn one_push_records_at_most_its_share_of_conflicts() {
    let s = TestServer::start(&[]).await;
    team(&s).await;
    let ana = SimClient::sign_in(&s, "ana@field.test").await;
    let customer = Uuid::now_v7();
    ana.push(&[ana.insert(SyncTable::Customers, customer, json!({ "name": "Acme" }))])
        .await;
    // 100 stale edits of six fields each: 600 conflicts asked for.
    // (field, a stale base of the right type, the new value): each differs
    // from what the server holds, so each field conflicts and loses.
    let fields = [
        ("name", json!("Old"), json!("Other")),
        ("email", json!("old@example.com"), json!("x@example.com")),
        ("phone", json!("99999"), json!("12345")),
        ("status", json!("churned"), json!("inactive")),
        ("acquisition_stage", json!("proposal"), json!("qualified")),
        ("is_archived", json!(true), json!(true)),
    ];
    let batch: Vec<_> = (0..100)
        .map(|_| {
            let triples: Vec<(&str, Value, Value)> = fields
                .iter()
                .map(|(f, base, v)| (*f, base.clone(), v.clone()))
                .collect();
            ana.update_at(SyncTable::Customers, customer, &triples, long_ago())
        })
        .collect();
    let pushed = ana.push(&batch).await;
    let merged = pushed
        .results
        .iter()
        .filter(|r| matches!(r.outcome, MutationOutcome::Merged { .. }))
        .count();
    let refused = pushed
        .results
        .iter()
        .filter(|r| matches!(&r.outcome, MutationOutcome::Rejected { code, .. } if code == "not_allowed"))
        .count();
    assert_eq!((merged, refused), (83, 17), "500 conflicts at most: 83 x 6");
    assert_eq!(conflict_count(&s).await, 498);
}
