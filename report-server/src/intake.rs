//! Storing a verified report (`POST /v1/reports`, after `routes::reports` parsed, rate-limited
//! and verified it): in one audited [`Change`], the case (one per message: grouped by
//! [`group_key`], whatever delivery stamp each reporter holds), the distinct reporter, the report row, its sealed evidence ([`crate::evidence`], with its own
//! retention deadline `purge_after` = arrival + the policy's `evidence_retention_ms`), the case's
//! count, the verified attachments ([`crate::attachments`], streamed in by the caller between
//! [`Intake::begin`] and [`Pending::commit`]), the rate-limit counters, a `report.accept` audit
//! entry (target `case:<id>`, details `report_id`, `case_created`, `reopened_from`) and the
//! webhook events (`case.created` / `case.report_added`, plus `case.reopened` when a closed case
//! reopens) through the change's outbox. A new reporter's report on a closed (resolved or
//! dismissed) case **reopens** it: state `open`, assignee, resolution and close time cleared, so
//! the new evidence is reviewed (and is never purged while the case is open). A reporter
//! reporting the same message again stores nothing new (only the rate-limit counters count it).

use franking_core::frank::VerifiedReport;
use franking_core::util::b64_encode;
use sqlx::{AnyConnection, AnyPool};

use crate::audit::AuditEntry;
use crate::cases::CaseState;
use crate::change::Change;
use crate::error::ApiError;
use crate::evidence::NewEvidence;
use crate::federation::forward::{self, ForwardRoute, Inbound, Outbound};
use crate::keys::Policy;
use crate::ratelimit;
use crate::seal::ServerKey;
use crate::util::{new_id, to_i64};
use crate::webhooks::EventType;
use crate::webhooks::outbox::Event;

/// The grouping key of a case within its network (issue 17: one case per message): the reported
/// message's identity — its commitment, sender and message id — whatever delivery context and
/// stamp each reporter holds (per-delivery stamps of one group message, a signed or re-stamped
/// copy), so reports of one message join one case; the same envelope sent again under a new
/// message id is another message. The text is
/// `"m1:" ‖ base64url(T) ‖ ":" ‖ decimal(number of characters of sender) ‖ ":" ‖ sender ‖
/// message_id` (unambiguous: T has a fixed length and the sender's length is given), exactly what
/// migration `0030_group_by_message.sql` computes in SQL for existing cases.
pub fn group_key(commitment_b64: &str, sender: &str, message_id: &str) -> String {
    format!(
        "m1:{commitment_b64}:{}:{sender}{message_id}",
        sender.chars().count()
    )
}

/// `(group key, commitment, stamp)` of a verified report, the last two base64url; the case keeps
/// the stamp of its first report.
fn case_keys(v: &VerifiedReport) -> Result<(String, String, String), ApiError> {
    let ctx = v.context();
    let commitment = b64_encode(v.commitment().as_bytes());
    let stamp = v
        .report()
        .message
        .stamp
        .to_bytes()
        .map_err(|e| ApiError::Internal(format!("stamp encoding: {e}")))?;
    let key = group_key(&commitment, ctx.sender(), ctx.message_id());
    Ok((key, commitment, b64_encode(&stamp)))
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
    /// The audit actor (the service token's caller, e.g. `service:backend@net1`).
    pub actor: &'a str,
    /// Whether the report crosses networks.
    pub federation: Federation<'a>,
}

/// How a report crosses networks (federation, `docs/federation.md`).
#[derive(Debug, Clone, Copy)]
pub enum Federation<'a> {
    /// A network's own message, reported by its own platform.
    Local,
    /// A peer's message verified by its published signature: the case records the peer as the
    /// origin, and a new report is forwarded to the peer in the same transaction.
    ToPeer(&'a Outbound),
    /// A forward received from a peer: remembered (a replay is refused) with the report.
    FromPeer(Inbound<'a>),
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
    /// The state a closed case was in before this report reopened it.
    pub reopened_from: Option<CaseState>,
}

/// A report being stored: the intake [`Change`] after the case, report and evidence rows, before
/// the rate-limit counters, the audit entry and the commit. Dropping it rolls everything back.
#[derive(Debug)]
pub struct Pending<'a> {
    intake: &'a Intake<'a>,
    db: &'a AnyPool,
    change: Change,
    reporter: String,
    stored: Stored,
    /// The new evidence row (`None` for a duplicate).
    evidence_id: Option<String>,
    /// Whether the report opened a new case.
    new_case: bool,
}

impl Pending<'_> {
    /// The transaction's connection.
    pub fn conn(&mut self) -> &mut AnyConnection {
        self.change.conn()
    }

    /// Where attachments go: `(case_id, evidence_id)`, or `None` for a duplicate report (nothing
    /// new is stored).
    pub fn attachment_target(&self) -> Option<(String, String)> {
        self.evidence_id
            .as_ref()
            .map(|e| (self.stored.case_id.clone(), e.clone()))
    }

    /// Record the rate-limit counters and commit, with the `report.accept` audit entry and the
    /// webhook events. A duplicate stores nothing: its change is rolled back and only the
    /// rate-limit counters count it.
    pub async fn commit(mut self) -> Result<Stored, ApiError> {
        let i = self.intake;
        let s = &self.stored;
        if s.duplicate {
            self.change.rollback().await?;
            let mut tx = crate::db::begin_write(self.db).await?;
            ratelimit::record(&mut tx, i.policy, i.network, &self.reporter, i.now).await?;
            tx.commit().await?;
            return Ok(self.stored);
        }
        ratelimit::record(
            self.change.conn(),
            i.policy,
            i.network,
            &self.reporter,
            i.now,
        )
        .await?;
        let kind = if self.new_case {
            EventType::CaseCreated
        } else {
            EventType::CaseReportAdded
        };
        self.change
            .emit(Event::case(kind, i.network, &s.case_id).reporter(&self.reporter));
        if s.reopened_from.is_some() {
            self.change
                .emit(Event::case(EventType::CaseReopened, i.network, &s.case_id));
        }
        let entry = AuditEntry::new("report.accept", format!("case:{}", s.case_id))
            .network(Some(i.network))
            .details(serde_json::json!({
                "report_id": s.report_id,
                "case_created": self.new_case,
                "reopened_from": s.reopened_from,
            }));
        self.change.commit(entry).await?;
        tracing::debug!(case_id = %self.stored.case_id, report_id = %self.stored.report_id,
            network = i.network, "report accepted");
        Ok(self.stored)
    }
}

