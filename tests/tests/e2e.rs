//! End to end over real HTTP against an in-process report server (SQLite always; PostgreSQL too
//! when `TEST_DATABASE_URL` is set): the admin sets a network up, a sender seals with client-sdk,
//! the relay stamps through `ServerClient`, the recipient opens, the platform backend reports
//! through `ServerClient`, a moderator sees the verified plaintext and resolves the case — and
//! every way to get a report wrong is refused with its machine-readable code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use client_sdk::frank::{Context, Report, SessionKey};
use client_sdk::messaging::{Conversation, OpenChecks, OpenedMessage};
use client_sdk::server::ServerClient;
use client_sdk::{Error, MessageContent};
use franking_tests::harness::{Network, TestServer, databases, now_ms, unique};
use serde_json::json;

/// Alice and Bob's conversation (both ends hold the same session key).
fn conversation() -> Conversation {
    Conversation::new(unique("conv"), SessionKey::generate().unwrap())
}

/// Seal `text` as alice, stamp it through the server with `relay`'s token in `ctx`, open it as
/// `me` (checking the sender is alice).
fn send(
    server: &TestServer,
    relay_token: &str,
    conv: &Conversation,
    ctx: Context,
    text: &str,
    me: &str,
) -> OpenedMessage {
    let relay = ServerClient::new(&server.url, relay_token).unwrap();
    let envelope = conv.seal(&MessageContent::text(text)).unwrap();
    let delivered = relay.stamp(envelope, ctx).unwrap();
    conv.open(&delivered, &OpenChecks::recipient(me).sender("alice"))
        .unwrap()
}

fn dm(net: &Network, ts: u64) -> Context {
    Context::direct(&net.id, "alice", "bob", ts, unique("msg")).unwrap()
}

