//! Report intake: `POST /v1/reports`, authenticated with a network *service* token.
//!
//! The platform's backend (which authenticated its user) submits
//! `{"reporter": "<user id>", "category": "spam"?, "report": <franking-core Report JSON>}`.
//! The asserted `reporter` must equal the report's `reporter` (422 `reporter_mismatch`) and the
//! reported context's network must be the token's network (403 `wrong_network`).
//!
//! Order of work: parse (400 `malformed`/`unsupported_version`/`unsupported_suite`/
//! `message_too_long`) → network policy (category check, 422 `unknown_category`) → rate limits
//! (429 `rate_limited`) → [`verify_report`] with the network's key ring and policy (422 with the
//! franking-core code: `unknown_key_id`, `key_retired`, `bad_stamp`, `commitment_mismatch`,
//! `reporter_not_recipient`, `outside_window`, `not_same_conversation`) → only then, in one
//! transaction ([`crate::intake`]): case (grouped by commitment + stamp), distinct reporter, report
//! row, sealed evidence, rate-limit counters.
//!
//! Duplicates: the same reporter reporting the same message again is idempotent — same case, count
//! unchanged, nothing new stored (200 with `"duplicate": true`; a new report is 201).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use franking_core::frank::{Report, Suite, verify_report};

use crate::auth::ServiceAuth;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::keys;
use crate::state::AppState;
use crate::util::{now_ms, to_u64};
use crate::{intake, ratelimit};

/// The report routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/v1/reports", post(submit))
}

/// The intake request.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSubmission {
    /// The reporting user, as authenticated by the network's backend.
    pub reporter: String,
    /// Optional category (must be one of the network policy's categories when it lists any).
    #[serde(default)]
    pub category: Option<String>,
    /// The franking-core report (JSON form).
    pub report: serde_json::Value,
}

/// The intake answer.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct ReportReceipt {
    /// Always `accepted` (rejections are 4xx errors).
    pub verdict: String,
    /// The case this report belongs to.
    pub case_id: String,
    /// The stored report's id (the earlier one for a duplicate).
    pub report_id: String,
    /// True if this reporter had already reported this message (nothing new stored).
    pub duplicate: bool,
    /// Distinct reporters of the case so far.
    pub report_count: u64,
}

fn check_suite(v: &serde_json::Value) -> Result<(), ApiError> {
    if let Some(id) = v.get("suite").and_then(serde_json::Value::as_u64) {
        let id = u8::try_from(id).map_err(|_| ApiError::malformed("suite out of range"))?;
        Suite::from_id(id).map_err(|e| ApiError::from_protocol(&e))?;
    }
    Ok(())
}

/// Parse the report JSON with franking-core's error codes where they can be told apart.
pub fn parse_report(v: serde_json::Value) -> Result<Report, ApiError> {
    if !v.is_object() {
        return Err(ApiError::malformed("report must be a JSON object"));
    }
    match v.get("v").and_then(serde_json::Value::as_u64) {
        Some(1) => {}
        Some(other) => {
            let e =
                franking_core::Error::UnsupportedVersion(u8::try_from(other).unwrap_or(u8::MAX));
            return Err(ApiError::from_protocol(&e));
        }
        None => return Err(ApiError::malformed("report: missing version field `v`")),
    }
    if let Some(m) = v.get("message") {
        check_suite(m)?;
    }
    if let Some(list) = v.get("earlier").and_then(serde_json::Value::as_array) {
        list.iter().try_for_each(check_suite)?;
    }
    serde_json::from_value(v).map_err(|e| ApiError::malformed(format!("report: {e}")))
}

/// Reports whose messages hold more than this many bytes are verified on the blocking pool.
const BLOCKING_VERIFY_BYTES: usize = 64 * 1024;

fn report_size(r: &Report) -> usize {
    r.message.plaintext.len() + r.earlier.iter().map(|e| e.plaintext.len()).sum::<usize>()
}

async fn submit(
    State(state): State<AppState>,
    service: ServiceAuth,
    body: Result<ApiJson<ReportSubmission>, ApiError>,
) -> Result<(StatusCode, Json<ReportReceipt>), ApiError> {
    // Unparseable bodies are verdicts too (counted as rejected with their code).
    let result = match body {
        Ok(ApiJson(sub)) => intake(&state, &service, sub).await,
        Err(e) => Err(e),
    };
    match &result {
        Ok((_, r)) if r.duplicate => state.metrics.verdict("duplicate", "duplicate"),
        Ok(_) => state.metrics.verdict("accepted", "ok"),
        Err(e) => state.metrics.verdict("rejected", e.code()),
    }
    result
}

async fn intake(
    state: &AppState,
    service: &ServiceAuth,
    sub: ReportSubmission,
) -> Result<(StatusCode, Json<ReportReceipt>), ApiError> {
    let network = service.network.as_str();
    let report = parse_report(sub.report)?;
    if report.reporter != sub.reporter {
        return Err(ApiError::unprocessable(
            "reporter_mismatch",
            "the report's reporter is not the reporter this service asserts",
        ));
    }
    if report.message.context.network() != network {
        return Err(ApiError::Forbidden {
            code: "wrong_network",
            message: "the reported message is not from this service token's network".into(),
        });
    }
    let (policy, stored_keys) = keys::load_policy_and_keys(&state.db, network).await?;
    if let Some(c) = &sub.category
        && !policy.categories.is_empty()
        && !policy.categories.contains(c)
    {
        return Err(ApiError::unprocessable(
            "unknown_category",
            format!("category {c:?} is not one of the network's categories"),
        ));
    }
    let now = now_ms();
    ratelimit::check(&state.db, &policy, network, &sub.reporter, now).await?;
    let ring = keys::build_ring(
        &state.server_key,
        network,
        &stored_keys,
        policy.key_grace_ms,
    )?;
    // Verify completely before anything is written. Large reports (long plaintexts, many earlier
    // messages) are hashed on the blocking pool so they do not stall the async workers.
    let report_policy = policy.report_policy();
    let verified = if report_size(&report) > BLOCKING_VERIFY_BYTES {
        tokio::task::spawn_blocking(move || {
            verify_report(report, &ring, &report_policy, to_u64(now))
        })
        .await
        .map_err(|e| ApiError::Internal(format!("verification task: {e}")))?
    } else {
        verify_report(report, &ring, &report_policy, to_u64(now))
    }
    .map_err(|e| ApiError::from_protocol(&e))?;
    let actor = service.caller.actor();
    let target = intake::Intake {
        network,
        category: sub.category.as_deref(),
        policy: &policy,
        now,
        actor: &actor,
    };
    let stored = target
        .store(&state.db, &state.server_key, &verified)
        .await?;
    let status = if stored.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(ReportReceipt {
            verdict: "accepted".into(),
            case_id: stored.case_id,
            report_id: stored.report_id,
            duplicate: stored.duplicate,
            report_count: to_u64(stored.report_count),
        }),
    ))
}
