//! Admin API (admin tokens only): networks, policies, stamping keys, tokens.
//!
//! | method | path | what |
//! |---|---|---|
//! | POST | `/v1/admin/networks` | create `{id, display_name?, policy?}` (key 1 generated) |
//! | GET | `/v1/admin/networks` | list |
//! | GET | `/v1/admin/networks/{id}` | network, policy and keys |
//! | PATCH | `/v1/admin/networks/{id}` | `{display_name?, disabled?}` |
//! | GET/PUT | `/v1/admin/networks/{id}/policy` | read / replace the policy |
//! | GET | `/v1/admin/networks/{id}/keys` | key ids, status, times (never secrets) |
//! | POST | `/v1/admin/networks/{id}/keys/rotate` | `{key_id?}`: new current key, old one retired now |
//! | POST | `/v1/admin/networks/{id}/keys/{key_id}/retire` | `{immediate?}`: retire (immediate = stop verifying now) |
//! | POST | `/v1/admin/tokens` | issue `{role, network?, subject, expires_in_ms?}` → token shown once |
//! | GET | `/v1/admin/tokens` | list (`?network=&role=`), never secrets |
//! | DELETE | `/v1/admin/tokens/{id}` | revoke |
//!
//! Every change is written to the audit log.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use franking_core::frank::MAX_ID_LEN;
use serde_json::json;
use sqlx::Row as _;

use crate::audit;
use crate::auth::{AdminAuth, Role, issue_token};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath};
use crate::keys::{self, Policy};
use crate::state::AppState;
use crate::util::{now_ms, to_i64};

/// The admin routes.
pub fn routes() -> Router<AppState> {
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
        .route("/v1/admin/networks/{id}/keys", get(list_keys))
        .route("/v1/admin/networks/{id}/keys/rotate", post(rotate_key))
        .route(
            "/v1/admin/networks/{id}/keys/{key_id}/retire",
            post(retire_key),
        )
        .route("/v1/admin/tokens", post(create_token).get(list_tokens))
        .route("/v1/admin/tokens/{id}", delete(revoke_token))
}

fn check_identifier(what: &str, s: &str) -> Result<(), ApiError> {
    if s.is_empty() || s.len() > MAX_ID_LEN || s.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "invalid_parameter",
            format!("{what} must be 1..={MAX_ID_LEN} bytes without control characters"),
        ));
    }
    Ok(())
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

/// An optional JSON body: empty means the type's default.
fn optional_json<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| ApiError::malformed(format!("body: {e}")))
}

async fn network_json(state: &AppState, id: &str) -> Result<serde_json::Value, ApiError> {
    let row =
        sqlx::query("SELECT id, display_name, created_at, disabled_at FROM networks WHERE id = $1")
            .bind(id)
            .fetch_optional(&state.db)
            .await?
            .ok_or(ApiError::NotFound("network"))?;
    let policy = keys::load_policy(&state.db, id).await?;
    Ok(json!({
        "id": row.try_get::<String, _>("id")?,
        "display_name": row.try_get::<String, _>("display_name")?,
        "created_at": row.try_get::<i64, _>("created_at")?,
        "disabled_at": row.try_get::<Option<i64>, _>("disabled_at")?,
        "policy": policy,
        "keys": keys_json(state, id).await?,
    }))
}

async fn keys_json(state: &AppState, id: &str) -> Result<Vec<serde_json::Value>, ApiError> {
    let rows = sqlx::query(
        "SELECT key_id, status, created_at, retired_at FROM stamping_keys \
         WHERE network_id = $1 ORDER BY key_id",
    )
    .bind(id)
    .fetch_all(&state.db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(json!({
                "key_id": r.try_get::<i64, _>("key_id")?,
                "status": r.try_get::<String, _>("status")?,
                "created_at": r.try_get::<i64, _>("created_at")?,
                "retired_at": r.try_get::<Option<i64>, _>("retired_at")?,
            }))
        })
        .collect()
}

async fn ensure_network(state: &AppState, id: &str) -> Result<(), ApiError> {
    sqlx::query("SELECT id FROM networks WHERE id = $1")
        .bind(id)
        .fetch_optional(&state.db)
        .await?
        .ok_or(ApiError::NotFound("network"))?;
    Ok(())
}

async fn create_network(
    State(state): State<AppState>,
    admin: AdminAuth,
    ApiJson(req): ApiJson<CreateNetwork>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    check_identifier("id", &req.id)?;
    let display_name = req.display_name.unwrap_or_else(|| req.id.clone());
    check_identifier("display_name", &display_name)?;
    let policy = req.policy.unwrap_or_default();
    keys::create_network(
        &state.db,
        &state.server_key,
        &req.id,
        &display_name,
        &policy,
    )
    .await?;
    audit::record(
        &state.db,
        &admin.caller.actor(),
        "network.create",
        &format!("network:{}", req.id),
        Some(&req.id),
        json!({ "display_name": display_name, "policy": policy, "key_id": 1 }),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(network_json(&state, &req.id).await?),
    ))
}

