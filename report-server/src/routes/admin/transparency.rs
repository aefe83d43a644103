//! Transparency (admin tokens):
//!
//! | method | path | what |
//! |---|---|---|
//! | GET | `/v1/admin/transparency` | `?network&from&to`: the transparency report; JSON, or CSV with `Accept: text/csv` |
//! | GET | `/v1/admin/statements-of-reasons` | `?network&from&to&limit&cursor`: statements of reasons decided in the range, newest first (the export) |

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use crate::auth::AdminAuth;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::page::{PageRequest, check_range};
use crate::state::AppState;
use crate::transparency::{self, Range, Statement};

/// The transparency routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/admin/transparency", get(report))
        .route("/v1/admin/statements-of-reasons", get(export))
}

fn wants_csv(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim().starts_with("text/csv")))
}

async fn report(
    State(state): State<AppState>,
    _admin: AdminAuth,
    headers: HeaderMap,
    ApiQuery(range): ApiQuery<Range>,
) -> Result<Response, ApiError> {
    check_range(range.from, range.to)?;
    if range.limit.is_some() || range.cursor.is_some() {
        return Err(ApiError::bad_request(
            "invalid_parameter",
            "the transparency report takes network, from and to only",
        ));
    }
    let r = transparency::report(&state.db, &range).await?;
    Ok(if wants_csv(&headers) {
        (
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            r.to_csv(),
        )
            .into_response()
    } else {
        Json(r).into_response()
    })
}

/// `GET /v1/admin/statements-of-reasons` response.
#[derive(Debug, Serialize)]
pub struct StatementPage {
    /// The page, newest first.
    pub statements: Vec<Statement>,
    /// Cursor of the next page (`null` on the last page).
    pub next_cursor: Option<String>,
}

async fn export(
    State(state): State<AppState>,
    _admin: AdminAuth,
    ApiQuery(range): ApiQuery<Range>,
) -> Result<Json<StatementPage>, ApiError> {
    check_range(range.from, range.to)?;
    let page = PageRequest::new(range.limit, range.cursor.as_deref())?;
    let (statements, next_cursor) = transparency::export(&state.db, &range, &page).await?;
    Ok(Json(StatementPage {
        statements,
        next_cursor,
    }))
}
