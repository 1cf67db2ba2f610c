//! Rules stated twice, checked against each other: what crm-domain (and the
//! replica) says against what PostgreSQL enforces. Each test fails when one
//! side alone changes: a CHECK's limit, the attachment MIME list or size in
//! the CHECK or the bucket row, a column PostgreSQL has and the replica
//! lacks, the dashboard's figures, or a row made offline that comes back
//! different from what the app showed.
#![allow(clippy::unwrap_used)]

mod support;

use chrono::{Duration, Utc};
use crm_domain::drafts::NewInteraction;
use crm_domain::validation::{self as rules, ALLOWED_ATTACHMENT_MIME_TYPES, MAX_ATTACHMENT_BYTES};
use crm_domain::{InteractionChannel, TicketPriority, TicketStatus};
use serde_json::Value;
use sqlx::PgPool;
use support::{Backend, Client, Team, new_customer};
use uuid::Uuid;

/// Whether PostgreSQL takes `value` into `table.column` of row `id` (as the
/// migrating role, so only constraints and triggers decide), changing
/// nothing either way. `Err` carries the SQLSTATE of a refusal.
async fn takes(
    pool: &PgPool,
    table: &str,
    column: &str,
    id: Uuid,
    value: Value,
) -> Result<(), String> {
    let mut tx = pool.begin().await.unwrap();
    if table == "ticket_attachments" {
        // An attachment is fixed once written (a trigger refuses every
        // change); its CHECKs are compared with triggers out of the way.
        sqlx::query("SET LOCAL session_replication_role = replica")
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    // Names come from this file's own lists; the value is bound.
    let sql = format!(
        "UPDATE {table} SET {column} = (jsonb_populate_record(NULL::{table}, jsonb_build_object('{column}', $1::jsonb))).{column} WHERE id = $2"
    );
    let outcome = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&value)
        .bind(id)
        .execute(&mut *tx)
        .await;
    tx.rollback().await.unwrap();
    match outcome {
        Ok(done) => {
            assert_eq!(done.rows_affected(), 1, "{table} {id} exists");
            Ok(())
        }
        Err(sqlx::Error::Database(e)) => Err(e.code().unwrap_or_default().to_string()),
        Err(e) => panic!("{e}"),
    }
}

/// The object an attachment row describes (its bytes are not needed here).
async fn upload(pool: &PgPool, ticket: Uuid, name: &str, size: i64, mime_type: &str) {
    sqlx::query(
        "INSERT INTO storage.objects (bucket_id, name, size, mime_type)
         VALUES ('ticket-attachments', $1::text || '/' || $2, $3, $4)",
    )
    .bind(ticket)
    .bind(name)
    .bind(size)
    .bind(mime_type)
    .execute(pool)
    .await
    .unwrap();
}

/// One row of each table with text rules, made as the migrating role.
struct Fixture {
    customer: Uuid,
    interaction: Uuid,
    ticket: Uuid,
    comment: Uuid,
    product: Uuid,
    attachment: Uuid,
    profile: Uuid,
    token: Uuid,
}

async fn fixture(pool: &PgPool, team: &Team) -> Fixture {
    let f = Fixture {
        customer: Uuid::now_v7(),
        interaction: Uuid::now_v7(),
        ticket: Uuid::now_v7(),
        comment: Uuid::now_v7(),
        product: Uuid::now_v7(),
        attachment: Uuid::now_v7(),
        profile: team.ben,
        token: Uuid::now_v7(),
    };
    let ben = team.ben;
    for (sql, ids) in [
        (
            "INSERT INTO customers (id, name, owner) VALUES ($1, 'Parity', $2)",
            (f.customer, ben),
        ),
        (
            "INSERT INTO products (id, name, is_active) VALUES ($1, 'Parity', false) RETURNING $2::uuid",
            (f.product, ben),
        ),
        (
            "INSERT INTO integration_tokens (id, name, token_hash, permissions, created_by)
          VALUES ($1, 'parity', repeat('b', 64), '{tickets:read}', $2)",
            (f.token, ben),
        ),
    ] {
        sqlx::query(sql)
            .bind(ids.0)
            .bind(ids.1)
            .execute(pool)
            .await
            .unwrap();
    }
    sqlx::query(
        "INSERT INTO customer_interactions (id, customer_id, type, channel, created_by)
         VALUES ($1, $2, 'call', 'phone', $3)",
    )
    .bind(f.interaction)
    .bind(f.customer)
    .bind(ben)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO tickets (id, title, created_by) VALUES ($1, 'Parity', $2)")
        .bind(f.ticket)
        .bind(ben)
        .execute(pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO ticket_comments (id, ticket_id, content, created_by) VALUES ($1, $2, 'x', $3)",
    )
    .bind(f.comment)
    .bind(f.ticket)
    .bind(ben)
    .execute(pool)
    .await
    .unwrap();
    upload(pool, f.ticket, "a.png", 5, "image/png").await;
    sqlx::query(
        "INSERT INTO ticket_attachments (id, ticket_id, file_name, file_path, file_size, mime_type, uploaded_by)
         VALUES ($1, $2, 'a.png', $2 || '/a.png', 5, 'image/png', $3)",
    )
    .bind(f.attachment)
    .bind(f.ticket)
    .bind(ben)
    .execute(pool)
    .await
    .unwrap();
    f
}

