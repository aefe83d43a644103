//! Router-level tests (`tower::ServiceExt::oneshot`) on SQLite: every endpoint of the stamp,
//! report, admin and health areas, their error codes, and the endpoint × role matrix.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use franking_core::frank::{Context, KeyId, KeyRing, Stamp, StampKey};
use report_server::Limits;
use serde_json::{Value, json};

// ---------------------------------------------------------------- health

#[tokio::test]
async fn health_ready_metrics() {
    let h = harness().await;
    let t = h.t();
    let r = t.get("/healthz", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["status"], "ok");
    let r = t.get("/readyz", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["status"], "ready");
    // Generate a stamp and a rejected report so every family has samples.
    let m = franked(&t, &h.net1.relay, dm("net1", "alice", "bob", "m1"), b"hi").await;
    let bad = submission("mallory", report_json(m, "mallory", vec![]));
    let r = t.post("/v1/reports", Some(&h.net1.service), bad).await;
    assert_eq!(r.code(), "reporter_not_recipient");
    let r = t
        .raw(
            Method::POST,
            "/v1/reports",
            Some(&h.net1.service),
            Some("application/json"),
            b"{".to_vec(),
        )
        .await;
    assert_eq!(r.code(), "malformed");
    let r = t.get("/metrics", None).await;
    assert_eq!(r.status, StatusCode::OK);
    let text = r.body.as_str().unwrap().to_owned();
    assert!(
        text.contains(
            "franking_report_verdicts_total{verdict=\"rejected\",reason=\"malformed\"} 1"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "franking_http_requests_total{route=\"/v1/stamp\",method=\"POST\",status=\"200\"} 1"
        ),
        "{text}"
    );
    assert!(text.contains("franking_http_request_duration_seconds_bucket"));
    assert!(text.contains("franking_stamps_issued_total{network=\"net1\"} 1"));
    assert!(text.contains(
        "franking_report_verdicts_total{verdict=\"rejected\",reason=\"reporter_not_recipient\"} 1"
    ));
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
}

#[tokio::test]
async fn readyz_reports_database_down() {
    let h = harness().await;
    h.state.db.close().await;
    let r = h.t().get("/readyz", None).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.code(), "unavailable");
    // liveness does not depend on the database
    assert_eq!(h.t().get("/healthz", None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn unknown_route_is_json_404() {
    let h = harness().await;
    let r = h.t().get("/v1/nope", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.code(), "not_found");
}

#[tokio::test]
async fn wrong_method_is_json_405() {
    let h = harness().await;
    let r = h
        .t()
        .raw(Method::DELETE, "/healthz", None, None, Vec::new())
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.code(), "method_not_allowed");
}

#[tokio::test]
async fn unparsable_path_parameter_is_json_400() {
    let h = harness().await;
    let r = h
        .t()
        .post(
            "/v1/admin/networks/net1/keys/not-a-number/retire",
            Some(&h.admin),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.code(), "invalid_parameter");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not-a-number")
    );
}

// ---------------------------------------------------------------- stamp

#[tokio::test]
async fn stamp_verifies_with_the_networks_current_key() {
    let h = harness().await;
    let t = h.t();
    let m = franked(
        &t,
        &h.net1.relay,
        dm("net1", "alice", "bob", "m1"),
        b"hello",
    )
    .await;
    assert_eq!(m.stamp.key_id, KeyId(1));
    // The stamp verifies under the stored key (unsealed with the server key).
    let ring = report_server::keys::load_ring(&h.state.db, &h.state.server_key, "net1", 1000)
        .await
        .unwrap();
    ring.verify(&m.stamp, m.suite, &m.commitment, &m.context, now_ms(), 0)
        .unwrap();
    // net2's key is a different key.
    let ring2 = report_server::keys::load_ring(&h.state.db, &h.state.server_key, "net2", 1000)
        .await
        .unwrap();
    assert!(
        ring2
            .verify(&m.stamp, m.suite, &m.commitment, &m.context, now_ms(), 0)
            .is_err()
    );
}

fn stamp_req(ctx: &Context) -> Value {
    json!({ "suite": 2, "commitment": b64(&[7u8; 32]), "context": serde_json::to_value(ctx).unwrap() })
}

