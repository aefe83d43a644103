//! admin routes (in progress).

use axum::Router;

use crate::state::AppState;

/// The admin routes.
pub fn routes() -> Router<AppState> {
    Router::new()
}
