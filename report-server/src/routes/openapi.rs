//! `GET /v1/openapi.json` (no authentication): the OpenAPI 3.1 document of this server.
//!
//! One source of truth: the document is `docs/openapi.json` in the repository, embedded at build
//! time. `tests/openapi.rs` checks that it is valid OpenAPI 3.x JSON and that it lists exactly the
//! routes the router serves.

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::state::AppState;

/// The OpenAPI document (`docs/openapi.json`).
pub const OPENAPI_JSON: &str = include_str!("../../../docs/openapi.json");

/// The OpenAPI route.
pub fn router() -> Router<AppState> {
    Router::new().route("/v1/openapi.json", get(openapi))
}

async fn openapi() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], OPENAPI_JSON)
}
