//! The replica's live schema, readable in one place: `schema/replica.sql`
//! is every table, index, view and trigger a fresh replica has after its
//! migrations (SQLite's own text of each), committed so a migration's
//! review shows its effect as a diff. Fails when the file is stale;
//! `scripts/sqlx-prepare` (or `CRM_WRITE_SCHEMA=1 cargo test -p
//! crm-desktop-core --test replica_schema`) writes it.
#![allow(clippy::unwrap_used)]

use std::path::Path;

#[test]
fn the_committed_replica_schema_is_what_the_migrations_make() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("replica.sqlite3");
    drop(crm_desktop_core::Store::open(&path, &crm_desktop_core::fixtures::test_key()).unwrap());
    let conn =
        crm_desktop_core::fixtures::side_connection(&path, &crm_desktop_core::fixtures::test_key());
    let mut stmt = conn
        .prepare(
            "SELECT sql FROM sqlite_master
             WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' AND name <> 'refinery_schema_history'
             ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 WHEN 'view' THEN 2 ELSE 3 END, name",
        )
        .unwrap();
    let mut schema = String::new();
    for sql in stmt.query_map([], |r| r.get::<_, String>(0)).unwrap() {
        schema.push_str(sql.unwrap().trim_end());
        schema.push_str(";\n\n");
    }
    assert!(schema.contains("CREATE TABLE customer_interactions"));
    crm_testkit::committed::check_or_write(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema/replica.sql"),
        &schema,
        "run scripts/sqlx-prepare (or CRM_WRITE_SCHEMA=1 cargo test -p crm-desktop-core --test replica_schema)",
    );
}
