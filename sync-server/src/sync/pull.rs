//! `POST /sync/pull`: what changed for this user since their cursor.
//!
//! A fresh client first *loads*: every row it may see, table by table in
//! pages, starting from a snapshot taken before the first row is read. Then
//! it follows the *feed*: the changes whose transaction is visible in a new
//! snapshot but was not in the cursor's (see the sync_pull migration), each
//! turned into the row as the user sees it now, or a removal when they
//! cannot see it (deleted, or out of their scope). Whatever changed during
//! the load arrives through the feed, so the replica converges.
//!
//! The cursor is opaque to the client. A forged one can only make the server
//! send rows again: every row is read under the caller's RLS.

use crm_domain::codes::ErrorCode;
use std::collections::{BTreeMap, HashMap};

use axum::extract::State;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use crm_domain::catalogue::TABLES;
use crm_domain::protocol::{Change, PULL_PAGE_SIZE, Progress, PullRequest, PullResponse};
use serde::{Deserialize, Serialize};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use super::negotiate;
use crate::accounts::AuthUser;
use crate::data::acting::act_as_service;
use crate::data::{Principal, feed};
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::limits::Budget;
use crate::state::AppState;

type Tx = Transaction<'static, Postgres>;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
enum Cursor {
    /// Loading everything visible (or, for a refetch, the tables in
    /// `only`), then following the feed from `since`.
    Load {
        since: String,
        table: usize,
        after: Option<Uuid>,
        done: u64,
        total: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        only: Option<Vec<usize>>,
    },
    /// Following the change log: changes after snapshot `since`, up to
    /// `until` while a window is being paged, after change `after`.
    Feed {
        since: String,
        until: Option<String>,
        after: i64,
    },
}

impl Cursor {
    fn encode(&self) -> ApiResult<String> {
        Ok(URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).map_err(ApiError::internal)?))
    }

    fn decode(text: &str) -> ApiResult<Self> {
        let invalid = || {
            ApiError::bad_request(
                ErrorCode::InvalidCursor,
                "this cursor was not made by this server; pull without one",
            )
        };
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| invalid())?;
        serde_json::from_slice(&bytes).map_err(|_| invalid())
    }
}

#[utoipa::path(post, path = "/sync/pull", tag = "sync", security(("bearer" = [])),
    request_body(content = crm_domain::protocol::PullRequest, description = "The cursor of the previous page, or none (see docs/sync-protocol.md)"),
    responses((status = 200, description = "A page of changes, the next cursor, has_more, last_seq", body = crm_domain::protocol::PullResponse),
        (status = 400, body = crate::error::ErrorBody),
        (status = 426, description = "the app must be updated; it keeps its outbox", body = crate::error::ErrorBody)))]
#[tracing::instrument(name = "pull", skip_all, fields(user = %user.id, client = %req.client_id))]
pub(crate) async fn pull(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(req): ApiJson<PullRequest>,
) -> ApiResult<ApiJson<PullResponse>> {
    negotiate(req.protocol_version)?;
    state.budgets.spend(Budget::Pull, user.id)?;
    let cursor = req.cursor.as_deref().map(Cursor::decode).transpose()?;
    let refetch = refetch_tables(&req.refetch)?;
    // A first load, a refetch and a checksum comparison each read every
    // row the user may see: they have a budget of their own.
    if cursor.is_none() || !refetch.is_empty() {
        state.budgets.spend(Budget::Scan, user.id)?;
    }
    let page_bytes = usize::try_from(state.config.pull_page_bytes).unwrap_or(usize::MAX);

    let principal = user.principal();
    let mut tx = state.pool.begin().await?;
    feed::bound_statements(&mut tx, state.config.read_statement_timeout_ms).await?;
    act_as_service(&mut tx).await?;
    let last_seq = last_seq(&mut tx, req.client_id, user.id).await?;
    let mut response = match cursor {
        Some(Cursor::Feed { since, .. }) if !refetch.is_empty() => {
            // The feed resumes from the client's own position, so nothing
            // that changed meanwhile in the other tables is skipped.
            let names: Vec<&'static str> = refetch.iter().map(|&t| TABLES[t].name).collect();
            let total = feed::visible_count(&mut tx, &principal, names).await?;
            load(
                &mut tx,
                &principal,
                since,
                LoadFrom {
                    table: refetch[0],
                    after: None,
                    done: 0,
                    total,
                    only: Some(refetch),
                },
                page_bytes,
            )
            .await?
        }
        _ if !refetch.is_empty() => {
            return Err(ApiError::bad_request(
                ErrorCode::RefetchNeedsCursor,
                "a refetch continues a caught-up replica: send it with the cursor of its last pull",
            ));
        }
        None => {
            let since = feed::snapshot(&mut tx).await?;
            let total = feed::visible_count(&mut tx, &principal, TABLES.map(|t| t.name)).await?;
            load(
                &mut tx,
                &principal,
                since,
                LoadFrom {
                    table: 0,
                    after: None,
                    done: 0,
                    total,
                    only: None,
                },
                page_bytes,
            )
            .await?
        }
        Some(Cursor::Load {
            since,
            table,
            after,
            done,
            total,
            only,
        }) => {
            load(
                &mut tx,
                &principal,
                since,
                LoadFrom {
                    table,
                    after,
                    done,
                    total,
                    only,
                },
                page_bytes,
            )
            .await?
        }
        Some(Cursor::Feed {
            since,
            until,
            after,
        }) => follow(&mut tx, &principal, since, until, after, page_bytes).await?,
    };
    response.last_seq = last_seq;
    // Checksums read every row the user may see: over the budget for that,
    // the page goes without them and the app compares next time.
    if req.checksums
        && !response.has_more
        && !response.reset
        && state.budgets.spend(Budget::Scan, user.id).is_ok()
    {
        response.checksums = Some(feed::checksums(&mut tx, &principal).await?);
    }
    tx.commit().await?;
    Ok(ApiJson(response))
}

