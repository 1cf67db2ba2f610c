//! The replicated tables' shapes, and rows moved between JSON (the wire,
//! the protocol's values) and SQLite. One definition serves the pull (server
//! rows in), local changes (the user's values in) and reading rows back (the
//! `base` of an update, entities for the UI).

use std::sync::{LazyLock, OnceLock};

use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Map, Value};
use uuid::Uuid;

use crm_domain::catalogue;
use crm_domain::protocol::SyncTable;

use crate::error::{CoreError, CoreResult};

/// How a column's JSON value is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Strings: uuids, enums, timestamps (as the server spelled them).
    Text,
    Int,
    /// JSON true/false as 1/0.
    Bool,
    /// Any JSON, kept as its text.
    Json,
}

pub(crate) struct TableDef {
    pub name: &'static str,
    pub columns: Box<[(&'static str, Kind)]>,
    /// The upsert statement's text, made once (a pull runs it per row).
    upsert: OnceLock<String>,
}

impl Kind {
    /// How SQLite keeps a column of the catalogue's kind: uuids and
    /// timestamps as the server spelled them.
    fn of(kind: catalogue::Kind) -> Kind {
        match kind {
            catalogue::Kind::Uuid | catalogue::Kind::Text | catalogue::Kind::Timestamp => {
                Kind::Text
            }
            catalogue::Kind::Int => Kind::Int,
            catalogue::Kind::Bool => Kind::Bool,
            catalogue::Kind::Json => Kind::Json,
        }
    }
}

/// Every table the pull fills, in the catalogue's order, with the
/// catalogue's columns (the replica's migrations create them; a parity test
/// holds the two together).
static TABLES: LazyLock<Vec<TableDef>> = LazyLock::new(|| {
    catalogue::TABLES
        .iter()
        .map(|t| TableDef {
            name: t.name,
            columns: t
                .columns
                .iter()
                .map(|c| (c.name, Kind::of(c.kind)))
                .collect(),
            upsert: OnceLock::new(),
        })
        .collect()
});

/// Every replicated table's definition, parents first.
pub(crate) fn tables() -> &'static [TableDef] {
    &TABLES
}

/// The definition of a replicated table, or `None` for a name the replica
/// does not keep (a newer server's table: ignored, not an error).
pub(crate) fn table(name: &str) -> Option<&'static TableDef> {
    TABLES.iter().find(|t| t.name == name)
}

/// The replica's definition of a catalogued table.
pub(crate) fn def(table: &'static catalogue::Table) -> &'static TableDef {
    // `TABLES` is made from the catalogue, in its order, so the table is
    // there and at the same place.
    let at = catalogue::TABLES
        .iter()
        .position(|t| std::ptr::eq(*t, table))
        .unwrap_or_default();
    &TABLES[at]
}

/// The replica's definition of a table clients write.
pub(crate) fn synced(table: SyncTable) -> &'static TableDef {
    def(table.def())
}

impl TableDef {
    pub fn kind(&self, column: &str) -> Option<Kind> {
        self.columns
            .iter()
            .find(|(name, _)| *name == column)
            .map(|(_, kind)| *kind)
    }

    fn upsert_sql(&self) -> &str {
        self.upsert.get_or_init(|| self.make_upsert_sql())
    }

    fn make_upsert_sql(&self) -> String {
        let names: Vec<&str> = self.columns.iter().map(|(n, _)| *n).collect();
        let placeholders: Vec<String> = (1..=names.len()).map(|i| format!("?{i}")).collect();
        let updates: Vec<String> = names
            .iter()
            .skip(1)
            .map(|n| format!("{n} = excluded.{n}"))
            .collect();
        format!(
            "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT (id) DO UPDATE SET {}",
            self.name,
            names.join(", "),
            placeholders.join(", "),
            updates.join(", ")
        )
    }

    fn select_sql(&self) -> String {
        let names: Vec<&str> = self.columns.iter().map(|(n, _)| *n).collect();
        format!(
            "SELECT {} FROM {} WHERE id = ?1",
            names.join(", "),
            self.name
        )
    }
}

/// A JSON value as SQLite stores it in a column of `kind`.
pub(crate) fn to_sql(kind: Kind, value: &Value) -> SqlValue {
    match (kind, value) {
        (_, Value::Null) => SqlValue::Null,
        (Kind::Json, v) => SqlValue::Text(v.to_string()),
        (_, Value::String(s)) => SqlValue::Text(s.clone()),
        (_, Value::Bool(b)) => SqlValue::Integer(i64::from(*b)),
        (_, Value::Number(n)) => match n.as_i64() {
            Some(i) => SqlValue::Integer(i),
            None => SqlValue::Real(n.as_f64().unwrap_or_default()),
        },
        (_, other) => SqlValue::Text(other.to_string()),
    }
}

/// A stored column back as JSON, as the server would send it.
pub(crate) fn to_json(kind: Kind, value: ValueRef<'_>) -> Value {
    match (kind, value) {
        (_, ValueRef::Null) => Value::Null,
        (Kind::Bool, ValueRef::Integer(i)) => Value::Bool(i != 0),
        (Kind::Json, ValueRef::Text(t)) => serde_json::from_slice(t).unwrap_or(Value::Null),
        (_, ValueRef::Integer(i)) => Value::from(i),
        (_, ValueRef::Real(f)) => Value::from(f),
        (_, ValueRef::Text(t)) => Value::String(String::from_utf8_lossy(t).into_owned()),
        (_, ValueRef::Blob(_)) => Value::Null,
    }
}

