//! Criterion benchmarks of the franking protocol layer: relay stamping (HMAC-only and Ed25519),
//! franked seal/open of a whole envelope, and report verification.
//!
//! `cargo bench -p franking-core --bench frank`. DESIGN.md §8 asks for ≥ 2 M stamps/s/core.
#![allow(clippy::unwrap_used, missing_docs)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use franking_core::frank::{
    Context, KeyId, KeyRing, Report, ReportPolicy, ReportedMessage, SealRandomness, SessionKey,
    StampKey, Suite, open, seal, seal_with, verify_report,
};

const T0: u64 = 1_790_000_000_000;

fn stamping(c: &mut Criterion) {
    let ctx = Context::direct("example.net", "alice", "bob", T0, "msg-0000001").unwrap();
    let session = SessionKey::from_bytes([1; 32]);
    let env = seal(Suite::Aes256CtrBlake3, &session, b"", b"hello").unwrap();
    let mut group = c.benchmark_group("stamp");
    group.throughput(Throughput::Elements(1));
    let hmac_ring = KeyRing::new(
        "example.net",
        StampKey::from_bytes(KeyId(1), [2; 32], None),
        0,
        0,
    );
    group.bench_function("hmac", |b| {
        b.iter(|| {
            black_box(
                hmac_ring
                    .stamp(env.suite, &env.commitment, black_box(&ctx))
                    .unwrap(),
            )
        })
    });
    let signing_ring = KeyRing::new(
        "example.net",
        StampKey::from_bytes(KeyId(1), [2; 32], Some([3; 32])),
        0,
        0,
    );
    group.bench_function("hmac+ed25519", |b| {
        b.iter(|| {
            black_box(
                signing_ring
                    .stamp(env.suite, &env.commitment, black_box(&ctx))
                    .unwrap(),
            )
        })
    });
    group.finish();
}

fn seal_open(c: &mut Criterion) {
    let session = SessionKey::from_bytes([1; 32]);
    for suite in Suite::ALL {
        let mut group = c.benchmark_group(format!("franked/{}", suite.name()));
        for size in [64usize, 16 * 1024, 1024 * 1024] {
            let msg = vec![0u8; size];
            group.throughput(Throughput::Bytes(size as u64));
            group.bench_with_input(BenchmarkId::new("seal", size), &size, |b, _| {
                b.iter(|| black_box(seal(suite, &session, b"ad", &msg).unwrap()))
            });
            let rnd = SealRandomness::generate().unwrap();
            group.bench_with_input(
                BenchmarkId::new("seal_with (no RNG)", size),
                &size,
                |b, _| b.iter(|| black_box(seal_with(suite, &session, b"ad", &msg, &rnd).unwrap())),
            );
            let env = seal(suite, &session, b"ad", &msg).unwrap();
            group.bench_with_input(BenchmarkId::new("open", size), &size, |b, _| {
                b.iter(|| black_box(open(&env, &session, b"ad").unwrap()))
            });
        }
        group.finish();
    }
}

fn verify(c: &mut Criterion) {
    let ring = KeyRing::new(
        "example.net",
        StampKey::from_bytes(KeyId(1), [2; 32], None),
        0,
        0,
    );
    let session = SessionKey::from_bytes([1; 32]);
    let ctx = Context::direct("example.net", "alice", "bob", T0, "msg-0000001").unwrap();
    let env = seal(Suite::Aes256CtrBlake3, &session, b"", &[7u8; 256]).unwrap();
    let stamp = ring.stamp(env.suite, &env.commitment, &ctx).unwrap();
    let opened = open(&env, &session, b"").unwrap();
    let report = Report {
        message: ReportedMessage::new(&env, b"", &opened, ctx, stamp),
        reporter: "bob".into(),
        reason: "spam".into(),
        earlier: vec![],
    };
    let bytes = report.to_bytes().unwrap();
    let policy = ReportPolicy::default();
    c.bench_function("verify_report/decode+verify 256 B", |b| {
        b.iter(|| {
            let r = Report::from_bytes(black_box(&bytes)).unwrap();
            black_box(verify_report(r, &ring, &policy, T0 + 1000).unwrap())
        })
    });
}

criterion_group!(benches, stamping, seal_open, verify);
criterion_main!(benches);
