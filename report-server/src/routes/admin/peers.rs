//! Federation peers of a network (admin tokens; `docs/federation.md`). Every change is audited
//! (`peer.create`, `peer.update`); the shared secret is shown once, when the server generated it.
//!
//! | method | path | what |
//! |---|---|---|
//! | POST | `/v1/admin/networks/{id}/peers` | register `{network, base_url, key_source, keys?, key_refresh_ms?, secret?}` → peer (+ `secret` if generated) |
//! | GET | `/v1/admin/networks/{id}/peers` | the network's peers |
//! | GET | `/v1/admin/networks/{id}/peers/{peer}` | one peer |
//! | PATCH | `/v1/admin/networks/{id}/peers/{peer}` | `{base_url?, key_source?, keys?, key_refresh_ms?, disabled?}` |

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
use crate::federation::PublishedKey;
use crate::federation::peers::{
    self, DEFAULT_KEY_REFRESH_MS, KeySource, NewPeer, Peer, PeerUpdate, check_pinned,
};
use crate::keys;
use crate::state::AppState;
use crate::util::{check_identifier, now_ms};
use crate::webhooks::endpoints::{self, Secret, check_url};

/// The peer routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/admin/networks/{id}/peers", post(create).get(list))
        .route(
            "/v1/admin/networks/{id}/peers/{peer}",
            get(show).patch(update),
        )
}

/// `POST /v1/admin/networks/{id}/peers` body.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreatePeer {
    /// The peer's network id (as in its stamped contexts).
    pub network: String,
    /// The base URL of the peer's report server (absolute http(s)).
    pub base_url: String,
    /// `pinned` (with `keys`) or `fetched` (from its `/.well-known/franking/keys`).
    pub key_source: KeySource,
    /// The pinned published keys (`pinned` only).
    #[serde(default)]
    pub keys: Option<Vec<PublishedKey>>,
    /// Cache lifetime of fetched keys in ms (default 300000).
    #[serde(default)]
    pub key_refresh_ms: Option<u64>,
    /// The shared secret the other side generated; omitted: this server generates one.
    #[serde(default)]
    pub secret: Option<String>,
}

/// A peer with its generated secret, shown once.
#[derive(Debug, Serialize)]
pub struct Created {
    /// The peer.
    #[serde(flatten)]
    pub peer: Peer,
    /// The generated shared secret (give it to the peer's admin); omitted when supplied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// `PATCH /v1/admin/networks/{id}/peers/{peer}` body.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdatePeer {
    /// New base URL.
    #[serde(default)]
    pub base_url: Option<String>,
    /// New key source.
    #[serde(default)]
    pub key_source: Option<KeySource>,
    /// New pinned keys.
    #[serde(default)]
    pub keys: Option<Vec<PublishedKey>>,
    /// New cache lifetime of fetched keys (ms).
    #[serde(default)]
    pub key_refresh_ms: Option<u64>,
    /// Disable (true) or enable (false) the peer.
    #[serde(default)]
    pub disabled: Option<bool>,
}

/// A peer list.
#[derive(Debug, Serialize)]
pub struct PeerList {
    /// The peers, by network id.
    pub peers: Vec<Peer>,
}

/// 400 `invalid_peer` unless pinned keys come exactly with `pinned`, and the refresh interval is
/// in range.
fn check_keys(
    peer_network: &str,
    source: KeySource,
    keys: Option<&[PublishedKey]>,
    refresh: Option<u64>,
) -> Result<(), ApiError> {
    let bad = |m: &str| Err(ApiError::bad_request("invalid_peer", m.to_owned()));
    match (source, keys) {
        (KeySource::Pinned, None) => return bad("key_source `pinned` needs `keys`"),
        (KeySource::Fetched, Some(_)) => return bad("`keys` are only for key_source `pinned`"),
        (KeySource::Pinned, Some(k)) => check_pinned(peer_network, k)?,
        (KeySource::Fetched, None) => {}
    }
    if refresh.is_some_and(|r| r > i64::MAX as u64) {
        return bad("key_refresh_ms out of range");
    }
    Ok(())
}

