//! reports routes (in progress).

use axum::Router;

use crate::state::AppState;

/// The reports routes.
pub fn routes() -> Router<AppState> {
    Router::new()
}
