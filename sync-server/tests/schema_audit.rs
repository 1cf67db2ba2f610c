//! The audit trail and the ticket workflow: every change to an audited
//! table writes exactly one audit row naming its actor and values; status
//! changes follow the workflow, are logged, and stamp resolved_at/closed_at.
#![allow(clippy::unwrap_used)]

mod support;

use crm_domain::TicketStatus;
use serde_json::Value;
use sqlx::PgPool;
use support::{Outcome, World, attempt, commit_as, database};
use sync_server::data::{Claims, acting::begin_as};
use uuid::Uuid;

#[derive(Debug, sqlx::FromRow)]
struct AuditRow {
    action: String,
    old_values: Option<Value>,
    new_values: Option<Value>,
    changed_by: Option<Uuid>,
    integration_token_id: Option<Uuid>,
}

async fn audit_rows(pool: &PgPool, table: &str, id: Uuid) -> Vec<AuditRow> {
    sqlx::query_as(
        "SELECT action, old_values, new_values, changed_by, integration_token_id
         FROM audit_history WHERE table_name = $1 AND record_id = $2 ORDER BY created_at, id",
    )
    .bind(table)
    .bind(id)
    .fetch_all(pool)
    .await
    .unwrap()
}

async fn audit_count(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM audit_history")
        .fetch_one(pool)
        .await
        .unwrap()
}

/// One audited table, and how an allowed actor inserts, updates (setting
/// `field` to `after`) and deletes one of its rows with id `$1`.
struct Case {
    table: &'static str,
    actor: Claims,
    insert: String,
    update: String,
    delete: String,
    field: &'static str,
    after: Value,
}

