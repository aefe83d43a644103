//! Group commit (`report_server::intake::store_all`, fed by the intake queue) must store exactly
//! what storing the same reports one after another stores. The same scenario is played on two
//! networks of one server: on `net1` as a single batch, on `net2` one report at a time
//! (`Intake::store`, the path attachments and federation take). The scenario has every case a
//! batch must get right: several reporters of one message (new case, then reports added), the same
//! reporter twice in the batch, a duplicate of a report stored before the batch, a closed case
//! reopened by a new reporter (and reported again after), a reporter hitting its rate limit
//! inside the batch, and categories filled in by a later reporter. Outcomes, cases, rows, audit
//! entries, webhook events and rate counters must agree, and the audit chains must verify. Runs on
//! SQLite, and on PostgreSQL when `TEST_DATABASE_URL` is set. A last test drives the queue itself
//! with concurrent HTTP requests.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::collections::HashMap;

use axum::http::{Method, StatusCode};
use common::*;
use franking_core::frank::{Report, VerifiedReport, verify_report};
use report_server::ApiError;
use report_server::intake::{Federation, Intake, Stored, store_all};
use report_server::keys::{self, Policy};
use serde_json::{Value, json};

/// One submission of the scenario: reporter, message key, category.
const SCENARIO: &[(&str, &str, Option<&str>)] = &[
    ("r1", "m1", None),
    ("r2", "m1", Some("spam")),
    ("r1", "m1", Some("spam")), // the same reporter again, in the batch
    ("r1", "m2", Some("spam")),
    ("r4", "closed", None), // reopens the resolved case
    ("r5", "closed", Some("spam")),
    ("r4", "closed", None), // again
    ("p2", "old", None),    // reported before the batch
    ("r7", "r7c", None),    // r7's third report: at its limit
    ("r7", "r7d", None),    // over it: 429
    ("r3", "m1", None),
];

/// Before the batch, one at a time on both networks: reporter, message key.
const BEFORE: &[(&str, &str)] = &[
    ("p1", "closed"),
    ("p2", "old"),
    ("r7", "r7a"),
    ("r7", "r7b"),
];

async fn set_limits(h: &Harness, net: &str) {
    let t = h.t();
    let path = format!("/v1/admin/networks/{net}/policy");
    let mut p = t.get(&path, Some(&h.admin)).await.body;
    p["reporter_rate_limit"] = json!(3);
    p["categories"] = json!([]);
    let r = t.call(Method::PUT, &path, Some(&h.admin), Some(p)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Two endpoints: every event of the network, and new cases only.
    for types in [None, Some(json!(["case.created"]))] {
        endpoint(h, net, "http://127.0.0.1:9/hook", types).await;
    }
}

/// The scenario's messages on `net` (one franked message per key, sent by mallory to everyone).
async fn messages(h: &Harness, net: &str, relay: &str) -> HashMap<&'static str, Report> {
    let t = h.t();
    let mut out = HashMap::new();
    let keys = SCENARIO
        .iter()
        .map(|s| s.1)
        .chain(BEFORE.iter().map(|b| b.1));
    for key in keys {
        if out.contains_key(key) {
            continue;
        }
        let recipients = ["r1", "r2", "r3", "r4", "r5", "r7", "p1", "p2"];
        let ctx = franking_core::frank::Context::room(
            net,
            "mallory",
            "room",
            recipients.iter().map(|r| (*r).to_owned()).collect(),
            now_ms(),
            uniq(key),
        )
        .unwrap();
        let m = franked(&t, relay, ctx, format!("abuse {key}").as_bytes()).await;
        let report: Report = serde_json::from_value(report_json(m, "r1", vec![])).unwrap();
        out.insert(key, report);
    }
    out
}

async fn verified(h: &Harness, net: &str, mut report: Report, reporter: &str) -> VerifiedReport {
    report.reporter = reporter.to_owned();
    let cached = keys::cached_policy_and_keys(
        &h.state.db,
        &h.state.server_key,
        &h.state.policies,
        net,
        report.message.stamp.key_id,
    )
    .await
    .unwrap();
    let ring = cached.ring().unwrap();
    verify_report(report, &*ring, &cached.policy.report_policy(), now_ms()).unwrap()
}

