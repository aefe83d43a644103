//! What travels between peers, and the rows that remember it.
//!
//! * A **forward** (`POST /v1/federation/reports` on the stamping network): queued by report
//!   intake on the reporter's network in the report's own transaction ([`queue_forward`]), as an
//!   outbox event addressed to the peer's delivery target with its body sealed at rest. The body
//!   ([`Forward`]) carries the franking-core report (the reporter replaced by a pseudonym unless
//!   the policy lets identities cross), the sender's case id and its receipt time.
//! * A **decision** (`POST /v1/federation/decisions` on the reporter's network): queued by a
//!   resolve or dismiss of a case that forwards joined ([`emit_decisions`]), one per forward.
//!
//! **Peer authentication**: both directions are signed like webhooks (`Franking-Signature:
//! t=<unix s>,v1=<hex HMAC-SHA-256(secret, t "." body)>`) with the secret the two admins share
//! for the peering, plus `Franking-Peer: <sending network>`. The receiver ([`authenticate`])
//! finds the peering named by the body's `to` (its local network) and `from` (403
//! `unknown_peer` / `peer_disabled`), requires the header to equal `from`, and checks the
//! signature against the peering's secret(s) within 5 minutes (401 `peer_signature_invalid` /
//! `peer_signature_stale`). `from` and `to` are inside the signed body, so a request cannot be
//! reflected back to its sender or redirected to another local network. A forward id is accepted
//! once per peer ([`federation_inbound`]; a replay is 409 `forward_replayed`, which the sender's
//! worker counts as delivered).

use axum::http::HeaderMap;
use serde::de::DeserializeOwned;
use sqlx::{AnyConnection, AnyPool};

use super::peers::{self, Peer};
use crate::audit::AuditEntry;
use crate::cases::{Case, CaseState, Resolution};
use crate::change::Change;
use crate::error::ApiError;
use crate::seal::ServerKey;
use crate::util::new_id;
use crate::webhooks::EventType;
use crate::webhooks::endpoints;
use crate::webhooks::outbox::Event;
use crate::webhooks::signature::{self, SignatureError};

/// The body format version.
pub const BODY_VERSION: u8 = 1;
/// Tolerance of a peer request's signature timestamp (seconds).
pub const TOLERANCE_SECS: i64 = signature::DEFAULT_TOLERANCE_SECS;

/// A forwarded report (`POST /v1/federation/reports`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Forward {
    /// Body format version (1).
    pub v: u8,
    /// The forward's id (`fwd_...`): accepted once per peer.
    pub forward_id: String,
    /// The sending network (the reporter's).
    pub from: String,
    /// The receiving network (the message's stamping network).
    pub to: String,
    /// The case on the sending server.
    pub case_id: String,
    /// When the sending server accepted the report (ms).
    pub received_at: i64,
    /// Whether `report.reporter` is the reporter's id (true) or the sender's pseudonym.
    pub reporter_named: bool,
    /// The category the reporter's platform gave, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// The franking-core report (JSON form), stamps as stamped (HMAC and signature).
    pub report: serde_json::Value,
}

/// A decision sent back (`POST /v1/federation/decisions`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// Body format version (1).
    pub v: u8,
    /// The forward that joined the decided case.
    pub forward_id: String,
    /// The deciding network (the stamping network).
    pub from: String,
    /// The network that forwarded the report.
    pub to: String,
    /// The case on the deciding server.
    pub case_id: String,
    /// `resolved` or `dismissed`.
    pub state: CaseState,
    /// The action of a resolution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Resolution>,
    /// When the case was decided (ms).
    pub decided_at: i64,
}

/// A body exchanged between peers: who sends it to whom.
pub trait PeerBody: DeserializeOwned {
    /// The sending network.
    fn from(&self) -> &str;
    /// The receiving (local) network.
    fn to(&self) -> &str;
    /// The body format version.
    fn version(&self) -> u8;
}

