//! Room reports (issue 17): a message stamped by the server's relay endpoint with a room context of
//! constant size (a member root), reported by two members with their membership proofs → one case,
//! two reporters, the room, epoch and each reporter's membership in the case view; and every room
//! refusal (a non-member, another epoch's proof, a swapped sibling, no proof) answered 422 with its
//! code and nothing written. On SQLite, and on PostgreSQL when `TEST_DATABASE_URL` is set.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use axum::http::StatusCode;
use common::*;
use franking_core::frank::merkle::MemberTree;
use franking_core::frank::{Context, MembershipProof, ReportedMessage, RoomMembers};
use serde_json::json;

const EPOCH: u64 = 12;

fn members(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("member-{i:05}")).collect()
}

/// A message from member 0 to a room of `n` members, stamped by the server's relay endpoint with
/// the room context; returns the member tree and the message as a member keeps it (no proof yet).
async fn room_message(
    h: &Harness,
    n: usize,
    room: &str,
    id: &str,
) -> (MemberTree, ReportedMessage) {
    let tree = MemberTree::new(members(n)).unwrap();
    let root = RoomMembers::of(&tree, EPOCH).unwrap();
    let ctx = Context::room_members("net1", "member-00000", room, root, now_ms(), id).unwrap();
    let m = franked(&h.t(), &h.net1.relay, ctx, id.as_bytes()).await;
    (tree, m)
}

#[tokio::test]
async fn two_members_report_one_room_message() {
    for h in harnesses().await {
        two_members(&h).await;
    }
}

async fn two_members(h: &Harness) {
    let t = h.t();
    // The relay endpoint stamps the constant-size room context like any other.
    let (tree, m) = room_message(h, 10_000, "room-big", "rm-1").await;
    let mut case_id = String::new();
    for who in ["member-00001", "member-09876"] {
        let proof = MembershipProof::for_member(&tree, EPOCH, who).unwrap();
        let report = report_json(m.clone().with_membership(Some(proof)), who, vec![]);
        let r = t
            .post(
                "/v1/reports",
                Some(&h.net1.service),
                submission(who, report),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let id = r.body["case_id"].as_str().unwrap().to_owned();
        assert!(case_id.is_empty() || case_id == id, "one case per message");
        case_id = id;
    }
    let r = t
        .get(&format!("/v1/cases/{case_id}"), Some(&h.net1.moderator))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let c = &r.body;
    assert_eq!(c["report_count"], 2);
    assert_eq!(c["reporters"], json!(["member-00001", "member-09876"]));
    let ev = c["evidence"].as_array().unwrap();
    assert_eq!(ev.len(), 2);
    for e in ev {
        let content = &e["content"];
        let ctx = &content["message"]["context"];
        assert_eq!(ctx["room"], "room-big");
        assert_eq!(ctx["members"]["epoch"], EPOCH);
        assert_eq!(ctx["members"]["count"], 10_000);
        assert!(ctx.get("recipients").is_none());
        let who = content["reporter"].as_str().unwrap();
        let ms = &content["reporter_membership"];
        assert_eq!(ms["room"], "room-big");
        assert_eq!(ms["epoch"], EPOCH);
        assert_eq!(ms["member_count"], 10_000);
        assert_eq!(ms["leaf_index"], tree.index_of(who).unwrap());
        // ⌈log2 10,000⌉ = 14 siblings on the left (complete) subtree, fewer on the right.
        let index = tree.index_of(who).unwrap();
        assert_eq!(ms["proof_siblings"], tree.path(index).unwrap().len());
        assert!(tree.path(index).unwrap().len() <= 14);
    }
}

#[tokio::test]
async fn room_refusals_write_nothing() {
    for h in harnesses().await {
        refusals(&h).await;
    }
}

async fn refusals(h: &Harness) {
    let t = h.t();
    let (tree, m) = room_message(h, 300, "room-r", "rm-2").await;
    let good = MembershipProof::for_member(&tree, EPOCH, "member-00007").unwrap();
    let prev_tree = MemberTree::new(members(299)).unwrap();
    let prev = MembershipProof::for_member(&prev_tree, EPOCH - 1, "member-00007").unwrap();
    let relabelled = MembershipProof::new(EPOCH, prev.index(), prev.siblings().to_vec()).unwrap();
    let mut s = good.siblings().to_vec();
    s.swap(1, 2);
    let swapped = MembershipProof::new(EPOCH, good.index(), s).unwrap();
    let cases = [
        ("mallory", Some(good.clone()), "not_room_member"),
        ("member-00007", None, "membership_proof_missing"),
        ("member-00007", Some(prev), "membership_epoch_mismatch"),
        ("member-00007", Some(relabelled), "not_room_member"),
        ("member-00007", Some(swapped), "not_room_member"),
        (
            "member-00000",
            MembershipProof::for_member(&tree, EPOCH, "member-00000").ok(),
            "reporter_not_recipient",
        ),
    ];
    let before = (
        count(&h.state, "cases").await,
        count(&h.state, "reports").await,
    );
    for (who, proof, code) in cases {
        let report = report_json(m.clone().with_membership(proof), who, vec![]);
        let r = t
            .post(
                "/v1/reports",
                Some(&h.net1.service),
                submission(who, report),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{who}: {}",
            r.body
        );
        assert_eq!(r.code(), code, "{who}");
    }
    let after = (
        count(&h.state, "cases").await,
        count(&h.state, "reports").await,
    );
    assert_eq!(before, after, "a refused report writes nothing");
    // The good proof is accepted.
    let report = report_json(m.with_membership(Some(good)), "member-00007", vec![]);
    let r = t
        .post(
            "/v1/reports",
            Some(&h.net1.service),
            submission("member-00007", report),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

#[tokio::test]
async fn stamp_endpoint_refuses_malformed_room_contexts() {
    let h = harness().await;
    let t = h.t();
    let ctx = json!({"network": "net1", "sender": "a", "room": "r",
                     "members": {"epoch": 1, "count": 0, "root": b64(&[1; 32])},
                     "timestamp_ms": now_ms(), "message_id": "x"});
    let both = json!({"network": "net1", "sender": "a", "room": "r", "recipients": ["b"],
                      "members": {"epoch": 1, "count": 2, "root": b64(&[1; 32])},
                      "timestamp_ms": now_ms(), "message_id": "x"});
    for c in [ctx, both] {
        let r = t
            .post(
                "/v1/stamp",
                Some(&h.net1.relay),
                json!({"suite": 2, "commitment": b64(&[2; 32]), "context": c}),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
        assert_eq!(r.code(), "malformed");
    }
}
