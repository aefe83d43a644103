//! The webhook delivery worker: every instance runs one ([`spawn_configured`], started by the
//! binary next to the retention task). Each run claims due deliveries, POSTs them and records the
//! outcome.
//!
//! * **Claiming** (safe with several instances): one statement sets a lease
//!   (`lease_owner` = a fresh random claim id, `lease_until` = now + lease) on up to `batch`
//!   pending, due, unleased (or lease-expired) deliveries of enabled endpoints. PostgreSQL picks the
//!   rows with `FOR UPDATE SKIP LOCKED`, so concurrent claimers skip each other's rows; SQLite runs
//!   the conditional `UPDATE` under its single-writer lock, and the re-checked `WHERE` makes a row
//!   claimable by one claimer only. A worker that dies holding a lease (kill -9) leaves the rows to
//!   be claimed again when the lease expires; outcomes are recorded only by the lease holder.
//! * **Sending**: `POST url` with the JSON payload, `Franking-Signature`
//!   ([`super::signature`]), `Franking-Event-Id` / `Idempotency-Key` (the event id),
//!   `Franking-Event-Type`; timeout `timeout`; redirects are not followed; http and https (rustls,
//!   webpki roots). Any 2xx is success.
//! * **Retries**: a failure schedules the next attempt after `base_backoff * 2^(attempts-1)`
//!   (capped at `max_backoff`) with equal jitter (half fixed, half random); after `max_attempts`
//!   attempts the delivery is dead-lettered (admin API: list, redeliver). At least once: a receiver
//!   de-duplicates by event id.
//! * **Peers** (federation): a delivery to a target of kind `peer` POSTs the event's body (a
//!   forward's is sealed at rest and opened here) to the peer's base URL + the event type's path ([`EventType::peer_path`]) with
//!   `Franking-Peer: <sending network>`; a peer's 409 `forward_replayed` means an earlier attempt
//!   already arrived, and counts as delivered.
//! * **Metrics**: attempt latency, event-to-delivery lag, failures, dead letters, backlog
//!   ([`crate::metrics`]).

use std::time::{Duration, Instant};

use sqlx::AnyPool;

use super::EventType;
use super::endpoints::signing_secrets;
use super::signature::{self, EVENT_ID_HEADER, EVENT_TYPE_HEADER};
use crate::db::Backend;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::seal::ServerKey;
use crate::state::AppState;
use crate::util::{new_id, now_ms, random_bytes, to_i64};

/// Longest `last_error` stored.
const MAX_ERROR_LEN: usize = 300;

/// Delivery settings.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// Pause between runs (a run that claimed a full batch is followed at once by another).
    pub interval: Duration,
    /// Deliveries claimed (and sent concurrently) per run.
    pub batch: i64,
    /// Per-attempt timeout (connect, send, response head).
    pub timeout: Duration,
    /// Attempts before a delivery is dead-lettered.
    pub max_attempts: i64,
    /// Backoff after the first failed attempt.
    pub base_backoff: Duration,
    /// Longest backoff.
    pub max_backoff: Duration,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(1),
            batch: 32,
            timeout: Duration::from_secs(10),
            max_attempts: 12,
            base_backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(3600),
        }
    }
}

impl DeliveryConfig {
    /// The lease a claim takes: long enough for one attempt to finish.
    fn lease(&self) -> Duration {
        self.timeout * 2 + Duration::from_secs(5)
    }

    /// The settings from `report-server`'s configuration (flags, environment or config file:
    /// `FRANKING_WEBHOOK_*`), each `None` taking the default; `None` if the worker is disabled
    /// (an interval of 0).
    pub fn from_settings(
        interval_ms: Option<u64>,
        timeout_ms: Option<u64>,
        max_attempts: Option<u32>,
        backoff_ms: Option<u64>,
        max_backoff_ms: Option<u64>,
    ) -> Option<Self> {
        let d = Self::default();
        let ms = |v: Option<u64>, default: Duration| v.map_or(default, Duration::from_millis);
        let interval = ms(interval_ms, d.interval);
        if interval.is_zero() {
            return None;
        }
        Some(Self {
            interval,
            timeout: ms(timeout_ms, d.timeout),
            max_attempts: max_attempts.map_or(d.max_attempts, |n| i64::from(n.max(1))),
            base_backoff: ms(backoff_ms, d.base_backoff),
            max_backoff: ms(max_backoff_ms, d.max_backoff),
            ..d
        })
    }

    /// The pause before attempt `attempts + 1` after `attempts` failed ones (>= 1): exponential
    /// with equal jitter; `random` is a uniform random number.
    pub fn backoff(&self, attempts: i64, random: u64) -> Duration {
        let exp = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
        let full = self
            .base_backoff
            .saturating_mul(1u32 << exp)
            .min(self.max_backoff);
        let half = full / 2;
        let span = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
        half + Duration::from_millis(random % span.saturating_add(1))
    }
}

