//! Report intake: `POST /v1/reports`, authenticated with a network *service* token.
//!
//! The platform's backend (which authenticated its user) submits
//! `{"reporter": "<user id>", "category": "spam"?, "report": <franking-core Report JSON>}`, either
//! as the JSON body, or — when the reported message has attachments — as the first part (named
//! `report`) of a `multipart/form-data` body followed by one part per attachment blob (named
//! `attachment`, `filename` = the attachment's decimal index in the message content, in content
//! order). The asserted `reporter` must equal the report's `reporter` (422 `reporter_mismatch`)
//! and the reported context's network must be the token's network (403 `wrong_network`) — or,
//! federation (`docs/federation.md`), an enabled peer of it (a network that is neither is 403
//! `wrong_network`, a disabled peer 403 `peer_disabled`): then the stamps are verified with the peer's published Ed25519 keys
//! (franking-core's `verify_published`: signature required, retired keys only for stamps dated
//! before their retirement + skew) instead of the network's key ring, the case records the peer as
//! its origin, and a new report is forwarded to the peer from the outbox.
//!
//! Order of work: parse ([`Report::from_json`]: 400 `malformed`/`unsupported_version`/
//! `unsupported_suite`/`message_too_long`, 422 `duplicate_message`) → network policy (category,
//! 422 `unknown_category`) → rate limits (429 `rate_limited`) → [`verify_report`] with the
//! network's key ring and policy (422 with the franking-core code) → attachment limits of the
//! policy on the *verified* references (413 `attachment_over_limit`,
//! `report_attachments_over_limit`) → the intake transaction ([`crate::intake`]): case, reporter,
//! report row, sealed evidence, then each blob streamed through franking-core's attachment opener
//! against its verified reference and stored sealed in chunks ([`crate::attachments`]; 422 with
//! the franking-core code such as `attachment_tag_invalid`, `attachment_truncated`,
//! `attachment_commitment_mismatch`; 422 `attachment_missing` / `attachment_unexpected`), rate-limit
//! counters, commit. Any failure rolls the whole transaction back: a report is **refused whole**,
//! nothing of it or of its attachments is stored.
//!
//! Limits: a JSON body (or the `report` part) at most `max_body_bytes`, within the request
//! timeout; a multipart body at most `max_upload_bytes` within the upload timeout ([`Limits`]);
//! the attachments within the network policy. Memory stays bounded: blobs are never held whole.
//!
//! Duplicates: the same reporter reporting the same message again is idempotent — same case, count
//! unchanged, nothing new stored (200 with `"duplicate": true`; a new report is 201). Its blobs are
//! still verified.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::multipart::{Field, MultipartError};
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Multipart, Request, State};
use axum::http::{StatusCode, header};
use axum::routing::post;
use axum::{Json, Router};
use franking_core::frank::attachment::AttachmentRef;
use franking_core::frank::content::MessageContent;
use franking_core::frank::{Report, ReportPolicy, StampVerifier, VerifiedReport, verify_report};
use http_body_util::BodyExt as _;

use crate::attachments::{self, Upload};
use crate::auth::ServiceAuth;
use crate::error::ApiError;
use crate::federation::forward::Outbound;
use crate::federation::peers;
use crate::intake::queue::QueuedReport;
use crate::keys::{self, Policy};
use crate::state::{AppState, Limits};
use crate::util::{now_ms, to_u64};
use crate::{federation, intake};

/// The report routes (outside the server-wide body limit and timeout: see the module docs).
pub fn router(limits: &Limits) -> Router<AppState> {
    Router::new()
        .route("/v1/reports", post(submit))
        .layer(DefaultBodyLimit::max(
            usize::try_from(limits.max_upload_bytes).unwrap_or(usize::MAX),
        ))
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
    /// The franking-core report (JSON form), kept as its text: franking-core parses it once, with
    /// its own precise error codes.
    pub report: Box<serde_json::value::RawValue>,
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

/// Parse the report JSON text with franking-core's precise error codes.
pub fn parse_report(json: &str) -> Result<Report, ApiError> {
    Report::from_json(json.as_bytes()).map_err(|e| ApiError::from_protocol(&e))
}

/// Reports whose messages hold more than this many bytes are verified on the blocking pool.
const BLOCKING_VERIFY_BYTES: usize = 64 * 1024;

fn report_size(r: &Report) -> usize {
    r.message.plaintext.len() + r.earlier.iter().map(|e| e.plaintext.len()).sum::<usize>()
}

fn is_multipart(req: &Request) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        })
}

