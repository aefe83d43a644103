//! The tamper-evident audit log ([`crate::audit_chain`]), admin tokens:
//!
//! | method | path | what |
//! |---|---|---|
//! | GET | `/v1/admin/audit/verify` | recompute every chain; name the first entry that does not match |
//! | POST | `/v1/admin/audit/verify` | the same, also against `{checkpoints: [...]}` kept outside the server |
//! | GET | `/v1/admin/audit/checkpoint` | a signed checkpoint of every chain head, and the public key |

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use crate::audit_chain::{self, Checkpoint, VerifyReport};
use crate::auth::AdminAuth;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::state::AppState;

/// The audit-chain routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/admin/audit/verify", get(verify).post(verify_with))
        .route("/v1/admin/audit/checkpoint", get(checkpoint))
}

async fn verify(
    State(state): State<AppState>,
    _admin: AdminAuth,
) -> Result<Json<VerifyReport>, ApiError> {
    let pk = audit_chain::signing_key(&state.server_key).verifying_key();
    Ok(Json(audit_chain::verify(&state.db, &pk, &[]).await?))
}

/// `POST /v1/admin/audit/verify` body.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// Checkpoints fetched earlier from `GET /v1/admin/audit/checkpoint`.
    pub checkpoints: Vec<Checkpoint>,
}

async fn verify_with(
    State(state): State<AppState>,
    _admin: AdminAuth,
    ApiJson(req): ApiJson<VerifyRequest>,
) -> Result<Json<VerifyReport>, ApiError> {
    let pk = audit_chain::signing_key(&state.server_key).verifying_key();
    Ok(Json(
        audit_chain::verify(&state.db, &pk, &req.checkpoints).await?,
    ))
}

/// `GET /v1/admin/audit/checkpoint` response.
#[derive(Debug, Serialize)]
pub struct CheckpointSet {
    /// The Ed25519 public key (base64url) that signs checkpoints.
    pub public_key: String,
    /// One checkpoint per chain.
    pub checkpoints: Vec<Checkpoint>,
}

async fn checkpoint(
    State(state): State<AppState>,
    _admin: AdminAuth,
) -> Result<Json<CheckpointSet>, ApiError> {
    Ok(Json(CheckpointSet {
        public_key: audit_chain::public_key(&state.server_key),
        checkpoints: audit_chain::checkpoints(&state.db, &state.server_key).await?,
    }))
}
