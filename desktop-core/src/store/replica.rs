//! Taking in what the server sends: pull pages, resets, checksums, and
//! colleagues' names.
//!
//! A page is applied in one transaction together with its cursor, so an
//! interrupted page leaves nothing behind and the next pull asks for it
//! again. Rows with unsent work get the server's version as their base and
//! are rebuilt with the pending mutations on top (see [`super::outbox`]).

use std::collections::BTreeMap;

use crm_domain::entities::Colleague;
use crm_domain::protocol::{Change, Progress, PullResponse, TableChecksum, fingerprint};
use rusqlite::params;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::outbox::{has_base, note_settled_seq, rebuild_row, set_base};
use super::rows;
use super::{Store, get_state, set_state};
use crate::error::CoreResult;

/// What one applied page did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageApplied {
    pub upserts: usize,
    pub removes: usize,
    /// The server asked for a fresh load; the replica was emptied (the
    /// outbox kept) and the next pull starts without a cursor.
    pub reset: bool,
    pub has_more: bool,
    pub progress: Option<Progress>,
}

impl Store {
    /// The cursor to send with the next pull (none: load from scratch).
    pub fn cursor(&self) -> CoreResult<Option<String>> {
        self.state("cursor")
    }

    /// The columns the replica has for `table` (none for a table it lacks),
    /// for checking it against the server's schema.
    pub fn column_names(&self, table: &str) -> CoreResult<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")?;
        let names = stmt
            .query_map(params![table], |r| r.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        Ok(names)
    }

    /// Whether the first load has finished at least once.
    pub fn has_loaded(&self) -> CoreResult<bool> {
        Ok(self.state("loaded")?.is_some())
    }

    /// Whether a first load is under way: pages have arrived, not all yet.
    /// What the replica holds meanwhile is part of the truth (the reminders
    /// wait for the rest).
    pub fn is_first_loading(&self) -> CoreResult<bool> {
        Ok(!self.has_loaded()? && self.cursor()?.is_some())
    }

    /// Applies one pull page, all or nothing.
    pub fn apply_pull(&mut self, page: &PullResponse) -> CoreResult<PageApplied> {
        let me = self.me()?;
        // During a load from scratch a page need not survive a power cut:
        // its cursor commits with it, so a lost page is fetched again. FULL
        // comes back right after, before any user action can commit.
        let bulk = get_state(&self.conn, DEFERRED_INDEXES)?.is_some()
            || get_state(&self.conn, "cursor")?.is_none();
        if bulk {
            self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        }
        let applied = self.apply_page(&me, page);
        if bulk {
            self.conn.pragma_update(None, "synchronous", "FULL")?;
        }
        applied
    }

