//! Field clocks (when, by the editor's clock, and by whom each field was
//! last set: the merge's memory) and recorded conflicts.

use chrono::{DateTime, Utc};
use crm_domain::protocol::Mutation;
use serde_json::Value;
use uuid::Uuid;

use super::acting::act_as_service;
use super::{Principal, Tx};

#[allow(clippy::too_many_arguments)]
pub(super) async fn record_conflict(
    tx: &mut Tx,
    m: &Mutation,
    client: Uuid,
    field: &str,
    kept: &Value,
    lost: &Value,
    kept_by: Option<Uuid>,
    lost_by: Option<Uuid>,
) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar!(
        "INSERT INTO sync.conflicts (table_name, row_id, field, kept_value, lost_value, kept_by, lost_by, client_id, client_seq)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        m.table.name(),
        m.row_id,
        field,
        kept,
        lost,
        kept_by,
        lost_by,
        client,
        m.seq
    )
    .fetch_one(&mut **tx)
    .await
}

/// Remembers when (by the editor's clock) and by whom these fields were last
/// set, for the next merge.
pub(super) async fn record_clock(
    tx: &mut Tx,
    principal: &Principal,
    client: Uuid,
    m: &Mutation,
    fields: &[&str],
    edited_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    act_as_service(&mut *tx).await?;
    let mut clocks = FieldClocks::default();
    clocks.add(m, fields.iter().copied(), edited_at);
    clocks.write(tx, principal, client).await
}

/// Field clocks to record, written in one statement. The one place that
/// says how a clock moves: never back in time.
#[derive(Default)]
struct FieldClocks {
    tables: Vec<String>,
    rows: Vec<Uuid>,
    fields: Vec<String>,
    edited_at: Vec<DateTime<Utc>>,
    seqs: Vec<i64>,
}

impl FieldClocks {
    fn add<'a>(
        &mut self,
        m: &Mutation,
        fields: impl IntoIterator<Item = &'a str>,
        edited_at: DateTime<Utc>,
    ) {
        for field in fields {
            self.tables.push(m.table.name().to_owned());
            self.rows.push(m.row_id);
            self.fields.push(field.to_owned());
            self.edited_at.push(edited_at);
            self.seqs.push(m.seq);
        }
    }

    /// Writes them, as `service_role` (the caller has switched).
    async fn write(
        self,
        tx: &mut Tx,
        principal: &Principal,
        client: Uuid,
    ) -> Result<(), sqlx::Error> {
        if self.tables.is_empty() {
            return Ok(());
        }
        // MERGE rather than INSERT ... ON CONFLICT: the same outcome (no
        // two writers reach one row's clocks at once: the row is locked
        // first), without a speculative insertion per row. A field's first
        // own clock starts no earlier than the insert's clock for it.
        sqlx::query!(
            "MERGE INTO sync.field_clock c
             USING (SELECT u.*, i.edited_at AS inserted_at
                    FROM unnest($1::text[], $2::uuid[], $3::text[], $4::timestamptz[], $5::bigint[]) AS u(t, r, f, e, s)
                    LEFT JOIN sync.field_clock i
                      ON i.table_name = u.t AND i.row_id = u.r AND i.field = '*' AND u.f = ANY (i.fields)) u
             ON c.table_name = u.t AND c.row_id = u.r AND c.field = u.f
             WHEN MATCHED THEN UPDATE
                 SET edited_at = GREATEST(c.edited_at, u.e), edited_by = $6, client_id = $7, client_seq = u.s
             WHEN NOT MATCHED THEN INSERT (table_name, row_id, field, edited_at, edited_by, client_id, client_seq)
                 VALUES (u.t, u.r, u.f, GREATEST(u.inserted_at, u.e), $6, $7, u.s)",
            &self.tables,
            &self.rows,
            &self.fields,
            &self.edited_at,
            &self.seqs,
            principal.user_id(),
            client
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}

/// The clocks of inserted rows: one per row, for the fields the insert set
/// (field `'*'`, see `..._insert_clocks.sql`), written in one statement.
#[derive(Default)]
pub(super) struct InsertClocks {
    tables: Vec<String>,
    rows: Vec<Uuid>,
    edited_at: Vec<DateTime<Utc>>,
    seqs: Vec<i64>,
    /// The fields, comma-separated (column names are checked identifiers).
    fields: Vec<String>,
}

impl InsertClocks {
    pub(super) fn add<'a>(&mut self, m: &Mutation, fields: impl IntoIterator<Item = &'a String>) {
        self.tables.push(m.table.name().to_owned());
        self.rows.push(m.row_id);
        // The agent's clock may run ahead; it must not win every merge for that.
        self.edited_at.push(m.edited_at.min(Utc::now()));
        self.seqs.push(m.seq);
        self.fields.push(
            fields
                .into_iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(","),
        );
    }

    /// Writes them, as `service_role` (the caller has switched). A row
    /// that somehow has one already (deleted outside sync, inserted again)
    /// gets this insert's.
    pub(super) async fn write(
        self,
        tx: &mut Tx,
        principal: &Principal,
        client: Uuid,
    ) -> Result<(), sqlx::Error> {
        if self.tables.is_empty() {
            return Ok(());
        }
        sqlx::query!(
            "MERGE INTO sync.field_clock c
             USING unnest($1::text[], $2::uuid[], $3::timestamptz[], $4::bigint[], $5::text[]) AS u(t, r, e, s, f)
             ON c.table_name = u.t AND c.row_id = u.r AND c.field = '*'
             WHEN MATCHED THEN UPDATE
                 SET edited_at = GREATEST(c.edited_at, u.e), edited_by = $6, client_id = $7, client_seq = u.s,
                     fields = string_to_array(u.f, ',')
             WHEN NOT MATCHED THEN INSERT (table_name, row_id, field, edited_at, edited_by, client_id, client_seq, fields)
                 VALUES (u.t, u.r, '*', u.e, $6, $7, u.s, string_to_array(u.f, ','))",
            &self.tables,
            &self.rows,
            &self.edited_at,
            &self.seqs,
            &self.fields,
            principal.user_id(),
            client
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}