async fn submit(
    State(state): State<AppState>,
    req: Request,
) -> Result<(StatusCode, Json<ReportReceipt>), ApiError> {
    let multipart = is_multipart(&req);
    let limit = if multipart {
        state.limits.upload_timeout
    } else {
        state.limits.request_timeout
    };
    let deadline = tokio::time::Instant::now() + limit;
    let work = async {
        let (mut parts, body) = req.into_parts();
        let service = ServiceAuth::from_request_parts(&mut parts, &state).await?;
        let req = Request::from_parts(parts, body);
        let result = if multipart {
            multipart_intake(&state, &service, req).await
        } else {
            json_intake(&state, &service, req.into_body(), deadline).await
        };
        // Unparseable bodies are verdicts too (counted as rejected with their code).
        match &result {
            Ok((_, r)) if r.duplicate => state.metrics.verdict("duplicate", "duplicate"),
            Ok(_) => state.metrics.verdict("accepted", "ok"),
            Err(e) => state.metrics.verdict("rejected", e.code()),
        }
        result
    };
    tokio::time::timeout_at(deadline, work)
        .await
        .unwrap_or(Err(ApiError::Timeout))
}

/// A report checked against the network's policy and verified; nothing stored yet.
struct Checked {
    verified: VerifiedReport,
    policy: Policy,
    category: Option<String>,
    now: i64,
    /// The forward to the stamping peer (a peer's message).
    outbound: Option<Outbound>,
}

impl Checked {
    /// The attachment references of the verified reported message (none when its plaintext is
    /// not franking-core's content format).
    fn attachment_refs(&self) -> Vec<AttachmentRef> {
        match MessageContent::decode_if_content(self.verified.plaintext()) {
            Ok(Some(content)) => content.attachments,
            Ok(None) | Err(_) => Vec::new(),
        }
    }

    fn intake<'a>(&'a self, network: &'a str, actor: &'a str) -> intake::Intake<'a> {
        intake::Intake {
            network,
            category: self.category.as_deref(),
            policy: &self.policy,
            now: self.now,
            actor,
            federation: match &self.outbound {
                Some(out) => intake::Federation::ToPeer(out),
                None => intake::Federation::Local,
            },
        }
    }
}

fn receipt(stored: intake::Stored) -> (StatusCode, Json<ReportReceipt>) {
    let status = if stored.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    (
        status,
        Json(ReportReceipt {
            verdict: "accepted".into(),
            case_id: stored.case_id,
            report_id: stored.report_id,
            duplicate: stored.duplicate,
            report_count: to_u64(stored.report_count),
        }),
    )
}

fn parse_submission(bytes: &[u8]) -> Result<ReportSubmission, ApiError> {
    crate::extract::parse_json_body(bytes)
}

/// A JSON report (no attachment blobs: a message with attachments is refused,
/// 422 `attachment_missing`).
async fn json_intake(
    state: &AppState,
    service: &ServiceAuth,
    body: Body,
    deadline: tokio::time::Instant,
) -> Result<(StatusCode, Json<ReportReceipt>), ApiError> {
    let bytes = http_body_util::Limited::new(body, state.limits.max_body_bytes)
        .collect()
        .await
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                ApiError::PayloadTooLarge
            } else {
                ApiError::malformed(format!("reading the body: {e}"))
            }
        })?
        .to_bytes();
    let checked = check(state, service, parse_submission(&bytes)?).await?;
    if !checked.attachment_refs().is_empty() {
        return Err(missing(0));
    }
    let actor = service.caller.actor();
    let stored = if checked.outbound.is_some() {
        checked
            .intake(&service.network, &actor)
            .store(&state.db, &state.server_key, &checked.verified)
            .await?
    } else {
        // A network's own message: group commit with concurrent reports.
        let report = QueuedReport {
            network: service.network.clone(),
            category: checked.category,
            policy: checked.policy,
            now: checked.now,
            actor,
            verified: checked.verified,
            deadline,
        };
        state
            .intake
            .store(&state.db, &state.server_key, report)
            .await?
    };
    Ok(receipt(stored))
}

fn missing(index: usize) -> ApiError {
    ApiError::unprocessable(
        "attachment_missing",
        format!("the blob of attachment {index} of the reported message was not uploaded"),
    )
}

fn multipart_error(e: MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge
    } else {
        ApiError::malformed(format!("multipart body: {}", e.body_text()))
    }
}