async fn list_networks(
    State(state): State<AppState>,
    _admin: AdminAuth,
) -> Result<Json<serde_json::Value>, ApiError> {
    let rows =
        sqlx::query("SELECT id, display_name, created_at, disabled_at FROM networks ORDER BY id")
            .fetch_all(&state.db)
            .await?;
    let list = rows
        .iter()
        .map(|r| {
            Ok(json!({
                "id": r.try_get::<String, _>("id")?,
                "display_name": r.try_get::<String, _>("display_name")?,
                "created_at": r.try_get::<i64, _>("created_at")?,
                "disabled_at": r.try_get::<Option<i64>, _>("disabled_at")?,
            }))
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(Json(json!({ "networks": list })))
}

async fn get_network(
    State(state): State<AppState>,
    _admin: AdminAuth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(network_json(&state, &id).await?))
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
) -> Result<Json<serde_json::Value>, ApiError> {
    ensure_network(&state, &id).await?;
    if let Some(name) = &req.display_name {
        check_identifier("display_name", name)?;
        sqlx::query("UPDATE networks SET display_name = $1 WHERE id = $2")
            .bind(name)
            .bind(&id)
            .execute(&state.db)
            .await?;
    }
    if let Some(disabled) = req.disabled {
        sqlx::query("UPDATE networks SET disabled_at = $1 WHERE id = $2")
            .bind(disabled.then(now_ms))
            .bind(&id)
            .execute(&state.db)
            .await?;
    }
    audit::record(
        &state.db,
        &admin.caller.actor(),
        "network.update",
        &format!("network:{id}"),
        Some(&id),
        json!({ "display_name": req.display_name, "disabled": req.disabled }),
    )
    .await?;
    Ok(Json(network_json(&state, &id).await?))
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
    ensure_network(&state, &id).await?;
    keys::store_policy(&state.db, &id, &policy, false).await?;
    audit::record(
        &state.db,
        &admin.caller.actor(),
        "policy.update",
        &format!("network:{id}"),
        Some(&id),
        json!({ "policy": policy }),
    )
    .await?;
    Ok(Json(policy))
}

async fn list_keys(
    State(state): State<AppState>,
    _admin: AdminAuth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    ensure_network(&state, &id).await?;
    Ok(Json(json!({ "keys": keys_json(&state, &id).await? })))
}

/// `POST .../keys/rotate` body.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateKey {
    /// The new key's id (default: highest existing id + 1).
    #[serde(default)]
    pub key_id: Option<u32>,
}

async fn rotate_key(
    State(state): State<AppState>,
    admin: AdminAuth,
    ApiPath(id): ApiPath<String>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let req: RotateKey = optional_json(&body)?;
    ensure_network(&state, &id).await?;
    let now = now_ms();
    let mut tx = state.db.begin().await?;
    // Retire the current key first (a write, so SQLite takes its write lock before the reads below).
    let retired = sqlx::query(
        "UPDATE stamping_keys SET status = 'retired', retired_at = $1 \
         WHERE network_id = $2 AND status = 'current'",
    )
    .bind(now)
    .bind(&id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let max: Option<i64> =
        sqlx::query("SELECT MAX(key_id) AS m FROM stamping_keys WHERE network_id = $1")
            .bind(&id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("m")?;
    let new_id = match req.key_id {
        Some(k) => {
            let exists = sqlx::query(
                "SELECT key_id FROM stamping_keys WHERE network_id = $1 AND key_id = $2",
            )
            .bind(&id)
            .bind(i64::from(k))
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
            if exists {
                return Err(ApiError::conflict(
                    "duplicate_key_id",
                    format!("network {id:?} already has stamping key {k}"),
                ));
            }
            k
        }
        None => {
            let next = max.unwrap_or(0).saturating_add(1);
            u32::try_from(next).map_err(|_| {
                ApiError::conflict("key_ids_exhausted", "no key id above the highest is free")
            })?
        }
    };
    keys::insert_new_key(&mut *tx, &state.server_key, &id, new_id).await?;
    audit::record(
        &mut *tx,
        &admin.caller.actor(),
        "key.rotate",
        &format!("network:{id}/key:{new_id}"),
        Some(&id),
        json!({ "new_key_id": new_id, "retired_previous": retired > 0 }),
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "key_id": new_id, "keys": keys_json(&state, &id).await? })),
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
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let req: RetireKey = optional_json(&body)?;
    ensure_network(&state, &id).await?;
    let row = sqlx::query("SELECT status FROM stamping_keys WHERE network_id = $1 AND key_id = $2")
        .bind(&id)
        .bind(i64::from(key_id))
        .fetch_optional(&state.db)
        .await?
        .ok_or(ApiError::NotFound("stamping key"))?;
    let status: String = row.try_get("status")?;
    if status == "current" {
        return Err(ApiError::conflict(
            "key_is_current",
            "the current key cannot be retired; rotate to a new key first",
        ));
    }
    if !req.immediate {
        return Err(ApiError::conflict(
            "already_retired",
            "the key is already retired (use immediate=true to stop verifying it now)",
        ));
    }
    // retired_at = 0: retired "long ago", so every verification now fails with key_retired.
    sqlx::query("UPDATE stamping_keys SET retired_at = 0 WHERE network_id = $1 AND key_id = $2")
        .bind(&id)
        .bind(i64::from(key_id))
        .execute(&state.db)
        .await?;
    audit::record(
        &state.db,
        &admin.caller.actor(),
        "key.retire",
        &format!("network:{id}/key:{key_id}"),
        Some(&id),
        json!({ "immediate": true }),
    )
    .await?;
    Ok(Json(json!({ "keys": keys_json(&state, &id).await? })))
}

