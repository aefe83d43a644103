//! Real-HTTP tests: the server bound to 127.0.0.1:0, driven with a hyper HTTP/1.1 client.
//! Each scenario runs on SQLite always and on PostgreSQL when `TEST_DATABASE_URL` is set (a fresh
//! database per test, dropped afterwards). Without it the PostgreSQL variants print a line and
//! skip locally; under `CI=true` they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use common::*;
use franking_core::frank::Context;
use report_server::Limits;
use report_server::seal::ServerKey;
use serde_json::json;

/// Stamp → report → duplicate → second reporter → admin views, over real HTTP.
async fn full_flow(db: TestDb) {
    let h = harness_with(db, Limits::default()).await;
    let (addr, stop, handle) = spawn_http(h.state.clone()).await;
    let t = Transport::Http(addr);
    assert_eq!(t.get("/healthz", None).await.status, StatusCode::OK);
    assert_eq!(t.get("/readyz", None).await.status, StatusCode::OK);
    let ctx = Context::room(
        "net1",
        "alice",
        "room",
        vec!["bob".into(), "carol".into()],
        now_ms(),
        "m1",
    )
    .unwrap();
    let m = franked(&t, &h.net1.relay, ctx, b"buy cheap watches").await;
    let svc = Some(h.net1.service.as_str());
    let r = t
        .post(
            "/v1/reports",
            svc,
            submission("bob", report_json(m.clone(), "bob", vec![])),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let case = r.body["case_id"].as_str().unwrap().to_owned();
    let r = t
        .post(
            "/v1/reports",
            svc,
            submission("bob", report_json(m.clone(), "bob", vec![])),
        )
        .await;
    assert_eq!(
        (r.status, r.body["duplicate"].as_bool()),
        (StatusCode::OK, Some(true))
    );
    let r = t
        .post(
            "/v1/reports",
            svc,
            submission("carol", report_json(m.clone(), "carol", vec![])),
        )
        .await;
    assert_eq!(r.body["case_id"], case.as_str());
    assert_eq!(r.body["report_count"], 2);
    // rejected report over HTTP: 422 with code, nothing stored
    let mut bad = m.clone();
    bad.plaintext = b"something else".to_vec();
    let r = t
        .post(
            "/v1/reports",
            svc,
            submission("bob", report_json(bad, "bob", vec![])),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "commitment_mismatch")
    );
    assert_eq!(count(&h.state, "reports").await, 2);
    // malformed JSON over the wire
    let r = t
        .raw(
            Method::POST,
            "/v1/reports",
            svc,
            Some("application/json"),
            b"{\"reporter\":".to_vec(),
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "malformed"));
    // admin: batch stamp after rotation, token listing
    let r = t
        .post(
            "/v1/admin/networks/net1/keys/rotate",
            Some(&h.admin),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let items: Vec<_> = (0..3)
        .map(|i| {
            json!({
                "suite": 2,
                "commitment": b64(&[i as u8; 32]),
                "context": serde_json::to_value(dm("net1", "a", "b", &format!("b{i}"))).unwrap(),
            })
        })
        .collect();
    let r = t
        .post(
            "/v1/stamp/batch",
            Some(&h.net1.relay),
            json!({ "items": items }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body["stamps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["key_id"] == 2)
    );
    let r = t.get("/v1/admin/tokens?network=net1", Some(&h.admin)).await;
    assert_eq!(r.body["tokens"].as_array().unwrap().len(), 3);
    let r = t.get("/metrics", None).await;
    let text = r.body.as_str().unwrap();
    assert!(text.contains("verdict=\"accepted\""));
    assert!(text.contains("verdict=\"duplicate\""));
    assert!(text.contains("reason=\"commitment_mismatch\""));
    stop.send(()).unwrap();
    handle.await.unwrap().unwrap();
}

#[tokio::test]
async fn http_full_flow_sqlite() {
    full_flow(TestDb::sqlite()).await;
}

#[tokio::test]
async fn http_full_flow_postgres() {
    if let Some(db) = TestDb::postgres().await {
        full_flow(db).await;
    }
}

/// Two instances over one database (what scale-out does): a stamp from instance A is reported
/// through instance B; a key rotated on B is used by A at once; a token revoked on A is refused by
/// B; the dev bootstrap does not run on a database in use; a wrong server key is refused at start-up; concurrent duplicate
/// reports through both instances produce one case and one report.
async fn two_instances(db: TestDb) {
    let h = harness_with(db, Limits::default()).await;
    let b_state = state_for(&h.db, (*h.state.server_key).clone(), Limits::default()).await;
    let (addr_a, stop_a, ha) = spawn_http(h.state.clone()).await;
    let (addr_b, stop_b, hb) = spawn_http(b_state.clone()).await;
    let a = Transport::Http(addr_a);
    let b = Transport::Http(addr_b);
    let m = franked(&a, &h.net1.relay, dm("net1", "alice", "bob", "m1"), b"hi").await;
    let r = b
        .post(
            "/v1/reports",
            Some(&h.net1.service),
            submission("bob", report_json(m.clone(), "bob", vec![])),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = b
        .post(
            "/v1/admin/networks/net1/keys/rotate",
            Some(&h.admin),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let m2 = franked(&a, &h.net1.relay, dm("net1", "alice", "bob", "m2"), b"ho").await;
    assert_eq!(m2.stamp.key_id.0, 2);
    // concurrent reports of one message by one reporter through both instances
    let s = submission("bob", report_json(m2.clone(), "bob", vec![]));
    let (ra, rb) = tokio::join!(
        a.post("/v1/reports", Some(&h.net1.service), s.clone()),
        b.post("/v1/reports", Some(&h.net1.service), s.clone())
    );
    assert!(
        ra.status.is_success() && rb.status.is_success(),
        "{} {}",
        ra.body,
        rb.body
    );
    assert_eq!(ra.body["case_id"], rb.body["case_id"]);
    assert_eq!(ra.body["report_count"], 1);
    assert_eq!(rb.body["report_count"], 1);
    assert_eq!(count(&h.state, "cases").await, 2);
    assert_eq!(count(&h.state, "reports").await, 2);
    // revoke on A, refused on B
    let r = a
        .post(
            "/v1/admin/tokens",
            Some(&h.admin),
            json!({ "role": "relay", "network": "net1", "subject": "tmp" }),
        )
        .await;
    let (id, tok) = (
        r.body["id"].as_str().unwrap().to_owned(),
        r.body["token"].as_str().unwrap().to_owned(),
    );
    franked(&b, &tok, dm("net1", "a", "b", "x"), b"x").await;
    a.call(
        Method::DELETE,
        &format!("/v1/admin/tokens/{id}"),
        Some(&h.admin),
        None,
    )
    .await;
    let r = b.post("/v1/stamp", Some(&tok), json!({})).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // dev bootstrap: never on a database that already has networks and tokens (a fresh database
    // is bootstrapped by exactly one instance: tests/hardening.rs)
    let first =
        report_server::bootstrap::dev_bootstrap(&h.state.db, &h.state.server_key, |_| Ok(()))
            .await
            .unwrap();
    assert_eq!(first, Err(report_server::bootstrap::NoBootstrap::NotEmpty));
    // a third instance with a different server key is refused at start-up
    let (pool, _) = report_server::db::connect(&h.db.url, 2).await.unwrap();
    let err = report_server::bootstrap::check_server_key(&pool, &ServerKey::generate().unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "internal");
    assert!(err.to_string().contains("server key does not match"));
    pool.close().await;
    stop_a.send(()).unwrap();
    stop_b.send(()).unwrap();
    ha.await.unwrap().unwrap();
    hb.await.unwrap().unwrap();
}

#[tokio::test]
async fn http_two_instances_sqlite() {
    two_instances(TestDb::sqlite()).await;
}

#[tokio::test]
async fn http_two_instances_postgres() {
    if let Some(db) = TestDb::postgres().await {
        two_instances(db).await;
    }
}

/// Graceful shutdown: a request in flight when shutdown starts still completes; new connections
/// are refused afterwards.
#[tokio::test]
async fn http_graceful_shutdown_finishes_in_flight() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let h = harness().await;
    let (addr, stop, handle) = spawn_http(h.state.clone()).await;
    let payload = json!({
        "suite": 2,
        "commitment": b64(&[1u8; 32]),
        "context": serde_json::to_value(dm("net1", "a", "b", "m")).unwrap(),
    })
    .to_string();
    // Send the head of a request, start the shutdown, then send the body.
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /v1/stamp HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         authorization: Bearer {}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        h.net1.relay,
        payload.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    stream.write_all(payload.as_bytes()).await.unwrap();
    let mut resp = String::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut resp))
        .await
        .unwrap()
        .unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(resp.contains("\"key_id\":1"), "{resp}");
    tokio::time::timeout(Duration::from_secs(10), handle)
        .await
        .expect("server stops after in-flight requests finish")
        .unwrap()
        .unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

/// Send raw bytes on a fresh connection and read until the server closes it (or 10 s pass).
async fn raw_exchange(addr: std::net::SocketAddr, bytes: &[u8]) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(bytes).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// Issue 16.1: hostile methods and paths do not grow `/metrics`. Every label is from a fixed set
/// (unknown methods → `other`, unknown paths → `unmatched`, ids → the route template).
#[tokio::test]
async fn http_metrics_labels_stay_bounded() {
    let h = harness().await;
    let (addr, stop, handle) = spawn_http(h.state.clone()).await;
    let t = Transport::Http(addr);
    // One request of each kind first, so the bounded label combinations already exist.
    for warm in [
        "XWARM /healthz HTTP/1.1\r\n",
        "XWARM /nowhere HTTP/1.1\r\n",
        "GET /nowhere HTTP/1.1\r\n",
    ] {
        raw_exchange(
            addr,
            format!("{warm}host: x\r\nconnection: close\r\n\r\n").as_bytes(),
        )
        .await;
    }
    let before = t.get("/metrics", None).await.body.as_str().unwrap().len();
    let long_method = "Q".repeat(8000);
    for i in 0..150 {
        let method = if i == 0 {
            long_method.clone()
        } else {
            format!("XMETHOD{i}")
        };
        for path in [
            "/healthz".to_owned(),
            format!("/made/up/{i}"),
            format!("/v1/cases/case_{i}/bogus"),
        ] {
            raw_exchange(
                addr,
                format!("{method} {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .await;
        }
        raw_exchange(
            addr,
            format!("GET /also/made/up/{i} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await;
    }
    let text = t
        .get("/metrics", None)
        .await
        .body
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        !text.contains("XMETHOD") && !text.contains("QQQQ"),
        "raw method in metrics"
    );
    assert!(
        !text.contains("/made/up") && !text.contains("case_1"),
        "raw path in metrics"
    );
    assert!(text.contains("method=\"other\""), "{text}");
    assert!(text.contains("route=\"unmatched\""), "{text}");
    // 600 hostile requests add no label combinations beyond the warm-up's (only counts and the
    // `/metrics` request's own series change).
    assert!(
        text.len() < before + 4096,
        "metrics grew from {before} to {} bytes",
        text.len()
    );
    stop.send(()).unwrap();
    handle.await.unwrap().unwrap();
}

/// Issue 16.9: two `Authorization` headers are refused (400 `malformed`) instead of the first one
/// being used, whichever order the valid token comes in.
#[tokio::test]
async fn http_multiple_authorization_headers_are_refused() {
    let h = harness().await;
    let (addr, stop, handle) = spawn_http(h.state.clone()).await;
    let bad = "B".repeat(43);
    for (first, second) in [(&h.admin, &bad), (&bad, &h.admin), (&h.admin, &h.admin)] {
        let resp = raw_exchange(
            addr,
            format!(
                "GET /v1/admin/networks HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {first}\r\n\
                 authorization: Bearer {second}\r\nconnection: close\r\n\r\n"
            )
            .as_bytes(),
        )
        .await;
        assert!(resp.starts_with("HTTP/1.1 400"), "{resp}");
        assert!(resp.contains("\"code\":\"malformed\""), "{resp}");
    }
    let r = Transport::Http(addr)
        .get("/v1/admin/networks", Some(&h.admin))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    stop.send(()).unwrap();
    handle.await.unwrap().unwrap();
}

/// A refused multipart report is answered only once the rest of its (short) body has arrived, so
/// a client that writes its whole body before it reads (most HTTP clients) gets the 422 rather than
/// a broken pipe. Here the blob's first segment is corrupt: the server knows the answer after
/// 64 KiB, while the client still holds back the body's last bytes.
#[tokio::test]
async fn a_refused_upload_is_answered_after_its_body() {
    use franking_core::frank::attachment::HEADER_LEN;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let h = harness().await;
    let (addr, stop, handle) = spawn_http(h.state.clone()).await;
    let t = Transport::Http(addr);
    let (ct, body) = attachment_report_body(&t, "net1", &h.net1, &[5u8; 200_000], |blob| {
        blob[HEADER_LEN + 100] ^= 1;
    })
    .await;
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /v1/reports HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        h.net1.service,
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let (most, rest) = body.split_at(body.len() - 10);
    s.write_all(most).await.unwrap();
    let mut first = [0u8; 1];
    let early = tokio::time::timeout(Duration::from_millis(400), s.read(&mut first)).await;
    assert!(early.is_err(), "answered before the body ended: {early:?}");
    s.write_all(rest).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut answer))
        .await
        .expect("an answer")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 422"), "{answer}");
    assert!(answer.contains("attachment_tag_invalid"), "{answer}");
    assert_eq!(count(&h.state, "reports").await, 0);
    stop.send(()).unwrap();
    handle.await.unwrap().unwrap();
}
