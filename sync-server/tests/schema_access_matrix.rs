//! The access matrix of docs/security-model.md, asserted against a real
//! PostgreSQL: two agents and an admin × every table × select, insert,
//! update and delete.
#![allow(clippy::unwrap_used)]

mod support;

use support::{Outcome, World, attempt, database, scalars_as, sorted, visible_ids};
use sync_server::data::Claims;
use uuid::Uuid;

#[tokio::test]
async fn each_user_sees_exactly_the_rows_the_security_model_grants() {
    let db = database().await;
    let pool = db.pool();
    let w = World::build(pool).await;
    let (a, b, admin) = (w.a(), w.b(), w.admin());

    let cases: Vec<(&str, &Claims, Vec<Uuid>)> = vec![
        ("profiles", &a, vec![w.agent_a]),
        ("profiles", &b, vec![w.agent_b]),
        ("profiles", &admin, vec![w.agent_a, w.agent_b, w.admin]),
        ("customers", &a, vec![w.cust_a]),
        ("customers", &b, vec![w.cust_b, w.cust_spare]),
        ("customers", &admin, vec![w.cust_a, w.cust_b, w.cust_spare]),
        ("customer_interactions", &a, vec![w.int_a]),
        ("customer_interactions", &b, vec![w.int_b]),
        ("customer_interactions", &admin, vec![w.int_a, w.int_b]),
        ("tickets", &a, vec![w.t_a, w.t_shared, w.t_for_a]),
        ("tickets", &b, vec![w.t_b, w.t_shared, w.t_for_a]),
        (
            "tickets",
            &admin,
            vec![w.t_a, w.t_b, w.t_shared, w.t_for_a, w.t_admin],
        ),
        (
            "ticket_assignees",
            &a,
            vec![
                w.assignee_shared_a,
                w.assignee_shared_b,
                w.lead_a_on_t_for_a,
            ],
        ),
        (
            "ticket_assignees",
            &b,
            vec![
                w.assignee_shared_a,
                w.assignee_shared_b,
                w.lead_b_on_t_b,
                w.lead_a_on_t_for_a,
            ],
        ),
        (
            "ticket_assignees",
            &admin,
            vec![
                w.assignee_shared_a,
                w.assignee_shared_b,
                w.lead_b_on_t_b,
                w.lead_a_on_t_for_a,
            ],
        ),
        (
            "ticket_comments",
            &a,
            vec![
                w.comment_a_public,
                w.comment_a_internal,
                w.comment_b_shared_internal,
            ],
        ),
        ("ticket_comments", &b, vec![w.comment_b_shared_internal]),
        (
            "ticket_comments",
            &admin,
            vec![
                w.comment_a_public,
                w.comment_a_internal,
                w.comment_b_shared_internal,
                w.comment_admin,
            ],
        ),
        ("ticket_attachments", &a, vec![w.att_a]),
        ("ticket_attachments", &b, vec![]),
        ("ticket_attachments", &admin, vec![w.att_a, w.att_admin]),
        ("integration_tokens", &a, vec![w.token_a]),
        ("integration_tokens", &b, vec![w.token_b]),
        // An admin sees everyone's tokens, to revoke them (never to use them).
        ("integration_tokens", &admin, vec![w.token_a, w.token_b]),
    ];
    for (table, who, expected) in cases {
        assert_eq!(
            visible_ids(pool, who, table).await,
            sorted(expected),
            "{table} as {}",
            who.sub
        );
    }

    // Catalog tables: everyone signed in reads all of them.
    for who in [&a, &b, &admin] {
        assert_eq!(visible_ids(pool, who, "products").await.len(), 3);
        assert_eq!(visible_ids(pool, who, "acquisition_stages").await.len(), 6);
    }

    // Workflow history follows its ticket: one creation entry per ticket.
    let history_tickets = |who: Claims| async move {
        sorted(scalars_as(pool, &who, "SELECT ticket_id FROM ticket_workflow_history").await)
    };
    assert_eq!(
        history_tickets(a.clone()).await,
        sorted(vec![w.t_a, w.t_shared, w.t_for_a])
    );
    assert_eq!(
        history_tickets(b.clone()).await,
        sorted(vec![w.t_b, w.t_shared, w.t_for_a])
    );
    assert_eq!(history_tickets(admin.clone()).await.len(), 5);

    // Audit history: admins everything, users their own changes only.
    let audit_actors = |who: Claims| async move {
        scalars_as::<Option<Uuid>>(pool, &who, "SELECT DISTINCT changed_by FROM audit_history")
            .await
    };
    assert_eq!(audit_actors(a.clone()).await, vec![Some(w.agent_a)]);
    assert_eq!(audit_actors(b.clone()).await, vec![Some(w.agent_b)]);
    let all_actors = audit_actors(admin.clone()).await;
    for actor in [w.agent_a, w.agent_b, w.admin] {
        assert!(
            all_actors.contains(&Some(actor)),
            "admin sees {actor}'s changes"
        );
    }
    // The seed data and the role change were made by no signed-in user.
    assert!(all_actors.contains(&None));
}