    fn apply_page(&mut self, me: &super::Me, page: &PullResponse) -> CoreResult<PageApplied> {
        let me = *me;
        let tx = self.conn.transaction()?;
        if page.reset {
            clear_replica(&tx, &me)?;
            tx.commit()?;
            return Ok(PageApplied {
                reset: true,
                has_more: true,
                ..PageApplied::default()
            });
        }
        let mut applied = PageApplied {
            has_more: page.has_more,
            progress: page.progress,
            ..PageApplied::default()
        };
        note_settled_seq(&tx, page.last_seq)?;
        if get_state(&tx, "cursor")?.is_none() {
            // A load from scratch: index once, at its end, for search and
            // for the lists.
            set_state(&tx, SEARCH_PAUSED, "1")?;
            defer_indexes(&tx)?;
        }
        // The tables being sent whole again, if a refetch runs.
        let refetching: Vec<String> = get_state(&tx, REFETCHING)?
            .map(|names| serde_json::from_str(&names))
            .transpose()?
            .unwrap_or_default();
        // Most pages touch no row with unsent work: ask once, not per row.
        let any_pending: bool =
            tx.query_row("SELECT EXISTS (SELECT 1 FROM outbox_base)", [], |r| {
                r.get(0)
            })?;
        for change in &page.changes {
            match change {
                Change::Upsert { table, row } => {
                    let Some(def) = rows::table(table) else {
                        continue;
                    };
                    let map: Map<String, Value> = serde_json::from_str(row.get())?;
                    let id = map.get("id").and_then(Value::as_str).unwrap_or_default();
                    if refetching.iter().any(|t| t == def.name) {
                        tx.execute(
                            "INSERT OR IGNORE INTO refetch_seen (table_name, row_id) VALUES (?1, ?2)",
                            params![def.name, id],
                        )?;
                    }
                    if any_pending && has_base(&tx, table, id)? {
                        set_base(&tx, table, id, Some(row.get()))?;
                        if let Ok(row_id) = id.parse::<Uuid>() {
                            rebuild_row(&tx, &me, table, row_id)?;
                        }
                    } else {
                        rows::upsert(&tx, def, &map)?;
                    }
                    applied.upserts += 1;
                }
                Change::Remove { table, row_id } => {
                    let Some(def) = rows::table(table) else {
                        continue;
                    };
                    let id = row_id.to_string();
                    if any_pending && has_base(&tx, table, &id)? {
                        set_base(&tx, table, &id, None)?;
                        rebuild_row(&tx, &me, table, *row_id)?;
                    } else {
                        rows::delete(&tx, def, *row_id)?;
                    }
                    applied.removes += 1;
                }
            }
        }
        set_state(&tx, "cursor", &page.cursor)?;
        // Committed with the rows: how far the first load got.
        if let Some(progress) = page.progress {
            set_state(&tx, "load_done", &progress.done.to_string())?;
            set_state(&tx, "load_total", &progress.total.to_string())?;
        }
        // Index as soon as every row of the load is in, not when the pull
        // reaches the present: the engine has already asked for the next
        // page, so the server works out the catch-up (and its checksums)
        // while this builds. If rows were added during the load, `done`
        // reaches `total` early and the rest is indexed row by row: slower,
        // never wrong.
        let rows_loaded = page.progress.is_some_and(|p| p.done >= p.total);
        if rows_loaded || !page.has_more {
            restore_indexes(&tx)?;
            if get_state(&tx, SEARCH_PAUSED)?.is_some() {
                rebuild_search(&tx)?;
            }
        }
        if !page.has_more && !refetching.is_empty() {
            end_refetch(&tx, &me, &refetching)?;
        }
        if !page.has_more {
            set_state(&tx, "loaded", "1")?;
            set_state(&tx, "last_pull_at", &super::timestamp(chrono::Utc::now()))?;
        }
        tx.commit()?;
        Ok(applied)
    }

    /// Per table, what this replica holds, computed as the server does, for
    /// comparison with a pull's `checksums`. Rows with unsent work count as
    /// their server state.
    pub fn checksums(&self) -> CoreResult<BTreeMap<String, TableChecksum>> {
        let mut out = BTreeMap::new();
        for def in rows::tables() {
            let has_updated_at = def.kind("updated_at").is_some();
            let sql = if has_updated_at {
                format!("SELECT id, updated_at FROM {}", def.name)
            } else {
                format!("SELECT id, NULL FROM {}", def.name)
            };
            let mut stmt = self.conn.prepare(&sql)?;
            // Borrowed straight from SQLite's row buffer: no copy per row.
            let fingerprints = stmt
                .query_map([], |row| {
                    let id = row.get_ref(0)?.as_str()?;
                    let updated_at = row.get_ref(1)?.as_str_or_null()?.unwrap_or("");
                    Ok(fingerprint(id, updated_at))
                })?
                .collect::<Result<Vec<u64>, _>>()?;
            out.insert(
                def.name.to_string(),
                TableChecksum::of_fingerprints(fingerprints),
            );
        }
        Ok(out)
    }

    /// The tables whose checksum differs from the server's. Only meaningful
    /// with an empty outbox (pending work changes rows on purpose).
    pub fn drifted_tables(
        &self,
        server: &BTreeMap<String, TableChecksum>,
    ) -> CoreResult<Vec<String>> {
        let local = self.checksums()?;
        Ok(server
            .iter()
            .filter(|(table, sum)| rows::table(table).is_some() && local.get(*table) != Some(*sum))
            .map(|(table, _)| table.clone())
            .collect())
    }

    /// Forgets a refetch that did not finish (its pull was cut short, or
    /// the app closed): its rows stay as they are, and the next comparison
    /// of checksums starts it again. Called as each pull begins, so that
    /// only the pull that asked for a refetch ends one.
    pub fn abandon_refetch(&mut self) -> CoreResult<()> {
        if get_state(&self.conn, REFETCHING)?.is_none() {
            return Ok(());
        }
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM refetch_seen", [])?;
        tx.execute("DELETE FROM sync_state WHERE key = ?1", params![REFETCHING])?;
        tx.commit()?;
        Ok(())
    }

    /// Starts the replica over (the user's "download everything again"):
    /// rows dropped, outbox kept and re-applied, the next pull loads all.
    pub fn restart_load(&mut self) -> CoreResult<()> {
        let me = self.me()?;
        let tx = self.conn.transaction()?;
        clear_replica(&tx, &me)?;
        tx.commit()?;
        Ok(())
    }

