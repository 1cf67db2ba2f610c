//! The server's access rules (docs/security-model.md), asked of the replica
//! before a change is recorded, so a change the server would surely refuse
//! is refused at once. The server re-checks everything; these checks only
//! spare the user a change that would bounce back.

use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::Me;
use crate::error::{CoreError, CoreResult};

/// The customer's owner, if the replica holds the customer.
fn customer_owner(conn: &Connection, customer_id: Uuid) -> CoreResult<Option<Option<String>>> {
    Ok(conn
        .prepare_cached("SELECT owner FROM customers WHERE id = ?1")?
        .query_row(params![customer_id.to_string()], |r| r.get(0))
        .optional()?)
}

/// Whether the user owns the customer; `NotFound` if the replica lacks it.
pub(crate) fn owns_customer(conn: &Connection, me: &Me, customer_id: Uuid) -> CoreResult<bool> {
    let owner =
        customer_owner(conn, customer_id)?.ok_or(CoreError::NotFound { what: "customer" })?;
    Ok(owner.as_deref() == Some(me.user_id.to_string().as_str()))
}

/// Admins manage every customer; an agent the ones they own.
pub(crate) fn require_manages_customer(
    conn: &Connection,
    me: &Me,
    customer_id: Uuid,
) -> CoreResult<()> {
    let owns = owns_customer(conn, me, customer_id)?;
    if me.is_admin() || owns {
        Ok(())
    } else {
        Err(CoreError::forbidden(
            "only the customer's owner or an admin can do this",
        ))
    }
}

/// A ticket's creator, its `assigned_to`, its assignees and admins have
/// access to it.
pub(crate) fn require_ticket_access(conn: &Connection, me: &Me, ticket_id: Uuid) -> CoreResult<()> {
    if has_ticket_access(conn, me, ticket_id)? {
        Ok(())
    } else {
        Err(CoreError::forbidden("you have no access to this ticket"))
    }
}

/// Whether the user has access to the ticket (see
/// [`require_ticket_access`]); `NotFound` if the replica lacks it.
pub(crate) fn has_ticket_access(conn: &Connection, me: &Me, ticket_id: Uuid) -> CoreResult<bool> {
    let me_id = me.user_id.to_string();
    let row: Option<(Option<String>, Option<String>)> = conn
        .prepare_cached("SELECT created_by, assigned_to FROM tickets WHERE id = ?1")?
        .query_row(params![ticket_id.to_string()], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let (created_by, assigned_to) = row.ok_or(CoreError::NotFound { what: "ticket" })?;
    Ok(me.is_admin()
        || created_by.as_deref() == Some(&me_id)
        || assigned_to.as_deref() == Some(&me_id)
        || is_assignee(conn, ticket_id, &me_id)?)
}

fn is_assignee(conn: &Connection, ticket_id: Uuid, user_id: &str) -> CoreResult<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM ticket_assignees WHERE ticket_id = ?1 AND user_id = ?2")?
        .query_row(params![ticket_id.to_string(), user_id], |_| Ok(()))
        .optional()?
        .is_some())
}

pub(crate) fn require_admin(me: &Me, what: &str) -> CoreResult<()> {
    if me.is_admin() {
        Ok(())
    } else {
        Err(CoreError::forbidden(format!("only an admin can {what}")))
    }
}