/// The server's refusal code (panics if the call did not fail with a server refusal).
fn refused<T: std::fmt::Debug>(r: Result<T, Error>) -> (u16, String) {
    match r {
        Err(Error::Server { status, code, .. }) => (status, code),
        other => panic!("expected a server refusal, got {other:?}"),
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

#[test]
fn seal_stamp_open_report_moderate_resolve() {
    for db in databases() {
        let server = TestServer::start(db);
        let backend = server.backend;
        let net = server.network(&unique("net"), None);
        let conv = conversation();
        let text = "you will regret this (abusive message)";
        let opened = send(&server, &net.relay, &conv, dm(&net, now_ms()), text, "bob");
        assert_eq!(opened.content().text, text);

        // The platform backend submits bob's report.
        let service = ServerClient::new(&server.url, &net.service).unwrap();
        let report = opened.report("bob", "threat", &[]).unwrap();
        let receipt = service
            .submit_report("bob", Some("harassment"), &report)
            .unwrap();
        assert_eq!(receipt.verdict, "accepted", "{backend}");
        assert!(!receipt.duplicate);
        assert_eq!(receipt.report_count, 1);
        // Reporting again is idempotent: same case, nothing new.
        let again = service
            .submit_report("bob", Some("harassment"), &report)
            .unwrap();
        assert_eq!(again.case_id, receipt.case_id);
        assert!(again.duplicate);
        assert_eq!(again.report_count, 1);

        // The moderator sees the case in the queue ...
        let list = server.get("/v1/cases?state=open", &net.moderator);
        assert_eq!(list.status, 200, "{backend}: {}", list.body);
        let cases = list.body["cases"].as_array().unwrap();
        let listed = cases
            .iter()
            .find(|c| c["id"] == receipt.case_id.as_str())
            .unwrap_or_else(|| panic!("{backend}: case not in the queue: {}", list.body));
        assert_eq!(listed["report_count"], 1);
        assert_eq!(listed["sender"], "alice");
        assert_eq!(listed["category"], "harassment");

        // ... and in it the verified plaintext the recipient was shown, without the franking key.
        let case = server.get(&format!("/v1/cases/{}", receipt.case_id), &net.moderator);
        assert_eq!(case.status, 200, "{backend}: {}", case.body);
        assert_eq!(case.body["network"], net.id.as_str());
        assert_eq!(case.body["reporters"], json!(["bob"]));
        let evidence = case.body["evidence"].as_array().unwrap();
        assert_eq!(evidence.len(), 1, "{backend}: {}", case.body);
        let content = &evidence[0]["content"];
        assert_eq!(content["reporter"], "bob");
        assert_eq!(content["reason"], "threat");
        assert_eq!(content["message"]["format"], "content");
        assert_eq!(content["message"]["text"], text);
        // The raw content encoding is not returned (it would carry attachment keys).
        assert!(content["message"]["plaintext_b64"].is_null());
        assert!(!case.body.to_string().contains(&b64(opened.plaintext())));
        let opening = serde_json::to_value(&report).unwrap()["message"]["opening"].clone();
        let opening = opening.as_str().expect("opening is a base64 string");
        assert!(
            !case.body.to_string().contains(opening),
            "{backend}: the case view leaks the franking key"
        );

        // The moderator takes the case, then resolves it; a second resolution is an invalid
        // transition.
        let taken = server.post(
            &format!("/v1/cases/{}/assign", receipt.case_id),
            &net.moderator,
            json!({}),
        );
        assert_eq!(taken.status, 200, "{backend}: {}", taken.body);
        assert_eq!(taken.body["state"], "assigned");
        assert_eq!(taken.body["assignee"], net.moderator_name.as_str());
        let resolve = json!({ "action": "remove_content", "note": "threat of violence" });
        let path = format!("/v1/cases/{}/resolve", receipt.case_id);
        let done = server.post(&path, &net.moderator, resolve.clone());
        assert_eq!(done.status, 200, "{backend}: {}", done.body);
        assert_eq!(done.body["state"], "resolved");
        assert_eq!(done.body["resolution_action"], "remove_content");
        let twice = server.post(&path, &net.moderator, resolve);
        assert_eq!(
            (twice.status, twice.code()),
            (409, "invalid_transition"),
            "{backend}"
        );
        let resolved = server.get("/v1/cases?state=resolved", &net.moderator);
        assert!(
            resolved.body["cases"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["id"] == receipt.case_id.as_str()),
            "{backend}: {}",
            resolved.body
        );
    }
}

#[test]
fn reports_of_one_message_group_into_one_case() {
    for db in databases() {
        let server = TestServer::start(db);
        let backend = server.backend;
        let net = server.network(&unique("net"), None);
        let conv = conversation();
        let service = ServerClient::new(&server.url, &net.service).unwrap();
        let ctx = Context::room(
            &net.id,
            "alice",
            "room-1",
            vec!["bob".into(), "carol".into()],
            now_ms(),
            unique("msg"),
        )
        .unwrap();
        let relay = ServerClient::new(&server.url, &net.relay).unwrap();
        let delivered = relay
            .stamp(conv.seal(&MessageContent::text("spam spam")).unwrap(), ctx)
            .unwrap();
        let mut receipts = Vec::new();
        for me in ["bob", "carol"] {
            let opened = conv.open(&delivered, &OpenChecks::recipient(me)).unwrap();
            let report = opened.report(me, "spam", &[]).unwrap();
            receipts.push(service.submit_report(me, Some("spam"), &report).unwrap());
        }
        assert_eq!(receipts[0].case_id, receipts[1].case_id, "{backend}");
        assert_eq!(receipts[1].report_count, 2, "{backend}");
        assert_ne!(receipts[0].report_id, receipts[1].report_id);
        let case = server.get(
            &format!("/v1/cases/{}", receipts[0].case_id),
            &net.moderator,
        );
        assert_eq!(case.status, 200, "{}", case.body);
        assert_eq!(case.body["report_count"], 2, "{backend}");
        // (Reports received in the same millisecond are ordered by id: compare as a set.)
        let mut reporters: Vec<&str> = case.body["reporters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        reporters.sort_unstable();
        assert_eq!(reporters, ["bob", "carol"], "{backend}");
        assert_eq!(
            case.body["evidence"].as_array().unwrap().len(),
            2,
            "{backend}"
        );
    }
}

#[test]
fn refusals_over_http() {
    for db in databases() {
        let server = TestServer::start(db);
        let backend = server.backend;
        let net1 = server.network(&unique("net1"), None);
        let net2 = server.network(&unique("net2"), None);
        let conv = conversation();
        let service1 = ServerClient::new(&server.url, &net1.service).unwrap();
        let opened = send(
            &server,
            &net1.relay,
            &conv,
            dm(&net1, now_ms()),
            "hello",
            "bob",
        );
        let report = opened.report("bob", "spam", &[]).unwrap();

        // Tampered plaintext: the commitment no longer opens to it.
        let mut tampered: Report = report.clone();
        tampered.message.plaintext[8] ^= 1;
        assert_eq!(
            refused(service1.submit_report("bob", None, &tampered)),
            (422, "commitment_mismatch".into()),
            "{backend}"
        );

        // Wrong reporter: the backend asserts someone else than the report's reporter ...
        assert_eq!(
            refused(service1.submit_report("mallory", None, &report)),
            (422, "reporter_mismatch".into()),
            "{backend}"
        );
        // ... or the reporter is not a recipient of the message (client-sdk refuses to build that
        // report, so build it by hand).
        let mut carol = report.clone();
        carol.reporter = "carol".into();
        assert_eq!(
            refused(service1.submit_report("carol", None, &carol)),
            (422, "reporter_not_recipient".into()),
            "{backend}"
        );

        // Another network: net1's relay cannot stamp for net2 ...
        let relay1 = ServerClient::new(&server.url, &net1.relay).unwrap();
        let envelope = conv.seal(&MessageContent::text("x")).unwrap();
        assert_eq!(
            refused(relay1.stamp(envelope, dm(&net2, now_ms()))),
            (403, "wrong_network".into()),
            "{backend}"
        );
        // ... net1's backend cannot report net2's messages ...
        let from2 = send(
            &server,
            &net2.relay,
            &conv,
            dm(&net2, now_ms()),
            "from net2",
            "bob",
        );
        let report2 = from2.report("bob", "spam", &[]).unwrap();
        assert_eq!(
            refused(service1.submit_report("bob", None, &report2)),
            (403, "wrong_network".into()),
            "{backend}"
        );
        // ... and net2's stamp relabelled as net1's does not verify with net1's key.
        let mut relabelled = report2.clone();
        relabelled.message.context = Context::new(
            &net1.id,
            relabelled.message.context.sender(),
            None,
            relabelled.message.context.recipients().to_vec(),
            relabelled.message.context.timestamp_ms(),
            relabelled.message.context.message_id(),
        )
        .unwrap();
        assert_eq!(
            refused(service1.submit_report("bob", None, &relabelled)),
            (422, "bad_stamp".into()),
            "{backend}"
        );

        // Outside the reporting window: stamped (by the relay, honestly) too long ago.
        let policy = server.get(
            &format!("/v1/admin/networks/{}/policy", net1.id),
            &server.admin,
        );
        assert_eq!(policy.status, 200, "{}", policy.body);
        let window = policy.body["window_ms"].as_u64().unwrap();
        let old = send(
            &server,
            &net1.relay,
            &conv,
            dm(&net1, now_ms() - window - 60_000),
            "old message",
            "bob",
        );
        assert_eq!(
            refused(service1.submit_report("bob", None, &old.report("bob", "spam", &[]).unwrap())),
            (422, "outside_window".into()),
            "{backend}"
        );

        // Bad tokens: unknown (401), or the wrong role (403).
        let bogus = "A".repeat(43);
        let nobody = ServerClient::new(&server.url, &bogus).unwrap();
        assert_eq!(
            refused(nobody.submit_report("bob", None, &report)),
            (401, "unauthorized".into()),
            "{backend}"
        );
        let envelope = conv.seal(&MessageContent::text("x")).unwrap();
        assert_eq!(
            refused(nobody.stamp(envelope.clone(), dm(&net1, now_ms()))),
            (401, "unauthorized".into()),
            "{backend}"
        );
        let relay_as_service = ServerClient::new(&server.url, &net1.relay).unwrap();
        assert_eq!(
            refused(relay_as_service.submit_report("bob", None, &report)),
            (403, "forbidden".into()),
            "{backend}"
        );
        let service_as_relay = ServerClient::new(&server.url, &net1.service).unwrap();
        assert_eq!(
            refused(service_as_relay.stamp(envelope, dm(&net1, now_ms()))),
            (403, "forbidden".into()),
            "{backend}"
        );

        // Nothing above created a case; the genuine report does.
        let list = server.get("/v1/cases", &net1.moderator);
        assert_eq!(list.status, 200, "{}", list.body);
        assert_eq!(list.body["cases"].as_array().unwrap().len(), 0, "{backend}");
        let receipt = service1.submit_report("bob", None, &report).unwrap();

        // Another network's moderator cannot see or act on the case.
        let path = format!("/v1/cases/{}", receipt.case_id);
        let r = server.get(&path, &net2.moderator);
        assert_eq!((r.status, r.code()), (404, "not_found"), "{backend}");
        let r = server.post(
            &format!("{path}/resolve"),
            &net2.moderator,
            json!({ "action": "no_violation" }),
        );
        assert_eq!((r.status, r.code()), (404, "not_found"), "{backend}");
        let r = server.get("/v1/cases", &net2.moderator);
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(
            r.body["cases"].as_array().unwrap().is_empty(),
            "{backend}: net2's moderator sees {}",
            r.body
        );
        let r = server.get(&format!("/v1/cases?network={}", net1.id), &net2.moderator);
        assert_eq!((r.status, r.code()), (403, "wrong_network"), "{backend}");
        // Relay and service tokens are not moderators; a bad token is 401.
        let r = server.get(&path, &net1.service);
        assert_eq!((r.status, r.code()), (403, "forbidden"), "{backend}");
        let r = server.get(&path, &bogus);
        assert_eq!((r.status, r.code()), (401, "unauthorized"), "{backend}");
        // net1's own moderator does see it, still open.
        let r = server.get(&path, &net1.moderator);
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["state"], "open");
    }
}
