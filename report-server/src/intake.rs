//! Storing a verified report (`POST /v1/reports`, after `routes::reports` parsed, rate-limited
//! and verified it): in one transaction, the case (grouped by commitment + stamp), the distinct
//! reporter, the report row, its sealed evidence ([`crate::evidence`]), the case's count, the
//! verified attachments ([`crate::attachments`], streamed in by the caller between
//! [`Intake::begin`] and [`Pending::commit`]) and the rate-limit counters. A reporter reporting
//! the same message again stores nothing new.

use franking_core::frank::VerifiedReport;
use sqlx::{AnyConnection, AnyPool, Transaction};

use crate::cases::CaseState;
use crate::error::ApiError;
use crate::evidence::NewEvidence;
use crate::keys::Policy;
use crate::ratelimit;
use crate::seal::ServerKey;
use crate::util::{new_id, sha256_hex, to_i64};
use franking_core::util::b64_encode;

/// The grouping key of a verified report: hex SHA-256 over (commitment ‖ canonical stamp bytes).
fn group_key(v: &VerifiedReport) -> Result<(String, String, String), ApiError> {
    let commitment = v.commitment().as_bytes();
    let stamp = v
        .report()
        .message
        .stamp
        .to_bytes()
        .map_err(|e| ApiError::Internal(format!("stamp encoding: {e}")))?;
    let mut buf = Vec::with_capacity(commitment.len() + stamp.len());
    buf.extend_from_slice(commitment);
    buf.extend_from_slice(&stamp);
    Ok((sha256_hex(&buf), b64_encode(commitment), b64_encode(&stamp)))
}

/// Where and when a verified report is stored.
#[derive(Debug)]
pub struct Intake<'a> {
    /// The service token's network (the report's network).
    pub network: &'a str,
    /// The category the service gave.
    pub category: Option<&'a str>,
    /// The network's policy (retention, rate limits).
    pub policy: &'a Policy,
    /// Receipt time (ms).
    pub now: i64,
}

/// What [`Intake::store`] did.
#[derive(Debug, Clone)]
pub struct Stored {
    /// The case the report belongs to.
    pub case_id: String,
    /// The report's id (the earlier one for a duplicate).
    pub report_id: String,
    /// True if this reporter had already reported this message (nothing new stored).
    pub duplicate: bool,
    /// Distinct reporters of the case so far.
    pub report_count: i64,
}

/// A report being stored: the intake transaction after the case, report and evidence rows, before
/// the rate-limit counters and the commit. Dropping it rolls everything back.
#[derive(Debug)]
pub struct Pending<'a> {
    intake: &'a Intake<'a>,
    tx: Transaction<'static, sqlx::Any>,
    reporter: String,
    stored: Stored,
    /// The new evidence row (`None` for a duplicate).
    evidence_id: Option<String>,
}

impl Pending<'_> {
    /// The transaction's connection.
    pub fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }

    /// Where attachments go: `(case_id, evidence_id)`, or `None` for a duplicate report (nothing
    /// new is stored).
    pub fn attachment_target(&self) -> Option<(String, String)> {
        self.evidence_id
            .as_ref()
            .map(|e| (self.stored.case_id.clone(), e.clone()))
    }

    /// Record the rate-limit counters and commit.
    pub async fn commit(mut self) -> Result<Stored, ApiError> {
        let i = self.intake;
        ratelimit::record(&mut self.tx, i.policy, i.network, &self.reporter, i.now).await?;
        self.tx.commit().await?;
        if !self.stored.duplicate {
            tracing::debug!(case_id = %self.stored.case_id, report_id = %self.stored.report_id,
                network = i.network, "report accepted");
        }
        Ok(self.stored)
    }
}

impl<'a> Intake<'a> {
    /// Store `verified` without attachments (see the module docs).
    pub async fn store(
        &'a self,
        db: &AnyPool,
        server_key: &ServerKey,
        verified: &VerifiedReport,
    ) -> Result<Stored, ApiError> {
        self.begin(db, server_key, verified).await?.commit().await
    }