async fn policy(h: &Harness, net: &str) -> Policy {
    let r = h
        .t()
        .get(&format!("/v1/admin/networks/{net}/policy"), Some(&h.admin))
        .await;
    serde_json::from_value(r.body).unwrap()
}

/// Labels in order of first appearance, so two runs with different ids compare.
#[derive(Default)]
struct Labels(HashMap<String, usize>);

impl Labels {
    fn of(&mut self, id: &str) -> usize {
        let n = self.0.len();
        *self.0.entry(id.to_owned()).or_insert(n)
    }
}

fn outcome(labels: &mut Labels, o: &Result<Stored, ApiError>) -> String {
    match o {
        Err(e) => format!("refused {}", e.code()),
        Ok(s) => format!(
            "case {} report {} duplicate {} count {} reopened {:?}",
            labels.of(&s.case_id),
            labels.of(&s.report_id),
            s.duplicate,
            s.report_count,
            s.reopened_from
        ),
    }
}

/// Everything stored about `net`, with ids replaced by labels.
async fn stored_state(h: &Harness, net: &str, labels: &mut Labels) -> Vec<String> {
    let db = &h.state.db;
    let mut out = Vec::new();
    type CaseLine = (String, String, i64, Option<String>, Option<String>);
    let cases: Vec<CaseLine> = sqlx::query_as(
        "SELECT id, state, report_count, category, assignee FROM cases WHERE network_id = $1 \
         ORDER BY message_id",
    )
    .bind(net)
    .fetch_all(db)
    .await
    .unwrap();
    for (id, state, count, category, assignee) in cases {
        let reporters: Vec<(String,)> = sqlx::query_as(
            "SELECT reporter FROM case_reporters WHERE case_id = $1 ORDER BY reporter",
        )
        .bind(&id)
        .fetch_all(db)
        .await
        .unwrap();
        let reports: Vec<(String, String)> = sqlx::query_as(
            "SELECT r.reporter, r.id FROM reports r JOIN evidence e ON e.report_id = r.id \
             WHERE r.case_id = $1 ORDER BY r.reporter",
        )
        .bind(&id)
        .fetch_all(db)
        .await
        .unwrap();
        let case = labels.of(&id);
        let reports: Vec<String> = reports
            .iter()
            .map(|(reporter, id)| format!("{reporter}:{}", labels.of(id)))
            .collect();
        out.push(format!(
            "case {case} {state} count {count} category {category:?} assignee {assignee:?} \
             reporters {:?} reports with evidence {reports:?}",
            reporters.iter().map(|r| &r.0).collect::<Vec<_>>(),
        ));
    }
    let audit: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT action, target, details FROM audit_log WHERE network_id = $1 \
         AND action = 'report.accept'",
    )
    .bind(net)
    .fetch_all(db)
    .await
    .unwrap();
    for (action, target, details) in audit {
        let mut d: Value = serde_json::from_str(&details).unwrap();
        let report = d["report_id"].as_str().unwrap().to_owned();
        d["report_id"] = json!(labels.of(&report));
        let case = target.strip_prefix("case:").unwrap();
        out.push(format!("audit {action} case {} {d}", labels.of(case)));
    }
    let events: Vec<(String, String, String, i64)> = sqlx::query_as(
        "SELECT e.event_type, e.case_id, e.payload, \
         (SELECT COUNT(*) FROM webhook_deliveries d WHERE d.event_id = e.id) \
         FROM webhook_events e WHERE e.network_id = $1",
    )
    .bind(net)
    .fetch_all(db)
    .await
    .unwrap();
    for (kind, case, payload, deliveries) in events {
        let p: Value = serde_json::from_str(&payload).unwrap();
        assert_eq!(p["type"], kind, "{payload}");
        out.push(format!(
            "event {kind} case {} reporter {} deliveries {deliveries}",
            labels.of(&case),
            p["reporter"]
        ));
    }
    let counters: Vec<(String, i64)> =
        sqlx::query_as("SELECT scope, n FROM rate_counters WHERE scope LIKE $1")
            .bind(format!("%\"{net}\"%"))
            .fetch_all(db)
            .await
            .unwrap();
    let mut sums: HashMap<String, i64> = HashMap::new();
    for (scope, n) in counters {
        let scope = scope.replace(&format!("\"{net}\""), "NET");
        *sums.entry(scope).or_default() += n;
    }
    for (scope, n) in sums {
        out.push(format!("counter {scope} {n}"));
    }
    out.sort();
    out
}

