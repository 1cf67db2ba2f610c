//! Invariants of the whole central schema, checked from PostgreSQL's catalog
//! so that every future migration is held to them too: RLS forced on every
//! table, a WITH CHECK on every UPDATE policy, views that run with the
//! caller's rights, pinned search_path on SECURITY DEFINER functions, no
//! function executable by PUBLIC, an index behind every foreign key, and the
//! same rules as the domain crate.
#![allow(clippy::unwrap_used)]

mod support;

use crm_domain::validation::{validate_customer_name, validate_email};
use crm_domain::{AcquisitionStage, InteractionChannel, TicketPriority, TicketStatus, UserRole};
use support::database;
use uuid::Uuid;

async fn names(pool: &sqlx::PgPool, sql: &'static str) -> Vec<String> {
    sqlx::query_scalar(sql).fetch_all(pool).await.unwrap()
}

#[tokio::test]
async fn every_table_has_row_level_security_enabled_and_forced() {
    let db = database().await;
    let unprotected = names(
        db.pool(),
        "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind = 'r' AND n.nspname IN ('public', 'auth', 'storage', 'crm_private', 'sync', 'api')
           AND c.relname <> '_sqlx_migrations'
           AND NOT (c.relrowsecurity AND c.relforcerowsecurity)",
    )
    .await;
    assert!(
        unprotected.is_empty(),
        "tables without forced RLS: {unprotected:?}"
    );
}

#[tokio::test]
async fn every_synced_table_is_logged_for_the_feed_and_audited() {
    let db = database().await;
    // The change log and the audit trail, for every operation: a table in
    // `sync.synced_tables` without them would sync wrongly or silently.
    // (The workflow history is written by the tickets' own audited
    // trigger, as a record of status moves: it is not audited again.)
    let missing = names(
        db.pool(),
        "SELECT s.name || ': ' || f.fn
         FROM sync.synced_tables s
         CROSS JOIN unnest(ARRAY['sync.log_change', 'sync.log_inserted_rows', 'sync.log_deleted_rows',
                                 'public.audit_updated_row', 'public.audit_inserted_rows',
                                 'public.audit_deleted_rows']) AS f(fn)
         WHERE s.relation::text NOT LIKE 'sync.%'
           AND NOT (s.name = 'ticket_workflow_history' AND f.fn LIKE 'public.audit%')
           AND NOT EXISTS (SELECT FROM pg_trigger t
                           WHERE t.tgrelid = s.relation AND NOT t.tgisinternal
                             AND t.tgfoid = (f.fn || '()')::regprocedure)
         ORDER BY 1",
    )
    .await;
    assert!(missing.is_empty(), "missing triggers: {missing:?}");
    let listed: i64 = sqlx::query_scalar("SELECT count(*) FROM sync.synced_tables")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(listed, 11, "the test saw the tables");
}

#[tokio::test]
async fn every_update_policy_has_a_with_check() {
    let db = database().await;
    let missing = names(
        db.pool(),
        "SELECT polname::text FROM pg_policy WHERE polcmd IN ('w', '*') AND polwithcheck IS NULL",
    )
    .await;
    assert!(
        missing.is_empty(),
        "UPDATE policies without WITH CHECK: {missing:?}"
    );
}

#[tokio::test]
async fn every_view_runs_with_the_callers_rights() {
    let db = database().await;
    let views = names(
        db.pool(),
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind = 'v' AND n.nspname = 'public'",
    )
    .await;
    assert_eq!(
        views,
        ["customer_summary", "ticket_summary", "user_workload"]
    );
    let definer_views = names(
        db.pool(),
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind = 'v' AND n.nspname IN ('public', 'auth', 'storage')
           AND NOT coalesce(c.reloptions @> ARRAY['security_invoker=true'], false)",
    )
    .await;
    assert!(
        definer_views.is_empty(),
        "views running with their owner's rights: {definer_views:?}"
    );
}

