//! Moderation endpoints (moderator and admin tokens, the [`Staff`] extractor): the case queue,
//! the case view with decrypted evidence, the workflow transitions and the case's audit log.
//! Notes are in [`super::notes`]; the workflow itself in [`crate::cases`].
//!
//! | method | path | what |
//! |---|---|---|
//! | GET | `/v1/cases` | list/filter, `sort=newest\|oldest\|most_reported`, keyset cursor |
//! | GET | `/v1/cases/counts` | cases per state under the same filters |
//! | GET | `/v1/cases/{id}` | case, reports, decrypted evidence |
//! | POST | `/v1/cases/{id}/assign` | `{assignee?}` (moderator: default self) |
//! | POST | `/v1/cases/{id}/resolve` | `{action, note?}` |
//! | POST | `/v1/cases/{id}/dismiss` | `{reason?}` |
//! | POST | `/v1/cases/{id}/reopen` | `{reason?}` |
//! | GET | `/v1/cases/{id}/audit` | the case's audit entries |
//!
//! Moderators only see their own network's cases: any other case is 404 `not_found`, exactly as
//! if it did not exist. Admins see every network.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;

use crate::audit::{self, AuditView};
use crate::auth::{Staff, is_active_moderator};
use crate::cases::{
    self, Case, CaseCounts, CaseDetail, CaseQuery, CaseSort, CaseState, Resolution, Transition,
    names,
};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery, OptionalJson};
use crate::notes::MAX_NOTE_LEN;
use crate::page::{PageRequest, check_range};
use crate::state::AppState;
use crate::util::{check_text, now_ms};

/// Longest reason (dismiss/reopen) or assignee in bytes.
pub const MAX_REASON_LEN: usize = 4096;

/// The case routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/cases", get(list_cases))
        .route("/v1/cases/counts", get(case_counts))
        .route("/v1/cases/{id}", get(get_case))
        .route("/v1/cases/{id}/assign", post(assign))
        .route("/v1/cases/{id}/resolve", post(resolve))
        .route("/v1/cases/{id}/dismiss", post(dismiss))
        .route("/v1/cases/{id}/reopen", post(reopen))
        .route("/v1/cases/{id}/audit", get(case_audit))
}

/// `GET /v1/cases` query.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseFilter {
    /// Only cases in this state.
    #[serde(default)]
    pub state: Option<String>,
    /// Only cases of this category.
    #[serde(default)]
    pub category: Option<String>,
    /// Only cases of this network (moderators: their own network only).
    #[serde(default)]
    pub network: Option<String>,
    /// Only cases first reported at or after this time (ms since the epoch).
    #[serde(default)]
    pub from: Option<i64>,
    /// Only cases first reported before this time (ms since the epoch).
    #[serde(default)]
    pub to: Option<i64>,
    /// Only cases assigned to this moderator (token subject).
    #[serde(default)]
    pub assignee: Option<String>,
    /// Order: `newest` (default), `oldest`, `most_reported`.
    #[serde(default)]
    pub sort: CaseSort,
    /// Page size (1..=200, default 50).
    #[serde(default)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// `GET /v1/cases` response.
#[derive(Debug, Serialize)]
pub struct CaseList {
    /// The page, newest first.
    pub cases: Vec<Case>,
    /// Cursor of the next page (`null` on the last page).
    pub next_cursor: Option<String>,
}

/// `GET /v1/cases/counts` query: the filters of `GET /v1/cases` except state, order and paging.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountFilter {
    /// Only cases of this category.
    #[serde(default)]
    pub category: Option<String>,
    /// Only cases of this network (moderators: their own network only).
    #[serde(default)]
    pub network: Option<String>,
    /// Only cases first reported at or after this time (ms since the epoch).
    #[serde(default)]
    pub from: Option<i64>,
    /// Only cases first reported before this time (ms since the epoch).
    #[serde(default)]
    pub to: Option<i64>,
    /// Only cases assigned to this moderator (token subject).
    #[serde(default)]
    pub assignee: Option<String>,
}

/// The network a staff member may filter on: a moderator only their own (another one: 403
/// `wrong_network`), an admin any or all.
fn scoped_network(staff: &Staff, asked: Option<String>) -> Result<Option<String>, ApiError> {
    match (&staff.scope, asked) {
        (Some(own), Some(asked)) if *own != asked => Err(ApiError::Forbidden {
            code: "wrong_network",
            message: "moderators can only list their own network's cases".into(),
        }),
        (Some(own), _) => Ok(Some(own.clone())),
        (None, asked) => Ok(asked),
    }
}

async fn list_cases(
    State(state): State<AppState>,
    staff: Staff,
    ApiQuery(f): ApiQuery<CaseFilter>,
) -> Result<Json<CaseList>, ApiError> {
    let page = PageRequest::tagged(f.limit, f.cursor.as_deref(), f.sort.cursor_tag())?;
    check_range(f.from, f.to)?;
    let case_state = match &f.state {
        None => None,
        Some(s) => Some(CaseState::parse(s).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_parameter",
                format!(
                    "state must be one of {}",
                    names(&CaseState::ALL, CaseState::as_str)
                ),
            )
        })?),
    };
    let query = CaseQuery {
        network: scoped_network(&staff, f.network)?,
        state: case_state,
        category: f.category,
        from: f.from,
        to: f.to,
        assignee: f.assignee,
    };
    let (cases, next_cursor) = cases::list(&state.db, query, f.sort, &page).await?;
    Ok(Json(CaseList { cases, next_cursor }))
}

