//! The dashboard's figures computed from the replica, the local equivalents
//! of get_customer_stats(), get_ticket_stats() and get_dashboard_data(), so
//! the dashboard works offline. Like the server's, they count only what the
//! user can see, because the replica holds only that. Also the summary
//! views (customer_summary, ticket_summary, user_workload).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use crm_domain::{AcquisitionStage, TicketPriority, TicketStatus};
use rusqlite::params;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Store, timestamp};
use crate::error::CoreResult;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
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
#[cfg_attr(feature = "specta", derive(specta::Type))]
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
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Dashboard {
    pub customers: CustomerStats,
    pub tickets: TicketStats,
    pub my_open_tickets: i64,
    pub follow_ups_overdue: i64,
    pub follow_ups_next_7_days: i64,
    pub interactions_last_7_days: i64,
    pub generated_at: DateTime<Utc>,
}

/// The local `customer_summary` view: a customer with the figures of their
/// interactions and tickets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CustomerSummary {
    pub customer_id: Uuid,
    pub owner_name: Option<String>,
    pub product_name: Option<String>,
    pub interaction_count: i64,
    pub last_interaction_at: Option<String>,
    /// The earliest follow-up still ahead.
    pub next_follow_up_at: Option<String>,
    pub ticket_count: i64,
    pub open_ticket_count: i64,
}

/// The local `ticket_summary` view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TicketSummary {
    pub ticket_id: Uuid,
    pub customer_name: Option<String>,
    pub assigned_to_name: Option<String>,
    pub created_by_name: Option<String>,
    pub comment_count: i64,
    pub attachment_count: i64,
    pub assignee_count: i64,
    pub last_activity_at: Option<String>,
    /// Hours from creation to closing (or to now), one decimal.
    pub age_hours: Option<f64>,
}

/// The local `user_workload` view: per person the replica knows, their
/// open tickets (as `assigned_to` or an assignee) among those it holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Workload {
    pub user_id: Uuid,
    pub full_name: Option<String>,
    pub open_tickets: i64,
    pub high_priority_open_tickets: i64,
    pub resolved_last_30_days: i64,
}

impl Store {
    pub fn customer_summary(&self, customer_id: Uuid) -> CoreResult<CustomerSummary> {
        let customer = self.customer(customer_id)?;
        let now = timestamp(Utc::now());
        let (interaction_count, last_interaction_at, next_follow_up_at, ticket_count, open_ticket_count, product_name) =
            self.conn().query_row(
                "SELECT (SELECT count(*) FROM customer_interactions WHERE customer_id = ?1),
                        (SELECT max(created_at) FROM customer_interactions WHERE customer_id = ?1),
                        (SELECT follow_up_date FROM customer_interactions
                          WHERE customer_id = ?1 AND julianday(follow_up_date) >= julianday(?2)
                            AND follow_up_done_at IS NULL
                          ORDER BY julianday(follow_up_date) LIMIT 1),
                        (SELECT count(*) FROM tickets WHERE customer_id = ?1),
                        (SELECT count(*) FROM tickets WHERE customer_id = ?1 AND status NOT IN ('resolved', 'closed')),
                        (SELECT p.name FROM customers c JOIN products p ON p.id = c.product_id WHERE c.id = ?1)",
                params![customer_id.to_string(), now],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
            )?;
        Ok(CustomerSummary {
            customer_id,
            owner_name: self.person_name(customer.owner)?,
            product_name,
            interaction_count,
            last_interaction_at,
            next_follow_up_at,
            ticket_count,
            open_ticket_count,
        })
    }

    pub fn ticket_summary(&self, ticket_id: Uuid) -> CoreResult<TicketSummary> {
        let ticket = self.ticket(ticket_id)?;
        let id = ticket_id.to_string();
        let (customer_name, comment_count, attachment_count, assignee_count, last_comment_at): (
            Option<String>,
            i64,
            i64,
            i64,
            Option<String>,
        ) = self.conn().query_row(
            "SELECT (SELECT c.name FROM tickets t JOIN customers c ON c.id = t.customer_id WHERE t.id = ?1),
                    (SELECT count(*) FROM ticket_comments WHERE ticket_id = ?1),
                    (SELECT count(*) FROM ticket_attachments WHERE ticket_id = ?1),
                    (SELECT count(*) FROM ticket_assignees WHERE ticket_id = ?1),
                    (SELECT max(created_at) FROM ticket_comments WHERE ticket_id = ?1)",
            params![id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )?;
        let updated = timestamp(ticket.updated_at);
        let last_activity_at = match last_comment_at {
            Some(c) if super::outbox::parse_time(&c).is_some_and(|t| t > ticket.updated_at) => {
                Some(c)
            }
            _ => Some(updated),
        };
        let end = ticket.closed_at.unwrap_or_else(Utc::now);
        let hours = (end - ticket.created_at).num_seconds() as f64 / 3600.0;
        Ok(TicketSummary {
            ticket_id,
            customer_name,
            assigned_to_name: self.person_name(ticket.assigned_to)?,
            created_by_name: self.person_name(Some(ticket.created_by))?,
            comment_count,
            attachment_count,
            assignee_count,
            last_activity_at,
            age_hours: Some((hours * 10.0).round() / 10.0),
        })
    }

    /// Workload of everyone the replica knows (colleagues, and the user).
    pub fn user_workload(&self) -> CoreResult<Vec<Workload>> {
        let since = timestamp(Utc::now() - Duration::days(30));
        let mut stmt = self.conn().prepare_cached(
            "WITH people AS (
                 SELECT id, full_name FROM colleagues
                 UNION SELECT id, full_name FROM profiles WHERE id NOT IN (SELECT id FROM colleagues)),
             theirs AS (
                 SELECT p.id AS user_id, t.* FROM people p JOIN tickets t
                   ON t.assigned_to = p.id
                   OR EXISTS (SELECT 1 FROM ticket_assignees a WHERE a.ticket_id = t.id AND a.user_id = p.id))
             SELECT p.id, p.full_name,
                    (SELECT count(*) FROM theirs x WHERE x.user_id = p.id AND x.status NOT IN ('resolved', 'closed')),
                    (SELECT count(*) FROM theirs x WHERE x.user_id = p.id AND x.status NOT IN ('resolved', 'closed')
                                                   AND x.priority IN ('high', 'urgent')),
                    (SELECT count(*) FROM theirs x WHERE x.user_id = p.id
                                                   AND julianday(x.resolved_at) >= julianday(?1))
             FROM people p
             ORDER BY p.full_name COLLATE NOCASE",
        )?;
        let rows = stmt.query_map(params![since], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, full_name, open_tickets, high_priority_open_tickets, resolved_last_30_days) =
                row?;
            out.push(Workload {
                user_id: super::codec::parse_id(&id)?,
                full_name,
                open_tickets,
                high_priority_open_tickets,
                resolved_last_30_days,
            });
        }
        Ok(out)
    }

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
            "SELECT count(*) FILTER (WHERE julianday(follow_up_date) < julianday(?1)
                                       AND follow_up_done_at IS NULL),
                    count(*) FILTER (WHERE julianday(follow_up_date) >= julianday(?1)
                                       AND julianday(follow_up_date) < julianday(?2)
                                       AND follow_up_done_at IS NULL),
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