#[tokio::test]
async fn outsiders_and_anonymous_callers_see_nothing() {
    let db = database().await;
    let pool = db.pool();
    World::build(pool).await;
    let stranger = Claims::user(Uuid::now_v7());
    for table in [
        "profiles",
        "products",
        "acquisition_stages",
        "customers",
        "customer_interactions",
        "tickets",
        "ticket_workflow_history",
        "ticket_assignees",
        "ticket_comments",
        "ticket_attachments",
        "integration_tokens",
        "audit_history",
    ] {
        // A valid-looking token for a user with no profile: an authenticated
        // role, but no rights anywhere except the shared catalog.
        let seen = visible_ids(pool, &stranger, table).await;
        if table == "products" || table == "acquisition_stages" {
            continue;
        }
        assert!(
            seen.is_empty(),
            "a stranger sees {} rows of {table}",
            seen.len()
        );
    }

    // The `anon` role has no privileges at all.
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("SET LOCAL ROLE anon")
        .execute(&mut *tx)
        .await
        .unwrap();
    let refused = sqlx::query("SELECT count(*) FROM customers")
        .execute(&mut *tx)
        .await
        .unwrap_err();
    assert_eq!(
        refused.as_database_error().unwrap().code().unwrap(),
        "42501"
    );
}

/// What a case expects of PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// Allowed, touching this many rows.
    Rows(u64),
    /// Not allowed: refused for lack of privilege (SQLSTATE 42501: no grant,
    /// a policy's WITH CHECK, or a guard trigger), or (for UPDATE/DELETE)
    /// the target is invisible so nothing is touched.
    Denied,
    /// Not allowed, by a rule that reports another SQLSTATE first.
    DeniedAs(&'static str),
}

