//! Storing verified reports (`POST /v1/reports`, after `routes::reports` parsed and verified
//! them): in one audited [`Change`], for each report the case (one per message: grouped by
//! [`group_key`], whatever delivery stamp each reporter holds), the distinct reporter, the report
//! row, its sealed evidence ([`crate::evidence`], with its own retention deadline `purge_after` =
//! arrival + the policy's `evidence_retention_ms`), the case's count, the verified attachments
//! ([`crate::attachments`], streamed in by the caller between [`Intake::begin`] and
//! [`Pending::commit`]), the rate-limit counters ([`crate::ratelimit::Tally`]), a `report.accept`
//! audit entry (target `case:<id>`, details `report_id`, `case_created`, `reopened_from`) and the
//! webhook events (`case.created` / `case.report_added`, plus `case.reopened` when a closed case
//! reopens) through the change's outbox. A new reporter's report on a closed (resolved or
//! dismissed) case **reopens** it: state `open`, assignee, resolution and close time cleared, so
//! the new evidence is reviewed (and is never purged while the case is open). A reporter
//! reporting the same message again stores nothing new (only the rate-limit counters count it).
//!
//! One transaction may store one report ([`Intake::begin`], [`Intake::store`]) or a batch
//! ([`store_all`], fed by the group-commit [`queue`]): the outcome of each report is exactly what
//! storing the reports one after another, in order, would give (each is refused, 429, or
//! stored), but the batch costs one transaction and a fixed number of multi-row statements
//! ([`crate::db::padded_chunks`]) instead of a dozen statements per report. Rows are locked in one
//! order by every writer — cases by `(network, group key)`, then rate counters, then audit chain
//! heads — so concurrent transactions wait for one another and never deadlock.

pub mod queue;

use franking_core::frank::VerifiedReport;
use franking_core::util::b64_encode;
use std::collections::{HashMap, HashSet};

use sqlx::{AnyConnection, AnyPool};

use crate::audit::AuditEntry;
use crate::cases::CaseState;
use crate::change::Change;
use crate::error::ApiError;
use crate::evidence::NewEvidence;
use crate::federation::forward::{self, ForwardRoute, Inbound, Outbound};
use crate::keys::Policy;
use crate::ratelimit::Tally;
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

/// A case a transaction stores reports on, as the transaction sees it.
#[derive(Debug)]
struct CaseRow {
    id: String,
    /// Inserted by this transaction (with its first reporter counted).
    new: bool,
    state: CaseState,
    /// `report_count` after the reports placed so far.
    count: i64,
    /// New reporters to add to the stored `report_count` (not the first one of a new case).
    added: i64,
    /// The state it was reopened from, by the first new reporter of a closed case.
    reopened: bool,
    /// The latest receipt time of a new reporter.
    last_reported_at: i64,
    /// The first category a new reporter gave (`COALESCE`d into the case's category).
    category: Option<String>,
}

/// What a transaction did with one report.
#[derive(Debug)]
struct Placed {
    stored: Stored,
    reporter: String,
    /// The new evidence row (`None` for a duplicate).
    evidence_id: Option<String>,
    /// Whether the report opened a new case.
    new_case: bool,
}

/// Verified reports being stored: the intake [`Change`] after the case, report and evidence
/// rows, before the rate-limit counters, the audit entries and the commit. Dropping it rolls
/// everything back.
#[derive(Debug)]
pub struct Pending<'a> {
    change: Change,
    tally: Tally,
    /// Each report's intake and outcome, in order: a refusal (429) or what was placed.
    items: Vec<(&'a Intake<'a>, Result<Placed, ApiError>)>,
}

