//! Group commit for report intake: concurrent `POST /v1/reports` requests (JSON, a network's own
//! messages) store their verified reports together, in one transaction per batch
//! ([`super::store_all`]), instead of one transaction and a dozen statements each.
//!
//! A request puts its report in the queue and waits for its answer. At most `writers` batches are
//! written at a time, each on a task of its own (so it completes even if the request that started
//! it is abandoned), of everything queued (up to `max_batch` reports, oldest first). A report
//! queued while no batch is being written starts one at once; while one is, the next starts when
//! it ends, or earlier once as many reports wait as it holds, so batches stay large. Nothing waits
//! on a timer: a lone report is written at once as a batch of one, and batches grow only when
//! reports arrive while others are being written. Each request is answered only after its batch
//! committed (`synchronous_commit` stays whatever the database says: an acknowledged report is
//! committed).
//!
//! A request that gave up (its timeout, or its client went away) before its batch was taken is
//! left out of it: nothing of it is stored. A batch ends before the earliest deadline of its
//! requests (less [`DEADLINE_MARGIN`]): past it, it is rolled back and its requests are answered
//! 408 `timeout`, so a request answered with an error never has its report stored later. If the
//! database is unavailable (503), the batch's requests and every request still queued are
//! answered 503 at once, as each would have been on its own. If a batch of several reports fails
//! otherwise (a conflict with a concurrent transaction, or a server fault), each of its reports is
//! retried alone, so one report's trouble is never another's.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::http::StatusCode;
use franking_core::frank::VerifiedReport;
use sqlx::AnyPool;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::{Federation, Intake, Stored, store_all};
use crate::db::{Backend, PoolSettings};
use crate::error::ApiError;
use crate::keys::Policy;
use crate::metrics::Metrics;
use crate::seal::ServerKey;

/// A verified report of a network's own message, waiting to be stored.
#[derive(Debug)]
pub struct QueuedReport {
    /// The service token's network.
    pub network: String,
    /// The category the service gave.
    pub category: Option<String>,
    /// The network's policy.
    pub policy: Policy,
    /// Receipt time (ms).
    pub now: i64,
    /// The audit actor.
    pub actor: String,
    /// The verified report.
    pub verified: VerifiedReport,
    /// When the request times out: its report is stored before then or not at all.
    pub deadline: Instant,
}

/// How long before the earliest deadline of its requests a batch is abandoned (so it is rolled
/// back before any of them answers 408 on its own).
pub const DEADLINE_MARGIN: Duration = Duration::from_millis(100);

impl QueuedReport {
    fn intake(&self) -> Intake<'_> {
        Intake {
            network: &self.network,
            category: self.category.as_deref(),
            policy: &self.policy,
            now: self.now,
            actor: &self.actor,
            federation: Federation::Local,
        }
    }
}

#[derive(Debug)]
struct Job {
    report: QueuedReport,
    answer: oneshot::Sender<Result<Stored, ApiError>>,
}

/// The intake queue of one server instance (in [`crate::state::AppState`]).
#[derive(Debug)]
pub struct IntakeQueue {
    state: Mutex<Queued>,
    writers: usize,
    max_batch: usize,
    metrics: Arc<Metrics>,
    /// The writer's own pool (PostgreSQL): batches run on [`writer_runtime`] with it.
    own: Option<AnyPool>,
}

#[derive(Debug, Default)]
struct Queued {
    jobs: VecDeque<Job>,
    /// The sizes of the batches being written.
    in_flight: Vec<usize>,
}

