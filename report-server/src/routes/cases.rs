//! Moderation workflow routes (cases: list/filter, view with evidence, assign, resolve, dismiss,
//! reopen, notes, audit log).
//!
//! PLACEHOLDER owned by the second engineer: currently an empty router so the crate compiles.
//! Use `crate::auth::ModeratorAuth` / `AdminAuth`, `crate::error::ApiError`,
//! `crate::extract::ApiJson`, `crate::audit::record` and `crate::seal` for evidence.

use axum::Router;

use crate::state::AppState;

/// The moderation routes (empty for now).
pub fn routes() -> Router<AppState> {
    Router::new()
}