impl<'a> Intake<'a> {
    /// Store `verified` without attachments (see the module docs).
    pub async fn store(
        &'a self,
        db: &'a AnyPool,
        server_key: &ServerKey,
        verified: &VerifiedReport,
    ) -> Result<Stored, ApiError> {
        self.begin(db, server_key, verified).await?.commit().await
    }

    /// Open the intake transaction and write the case, reporter, report and evidence rows.
    pub async fn begin(
        &'a self,
        db: &'a AnyPool,
        server_key: &ServerKey,
        verified: &VerifiedReport,
    ) -> Result<Pending<'a>, ApiError> {
        let (network, category, now) = (self.network, self.category, self.now);
        let report = verified.report();
        let ctx = verified.context();
        let (gkey, commitment_b64, stamp_b64) = case_keys(verified)?;

        // One transaction, one commit: case (upsert), rate-limit check, distinct reporter, report,
        // evidence, count, rate-limit counters (last, so their rows are locked only briefly).
        let fresh_case_id = new_id("case")?;
        let mut change = Change::begin(db, self.actor).await?;
        let tx = change.conn();
        let origin = match self.federation {
            Federation::ToPeer(out) => Some(out.peer_network.clone()),
            Federation::Local | Federation::FromPeer(_) => None,
        };
        let (case_id,): (String,) = sqlx::query_as(
            "INSERT INTO cases (id, network_id, group_key, commitment, stamp, key_id, sender, \
             message_id, message_ts, state, category, report_count, first_reported_at, \
             last_reported_at, updated_at, origin_network) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $12, $10, 1, $11, $11, $11, $13) \
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
        .bind(origin)
        .fetch_one(&mut *tx)
        .await?;
        // The network's intake rate limits, for its own reporters and for forwarded ones
        // (pseudonyms) alike: a 429 rolls the upsert back.
        ratelimit::check(&mut *tx, self.policy, network, &report.reporter, now).await?;
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
        let (report_id, count, reopened_from) = if new_reporter {
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
            .insert(&mut *tx, server_key, verified)
            .await?;
            evidence_id = Some(id);
            let (count, reopened_from) = if new_case {
                (1, None)
            } else {
                reopen_and_count(&mut *tx, &case_id, now, category).await?
            };
            match self.federation {
                Federation::Local => {}
                Federation::FromPeer(inbound) => {
                    forward::record_inbound(&mut *tx, inbound, network, &case_id, &report_id, now)
                        .await?;
                }
                Federation::ToPeer(out) => {
                    let route = ForwardRoute {
                        network,
                        case_id: &case_id,
                        report_id: &report_id,
                        category,
                        now,
                    };
                    forward::queue_forward(&mut change, server_key, out, route).await?;
                }
            }
            (report_id, count, reopened_from)
        } else {
            let (report_id, count): (String, i64) = sqlx::query_as(
                "SELECT r.id, c.report_count FROM reports r JOIN cases c ON c.id = r.case_id \
                 WHERE r.case_id = $1 AND r.reporter = $2",
            )
            .bind(&case_id)
            .bind(&report.reporter)
            .fetch_one(&mut *tx)
            .await?;
            (report_id, count, None)
        };
        Ok(Pending {
            intake: self,
            db,
            change,
            reporter: report.reporter.clone(),
            stored: Stored {
                case_id,
                report_id,
                duplicate: !new_reporter,
                report_count: count,
                reopened_from,
            },
            evidence_id,
            new_case,
        })
    }
}

/// A new reporter on an existing case: reopen it if it is closed (resolved or dismissed: state
/// `open`, assignee, resolution and close time cleared) and count the report. Returns the new count
/// and the state the case was reopened from. The case row is already locked by the intake upsert.
async fn reopen_and_count(
    conn: &mut AnyConnection,
    case_id: &str,
    now: i64,
    category: Option<&str>,
) -> Result<(i64, Option<CaseState>), ApiError> {
    let (state,): (CaseState,) = sqlx::query_as("SELECT state FROM cases WHERE id = $1")
        .bind(case_id)
        .fetch_one(&mut *conn)
        .await?;
    let closed = matches!(state, CaseState::Resolved | CaseState::Dismissed);
    if closed {
        sqlx::query(
            "UPDATE cases SET state = $2, assignee = NULL, resolution_action = NULL, \
             resolved_at = NULL WHERE id = $1",
        )
        .bind(case_id)
        .bind(CaseState::Open)
        .execute(&mut *conn)
        .await?;
    }
    let (count,): (i64,) = sqlx::query_as(
        "UPDATE cases SET report_count = report_count + 1, last_reported_at = $2, \
         updated_at = $2, category = COALESCE(category, $3) WHERE id = $1 RETURNING report_count",
    )
    .bind(case_id)
    .bind(now)
    .bind(category.map(str::to_owned))
    .fetch_one(&mut *conn)
    .await?;
    Ok((count, closed.then_some(state)))
}
