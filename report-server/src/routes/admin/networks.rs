//! Networks and their policies (admin tokens).
//!
//! | method | path | what |
//! |---|---|---|
//! | POST | `/v1/admin/networks` | create `{id, display_name?, policy?}` (key 1 generated) |
//! | GET | `/v1/admin/networks` | list |
//! | GET | `/v1/admin/networks/{id}` | network, policy and keys |
//! | PATCH | `/v1/admin/networks/{id}` | `{display_name?, disabled?}` |
//! | GET/PUT | `/v1/admin/networks/{id}/policy` | read / replace the policy |

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
use crate::extract::{ApiJson, ApiPath};
use crate::keys::{self, Network, NetworkDetail, Policy};
use crate::state::AppState;
use crate::util::{check_identifier, now_ms};

/// The network and policy routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/admin/networks",
            post(create_network).get(list_networks),
        )
        .route(
            "/v1/admin/networks/{id}",
            get(get_network).patch(update_network),
        )
        .route(
            "/v1/admin/networks/{id}/policy",
            get(get_policy).put(put_policy),
        )
}

/// `POST /v1/admin/networks` body.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateNetwork {
    /// The network id (as it appears in stamped contexts).
    pub id: String,
    /// Display name (defaults to the id).
    #[serde(default)]
    pub display_name: Option<String>,
    /// Policy (defaults to [`Policy::default`]).
    #[serde(default)]
    pub policy: Option<Policy>,
}

async fn create_network(
    State(state): State<AppState>,
    admin: AdminAuth,
    ApiJson(req): ApiJson<CreateNetwork>,
) -> Result<(StatusCode, Json<NetworkDetail>), ApiError> {
    // The id is checked by `keys::insert_network` (`check_network_id`), before it writes anything.
    let display_name = req.display_name.unwrap_or_else(|| req.id.clone());
    check_identifier("display_name", &display_name)?;
    let policy = req.policy.unwrap_or_default();
    let mut change = Change::begin(&state.db, admin.caller.actor()).await?;
    keys::insert_network(
        change.conn(),
        &state.server_key,
        &req.id,
        &display_name,
        &policy,
    )
    .await?;
    let entry = AuditEntry::new("network.create", format!("network:{}", req.id))
        .network(Some(&req.id))
        .details(json!({ "display_name": display_name, "policy": policy, "key_id": 1 }));
    change.commit(entry).await?;
    Ok((
        StatusCode::CREATED,
        Json(keys::network_detail(&state.db, &req.id).await?),
    ))
}

/// `GET /v1/admin/networks` response.
#[derive(Debug, Serialize)]
pub struct NetworkList {
    /// Every network, by id.
    pub networks: Vec<Network>,
}

async fn list_networks(
    State(state): State<AppState>,
    _admin: AdminAuth,
) -> Result<Json<NetworkList>, ApiError> {
    Ok(Json(NetworkList {
        networks: keys::list_networks(&state.db).await?,
    }))
}

async fn get_network(
    State(state): State<AppState>,
    _admin: AdminAuth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<NetworkDetail>, ApiError> {
    Ok(Json(keys::network_detail(&state.db, &id).await?))
}

/// `PATCH /v1/admin/networks/{id}` body.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateNetwork {
    /// New display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Disable (all of the network's tokens stop working) or re-enable.
    #[serde(default)]
    pub disabled: Option<bool>,
}

async fn update_network(
    State(state): State<AppState>,
    admin: AdminAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<UpdateNetwork>,
) -> Result<Json<NetworkDetail>, ApiError> {
    keys::load_network(&state.db, &id).await?;
    if let Some(name) = &req.display_name {
        check_identifier("display_name", name)?;
    }
    let mut change = Change::begin(&state.db, admin.caller.actor()).await?;
    keys::update_network(
        change.conn(),
        &id,
        req.display_name.as_deref(),
        req.disabled,
        now_ms(),
    )
    .await?;
    let entry = AuditEntry::new("network.update", format!("network:{id}"))
        .network(Some(&id))
        .details(json!({ "display_name": req.display_name, "disabled": req.disabled }));
    change.commit(entry).await?;
    Ok(Json(keys::network_detail(&state.db, &id).await?))
}

async fn get_policy(
    State(state): State<AppState>,
    _admin: AdminAuth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Policy>, ApiError> {
    Ok(Json(keys::load_policy(&state.db, &id).await?))
}

async fn put_policy(
    State(state): State<AppState>,
    admin: AdminAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(policy): ApiJson<Policy>,
) -> Result<Json<Policy>, ApiError> {
    policy.validate()?;
    keys::load_network(&state.db, &id).await?;
    let mut change = Change::begin(&state.db, admin.caller.actor()).await?;
    keys::store_policy(change.conn(), &id, &policy, false).await?;
    let entry = AuditEntry::new("policy.update", format!("network:{id}"))
        .network(Some(&id))
        .details(json!({ "policy": policy }));
    change.commit(entry).await?;
    Ok(Json(policy))
}
