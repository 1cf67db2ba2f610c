//! Full-text search over the replica (FTS5, kept in step by triggers):
//! customers by name, email and phone; tickets by title and description;
//! comments by content. Every word is a prefix, results are ranked (bm25),
//! and it all works offline.

use rusqlite::params;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Store;
use super::interactions::parse_id;
use crate::error::CoreResult;

/// What a hit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HitKind {
    Customer,
    Ticket,
    Comment,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    pub kind: HitKind,
    /// The customer's, ticket's or comment's id.
    pub id: Uuid,
    /// Where to open it: the customer, or the ticket (for a comment too).
    pub target_id: Uuid,
    pub title: String,
    /// The matching text with the hits between `[` and `]`.
    pub snippet: String,
    /// Lower is better.
    pub rank: f64,
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
        let mut stmt = self.conn().prepare_cached(
            "SELECT * FROM (
                 SELECT 'customer', c.id, c.id, c.name,
                        snippet(customers_fts, -1, '[', ']', '…', 8), f.rank
                 FROM customers_fts f JOIN customers c ON c.rowid = f.rowid
                 WHERE customers_fts MATCH ?1
                 ORDER BY f.rank LIMIT ?2)
             UNION ALL
             SELECT * FROM (
                 SELECT 'ticket', t.id, t.id, t.title,
                        snippet(tickets_fts, -1, '[', ']', '…', 8), f.rank
                 FROM tickets_fts f JOIN tickets t ON t.rowid = f.rowid
                 WHERE tickets_fts MATCH ?1
                 ORDER BY f.rank LIMIT ?2)
             UNION ALL
             SELECT * FROM (
                 SELECT 'comment', m.id, m.ticket_id, coalesce(t.title, ''),
                        snippet(ticket_comments_fts, -1, '[', ']', '…', 8), f.rank
                 FROM ticket_comments_fts f JOIN ticket_comments m ON m.rowid = f.rowid
                 LEFT JOIN tickets t ON t.id = m.ticket_id
                 WHERE ticket_comments_fts MATCH ?1
                 ORDER BY f.rank LIMIT ?2)
             ORDER BY 6 LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![query, limit], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, f64>(5)?,
            ))
        })?;
        let mut hits = Vec::new();
        for row in rows {
            let (kind, id, target, title, snippet, rank) = row?;
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
