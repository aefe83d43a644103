//! The OpenAPI document route.
//!
//! PLACEHOLDER owned by the second engineer: currently an empty router so the crate compiles.

use axum::Router;

use crate::state::AppState;

/// The OpenAPI routes (empty for now).
pub fn routes() -> Router<AppState> {
    Router::new()
}
