//! The durable outbox: `webhook_events` (one row per event, its exact JSON payload) and
//! `webhook_deliveries` (one row per subscribed endpoint), written by [`prepare`] and
//! [`Outbox::push`] inside the transaction of the change the event reports — so an event exists
//! if and only if its change committed, and survives any crash after the commit. Only
//! [`crate::change::Change`]'s commit calls them (events attached with
//! [`crate::change::Change::emit`], by every audited change and by report intake).
//!
//! Also the readers and the admin actions on deliveries (list, redeliver).

use std::collections::HashMap;

use serde::Serialize;
use sqlx::{AnyConnection, AnyPool};

use super::EventType;
use super::endpoints::decode_types;
use crate::cases::Resolution;
use crate::error::ApiError;
use crate::page::{Keyset, PageRequest};
use crate::util::new_id;
use crate::writes::Writes;

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

/// The outbox rows of a change's events ([`prepare`]), to be written with the change's other
/// writes ([`Outbox::push`]).
#[derive(Debug)]
pub(crate) struct Outbox<'e> {
    /// (event id, event, body).
    events: Vec<(String, &'e Event, String)>,
    /// (delivery id, event id, endpoint id).
    deliveries: Vec<(String, String, String)>,
    now: i64,
}

/// The outbox rows of `events` (in the caller's transaction): one event for every event some
/// enabled endpoint of its network subscribes to (an event no endpoint wants is not stored), one
/// delivery per such endpoint. Runs `deferred` (the change's writes) with the read of the
/// endpoints, in one round trip on PostgreSQL; whatever the number of events, one more read, of
/// the cases the wanted events are about.
pub(crate) async fn prepare<'e>(
    conn: &mut AnyConnection,
    events: &'e [Event],
    deferred: Writes,
    now: i64,
) -> Result<Outbox<'e>, ApiError> {
    let mut out = Outbox {
        events: Vec::new(),
        deliveries: Vec::new(),
        now,
    };
    let mut networks: Vec<&str> = Vec::new();
    for ev in events {
        if let Some(a) = &ev.addressed {
            out.events
                .push((a.event_id.clone(), ev, a.sealed_body.clone()));
            out.deliveries
                .push((new_id("dlv")?, a.event_id.clone(), a.endpoint_id.clone()));
        } else {
            networks.push(&ev.network);
        }
    }
    networks.sort_unstable();
    networks.dedup();
    let endpoints = network_endpoints(conn, &networks, deferred).await?;
    let mut wanted: Vec<(&Event, Vec<String>)> = Vec::new();
    for ev in events.iter().filter(|ev| ev.addressed.is_none()) {
        let targets: Vec<String> = endpoints
            .get(ev.network.as_str())
            .into_iter()
            .flatten()
            .filter(|(_, types)| types.contains(&ev.kind))
            .map(|(id, _)| id.clone())
            .collect();
        if !targets.is_empty() {
            wanted.push((ev, targets));
        }
    }
    let mut case_ids: Vec<&str> = wanted.iter().map(|(ev, _)| ev.case_id.as_str()).collect();
    case_ids.sort_unstable();
    case_ids.dedup();
    let cases = message_ids(conn, &case_ids).await?;
    for (ev, targets) in wanted {
        let (message_id, identities) = cases
            .get(&ev.case_id)
            .ok_or_else(|| ApiError::Internal(format!("event for missing case {}", ev.case_id)))?;
        let payload = Payload {
            id: new_id("evt")?,
            kind: ev.kind,
            network: ev.network.clone(),
            created_at: now,
            case_id: ev.case_id.clone(),
            message_id: message_id.clone(),
            action: ev.action,
            reporter: ev.reporter.clone().filter(|_| *identities != 0),
        };
        let body = serde_json::to_string(&payload)
            .map_err(|e| ApiError::Internal(format!("event payload: {e}")))?;
        for endpoint in targets {
            out.deliveries
                .push((new_id("dlv")?, payload.id.clone(), endpoint));
        }
        out.events.push((payload.id, ev, body));
    }
    Ok(out)
}