#[tokio::test]
async fn every_change_to_an_audited_table_writes_one_audit_row_with_actor_and_values() {
    let db = database().await;
    let pool = db.pool();
    let w = World::build(pool).await;
    let (a, admin) = (w.a(), w.admin());
    let (t_a, cust_a) = (w.t_a, w.cust_a);
    let cases = vec![
        Case {
            table: "products",
            actor: admin.clone(),
            insert: "INSERT INTO products (id, name, is_active) VALUES ($1, 'Audited', false)".into(),
            update: "UPDATE products SET name = 'Renamed' WHERE id = $1".into(),
            delete: "DELETE FROM products WHERE id = $1".into(),
            field: "name",
            after: "Renamed".into(),
        },
        Case {
            table: "customers",
            actor: admin.clone(),
            insert: "INSERT INTO customers (id, name) VALUES ($1, 'Audited')".into(),
            update: "UPDATE customers SET acquisition_stage = 'proposal' WHERE id = $1".into(),
            delete: "DELETE FROM customers WHERE id = $1".into(),
            field: "acquisition_stage",
            after: "proposal".into(),
        },
        Case {
            table: "customer_interactions",
            actor: a.clone(),
            insert: format!("INSERT INTO customer_interactions (id, customer_id, type, channel) VALUES ($1, '{cust_a}', 'call', 'phone')"),
            update: "UPDATE customer_interactions SET note = 'went well' WHERE id = $1".into(),
            delete: "DELETE FROM customer_interactions WHERE id = $1".into(),
            field: "note",
            after: "went well".into(),
        },
        Case {
            table: "tickets",
            actor: admin.clone(),
            insert: "INSERT INTO tickets (id, title) VALUES ($1, 'Audited')".into(),
            update: "UPDATE tickets SET priority = 'urgent' WHERE id = $1".into(),
            delete: "DELETE FROM tickets WHERE id = $1".into(),
            field: "priority",
            after: "urgent".into(),
        },
        Case {
            table: "ticket_assignees",
            actor: admin.clone(),
            // On a ticket that has a lead, so the change has no consequence
            // for the lead (which would be a change of its own, audited too).
            insert: format!("INSERT INTO ticket_assignees (id, ticket_id, user_id) VALUES ($1, '{}', '{}')", w.t_b, w.agent_a),
            update: format!("UPDATE ticket_assignees SET user_id = '{}' WHERE id = $1", w.admin),
            delete: "DELETE FROM ticket_assignees WHERE id = $1".into(),
            field: "user_id",
            after: w.admin.to_string().into(),
        },
        Case {
            table: "ticket_comments",
            actor: a.clone(),
            insert: format!("INSERT INTO ticket_comments (id, ticket_id, content) VALUES ($1, '{t_a}', 'first')"),
            update: "UPDATE ticket_comments SET content = 'second' WHERE id = $1".into(),
            delete: "DELETE FROM ticket_comments WHERE id = $1".into(),
            field: "content",
            after: "second".into(),
        },
        Case {
            table: "acquisition_stages",
            actor: admin.clone(),
            // The enum names every stage already; move one out of the way.
            insert: "INSERT INTO acquisition_stages (id, name, order_index) VALUES ($1, 'closed_lost', 50)".into(),
            update: "UPDATE acquisition_stages SET order_index = 51 WHERE id = $1".into(),
            delete: "DELETE FROM acquisition_stages WHERE id = $1".into(),
            field: "order_index",
            after: 51.into(),
        },
    ];
    commit_as(
        pool,
        &admin,
        sqlx::query("DELETE FROM acquisition_stages WHERE name = 'closed_lost'"),
    )
    .await;

    for case in cases {
        let id = Uuid::now_v7();
        let before = audit_count(pool).await;
        for sql in [&case.insert, &case.update, &case.delete] {
            let outcome = attempt_and_commit(pool, &case.actor, sql, id).await;
            assert_eq!(outcome, Outcome::Rows(1), "{}: {sql}", case.table);
        }
        assert_eq!(
            audit_count(pool).await - before,
            3,
            "{}: three changes, three audit rows",
            case.table
        );

        let rows = audit_rows(pool, case.table, id).await;
        let actions: Vec<&str> = rows.iter().map(|r| r.action.as_str()).collect();
        assert_eq!(actions, ["INSERT", "UPDATE", "DELETE"], "{}", case.table);
        for row in &rows {
            assert_eq!(
                row.changed_by,
                Some(case.actor.sub),
                "{} {}",
                case.table,
                row.action
            );
            assert_eq!(row.integration_token_id, None);
        }
        let (insert, update, delete) = (&rows[0], &rows[1], &rows[2]);
        assert!(
            insert.old_values.is_none() && delete.new_values.is_none(),
            "{}",
            case.table
        );
        assert_eq!(insert.new_values.as_ref().unwrap()["id"], id.to_string());
        assert_eq!(
            update.old_values.as_ref(),
            insert.new_values.as_ref(),
            "{}: old = as inserted",
            case.table
        );
        assert_eq!(
            update.new_values.as_ref().unwrap()[case.field],
            case.after,
            "{}",
            case.table
        );
        assert_ne!(
            update.old_values.as_ref().unwrap()[case.field],
            case.after,
            "{}",
            case.table
        );
        assert_eq!(
            delete.old_values.as_ref(),
            update.new_values.as_ref(),
            "{}: deleted = as updated",
            case.table
        );
        for row in &rows {
            for values in [&row.old_values, &row.new_values].into_iter().flatten() {
                assert!(
                    values.get("token_hash").is_none(),
                    "secrets never enter the audit trail"
                );
            }
        }
    }
}

