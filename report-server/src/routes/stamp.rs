//! stamp routes (in progress).

use axum::Router;

use crate::state::AppState;

/// The stamp routes.
pub fn routes() -> Router<AppState> {
    Router::new()
}
