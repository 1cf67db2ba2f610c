//! Live updates: `GET /sync/events`, a server-sent-events stream that says
//! "something changed, pull now" within a fraction of a second.
//!
//! Each server process holds one `LISTEN crm_sync_changes` connection (the
//! change log notifies once per writing transaction, at commit), so a change
//! written through any process on the database wakes the clients of all of
//! them. The event carries no data: what the user may see is decided by the
//! pull, under their RLS, so the stream cannot leak anything.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use sqlx::postgres::PgListener;
use tokio::sync::broadcast;

use uuid::Uuid;

use crate::accounts::AuthUser;
use crate::state::AppState;

pub const CHANNEL: &str = "crm_sync_changes";
/// Sessions that ended (signed out, revoked, deactivated): their streams
/// close at once (security review L1).
pub const SESSIONS_CHANNEL: &str = "crm_sessions";

/// What this process's listener hears, for every open stream.
#[derive(Clone)]
pub struct Live {
    /// Something changed: pull.
    pub changes: broadcast::Sender<()>,
    /// This session ended (`None`: announcements may have been missed, so
    /// every stream checks its own).
    pub ended: broadcast::Sender<Option<Uuid>>,
}

/// Starts this process's listener.
pub fn start(pool: sqlx::PgPool) -> Live {
    let live = Live {
        changes: broadcast::channel(64).0,
        ended: broadcast::channel(256).0,
    };
    let senders = live.clone();
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(100);
        loop {
            match listen(&pool, &senders).await {
                // The server is shutting down.
                Ok(()) | Err(sqlx::Error::PoolClosed) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "live updates: listener lost; reconnecting");
                    // Whatever was announced meanwhile is lost: wake
                    // everyone, a pull finds nothing if nothing changed.
                    let _ = senders.changes.send(());
                    let _ = senders.ended.send(None);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
    });
    live
}

async fn listen(pool: &sqlx::PgPool, live: &Live) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen_all([CHANNEL, SESSIONS_CHANNEL]).await?;
    loop {
        // Some(notification), or None after a reconnect (notifications may
        // have been missed then, so tell everyone either way). A send's
        // error only means no stream is open right now.
        match listener.try_recv().await? {
            Some(n) if n.channel() == SESSIONS_CHANNEL => {
                let _ = live.ended.send(n.payload().parse().ok());
            }
            Some(_) => {
                let _ = live.changes.send(());
            }
            None => {
                let _ = live.changes.send(());
                let _ = live.ended.send(None);
            }
        }
    }
}

/// Resolves when `user`'s session is no longer live: announced as ended,
/// or found so when announcements may have been missed (and every few
/// minutes, whatever was heard).
async fn session_ends(state: AppState, user: AuthUser) {
    const RECHECK: Duration = Duration::from_secs(300);
    let mut ended = state.live.ended.subscribe();
    loop {
        let check = match tokio::time::timeout(RECHECK, ended.recv()).await {
            Ok(Ok(Some(id))) => id == user.session,
            Ok(Err(broadcast::error::RecvError::Closed)) => return,
            // Missed announcements, or time for a look anyway.
            Ok(Ok(None) | Err(broadcast::error::RecvError::Lagged(_))) | Err(_) => true,
        };
        if check && !still_live(&state, &user).await {
            return;
        }
    }
}

async fn still_live(state: &AppState, user: &AuthUser) -> bool {
    let Ok(mut tx) = crate::data::acting::begin_service(&state.pool).await else {
        // The database is away: keep the stream (its pulls fail on their own).
        return true;
    };
    let live = crate::accounts::store::session_state(&mut tx, user.session).await;
    let _ = tx.commit().await;
    match live {
        Ok(Some(state)) => state == crate::accounts::store::SessionState::Live,
        // No such session any more.
        Ok(None) => false,
        // The database is away: keep the stream.
        Err(_) => true,
    }
}

#[utoipa::path(get, path = "/sync/events", tag = "sync", security(("bearer" = [])),
    responses((status = 200, description = "text/event-stream: `ready` once, then `changes` whenever there is something to pull")))]
pub(crate) async fn events(
    State(state): State<AppState>,
    user: AuthUser,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    tracing::debug!(user = %user.id, "live stream opened");
    let receiver = state.live.changes.subscribe();
    let ends = session_ends(state.clone(), user);
    let mut stopping = state.stopping.subscribe();
    let ready = futures_util::stream::once(async { Ok(Event::default().event("ready").data("")) });
    let changes = futures_util::stream::unfold(receiver, |mut receiver| async move {
        match receiver.recv().await {
            // Lagging behind only means several changes: one pull covers them.
            Ok(()) | Err(broadcast::error::RecvError::Lagged(_)) => {
                Some((Ok(Event::default().event("changes").data("")), receiver))
            }
            Err(broadcast::error::RecvError::Closed) => None,
        }
    });
    // The server is stopping: end the stream (the client reconnects), or
    // graceful shutdown would wait for it forever.
    let until_stopping = async move {
        let _ = stopping.wait_for(|stop| *stop).await;
    };
    use futures_util::StreamExt;
    // The session ends (signed out, revoked, its account deactivated):
    // the stream ends with it, and the client's reconnection is refused.
    let stream = ready
        .chain(changes)
        .take_until(until_stopping)
        .take_until(ends);
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
