//! Fixtures for the schema tests: users made the way the product makes them
//! (an `auth.users` row, the profile by trigger), a small world of rows each
//! created through its owner's own session, and a way to try one statement
//! as a user and see whether PostgreSQL let it through.
#![allow(dead_code, clippy::unwrap_used)]

pub mod client;
pub mod server;

use crm_testkit::TestDatabase;
use sqlx::postgres::PgArguments;
use sqlx::{Executor, PgPool, Postgres};
use sync_server::data::{Claims, acting::begin_as};
use uuid::Uuid;

pub async fn database() -> TestDatabase {
    TestDatabase::create(&sync_server::db::MIGRATOR).await
}

/// Creates an account as the server does; the trigger makes its profile.
pub async fn create_user(pool: &PgPool, email: &str, full_name: &str) -> Uuid {
    sqlx::query_scalar(
        "INSERT INTO auth.users (email, encrypted_password, raw_user_meta_data)
         VALUES ($1, 'not-a-real-hash', jsonb_build_object('full_name', $2::text)) RETURNING id",
    )
    .bind(email)
    .bind(full_name)
    .fetch_one(pool)
    .await
    .unwrap()
}

pub async fn make_admin(pool: &PgPool, id: Uuid) {
    sqlx::query("UPDATE public.profiles SET role = 'admin' WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await
        .unwrap();
}

/// What PostgreSQL made of a statement tried as some user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It ran and touched (or returned) this many rows. Zero rows from an
    /// UPDATE or DELETE means RLS hid the target.
    Rows(u64),
    /// It was refused, with this SQLSTATE.
    Refused(String),
}

impl Outcome {
    pub fn is_refused(&self) -> bool {
        matches!(self, Outcome::Refused(_))
    }
}

/// Runs `query` as `claims` in a transaction that is then rolled back, so a
/// case never changes the world the next case sees.
pub async fn attempt<'q>(
    pool: &PgPool,
    claims: &Claims,
    query: sqlx::query::Query<'q, Postgres, PgArguments>,
) -> Outcome {
    let mut tx = begin_as(pool, claims).await.unwrap();
    let outcome = match tx.execute(query).await {
        Ok(done) => Outcome::Rows(done.rows_affected()),
        Err(sqlx::Error::Database(e)) => {
            Outcome::Refused(e.code().map(|c| c.to_string()).unwrap_or_default())
        }
        Err(e) => panic!("unexpected error: {e}"),
    };
    tx.rollback().await.unwrap();
    outcome
}

/// Runs `sql` as `claims` and commits: for building fixtures.
pub async fn commit_as(
    pool: &PgPool,
    claims: &Claims,
    query: sqlx::query::Query<'_, Postgres, PgArguments>,
) {
    let mut tx = begin_as(pool, claims).await.unwrap();
    tx.execute(query).await.unwrap();
    tx.commit().await.unwrap();
}

/// Every value of the one-column query `sql`, run as `claims`.
pub async fn scalars_as<T>(pool: &PgPool, claims: &Claims, sql: impl sqlx::SqlSafeStr) -> Vec<T>
where
    T: for<'r> sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres> + Send + Unpin,
{
    let mut tx = begin_as(pool, claims).await.unwrap();
    let values = sqlx::query_scalar(sql).fetch_all(&mut *tx).await.unwrap();
    tx.rollback().await.unwrap();
    values
}

