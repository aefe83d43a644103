//! Federation end to end (issue 12, `docs/federation.md`): two report servers on loopback with
//! separate databases — network A (stamps, signs) and network B, one on SQLite and one on
//! PostgreSQL (both placements) when `TEST_DATABASE_URL` is set — peered both ways over real HTTP, each with its outbox
//! delivery worker. Alice on A messages bob, a user of B; bob reports on B; B verifies by A's
//! published signature and forwards; A verifies again in full (HMAC and signature) and decides;
//! the decision shows on B's case. Refused: a forged signature, a stripped signature, a key
//! retired before the stamp's date, a message of a network that is not a peer, a disabled peer,
//! forwards from an unknown peer, with a bad or stale signature, and a replayed forward. A peer
//! that is down receives the forward once it comes back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use client_sdk::MessageContent;
use client_sdk::frank::{Context, Report, SessionKey};
use client_sdk::messaging::{Conversation, OpenChecks};
use client_sdk::server::ServerClient;
use franking_tests::harness::{Network, Resp, StartOptions, TestDb, TestServer, now_ms, unique};
use report_server::keys::Policy;
use report_server::webhooks::delivery::DeliveryConfig;
use report_server::webhooks::signature;
use serde_json::{Value, json};

fn fast_delivery() -> DeliveryConfig {
    DeliveryConfig {
        interval: Duration::from_millis(100),
        timeout: Duration::from_secs(5),
        max_attempts: 100,
        base_backoff: Duration::from_millis(200),
        max_backoff: Duration::from_millis(800),
        ..DeliveryConfig::default()
    }
}

fn start(db: TestDb) -> TestServer {
    TestServer::start_with(
        db,
        StartOptions {
            delivery: Some(fast_delivery()),
            ..StartOptions::default()
        },
    )
}

