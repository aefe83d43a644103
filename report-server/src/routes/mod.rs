//! HTTP routes, one module per resource. Each exposes `pub fn router() -> Router<AppState>`;
//! [`crate::router`] merges them. Handlers stay small: they check input, call the typed
//! database functions of the domain modules (`cases`, `notes`, `keys`, `auth`, `audit`, ...)
//! and return typed responses.
//!
//! * `health` — `/healthz`, `/readyz`, `/metrics`
//! * `stamp` — `/v1/stamp`, `/v1/stamp/batch` (relay tokens)
//! * `reports` — `/v1/reports` (service tokens; JSON or multipart with attachment blobs)
//! * `report_status` — `/v1/reports/{id}`: reporter outcomes (service tokens)
//! * `statements` — `/v1/cases/{id}/statements-of-reasons` (moderator and admin tokens)
//! * `cases` — the moderation queue and workflow (moderator and admin tokens)
//! * `attachments` — `/v1/cases/{id}/attachments/{attachment_id}` downloads (moderator and admin
//!   tokens)
//! * `notes` — case notes (moderator and admin tokens)
//! * `federation` — `/.well-known/franking/keys`, `/v1/federation/reports`, `.../decisions`
//!   (peer-signed), `/v1/cases/{id}/federation`
//! * `admin` — `/v1/admin/...` (admin tokens): networks, keys, tokens, audit log, retention
//! * `openapi` — the OpenAPI document

pub mod admin;
pub mod attachments;
pub mod cases;
pub mod federation;
pub mod health;
pub mod notes;
pub mod openapi;
pub mod report_status;
pub mod reports;
pub mod stamp;
pub mod statements;
