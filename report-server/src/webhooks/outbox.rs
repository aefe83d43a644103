//! The durable outbox: `webhook_events` (one row per event, its exact JSON payload) and
//! `webhook_deliveries` (one row per subscribed endpoint), written by [`enqueue`] inside the
//! transaction of the change the event reports — so an event exists if and only if its change
//! committed, and survives any crash after the commit. [`enqueue`] is called only by
//! [`crate::change::Change::commit`] (events attached with [`crate::change::Change::emit`]) and by
//! report intake ([`crate::intake`], which commits its own transaction).
//!
//! Also the readers and the admin actions on deliveries (list, redeliver).

use serde::Serialize;
use sqlx::{AnyConnection, AnyPool};

use super::EventType;
use super::endpoints::decode_types;
use crate::cases::Resolution;
use crate::error::ApiError;
use crate::page::{Keyset, PageRequest};
use crate::util::new_id;

/// An event to publish about a case, attached to a change.
#[derive(Debug, Clone)]
pub struct Event {
    kind: EventType,
    network: String,
    case_id: String,
    action: Option<Resolution>,
    reporter: Option<String>,
    addressed: Option<Addressed>,
}

/// An event for one delivery target with its own (sealed) body: a federation event for a peer.
#[derive(Clone)]
struct Addressed {
    event_id: String,
    endpoint_id: String,
    sealed_body: String,
}

impl core::fmt::Debug for Addressed {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Addressed")
            .field("event_id", &self.event_id)
            .field("endpoint_id", &self.endpoint_id)
            .finish_non_exhaustive()
    }
}

impl Event {
    /// An event of type `kind` about case `case_id` of `network`.
    pub fn case(kind: EventType, network: &str, case_id: &str) -> Self {
        Self {
            kind,
            network: network.to_owned(),
            case_id: case_id.to_owned(),
            action: None,
            reporter: None,
            addressed: None,
        }
    }

    /// An event `event_id` of type `kind` about case `case_id` of `network`, delivered only to
    /// the target `endpoint_id` (a peer) with the stored body `body` (a forward's body is sealed
    /// by the caller, [`crate::federation::seal_body`]: it holds evidence, which is never stored
    /// in the clear).
    pub fn addressed(
        kind: EventType,
        network: &str,
        case_id: &str,
        event_id: &str,
        endpoint_id: &str,
        body: String,
    ) -> Self {
        Self {
            addressed: Some(Addressed {
                event_id: event_id.to_owned(),
                endpoint_id: endpoint_id.to_owned(),
                sealed_body: body,
            }),
            ..Self::case(kind, network, case_id)
        }
    }

    /// The resolution action (`case.resolved`).
    pub fn action(mut self, action: Resolution) -> Self {
        self.action = Some(action);
        self
    }

    /// The reporter (`case.created`, `case.report_added`); included in the payload only if the
    /// network's policy has `webhook_reporter_identities` on.
    pub fn reporter(mut self, reporter: &str) -> Self {
        self.reporter = Some(reporter.to_owned());
        self
    }
}

/// The JSON body of a webhook delivery (see `docs/api.md`, Webhooks).
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Payload {
    /// Event id (`evt_...`): the idempotency key, the same in every attempt.
    pub id: String,
    /// Event type.
    #[serde(rename = "type")]
    pub kind: EventType,
    /// The network.
    pub network: String,
    /// When the change happened (ms since the epoch).
    pub created_at: i64,
    /// The case the event is about.
    pub case_id: String,
    /// The reported message's id (from its stamped context).
    pub message_id: String,
    /// The resolution action (`case.resolved` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Resolution>,
    /// The reporter (`case.created`, `case.report_added`, only when the network policy allows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reporter: Option<String>,
}

/// Write `events` (in the caller's transaction) for every enabled endpoint of their network that
/// subscribes to their type. An event no endpoint wants is not stored. Returns the number of
/// deliveries queued.
pub(crate) async fn enqueue(
    conn: &mut AnyConnection,
    events: &[Event],
    now: i64,
) -> Result<u64, ApiError> {
    let mut queued = 0;
    // Each network's enabled endpoints, read once per transaction.
    let mut endpoints = std::collections::HashMap::new();
    for ev in events {
        if let Some(a) = &ev.addressed {
            insert_event(conn, &a.event_id, ev, &a.sealed_body, now).await?;
            insert_delivery(conn, &a.event_id, &a.endpoint_id, now).await?;
            queued += 1;
            continue;
        }
        if !endpoints.contains_key(&ev.network) {
            let rows: Vec<(String, String)> = sqlx::query_as(
                "SELECT id, event_types FROM webhook_endpoints \
                 WHERE network_id = $1 AND enabled = 1 AND kind = 'webhook' ORDER BY id",
            )
            .bind(&ev.network)
            .fetch_all(&mut *conn)
            .await?;
            let decoded = rows
                .into_iter()
                .map(|(id, types)| Ok((id, decode_types(&types)?)))
                .collect::<Result<Vec<_>, ApiError>>()?;
            endpoints.insert(ev.network.clone(), decoded);
        }
        let targets: Vec<String> = endpoints
            .get(&ev.network)
            .into_iter()
            .flatten()
            .filter(|(_, types)| types.contains(&ev.kind))
            .map(|(id, _)| id.clone())
            .collect();
        if targets.is_empty() {
            continue;
        }
        let (message_id, identities): (String, i64) = sqlx::query_as(
            "SELECT c.message_id, p.webhook_reporter_identities FROM cases c \
             JOIN network_policies p ON p.network_id = c.network_id WHERE c.id = $1",
        )
        .bind(&ev.case_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| ApiError::Internal(format!("event for missing case {}", ev.case_id)))?;
        let payload = Payload {
            id: new_id("evt")?,
            kind: ev.kind,
            network: ev.network.clone(),
            created_at: now,
            case_id: ev.case_id.clone(),
            message_id,
            action: ev.action,
            reporter: ev.reporter.clone().filter(|_| identities != 0),
        };
        let body = serde_json::to_string(&payload)
            .map_err(|e| ApiError::Internal(format!("event payload: {e}")))?;
        insert_event(conn, &payload.id, ev, &body, now).await?;
        for endpoint in targets {
            insert_delivery(conn, &payload.id, &endpoint, now).await?;
            queued += 1;
        }
    }
    Ok(queued)
}