impl Outbox<'_> {
    /// Add the inserts of the events and their deliveries to `writes`.
    pub(crate) fn push(self, writes: &mut Writes) {
        push_events(writes, &self.events, self.now);
        push_deliveries(writes, &self.deliveries, self.now);
    }
}

/// The enabled webhook endpoints of `networks` (sorted, distinct) with the event types each
/// subscribes to, read with `deferred` (see [`prepare`]).
async fn network_endpoints(
    conn: &mut AnyConnection,
    networks: &[&str],
    deferred: Writes,
) -> Result<HashMap<String, Vec<(String, Vec<EventType>)>>, ApiError> {
    let mut deferred = Some(deferred);
    let mut out: HashMap<String, Vec<(String, Vec<EventType>)>> = HashMap::new();
    for chunk in crate::db::padded_chunks(networks) {
        let sql = format!(
            "SELECT network_id, id, event_types FROM webhook_endpoints \
             WHERE network_id IN ({}) AND enabled = 1 AND kind = 'webhook' \
             ORDER BY network_id, id",
            chunk.in_list(1)
        );
        let writes = deferred.take().unwrap_or_else(|| Writes::new(conn));
        let rows: Vec<(String, String, String)> = writes
            .run_then_read(&mut *conn, &sql, |b| {
                for (network, _) in chunk.slots() {
                    b.bind(*network);
                }
            })
            .await?;
        for (network, id, types) in rows {
            out.entry(network)
                .or_default()
                .push((id, decode_types(&types)?));
        }
    }
    if let Some(writes) = deferred {
        writes.run(conn).await?;
    }
    Ok(out)
}

/// The reported message id of each case, and whether its network's events name reporters.
async fn message_ids(
    conn: &mut AnyConnection,
    case_ids: &[&str],
) -> Result<HashMap<String, (String, i64)>, ApiError> {
    let mut out = HashMap::with_capacity(case_ids.len());
    for chunk in crate::db::padded_chunks(case_ids) {
        let mut q = sqlx::query_as::<_, (String, String, i64)>(sqlx::AssertSqlSafe(format!(
            "SELECT c.id, c.message_id, p.webhook_reporter_identities FROM cases c \
             JOIN network_policies p ON p.network_id = c.network_id WHERE c.id IN ({})",
            chunk.in_list(1)
        )));
        for (id, _) in chunk.slots() {
            q = q.bind(*id);
        }
        for (id, message_id, identities) in q.fetch_all(&mut *conn).await? {
            out.insert(id, (message_id, identities));
        }
    }
    Ok(out)
}

fn push_events(writes: &mut Writes, rows: &[(String, &Event, String)], now: i64) {
    const COLUMNS: &str = "id, network_id, event_type, case_id, payload, created_at";
    for chunk in crate::db::padded_chunks(rows) {
        let mut b = writes.push(&format!(
            "{} INSERT INTO webhook_events ({COLUMNS}) SELECT {COLUMNS} FROM v WHERE keep = 1",
            chunk.with_rows(COLUMNS, 1)
        ));
        for ((id, ev, body), keep) in chunk.slots() {
            b.bind(id)
                .bind(&ev.network)
                .bind(ev.kind)
                .bind(&ev.case_id)
                .bind(body)
                .bind(now)
                .bind(keep);
        }
    }
}

fn push_deliveries(writes: &mut Writes, rows: &[(String, String, String)], now: i64) {
    const COLUMNS: &str =
        "id, event_id, endpoint_id, state, attempts, next_attempt_at, created_at, updated_at";
    for chunk in crate::db::padded_chunks(rows) {
        let mut b = writes.push(&format!(
            "{} INSERT INTO webhook_deliveries ({COLUMNS}) SELECT {COLUMNS} FROM v \
             WHERE keep = 1",
            chunk.with_rows(COLUMNS, 1)
        ));
        for ((id, event_id, endpoint_id), keep) in chunk.slots() {
            b.bind(id)
                .bind(event_id)
                .bind(endpoint_id)
                .bind("pending")
                .bind(0_i64)
                .bind(now)
                .bind(now)
                .bind(now)
                .bind(keep);
        }
    }
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