#[tokio::test]
async fn stamp_batch_in_order() {
    let h = harness().await;
    let t = h.t();
    let items: Vec<Value> = (0..5)
        .map(|i| stamp_req(&dm("net1", "alice", "bob", &format!("m{i}"))))
        .collect();
    let r = t
        .post(
            "/v1/stamp/batch",
            Some(&h.net1.relay),
            json!({ "items": items }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let stamps: Vec<Stamp> = serde_json::from_value(r.body["stamps"].clone()).unwrap();
    assert_eq!(stamps.len(), 5);
    // Each equals the single-stamp answer for the same item (HMAC is deterministic).
    for (i, s) in stamps.iter().enumerate() {
        let one = t
            .post("/v1/stamp", Some(&h.net1.relay), items[i].clone())
            .await;
        let one: Stamp = serde_json::from_value(one.body["stamp"].clone()).unwrap();
        assert_eq!(&one, s);
    }
}

#[tokio::test]
async fn stamp_errors() {
    let h = harness_with(
        TestDb::sqlite(),
        Limits {
            max_batch: 3,
            ..Limits::default()
        },
    )
    .await;
    let t = h.t();
    let relay = Some(h.net1.relay.as_str());
    let ctx = dm("net1", "alice", "bob", "m1");
    // wrong network in the context
    let r = t
        .post("/v1/stamp", relay, stamp_req(&dm("net2", "a", "b", "m")))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "wrong_network")
    );
    // unsupported suite
    let mut req = stamp_req(&ctx);
    req["suite"] = json!(9);
    let r = t.post("/v1/stamp", relay, req).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "unsupported_suite")
    );
    // bad commitment: not base64, wrong length
    for c in ["***", &b64(&[1u8; 31])] {
        let mut req = stamp_req(&ctx);
        req["commitment"] = json!(c);
        let r = t.post("/v1/stamp", relay, req).await;
        assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "malformed"));
    }
    // invalid context (sender is the only recipient -> no recipients)
    let mut req = stamp_req(&ctx);
    req["context"]["recipients"] = json!(["alice"]);
    let r = t.post("/v1/stamp", relay, req).await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "malformed"));
    // unknown field, not JSON, wrong content type
    let mut req = stamp_req(&ctx);
    req["extra"] = json!(1);
    assert_eq!(t.post("/v1/stamp", relay, req).await.code(), "malformed");
    let r = t
        .raw(
            Method::POST,
            "/v1/stamp",
            relay,
            Some("application/json"),
            b"{".to_vec(),
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "malformed"));
    let r = t
        .raw(
            Method::POST,
            "/v1/stamp",
            relay,
            Some("text/plain"),
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "unsupported_media_type")
    );
    // batch: empty, too large, one bad item (index reported)
    let r = t
        .post("/v1/stamp/batch", relay, json!({ "items": [] }))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "invalid_batch")
    );
    let four: Vec<Value> = (0..4).map(|_| stamp_req(&ctx)).collect();
    let r = t
        .post("/v1/stamp/batch", relay, json!({ "items": four }))
        .await;
    assert_eq!(r.code(), "invalid_batch");
    let mut items: Vec<Value> = (0..3).map(|_| stamp_req(&ctx)).collect();
    items[2]["suite"] = json!(0);
    let r = t
        .post("/v1/stamp/batch", relay, json!({ "items": items }))
        .await;
    assert_eq!(r.code(), "unsupported_suite");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("items[2]")
    );
    // No stamps counted for failed requests.
    let text = t
        .get("/metrics", None)
        .await
        .body
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!text.contains("franking_stamps_issued_total{"));
}

