//! Evidence: the verified report content of each accepted report, sealed with the server key
//! ([`crate::seal`]) under purpose [`SEAL_PURPOSE`] and bound to its row by [`seal_context`]; and
//! its moderator view (decrypted).
//!
//! What is sealed is the verified report with its earlier messages in conversation order
//! ([`VerifiedReport::earlier_in_order`]). The view decodes each message's plaintext with
//! franking-core's one content format ([`MessageContent::decode_if_content`]): text as a JSON
//! string and attachments as metadata and download links; other plaintexts are shown as bytes (and
//! as text when they are UTF-8). Franking keys, attachment keys and the raw content encoding are
//! never shown.
//!
//! Retention purges blank the sealed column ([`crate::retention`]); a purged row still shows that
//! evidence existed, for which report, and when it was purged.

use franking_core::frank::content::MessageContent;
use franking_core::frank::{
    Commitment, Context, Report, ReportedMessage, Stamp, Suite, VerifiedReport,
};
use franking_core::util::b64_encode;
use serde::Serialize;
use sqlx::AnyPool;

use crate::attachments::{self, StoredAttachment};
use crate::audit::AuditEntry;
use crate::change::Change;
use crate::error::ApiError;
use crate::seal::{self, ServerKey};
use crate::writes::Writes;

/// `seal` purpose label for evidence blobs.
pub const SEAL_PURPOSE: &str = "evidence";

/// The `seal` context binding an evidence blob to its row: `be32(len(id)) ‖ id ‖ case_id`.
pub fn seal_context(evidence_id: &str, case_id: &str) -> Vec<u8> {
    let mut c = Vec::with_capacity(4 + evidence_id.len() + case_id.len());
    c.extend_from_slice(&(evidence_id.len() as u32).to_be_bytes());
    c.extend_from_slice(evidence_id.as_bytes());
    c.extend_from_slice(case_id.as_bytes());
    c
}

/// A new evidence row, sealed for `(id, case_id)`.
#[derive(Debug)]
pub struct NewEvidence<'a> {
    /// The evidence id (`evd_...`).
    pub id: &'a str,
    /// Its case.
    pub case_id: &'a str,
    /// Its report.
    pub report_id: &'a str,
    /// Receipt time (ms).
    pub now: i64,
    /// When retention may purge it (ms).
    pub purge_after: i64,
}

impl NewEvidence<'_> {
    /// Seal the verified report (earlier messages in conversation order) for this row.
    pub fn seal(&self, key: &ServerKey, verified: &VerifiedReport) -> Result<String, ApiError> {
        let report = verified.report();
        let ordered = Report {
            message: report.message.clone(),
            reporter: report.reporter.clone(),
            reason: report.reason.clone(),
            earlier: verified
                .earlier_in_order()
                .map(|m| m.message.clone())
                .collect(),
        };
        let plain = zeroize::Zeroizing::new(
            serde_json::to_vec(&ordered)
                .map_err(|e| ApiError::Internal(format!("evidence encoding: {e}")))?,
        );
        seal::seal(
            key,
            SEAL_PURPOSE,
            &seal_context(self.id, self.case_id),
            &plain,
        )
    }

    /// Add the inserts of sealed rows ([`Self::seal`]) to `writes` (the caller's transaction), in
    /// multi-row statements.
    pub fn insert_all(writes: &mut Writes, rows: &[(NewEvidence<'_>, String)]) {
        const COLUMNS: &str = "id, case_id, report_id, sealed, created_at, purge_after";
        for chunk in crate::db::padded_chunks(rows) {
            let mut b = writes.push(&format!(
                "{} INSERT INTO evidence ({COLUMNS}) SELECT {COLUMNS} FROM v WHERE keep = 1",
                chunk.with_rows(COLUMNS, 1)
            ));
            for ((e, sealed), keep) in chunk.slots() {
                b.bind(e.id)
                    .bind(e.case_id)
                    .bind(e.report_id)
                    .bind(sealed)
                    .bind(e.now)
                    .bind(e.purge_after)
                    .bind(keep);
            }
        }
    }
}

/// A stored evidence row.
#[derive(sqlx::FromRow)]
struct EvidenceRow {
    id: String,
    /// The case the blob was sealed for: its case, or the case it was merged from
    /// (`sealed_case_id`, migration 0030).
    sealed_for: String,
    report_id: Option<String>,
    sealed: String,
    created_at: i64,
    purged_at: Option<i64>,
}

/// One evidence item as moderators see it.
#[derive(Debug, Clone, Serialize)]
pub struct EvidenceView {
    /// The decrypted report content; `null` once purged.
    pub content: Option<EvidenceContent>,
    /// Receipt time (ms).
    pub created_at: i64,
    /// Evidence id.
    pub id: String,
    /// When retention purged it (ms), if it did.
    pub purged_at: Option<i64>,
    /// The report it belongs to.
    pub report_id: Option<String>,
    /// Always true: only verified reports are stored.
    pub verified: bool,
}

/// The decrypted content of a report.
#[derive(Debug, Clone, Serialize)]
pub struct EvidenceContent {
    /// Earlier messages of the conversation included in the report, in conversation order (by
    /// verified timestamp; ties in the order the report listed them).
    pub earlier: Vec<MessageView>,
    /// The reported message.
    pub message: MessageView,
    /// The reporter's reason.
    pub reason: String,
    /// The reporting user.
    pub reporter: String,
    /// For a room context: the reporter's verified membership (room, epoch, member count, leaf
    /// index); `null` for a listed context.
    pub reporter_membership: Option<crate::rooms::MembershipView>,
}

/// How a message's plaintext is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ContentFormat {
    /// franking-core's message content (text and attachments).
    Content,
    /// Any other plaintext (a platform's own format): shown as bytes.
    Bytes,
}