/// Inserts and deletes are audited and logged per statement (from a
/// transition table): a multi-row statement still writes one audit row and
/// one change-log row per row, with that row's values; a statement that
/// changes nothing writes nothing.
#[tokio::test]
async fn multi_row_inserts_and_deletes_write_one_audit_row_and_one_log_row_per_row() {
    let db = database().await;
    let pool = db.pool();
    let w = World::build(pool).await;
    let admin = w.admin();
    let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
    commit_as(
        pool,
        &admin,
        sqlx::query(
            "INSERT INTO customers (id, name) SELECT id, 'Batch ' || n FROM unnest($1::uuid[]) WITH ORDINALITY AS t(id, n)",
        )
        .bind(&ids),
    )
    .await;
    commit_as(
        pool,
        &admin,
        sqlx::query("DELETE FROM customers WHERE id = ANY($1)").bind(&ids),
    )
    .await;
    for (n, id) in ids.iter().enumerate() {
        let rows = audit_rows(pool, "customers", *id).await;
        let actions: Vec<&str> = rows.iter().map(|r| r.action.as_str()).collect();
        assert_eq!(actions, ["INSERT", "DELETE"]);
        let inserted = rows[0].new_values.as_ref().unwrap();
        assert_eq!(inserted["id"], id.to_string());
        assert_eq!(inserted["name"], format!("Batch {}", n + 1));
        assert_eq!(rows[1].old_values.as_ref(), Some(inserted));
        assert!(rows[0].old_values.is_none() && rows[1].new_values.is_none());
        assert!(rows.iter().all(|r| r.changed_by == Some(admin.sub)));
        let logged: Vec<String> = sqlx::query_scalar(
            "SELECT op FROM sync.changes WHERE table_name = 'customers' AND row_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(pool)
        .await
        .unwrap();
        assert_eq!(logged, ["upsert", "delete"]);
    }

    let changes = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM sync.changes")
            .fetch_one(pool)
            .await
            .unwrap()
    };
    let (audited, logged) = (audit_count(pool).await, changes().await);
    commit_as(
        pool,
        &admin,
        sqlx::query("DELETE FROM customers WHERE id = ANY($1)").bind(&ids),
    )
    .await;
    assert_eq!(audit_count(pool).await, audited);
    assert_eq!(changes().await, logged, "nothing deleted, nothing logged");
}

