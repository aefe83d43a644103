//! Evidence retention: purge sealed evidence whose own retention deadline has passed, on cases
//! that are closed (resolved or dismissed).
//!
//! * **Per evidence, from its own arrival**: every evidence row gets `purge_after` = its arrival
//!   plus the network's `evidence_retention_ms` *at intake* ([`crate::intake`]). Evidence that
//!   arrives late (a new report on an old case) gets its full retention period, however long ago
//!   the case was opened or closed; changing the policy affects evidence that arrives afterwards.
//! * **Never while a case is open**: only evidence of cases in state `resolved` or `dismissed` is
//!   purged. Evidence whose deadline passed while its case was open or assigned is purged by the
//!   first run after the case is closed. A new report on a closed case reopens it (see
//!   [`crate::intake`]), so its evidence is reviewed before it can expire.
//! * **What a purge does**: the evidence row is kept (so the case still shows that evidence
//!   existed, which report it belonged to and when it was purged) but its `sealed` column is
//!   overwritten with the empty string and `purged_at` is set; the case's attachment chunks are
//!   deleted and its attachment rows marked purged ([`crate::attachments::purge_case`]). The decrypted content is gone for
//!   good; a reopened case keeps whatever was not purged yet.
//! * **Safe with several instances**: each case is purged in its own transaction that first
//!   re-checks the case under a row lock (`UPDATE cases ... WHERE state IN ('resolved',
//!   'dismissed')`), so a concurrent reopen (or a new report) either commits first (the purge
//!   then skips the case) or waits for the purge. The evidence update only touches rows with
//!   `purged_at IS NULL` and `purge_after <= now`, so running twice (or on two instances at once)
//!   purges each row once.
//! * Every run writes one `retention.run` audit entry with its counts; each purged case gets an
//!   `evidence.purge` entry (target `case:<id>`, so it appears in the case's audit log).
//!
//! Physical erasure: PostgreSQL keeps old row versions until VACUUM and SQLite keeps freed pages
//! unless `secure_delete` is on; the purged blobs are still ciphertext under the server key.

use std::time::Duration;

use serde_json::json;
use sqlx::AnyPool;

use crate::audit::AuditEntry;
use crate::change::Change;
use crate::error::ApiError;
use crate::state::AppState;
use crate::webhooks::EventType;
use crate::webhooks::outbox::Event;

/// Default interval of the periodic purge task.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(3600);
/// Audit actor of the periodic task.
pub const SYSTEM_ACTOR: &str = "system:retention";
/// Cases examined per batch.
const BATCH: i64 = 500;

/// Counts of one purge run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PurgeOutcome {
    /// The time the run used as "now" (ms since the epoch).
    pub now_ms: i64,
    /// Cases whose evidence was purged in this run.
    pub cases: u64,
    /// Evidence rows purged in this run.
    pub evidence_purged: u64,
}

/// Purge every evidence item of a closed case whose `purge_after` is at or before `now_ms`.
/// Idempotent; `actor` is recorded in the audit log.
pub async fn purge_expired(
    db: &AnyPool,
    now_ms: i64,
    actor: &str,
) -> Result<PurgeOutcome, ApiError> {
    let mut out = PurgeOutcome {
        now_ms,
        ..PurgeOutcome::default()
    };
    // Cases already looked at in this run (skipped ones must not be picked again forever).
    let mut seen = std::collections::HashSet::new();
    loop {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT c.id, c.network_id FROM cases c \
             WHERE c.state IN ('resolved', 'dismissed') \
               AND EXISTS (SELECT 1 FROM evidence e WHERE e.case_id = c.id \
                           AND e.purged_at IS NULL AND e.purge_after <= $1) \
             ORDER BY c.id LIMIT $2",
        )
        .bind(now_ms)
        .bind(BATCH)
        .fetch_all(db)
        .await?;
        let mut progressed = false;
        for (id, network) in &rows {
            if !seen.insert(id.clone()) {
                continue;
            }
            progressed = true;
            let n = purge_case(db, id, network, now_ms, actor).await?;
            if n > 0 {
                out.cases += 1;
                out.evidence_purged += n;
            }
        }
        if !progressed || (rows.len() as i64) < BATCH {
            break;
        }
    }
    let entry = AuditEntry::new("retention.run", "retention").details(
        json!({ "now_ms": now_ms, "cases": out.cases, "evidence_purged": out.evidence_purged }),
    );
    Change::begin(db, actor).await?.commit(entry).await?;
    if out.evidence_purged > 0 {
        tracing::info!(
            cases = out.cases,
            evidence = out.evidence_purged,
            "retention purged evidence"
        );
    }
    Ok(out)
}

/// Purge one case's expired evidence if (re-checked under the case's row lock) the case is still
/// closed. Returns the number of evidence rows purged.
async fn purge_case(
    db: &AnyPool,
    case_id: &str,
    network: &str,
    now_ms: i64,
    actor: &str,
) -> Result<u64, ApiError> {
    let mut change = Change::begin(db, actor).await?;
    // A no-op write: locks the case row (PostgreSQL) / takes the write lock (SQLite) and re-checks
    // the state against the committed state.
    let still = sqlx::query(
        "UPDATE cases SET updated_at = updated_at \
         WHERE id = $1 AND state IN ('resolved', 'dismissed')",
    )
    .bind(case_id)
    .execute(change.conn())
    .await?
    .rows_affected();
    if still == 0 {
        change.rollback().await?;
        return Ok(0);
    }
    let purged = sqlx::query(
        "UPDATE evidence SET sealed = '', purged_at = $2 \
         WHERE case_id = $1 AND purged_at IS NULL AND purge_after <= $2",
    )
    .bind(case_id)
    .bind(now_ms)
    .execute(change.conn())
    .await?
    .rows_affected();
    if purged == 0 {
        change.rollback().await?;
        return Ok(0);
    }
    let attachments = crate::attachments::purge_case(change.conn(), case_id, now_ms).await?;
    let entry = AuditEntry::new("evidence.purge", format!("case:{case_id}"))
        .network(Some(network))
        .details(json!({
            "evidence_purged": purged,
            "attachments_purged": attachments,
            "now_ms": now_ms,
        }));
    change.emit(Event::case(EventType::EvidencePurged, network, case_id));
    change.commit(entry).await?;
    Ok(purged)
}

/// Start the periodic purge task (first run one interval after start). Errors are logged and the
/// task carries on; several instances may run it at once (see the module docs).
pub fn spawn(state: AppState, every: Duration) -> tokio::task::JoinHandle<()> {
    let every = every.max(Duration::from_millis(10));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let now = crate::util::now_ms();
            if let Err(e) = purge_expired(&state.db, now, SYSTEM_ACTOR).await {
                tracing::warn!(error = %e, "retention run failed");
            }
        }
    })
}

/// [`spawn`] with the configured interval (`FRANKING_RETENTION_INTERVAL_SECS`); `None` if
/// disabled.
pub fn spawn_configured(
    state: AppState,
    every: Option<Duration>,
) -> Option<tokio::task::JoinHandle<()>> {
    let every = every?;
    tracing::info!(
        interval_secs = every.as_secs(),
        "evidence retention task started"
    );
    Some(spawn(state, every))
}