/// Both bodies carry `v`, `from` and `to` under the same names.
macro_rules! peer_body {
    ($($t:ty),*) => {$(
        impl PeerBody for $t {
            fn from(&self) -> &str {
                &self.from
            }
            fn to(&self) -> &str {
                &self.to
            }
            fn version(&self) -> u8 {
                self.v
            }
        }
    )*};
}

peer_body!(Forward, Decision);

fn peer_unauthorized(code: &'static str, message: &str) -> ApiError {
    ApiError::PeerUnauthorized {
        code,
        message: message.to_owned(),
    }
}

/// Authenticate a peer request (see the module docs) and parse its body. Nothing is written.
pub async fn authenticate<T: PeerBody>(
    db: &AnyPool,
    key: &ServerKey,
    headers: &HeaderMap,
    bytes: &[u8],
    now: i64,
) -> Result<(Peer, T), ApiError> {
    let body: T = crate::extract::parse_json_body(bytes)?;
    if body.version() != BODY_VERSION {
        return Err(ApiError::bad_request(
            "unsupported_version",
            format!(
                "federation body version {} (this server speaks 1)",
                body.version()
            ),
        ));
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if header(super::PEER_HEADER) != Some(body.from()) {
        return Err(peer_unauthorized(
            "peer_signature_invalid",
            "the Franking-Peer header must name the body's `from` network",
        ));
    }
    let peer = peers::active(db, body.to(), body.from()).await?;
    let sig = header(signature::HEADER).ok_or_else(|| {
        peer_unauthorized(
            "peer_signature_invalid",
            "missing Franking-Signature header",
        )
    })?;
    let secrets = endpoints::peer_secrets(db, key, &peer.endpoint_id, now).await?;
    let mut stale = false;
    for s in &secrets {
        match signature::verify(sig, s, bytes, now / 1000, TOLERANCE_SECS) {
            Ok(()) => return Ok((peer, body)),
            Err(SignatureError::Stale) => stale = true,
            Err(SignatureError::Malformed | SignatureError::Mismatch) => {}
        }
    }
    Err(if stale {
        peer_unauthorized(
            "peer_signature_stale",
            "the signature's timestamp is more than 5 minutes from this server's clock",
        )
    } else {
        peer_unauthorized(
            "peer_signature_invalid",
            "the signature does not verify under this peering's secret",
        )
    })
}

/// What report intake needs to forward a verified report of a peer's message.
#[derive(Debug, Clone)]
pub struct Outbound {
    /// The peer (the message's stamping network).
    pub peer_network: String,
    /// The peer's delivery target.
    pub endpoint_id: String,
    /// The report JSON to forward (reporter already replaced unless `reporter_named`).
    pub report: serde_json::Value,
    /// Whether the report names the reporter.
    pub reporter_named: bool,
}

/// Where a forward comes from and goes to.
#[derive(Debug, Clone, Copy)]
pub struct ForwardRoute<'a> {
    /// The local (reporter's) network.
    pub network: &'a str,
    /// The case on this server.
    pub case_id: &'a str,
    /// The report on this server.
    pub report_id: &'a str,
    /// The category the platform gave.
    pub category: Option<&'a str>,
    /// Receipt time (ms).
    pub now: i64,
}

/// Queue the forward of a just-stored report (inside the intake change): the forward row and an
/// outbox event addressed to the peer, its body sealed.
pub async fn queue_forward(
    change: &mut Change,
    key: &ServerKey,
    out: &Outbound,
    r: ForwardRoute<'_>,
) -> Result<(), ApiError> {
    let forward_id = new_id("fwd")?;
    let event_id = new_id("evt")?;
    let body = Forward {
        v: BODY_VERSION,
        forward_id: forward_id.clone(),
        from: r.network.to_owned(),
        to: out.peer_network.clone(),
        case_id: r.case_id.to_owned(),
        received_at: r.now,
        reporter_named: out.reporter_named,
        category: r.category.map(str::to_owned),
        report: out.report.clone(),
    };
    let text = serde_json::to_string(&body)
        .map_err(|e| ApiError::Internal(format!("forward body: {e}")))?;
    sqlx::query(
        "INSERT INTO federation_forwards (id, network_id, peer_network, case_id, report_id, \
         event_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
    )
    .bind(&forward_id)
    .bind(r.network)
    .bind(&out.peer_network)
    .bind(r.case_id)
    .bind(r.report_id)
    .bind(&event_id)
    .bind(r.now)
    .execute(change.conn())
    .await?;
    change.emit(Event::addressed(
        EventType::FederationForward,
        r.network,
        r.case_id,
        &event_id,
        &out.endpoint_id,
        super::seal_body(key, &event_id, &text)?,
    ));
    Ok(())
}