#[tokio::test]
async fn security_definer_functions_pin_their_search_path() {
    let db = database().await;
    let unpinned = names(
        db.pool(),
        "SELECT p.proname::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname IN ('public', 'auth', 'storage', 'crm_private', 'sync') AND p.prosecdef
           AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%')",
    )
    .await;
    assert!(
        unpinned.is_empty(),
        "SECURITY DEFINER functions without a pinned search_path: {unpinned:?}"
    );
}

#[tokio::test]
async fn no_function_is_executable_by_public() {
    let db = database().await;
    let open = names(
        db.pool(),
        "SELECT n.nspname || '.' || p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname IN ('public', 'auth', 'storage', 'crm_private', 'sync')
           AND (p.proacl IS NULL
                OR EXISTS (SELECT 1 FROM aclexplode(p.proacl) a WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE'))",
    )
    .await;
    assert!(open.is_empty(), "functions anyone may call: {open:?}");
}

#[tokio::test]
async fn every_foreign_key_is_backed_by_an_index() {
    let db = database().await;
    let unindexed = names(
        db.pool(),
        "SELECT c.conrelid::regclass::text || '(' || a.attname || ')'
         FROM pg_constraint c
         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
         WHERE c.contype = 'f'
           AND NOT EXISTS (SELECT 1 FROM pg_index i
                           WHERE i.indrelid = c.conrelid AND i.indkey[0] = c.conkey[1])",
    )
    .await;
    assert!(
        unindexed.is_empty(),
        "foreign keys without an index: {unindexed:?}"
    );
}

async fn enum_labels(pool: &sqlx::PgPool, name: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT e.enumlabel::text FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid
         WHERE t.typname = $1 ORDER BY e.enumsortorder",
    )
    .bind(name)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn database_enums_are_the_domain_enums_in_the_same_order() {
    let db = database().await;
    let pool = db.pool();
    assert_eq!(
        enum_labels(pool, "ticket_priority").await,
        TicketPriority::WIRE_NAMES
    );
    assert_eq!(
        enum_labels(pool, "ticket_status").await,
        TicketStatus::WIRE_NAMES
    );
    assert_eq!(
        enum_labels(pool, "acquisition_stage_enum").await,
        AcquisitionStage::WIRE_NAMES
    );
    assert_eq!(
        enum_labels(pool, "interaction_channel").await,
        InteractionChannel::WIRE_NAMES
    );
    assert_eq!(enum_labels(pool, "user_role").await, UserRole::WIRE_NAMES);
    let stages: Vec<String> =
        sqlx::query_scalar("SELECT name::text FROM acquisition_stages ORDER BY order_index")
            .fetch_all(pool)
            .await
            .unwrap();
    assert_eq!(
        stages,
        AcquisitionStage::WIRE_NAMES,
        "the six stages, seeded in order"
    );
}

#[tokio::test]
async fn database_text_rules_agree_with_the_domain_validation() {
    let db = database().await;
    let pool = db.pool();
    let emails = [
        "a@b.c",
        "ana@field.test",
        "a@b",
        "@b.c",
        "a@@b.c",
        "a b@c.d",
        "a@b.",
        "a@.c",
        "a@b..c",
        "ana\u{a0}x@b.c",
        "ana@b.c\t",
        "ünï@cödé.de",
        "",
        "x@y.z.",
        &format!("{}@b.c", "a".repeat(250)),
    ];
    for email in emails {
        let sql: bool = sqlx::query_scalar("SELECT public.is_valid_email($1)")
            .bind(email)
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(sql, validate_email(email).is_ok(), "email {email:?}");
    }
    let names = [
        "Acme", "", " ", "\t\n", "\u{a0}", "\u{3000}", " x ", "\u{200b}",
    ];
    for name in names {
        let blank: bool = sqlx::query_scalar("SELECT public.is_blank($1)")
            .bind(name)
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(
            !blank,
            validate_customer_name(name).is_ok(),
            "name {name:?}"
        );
    }
}

#[tokio::test]
async fn ids_default_to_uuid_v7_and_client_ids_are_kept() {
    let db = database().await;
    let pool = db.pool();
    let generated: Uuid = sqlx::query_scalar(
        "INSERT INTO products (name, is_active) VALUES ('x', false) RETURNING id",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(generated.get_version_num(), 7);
    let later: Uuid = sqlx::query_scalar("SELECT public.uuid_generate_v7()")
        .fetch_one(pool)
        .await
        .unwrap();
    assert!(later > generated, "v7 ids sort by creation time");
    for client_id in [Uuid::now_v7(), Uuid::new_v4()] {
        let kept: Uuid = sqlx::query_scalar(
            "INSERT INTO products (id, name, is_active) VALUES ($1, 'y', false) RETURNING id",
        )
        .bind(client_id)
        .fetch_one(pool)
        .await
        .unwrap();
        assert_eq!(kept, client_id);
    }
}

/// What a schema consists of, as text: tables and columns with types,
/// policies with their expressions, functions, triggers, views, enums,
/// indexes. Two databases with equal fingerprints have the same schema.
const FINGERPRINT: &str = "
SELECT string_agg(line, E'\\n' ORDER BY line) FROM (
    SELECT 'col ' || table_schema || '.' || table_name || '.' || column_name || ' ' || data_type
           || ' ' || is_nullable || ' ' || coalesce(column_default, '') AS line
      FROM information_schema.columns WHERE table_schema IN ('public', 'auth', 'storage', 'crm_private', 'sync')
       AND table_name <> '_sqlx_migrations'
    UNION ALL
    SELECT 'policy ' || schemaname || '.' || tablename || '.' || policyname || ' ' || cmd || ' '
           || coalesce(qual, '') || ' / ' || coalesce(with_check, '') FROM pg_policies
    UNION ALL
    SELECT 'fn ' || n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ') '
           || md5(p.prosrc) || ' ' || coalesce(p.proacl::text, '') FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname IN ('public', 'auth', 'storage', 'crm_private', 'sync')
    UNION ALL
    SELECT 'trigger ' || tgrelid::regclass::text || '.' || tgname FROM pg_trigger WHERE NOT tgisinternal
    UNION ALL
    SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname IN ('public', 'auth', 'storage', 'crm_private', 'sync')
       AND tablename <> '_sqlx_migrations'
    UNION ALL
    SELECT 'view ' || viewname || ' ' || md5(definition) FROM pg_views WHERE schemaname = 'public'
    UNION ALL
    SELECT 'enum ' || t.typname || '.' || e.enumlabel || ' ' || e.enumsortorder
      FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid
    UNION ALL
    SELECT 'acl ' || c.oid::regclass::text || ' ' || coalesce(c.relacl::text, '') FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname IN ('public', 'auth', 'storage') AND c.relkind IN ('r', 'v') AND c.relname <> '_sqlx_migrations'
) lines";

#[tokio::test]
async fn migrations_apply_with_plain_psql_in_order_and_give_the_same_schema() {
    let migrated = database().await;
    let plain = crm_testkit::TestDatabase::empty().await;
    let mut files: Vec<_> = std::fs::read_dir(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../migrations/postgres"
    ))
    .unwrap()
    .map(|e| e.unwrap().path())
    .filter(|p| p.extension().is_some_and(|e| e == "sql"))
    .collect();
    files.sort();
    assert_eq!(files.len(), sync_server::db::MIGRATOR.iter().count());
    for file in &files {
        let out = std::process::Command::new("psql")
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", plain.url(), "-f"])
            .arg(file)
            .output()
            .expect("psql runs (Debian/Ubuntu: apt-get install postgresql-client)");
        assert!(
            out.status.success(),
            "psql -f {} failed:\n{}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let a: String = sqlx::query_scalar(FINGERPRINT)
        .fetch_one(migrated.pool())
        .await
        .unwrap();
    let b: String = sqlx::query_scalar(FINGERPRINT)
        .fetch_one(plain.pool())
        .await
        .unwrap();
    assert!(a.lines().count() > 300, "the fingerprint covers the schema");
    let only_a: Vec<&str> = a.lines().filter(|l| !b.contains(l)).collect();
    let only_b: Vec<&str> = b.lines().filter(|l| !a.contains(l)).collect();
    assert!(
        only_a.is_empty() && only_b.is_empty(),
        "sqlx: {only_a:#?}\npsql: {only_b:#?}"
    );
}

/// The catalogue lists each enum column's values (the API documents and
/// checks filters with them); they are PostgreSQL's labels, in order, and
/// every enum column of a synced table has them.
#[tokio::test]
async fn the_catalogue_s_enum_values_are_postgresql_s() {
    let db = database().await;
    for table in crm_domain::catalogue::TABLES {
        let enums: Vec<(String, Vec<String>)> = sqlx::query_as(
            "SELECT a.attname::text, array_agg(e.enumlabel::text ORDER BY e.enumsortorder)
             FROM sync.synced_tables s
             JOIN pg_attribute a ON a.attrelid = s.relation AND a.attnum > 0 AND NOT a.attisdropped
             JOIN pg_enum e ON e.enumtypid = a.atttypid
             WHERE s.name = $1
             GROUP BY a.attname ORDER BY a.attname",
        )
        .bind(table.name)
        .fetch_all(db.pool())
        .await
        .unwrap();
        let mut listed: Vec<(String, Vec<String>)> = table
            .columns
            .iter()
            .filter_map(|c| {
                c.values.map(|v| {
                    (
                        c.name.to_owned(),
                        v.iter().map(|s| (*s).to_owned()).collect(),
                    )
                })
            })
            .collect();
        listed.sort();
        for (column, labels) in &enums {
            let ours = listed.iter().find(|(c, _)| c == column);
            assert_eq!(
                ours.map(|(_, v)| v),
                Some(labels),
                "{}.{column}",
                table.name
            );
        }
        // A text column the catalogue lists values for has a CHECK that
        // names them all.
        for (column, values) in listed
            .iter()
            .filter(|(c, _)| !enums.iter().any(|(e, _)| e == c))
        {
            let checks: Vec<String> = sqlx::query_scalar(
                "SELECT pg_get_constraintdef(k.oid) FROM sync.synced_tables s
                 JOIN pg_constraint k ON k.conrelid = s.relation AND k.contype = 'c'
                 JOIN pg_attribute a ON a.attrelid = s.relation AND a.attnum = ANY (k.conkey)
                 WHERE s.name = $1 AND a.attname = $2",
            )
            .bind(table.name)
            .bind(column)
            .fetch_all(db.pool())
            .await
            .unwrap();
            assert!(
                checks
                    .iter()
                    .any(|c| values.iter().all(|v| c.contains(&format!("'{v}'")))),
                "{}.{column}: {checks:?}",
                table.name
            );
        }
    }
}

/// The webhook events the database records and accepts are the domain's.
#[tokio::test]
async fn webhook_event_types_are_the_domain_s() {
    let db = database().await;
    let check: String = sqlx::query_scalar(
        "SELECT pg_get_constraintdef(k.oid) FROM pg_constraint k
         WHERE k.conrelid = 'public.webhook_subscriptions'::regclass AND k.contype = 'c'
           AND pg_get_constraintdef(k.oid) LIKE '%event_types%'",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    let listed: Vec<&str> = check
        .split('\'')
        .filter(|part| part.contains('.') && !part.contains(' '))
        .collect();
    assert_eq!(listed, crm_domain::webhooks::WebhookEvent::WIRE_NAMES);
}
