//! Criterion benchmarks: seal throughput of every committing AEAD beside plain AES-256-GCM and
//! ChaCha20-Poly1305 and the raw primitives, at 64 B, 1 KiB, 16 KiB and 1 MiB.
//!
//! `cargo bench -p franking-core --bench caead`. For a one-screen table of ratios measured in one
//! run, use `cargo run --release -p franking-core --example throughput`.
#![allow(clippy::unwrap_used, missing_docs)]

use std::hint::black_box;

use aead::{AeadInOut, KeyInit};
use cipher::{KeyIvInit, StreamCipher};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use franking_core::caead::{Aes256CtrBlake3, CtrHmacSha256, CtxAes256Gcm};

const SIZES: [usize; 4] = [64, 1024, 16 * 1024, 1024 * 1024];

fn seal<A: AeadInOut + KeyInit>(c: &mut Criterion, name: &str) {
    let mut group = c.benchmark_group("seal");
    let cipher = A::new(&Default::default());
    let nonce = aead::Nonce::<A>::default();
    for size in SIZES {
        let mut buf = vec![0u8; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new(name, size), &size, |b, _| {
            b.iter(|| {
                black_box(
                    cipher
                        .encrypt_inout_detached(&nonce, b"", buf.as_mut_slice().into())
                        .unwrap(),
                )
            })
        });
    }
    group.finish();
}

fn primitives(c: &mut Criterion) {
    let mut group = c.benchmark_group("seal");
    for size in SIZES {
        let mut buf = vec![0u8; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("raw-aes256-ctr", size), &size, |b, _| {
            b.iter(|| {
                let mut c =
                    ctr::Ctr32BE::<aes::Aes256>::new(&Default::default(), &Default::default());
                c.apply_keystream(&mut buf);
            })
        });
        group.bench_with_input(BenchmarkId::new("raw-blake3", size), &size, |b, _| {
            b.iter(|| black_box(blake3::hash(&buf)))
        });
    }
    group.finish();
}

fn all(c: &mut Criterion) {
    seal::<aes_gcm::Aes256Gcm>(c, "aes256gcm");
    seal::<chacha20poly1305::ChaCha20Poly1305>(c, "chacha20poly1305");
    seal::<CtrHmacSha256>(c, "ctr-hmac-sha256");
    seal::<Aes256CtrBlake3>(c, "aes256ctr-blake3");
    seal::<CtxAes256Gcm>(c, "ctx-aes256gcm");
    primitives(c);
}

criterion_group!(benches, all);
criterion_main!(benches);