#[tokio::test]
async fn stamp_after_rotation_uses_new_key_and_old_stamps_still_report() {
    let h = harness().await;
    let t = h.t();
    let old = franked(
        &t,
        &h.net1.relay,
        dm("net1", "alice", "bob", "m-old"),
        b"old",
    )
    .await;
    let r = t
        .post(
            "/v1/admin/networks/net1/keys/rotate",
            Some(&h.admin),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["key_id"], 2);
    let new = franked(
        &t,
        &h.net1.relay,
        dm("net1", "alice", "bob", "m-new"),
        b"new",
    )
    .await;
    assert_eq!(new.stamp.key_id, KeyId(2));
    // The old stamp is inside the grace period: its report is accepted.
    let r = t
        .post(
            "/v1/reports",
            Some(&h.net1.service),
            submission("bob", report_json(old.clone(), "bob", vec![])),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    // Immediate retirement of key 1: reports of its stamps now fail with key_retired.
    let r = t
        .post(
            "/v1/admin/networks/net1/keys/1/retire",
            Some(&h.admin),
            json!({ "immediate": true }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let old2 = {
        // A fresh message stamped with key 1 directly (simulating a relay that stamped before the
        // rotation) — built with the stored key.
        let ring =
            report_server::keys::load_ring(&h.state.db, &h.state.server_key, "net1", u64::MAX)
                .await
                .unwrap();
        let _ = ring;
        old
    };
    let r = t
        .post(
            "/v1/reports",
            Some(&h.net1.service),
            submission("bob", report_json(old2, "bob", vec![])),
        )
        .await;
    // Duplicate or not, verification runs first: key 1 no longer verifies.
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "key_retired")
    );
}

// ---------------------------------------------------------------- reports

#[tokio::test]
async fn report_accept_group_and_duplicate() {
    let h = harness().await;
    let t = h.t();
    let svc = Some(h.net1.service.as_str());
    let ctx = Context::room(
        "net1",
        "alice",
        "room-1",
        vec!["bob".into(), "carol".into()],
        now_ms(),
        "m1",
    )
    .unwrap();
    let m = franked(&t, &h.net1.relay, ctx, b"spam spam").await;
    let r = t
        .post(
            "/v1/reports",
            svc,
            submission("bob", report_json(m.clone(), "bob", vec![])),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["verdict"], "accepted");
    assert_eq!(r.body["duplicate"], false);
    assert_eq!(r.body["report_count"], 1);
    let case_id = r.body["case_id"].as_str().unwrap().to_owned();
    let report_id = r.body["report_id"].as_str().unwrap().to_owned();
    // Same reporter again: idempotent.
    let r = t
        .post(
            "/v1/reports",
            svc,
            submission("bob", report_json(m.clone(), "bob", vec![])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["duplicate"], true);
    assert_eq!(r.body["case_id"], case_id.as_str());
    assert_eq!(r.body["report_id"], report_id.as_str());
    assert_eq!(r.body["report_count"], 1);
    // Another recipient: same case, count 2.
    let r = t
        .post(
            "/v1/reports",
            svc,
            submission("carol", report_json(m.clone(), "carol", vec![])),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.body["case_id"], case_id.as_str());
    assert_eq!(r.body["report_count"], 2);
    // A different message: a different case.
    let m2 = franked(
        &t,
        &h.net1.relay,
        dm("net1", "alice", "bob", "m2"),
        b"other",
    )
    .await;
    let r = t
        .post(
            "/v1/reports",
            svc,
            submission("bob", report_json(m2, "bob", vec![])),
        )
        .await;
    assert_ne!(r.body["case_id"], case_id.as_str());
    assert_eq!(count(&h.state, "cases").await, 2);
    assert_eq!(count(&h.state, "reports").await, 3);
    assert_eq!(count(&h.state, "case_reporters").await, 3);
    assert_eq!(count(&h.state, "evidence").await, 3);
    // Evidence is sealed (no plaintext in the row) and opens with the server key.
    use sqlx::Row as _;
    let row = sqlx::query(
        "SELECT id, case_id, sealed FROM evidence WHERE case_id = $1 ORDER BY created_at",
    )
    .bind(&case_id)
    .fetch_all(&h.state.db)
    .await
    .unwrap();
    let sealed: String = row[0].try_get("sealed").unwrap();
    assert!(!sealed.contains("spam"));
    let id: String = row[0].try_get("id").unwrap();
    let plain = report_server::seal::open(
        &h.state.server_key,
        report_server::evidence::SEAL_PURPOSE,
        &report_server::evidence::seal_context(&id, &case_id),
        &sealed,
    )
    .unwrap();
    let report: franking_core::frank::Report = serde_json::from_slice(&plain).unwrap();
    assert_eq!(report.message.plaintext, b"spam spam");
    // Case row: count, state, grouping data.
    let case = sqlx::query("SELECT state, report_count, sender, category FROM cases WHERE id = $1")
        .bind(&case_id)
        .fetch_one(&h.state.db)
        .await
        .unwrap();
    assert_eq!(case.try_get::<String, _>("state").unwrap(), "open");
    assert_eq!(case.try_get::<i64, _>("report_count").unwrap(), 2);
    assert_eq!(case.try_get::<String, _>("sender").unwrap(), "alice");
    assert_eq!(
        case.try_get::<Option<String>, _>("category")
            .unwrap()
            .as_deref(),
        Some("spam")
    );
}

/// Every rejection path: status, code, and nothing written.
#[tokio::test]
async fn report_rejections_write_nothing() {
    let h = harness().await;
    let t = h.t();
    let svc = Some(h.net1.service.as_str());
    let m = franked(
        &t,
        &h.net1.relay,
        dm("net1", "alice", "bob", "m1"),
        b"hello",
    )
    .await;
    let ok = report_json(m.clone(), "bob", vec![]);

    let mut cases: Vec<(Value, StatusCode, &str)> = Vec::new();
    // wire-level
    let mut v = ok.clone();
    v["v"] = json!(2);
    cases.push((
        submission("bob", v),
        StatusCode::BAD_REQUEST,
        "unsupported_version",
    ));
    let mut v = ok.clone();
    v["message"]["suite"] = json!(7);
    cases.push((
        submission("bob", v),
        StatusCode::BAD_REQUEST,
        "unsupported_suite",
    ));
    let mut v = ok.clone();
    v["message"]["nonce"] = json!("!!");
    cases.push((submission("bob", v), StatusCode::BAD_REQUEST, "malformed"));
    cases.push((
        submission("bob", json!([1, 2])),
        StatusCode::BAD_REQUEST,
        "malformed",
    ));
    cases.push((
        json!({ "reporter": "bob" }),
        StatusCode::BAD_REQUEST,
        "malformed",
    ));
    // verification
    let mut bad = m.clone();
    bad.stamp.mac[0] ^= 1;
    cases.push((
        submission("bob", report_json(bad, "bob", vec![])),
        StatusCode::UNPROCESSABLE_ENTITY,
        "bad_stamp",
    ));
    let mut bad = m.clone();
    bad.stamp.key_id = KeyId(99);
    cases.push((
        submission("bob", report_json(bad, "bob", vec![])),
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_key_id",
    ));
    let mut bad = m.clone();
    bad.plaintext = b"hellO".to_vec();
    cases.push((
        submission("bob", report_json(bad, "bob", vec![])),
        StatusCode::UNPROCESSABLE_ENTITY,
        "commitment_mismatch",
    ));
    cases.push((
        submission("carol", report_json(m.clone(), "carol", vec![])),
        StatusCode::UNPROCESSABLE_ENTITY,
        "reporter_not_recipient",
    ));
    cases.push((
        submission("alice", report_json(m.clone(), "bob", vec![])),
        StatusCode::UNPROCESSABLE_ENTITY,
        "reporter_mismatch",
    ));
    let mut s = submission("bob", ok.clone());
    s["category"] = json!("not-a-category");
    cases.push((s, StatusCode::UNPROCESSABLE_ENTITY, "unknown_category"));
    // outside the window: a context stamped far in the future (beyond the clock skew)
    let future = Context::direct("net1", "alice", "bob", now_ms() + 3_600_000, "m-future").unwrap();
    let fm = franked(&t, &h.net1.relay, future, b"later").await;
    cases.push((
        submission("bob", report_json(fm, "bob", vec![])),
        StatusCode::UNPROCESSABLE_ENTITY,
        "outside_window",
    ));
    // earlier message from another conversation
    let other = franked(&t, &h.net1.relay, dm("net1", "alice", "dave", "m0"), b"x").await;
    cases.push((
        submission("bob", report_json(m.clone(), "bob", vec![other])),
        StatusCode::UNPROCESSABLE_ENTITY,
        "not_same_conversation",
    ));
    // a message of another network, submitted by net1's service
    let n2 = franked(
        &t,
        &h.net2.relay,
        dm("net2", "alice", "bob", "m1"),
        b"hello",
    )
    .await;
    cases.push((
        submission("bob", report_json(n2, "bob", vec![])),
        StatusCode::FORBIDDEN,
        "wrong_network",
    ));

    for (body, status, code) in cases {
        let r = t.post("/v1/reports", svc, body).await;
        assert_eq!((r.status, r.code()), (status, code), "{}", r.body);
    }
    for table in [
        "cases",
        "reports",
        "case_reporters",
        "evidence",
        "rate_counters",
    ] {
        assert_eq!(
            count(&h.state, table).await,
            0,
            "{table} written on a rejected report"
        );
    }
    // The good report is still accepted afterwards.
    let r = t.post("/v1/reports", svc, submission("bob", ok)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

#[tokio::test]
async fn report_outside_window_after_policy_change() {
    let h = harness().await;
    let t = h.t();
    let old = Context::direct("net1", "alice", "bob", now_ms() - 10_000, "m1").unwrap();
    let m = franked(&t, &h.net1.relay, old, b"old").await;
    let mut p = t
        .get("/v1/admin/networks/net1/policy", Some(&h.admin))
        .await
        .body;
    p["window_ms"] = json!(1000);
    let r = t
        .call(
            Method::PUT,
            "/v1/admin/networks/net1/policy",
            Some(&h.admin),
            Some(p),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = t
        .post(
            "/v1/reports",
            Some(&h.net1.service),
            submission("bob", report_json(m, "bob", vec![])),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "outside_window")
    );
}

#[tokio::test]
async fn report_with_earlier_messages() {
    let h = harness().await;
    let t = h.t();
    let e = franked(
        &t,
        &h.net1.relay,
        Context::direct("net1", "alice", "bob", now_ms() - 5000, "m0").unwrap(),
        b"before",
    )
    .await;
    let m = franked(&t, &h.net1.relay, dm("net1", "alice", "bob", "m1"), b"now").await;
    let r = t
        .post(
            "/v1/reports",
            Some(&h.net1.service),
            submission("bob", report_json(m, "bob", vec![e])),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

#[tokio::test]
async fn report_rate_limits_per_reporter_and_network() {
    let h = harness().await;
    let t = h.t();
    let svc = Some(h.net1.service.as_str());
    let mut p = t
        .get("/v1/admin/networks/net1/policy", Some(&h.admin))
        .await
        .body;
    p["reporter_rate_limit"] = json!(2);
    p["network_rate_limit"] = json!(3);
    let r = t
        .call(
            Method::PUT,
            "/v1/admin/networks/net1/policy",
            Some(&h.admin),
            Some(p),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let ctx = Context::room(
        "net1",
        "alice",
        "r",
        vec!["bob".into(), "carol".into()],
        now_ms(),
        "m1",
    )
    .unwrap();
    let m = franked(&t, &h.net1.relay, ctx, b"x").await;
    // bob: 2 allowed (a duplicate counts as a submission), the 3rd is limited
    for _ in 0..2 {
        let r = t
            .post(
                "/v1/reports",
                svc,
                submission("bob", report_json(m.clone(), "bob", vec![])),
            )
            .await;
        assert!(r.status.is_success(), "{}", r.body);
    }
    let r = t
        .post(
            "/v1/reports",
            svc,
            submission("bob", report_json(m.clone(), "bob", vec![])),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    assert!(r.headers.get("retry-after").is_some());
    // carol: 1 more fits the network limit of 3, then the network is limited
    let r = t
        .post(
            "/v1/reports",
            svc,
            submission("carol", report_json(m.clone(), "carol", vec![])),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let m2 = franked(&t, &h.net1.relay, dm("net1", "alice", "dave", "m2"), b"y").await;
    let r = t
        .post(
            "/v1/reports",
            svc,
            submission("dave", report_json(m2.clone(), "dave", vec![])),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("network")
    );
    // net2 is unaffected
    let m3 = franked(&t, &h.net2.relay, dm("net2", "alice", "bob", "m3"), b"z").await;
    let r = t
        .post(
            "/v1/reports",
            Some(&h.net2.service),
            submission("bob", report_json(m3, "bob", vec![])),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
}

#[tokio::test]
async fn body_limit_is_413_json() {
    let h = harness_with(
        TestDb::sqlite(),
        Limits {
            max_body_bytes: 1024,
            ..Limits::default()
        },
    )
    .await;
    let t = h.t();
    let big = json!({ "reporter": "bob", "report": { "v": 1, "pad": "x".repeat(4096) } });
    let r = t.post("/v1/reports", Some(&h.net1.service), big).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
}

// ---------------------------------------------------------------- admin

#[tokio::test]
async fn admin_networks_and_policy() {
    let h = harness().await;
    let t = h.t();
    let a = Some(h.admin.as_str());
    let r = t
        .post(
            "/v1/admin/networks",
            a,
            json!({ "id": "net3", "display_name": "Three" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["keys"][0]["key_id"], 1);
    assert_eq!(r.body["keys"][0]["status"], "current");
    assert!(r.body["keys"][0].get("secret_sealed").is_none());
    let r = t
        .post("/v1/admin/networks", a, json!({ "id": "net3" }))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "already_exists")
    );
    let r = t.post("/v1/admin/networks", a, json!({ "id": "" })).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "invalid_parameter")
    );
    let mut bad_policy = serde_json::to_value(report_server::keys::Policy::default()).unwrap();
    bad_policy["window_ms"] = json!(0);
    let r = t
        .post(
            "/v1/admin/networks",
            a,
            json!({ "id": "net4", "policy": bad_policy }),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "invalid_policy")
    );
    let r = t.get("/v1/admin/networks", a).await;
    let ids: Vec<&str> = r.body["networks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["net1", "net2", "net3"]);
    let r = t.get("/v1/admin/networks/net3", a).await;
    assert_eq!(r.body["display_name"], "Three");
    assert_eq!(t.get("/v1/admin/networks/zzz", a).await.code(), "not_found");
    // policy
    let mut p = t.get("/v1/admin/networks/net3/policy", a).await.body;
    p["categories"] = json!(["spam"]);
    let r = t
        .call(
            Method::PUT,
            "/v1/admin/networks/net3/policy",
            a,
            Some(p.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(t.get("/v1/admin/networks/net3/policy", a).await.body, p);
    p["rate_window_ms"] = json!(0);
    let r = t
        .call(
            Method::PUT,
            "/v1/admin/networks/net3/policy",
            a,
            Some(p.clone()),
        )
        .await;
    assert_eq!(r.code(), "invalid_policy");
    p["unknown"] = json!(1);
    let r = t
        .call(Method::PUT, "/v1/admin/networks/net3/policy", a, Some(p))
        .await;
    assert_eq!(r.code(), "malformed");
    let r = t
        .call(
            Method::PUT,
            "/v1/admin/networks/zzz/policy",
            a,
            Some(serde_json::to_value(report_server::keys::Policy::default()).unwrap()),
        )
        .await;
    assert_eq!(r.code(), "not_found");
    // disable: the network's tokens stop working; re-enable restores them
    let r = t
        .call(
            Method::PATCH,
            "/v1/admin/networks/net1",
            a,
            Some(json!({ "disabled": true })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body["disabled_at"].is_i64());
    let r = t.post("/v1/stamp", Some(&h.net1.relay), json!({})).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "network_disabled")
    );
    t.call(
        Method::PATCH,
        "/v1/admin/networks/net1",
        a,
        Some(json!({ "disabled": false, "display_name": "One" })),
    )
    .await;
    franked(&t, &h.net1.relay, dm("net1", "a", "b", "m"), b"x").await;
    // audit log entries exist for the changes
    assert!(count(&h.state, "audit_log").await >= 4);
}

#[tokio::test]
async fn admin_keys_rotate_retire() {
    let h = harness().await;
    let t = h.t();
    let a = Some(h.admin.as_str());
    let r = t
        .post(
            "/v1/admin/networks/net1/keys/rotate",
            a,
            json!({ "key_id": 10 }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["key_id"], 10);
    let r = t
        .post(
            "/v1/admin/networks/net1/keys/rotate",
            a,
            json!({ "key_id": 1 }),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "duplicate_key_id")
    );
    // empty body: next id
    let r = t
        .raw(
            Method::POST,
            "/v1/admin/networks/net1/keys/rotate",
            a,
            None,
            vec![],
        )
        .await;
    assert_eq!(r.body["key_id"], 11);
    let r = t.get("/v1/admin/networks/net1/keys", a).await;
    let keys = r.body["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 3);
    assert_eq!(keys.iter().filter(|k| k["status"] == "current").count(), 1);
    assert_eq!(keys[2]["status"], "current");
    assert!(keys[0]["retired_at"].is_i64());
    let r = t
        .post("/v1/admin/networks/net1/keys/11/retire", a, json!({}))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "key_is_current")
    );
    let r = t
        .post("/v1/admin/networks/net1/keys/1/retire", a, json!({}))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "already_retired")
    );
    let r = t
        .post(
            "/v1/admin/networks/net1/keys/1/retire",
            a,
            json!({ "immediate": true }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    // The retirement time is kept; the stop time is recorded beside it (issue 15).
    let k1 = &r.body["keys"][0];
    assert_eq!(k1["key_id"], 1);
    let (retired, stopped) = (
        k1["retired_at"].as_i64().unwrap(),
        k1["stopped_at"].as_i64().unwrap(),
    );
    assert!(retired > 0 && stopped >= retired, "{k1}");
    assert!(r.body["keys"][1]["stopped_at"].is_null());
    let r = t
        .post(
            "/v1/admin/networks/net1/keys/77/retire",
            a,
            json!({ "immediate": true }),
        )
        .await;
    assert_eq!(r.code(), "not_found");
    let r = t
        .post("/v1/admin/networks/zzz/keys/rotate", a, json!({}))
        .await;
    assert_eq!(r.code(), "not_found");
    assert_eq!(
        t.get("/v1/admin/networks/zzz/keys", a).await.code(),
        "not_found"
    );
    let r = t
        .post(
            "/v1/admin/networks/net1/keys/rotate",
            a,
            json!({ "key_id": -1 }),
        )
        .await;
    assert_eq!(r.code(), "malformed");
    // Stored secrets are sealed: not the raw key, and bound to their row.
    use sqlx::Row as _;
    let rows = sqlx::query("SELECT secret_sealed FROM stamping_keys")
        .fetch_all(&h.state.db)
        .await
        .unwrap();
    let sealed: Vec<String> = rows
        .iter()
        .map(|r| r.try_get("secret_sealed").unwrap())
        .collect();
    let ring = report_server::keys::load_ring(&h.state.db, &h.state.server_key, "net1", 0)
        .await
        .unwrap();
    let raw = b64(ring.current().expose_mac_key());
    assert!(sealed.iter().all(|s| !s.contains(&raw)));
    // Copy key 10's sealed secret into key 11's row: unsealing fails (AD binds the row).
    sqlx::query("UPDATE stamping_keys SET secret_sealed = (SELECT secret_sealed FROM stamping_keys WHERE network_id = 'net1' AND key_id = 10) WHERE network_id = 'net1' AND key_id = 11")
        .execute(&h.state.db)
        .await
        .unwrap();
    assert!(
        report_server::keys::load_current(&h.state.db, &h.state.server_key, "net1")
            .await
            .is_err()
    );
    let _unused: Option<(StampKey, KeyRing)> = None;
}

#[tokio::test]
async fn admin_tokens_issue_list_revoke() {
    let h = harness().await;
    let t = h.t();
    let a = Some(h.admin.as_str());
    let r = t
        .post(
            "/v1/admin/tokens",
            a,
            json!({ "role": "relay", "network": "net2", "subject": "relay-eu" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let tok = r.body["token"].as_str().unwrap().to_owned();
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(tok.len(), 43);
    // the token works for net2 stamping
    franked(&t, &tok, dm("net2", "a", "b", "m"), b"x").await;
    // stored only hashed
    use sqlx::Row as _;
    let hashes: Vec<String> = sqlx::query("SELECT token_hash FROM tokens")
        .fetch_all(&h.state.db)
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get("token_hash").unwrap())
        .collect();
    assert!(hashes.iter().all(|hh| hh.len() == 64 && *hh != tok));
    assert!(hashes.contains(&report_server::util::sha256_hex(tok.as_bytes())));
    // list never shows secrets or hashes; filters work
    let r = t.get("/v1/admin/tokens?network=net2&role=relay", a).await;
    let list = r.body["tokens"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert!(
        list.iter()
            .all(|x| x.get("token").is_none() && x.get("token_hash").is_none())
    );
    assert!(!r.body.to_string().contains(&tok));
    let r = t.get("/v1/admin/tokens", a).await;
    assert_eq!(r.body["tokens"].as_array().unwrap().len(), 8);
    let r = t.get("/v1/admin/tokens?role=king", a).await;
    assert_eq!(r.code(), "invalid_parameter");
    // validation
    let r = t
        .post(
            "/v1/admin/tokens",
            a,
            json!({ "role": "relay", "subject": "x" }),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "invalid_parameter")
    );
    let r = t
        .post(
            "/v1/admin/tokens",
            a,
            json!({ "role": "admin", "network": "net1", "subject": "x" }),
        )
        .await;
    assert_eq!(r.code(), "invalid_parameter");
    let r = t
        .post(
            "/v1/admin/tokens",
            a,
            json!({ "role": "relay", "network": "zzz", "subject": "x" }),
        )
        .await;
    assert_eq!(r.code(), "not_found");
    let r = t
        .post(
            "/v1/admin/tokens",
            a,
            json!({ "role": "root", "subject": "x" }),
        )
        .await;
    assert_eq!(r.code(), "malformed");
    // a second admin token works
    let r = t
        .post(
            "/v1/admin/tokens",
            a,
            json!({ "role": "admin", "subject": "ops" }),
        )
        .await;
    let admin2 = r.body["token"].as_str().unwrap().to_owned();
    assert_eq!(
        t.get("/v1/admin/networks", Some(&admin2)).await.status,
        StatusCode::OK
    );
    // revoke: 401 afterwards; revoking again is idempotent; unknown id is 404
    let r = t
        .call(Method::DELETE, &format!("/v1/admin/tokens/{id}"), a, None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["revoked"], true);
    let r = t.post("/v1/stamp", Some(&tok), json!({})).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );
    let r = t
        .call(Method::DELETE, &format!("/v1/admin/tokens/{id}"), a, None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        t.call(Method::DELETE, "/v1/admin/tokens/tok_nope", a, None)
            .await
            .code(),
        "not_found"
    );
    // expiring token
    let r = t
        .post(
            "/v1/admin/tokens",
            a,
            json!({ "role": "relay", "network": "net1", "subject": "x", "expires_in_ms": 0 }),
        )
        .await;
    let expired = r.body["token"].as_str().unwrap().to_owned();
    let r = t.post("/v1/stamp", Some(&expired), json!({})).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

// ---------------------------------------------------------------- auth matrix

/// Every endpoint of this crate × every role: 401 without/with a bad token, 403 for the wrong
/// role, and never 401/403 for the right one.
#[tokio::test]
async fn endpoint_role_matrix() {
    let h = harness().await;
    let t = h.t();
    let m = franked(&t, &h.net1.relay, dm("net1", "alice", "bob", "m1"), b"x").await;
    let report = submission("bob", report_json(m, "bob", vec![]));
    let stamp = stamp_req(&dm("net1", "alice", "bob", "m2"));
    let endpoints: Vec<(Method, &str, Option<Value>, &str)> = vec![
        (Method::POST, "/v1/stamp", Some(stamp.clone()), "relay"),
        (
            Method::POST,
            "/v1/stamp/batch",
            Some(json!({ "items": [stamp] })),
            "relay",
        ),
        (Method::POST, "/v1/reports", Some(report), "service"),
        (
            Method::POST,
            "/v1/admin/networks",
            Some(json!({ "id": "matrix" })),
            "admin",
        ),
        (Method::GET, "/v1/admin/networks", None, "admin"),
        (Method::GET, "/v1/admin/networks/net1", None, "admin"),
        (
            Method::PATCH,
            "/v1/admin/networks/net2",
            Some(json!({ "display_name": "Two" })),
            "admin",
        ),
        (Method::GET, "/v1/admin/networks/net1/policy", None, "admin"),
        (
            Method::PUT,
            "/v1/admin/networks/net2/policy",
            Some(serde_json::to_value(report_server::keys::Policy::default()).unwrap()),
            "admin",
        ),
        (Method::GET, "/v1/admin/networks/net1/keys", None, "admin"),
        (
            Method::POST,
            "/v1/admin/networks/net2/keys/rotate",
            Some(json!({})),
            "admin",
        ),
        (
            Method::POST,
            "/v1/admin/networks/net2/keys/1/retire",
            Some(json!({ "immediate": true })),
            "admin",
        ),
        (
            Method::POST,
            "/v1/admin/tokens",
            Some(json!({ "role": "relay", "network": "net2", "subject": "m" })),
            "admin",
        ),
        (Method::GET, "/v1/admin/tokens", None, "admin"),
        (
            Method::DELETE,
            "/v1/admin/tokens/tok_unknown",
            None,
            "admin",
        ),
    ];
    let roles: Vec<(&str, Option<String>)> = vec![
        ("none", None),
        ("garbage", Some("not-a-token".into())),
        ("unknown", Some(b64(&[9u8; 32]))),
        ("admin", Some(h.admin.clone())),
        ("moderator", Some(h.net1.moderator.clone())),
        ("relay", Some(h.net1.relay.clone())),
        ("service", Some(h.net1.service.clone())),
    ];
    for (method, path, body, allowed) in &endpoints {
        for (role, token) in &roles {
            let r = t
                .call(method.clone(), path, token.as_deref(), body.clone())
                .await;
            let ctx = format!("{method} {path} as {role}: {} {}", r.status, r.body);
            match *role {
                "none" | "garbage" | "unknown" => {
                    assert_eq!(
                        (r.status, r.code()),
                        (StatusCode::UNAUTHORIZED, "unauthorized"),
                        "{ctx}"
                    );
                }
                _ if role == allowed => {
                    assert!(
                        r.status != StatusCode::UNAUTHORIZED && r.status != StatusCode::FORBIDDEN,
                        "{ctx}"
                    );
                    assert!(!r.status.is_server_error(), "{ctx}");
                }
                _ => assert_eq!(
                    (r.status, r.code()),
                    (StatusCode::FORBIDDEN, "forbidden"),
                    "{ctx}"
                ),
            }
        }
    }
    // Per-network roles are bound to their network: net2's relay/service cannot act for net1.
    let r = t
        .post(
            "/v1/stamp",
            Some(&h.net2.relay),
            stamp_req(&dm("net1", "a", "b", "m")),
        )
        .await;
    assert_eq!(r.code(), "wrong_network");
    // Public endpoints need no token.
    for p in ["/healthz", "/readyz", "/metrics"] {
        assert_eq!(t.get(p, None).await.status, StatusCode::OK);
    }
    // Authorization header variants: wrong scheme, lower-case scheme.
    let r = t
        .raw(Method::GET, "/v1/admin/networks", None, None, vec![])
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

/// The hot-path cache (`--stamp-cache-ms`): the instance an admin change is made on reads it at
/// once; another instance over the same database keeps relay and service authentications, the
/// current key and the network's policy for at most the TTL; moderator tokens are never cached.
#[tokio::test]
async fn hot_path_cache_bounded_staleness() {
    use std::sync::Arc;

    use report_server::cache::TtlMap;

    let ttl = std::time::Duration::from_secs(2);
    let h = harness_with(
        default_db().await,
        Limits {
            stamp_cache_ttl: ttl,
            ..Limits::default()
        },
    )
    .await;
    let a = Some(h.admin.as_str());
    let here = h.t();
    // A second instance over the same database, with caches of its own.
    let there = Transport::Router(report_server::router(report_server::AppState {
        token_callers: Arc::new(TtlMap::new(ttl)),
        current_keys: Arc::new(TtlMap::new(ttl)),
        policies: Arc::new(TtlMap::new(ttl)),
        ..h.state.clone()
    }));
    let token =
        |role: &str, subject: &str| json!({ "role": role, "network": "net1", "subject": subject });
    let mut issued = Vec::new();
    for (role, subject) in [("relay", "c"), ("service", "s"), ("moderator", "m")] {
        let r = here.post("/v1/admin/tokens", a, token(role, subject)).await;
        issued.push((
            r.body["id"].as_str().unwrap().to_owned(),
            r.body["token"].as_str().unwrap().to_owned(),
        ));
    }
    let [
        (relay_id, relay),
        (service_id, service),
        (moderator_id, moderator),
    ] = <[(String, String); 3]>::try_from(issued).unwrap();
    // A report of a new message stamped through `t`.
    let report = |t: &Transport, mid: &'static str| {
        let t = t.clone();
        let relay = h.net1.relay.clone();
        async move {
            let m = franked(&t, &relay, dm("net1", "mallory", "bob", mid), b"x").await;
            submission("bob", report_json(m, "bob", vec![]))
        }
    };
    // Warm both instances: the relay and service tokens, key 1, the policy (category "spam").
    for t in [&here, &there] {
        let r = t
            .post(
                "/v1/stamp",
                Some(&relay),
                stamp_req(&dm("net1", "a", "b", "w")),
            )
            .await;
        assert_eq!(r.body["stamp"]["key_id"], 1);
        assert_eq!(
            t.post("/v1/reports", Some(&service), json!({}))
                .await
                .code(),
            "malformed"
        );
        assert_eq!(
            t.get("/v1/cases", Some(&moderator)).await.status,
            StatusCode::OK
        );
    }
    let r = there
        .post(
            "/v1/reports",
            Some(&h.net1.service),
            report(&there, "p1").await,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    // Admin changes on this instance: tokens revoked, key rotated, "spam" no longer a category.
    for id in [&relay_id, &service_id, &moderator_id] {
        let r = here
            .call(Method::DELETE, &format!("/v1/admin/tokens/{id}"), a, None)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    here.post("/v1/admin/networks/net1/keys/rotate", a, json!({}))
        .await;
    let mut p = here.get("/v1/admin/networks/net1/policy", a).await.body;
    p["categories"] = json!(["other"]);
    let r = here
        .call(Method::PUT, "/v1/admin/networks/net1/policy", a, Some(p))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Here: every change is in force at once.
    let in_force = |t: &Transport, mid: &'static str| {
        let t = t.clone();
        let (relay, service, moderator) = (relay.clone(), service.clone(), moderator.clone());
        let (own_relay, own_service) = (h.net1.relay.clone(), h.net1.service.clone());
        async move {
            let ctx = dm("net1", "a", "b", mid);
            let r = t.post("/v1/stamp", Some(&relay), stamp_req(&ctx)).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "revoked relay");
            let r = t.post("/v1/reports", Some(&service), json!({})).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "revoked service");
            let r = t.post("/v1/stamp", Some(&own_relay), stamp_req(&ctx)).await;
            assert_eq!(r.body["stamp"]["key_id"], 2, "rotated key");
            let r = t
                .post("/v1/reports", Some(&own_service), report(&t, mid).await)
                .await;
            assert_eq!(r.code(), "unknown_category", "policy");
            let r = t.get("/v1/cases", Some(&moderator)).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "revoked moderator");
        }
    };
    in_force(&here, "h1").await;
    // There, within the TTL: the cached authentications, key and policy are still used; the
    // moderator token, never cached, is refused at once.
    let r = there
        .post(
            "/v1/stamp",
            Some(&relay),
            stamp_req(&dm("net1", "a", "b", "t1")),
        )
        .await;
    assert_eq!(
        (r.status, r.body["stamp"]["key_id"].clone()),
        (StatusCode::OK, json!(1))
    );
    assert_eq!(
        there
            .post("/v1/reports", Some(&service), json!({}))
            .await
            .code(),
        "malformed"
    );
    let r = there
        .post(
            "/v1/reports",
            Some(&h.net1.service),
            report(&there, "t2").await,
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::CREATED,
        "stale policy still accepts spam: {}",
        r.body
    );
    // A stamp by a key the cached policy does not know yet (made here, after the rotation) makes
    // there read the policy and keys afresh: verified, then refused by the new policy.
    let r = there
        .post(
            "/v1/reports",
            Some(&h.net1.service),
            report(&here, "t4").await,
        )
        .await;
    assert_eq!(r.code(), "unknown_category", "{}", r.body);
    let r = there.get("/v1/cases", Some(&moderator)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // There, after the TTL: every change is in force.
    tokio::time::sleep(ttl + std::time::Duration::from_millis(100)).await;
    in_force(&there, "t3").await;
}

#[tokio::test]
async fn slow_requests_get_408_timeout() {
    let h = harness_with(
        default_db().await,
        Limits {
            request_timeout: std::time::Duration::from_millis(300),
            ..Limits::default()
        },
    )
    .await;
    let t = h.t();
    let m = franked(&t, &h.net1.relay, dm("net1", "alice", "bob", "m1"), b"x").await;
    // Hold the database's write lock so the intake transaction waits past the timeout.
    let mut blocker = h.state.db.begin().await.unwrap();
    match h.state.backend {
        report_server::db::Backend::Sqlite => {
            sqlx::query(
                "INSERT INTO server_meta (name, value, created_at) VALUES ('lock', 'x', 0)",
            )
            .execute(&mut *blocker)
            .await
            .unwrap();
        }
        report_server::db::Backend::Postgres => {
            sqlx::query("LOCK TABLE rate_counters IN ACCESS EXCLUSIVE MODE")
                .execute(&mut *blocker)
                .await
                .unwrap();
        }
    }
    let r = t
        .post(
            "/v1/reports",
            Some(&h.net1.service),
            submission("bob", report_json(m, "bob", vec![])),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::REQUEST_TIMEOUT, "timeout")
    );
    blocker.rollback().await.unwrap();
    // Nothing was stored by the timed-out request.
    assert_eq!(count(&h.state, "reports").await, 0);
}

#[tokio::test]
async fn rotate_key_ids_exhausted() {
    let h = harness().await;
    let t = h.t();
    let a = Some(h.admin.as_str());
    let r = t
        .post(
            "/v1/admin/networks/net1/keys/rotate",
            a,
            json!({ "key_id": u32::MAX }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = t
        .post("/v1/admin/networks/net1/keys/rotate", a, json!({}))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "key_ids_exhausted")
    );
    // The failed rotation rolled back: key u32::MAX is still current.
    let r = t.get("/v1/admin/networks/net1/keys", a).await;
    let current: Vec<_> = r.body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["status"] == "current")
        .collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["key_id"], u64::from(u32::MAX));
}

/// The sliding window ends: after `rate_window_ms` a limited reporter may submit again.
#[tokio::test]
async fn rate_limit_window_slides() {
    let h = harness().await;
    let t = h.t();
    let a = Some(h.admin.as_str());
    let svc = Some(h.net1.service.as_str());
    let mut p = t.get("/v1/admin/networks/net1/policy", a).await.body;
    p["reporter_rate_limit"] = json!(1);
    p["rate_window_ms"] = json!(500);
    let r = t
        .call(Method::PUT, "/v1/admin/networks/net1/policy", a, Some(p))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let m = franked(&t, &h.net1.relay, dm("net1", "alice", "bob", "m1"), b"x").await;
    let s = submission("bob", report_json(m, "bob", vec![]));
    assert_eq!(
        t.post("/v1/reports", svc, s.clone()).await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        t.post("/v1/reports", svc, s.clone()).await.code(),
        "rate_limited"
    );
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let r = t.post("/v1/reports", svc, s).await;
    assert_eq!(
        (r.status, r.body["duplicate"].as_bool()),
        (StatusCode::OK, Some(true))
    );
    assert!(count(&h.state, "rate_counters").await >= 2);
}

/// `--max-body-bytes` above axum's 2 MiB extractor default is honoured end to end.
#[tokio::test]
async fn body_limit_above_axum_default() {
    let h = harness_with(
        default_db().await,
        Limits {
            max_body_bytes: 4 * 1024 * 1024,
            ..Limits::default()
        },
    )
    .await;
    let t = h.t();
    let pad = "x".repeat(3 * 1024 * 1024);
    let big = json!({ "reporter": "bob", "report": { "v": 1, "pad": pad } });
    let r = t.post("/v1/reports", Some(&h.net1.service), big).await;
    // Reaches the handler (and is refused there as a malformed report), not 413.
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "malformed"));
    let pad = "x".repeat(5 * 1024 * 1024);
    let bigger = json!({ "reporter": "bob", "report": { "v": 1, "pad": pad } });
    let r = t.post("/v1/reports", Some(&h.net1.service), bigger).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
}

/// A unique-constraint race surfaces as 409 `conflict`, never 500.
#[tokio::test]
async fn unique_violation_is_409() {
    let h = harness().await;
    let e = sqlx::query(
        "INSERT INTO networks (id, display_name, created_at) VALUES ('net1', 'dup', 0)",
    )
    .execute(&h.state.db)
    .await
    .unwrap_err();
    let e = report_server::ApiError::from(e);
    assert_eq!((e.status(), e.code()), (StatusCode::CONFLICT, "conflict"));
}

/// A report whose JSON gives a key twice has no single reading: refused (400), as franking-core
/// refuses it, nothing written — whichever way the server parses the body.
#[tokio::test]
async fn a_report_with_a_key_given_twice_is_refused() {
    let h = harness().await;
    let t = h.t();
    let m = franked(
        &t,
        &h.net1.relay,
        dm("net1", "alice", "bob", "twice"),
        b"hello",
    )
    .await;
    let report = report_json(m, "bob", vec![]).to_string();
    assert!(report.contains(r#""reason":"abusive""#), "{report}");
    let twice = report.replacen(
        r#""reason":"abusive""#,
        r#""reason":"abusive","reason":"spam""#,
        1,
    );
    let body = format!(r#"{{"reporter":"bob","category":"spam","report":{twice}}}"#);
    let r = t
        .raw(
            Method::POST,
            "/v1/reports",
            Some(&h.net1.service),
            Some("application/json"),
            body.into_bytes(),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(r.code(), "malformed", "{}", r.body);
    assert_eq!(count(&h.state, "reports").await, 0);
}