/// 409 `forward_replayed` if `peer_network` already delivered `forward_id`.
pub async fn check_not_replayed(
    db: &AnyPool,
    peer_network: &str,
    forward_id: &str,
) -> Result<(), ApiError> {
    let seen: Option<(String,)> = sqlx::query_as(
        "SELECT case_id FROM federation_inbound WHERE peer_network = $1 AND forward_id = $2",
    )
    .bind(peer_network)
    .bind(forward_id)
    .fetch_optional(db)
    .await?;
    match seen {
        Some(_) => Err(ApiError::conflict(
            "forward_replayed",
            format!("forward {forward_id:?} of peer {peer_network:?} was already received"),
        )),
        None => Ok(()),
    }
}

/// A forward being stored by intake on the stamping network.
#[derive(Debug, Clone, Copy)]
pub struct Inbound<'a> {
    /// The forwarding peer.
    pub peer_network: &'a str,
    /// Its forward id.
    pub forward_id: &'a str,
}

/// Remember a received forward (inside the intake change; the primary key refuses a concurrent
/// replay).
pub async fn record_inbound(
    conn: &mut AnyConnection,
    i: Inbound<'_>,
    network: &str,
    case_id: &str,
    report_id: &str,
    now: i64,
) -> Result<(), ApiError> {
    sqlx::query(
        "INSERT INTO federation_inbound (peer_network, forward_id, network_id, case_id, \
         report_id, received_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(i.peer_network)
    .bind(i.forward_id)
    .bind(network)
    .bind(case_id)
    .bind(report_id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Queue the decision on `case` (just resolved or dismissed, inside its change) for every peer
/// whose forward joined it.
pub async fn emit_decisions(change: &mut Change, case: &Case, now: i64) -> Result<(), ApiError> {
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT i.peer_network, i.forward_id, p.endpoint_id FROM federation_inbound i \
         JOIN peers p ON p.network_id = i.network_id AND p.peer_network = i.peer_network \
         WHERE i.case_id = $1 ORDER BY i.received_at, i.forward_id",
    )
    .bind(&case.id)
    .fetch_all(change.conn())
    .await?;
    for (peer_network, forward_id, endpoint_id) in rows {
        let body = Decision {
            v: BODY_VERSION,
            forward_id,
            from: case.network.clone(),
            to: peer_network,
            case_id: case.id.clone(),
            state: case.state,
            action: case.resolution_action,
            decided_at: now,
        };
        let text = serde_json::to_string(&body)
            .map_err(|e| ApiError::Internal(format!("decision body: {e}")))?;
        change.emit(Event::addressed(
            EventType::FederationDecision,
            &case.network,
            &case.id,
            &new_id("evt")?,
            &endpoint_id,
            text,
        ));
    }
    Ok(())
}

/// Record a peer's decision on the case its forward came from (audited `federation.decision` on
/// that case, actor `peer:<network>`). 404 `not_found` for a forward this server did not send to
/// that peer; 400 `invalid_decision` unless the state is `resolved` or `dismissed`.
pub async fn record_decision(db: &AnyPool, d: &Decision, now: i64) -> Result<String, ApiError> {
    if !matches!(d.state, CaseState::Resolved | CaseState::Dismissed) {
        return Err(ApiError::bad_request(
            "invalid_decision",
            "a decision's state is `resolved` or `dismissed`",
        ));
    }
    let mut change = Change::begin(db, format!("peer:{}", d.from)).await?;
    let (case_id,): (String,) = sqlx::query_as(
        "UPDATE federation_forwards SET remote_case_id = $4, remote_state = $5, \
         remote_action = $6, decided_at = $7, updated_at = $8 \
         WHERE id = $1 AND network_id = $2 AND peer_network = $3 RETURNING case_id",
    )
    .bind(&d.forward_id)
    .bind(&d.to)
    .bind(&d.from)
    .bind(&d.case_id)
    .bind(d.state)
    .bind(d.action)
    .bind(d.decided_at)
    .bind(now)
    .fetch_optional(change.conn())
    .await?
    .ok_or(ApiError::NotFound("forward"))?;
    let entry = AuditEntry::new("federation.decision", format!("case:{case_id}"))
        .network(Some(&d.to))
        .details(serde_json::json!({
            "forward_id": d.forward_id,
            "peer": d.from,
            "remote_case_id": d.case_id,
            "state": d.state,
            "action": d.action,
            "decided_at": d.decided_at,
        }));
    change.commit(entry).await?;
    Ok(case_id)
}

/// A forward of a case, as the case's federation view shows it.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct ForwardView {
    /// When it was queued (ms).
    pub created_at: i64,
    /// When the peer decided (ms).
    pub decided_at: Option<i64>,
    /// Outbox delivery state (`pending`, `delivered`, `dead`).
    pub delivery_state: Option<String>,
    /// Forward id.
    pub id: String,
    /// The peer it goes to.
    pub peer_network: String,
    /// The peer's resolution action.
    pub remote_action: Option<String>,
    /// The peer's case.
    pub remote_case_id: Option<String>,
    /// The peer's decision (`resolved`, `dismissed`).
    pub remote_state: Option<String>,
    /// The forwarded report.
    pub report_id: String,
}

/// A forward received for a case.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct InboundView {
    /// The forward id.
    pub forward_id: String,
    /// The forwarding peer.
    pub peer_network: String,
    /// When it arrived (ms).
    pub received_at: i64,
    /// The report it stored.
    pub report_id: String,
}