async fn insert_event(
    conn: &mut AnyConnection,
    id: &str,
    ev: &Event,
    body: &str,
    now: i64,
) -> Result<(), ApiError> {
    sqlx::query(
        "INSERT INTO webhook_events (id, network_id, event_type, case_id, payload, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(&ev.network)
    .bind(ev.kind)
    .bind(&ev.case_id)
    .bind(body)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn insert_delivery(
    conn: &mut AnyConnection,
    event_id: &str,
    endpoint_id: &str,
    now: i64,
) -> Result<(), ApiError> {
    sqlx::query(
        "INSERT INTO webhook_deliveries (id, event_id, endpoint_id, state, attempts, \
         next_attempt_at, created_at, updated_at) VALUES ($1, $2, $3, 'pending', 0, $4, $4, $4)",
    )
    .bind(new_id("dlv")?)
    .bind(event_id)
    .bind(endpoint_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Where a delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its (next) attempt.
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Dead-lettered: the retry limit was reached (redeliver to try again).
    Dead,
}

impl DeliveryState {
    /// Every state.
    pub const ALL: [DeliveryState; 3] = [Self::Pending, Self::Delivered, Self::Dead];

    /// The stored (and wire) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Dead => "dead",
        }
    }

    /// Parse a stored (or wire) name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

crate::db::text_enum!(DeliveryState);

const DELIVERY_COLUMNS: &str = "d.id, d.event_id, ev.event_type, d.endpoint_id, d.state, \
     d.attempts, d.next_attempt_at, d.last_status, d.last_error, d.created_at, d.updated_at, \
     d.delivered_at";

/// A delivery as the admin API shows it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Delivery {
    /// Attempts made.
    pub attempts: i64,
    /// When it was queued (ms).
    pub created_at: i64,
    /// When the endpoint accepted it (ms).
    pub delivered_at: Option<i64>,
    /// The endpoint.
    pub endpoint_id: String,
    /// The event (its id is the idempotency key).
    pub event_id: String,
    /// The event's type.
    pub event_type: EventType,
    /// Delivery id (`dlv_...`).
    pub id: String,
    /// The last failure (HTTP status or transport error), if any.
    pub last_error: Option<String>,
    /// The last HTTP status received, if any.
    pub last_status: Option<i64>,
    /// When the next attempt is due (ms; pending only).
    pub next_attempt_at: i64,
    /// Where it is.
    pub state: DeliveryState,
    /// Last change (ms).
    pub updated_at: i64,
}

impl Keyset for Delivery {
    fn keyset(&self) -> (i64, &str) {
        (self.created_at, &self.id)
    }
}

/// One page of `endpoint`'s deliveries (optionally in `state`), newest first.
pub async fn list(
    db: &AnyPool,
    endpoint: &str,
    state: Option<DeliveryState>,
    page: &PageRequest,
) -> Result<(Vec<Delivery>, Option<String>), ApiError> {
    let rows: Vec<Delivery> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d \
         JOIN webhook_events ev ON ev.id = d.event_id \
         WHERE d.endpoint_id = $1 AND ($2 IS NULL OR d.state = $2) \
           AND ($3 IS NULL OR d.created_at < $3 OR (d.created_at = $3 AND d.id < $4)) \
         ORDER BY d.created_at DESC, d.id DESC LIMIT $5"
    )))
    .bind(endpoint)
    .bind(state)
    .bind(page.after_time())
    .bind(page.after_id())
    .bind(page.fetch_limit())
    .fetch_all(db)
    .await?;
    Ok(page.page(rows))
}

/// Load one delivery (404 `not_found`).
pub async fn load(conn: &mut AnyConnection, id: &str) -> Result<Delivery, ApiError> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d \
         JOIN webhook_events ev ON ev.id = d.event_id WHERE d.id = $1"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(ApiError::NotFound("delivery"))
}

/// Queue a dead (or delivered) delivery again: pending, attempts reset, due now. 409
/// `delivery_pending` if it is still pending.
pub async fn redeliver(conn: &mut AnyConnection, id: &str, now: i64) -> Result<Delivery, ApiError> {
    let before = load(&mut *conn, id).await?;
    let n = sqlx::query(
        "UPDATE webhook_deliveries SET state = 'pending', attempts = 0, next_attempt_at = $2, \
         lease_owner = NULL, lease_until = NULL, updated_at = $2 \
         WHERE id = $1 AND state <> 'pending'",
    )
    .bind(id)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(ApiError::conflict(
            "delivery_pending",
            format!(
                "the delivery is {} (only dead or delivered deliveries can be redelivered)",
                before.state.as_str()
            ),
        ));
    }
    load(conn, id).await
}
