//! Tickets: my tickets, a ticket's page (status with the moves the workflow
//! allows, assignees, comments, history), opening and editing tickets,
//! comments and assignees.

use std::collections::BTreeMap;

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
use super::customers::{opt_text, opt_uuid, validate_fields};
use super::outbox::changes_against;
use super::rows::{self, row_to_json};
use crate::error::{CoreError, CoreResult};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TicketListItem {
    #[serde(flatten)]
    pub ticket: Ticket,
    pub customer_name: Option<String>,
    pub assigned_to_name: Option<String>,
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
    pub attachments: Vec<TicketAttachment>,
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

const TICKET_LIST_SQL: &str =
    "SELECT t.id, t.title, t.description, t.priority, t.status, t.customer_id,
        t.assigned_to, t.created_by, t.created_at, t.updated_at, t.resolved_at, t.closed_at,
        c.name, coalesce(co.full_name, p.full_name)
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
             ORDER BY t.status IN ('resolved', 'closed'),
                      CASE t.priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END,
                      t.created_at DESC"
        );
        self.ticket_list(&sql, params![me.user_id.to_string(), include_done])
    }

    fn ticket_list(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> CoreResult<Vec<TicketListItem>> {
        let def = table("tickets")?;
        let mut stmt = self.conn().prepare_cached(sql)?;
        let rows = stmt.query_map(params, |r| {
            Ok((
                row_to_json(def, r)?,
                r.get::<_, Option<String>>(12)?,
                r.get::<_, Option<String>>(13)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (map, customer_name, assigned_to_name) = row?;
            out.push(TicketListItem {
                ticket: serde_json::from_value(Value::Object(map))?,
                customer_name,
                assigned_to_name,
            });
        }
        Ok(out)
    }

    pub fn ticket(&self, id: Uuid) -> CoreResult<Ticket> {
        let row = rows::read(self.conn(), table("tickets")?, id)?
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
            table("ticket_assignees")?,
            "WHERE ticket_id = ?1 ORDER BY assigned_at",
            by_ticket,
        )?;
        let comments: Vec<TicketComment> = rows::read_where(
            conn,
            table("ticket_comments")?,
            "WHERE ticket_id = ?1 ORDER BY created_at, id",
            params![id.to_string()],
        )?;
        let history = rows::read_where(
            conn,
            table("ticket_workflow_history")?,
            "WHERE ticket_id = ?1 ORDER BY created_at, id",
            params![id.to_string()],
        )?;
        let attachments = rows::read_where(
            conn,
            table("ticket_attachments")?,
            "WHERE ticket_id = ?1 ORDER BY uploaded_at",
            params![id.to_string()],
        )?;
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
        Ok(TicketPage {
            customer_name,
            assigned_to_name: self.person_name(ticket.assigned_to)?,
            allowed_statuses: ticket.status.allowed_transitions().to_vec(),
            assignees: assignee_items,
            comments: comment_items,
            history,
            attachments,
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
        values.insert("assigned_to".into(), opt_uuid(draft.assigned_to));
        self.record(&me, SyncTable::Tickets, id, MutationOp::Insert { values })?;
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
        new.insert("assigned_to".into(), opt_uuid(edit.assigned_to));
        validate_fields(SyncTable::Tickets, &new)?;
        let row = rows::read(self.conn(), table("tickets")?, id)?
            .ok_or(CoreError::NotFound { what: "ticket" })?;
        if let Some(op) = changes_against(&row, new) {
            self.record(&me, SyncTable::Tickets, id, op)?;
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
        let row = rows::read(self.conn(), table("ticket_comments")?, id)?
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
        let row = rows::read(self.conn(), table("ticket_comments")?, id)?
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

    /// Adds a person to a ticket's assignees.
    pub fn add_assignee(&mut self, ticket_id: Uuid, user_id: Uuid) -> CoreResult<()> {
        let me = self.me()?;
        require_ticket_access(self.conn(), &me, ticket_id)?;
        let already: bool = self.conn().query_row(
            "SELECT EXISTS (SELECT 1 FROM ticket_assignees WHERE ticket_id = ?1 AND user_id = ?2)",
            params![ticket_id.to_string(), user_id.to_string()],
            |r| r.get(0),
        )?;
        if already {
            return Err(CoreError::invalid(
                "user_id",
                "is already assigned to this ticket",
            ));
        }
        let mut values = BTreeMap::new();
        values.insert("ticket_id".into(), Value::from(ticket_id.to_string()));
        values.insert("user_id".into(), Value::from(user_id.to_string()));
        self.record(
            &me,
            SyncTable::TicketAssignees,
            Uuid::now_v7(),
            MutationOp::Insert { values },
        )?;
        Ok(())
    }

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
        let id = super::interactions::parse_id(&id)?;
        self.record(&me, SyncTable::TicketAssignees, id, MutationOp::Delete)?;
        Ok(())
    }
}

fn table(name: &str) -> CoreResult<&'static rows::TableDef> {
    rows::table(name).ok_or(CoreError::NotFound { what: "table" })
}