#[tokio::test]
async fn text_limits_are_the_same_in_the_domain_and_in_postgresql() {
    let backend = Backend::start().await;
    let team = Team::create(&backend).await;
    let pool = backend.pool();
    let f = fixture(pool, &team).await;
    // (table, column, row, the domain's limit in characters).
    let limits = [
        (
            "customers",
            "name",
            f.customer,
            rules::CUSTOMER_NAME_MAX_CHARS,
        ),
        ("customers", "phone", f.customer, rules::PHONE_MAX_CHARS),
        (
            "customer_interactions",
            "type",
            f.interaction,
            rules::INTERACTION_TYPE_MAX_CHARS,
        ),
        (
            "customer_interactions",
            "note",
            f.interaction,
            rules::INTERACTION_NOTE_MAX_CHARS,
        ),
        ("tickets", "title", f.ticket, rules::TICKET_TITLE_MAX_CHARS),
        (
            "tickets",
            "description",
            f.ticket,
            rules::TICKET_DESCRIPTION_MAX_CHARS,
        ),
        (
            "ticket_comments",
            "content",
            f.comment,
            rules::COMMENT_CONTENT_MAX_CHARS,
        ),
        ("products", "name", f.product, rules::PRODUCT_NAME_MAX_CHARS),
        (
            "products",
            "description",
            f.product,
            rules::PRODUCT_DESCRIPTION_MAX_CHARS,
        ),
        (
            "profiles",
            "full_name",
            f.profile,
            rules::FULL_NAME_MAX_CHARS,
        ),
        (
            "profiles",
            "avatar_url",
            f.profile,
            rules::AVATAR_URL_MAX_CHARS,
        ),
        (
            "integration_tokens",
            "name",
            f.token,
            rules::INTEGRATION_TOKEN_NAME_MAX_CHARS,
        ),
    ];
    for (table, column, id, max) in limits {
        // Characters of two bytes, so a byte count where characters are
        // meant shows; digits where the rule wants them.
        let unit = if column == "phone" { "1" } else { "é" };
        let at = unit.repeat(max);
        let past = unit.repeat(max + 1);
        assert_eq!(
            takes(pool, table, column, id, Value::String(at)).await,
            Ok(()),
            "{table}.{column} takes {max} as the domain does"
        );
        assert!(
            takes(pool, table, column, id, Value::String(past))
                .await
                .is_err(),
            "{table}.{column} refuses {} as the domain does",
            max + 1
        );
    }
    // A file name counts bytes (its object path follows it).
    for (len, ok) in [
        (rules::ATTACHMENT_FILE_NAME_MAX_BYTES, true),
        (rules::ATTACHMENT_FILE_NAME_MAX_BYTES + 1, false),
    ] {
        let name = "a".repeat(len);
        assert_eq!(rules::validate_attachment_file_name(&name).is_ok(), ok);
        let mut tx = pool.begin().await.unwrap();
        sqlx::query(
            "INSERT INTO storage.objects (bucket_id, name, size, mime_type)
             VALUES ('ticket-attachments', $1::text || '/' || $2, 5, 'image/png')",
        )
        .bind(f.ticket)
        .bind(&name)
        .execute(&mut *tx)
        .await
        .unwrap();
        // A new row: the path is fixed once written.
        let outcome = sqlx::query(
            "INSERT INTO ticket_attachments (ticket_id, file_name, file_path, file_size, mime_type, uploaded_by)
             SELECT ticket_id, $1, ticket_id::text || '/' || $1, 5, 'image/png', uploaded_by
             FROM ticket_attachments WHERE id = $2",
        )
        .bind(&name)
        .bind(f.attachment)
        .execute(&mut *tx)
        .await;
        tx.rollback().await.unwrap();
        assert_eq!(
            outcome.is_ok(),
            ok,
            "ticket_attachments.file_name at {len} bytes"
        );
    }
    // Email: the longest the domain allows, and one more.
    let email = |len: usize| format!("{}@example.com", "a".repeat(len - "@example.com".len()));
    assert!(rules::validate_email(&email(rules::EMAIL_MAX_CHARS)).is_ok());
    assert_eq!(
        takes(
            pool,
            "customers",
            "email",
            f.customer,
            email(rules::EMAIL_MAX_CHARS).into()
        )
        .await,
        Ok(())
    );
    assert!(rules::validate_email(&email(rules::EMAIL_MAX_CHARS + 1)).is_err());
    assert!(
        takes(
            pool,
            "customers",
            "email",
            f.customer,
            email(rules::EMAIL_MAX_CHARS + 1).into()
        )
        .await
        .is_err()
    );
}