/// Poll `f` every 100 ms until it returns `Some`, for at most 30 s.
fn eventually<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out: {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Alice (network A) seals `text` to bob, A's relay stamps it, bob opens it and reports it.
fn alice_to_bob(a: &TestServer, neta: &Network, text: &str, ts: u64) -> Report {
    let conv = Conversation::new(unique("conv"), SessionKey::generate().unwrap());
    let relay = ServerClient::new(&a.url, &neta.relay).unwrap();
    let ctx = Context::direct(&neta.id, "alice", "bob", ts, unique("msg")).unwrap();
    let delivered = relay
        .stamp(conv.seal(&MessageContent::text(text)).unwrap(), ctx)
        .unwrap();
    let opened = conv
        .open(&delivered, &OpenChecks::recipient("bob").sender("alice"))
        .unwrap();
    opened
        .report("bob", "spam from another network", &[])
        .unwrap()
}

fn submit(b: &TestServer, netb: &Network, report: &Value) -> Resp {
    b.post(
        "/v1/reports",
        &netb.service,
        json!({ "reporter": "bob", "category": "spam", "report": report }),
    )
}

fn cases(server: &TestServer, net: &Network) -> Vec<Value> {
    let r = server.get("/v1/cases", &net.moderator);
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["cases"].as_array().unwrap().clone()
}

fn federation_view(server: &TestServer, net: &Network, case: &str) -> Value {
    let r = server.get(&format!("/v1/cases/{case}/federation"), &net.moderator);
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

/// A forward signed as `from` with `secret` at `t` (unix seconds), POSTed to `server`.
fn send_forward(server: &TestServer, from: &str, secret: &str, t: i64, body: &Value) -> Resp {
    let bytes = serde_json::to_vec(body).unwrap();
    let sig = signature::sign(&[secret.as_bytes()], t, &bytes);
    server.post_raw(
        "/v1/federation/reports",
        &[("franking-peer", from), ("franking-signature", &sig)],
        &bytes,
    )
}

/// Both placements when PostgreSQL is available: A on PostgreSQL and B on SQLite, then the
/// other way round (every side's writes run on both databases); else both on SQLite.
#[test]
fn reports_cross_networks_and_decisions_come_back() {
    let pg = || franking_tests::harness::databases().into_iter().nth(1);
    match (pg(), pg()) {
        (Some(a_pg), Some(b_pg)) => {
            cross_network(a_pg, TestDb::sqlite());
            cross_network(TestDb::sqlite(), b_pg);
        }
        _ => cross_network(TestDb::sqlite(), TestDb::sqlite()),
    }
}

fn cross_network(a_db: TestDb, b_db: TestDb) {
    let a_backend = a_db.backend;
    let mut a = start(a_db);
    let b = start(b_db);
    let signing = serde_json::to_value(Policy {
        sign_stamps: true,
        ..Policy::default()
    })
    .unwrap();
    let neta = a.network(&unique("neta"), Some(signing));
    let netb = b.network(&unique("netb"), None);

    // A publishes its signing key at the well-known endpoint (cacheable, no token).
    let wk = a.get_raw("/.well-known/franking/keys", "", &[]);
    assert_eq!(wk.status, 200);
    assert_eq!(wk.header("cache-control"), "public, max-age=300");
    let published: Value = serde_json::from_slice(&wk.body).unwrap();
    let key1 = published["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["network"] == neta.id.as_str())
        .cloned()
        .expect("A's key is published");
    assert_eq!(key1["key_id"], 1);
    assert!(key1.get("retired_at_ms").is_none(), "{key1}");

    // Peering: A's admin registers B (A generates the shared secret), B's admin registers A
    // with that secret and A's keys fetched from its well-known endpoint.
    let r = a.post(
        &format!("/v1/admin/networks/{}/peers", neta.id),
        &a.admin,
        json!({ "network": netb.id, "base_url": b.url, "key_source": "fetched" }),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let secret = r.body["secret"].as_str().unwrap().to_owned();
    let b_peers = format!("/v1/admin/networks/{}/peers", netb.id);
    let r = b.post(
        &b_peers,
        &b.admin,
        json!({ "network": neta.id, "base_url": a.url, "key_source": "fetched",
                "secret": secret }),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(
        r.body.get("secret").is_none(),
        "a supplied secret is not echoed"
    );
    let peer_a = format!("{b_peers}/{}", neta.id);

    // Bob reports alice's message on B: verified by A's signature, stored, marked.
    let text = "buy cheap watches (cross-network spam)";
    let report = serde_json::to_value(alice_to_bob(&a, &neta, text, now_ms())).unwrap();
    assert!(
        report["message"]["stamp"]["signature"].is_string(),
        "A signs its stamps"
    );
    let r = submit(&b, &netb, &report);
    assert_eq!(r.status, 201, "{}", r.body);
    let b_case = r.body["case_id"].as_str().unwrap().to_owned();
    let again = submit(&b, &netb, &report);
    assert_eq!(
        (again.status, again.body["duplicate"].clone()),
        (200, json!(true))
    );
    let view = federation_view(&b, &netb, &b_case);
    assert_eq!(view["origin_network"], neta.id.as_str());
    assert_eq!(view["verified_by"], "peer_signature");
    assert_eq!(view["forwards"].as_array().unwrap().len(), 1, "{view}");
    let case = b.get(&format!("/v1/cases/{b_case}"), &netb.moderator);
    assert_eq!(case.body["evidence"][0]["content"]["message"]["text"], text);

    // B forwards; A verifies fully and opens a case with a pseudonymous reporter.
    let a_case = eventually("A receives the forward", || {
        cases(&a, &neta)
            .first()
            .map(|c| c["id"].as_str().unwrap().to_owned())
    });
    let detail = a.get(&format!("/v1/cases/{a_case}"), &neta.moderator);
    assert_eq!(detail.status, 200, "{a_backend}: {}", detail.body);
    let content = &detail.body["evidence"][0]["content"];
    assert_eq!(content["message"]["text"], text);
    let reporter = content["reporter"].as_str().unwrap();
    assert!(reporter.starts_with("pseud_"), "{reporter}");
    let a_view = federation_view(&a, &neta, &a_case);
    assert_eq!(a_view["verified_by"], "stamp");
    assert_eq!(a_view["forwarded_in"][0]["peer_network"], netb.id.as_str());

    // A decides; the decision travels back to B's case as an audited event.
    let r = a.post(
        &format!("/v1/cases/{a_case}/resolve"),
        &neta.moderator,
        json!({ "action": "remove_content" }),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let forward = eventually("the decision reaches B", || {
        let v = federation_view(&b, &netb, &b_case);
        let f = v["forwards"][0].clone();
        (f["remote_state"] == "resolved").then_some(f)
    });
    assert_eq!(forward["remote_action"], "remove_content");
    assert_eq!(forward["remote_case_id"], a_case.as_str());
    assert_eq!(forward["delivery_state"], "delivered");
    let audit = b.get(&format!("/v1/cases/{b_case}/audit"), &netb.moderator);
    assert!(
        audit.body.to_string().contains("federation.decision"),
        "{}",
        audit.body
    );

    // Refused on B, nothing stored: a forged signature, a stripped signature.
    let before = b.count_rows("reports");
    let fresh = serde_json::to_value(alice_to_bob(&a, &neta, "second", now_ms())).unwrap();
    let mut forged = fresh.clone();
    let sig = forged["message"]["stamp"]["signature"]
        .as_str()
        .unwrap()
        .to_owned();
    let flipped = if sig.starts_with('A') { "B" } else { "A" };
    forged["message"]["stamp"]["signature"] = json!(format!("{flipped}{}", &sig[1..]));
    let r = submit(&b, &netb, &forged);
    assert_eq!((r.status, r.code()), (422, "bad_stamp"), "{}", r.body);
    let mut stripped = fresh.clone();
    stripped["message"]["stamp"]
        .as_object_mut()
        .unwrap()
        .remove("signature");
    let r = submit(&b, &netb, &stripped);
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        ["bad_stamp", "signature_required"].contains(&r.code()),
        "{}",
        r.body
    );
    // A key retired before the stamp's date: pin A's key 1 as retired ten minutes ago.
    let mut retired = key1.clone();
    retired["created_at_ms"] = json!(now_ms() - 3_600_000);
    retired["retired_at_ms"] = json!(now_ms() - 600_000);
    let r = b.call(
        "PATCH",
        &peer_a,
        Some(&b.admin),
        Some(json!({ "key_source": "pinned", "keys": [retired] })),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = submit(&b, &netb, &fresh);
    assert_eq!(
        (r.status, r.code()),
        (422, "stamp_after_retirement"),
        "{}",
        r.body
    );
    // ... while a stamp dated before the retirement still verifies under the pinned record.
    let mut later = key1.clone();
    later["retired_at_ms"] = json!(now_ms() + 600_000);
    let r = b.call(
        "PATCH",
        &peer_a,
        Some(&b.admin),
        Some(json!({ "keys": [later] })),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = submit(&b, &netb, &fresh);
    assert_eq!(r.status, 201, "{}", r.body);
    // B forwards it in the background: wait until A has it, so A's case count below is settled.
    eventually("the second forward reaches A", || {
        (cases(&a, &neta).len() == 2).then_some(())
    });
    let r = b.call(
        "PATCH",
        &peer_a,
        Some(&b.admin),
        Some(json!({ "key_source": "fetched" })),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    // A disabled peer, and a network that is not a peer.
    let third = serde_json::to_value(alice_to_bob(&a, &neta, "third", now_ms())).unwrap();
    let r = b.call(
        "PATCH",
        &peer_a,
        Some(&b.admin),
        Some(json!({ "disabled": true })),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = submit(&b, &netb, &third);
    assert_eq!((r.status, r.code()), (403, "peer_disabled"), "{}", r.body);
    let r = b.call(
        "PATCH",
        &peer_a,
        Some(&b.admin),
        Some(json!({ "disabled": false })),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let netc = a.network(&unique("netc"), None);
    let other = serde_json::to_value(alice_to_bob(&a, &netc, "not a peer", now_ms())).unwrap();
    let r = submit(&b, &netb, &other);
    assert_eq!((r.status, r.code()), (403, "wrong_network"), "{}", r.body);
    assert_eq!(b.count_rows("reports"), before + 1);

    // Forwards to A: an unknown peer, a bad and a stale signature, a replay.
    let mut body = json!({
        "v": 1, "forward_id": unique("fwd"), "from": netb.id, "to": neta.id,
        "case_id": "case_on_b", "received_at": now_ms(), "reporter_named": false,
        "report": third,
    });
    body["report"]["reporter"] = json!("pseud_handmade");
    let t = (now_ms() / 1000) as i64;
    let mut unknown = body.clone();
    unknown["from"] = json!("nobody");
    let r = send_forward(&a, "nobody", &secret, t, &unknown);
    assert_eq!((r.status, r.code()), (403, "unknown_peer"), "{}", r.body);
    let r = send_forward(&a, &netb.id, &format!("{secret}x"), t, &body);
    assert_eq!(
        (r.status, r.code()),
        (401, "peer_signature_invalid"),
        "{}",
        r.body
    );
    let r = send_forward(&a, &netb.id, &secret, t - 3600, &body);
    assert_eq!(
        (r.status, r.code()),
        (401, "peer_signature_stale"),
        "{}",
        r.body
    );
    let cases_before = cases(&a, &neta).len();
    let r = send_forward(&a, &netb.id, &secret, t, &body);
    assert_eq!(r.status, 201, "{}", r.body);
    let r = send_forward(&a, &netb.id, &secret, t, &body);
    assert_eq!(
        (r.status, r.code()),
        (409, "forward_replayed"),
        "{}",
        r.body
    );
    assert_eq!(cases(&a, &neta).len(), cases_before + 1);

    // A is down: B accepts a report (by A's keys it fetched while A was up) and keeps its
    // forward pending; once A is back, the forward arrives.
    let warm = serde_json::to_value(alice_to_bob(&a, &neta, "fetch keys", now_ms())).unwrap();
    let r = submit(&b, &netb, &warm);
    assert_eq!(r.status, 201, "{}", r.body);
    let a_inbound = a.count_rows("federation_inbound");
    eventually("A receives the forward before going down", || {
        (a.count_rows("federation_inbound") > a_inbound).then_some(())
    });
    let a_inbound = a.count_rows("federation_inbound");
    let fourth =
        serde_json::to_value(alice_to_bob(&a, &neta, "while A is down", now_ms())).unwrap();
    let stopped = a.stop();
    let r = submit(&b, &netb, &fourth);
    assert_eq!(r.status, 201, "{}", r.body);
    let down_case = r.body["case_id"].as_str().unwrap().to_owned();
    std::thread::sleep(Duration::from_millis(1500));
    let v = federation_view(&b, &netb, &down_case);
    assert_eq!(v["forwards"][0]["delivery_state"], "pending", "{v}");
    a = TestServer::start_with(
        stopped.db,
        StartOptions {
            delivery: Some(fast_delivery()),
            ..stopped.options
        },
    );
    eventually("the pending forward arrives after A restarts", || {
        (a.count_rows("federation_inbound") == a_inbound + 1).then_some(())
    });
    let v = eventually("B records the delivery", || {
        let v = federation_view(&b, &netb, &down_case);
        (v["forwards"][0]["delivery_state"] == "delivered").then_some(v)
    });
    assert_eq!(v["origin_network"], neta.id.as_str());
}
