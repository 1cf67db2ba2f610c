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

use crate::accounts::AuthUser;
use crate::state::AppState;

pub const CHANNEL: &str = "crm_sync_changes";

/// Starts this process's listener; its wake-ups go to every open stream.
pub fn start(pool: sqlx::PgPool) -> broadcast::Sender<()> {
    let (wake, _) = broadcast::channel(64);
    let sender = wake.clone();
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(100);
        loop {
            match listen(&pool, &sender).await {
                // The server is shutting down.
                Ok(()) | Err(sqlx::Error::PoolClosed) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "live updates: listener lost; reconnecting");
                    // Whatever was announced meanwhile is lost: wake
                    // everyone, a pull finds nothing if nothing changed.
                    let _ = sender.send(());
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
    });
    wake
}

async fn listen(pool: &sqlx::PgPool, wake: &broadcast::Sender<()>) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    loop {
        // Some(notification), or None after a reconnect (notifications may
        // have been missed then, so wake everyone either way).
        listener.try_recv().await?;
        // An error only means no stream is open right now.
        let _ = wake.send(());
    }
}

#[utoipa::path(get, path = "/sync/events", tag = "sync", security(("bearer" = [])),
    responses((status = 200, description = "text/event-stream: `ready` once, then `changes` whenever there is something to pull")))]
pub(crate) async fn events(
    State(state): State<AppState>,
    user: AuthUser,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    tracing::debug!(user = %user.id, "live stream opened");
    let receiver = state.live.subscribe();
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
    let stream = ready.chain(changes).take_until(until_stopping);
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
