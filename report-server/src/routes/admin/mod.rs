//! Admin API (admin tokens only), one module per resource, each with its `router()`:
//!
//! | module | paths |
//! |---|---|
//! | [`networks`] | `/v1/admin/networks`, `/v1/admin/networks/{id}`, `.../policy` |
//! | [`keys`] | `/v1/admin/networks/{id}/keys`, `.../rotate`, `.../{key_id}/retire` |
//! | [`tokens`] | `/v1/admin/tokens`, `/v1/admin/tokens/{id}` |
//! | [`audit`] | `/v1/admin/audit` (the audit-log reader) |
//! | [`audit_verify`] | `/v1/admin/audit/verify`, `/v1/admin/audit/checkpoint` (the hash chains) |
//! | [`retention`] | `/v1/admin/retention/run` (purge expired evidence now) |
//! | [`transparency`] | `/v1/admin/transparency`, `/v1/admin/statements-of-reasons` |
//! | [`peers`] | `/v1/admin/networks/{id}/peers`, `.../peers/{peer}` (federation) |
//! | [`webhooks`] | `/v1/admin/networks/{id}/webhooks`, `/v1/admin/webhooks/{id}`, `.../rotate-secret`, `.../deliveries`, `.../redeliver` |
//!
//! Every change is made in a [`crate::change::Change`]: committed together with its audit entry.

pub mod audit;
pub mod audit_verify;
pub mod keys;
pub mod networks;
pub mod peers;
pub mod retention;
pub mod tokens;
pub mod transparency;
pub mod webhooks;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

/// Every admin route; any request that may change something (every method but `GET` and `HEAD`)
/// empties this instance's hot-path caches once it is answered ([`crate::cache`]), so the
/// stamping and intake paths read the change at once here.
pub fn router(state: &AppState) -> Router<AppState> {
    resources().route_layer(axum::middleware::from_fn_with_state(
        state.clone(),
        forget_cached_after_writes,
    ))
}

async fn forget_cached_after_writes(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let writes = !matches!(
        *req.method(),
        axum::http::Method::GET | axum::http::Method::HEAD
    );
    let response = next.run(req).await;
    if writes {
        state.forget_cached();
    }
    response
}

fn resources() -> Router<AppState> {
    Router::new()
        .merge(networks::router())
        .merge(keys::router())
        .merge(tokens::router())
        .merge(audit::router())
        .merge(audit_verify::router())
        .merge(retention::router())
        .merge(webhooks::router())
        .merge(peers::router())
        .merge(transparency::router())
}
