//! Full-text search over the replica (FTS5, kept in step by triggers):
//! customers by name, email and phone; tickets by title and description;
//! comments by content. Every word is a prefix, results are ranked (bm25),
//! and it all works offline.

use rusqlite::params;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Store;
use super::codec::parse_id;
use crate::error::CoreResult;

/// What a hit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum HitKind {
    Customer,
    Ticket,
    Comment,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SearchHit {
    pub kind: HitKind,
    /// The customer's, ticket's or comment's id.
    pub id: Uuid,
    /// Where to open it: the customer, or the ticket (for a comment too).
    pub target_id: Uuid,
    pub title: String,
    /// The matching text with the hits between `[` and `]`.
    pub snippet: String,
    /// bm25, lower is better; `None` when the query was too broad to rank
    /// (then the newest matches come first).
    pub rank: Option<f64>,
    /// An archived customer: lists leave them out, search finds them, and
    /// says so. Always false for tickets and comments.
    pub is_archived: bool,
}

/// Above this many matches a query is "broad" (a letter or two typed):
/// ranking every match would cost more than a keystroke may (bm25 is a few
/// microseconds a row), and ranks among thousands of prefix matches mean
/// little, so the newest matches are shown until the query narrows.
pub const RANKED_MATCHES_MAX: i64 = 1000;

/// Whether `query` matches more than [`RANKED_MATCHES_MAX`] rows of `fts`
/// (one of this crate's FTS tables), counting no further than that.
pub(crate) fn is_broad(
    conn: &rusqlite::Connection,
    fts: &'static str,
    query: &str,
) -> CoreResult<bool> {
    let sql = format!("SELECT count(*) FROM (SELECT 1 FROM {fts} WHERE {fts} MATCH ?1 LIMIT ?2)");
    let n: i64 = conn
        .prepare_cached(&sql)?
        .query_row(params![query, RANKED_MATCHES_MAX + 1], |r| r.get(0))?;
    Ok(n > RANKED_MATCHES_MAX)
}

/// Turns what the user typed into an FTS5 query where every word is a
/// quoted prefix, so punctuation cannot be read as query syntax. `None`
/// when nothing searchable was typed.
pub fn match_expression(input: &str) -> Option<String> {
    let terms: Vec<String> = input
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(16)
        .map(|w| format!("\"{w}\"*"))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" "))
}

impl Store {
    /// Searches customers, tickets and comments at once, best first.
    pub fn search(&self, input: &str, limit: u32) -> CoreResult<Vec<SearchHit>> {
        let Some(query) = match_expression(input) else {
            return Ok(Vec::new());
        };
        let limit = i64::from(limit.clamp(1, 200));
        let conn = self.conn();
        let mut parts = Vec::new();
        // The archived mark is a column of the row already joined for the
        // title: no extra lookup per hit.
        for (kind, fts, from, title, target, archived) in [
            (
                "customer",
                "customers_fts",
                "JOIN customers r ON r.rowid = f.rowid",
                "r.name",
                "r.id",
                "r.is_archived",
            ),
            (
                "ticket",
                "tickets_fts",
                "JOIN tickets r ON r.rowid = f.rowid",
                "r.title",
                "r.id",
                "0",
            ),
            (
                "comment",
                "ticket_comments_fts",
                "JOIN ticket_comments r ON r.rowid = f.rowid LEFT JOIN tickets t ON t.id = r.ticket_id",
                "coalesce(t.title, '')",
                "r.ticket_id",
                "0",
            ),
        ] {
            // Only this crate's fixed fragments go into the text; what the
            // user typed is the bound ?1.
            let (rank, order) = if is_broad(conn, fts, &query)? {
                ("NULL", "f.rowid DESC")
            } else {
                ("f.rank", "f.rank")
            };
            parts.push(format!(
                "SELECT * FROM (
                     SELECT '{kind}' AS kind, r.id AS id, {target} AS target, {title} AS title,
                            snippet({fts}, -1, '[', ']', '…', 8) AS snippet, {rank} AS score,
                            f.rowid AS position, {archived} AS archived
                     FROM {fts} f {from}
                     WHERE {fts} MATCH ?1
                     ORDER BY {order} LIMIT ?2)"
            ));
        }
        let sql = format!(
            "SELECT * FROM ({}) ORDER BY score IS NULL, score, position DESC LIMIT ?2",
            parts.join(" UNION ALL ")
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![query, limit], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, Option<f64>>(5)?,
                r.get::<_, bool>(7)?,
            ))
        })?;
        let mut hits = Vec::new();
        for row in rows {
            let (kind, id, target, title, snippet, rank, is_archived) = row?;
            hits.push(SearchHit {
                kind: match kind.as_str() {
                    "customer" => HitKind::Customer,
                    "ticket" => HitKind::Ticket,
                    _ => HitKind::Comment,
                },
                id: parse_id(&id)?,
                target_id: parse_id(&target)?,
                title,
                snippet,
                rank,
                is_archived,
            });
        }
        Ok(hits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_becomes_a_quoted_prefix() {
        assert_eq!(
            match_expression("ada lov").as_deref(),
            Some("\"ada\"* \"lov\"*")
        );
    }

    #[test]
    fn query_syntax_in_input_is_only_text() {
        assert_eq!(
            match_expression("NEAR(\"x\" OR y) -z*").as_deref(),
            Some("\"NEAR\"* \"x\"* \"OR\"* \"y\"* \"z\"*")
        );
        assert_eq!(match_expression(" +()* "), None);
    }
}
