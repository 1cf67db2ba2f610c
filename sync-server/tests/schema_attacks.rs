//! Attacks on the central schema that must fail: privilege escalation,
//! writing on someone else's behalf, reading around RLS through views and
//! functions, racing the product limit, stretching an integration token.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::Value;
use sqlx::{Executor, PgPool};
use support::{Outcome, World, attempt, commit_as, database, scalar_as, scalars_as, sorted};
use sync_server::data::{Claims, acting::begin_as};
use uuid::Uuid;

async fn refused_code(
    pool: &PgPool,
    claims: &Claims,
    query: sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments>,
) -> String {
    match attempt(pool, claims, query).await {
        Outcome::Refused(code) => code,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn agent_cannot_make_itself_admin() {
    let db = database().await;
    let w = World::build(db.pool()).await;
    let code = refused_code(
        db.pool(),
        &w.a(),
        sqlx::query("UPDATE profiles SET role = 'admin' WHERE id = $1").bind(w.agent_a),
    )
    .await;
    assert_eq!(code, "42501");
    // Nor by rewriting its email, nor by touching another profile.
    let code = refused_code(
        db.pool(),
        &w.a(),
        sqlx::query("UPDATE profiles SET email = 'ada@field.test' WHERE id = $1").bind(w.agent_a),
    )
    .await;
    assert_eq!(code, "42501");
    let role: String = sqlx::query_scalar("SELECT role::text FROM profiles WHERE id = $1")
        .bind(w.agent_a)
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(role, "agent");
}

#[tokio::test]
async fn the_last_admin_cannot_stop_being_one() {
    let db = database().await;
    let w = World::build(db.pool()).await;
    let code = refused_code(
        db.pool(),
        &w.admin(),
        sqlx::query("UPDATE profiles SET role = 'agent' WHERE id = $1").bind(w.admin),
    )
    .await;
    assert_eq!(code, "23514");
    // With a second admin, stepping down is fine.
    support::make_admin(db.pool(), w.agent_b).await;
    let done = attempt(
        db.pool(),
        &w.admin(),
        sqlx::query("UPDATE profiles SET role = 'agent' WHERE id = $1").bind(w.admin),
    )
    .await;
    assert_eq!(done, Outcome::Rows(1));
}

#[tokio::test]
async fn the_last_admin_cannot_be_deleted_either() {
    let db = database().await;
    let w = World::build(db.pool()).await;
    // The admin's own profile, with nothing authored that would block the
    // delete: a fresh admin who then is the only one.
    let lone = support::create_user(db.pool(), "lone@field.test", "Lone Admin").await;
    support::make_admin(db.pool(), lone).await;
    commit_as(
        db.pool(),
        &Claims::user(lone),
        sqlx::query("UPDATE profiles SET role = 'agent' WHERE id = $1").bind(w.admin),
    )
    .await;
    let code = refused_code(
        db.pool(),
        &Claims::user(lone),
        sqlx::query("DELETE FROM profiles WHERE id = $1").bind(lone),
    )
    .await;
    assert_eq!(code, "23514");
    // With a second admin, removing one is fine.
    support::make_admin(db.pool(), w.agent_b).await;
    let done = attempt(
        db.pool(),
        &Claims::user(lone),
        sqlx::query("DELETE FROM profiles WHERE id = $1").bind(lone),
    )
    .await;
    assert_eq!(done, Outcome::Rows(1));
}

#[tokio::test]
async fn agent_cannot_insert_a_customer_owned_by_someone_else() {
    let db = database().await;
    let w = World::build(db.pool()).await;
    let code = refused_code(
        db.pool(),
        &w.a(),
        sqlx::query("INSERT INTO customers (name, owner) VALUES ('Planted', $1)").bind(w.agent_b),
    )
    .await;
    assert_eq!(code, "42501");
    // Nor one owned by nobody (which only admins would see).
    let code = refused_code(
        db.pool(),
        &w.a(),
        sqlx::query("INSERT INTO customers (name, owner) VALUES ('Orphan', NULL)"),
    )
    .await;
    assert_eq!(code, "42501");
}

#[tokio::test]
async fn rows_cannot_be_written_on_another_users_behalf() {
    let db = database().await;
    let pool = db.pool();
    let w = World::build(pool).await;
    let a = w.a();
    // The file the spoofed attachment would describe exists, so what
    // refuses it is the rule about its uploader.
    sqlx::query("INSERT INTO storage.objects (bucket_id, name, size, mime_type) VALUES ('ticket-attachments', $1::text || '/x.pdf', 1, 'application/pdf')")
        .bind(w.t_a)
        .execute(pool)
        .await
        .unwrap();
    let spoofs = [
        sqlx::query("INSERT INTO customer_interactions (customer_id, type, channel, created_by) VALUES ($1, 'call', 'phone', $2)")
            .bind(w.cust_a)
            .bind(w.admin),
        sqlx::query("INSERT INTO tickets (title, created_by) VALUES ('x', $1)").bind(w.admin),
        sqlx::query("INSERT INTO ticket_comments (ticket_id, content, created_by) VALUES ($1, 'x', $2)")
            .bind(w.t_a)
            .bind(w.admin),
        sqlx::query("INSERT INTO ticket_assignees (ticket_id, user_id, assigned_by) VALUES ($1, $2, $2)")
            .bind(w.t_a)
            .bind(w.agent_b),
        sqlx::query(
            "INSERT INTO ticket_attachments (ticket_id, file_name, file_path, file_size, mime_type, uploaded_by)
             VALUES ($1, 'x.pdf', $1::text || '/x.pdf', 1, 'application/pdf', $2)",
        )
        .bind(w.t_a)
        .bind(w.admin),
        sqlx::query("INSERT INTO ticket_workflow_history (ticket_id, to_status, changed_by) VALUES ($1, 'closed', $2)")
            .bind(w.t_a)
            .bind(w.admin),
        sqlx::query("INSERT INTO audit_history (table_name, record_id, action, changed_by) VALUES ('tickets', $1, 'DELETE', $2)")
            .bind(w.t_a)
            .bind(w.admin),
        // Rewriting the author of an existing row.
        sqlx::query("UPDATE ticket_comments SET created_by = $2 WHERE id = $1")
            .bind(w.comment_a_public)
            .bind(w.admin),
        sqlx::query("UPDATE customer_interactions SET created_by = $2 WHERE id = $1")
            .bind(w.int_a)
            .bind(w.admin),
    ];
    for (n, query) in spoofs.into_iter().enumerate() {
        assert_eq!(
            attempt(pool, &a, query).await,
            Outcome::Refused("42501".into()),
            "spoof #{n}"
        );
    }
    // Admins cannot write as someone else either.
    assert_eq!(
        attempt(
            pool,
            &w.admin(),
            sqlx::query(
                "INSERT INTO ticket_comments (ticket_id, content, created_by) VALUES ($1, 'x', $2)"
            )
            .bind(w.t_a)
            .bind(w.agent_a),
        )
        .await,
        Outcome::Refused("42501".into())
    );
}

async fn ids_as(pool: &PgPool, claims: &Claims, sql: &'static str) -> Vec<Uuid> {
    sorted(scalars_as(pool, claims, sql).await)
}

#[tokio::test]
async fn views_and_stats_functions_show_only_what_the_caller_may_see() {
    let db = database().await;
    let pool = db.pool();
    let w = World::build(pool).await;
    let (a, b, admin) = (w.a(), w.b(), w.admin());

    assert_eq!(
        ids_as(pool, &b, "SELECT id FROM customer_summary").await,
        sorted(vec![w.cust_b, w.cust_spare])
    );
    assert_eq!(
        ids_as(pool, &a, "SELECT id FROM customer_summary").await,
        vec![w.cust_a]
    );
    assert_eq!(
        ids_as(pool, &b, "SELECT id FROM ticket_summary").await,
        sorted(vec![w.t_b, w.t_shared, w.t_for_a])
    );
    assert_eq!(
        ids_as(pool, &b, "SELECT user_id FROM user_workload").await,
        vec![w.agent_b]
    );
    assert_eq!(
        ids_as(pool, &admin, "SELECT user_id FROM user_workload")
            .await
            .len(),
        3
    );

    // A ticket A may see, for a customer A may not: the name stays hidden.
    let customer_name: Option<String> = {
        let mut tx = begin_as(pool, &a).await.unwrap();
        sqlx::query_scalar("SELECT customer_name FROM ticket_summary WHERE id = $1")
            .bind(w.t_for_a)
            .fetch_one(&mut *tx)
            .await
            .unwrap()
    };
    assert_eq!(customer_name, None);

    // Counts in the summary views only count visible rows: B's internal
    // comment on the shared ticket counts for A; A's comments on t_a never
    // reach B because B cannot see t_a at all.
    let b_customer_stats: Value = scalar_as(pool, &b, "SELECT get_customer_stats()").await;
    assert_eq!(b_customer_stats["total"], 2);
    let a_customer_stats: Value = scalar_as(pool, &a, "SELECT get_customer_stats()").await;
    assert_eq!(a_customer_stats["total"], 1);
    assert_eq!(a_customer_stats["by_stage"]["lead"], 1);
    let admin_customer_stats: Value = scalar_as(pool, &admin, "SELECT get_customer_stats()").await;
    assert_eq!(admin_customer_stats["total"], 3);

    let b_ticket_stats: Value = scalar_as(pool, &b, "SELECT get_ticket_stats()").await;
    assert_eq!(b_ticket_stats["total"], 3);
    assert_eq!(b_ticket_stats["by_status"]["open"], 3);
    let dashboard: Value = scalar_as(pool, &b, "SELECT get_dashboard_data()").await;
    assert_eq!(dashboard["customers"]["total"], 2);
    assert_eq!(dashboard["tickets"]["total"], 3);
    assert_eq!(dashboard["follow_ups_next_7_days"], 1);
    // B is assigned_to of t_b and an assignee of t_shared.
    assert_eq!(dashboard["my_open_tickets"], 2);

    // The attachment path: for those who may see the ticket, and for nobody
    // else — not even its existence.
    let mut tx = begin_as(pool, &a).await.unwrap();
    let path: String = sqlx::query_scalar("SELECT get_ticket_attachment_url($1)")
        .bind(w.att_a)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(path, format!("ticket-attachments/{}/report.pdf", w.t_a));
    drop(tx);
    let mut tx = begin_as(pool, &b).await.unwrap();
    let err = sqlx::query_scalar::<_, String>("SELECT get_ticket_attachment_url($1)")
        .bind(w.att_a)
        .fetch_one(&mut *tx)
        .await
        .unwrap_err();
    assert_eq!(err.as_database_error().unwrap().code().unwrap(), "P0002");
}

#[tokio::test]
async fn colleagues_are_known_by_name_never_by_email() {
    let db = database().await;
    let pool = db.pool();
    let w = World::build(pool).await;
    let mut tx = begin_as(pool, &w.a()).await.unwrap();
    let rows: Vec<(Uuid, Option<String>, String)> =
        sqlx::query_as("SELECT id, full_name, role::text FROM get_colleagues()")
            .fetch_all(&mut *tx)
            .await
            .unwrap();
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().any(|(id, name, role)| *id == w.admin
        && name.as_deref() == Some("Ada Admin")
        && role == "admin"));
    let columns: Vec<String> = sqlx::query_scalar(
        "SELECT unnest(proargnames) FROM pg_proc WHERE proname = 'get_colleagues'",
    )
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    assert_eq!(columns, ["id", "full_name", "avatar_url", "role"]);
    // Signed out, the function knows nobody.
    drop(tx);
    let mut tx = pool.begin().await.unwrap();
    tx.execute("SET LOCAL ROLE authenticated").await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM get_colleagues()")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(n, 0);
}

async fn active_products(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM products WHERE is_active")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_fourth_active_product_is_refused() {
    let db = database().await;
    let pool = db.pool();
    let w = World::build(pool).await;
    assert_eq!(
        active_products(pool).await,
        2,
        "the seed has two active products"
    );
    commit_as(
        pool,
        &w.admin(),
        sqlx::query("INSERT INTO products (name) VALUES ('Third')"),
    )
    .await;
    let code = refused_code(
        pool,
        &w.admin(),
        sqlx::query("INSERT INTO products (name) VALUES ('Fourth')"),
    )
    .await;
    assert_eq!(code, "23514");
    // Re-activating a retired product counts too.
    let code = refused_code(
        pool,
        &w.admin(),
        sqlx::query("UPDATE products SET is_active = true WHERE name = 'Legacy Dispatch'"),
    )
    .await;
    assert_eq!(code, "23514");
    // Inactive products are unlimited, and swapping one out makes room.
    commit_as(
        pool,
        &w.admin(),
        sqlx::query("INSERT INTO products (name, is_active) VALUES ('Draft', false)"),
    )
    .await;
    commit_as(
        pool,
        &w.admin(),
        sqlx::query("UPDATE products SET is_active = false WHERE name = 'Third'"),
    )
    .await;
    commit_as(
        pool,
        &w.admin(),
        sqlx::query("UPDATE products SET is_active = true WHERE name = 'Draft'"),
    )
    .await;
    assert_eq!(active_products(pool).await, 3);
}

/// Two admins activate a third and a fourth product at the same moment: the
/// first to commit wins, the other must fail, at every isolation level.
async fn race_two_activations(isolation: &'static str) -> (Result<(), String>, Result<(), String>) {
    let db = database().await;
    let pool = db.pool().clone();
    let w = World::build(&pool).await;
    let begin = match isolation {
        "REPEATABLE READ" => "BEGIN ISOLATION LEVEL REPEATABLE READ",
        _ => "BEGIN ISOLATION LEVEL READ COMMITTED",
    };
    let claims = serde_json::to_string(&w.admin()).unwrap();
    let mut first = pool.begin_with(begin).await.unwrap();
    let mut second = pool.begin_with(begin).await.unwrap();
    for tx in [&mut first, &mut second] {
        sqlx::query("SELECT set_config('role', 'authenticated', true), set_config('request.jwt.claims', $1, true)")
            .bind(&claims)
            .execute(&mut **tx)
            .await
            .unwrap();
    }
    // Both transactions take their snapshot before either inserts.
    let _: i64 = sqlx::query_scalar("SELECT count(*) FROM products")
        .fetch_one(&mut *first)
        .await
        .unwrap();
    let _: i64 = sqlx::query_scalar("SELECT count(*) FROM products")
        .fetch_one(&mut *second)
        .await
        .unwrap();

    sqlx::query("INSERT INTO products (name) VALUES ('Third')")
        .execute(&mut *first)
        .await
        .unwrap();
    let racer = tokio::spawn(async move {
        let result = sqlx::query("INSERT INTO products (name) VALUES ('Fourth')")
            .execute(&mut *second)
            .await;
        match result {
            Ok(_) => second.commit().await.map_err(|e| e.to_string()),
            Err(e) => Err(e
                .as_database_error()
                .and_then(|d| d.code())
                .unwrap_or_default()
                .to_string()),
        }
    });
    // Give the second insert time to reach the guard and wait on it.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let first_result = first.commit().await.map_err(|e| e.to_string());
    let second_result = racer.await.unwrap();
    assert_eq!(
        active_products(&pool).await,
        3,
        "{isolation}: exactly three active products"
    );
    (first_result, second_result)
}

#[tokio::test]
async fn two_concurrent_activations_cannot_both_pass_the_limit() {
    let (first, second) = race_two_activations("READ COMMITTED").await;
    assert_eq!(first, Ok(()));
    assert_eq!(
        second,
        Err("23514".into()),
        "the late one sees the early one's product"
    );

    let (first, second) = race_two_activations("REPEATABLE READ").await;
    assert_eq!(first, Ok(()));
    assert_eq!(
        second,
        Err("40001".into()),
        "a stale snapshot is a serialization failure, not a pass"
    );
}

#[tokio::test]
async fn integration_tokens_reach_only_what_their_permissions_name() {
    let db = database().await;
    let pool = db.pool();
    let w = World::build(pool).await;
    // token_a: customers:read, tickets:read, comments:read.
    let via_token = Claims::integration(w.agent_a, w.token_a);

    assert_eq!(
        support::visible_ids(pool, &via_token, "customers").await,
        vec![w.cust_a]
    );
    assert_eq!(
        support::visible_ids(pool, &via_token, "customer_interactions").await,
        Vec::<Uuid>::new(),
        "no interactions:read"
    );
    assert_eq!(
        support::visible_ids(pool, &via_token, "tickets").await,
        sorted(vec![w.t_a, w.t_shared, w.t_for_a])
    );
    // Internal comments need their own explicit permission.
    assert_eq!(
        support::visible_ids(pool, &via_token, "ticket_comments").await,
        vec![w.comment_a_public]
    );
    assert_eq!(
        support::visible_ids(pool, &via_token, "audit_history").await,
        Vec::<Uuid>::new()
    );
    assert_eq!(
        support::visible_ids(pool, &via_token, "integration_tokens").await,
        Vec::<Uuid>::new()
    );
    // Reading is not writing.
    assert_eq!(
        attempt(
            pool,
            &via_token,
            sqlx::query("INSERT INTO customers (name) VALUES ('Via token')")
        )
        .await,
        Outcome::Refused("42501".into())
    );
    assert_eq!(
        attempt(
            pool,
            &via_token,
            sqlx::query("UPDATE customers SET name = 'x' WHERE id = $1").bind(w.cust_a)
        )
        .await,
        Outcome::Rows(0)
    );

    // Permissions are fixed when a token is made: another token, with
    // comments:internal, sees the internal comments too.
    let internal = Uuid::now_v7();
    commit_as(
        pool,
        &w.a(),
        sqlx::query("INSERT INTO integration_tokens (id, name, token_hash, permissions) VALUES ($1, 'internal', repeat('e', 64), '{comments:read,comments:internal,tickets:read}')")
            .bind(internal),
    )
    .await;
    assert!(
        attempt(
            pool,
            &w.a(),
            sqlx::query("UPDATE integration_tokens SET permissions = permissions || '{comments:internal}' WHERE id = $1")
                .bind(w.token_a)
        )
        .await
        .is_refused(),
        "a token's permissions never grow"
    );
    assert_eq!(
        support::visible_ids(
            pool,
            &Claims::integration(w.agent_a, internal),
            "ticket_comments"
        )
        .await,
        sorted(vec![
            w.comment_a_public,
            w.comment_a_internal,
            w.comment_b_shared_internal
        ])
    );

    // Somebody else's token, an expired one, a revoked one: nothing.
    let borrowed = Claims::integration(w.agent_a, w.token_b);
    assert_eq!(
        support::visible_ids(pool, &borrowed, "customers").await,
        Vec::<Uuid>::new()
    );
    // (Time passing: the expiry is moved into the past with the triggers
    // off, as no one may move it there.)
    let mut tx = pool.begin().await.unwrap();
    tx.execute("SET LOCAL session_replication_role = replica")
        .await
        .unwrap();
    sqlx::query(
        "UPDATE integration_tokens SET expires_at = now() - interval '1 minute' WHERE id = $1",
    )
    .bind(w.token_a)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        support::visible_ids(pool, &via_token, "customers").await,
        Vec::<Uuid>::new()
    );
    sqlx::query(
        "UPDATE integration_tokens SET expires_at = now() + interval '1 day', is_active = false WHERE id = $1",
    )
    .bind(w.token_a)
    .execute(pool)
    .await
    .unwrap_err();
    sqlx::query("UPDATE integration_tokens SET is_active = false WHERE id = $1")
        .bind(w.token_a)
        .execute(pool)
        .await
        .unwrap();
    assert_eq!(
        support::visible_ids(pool, &via_token, "customers").await,
        Vec::<Uuid>::new()
    );
}