/// The single value of the query `sql`, run as `claims`.
pub async fn scalar_as<T>(pool: &PgPool, claims: &Claims, sql: &'static str) -> T
where
    T: for<'r> sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres> + Send + Unpin,
{
    let mut values = scalars_as(pool, claims, sql).await;
    assert_eq!(values.len(), 1, "{sql} returns one row");
    values.remove(0)
}

/// The ids of `table`'s rows that `claims` can see, sorted.
pub async fn visible_ids(pool: &PgPool, claims: &Claims, table: &str) -> Vec<Uuid> {
    // Table names come from the tests' own fixed lists.
    sorted(
        scalars_as(
            pool,
            claims,
            sqlx::AssertSqlSafe(format!("SELECT id FROM {table}")),
        )
        .await,
    )
}

pub fn sorted(mut ids: Vec<Uuid>) -> Vec<Uuid> {
    ids.sort();
    ids
}

/// Two agents and an admin, and a little of everything, each row created by
/// the user who owns it through their own session:
///
/// | row | created by | visible to |
/// |---|---|---|
/// | cust_a, int_a | agent A | A, admin |
/// | cust_b, int_b, cust_spare | agent B | B, admin |
/// | t_a (for cust_a) + public and internal comment, attachment | A | A, admin |
/// | t_b (for cust_b, assigned_to B) | B | B, admin |
/// | t_shared (assignees A and B) + B's internal comment | admin | A, B, admin |
/// | t_for_a (for cust_b, assigned_to A) | B | A, B, admin |
/// | t_admin + comment, attachment | admin | admin |
/// | token_a / token_b | A / B | their creator |
pub struct World {
    pub agent_a: Uuid,
    pub agent_b: Uuid,
    pub admin: Uuid,
    pub cust_a: Uuid,
    pub cust_b: Uuid,
    pub cust_spare: Uuid,
    pub int_a: Uuid,
    pub int_b: Uuid,
    pub t_a: Uuid,
    pub t_b: Uuid,
    pub t_shared: Uuid,
    pub t_for_a: Uuid,
    pub t_admin: Uuid,
    pub assignee_shared_a: Uuid,
    pub assignee_shared_b: Uuid,
    /// The assignee rows of the tickets opened with a lead (B on `t_b`, A on
    /// `t_for_a`): a lead is always an assignee (migration ..._ticket_lead).
    pub lead_b_on_t_b: Uuid,
    pub lead_a_on_t_for_a: Uuid,
    pub comment_a_public: Uuid,
    pub comment_a_internal: Uuid,
    pub comment_b_shared_internal: Uuid,
    pub comment_admin: Uuid,
    pub att_a: Uuid,
    pub att_admin: Uuid,
    pub token_a: Uuid,
    pub token_b: Uuid,
}

impl World {
    pub fn a(&self) -> Claims {
        Claims::user(self.agent_a)
    }
    pub fn b(&self) -> Claims {
        Claims::user(self.agent_b)
    }
    pub fn admin(&self) -> Claims {
        Claims::user(self.admin)
    }

    pub async fn build(pool: &PgPool) -> World {
        let agent_a = create_user(pool, "ana@field.test", "Ana Agent").await;
        let agent_b = create_user(pool, "ben@field.test", "Ben Agent").await;
        let admin = create_user(pool, "ada@field.test", "Ada Admin").await;
        make_admin(pool, admin).await;
        let (a, b, ad) = (
            Claims::user(agent_a),
            Claims::user(agent_b),
            Claims::user(admin),
        );
        let id = Uuid::now_v7;

        let (cust_a, cust_b, cust_spare) = (id(), id(), id());
        for (claims, cust, name) in [
            (&a, cust_a, "Acme"),
            (&b, cust_b, "Bolt"),
            (&b, cust_spare, "Spare"),
        ] {
            commit_as(
                pool,
                claims,
                sqlx::query("INSERT INTO customers (id, name) VALUES ($1, $2)")
                    .bind(cust)
                    .bind(name),
            )
            .await;
        }
        let (int_a, int_b) = (id(), id());
        for (claims, int, cust) in [(&a, int_a, cust_a), (&b, int_b, cust_b)] {
            commit_as(
                pool,
                claims,
                sqlx::query(
                    "INSERT INTO customer_interactions (id, customer_id, type, channel, note, follow_up_date)
                     VALUES ($1, $2, 'call', 'phone', 'first call', now() + interval '1 day')",
                )
                .bind(int)
                .bind(cust),
            )
            .await;
        }

        let (t_a, t_b, t_shared, t_for_a, t_admin) = (id(), id(), id(), id(), id());
        let ticket =
            "INSERT INTO tickets (id, title, customer_id, assigned_to) VALUES ($1, $2, $3, $4)";
        commit_as(
            pool,
            &a,
            sqlx::query(ticket)
                .bind(t_a)
                .bind("A's ticket")
                .bind(Some(cust_a))
                .bind(None::<Uuid>),
        )
        .await;
        commit_as(
            pool,
            &b,
            sqlx::query(ticket)
                .bind(t_b)
                .bind("B's ticket")
                .bind(Some(cust_b))
                .bind(Some(agent_b)),
        )
        .await;
        commit_as(
            pool,
            &ad,
            sqlx::query(ticket)
                .bind(t_shared)
                .bind("Shared")
                .bind(None::<Uuid>)
                .bind(None::<Uuid>),
        )
        .await;
        commit_as(
            pool,
            &b,
            sqlx::query(ticket)
                .bind(t_for_a)
                .bind("For A")
                .bind(Some(cust_b))
                .bind(Some(agent_a)),
        )
        .await;
        commit_as(
            pool,
            &ad,
            sqlx::query(ticket)
                .bind(t_admin)
                .bind("Admin only")
                .bind(None::<Uuid>)
                .bind(None::<Uuid>),
        )
        .await;

        let (assignee_shared_a, assignee_shared_b) = (id(), id());
        for (row, user) in [(assignee_shared_a, agent_a), (assignee_shared_b, agent_b)] {
            commit_as(
                pool,
                &ad,
                sqlx::query(
                    "INSERT INTO ticket_assignees (id, ticket_id, user_id) VALUES ($1, $2, $3)",
                )
                .bind(row)
                .bind(t_shared)
                .bind(user),
            )
            .await;
        }

        let lead_row = |ticket: Uuid, user: Uuid| async move {
            sqlx::query_scalar::<_, Uuid>(
                "SELECT id FROM ticket_assignees WHERE ticket_id = $1 AND user_id = $2",
            )
            .bind(ticket)
            .bind(user)
            .fetch_one(pool)
            .await
            .unwrap()
        };
        let lead_b_on_t_b = lead_row(t_b, agent_b).await;
        let lead_a_on_t_for_a = lead_row(t_for_a, agent_a).await;

        let (comment_a_public, comment_a_internal, comment_b_shared_internal, comment_admin) =
            (id(), id(), id(), id());
        let comment = "INSERT INTO ticket_comments (id, ticket_id, content, is_internal) VALUES ($1, $2, $3, $4)";
        commit_as(
            pool,
            &a,
            sqlx::query(comment)
                .bind(comment_a_public)
                .bind(t_a)
                .bind("on my way")
                .bind(false),
        )
        .await;
        commit_as(
            pool,
            &a,
            sqlx::query(comment)
                .bind(comment_a_internal)
                .bind(t_a)
                .bind("customer is grumpy")
                .bind(true),
        )
        .await;
        commit_as(
            pool,
            &b,
            sqlx::query(comment)
                .bind(comment_b_shared_internal)
                .bind(t_shared)
                .bind("needs a part")
                .bind(true),
        )
        .await;
        commit_as(
            pool,
            &ad,
            sqlx::query(comment)
                .bind(comment_admin)
                .bind(t_admin)
                .bind("admin note")
                .bind(false),
        )
        .await;

        let (att_a, att_admin) = (id(), id());
        // An attachment describes an uploaded file: its object comes first.
        let object = "INSERT INTO storage.objects (bucket_id, name, size, mime_type)
                      VALUES ('ticket-attachments', $1::text || '/' || $2, 1024, 'application/pdf')";
        commit_as(pool, &a, sqlx::query(object).bind(t_a).bind("report.pdf")).await;
        commit_as(
            pool,
            &ad,
            sqlx::query(object).bind(t_admin).bind("contract.pdf"),
        )
        .await;
        let attachment = "INSERT INTO ticket_attachments (id, ticket_id, file_name, file_path, file_size, mime_type)
                          VALUES ($1, $2, $3, $2::text || '/' || $3, 1024, 'application/pdf')";
        commit_as(
            pool,
            &a,
            sqlx::query(attachment)
                .bind(att_a)
                .bind(t_a)
                .bind("report.pdf"),
        )
        .await;
        commit_as(
            pool,
            &ad,
            sqlx::query(attachment)
                .bind(att_admin)
                .bind(t_admin)
                .bind("contract.pdf"),
        )
        .await;

        let (token_a, token_b) = (id(), id());
        let token = "INSERT INTO integration_tokens (id, name, token_hash, permissions) VALUES ($1, $2, $3, $4)";
        for (claims, tok) in [(&a, token_a), (&b, token_b)] {
            commit_as(
                pool,
                claims,
                sqlx::query(token)
                    .bind(tok)
                    .bind("zapier")
                    .bind(format!("{:064x}", tok.as_u128()))
                    .bind(vec!["customers:read", "tickets:read", "comments:read"]),
            )
            .await;
        }

        World {
            agent_a,
            agent_b,
            admin,
            cust_a,
            cust_b,
            cust_spare,
            int_a,
            int_b,
            t_a,
            t_b,
            t_shared,
            t_for_a,
            t_admin,
            assignee_shared_a,
            assignee_shared_b,
            lead_b_on_t_b,
            lead_a_on_t_for_a,
            comment_a_public,
            comment_a_internal,
            comment_b_shared_internal,
            comment_admin,
            att_a,
            att_admin,
            token_a,
            token_b,
        }
    }
}