/// An attachment describes an uploaded file: it is written only for an
/// object of its size and type, audited on insert and delete, fixed in
/// between (even for admins), and its object goes with it.
#[tokio::test]
async fn an_attachment_needs_its_file_never_changes_and_takes_its_file_when_deleted() {
    let db = database().await;
    let pool = db.pool();
    let w = World::build(pool).await;
    let (a, t_a) = (w.a(), w.t_a);
    let id = Uuid::now_v7();
    let insert = format!(
        "INSERT INTO ticket_attachments (id, ticket_id, file_name, file_path, file_size, mime_type)
         VALUES ($1, '{t_a}', 'audit.png', '{t_a}/audit.png', 5, 'image/png')"
    );
    match attempt_and_commit(pool, &a, &insert, id).await {
        Outcome::Refused(e) => assert!(e.contains("has not been uploaded"), "{e}"),
        other => panic!("an attachment without its file: {other:?}"),
    }
    let object = format!(
        "INSERT INTO storage.objects (id, bucket_id, name, size, mime_type)
         VALUES ($1, 'ticket-attachments', '{t_a}/audit.png', 5, 'image/png')"
    );
    assert_eq!(
        attempt_and_commit(pool, &a, &object, Uuid::now_v7()).await,
        Outcome::Rows(1)
    );
    let lying = insert.replace(", 5, 'image/png')", ", 5, 'image/gif')");
    match attempt_and_commit(pool, &a, &lying, id).await {
        Outcome::Refused(e) => assert!(
            e.contains("the uploaded file is 5 bytes of image/png"),
            "{e}"
        ),
        other => panic!("an attachment of another type than its file: {other:?}"),
    }
    assert_eq!(
        attempt_and_commit(pool, &a, &insert, id).await,
        Outcome::Rows(1)
    );
    for update in [
        "UPDATE ticket_attachments SET mime_type = 'image/jpeg' WHERE id = $1",
        "UPDATE ticket_attachments SET file_size = 6 WHERE id = $1",
    ] {
        match attempt_and_commit(pool, &w.admin(), update, id).await {
            Outcome::Refused(e) => assert!(e.contains("cannot be changed"), "{e}"),
            other => panic!("{update}: {other:?}"),
        }
    }
    // The object alone cannot go while the attachment stands.
    let drop_object =
        format!("DELETE FROM storage.objects WHERE name = '{t_a}/audit.png' AND $1 IS NOT NULL");
    match attempt_and_commit(pool, &a, &drop_object, id).await {
        Outcome::Refused(e) => assert!(e.contains("belongs to an attachment"), "{e}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        attempt_and_commit(pool, &a, "DELETE FROM ticket_attachments WHERE id = $1", id).await,
        Outcome::Rows(1)
    );
    let rows = audit_rows(pool, "ticket_attachments", id).await;
    let actions: Vec<&str> = rows.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(actions, ["INSERT", "DELETE"]);
    assert!(rows.iter().all(|r| r.changed_by == Some(a.sub)));
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM storage.objects WHERE name = $1")
        .bind(format!("{t_a}/audit.png"))
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(left, 0, "the attachment's object went with it");
}

async fn attempt_and_commit(pool: &PgPool, claims: &Claims, sql: &str, id: Uuid) -> Outcome {
    let mut tx = begin_as(pool, claims).await.unwrap();
    let outcome = match sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .bind(id)
        .execute(&mut *tx)
        .await
    {
        Ok(done) => Outcome::Rows(done.rows_affected()),
        Err(e) => Outcome::Refused(e.to_string()),
    };
    tx.commit().await.unwrap();
    outcome
}

#[tokio::test]
async fn profiles_are_created_with_the_account_as_agents_and_audited() {
    let db = database().await;
    let pool = db.pool();
    let w = World::build(pool).await;
    let id = support::create_user(pool, "cleo@field.test", "Cleo New").await;
    let (email, name, role): (String, Option<String>, String) =
        sqlx::query_as("SELECT email, full_name, role::text FROM profiles WHERE id = $1")
            .bind(id)
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(
        (email.as_str(), name.as_deref(), role.as_str()),
        ("cleo@field.test", Some("Cleo New"), "agent")
    );

    commit_as(
        pool,
        &Claims::user(id),
        sqlx::query("UPDATE profiles SET full_name = 'Cleo' WHERE id = $1").bind(id),
    )
    .await;
    commit_as(
        pool,
        &w.admin(),
        sqlx::query("DELETE FROM profiles WHERE id = $1").bind(id),
    )
    .await;
    let rows = audit_rows(pool, "profiles", id).await;
    let summary: Vec<(&str, Option<Uuid>)> = rows
        .iter()
        .map(|r| (r.action.as_str(), r.changed_by))
        .collect();
    // The profile was created by the sign-up (no signed-in user), renamed by
    // its owner, deleted by the admin.
    assert_eq!(
        summary,
        [
            ("INSERT", None),
            ("UPDATE", Some(id)),
            ("DELETE", Some(w.admin))
        ]
    );
}

#[tokio::test]
async fn an_update_that_changes_nothing_is_not_audited() {
    let db = database().await;
    let pool = db.pool();
    let w = World::build(pool).await;
    let before = audit_count(pool).await;
    commit_as(
        pool,
        &w.a(),
        sqlx::query("UPDATE customers SET name = name WHERE id = $1").bind(w.cust_a),
    )
    .await;
    assert_eq!(audit_count(pool).await, before);
}

#[tokio::test]
async fn changes_through_an_integration_token_name_the_token() {
    let db = database().await;
    let pool = db.pool();
    let w = World::build(pool).await;
    let token = Uuid::now_v7();
    commit_as(
        pool,
        &w.a(),
        sqlx::query("INSERT INTO integration_tokens (id, name, token_hash, permissions) VALUES ($1, 'shop', repeat('d', 64), '{customers:read,customers:write}')").bind(token),
    )
    .await;
    let id = Uuid::now_v7();
    commit_as(
        pool,
        &Claims::integration(w.agent_a, token),
        sqlx::query("INSERT INTO customers (id, name) VALUES ($1, 'From the webshop')").bind(id),
    )
    .await;
    let rows = audit_rows(pool, "customers", id).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].changed_by, Some(w.agent_a));
    assert_eq!(rows[0].integration_token_id, Some(token));
}