impl Pending<'_> {
    /// The transaction's connection.
    pub fn conn(&mut self) -> &mut AnyConnection {
        self.change.conn()
    }

    /// Where the first report's attachments go: `(case_id, evidence_id)`, or `None` for a
    /// duplicate report (nothing new is stored).
    pub fn attachment_target(&self) -> Option<(String, String)> {
        let (_, Ok(placed)) = self.items.first()? else {
            return None;
        };
        placed
            .evidence_id
            .as_ref()
            .map(|e| (placed.stored.case_id.clone(), e.clone()))
    }

    /// Record the rate-limit counters and commit, with one `report.accept` audit entry and the
    /// webhook events per stored report; the first report's outcome (see [`Self::commit_all`]).
    pub async fn commit(self) -> Result<Stored, ApiError> {
        self.commit_all()
            .await?
            .into_iter()
            .next()
            .unwrap_or_else(|| Err(ApiError::Internal("empty intake".into())))
    }

    /// Record the rate-limit counters and commit, with one `report.accept` audit entry and the
    /// webhook events per stored report. Returns each report's outcome in order. A duplicate
    /// stores nothing: only the rate-limit counters count it.
    pub async fn commit_all(mut self) -> Result<Vec<Result<Stored, ApiError>>, ApiError> {
        let now = self.items.iter().map(|(i, _)| i.now).max().unwrap_or(0);
        let (conn, writes) = self.change.conn_and_writes();
        self.tally.record(conn, writes, now).await?;
        let mut entries = Vec::new();
        for (i, outcome) in &self.items {
            let Ok(p) = outcome else { continue };
            let s = &p.stored;
            if s.duplicate {
                continue;
            }
            let kind = if p.new_case {
                EventType::CaseCreated
            } else {
                EventType::CaseReportAdded
            };
            self.change
                .emit(Event::case(kind, i.network, &s.case_id).reporter(&p.reporter));
            if s.reopened_from.is_some() {
                self.change
                    .emit(Event::case(EventType::CaseReopened, i.network, &s.case_id));
            }
            let entry = AuditEntry::new("report.accept", format!("case:{}", s.case_id))
                .network(Some(i.network))
                .details(serde_json::json!({
                    "report_id": s.report_id,
                    "case_created": p.new_case,
                    "reopened_from": s.reopened_from,
                }));
            entries.push((i.actor.to_owned(), entry));
        }
        self.change.commit_all(entries).await?;
        Ok(self
            .items
            .into_iter()
            .map(|(i, outcome)| {
                outcome.map(|p| {
                    tracing::debug!(case_id = %p.stored.case_id, report_id = %p.stored.report_id,
                        network = i.network, duplicate = p.stored.duplicate, "report accepted");
                    p.stored
                })
            })
            .collect())
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
        self.begin_one(db, server_key, verified)
            .await?
            .commit()
            .await
    }

    /// Open the intake transaction of this one report and write its case, reporter, report and
    /// evidence rows (so the caller can add rows that refer to them: its attachments); 429
    /// `rate_limited` (nothing written) if a limit is used up.
    pub async fn begin(
        &'a self,
        db: &'a AnyPool,
        server_key: &ServerKey,
        verified: &VerifiedReport,
    ) -> Result<Pending<'a>, ApiError> {
        let mut pending = self.begin_one(db, server_key, verified).await?;
        pending.change.flush().await?;
        Ok(pending)
    }

    /// [`Self::begin`], with the report and evidence rows still deferred to the commit.
    async fn begin_one(
        &'a self,
        db: &'a AnyPool,
        server_key: &ServerKey,
        verified: &VerifiedReport,
    ) -> Result<Pending<'a>, ApiError> {
        let mut pending = begin_all(db, server_key, &[(self, verified)]).await?;
        if let Some((_, Err(_))) = pending.items.first()
            && let Some((_, Err(refusal))) = pending.items.pop()
        {
            return Err(refusal);
        }
        Ok(pending)
    }
}

