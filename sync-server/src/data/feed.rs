//! Reading for a principal: the rows they may see (a table in pages, or
//! named rows), how many, their checksums, and what changed between two
//! snapshots. Each function acts as it must (rows as the principal, under
//! row-level security; the change log as the service, since it only says
//! which rows to look at), so a caller cannot read a row with the wrong
//! rights. Paging, cursors and byte bounds are the sync protocol's
//! (`crate::sync::pull`).

use std::collections::BTreeMap;

use crm_domain::catalogue::TABLES;
use crm_domain::protocol::TableChecksum;
use serde_json::value::RawValue;
use uuid::Uuid;

use super::acting::{act_as, act_as_service};
use super::{Principal, Tx};
use crate::error::{ApiError, ApiResult};

/// A row as PostgreSQL's JSON text, passed through unparsed: parsing it
/// into a tree only to write it out again was most of a pull's cost.
pub type RawRow = Box<RawValue>;

/// Bounds every statement of the transaction to `millis` (a read past it
/// is cancelled, SQLSTATE 57014, answered as "try again later").
pub async fn bound_statements(tx: &mut Tx, millis: u32) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "SELECT set_config('statement_timeout', $1, true) AS set",
        millis.to_string()
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok(())
}

/// The current snapshot, the point a load or a feed page reads up to.
pub async fn snapshot(tx: &mut Tx) -> Result<String, sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT pg_current_snapshot()::text AS "snapshot!""#)
        .fetch_one(&mut **tx)
        .await
}

/// How many rows of `tables` the principal may see.
pub async fn visible_count(
    tx: &mut Tx,
    principal: &Principal,
    tables: impl IntoIterator<Item = &'static str>,
) -> ApiResult<u64> {
    act_as(&mut *tx, &principal.claims()).await?;
    let mut total = 0u64;
    for table in tables {
        let n = sqlx::query_scalar!(r#"SELECT sync.visible_count($1) AS "n!""#, table)
            .fetch_one(&mut **tx)
            .await?;
        total += u64::try_from(n).unwrap_or(0);
    }
    Ok(total)
}

/// Up to `limit` rows of `table` the principal may see, in id order, after
/// `after`.
pub async fn rows_page(
    tx: &mut Tx,
    principal: &Principal,
    table: &str,
    after: Option<Uuid>,
    limit: i32,
) -> ApiResult<Vec<(Uuid, RawRow)>> {
    act_as(&mut *tx, &principal.claims()).await?;
    let rows = sqlx::query!(
        r#"SELECT id AS "id!", row_data::text AS "row!" FROM sync.rows_page($1, $2, $3)"#,
        table,
        after,
        limit
    )
    .fetch_all(&mut **tx)
    .await?;
    rows.into_iter().map(|r| Ok((r.id, raw(r.row)?))).collect()
}

/// The rows of `table` among `ids` that the principal may see now.
pub async fn rows_by_id(
    tx: &mut Tx,
    principal: &Principal,
    table: &str,
    ids: &[Uuid],
) -> ApiResult<Vec<(Uuid, RawRow)>> {
    act_as(&mut *tx, &principal.claims()).await?;
    let rows = sqlx::query!(
        r#"SELECT id AS "id!", row_data::text AS "row!" FROM sync.rows_by_id($1, $2)"#,
        table,
        ids
    )
    .fetch_all(&mut **tx)
    .await?;
    rows.into_iter().map(|r| Ok((r.id, raw(r.row)?))).collect()
}

/// One entry of the change log: a row changed (`upsert`, `delete`,
/// `scope`), or a user's access changed wholesale (`reset`, with the user
/// as `row_id`).
pub struct LoggedChange {
    pub id: i64,
    pub table_name: String,
    pub row_id: Uuid,
    pub op: String,
}

/// The changes committed after snapshot `since` and visible in `until`, in
/// commit order, after log entry `after`: at most `limit`.
pub async fn changes_between(
    tx: &mut Tx,
    since: &str,
    until: &str,
    after: i64,
    limit: i32,
) -> Result<Vec<LoggedChange>, sqlx::Error> {
    act_as_service(&mut *tx).await?;
    sqlx::query_as!(
        LoggedChange,
        r#"SELECT id, table_name, row_id, op FROM sync.changes
           WHERE xid >= pg_snapshot_xmin($1::text::pg_snapshot)
             AND pg_visible_in_snapshot(xid, $2::text::pg_snapshot)
             AND NOT pg_visible_in_snapshot(xid, $1::text::pg_snapshot)
             AND id > $3
           ORDER BY id
           LIMIT $4 + 1"#,
        since,
        until,
        after,
        limit
    )
    .fetch_all(&mut **tx)
    .await
}

/// Whether the log a cursor taken at `since` would read from was pruned.
pub async fn cursor_expired(tx: &mut Tx, since: &str) -> Result<bool, sqlx::Error> {
    act_as_service(&mut *tx).await?;
    sqlx::query_scalar!(
        r#"SELECT sync.cursor_expired($1::text::pg_snapshot) AS "expired!""#,
        since
    )
    .fetch_one(&mut **tx)
    .await
}

/// Per table, what the principal's replica should hold.
pub async fn checksums(
    tx: &mut Tx,
    principal: &Principal,
) -> ApiResult<BTreeMap<String, TableChecksum>> {
    act_as(&mut *tx, &principal.claims()).await?;
    let mut sums = BTreeMap::new();
    for table in TABLES.map(|t| t.name) {
        let row = sqlx::query!(
            r#"SELECT row_count AS "count!", fingerprint_sum::text AS "sum!" FROM sync.checksum($1)"#,
            table
        )
        .fetch_one(&mut **tx)
        .await?;
        sums.insert(
            table.to_owned(),
            TableChecksum {
                count: row.count,
                sum: row.sum,
            },
        );
    }
    Ok(sums)
}

fn raw(json: String) -> ApiResult<RawRow> {
    RawValue::from_string(json).map_err(ApiError::internal)
}