    /// Notes the tables that drifted, before the server sends them whole
    /// again (`refetch`). Their rows stay as they are while the pages come
    /// (each row sent replaces its copy, and is noted); when the pull
    /// reaches the present, the rows it did not send go ([`end_refetch`]).
    /// A refetch cut short leaves the rows as they were: the next
    /// comparison finds the drift again and starts over.
    pub fn begin_refetch(&mut self, tables: &[String]) -> CoreResult<()> {
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM refetch_seen", [])?;
        let names: Vec<&str> = tables
            .iter()
            .filter_map(|name| rows::table(name).map(|def| def.name))
            .collect();
        set_state(&tx, REFETCHING, &serde_json::to_string(&names)?)?;
        tx.commit()?;
        Ok(())
    }

    /// Replaces the colleagues' names (from `GET /colleagues`).
    pub fn replace_colleagues(&mut self, colleagues: &[Colleague]) -> CoreResult<()> {
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM colleagues", [])?;
        {
            let mut stmt = tx.prepare(
                "INSERT INTO colleagues (id, full_name, avatar_url, role) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for c in colleagues {
                stmt.execute(params![
                    c.id.to_string(),
                    c.full_name,
                    c.avatar_url,
                    c.role.as_str()
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Colleagues by name, for pickers.
    pub fn colleagues(&self) -> CoreResult<Vec<Colleague>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, full_name, avatar_url, role FROM colleagues ORDER BY full_name COLLATE NOCASE",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, full_name, avatar_url, role) = row?;
            out.push(Colleague {
                id: id
                    .parse()
                    .map_err(|e: uuid::Error| crate::CoreError::Malformed(e.to_string()))?,
                full_name,
                avatar_url,
                role: role.parse().unwrap_or(crm_domain::UserRole::Agent),
            });
        }
        Ok(out)
    }

    /// How far the first load has got (rows applied, rows to load), as
    /// committed with the rows themselves.
    pub fn load_progress(&self) -> CoreResult<Option<Progress>> {
        let done = get_state(&self.conn, "load_done")?.and_then(|s| s.parse().ok());
        let total = get_state(&self.conn, "load_total")?.and_then(|s| s.parse().ok());
        Ok(done
            .zip(total)
            .map(|(done, total)| Progress { done, total }))
    }

    /// How many rows the replica holds, over all replicated tables.
    pub fn row_count(&self) -> CoreResult<u64> {
        let mut total = 0u64;
        for def in rows::tables() {
            let n: i64 =
                self.conn
                    .query_row(&format!("SELECT count(*) FROM {}", def.name), [], |r| {
                        r.get(0)
                    })?;
            total += n as u64;
        }
        Ok(total)
    }

    /// When the last pull reached the present.
    pub fn last_pull_at(&self) -> CoreResult<Option<String>> {
        get_state(&self.conn, "last_pull_at")
    }
}

/// While set, the search triggers stand aside (a load is filling the
/// replica); see migrations/sqlite/V3.
const SEARCH_PAUSED: &str = "search_paused";

/// The replicated tables' secondary indexes, while a load from scratch
/// fills the replica: their SQL, kept here in the same transaction that
/// drops them, so a load killed midway still builds them when it ends (or
/// when the store opens for a schema migration, see `Store::open`).
pub(crate) const DEFERRED_INDEXES: &str = "deferred_indexes";

/// Drops the secondary indexes of the replicated tables, to be built once
/// when the load ends: measured, upkeep row by row cost more than a sorted
/// build (README, benchmarks). Reads of the replica still work meanwhile,
/// only slower.
fn defer_indexes(conn: &rusqlite::Connection) -> CoreResult<()> {
    if get_state(conn, DEFERRED_INDEXES)?.is_some() {
        return Ok(());
    }
    let mut indexes: Vec<(String, String)> = Vec::new();
    {
        let mut stmt = conn.prepare(
            "SELECT name, sql FROM sqlite_master
             WHERE type = 'index' AND sql IS NOT NULL AND tbl_name = ?1
               AND sql NOT LIKE 'CREATE UNIQUE%'",
        )?;
        for def in rows::tables() {
            let rows = stmt.query_map(params![def.name], |r| Ok((r.get(0)?, r.get(1)?)))?;
            for row in rows {
                indexes.push(row?);
            }
        }
    }
    let sql: Vec<&str> = indexes.iter().map(|(_, sql)| sql.as_str()).collect();
    set_state(conn, DEFERRED_INDEXES, &serde_json::to_string(&sql)?)?;
    for (name, _) in &indexes {
        // The names come from the schema's own catalog, never from input.
        conn.execute(&format!("DROP INDEX \"{}\"", name.replace('"', "\"\"")), [])?;
    }
    Ok(())
}

/// Builds the indexes [`defer_indexes`] dropped, if any.
pub(crate) fn restore_indexes(conn: &rusqlite::Connection) -> CoreResult<()> {
    let Some(saved) = get_state(conn, DEFERRED_INDEXES)? else {
        return Ok(());
    };
    let sql: Vec<String> = serde_json::from_str(&saved)?;
    for create in sql {
        conn.execute(
            &create.replacen("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1),
            [],
        )?;
    }
    conn.execute(
        "DELETE FROM sync_state WHERE key = ?1",
        params![DEFERRED_INDEXES],
    )?;
    Ok(())
}

/// Indexes every row for search in one pass and resumes row-by-row upkeep.
///
/// FTS5 writes the index as segments and merges them as it goes; by default
/// it merges whenever 4 segments share a level. During the rebuild it waits
/// for 16: over 1,000,000 customers that took the rebuild from 6.7 s to
/// 3.5 s, and search over 100,000 stayed at p99 2.6 ms. The default comes
/// back afterwards, so later writes keep merging the rest a little at a time.
pub(crate) fn rebuild_search(conn: &rusqlite::Connection) -> CoreResult<()> {
    for fts in ["customers_fts", "tickets_fts", "ticket_comments_fts"] {
        conn.execute_batch(&format!(
            "INSERT INTO {fts} ({fts}, rank) VALUES ('automerge', 16);
             INSERT INTO {fts} ({fts}) VALUES ('rebuild');
             INSERT INTO {fts} ({fts}, rank) VALUES ('automerge', 4);"
        ))?;
    }
    conn.execute(
        "DELETE FROM sync_state WHERE key = ?1",
        params![SEARCH_PAUSED],
    )?;
    Ok(())
}

/// The `sync_state` key naming the tables a refetch is sending again.
const REFETCHING: &str = "refetching";

/// A refetch has sent its tables whole: their rows it did not send go. A
/// row with unsent work (an insert not sent yet, say) is rebuilt on no
/// server row, as a removal from the server would leave it: it keeps that
/// work.
fn end_refetch(
    tx: &rusqlite::Transaction<'_>,
    me: &super::Me,
    tables: &[String],
) -> CoreResult<()> {
    for name in tables {
        let Some(def) = rows::table(name) else {
            continue;
        };
        let gone: Vec<String> = {
            let mut stmt = tx.prepare(&format!(
                "SELECT id FROM {} WHERE id NOT IN
                   (SELECT row_id FROM refetch_seen WHERE table_name = ?1)",
                def.name
            ))?;
            let ids = stmt.query_map(params![def.name], |r| r.get(0))?;
            ids.collect::<Result<_, _>>()?
        };
        for id in gone {
            let Ok(row_id) = id.parse::<Uuid>() else {
                continue;
            };
            if has_base(tx, def.name, &id)? {
                set_base(tx, def.name, &id, None)?;
                rebuild_row(tx, me, def.name, row_id)?;
            } else {
                rows::delete(tx, def, row_id)?;
            }
        }
    }
    tx.execute("DELETE FROM refetch_seen", [])?;
    tx.execute("DELETE FROM sync_state WHERE key = ?1", params![REFETCHING])?;
    Ok(())
}

/// Empties every replicated table and forgets the cursor; unsent work is
/// re-applied on the empty replica (its inserts stay visible).
fn clear_replica(conn: &rusqlite::Connection, me: &super::Me) -> CoreResult<()> {
    for def in rows::tables() {
        conn.execute(&format!("DELETE FROM {}", def.name), [])?;
    }
    conn.execute(
        "DELETE FROM sync_state WHERE key IN ('cursor', 'loaded', ?1)",
        params![REFETCHING],
    )?;
    conn.execute("DELETE FROM refetch_seen", [])?;
    conn.execute("UPDATE outbox_base SET row = NULL", [])?;
    let bases: Vec<(String, String)> = {
        let mut stmt = conn.prepare("SELECT table_name, row_id FROM outbox_base")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    for (table, id) in bases {
        if let Ok(row_id) = id.parse::<Uuid>() {
            rebuild_row(conn, me, &table, row_id)?;
        }
    }
    Ok(())
}