/// The `report` part, at most `max` bytes.
async fn read_part(mut field: Field<'_>, max: usize) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if out.len() + chunk.len() > max {
            return Err(ApiError::PayloadTooLarge);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// The index an `attachment` part names in its `filename` (decimal, no sign or leading zeros).
fn part_index(field: &Field<'_>) -> Result<usize, ApiError> {
    let bad = || {
        ApiError::malformed(
            "an attachment part needs filename=\"<decimal index of the attachment>\"",
        )
    };
    let name = field.file_name().ok_or_else(bad)?;
    if name.is_empty() || (name.len() > 1 && name.starts_with('0')) {
        return Err(bad());
    }
    if !name.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    name.parse().map_err(|_| bad())
}

/// The first part of a multipart report, which must be named `report` (at most `max` bytes).
async fn read_report_part(parts: &mut Multipart, max: usize) -> Result<Vec<u8>, ApiError> {
    let first = parts
        .next_field()
        .await
        .map_err(multipart_error)?
        .ok_or_else(|| ApiError::malformed("empty multipart body"))?;
    if first.name() != Some("report") {
        return Err(ApiError::malformed(
            "the first part of a multipart report must be named `report`",
        ));
    }
    read_part(first, max).await
}

/// Check a part after `report`: named `attachment`, naming the attachment index `next` of a
/// message with `count` attachments. Returns the index.
fn attachment_part(field: &Field<'_>, next: usize, count: usize) -> Result<usize, ApiError> {
    if field.name() != Some("attachment") {
        return Err(ApiError::malformed(
            "after `report`, every part must be named `attachment`",
        ));
    }
    let index = part_index(field)?;
    if index >= count || index < next {
        return Err(ApiError::unprocessable(
            "attachment_unexpected",
            format!(
                "blob {index}: the reported message has {count} attachments, and each is \
                 uploaded once, in content order"
            ),
        ));
    }
    if index > next {
        return Err(missing(next));
    }
    Ok(index)
}

/// A multipart intake body parsed without a server or database (for the fuzz target
/// `intake_multipart` and tests): the same parts, names, order, size limit and report parsing as
/// [`submit`], but the blobs are collected instead of verified and stored, and the attachment
/// count comes from the (unverified) reported message.
#[derive(Debug)]
pub struct ParsedMultipart {
    /// The `report` part.
    pub submission: ReportSubmission,
    /// Its franking-core report.
    pub report: Report,
    /// The attachment references of the reported message.
    pub references: Vec<AttachmentRef>,
    /// The blob of each attachment, in content order.
    pub blobs: Vec<Vec<u8>>,
}

/// Parse a `multipart/form-data` intake body (`content_type` is the request's header) as the
/// server does; the `report` part may hold at most `max_report_bytes`.
pub async fn parse_multipart(
    content_type: &str,
    body: axum::body::Bytes,
    max_report_bytes: usize,
) -> Result<ParsedMultipart, ApiError> {
    let req = Request::builder()
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .map_err(|e| ApiError::malformed(format!("request: {e}")))?;
    let mut parts = Multipart::from_request(req, &())
        .await
        .map_err(|rej| ApiError::malformed(format!("multipart body: {}", rej.body_text())))?;
    let submission = parse_submission(&read_report_part(&mut parts, max_report_bytes).await?)?;
    let report = parse_report(submission.report.get())?;
    let references = match MessageContent::decode_if_content(&report.message.plaintext) {
        Ok(Some(content)) => content.attachments,
        Ok(None) | Err(_) => Vec::new(),
    };
    let mut blobs = Vec::new();
    while let Some(mut field) = parts.next_field().await.map_err(multipart_error)? {
        attachment_part(&field, blobs.len(), references.len())?;
        let mut blob = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
            blob.extend_from_slice(&chunk);
        }
        blobs.push(blob);
    }
    if blobs.len() < references.len() {
        return Err(missing(blobs.len()));
    }
    Ok(ParsedMultipart {
        submission,
        report,
        references,
        blobs,
    })
}

/// Most of a refused multipart body read and discarded before the refusal is sent, and how long
/// that may take: a client that writes its whole body before reading the answer (most HTTP
/// clients) then gets the 4xx instead of a broken pipe, while a refused large upload is not read
/// to its end.
const DRAIN_BYTES: usize = 1 << 20;
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(2);

/// A multipart report: the `report` part, then the reported message's attachment blobs. When it
/// is refused, what remains of a short body is read first (see [`DRAIN_BYTES`]).
async fn multipart_intake(
    state: &AppState,
    service: &ServiceAuth,
    req: Request,
) -> Result<(StatusCode, Json<ReportReceipt>), ApiError> {
    let mut parts = Multipart::from_request(req, state)
        .await
        .map_err(|rej| ApiError::malformed(format!("multipart body: {}", rej.body_text())))?;
    let result = store_multipart(state, service, &mut parts).await;
    if result.is_err() {
        let _ = tokio::time::timeout(DRAIN_TIME, drain(&mut parts)).await;
    }
    result
}

