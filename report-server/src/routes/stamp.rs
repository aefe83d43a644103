//! Stamping for relays: `POST /v1/stamp` (one message) and `POST /v1/stamp/batch`.
//!
//! Authenticated with a relay token of a network; the context's `network` must be that network
//! (403 `wrong_network`). Stamps are made with the network's current stamping key (franking-core
//! `StampKey::stamp`, the same key `KeyRing::current()` would give). Nothing per message is stored.
//!
//! Request: `{"suite": 2, "commitment": "<base64url 32 B>", "context": {network, sender, room?,
//! recipients, timestamp_ms, message_id}}`; response `{"stamp": {"key_id", "mac"}}`.
//! Batch: `{"items": [request, ...]}` (1..=max_batch) → `{"stamps": [stamp, ...]}` in order; the
//! batch is all-or-nothing (the first invalid item fails it with its index in the message).

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use franking_core::frank::{COMMITMENT_LEN, Commitment, Context, Stamp, StampKey, Suite};

use crate::auth::RelayAuth;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::keys;
use crate::state::AppState;

/// The stamp routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/stamp", post(stamp_one))
        .route("/v1/stamp/batch", post(stamp_batch))
}

/// One stamp request as sent on the wire (validated field by field for precise error codes).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StampRequest {
    /// Suite id (1 or 2).
    pub suite: u8,
    /// Commitment T, base64url without padding.
    pub commitment: String,
    /// The platform context (franking-core JSON form; invalid contexts are 400 `malformed`).
    pub context: Context,
}

/// A batch of stamp requests.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// The items, stamped in order.
    pub items: Vec<StampRequest>,
}

/// Response of `POST /v1/stamp`.
#[derive(Debug, serde::Serialize)]
pub struct StampResponse {
    /// The stamp.
    pub stamp: Stamp,
}

/// Response of `POST /v1/stamp/batch`.
#[derive(Debug, serde::Serialize)]
pub struct BatchResponse {
    /// One stamp per item, in request order.
    pub stamps: Vec<Stamp>,
}

fn prefixed(prefix: &str, e: ApiError) -> ApiError {
    if prefix.is_empty() {
        return e;
    }
    match e {
        ApiError::BadRequest { code, message } => ApiError::BadRequest {
            code,
            message: format!("{prefix}: {message}"),
        },
        ApiError::Forbidden { code, message } => ApiError::Forbidden {
            code,
            message: format!("{prefix}: {message}"),
        },
        other => other,
    }
}

fn parse_item(req: StampRequest, network: &str) -> Result<(Suite, Commitment, Context), ApiError> {
    let suite = Suite::from_id(req.suite).map_err(|e| ApiError::from_protocol(&e))?;
    let raw = URL_SAFE_NO_PAD
        .decode(req.commitment.as_bytes())
        .map_err(|_| ApiError::malformed("commitment is not base64url (no padding)"))?;
    let bytes: [u8; COMMITMENT_LEN] = raw
        .as_slice()
        .try_into()
        .map_err(|_| ApiError::malformed(format!("commitment must be {COMMITMENT_LEN} bytes")))?;
    let context = req.context;
    if context.network() != network {
        return Err(ApiError::Forbidden {
            code: "wrong_network",
            message: "the context names a network this relay token does not stamp for".into(),
        });
    }
    Ok((suite, Commitment(bytes), context))
}

async fn current_key(state: &AppState, network: &str) -> Result<StampKey, ApiError> {
    if let Some(k) = state.current_keys.get(network) {
        return Ok(k);
    }
    let key = keys::load_current(&state.db, &state.server_key, network).await?;
    state.current_keys.put(network, key.clone());
    Ok(key)
}

fn stamp_with(key: &StampKey, item: &(Suite, Commitment, Context)) -> Result<Stamp, ApiError> {
    key.stamp(item.0, &item.1, &item.2)
        .map_err(|e| ApiError::from_protocol(&e))
}

async fn stamp_one(
    State(state): State<AppState>,
    relay: RelayAuth,
    ApiJson(req): ApiJson<StampRequest>,
) -> Result<Json<StampResponse>, ApiError> {
    let item = parse_item(req, &relay.network)?;
    let key = current_key(&state, &relay.network).await?;
    let stamp = stamp_with(&key, &item)?;
    state.metrics.stamps_issued(&relay.network, 1);
    Ok(Json(StampResponse { stamp }))
}

async fn stamp_batch(
    State(state): State<AppState>,
    relay: RelayAuth,
    ApiJson(req): ApiJson<BatchRequest>,
) -> Result<Json<BatchResponse>, ApiError> {
    if req.items.is_empty() || req.items.len() > state.limits.max_batch {
        return Err(ApiError::bad_request(
            "invalid_batch",
            format!("a batch holds 1..={} items", state.limits.max_batch),
        ));
    }
    let items = req
        .items
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            parse_item(r, &relay.network).map_err(|e| prefixed(&format!("items[{i}]"), e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let key = current_key(&state, &relay.network).await?;
    let stamps = items
        .iter()
        .map(|it| stamp_with(&key, it))
        .collect::<Result<Vec<_>, _>>()?;
    state
        .metrics
        .stamps_issued(&relay.network, stamps.len() as u64);
    Ok(Json(BatchResponse { stamps }))
}