#[tokio::test]
async fn stored_files_follow_ticket_access_and_the_bucket_rules() {
    let db = database().await;
    let pool = db.pool();
    let w = World::build(pool).await;
    let put = |ticket: Uuid, name: &str, size: i64, mime: &str| {
        sqlx::query("INSERT INTO storage.objects (bucket_id, name, size, mime_type) VALUES ('ticket-attachments', $1, $2, $3)")
            .bind(format!("{ticket}/{name}"))
            .bind(size)
            .bind(mime.to_owned())
    };
    // The world's attachments come with their objects: report.pdf on
    // t_a (agent A's), contract.pdf on t_admin.
    assert_eq!(
        attempt(pool, &w.a(), put(w.t_admin, "x.pdf", 1, "application/pdf")).await,
        Outcome::Refused("42501".into())
    );
    assert_eq!(
        attempt(
            pool,
            &w.a(),
            put(w.t_a, "big.pdf", 52_428_801, "application/pdf")
        )
        .await,
        Outcome::Refused("23514".into())
    );
    assert_eq!(
        attempt(pool, &w.a(), put(w.t_a, "page.html", 10, "text/html")).await,
        Outcome::Refused("23514".into())
    );
    assert_eq!(
        attempt(pool, &w.a(), put(w.t_a, "img.svg", 10, "image/svg+xml")).await,
        Outcome::Refused("23514".into())
    );
    for hostile in ["../../etc/passwd", "report.pdf", "not-a-uuid/report.pdf"] {
        let query = sqlx::query(
            "INSERT INTO storage.objects (bucket_id, name, size, mime_type) VALUES ('ticket-attachments', $1, 1, 'application/pdf')",
        )
        .bind(hostile);
        assert_eq!(
            attempt(pool, &w.a(), query).await,
            Outcome::Refused("23514".into()),
            "{hostile}"
        );
    }
    let nested = format!("{}/../{}/x.pdf", w.t_a, w.t_admin);
    let query = sqlx::query(
        "INSERT INTO storage.objects (bucket_id, name, size, mime_type) VALUES ('ticket-attachments', $1, 1, 'application/pdf')",
    )
    .bind(nested);
    assert!(attempt(pool, &w.a(), query).await.is_refused());

    let names_for = |claims: Claims| async move {
        scalars_as::<String>(pool, &claims, "SELECT name FROM storage.objects").await
    };
    assert_eq!(
        names_for(w.a()).await,
        vec![format!("{}/report.pdf", w.t_a)]
    );
    assert!(names_for(w.b()).await.is_empty());
    assert_eq!(names_for(w.admin()).await.len(), 2);
    assert_eq!(
        attempt(pool, &w.b(), sqlx::query("DELETE FROM storage.objects")).await,
        Outcome::Rows(0)
    );
    // The bucket itself is private and read-only to users.
    let public: bool = scalar_as(
        pool,
        &w.a(),
        "SELECT public FROM storage.buckets WHERE id = 'ticket-attachments'",
    )
    .await;
    assert!(!public);
    assert_eq!(
        attempt(
            pool,
            &w.admin(),
            sqlx::query("UPDATE storage.buckets SET public = true")
        )
        .await,
        Outcome::Refused("42501".into())
    );
}
