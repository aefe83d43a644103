//! HTTP routes, one file per area. Each module exposes `pub fn routes() -> Router<AppState>`.
//!
//! * `health` — `/healthz`, `/readyz`, `/metrics`
//! * `stamp` — `/v1/stamp`, `/v1/stamp/batch` (relay tokens)
//! * `reports` — `/v1/reports` (service tokens)
//! * `admin` — `/v1/admin/...` (admin tokens)
//! * `cases` — moderation workflow (second engineer)
//! * `openapi` — OpenAPI document (second engineer)

pub mod admin;
pub mod cases;
pub mod health;
pub mod openapi;
pub mod reports;
pub mod stamp;