/// What one run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunOutcome {
    /// Deliveries claimed.
    pub claimed: usize,
    /// Delivered (2xx).
    pub delivered: usize,
    /// Failed and rescheduled.
    pub retried: usize,
    /// Failed for the last time (dead-lettered).
    pub dead: usize,
}

#[derive(sqlx::FromRow)]
struct Claimed {
    id: String,
    lease_owner: String,
    attempts: i64,
    event_id: String,
    event_type: EventType,
    payload: String,
    event_created_at: i64,
    network_id: String,
    endpoint_id: String,
    kind: String,
    url: String,
    secret_sealed: String,
    old_secret_sealed: Option<String>,
    old_secret_expires_at: Option<i64>,
}

/// One instance's delivery worker.
#[derive(Debug, Clone)]
pub struct Worker {
    db: AnyPool,
    backend: Backend,
    key: std::sync::Arc<ServerKey>,
    metrics: std::sync::Arc<Metrics>,
    cfg: DeliveryConfig,
    agent: ureq::Agent,
}

/// The outcome of one HTTP attempt.
enum Sent {
    Status(u16),
    /// A peer already holds this forward (409 `forward_replayed`): delivered.
    AlreadyDelivered(u16),
    Transport(String),
}

/// The peer-side code meaning "this forward arrived before".
const FORWARD_REPLAYED: &str = "forward_replayed";

/// Whether a peer's answer says an earlier attempt already delivered the forward.
fn already_delivered(status: u16, body: &str) -> bool {
    status == 409
        && serde_json::from_str::<serde_json::Value>(body)
            .is_ok_and(|v| v["error"]["code"] == FORWARD_REPLAYED)
}

/// What one attempt POSTs where.
struct Request {
    url: String,
    body: String,
    peer_from: Option<String>,
}