/// Read and drop the rest of `parts`, at most [`DRAIN_BYTES`]; stops at the first error.
async fn drain(parts: &mut Multipart) {
    let mut budget = DRAIN_BYTES;
    while let Ok(Some(mut field)) = parts.next_field().await {
        while let Ok(Some(chunk)) = field.chunk().await {
            budget = match budget.checked_sub(chunk.len()) {
                Some(left) => left,
                None => return,
            };
        }
    }
}

/// The multipart intake proper (see [`multipart_intake`]).
async fn store_multipart(
    state: &AppState,
    service: &ServiceAuth,
    parts: &mut Multipart,
) -> Result<(StatusCode, Json<ReportReceipt>), ApiError> {
    let bytes = read_report_part(parts, state.limits.max_body_bytes).await?;
    let checked = check(state, service, parse_submission(&bytes)?).await?;
    let refs = checked.attachment_refs();
    attachments::check_limits(&checked.policy, &refs)?;
    let actor = service.caller.actor();
    let intake = checked.intake(&service.network, &actor);
    let mut pending = intake
        .begin(&state.db, &state.server_key, &checked.verified)
        .await?;
    let target = pending.attachment_target();
    let mut next = 0;
    while let Some(mut field) = parts.next_field().await.map_err(multipart_error)? {
        let index = attachment_part(&field, next, refs.len())?;
        let store = target.as_ref().map(|(c, e)| (c.as_str(), e.as_str()));
        let mut upload =
            Upload::begin(pending.conn(), store, index, &refs[index], checked.now).await?;
        while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
            upload
                .update(pending.conn(), &state.server_key, &chunk)
                .await?;
        }
        upload.finish(pending.conn(), &state.server_key).await?;
        next += 1;
    }
    if next < refs.len() {
        return Err(missing(next));
    }
    Ok(receipt(pending.commit().await?))
}

/// Parse, check against the network and its policy, rate-limit and verify.
async fn check(
    state: &AppState,
    service: &ServiceAuth,
    sub: ReportSubmission,
) -> Result<Checked, ApiError> {
    let network = service.network.as_str();
    let report = parse_report(sub.report.get())?;
    if report.reporter != sub.reporter {
        return Err(ApiError::unprocessable(
            "reporter_mismatch",
            "the report's reporter is not the reporter this service asserts",
        ));
    }
    let origin = report.message.context.network().to_owned();
    let peer = if origin == network {
        None
    } else {
        Some(peers::active_for_intake(&state.db, network, &origin).await?)
    };
    let intake_keys = keys::cached_policy_and_keys(
        &state.db,
        &state.server_key,
        &state.policies,
        network,
        report.message.stamp.key_id,
    )
    .await?;
    let policy = intake_keys.policy.clone();
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
    let report_policy = policy.report_policy();
    let (verified, outbound) = match peer {
        None => {
            let ring = intake_keys.ring()?;
            (verify(report, ring, report_policy, now).await?, None)
        }
        Some(peer) => {
            let published = peer
                .keys_for(&state.db, &peers::key_ids(&report), now)
                .await?;
            // franking-core's `verify_published`: signature required, retirement by date.
            let verifier: Arc<[_]> = Arc::from(published);
            let verified = verify(report, verifier, report_policy, now).await?;
            let mut forwarded: serde_json::Value = serde_json::from_str(sub.report.get())
                .map_err(|e| ApiError::malformed(format!("report: {e}")))?;
            if !policy.federation_reporter_identities {
                forwarded["reporter"] = serde_json::Value::String(federation::pseudonym(
                    &state.server_key,
                    network,
                    &sub.reporter,
                ));
            }
            let out = Outbound {
                peer_network: peer.peer_network,
                endpoint_id: peer.endpoint_id,
                report: forwarded,
                reporter_named: policy.federation_reporter_identities,
            };
            (verified, Some(out))
        }
    };
    Ok(Checked {
        verified,
        policy,
        category: sub.category,
        now,
        outbound,
    })
}

/// Verify completely before anything is written. Large reports (long plaintexts, many earlier
/// messages) are hashed on the blocking pool so they do not stall the async workers.
async fn verify<V: StampVerifier + Send + Sync + ?Sized + 'static>(
    report: Report,
    verifier: Arc<V>,
    policy: ReportPolicy,
    now: i64,
) -> Result<VerifiedReport, ApiError> {
    if report_size(&report) > BLOCKING_VERIFY_BYTES {
        tokio::task::spawn_blocking(move || verify_report(report, &*verifier, &policy, to_u64(now)))
            .await
            .map_err(|e| ApiError::Internal(format!("verification task: {e}")))?
    } else {
        verify_report(report, &*verifier, &policy, to_u64(now))
    }
    .map_err(|e| ApiError::from_protocol(&e))
}