async fn create(
    State(state): State<AppState>,
    admin: AdminAuth,
    ApiPath(network): ApiPath<String>,
    ApiJson(req): ApiJson<CreatePeer>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    check_identifier("network", &req.network)?;
    if req.network == network {
        return Err(ApiError::bad_request(
            "invalid_peer",
            "a network cannot be its own peer",
        ));
    }
    check_url(&req.base_url)?;
    check_keys(
        &req.network,
        req.key_source,
        req.keys.as_deref(),
        req.key_refresh_ms,
    )?;
    keys::load_network(&state.db, &network).await?;
    let (secret, generated) = match &req.secret {
        Some(s) => (Secret::supplied(s)?, false),
        None => (Secret::generate()?, true),
    };
    let now = now_ms();
    let mut change = Change::begin(&state.db, admin.caller.actor()).await?;
    let endpoint_id = endpoints::create_peer_target(
        change.conn(),
        &state.server_key,
        &network,
        &req.base_url,
        &secret,
        now,
    )
    .await?;
    let new = NewPeer {
        network: &network,
        peer_network: &req.network,
        base_url: &req.base_url,
        key_source: req.key_source,
        pinned: req.keys.as_deref(),
        key_refresh_ms: req.key_refresh_ms.unwrap_or(DEFAULT_KEY_REFRESH_MS),
        endpoint_id: &endpoint_id,
    };
    peers::insert(change.conn(), &new, now).await?;
    let peer = peers::load(change.conn(), &network, &req.network).await?;
    let entry = AuditEntry::new("peer.create", format!("peer:{network}/{}", req.network))
        .network(Some(&network))
        .details(json!({
            "base_url": req.base_url,
            "key_source": req.key_source,
            "keys": req.keys.as_ref().map_or(0, Vec::len),
            "secret_generated": generated,
        }));
    change.commit(entry).await?;
    Ok((
        StatusCode::CREATED,
        Json(Created {
            peer,
            secret: generated.then(|| secret.0.to_string()),
        }),
    ))
}

async fn list(
    State(state): State<AppState>,
    _admin: AdminAuth,
    ApiPath(network): ApiPath<String>,
) -> Result<Json<PeerList>, ApiError> {
    keys::load_network(&state.db, &network).await?;
    Ok(Json(PeerList {
        peers: peers::list(&state.db, &network).await?,
    }))
}

async fn show(
    State(state): State<AppState>,
    _admin: AdminAuth,
    ApiPath((network, peer)): ApiPath<(String, String)>,
) -> Result<Json<Peer>, ApiError> {
    let mut conn = state.db.acquire().await?;
    Ok(Json(peers::load(&mut conn, &network, &peer).await?))
}

async fn update(
    State(state): State<AppState>,
    admin: AdminAuth,
    ApiPath((network, peer_network)): ApiPath<(String, String)>,
    ApiJson(req): ApiJson<UpdatePeer>,
) -> Result<Json<Peer>, ApiError> {
    if let Some(url) = &req.base_url {
        check_url(url)?;
    }
    let mut change = Change::begin(&state.db, admin.caller.actor()).await?;
    let peer = peers::load(change.conn(), &network, &peer_network).await?;
    let source = req.key_source.unwrap_or(peer.key_source);
    if req.key_source.is_some() || req.keys.is_some() {
        check_keys(
            &peer_network,
            source,
            req.keys.as_deref(),
            req.key_refresh_ms,
        )?;
    }
    let u = PeerUpdate {
        base_url: req.base_url.as_deref(),
        key_source: req.key_source,
        pinned: req.keys.as_deref(),
        key_refresh_ms: req.key_refresh_ms,
        disabled: req.disabled,
    };
    peers::update(change.conn(), &peer, &u, now_ms()).await?;
    let updated = peers::load(change.conn(), &network, &peer_network).await?;
    let entry = AuditEntry::new("peer.update", format!("peer:{network}/{peer_network}"))
        .network(Some(&network))
        .details(json!({
            "base_url": req.base_url,
            "key_source": req.key_source,
            "keys": req.keys.as_ref().map(Vec::len),
            "key_refresh_ms": req.key_refresh_ms,
            "disabled": req.disabled,
        }));
    change.commit(entry).await?;
    Ok(Json(updated))
}
