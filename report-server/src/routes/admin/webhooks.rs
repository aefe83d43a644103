//! Webhook endpoints and their deliveries (admin tokens). Secrets are shown once, in the answer
//! that creates or rotates them; every change is audited (`webhook.*`).
//!
//! | method | path | what |
//! |---|---|---|
//! | POST | `/v1/admin/networks/{id}/webhooks` | create `{url, event_types?, enabled?}` → endpoint + `secret` |
//! | GET | `/v1/admin/networks/{id}/webhooks` | the network's endpoints |
//! | GET | `/v1/admin/webhooks/{id}` | one endpoint |
//! | PATCH | `/v1/admin/webhooks/{id}` | `{url?, event_types?, enabled?}` |
//! | POST | `/v1/admin/webhooks/{id}/rotate-secret` | `{overlap_ms?}` → endpoint + new `secret` |
//! | GET | `/v1/admin/webhooks/{id}/deliveries` | `?state=pending\|delivered\|dead&limit&cursor`, newest first |
//! | POST | `/v1/admin/webhooks/{id}/deliveries/{delivery_id}/redeliver` | queue a dead (or delivered) delivery again |

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
use crate::extract::{ApiJson, ApiPath, ApiQuery, OptionalJson};
use crate::keys;
use crate::page::PageRequest;
use crate::state::AppState;
use crate::util::now_ms;
use crate::webhooks::endpoints::{
    self, DEFAULT_OVERLAP_MS, Endpoint, MAX_OVERLAP_MS, check_url, parse_event_types,
};
use crate::webhooks::outbox::{self, Delivery, DeliveryState};

/// The webhook routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/admin/networks/{id}/webhooks", post(create).get(list))
        .route("/v1/admin/webhooks/{id}", get(show).patch(update))
        .route("/v1/admin/webhooks/{id}/rotate-secret", post(rotate))
        .route("/v1/admin/webhooks/{id}/deliveries", get(deliveries))
        .route(
            "/v1/admin/webhooks/{id}/deliveries/{delivery_id}/redeliver",
            post(redeliver),
        )
}

/// `POST /v1/admin/networks/{id}/webhooks` body.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// Where events are POSTed (absolute http:// or https:// URL).
    pub url: String,
    /// Event types to deliver (default: all).
    #[serde(default)]
    pub event_types: Option<Vec<String>>,
    /// Deliver events (default true).
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// An endpoint with its secret, shown once (create, rotate).
#[derive(Debug, Serialize)]
pub struct WithSecret {
    /// The endpoint.
    #[serde(flatten)]
    pub endpoint: Endpoint,
    /// The signing secret: keep it, it is not shown again.
    pub secret: String,
}

async fn create(
    State(state): State<AppState>,
    admin: AdminAuth,
    ApiPath(network): ApiPath<String>,
    ApiJson(req): ApiJson<CreateWebhook>,
) -> Result<(StatusCode, Json<WithSecret>), ApiError> {
    check_url(&req.url)?;
    let types = parse_event_types(req.event_types.as_deref())?;
    keys::load_network(&state.db, &network).await?;
    let enabled = req.enabled.unwrap_or(true);
    let mut change = Change::begin(&state.db, admin.caller.actor()).await?;
    let (endpoint, secret) = endpoints::create(
        change.conn(),
        &state.server_key,
        &network,
        &req.url,
        &types,
        enabled,
        now_ms(),
    )
    .await?;
    let entry = AuditEntry::new("webhook.create", format!("webhook:{}", endpoint.id))
        .network(Some(&network))
        .details(json!({ "url": req.url, "event_types": types, "enabled": enabled }));
    change.commit(entry).await?;
    Ok((
        StatusCode::CREATED,
        Json(WithSecret {
            endpoint,
            secret: secret.0.to_string(),
        }),
    ))
}

/// `GET /v1/admin/networks/{id}/webhooks` response.
#[derive(Debug, Serialize)]
pub struct WebhookList {
    /// The network's endpoints, oldest first.
    pub webhooks: Vec<Endpoint>,
}

async fn list(
    State(state): State<AppState>,
    _admin: AdminAuth,
    ApiPath(network): ApiPath<String>,
) -> Result<Json<WebhookList>, ApiError> {
    keys::load_network(&state.db, &network).await?;
    Ok(Json(WebhookList {
        webhooks: endpoints::list(&state.db, &network).await?,
    }))
}

async fn show(
    State(state): State<AppState>,
    _admin: AdminAuth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Endpoint>, ApiError> {
    let mut conn = state.db.acquire().await?;
    Ok(Json(endpoints::load(&mut conn, &id).await?))
}

/// `PATCH /v1/admin/webhooks/{id}` body.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhook {
    /// New URL.
    #[serde(default)]
    pub url: Option<String>,
    /// New event types.
    #[serde(default)]
    pub event_types: Option<Vec<String>>,
    /// Enable or disable (a disabled endpoint's pending deliveries wait until it is enabled).
    #[serde(default)]
    pub enabled: Option<bool>,
}

