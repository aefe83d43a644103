//! Router-level tests (`tower::ServiceExt::oneshot`) of the moderation API: the case workflow
//! with real (franked, stamped, verified) reports, every error code of the moderation endpoints,
//! and the endpoint × role matrix. Each scenario runs on SQLite, and on PostgreSQL when
//! `TEST_DATABASE_URL` is set (under `CI=true` a missing variable fails).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use franking_core::frank::Context;
use report_server::auth::{Role, issue_token};
use serde_json::{Value, json};

fn tokens<'a>(h: &'a Harness, net: &str) -> &'a NetTokens {
    if net == "net1" { &h.net1 } else { &h.net2 }
}

/// A real case: alice sends `text` to a fresh recipient on `net`, the server stamps it, the
/// recipient reports it through the intake endpoint. Returns the case id.
async fn new_case(h: &Harness, net: &str, category: &str, text: &str) -> String {
    let t = h.t();
    let tk = tokens(h, net);
    let reporter = uniq("bob");
    let m = franked(
        &t,
        &tk.relay,
        dm(net, "alice", &reporter, &uniq("m")),
        text.as_bytes(),
    )
    .await;
    let r = t
        .post(
            "/v1/reports",
            Some(&tk.service),
            json!({ "reporter": reporter, "category": category,
                    "report": report_json(m, &reporter, vec![]) }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["case_id"].as_str().unwrap().to_owned()
}

async fn state_of(h: &Harness, id: &str) -> String {
    let r = h.t().get(&format!("/v1/cases/{id}"), Some(&h.admin)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["state"].as_str().unwrap().to_owned()
}

/// Audit entries are ordered by their millisecond timestamp: keep steps apart.
async fn tick() {
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
}

const BAD_TOKEN: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

// ---------------------------------------------------------------- the workflow

#[tokio::test]
async fn workflow_with_real_reports_and_evidence() {
    for h in harnesses().await {
        workflow(&h).await;
    }
}

async fn workflow(h: &Harness) {
    let t = h.t();
    // One message in a room, reported by two recipients: one case with count 2.
    let ctx = Context::room(
        "net1",
        "alice",
        "room-1",
        vec!["bob".into(), "carol".into()],
        now_ms(),
        "msg-1",
    )
    .unwrap();
    let earlier = franked(&t, &h.net1.relay, ctx.clone(), b"earlier message").await;
    let ctx2 = Context::room(
        "net1",
        "alice",
        "room-1",
        vec!["bob".into(), "carol".into()],
        now_ms(),
        "msg-2",
    )
    .unwrap();
    let m = franked(
        &t,
        &h.net1.relay,
        ctx2,
        "buy cheap pills \u{1F48A}".as_bytes(),
    )
    .await;
    let mut case_id = String::new();
    for (who, earlier) in [("bob", vec![earlier]), ("carol", vec![])] {
        let r = t
            .post(
                "/v1/reports",
                Some(&h.net1.service),
                json!({ "reporter": who, "category": "spam",
                        "report": report_json(m.clone(), who, earlier) }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        case_id = r.body["case_id"].as_str().unwrap().to_owned();
    }
    let path = format!("/v1/cases/{case_id}");

    // View: decrypted evidence, context, stamp, reporters, reasons, counts.
    let r = t.get(&path, Some(&h.net1.moderator)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let c = &r.body;
    assert_eq!(c["state"], "open");
    assert_eq!(c["network"], "net1");
    assert_eq!(c["report_count"], 2);
    assert_eq!(c["sender"], "alice");
    assert_eq!(c["message_id"], "msg-2");
    assert_eq!(c["category"], "spam");
    assert_eq!(c["reporters"], json!(["bob", "carol"]));
    assert_eq!(c["reason_counts"], json!({ "abusive": 2 }));
    assert_eq!(c["reports"].as_array().unwrap().len(), 2);
    assert_eq!(c["reports"][0]["earlier_count"], 1);
    let ev = c["evidence"].as_array().unwrap();
    assert_eq!(ev.len(), 2);
    for e in ev {
        assert_eq!(e["verified"], true);
        assert!(e["purged_at"].is_null());
        let msg = &e["content"]["message"];
        // Not franking-core's content format: shown as bytes, and as text since it is UTF-8.
        assert_eq!(msg["format"], "bytes");
        assert_eq!(msg["text"], "buy cheap pills \u{1F48A}");
        assert_eq!(
            msg["plaintext_b64"],
            b64("buy cheap pills \u{1F48A}".as_bytes())
        );
        assert_eq!(msg["sent_by_reporter"], false);
        assert_eq!(msg["attachments"], json!([]));
        assert_eq!(msg["context"]["network"], "net1");
        assert_eq!(msg["context"]["sender"], "alice");
        assert_eq!(msg["context"]["room"], "room-1");
        assert_eq!(msg["context"]["message_id"], "msg-2");
        assert_eq!(msg["stamp"]["key_id"], 1);
        assert_eq!(msg["commitment"], c["commitment"]);
        // The franking key (opening) is not shown to moderators.
        assert!(msg.get("opening").is_none());
        assert_eq!(e["content"]["reason"], "abusive");
    }
    let bob = ev
        .iter()
        .find(|e| e["content"]["reporter"] == "bob")
        .unwrap();
    assert_eq!(bob["content"]["earlier"][0]["text"], "earlier message");

    // Assign to self (moderator subject is "mod").
    tick().await;
    let r = t
        .post(
            &format!("{path}/assign"),
            Some(&h.net1.moderator),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["state"], "assigned");
    assert_eq!(r.body["assignee"], "mod");
    // Assign with no body at all (also "self").
    tick().await;
    let r = t
        .call(
            Method::POST,
            &format!("{path}/assign"),
            Some(&h.net1.moderator),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Admin reassigns to another moderator of net1.
    issue_token(&h.state.db, Role::Moderator, Some("net1"), "mod2", None)
        .await
        .unwrap();
    tick().await;
    let r = t
        .post(
            &format!("{path}/assign"),
            Some(&h.admin),
            json!({ "assignee": "mod2" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["assignee"], "mod2");

    // Notes.
    tick().await;
    let r = t
        .post(
            &format!("{path}/notes"),
            Some(&h.net1.moderator),
            json!({ "body": "looks like spam" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["author"], "moderator:mod@net1");

    // Resolve with an action and a note.
    tick().await;
    let r = t
        .post(
            &format!("{path}/resolve"),
            Some(&h.net1.moderator),
            json!({ "action": "remove_content", "note": "removed" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["state"], "resolved");
    assert_eq!(r.body["resolution_action"], "remove_content");
    assert!(r.body["closed_at"].as_i64().unwrap() > 0);
    tick().await;
    let r = t
        .get(&format!("{path}/notes"), Some(&h.net1.moderator))
        .await;
    let bodies: Vec<_> = r.body["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["body"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(bodies, ["looks like spam", "removed"]);

    // Resolved → cannot dismiss or resolve again; reopen first.
    tick().await;
    let r = t
        .post(
            &format!("{path}/dismiss"),
            Some(&h.net1.moderator),
            json!({}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "invalid_transition")
    );
    tick().await;
    let r = t
        .post(
            &format!("{path}/reopen"),
            Some(&h.net1.moderator),
            json!({ "reason": "appeal" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["state"], "open");
    assert!(r.body["assignee"].is_null());
    assert!(r.body["resolution_action"].is_null());
    assert!(r.body["closed_at"].is_null());
    // Open → dismiss → cannot resolve without reopening.
    tick().await;
    let r = t
        .post(
            &format!("{path}/dismiss"),
            Some(&h.net1.moderator),
            json!({ "reason": "dup" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["state"], "dismissed");
    tick().await;
    let r = t
        .post(
            &format!("{path}/resolve"),
            Some(&h.net1.moderator),
            json!({ "action": "warn_sender" }),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "invalid_transition")
    );
    tick().await;
    let r = t
        .post(
            &format!("{path}/assign"),
            Some(&h.net1.moderator),
            json!({}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "invalid_transition")
    );
    assert_eq!(state_of(h, &case_id).await, "dismissed");
    // Notes are allowed in any state.
    tick().await;
    let r = t
        .post(
            &format!("{path}/notes"),
            Some(&h.net1.moderator),
            json!({ "body": "closed" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);

    // The case's audit log has every change, in order, with actors.
    let r = t
        .get(&format!("{path}/audit"), Some(&h.net1.moderator))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let actions: Vec<_> = r.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        actions,
        [
            "report.accept",
            "report.accept",
            "evidence.view",
            "case.assign",
            "case.assign",
            "case.assign",
            "case.note",
            "case.resolve",
            "case.reopen",
            "case.dismiss",
            "evidence.view",
            "case.note"
        ]
    );
    // Reads of decrypted evidence name the reader and the items shown.
    let all = r.body["entries"].as_array().unwrap();
    let view = all.iter().find(|e| e["action"] == "evidence.view").unwrap();
    assert_eq!(view["details"]["evidence"].as_array().unwrap().len(), 2);
    let entries: Vec<_> = all
        .iter()
        .filter(|e| {
            !matches!(
                e["action"].as_str(),
                Some("report.accept" | "evidence.view")
            )
        })
        .cloned()
        .collect();
    assert_eq!(entries[2]["actor"], "admin:test-admin");
    assert_eq!(entries[2]["details"]["assignee"], "mod2");
    assert_eq!(entries[4]["details"]["action"], "remove_content");
    assert_eq!(entries[4]["details"]["from"], "assigned");
    assert!(entries[4]["details"]["note_id"].is_string());
    assert_eq!(entries[5]["details"]["reason"], "appeal");
    assert!(entries.iter().all(|e| e["network"] == "net1"));

    // The admin audit reader: per network, by action, paginated.
    let r = t
        .get(
            "/v1/admin/audit?network=net1&action=case.assign",
            Some(&h.admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["entries"].as_array().unwrap().len(), 3);
    let r = t.get("/v1/admin/audit?network=net2", Some(&h.admin)).await;
    assert!(
        r.body["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["network"] == "net2")
    );
    let mut seen = Vec::new();
    let mut url = "/v1/admin/audit?network=net1&limit=2".to_owned();
    loop {
        let r = t.get(&url, Some(&h.admin)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let page = r.body["entries"].as_array().unwrap();
        assert!(page.len() <= 2);
        seen.extend(
            page.iter()
                .map(|e| (e["at"].as_i64().unwrap(), e["id"].clone())),
        );
        match r.body["next_cursor"].as_str() {
            Some(c) => url = format!("/v1/admin/audit?network=net1&limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), all.len(), "every net1 entry once");
    assert!(seen.windows(2).all(|w| w[0].0 >= w[1].0), "newest first");
}

// ---------------------------------------------------------------- list, filters, pagination

#[tokio::test]
async fn list_filters_and_pagination() {
    for h in harnesses().await {
        list_scenario(&h).await;
    }
}

async fn list_scenario(h: &Harness) {
    let t = h.t();
    let a = new_case(h, "net1", "spam", "one").await;
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    let b = new_case(h, "net1", "harassment", "two").await;
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    let c = new_case(h, "net1", "spam", "three").await;
    let d = new_case(h, "net2", "spam", "four").await;
    let ids = |r: &Resp| -> Vec<String> {
        r.body["cases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect()
    };
    // Admin: everything, newest first.
    let r = t.get("/v1/cases", Some(&h.admin)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let all = ids(&r);
    assert_eq!(all.len(), 4);
    assert!(r.body["next_cursor"].is_null());
    let times: Vec<i64> = r.body["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["first_reported_at"].as_i64().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    let net1: Vec<_> = all.iter().filter(|i| *i != &d).cloned().collect();
    assert_eq!(net1, [c.clone(), b.clone(), a.clone()]);
    // Moderators see their own network only.
    let r = t.get("/v1/cases", Some(&h.net1.moderator)).await;
    assert_eq!(ids(&r), [c.clone(), b.clone(), a.clone()]);
    let r = t.get("/v1/cases", Some(&h.net2.moderator)).await;
    assert_eq!(ids(&r), vec![d.clone()]);
    let r = t
        .get("/v1/cases?network=net2", Some(&h.net2.moderator))
        .await;
    assert_eq!(ids(&r), vec![d.clone()]);
    // Admin per network.
    let r = t.get("/v1/cases?network=net2", Some(&h.admin)).await;
    assert_eq!(ids(&r), vec![d.clone()]);
    // Category and state filters.
    let r = t
        .get("/v1/cases?category=spam&network=net1", Some(&h.admin))
        .await;
    assert_eq!(ids(&r), [c.clone(), a.clone()]);
    t.post(&format!("/v1/cases/{b}/dismiss"), Some(&h.admin), json!({}))
        .await;
    let r = t
        .get("/v1/cases?state=dismissed", Some(&h.net1.moderator))
        .await;
    assert_eq!(ids(&r), vec![b.clone()]);
    let r = t.get("/v1/cases?state=open", Some(&h.net1.moderator)).await;
    assert_eq!(ids(&r), [c.clone(), a.clone()]);
    // Time range: [from, to) on first_reported_at.
    let r = t.get(&format!("/v1/cases/{b}"), Some(&h.admin)).await;
    let tb = r.body["first_reported_at"].as_i64().unwrap();
    let r = t
        .get(
            &format!("/v1/cases?network=net1&from={tb}&to={}", tb + 1),
            Some(&h.admin),
        )
        .await;
    assert_eq!(ids(&r), vec![b.clone()]);
    let r = t
        .get(&format!("/v1/cases?network=net1&to={tb}"), Some(&h.admin))
        .await;
    assert_eq!(ids(&r), vec![a.clone()]);
    // Pagination with limit 1: every case once, in order.
    let mut got = Vec::new();
    let mut url = "/v1/cases?limit=1".to_owned();
    for _ in 0..10 {
        let r = t.get(&url, Some(&h.admin)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        got.extend(ids(&r));
        match r.body["next_cursor"].as_str() {
            Some(cur) => url = format!("/v1/cases?limit=1&cursor={cur}"),
            None => break,
        }
    }
    assert_eq!(got, all);
}

// ---------------------------------------------------------------- error codes

#[tokio::test]
async fn error_codes_of_the_moderation_endpoints() {
    for h in harnesses().await {
        error_codes(&h).await;
    }
}

async fn error_codes(h: &Harness) {
    let t = h.t();
    let id = new_case(h, "net1", "spam", "bad stuff").await;
    let p = format!("/v1/cases/{id}");
    let m = Some(h.net1.moderator.as_str());
    let check = |r: Resp, status: StatusCode, code: &str| {
        assert_eq!((r.status, r.code()), (status, code), "{}", r.body);
        assert!(r.body["error"]["message"].is_string());
    };
    let bad = StatusCode::BAD_REQUEST;
    // 400 invalid_parameter
    for q in [
        "limit=0",
        "limit=201",
        "limit=abc",
        "state=closed",
        "from=10&to=5",
        "bogus=1",
        "from=x",
    ] {
        check(
            t.get(&format!("/v1/cases?{q}"), m).await,
            bad,
            "invalid_parameter",
        );
    }
    check(
        t.get("/v1/admin/audit?limit=0", Some(&h.admin)).await,
        bad,
        "invalid_parameter",
    );
    check(
        t.get("/v1/admin/audit?from=9&to=1", Some(&h.admin)).await,
        bad,
        "invalid_parameter",
    );
    check(
        t.post(&format!("{p}/assign"), Some(&h.admin), json!({}))
            .await,
        bad,
        "invalid_parameter",
    );
    check(
        t.post(&format!("{p}/assign"), m, json!({ "assignee": "" }))
            .await,
        bad,
        "invalid_parameter",
    );
    check(
        t.post(&format!("{p}/notes"), m, json!({ "body": "  " }))
            .await,
        bad,
        "invalid_parameter",
    );
    check(
        t.post(
            &format!("{p}/notes"),
            m,
            json!({ "body": "x".repeat(10_001) }),
        )
        .await,
        bad,
        "invalid_parameter",
    );
    check(
        t.post(
            &format!("{p}/dismiss"),
            m,
            json!({ "reason": "x".repeat(5000) }),
        )
        .await,
        bad,
        "invalid_parameter",
    );
    check(
        t.post(
            &format!("{p}/resolve"),
            m,
            json!({ "action": "warn_sender", "note": "" }),
        )
        .await,
        bad,
        "invalid_parameter",
    );
    // 400 invalid_cursor
    for c in ["!!", "bm9kb3Q", "YWJjLg"] {
        check(
            t.get(&format!("/v1/cases?cursor={c}"), m).await,
            bad,
            "invalid_cursor",
        );
        check(
            t.get(&format!("/v1/admin/audit?cursor={c}"), Some(&h.admin))
                .await,
            bad,
            "invalid_cursor",
        );
    }
    // 400 invalid_action
    check(
        t.post(
            &format!("{p}/resolve"),
            m,
            json!({ "action": "delete_user" }),
        )
        .await,
        bad,
        "invalid_action",
    );
    // 400 malformed (bad JSON, wrong shape, unknown field)
    for path in ["resolve", "notes", "assign", "dismiss", "reopen"] {
        let r = t
            .raw(
                Method::POST,
                &format!("{p}/{path}"),
                m,
                Some("application/json"),
                b"{nope".to_vec(),
            )
            .await;
        check(r, bad, "malformed");
    }
    check(
        t.post(&format!("{p}/resolve"), m, json!({})).await,
        bad,
        "malformed",
    );
    check(
        t.post(&format!("{p}/notes"), m, json!({ "body": 5 })).await,
        bad,
        "malformed",
    );
    check(
        t.post(&format!("{p}/assign"), m, json!({ "who": "x" }))
            .await,
        bad,
        "malformed",
    );
    // 400 unsupported_media_type (JSON body required)
    let r = t
        .raw(
            Method::POST,
            &format!("{p}/notes"),
            m,
            Some("text/plain"),
            b"{\"body\":\"x\"}".to_vec(),
        )
        .await;
    check(r, bad, "unsupported_media_type");
    let r = t
        .raw(Method::POST, &format!("{p}/resolve"), m, None, Vec::new())
        .await;
    check(r, bad, "unsupported_media_type");
    // 401 unauthorized
    check(
        t.get(&p, None).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    check(
        t.get(&p, Some(BAD_TOKEN)).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    check(
        t.get(&p, Some("short")).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    // 403 forbidden / wrong_network / network_disabled
    check(
        t.get(&p, Some(&h.net1.relay)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    check(
        t.get("/v1/admin/audit", m).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    check(
        t.get("/v1/cases?network=net1", Some(&h.net2.moderator))
            .await,
        StatusCode::FORBIDDEN,
        "wrong_network",
    );
    // 404 not_found: missing case, and another network's case (same answer: no existence leak).
    let missing = t.get("/v1/cases/case_doesnotexist", m).await;
    let other = t.get(&p, Some(&h.net2.moderator)).await;
    assert_eq!(
        missing.body, other.body,
        "other network's case looks missing"
    );
    check(missing, StatusCode::NOT_FOUND, "not_found");
    check(other, StatusCode::NOT_FOUND, "not_found");
    check(
        t.post(
            "/v1/cases/case_nope/resolve",
            m,
            json!({ "action": "warn_sender" }),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    // 409 invalid_transition
    check(
        t.post(&format!("{p}/reopen"), m, json!({})).await,
        StatusCode::CONFLICT,
        "invalid_transition",
    );
    // 422 unknown_assignee: no such moderator, a moderator of another network, a revoked one.
    check(
        t.post(&format!("{p}/assign"), m, json!({ "assignee": "nobody" }))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_assignee",
    );
    issue_token(
        &h.state.db,
        Role::Moderator,
        Some("net2"),
        "net2-only",
        None,
    )
    .await
    .unwrap();
    check(
        t.post(
            &format!("{p}/assign"),
            m,
            json!({ "assignee": "net2-only" }),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_assignee",
    );
    check(
        t.post(&format!("{p}/assign"), m, json!({ "assignee": "relay" }))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_assignee",
    );
    // 413 payload_too_large
    let big = vec![b'a'; 3 * 1024 * 1024];
    let r = t
        .raw(
            Method::POST,
            &format!("{p}/notes"),
            m,
            Some("application/json"),
            big,
        )
        .await;
    check(r, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    // Nothing above changed the case.
    assert_eq!(state_of(h, &id).await, "open");
    // 403 network_disabled: the network's moderator token stops working.
    let r = t
        .call(
            Method::PATCH,
            "/v1/admin/networks/net1",
            Some(&h.admin),
            Some(json!({ "disabled": true })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    check(
        t.get(&p, m).await,
        StatusCode::FORBIDDEN,
        "network_disabled",
    );
    // Admins still see it.
    assert_eq!(state_of(h, &id).await, "open");
}

// ---------------------------------------------------------------- endpoint × role matrix

#[derive(Clone, Copy, Debug, PartialEq)]
enum Who {
    Admin,
    ModOwn,
    ModOther,
    Relay,
    Service,
    NoToken,
    BadToken,
}

const WHO: [Who; 7] = [
    Who::Admin,
    Who::ModOwn,
    Who::ModOther,
    Who::Relay,
    Who::Service,
    Who::NoToken,
    Who::BadToken,
];

fn token(h: &Harness, w: Who) -> Option<String> {
    match w {
        Who::Admin => Some(h.admin.clone()),
        Who::ModOwn => Some(h.net1.moderator.clone()),
        Who::ModOther => Some(h.net2.moderator.clone()),
        Who::Relay => Some(h.net1.relay.clone()),
        Who::Service => Some(h.net1.service.clone()),
        Who::NoToken => None,
        Who::BadToken => Some(BAD_TOKEN.to_owned()),
    }
}

/// Per-case endpoints: (method, suffix, body for admin, body for a moderator, state the case
/// must be in first, state after success).
fn case_endpoints() -> Vec<(
    Method,
    &'static str,
    Value,
    Value,
    &'static str,
    &'static str,
)> {
    vec![
        (Method::GET, "", Value::Null, Value::Null, "open", "open"),
        (
            Method::POST,
            "/assign",
            json!({ "assignee": "mod" }),
            json!({}),
            "open",
            "assigned",
        ),
        (
            Method::POST,
            "/resolve",
            json!({ "action": "warn_sender" }),
            json!({ "action": "suspend_sender" }),
            "open",
            "resolved",
        ),
        (
            Method::POST,
            "/dismiss",
            json!({}),
            json!({ "reason": "dup" }),
            "open",
            "dismissed",
        ),
        (
            Method::POST,
            "/reopen",
            json!({}),
            json!({}),
            "resolved",
            "open",
        ),
        (
            Method::GET,
            "/notes",
            Value::Null,
            Value::Null,
            "open",
            "open",
        ),
        (
            Method::POST,
            "/notes",
            json!({ "body": "n" }),
            json!({ "body": "n" }),
            "open",
            "open",
        ),
        (
            Method::GET,
            "/audit",
            Value::Null,
            Value::Null,
            "open",
            "open",
        ),
    ]
}

#[tokio::test]
async fn endpoint_role_matrix() {
    for h in harnesses().await {
        matrix(&h).await;
    }
}

async fn matrix(h: &Harness) {
    let t = h.t();
    let mut checked = 0;
    for (method, suffix, admin_body, mod_body, pre, post) in case_endpoints() {
        for who in WHO {
            // A fresh case per combination, so successes and failures are independent.
            let id = new_case(h, "net1", "spam", "matrix").await;
            if pre == "resolved" {
                let r = t
                    .post(
                        &format!("/v1/cases/{id}/resolve"),
                        Some(&h.admin),
                        json!({ "action": "no_violation" }),
                    )
                    .await;
                assert_eq!(r.status, StatusCode::OK);
            }
            let path = format!("/v1/cases/{id}{suffix}");
            let body = match who {
                Who::Admin => admin_body.clone(),
                _ => mod_body.clone(),
            };
            let body = (!body.is_null()).then_some(body);
            let r = t
                .call(method.clone(), &path, token(h, who).as_deref(), body)
                .await;
            let expected = match who {
                Who::Admin | Who::ModOwn if method == Method::POST && suffix == "/notes" => {
                    (StatusCode::CREATED, "")
                }
                Who::Admin | Who::ModOwn => (StatusCode::OK, ""),
                Who::ModOther => (StatusCode::NOT_FOUND, "not_found"),
                Who::Relay | Who::Service => (StatusCode::FORBIDDEN, "forbidden"),
                Who::NoToken | Who::BadToken => (StatusCode::UNAUTHORIZED, "unauthorized"),
            };
            assert_eq!(
                (r.status, r.code()),
                expected,
                "{method} {suffix} as {who:?}: {}",
                r.body
            );
            let now = state_of(h, &id).await;
            let want = if r.status.is_success() { post } else { pre };
            assert_eq!(now, want, "{method} {suffix} as {who:?}: state");
            checked += 1;
        }
    }
    // The list endpoint.
    let own = new_case(h, "net1", "spam", "list").await;
    for who in WHO {
        let r = t.get("/v1/cases", token(h, who).as_deref()).await;
        match who {
            Who::Admin | Who::ModOwn => {
                assert_eq!(r.status, StatusCode::OK);
                assert!(
                    r.body["cases"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|c| c["id"] == own.as_str())
                );
            }
            Who::ModOther => {
                assert_eq!(r.status, StatusCode::OK);
                assert!(
                    r.body["cases"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .all(|c| c["network"] == "net2")
                );
            }
            Who::Relay | Who::Service => assert_eq!(r.code(), "forbidden", "{who:?}"),
            Who::NoToken | Who::BadToken => assert_eq!(r.code(), "unauthorized", "{who:?}"),
        }
        checked += 1;
    }
    // Admin-only endpoints.
    for (method, path) in [
        (Method::GET, "/v1/admin/audit"),
        (Method::POST, "/v1/admin/retention/run"),
    ] {
        for who in WHO {
            let r = t
                .call(method.clone(), path, token(h, who).as_deref(), None)
                .await;
            let expected = match who {
                Who::Admin => (StatusCode::OK, ""),
                Who::ModOwn | Who::ModOther | Who::Relay | Who::Service => {
                    (StatusCode::FORBIDDEN, "forbidden")
                }
                Who::NoToken | Who::BadToken => (StatusCode::UNAUTHORIZED, "unauthorized"),
            };
            assert_eq!(
                (r.status, r.code()),
                expected,
                "{method} {path} as {who:?}: {}",
                r.body
            );
            checked += 1;
        }
    }
    assert_eq!(checked, (8 + 1 + 2) * 7);
}

// ---------------------------------------------------------------- concurrency

#[tokio::test]
async fn concurrent_transitions_have_one_winner() {
    for h in harnesses().await {
        let id = new_case(&h, "net1", "spam", "race").await;
        let t = h.t();
        let p1 = format!("/v1/cases/{id}/resolve");
        let p2 = format!("/v1/cases/{id}/dismiss");
        let (a, b) = tokio::join!(
            t.post(
                &p1,
                Some(&h.net1.moderator),
                json!({ "action": "warn_sender" })
            ),
            t.post(&p2, Some(&h.admin), json!({})),
        );
        let mut statuses = [a.status, b.status];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::OK, StatusCode::CONFLICT],
            "{} {}",
            a.body,
            b.body
        );
        let loser = if a.status == StatusCode::CONFLICT {
            &a
        } else {
            &b
        };
        assert_eq!(loser.code(), "invalid_transition");
        let r = t
            .get(&format!("/v1/cases/{id}/audit"), Some(&h.admin))
            .await;
        let actions: Vec<_> = r.body["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(actions.len(), 2, "{actions:?}");
        assert_eq!(actions[0], "report.accept");
    }
}

/// On SQLite a change that reads before it writes (a transition reads the case first) waits for
/// another connection's write instead of failing at once with `SQLITE_BUSY` (a 500): every change
/// takes the write lock when it begins.
#[tokio::test]
async fn a_transition_waits_for_a_concurrent_writer_on_sqlite() {
    let h = harness_with(TestDb::sqlite(), report_server::Limits::default()).await;
    let id = new_case(&h, "net1", "spam", "hello").await;
    let mut writer = h.state.db.begin().await.unwrap();
    sqlx::query("INSERT INTO server_meta (name, value, created_at) VALUES ('held', 'x', 0)")
        .execute(&mut *writer)
        .await
        .unwrap();
    let t = h.t();
    let path = format!("/v1/cases/{id}/assign");
    let assign = t.post(&path, Some(&h.net1.moderator), json!({}));
    // The other writer commits while the transition waits: a transaction that read before that
    // commit can no longer write on SQLite unless it held the write lock from its start.
    let release = async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        writer.commit().await.unwrap();
    };
    let (r, ()) = tokio::join!(assign, release);
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["state"], "assigned");
}