#[tokio::test]
async fn phone_numbers_are_judged_alike_by_the_domain_and_postgresql() {
    let backend = Backend::start().await;
    let team = Team::create(&backend).await;
    let f = fixture(backend.pool(), &team).await;
    for phone in [
        "+49 30 1234567",
        "(030) 123-45.67",
        "12345",
        "1234",
        "+1 (555) 010-9999",
        "+49/30/1234567",
        "0049 30 abc 1234",
        "０３０１２３４５",
        "1-2-3-4",
        "    12345",
    ] {
        let domain = rules::validate_phone(phone).is_ok();
        let sql = takes(
            backend.pool(),
            "customers",
            "phone",
            f.customer,
            phone.into(),
        )
        .await
        .is_ok();
        assert_eq!(domain, sql, "{phone:?}: domain {domain}, PostgreSQL {sql}");
    }
}

#[tokio::test]
async fn attachment_types_and_size_are_the_same_in_the_domain_the_check_and_the_bucket() {
    let backend = Backend::start().await;
    let team = Team::create(&backend).await;
    let pool = backend.pool();
    let f = fixture(pool, &team).await;
    let (limit, mut types): (Option<i64>, Option<Vec<String>>) = sqlx::query_as(
        "SELECT file_size_limit, allowed_mime_types FROM storage.buckets WHERE id = 'ticket-attachments'",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    let mut domain: Vec<String> = ALLOWED_ATTACHMENT_MIME_TYPES
        .iter()
        .map(|t| t.to_string())
        .collect();
    domain.sort();
    types.as_mut().unwrap().sort();
    assert_eq!(
        types.unwrap(),
        domain,
        "the bucket's types are the domain's"
    );
    assert_eq!(
        limit,
        Some(MAX_ATTACHMENT_BYTES),
        "the bucket's size limit is the domain's"
    );
    for mime in ALLOWED_ATTACHMENT_MIME_TYPES {
        assert!(rules::validate_attachment_mime_type(mime).is_ok());
        assert_eq!(
            takes(
                pool,
                "ticket_attachments",
                "mime_type",
                f.attachment,
                mime.into()
            )
            .await,
            Ok(()),
            "the CHECK takes {mime}"
        );
    }
    for mime in [
        "image/svg+xml",
        "text/html",
        "application/x-msdownload",
        "IMAGE/PNG",
    ] {
        assert!(
            rules::validate_attachment_mime_type(mime).is_err(),
            "{mime}"
        );
        assert!(
            takes(
                pool,
                "ticket_attachments",
                "mime_type",
                f.attachment,
                mime.into()
            )
            .await
            .is_err(),
            "the CHECK refuses {mime}"
        );
    }
    assert!(rules::validate_attachment_size(MAX_ATTACHMENT_BYTES).is_ok());
    assert!(rules::validate_attachment_size(MAX_ATTACHMENT_BYTES + 1).is_err());
    assert_eq!(
        takes(
            pool,
            "ticket_attachments",
            "file_size",
            f.attachment,
            MAX_ATTACHMENT_BYTES.into()
        )
        .await,
        Ok(())
    );
    assert!(
        takes(
            pool,
            "ticket_attachments",
            "file_size",
            f.attachment,
            (MAX_ATTACHMENT_BYTES + 1).into()
        )
        .await
        .is_err()
    );
}

#[tokio::test]
async fn the_replica_has_every_column_postgresql_has() {
    let backend = Backend::start().await;
    Team::create(&backend).await;
    let ben = Client::sign_in(&backend, "ben@example.com").await;
    let mut tables: Vec<&str> = crm_domain::protocol::SyncTable::ALL
        .iter()
        .map(|t| t.name())
        .collect();
    tables.push("ticket_workflow_history");
    for table in tables {
        let mut server: Vec<String> = sqlx::query_scalar(
            "SELECT column_name::text FROM information_schema.columns
             WHERE table_schema = 'public' AND table_name = $1",
        )
        .bind(table)
        .fetch_all(backend.pool())
        .await
        .unwrap();
        let mut replica: Vec<String> = ben.with(|s| s.column_names(table).unwrap());
        server.sort();
        replica.sort();
        assert_eq!(
            replica, server,
            "{table}: the replica holds what a pull brings"
        );
    }
}

#[tokio::test]
async fn the_catalogue_states_postgresqls_columns_their_types_and_defaults() {
    use crm_domain::catalogue::{Fill, Kind, TABLES};
    let backend = Backend::start().await;
    // `conflicts` reaches clients through a view of `sync.conflicts`; every
    // other catalogued table is a public one, column for column.
    for table in TABLES.iter().filter(|t| t.name != "conflicts") {
        let columns: Vec<(String, String, Option<String>)> = sqlx::query_as(
            "SELECT column_name::text, data_type::text, column_default::text
             FROM information_schema.columns
             WHERE table_schema = 'public' AND table_name = $1
             ORDER BY ordinal_position",
        )
        .bind(table.name)
        .fetch_all(backend.pool())
        .await
        .unwrap();
        let names: Vec<&str> = columns.iter().map(|(n, ..)| n.as_str()).collect();
        let ours: Vec<&str> = table.columns.iter().map(|c| c.name).collect();
        assert_eq!(ours, names, "{}: the same columns, in order", table.name);
        for (column, (name, data_type, default)) in table.columns.iter().zip(&columns) {
            let kind = match data_type.as_str() {
                "uuid" => Kind::Uuid,
                "text" | "USER-DEFINED" => Kind::Text,
                "integer" | "bigint" => Kind::Int,
                "boolean" => Kind::Bool,
                "timestamp with time zone" => Kind::Timestamp,
                "jsonb" => Kind::Json,
                other => panic!("{}.{name}: no kind for {other}", table.name),
            };
            assert_eq!(column.kind, kind, "{}.{name}", table.name);
            let fill = match default.as_deref() {
                None => None,
                // Ids are made by whoever makes the row, client or server.
                Some("public.uuid_generate_v7()" | "uuid_generate_v7()") => continue,
                Some("now()") => Some(Fill::Now),
                Some("auth.uid()") => Some(Fill::Me),
                Some("true") => Some(Fill::Bool(true)),
                Some("false") => Some(Fill::Bool(false)),
                Some(text) => {
                    let literal = text.strip_prefix('\'').and_then(|t| t.split_once("'::"));
                    let (value, _) = literal.unwrap_or_else(|| {
                        panic!("{}.{name}: an unknown default {text}", table.name)
                    });
                    Some(Fill::Text(value.to_string().leak()))
                }
            };
            assert_eq!(column.fill, fill, "{}.{name}: its default", table.name);
        }
    }
}

#[tokio::test]
async fn the_offline_dashboard_counts_what_get_dashboard_data_counts() {
    let backend = Backend::start().await;
    let team = Team::create(&backend).await;
    let mut ben = Client::sign_in(&backend, "ben@example.com").await;
    ben.start_sync();
    // A small world: customers in several stages (one archived),
    // follow-ups overdue, upcoming, done and far off, tickets in several
    // states, some assigned to Ben.
    let mut customers = Vec::new();
    for name in ["Alpha", "Beta", "Gamma", "Delta"] {
        customers.push(ben.with(|s| s.create_customer(new_customer(name)).unwrap()));
    }
    let archived = crm_desktop_core::store::customers::CustomerEdit {
        is_archived: true,
        ..support::edit_of(&customers[3])
    };
    ben.with(|s| s.update_customer(customers[3].id, archived).unwrap());
    for (i, days) in [-3i64, -1, 2, 5, 30].into_iter().enumerate() {
        let logged = ben.with(|s| {
            s.log_interaction(NewInteraction {
                customer_id: customers[i % 3].id,
                interaction_type: "call".into(),
                channel: InteractionChannel::Phone,
                note: None,
                follow_up_date: Some(Utc::now() + Duration::days(days)),
                occurred_at: Some(Utc::now() - Duration::days(i as i64 * 3)),
            })
            .unwrap()
        });
        if i == 1 {
            ben.with(|s| s.complete_follow_up(logged.id).unwrap());
        }
    }
    for (i, priority) in [
        TicketPriority::Urgent,
        TicketPriority::High,
        TicketPriority::Low,
    ]
    .into_iter()
    .enumerate()
    {
        let ticket = ben.with(|s| {
            s.open_ticket(crm_domain::NewTicket {
                title: format!("Ticket {i}"),
                description: None,
                priority,
                customer_id: Some(customers[i].id),
                assigned_to: (i < 2).then_some(team.ben),
            })
            .unwrap()
        });
        if i == 1 {
            let page = ben.with(|s| s.ticket_page(ticket.id).unwrap());
            ben.with(|s| {
                s.update_ticket(
                    ticket.id,
                    crm_desktop_core::store::tickets::TicketEdit {
                        title: page.ticket.title.clone(),
                        description: None,
                        priority,
                        status: TicketStatus::Resolved,
                        customer_id: page.ticket.customer_id,
                        assigned_to: page.ticket.assigned_to,
                    },
                )
                .unwrap()
            });
        }
    }
    ben.synced().await;
    ben.synced().await;

    let here = serde_json::to_value(ben.with(|s| s.dashboard().unwrap())).unwrap();
    let there: Value = {
        let mut tx = sync_server::data::acting::begin_as(
            backend.pool(),
            &sync_server::data::Claims::user(team.ben),
        )
        .await
        .unwrap();
        let v = sqlx::query_scalar("SELECT get_dashboard_data()")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        v
    };
    for key in [
        "customers",
        "my_open_tickets",
        "follow_ups_overdue",
        "follow_ups_next_7_days",
        "interactions_last_7_days",
    ] {
        assert_eq!(
            here[key], there[key],
            "{key}: replica {} / server {}",
            here[key], there[key]
        );
    }
    for key in [
        "open",
        "urgent_open",
        "resolved_last_7_days",
        "by_status",
        "by_priority",
    ] {
        assert_eq!(
            here["tickets"][key], there["tickets"][key],
            "tickets.{key}: replica {} / server {}",
            here["tickets"][key], there["tickets"][key]
        );
    }
    assert_eq!(there["follow_ups_overdue"], 1, "{there}");
    ben.stop_sync().await;
}

/// A row as the app shows it, without what only the server can know: when
/// it last changed there, and the workflow's stamps, which say when the
/// server applied the move (their presence is compared instead).
fn shown(mut row: Value) -> Value {
    let map = row.as_object_mut().unwrap();
    map.remove("updated_at");
    for stamp in ["resolved_at", "closed_at"] {
        if let Some(v) = map.get_mut(stamp) {
            *v = Value::Bool(!v.is_null());
        }
    }
    row
}

#[tokio::test]
async fn rows_made_offline_come_back_from_the_server_as_the_app_showed_them() {
    let mut backend = Backend::start().await;
    let team = Team::create(&backend).await;
    let mut ben = Client::sign_in(&backend, "ben@example.com").await;
    ben.start_sync();
    ben.synced().await;

    // Offline, with only what a form asks for: everything else is the
    // defaults and stamps the core fills in as the server would.
    backend.stop().await;
    let customer = ben.with(|s| s.create_customer(new_customer("Defaults Ltd")).unwrap());
    let interaction = ben.with(|s| {
        s.log_interaction(NewInteraction {
            customer_id: customer.id,
            interaction_type: "call".into(),
            channel: InteractionChannel::Email,
            note: None,
            follow_up_date: Some(Utc::now() + Duration::days(2)),
            occurred_at: None,
        })
        .unwrap()
    });
    let ticket = ben.with(|s| {
        s.open_ticket(crm_domain::NewTicket {
            title: "Defaults".into(),
            description: None,
            priority: TicketPriority::default(),
            customer_id: Some(customer.id),
            assigned_to: Some(team.ben),
        })
        .unwrap()
    });
    // One left as opened: its defaults are the core's alone until synced.
    let untouched = ben.with(|s| {
        s.open_ticket(crm_domain::NewTicket {
            title: "Untouched".into(),
            description: None,
            priority: TicketPriority::default(),
            customer_id: None,
            assigned_to: None,
        })
        .unwrap()
    });
    let comment = ben.with(|s| {
        s.add_comment(crm_domain::NewComment {
            ticket_id: ticket.id,
            content: "on it".into(),
            is_internal: false,
        })
        .unwrap()
    });
    for status in [TicketStatus::InProgress, TicketStatus::Resolved] {
        let current = ben.with(|s| s.ticket(ticket.id).unwrap());
        ben.with(|s| {
            s.update_ticket(
                ticket.id,
                crm_desktop_core::store::tickets::TicketEdit {
                    title: current.title.clone(),
                    description: current.description.clone(),
                    priority: current.priority,
                    status,
                    customer_id: current.customer_id,
                    assigned_to: current.assigned_to,
                },
            )
            .unwrap()
        });
    }
    let snapshot = |ben: &Client| {
        ben.with(|s| {
            let page = s.ticket_page(ticket.id).unwrap();
            vec![
                shown(serde_json::to_value(s.customer(customer.id).unwrap()).unwrap()),
                shown(serde_json::to_value(s.interaction(interaction.id).unwrap()).unwrap()),
                shown(serde_json::to_value(&page.ticket).unwrap()),
                shown(serde_json::to_value(s.ticket(untouched.id).unwrap()).unwrap()),
                shown(serde_json::to_value(s.comment(comment.id).unwrap()).unwrap()),
                serde_json::to_value(
                    page.assignees
                        .iter()
                        .map(|a| (a.assignee.user_id, a.assignee.assigned_by))
                        .collect::<Vec<_>>(),
                )
                .unwrap(),
            ]
        })
    };
    let offline = snapshot(&ben);

    backend.restart().await;
    ben.synced().await;
    assert!(ben.with(|s| s.inbox().unwrap()).is_empty());
    assert_eq!(ben.with(|s| s.pending_count().unwrap()), 0);
    let pulled = snapshot(&ben);
    for (made, came_back) in offline.iter().zip(&pulled) {
        assert_eq!(
            made, came_back,
            "what the app showed offline is what the server made"
        );
    }
    ben.stop_sync().await;
}

/// How many rows of `table` in the replica file at `path` have `column` =
/// `id` (read beside the app's own connection, as SQLite allows).
fn replica_count(path: &std::path::Path, table: &str, column: &str, id: Uuid) -> i64 {
    let conn = crm_desktop_core::fixtures::side_connection(
        path,
        &crm_desktop_core::fixtures::test_passphrase(),
    );
    // Names come from PostgreSQL's catalog of this schema, not from input.
    conn.query_row(
        &format!("SELECT count(*) FROM {table} WHERE {column} = ?1"),
        [id.to_string()],
        |r| r.get(0),
    )
    .unwrap()
}

#[tokio::test]
async fn a_local_delete_takes_the_same_dependants_as_the_servers_cascades() {
    let backend = Backend::start().await;
    let team = Team::create(&backend).await;
    let mut ada = Client::sign_in(&backend, "ada@example.com").await;
    ada.start_sync();
    // A customer with an interaction, and a ticket with one row of each
    // kind that hangs off it (its history comes from the server).
    let customer = ada.with(|s| s.create_customer(new_customer("Cascade Co")).unwrap());
    ada.with(|s| {
        s.log_interaction(NewInteraction {
            customer_id: customer.id,
            interaction_type: "call".into(),
            channel: InteractionChannel::Phone,
            note: None,
            follow_up_date: None,
            occurred_at: None,
        })
        .unwrap()
    });
    let ticket = ada.with(|s| {
        s.open_ticket(crm_domain::NewTicket {
            title: "Cascade".into(),
            description: None,
            priority: TicketPriority::Low,
            customer_id: None,
            assigned_to: Some(team.ben),
        })
        .unwrap()
    });
    ada.with(|s| {
        s.add_comment(crm_domain::NewComment {
            ticket_id: ticket.id,
            content: "x".into(),
            is_internal: true,
        })
        .unwrap()
    });
    ada.synced().await;
    upload(backend.pool(), ticket.id, "a.pdf", 5, "application/pdf").await;
    sqlx::query(
        "INSERT INTO ticket_attachments (ticket_id, file_name, file_path, file_size, mime_type, uploaded_by)
         VALUES ($1, 'a.pdf', $1 || '/a.pdf', 5, 'application/pdf', $2)",
    )
    .bind(ticket.id)
    .bind(team.ada)
    .execute(backend.pool())
    .await
    .unwrap();
    ada.synced().await;

    // What PostgreSQL deletes with a customer or a ticket.
    let cascades: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT c.conrelid::regclass::text, a.attname::text, c.confrelid::regclass::text
         FROM pg_constraint c
         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
         WHERE c.contype = 'f' AND c.confdeltype = 'c'
           AND c.confrelid IN ('public.customers'::regclass, 'public.tickets'::regclass)",
    )
    .fetch_all(backend.pool())
    .await
    .unwrap();
    assert!(cascades.len() >= 5, "{cascades:?}");
    let replica = ada.session.replica_path();
    let parent_of = |parent: &str| {
        if parent == "customers" {
            customer.id
        } else {
            ticket.id
        }
    };
    for (child, column, parent) in &cascades {
        assert!(
            replica_count(&replica, child, column, parent_of(parent)) > 0,
            "the replica holds a {child} row of the {parent} row"
        );
    }

    ada.stop_sync().await;
    ada.with(|s| s.delete_ticket(ticket.id).unwrap());
    ada.with(|s| s.delete_customer(customer.id).unwrap());
    for (child, column, parent) in &cascades {
        assert_eq!(
            replica_count(&replica, child, column, parent_of(parent)),
            0,
            "deleting the {parent} row here takes its {child} rows, as PostgreSQL's cascade does"
        );
    }
}

