//! Storing a verified report (`POST /v1/reports`, after `routes::reports` parsed, rate-limited
//! and verified it): in one transaction, the case (grouped by commitment + stamp), the distinct
//! reporter, the report row, its sealed evidence ([`crate::evidence`]), the case's count and the
//! rate-limit counters, and the webhook event (`case.created` / `case.report_added`, written to the
//! outbox, [`crate::webhooks::outbox`]). A reporter reporting the same message again stores nothing
//! new.

use franking_core::frank::VerifiedReport;
use sqlx::AnyPool;

use crate::cases::CaseState;
use crate::error::ApiError;
use crate::evidence::NewEvidence;
use crate::keys::Policy;
use crate::ratelimit;
use crate::seal::ServerKey;
use crate::util::{b64, new_id, sha256_hex, to_i64};
use crate::webhooks::EventType;
use crate::webhooks::outbox::{self, Event};

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
    Ok((sha256_hex(&buf), b64(commitment), b64(&stamp)))
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

impl Intake<'_> {
    /// Store `verified` (see the module docs).
    pub async fn store(
        &self,
        db: &AnyPool,
        server_key: &ServerKey,
        verified: &VerifiedReport,
    ) -> Result<Stored, ApiError> {
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
            NewEvidence {
                id: &new_id("evd")?,
                case_id: &case_id,
                report_id: &report_id,
                now,
                purge_after: now.saturating_add(to_i64(self.policy.evidence_retention_ms)),
            }
            .insert(&mut tx, server_key, report)
            .await?;
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
        if new_reporter {
            let kind = if new_case {
                EventType::CaseCreated
            } else {
                EventType::CaseReportAdded
            };
            let event = Event::case(kind, network, &case_id).reporter(&report.reporter);
            outbox::enqueue(&mut tx, &[event], now).await?;
        }
        ratelimit::record(&mut tx, self.policy, network, &report.reporter, now).await?;
        tx.commit().await?;
        if new_reporter {
            tracing::debug!(%case_id, %report_id, network, "report accepted");
        }
        Ok(Stored {
            case_id,
            report_id,
            duplicate: !new_reporter,
            report_count: count,
        })
    }
}
