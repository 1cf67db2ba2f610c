//! Tickets: the ticket lists, a ticket's page (status with the moves the
//! workflow allows, assignees with their lead, comments, history), opening
//! and editing tickets, comments and assignees.
//!
//! Assignment follows `crm_domain::assignment`: the lead (`assigned_to`) is
//! always one of the assignees. Every change to either is recorded as the
//! explicit steps the rule implies (an assignee row and the lead, in one
//! transaction), so the replica shows the result at once, offline; the
//! server's triggers take the same steps and find them done.

use std::collections::BTreeMap;

use crm_domain::assignment::{lead_after_adding, lead_after_removing};
use crm_domain::catalogue;
use crm_domain::drafts::{NewComment, NewTicket};
use crm_domain::entities::{
    Ticket, TicketAssignee, TicketAttachment, TicketComment, TicketWorkflowHistory,
};
use crm_domain::protocol::{MutationOp, SyncTable};
use crm_domain::validation::blank_to_none;
use crm_domain::workflow::check_transition;
use crm_domain::{TicketPriority, TicketStatus};
use rusqlite::params;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::Store;
use super::access::{require_admin, require_manages_customer, require_ticket_access};
use super::codec::{opt_text, opt_uuid, validate_fields};
use super::outbox::changes_against;
use super::rows::{self, row_to_json};
use crate::error::{CoreError, CoreResult};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TicketListItem {
    #[serde(flatten)]
    pub ticket: Ticket,
    pub customer_name: Option<String>,
    /// The lead's name.
    pub assigned_to_name: Option<String>,
    /// Everyone working on it, the lead included.
    pub assignee_count: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AssigneeItem {
    #[serde(flatten)]
    pub assignee: TicketAssignee,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CommentItem {
    #[serde(flatten)]
    pub comment: TicketComment,
    pub author_name: Option<String>,
    pub can_edit: bool,
}

/// A ticket's page.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TicketPage {
    pub ticket: Ticket,
    pub customer_name: Option<String>,
    pub assigned_to_name: Option<String>,
    /// The statuses the workflow allows next.
    pub allowed_statuses: Vec<TicketStatus>,
    pub assignees: Vec<AssigneeItem>,
    pub comments: Vec<CommentItem>,
    pub history: Vec<TicketWorkflowHistory>,
    pub attachments: Vec<AttachmentItem>,
}

/// An attachment as the ticket page lists it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AttachmentItem {
    pub attachment: TicketAttachment,
    pub uploaded_by_name: Option<String>,
    /// Where its bytes are: waiting to upload, on this device, only on
    /// the server, or refused.
    pub file: super::attachments::FileState,
    /// Its uploader or an admin may delete it.
    pub can_delete: bool,
}

/// The edit form of a ticket.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TicketEdit {
    pub title: String,
    pub description: Option<String>,
    pub priority: TicketPriority,
    pub status: TicketStatus,
    pub customer_id: Option<Uuid>,
    pub assigned_to: Option<Uuid>,
}

/// Which tickets the list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum TicketView {
    /// Tickets the user works on (lead or assignee).
    AssignedToMe,
    /// Tickets the user opened.
    CreatedByMe,
    /// Tickets nobody works on yet.
    Unassigned,
    /// Every ticket the user can see.
    All,
}

/// Open tickets first, then the most urgent, then the newest.
const TICKET_ORDER: &str = "ORDER BY t.status IN ('resolved', 'closed'),
    CASE t.priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END,
    t.created_at DESC";

const TICKET_LIST_SQL: &str =
    "SELECT t.id, t.title, t.description, t.priority, t.status, t.customer_id,
        t.assigned_to, t.created_by, t.created_at, t.updated_at, t.resolved_at, t.closed_at,
        c.name, coalesce(co.full_name, p.full_name),
        (SELECT count(*) FROM ticket_assignees a WHERE a.ticket_id = t.id)
 FROM tickets t
 LEFT JOIN customers c ON c.id = t.customer_id
 LEFT JOIN colleagues co ON co.id = t.assigned_to
 LEFT JOIN profiles p ON p.id = t.assigned_to";

