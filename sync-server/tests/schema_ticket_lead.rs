//! One assignment model: a ticket's lead (`tickets.assigned_to`) is always
//! one of its assignees, and a ticket has a lead exactly when it has
//! assignees, whoever writes (here: plain SQL as each user, as psql or the
//! integration API would). Each step is compared with crm_domain::assignment,
//! the rule the desktop app records its changes by.
#![allow(clippy::unwrap_used)]

mod support;

use crm_domain::assignment::{lead_after_adding, lead_after_removing};
use sqlx::PgPool;
use support::{World, commit_as, database};
use sync_server::data::Claims;
use uuid::Uuid;

/// The ticket's lead and its assignees, earliest assigned first.
async fn team_of(pool: &PgPool, ticket: Uuid) -> (Option<Uuid>, Vec<Uuid>) {
    let lead: Option<Uuid> = sqlx::query_scalar("SELECT assigned_to FROM tickets WHERE id = $1")
        .bind(ticket)
        .fetch_one(pool)
        .await
        .unwrap();
    let assignees: Vec<Uuid> = sqlx::query_scalar(
        "SELECT user_id FROM ticket_assignees WHERE ticket_id = $1 ORDER BY assigned_at, id",
    )
    .bind(ticket)
    .fetch_all(pool)
    .await
    .unwrap();
    (lead, assignees)
}

async fn assign(pool: &PgPool, who: &Claims, ticket: Uuid, user: Uuid) {
    commit_as(
        pool,
        who,
        sqlx::query("INSERT INTO ticket_assignees (ticket_id, user_id) VALUES ($1, $2)")
            .bind(ticket)
            .bind(user),
    )
    .await;
}

async fn unassign(pool: &PgPool, who: &Claims, ticket: Uuid, user: Uuid) {
    commit_as(
        pool,
        who,
        sqlx::query("DELETE FROM ticket_assignees WHERE ticket_id = $1 AND user_id = $2")
            .bind(ticket)
            .bind(user),
    )
    .await;
}

#[tokio::test]
async fn the_lead_is_always_an_assignee_whoever_writes() {
    let db = database().await;
    let pool = db.pool();
    let w = World::build(pool).await;
    let (a, b, admin) = (w.a(), w.b(), w.admin());

    // A ticket opened with a lead: the lead is its first assignee.
    let (lead, assignees) = team_of(pool, w.t_for_a).await;
    assert_eq!(lead, Some(w.agent_a));
    assert_eq!(assignees, [w.agent_a]);

    // A ticket nobody led: its first assignee leads, as the rule says.
    let ticket = w.t_a;
    assert_eq!(team_of(pool, ticket).await, (None, vec![]));
    assign(pool, &a, ticket, w.agent_b).await;
    let (lead, assignees) = team_of(pool, ticket).await;
    assert_eq!(lead, lead_after_adding(None, w.agent_b));
    assert_eq!(assignees, [w.agent_b]);

    // A second assignee joins; the lead stays.
    assign(pool, &a, ticket, w.admin).await;
    assert_eq!(
        team_of(pool, ticket).await.0,
        lead_after_adding(lead, w.admin)
    );

    // The lead moves to someone not yet on it: they become an assignee.
    commit_as(
        pool,
        &a,
        sqlx::query("UPDATE tickets SET assigned_to = $2 WHERE id = $1")
            .bind(ticket)
            .bind(w.agent_a),
    )
    .await;
    let (lead, assignees) = team_of(pool, ticket).await;
    assert_eq!(lead, Some(w.agent_a));
    assert_eq!(assignees, [w.agent_b, w.admin, w.agent_a]);

    // The lead leaves: the longest-serving assignee takes over.
    unassign(pool, &a, ticket, w.agent_a).await;
    let (after, assignees) = team_of(pool, ticket).await;
    assert_eq!(after, lead_after_removing(lead, w.agent_a, &assignees));
    assert_eq!(after, Some(w.agent_b));

    // Clearing the lead while assignees remain passes it on as well.
    commit_as(
        pool,
        &admin,
        sqlx::query("UPDATE tickets SET assigned_to = NULL WHERE id = $1").bind(ticket),
    )
    .await;
    assert_eq!(team_of(pool, ticket).await.0, Some(w.admin));

    // An agent who leads a ticket someone else opened may leave it; the
    // lead passes to a colleague although the agent can no longer see it.
    let (lead, _) = team_of(pool, w.t_for_a).await;
    assert_eq!(lead, Some(w.agent_a));
    assign(pool, &a, w.t_for_a, w.agent_b).await;
    unassign(pool, &a, w.t_for_a, w.agent_a).await;
    assert_eq!(
        team_of(pool, w.t_for_a).await,
        (Some(w.agent_b), vec![w.agent_b])
    );

    // The last one leaves: no lead.
    unassign(pool, &b, w.t_for_a, w.agent_b).await;
    assert_eq!(team_of(pool, w.t_for_a).await, (None, vec![]));

    // And nowhere in the world is a lead missing from the assignees, or a
    // ticket with assignees without a lead.
    let broken: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM tickets t
         WHERE (t.assigned_to IS NOT NULL AND NOT EXISTS
                 (SELECT 1 FROM ticket_assignees a WHERE a.ticket_id = t.id AND a.user_id = t.assigned_to))
            OR (t.assigned_to IS NULL AND EXISTS (SELECT 1 FROM ticket_assignees a WHERE a.ticket_id = t.id))",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(broken, 0);
}

#[tokio::test]
async fn deleting_a_ticket_takes_its_assignees_without_a_fuss() {
    let db = database().await;
    let pool = db.pool();
    let w = World::build(pool).await;
    commit_as(
        pool,
        &w.admin(),
        sqlx::query("DELETE FROM tickets WHERE id = $1").bind(w.t_shared),
    )
    .await;
    let left: i64 =
        sqlx::query_scalar("SELECT count(*) FROM ticket_assignees WHERE ticket_id = $1")
            .bind(w.t_shared)
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(left, 0);
}

#[tokio::test]
async fn an_admin_moving_the_leads_assignment_moves_the_lead() {
    let db = database().await;
    let pool = db.pool();
    let w = World::build(pool).await;
    commit_as(
        pool,
        &w.admin(),
        sqlx::query("UPDATE ticket_assignees SET user_id = $2 WHERE id = $1")
            .bind(w.lead_b_on_t_b)
            .bind(w.agent_a),
    )
    .await;
    assert_eq!(
        team_of(pool, w.t_b).await,
        (Some(w.agent_a), vec![w.agent_a])
    );
}