impl IntakeQueue {
    /// A queue writing at most `writers` batches at a time, of at most `max_batch` reports each
    /// (both at least 1), recording batch sizes in `metrics`. With `own` settings (PostgreSQL)
    /// the batches are written on a thread of their own with a pool of their own (see
    /// [`writer_runtime`]), of `own.max_connections` connections made by that thread on demand;
    /// without, on the caller's runtime with the caller's pool (SQLite, which runs in process).
    pub fn new(
        writers: usize,
        max_batch: usize,
        metrics: Arc<Metrics>,
        own: Option<(&AnyPool, Backend, PoolSettings)>,
    ) -> Self {
        let own = own.map(|(db, backend, settings)| {
            let _runtime = writer_runtime().enter();
            crate::db::lazy_pool_like(db, backend, settings)
        });
        Self {
            state: Mutex::new(Queued::default()),
            writers: writers.max(1),
            max_batch: max_batch.max(1),
            metrics,
            own,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queued> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next batch to write, if one should start now (module docs): up to `max_batch` queued
    /// jobs, oldest first, leaving out those whose request gave up.
    fn next_batch(&self, q: &mut Queued) -> Option<Vec<Job>> {
        // Another batch starts beside those in flight only once it would be as large as the
        // smallest of them: a second transaction keeps the database busy while the first waits
        // for its commit, but smaller batches would cost more per report.
        let ready = q.in_flight.len() < self.writers
            && !q.jobs.is_empty()
            && q.in_flight.iter().all(|&n| q.jobs.len() >= n);
        if !ready {
            return None;
        }
        let mut batch = Vec::new();
        while batch.len() < self.max_batch {
            let Some(job) = q.jobs.pop_front() else { break };
            if !job.answer.is_closed() {
                batch.push(job);
            }
        }
        if batch.is_empty() {
            return None;
        }
        q.in_flight.push(batch.len());
        Some(batch)
    }

    /// Answer every queued job 503 (the database is unavailable).
    fn fail_queued(&self, why: &str) {
        let jobs: Vec<Job> = self.lock().jobs.drain(..).collect();
        for job in jobs {
            let _ = job.answer.send(Err(ApiError::Unavailable(why.to_owned())));
        }
    }

    /// Store `report` (in a batch with whatever else is queued) and return its outcome.
    pub async fn store(
        self: &Arc<Self>,
        db: &AnyPool,
        key: &Arc<ServerKey>,
        report: QueuedReport,
    ) -> Result<Stored, ApiError> {
        let (answer, outcome) = oneshot::channel();
        let batch = {
            let mut q = self.lock();
            q.jobs.push_back(Job { report, answer });
            self.next_batch(&mut q)
        };
        if let Some(batch) = batch {
            self.spawn_writer(db.clone(), Arc::clone(key), batch);
        }
        outcome
            .await
            .unwrap_or_else(|_| Err(ApiError::Internal("the intake batch writer stopped".into())))
    }

    /// Write `batch` on a task of its own, then every batch that is due when it ends.
    fn spawn_writer(self: &Arc<Self>, db: AnyPool, key: Arc<ServerKey>, batch: Vec<Job>) {
        let queue = Arc::clone(self);
        let (db, runtime) = match &self.own {
            Some(own) => (own.clone(), writer_runtime().clone()),
            None => (db, tokio::runtime::Handle::current()),
        };
        runtime.spawn(async move {
            let mut batch = batch;
            loop {
                let in_flight = InFlight {
                    queue: &queue,
                    size: batch.len(),
                };
                queue.write(&db, &key, batch).await;
                drop(in_flight);
                match queue.next_batch(&mut queue.lock()) {
                    Some(b) => batch = b,
                    None => break,
                }
            }
        });
    }
}

/// The runtime PostgreSQL intake batches are written on: one thread of its own for the process,
/// whose connections (the queue's own pool) it polls itself, so a batch's next statement goes out
/// as soon as the database answers the last one — not once the server's worker threads, busy
/// parsing and verifying requests, get to the connection's wake-up (measured: ≈ 10 % more reports
/// per second at 32 connections, `docs/performance.md`).
fn writer_runtime() -> &'static tokio::runtime::Handle {
    static WRITER: std::sync::OnceLock<tokio::runtime::Handle> = std::sync::OnceLock::new();
    WRITER.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("intake-writer".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("intake writer runtime");
                let _ = tx.send(rt.handle().clone());
                rt.block_on(std::future::pending::<()>());
            })
            .expect("intake writer thread");
        rx.recv().expect("intake writer runtime handle")
    })
}

/// A batch being written: counted in `in_flight` until it ends, even by a panic (the queue
/// would otherwise wait for it forever).
struct InFlight<'q> {
    queue: &'q IntakeQueue,
    size: usize,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut q = self.queue.lock();
        if let Some(i) = q.in_flight.iter().position(|&n| n == self.size) {
            q.in_flight.swap_remove(i);
        }
    }
}

impl IntakeQueue {
    /// Write one batch and answer each of its requests (module docs).
    async fn write(&self, db: &AnyPool, key: &ServerKey, batch: Vec<Job>) {
        let deadline = batch
            .iter()
            .map(|j| j.report.deadline)
            .min()
            .map(|d| d.checked_sub(DEADLINE_MARGIN).unwrap_or(d));
        let (reports, answers): (Vec<QueuedReport>, Vec<_>) =
            batch.into_iter().map(|j| (j.report, j.answer)).unzip();
        let intakes: Vec<Intake<'_>> = reports.iter().map(QueuedReport::intake).collect();
        let pairs: Vec<(&Intake<'_>, &VerifiedReport)> = intakes
            .iter()
            .zip(reports.iter().map(|r| &r.verified))
            .collect();
        self.metrics.intake_batch(pairs.len());
        let work = async {
            match store_all(db, key, &pairs).await {
                Ok(outcomes) => outcomes,
                Err(e) if e.status() == StatusCode::SERVICE_UNAVAILABLE => {
                    let why = e.to_string();
                    self.fail_queued(&why);
                    pairs
                        .iter()
                        .map(|_| Err(ApiError::Unavailable(why.clone())))
                        .collect()
                }
                Err(e) if pairs.len() == 1 => vec![Err(e)],
                Err(e) => {
                    tracing::warn!(error = %e, reports = pairs.len(),
                        "intake batch failed; storing its reports one by one");
                    let mut one_by_one = Vec::with_capacity(pairs.len());
                    for (intake, verified) in &pairs {
                        one_by_one.push(intake.store(db, key, verified).await);
                    }
                    one_by_one
                }
            }
        };
        let outcomes = match deadline {
            Some(deadline) => tokio::time::timeout_at(deadline, work)
                .await
                .unwrap_or_else(|_| pairs.iter().map(|_| Err(ApiError::Timeout)).collect()),
            None => work.await,
        };
        for (answer, outcome) in answers.into_iter().zip(outcomes) {
            // The request may have given up meanwhile (its client went away): nothing to tell.
            let _ = answer.send(outcome);
        }
    }
}
