//! Attachments sealed and opened on several threads are the one-thread attachments: the same blob
//! byte for byte, the same plaintext, the same error (code and failing segment), and before an
//! error only a verified prefix of the file released (how much depends on buffering, on one
//! thread as on many), for every thread count, file length around segment and batch boundaries,
//! and tampering.
#![allow(clippy::unwrap_used, missing_docs)]

use std::num::NonZeroUsize;

use franking_core::frank::attachment::{
    AttachmentKey, AttachmentRef, AttachmentSealer, HEADER_LEN, Parallelism, SEGMENT_TAG_LEN,
    open_attachment_with,
};
use proptest::prelude::*;

/// 4 KiB segments: the pipeline does the first 1 MiB (256 segments) alone, one segment per job,
/// then starts its workers with jobs of 256 KiB (64 segments), keeping at most 2 × threads jobs
/// out; the lengths below cross each of these boundaries.
const SEG: u32 = 4096;

fn threads(n: usize) -> Parallelism {
    Parallelism::Threads(NonZeroUsize::new(n).unwrap())
}

const ALL: [usize; 4] = [1, 2, 3, 8];

fn file(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

fn seal(p: Parallelism, seg: u32, data: &[u8]) -> (AttachmentRef, Vec<u8>) {
    let sealer = AttachmentSealer::with_segment_size(seg)
        .unwrap()
        .with_parallelism(p);
    let mut blob = Vec::new();
    let r = sealer
        .seal_with_key(
            AttachmentKey::from_bytes([9; 32]),
            "application/octet-stream",
            data,
            &mut blob,
        )
        .unwrap();
    (r, blob)
}

/// What opening answers: the error code and message (or "ok") and the plaintext written.
fn open(p: Parallelism, r: &AttachmentRef, blob: &[u8]) -> (String, Vec<u8>) {
    let mut out = Vec::new();
    let code = match open_attachment_with(r, blob, &mut out, p) {
        Ok(n) => {
            assert_eq!(n as usize, out.len());
            "ok".to_owned()
        }
        Err(e) => format!("{} {e}", e.code()),
    };
    (code, out)
}

/// One thread's answer for `blob` (a seal of `data`, possibly tampered with); every other thread
/// count gives the same answer, the whole file on success and only a prefix of it on error.
/// Returns the answer and the longest prefix any thread count released.
fn open_all(r: &AttachmentRef, blob: &[u8], data: &[u8]) -> (String, usize) {
    let mut answer = None;
    let mut released = 0;
    for p in [Parallelism::One].into_iter().chain(ALL.map(threads)) {
        let (code, out) = open(p, r, blob);
        if code == "ok" {
            assert!(out == data, "{p:?}: opened plaintext differs");
        } else {
            assert!(data.starts_with(&out), "{p:?}: released bytes not a prefix");
            released = released.max(out.len());
        }
        let first = answer.get_or_insert_with(|| code.clone());
        assert_eq!(&code, first, "{p:?}");
    }
    (answer.unwrap_or_default(), released)
}

#[test]
fn lengths_around_segment_and_batch_boundaries() {
    let seg = SEG as usize;
    // Jobs of 64 segments; 2 threads keep 4 jobs out (256 segments), 8 threads 16 (1024).
    for segments in [
        0, 1, 2, 63, 64, 65, 127, 128, 129, 255, 256, 257, 577, 1024, 1100,
    ] {
        for delta in [-1i64, 0, 1] {
            let len = (segments * seg) as i64 + delta;
            if len < 0 {
                continue;
            }
            let data = file(len as usize, segments as u8);
            let (r1, blob1) = seal(Parallelism::One, SEG, &data);
            for n in ALL {
                let (rn, blobn) = seal(threads(n), SEG, &data);
                assert_eq!(blobn, blob1, "len {len}, {n} threads");
                assert_eq!(rn.commitment, r1.commitment);
                assert_eq!(rn.length, r1.length);
            }
            assert_eq!(open_all(&r1, &blob1, &data).0, "ok");
        }
    }
}

#[test]
fn tampering_fails_alike_on_every_thread_count() {
    let seg = SEG as usize;
    let record = seg + SEGMENT_TAG_LEN;
    let data = file(400 * seg + 100, 3);
    let (r, blob) = seal(Parallelism::One, SEG, &data);
    let mut cases: Vec<(&str, Vec<u8>, &str)> = Vec::new();
    // A flipped bit in segment 300 (a worker's job): segments 0..300 are released.
    let mut flipped = blob.clone();
    flipped[HEADER_LEN + 300 * record + 5] ^= 1;
    cases.push(("flip", flipped, "attachment_tag_invalid"));
    // Cut at a record boundary, and inside a record.
    cases.push((
        "cut at boundary",
        blob[..HEADER_LEN + 333 * record].to_vec(),
        "attachment_truncated",
    ));
    cases.push((
        "cut inside",
        blob[..HEADER_LEN + 333 * record + 7].to_vec(),
        "attachment_truncated",
    ));
    // Extended: the real final segment is no longer last.
    let mut extended = blob.clone();
    extended.extend_from_slice(&[0u8; 64]);
    cases.push(("extended", extended, "attachment_tag_invalid"));
    // Two segments swapped.
    let mut swapped = blob.clone();
    // Segments 320 and 321: the last of one job and the first of the next.
    let (a, b) = (HEADER_LEN + 320 * record, HEADER_LEN + 321 * record);
    let seg3 = swapped[a..b].to_vec();
    let seg4 = swapped[b..b + record].to_vec();
    swapped[a..b].copy_from_slice(&seg4);
    swapped[b..b + record].copy_from_slice(&seg3);
    cases.push(("swapped", swapped, "attachment_tag_invalid"));
    // Header only, and a blob that ends inside its header.
    cases.push((
        "header only",
        blob[..HEADER_LEN].to_vec(),
        "attachment_truncated",
    ));
    cases.push(("short header", blob[..5].to_vec(), "attachment_truncated"));
    for (what, bad, code) in cases {
        let (got, released) = open_all(&r, &bad, &data);
        assert!(got.starts_with(code), "{what}: {got}");
        assert!(released < data.len(), "{what}");
    }
    // Nothing of the flipped segment or after it is released.
    let mut flipped = blob.clone();
    flipped[HEADER_LEN + 300 * record + 5] ^= 1;
    assert!(open_all(&r, &flipped, &data).1 <= 300 * seg);
    // Another file's reference with this blob: commitment and length checks at the end.
    let mut wrong = r.clone();
    wrong.commitment[0] ^= 1;
    assert!(
        open_all(&wrong, &blob, &data)
            .0
            .starts_with("attachment_commitment_mismatch")
    );
    let mut shorter = r.clone();
    shorter.length -= 1;
    assert!(
        open_all(&shorter, &blob, &data)
            .0
            .starts_with("attachment_length_mismatch")
    );
}

#[test]
fn large_segments_stay_bounded_and_identical() {
    // 1 MiB segments: one segment per thread per batch (the memory bound for hostile headers).
    let seg = 1 << 20;
    let data = file(5 * seg + 3, 1);
    let (r, blob) = seal(Parallelism::One, seg as u32, &data);
    assert_eq!(seal(threads(2), seg as u32, &data).1, blob);
    assert_eq!(open_all(&r, &blob, &data).0, "ok");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_length_any_threads_same_blob(len in 0usize..3_000_000, n in 2usize..6, seg_k in 1u32..4) {
        let seg = seg_k * SEG;
        let data = file(len, len as u8);
        let (r, blob) = seal(Parallelism::One, seg, &data);
        let (rn, blobn) = seal(threads(n), seg, &data);
        prop_assert!(blobn == blob, "blobs differ");
        prop_assert_eq!(rn.commitment, r.commitment);
        let (code, out) = open(threads(n), &r, &blob);
        prop_assert_eq!(code, "ok");
        prop_assert!(out == data, "plaintext differs");
    }

    #[test]
    fn any_corruption_same_answer(len in 1usize..2_000_000, n in 2usize..5, pos in any::<prop::sample::Index>(), cut in any::<prop::sample::Index>(), mode in 0u8..3) {
        let data = file(len, 7);
        let (r, mut blob) = seal(Parallelism::One, SEG, &data);
        match mode {
            0 => { let i = pos.index(blob.len()); blob[i] ^= 0x40; }
            1 => { let c = cut.index(blob.len()); blob.truncate(c); }
            _ => blob.push(0),
        }
        let (one, _) = open(Parallelism::One, &r, &blob);
        prop_assert!(one != "ok");
        let (many, out) = open(threads(n), &r, &blob);
        prop_assert_eq!(many, one);
        prop_assert!(data.starts_with(&out), "released bytes not a prefix");
    }
}
