//! `kill -9` of the `report-server` binary while it takes reports and applies case transitions,
//! then a restart on the same database (PostgreSQL — skipped locally without `TEST_DATABASE_URL`,
//! required under `CI=true` — and the embedded SQLite file).
//!
//! After the restart: every acknowledged report is stored (with its evidence), retrying any
//! report is idempotent (no duplicates), every acknowledged transition is applied, the one in
//! flight at the kill is applied completely or not at all, every applied transition has its audit
//! entry, and every case's columns agree with its state as docs/api.md describes.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use common::TestDb;
use common::process::{Outcome, ServerProcess, data_dir, request, submissions};
use serde_json::{Value, json};

/// Cases driven through transitions, one client each.
const CASES: usize = 8;
/// Reports submitted while the server is killed.
const REPORTS: usize = 36;

/// The transition cycle each case client repeats: (verb, body, state afterwards).
fn step(k: usize) -> (&'static str, Option<Value>, &'static str) {
    match k % 5 {
        0 => ("assign", None, "assigned"),
        1 => (
            "resolve",
            Some(json!({"action": "warn_sender"})),
            "resolved",
        ),
        2 => ("reopen", None, "open"),
        3 => ("dismiss", Some(json!({"reason": "duplicate"})), "dismissed"),
        _ => ("reopen", None, "open"),
    }
}

async fn call(
    addr: SocketAddr,
    method: Method,
    path: &str,
    token: &str,
    body: Option<&Value>,
) -> Outcome {
    request(
        addr,
        method,
        path,
        Some(token),
        body,
        Duration::from_secs(10),
    )
    .await
}

/// What one case client saw: transitions acknowledged, and whether one was in flight at the kill.
#[derive(Debug, Default, Clone, Copy)]
struct CaseLoad {
    acked: usize,
    in_flight: bool,
}

/// The columns of a case in `state`, as docs/api.md describes them (nothing half-transitioned).
fn assert_consistent(case: &Value) {
    let state = case["state"].as_str().unwrap();
    let (assignee, action, closed) = (
        &case["assignee"],
        &case["resolution_action"],
        &case["closed_at"],
    );
    let ok = match state {
        "open" => assignee.is_null() && action.is_null() && closed.is_null(),
        "assigned" => assignee == "dev-moderator" && action.is_null() && closed.is_null(),
        "resolved" => action == "warn_sender" && closed.is_i64(),
        "dismissed" => action.is_null() && closed.is_i64(),
        _ => false,
    };
    assert!(ok, "case columns disagree with its state: {case}");
}

