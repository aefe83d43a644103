//! Federation routes (`docs/federation.md`):
//!
//! | method | path | who | what |
//! |---|---|---|---|
//! | GET | `/.well-known/franking/keys` | anyone (cacheable) | this server's published stamp verifying keys |
//! | POST | `/v1/federation/reports` | a peer (signed) | a forwarded report: verified fully, opens or joins a case |
//! | POST | `/v1/federation/decisions` | a peer (signed) | the decision on a forwarded report's case |
//! | GET | `/v1/cases/{id}/federation` | moderators, admins | origin, verification, forwards and decisions of a case |

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use franking_core::frank::{verify_forwarded_report, verify_report};

use crate::auth::Staff;
use crate::cases;
use crate::error::ApiError;
use crate::extract::ApiPath;
use crate::federation;
use crate::federation::forward::{self, CaseFederation, Decision, Forward, Inbound};
use crate::intake::{self, Federation};
use crate::keys;
use crate::routes::reports::parse_report;
use crate::state::AppState;
use crate::util::{now_ms, to_i64, to_u64};

/// `Cache-Control` of the well-known keys: shared caches may keep them 5 minutes.
pub const KEYS_CACHE_CONTROL: &str = "public, max-age=300";

/// The federation routes.
pub fn router() -> Router<AppState> {
    Router::new()
        // The path is `federation::WELL_KNOWN_KEYS` (a literal here for the OpenAPI drift test).
        .route("/.well-known/franking/keys", get(published_keys))
        .route("/v1/federation/reports", post(receive_forward))
        .route("/v1/federation/decisions", post(receive_decision))
        .route("/v1/cases/{id}/federation", get(case_federation))
}

async fn published_keys(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let keys = federation::published_keys(&state.db).await?;
    Ok(([(header::CACHE_CONTROL, KEYS_CACHE_CONTROL)], Json(keys)))
}

/// The answer to a forward.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct ForwardReceipt {
    /// The case on this (the stamping) server.
    pub case_id: String,
    /// The stored report (the earlier one for a duplicate).
    pub report_id: String,
    /// True if this reporter (or pseudonym) had already reported the message.
    pub duplicate: bool,
}

/// The time a forward is verified at: the forwarding server's receipt time when it is in the past
/// and within one reporting window of now (a report accepted in its window stays acceptable while
/// the forward waits for this server), otherwise now.
fn verification_time(received_at: i64, now: i64, window_ms: u64) -> i64 {
    if received_at <= now && now.saturating_sub(received_at) <= to_i64(window_ms) {
        received_at
    } else {
        now
    }
}

async fn receive_forward(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<ForwardReceipt>), ApiError> {
    let now = now_ms();
    let (peer, fwd): (_, Forward) =
        forward::authenticate(&state.db, &state.server_key, &headers, &body, now).await?;
    crate::util::check_identifier("forward_id", &fwd.forward_id)?;
    forward::check_not_replayed(&state.db, &peer.peer_network, &fwd.forward_id).await?;
    let report = parse_report(&fwd.report.to_string())?;
    if report.message.context.network() != fwd.to {
        return Err(ApiError::Forbidden {
            code: "wrong_network",
            message: "the forwarded message was not stamped by the network it is sent to".into(),
        });
    }
    let (policy, stored_keys) = keys::load_policy_and_keys(&state.db, &fwd.to).await?;
    let ring = keys::build_ring(
        &state.server_key,
        &fwd.to,
        &stored_keys,
        policy.key_grace_ms,
    )?;
    let at = to_u64(verification_time(fwd.received_at, now, policy.window_ms));
    let rp = policy.report_policy();
    // Full verification with this network's own keys: HMAC, and the signature when the key signs.
    // A named reporter is checked against the contexts; a pseudonym is the peer's attestation.
    let named = fwd.reporter_named;
    let verified = tokio::task::spawn_blocking(move || {
        if named {
            verify_report(report, &ring, &rp, at)
        } else {
            verify_forwarded_report(report, &ring, &rp, at)
        }
    })
    .await
    .map_err(|e| ApiError::Internal(format!("verification task: {e}")))?
    .map_err(|e| ApiError::from_protocol(&e))?;
    let category = fwd
        .category
        .as_deref()
        .filter(|c| policy.categories.is_empty() || policy.categories.iter().any(|p| p == c));
    let actor = format!("peer:{}", peer.peer_network);
    let stored = intake::Intake {
        network: &fwd.to,
        category,
        policy: &policy,
        now,
        actor: &actor,
        federation: Federation::FromPeer(Inbound {
            peer_network: &peer.peer_network,
            forward_id: &fwd.forward_id,
        }),
    }
    .store(&state.db, &state.server_key, &verified)
    .await?;
    let status = if stored.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(ForwardReceipt {
            case_id: stored.case_id,
            report_id: stored.report_id,
            duplicate: stored.duplicate,
        }),
    ))
}

/// The answer to a decision.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct DecisionReceipt {
    /// The case on this (the forwarding) server that the decision was recorded on.
    pub case_id: String,
}

async fn receive_decision(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<DecisionReceipt>, ApiError> {
    let now = now_ms();
    let (_, decision): (_, Decision) =
        forward::authenticate(&state.db, &state.server_key, &headers, &body, now).await?;
    let case_id = forward::record_decision(&state.db, &decision, now).await?;
    Ok(Json(DecisionReceipt { case_id }))
}

async fn case_federation(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<CaseFederation>, ApiError> {
    cases::load(&state.db, &staff, &id).await?;
    Ok(Json(forward::case_view(&state.db, &id).await?))
}