#[tokio::test]
async fn a_batch_stores_what_one_report_at_a_time_stores() {
    for h in harnesses().await {
        let mut all_msgs = HashMap::new();
        for (net, tokens) in [("net1", h.net1.clone()), ("net2", h.net2.clone())] {
            set_limits(&h, net).await;
            let msgs = messages(&h, net, &tokens.relay).await;
            let pol = policy(&h, net).await;
            // The same history before, one report at a time.
            for (reporter, key) in BEFORE {
                let v = verified(&h, net, msgs[key].clone(), reporter).await;
                let intake = intake(net, None, &pol);
                intake
                    .store(&h.state.db, &h.state.server_key, &v)
                    .await
                    .unwrap();
            }
            let closed = case_of(&h, net, "p1").await;
            let r = h
                .t()
                .post(
                    &format!("/v1/cases/{closed}/resolve"),
                    Some(&tokens.moderator),
                    json!({ "action": "remove_content" }),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            all_msgs.insert(net, msgs);
        }
        let mut runs = Vec::new();
        for net in ["net1", "net2"] {
            let msgs = &all_msgs[net];
            let pol = policy(&h, net).await;
            let mut reports = Vec::new();
            for (reporter, key, _) in SCENARIO {
                reports.push(verified(&h, net, msgs[key].clone(), reporter).await);
            }
            let intakes: Vec<Intake<'_>> = SCENARIO
                .iter()
                .map(|(_, _, category)| intake(net, *category, &pol))
                .collect();
            let outcomes = if net == "net1" {
                let pairs: Vec<_> = intakes.iter().zip(&reports).collect();
                store_all(&h.state.db, &h.state.server_key, &pairs)
                    .await
                    .unwrap()
            } else {
                let mut v = Vec::new();
                for (i, r) in intakes.iter().zip(&reports) {
                    v.push(i.store(&h.state.db, &h.state.server_key, r).await);
                }
                v
            };
            let mut labels = Labels::default();
            let lines: Vec<String> = outcomes.iter().map(|o| outcome(&mut labels, o)).collect();
            let state = stored_state(&h, net, &mut labels).await;
            runs.push((lines, state));
        }
        let (batch, one_by_one) = (&runs[0], &runs[1]);
        assert_eq!(batch.0, one_by_one.0, "outcomes differ");
        assert_eq!(batch.1, one_by_one.1, "stored state differs");
        // The scenario exercises what it claims to.
        let o = &batch.0;
        assert!(o[0].contains("duplicate false count 1"), "{o:?}");
        assert!(o[1].contains("duplicate false count 2"), "{o:?}");
        assert!(o[2].contains("duplicate true count 2"), "{o:?}");
        assert!(o[4].contains("reopened Some(Resolved)"), "{o:?}");
        assert!(o[6].contains("duplicate true count 3"), "{o:?}");
        assert!(o[7].contains("duplicate true count 1"), "{o:?}");
        assert!(o[8].contains("duplicate false"), "{o:?}");
        assert_eq!(o[9], "refused rate_limited", "{o:?}");
        assert!(o[10].contains("duplicate false count 3"), "{o:?}");
        let has = |prefix: &str| {
            assert!(
                batch.1.iter().any(|l| l.starts_with(prefix)),
                "no line starts with {prefix:?}: {:#?}",
                batch.1
            );
        };
        // m1: created without a category, filled in by r2's; three reporters.
        has(
            r#"case 0 open count 3 category Some("spam") assignee None reporters ["r1", "r2", "r3"]"#,
        );
        // The resolved case is open again, its resolution cleared, with r4 and r5 added.
        has(
            r#"case 5 open count 3 category Some("spam") assignee None reporters ["p1", "r4", "r5"]"#,
        );
        has(r#"audit report.accept case 5 {"case_created":false,"reopened_from":"resolved""#);
        has("event case.reopened case 5 reporter null deliveries 1");
        has("event case.created case 0 reporter null deliveries 2");
        has(r#"counter ["reporter",6000,NET,"r7"] 3"#);
        has(r#"counter ["reporter",6000,NET,"r1"] 3"#);
        let r = h.t().get("/v1/admin/audit/verify", Some(&h.admin)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body["ok"], true, "{}", r.body);
    }
}

fn intake<'a>(net: &'a str, category: Option<&'a str>, policy: &'a Policy) -> Intake<'a> {
    Intake {
        network: net,
        category,
        policy,
        now: now_ms() as i64,
        actor: "service:svc@test",
        federation: Federation::Local,
    }
}

/// The case `reporter` reported on `net` (the first one).
async fn case_of(h: &Harness, net: &str, reporter: &str) -> String {
    let (id,): (String,) = sqlx::query_as(
        "SELECT case_id FROM reports WHERE network_id = $1 AND reporter = $2 \
         ORDER BY received_at LIMIT 1",
    )
    .bind(net)
    .bind(reporter)
    .fetch_one(&h.state.db)
    .await
    .unwrap();
    id
}

#[tokio::test]
async fn concurrent_reports_are_batched_and_each_answered() {
    for h in harnesses().await {
        let t = h.t();
        let mut subs = Vec::new();
        for i in 0..40 {
            let reporter = format!("user{i}");
            let ctx = dm("net1", "mallory", &reporter, &uniq("m"));
            let m = franked(&t, &h.net1.relay, ctx, format!("spam {i}").as_bytes()).await;
            subs.push(submission(&reporter, report_json(m, &reporter, vec![])));
        }
        // Every message twice, 40 requests at once.
        let mut calls = Vec::new();
        for s in subs.iter().chain(subs.iter()) {
            let (t, s, svc) = (h.t(), s.clone(), h.net1.service.clone());
            calls.push(tokio::spawn(async move {
                t.post("/v1/reports", Some(&svc), s).await
            }));
        }
        let mut created = 0;
        let mut duplicate = 0;
        let mut cases = HashMap::<String, Vec<String>>::new();
        for c in calls {
            let r = c.await.unwrap();
            match r.status {
                StatusCode::CREATED => created += 1,
                StatusCode::OK => duplicate += 1,
                s => panic!("unexpected {s}: {}", r.body),
            }
            cases
                .entry(r.body["case_id"].as_str().unwrap().to_owned())
                .or_default()
                .push(r.body["report_id"].as_str().unwrap().to_owned());
        }
        assert_eq!((created, duplicate), (40, 40));
        assert_eq!(cases.len(), 40, "one case per message");
        for (case, reports) in &cases {
            assert_eq!(reports.len(), 2, "{case}");
            assert_eq!(
                reports[0], reports[1],
                "a duplicate names the stored report"
            );
        }
        assert_eq!(count(&h.state, "reports").await, 40);
        assert_eq!(count(&h.state, "evidence").await, 40);
        // Fewer transactions than reports: the concurrent requests were batched.
        let metrics = h.t().get("/metrics", None).await;
        let text = metrics.body.as_str().unwrap().to_owned();
        let value = |name: &str| -> f64 {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
                .unwrap_or_else(|| panic!("{name} missing from {text}"))
        };
        let (transactions, reports) = (
            value("franking_intake_batch_reports_count"),
            value("franking_intake_batch_reports_sum"),
        );
        assert_eq!(reports, 80.0, "every request went through the queue");
        assert!(
            transactions < 80.0,
            "no batching: {transactions} transactions"
        );
        let r = h.t().get("/v1/admin/audit/verify", Some(&h.admin)).await;
        assert_eq!(r.body["ok"], true, "{}", r.body);
    }
}
