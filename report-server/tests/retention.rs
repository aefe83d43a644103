//! Evidence retention: `report_server::retention::purge_expired` with injected time, the admin
//! endpoint `POST /v1/admin/retention/run`, and the periodic task. Runs on SQLite, and on
//! PostgreSQL when `TEST_DATABASE_URL` is set (under `CI=true` a missing variable fails).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use common::*;
use report_server::keys::{Policy, load_policy, store_policy};
use report_server::retention::{self, PurgeOutcome};
use serde_json::json;
use sqlx::Row as _;

async fn new_case(h: &Harness, net: &str) -> String {
    let t = h.t();
    let tk = if net == "net1" { &h.net1 } else { &h.net2 };
    let reporter = uniq("bob");
    let m = franked(
        &t,
        &tk.relay,
        dm(net, "alice", &reporter, &uniq("m")),
        b"evidence",
    )
    .await;
    let r = t
        .post(
            "/v1/reports",
            Some(&tk.service),
            submission(&reporter, report_json(m, &reporter, vec![])),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["case_id"].as_str().unwrap().to_owned()
}

async fn set_retention(h: &Harness, net: &str, ms: u64) {
    let p = Policy {
        evidence_retention_ms: ms,
        ..load_policy(&h.state.db, net).await.unwrap()
    };
    store_policy(&h.state.db, net, &p, false).await.unwrap();
}

/// (sealed is non-empty, purged_at) of every evidence row of a case.
async fn evidence_rows(h: &Harness, case: &str) -> Vec<(bool, Option<i64>)> {
    sqlx::query("SELECT sealed, purged_at FROM evidence WHERE case_id = $1 ORDER BY id")
        .bind(case)
        .fetch_all(&h.state.db)
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                !r.try_get::<String, _>("sealed").unwrap().is_empty(),
                r.try_get::<Option<i64>, _>("purged_at").unwrap(),
            )
        })
        .collect()
}

/// The retention deadline (`purge_after`) of a case's only evidence row.
async fn purge_after(h: &Harness, case: &str) -> i64 {
    let rows = sqlx::query("SELECT purge_after FROM evidence WHERE case_id = $1")
        .bind(case)
        .fetch_all(&h.state.db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    rows[0]
        .try_get::<Option<i64>, _>("purge_after")
        .unwrap()
        .unwrap()
}

async fn audit_count(h: &Harness, action: &str, target: Option<&str>) -> i64 {
    sqlx::query(
        "SELECT COUNT(*) AS n FROM audit_log WHERE action = $1 AND ($2 IS NULL OR target = $2)",
    )
    .bind(action)
    .bind(target.map(str::to_owned))
    .fetch_one(&h.state.db)
    .await
    .unwrap()
    .try_get("n")
    .unwrap()
}

#[tokio::test]
async fn purges_closed_cases_past_retention_and_never_open_ones() {
    // Evidence gets its deadline at intake: arrival + the policy's retention.
    for h in harnesses().await {
        set_retention(&h, "net1", 10_000).await;
        let before = report_server::util::now_ms();
        let c = new_case(&h, "net1").await;
        let after = report_server::util::now_ms();
        let p = purge_after(&h, &c).await;
        assert!((before + 10_000..=after + 10_000).contains(&p), "{p}");
    }
    for h in harnesses().await {
        scenario(&h).await;
    }
}

async fn scenario(h: &Harness) {
    const RET: i64 = 10_000;
    set_retention(h, "net1", RET as u64).await;
    let open = new_case(h, "net1").await;
    let assigned = new_case(h, "net1").await;
    act(h, &assigned, "assign", json!({ "assignee": "mod" })).await;
    let resolved = new_case(h, "net1").await;
    act(
        h,
        &resolved,
        "resolve",
        json!({ "action": "remove_content" }),
    )
    .await;
    let dismissed = new_case(h, "net1").await;
    act(h, &dismissed, "dismiss", json!({})).await;
    let reopened = new_case(h, "net1").await;
    act(h, &reopened, "resolve", json!({ "action": "no_violation" })).await;
    act(h, &reopened, "reopen", json!({})).await;
    // net2 keeps the default 90-day retention.
    let other = new_case(h, "net2").await;
    act(h, &other, "resolve", json!({ "action": "warn_sender" })).await;

    let (pr, pd) = (
        purge_after(h, &resolved).await,
        purge_after(h, &dismissed).await,
    );
    let (first, last) = (pr.min(pd), pr.max(pd));
    let untouched = [&open, &assigned, &reopened, &other];

    // Before the retention has elapsed: nothing.
    let out = retention::purge_expired(&h.state.db, first - 1, "test")
        .await
        .unwrap();
    assert_eq!((out.cases, out.evidence_purged), (0, 0));
    for c in [&resolved, &dismissed] {
        assert_eq!(evidence_rows(h, c).await, [(true, None)]);
    }

    // Past it: exactly the closed net1 cases.
    let t1 = last;
    let out = retention::purge_expired(&h.state.db, t1, "test")
        .await
        .unwrap();
    assert_eq!(
        out,
        PurgeOutcome {
            now_ms: t1,
            cases: 2,
            evidence_purged: 2
        }
    );
    for c in [&resolved, &dismissed] {
        assert_eq!(evidence_rows(h, c).await, [(false, Some(t1))]);
        assert_eq!(
            audit_count(h, "evidence.purge", Some(&format!("case:{c}"))).await,
            1
        );
    }
    for c in untouched {
        assert_eq!(
            evidence_rows(h, c).await,
            [(true, None)],
            "{c} must be untouched"
        );
    }

    // Idempotent: a second run (e.g. another instance) purges nothing more.
    let out = retention::purge_expired(&h.state.db, t1 + 1, "test")
        .await
        .unwrap();
    assert_eq!((out.cases, out.evidence_purged), (0, 0));
    assert_eq!(evidence_rows(h, &resolved).await, [(false, Some(t1))]);

    // Open and assigned cases are never purged, however far in the future "now" is.
    let far = i64::MAX / 2;
    retention::purge_expired(&h.state.db, far, "test")
        .await
        .unwrap();
    for c in [&open, &assigned, &reopened] {
        assert_eq!(
            evidence_rows(h, c).await,
            [(true, None)],
            "{c} must be untouched"
        );
    }
    // ... but the net2 closed case is, at its own (longer) retention.
    assert_eq!(evidence_rows(h, &other).await, [(false, Some(far))]);
    // One audit entry per run.
    assert_eq!(audit_count(h, "retention.run", None).await, 4);

    // The case view shows purged evidence without content; reopening keeps what is left.
    let t = h.t();
    let r = t
        .get(&format!("/v1/cases/{resolved}"), Some(&h.net1.moderator))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["evidence"][0]["purged_at"], t1);
    assert!(r.body["evidence"][0]["content"].is_null());
    assert_eq!(r.body["report_count"], 1);
    act(h, &resolved, "reopen", json!({})).await;
    let r = t
        .get(&format!("/v1/cases/{resolved}"), Some(&h.net1.moderator))
        .await;
    assert_eq!(r.body["state"], "open");
    assert!(r.body["evidence"][0]["content"].is_null());
    let r = t
        .get(&format!("/v1/cases/{open}"), Some(&h.net1.moderator))
        .await;
    assert_eq!(
        r.body["evidence"][0]["content"]["message"]["text"],
        "evidence"
    );
    let r = t
        .get(&format!("/v1/cases/{resolved}/audit"), Some(&h.admin))
        .await;
    let purge = r.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "evidence.purge")
        .unwrap()
        .clone();
    assert_eq!(purge["actor"], "test");
    assert_eq!(purge["details"]["evidence_purged"], 1);
}

