//! Prometheus metrics (per instance; scrape every instance). Exposed at `GET /metrics`, to anyone
//! on the API listener by default; [`MetricsAccess`] moves it to a listener of its own
//! (`--metrics-listen`) and/or requires a bearer token (`--metrics-token`): the metrics name
//! networks and their volumes.
//!
//! * `franking_http_requests_total{route,method,status}` — requests by matched route and status.
//! * `franking_http_request_duration_seconds{route,method}` — latency histogram.
//! * `franking_report_verdicts_total{verdict,reason}` — report intake outcomes
//!   (`accepted`/`duplicate`/`rejected` with the error code as reason).
//! * `franking_stamps_issued_total{network}` — stamps made.
//! * `franking_intake_batch_reports` — reports per intake transaction (group commit,
//!   [`crate::intake::queue`]): its `_count` is the number of intake transactions.
//! * `franking_webhook_attempt_duration_seconds{event}` — webhook POST latency (each attempt).
//! * `franking_webhook_delivery_lag_seconds{event}` — event commit to successful delivery.
//! * `franking_webhook_failures_total{event,kind}` — failed attempts (`http_status`, `transport`).
//! * `franking_webhook_dead_letters_total{event}` — deliveries that reached the retry limit.
//! * `franking_webhook_backlog{state}` — `pending` and `dead` deliveries in the database (set by
//!   this instance's delivery worker after each run).
//!
//! Webhook labels are bounded: `event` is one of the fixed event types, never a URL or an id.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

type Labels = Vec<(String, String)>;

/// Who may read `/metrics`.
#[derive(Default)]
pub struct MetricsAccess {
    /// Served only on the metrics listener (404 on the API listener).
    pub separate_listener: bool,
    /// Required as `Authorization: Bearer <token>` (compared in constant time).
    pub token: Option<zeroize::Zeroizing<String>>,
}

