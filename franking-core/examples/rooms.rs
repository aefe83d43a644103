//! Room stamps of constant size against the listed-recipients form, measured in the same run.
//!
//! ```sh
//! cargo run --release -p franking-core --example rooms
//! ```
//!
//! For 10, 1,000 and 10,000 members: the stamped context's size and the time to stamp one message
//! (a listed context names every recipient; a room context commits to the member root), the ratio
//! listed/room, the membership proof's size in a report, and the relay's once-per-epoch cost of the
//! member root. Figures go to docs/performance.md ("Room stamps").
#![allow(clippy::unwrap_used, clippy::print_stdout, missing_docs)]

use std::hint::black_box;
use std::time::Instant;

use franking_core::frank::merkle::MemberTree;
use franking_core::frank::{
    Commitment, Context, KeyId, KeyRing, MembershipProof, RoomMembers, StampKey, Suite,
};

/// Median nanoseconds per call of `f` over `rounds` rounds of `iters` calls.
fn time_ns(iters: u32, rounds: usize, mut f: impl FnMut()) -> f64 {
    let mut samples: Vec<f64> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iters {
                f();
            }
            start.elapsed().as_nanos() as f64 / f64::from(iters)
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[rounds / 2]
}

fn main() {
    let ring = KeyRing::new(
        "example.net",
        StampKey::from_bytes(KeyId(1), [7; 32], None),
        0,
        0,
    );
    let t = Commitment([9; 32]);
    let suite = Suite::default();
    let (ts, id) = (1_790_000_000_000, "message-0001");
    println!(
        "{:>7} | {:>12} {:>12} | {:>12} {:>12} | {:>7} | {:>11} | {:>12}",
        "members", "listed B", "room B", "listed ns", "room ns", "ratio", "proof B", "root (epoch)"
    );
    for n in [10usize, 1_000, 10_000] {
        let ids: Vec<String> = (0..n).map(|i| format!("user-{i:06}")).collect();
        let listed =
            Context::room("example.net", "user-000000", "room-1", ids.clone(), ts, id).unwrap();
        let start = Instant::now();
        let tree = MemberTree::new(ids).unwrap();
        let root_ms = start.elapsed().as_secs_f64() * 1e3;
        let members = RoomMembers::of(&tree, 1).unwrap();
        let room =
            Context::room_members("example.net", "user-000000", "room-1", members, ts, id).unwrap();
        let iters = if n >= 1_000 { 200 } else { 20_000 };
        let listed_ns = time_ns(iters, 9, || {
            black_box(ring.stamp(suite, &t, black_box(&listed)).unwrap());
        });
        let room_ns = time_ns(20_000, 9, || {
            black_box(ring.stamp(suite, &t, black_box(&room)).unwrap());
        });
        let worst_proof = (0..n)
            .step_by((n / 16).max(1))
            .map(|i| {
                let p = MembershipProof::for_member(&tree, 1, &tree.members()[i]).unwrap();
                p.to_bytes().unwrap().len()
            })
            .max()
            .unwrap();
        let bound = 32 * (n as f64).log2().ceil() as usize + 26;
        assert!(worst_proof <= bound);
        println!(
            "{:>7} | {:>12} {:>12} | {:>12.0} {:>12.0} | {:>6.1}x | {:>5} ≤ {:>3} | {:>9.2} ms",
            n,
            listed.to_bytes().unwrap().len(),
            room.to_bytes().unwrap().len(),
            listed_ns,
            room_ns,
            listed_ns / room_ns,
            worst_proof,
            bound,
            root_ms
        );
    }
}