#[tokio::test]
async fn admin_endpoint_runs_the_purge_and_returns_counts() {
    for h in harnesses().await {
        let t = h.t();
        set_retention(&h, "net2", 0).await;
        let a = new_case(&h, "net2").await;
        act(&h, &a, "dismiss", json!({})).await;
        let b = new_case(&h, "net2").await; // stays open
        let r = t
            .call(
                Method::POST,
                "/v1/admin/retention/run",
                Some(&h.admin),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body["cases"], 1);
        assert_eq!(r.body["evidence_purged"], 1);
        assert!(r.body["now_ms"].as_i64().unwrap() > 0);
        assert!(!evidence_rows(&h, &a).await[0].0);
        assert_eq!(evidence_rows(&h, &b).await, [(true, None)]);
        let r = t
            .get("/v1/admin/audit?action=retention.run", Some(&h.admin))
            .await;
        let e = &r.body["entries"][0];
        assert_eq!(e["actor"], "admin:test-admin");
        assert_eq!(e["details"]["cases"], 1);
        // Again: nothing left.
        let r = t
            .call(
                Method::POST,
                "/v1/admin/retention/run",
                Some(&h.admin),
                None,
            )
            .await;
        assert_eq!(
            (r.body["cases"].clone(), r.body["evidence_purged"].clone()),
            (json!(0), json!(0))
        );
    }
}

#[tokio::test]
async fn periodic_task_purges() {
    for h in harnesses().await {
        periodic(&h).await;
    }
}

async fn periodic(h: &Harness) {
    set_retention(h, "net1", 0).await;
    let a = new_case(h, "net1").await;
    act(h, &a, "resolve", json!({ "action": "ban_sender" })).await;
    let task = retention::spawn(h.state.clone(), Duration::from_millis(200));
    let mut purged = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if evidence_rows(h, &a).await[0].1.is_some()
            && audit_count(h, "retention.run", None).await >= 1
        {
            purged = true;
            break;
        }
    }
    task.abort();
    assert!(
        purged,
        "the periodic task purged the closed case and audited the run"
    );
    let r = h
        .t()
        .get("/v1/admin/audit?action=evidence.purge", Some(&h.admin))
        .await;
    assert_eq!(r.body["entries"][0]["actor"], retention::SYSTEM_ACTOR);
}

