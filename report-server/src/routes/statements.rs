//! `GET /v1/cases/{id}/statements-of-reasons` (moderator or admin tokens): the statements of
//! reasons of a case's decisions, oldest first ([`crate::transparency`]). Another network's case
//! is 404 for a moderator.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use crate::auth::Staff;
use crate::cases;
use crate::error::ApiError;
use crate::extract::ApiPath;
use crate::state::AppState;
use crate::transparency::{self, Statement};

/// The per-case statement route.
pub fn router() -> Router<AppState> {
    Router::new().route("/v1/cases/{id}/statements-of-reasons", get(for_case))
}

/// `GET /v1/cases/{id}/statements-of-reasons` response.
#[derive(Debug, Serialize)]
pub struct StatementList {
    /// The case's statements, oldest first.
    pub statements: Vec<Statement>,
}

async fn for_case(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<StatementList>, ApiError> {
    cases::load(&state.db, &staff, &id).await?;
    Ok(Json(StatementList {
        statements: transparency::for_case(&state.db, &id).await?,
    }))
}
