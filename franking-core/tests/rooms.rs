//! Room contexts end to end in process: seal → one room stamp → each member's delivery with its
//! proof → report → verify_report; every refusal with its code; binary and JSON round trips of
//! reports carrying proofs; and properties over random member sets (proptest).
#![allow(clippy::unwrap_used, missing_docs)]

use franking_core::Error;
use franking_core::frank::merkle::MemberTree;
use franking_core::frank::{
    Context, KeyId, KeyRing, MembershipProof, Report, ReportPolicy, ReportedMessage, RoomMembers,
    SessionKey, StampKey, Suite, open, seal, verify_report, verify_report_bytes,
};
use proptest::prelude::*;

const T0: u64 = 1_790_000_000_000;
const NOW: u64 = T0 + 60_000;
const AD: &[u8] = b"room-1";

fn ring() -> KeyRing {
    KeyRing::new(
        "example.net",
        StampKey::from_bytes(KeyId(3), [0x22; 32], None),
        0,
        0,
    )
}

fn members(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("user-{i:05}")).collect()
}

struct Room {
    tree: MemberTree,
    members: RoomMembers,
}

fn room(n: usize, epoch: u64) -> Room {
    let tree = MemberTree::new(members(n)).unwrap();
    let members = RoomMembers::of(&tree, epoch).unwrap();
    Room { tree, members }
}

/// A message of `sender` to the room, stamped once; the reported message as `reporter` keeps it,
/// with `proof`.
fn message(
    r: &Room,
    sender: &str,
    id: &str,
    ts: u64,
    proof: Option<MembershipProof>,
) -> ReportedMessage {
    let session = SessionKey::from_bytes([0x33; 32]);
    let env = seal(
        Suite::default(),
        &session,
        AD,
        format!("text of {id}").as_bytes(),
    )
    .unwrap();
    let ctx = Context::room_members("example.net", sender, "room-1", r.members, ts, id).unwrap();
    let stamp = ring().stamp(env.suite, &env.commitment, &ctx).unwrap();
    let opened = open(&env, &session, AD).unwrap();
    ReportedMessage::new(&env, AD, &opened, ctx, stamp).with_membership(proof)
}

fn report(m: ReportedMessage, reporter: &str, earlier: Vec<ReportedMessage>) -> Report {
    Report {
        message: m,
        reporter: reporter.into(),
        reason: "spam".into(),
        earlier,
    }
}

fn verify(rep: Report) -> Result<(), Error> {
    let bytes = rep.to_bytes()?;
    let json = serde_json::to_vec(&rep).unwrap();
    let a = verify_report_bytes(&bytes, &ring(), &ReportPolicy::default(), NOW).map(|_| ());
    let b = Report::from_json(&json)
        .and_then(|r| verify_report(r, &ring(), &ReportPolicy::default(), NOW))
        .map(|_| ());
    assert_eq!(a, b, "binary and JSON forms verify alike");
    a
}

#[test]
fn two_members_report_one_room_message() {
    let r = room(10_000, 4);
    let proof = |m: &str| MembershipProof::for_member(&r.tree, 4, m).ok();
    let base = message(&r, "user-00001", "m-1", T0, None);
    for reporter in ["user-00002", "user-09999"] {
        let m = base.clone().with_membership(proof(reporter));
        let p = m.membership.as_ref().unwrap();
        // ≤ 32 × ⌈log2 n⌉ bytes plus a constant (26 bytes).
        assert!(p.to_bytes().unwrap().len() <= 32 * 14 + 26);
        verify(report(m, reporter, vec![])).unwrap();
    }
    // The room context's encoding does not depend on the room's size.
    let small = message(&room(10, 4), "user-00001", "m-1", T0, None);
    assert_eq!(
        small.context.to_bytes().unwrap().len(),
        base.context.to_bytes().unwrap().len()
    );
}

