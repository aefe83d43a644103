//! Evidence: the verified report content of each accepted report, sealed with the server key
//! ([`crate::seal`]) under purpose [`SEAL_PURPOSE`] and bound to its row by [`seal_context`]; and
//! its moderator view (decrypted; the franking key itself is never shown).
//!
//! Retention purges blank the sealed column ([`crate::retention`]); a purged row still shows that
//! evidence existed, for which report, and when it was purged.

use franking_core::frank::{Commitment, Context, Report, ReportedMessage, Stamp, Suite};
use serde::Serialize;
use sqlx::{AnyConnection, AnyPool};

use crate::audit::AuditEntry;
use crate::change::Change;
use crate::error::ApiError;
use crate::seal::{self, ServerKey};
use crate::util::b64;

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
    /// Seal `report` and insert the row (inside the caller's transaction).
    pub async fn insert(
        &self,
        conn: &mut AnyConnection,
        key: &ServerKey,
        report: &Report,
    ) -> Result<(), ApiError> {
        let plain = zeroize::Zeroizing::new(
            serde_json::to_vec(report)
                .map_err(|e| ApiError::Internal(format!("evidence encoding: {e}")))?,
        );
        let sealed = seal::seal(
            key,
            SEAL_PURPOSE,
            &seal_context(self.id, self.case_id),
            &plain,
        )?;
        sqlx::query(
            "INSERT INTO evidence (id, case_id, report_id, sealed, created_at, purge_after) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(self.id)
        .bind(self.case_id)
        .bind(self.report_id)
        .bind(sealed)
        .bind(self.now)
        .bind(self.purge_after)
        .execute(conn)
        .await?;
        Ok(())
    }
}

/// A stored evidence row.
#[derive(sqlx::FromRow)]
struct EvidenceRow {
    id: String,
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
    /// Earlier messages of the conversation included in the report.
    pub earlier: Vec<MessageView>,
    /// The reported message.
    pub message: MessageView,
    /// The reporter's reason.
    pub reason: String,
    /// The reporting user.
    pub reporter: String,
}

/// One reported message (its franking key is not shown).
#[derive(Debug, Clone, Serialize)]
pub struct MessageView {
    /// The associated data, base64url.
    pub associated_data_b64: String,
    /// The commitment.
    pub commitment: Commitment,
    /// The platform context.
    pub context: Context,
    /// The plaintext, base64url.
    pub plaintext_b64: String,
    /// The plaintext as text, when it is UTF-8.
    pub plaintext_utf8: Option<String>,
    /// The platform's stamp.
    pub stamp: Stamp,
    /// The AEAD suite.
    pub suite: Suite,
}

impl From<&ReportedMessage> for MessageView {
    fn from(m: &ReportedMessage) -> Self {
        Self {
            associated_data_b64: b64(&m.associated_data),
            commitment: m.commitment,
            context: m.context.clone(),
            plaintext_b64: b64(&m.plaintext),
            plaintext_utf8: std::str::from_utf8(&m.plaintext).ok().map(str::to_owned),
            stamp: m.stamp.clone(),
            suite: m.suite,
        }
    }
}

impl EvidenceRow {
    fn open(self, key: &ServerKey, case_id: &str) -> Result<EvidenceView, ApiError> {
        let content = match self.purged_at {
            Some(_) => None,
            None => {
                let plain = seal::open(
                    key,
                    SEAL_PURPOSE,
                    &seal_context(&self.id, case_id),
                    &self.sealed,
                )?;
                let rep: Report = serde_json::from_slice(&plain).map_err(|e| {
                    ApiError::Internal(format!("stored evidence does not parse: {e}"))
                })?;
                Some(EvidenceContent {
                    earlier: rep.earlier.iter().map(MessageView::from).collect(),
                    message: MessageView::from(&rep.message),
                    reason: rep.reason,
                    reporter: rep.reporter,
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
        "SELECT id, report_id, sealed, created_at, purged_at FROM evidence \
         WHERE case_id = $1 ORDER BY created_at, id",
    )
    .bind(case_id)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(|r| r.open(key, case_id)).collect()
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