async fn update(
    State(state): State<AppState>,
    admin: AdminAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<UpdateWebhook>,
) -> Result<Json<Endpoint>, ApiError> {
    if let Some(url) = &req.url {
        check_url(url)?;
    }
    let types = match &req.event_types {
        Some(t) => Some(parse_event_types(Some(t))?),
        None => None,
    };
    let mut change = Change::begin(&state.db, admin.caller.actor()).await?;
    let before = endpoints::load(change.conn(), &id).await?;
    let endpoint = endpoints::update(
        change.conn(),
        &id,
        req.url.as_deref(),
        types.as_deref(),
        req.enabled,
        now_ms(),
    )
    .await?;
    let entry = AuditEntry::new("webhook.update", format!("webhook:{id}"))
        .network(Some(&before.network))
        .details(json!({ "url": req.url, "event_types": types, "enabled": req.enabled }));
    change.commit(entry).await?;
    Ok(Json(endpoint))
}

/// `POST /v1/admin/webhooks/{id}/rotate-secret` body.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateSecret {
    /// How long the previous secret keeps signing deliveries next to the new one (ms; default
    /// 24 h, at most 7 days; 0 = stop using it at once).
    #[serde(default)]
    pub overlap_ms: Option<u64>,
}

async fn rotate(
    State(state): State<AppState>,
    admin: AdminAuth,
    ApiPath(id): ApiPath<String>,
    OptionalJson(req): OptionalJson<RotateSecret>,
) -> Result<Json<WithSecret>, ApiError> {
    let overlap = req.overlap_ms.unwrap_or(DEFAULT_OVERLAP_MS);
    if overlap > MAX_OVERLAP_MS {
        return Err(ApiError::bad_request(
            "invalid_parameter",
            format!("overlap_ms must be at most {MAX_OVERLAP_MS}"),
        ));
    }
    let mut change = Change::begin(&state.db, admin.caller.actor()).await?;
    let before = endpoints::load(change.conn(), &id).await?;
    let (endpoint, secret) =
        endpoints::rotate_secret(change.conn(), &state.server_key, &id, overlap, now_ms()).await?;
    let entry = AuditEntry::new("webhook.rotate_secret", format!("webhook:{id}"))
        .network(Some(&before.network))
        .details(json!({ "overlap_ms": overlap }));
    change.commit(entry).await?;
    Ok(Json(WithSecret {
        endpoint,
        secret: secret.0.to_string(),
    }))
}

/// `GET /v1/admin/webhooks/{id}/deliveries` query.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryFilter {
    /// Only deliveries in this state (`pending`, `delivered`, `dead`).
    #[serde(default)]
    pub state: Option<String>,
    /// Page size (1..=200, default 50).
    #[serde(default)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// `GET /v1/admin/webhooks/{id}/deliveries` response.
#[derive(Debug, Serialize)]
pub struct DeliveryList {
    /// The page, newest first.
    pub deliveries: Vec<Delivery>,
    /// Cursor of the next page (`null` on the last page).
    pub next_cursor: Option<String>,
}

async fn deliveries(
    State(state): State<AppState>,
    _admin: AdminAuth,
    ApiPath(id): ApiPath<String>,
    ApiQuery(f): ApiQuery<DeliveryFilter>,
) -> Result<Json<DeliveryList>, ApiError> {
    let page = PageRequest::new(f.limit, f.cursor.as_deref())?;
    let wanted = match &f.state {
        None => None,
        Some(s) => Some(DeliveryState::parse(s).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_parameter",
                "state must be one of [\"pending\", \"delivered\", \"dead\"]",
            )
        })?),
    };
    endpoints::load(&mut *state.db.acquire().await?, &id).await?;
    let (deliveries, next_cursor) = outbox::list(&state.db, &id, wanted, &page).await?;
    Ok(Json(DeliveryList {
        deliveries,
        next_cursor,
    }))
}

async fn redeliver(
    State(state): State<AppState>,
    admin: AdminAuth,
    ApiPath((id, delivery_id)): ApiPath<(String, String)>,
) -> Result<Json<Delivery>, ApiError> {
    let mut change = Change::begin(&state.db, admin.caller.actor()).await?;
    let endpoint = endpoints::load(change.conn(), &id).await?;
    let before = outbox::load(change.conn(), &delivery_id).await?;
    if before.endpoint_id != id {
        return Err(ApiError::NotFound("delivery"));
    }
    let after = outbox::redeliver(change.conn(), &delivery_id, now_ms()).await?;
    let entry = AuditEntry::new("webhook.redeliver", format!("webhook:{id}"))
        .network(Some(&endpoint.network))
        .details(json!({
            "delivery_id": delivery_id,
            "event_id": before.event_id,
            "from": before.state,
            "attempts": before.attempts,
        }));
    change.commit(entry).await?;
    Ok(Json(after))
}
