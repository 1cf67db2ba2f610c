//! The live schema, readable in one place: `schema/postgres.sql` is
//! pg_dump's view of a database with every migration applied, normalised
//! (no comments, no session settings), committed beside the migrations so a
//! migration's review shows its effect as a diff, and a function's current
//! definition can be read without replaying the migrations in one's head.
//! This test fails when the file is stale; `scripts/sqlx-prepare` (or
//! `CRM_WRITE_SCHEMA=1 cargo test -p sync-server --test schema_dump`)
//! writes it.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};

use std::process::Command;

/// pg_dump from PATH, else from the newest installed PostgreSQL.
fn pg_dump() -> PathBuf {
    if Command::new("pg_dump").arg("--version").output().is_ok() {
        return PathBuf::from("pg_dump");
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin/pg_dump"))
        .filter(|p| p.exists())
        .collect();
    found.sort();
    found
        .pop()
        .expect("pg_dump (Debian/Ubuntu: apt-get install postgresql-client)")
}

/// What the schema is, without what varies between dumps of the same
/// schema: comments (they carry the server's version), session settings,
/// pg_dump's per-run `\restrict` keys, and runs of blank lines.
fn normalise(dump: &str) -> String {
    let mut out = String::new();
    let mut blank = true;
    for line in dump.lines() {
        let skip = line.starts_with("--")
            || line.starts_with("SET ")
            || line.starts_with("SELECT pg_catalog.set_config('search_path'")
            || line.starts_with("\\restrict")
            || line.starts_with("\\unrestrict");
        if skip {
            continue;
        }
        if line.trim().is_empty() {
            if !blank {
                out.push('\n');
            }
            blank = true;
            continue;
        }
        out.push_str(line.trim_end());
        out.push('\n');
        blank = false;
    }
    out
}

#[tokio::test]
async fn the_committed_schema_dump_is_what_the_migrations_make() {
    let db = support::database().await;
    let out = Command::new(pg_dump())
        .args([
            "--schema-only",
            "--no-owner",
            "--exclude-table=public._sqlx_migrations",
            "--dbname",
            db.url(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pg_dump failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dump = normalise(&String::from_utf8(out.stdout).unwrap());
    assert!(
        dump.contains("CREATE FUNCTION sync.apply_run(p_groups jsonb)"),
        "the dump holds the schema's functions"
    );
    crm_testkit::committed::check_or_write(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema/postgres.sql"),
        &dump,
        "run scripts/sqlx-prepare (or CRM_WRITE_SCHEMA=1 cargo test -p sync-server --test schema_dump)",
    );
}

#[test]
fn normalising_drops_what_varies_between_dumps() {
    let dump = "--\n-- Dumped from database version 15.18\n--\n\\restrict abc123\nSET statement_timeout = 0;\nSELECT pg_catalog.set_config('search_path', '', false);\n\n\nCREATE TABLE t (\n    id uuid\n);\n\n\n\\unrestrict abc123\n";
    assert_eq!(normalise(dump), "CREATE TABLE t (\n    id uuid\n);\n\n");
}
