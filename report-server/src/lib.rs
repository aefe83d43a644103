//! report-server: the franking report service (DESIGN.md §6).
//!
//! * Relays get stamps (`POST /v1/stamp`, `/v1/stamp/batch`) made with their network's current
//!   stamping key (franking-core [`KeyRing`](franking_core::frank::KeyRing)).
//! * A network's backend submits reports (`POST /v1/reports`) asserting the reporter; every report is
//!   verified completely with [`franking_core::frank::verify_report`] before anything is written,
//!   then grouped into a moderation case by (commitment, stamp).
//! * Admins manage networks, stamping keys (rotate/retire), tokens and policies (`/v1/admin/...`).
//! * `/healthz`, `/readyz`, `/metrics`.
//!
//! Storage is sqlx `Any` over PostgreSQL or SQLite with one migration set; the process keeps no
//! state that matters for correctness, so several instances can share one PostgreSQL database.
//! Secrets at rest are sealed with the server key ([`seal`]). See `docs/operations.md`, and
//! `docs/architecture.md` for which module owns what.

pub mod attachments;
pub mod audit;
pub mod auth;
pub mod bootstrap;
pub mod cache;
pub mod cases;
pub mod change;
pub mod config;
pub mod db;
pub mod error;
pub mod evidence;
pub mod extract;
pub mod intake;
pub mod keys;
pub mod metrics;
pub mod notes;
pub mod page;
pub mod ratelimit;
pub mod retention;
pub mod routes;
pub mod seal;
pub mod state;
pub mod util;

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
        .merge(routes::cases::router())
        .merge(routes::attachments::router())
        .merge(routes::notes::router())
        .merge(routes::admin::router())
        .merge(routes::openapi::router())
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

/// Serve `router(state)` on `listener` until `shutdown` resolves, then stop accepting connections
/// and finish in-flight requests (graceful shutdown).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
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