/// The indexes (in load order) of the tables a client asked to refetch.
fn refetch_tables(names: &[String]) -> ApiResult<Vec<usize>> {
    let mut tables = Vec::with_capacity(names.len());
    for name in names {
        let index = TABLES.iter().position(|t| t.name == name).ok_or_else(|| {
            ApiError::bad_request(
                ErrorCode::UnknownTable,
                format!("{name} is not a synced table"),
            )
        })?;
        tables.push(index);
    }
    tables.sort_unstable();
    tables.dedup();
    Ok(tables)
}

/// The first table at or after `table` that this load covers.
fn covered_from(table: usize, only: Option<&[usize]>) -> usize {
    match only {
        None => table,
        Some(only) => only
            .iter()
            .copied()
            .find(|&t| t >= table)
            .unwrap_or(TABLES.len()),
    }
}

async fn last_seq(tx: &mut Tx, client: Uuid, user: Uuid) -> ApiResult<i64> {
    let row = sqlx::query!(
        "SELECT user_id, last_seq FROM sync.clients WHERE client_id = $1",
        client
    )
    .fetch_optional(&mut **tx)
    .await?;
    match row {
        None => Ok(0),
        Some(r) if r.user_id == user => Ok(r.last_seq),
        Some(_) => Err(ApiError::forbidden(
            ErrorCode::ClientOfAnotherUser,
            "this client id belongs to another account; each account syncs with a client id of its own",
        )),
    }
}

/// Where a load goes on from: the table (an index into the catalogue's `TABLES`),
/// the last row sent of it, the rows sent so far of the total, and the
/// tables to cover (all when `None`).
struct LoadFrom {
    table: usize,
    after: Option<Uuid>,
    done: u64,
    total: u64,
    only: Option<Vec<usize>>,
}

async fn load(
    tx: &mut Tx,
    principal: &Principal,
    since: String,
    from: LoadFrom,
    page_bytes: usize,
) -> ApiResult<PullResponse> {
    let LoadFrom {
        table,
        mut after,
        mut done,
        total,
        only,
    } = from;
    let mut table = covered_from(table, only.as_deref());
    let mut changes = Vec::new();
    let mut bytes = 0usize;
    while table < TABLES.len() && changes.len() < PULL_PAGE_SIZE && bytes < page_bytes {
        let room = i32::try_from(PULL_PAGE_SIZE - changes.len()).unwrap_or(i32::MAX);
        let rows = feed::rows_page(tx, principal, TABLES[table].name, after, room).await?;
        let mut full = rows.len() == usize::try_from(room).unwrap_or(0);
        for (id, row) in rows {
            // Past the byte bound (and with a row on the page already), the
            // rest waits for the next page, which starts after the last
            // row sent.
            if bytes >= page_bytes && !changes.is_empty() {
                full = true;
                break;
            }
            bytes += row.get().len();
            after = Some(id);
            done += 1;
            changes.push(Change::Upsert {
                table: TABLES[table].name.to_owned(),
                row,
            });
        }
        if !full {
            table = covered_from(table + 1, only.as_deref());
            after = None;
        }
    }
    let cursor = if table < TABLES.len() {
        Cursor::Load {
            since,
            table,
            after,
            done,
            total,
            only,
        }
    } else {
        // Loaded: catch up with what changed meanwhile.
        Cursor::Feed {
            since,
            until: None,
            after: 0,
        }
    };
    Ok(PullResponse {
        changes,
        cursor: cursor.encode()?,
        has_more: true,
        last_seq: 0,
        reset: false,
        progress: Some(Progress {
            done,
            total: total.max(done),
        }),
        checksums: None,
    })
}