impl Store {
    /// Tickets created by or assigned to the user (as `assigned_to` or an
    /// assignee), open ones first, then by priority and age.
    pub fn my_tickets(&self, include_done: bool) -> CoreResult<Vec<TicketListItem>> {
        let me = self.me()?;
        let sql = format!(
            "{TICKET_LIST_SQL}
             WHERE (t.created_by = ?1 OR t.assigned_to = ?1
                    OR EXISTS (SELECT 1 FROM ticket_assignees a WHERE a.ticket_id = t.id AND a.user_id = ?1))
               AND (?2 OR t.status NOT IN ('resolved', 'closed'))
             {TICKET_ORDER}"
        );
        self.ticket_list(&sql, params![me.user_id.to_string(), include_done])
    }

    /// One of the ticket list's views, open ones first, then by priority
    /// and age. What "all" holds is what the replica holds: every ticket
    /// for an admin, the ones an agent created or works on for an agent.
    pub fn tickets(&self, view: TicketView, include_done: bool) -> CoreResult<Vec<TicketListItem>> {
        let me = self.me()?;
        let filter = match view {
            // As the dashboard's "my open tickets" counts (and the server's
            // get_dashboard_data): among the assignees, the lead included.
            TicketView::AssignedToMe => {
                "(t.assigned_to = ?1
                  OR EXISTS (SELECT 1 FROM ticket_assignees a WHERE a.ticket_id = t.id AND a.user_id = ?1))"
            }
            TicketView::CreatedByMe => "t.created_by = ?1",
            TicketView::Unassigned => {
                "(t.assigned_to IS NULL
                  AND NOT EXISTS (SELECT 1 FROM ticket_assignees a WHERE a.ticket_id = t.id)
                  AND ?1 IS NOT NULL)"
            }
            TicketView::All => "?1 IS NOT NULL",
        };
        let sql = format!(
            "{TICKET_LIST_SQL}
             WHERE {filter} AND (?2 OR t.status NOT IN ('resolved', 'closed'))
             {TICKET_ORDER}"
        );
        self.ticket_list(&sql, params![me.user_id.to_string(), include_done])
    }

    fn ticket_list(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> CoreResult<Vec<TicketListItem>> {
        let def = rows::synced(SyncTable::Tickets);
        let mut stmt = self.conn().prepare_cached(sql)?;
        let rows = stmt.query_map(params, |r| {
            Ok((
                row_to_json(def, r)?,
                r.get::<_, Option<String>>(12)?,
                r.get::<_, Option<String>>(13)?,
                r.get::<_, i64>(14)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (map, customer_name, assigned_to_name, assignee_count) = row?;
            out.push(TicketListItem {
                ticket: serde_json::from_value(Value::Object(map))?,
                customer_name,
                assigned_to_name,
                assignee_count,
            });
        }
        Ok(out)
    }

    pub fn ticket(&self, id: Uuid) -> CoreResult<Ticket> {
        let row = rows::read(self.conn(), rows::synced(SyncTable::Tickets), id)?
            .ok_or(CoreError::NotFound { what: "ticket" })?;
        Ok(serde_json::from_value(Value::Object(row))?)
    }

    pub fn ticket_page(&self, id: Uuid) -> CoreResult<TicketPage> {
        let me = self.me()?;
        let ticket = self.ticket(id)?;
        let conn = self.conn();
        let by_ticket = params![id.to_string()];
        let assignees: Vec<TicketAssignee> = rows::read_where(
            conn,
            rows::synced(SyncTable::TicketAssignees),
            "WHERE ticket_id = ?1 ORDER BY assigned_at",
            by_ticket,
        )?;
        let comments: Vec<TicketComment> = rows::read_where(
            conn,
            rows::synced(SyncTable::TicketComments),
            "WHERE ticket_id = ?1 ORDER BY created_at, id",
            params![id.to_string()],
        )?;
        let history = rows::read_where(
            conn,
            rows::def(&catalogue::TICKET_WORKFLOW_HISTORY),
            "WHERE ticket_id = ?1 ORDER BY created_at, id",
            params![id.to_string()],
        )?;
        let attachments: Vec<TicketAttachment> = rows::read_where(
            conn,
            rows::synced(SyncTable::TicketAttachments),
            "WHERE ticket_id = ?1 ORDER BY uploaded_at",
            params![id.to_string()],
        )?;
        let file_states = self.file_states(id)?;
        let customer_name = match ticket.customer_id {
            Some(c) => conn
                .query_row(
                    "SELECT name FROM customers WHERE id = ?1",
                    params![c.to_string()],
                    |r| r.get(0),
                )
                .ok(),
            None => None,
        };
        let mut assignee_items = Vec::new();
        for a in assignees {
            assignee_items.push(AssigneeItem {
                name: self.person_name(Some(a.user_id))?,
                assignee: a,
            });
        }
        let mut comment_items = Vec::new();
        for c in comments {
            comment_items.push(CommentItem {
                author_name: self.person_name(Some(c.created_by))?,
                can_edit: c.created_by == me.user_id,
                comment: c,
            });
        }
        let mut attachment_items = Vec::new();
        for a in attachments {
            attachment_items.push(AttachmentItem {
                uploaded_by_name: self.person_name(Some(a.uploaded_by))?,
                file: file_states
                    .get(&a.id)
                    .cloned()
                    .unwrap_or(super::attachments::FileState::OnServer),
                can_delete: a.uploaded_by == me.user_id || me.is_admin(),
                attachment: a,
            });
        }
        Ok(TicketPage {
            customer_name,
            assigned_to_name: self.person_name(ticket.assigned_to)?,
            allowed_statuses: ticket.status.allowed_transitions().to_vec(),
            assignees: assignee_items,
            comments: comment_items,
            history,
            attachments: attachment_items,
            ticket,
        })
    }

    /// Opens a ticket, optionally for a customer the user manages.
    pub fn open_ticket(&mut self, draft: NewTicket) -> CoreResult<Ticket> {
        let me = self.me()?;
        let draft = NewTicket {
            description: blank_to_none(draft.description),
            ..draft
        };
        draft.validate()?;
        if let Some(customer) = draft.customer_id {
            require_manages_customer(self.conn(), &me, customer)?;
        }
        let id = Uuid::now_v7();
        let mut values = BTreeMap::new();
        values.insert("title".into(), Value::from(draft.title.trim()));
        values.insert("description".into(), opt_text(draft.description));
        values.insert("priority".into(), Value::from(draft.priority.as_str()));
        values.insert("customer_id".into(), opt_uuid(draft.customer_id));
        // The lead comes with its assignee row, after the ticket exists.
        values.insert("assigned_to".into(), Value::Null);
        let mut changes = vec![(SyncTable::Tickets, id, MutationOp::Insert { values })];
        if let Some(lead) = draft.assigned_to {
            changes.extend(assign_steps(id, lead, None, &[]));
        }
        self.record_all(&me, changes)?;
        self.ticket(id)
    }

    /// Saves the ticket form: a status change must follow the workflow, a
    /// new customer link must be to a customer the user manages.
    pub fn update_ticket(&mut self, id: Uuid, edit: TicketEdit) -> CoreResult<Ticket> {
        let me = self.me()?;
        require_ticket_access(self.conn(), &me, id)?;
        let current = self.ticket(id)?;
        if edit.status != current.status {
            check_transition(current.status, edit.status)
                .map_err(|e| CoreError::invalid("status", e.to_string()))?;
        }
        if edit.customer_id != current.customer_id
            && let Some(customer) = edit.customer_id
        {
            require_manages_customer(self.conn(), &me, customer)?;
        }
        let mut new = BTreeMap::new();
        new.insert("title".into(), Value::from(edit.title.trim()));
        new.insert(
            "description".into(),
            opt_text(blank_to_none(edit.description)),
        );
        new.insert("priority".into(), Value::from(edit.priority.as_str()));
        new.insert("status".into(), Value::from(edit.status.as_str()));
        new.insert("customer_id".into(), opt_uuid(edit.customer_id));
        validate_fields(SyncTable::Tickets, &new)?;
        let row = rows::read(self.conn(), rows::synced(SyncTable::Tickets), id)?
            .ok_or(CoreError::NotFound { what: "ticket" })?;
        let mut changes = Vec::new();
        if let Some(op) = changes_against(&row, new) {
            changes.push((SyncTable::Tickets, id, op));
        }
        // A new lead goes through the assignment rule.
        if edit.assigned_to != current.assigned_to {
            let assignees = self.assignee_ids(id)?;
            changes.extend(match edit.assigned_to {
                Some(lead) => lead_steps(id, lead, current.assigned_to, &assignees),
                None if assignees.is_empty() => Vec::new(),
                None => {
                    return Err(CoreError::invalid(
                        "assigned_to",
                        "a ticket with assignees has a lead: remove the assignees to leave it unassigned",
                    ));
                }
            });
        }
        if !changes.is_empty() {
            self.record_all(&me, changes)?;
        }
        self.ticket(id)
    }

    /// Tickets are closed, not deleted; deleting is for admins.
    pub fn delete_ticket(&mut self, id: Uuid) -> CoreResult<()> {
        let me = self.me()?;
        require_admin(&me, "delete a ticket (close it instead)")?;
        self.ticket(id)?;
        self.record(&me, SyncTable::Tickets, id, MutationOp::Delete)?;
        Ok(())
    }

    pub fn add_comment(&mut self, draft: NewComment) -> CoreResult<TicketComment> {
        let me = self.me()?;
        draft.validate()?;
        require_ticket_access(self.conn(), &me, draft.ticket_id)?;
        let id = Uuid::now_v7();
        let mut values = BTreeMap::new();
        values.insert("ticket_id".into(), Value::from(draft.ticket_id.to_string()));
        values.insert("content".into(), Value::from(draft.content.trim()));
        values.insert("is_internal".into(), Value::Bool(draft.is_internal));
        self.record(
            &me,
            SyncTable::TicketComments,
            id,
            MutationOp::Insert { values },
        )?;
        self.comment(id)
    }

    pub fn comment(&self, id: Uuid) -> CoreResult<TicketComment> {
        let row = rows::read(self.conn(), rows::synced(SyncTable::TicketComments), id)?
            .ok_or(CoreError::NotFound { what: "comment" })?;
        Ok(serde_json::from_value(Value::Object(row))?)
    }

    /// Only a comment's author edits it.
    pub fn edit_comment(
        &mut self,
        id: Uuid,
        content: String,
        is_internal: bool,
    ) -> CoreResult<TicketComment> {
        let me = self.me()?;
        let current = self.comment(id)?;
        if current.created_by != me.user_id {
            return Err(CoreError::forbidden("only its author can edit a comment"));
        }
        let mut new = BTreeMap::new();
        new.insert("content".into(), Value::from(content.trim()));
        new.insert("is_internal".into(), Value::Bool(is_internal));
        validate_fields(SyncTable::TicketComments, &new)?;
        let row = rows::read(self.conn(), rows::synced(SyncTable::TicketComments), id)?
            .ok_or(CoreError::NotFound { what: "comment" })?;
        if let Some(op) = changes_against(&row, new) {
            self.record(&me, SyncTable::TicketComments, id, op)?;
        }
        self.comment(id)
    }

    /// Its author or an admin deletes a comment.
    pub fn delete_comment(&mut self, id: Uuid) -> CoreResult<()> {
        let me = self.me()?;
        let current = self.comment(id)?;
        if current.created_by != me.user_id && !me.is_admin() {
            return Err(CoreError::forbidden(
                "only its author or an admin can delete a comment",
            ));
        }
        require_ticket_access(self.conn(), &me, current.ticket_id)?;
        self.record(&me, SyncTable::TicketComments, id, MutationOp::Delete)?;
        Ok(())
    }

    /// Adds a person to a ticket's assignees; the first one leads it.
    pub fn add_assignee(&mut self, ticket_id: Uuid, user_id: Uuid) -> CoreResult<()> {
        let me = self.me()?;
        require_ticket_access(self.conn(), &me, ticket_id)?;
        let assignees = self.assignee_ids(ticket_id)?;
        if assignees.contains(&user_id) {
            return Err(CoreError::invalid(
                "user_id",
                "is already assigned to this ticket",
            ));
        }
        let lead = self.ticket(ticket_id)?.assigned_to;
        let changes = assign_steps(ticket_id, user_id, lead, &assignees);
        self.record_all(&me, changes)?;
        Ok(())
    }

    /// Takes a person off a ticket; if they led it, the assignee who has
    /// been on it longest leads it now (or nobody, if none is left).
    pub fn remove_assignee(&mut self, ticket_id: Uuid, user_id: Uuid) -> CoreResult<()> {
        let me = self.me()?;
        require_ticket_access(self.conn(), &me, ticket_id)?;
        let id: Option<String> = self
            .conn()
            .query_row(
                "SELECT id FROM ticket_assignees WHERE ticket_id = ?1 AND user_id = ?2",
                params![ticket_id.to_string(), user_id.to_string()],
                |r| r.get(0),
            )
            .ok();
        let id = id.ok_or(CoreError::NotFound { what: "assignee" })?;
        let id = super::codec::parse_id(&id)?;
        let lead = self.ticket(ticket_id)?.assigned_to;
        let others: Vec<Uuid> = self
            .assignee_ids(ticket_id)?
            .into_iter()
            .filter(|a| *a != user_id)
            .collect();
        let mut changes = vec![(SyncTable::TicketAssignees, id, MutationOp::Delete)];
        let next = lead_after_removing(lead, user_id, &others);
        if next != lead {
            changes.push(lead_change(ticket_id, lead, next));
        }
        self.record_all(&me, changes)?;
        Ok(())
    }

    /// Makes a person the ticket's lead, adding them to its assignees if
    /// they are not among them yet.
    pub fn set_ticket_lead(&mut self, ticket_id: Uuid, user_id: Uuid) -> CoreResult<()> {
        let me = self.me()?;
        require_ticket_access(self.conn(), &me, ticket_id)?;
        let lead = self.ticket(ticket_id)?.assigned_to;
        if lead == Some(user_id) {
            return Ok(());
        }
        let assignees = self.assignee_ids(ticket_id)?;
        let changes = lead_steps(ticket_id, user_id, lead, &assignees);
        self.record_all(&me, changes)?;
        Ok(())
    }

    /// A ticket's assignees, longest-serving first (the order the lead
    /// passes in).
    fn assignee_ids(&self, ticket_id: Uuid) -> CoreResult<Vec<Uuid>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT user_id FROM ticket_assignees WHERE ticket_id = ?1 ORDER BY assigned_at, id",
        )?;
        let ids = stmt
            .query_map(params![ticket_id.to_string()], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        ids.iter().map(|id| super::codec::parse_id(id)).collect()
    }
}

/// The steps that add `user` to a ticket's assignees: their row, and the
/// lead if the ticket had none.
fn assign_steps(
    ticket: Uuid,
    user: Uuid,
    lead: Option<Uuid>,
    assignees: &[Uuid],
) -> Vec<(SyncTable, Uuid, MutationOp)> {
    let mut steps = Vec::new();
    if !assignees.contains(&user) {
        let mut values = BTreeMap::new();
        values.insert("ticket_id".into(), Value::from(ticket.to_string()));
        values.insert("user_id".into(), Value::from(user.to_string()));
        steps.push((
            SyncTable::TicketAssignees,
            Uuid::now_v7(),
            MutationOp::Insert { values },
        ));
    }
    let next = lead_after_adding(lead, user);
    if next != lead {
        steps.push(lead_change(ticket, lead, next));
    }
    steps
}

/// The steps that make `user` the lead: their assignee row first (the lead
/// is always an assignee), then the lead.
fn lead_steps(
    ticket: Uuid,
    user: Uuid,
    lead: Option<Uuid>,
    assignees: &[Uuid],
) -> Vec<(SyncTable, Uuid, MutationOp)> {
    let mut steps = assign_steps(ticket, user, lead, assignees);
    if lead.is_some() {
        steps.push(lead_change(ticket, lead, Some(user)));
    }
    steps
}

fn lead_change(
    ticket: Uuid,
    from: Option<Uuid>,
    to: Option<Uuid>,
) -> (SyncTable, Uuid, MutationOp) {
    let change = crm_domain::protocol::FieldChange {
        base: opt_uuid(from),
        value: opt_uuid(to),
    };
    (
        SyncTable::Tickets,
        ticket,
        MutationOp::Update {
            changes: BTreeMap::from([("assigned_to".to_string(), change)]),
        },
    )
}
