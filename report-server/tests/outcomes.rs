//! Reporter outcomes (`GET /v1/reports/{id}`), statements of reasons (per case and the export)
//! and the transparency report (JSON and CSV). SQLite, and PostgreSQL with `TEST_DATABASE_URL`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use serde_json::{Value, json};

/// Report a fresh message of `net` as `reporter` with `category`; returns the receipt.
async fn report(h: &Harness, net: &str, reporter: &str, mid: &str, category: &str) -> Value {
    let t = h.t();
    let tk = if net == "net1" { &h.net1 } else { &h.net2 };
    let m = franked(&t, &tk.relay, dm(net, "alice", reporter, mid), b"text").await;
    let mut sub = submission(reporter, report_json(m, reporter, vec![]));
    sub["category"] = json!(category);
    let r = t.post("/v1/reports", Some(&tk.service), sub).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body
}

#[tokio::test]
async fn reporter_outcomes_statements_and_transparency() {
    for h in harnesses().await {
        scenario(&h).await;
    }
}

async fn scenario(h: &Harness) {
    let t = h.t();
    let start = now_ms() as i64;
    let a = report(h, "net1", "bob", "m-a", "spam").await;
    let (case_a, rep_a) = (
        a["case_id"].as_str().unwrap().to_owned(),
        a["report_id"].as_str().unwrap().to_owned(),
    );
    let status = |id: String, token: String| {
        let t = t.clone();
        async move { t.get(&format!("/v1/reports/{id}"), Some(&token)).await }
    };
    // Undecided: state only.
    let r = status(rep_a.clone(), h.net1.service.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        (r.body["state"].as_str(), r.body["case_id"].as_str()),
        (Some("open"), Some(case_a.as_str()))
    );
    assert!(r.body["action"].is_null() && r.body["decided_at"].is_null());
    // Another network's service, a moderator, an unknown id: refused.
    let r = status(rep_a.clone(), h.net2.service.clone()).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
    let r = status(rep_a.clone(), h.net1.moderator.clone()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = status("rep_nope".into(), h.net1.service.clone()).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    act(h, &case_a, "assign", json!({ "assignee": "mod" })).await;
    assert_eq!(
        status(rep_a.clone(), h.net1.service.clone()).await.body["state"],
        "assigned"
    );
    act(
        h,
        &case_a,
        "resolve",
        json!({ "action": "ban_sender", "note": "private note" }),
    )
    .await;
    let r = status(rep_a.clone(), h.net1.service.clone()).await;
    assert_eq!(
        (r.body["state"].as_str(), r.body["action"].as_str()),
        (Some("resolved"), Some("ban_sender"))
    );
    assert!(r.body["decided_at"].is_i64());
    let text = r.body.to_string();
    assert!(
        !text.contains("mod") && !text.contains("private note"),
        "{text}"
    );
    let keys: Vec<&String> = r.body.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "action",
            "case_id",
            "decided_at",
            "received_at",
            "report_id",
            "state"
        ]
    );

    // More decisions: a dismissal, a reopen + second decision, another network.
    let b = report(h, "net1", "carol", "m-b", "harassment").await;
    let case_b = b["case_id"].as_str().unwrap().to_owned();
    act(h, &case_b, "dismiss", json!({})).await;
    act(h, &case_b, "reopen", json!({})).await;
    act(h, &case_b, "resolve", json!({ "action": "remove_content" })).await;
    let c = report(h, "net2", "dave", "m-c", "spam").await;
    act(
        h,
        c["case_id"].as_str().unwrap(),
        "resolve",
        json!({ "action": "warn_sender" }),
    )
    .await;
    report(h, "net1", "erin", "m-d", "spam").await; // undecided

    // Statements per case.
    let r = t
        .get(
            &format!("/v1/cases/{case_b}/statements-of-reasons"),
            Some(&h.admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let s = r.body["statements"].as_array().unwrap().clone();
    assert_eq!(s.len(), 2);
    assert_eq!(
        (s[0]["decision"].as_str(), s[0]["restriction"].as_bool()),
        (Some("dismissed"), Some(false))
    );
    assert_eq!(
        s[1]["decision_visibility"],
        json!(["DECISION_VISIBILITY_CONTENT_REMOVED"])
    );
    assert_eq!(
        s[1]["category"],
        "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH"
    );
    assert_eq!(
        s[1]["decision_ground"],
        "DECISION_GROUND_INCOMPATIBLE_CONTENT"
    );
    assert_eq!(s[1]["incompatible_content_ground"], "harassment");
    assert_eq!(s[1]["source_type"], "SOURCE_ARTICLE_16");
    assert_eq!(s[1]["application_date"].as_str().unwrap().len(), 10);
    let r = t
        .get(
            &format!("/v1/cases/{case_a}/statements-of-reasons"),
            Some(&h.admin),
        )
        .await;
    let sa = &r.body["statements"][0];
    assert_eq!(sa["decision_account"], "DECISION_ACCOUNT_TERMINATED");
    assert!(!sa.to_string().contains("private note"));
    let r = t
        .get(
            &format!("/v1/cases/{case_a}/statements-of-reasons"),
            Some(&h.net2.moderator),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // The export: every statement, paged, filterable by network.
    let r = t
        .get("/v1/admin/statements-of-reasons?limit=2", Some(&h.admin))
        .await;
    assert_eq!(r.body["statements"].as_array().unwrap().len(), 2);
    let next = r.body["next_cursor"].as_str().unwrap().to_owned();
    let r2 = t
        .get(
            &format!("/v1/admin/statements-of-reasons?limit=2&cursor={next}"),
            Some(&h.admin),
        )
        .await;
    assert_eq!(r2.body["statements"].as_array().unwrap().len(), 2);
    assert!(r2.body["next_cursor"].is_null());
    let r = t
        .get(
            "/v1/admin/statements-of-reasons?network=net2",
            Some(&h.admin),
        )
        .await;
    assert_eq!(
        r.body["statements"][0]["decision_visibility_other"],
        "warning to the sender"
    );
    assert_eq!(r.body["statements"].as_array().unwrap().len(), 1);

    // The transparency report.
    let end = now_ms() as i64 + 1;
    let r = t
        .get(
            &format!("/v1/admin/transparency?network=net1&from={start}&to={end}"),
            Some(&h.admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let rep = &r.body;
    assert_eq!(rep["reports_total"], 3);
    assert_eq!(
        rep["reports_by_category"],
        json!([
            { "category": "harassment", "decision": null, "count": 1 },
            { "category": "spam", "decision": null, "count": 2 },
        ])
    );
    assert_eq!(rep["decisions_total"], 3);
    assert_eq!(
        rep["decisions_by_action"],
        json!({ "ban_sender": 1, "dismissed": 1, "remove_content": 1 })
    );
    assert_eq!(rep["time_to_first_decision"]["cases"], 2);
    assert!(rep["time_to_first_decision"]["median_ms"].as_i64().unwrap() >= 0);
    assert!(
        rep["time_to_first_decision"]["p90_ms"].as_i64().unwrap()
            >= rep["time_to_first_decision"]["median_ms"].as_i64().unwrap()
    );
    assert_eq!(rep["evidence_purged"], 0);
    // An empty range.
    let r = t
        .get(
            &format!("/v1/admin/transparency?from={end}&to={}", end + 10),
            Some(&h.admin),
        )
        .await;
    assert_eq!(
        (
            r.body["reports_total"].as_i64(),
            r.body["time_to_first_decision"]["median_ms"].is_null()
        ),
        (Some(0), true)
    );
    // All networks.
    let r = t.get("/v1/admin/transparency", Some(&h.admin)).await;
    assert_eq!(
        (
            r.body["reports_total"].as_i64(),
            r.body["decisions_total"].as_i64()
        ),
        (Some(4), Some(4))
    );
    // CSV.
    let r = t
        .raw(
            Method::GET,
            "/v1/admin/transparency?network=net1",
            Some(&h.admin),
            None,
            Vec::new(),
        )
        .await;
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let req = axum::http::Request::builder()
        .uri("/v1/admin/transparency?network=net1")
        .header("authorization", format!("Bearer {}", h.admin))
        .header("accept", "text/csv")
        .body(axum::body::Body::empty())
        .unwrap();
    let resp = tower::ServiceExt::oneshot(h.app.clone(), req)
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = String::from_utf8(
        http_body_util::BodyExt::collect(resp.into_body())
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "metric,category,decision,value");
    assert!(lines.contains(&"reports_total,,,3"), "{csv}");
    assert!(lines.contains(&"decisions,spam,ban_sender,1"), "{csv}");
    assert!(lines.contains(&"time_to_first_decision_cases,,,2"), "{csv}");
    // Validation.
    let r = t
        .get("/v1/admin/transparency?from=5&to=1", Some(&h.admin))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "invalid_parameter")
    );
    let r = t
        .get("/v1/admin/transparency?bogus=1", Some(&h.admin))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = t
        .get("/v1/admin/transparency", Some(&h.net1.moderator))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}