/// One change an agent might attempt: what the app's local pre-check says,
/// and the same change as a mutation, for the server to judge.
struct Attempt {
    what: &'static str,
    local: bool,
    mutation: (
        crm_domain::protocol::SyncTable,
        Uuid,
        crm_domain::protocol::MutationOp,
    ),
}

fn update(field: &str, base: Value, value: Value) -> crm_domain::protocol::MutationOp {
    crm_domain::protocol::MutationOp::Update {
        changes: std::collections::BTreeMap::from([(
            field.to_string(),
            crm_domain::protocol::FieldChange { base, value },
        )]),
    }
}

#[tokio::test]
async fn the_apps_access_pre_checks_agree_with_the_servers_rules() {
    use crm_domain::protocol::{MutationOp, MutationOutcome, PushRequest, SyncTable};
    let backend = Backend::start().await;
    let team = Team::create(&backend).await;
    let mut ben = Client::sign_in(&backend, "ben@example.com").await;
    let mut ada = Client::sign_in(&backend, "ada@example.com").await;
    ben.start_sync();
    ada.start_sync();
    // Ben's customer; a ticket Ada opened and gave Ben, with a comment of
    // each.
    let mine = ben.with(|s| s.create_customer(new_customer("Ben's Bakery")).unwrap());
    ben.synced().await;
    let ticket = ada.with(|s| {
        s.open_ticket(crm_domain::NewTicket {
            title: "Given to Ben".into(),
            description: None,
            priority: TicketPriority::Medium,
            customer_id: None,
            assigned_to: Some(team.ben),
        })
        .unwrap()
    });
    let adas_comment = ada.with(|s| {
        s.add_comment(crm_domain::NewComment {
            ticket_id: ticket.id,
            content: "Ada's".into(),
            is_internal: false,
        })
        .unwrap()
    });
    ada.synced().await;
    ben.synced().await;
    let bens_comment = ben.with(|s| {
        s.add_comment(crm_domain::NewComment {
            ticket_id: ticket.id,
            content: "Ben's".into(),
            is_internal: false,
        })
        .unwrap()
    });
    ben.synced().await;
    ben.stop_sync().await;
    ada.stop_sync().await;

    let edit = |s: &mut crm_desktop_core::Store, owner: Uuid| {
        let c = s.customer(mine.id).unwrap();
        s.update_customer(
            mine.id,
            crm_desktop_core::store::customers::CustomerEdit {
                owner: Some(owner),
                ..support::edit_of(&c)
            },
        )
    };
    let me = Value::String(team.ben.to_string());
    let attempts = [
        Attempt {
            what: "an agent hands their customer to a colleague",
            local: ben.with(|s| edit(s, team.cy).is_ok()),
            mutation: (
                SyncTable::Customers,
                mine.id,
                update("owner", me.clone(), team.cy.to_string().into()),
            ),
        },
        Attempt {
            what: "an agent edits a colleague's comment",
            local: ben.with(|s| {
                s.edit_comment(adas_comment.id, "mine now".into(), false)
                    .is_ok()
            }),
            mutation: (
                SyncTable::TicketComments,
                adas_comment.id,
                update("content", "Ada's".into(), "mine now".into()),
            ),
        },
        Attempt {
            what: "an agent deletes a colleague's comment",
            local: ben.with(|s| s.delete_comment(adas_comment.id).is_ok()),
            mutation: (
                SyncTable::TicketComments,
                adas_comment.id,
                MutationOp::Delete,
            ),
        },
        Attempt {
            what: "an agent edits their own comment",
            local: ben.with(|s| {
                s.edit_comment(bens_comment.id, "Ben's, edited".into(), false)
                    .is_ok()
            }),
            mutation: (
                SyncTable::TicketComments,
                bens_comment.id,
                update("content", "Ben's".into(), "Ben's, edited".into()),
            ),
        },
        Attempt {
            what: "an assignee retitles the ticket",
            local: ben.with(|s| {
                let t = s.ticket(ticket.id).unwrap();
                s.update_ticket(
                    ticket.id,
                    crm_desktop_core::store::tickets::TicketEdit {
                        title: "Retitled".into(),
                        description: t.description,
                        priority: t.priority,
                        status: t.status,
                        customer_id: t.customer_id,
                        assigned_to: t.assigned_to,
                    },
                )
                .is_ok()
            }),
            mutation: (
                SyncTable::Tickets,
                ticket.id,
                update("title", "Given to Ben".into(), "Retitled".into()),
            ),
        },
        // Deletions last: one the app wrongly allowed would take the rows
        // the other attempts need.
        Attempt {
            what: "an agent deletes a ticket",
            local: ben.with(|s| s.delete_ticket(ticket.id).is_ok()),
            mutation: (SyncTable::Tickets, ticket.id, MutationOp::Delete),
        },
        Attempt {
            what: "an agent deletes their customer",
            local: ben.with(|s| s.delete_customer(mine.id).is_ok()),
            mutation: (SyncTable::Customers, mine.id, MutationOp::Delete),
        },
    ];

    // The same changes, sent as they are by a client without the checks.
    let client_id = Uuid::now_v7();
    let mutations: Vec<_> = attempts
        .iter()
        .enumerate()
        .map(|(i, a)| crm_domain::protocol::Mutation {
            seq: i as i64 + 1,
            table: a.mutation.0,
            row_id: a.mutation.1,
            op: a.mutation.2.clone(),
            edited_at: Utc::now(),
        })
        .collect();
    let token = ben.session.access_token().await.unwrap();
    let pushed = ben
        .session
        .api()
        .push(
            &token,
            &PushRequest {
                protocol_version: crm_domain::protocol::PROTOCOL_VERSION,
                client_id,
                mutations,
            },
        )
        .await
        .unwrap();
    for (attempt, result) in attempts.iter().zip(&pushed.results) {
        let server = matches!(
            result.outcome,
            MutationOutcome::Applied | MutationOutcome::Merged { .. }
        );
        assert_eq!(
            attempt.local, server,
            "{}: the app says {}, the server {:?}",
            attempt.what, attempt.local, result.outcome
        );
    }
    // Some of each, or the test proves little.
    assert!(attempts.iter().any(|a| a.local) && attempts.iter().any(|a| !a.local));
}