/// Inserts or replaces a whole row; columns the row lacks become NULL,
/// fields the replica does not know are ignored.
pub(crate) fn upsert(
    conn: &Connection,
    def: &TableDef,
    row: &Map<String, Value>,
) -> CoreResult<()> {
    let mut stmt = conn.prepare_cached(def.upsert_sql())?;
    let values: Vec<SqlValue> = def
        .columns
        .iter()
        .map(|(name, kind)| row.get(*name).map_or(SqlValue::Null, |v| to_sql(*kind, v)))
        .collect();
    if matches!(values.first(), None | Some(SqlValue::Null)) {
        return Err(CoreError::Malformed(format!(
            "a {} row without an id",
            def.name
        )));
    }
    stmt.execute(rusqlite::params_from_iter(values))?;
    Ok(())
}

/// Changes some columns of a row; returns whether the row exists.
pub(crate) fn update(
    conn: &Connection,
    def: &TableDef,
    id: Uuid,
    fields: &Map<String, Value>,
) -> CoreResult<bool> {
    let mut sets = Vec::new();
    let mut values = Vec::new();
    for (name, kind) in def.columns.iter().filter(|(n, _)| *n != "id") {
        if let Some(v) = fields.get(*name) {
            values.push(to_sql(*kind, v));
            sets.push(format!("{name} = ?{}", values.len()));
        }
    }
    if sets.is_empty() {
        return exists(conn, def, id);
    }
    values.push(SqlValue::Text(id.to_string()));
    let sql = format!(
        "UPDATE {} SET {} WHERE id = ?{}",
        def.name,
        sets.join(", "),
        values.len()
    );
    let n = conn
        .prepare_cached(&sql)?
        .execute(rusqlite::params_from_iter(values))?;
    Ok(n > 0)
}

pub(crate) fn delete(conn: &Connection, def: &TableDef, id: Uuid) -> CoreResult<bool> {
    let sql = format!("DELETE FROM {} WHERE id = ?1", def.name);
    Ok(conn
        .prepare_cached(&sql)?
        .execute(params![id.to_string()])?
        > 0)
}

pub(crate) fn exists(conn: &Connection, def: &TableDef, id: Uuid) -> CoreResult<bool> {
    let sql = format!("SELECT 1 FROM {} WHERE id = ?1", def.name);
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(params![id.to_string()], |_| Ok(()))
        .optional()?
        .is_some())
}

/// A row as JSON, or `None` if the replica does not hold it.
pub(crate) fn read(
    conn: &Connection,
    def: &TableDef,
    id: Uuid,
) -> CoreResult<Option<Map<String, Value>>> {
    let mut stmt = conn.prepare_cached(&def.select_sql())?;
    let row = stmt
        .query_row(params![id.to_string()], |r| row_to_json(def, r))
        .optional()?;
    Ok(row)
}

/// The current row of a query selecting all of `def`'s columns, in order.
pub(crate) fn row_to_json(
    def: &TableDef,
    r: &rusqlite::Row<'_>,
) -> rusqlite::Result<Map<String, Value>> {
    let mut map = Map::with_capacity(def.columns.len());
    for (i, (name, kind)) in def.columns.iter().enumerate() {
        map.insert((*name).to_string(), to_json(*kind, r.get_ref(i)?));
    }
    Ok(map)
}

/// Reads rows of `def` picked by a `WHERE ...` clause (static SQL text from
/// this crate, never user input; values go through `params`).
pub(crate) fn read_where<T: serde::de::DeserializeOwned>(
    conn: &Connection,
    def: &TableDef,
    clause: &str,
    params: impl rusqlite::Params,
) -> CoreResult<Vec<T>> {
    let names: Vec<&str> = def.columns.iter().map(|(n, _)| *n).collect();
    let sql = format!("SELECT {} FROM {} {clause}", names.join(", "), def.name);
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params, |r| row_to_json(def, r))?;
    let mut out = Vec::new();
    for row in rows {
        out.push(serde_json::from_value(Value::Object(row?))?);
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_through_sqlite_kinds() {
        for (kind, value) in [
            (Kind::Text, Value::from("2026-11-25T03:21:39.123456+00:00")),
            (Kind::Int, Value::from(42)),
            (Kind::Bool, Value::Bool(true)),
            (Kind::Bool, Value::Bool(false)),
            (Kind::Json, serde_json::json!({"a": [1, "b"]})),
            (Kind::Text, Value::Null),
        ] {
            let stored = to_sql(kind, &value);
            assert_eq!(to_json(kind, ValueRef::from(&stored)), value, "{kind:?}");
        }
    }

    #[test]
    fn every_table_has_id_first() {
        for def in tables() {
            assert_eq!(def.columns[0], ("id", Kind::Text), "{}", def.name);
        }
    }

    #[test]
    fn every_synced_table_is_found_by_its_protocol_name() {
        for table in SyncTable::ALL {
            assert_eq!(synced(table).name, table.name());
        }
    }
}
