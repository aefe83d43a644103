//! Stamping keys of a network (admin tokens; never shows secrets).
//!
//! | method | path | what |
//! |---|---|---|
//! | GET | `/v1/admin/networks/{id}/keys` | key ids, status, times |
//! | POST | `/v1/admin/networks/{id}/keys/rotate` | `{key_id?}`: new current key, old one retired now |
//! | POST | `/v1/admin/networks/{id}/keys/{key_id}/retire` | `{immediate?}`: retire (immediate = stop verifying now) |

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::json;

use crate::audit::AuditEntry;
use crate::auth::AdminAuth;
use crate::change::Change;
use crate::error::ApiError;
use crate::extract::{ApiPath, OptionalJson};
use crate::keys::{self, KeyStatus, KeyView};
use crate::state::AppState;
use crate::util::now_ms;

/// The key routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/admin/networks/{id}/keys", get(list_keys))
        .route("/v1/admin/networks/{id}/keys/rotate", post(rotate_key))
        .route(
            "/v1/admin/networks/{id}/keys/{key_id}/retire",
            post(retire_key),
        )
}

/// `GET .../keys` and `POST .../retire` response.
#[derive(Debug, Serialize)]
pub struct KeyList {
    /// The network's keys, by id.
    pub keys: Vec<KeyView>,
}

async fn list_keys(
    State(state): State<AppState>,
    _admin: AdminAuth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<KeyList>, ApiError> {
    keys::load_network(&state.db, &id).await?;
    Ok(Json(KeyList {
        keys: keys::list_keys(&state.db, &id).await?,
    }))
}

/// `POST .../keys/rotate` body.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateKey {
    /// The new key's id (default: highest existing id + 1).
    #[serde(default)]
    pub key_id: Option<u32>,
}

/// `POST .../keys/rotate` response.
#[derive(Debug, Serialize)]
pub struct Rotated {
    /// The new current key's id.
    pub key_id: u32,
    /// The network's keys, by id.
    pub keys: Vec<KeyView>,
}

async fn rotate_key(
    State(state): State<AppState>,
    admin: AdminAuth,
    ApiPath(id): ApiPath<String>,
    OptionalJson(req): OptionalJson<RotateKey>,
) -> Result<(StatusCode, Json<Rotated>), ApiError> {
    keys::load_network(&state.db, &id).await?;
    let mut change = Change::begin(&state.db, admin.caller.actor()).await?;
    let (new_id, retired) =
        keys::rotate(change.conn(), &state.server_key, &id, req.key_id, now_ms()).await?;
    let entry = AuditEntry::new("key.rotate", format!("network:{id}/key:{new_id}"))
        .network(Some(&id))
        .details(json!({ "new_key_id": new_id, "retired_previous": retired }));
    change.commit(entry).await?;
    Ok((
        StatusCode::CREATED,
        Json(Rotated {
            key_id: new_id,
            keys: keys::list_keys(&state.db, &id).await?,
        }),
    ))
}

/// `POST .../keys/{key_id}/retire` body.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetireKey {
    /// Stop verifying the key's stamps at once (for a compromised key) instead of after the
    /// policy's `key_grace_ms`.
    #[serde(default)]
    pub immediate: bool,
}

async fn retire_key(
    State(state): State<AppState>,
    admin: AdminAuth,
    ApiPath((id, key_id)): ApiPath<(String, u32)>,
    OptionalJson(req): OptionalJson<RetireKey>,
) -> Result<Json<KeyList>, ApiError> {
    keys::load_network(&state.db, &id).await?;
    let mut change = Change::begin(&state.db, admin.caller.actor()).await?;
    keys::lock_network(change.conn(), &id).await?;
    match keys::key_status(change.conn(), &id, key_id).await? {
        KeyStatus::Current => {
            return Err(ApiError::conflict(
                "key_is_current",
                "the current key cannot be retired; rotate to a new key first",
            ));
        }
        KeyStatus::Retired if !req.immediate => {
            return Err(ApiError::conflict(
                "already_retired",
                "the key is already retired (use immediate=true to stop verifying it now)",
            ));
        }
        KeyStatus::Retired => keys::stop_verifying(change.conn(), &id, key_id, now_ms()).await?,
    }
    let entry = AuditEntry::new("key.retire", format!("network:{id}/key:{key_id}"))
        .network(Some(&id))
        .details(json!({ "immediate": true }));
    change.commit(entry).await?;
    Ok(Json(KeyList {
        keys: keys::list_keys(&state.db, &id).await?,
    }))
}
