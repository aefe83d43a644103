//! `GET /v1/admin/audit` (admin tokens): the audit log, newest first, filtered by network,
//! action and time, keyset-paged ([`crate::page`]).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use crate::audit::{self, AuditFilter, AuditView};
use crate::auth::AdminAuth;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::page::{PageRequest, check_range};
use crate::state::AppState;

/// The audit-log route.
pub fn router() -> Router<AppState> {
    Router::new().route("/v1/admin/audit", get(admin_audit))
}

/// `GET /v1/admin/audit` response.
#[derive(Debug, Serialize)]
pub struct AuditPage {
    /// The page, newest first.
    pub entries: Vec<AuditView>,
    /// Cursor of the next page (`null` on the last page).
    pub next_cursor: Option<String>,
}

async fn admin_audit(
    State(state): State<AppState>,
    _admin: AdminAuth,
    ApiQuery(f): ApiQuery<AuditFilter>,
) -> Result<Json<AuditPage>, ApiError> {
    let page = PageRequest::new(f.limit, f.cursor.as_deref())?;
    check_range(f.from, f.to)?;
    let (entries, next_cursor) = audit::search(&state.db, f, &page).await?;
    Ok(Json(AuditPage {
        entries,
        next_cursor,
    }))
}