#[tokio::test]
async fn the_synced_table_lists_in_sql_are_the_protocols() {
    use crm_domain::protocol::SyncTable;
    let pulled_tables: Vec<&str> = crm_domain::catalogue::TABLES.map(|t| t.name).into();
    let backend = Backend::start().await;
    let pool = backend.pool();
    let pulled: Vec<String> = sqlx::query_scalar("SELECT unnest(sync.pulled_tables())")
        .fetch_all(pool)
        .await
        .unwrap();
    assert_eq!(
        pulled, pulled_tables,
        "the same tables, loaded in the same order"
    );
    // What a client may write: every table of the protocol, and no other.
    let writable = |table: String| async move {
        sqlx::query("SELECT sync.checked_table($1)")
            .bind(table)
            .execute(pool)
            .await
            .is_ok()
    };
    for table in SyncTable::ALL {
        assert!(
            writable(table.name().into()).await,
            "{} is writable",
            table.name()
        );
    }
    for table in pulled_tables
        .iter()
        .filter(|t| SyncTable::from_name(t).is_none())
        .chain(&["audit_history", "integration_tokens", "nope"])
    {
        assert!(!writable((*table).into()).await, "{table} is not writable");
    }
}

#[tokio::test]
async fn the_columns_a_client_may_write_are_the_same_in_sql_and_in_the_protocol() {
    use crm_domain::protocol::SyncTable;
    let backend = Backend::start().await;
    for table in SyncTable::ALL {
        for (op, domain) in [
            ("insert", table.insertable_columns().collect::<Vec<_>>()),
            ("update", table.updatable_columns().collect()),
        ] {
            let sql: Vec<String> =
                sqlx::query_scalar("SELECT unnest(sync.writable_columns($1, $2))")
                    .bind(table.name())
                    .bind(op)
                    .fetch_all(backend.pool())
                    .await
                    .unwrap();
            assert_eq!(sql, domain, "{} {op}", table.name());
        }
    }
    // And the functions that apply a client's write refuse anything else,
    // whoever calls them.
    let refused = sqlx::query(
        "SELECT sync.apply_update('customers', gen_random_uuid(), '{\"updated_at\": \"2000-01-01T00:00:00Z\"}')",
    )
    .execute(backend.pool())
    .await
    .unwrap_err();
    assert_eq!(
        refused
            .as_database_error()
            .and_then(|e| e.code())
            .as_deref(),
        Some("42501")
    );
}