    /// Open the intake transaction and write the case, reporter, report and evidence rows.
    pub async fn begin(
        &'a self,
        db: &AnyPool,
        server_key: &ServerKey,
        verified: &VerifiedReport,
    ) -> Result<Pending<'a>, ApiError> {
        let (network, category, now) = (self.network, self.category, self.now);
        let report = verified.report();
        let ctx = verified.context();
        let (gkey, commitment_b64, stamp_b64) = group_key(verified)?;

        // One transaction, one commit: case (upsert), distinct reporter, report, evidence, count,
        // rate-limit counters (last, so their rows are locked only briefly).
        let fresh_case_id = new_id("case")?;
        let mut tx = db.begin().await?;
        let (case_id,): (String,) = sqlx::query_as(
            "INSERT INTO cases (id, network_id, group_key, commitment, stamp, key_id, sender, \
             message_id, message_ts, state, category, report_count, first_reported_at, \
             last_reported_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $12, $10, 1, $11, $11, $11) \
             ON CONFLICT (network_id, group_key) \
             DO UPDATE SET last_reported_at = cases.last_reported_at RETURNING id",
        )
        .bind(&fresh_case_id)
        .bind(network)
        .bind(&gkey)
        .bind(&commitment_b64)
        .bind(&stamp_b64)
        .bind(i64::from(verified.key_id().0))
        .bind(ctx.sender())
        .bind(ctx.message_id())
        .bind(to_i64(ctx.timestamp_ms()))
        .bind(category.map(str::to_owned))
        .bind(now)
        .bind(CaseState::Open)
        .fetch_one(&mut *tx)
        .await?;
        // A new case was inserted with report_count = 1 for this (necessarily new) reporter.
        let new_case = case_id == fresh_case_id;
        let new_reporter = sqlx::query(
            "INSERT INTO case_reporters (case_id, reporter, first_reported_at) VALUES ($1, $2, $3) \
             ON CONFLICT (case_id, reporter) DO NOTHING",
        )
        .bind(&case_id)
        .bind(&report.reporter)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        let mut evidence_id = None;
        let (report_id, count): (String, i64) = if new_reporter {
            let report_id = new_id("rep")?;
            sqlx::query(
                "INSERT INTO reports (id, case_id, network_id, reporter, reason, category, \
                 earlier_count, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&report_id)
            .bind(&case_id)
            .bind(network)
            .bind(&report.reporter)
            .bind(&report.reason)
            .bind(category.map(str::to_owned))
            .bind(i64::try_from(report.earlier.len()).unwrap_or(i64::MAX))
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let id = new_id("evd")?;
            NewEvidence {
                id: &id,
                case_id: &case_id,
                report_id: &report_id,
                now,
                purge_after: now.saturating_add(to_i64(self.policy.evidence_retention_ms)),
            }
            .insert(&mut tx, server_key, verified)
            .await?;
            evidence_id = Some(id);
            let (count,): (i64,) = if new_case {
                (1,)
            } else {
                sqlx::query_as(
                    "UPDATE cases SET report_count = report_count + 1, last_reported_at = $2, \
                 updated_at = $2, category = COALESCE(category, $3) WHERE id = $1 \
                 RETURNING report_count",
                )
                .bind(&case_id)
                .bind(now)
                .bind(category.map(str::to_owned))
                .fetch_one(&mut *tx)
                .await?
            };
            (report_id, count)
        } else {
            sqlx::query_as(
                "SELECT r.id, c.report_count FROM reports r JOIN cases c ON c.id = r.case_id \
                 WHERE r.case_id = $1 AND r.reporter = $2",
            )
            .bind(&case_id)
            .bind(&report.reporter)
            .fetch_one(&mut *tx)
            .await?
        };
        Ok(Pending {
            intake: self,
            tx,
            reporter: report.reporter.clone(),
            stored: Stored {
                case_id,
                report_id,
                duplicate: !new_reporter,
                report_count: count,
            },
            evidence_id,
        })
    }
}
