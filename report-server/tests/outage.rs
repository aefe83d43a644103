//! The database goes away or gets slow while the `report-server` binary is under load
//! (PostgreSQL; the tests skip locally without `TEST_DATABASE_URL` and fail under `CI=true`).
//!
//! * Outage: the server reaches PostgreSQL through a TCP proxy the test controls; mid-load the
//!   proxy closes every connection and refuses new ones, then comes back. Every request answers
//!   2xx or 503 `unavailable` (never 500, never later than the request timeout), `/readyz` turns
//!   503 and back to 200, the process keeps running, and every acknowledged report is stored
//!   exactly once (clients retry what got 503; retries are idempotent).
//! * Slow database: another connection holds `LOCK TABLE cases IN ACCESS EXCLUSIVE MODE`; intake,
//!   transitions and case reads end with 503 `unavailable` or 408 `timeout` within the request
//!   timeout, and work again (nothing half-applied) once the lock is released.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use common::TestDb;
use common::process::{Outcome, ServerProcess, data_dir, request, submissions};
use common::proxy::{Proxy, upstream_of};
use serde_json::Value;
use sqlx::Row as _;

/// `--request-timeout-secs` of the servers under test.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);

/// How long a client waits before calling a request hung: the request timeout plus slack for
/// scheduling on a busy machine.
fn client_deadline() -> Duration {
    REQUEST_TIMEOUT + Duration::from_secs(2)
}

async fn start(dir: &std::path::Path, url: &str) -> ServerProcess {
    ServerProcess::start(
        dir,
        &[
            ("DATABASE_URL", url),
            (
                "FRANKING_REQUEST_TIMEOUT_SECS",
                &REQUEST_TIMEOUT.as_secs().to_string(),
            ),
            ("FRANKING_DB_MAX_CONNECTIONS", "4"),
        ],
    )
    .await
}

/// One request made during the test: the phases it started and ended in, how long it took.
#[derive(Debug)]
struct Seen {
    what: &'static str,
    started: u8,
    ended: u8,
    outcome: Outcome,
    took: Duration,
}

const BEFORE: u8 = 0;
const OUTAGE: u8 = 1;
const AFTER: u8 = 2;