/// One verified message (its franking key, attachment keys and raw content encoding are not
/// shown).
#[derive(Debug, Clone, Serialize)]
pub struct MessageView {
    /// The associated data, base64url.
    pub associated_data_b64: String,
    /// The attachments the message references (none for format `bytes`).
    pub attachments: Vec<AttachmentView>,
    /// The commitment.
    pub commitment: Commitment,
    /// The verified platform context: network, sender, recipients, room, timestamp, message id.
    pub context: Context,
    /// `content` or `bytes`.
    pub format: ContentFormat,
    /// The plaintext, base64url: only for format `bytes`.
    pub plaintext_b64: Option<String>,
    /// Whether the reporter sent this message (never true for the reported message).
    pub sent_by_reporter: bool,
    /// The platform's stamp.
    pub stamp: Stamp,
    /// The AEAD suite.
    pub suite: Suite,
    /// The text: the content's text, or for format `bytes` the plaintext when it is UTF-8.
    pub text: Option<String>,
}

/// Whether an attachment's verified plaintext is available.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentStatus {
    /// Uploaded with the report, verified against its reference and stored: downloadable.
    Verified,
    /// Was verified and stored; retention has purged it.
    Purged,
    /// Not uploaded (attachments of earlier messages): only the committed metadata is known.
    NotSubmitted,
}

/// One attachment of a message: the committed metadata and, when stored, its download path.
#[derive(Debug, Clone, Serialize)]
pub struct AttachmentView {
    /// The whole-file commitment, base64url.
    pub commitment: String,
    /// `/v1/cases/{case_id}/attachments/{id}` while `status` is `verified`, else `null`.
    pub download: Option<String>,
    /// The stored attachment's id (`null` when not submitted).
    pub id: Option<String>,
    /// Position in the message's content.
    pub index: usize,
    /// Length in bytes.
    pub length: u64,
    /// Media type as declared by the sender (and committed).
    pub media_type: String,
    /// `verified`, `purged` or `not_submitted`.
    pub status: AttachmentStatus,
}

