//! `POST /v1/admin/retention/run` (admin tokens): purge expired evidence now (the same purge the
//! periodic task runs; see [`crate::retention`]) and return its counts.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};

use crate::auth::AdminAuth;
use crate::error::ApiError;
use crate::retention::{self, PurgeOutcome};
use crate::state::AppState;
use crate::util::now_ms;

/// The retention route.
pub fn router() -> Router<AppState> {
    Router::new().route("/v1/admin/retention/run", post(run_retention))
}

async fn run_retention(
    State(state): State<AppState>,
    admin: AdminAuth,
) -> Result<Json<PurgeOutcome>, ApiError> {
    let out = retention::purge_expired(&state.db, now_ms(), &admin.caller.actor()).await?;
    Ok(Json(out))
}