async fn timed(
    addr: SocketAddr,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> (Outcome, Duration) {
    let t0 = Instant::now();
    let o = request(addr, method, path, token, body, client_deadline()).await;
    (o, t0.elapsed())
}

async fn submit(addr: SocketAddr, service: &str, submission: &Value) -> Outcome {
    let path = "/v1/reports";
    request(
        addr,
        Method::POST,
        path,
        Some(service),
        Some(submission),
        client_deadline(),
    )
    .await
}

/// A session (directly on the database) that holds `LOCK TABLE cases IN ACCESS EXCLUSIVE MODE`
/// until `ROLLBACK`: every read and write of `cases` waits.
async fn lock_cases(url: &str) -> sqlx::AnyConnection {
    let mut c = <sqlx::AnyConnection as sqlx::Connection>::connect(url)
        .await
        .unwrap();
    sqlx::query("BEGIN").execute(&mut c).await.unwrap();
    sqlx::query("LOCK TABLE cases IN ACCESS EXCLUSIVE MODE")
        .execute(&mut c)
        .await
        .unwrap();
    c
}

/// A 503 with the JSON error body and code `unavailable`.
fn is_unavailable(o: &Outcome) -> bool {
    o.status() == Some(StatusCode::SERVICE_UNAVAILABLE) && o.code() == "unavailable"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn database_outage_mid_load_answers_503_and_loses_nothing() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let proxy = Proxy::start(upstream_of(&db.url).await).await;
    let dir = data_dir("rs-outage");
    let mut server = start(&dir, &proxy.url_through(&db.url)).await;
    let addr = server.addr;
    let service = server.token("service token:");
    let moderator = server.token("moderator token:");
    let relay = server.token("relay token:");
    const N: usize = 40;
    let subs = Arc::new(submissions(addr, &relay, "dev", N).await);

    let phase = Arc::new(AtomicU8::new(BEFORE));
    let seen = Arc::new(Mutex::new(Vec::<Seen>::new()));
    let queue = Arc::new(Mutex::new((0..N).collect::<VecDeque<usize>>()));
    // Acknowledged report ids per submission (a retry after an ambiguous 503 may be a duplicate).
    let acked = Arc::new(Mutex::new(HashMap::<usize, Vec<String>>::new()));
    let load_deadline = Instant::now() + Duration::from_secs(45);

    // Intake clients: submit, and put back what got 503 (a client retrying later).
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (subs, phase, seen, queue, acked, service) = (
            subs.clone(),
            phase.clone(),
            seen.clone(),
            queue.clone(),
            acked.clone(),
            service.clone(),
        );
        workers.push(tokio::spawn(async move {
            loop {
                assert!(Instant::now() < load_deadline, "load did not finish");
                let Some(i) = queue.lock().unwrap().pop_front() else {
                    return;
                };
                let p = phase.load(Ordering::SeqCst);
                let (o, took) = timed(
                    addr,
                    Method::POST,
                    "/v1/reports",
                    Some(&service),
                    Some(&subs[i]),
                )
                .await;
                if matches!(o.status(), Some(StatusCode::CREATED | StatusCode::OK)) {
                    let id = o.body()["report_id"].as_str().unwrap().to_owned();
                    acked.lock().unwrap().entry(i).or_default().push(id);
                } else {
                    queue.lock().unwrap().push_back(i);
                }
                seen.lock().unwrap().push(Seen {
                    what: "intake",
                    started: p,
                    ended: phase.load(Ordering::SeqCst),
                    outcome: o,
                    took,
                });
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }));
    }
    // A moderator reading the queue, and a load balancer probing /readyz, all along.
    let readers_stop = Arc::new(AtomicU8::new(0));
    for (what, path, token) in [
        ("cases", "/v1/cases?limit=5", Some(moderator.clone())),
        ("readyz", "/readyz", None),
    ] {
        let (phase, seen, stop) = (phase.clone(), seen.clone(), readers_stop.clone());
        workers.push(tokio::spawn(async move {
            while stop.load(Ordering::SeqCst) == 0 {
                let p = phase.load(Ordering::SeqCst);
                let (o, took) = timed(addr, Method::GET, path, token.as_deref(), None).await;
                seen.lock().unwrap().push(Seen {
                    what,
                    started: p,
                    ended: phase.load(Ordering::SeqCst),
                    outcome: o,
                    took,
                });
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
        }));
    }

    // Let some reports through, then cut the database off while requests are inside it: a lock
    // (taken directly, not through the proxy) holds them mid-transaction when the cut comes.
    while acked.lock().unwrap().len() < 8 {
        assert!(
            Instant::now() < load_deadline,
            "no reports accepted before the outage"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    phase.store(OUTAGE, Ordering::SeqCst);
    let mut locker = lock_cases(&db.url).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    proxy.cut();
    sqlx::query("ROLLBACK").execute(&mut locker).await.unwrap();
    drop(locker);
    let cut_at = Instant::now();
    // /readyz turns not-ready.
    loop {
        let (o, _) = timed(addr, Method::GET, "/readyz", None, None).await;
        if is_unavailable(&o) {
            break;
        }
        assert!(
            cut_at.elapsed() < client_deadline() * 2,
            "/readyz still {o:?} after the database went away"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Stay down for a while under load, then restore the database.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(server.is_running(), "the server died during the outage");
    proxy.restore().await;
    phase.store(AFTER, Ordering::SeqCst);
    let back_at = Instant::now();
    loop {
        let (o, _) = timed(addr, Method::GET, "/readyz", None, None).await;
        if o.status() == Some(StatusCode::OK) {
            assert_eq!(o.body()["status"], "ready");
            break;
        }
        assert!(
            back_at.elapsed() < Duration::from_secs(15),
            "/readyz still {o:?} after the database returned"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for w in workers.drain(..4) {
        w.await.unwrap();
    }
    readers_stop.store(1, Ordering::SeqCst);
    for w in workers {
        w.await.unwrap();
    }
    assert!(server.is_running(), "the server died");

    // Every answer was 2xx or 503 `unavailable`, within the request timeout; none hung.
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    let mut outage_503 = HashMap::<&str, usize>::new();
    for s in &seen {
        let ok = match (s.what, s.outcome.status()) {
            ("intake", Some(StatusCode::CREATED | StatusCode::OK)) => true,
            ("cases" | "readyz", Some(StatusCode::OK)) => true,
            (_, Some(StatusCode::SERVICE_UNAVAILABLE)) => is_unavailable(&s.outcome),
            _ => false,
        };
        assert!(ok, "not 2xx or 503 unavailable: {s:?}");
        assert!(
            s.took <= REQUEST_TIMEOUT + Duration::from_millis(500),
            "answered after the request timeout: {s:?}"
        );
        if is_unavailable(&s.outcome) {
            assert_ne!(s.ended, BEFORE, "503 before the outage: {s:?}");
            *outage_503.entry(s.what).or_default() += 1;
        }
    }
    // The outage really hit the intake and the moderation reads (otherwise this proves nothing).
    assert!(outage_503.get("intake").is_some_and(|&n| n > 0), "{seen:?}");
    assert!(outage_503.get("cases").is_some_and(|&n| n > 0), "{seen:?}");
    assert!(
        seen.iter()
            .any(|s| s.started == AFTER && s.outcome.status() == Some(StatusCode::CREATED)),
        "nothing was accepted after the database returned"
    );

    // Every submission was acknowledged once, and the database holds each exactly once, under the
    // acknowledged id.
    let acked = std::mem::take(&mut *acked.lock().unwrap());
    assert_eq!(acked.len(), N);
    assert!(acked.values().all(|ids| ids.len() == 1));
    let pool = sqlx::AnyPool::connect(&db.url).await.unwrap();
    let rows = sqlx::query("SELECT id, reporter FROM reports")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(rows.len(), N, "reports lost or duplicated");
    let stored: HashMap<String, String> = rows
        .iter()
        .map(|r| (r.get("id"), r.get("reporter")))
        .collect();
    for (i, ids) in &acked {
        assert_eq!(
            stored.get(&ids[0]).map(String::as_str),
            Some(format!("rcpt-{i}").as_str()),
            "acknowledged report {i} ({}) is not stored",
            ids[0]
        );
    }
    for table in ["cases", "evidence"] {
        let n: i64 = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) AS n FROM {table}"
        )))
        .fetch_one(&pool)
        .await
        .unwrap()
        .get("n");
        assert_eq!(n, N as i64, "{table}");
    }
    pool.close().await;
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn held_lock_ends_requests_within_the_timeout_then_recovers() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let dir = data_dir("rs-slow");
    let server = start(&dir, &db.url).await;
    let addr = server.addr;
    let service = server.token("service token:");
    let moderator = server.token("moderator token:");
    let relay = server.token("relay token:");
    let subs = submissions(addr, &relay, "dev", 6).await;
    // Three cases exist before the database gets slow.
    let mut cases = Vec::new();
    for s in &subs[..3] {
        let o = submit(addr, &service, s).await;
        assert_eq!(o.status(), Some(StatusCode::CREATED), "{o:?}");
        cases.push(o.body()["case_id"].as_str().unwrap().to_owned());
    }

    // Another session holds an exclusive lock on `cases` (every read and write of it waits).
    let mut locker = lock_cases(&db.url).await;

    // Two waves (more requests than pool connections): intake, transitions, case reads.
    for wave in 0..2 {
        let mut calls = Vec::new();
        for s in &subs[3..] {
            let (s, service) = (s.clone(), service.clone());
            calls.push(tokio::spawn(async move {
                let r = timed(addr, Method::POST, "/v1/reports", Some(&service), Some(&s)).await;
                ("intake", r)
            }));
        }
        for c in &cases {
            let (assign, read, m) = (
                format!("/v1/cases/{c}/assign"),
                format!("/v1/cases/{c}"),
                moderator.clone(),
            );
            calls.push(tokio::spawn(async move {
                let r = timed(addr, Method::POST, &assign, Some(&m), None).await;
                ("assign", r)
            }));
            let m = moderator.clone();
            calls.push(tokio::spawn(async move {
                let r = timed(addr, Method::GET, &read, Some(&m), None).await;
                ("read", r)
            }));
        }
        for c in calls {
            let (what, (o, took)) = c.await.unwrap();
            let status = o.status();
            assert!(
                is_unavailable(&o)
                    || (status == Some(StatusCode::REQUEST_TIMEOUT) && o.code() == "timeout"),
                "wave {wave} {what}: expected 503 unavailable or 408 timeout, got {o:?}"
            );
            assert!(
                took <= REQUEST_TIMEOUT + Duration::from_millis(500),
                "wave {wave} {what}: answered after {took:?}"
            );
        }
    }

    // Release the lock: the same requests now work, and nothing of the timed-out ones was applied.
    sqlx::query("ROLLBACK").execute(&mut locker).await.unwrap();
    for s in &subs[3..] {
        let o = submit(addr, &service, s).await;
        assert_eq!(o.status(), Some(StatusCode::CREATED), "{o:?}");
    }
    for c in &cases {
        let o = request(
            addr,
            Method::POST,
            &format!("/v1/cases/{c}/assign"),
            Some(&moderator),
            None,
            client_deadline(),
        )
        .await;
        assert_eq!(o.status(), Some(StatusCode::OK), "{o:?}");
        assert_eq!(o.body()["state"], "assigned");
        let o = request(
            addr,
            Method::GET,
            &format!("/v1/cases/{c}/audit"),
            Some(&moderator),
            None,
            client_deadline(),
        )
        .await;
        assert_eq!(o.status(), Some(StatusCode::OK), "{o:?}");
        // One transition: none of the timed-out assigns was applied (the case's audit also
        // holds its report.accept entry since issue 16).
        let transitions = o.body()["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"].as_str().unwrap().starts_with("case."))
            .count();
        assert_eq!(transitions, 1, "{o:?}");
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
