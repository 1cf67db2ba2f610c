//! The dashboard's figures computed from the replica, the local equivalents
//! of get_customer_stats(), get_ticket_stats() and get_dashboard_data(), so
//! the dashboard works offline. Like the server's, they count only what the
//! user can see, because the replica holds only that.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use crm_domain::{AcquisitionStage, TicketPriority, TicketStatus};
use rusqlite::params;
use serde::{Deserialize, Serialize};

use super::{Store, timestamp};
use crate::error::CoreResult;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerStats {
    pub total: i64,
    pub active: i64,
    pub archived: i64,
    pub new_last_30_days: i64,
    /// Per stage, customers not archived.
    pub by_stage: BTreeMap<String, i64>,
    /// Per status, customers not archived.
    pub by_status: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketStats {
    pub total: i64,
    pub open: i64,
    pub urgent_open: i64,
    pub resolved_last_7_days: i64,
    pub avg_resolution_hours: Option<f64>,
    pub by_status: BTreeMap<String, i64>,
    /// Per priority, open tickets.
    pub by_priority: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    pub customers: CustomerStats,
    pub tickets: TicketStats,
    pub my_open_tickets: i64,
    pub follow_ups_overdue: i64,
    pub follow_ups_next_7_days: i64,
    pub interactions_last_7_days: i64,
    pub generated_at: DateTime<Utc>,
}

impl Store {
    pub fn customer_stats(&self) -> CoreResult<CustomerStats> {
        self.customer_stats_at(Utc::now())
    }

    fn customer_stats_at(&self, now: DateTime<Utc>) -> CoreResult<CustomerStats> {
        let conn = self.conn();
        let since = timestamp(now - Duration::days(30));
        let (total, active, archived, new_last_30_days) = conn.query_row(
            "SELECT count(*), count(*) FILTER (WHERE NOT is_archived),
                    count(*) FILTER (WHERE is_archived),
                    count(*) FILTER (WHERE julianday(created_at) >= julianday(?1))
             FROM customers",
            params![since],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
        let by_stage = counts(
            conn,
            "SELECT acquisition_stage, count(*) FROM customers WHERE NOT is_archived GROUP BY 1",
            AcquisitionStage::ALL.iter().map(|s| s.as_str()),
        )?;
        let by_status = counts(
            conn,
            "SELECT status, count(*) FROM customers WHERE NOT is_archived GROUP BY 1",
            ["active", "inactive", "churned"],
        )?;
        Ok(CustomerStats {
            total,
            active,
            archived,
            new_last_30_days,
            by_stage,
            by_status,
        })
    }

    pub fn ticket_stats(&self) -> CoreResult<TicketStats> {
        self.ticket_stats_at(Utc::now())
    }

    fn ticket_stats_at(&self, now: DateTime<Utc>) -> CoreResult<TicketStats> {
        let conn = self.conn();
        let since = timestamp(now - Duration::days(7));
        let (total, open, urgent_open, resolved_last_7_days, avg_days) = conn.query_row(
            "SELECT count(*),
                    count(*) FILTER (WHERE status NOT IN ('resolved', 'closed')),
                    count(*) FILTER (WHERE priority = 'urgent' AND status NOT IN ('resolved', 'closed')),
                    count(*) FILTER (WHERE julianday(resolved_at) >= julianday(?1)),
                    avg(julianday(resolved_at) - julianday(created_at)) FILTER (WHERE resolved_at IS NOT NULL)
             FROM tickets",
            params![since],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get::<_, Option<f64>>(4)?)),
        )?;
        let by_status = counts(
            conn,
            "SELECT status, count(*) FROM tickets GROUP BY 1",
            TicketStatus::ALL.iter().map(|s| s.as_str()),
        )?;
        let by_priority = counts(
            conn,
            "SELECT priority, count(*) FROM tickets WHERE status NOT IN ('resolved', 'closed') GROUP BY 1",
            TicketPriority::ALL.iter().map(|s| s.as_str()),
        )?;
        Ok(TicketStats {
            total,
            open,
            urgent_open,
            resolved_last_7_days,
            // Hours, rounded to 2 places like the server's.
            avg_resolution_hours: avg_days.map(|d| (d * 24.0 * 100.0).round() / 100.0),
            by_status,
            by_priority,
        })
    }

    pub fn dashboard(&self) -> CoreResult<Dashboard> {
        let now = Utc::now();
        let me = self.me()?;
        let conn = self.conn();
        let my_open_tickets = conn.query_row(
            "SELECT count(*) FROM tickets t
             WHERE t.status NOT IN ('resolved', 'closed')
               AND (t.assigned_to = ?1
                    OR EXISTS (SELECT 1 FROM ticket_assignees a WHERE a.ticket_id = t.id AND a.user_id = ?1))",
            params![me.user_id.to_string()],
            |r| r.get(0),
        )?;
        let (overdue, next_7, recent) = conn.query_row(
            "SELECT count(*) FILTER (WHERE julianday(follow_up_date) < julianday(?1)),
                    count(*) FILTER (WHERE julianday(follow_up_date) >= julianday(?1)
                                       AND julianday(follow_up_date) < julianday(?2)),
                    count(*) FILTER (WHERE julianday(created_at) >= julianday(?3))
             FROM customer_interactions",
            params![
                timestamp(now),
                timestamp(now + Duration::days(7)),
                timestamp(now - Duration::days(7))
            ],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        Ok(Dashboard {
            customers: self.customer_stats_at(now)?,
            tickets: self.ticket_stats_at(now)?,
            my_open_tickets,
            follow_ups_overdue: overdue,
            follow_ups_next_7_days: next_7,
            interactions_last_7_days: recent,
            generated_at: now,
        })
    }
}

/// Per key counts from a `SELECT key, count(*) ... GROUP BY 1`, with every
/// expected key present (zero when absent), as the server's
/// jsonb_object_agg over the enum gives.
fn counts<'a>(
    conn: &rusqlite::Connection,
    sql: &str,
    keys: impl IntoIterator<Item = &'a str>,
) -> CoreResult<BTreeMap<String, i64>> {
    let mut out: BTreeMap<String, i64> = keys.into_iter().map(|k| (k.to_string(), 0)).collect();
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    for row in rows {
        let (key, n) = row?;
        out.insert(key, n);
    }
    Ok(out)
}
