//! Why a refused change was refused, in terms of what happened to its row.
//!
//! A change refused as `forbidden` or `not_found` is, for a field agent,
//! most often one made offline to a customer an admin meanwhile gave to
//! someone else, or a customer or ticket someone deleted. The rule's code
//! says nothing a person can act on; the audit trail says who did what and
//! when. This reads it (as the service: the agent may no longer see the
//! row) and answers with a [`RefusalReason`]. It reveals no more than the
//! agent already knew (the row was theirs to change) plus who acted, whose
//! name colleagues see anyway.

use crm_domain::protocol::{
    Mutation, MutationOp, RefusalKind, RefusalReason, RejectionCode, SyncTable,
};
use sqlx::PgConnection;
use uuid::Uuid;

/// The codes that may mean "the row left your reach".
pub(crate) fn may_explain(code: RejectionCode) -> bool {
    matches!(
        code,
        RejectionCode::Forbidden | RejectionCode::NotFound | RejectionCode::MissingReference
    )
}

/// What happened to the customer or ticket `m` was about, if the audit
/// trail says it was reassigned (customers) or deleted. Runs as the service.
pub(crate) async fn reason_for(
    conn: &mut PgConnection,
    m: &Mutation,
) -> Result<Option<RefusalReason>, sqlx::Error> {
    let Some((table, id)) = subject_of(conn, m).await? else {
        return Ok(None);
    };
    let found = sqlx::query!(
        r#"SELECT h.action AS "action!", h.changed_by, by_p.full_name AS "by_name?",
                  (h.new_values ->> 'owner')::uuid AS to_owner, to_p.full_name AS "to_name?",
                  h.created_at AS "at!"
           FROM public.audit_history h
           LEFT JOIN public.profiles by_p ON by_p.id = h.changed_by
           LEFT JOIN public.profiles to_p ON to_p.id = (h.new_values ->> 'owner')::uuid
           WHERE h.table_name = $1 AND h.record_id = $2
             AND (h.action = 'DELETE'
                  OR ($1 = 'customers' AND h.action = 'UPDATE'
                      AND h.old_values ->> 'owner' IS DISTINCT FROM h.new_values ->> 'owner'))
           ORDER BY h.created_at DESC, h.id DESC
           LIMIT 1"#,
        table,
        id
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(found.map(|row| {
        let deleted = row.action == "DELETE";
        RefusalReason {
            kind: if deleted {
                RefusalKind::Deleted
            } else {
                RefusalKind::Reassigned
            },
            by: row.changed_by,
            by_name: row.by_name,
            to: if deleted { None } else { row.to_owner },
            to_name: if deleted { None } else { row.to_name },
            at: row.at,
        }
    }))
}

/// The customer or ticket a change is about: the row itself, or the parent
/// it hangs off (from the change's values, else from the row's own audit
/// trail, which outlives the row).
async fn subject_of(
    conn: &mut PgConnection,
    m: &Mutation,
) -> Result<Option<(&'static str, Uuid)>, sqlx::Error> {
    let (table, parent_column) = match m.table.parent() {
        Some((parent, column)) => (parent.name(), column),
        None if matches!(m.table, SyncTable::Customers | SyncTable::Tickets) => {
            return Ok(Some((m.table.name(), m.row_id)));
        }
        None => return Ok(None),
    };
    if let MutationOp::Insert { values } = &m.op {
        let parent = values
            .get(parent_column)
            .and_then(|v| v.as_str())
            .and_then(|s| s.parse().ok());
        return Ok(parent.map(|id| (table, id)));
    }
    let parent = sqlx::query_scalar!(
        r#"SELECT (coalesce(h.new_values, h.old_values) ->> $2)::uuid AS "parent"
           FROM public.audit_history h
           WHERE h.table_name = $3 AND h.record_id = $1
           ORDER BY h.created_at DESC, h.id DESC
           LIMIT 1"#,
        m.row_id,
        parent_column,
        m.table.name()
    )
    .fetch_optional(&mut *conn)
    .await?
    .flatten();
    Ok(parent.map(|id| (table, id)))
}