async fn kill_during_intake_and_transitions(dir: &std::path::Path, database_url: Option<&str>) {
    let envs: Vec<(&str, &str)> = database_url
        .map(|u| vec![("DATABASE_URL", u)])
        .unwrap_or_default();
    let mut server = ServerProcess::start(dir, &envs).await;
    let addr = server.addr;
    let service = server.token("service token:");
    let moderator = server.token("moderator token:");
    let relay = server.token("relay token:");
    let subs = Arc::new(submissions(addr, &relay, "dev", CASES + REPORTS).await);
    let mut case_ids = Vec::new();
    for s in &subs[..CASES] {
        let o = call(addr, Method::POST, "/v1/reports", &service, Some(s)).await;
        assert_eq!(o.status(), Some(StatusCode::CREATED), "{o:?}");
        case_ids.push(o.body()["case_id"].as_str().unwrap().to_owned());
    }

    // Load: three intake clients, one transition client per case; each stops at its first
    // request that gets no answer (the kill).
    let intake_acked = Arc::new(Mutex::new(Vec::<(usize, String, String)>::new()));
    let case_load = Arc::new(Mutex::new(vec![CaseLoad::default(); CASES]));
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut workers = Vec::new();
    for w in 0..3 {
        let (subs, acked, service) = (subs.clone(), intake_acked.clone(), service.clone());
        workers.push(tokio::spawn(async move {
            for i in (CASES + w..CASES + REPORTS).step_by(3) {
                let o = call(addr, Method::POST, "/v1/reports", &service, Some(&subs[i])).await;
                match o {
                    Outcome::Answered(StatusCode::CREATED, b) => acked.lock().unwrap().push((
                        i,
                        b["case_id"].as_str().unwrap().to_owned(),
                        b["report_id"].as_str().unwrap().to_owned(),
                    )),
                    Outcome::Failed(_) => return,
                    other => panic!("intake of {i} before the kill: {other:?}"),
                }
                tokio::time::sleep(Duration::from_millis(40)).await;
            }
        }));
    }
    for (c, id) in case_ids.iter().enumerate() {
        let (load, id, moderator) = (case_load.clone(), id.clone(), moderator.clone());
        workers.push(tokio::spawn(async move {
            for k in 0.. {
                assert!(Instant::now() < deadline, "the kill never came");
                let (verb, body, after) = step(k);
                let path = format!("/v1/cases/{id}/{verb}");
                match call(addr, Method::POST, &path, &moderator, body.as_ref()).await {
                    Outcome::Answered(StatusCode::OK, b) => {
                        assert_eq!(b["state"], after, "{verb} of case {c}");
                        load.lock().unwrap()[c].acked = k + 1;
                    }
                    Outcome::Failed(e) => {
                        // Refused at connect: the server was already gone, nothing was sent.
                        load.lock().unwrap()[c].in_flight = !e.starts_with("connect");
                        return;
                    }
                    other => panic!("{verb} of case {c} before the kill: {other:?}"),
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }));
    }
    // Kill once both kinds of writes are flowing.
    loop {
        let reports = intake_acked.lock().unwrap().len();
        let transitions: usize = case_load.lock().unwrap().iter().map(|l| l.acked).sum();
        if reports >= 8 && transitions >= 3 * CASES {
            break;
        }
        assert!(Instant::now() < deadline, "load did not start");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill9();
    for w in workers {
        w.await.unwrap();
    }
    let intake_acked = std::mem::take(&mut *intake_acked.lock().unwrap());
    let case_load = case_load.lock().unwrap().clone();
    assert!(
        intake_acked.len() < REPORTS,
        "intake finished before the kill"
    );

    eprintln!(
        "killed with {} reports and {} transitions acknowledged, {} transitions in flight",
        intake_acked.len(),
        case_load.iter().map(|l| l.acked).sum::<usize>(),
        case_load.iter().filter(|l| l.in_flight).count()
    );
    let mut in_flight_applied = 0;

    // Restart on the same database and key.
    let server = ServerProcess::start(dir, &envs).await;
    let addr = server.addr;

    // Transitions: acknowledged ones applied, the one in flight all-or-nothing, each with its
    // audit entry, columns consistent with the state.
    for (c, id) in case_ids.iter().enumerate() {
        let load = case_load[c];
        let case = call(
            addr,
            Method::GET,
            &format!("/v1/cases/{id}"),
            &moderator,
            None,
        )
        .await;
        assert_eq!(case.status(), Some(StatusCode::OK), "{case:?}");
        let audit = call(
            addr,
            Method::GET,
            &format!("/v1/cases/{id}/audit"),
            &moderator,
            None,
        )
        .await;
        assert_eq!(audit.status(), Some(StatusCode::OK), "{audit:?}");
        let mut actions = HashMap::<String, usize>::new();
        // Transitions only: the case's audit also holds `report.accept` and `evidence.view`.
        for e in audit.body()["entries"].as_array().unwrap() {
            let action = e["action"].as_str().unwrap();
            if action.starts_with("case.") {
                *actions.entry(action.to_owned()).or_default() += 1;
            }
        }
        let applied: usize = actions.values().sum();
        assert!(
            applied == load.acked || (load.in_flight && applied == load.acked + 1),
            "case {c}: {applied} audited transitions, {load:?}"
        );
        in_flight_applied += usize::from(applied > load.acked);
        let mut expected = HashMap::<String, usize>::new();
        for k in 0..applied {
            *expected.entry(format!("case.{}", step(k).0)).or_default() += 1;
        }
        assert_eq!(actions, expected, "case {c}: audit entries");
        let state = if applied == 0 {
            "open"
        } else {
            step(applied - 1).2
        };
        assert_eq!(case.body()["state"], state, "case {c}: {load:?}");
        assert_consistent(case.body());
    }

    eprintln!("{in_flight_applied} transitions in flight at the kill were applied");

    // Reports: every acknowledged one is stored with its evidence under the acknowledged id.
    for (i, case_id, report_id) in &intake_acked {
        let o = call(
            addr,
            Method::GET,
            &format!("/v1/cases/{case_id}"),
            &moderator,
            None,
        )
        .await;
        assert_eq!(o.status(), Some(StatusCode::OK), "report {i}: {o:?}");
        let b = o.body();
        assert_eq!(b["report_count"], 1);
        assert_eq!(b["reports"].as_array().unwrap().len(), 1);
        assert_eq!(b["reports"][0]["id"], report_id.as_str());
        assert_eq!(b["reports"][0]["reporter"], format!("rcpt-{i}"));
        assert_eq!(b["evidence"].as_array().unwrap().len(), 1);
        assert_eq!(b["evidence"][0]["report_id"], report_id.as_str());
    }
    // Retrying every report (acknowledged, in flight at the kill, never sent): acknowledged ones
    // are duplicates of themselves, the rest are stored once; one case and one report each.
    let acked_ids: HashMap<usize, &str> = intake_acked
        .iter()
        .map(|(i, _, r)| (*i, r.as_str()))
        .collect();
    for (i, s) in subs.iter().enumerate().skip(CASES) {
        let o = call(addr, Method::POST, "/v1/reports", &service, Some(s)).await;
        match acked_ids.get(&i) {
            Some(id) => {
                assert_eq!(o.status(), Some(StatusCode::OK), "report {i}: {o:?}");
                assert_eq!(o.body()["report_id"], *id);
            }
            None => assert!(
                matches!(o.status(), Some(StatusCode::CREATED | StatusCode::OK)),
                "report {i}: {o:?}"
            ),
        }
        assert_eq!(o.body()["report_count"], 1, "report {i}: {o:?}");
    }
    let list = call(addr, Method::GET, "/v1/cases?limit=200", &moderator, None).await;
    let cases = list.body()["cases"].as_array().unwrap();
    assert_eq!(cases.len(), CASES + REPORTS, "cases lost or duplicated");
    for c in cases {
        assert_eq!(c["report_count"], 1, "{c}");
        assert_consistent(c);
    }
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill9_on_postgres_keeps_every_acknowledged_write() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let dir = data_dir("rs-crash-pg");
    kill_during_intake_and_transitions(&dir, Some(&db.url)).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill9_on_sqlite_keeps_every_acknowledged_write() {
    let dir = data_dir("rs-crash-sqlite");
    kill_during_intake_and_transitions(&dir, None).await;
    let _ = std::fs::remove_dir_all(&dir);
}