/// `POST /v1/admin/tokens` body.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// Role of the new token.
    pub role: Role,
    /// Network (required for moderator/relay/service, forbidden for admin).
    #[serde(default)]
    pub network: Option<String>,
    /// Holder name, used as the audit actor (e.g. the moderator's id).
    pub subject: String,
    /// Expire after this many milliseconds (default: never).
    #[serde(default)]
    pub expires_in_ms: Option<u64>,
}

async fn create_token(
    State(state): State<AppState>,
    admin: AdminAuth,
    ApiJson(req): ApiJson<CreateToken>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    check_identifier("subject", &req.subject)?;
    match (req.role, &req.network) {
        (Role::Admin, Some(_)) => {
            return Err(ApiError::bad_request(
                "invalid_parameter",
                "admin tokens are global: omit network",
            ));
        }
        (Role::Admin, None) => {}
        (_, None) => {
            return Err(ApiError::bad_request(
                "invalid_parameter",
                "moderator, relay and service tokens need a network",
            ));
        }
        (_, Some(n)) => ensure_network(&state, n).await?,
    }
    let now = now_ms();
    let expires_at = req.expires_in_ms.map(|ms| now.saturating_add(to_i64(ms)));
    let (token_id, token) = issue_token(
        &state.db,
        req.role,
        req.network.as_deref(),
        &req.subject,
        expires_at,
    )
    .await?;
    audit::record(
        &state.db,
        &admin.caller.actor(),
        "token.issue",
        &format!("token:{token_id}"),
        req.network.as_deref(),
        json!({ "role": req.role, "subject": req.subject, "expires_at": expires_at }),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": token_id,
            "token": &*token.secret,
            "role": req.role,
            "network": req.network,
            "subject": req.subject,
            "expires_at": expires_at,
        })),
    ))
}

/// `GET /v1/admin/tokens` query.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenFilter {
    /// Only tokens of this network.
    #[serde(default)]
    pub network: Option<String>,
    /// Only tokens of this role.
    #[serde(default)]
    pub role: Option<Role>,
}

async fn list_tokens(
    State(state): State<AppState>,
    _admin: AdminAuth,
    query: Result<Query<TokenFilter>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Query(f) = query.map_err(|e| ApiError::bad_request("invalid_parameter", e.body_text()))?;
    let rows = sqlx::query(
        "SELECT id, role, network_id, subject, created_at, expires_at, revoked_at FROM tokens \
         WHERE ($1 IS NULL OR network_id = $1) AND ($2 IS NULL OR role = $2) \
         ORDER BY created_at, id",
    )
    .bind(f.network)
    .bind(f.role.map(|r| r.as_str().to_owned()))
    .fetch_all(&state.db)
    .await?;
    let list = rows
        .iter()
        .map(|r| {
            Ok(json!({
                "id": r.try_get::<String, _>("id")?,
                "role": r.try_get::<String, _>("role")?,
                "network": r.try_get::<Option<String>, _>("network_id")?,
                "subject": r.try_get::<String, _>("subject")?,
                "created_at": r.try_get::<i64, _>("created_at")?,
                "expires_at": r.try_get::<Option<i64>, _>("expires_at")?,
                "revoked_at": r.try_get::<Option<i64>, _>("revoked_at")?,
            }))
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(Json(json!({ "tokens": list })))
}

async fn revoke_token(
    State(state): State<AppState>,
    admin: AdminAuth,
    ApiPath(token_id): ApiPath<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let row = sqlx::query("SELECT network_id, revoked_at FROM tokens WHERE id = $1")
        .bind(&token_id)
        .fetch_optional(&state.db)
        .await?
        .ok_or(ApiError::NotFound("token"))?;
    let network: Option<String> = row.try_get("network_id")?;
    let already: Option<i64> = row.try_get("revoked_at")?;
    if already.is_none() {
        sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now_ms())
            .bind(&token_id)
            .execute(&state.db)
            .await?;
        audit::record(
            &state.db,
            &admin.caller.actor(),
            "token.revoke",
            &format!("token:{token_id}"),
            network.as_deref(),
            json!({}),
        )
        .await?;
    }
    Ok(Json(json!({ "id": token_id, "revoked": true })))
}