async fn case_counts(
    State(state): State<AppState>,
    staff: Staff,
    ApiQuery(f): ApiQuery<CountFilter>,
) -> Result<Json<CaseCounts>, ApiError> {
    check_range(f.from, f.to)?;
    let query = CaseQuery {
        network: scoped_network(&staff, f.network)?,
        state: None,
        category: f.category,
        from: f.from,
        to: f.to,
        assignee: f.assignee,
    };
    Ok(Json(cases::counts(&state.db, query).await?))
}

async fn get_case(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<CaseDetail>, ApiError> {
    let case = cases::load(&state.db, &staff, &id).await?;
    Ok(Json(
        CaseDetail::load(&state.db, &state.server_key, case, &staff.caller.actor()).await?,
    ))
}

/// Apply `t` to `case` as `staff`; the response is the case as stored afterwards.
async fn transition(
    state: &AppState,
    staff: &Staff,
    case: &Case,
    t: Transition,
) -> Result<Json<Case>, ApiError> {
    Ok(Json(t.apply(&state.db, staff.caller.actor(), case).await?))
}

/// `POST /v1/cases/{id}/assign` body.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    /// The moderator (token subject) to assign; default: the calling moderator. Admins must name one.
    #[serde(default)]
    pub assignee: Option<String>,
}

async fn assign(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(id): ApiPath<String>,
    OptionalJson(req): OptionalJson<AssignRequest>,
) -> Result<Json<Case>, ApiError> {
    let case = cases::load(&state.db, &staff, &id).await?;
    let assignee = match (req.assignee, &staff.scope) {
        (Some(a), _) => a,
        (None, Some(_)) => staff.caller.subject.clone(),
        (None, None) => {
            return Err(ApiError::bad_request(
                "invalid_parameter",
                "admins must name the assignee",
            ));
        }
    };
    check_text("assignee", &assignee, MAX_REASON_LEN)?;
    if !is_active_moderator(&state.db, &case.network, &assignee, now_ms()).await? {
        return Err(ApiError::unprocessable(
            "unknown_assignee",
            "the assignee is not an active moderator of the case's network",
        ));
    }
    transition(&state, &staff, &case, Transition::Assign { assignee }).await
}

/// `POST /v1/cases/{id}/resolve` body.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    /// One of the [`Resolution`] names.
    pub action: String,
    /// Optional note, stored as a case note in the same transaction (its id is in the audit entry).
    #[serde(default)]
    pub note: Option<String>,
}

async fn resolve(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<ResolveRequest>,
) -> Result<Json<Case>, ApiError> {
    let case = cases::load(&state.db, &staff, &id).await?;
    let action = Resolution::parse(&req.action).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_action",
            format!(
                "action must be one of {}",
                names(&Resolution::ALL, Resolution::as_str)
            ),
        )
    })?;
    if let Some(n) = &req.note {
        check_text("note", n, MAX_NOTE_LEN)?;
    }
    let t = Transition::Resolve {
        action,
        note: req.note,
    };
    transition(&state, &staff, &case, t).await
}

/// `POST /v1/cases/{id}/dismiss` and `/reopen` body.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    /// Optional reason, recorded in the audit log.
    #[serde(default)]
    pub reason: Option<String>,
}

impl ReasonRequest {
    fn checked(self) -> Result<Option<String>, ApiError> {
        if let Some(r) = &self.reason {
            check_text("reason", r, MAX_REASON_LEN)?;
        }
        Ok(self.reason)
    }
}

async fn dismiss(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(id): ApiPath<String>,
    OptionalJson(req): OptionalJson<ReasonRequest>,
) -> Result<Json<Case>, ApiError> {
    let case = cases::load(&state.db, &staff, &id).await?;
    let reason = req.checked()?;
    transition(&state, &staff, &case, Transition::Dismiss { reason }).await
}

async fn reopen(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(id): ApiPath<String>,
    OptionalJson(req): OptionalJson<ReasonRequest>,
) -> Result<Json<Case>, ApiError> {
    let case = cases::load(&state.db, &staff, &id).await?;
    let reason = req.checked()?;
    transition(&state, &staff, &case, Transition::Reopen { reason }).await
}

/// `GET /v1/cases/{id}/audit` response.
#[derive(Debug, Serialize)]
pub struct AuditList {
    /// The case's entries, oldest first.
    pub entries: Vec<AuditView>,
}

async fn case_audit(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<AuditList>, ApiError> {
    cases::load(&state.db, &staff, &id).await?;
    let entries = audit::for_target(&state.db, &format!("case:{id}")).await?;
    Ok(Json(AuditList { entries }))
}
