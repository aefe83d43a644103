//! Case notes (moderator and admin tokens): `GET /v1/cases/{id}/notes` lists them, oldest first;
//! `POST` adds one (`{body}`, 1..=10000 bytes), audited as `case.note` in the same transaction.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use crate::audit::AuditEntry;
use crate::auth::Staff;
use crate::cases;
use crate::change::Change;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath};
use crate::notes::{self, MAX_NOTE_LEN, Note};
use crate::state::AppState;
use crate::util::{check_text, now_ms};

/// The note routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/v1/cases/{id}/notes", get(list_notes).post(add_note))
}

/// `POST /v1/cases/{id}/notes` body.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    /// The note text (1..=10000 bytes).
    pub body: String,
}

async fn add_note(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<NoteRequest>,
) -> Result<(StatusCode, Json<Note>), ApiError> {
    let case = cases::load(&state.db, &staff, &id).await?;
    check_text("body", &req.body, MAX_NOTE_LEN)?;
    let mut change = Change::begin(&state.db, staff.caller.actor()).await?;
    let author = change.actor().to_owned();
    let note = notes::insert(change.conn(), &id, &author, &req.body, now_ms()).await?;
    let entry = AuditEntry::new("case.note", format!("case:{id}"))
        .network(Some(&case.network))
        .details(serde_json::json!({ "note_id": note.id, "length": note.body.len() }));
    change.commit(entry).await?;
    Ok((StatusCode::CREATED, Json(note)))
}

/// `GET /v1/cases/{id}/notes` response.
#[derive(Debug, Serialize)]
pub struct NoteList {
    /// The notes, oldest first.
    pub notes: Vec<Note>,
}

async fn list_notes(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<NoteList>, ApiError> {
    cases::load(&state.db, &staff, &id).await?;
    Ok(Json(NoteList {
        notes: notes::for_case(&state.db, &id).await?,
    }))
}