/// A token is made, renamed, rotated and revoked (never deleted): each is
/// an audit row, none holds a secret's hash, and counting its use is none.
#[tokio::test]
async fn a_token_s_life_is_audited_without_its_secrets_or_its_usage() {
    let db = database().await;
    let pool = db.pool();
    let w = World::build(pool).await;
    let id = Uuid::now_v7();
    for sql in [
        "INSERT INTO integration_tokens (id, name, token_hash, permissions) VALUES ($1, 'audited', repeat('a', 64), '{tickets:read}')",
        "UPDATE integration_tokens SET name = 'renamed' WHERE id = $1",
        "UPDATE integration_tokens SET previous_hash = token_hash, previous_valid_until = now() + interval '1 hour', token_hash = repeat('b', 64) WHERE id = $1",
        "UPDATE integration_tokens SET is_active = false WHERE id = $1",
    ] {
        commit_as(pool, &w.a(), sqlx::query(sql).bind(id)).await;
    }
    sqlx::query("UPDATE integration_tokens SET use_count = use_count + 5, last_used_at = now() WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await
        .unwrap();
    let rows = audit_rows(pool, "integration_tokens", id).await;
    let actions: Vec<&str> = rows.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(actions, ["INSERT", "UPDATE", "UPDATE", "UPDATE"]);
    for row in &rows {
        assert_eq!(row.changed_by, Some(w.agent_a));
        for values in [&row.old_values, &row.new_values].into_iter().flatten() {
            assert!(
                values.get("token_hash").is_none() && values.get("previous_hash").is_none(),
                "{values}"
            );
        }
    }
    assert_eq!(
        rows[3].new_values.as_ref().unwrap()["revoked_by"],
        w.agent_a.to_string()
    );
    let deleted = attempt(
        pool,
        &w.a(),
        sqlx::query("DELETE FROM integration_tokens WHERE id = $1").bind(id),
    )
    .await;
    assert!(
        !matches!(deleted, Outcome::Rows(1)),
        "revoked, never deleted"
    );
}

#[derive(Debug, sqlx::FromRow, PartialEq)]
struct Stamps {
    status: String,
    resolved: bool,
    closed: bool,
}

async fn move_ticket(
    pool: &PgPool,
    who: &Claims,
    ticket: Uuid,
    to: &str,
    note: Option<&str>,
) -> Result<Stamps, String> {
    let mut tx = begin_as(pool, who).await.unwrap();
    if let Some(note) = note {
        sqlx::query("SELECT set_config('crm.status_note', $1, true)")
            .bind(note)
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    let result = sqlx::query_as(
        "UPDATE tickets SET status = $2::ticket_status WHERE id = $1
         RETURNING status::text, resolved_at IS NOT NULL AS resolved, closed_at IS NOT NULL AS closed",
    )
    .bind(ticket)
    .bind(to)
    .fetch_one(&mut *tx)
    .await;
    match result {
        Ok(stamps) => {
            tx.commit().await.unwrap();
            Ok(stamps)
        }
        Err(e) => Err(e
            .as_database_error()
            .map(|d| d.message().to_owned())
            .unwrap_or_else(|| e.to_string())),
    }
}

#[tokio::test]
async fn status_changes_are_logged_and_stamp_resolution_and_closure() {
    let db = database().await;
    let pool = db.pool();
    let w = World::build(pool).await;
    let (a, b) = (w.a(), w.b());
    let stamps = |status: &str, resolved, closed| Stamps {
        status: status.into(),
        resolved,
        closed,
    };

    assert_eq!(
        move_ticket(pool, &a, w.t_shared, "in_progress", None).await,
        Ok(stamps("in_progress", false, false))
    );
    assert_eq!(
        move_ticket(pool, &b, w.t_shared, "resolved", Some("replaced the pump")).await,
        Ok(stamps("resolved", true, false))
    );
    assert_eq!(
        move_ticket(pool, &a, w.t_shared, "closed", None).await,
        Ok(stamps("closed", true, true))
    );
    assert_eq!(
        move_ticket(pool, &b, w.t_shared, "reopened", None).await,
        Ok(stamps("reopened", false, false))
    );

    let history: Vec<HistoryEntry> = sqlx::query_as(
        "SELECT from_status::text, to_status::text, changed_by, note FROM ticket_workflow_history
         WHERE ticket_id = $1 ORDER BY created_at, id",
    )
    .bind(w.t_shared)
    .fetch_all(pool)
    .await
    .unwrap();
    let entry = |from: Option<&str>, to: &str, by: Uuid, note: Option<&str>| HistoryEntry {
        from_status: from.map(Into::into),
        to_status: to.into(),
        changed_by: Some(by),
        note: note.map(Into::into),
    };
    assert_eq!(
        history,
        [
            entry(None, "open", w.admin, None),
            entry(Some("open"), "in_progress", w.agent_a, None),
            entry(
                Some("in_progress"),
                "resolved",
                w.agent_b,
                Some("replaced the pump")
            ),
            entry(Some("resolved"), "closed", w.agent_a, None),
            entry(Some("closed"), "reopened", w.agent_b, None),
        ]
    );
}

#[derive(Debug, PartialEq, sqlx::FromRow)]
struct HistoryEntry {
    from_status: Option<String>,
    to_status: String,
    changed_by: Option<Uuid>,
    note: Option<String>,
}

#[tokio::test]
async fn a_move_the_workflow_forbids_is_refused_and_changes_nothing() {
    let db = database().await;
    let pool = db.pool();
    let w = World::build(pool).await;
    move_ticket(pool, &w.a(), w.t_a, "closed", None)
        .await
        .unwrap();
    let before = audit_count(pool).await;
    let err = move_ticket(pool, &w.a(), w.t_a, "in_progress", None)
        .await
        .unwrap_err();
    assert_eq!(err, "cannot move a ticket from closed to in_progress");
    assert_eq!(audit_count(pool).await, before);
    let status: String = sqlx::query_scalar("SELECT status::text FROM tickets WHERE id = $1")
        .bind(w.t_a)
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(status, "closed");

    // A ticket is born open, and nobody writes the stamps by hand.
    let refused = attempt(
        pool,
        &w.a(),
        sqlx::query("INSERT INTO tickets (title, status) VALUES ('x', 'closed')"),
    )
    .await;
    assert_eq!(refused, Outcome::Refused("23514".into()));
    commit_as(
        pool,
        &w.a(),
        sqlx::query("UPDATE tickets SET resolved_at = now(), closed_at = NULL WHERE id = $1")
            .bind(w.t_a),
    )
    .await;
    let (resolved, closed): (bool, bool) = sqlx::query_as(
        "SELECT resolved_at IS NOT NULL, closed_at IS NOT NULL FROM tickets WHERE id = $1",
    )
    .bind(w.t_a)
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(
        (resolved, closed),
        (false, true),
        "closed straight from open: never resolved"
    );
}

#[tokio::test]
async fn the_database_workflow_is_the_domain_state_machine() {
    let db = database().await;
    let pool = db.pool();
    for from in TicketStatus::ALL {
        for to in TicketStatus::ALL {
            let allowed: bool = sqlx::query_scalar(
                "SELECT ticket_status_transition_allowed($1::ticket_status, $2::ticket_status)",
            )
            .bind(from.as_str())
            .bind(to.as_str())
            .fetch_one(pool)
            .await
            .unwrap();
            assert_eq!(allowed, from.can_transition_to(to), "{from} -> {to}");
        }
    }
}
