//! Shared application state (cheap to clone; everything that matters lives in the database).
//!
//! Handlers take `State<AppState>`. Modules that need only a part take a substate through axum's
//! [`FromRef`] instead (the auth extractors take [`AuthState`], the metrics middleware
//! `Arc<Metrics>`), so `auth`, `cache` and `metrics` do not depend on this module.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;
use franking_core::frank::StampKey;
use sqlx::AnyPool;

use crate::auth::{AuthState, Caller, FailureLimiter};
use crate::cache::TtlMap;
use crate::console::ConsoleSettings;
use crate::db::{Backend, PoolSettings};
use crate::intake::queue::IntakeQueue;
use crate::keys::IntakeKeys;
use crate::metrics::{Metrics, MetricsAccess};
use crate::seal::ServerKey;

/// Intake batches written at a time on PostgreSQL ([`crate::intake::queue`]): a second one runs
/// while the first waits for its commit to reach the disk (SQLite takes one writer at a time).
pub const INTAKE_WRITERS_POSTGRES: usize = 2;
/// Most reports one intake transaction stores.
pub const INTAKE_MAX_BATCH: usize = 64;

/// Request and connection limits applied by the router and by [`crate::serve`].
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body in bytes (413 `payload_too_large` beyond it); for a multipart report,
    /// the largest `report` part.
    pub max_body_bytes: usize,
    /// Per-request timeout (408 `timeout` beyond it).
    pub request_timeout: Duration,
    /// Largest multipart report (report and attachment blobs) in bytes, whatever the network
    /// policies allow (413 `payload_too_large` beyond it).
    pub max_upload_bytes: u64,
    /// Timeout of a multipart report upload (408 `timeout` beyond it).
    pub upload_timeout: Duration,
    /// Most items in one batch stamp request.
    pub max_batch: usize,
    /// TTL of the stamping-path cache (relay authentications, current keys); zero = off.
    pub stamp_cache_ttl: Duration,
    /// A connection must deliver a complete request head within this time of its first byte (and
    /// a new connection its first request head within this time of being accepted).
    pub header_read_timeout: Duration,
    /// A keep-alive connection with no request in progress is closed after this long without a
    /// new request.
    pub idle_timeout: Duration,
    /// Most connections served at once; connections beyond it are closed as soon as they are
    /// accepted.
    pub max_connections: usize,
    /// Graceful shutdown waits this long for in-flight requests, then closes what is left.
    pub shutdown_timeout: Duration,
    /// Failed token authentications (401) one peer address may cause per minute before its
    /// requests are refused with 429 without a database lookup; 0 = no limit.
    pub auth_failures_per_minute: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 2 * 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            max_upload_bytes: 1024 * 1024 * 1024,
            upload_timeout: Duration::from_secs(600),
            max_batch: 1000,
            stamp_cache_ttl: Duration::ZERO,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 1024,
            shutdown_timeout: Duration::from_secs(10),
            auth_failures_per_minute: 120,
        }
    }
}

/// State handed to every handler.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The connection pool (PostgreSQL or SQLite through sqlx `Any`).
    pub db: AnyPool,
    /// Which database the pool talks to.
    pub backend: Backend,
    /// The key that encrypts secrets (stamping keys, evidence) at rest.
    pub server_key: Arc<ServerKey>,
    /// Prometheus metrics of this instance.
    pub metrics: Arc<Metrics>,
    /// Request limits.
    pub limits: Arc<Limits>,
    /// Hot-path cache of relay and service authentications by token hash (see [`crate::cache`]).
    pub token_callers: Arc<TtlMap<Caller>>,
    /// Stamping-path cache of networks' current stamping keys (see [`crate::cache`]).
    pub current_keys: Arc<TtlMap<StampKey>>,
    /// Intake-path cache of networks' policies and stored keys (see [`crate::cache`]).
    pub policies: Arc<TtlMap<IntakeKeys>>,
    /// Console session settings (see [`crate::console`]).
    pub console: Arc<ConsoleSettings>,
    /// Failed authentications per peer address ([`Limits::auth_failures_per_minute`]).
    pub auth_failures: Arc<FailureLimiter>,
    /// Who may read `/metrics` (default: anyone, on the API listener).
    pub metrics_access: Arc<MetricsAccess>,
    /// Group commit of report intake ([`crate::intake::queue`]).
    pub intake: Arc<IntakeQueue>,
}

impl AppState {
    /// Assemble the state.
    pub fn new(db: AnyPool, backend: Backend, server_key: ServerKey, limits: Limits) -> Self {
        let metrics = Arc::new(Metrics::new());
        let writers = match backend {
            Backend::Postgres => INTAKE_WRITERS_POSTGRES,
            Backend::Sqlite => 1,
        };
        // On PostgreSQL the intake writer has its own thread and pool (`intake::queue`), with
        // this server's timeouts.
        let own = (backend == Backend::Postgres).then(|| {
            let settings = PoolSettings::for_request_timeout(
                u32::try_from(writers).unwrap_or(u32::MAX),
                limits.request_timeout,
            );
            (&db, backend, settings)
        });
        let intake = Arc::new(IntakeQueue::new(
            writers,
            INTAKE_MAX_BATCH,
            Arc::clone(&metrics),
            own,
        ));
        Self {
            db,
            backend,
            server_key: Arc::new(server_key),
            intake,
            metrics,
            token_callers: Arc::new(TtlMap::new(limits.stamp_cache_ttl)),
            current_keys: Arc::new(TtlMap::new(limits.stamp_cache_ttl)),
            policies: Arc::new(TtlMap::new(limits.stamp_cache_ttl)),
            auth_failures: Arc::new(FailureLimiter::new(limits.auth_failures_per_minute)),
            metrics_access: Arc::new(MetricsAccess::default()),
            limits: Arc::new(limits),
            console: Arc::new(ConsoleSettings::default()),
        }
    }

    /// Empty the hot-path caches ([`crate::cache`]): after every admin change on this instance.
    pub fn forget_cached(&self) {
        self.token_callers.clear();
        self.current_keys.clear();
        self.policies.clear();
    }

    /// The same state with these console settings.
    pub fn with_console(mut self, console: ConsoleSettings) -> Self {
        self.console = Arc::new(console);
        self
    }

    /// The same state with `access` governing `/metrics`.
    pub fn with_metrics_access(mut self, access: MetricsAccess) -> Self {
        self.metrics_access = Arc::new(access);
        self
    }
}

impl FromRef<AppState> for AuthState {
    fn from_ref(state: &AppState) -> Self {
        AuthState {
            db: state.db.clone(),
            token_callers: state.token_callers.clone(),
            failures: state.auth_failures.clone(),
        }
    }
}

impl FromRef<AppState> for Arc<Metrics> {
    fn from_ref(state: &AppState) -> Self {
        state.metrics.clone()
    }
}
