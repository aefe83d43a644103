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

use crate::state::AppState;

/// Every admin route.
pub fn router() -> Router<AppState> {
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
