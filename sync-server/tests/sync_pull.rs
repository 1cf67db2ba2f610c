//! Pulling: a fresh client loads everything it may see and nothing else;
//! then the change feed brings every change exactly as the user may see it,
//! in commit order, never skipping one, with evictions when rows leave the
//! user's scope and deliveries when they come back.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use crm_domain::UserRole;
use crm_domain::protocol::{PROTOCOL_VERSION, SyncTable, TableChecksum};
use reqwest::StatusCode;
use serde_json::json;
use sqlx::{Executor, PgPool};
use support::client::SimClient;
use support::server::{TestServer, assert_error};
use sync_server::data::{Claims, acting::begin_as};
use uuid::Uuid;

async fn team(s: &TestServer) -> (Uuid, Uuid, Uuid) {
    (
        s.create_account("ana@field.test", UserRole::Agent).await,
        s.create_account("ben@field.test", UserRole::Agent).await,
        s.create_account("ada@field.test", UserRole::Admin).await,
    )
}

/// Runs `sql` as `user` and commits.
async fn write_as(pool: &PgPool, user: Uuid, sql: &'static str, id: Uuid, other: Option<Uuid>) {
    let mut tx = begin_as(pool, &Claims::user(user)).await.unwrap();
    let mut query = sqlx::query(sql).bind(id);
    if let Some(other) = other {
        query = query.bind(other);
    }
    let done = tx.execute(query).await.unwrap();
    assert_eq!(done.rows_affected(), 1, "{sql}");
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn a_fresh_client_loads_what_it_may_see_and_nothing_else() {
    let s = TestServer::start(&[]).await;
    let (_, _, ada) = team(&s).await;
    let ana = SimClient::sign_in(&s, "ana@field.test").await;
    let ben = SimClient::sign_in(&s, "ben@field.test").await;
    let (mine, theirs) = (Uuid::now_v7(), Uuid::now_v7());
    ana.push(&[
        ana.insert(SyncTable::Customers, mine, json!({ "name": "Mine" })),
        ana.insert(
            SyncTable::CustomerInteractions,
            Uuid::now_v7(),
            json!({ "customer_id": mine, "type": "call", "channel": "phone" }),
        ),
    ])
    .await;
    ben.push(&[ben.insert(SyncTable::Customers, theirs, json!({ "name": "Theirs" }))])
        .await;
    let shared = Uuid::now_v7();
    write_as(
        s.db.pool(),
        ada,
        "INSERT INTO tickets (id, title) VALUES ($1, 'Shared')",
        shared,
        None,
    )
    .await;
    write_as(
        s.db.pool(),
        ada,
        "INSERT INTO ticket_assignees (ticket_id, user_id) VALUES ($1, $2)",
        shared,
        Some(ana.user_id),
    )
    .await;

    let mut ana = ana;
    let last = ana.pull().await;
    assert_eq!(ana.held("customers"), vec![mine]);
    assert_eq!(ana.held("customer_interactions").len(), 1);
    assert_eq!(ana.held("tickets"), vec![shared]);
    assert_eq!(ana.held("ticket_workflow_history").len(), 1);
    assert_eq!(ana.held("profiles"), vec![ana.user_id]);
    assert_eq!(ana.held("products").len(), 3);
    assert_eq!(ana.held("acquisition_stages").len(), 6);
    assert_eq!(
        last.last_seq, 2,
        "the pull confirms the client's settled mutations"
    );

    // Caught up: the checksums the server sends match what the replica holds.
    let sums = last.checksums.expect("asked for checksums");
    for (table, expected) in &sums {
        let held = TableChecksum::of(
            ana.replica
                .iter()
                .filter(|((t, _), _)| t == table)
                .map(|(_, row)| row),
        );
        assert_eq!(&held, expected, "{table}");
    }
    assert_eq!(sums["customers"].count, 1);
}

#[tokio::test]
async fn a_first_load_comes_in_pages_with_progress() {
    let s = TestServer::start(&[]).await;
    let (ana_id, _, _) = team(&s).await;
    sqlx::query(
        "INSERT INTO customers (name, owner) SELECT 'Customer ' || n, $1 FROM generate_series(1, 12000) n",
    )
    .bind(ana_id)
    .execute(s.db.pool())
    .await
    .unwrap();
    let ana = SimClient::sign_in(&s, "ana@field.test").await;
    let first: crm_domain::protocol::PullResponse =
        ana.pull_page(None, false).await.json().await.unwrap();
    let progress = first.progress.unwrap();
    assert!(first.has_more);
    assert_eq!(progress.done as usize, crm_domain::protocol::PULL_PAGE_SIZE);
    assert!(progress.total >= 12_000);
    let mut ana = ana;
    ana.pull().await;
    assert_eq!(ana.held("customers").len(), 12_000);
}

#[tokio::test]
async fn changes_and_deletes_arrive_through_the_feed() {
    let s = TestServer::start(&[]).await;
    team(&s).await;
    let mut ana = SimClient::sign_in(&s, "ana@field.test").await;
    ana.pull().await;
    let mut laptop = SimClient::sign_in(&s, "ana@field.test").await;
    laptop.pull().await;

    let customer = Uuid::now_v7();
    ana.push(&[ana.insert(SyncTable::Customers, customer, json!({ "name": "New" }))])
        .await;
    laptop.pull().await;
    assert_eq!(
        laptop.replica[&("customers".to_owned(), customer)]["name"],
        "New"
    );

    ana.push(&[ana.update(
        SyncTable::Customers,
        customer,
        &[("name", json!("New"), json!("Newer"))],
    )])
    .await;
    laptop.pull().await;
    assert_eq!(
        laptop.replica[&("customers".to_owned(), customer)]["name"],
        "Newer"
    );

    let note = Uuid::now_v7();
    ana.push(&[ana.insert(
        SyncTable::CustomerInteractions,
        note,
        json!({ "customer_id": customer, "type": "call", "channel": "phone" }),
    )])
    .await;
    laptop.pull().await;
    assert_eq!(laptop.held("customer_interactions"), vec![note]);
    ana.push(&[ana.delete(SyncTable::CustomerInteractions, note)])
        .await;
    laptop.pull().await;
    assert!(
        laptop.held("customer_interactions").is_empty(),
        "a delete is a removal"
    );

    // Nothing new: an empty page.
    let quiet = laptop.pull().await;
    assert!(quiet.changes.is_empty());
}

#[tokio::test]
async fn a_reassigned_customer_leaves_the_old_owner_with_its_interactions_and_comes_back() {
    let s = TestServer::start(&[]).await;
    let (ana_id, ben_id, ada) = team(&s).await;
    let mut ana = SimClient::sign_in(&s, "ana@field.test").await;
    let mut ben = SimClient::sign_in(&s, "ben@field.test").await;
    let customer = Uuid::now_v7();
    ana.push(&[
        ana.insert(SyncTable::Customers, customer, json!({ "name": "Acme" })),
        ana.insert(
            SyncTable::CustomerInteractions,
            Uuid::now_v7(),
            json!({ "customer_id": customer, "type": "call", "channel": "phone" }),
        ),
        ana.insert(
            SyncTable::CustomerInteractions,
            Uuid::now_v7(),
            json!({ "customer_id": customer, "type": "visit", "channel": "meeting" }),
        ),
    ])
    .await;
    ana.pull().await;
    ben.pull().await;
    assert_eq!(ana.held("customer_interactions").len(), 2);
    assert!(ben.held("customers").is_empty());

    write_as(
        s.db.pool(),
        ada,
        "UPDATE customers SET owner = $2 WHERE id = $1",
        customer,
        Some(ben_id),
    )
    .await;
    ana.pull().await;
    ben.pull().await;
    assert!(
        ana.held("customers").is_empty(),
        "evicted from the old owner"
    );
    assert!(
        ana.held("customer_interactions").is_empty(),
        "with the rows visible only through it"
    );
    assert_eq!(ben.held("customers"), vec![customer]);
    assert_eq!(
        ben.held("customer_interactions").len(),
        2,
        "delivered to the new owner"
    );

    write_as(
        s.db.pool(),
        ada,
        "UPDATE customers SET owner = $2 WHERE id = $1",
        customer,
        Some(ana_id),
    )
    .await;
    ana.pull().await;
    ben.pull().await;
    assert_eq!(
        ana.held("customer_interactions").len(),
        2,
        "coming back into scope delivers them again"
    );
    assert!(ben.held("customers").is_empty() && ben.held("customer_interactions").is_empty());
}

#[tokio::test]
async fn leaving_a_ticket_evicts_it_with_its_comments_and_history() {
    let s = TestServer::start(&[]).await;
    let (ana_id, _, ada) = team(&s).await;
    let mut ana = SimClient::sign_in(&s, "ana@field.test").await;
    let ticket = Uuid::now_v7();
    let pool = s.db.pool();
    write_as(
        pool,
        ada,
        "INSERT INTO tickets (id, title) VALUES ($1, 'Shared')",
        ticket,
        None,
    )
    .await;
    write_as(
        pool,
        ada,
        "INSERT INTO ticket_assignees (ticket_id, user_id) VALUES ($1, $2)",
        ticket,
        Some(ana_id),
    )
    .await;
    write_as(
        pool,
        ada,
        "INSERT INTO ticket_comments (ticket_id, content, is_internal) VALUES ($1, 'note', true)",
        ticket,
        None,
    )
    .await;
    ana.pull().await;
    assert_eq!(ana.held("tickets"), vec![ticket]);
    assert_eq!(
        (
            ana.held("ticket_comments").len(),
            ana.held("ticket_workflow_history").len()
        ),
        (1, 1)
    );

    write_as(
        pool,
        ada,
        "DELETE FROM ticket_assignees WHERE ticket_id = $1 AND user_id = $2",
        ticket,
        Some(ana_id),
    )
    .await;
    ana.pull().await;
    for table in [
        "tickets",
        "ticket_comments",
        "ticket_workflow_history",
        "ticket_assignees",
    ] {
        assert!(ana.held(table).is_empty(), "{table} evicted");
    }
}

#[tokio::test]
async fn a_transaction_that_commits_late_is_never_skipped() {
    let s = TestServer::start(&[]).await;
    let (ana_id, _, _) = team(&s).await;
    let mut ana = SimClient::sign_in(&s, "ana@field.test").await;
    ana.pull().await;
    let pool = s.db.pool();

    // The early transaction takes its id first, then stalls.
    let (early, late) = (Uuid::now_v7(), Uuid::now_v7());
    let mut slow = pool.begin().await.unwrap();
    sqlx::query("INSERT INTO customers (id, name, owner) VALUES ($1, 'Early', $2)")
        .bind(early)
        .bind(ana_id)
        .execute(&mut *slow)
        .await
        .unwrap();
    sqlx::query("INSERT INTO customers (id, name, owner) VALUES ($1, 'Late', $2)")
        .bind(late)
        .bind(ana_id)
        .execute(pool)
        .await
        .unwrap();

    ana.pull().await;
    assert_eq!(
        ana.held("customers"),
        vec![late],
        "the committed one arrives; the other is not visible yet"
    );
    slow.commit().await.unwrap();
    ana.pull().await;
    assert_eq!(ana.held("customers"), {
        let mut both = vec![early, late];
        both.sort();
        both
    });
}

#[tokio::test]
async fn many_concurrent_writers_never_make_a_pull_skip_a_change() {
    let s = TestServer::start(&[]).await;
    let (ana_id, _, _) = team(&s).await;
    let mut ana = SimClient::sign_in(&s, "ana@field.test").await;
    ana.pull().await;
    let pool = s.db.pool().clone();

    let writers: Vec<_> = (0..8u64)
        .map(|w| {
            let pool = pool.clone();
            tokio::spawn(async move {
                let mut written = Vec::new();
                for n in 0..25u64 {
                    let id = Uuid::now_v7();
                    let mut tx = pool.begin().await.unwrap();
                    sqlx::query("INSERT INTO customers (id, name, owner) VALUES ($1, 'W', $2)")
                        .bind(id)
                        .bind(ana_id)
                        .execute(&mut *tx)
                        .await
                        .unwrap();
                    // Hold some transactions open across others' commits.
                    tokio::time::sleep(Duration::from_millis((w * 7 + n * 13) % 40)).await;
                    tx.commit().await.unwrap();
                    written.push(id);
                }
                written
            })
        })
        .collect();

    // Pull again and again while they write.
    let mut pulls = 0;
    while !writers.iter().all(|w| w.is_finished()) {
        ana.pull().await;
        pulls += 1;
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    let mut expected = Vec::new();
    for w in writers {
        expected.extend(w.await.unwrap());
    }
    ana.pull().await;
    expected.sort();
    assert!(pulls > 3, "the pulls overlapped the writes");
    assert_eq!(
        ana.held("customers"),
        expected,
        "every committed change arrived"
    );
}

#[tokio::test]
async fn a_role_change_makes_the_next_pull_start_over() {
    let s = TestServer::start(&[]).await;
    let (_, ben_id, _) = team(&s).await;
    let mut ana = SimClient::sign_in(&s, "ana@field.test").await;
    let ben = SimClient::sign_in(&s, "ben@field.test").await;
    ben.push(&[ben.insert(
        SyncTable::Customers,
        Uuid::now_v7(),
        json!({ "name": "Ben's" }),
    )])
    .await;
    ana.pull().await;
    assert!(ana.held("customers").is_empty());

    sqlx::query("UPDATE profiles SET role = 'admin' WHERE email = 'ana@field.test'")
        .execute(s.db.pool())
        .await
        .unwrap();
    let page: crm_domain::protocol::PullResponse = ana
        .pull_page(ana.cursor.clone(), false)
        .await
        .json()
        .await
        .unwrap();
    assert!(page.reset);
    ana.pull().await;
    assert_eq!(
        ana.held("customers").len(),
        1,
        "as an admin she now holds everyone's"
    );
    assert_eq!(ana.held("profiles").len(), 3);
    let _ = ben_id;
}

#[tokio::test]
async fn a_cursor_older_than_the_pruned_log_reloads_and_a_newer_one_carries_on() {
    let s = TestServer::start(&[]).await;
    team(&s).await;
    let mut ana = SimClient::sign_in(&s, "ana@field.test").await;
    let mut ada = SimClient::sign_in(&s, "ada@field.test").await;
    let first = Uuid::now_v7();
    ana.push(&[ana.insert(SyncTable::Customers, first, json!({ "name": "First" }))])
        .await;
    ana.pull().await;
    ada.pull().await;
    let stale = ada.cursor.clone();

    // Ana writes again; the log is then pruned of everything over, so Ada's
    // cursor, which has not seen this change, can no longer be served.
    let second = Uuid::now_v7();
    ana.push(&[ana.insert(SyncTable::Customers, second, json!({ "name": "Second" }))])
        .await;
    // Pruning spares transactions younger than the oldest one running in
    // the cluster (other tests' too): prune until those are over.
    let mut pruned = 0;
    for _ in 0..200 {
        pruned += sync_server::sync::retention::prune(s.db.pool(), Duration::ZERO)
            .await
            .unwrap();
        let remaining: i64 = sqlx::query_scalar("SELECT count(*) FROM sync.changes")
            .fetch_one(s.db.pool())
            .await
            .unwrap();
        if remaining == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(pruned > 0, "the log had entries to prune");

    let page: crm_domain::protocol::PullResponse =
        ada.pull_page(stale, false).await.json().await.unwrap();
    assert!(page.reset, "a cursor older than the pruned log starts over");
    assert!(page.changes.is_empty());
    ada.pull().await;
    let mut both = vec![first, second];
    both.sort();
    assert_eq!(ada.held("customers"), both);

    // A cursor taken after the prune carries on with the feed as before.
    let fresh = ada.cursor.clone();
    let third = Uuid::now_v7();
    ana.push(&[ana.insert(SyncTable::Customers, third, json!({ "name": "Third" }))])
        .await;
    let page: crm_domain::protocol::PullResponse =
        ada.pull_page(fresh, false).await.json().await.unwrap();
    assert!(!page.reset);
    assert_eq!(page.changes.len(), 1, "only the new customer: {page:?}");
}

#[tokio::test]
async fn pruning_keeps_the_entries_younger_than_the_retention() {
    let s = TestServer::start(&[]).await;
    team(&s).await;
    let ana = SimClient::sign_in(&s, "ana@field.test").await;
    let old = Uuid::now_v7();
    let young = Uuid::now_v7();
    ana.push(&[ana.insert(SyncTable::Customers, old, json!({ "name": "Old" }))])
        .await;
    sqlx::query(
        "UPDATE sync.changes SET changed_at = now() - interval '100 days' WHERE row_id = $1",
    )
    .bind(old)
    .execute(s.db.pool())
    .await
    .unwrap();
    ana.push(&[ana.insert(SyncTable::Customers, young, json!({ "name": "Young" }))])
        .await;

    // As above: entries of transactions younger than the oldest running in
    // the cluster wait for it, so prune until the old one has gone.
    let mut logged = Vec::new();
    for _ in 0..200 {
        sync_server::sync::retention::prune(s.db.pool(), Duration::from_secs(90 * 24 * 3600))
            .await
            .unwrap();
        logged =
            sqlx::query_scalar("SELECT row_id FROM sync.changes WHERE table_name = 'customers'")
                .fetch_all(s.db.pool())
                .await
                .unwrap();
        if !logged.contains(&old) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(logged, vec![young], "only the old entry went");
}

#[tokio::test]
async fn bad_cursors_and_strangers_get_a_clear_4xx() {
    let s = TestServer::start(&[]).await;
    team(&s).await;
    let ana = SimClient::sign_in(&s, "ana@field.test").await;
    assert_error(
        ana.pull_page(Some("garbage".into()), false).await,
        StatusCode::BAD_REQUEST,
        "invalid_cursor",
    )
    .await;
    // Well-formed, but not a snapshot.
    let forged = base64_json(
        &json!({ "phase": "feed", "since": "not a snapshot", "until": null, "after": 0 }),
    );
    assert_error(
        ana.pull_page(Some(forged), false).await,
        StatusCode::BAD_REQUEST,
        "invalid_cursor",
    )
    .await;
    let anonymous = s
        .http
        .post(s.url("/sync/pull"))
        .json(&json!({ "protocol_version": PROTOCOL_VERSION, "client_id": Uuid::now_v7() }))
        .send()
        .await
        .unwrap();
    assert_error(anonymous, StatusCode::UNAUTHORIZED, "missing_token").await;
}

#[tokio::test]
async fn a_refetch_sends_the_named_tables_whole_then_resumes_from_the_cursor() {
    let s = TestServer::start(&[]).await;
    let (ana_id, _, _) = team(&s).await;
    let (c1, c2) = (Uuid::now_v7(), Uuid::now_v7());
    for id in [c1, c2] {
        write_as(
            s.db.pool(),
            ana_id,
            "INSERT INTO customers (id, name) VALUES ($1, 'Shop')",
            id,
            None,
        )
        .await;
    }
    let mut ana = SimClient::sign_in(&s, "ana@field.test").await;
    ana.pull().await;
    let caught_up = ana.cursor.clone().unwrap();

    // After that cursor, a change in another table.
    let call = Uuid::now_v7();
    write_as(
        s.db.pool(),
        ana_id,
        "INSERT INTO customer_interactions (id, customer_id, type, channel) VALUES ($1, $2, 'call', 'phone')",
        call,
        Some(c1),
    )
    .await;

    let mut cursor = caught_up.clone();
    let mut seen: Vec<(String, Uuid)> = Vec::new();
    let mut first = true;
    loop {
        let response = s
            .post_as(
                &ana.token,
                "/sync/pull",
                json!({ "protocol_version": PROTOCOL_VERSION, "client_id": ana.client_id, "cursor": cursor,
                        "refetch": if first { json!(["customers"]) } else { json!([]) } }),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let page: crm_domain::protocol::PullResponse =
            serde_json::from_str(&response.text().await.unwrap()).unwrap();
        if first {
            assert_eq!(
                page.progress.map(|p| p.total),
                Some(2),
                "only the customers are counted"
            );
        }
        first = false;
        for change in &page.changes {
            if let crm_domain::protocol::Change::Upsert { table, row } = change {
                let row: serde_json::Value = serde_json::from_str(row.get()).unwrap();
                seen.push((table.clone(), row["id"].as_str().unwrap().parse().unwrap()));
            }
        }
        cursor = page.cursor;
        if !page.has_more {
            break;
        }
    }
    let customers: Vec<Uuid> = seen
        .iter()
        .filter(|(t, _)| t == "customers")
        .map(|(_, id)| *id)
        .collect();
    assert_eq!(sorted(customers), sorted(vec![c1, c2]), "the table, whole");
    assert!(
        seen.contains(&("customer_interactions".into(), call)),
        "nothing after the cursor is skipped"
    );
    assert!(
        seen.iter().all(|(t, _)| t != "profiles"),
        "other tables are not sent again: {seen:?}"
    );

    for (body, code) in [
        (
            json!({ "protocol_version": PROTOCOL_VERSION, "client_id": ana.client_id, "refetch": ["customers"] }),
            "refetch_needs_cursor",
        ),
        (
            json!({ "protocol_version": PROTOCOL_VERSION, "client_id": ana.client_id, "cursor": caught_up, "refetch": ["secrets"] }),
            "unknown_table",
        ),
    ] {
        assert_error(
            s.post_as(&ana.token, "/sync/pull", body).await,
            StatusCode::BAD_REQUEST,
            code,
        )
        .await;
    }
}

fn sorted(mut ids: Vec<Uuid>) -> Vec<Uuid> {
    ids.sort();
    ids
}

fn base64_json(value: &serde_json::Value) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

/// Pages until caught up, from `cursor`: each page's rows (table, id, JSON
/// text) and the cursor to go on from.
async fn pages(
    client: &SimClient<'_>,
    mut cursor: Option<String>,
) -> (Vec<Vec<(String, Uuid, String)>>, Option<String>) {
    let mut out = Vec::new();
    loop {
        let response = client.pull_page(cursor.clone(), false).await;
        assert!(response.status().is_success());
        let page: crm_domain::protocol::PullResponse =
            serde_json::from_str(&response.text().await.unwrap()).unwrap();
        let rows = page
            .changes
            .iter()
            .filter_map(|change| match change {
                crm_domain::protocol::Change::Upsert { table, row } => {
                    let value: serde_json::Value = serde_json::from_str(row.get()).unwrap();
                    let id = value["id"].as_str().unwrap().parse().unwrap();
                    Some((table.clone(), id, row.get().to_owned()))
                }
                crm_domain::protocol::Change::Remove { .. } => None,
            })
            .collect();
        out.push(rows);
        cursor = Some(page.cursor);
        if !page.has_more {
            return (out, cursor);
        }
    }
}

/// Every page stays within the byte bound, but for the row that crossed
/// it: what came before the page's last row is under the bound.
fn assert_bounded(pages: &[Vec<(String, Uuid, String)>], bound: usize) {
    for page in pages {
        let before_last: usize = page.iter().rev().skip(1).map(|(_, _, row)| row.len()).sum();
        assert!(
            before_last < bound,
            "a page of {before_last} bytes before its last row"
        );
    }
}

#[tokio::test]
async fn pull_pages_are_bounded_in_bytes_and_lose_no_row() {
    const BOUND: usize = 4096;
    let s = TestServer::start(&["--pull-page-bytes", "4096"]).await;
    let (ana_id, _, _) = team(&s).await;
    let tickets: Vec<Uuid> = sqlx::query_scalar(
        "INSERT INTO tickets (title, description, created_by)
         SELECT 'Ticket ' || n, repeat('x', 1000), $1 FROM generate_series(1, 40) n RETURNING id",
    )
    .bind(ana_id)
    .fetch_all(s.db.pool())
    .await
    .unwrap();
    let ana = SimClient::sign_in(&s, "ana@field.test").await;

    // The first load: 40 rows of over 1 KB come on many pages, each once.
    let (loaded, cursor) = pages(&ana, None).await;
    assert!(loaded.len() >= 10, "{} pages", loaded.len());
    assert_bounded(&loaded, BOUND);
    let mut seen: Vec<Uuid> = loaded
        .iter()
        .flatten()
        .filter(|(table, ..)| table == "tickets")
        .map(|(_, id, _)| *id)
        .collect();
    seen.sort();
    let mut expected = tickets.clone();
    expected.sort();
    assert_eq!(seen, expected, "every ticket once");

    // The feed: every ticket changed, again on many pages, each once and
    // as it now is.
    sqlx::query("UPDATE tickets SET description = repeat('y', 1000)")
        .execute(s.db.pool())
        .await
        .unwrap();
    let (fed, _) = pages(&ana, cursor).await;
    assert!(fed.len() >= 10, "{} pages", fed.len());
    assert_bounded(&fed, BOUND);
    let mut changed: Vec<Uuid> = fed
        .iter()
        .flatten()
        .filter(|(table, _, row)| table == "tickets" && row.contains("yyyy"))
        .map(|(_, id, _)| *id)
        .collect();
    changed.sort();
    assert_eq!(changed, expected, "every change once, none skipped");
}

#[tokio::test]
async fn whole_table_reads_have_a_budget_per_user_and_a_slow_read_is_cut_short() {
    let s = TestServer::start(&[
        "--scans-per-hour",
        "4",
        "--read-statement-timeout-ms",
        "100",
    ])
    .await;
    team(&s).await;
    let ana = SimClient::sign_in(&s, "ana@field.test").await;
    let ben = SimClient::sign_in(&s, "ben@field.test").await;
    // One first load an hour's quarter may start; the next waits.
    assert_eq!(ana.pull_page(None, false).await.status(), StatusCode::OK);
    let refused = ana.pull_page(None, false).await;
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((600..=900).contains(&retry_after), "{retry_after}");
    assert_error(refused, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    assert_eq!(
        ben.pull_page(None, false).await.status(),
        StatusCode::OK,
        "another user's budget is their own"
    );

    // A read past the statement timeout is "try again later", not an
    // internal error (a user whose visibility check is made slow here).
    s.db.pool()
        .execute(
            "CREATE OR REPLACE FUNCTION public.slow_check() RETURNS boolean LANGUAGE sql AS
             $$ SELECT pg_sleep(0.5) IS NOT NULL $$;
             GRANT EXECUTE ON FUNCTION public.slow_check() TO authenticated;
             CREATE POLICY slow ON public.products AS RESTRICTIVE FOR SELECT TO authenticated
                 USING (public.slow_check());
             INSERT INTO public.products (name) VALUES ('Slow')",
        )
        .await
        .unwrap();
    let slow = SimClient::sign_in(&s, "ada@field.test").await;
    assert_error(
        slow.pull_page(None, false).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "database_unavailable",
    )
    .await;
}