/// A page of the feed: the rows changed since the cursor's snapshot, as
/// the principal may see them now (or their removal).
async fn follow(
    tx: &mut Tx,
    principal: &Principal,
    since: String,
    until: Option<String>,
    after: i64,
    page_bytes: usize,
) -> ApiResult<PullResponse> {
    let until = match until {
        Some(u) => u,
        None => feed::snapshot(tx).await?,
    };
    if feed::cursor_expired(tx, &since)
        .await
        .map_err(snapshot_error)?
    {
        // The log this cursor would read from has been pruned: only a fresh
        // load is safe. The client keeps its outbox.
        tracing::info!("cursor older than the pruned change log; client reloads");
        return reset_response(until);
    }
    let limit = i32::try_from(PULL_PAGE_SIZE).unwrap_or(i32::MAX);
    let log = feed::changes_between(tx, &since, &until, after, limit)
        .await
        .map_err(snapshot_error)?;
    let mut has_more = log.len() > PULL_PAGE_SIZE;
    let mut log = &log[..log.len().min(PULL_PAGE_SIZE)];

    if log
        .iter()
        .any(|c| c.op == "reset" && c.row_id == principal.user_id())
    {
        return reset_response(until);
    }

    // Each changed row once, in the order of its last change.
    let mut last_position: HashMap<(&str, Uuid), usize> = HashMap::new();
    for (i, c) in log.iter().enumerate() {
        if c.op != "reset" {
            last_position.insert((c.table_name.as_str(), c.row_id), i);
        }
    }
    let mut by_table: BTreeMap<&str, Vec<Uuid>> = BTreeMap::new();
    for (table, id) in last_position.keys() {
        by_table.entry(table).or_default().push(*id);
    }
    let mut visible: HashMap<(String, Uuid), feed::RawRow> = HashMap::new();
    for (table, ids) in by_table {
        for (id, row) in feed::rows_by_id(tx, principal, table, &ids).await? {
            visible.insert((table.to_owned(), id), row);
        }
    }
    let mut ordered: Vec<(&(&str, Uuid), &usize)> = last_position.iter().collect();
    ordered.sort_by_key(|(_, position)| **position);
    // The byte bound: the page ends before the first row that would pass
    // it (one row at least). The cursor then stops before that row's last
    // change, so it and every row changed after it come on the next page;
    // a row whose changes all precede the cut is on this one.
    let mut bytes = 0usize;
    if let Some(cut) = ordered
        .iter()
        .enumerate()
        .position(|(k, ((table, id), _))| {
            let size = visible
                .get(&((*table).to_owned(), *id))
                .map_or(0, |row| row.get().len());
            bytes += size;
            k > 0 && bytes > page_bytes
        })
    {
        let stop_at = *ordered[cut].1;
        ordered.truncate(cut);
        log = &log[..stop_at];
        has_more = true;
    }
    let changes = ordered
        .into_iter()
        .map(
            |((table, id), _)| match visible.remove(&((*table).to_owned(), *id)) {
                Some(row) => Change::Upsert {
                    table: (*table).to_owned(),
                    row,
                },
                None => Change::Remove {
                    table: (*table).to_owned(),
                    row_id: *id,
                },
            },
        )
        .collect();

    let cursor = match (has_more, log.last()) {
        (true, Some(last)) => Cursor::Feed {
            since,
            until: Some(until),
            after: last.id,
        },
        _ => Cursor::Feed {
            since: until,
            until: None,
            after: 0,
        },
    };
    Ok(PullResponse {
        changes,
        cursor: cursor.encode()?,
        has_more,
        last_seq: 0,
        reset: false,
        progress: None,
        checksums: None,
    })
}

/// Tells the client to drop its replica (never its outbox) and load again.
fn reset_response(now: String) -> ApiResult<PullResponse> {
    let cursor = Cursor::Feed {
        since: now,
        until: None,
        after: 0,
    };
    Ok(PullResponse {
        changes: Vec::new(),
        cursor: cursor.encode()?,
        has_more: false,
        last_seq: 0,
        reset: true,
        progress: None,
        checksums: None,
    })
}

/// A snapshot in a cursor that PostgreSQL cannot read is the client's fault.
fn snapshot_error(e: sqlx::Error) -> ApiError {
    match &e {
        sqlx::Error::Database(d) if d.code().as_deref() == Some("22P02") => ApiError::bad_request(
            ErrorCode::InvalidCursor,
            "this cursor was not made by this server; pull without one",
        ),
        _ => e.into(),
    }
}
