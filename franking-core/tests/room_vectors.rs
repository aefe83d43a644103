//! Checks docs/vectors/room.json (scripts/room_vectors.py, an independent implementation of RFC
//! 9162's recursive definitions) against this crate: member tree roots and inclusion proofs, proof
//! and room-context encodings (binary and JSON), the stamp over a room context, and every refusal
//! with its exact code.
#![allow(clippy::unwrap_used, missing_docs)]

use franking_core::Error;
use franking_core::frank::merkle::{MemberTree, leaf_hash, node_hash, verify_path};
use franking_core::frank::{
    Commitment, Context, KeyId, KeyRing, MembershipProof, RoomMembers, StampKey, Suite, stamp_input,
};
use serde_json::Value;

fn load() -> Value {
    let path = format!("{}/../docs/vectors/room.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn hex(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

fn arr<const N: usize>(v: &Value) -> [u8; N] {
    hex(v).try_into().unwrap()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

fn proof_of(v: &Value) -> MembershipProof {
    let p = MembershipProof::from_bytes(&hex(&v["bytes"])).unwrap();
    assert_eq!(p.to_bytes().unwrap(), hex(&v["bytes"]));
    assert_eq!(serde_json::to_value(&p).unwrap(), v["json"]);
    assert_eq!(
        serde_json::from_value::<MembershipProof>(v["json"].clone()).unwrap(),
        p
    );
    assert_eq!(p.epoch(), v["epoch"].as_u64().unwrap());
    assert_eq!(u64::from(p.index()), v["index"].as_u64().unwrap());
    p
}

#[test]
fn trees_roots_and_proofs() {
    let all = load();
    for t in all["trees"].as_array().unwrap() {
        let tree = MemberTree::new(strings(&t["members"])).unwrap();
        assert_eq!(tree.members(), strings(&t["sorted"]).as_slice());
        assert_eq!(tree.root().to_vec(), hex(&t["root"]));
        for (m, l) in tree.members().iter().zip(t["leaves"].as_array().unwrap()) {
            assert_eq!(leaf_hash(m.as_bytes()).to_vec(), hex(l));
        }
        for p in t["proofs"].as_array().unwrap() {
            let member = p["member"].as_str().unwrap();
            let mine = MembershipProof::for_member(&tree, 9, member).unwrap();
            assert_eq!(mine, proof_of(p), "{member}");
            RoomMembers::of(&tree, 9)
                .unwrap()
                .check_member(member, Some(&mine))
                .unwrap();
        }
    }
    for set in all["duplicate_member_sets"].as_array().unwrap() {
        assert_eq!(
            MemberTree::new(strings(set)).unwrap_err(),
            Error::DuplicateMember
        );
    }
}

#[test]
fn room_context_stamp_and_refusals() {
    let all = load();
    let r = &all["room"];
    let tree = MemberTree::new(strings(&r["members"])).unwrap();
    let ctx = Context::from_bytes(&hex(&r["context"]["bytes"])).unwrap();
    assert_eq!(ctx.to_bytes().unwrap(), hex(&r["context"]["bytes"]));
    assert_eq!(serde_json::to_value(&ctx).unwrap(), r["context"]["json"]);
    assert_eq!(
        serde_json::from_value::<Context>(r["context"]["json"].clone()).unwrap(),
        ctx
    );
    let members = *ctx.members().unwrap();
    assert_eq!(members, RoomMembers::of(&tree, members.epoch).unwrap());
    assert!(ctx.recipients().is_empty());
    assert_eq!(ctx.room_id(), Some("room-42"));

    let s = &r["stamp"];
    let suite = Suite::from_id(u8::try_from(s["suite"].as_u64().unwrap()).unwrap()).unwrap();
    let key_id = KeyId(u32::try_from(s["key_id"].as_u64().unwrap()).unwrap());
    let t = Commitment(arr(&s["commitment"]));
    assert_eq!(
        stamp_input(key_id, suite, &t, &ctx).unwrap(),
        hex(&s["input"])
    );
    let ring = KeyRing::new(
        "example.net",
        StampKey::from_bytes(key_id, arr(&s["mac_key"]), None),
        0,
        0,
    );
    let stamp = ring.stamp(suite, &t, &ctx).unwrap();
    assert_eq!(stamp.mac.to_vec(), hex(&s["mac"]));

    let good = proof_of(&r["member_proof"]);
    let reporter = r["member_proof"]["member"].as_str().unwrap();
    ctx.check_recipient(reporter, Some(&good)).unwrap();
    assert_eq!(
        ctx.check_recipient(reporter, None).unwrap_err(),
        Error::MembershipProofMissing
    );
    let refusals = r["refusals"].as_array().unwrap();
    assert!(refusals.len() >= 8);
    for f in refusals {
        let p = proof_of(&f["proof"]);
        let e = ctx
            .check_recipient(f["member"].as_str().unwrap(), Some(&p))
            .unwrap_err();
        assert_eq!(
            e.code(),
            f["code"].as_str().unwrap(),
            "{}",
            f["description"]
        );
    }
}

#[test]
fn second_preimage_leaf_as_node_is_refused() {
    let all = load();
    let v = &all["second_preimage"];
    let tree = MemberTree::new(strings(&v["members"])).unwrap();
    assert_eq!(tree.root().to_vec(), hex(&v["root"]));
    let fake = hex(&v["fake_member"]);
    let siblings: Vec<[u8; 32]> = v["siblings"].as_array().unwrap().iter().map(arr).collect();
    let n = tree.len() as u64;
    let index = v["index"].as_u64().unwrap();
    assert!(!verify_path(
        &leaf_hash(&fake),
        index,
        n,
        &siblings,
        &tree.root()
    ));
    // Even skipping the leaf hashing: the interior node with its own (shorter) path is refused,
    // because the member count fixes the path length.
    let (l, r): ([u8; 32], [u8; 32]) = (
        fake[..32].try_into().unwrap(),
        fake[32..].try_into().unwrap(),
    );
    assert!(!verify_path(
        &node_hash(&l, &r),
        index,
        n,
        &siblings,
        &tree.root()
    ));
}

#[test]
fn malformed_encodings_are_refused() {
    let all = load();
    for m in all["malformed_proofs"].as_array().unwrap() {
        let e = MembershipProof::from_bytes(&hex(&m["bytes"])).unwrap_err();
        assert_eq!(e.code(), "malformed", "{}", m["description"]);
    }
    for m in all["malformed_contexts"].as_array().unwrap() {
        let e = Context::from_bytes(&hex(&m["bytes"])).unwrap_err();
        assert_eq!(e.code(), "malformed", "{}", m["description"]);
    }
}
