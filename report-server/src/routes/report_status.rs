//! Reporter outcomes: `GET /v1/reports/{id}` with the service token of the network that submitted
//! the report. Answers the state of the report's case and, once decided, the resolution action —
//! never the moderator, notes or evidence — so the platform can tell its reporter what happened.
//! A report of another network is 404, exactly like a missing one.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use crate::auth::ServiceAuth;
use crate::cases::{CaseState, Resolution};
use crate::error::ApiError;
use crate::extract::ApiPath;
use crate::state::AppState;

/// The report-status route.
pub fn router() -> Router<AppState> {
    Router::new().route("/v1/reports/{id}", get(report_status))
}

/// `GET /v1/reports/{id}` response.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ReportStatus {
    /// The resolution action (state `resolved` only).
    #[sqlx(rename = "resolution_action")]
    pub action: Option<Resolution>,
    /// The case the report belongs to.
    pub case_id: String,
    /// When the case was resolved or dismissed (ms), if it is closed.
    #[sqlx(rename = "resolved_at")]
    pub decided_at: Option<i64>,
    /// When the report was received (ms).
    pub received_at: i64,
    /// The report id.
    pub report_id: String,
    /// The case's workflow state.
    pub state: CaseState,
}

async fn report_status(
    State(state): State<AppState>,
    service: ServiceAuth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ReportStatus>, ApiError> {
    let status: ReportStatus = sqlx::query_as(
        "SELECT r.id AS report_id, r.case_id, r.received_at, c.state, c.resolution_action, \
         c.resolved_at FROM reports r JOIN cases c ON c.id = r.case_id \
         WHERE r.id = $1 AND r.network_id = $2",
    )
    .bind(&id)
    .bind(&service.network)
    .fetch_optional(&state.db)
    .await?
    .ok_or(ApiError::NotFound("report"))?;
    Ok(Json(status))
}