impl Worker {
    /// A worker for `state` with `cfg`.
    pub fn new(state: &AppState, cfg: DeliveryConfig) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(cfg.timeout))
            .max_redirects(0)
            .http_status_as_error(false)
            .user_agent("franking-report-server")
            .build()
            .into();
        Self {
            db: state.db.clone(),
            backend: state.backend,
            key: state.server_key.clone(),
            metrics: state.metrics.clone(),
            cfg,
            agent,
        }
    }

    /// Claim due deliveries (see the module docs) under a fresh claim id.
    async fn claim(&self, now: i64) -> Result<Vec<Claimed>, ApiError> {
        let owner = new_id("lease")?;
        let lock = match self.backend {
            Backend::Postgres => " FOR UPDATE OF d SKIP LOCKED",
            Backend::Sqlite => "",
        };
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE webhook_deliveries SET lease_owner = $1, lease_until = $2 \
             WHERE id IN (SELECT d.id FROM webhook_deliveries d \
                 JOIN webhook_endpoints e ON e.id = d.endpoint_id \
                 WHERE d.state = 'pending' AND d.next_attempt_at <= $3 AND e.enabled = 1 \
                   AND (d.lease_until IS NULL OR d.lease_until <= $3) \
                 ORDER BY d.next_attempt_at, d.id LIMIT $4{lock}) \
               AND state = 'pending' AND (lease_until IS NULL OR lease_until <= $3)"
        )))
        .bind(&owner)
        .bind(now.saturating_add(to_i64(
            u64::try_from(self.cfg.lease().as_millis()).unwrap_or(u64::MAX),
        )))
        .bind(now)
        .bind(self.cfg.batch.max(1))
        .execute(&self.db)
        .await?;
        Ok(sqlx::query_as(
            "SELECT d.id, d.lease_owner, d.attempts, ev.id AS event_id, ev.event_type, ev.payload, \
             ev.created_at AS event_created_at, ev.network_id, e.id AS endpoint_id, e.kind, e.url, \
             e.secret_sealed, e.old_secret_sealed, e.old_secret_expires_at \
             FROM webhook_deliveries d JOIN webhook_events ev ON ev.id = d.event_id \
             JOIN webhook_endpoints e ON e.id = d.endpoint_id \
             WHERE d.lease_owner = $1 AND d.state = 'pending' ORDER BY d.next_attempt_at, d.id",
        )
        .bind(&owner)
        .fetch_all(&self.db)
        .await?)
    }

    /// POST one claimed delivery (on the blocking pool: the HTTP client is synchronous).
    async fn send(&self, c: &Claimed) -> Result<Sent, ApiError> {
        let now = now_ms();
        let secrets = signing_secrets(
            &self.key,
            &c.endpoint_id,
            &c.secret_sealed,
            c.old_secret_sealed.as_deref(),
            c.old_secret_expires_at,
            now,
        )?;
        let Request {
            url,
            body,
            peer_from,
        } = self.request(c)?;
        let refs: Vec<&[u8]> = secrets.iter().map(|s| s.as_slice()).collect();
        let sig = signature::sign(&refs, now / 1000, body.as_bytes());
        let agent = self.agent.clone();
        let (event_id, event_type) = (c.event_id.clone(), c.event_type.as_str());
        tokio::task::spawn_blocking(move || {
            let mut req = agent
                .post(&url)
                .header("content-type", "application/json")
                .header(signature::HEADER, &sig)
                .header(EVENT_ID_HEADER, &event_id)
                .header("idempotency-key", &event_id)
                .header(EVENT_TYPE_HEADER, event_type);
            if let Some(from) = &peer_from {
                req = req.header(crate::federation::PEER_HEADER, from);
            }
            match req.send(body.as_bytes()) {
                Ok(mut resp) => {
                    let status = resp.status().as_u16();
                    let text = if peer_from.is_some() && status == 409 {
                        resp.body_mut()
                            .with_config()
                            .limit(64 * 1024)
                            .read_to_string()
                            .unwrap_or_default()
                    } else {
                        String::new()
                    };
                    if already_delivered(status, &text) {
                        Sent::AlreadyDelivered(status)
                    } else {
                        Sent::Status(status)
                    }
                }
                Err(e) => Sent::Transport(e.to_string()),
            }
        })
        .await
        .map_err(|e| ApiError::Internal(format!("delivery task: {e}")))
    }

    /// Where and what to POST: a webhook gets the stored payload at its URL; a peer gets the
    /// event's sealed body, opened, at its base URL + the event type's path.
    fn request(&self, c: &Claimed) -> Result<Request, ApiError> {
        if c.kind != "peer" {
            return Ok(Request {
                url: c.url.clone(),
                body: c.payload.clone(),
                peer_from: None,
            });
        }
        let path = c.event_type.peer_path().ok_or_else(|| {
            ApiError::Internal(format!(
                "event type {} sent to a peer",
                c.event_type.as_str()
            ))
        })?;
        Ok(Request {
            url: format!("{}{path}", c.url.trim_end_matches('/')),
            body: if c.event_type == EventType::FederationForward {
                crate::federation::open_body(&self.key, &c.event_id, &c.payload)?
            } else {
                c.payload.clone()
            },
            peer_from: Some(c.network_id.clone()),
        })
    }

    /// Record the outcome of an attempt (only if this claim still holds the lease: a redeliver or a
    /// re-claim after the lease expired took it over otherwise).
    async fn record(
        &self,
        c: &Claimed,
        sent: &Sent,
        elapsed: Duration,
    ) -> Result<Outcome, ApiError> {
        let now = now_ms();
        let event = c.event_type.as_str();
        self.metrics.webhook_attempt(event, elapsed.as_secs_f64());
        let attempts = c.attempts.saturating_add(1);
        let failure = match sent {
            Sent::Status(s) if (200..300).contains(s) => None,
            Sent::AlreadyDelivered(_) => None,
            Sent::Status(s) => Some((
                Some(i64::from(*s)),
                format!("HTTP status {s}"),
                "http_status",
            )),
            Sent::Transport(e) => Some((None, e.clone(), "transport")),
        };
        let Some((status, error, kind)) = failure else {
            let lag = (now - c.event_created_at).max(0) as f64 / 1000.0;
            self.metrics.webhook_delivered(event, lag);
            sqlx::query(
                "UPDATE webhook_deliveries SET state = 'delivered', attempts = $2, \
                 delivered_at = $3, last_status = $4, last_error = NULL, lease_owner = NULL, \
                 lease_until = NULL, updated_at = $3 WHERE id = $1 AND lease_owner = $5",
            )
            .bind(&c.id)
            .bind(attempts)
            .bind(now)
            .bind(match sent {
                Sent::Status(s) | Sent::AlreadyDelivered(s) => Some(i64::from(*s)),
                Sent::Transport(_) => None,
            })
            .bind(&c.lease_owner)
            .execute(&self.db)
            .await?;
            return Ok(Outcome::Delivered);
        };
        self.metrics.webhook_failure(event, kind);
        let dead = attempts >= self.cfg.max_attempts;
        let random = u64::from_le_bytes(random_bytes::<8>()?);
        let wait = self.cfg.backoff(attempts, random);
        let next = now.saturating_add(to_i64(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX)));
        let mut error = error;
        if error.len() > MAX_ERROR_LEN {
            let mut cut = MAX_ERROR_LEN;
            while !error.is_char_boundary(cut) {
                cut -= 1;
            }
            error.truncate(cut);
        }
        sqlx::query(
            "UPDATE webhook_deliveries SET state = $2, attempts = $3, next_attempt_at = $4, \
             last_status = $5, last_error = $6, lease_owner = NULL, lease_until = NULL, \
             updated_at = $7 WHERE id = $1 AND lease_owner = $8",
        )
        .bind(&c.id)
        .bind(if dead { "dead" } else { "pending" })
        .bind(attempts)
        .bind(next)
        .bind(status)
        .bind(error)
        .bind(now)
        .bind(&c.lease_owner)
        .execute(&self.db)
        .await?;
        if dead {
            self.metrics.webhook_dead_letter(event);
            tracing::warn!(delivery = %c.id, event = %c.event_id, attempts, "webhook delivery dead-lettered");
            Ok(Outcome::Dead)
        } else {
            Ok(Outcome::Retry)
        }
    }

    /// Refresh the backlog gauge (pending and dead deliveries in the database).
    async fn update_backlog(&self) -> Result<(), ApiError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT state, COUNT(*) FROM webhook_deliveries WHERE state IN ('pending', 'dead') \
             GROUP BY state",
        )
        .fetch_all(&self.db)
        .await?;
        for state in ["pending", "dead"] {
            let n = rows.iter().find(|(s, _)| s == state).map_or(0, |(_, n)| *n);
            self.metrics.webhook_backlog(state, n);
        }
        Ok(())
    }

    /// One run: claim, send concurrently, record; then refresh the backlog gauge.
    pub async fn run_once(&self) -> Result<RunOutcome, ApiError> {
        let claimed = self.claim(now_ms()).await?;
        let mut out = RunOutcome {
            claimed: claimed.len(),
            ..RunOutcome::default()
        };
        let mut set = tokio::task::JoinSet::new();
        for c in claimed {
            let w = self.clone();
            set.spawn(async move {
                let start = Instant::now();
                let sent = w.send(&c).await?;
                w.record(&c, &sent, start.elapsed()).await
            });
        }
        while let Some(r) = set.join_next().await {
            match r {
                Ok(Ok(Outcome::Delivered)) => out.delivered += 1,
                Ok(Ok(Outcome::Retry)) => out.retried += 1,
                Ok(Ok(Outcome::Dead)) => out.dead += 1,
                Ok(Err(e)) => tracing::warn!(error = %e, "webhook delivery failed"),
                Err(e) => tracing::warn!(error = %e, "webhook delivery task failed"),
            }
        }
        self.update_backlog().await?;
        Ok(out)
    }
}

