//! The HTTP service: the router with its middleware (request ids, a
//! tracing span per request, the body limit, the error shape for unknown
//! routes), and serving with graceful shutdown. The state its handlers
//! share is `state::AppState`, so handler modules never import the router.

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use tokio::net::TcpListener;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::state::AppState;
use crate::{accounts, api, health, openapi, storage, sync, webhooks};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn router(state: AppState) -> Router {
    let max_body = state.config.max_body_bytes;
    Router::new()
        .merge(health::routes())
        .merge(openapi::routes())
        .merge(accounts::routes())
        .merge(sync::routes())
        .merge(storage::routes())
        .merge(api::routes(state.clone()))
        .merge(webhooks::routes())
        .fallback(|| async { ApiError::NotFound("no such endpoint".into()) })
        .method_not_allowed_fallback(|| async {
            ApiError::MethodNotAllowed("this endpoint does not take that method".into())
        })
        .layer(DefaultBodyLimit::max(max_body))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
            let id = request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("");
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), id)
        }))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state)
}

/// Serves until `shutdown` resolves, then stops taking new connections and
/// lets requests in flight (a push being applied) finish. With `tls`, each
/// connection is HTTPS (`tls::load`); without, plain HTTP.
///
/// Connections are served by hyper directly rather than `axum::serve`,
/// which sets no timer, so hyper's header-read timeout never applied and a
/// client could hold connections open by sending a request's headers a
/// byte at a time (security review S1). Here a request's headers must
/// arrive within `--header-read-timeout` of the connection's turn to read
/// them; a slow one is dropped. A TLS handshake has the same time.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioTimer};
    use hyper_util::server::conn::auto::Builder;

    let stopping = state.stopping.clone();
    let header_timeout = std::time::Duration::from_secs(state.config.header_read_timeout_secs);
    let app = router(state);
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    // Connections belong to this future: if it is dropped (a crash, as
    // tests make one), they end with it.
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        while connections.try_join_next().is_some() {}
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait, go on.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // What `ConnectInfo` reads, as axum's own serving would insert it.
        let service = tower::ServiceExt::map_request(
            app.clone(),
            move |mut request: Request<hyper::body::Incoming>| {
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                request
            },
        );
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let tls = tls.clone();
        connections.spawn(async move {
            let served = match tls {
                None => serve_connection(&builder, watcher, stream, service).await,
                Some(tls) => {
                    match tokio::time::timeout(header_timeout, tls.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            serve_connection(&builder, watcher, stream, service).await
                        }
                        Ok(Err(e)) => {
                            // A client that does not trust the certificate
                            // ends here, as does anything speaking plain HTTP.
                            tracing::debug!(error = %e, %peer, "TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(%peer, "TLS handshake too slow");
                            return;
                        }
                    }
                }
            };
            if let Err(e) = served {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
        });
    }
    // No new connections; live streams end; requests in flight finish.
    drop(listener);
    stopping.send_replace(true);
    graceful.shutdown().await;
    Ok(())
}

async fn serve_connection<S, I>(
    builder: &hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor>,
    watcher: hyper_util::server::graceful::Watcher,
    stream: I,
    service: S,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    S: tower::Service<
            Request<hyper::body::Incoming>,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let connection = builder.serve_connection_with_upgrades(
        hyper_util::rt::TokioIo::new(stream),
        hyper_util::service::TowerToHyperService::new(service),
    );
    watcher.watch(connection.into_owned()).await
}

/// A server running in the background of this process: what tests (of this
/// crate and of the desktop core) and embedders use.
pub struct RunningServer {
    pub addr: SocketAddr,
    https: bool,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// `http://127.0.0.1:PORT` (`https://` when it serves TLS)
    pub fn url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// A crash: the server stops at once, requests in flight are dropped
    /// where they are (their transactions roll back), as when its process
    /// is killed.
    pub fn crash(mut self) {
        self.shutdown.take();
        self.task.abort();
    }

    /// Graceful stop: requests in flight finish first.
    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        (&mut self.task).await.map_err(std::io::Error::other)?
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Binds `addr` (port 0 for any free port) and serves plain HTTP in the
/// background.
pub async fn spawn(state: AppState, addr: SocketAddr) -> std::io::Result<RunningServer> {
    spawn_with_tls(state, addr, None).await
}

/// The same, serving HTTPS with `tls`.
pub async fn spawn_with_tls(
    state: AppState,
    addr: SocketAddr,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> std::io::Result<RunningServer> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let https = tls.is_some();
    let task = tokio::spawn(serve(listener, state, tls, async {
        let _ = rx.await;
    }));
    Ok(RunningServer {
        addr,
        https,
        shutdown: Some(tx),
        task,
    })
}