#[tokio::test]
async fn writes_follow_the_access_matrix() {
    use Expect::{Denied, DeniedAs, Rows};
    let db = database().await;
    let pool = db.pool();
    let w = World::build(pool).await;
    let (a, b, admin) = (w.a(), w.b(), w.admin());
    let newcomer = support::create_user(pool, "new@field.test", "New Comer").await;
    let q = sqlx::query;
    // The files the attachment cases describe are uploaded, so what
    // decides is who may attach.
    for ticket in [w.t_a, w.t_admin] {
        q("INSERT INTO storage.objects (bucket_id, name, size, mime_type) VALUES ('ticket-attachments', $1::text || '/a.png', 10, 'image/png')")
            .bind(ticket)
            .execute(pool)
            .await
            .unwrap();
    }

    let cases: Vec<(&str, &Claims, sqlx::query::Query<'_, _, _>, Expect)> = vec![
        // profiles
        ("agent renames self", &a, q("UPDATE profiles SET full_name = 'Ana B.' WHERE id = $1").bind(w.agent_a), Rows(1)),
        ("agent renames colleague", &a, q("UPDATE profiles SET full_name = 'x' WHERE id = $1").bind(w.agent_b), Denied),
        ("admin renames agent", &admin, q("UPDATE profiles SET full_name = 'Ana' WHERE id = $1").bind(w.agent_a), Rows(1)),
        ("admin promotes agent", &admin, q("UPDATE profiles SET role = 'admin' WHERE id = $1").bind(w.agent_b), Rows(1)),
        (
            "agent inserts a profile",
            &a,
            q("INSERT INTO profiles (id, email) VALUES ($1, 'x@y.io')").bind(w.agent_a),
            Denied,
        ),
        ("agent deletes own profile", &a, q("DELETE FROM profiles WHERE id = $1").bind(w.agent_a), Denied),
        ("admin deletes a profile", &admin, q("DELETE FROM profiles WHERE id = $1").bind(newcomer), Rows(1)),
        // products and stages
        ("agent adds a product", &a, q("INSERT INTO products (name, is_active) VALUES ('X', false)"), Denied),
        ("agent edits a product", &a, q("UPDATE products SET description = 'x'"), Denied),
        ("agent deletes a product", &a, q("DELETE FROM products"), Denied),
        ("admin adds a product", &admin, q("INSERT INTO products (name, is_active) VALUES ('X', false)"), Rows(1)),
        ("admin edits products", &admin, q("UPDATE products SET description = 'x'"), Rows(3)),
        ("admin deletes a product", &admin, q("DELETE FROM products WHERE name = 'Legacy Dispatch'"), Rows(1)),
        ("agent edits a stage", &a, q("UPDATE acquisition_stages SET order_index = order_index + 10"), Denied),
        ("agent deletes a stage", &a, q("DELETE FROM acquisition_stages WHERE name = 'closed_lost'"), Denied),
        ("admin edits stages", &admin, q("UPDATE acquisition_stages SET order_index = order_index + 10"), Rows(6)),
        ("admin deletes an unused stage", &admin, q("DELETE FROM acquisition_stages WHERE name = 'closed_lost'"), Rows(1)),
        ("agent adds a stage", &a, q("INSERT INTO acquisition_stages (name, order_index) VALUES ('lead', 99)"), Denied),
        // customers
        ("agent adds own customer", &a, q("INSERT INTO customers (name) VALUES ('Mine')"), Rows(1)),
        (
            "agent adds a customer for a colleague",
            &a,
            q("INSERT INTO customers (name, owner) VALUES ('Theirs', $1)").bind(w.agent_b),
            Denied,
        ),
        ("agent edits own customer", &a, q("UPDATE customers SET phone = '+1 555 0100' WHERE id = $1").bind(w.cust_a), Rows(1)),
        ("agent edits colleague's customer", &a, q("UPDATE customers SET phone = '+1 555 0100' WHERE id = $1").bind(w.cust_b), Denied),
        (
            "agent hands own customer to a colleague",
            &a,
            q("UPDATE customers SET owner = $2 WHERE id = $1").bind(w.cust_a).bind(w.agent_b),
            Denied,
        ),
        ("agent archives own customer", &a, q("UPDATE customers SET is_archived = true WHERE id = $1").bind(w.cust_a), Rows(1)),
        ("agent deletes own customer", &b, q("DELETE FROM customers WHERE id = $1").bind(w.cust_spare), Denied),
        (
            "admin reassigns a customer",
            &admin,
            q("UPDATE customers SET owner = $2 WHERE id = $1").bind(w.cust_a).bind(w.agent_b),
            Rows(1),
        ),
        ("admin deletes a customer", &admin, q("DELETE FROM customers WHERE id = $1").bind(w.cust_spare), Rows(1)),
        // interactions
        (
            "agent logs an interaction on own customer",
            &a,
            q("INSERT INTO customer_interactions (customer_id, type, channel) VALUES ($1, 'visit', 'meeting')").bind(w.cust_a),
            Rows(1),
        ),
        (
            "agent logs an interaction on colleague's customer",
            &a,
            q("INSERT INTO customer_interactions (customer_id, type, channel) VALUES ($1, 'visit', 'meeting')").bind(w.cust_b),
            Denied,
        ),
        (
            "agent logs an interaction as a colleague",
            &a,
            q("INSERT INTO customer_interactions (customer_id, type, channel, created_by) VALUES ($1, 'visit', 'meeting', $2)")
                .bind(w.cust_a)
                .bind(w.agent_b),
            Denied,
        ),
        ("agent moves own follow-up", &a, q("UPDATE customer_interactions SET follow_up_date = now() WHERE id = $1").bind(w.int_a), Rows(1)),
        ("agent edits colleague's interaction", &a, q("UPDATE customer_interactions SET note = 'x' WHERE id = $1").bind(w.int_b), Denied),
        (
            "agent moves an interaction to a colleague's customer",
            &a,
            q("UPDATE customer_interactions SET customer_id = $2 WHERE id = $1").bind(w.int_a).bind(w.cust_b),
            Denied,
        ),
        ("agent deletes own interaction", &a, q("DELETE FROM customer_interactions WHERE id = $1").bind(w.int_a), Rows(1)),
        ("agent deletes colleague's interaction", &a, q("DELETE FROM customer_interactions WHERE id = $1").bind(w.int_b), Denied),
        ("admin edits any interaction", &admin, q("UPDATE customer_interactions SET note = 'x' WHERE id = $1").bind(w.int_b), Rows(1)),
        ("admin deletes any interaction", &admin, q("DELETE FROM customer_interactions WHERE id = $1").bind(w.int_b), Rows(1)),
        // tickets
        ("agent opens a ticket", &a, q("INSERT INTO tickets (title) VALUES ('help')"), Rows(1)),
        ("agent opens a ticket for own customer", &a, q("INSERT INTO tickets (title, customer_id) VALUES ('help', $1)").bind(w.cust_a), Rows(1)),
        (
            "agent opens a ticket for colleague's customer",
            &a,
            q("INSERT INTO tickets (title, customer_id) VALUES ('help', $1)").bind(w.cust_b),
            Denied,
        ),
        ("agent opens a ticket as a colleague", &a, q("INSERT INTO tickets (title, created_by) VALUES ('help', $1)").bind(w.agent_b), Denied),
        ("creator edits own ticket", &a, q("UPDATE tickets SET priority = 'high' WHERE id = $1").bind(w.t_a), Rows(1)),
        ("assignee edits shared ticket", &a, q("UPDATE tickets SET priority = 'high' WHERE id = $1").bind(w.t_shared), Rows(1)),
        (
            "assigned_to edits a ticket whose customer they cannot see",
            &a,
            q("UPDATE tickets SET status = 'in_progress' WHERE id = $1").bind(w.t_for_a),
            Rows(1),
        ),
        ("agent edits an unrelated ticket", &a, q("UPDATE tickets SET priority = 'high' WHERE id = $1").bind(w.t_b), Denied),
        ("agent edits admin's ticket", &a, q("UPDATE tickets SET priority = 'high' WHERE id = $1").bind(w.t_admin), Denied),
        ("agent rewrites a ticket's creator", &a, q("UPDATE tickets SET created_by = $2 WHERE id = $1").bind(w.t_a).bind(w.agent_b), Denied),
        ("agent deletes own ticket", &a, q("DELETE FROM tickets WHERE id = $1").bind(w.t_a), Denied),
        ("admin deletes a ticket", &admin, q("DELETE FROM tickets WHERE id = $1").bind(w.t_admin), Rows(1)),
        // workflow history: trigger-written only
        (
            "agent writes workflow history",
            &a,
            q("INSERT INTO ticket_workflow_history (ticket_id, to_status, changed_by) VALUES ($1, 'closed', $2)")
                .bind(w.t_a)
                .bind(w.agent_a),
            Denied,
        ),
        ("agent edits workflow history", &a, q("UPDATE ticket_workflow_history SET note = 'x'"), Denied),
        ("admin deletes workflow history", &admin, q("DELETE FROM ticket_workflow_history"), Denied),
        // assignees
        (
            "agent adds an assignee to own ticket",
            &a,
            q("INSERT INTO ticket_assignees (ticket_id, user_id) VALUES ($1, $2)").bind(w.t_a).bind(w.agent_b),
            Rows(1),
        ),
        (
            "agent assigns on someone else's behalf",
            &a,
            q("INSERT INTO ticket_assignees (ticket_id, user_id, assigned_by) VALUES ($1, $2, $3)")
                .bind(w.t_a)
                .bind(w.agent_b)
                .bind(w.admin),
            Denied,
        ),
        (
            "agent adds self to an invisible ticket",
            &a,
            q("INSERT INTO ticket_assignees (ticket_id, user_id) VALUES ($1, $2)").bind(w.t_admin).bind(w.agent_a),
            Denied,
        ),
        ("assignee removes a co-assignee", &a, q("DELETE FROM ticket_assignees WHERE id = $1").bind(w.assignee_shared_b), Rows(1)),
        ("agent edits an assignment", &a, q("UPDATE ticket_assignees SET assigned_at = now() WHERE id = $1").bind(w.assignee_shared_a), Denied),
        // comments
        (
            "agent comments on own ticket",
            &a,
            q("INSERT INTO ticket_comments (ticket_id, content) VALUES ($1, 'done')").bind(w.t_a),
            Rows(1),
        ),
        (
            "agent comments on an invisible ticket",
            &a,
            q("INSERT INTO ticket_comments (ticket_id, content) VALUES ($1, 'hi')").bind(w.t_admin),
            Denied,
        ),
        (
            "agent comments as a colleague",
            &a,
            q("INSERT INTO ticket_comments (ticket_id, content, created_by) VALUES ($1, 'hi', $2)")
                .bind(w.t_a)
                .bind(w.agent_b),
            Denied,
        ),
        ("author edits own comment", &a, q("UPDATE ticket_comments SET content = 'edited' WHERE id = $1").bind(w.comment_a_public), Rows(1)),
        (
            "agent edits a colleague's comment",
            &a,
            q("UPDATE ticket_comments SET content = 'edited' WHERE id = $1").bind(w.comment_b_shared_internal),
            Denied,
        ),
        (
            "admin edits someone's comment",
            &admin,
            q("UPDATE ticket_comments SET content = 'edited' WHERE id = $1").bind(w.comment_b_shared_internal),
            Denied,
        ),
        ("agent deletes a colleague's comment", &a, q("DELETE FROM ticket_comments WHERE id = $1").bind(w.comment_b_shared_internal), Denied),
        ("author deletes own comment", &a, q("DELETE FROM ticket_comments WHERE id = $1").bind(w.comment_a_public), Rows(1)),
        ("admin deletes any comment", &admin, q("DELETE FROM ticket_comments WHERE id = $1").bind(w.comment_b_shared_internal), Rows(1)),
        // attachments
        (
            "agent attaches to own ticket",
            &a,
            q("INSERT INTO ticket_attachments (ticket_id, file_name, file_path, file_size, mime_type)
               VALUES ($1, 'a.png', $1::text || '/a.png', 10, 'image/png')")
            .bind(w.t_a),
            Rows(1),
        ),
        (
            "agent attaches to an invisible ticket",
            &a,
            q("INSERT INTO ticket_attachments (ticket_id, file_name, file_path, file_size, mime_type)
               VALUES ($1, 'a.png', $1::text || '/a.png', 10, 'image/png')")
            .bind(w.t_admin),
            // The file is there, but not for this agent to see: to them it
            // was never uploaded (the check reads as the writer, so it
            // tells nothing of files on tickets they cannot see).
            DeniedAs("23503"),
        ),
        (
            "agent uploads as a colleague",
            &a,
            q("INSERT INTO ticket_attachments (ticket_id, file_name, file_path, file_size, mime_type, uploaded_by)
               VALUES ($1, 'a.png', $1::text || '/a.png', 10, 'image/png', $2)")
            .bind(w.t_a)
            .bind(w.agent_b),
            Denied,
        ),
        ("uploader edits attachment metadata", &a, q("UPDATE ticket_attachments SET mime_type = 'image/png' WHERE id = $1").bind(w.att_a), Denied),
        // Fixed once written: the row describes the uploaded bytes.
        ("admin changes attachment metadata", &admin, q("UPDATE ticket_attachments SET mime_type = 'image/png' WHERE id = $1").bind(w.att_a), Denied),
        ("other agent deletes an attachment", &b, q("DELETE FROM ticket_attachments WHERE id = $1").bind(w.att_a), Denied),
        ("uploader deletes own attachment", &a, q("DELETE FROM ticket_attachments WHERE id = $1").bind(w.att_a), Rows(1)),
        // integration tokens
        (
            "agent creates a token",
            &a,
            q("INSERT INTO integration_tokens (name, token_hash, permissions) VALUES ('ci', repeat('f', 64), '{tickets:read}')"),
            Rows(1),
        ),
        (
            "agent creates a token for a colleague",
            &a,
            q("INSERT INTO integration_tokens (name, token_hash, permissions, created_by) VALUES ('ci', repeat('f', 64), '{tickets:read}', $1)")
                .bind(w.agent_b),
            Denied,
        ),
        ("agent revokes own token", &a, q("UPDATE integration_tokens SET is_active = false WHERE id = $1").bind(w.token_a), Rows(1)),
        ("agent revokes colleague's token", &a, q("UPDATE integration_tokens SET is_active = false WHERE id = $1").bind(w.token_b), Denied),
        ("admin deletes someone's token", &admin, q("DELETE FROM integration_tokens WHERE id = $1").bind(w.token_a), Denied),
        // Revoked, never deleted: audit rows name them.
        ("agent deletes own token", &a, q("DELETE FROM integration_tokens WHERE id = $1").bind(w.token_a), Denied),
        ("admin renames someone's token", &admin, q("UPDATE integration_tokens SET name = 'mine' WHERE id = $1").bind(w.token_b), Denied),
        ("admin revokes someone's token", &admin, q("UPDATE integration_tokens SET is_active = false WHERE id = $1").bind(w.token_b), Rows(1)),
        // audit history: append-only, trigger-written
        (
            "agent writes an audit row",
            &a,
            q("INSERT INTO audit_history (table_name, record_id, action, changed_by) VALUES ('customers', $1, 'DELETE', $2)")
                .bind(w.cust_b)
                .bind(w.agent_b),
            Denied,
        ),
        ("agent edits own audit rows", &a, q("UPDATE audit_history SET action = 'DELETE' WHERE changed_by = $1").bind(w.agent_a), Denied),
        ("admin deletes audit rows", &admin, q("DELETE FROM audit_history"), Denied),
    ];

    let mut failures = Vec::new();
    for (what, who, query, expected) in cases {
        let outcome = attempt(pool, who, query).await;
        let ok = match expected {
            Rows(n) => outcome == Outcome::Rows(n),
            Denied => outcome == Outcome::Refused("42501".into()) || outcome == Outcome::Rows(0),
            DeniedAs(code) => outcome == Outcome::Refused(code.into()),
        };
        if !ok {
            failures.push(format!("{what}: expected {expected:?}, got {outcome:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "access matrix violations:\n{}",
        failures.join("\n")
    );
}