#[test]
fn refusals_have_precise_codes() {
    let r = room(100, 4);
    let m = message(&r, "user-00001", "m-1", T0, None);
    let proof = |who: &str, epoch: u64| MembershipProof::for_member(&r.tree, epoch, who).ok();
    let with = |p: Option<MembershipProof>, who: &str| {
        verify(report(m.clone().with_membership(p), who, vec![]))
    };

    // Non-member with a member's proof; without any proof.
    assert_eq!(
        with(proof("user-00007", 4), "mallory"),
        Err(Error::NotRoomMember)
    );
    assert_eq!(with(None, "user-00007"), Err(Error::MembershipProofMissing));
    // A proof for another epoch: as issued, and relabelled with this epoch.
    let prev = room(99, 3);
    let old = MembershipProof::for_member(&prev.tree, 3, "user-00007").unwrap();
    assert_eq!(
        with(Some(old.clone()), "user-00007"),
        Err(Error::MembershipEpochMismatch {
            proof: 3,
            context: 4
        })
    );
    let relabelled = MembershipProof::new(4, old.index(), old.siblings().to_vec()).unwrap();
    assert_eq!(
        with(Some(relabelled), "user-00007"),
        Err(Error::NotRoomMember)
    );
    // Swapped siblings.
    let good = proof("user-00007", 4).unwrap();
    let mut s = good.siblings().to_vec();
    s.swap(0, 1);
    let swapped = MembershipProof::new(4, good.index(), s).unwrap();
    assert_eq!(with(Some(swapped), "user-00007"), Err(Error::NotRoomMember));
    // The sender's own message.
    assert_eq!(
        with(proof("user-00001", 4), "user-00001"),
        Err(Error::ReporterNotRecipient)
    );
    // A proof with a listed context is malformed.
    let listed_ctx = Context::direct("example.net", "a", "b", T0, "x").unwrap();
    let mut listed = m.clone().with_membership(Some(good.clone()));
    listed.context = listed_ctx;
    assert_eq!(
        report(listed, "b", vec![]).to_bytes().unwrap_err().code(),
        "malformed"
    );
    // A duplicate member in the set.
    let mut dup = members(5);
    dup.push("user-00003".into());
    assert_eq!(MemberTree::new(dup).unwrap_err(), Error::DuplicateMember);
    // The good proof passes.
    assert_eq!(with(Some(good), "user-00007"), Ok(()));
}

#[test]
fn earlier_room_messages_need_the_reporters_proof_unless_they_sent_them() {
    let r = room(50, 4);
    let p = MembershipProof::for_member(&r.tree, 4, "user-00009").ok();
    let reported = message(&r, "user-00001", "m-2", T0, p.clone());
    let own = message(&r, "user-00009", "m-0", T0 - 2, None);
    let theirs = message(&r, "user-00002", "m-1", T0 - 1, p);
    verify(report(
        reported.clone(),
        "user-00009",
        vec![own.clone(), theirs.clone()],
    ))
    .unwrap();
    let unproven = theirs.with_membership(None);
    assert_eq!(
        verify(report(reported, "user-00009", vec![own, unproven])),
        Err(Error::MembershipProofMissing)
    );
}

#[test]
fn listed_reports_keep_their_encoding() {
    // A message without a proof encodes exactly as before (no trailing field, no JSON key).
    let ctx = Context::direct("example.net", "alice", "bob", T0, "m").unwrap();
    assert_eq!(ctx.to_bytes().unwrap()[1], 0x02);
    let json = serde_json::to_value(&ctx).unwrap();
    assert!(json.get("members").is_none());
    let r = room(3, 1);
    let m = message(
        &r,
        "user-00000",
        "m",
        T0,
        MembershipProof::for_member(&r.tree, 1, "user-00001").ok(),
    );
    let j = serde_json::to_value(&m).unwrap();
    assert!(
        j["context"].get("recipients").is_none(),
        "room contexts omit recipients"
    );
    assert_eq!(
        ReportedMessage::from_bytes(&m.to_bytes().unwrap()).unwrap(),
        m
    );
    let mut bytes = m.to_bytes().unwrap();
    bytes.push(0);
    assert!(ReportedMessage::from_bytes(&bytes).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn members_prove_and_others_do_not(
        ids in proptest::collection::btree_set("[a-z]{1,6}", 1..200),
        pick in any::<prop::sample::Index>(),
        outsider in "[A-Z]{1,6}",
        epoch in any::<u64>(),
    ) {
        let ids: Vec<String> = ids.into_iter().collect();
        let tree = MemberTree::new(ids.clone()).unwrap();
        let members = RoomMembers::of(&tree, epoch).unwrap();
        let who = &ids[pick.index(ids.len())];
        let p = MembershipProof::for_member(&tree, epoch, who).unwrap();
        prop_assert!(p.siblings().len() <= (ids.len() as f64).log2().ceil() as usize);
        prop_assert_eq!(members.check_member(who, Some(&p)), Ok(()));
        prop_assert_eq!(members.check_member(&outsider, Some(&p)), Err(Error::NotRoomMember));
        prop_assert_eq!(MembershipProof::from_bytes(&p.to_bytes().unwrap()).unwrap(), p);
    }
}