enum Outcome {
    Delivered,
    Retry,
    Dead,
}

/// Start the worker task: a run every `cfg.interval` (at once again after a full batch). Errors
/// are logged and the task carries on.
pub fn spawn(state: &AppState, cfg: DeliveryConfig) -> tokio::task::JoinHandle<()> {
    let worker = Worker::new(state, cfg);
    tokio::spawn(async move {
        loop {
            let full = match worker.run_once().await {
                Ok(o) => o.claimed >= usize::try_from(worker.cfg.batch).unwrap_or(usize::MAX),
                Err(e) => {
                    tracing::warn!(error = %e, "webhook delivery run failed");
                    false
                }
            };
            if !full {
                tokio::time::sleep(worker.cfg.interval).await;
            }
        }
    })
}

/// [`spawn`] with the configured settings; `None` if disabled.
pub fn spawn_configured(
    state: &AppState,
    cfg: Option<DeliveryConfig>,
) -> Option<tokio::task::JoinHandle<()>> {
    let cfg = cfg?;
    tracing::info!(
        interval_ms = cfg.interval.as_millis(),
        "webhook delivery worker started"
    );
    Some(spawn(state, cfg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        let cfg = DeliveryConfig {
            base_backoff: Duration::from_millis(1000),
            max_backoff: Duration::from_millis(10_000),
            ..DeliveryConfig::default()
        };
        assert_eq!(cfg.backoff(1, 0), Duration::from_millis(500));
        assert_eq!(cfg.backoff(1, 500), Duration::from_millis(1000));
        assert_eq!(cfg.backoff(1, 501), Duration::from_millis(500));
        assert_eq!(cfg.backoff(3, 0), Duration::from_millis(2000));
        assert_eq!(cfg.backoff(3, 2000), Duration::from_millis(4000));
        // Capped, and no overflow for huge attempt counts.
        assert_eq!(cfg.backoff(40, 0), Duration::from_millis(5000));
        assert!(cfg.backoff(i64::MAX, u64::MAX) <= Duration::from_millis(10_000));
    }
}