impl core::fmt::Debug for MetricsAccess {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MetricsAccess")
            .field("separate_listener", &self.separate_listener)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl MetricsAccess {
    /// 401 `unauthorized` unless the request carries the configured token (if one is set).
    pub fn check_token(&self, headers: &axum::http::HeaderMap) -> Result<(), crate::ApiError> {
        use subtle::ConstantTimeEq as _;
        let Some(want) = &self.token else {
            return Ok(());
        };
        let mut values = headers.get_all(axum::http::header::AUTHORIZATION).iter();
        let given = match (values.next(), values.next()) {
            (Some(v), None) => v.as_bytes().strip_prefix(b"Bearer ").unwrap_or(b""),
            _ => b"",
        };
        if bool::from(given.ct_eq(want.as_bytes())) && !given.is_empty() {
            Ok(())
        } else {
            Err(crate::ApiError::Unauthorized)
        }
    }
}

fn latency_histogram() -> Histogram {
    // 100 µs .. ~13 s
    Histogram::new(exponential_buckets(0.0001, 2.0, 18))
}

/// The server's metric families and their registry.
pub struct Metrics {
    registry: Registry,
    requests: Family<Labels, Counter>,
    latency: Family<Labels, Histogram, fn() -> Histogram>,
    verdicts: Family<Labels, Counter>,
    stamps: Family<Labels, Counter>,
    webhook_attempts: Family<Labels, Histogram, fn() -> Histogram>,
    webhook_lag: Family<Labels, Histogram, fn() -> Histogram>,
    webhook_failures: Family<Labels, Counter>,
    webhook_dead: Family<Labels, Counter>,
    webhook_backlog: Family<Labels, Gauge>,
    intake_batches: Histogram,
}

fn lag_histogram() -> Histogram {
    // 10 ms .. ~23 h
    Histogram::new(exponential_buckets(0.01, 2.0, 24))
}

fn label(name: &str, value: &str) -> Labels {
    vec![(name.to_owned(), value.to_owned())]
}

impl core::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every family registered.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("franking");
        let requests = Family::<Labels, Counter>::default();
        let latency = Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let verdicts = Family::<Labels, Counter>::default();
        let stamps = Family::<Labels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route, method and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route and method",
            latency.clone(),
        );
        registry.register(
            "report_verdicts",
            "Report intake verdicts by reason",
            verdicts.clone(),
        );
        registry.register("stamps_issued", "Stamps issued by network", stamps.clone());
        let intake_batches = Histogram::new(exponential_buckets(1.0, 2.0, 7));
        registry.register(
            "intake_batch_reports",
            "Reports stored per intake transaction (group commit)",
            intake_batches.clone(),
        );
        let webhook_attempts = Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let webhook_lag = Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(
            lag_histogram as fn() -> Histogram,
        );
        let webhook_failures = Family::<Labels, Counter>::default();
        let webhook_dead = Family::<Labels, Counter>::default();
        let webhook_backlog = Family::<Labels, Gauge>::default();
        registry.register(
            "webhook_attempt_duration_seconds",
            "Webhook delivery attempt latency by event type",
            webhook_attempts.clone(),
        );
        registry.register(
            "webhook_delivery_lag_seconds",
            "Time from event commit to successful webhook delivery by event type",
            webhook_lag.clone(),
        );
        registry.register(
            "webhook_failures",
            "Failed webhook delivery attempts by event type and kind",
            webhook_failures.clone(),
        );
        registry.register(
            "webhook_dead_letters",
            "Webhook deliveries dead-lettered by event type",
            webhook_dead.clone(),
        );
        registry.register(
            "webhook_backlog",
            "Webhook deliveries pending or dead in the database",
            webhook_backlog.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            verdicts,
            stamps,
            webhook_attempts,
            webhook_lag,
            webhook_failures,
            webhook_dead,
            webhook_backlog,
            intake_batches,
        }
    }

    /// Count a report verdict (`accepted`, `duplicate` or `rejected` with the error code).
    pub fn verdict(&self, verdict: &str, reason: &str) {
        self.verdicts
            .get_or_create(&vec![
                ("verdict".to_owned(), verdict.to_owned()),
                ("reason".to_owned(), reason.to_owned()),
            ])
            .inc();
    }

    /// Record an intake transaction (group commit) of `reports` reports.
    pub fn intake_batch(&self, reports: usize) {
        self.intake_batches.observe(reports as f64);
    }

    /// Count `n` stamps issued for `network`.
    pub fn stamps_issued(&self, network: &str, n: u64) {
        self.stamps
            .get_or_create(&vec![("network".to_owned(), network.to_owned())])
            .inc_by(n);
    }

    /// Record a webhook attempt's latency (`event`: an event type name).
    pub fn webhook_attempt(&self, event: &'static str, seconds: f64) {
        self.webhook_attempts
            .get_or_create(&label("event", event))
            .observe(seconds);
    }

    /// Record a successful delivery `lag_seconds` after its event was committed.
    pub fn webhook_delivered(&self, event: &'static str, lag_seconds: f64) {
        self.webhook_lag
            .get_or_create(&label("event", event))
            .observe(lag_seconds);
    }

    /// Count a failed attempt (`kind`: `http_status` or `transport`).
    pub fn webhook_failure(&self, event: &'static str, kind: &'static str) {
        self.webhook_failures
            .get_or_create(&vec![
                ("event".to_owned(), event.to_owned()),
                ("kind".to_owned(), kind.to_owned()),
            ])
            .inc();
    }

    /// Count a dead-lettered delivery.
    pub fn webhook_dead_letter(&self, event: &'static str) {
        self.webhook_dead
            .get_or_create(&label("event", event))
            .inc();
    }

    /// Set the backlog gauge of `state` (`pending` or `dead`).
    pub fn webhook_backlog(&self, state: &'static str, n: i64) {
        self.webhook_backlog
            .get_or_create(&label("state", state))
            .set(n);
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// The `method` label: one of the methods the API serves, or `other`. Never the raw method, which
/// is client input (an unbounded label set would let anyone grow `/metrics` without limit).
pub fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Middleware recording request counts and latency. Every label comes from a fixed set: `route`
/// is the matched route template (never the raw path, so ids in URLs and made-up paths do not
/// grow the label set; `unmatched` otherwise), `method` is [`method_label`], `status` a status
/// code.
pub async fn track(State(m): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = method_label(req.method()).to_owned();
    let start = Instant::now();
    let resp = next.run(req).await;
    let elapsed = start.elapsed().as_secs_f64();
    m.requests
        .get_or_create(&vec![
            ("route".to_owned(), route.clone()),
            ("method".to_owned(), method.clone()),
            ("status".to_owned(), resp.status().as_u16().to_string()),
        ])
        .inc();
    m.latency
        .get_or_create(&vec![
            ("route".to_owned(), route),
            ("method".to_owned(), method),
        ])
        .observe(elapsed);
    resp
}