/// Show `m` (`stored`: the attachment rows of this message, for the reported message).
fn message_view(
    m: &ReportedMessage,
    reporter: &str,
    case_id: &str,
    stored: &[&StoredAttachment],
) -> MessageView {
    let (format, text, plaintext_b64, attachments) =
        match MessageContent::decode_if_content(&m.plaintext) {
            Ok(Some(content)) => {
                let attachments = content
                    .attachments
                    .iter()
                    .enumerate()
                    .map(|(index, r)| {
                        let row = stored
                            .iter()
                            .find(|a| usize::try_from(a.idx).ok() == Some(index));
                        let (status, download) = match row {
                            None => (AttachmentStatus::NotSubmitted, None),
                            Some(a) if a.purged_at.is_some() => (AttachmentStatus::Purged, None),
                            Some(a) => (
                                AttachmentStatus::Verified,
                                Some(format!("/v1/cases/{case_id}/attachments/{}", a.id)),
                            ),
                        };
                        AttachmentView {
                            commitment: b64_encode(&r.commitment),
                            download,
                            id: row.map(|a| a.id.clone()),
                            index,
                            length: r.length,
                            media_type: r.media_type.clone(),
                            status,
                        }
                    })
                    .collect();
                (
                    ContentFormat::Content,
                    Some(content.text),
                    None,
                    attachments,
                )
            }
            // Not the content format, or a plaintext that claims it but does not decode: bytes.
            Ok(None) | Err(_) => (
                ContentFormat::Bytes,
                std::str::from_utf8(&m.plaintext).ok().map(str::to_owned),
                Some(b64_encode(&m.plaintext)),
                Vec::new(),
            ),
        };
    MessageView {
        associated_data_b64: b64_encode(&m.associated_data),
        attachments,
        commitment: m.commitment,
        context: m.context.clone(),
        format,
        plaintext_b64,
        sent_by_reporter: m.context.sender() == reporter,
        stamp: m.stamp.clone(),
        suite: m.suite,
        text,
    }
}

impl EvidenceRow {
    fn open(
        self,
        key: &ServerKey,
        case_id: &str,
        stored: &[StoredAttachment],
    ) -> Result<EvidenceView, ApiError> {
        let content = match self.purged_at {
            Some(_) => None,
            None => {
                let plain = seal::open(
                    key,
                    SEAL_PURPOSE,
                    &seal_context(&self.id, &self.sealed_for),
                    &self.sealed,
                )?;
                let rep = Report::from_json(&plain).map_err(|e| {
                    ApiError::Internal(format!("stored evidence does not parse: {e}"))
                })?;
                let own: Vec<&StoredAttachment> =
                    stored.iter().filter(|a| a.evidence_id == self.id).collect();
                let reporter = rep.reporter.as_str();
                Some(EvidenceContent {
                    earlier: rep
                        .earlier
                        .iter()
                        .map(|m| message_view(m, reporter, case_id, &[]))
                        .collect(),
                    message: message_view(&rep.message, reporter, case_id, &own),
                    reason: rep.reason.clone(),
                    reporter: rep.reporter.clone(),
                    reporter_membership: crate::rooms::membership_view(&rep.message),
                })
            }
        };
        Ok(EvidenceView {
            content,
            created_at: self.created_at,
            id: self.id,
            purged_at: self.purged_at,
            report_id: self.report_id,
            verified: true,
        })
    }
}

/// A case's evidence, oldest first, decrypted.
pub async fn for_case(
    db: &AnyPool,
    key: &ServerKey,
    case_id: &str,
) -> Result<Vec<EvidenceView>, ApiError> {
    let rows: Vec<EvidenceRow> = sqlx::query_as(
        "SELECT id, COALESCE(sealed_case_id, case_id) AS sealed_for, report_id, sealed, \
         created_at, purged_at FROM evidence \
         WHERE case_id = $1 ORDER BY created_at, id",
    )
    .bind(case_id)
    .fetch_all(db)
    .await?;
    let stored = attachments::for_case(db, case_id).await?;
    rows.into_iter()
        .map(|r| r.open(key, case_id, &stored))
        .collect()
}

/// Record that `actor` was shown the decrypted evidence `views` of case `case_id` (an
/// `evidence.view` audit entry, target `case:<id>`, with the ids of the items whose content was
/// shown). Reading evidence is the most sensitive read there is: callers record the view before
/// they return the content, and return nothing if it cannot be recorded. Nothing is recorded when
/// no content is shown (no evidence, or all of it purged).
pub async fn record_view(
    db: &AnyPool,
    actor: &str,
    case_id: &str,
    network: &str,
    views: &[EvidenceView],
) -> Result<(), ApiError> {
    let shown: Vec<&str> = views
        .iter()
        .filter(|v| v.content.is_some())
        .map(|v| v.id.as_str())
        .collect();
    if shown.is_empty() {
        return Ok(());
    }
    let entry = AuditEntry::new("evidence.view", format!("case:{case_id}"))
        .network(Some(network))
        .details(serde_json::json!({ "evidence": shown }));
    Change::begin(db, actor).await?.commit(entry).await
}
