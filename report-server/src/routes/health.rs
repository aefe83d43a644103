//! `/healthz` (liveness), `/readyz` (database reachable), `/metrics` (Prometheus text format).
//! `/metrics` follows the state's [`crate::metrics::MetricsAccess`]: open by default, or only on
//! the metrics listener ([`metrics_router`]), and/or behind a bearer token.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};

use crate::error::ApiError;
use crate::state::AppState;

/// The health routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

async fn readyz(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    sqlx::query("SELECT 1")
        .execute(&state.db)
        .await
        .map_err(|e| ApiError::Unavailable(format!("database: {e}")))?;
    Ok(Json(serde_json::json!({ "status": "ready" })))
}

/// The router of the separate metrics listener (`--metrics-listen`): `/metrics` only.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics_listener))
        .fallback(|| async { ApiError::NotFound("route") })
        .with_state(state)
}

async fn metrics(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    if state.metrics_access.separate_listener {
        return Err(ApiError::NotFound("route"));
    }
    render(&state, &headers)
}

async fn metrics_listener(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    render(&state, &headers)
}

fn render(state: &AppState, headers: &HeaderMap) -> Result<impl IntoResponse + use<>, ApiError> {
    state.metrics_access.check_token(headers)?;
    Ok((
        [(
            CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    ))
}