/// `GET /v1/cases/{id}/federation`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CaseFederation {
    /// The case.
    pub case_id: String,
    /// Forwards received from peers (this network stamped the message).
    pub forwarded_in: Vec<InboundView>,
    /// Forwards sent to the stamping network, with its decisions.
    pub forwards: Vec<ForwardView>,
    /// The network that stamped the message when it is not this case's network.
    pub origin_network: Option<String>,
    /// `stamp` (this server checked the stamp's HMAC) or `peer_signature` (verified by the
    /// origin network's published signature key).
    pub verified_by: &'static str,
}

/// The federation view of `case`.
pub async fn case_view(db: &AnyPool, case_id: &str) -> Result<CaseFederation, ApiError> {
    let (origin,): (Option<String>,) =
        sqlx::query_as("SELECT origin_network FROM cases WHERE id = $1")
            .bind(case_id)
            .fetch_one(db)
            .await?;
    let forwards: Vec<ForwardView> = sqlx::query_as(
        "SELECT f.id, f.peer_network, f.report_id, d.state AS delivery_state, f.remote_case_id, \
         f.remote_state, f.remote_action, f.decided_at, f.created_at FROM federation_forwards f \
         LEFT JOIN webhook_deliveries d ON d.event_id = f.event_id \
         WHERE f.case_id = $1 ORDER BY f.created_at, f.id",
    )
    .bind(case_id)
    .fetch_all(db)
    .await?;
    let forwarded_in: Vec<InboundView> = sqlx::query_as(
        "SELECT forward_id, peer_network, received_at, report_id FROM federation_inbound \
         WHERE case_id = $1 ORDER BY received_at, forward_id",
    )
    .bind(case_id)
    .fetch_all(db)
    .await?;
    Ok(CaseFederation {
        case_id: case_id.to_owned(),
        verified_by: if origin.is_some() {
            "peer_signature"
        } else {
            "stamp"
        },
        origin_network: origin,
        forwarded_in,
        forwards,
    })
}