/// Issue 16.5: evidence that arrives after a case was closed has its own retention period from
/// its arrival, and the new report reopens the case (audited as `report.accept` with
/// `reopened_from`); a duplicate report does not reopen anything.
#[tokio::test]
async fn late_evidence_reopens_the_case_and_keeps_its_own_retention() {
    for h in harnesses().await {
        late_evidence(&h).await;
    }
}

async fn late_evidence(h: &Harness) {
    const RET: i64 = 60_000;
    set_retention(h, "net1", RET as u64).await;
    let t = h.t();
    let svc = Some(h.net1.service.as_str());
    let ctx = room("net1", &["bob", "carol"], &uniq("late"));
    let m = franked(&t, &h.net1.relay, ctx, b"late evidence").await;
    let report = |who: &str| submission(who, report_json(m.clone(), who, vec![]));
    let r = t.post("/v1/reports", svc, report("bob")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let case = r.body["case_id"].as_str().unwrap().to_owned();
    act(h, &case, "assign", json!({ "assignee": "mod" })).await;
    act(h, &case, "resolve", json!({ "action": "warn_sender" })).await;
    tokio::time::sleep(Duration::from_millis(20)).await;

    // carol reports the closed case's message: the case is open again, unassigned, unresolved.
    let r = t.post("/v1/reports", svc, report("carol")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["case_id"], case.as_str());
    let r = t
        .get(&format!("/v1/cases/{case}"), Some(&h.net1.moderator))
        .await;
    assert_eq!(r.body["state"], "open", "{}", r.body);
    assert!(r.body["assignee"].is_null() && r.body["resolution_action"].is_null());
    assert!(r.body["closed_at"].is_null());
    assert_eq!(r.body["report_count"], 2);
    let r = t
        .get(&format!("/v1/cases/{case}/audit"), Some(&h.admin))
        .await;
    let accepts: Vec<_> = r.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "report.accept")
        .cloned()
        .collect();
    assert_eq!(accepts.len(), 2, "{}", r.body);
    assert_eq!(accepts[0]["details"]["case_created"], true);
    assert!(accepts[0]["details"]["reopened_from"].is_null());
    assert_eq!(accepts[1]["details"]["case_created"], false);
    assert_eq!(accepts[1]["details"]["reopened_from"], "resolved");
    assert_eq!(accepts[1]["actor"], "service:svc@net1");

    let deadlines: Vec<i64> =
        sqlx::query("SELECT purge_after FROM evidence WHERE case_id = $1 ORDER BY created_at, id")
            .bind(&case)
            .fetch_all(&h.state.db)
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get::<Option<i64>, _>("purge_after").unwrap().unwrap())
            .collect();
    let [bob_deadline, carol_deadline] = deadlines[..] else {
        panic!("{deadlines:?}")
    };
    assert!(bob_deadline < carol_deadline);
    // While the case is open nothing is purged, even past both deadlines.
    let out = retention::purge_expired(&h.state.db, carol_deadline + 1, "test")
        .await
        .unwrap();
    assert_eq!(out.evidence_purged, 0);
    assert_eq!(evidence_rows(h, &case).await, [(true, None), (true, None)]);

    // Closed again: bob's evidence goes at its own deadline, carol's is kept until hers.
    act(h, &case, "dismiss", json!({})).await;
    let out = retention::purge_expired(&h.state.db, bob_deadline, "test")
        .await
        .unwrap();
    assert_eq!((out.cases, out.evidence_purged), (1, 1));
    let rows = evidence_rows(h, &case).await;
    let by_id: Vec<(String, bool)> = sqlx::query(
        "SELECT report_id, purged_at FROM evidence WHERE case_id = $1 ORDER BY created_at, id",
    )
    .bind(&case)
    .fetch_all(&h.state.db)
    .await
    .unwrap()
    .iter()
    .map(|r| {
        (
            r.try_get::<String, _>("report_id").unwrap(),
            r.try_get::<Option<i64>, _>("purged_at").unwrap().is_some(),
        )
    })
    .collect();
    assert_eq!(rows.len(), 2);
    assert!(by_id[0].1 && !by_id[1].1, "{by_id:?}");
    let out = retention::purge_expired(&h.state.db, carol_deadline - 1, "test")
        .await
        .unwrap();
    assert_eq!(out.evidence_purged, 0);
    let out = retention::purge_expired(&h.state.db, carol_deadline, "test")
        .await
        .unwrap();
    assert_eq!(out.evidence_purged, 1);
    assert!(
        evidence_rows(h, &case)
            .await
            .iter()
            .all(|(sealed, _)| !sealed)
    );

    // A duplicate report on the closed case stores nothing and reopens nothing.
    let r = t.post("/v1/reports", svc, report("carol")).await;
    assert_eq!(
        (r.status, r.body["duplicate"].as_bool()),
        (StatusCode::OK, Some(true))
    );
    let r = t.get(&format!("/v1/cases/{case}"), Some(&h.admin)).await;
    assert_eq!(r.body["state"], "dismissed");
}