/// Store several verified reports in one transaction (see the module docs): each report's
/// outcome in order, or the error that rolled the whole transaction back.
pub async fn store_all(
    db: &AnyPool,
    server_key: &ServerKey,
    reports: &[(&Intake<'_>, &VerifiedReport)],
) -> Result<Vec<Result<Stored, ApiError>>, ApiError> {
    begin_all(db, server_key, reports).await?.commit_all().await
}

/// Open the intake transaction and write every admitted report's case, reporter, report and
/// evidence rows (module docs).
async fn begin_all<'a>(
    db: &AnyPool,
    server_key: &ServerKey,
    reports: &[(&'a Intake<'a>, &VerifiedReport)],
) -> Result<Pending<'a>, ApiError> {
    let first = reports
        .first()
        .ok_or_else(|| ApiError::Internal("empty intake".into()))?;
    let mut change = Change::begin_multi_row(db, first.0.actor).await?;
    // The networks' intake rate limits, for their own reporters and for forwarded ones
    // (pseudonyms) alike, checked in order before anything is written.
    let submissions: Vec<_> = reports
        .iter()
        .map(|(i, v)| (i.policy, i.network, v.report().reporter.as_str(), i.now))
        .collect();
    let mut tally = Tally::load(change.conn(), &submissions).await?;
    let mut admitted = Vec::with_capacity(reports.len());
    for (i, v) in reports {
        let verdict = tally.admit(i.policy, i.network, &v.report().reporter, i.now);
        admitted.push(verdict.and_then(|()| case_keys(v)));
    }
    let mut cases = upsert_cases(change.conn(), reports, &admitted).await?;
    let pairs: Vec<(String, String, i64)> = reports
        .iter()
        .zip(&admitted)
        .filter_map(|((i, v), keys)| {
            let keys = keys.as_ref().ok()?;
            let case = cases.get(&(i.network.to_owned(), keys.0.clone()))?;
            Some((case.id.clone(), v.report().reporter.clone(), i.now))
        })
        .collect();
    let new_pairs = insert_reporters(change.conn(), &pairs).await?;
    // Place each admitted report in order: new reporter, or a duplicate (of a report stored
    // before, or of one earlier in this transaction).
    let mut placed_ids: HashMap<(String, String), String> = HashMap::new();
    let mut items = Vec::with_capacity(reports.len());
    for ((intake, verified), keys) in reports.iter().zip(admitted) {
        let keys = match keys {
            Ok(keys) => keys,
            Err(refusal) => {
                items.push((*intake, Err(refusal)));
                continue;
            }
        };
        let case = cases
            .get_mut(&(intake.network.to_owned(), keys.0))
            .ok_or_else(|| ApiError::Internal("intake case missing".into()))?;
        let reporter = verified.report().reporter.clone();
        let pair = (case.id.clone(), reporter.clone());
        let first_time = !placed_ids.contains_key(&pair) && new_pairs.contains(&pair);
        let placed = if first_time {
            let p = place_new(case, intake, reporter)?;
            placed_ids.insert(pair, p.stored.report_id.clone());
            p
        } else {
            let report_id = match placed_ids.get(&pair) {
                Some(id) => id.clone(),
                None => {
                    let id = earlier_report(change.conn(), &pair.0, &pair.1).await?;
                    placed_ids.insert(pair, id.clone());
                    id
                }
            };
            Placed {
                stored: Stored {
                    case_id: case.id.clone(),
                    report_id,
                    duplicate: true,
                    report_count: case.count,
                    reopened_from: None,
                },
                reporter,
                evidence_id: None,
                new_case: false,
            }
        };
        items.push((*intake, Ok(placed)));
    }
    update_cases(change.conn(), &cases).await?;
    insert_reports(&mut change, server_key, reports, &items).await?;
    Ok(Pending {
        change,
        tally,
        items,
    })
}

/// Count a new reporter on `case` (reopening it if it is closed) and name its report.
fn place_new(
    case: &mut CaseRow,
    intake: &Intake<'_>,
    reporter: String,
) -> Result<Placed, ApiError> {
    let new_case = case.new && case.count == 0;
    case.count += 1;
    let mut reopened_from = None;
    if !new_case {
        case.added += 1;
        case.last_reported_at = case.last_reported_at.max(intake.now);
        case.category = case.category.take().or(intake.category.map(str::to_owned));
        if !case.new && matches!(case.state, CaseState::Resolved | CaseState::Dismissed) {
            reopened_from = Some(case.state);
            case.state = CaseState::Open;
            case.reopened = true;
        }
    }
    Ok(Placed {
        stored: Stored {
            case_id: case.id.clone(),
            report_id: new_id("rep")?,
            duplicate: false,
            report_count: case.count,
            reopened_from,
        },
        reporter,
        evidence_id: Some(new_id("evd")?),
        new_case,
    })
}

