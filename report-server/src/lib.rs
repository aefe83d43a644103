//! report-server: the franking report service (DESIGN.md §6).
//!
//! * Relays get stamps (`POST /v1/stamp`, `/v1/stamp/batch`) made with their network's current
//!   stamping key (franking-core [`KeyRing`](franking_core::frank::KeyRing)).
//! * A network's backend submits reports (`POST /v1/reports`) asserting the reporter; every report is
//!   verified completely with [`franking_core::frank::verify_report`] before anything is written,
//!   then grouped into a moderation case by (commitment, stamp).
//! * Admins manage networks, stamping keys (rotate/retire), tokens and policies (`/v1/admin/...`).
//! * `/healthz`, `/readyz`, `/metrics`.
//! * The moderator console, a browser app under `/console/` ([`console`], docs/console.md).
//!
//! Storage is sqlx `Any` over PostgreSQL or SQLite with one migration set; the process keeps no
//! state that matters for correctness, so several instances can share one PostgreSQL database.
//! Secrets at rest are sealed with the server key ([`seal`]). See `docs/operations.md`, and
//! `docs/architecture.md` for which module owns what.

pub mod attachments;
pub mod audit;
pub mod audit_chain;
pub mod auth;
pub mod bootstrap;
pub mod cache;
pub mod cases;
pub mod change;
pub mod config;
pub mod console;
pub mod db;
pub mod error;
pub mod evidence;
pub mod extract;
pub mod federation;
pub mod intake;
pub mod keys;
pub mod metrics;
pub mod notes;
pub mod page;
pub mod ratelimit;
pub mod retention;
pub mod rooms;
pub mod rotation;
pub mod routes;
pub mod seal;
pub mod state;
pub mod transparency;
pub mod util;
pub mod webhooks;
pub mod writes;

mod connection;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use tower::ServiceBuilder;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

pub use error::{ApiError, ApiResult};
pub use state::{AppState, Limits};

/// The complete HTTP application: every route, body-size limit, timeout and metrics middleware.
///
/// `POST /v1/reports` is the one route outside the server-wide body limit and request timeout: it
/// accepts multipart uploads with attachment blobs and applies its own limits while reading the
/// body ([`routes::reports`]).
pub fn router(state: AppState) -> Router {
    let limits = state.limits.clone();
    let bounded = Router::new()
        .merge(routes::health::router())
        .merge(routes::stamp::router())
        .merge(routes::report_status::router())
        .merge(routes::statements::router())
        .merge(routes::cases::router())
        .merge(routes::attachments::router())
        .merge(routes::notes::router())
        .merge(routes::federation::router())
        .merge(routes::admin::router(&state))
        .merge(routes::openapi::router())
        .merge(console::router())
        .layer(
            ServiceBuilder::new()
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::REQUEST_TIMEOUT,
                    limits.request_timeout,
                ))
                .layer(RequestBodyLimitLayer::new(limits.max_body_bytes))
                // axum's extractors have their own 2 MiB default; the configured limit governs.
                .layer(axum::extract::DefaultBodyLimit::max(limits.max_body_bytes)),
        );
    Router::new()
        .merge(bounded)
        .merge(routes::reports::router(&limits))
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(
            ServiceBuilder::new()
                .layer(axum::middleware::from_fn_with_state(
                    state.metrics.clone(),
                    metrics::track,
                ))
                .layer(axum::middleware::map_response(map_limit_errors)),
        )
        .with_state(state)
}

/// Serve `router(state)` on `listener` until `shutdown` resolves, with the connection limits of
/// `state.limits` (see [`serve_app`]).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = state.limits.clone();
    serve_app(listener, router(state), limits, shutdown).await
}

/// Serve `app` over HTTP/1.1 on `listener` until `shutdown` resolves, under `limits`:
///
/// * **Connection limit**: at most [`Limits::max_connections`] connections at once; a connection
///   accepted beyond it is closed at once (the kernel backlog never fills with connections we
///   hold open), while the connections being served carry on.
/// * **Header-read timeout**: a connection must deliver a complete request head within
///   [`Limits::header_read_timeout`] of its first byte (a new connection: of being accepted),
///   however slowly it drips bytes; otherwise it is closed.
/// * **Idle timeout**: a keep-alive connection with no request in progress is closed after
///   [`Limits::idle_timeout`] without a new request.
/// * **Graceful shutdown with a deadline**: when `shutdown` resolves, no new connection is
///   accepted, connections without a request in progress (idle, or half-way through a request
///   head) are closed, requests in progress finish (their connections then close), and after
///   [`Limits::shutdown_timeout`] whatever is left is closed and this returns.
/// * Each request carries the peer address as [`axum::extract::ConnectInfo`]; hyper's own
///   431 (request head too large) gets the JSON error body (`headers_too_large`).
pub async fn serve_app(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: Arc<Limits>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let permits = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut conns = tokio::task::JoinSet::new();
    let mut last_refusal_log: Option<Instant> = None;
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => match permits.clone().try_acquire_owned() {
                    Ok(permit) => {
                        let conn = connection::serve(
                            stream,
                            peer,
                            app.clone(),
                            limits.clone(),
                            stop_rx.clone(),
                        );
                        conns.spawn(async move {
                            conn.await;
                            drop(permit);
                        });
                    }
                    Err(_) => {
                        drop(stream);
                        if last_refusal_log.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
                            last_refusal_log = Some(Instant::now());
                            tracing::warn!(
                                max_connections = limits.max_connections,
                                "connection limit reached; closing new connections"
                            );
                        }
                    }
                },
                Err(e) => {
                    // Per-connection errors (the peer went away) are not worth a pause; others
                    // (EMFILE: out of file descriptors) are, so we do not spin.
                    if !matches!(
                        e.kind(),
                        std::io::ErrorKind::ConnectionAborted
                            | std::io::ErrorKind::ConnectionReset
                            | std::io::ErrorKind::ConnectionRefused
                    ) {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            },
        }
        while conns.try_join_next().is_some() {}
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let finished = tokio::time::timeout(limits.shutdown_timeout, async {
        while conns.join_next().await.is_some() {}
    })
    .await;
    if finished.is_err() {
        tracing::warn!(
            connections = conns.len(),
            timeout_secs = limits.shutdown_timeout.as_secs(),
            "shutdown deadline passed; closing the remaining connections"
        );
        conns.abort_all();
        while conns.join_next().await.is_some() {}
    }
    Ok(())
}

async fn fallback() -> ApiError {
    ApiError::NotFound("route")
}

/// A known path with a method it does not serve: 405 with the JSON error body.
async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// tower-http answers oversized bodies (413) and timeouts (408) without our JSON error shape;
/// rewrite those responses so every error has `{"error": {"code", "message"}}`.
async fn map_limit_errors<B>(resp: axum::http::Response<B>) -> axum::response::Response
where
    B: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    let resp = resp.map(axum::body::Body::new);
    let is_json = resp
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if is_json {
        return resp;
    }
    match resp.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge.into_response(),
        StatusCode::REQUEST_TIMEOUT => ApiError::Timeout.into_response(),
        _ => resp,
    }
}