/// The cases of the admitted reports: inserted (with the first reporter counted) or, if the
/// message already has one, locked — in `(network, group key)` order, in multi-row upserts.
/// Keyed by `(network, group key)`.
async fn upsert_cases(
    conn: &mut AnyConnection,
    reports: &[(&Intake<'_>, &VerifiedReport)],
    admitted: &[Result<(String, String, String), ApiError>],
) -> Result<HashMap<(String, String), CaseRow>, ApiError> {
    // The first admitted report of each message gives the new case's values.
    let mut firsts: Vec<(&str, &str, usize)> = Vec::new();
    let mut seen = HashSet::new();
    for (n, ((i, _), keys)) in reports.iter().zip(admitted).enumerate() {
        if let Ok(keys) = keys
            && seen.insert((i.network, keys.0.as_str()))
        {
            firsts.push((i.network, keys.0.as_str(), n));
        }
    }
    firsts.sort_unstable();
    let rows = firsts
        .iter()
        .map(|&(network, gkey, n)| Ok((network, gkey, n, new_id("case")?)))
        .collect::<Result<Vec<_>, ApiError>>()?;
    let mut cases = HashMap::with_capacity(rows.len());
    const COLUMNS: &str = "id, network_id, group_key, commitment, stamp, key_id, sender, \
        message_id, message_ts, state, category, report_count, first_reported_at, \
        last_reported_at, updated_at, origin_network";
    for chunk in crate::db::padded_chunks(&rows) {
        let mut q = sqlx::query_as::<_, (String, String, String, CaseState, i64)>(
            sqlx::AssertSqlSafe(format!(
                "{} INSERT INTO cases ({COLUMNS}) SELECT {COLUMNS} FROM v WHERE keep = 1 \
                 ON CONFLICT (network_id, group_key) \
                 DO UPDATE SET last_reported_at = cases.last_reported_at \
                 RETURNING id, network_id, group_key, state, report_count",
                chunk.with_rows(COLUMNS, 1)
            )),
        );
        for ((network, gkey, n, fresh_id), keep) in chunk.slots() {
            let (intake, verified) = reports[*n];
            let ctx = verified.context();
            let (_, commitment, stamp) = admitted[*n]
                .as_ref()
                .map_err(|_| ApiError::Internal("intake case of a refused report".into()))?;
            let origin = match intake.federation {
                Federation::ToPeer(out) => Some(out.peer_network.clone()),
                Federation::Local | Federation::FromPeer(_) => None,
            };
            q = q
                .bind(fresh_id)
                .bind(*network)
                .bind(*gkey)
                .bind(commitment)
                .bind(stamp)
                .bind(i64::from(verified.key_id().0))
                .bind(ctx.sender().to_owned())
                .bind(ctx.message_id().to_owned())
                .bind(to_i64(ctx.timestamp_ms()))
                .bind(CaseState::Open)
                .bind(intake.category.map(str::to_owned))
                .bind(1_i64)
                .bind(intake.now)
                .bind(intake.now)
                .bind(intake.now)
                .bind(origin)
                .bind(keep);
        }
        for (id, network, gkey, state, count) in q.fetch_all(&mut *conn).await? {
            let Some(&(net, key, n, ref fresh_id)) = chunk
                .slots()
                .map(|(row, _)| row)
                .find(|(net, key, _, _)| *net == network && *key == gkey)
            else {
                return Err(ApiError::Internal(
                    "intake upsert returned another case".into(),
                ));
            };
            let new = id == *fresh_id;
            let now = reports[n].0.now;
            cases.insert(
                (net.to_owned(), key.to_owned()),
                CaseRow {
                    id,
                    new,
                    state,
                    count: if new { 0 } else { count },
                    added: 0,
                    reopened: false,
                    last_reported_at: now,
                    category: None,
                },
            );
        }
    }
    Ok(cases)
}

/// Insert the `(case, reporter, time)` pairs not yet known; returns the pairs inserted.
async fn insert_reporters(
    conn: &mut AnyConnection,
    pairs: &[(String, String, i64)],
) -> Result<HashSet<(String, String)>, ApiError> {
    let mut distinct: Vec<(&str, &str, i64)> = Vec::with_capacity(pairs.len());
    let mut seen = HashSet::new();
    for (case, reporter, now) in pairs {
        if seen.insert((case, reporter)) {
            distinct.push((case, reporter, *now));
        }
    }
    distinct.sort_unstable();
    let mut inserted = HashSet::new();
    const COLUMNS: &str = "case_id, reporter, first_reported_at";
    for chunk in crate::db::padded_chunks(&distinct) {
        let mut q = sqlx::query_as::<_, (String, String)>(sqlx::AssertSqlSafe(format!(
            "{} INSERT INTO case_reporters ({COLUMNS}) SELECT {COLUMNS} FROM v WHERE keep = 1 \
             ON CONFLICT (case_id, reporter) DO NOTHING RETURNING case_id, reporter",
            chunk.with_rows(COLUMNS, 1)
        )));
        for ((case, reporter, now), keep) in chunk.slots() {
            q = q.bind(*case).bind(*reporter).bind(*now).bind(keep);
        }
        inserted.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(inserted)
}

/// The id of the report `reporter` already filed on `case`.
async fn earlier_report(
    conn: &mut AnyConnection,
    case: &str,
    reporter: &str,
) -> Result<String, ApiError> {
    let (id,): (String,) =
        sqlx::query_as("SELECT id FROM reports WHERE case_id = $1 AND reporter = $2")
            .bind(case)
            .bind(reporter)
            .fetch_one(conn)
            .await?;
    Ok(id)
}

/// Write the counts of cases that gained reporters beyond their first, reopening the closed
/// ones (state `open`, assignee, resolution and close time cleared). The rows are already locked
/// by [`upsert_cases`].
async fn update_cases(
    conn: &mut AnyConnection,
    cases: &HashMap<(String, String), CaseRow>,
) -> Result<(), ApiError> {
    let mut touched: Vec<&CaseRow> = cases.values().filter(|c| c.added > 0).collect();
    touched.sort_unstable_by(|a, b| a.id.cmp(&b.id));
    for case in touched {
        let reopen = if case.reopened {
            ", state = $5, assignee = NULL, resolution_action = NULL, resolved_at = NULL"
        } else {
            ""
        };
        let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE cases SET report_count = report_count + $2, last_reported_at = $3, \
             updated_at = $3, category = COALESCE(category, $4){reopen} WHERE id = $1"
        )))
        .bind(&case.id)
        .bind(case.added)
        .bind(case.last_reported_at)
        .bind(case.category.clone());
        if case.reopened {
            q = q.bind(CaseState::Open);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Insert the new reports and their sealed evidence (multi-row statements deferred to the
/// commit: [`Change::writes`]), and record or queue their federation forwards (which refer to the
/// reports: the deferred writes run first).
async fn insert_reports(
    change: &mut Change,
    server_key: &ServerKey,
    reports: &[(&Intake<'_>, &VerifiedReport)],
    items: &[(&Intake<'_>, Result<Placed, ApiError>)],
) -> Result<(), ApiError> {
    // `items` holds one outcome per report, in order: the new reports are the placed ones that
    // are not duplicates.
    let rows: Vec<(&Intake<'_>, &VerifiedReport, &Placed)> = reports
        .iter()
        .zip(items)
        .filter_map(|((i, v), (_, outcome))| {
            let p = outcome.as_ref().ok().filter(|p| !p.stored.duplicate)?;
            Some((*i, *v, p))
        })
        .collect();
    const COLUMNS: &str =
        "id, case_id, network_id, reporter, reason, category, earlier_count, received_at";
    for chunk in crate::db::padded_chunks(&rows) {
        let mut b = change.writes().push(&format!(
            "{} INSERT INTO reports ({COLUMNS}) SELECT {COLUMNS} FROM v WHERE keep = 1",
            chunk.with_rows(COLUMNS, 1)
        ));
        for ((i, v, p), keep) in chunk.slots() {
            let report = v.report();
            b.bind(&p.stored.report_id)
                .bind(&p.stored.case_id)
                .bind(i.network)
                .bind(&report.reporter)
                .bind(&report.reason)
                .bind(i.category.map(str::to_owned))
                .bind(i64::try_from(report.earlier.len()).unwrap_or(i64::MAX))
                .bind(i.now)
                .bind(keep);
        }
    }
    let mut evidence = Vec::with_capacity(rows.len());
    for (i, v, p) in &rows {
        let e = NewEvidence {
            id: p.evidence_id.as_deref().unwrap_or_default(),
            case_id: &p.stored.case_id,
            report_id: &p.stored.report_id,
            now: i.now,
            purge_after: i.now.saturating_add(to_i64(i.policy.evidence_retention_ms)),
        };
        let sealed = e.seal(server_key, v)?;
        evidence.push((e, sealed));
    }
    NewEvidence::insert_all(change.writes(), &evidence);
    if rows
        .iter()
        .any(|(i, _, _)| !matches!(i.federation, Federation::Local))
    {
        change.flush().await?;
    }
    for (i, _, p) in &rows {
        let (case_id, report_id) = (&p.stored.case_id, &p.stored.report_id);
        match i.federation {
            Federation::Local => {}
            Federation::FromPeer(inbound) => {
                forward::record_inbound(
                    change.conn(),
                    inbound,
                    i.network,
                    case_id,
                    report_id,
                    i.now,
                )
                .await?;
            }
            Federation::ToPeer(out) => {
                let route = ForwardRoute {
                    network: i.network,
                    case_id,
                    report_id,
                    category: i.category,
                    now: i.now,
                };
                forward::queue_forward(change, server_key, out, route).await?;
            }
        }
    }
    Ok(())
}
