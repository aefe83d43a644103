//! Seal throughput of every committing AEAD next to the raw primitives, measured in one run.
//!
//! `cargo run --release -p franking-core --example throughput [-- --quick] [--svg DIR]`
//!
//! Prints MB/s per scheme and message size, and each figure as a ratio to plain RustCrypto
//! AES-256-GCM measured in the same run (machines here are shared and noisy: compare ratios, not
//! absolute numbers). Each cell is the median of several interleaved rounds. ring's
//! assembly AES-256-GCM is the ceiling; each scheme is also compared with the sum of its
//! primitives (1 / Σ 1/throughput), measured in the same run. With `--svg DIR` it writes
//! `aead-throughput.svg` (MB/s against message size, every scheme) there.
#![allow(clippy::unwrap_used, missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use aead::{AeadInOut, KeyInit};
use aes_gcm::Aes256Gcm;
use chacha20poly1305::ChaCha20Poly1305;
use cipher::{KeyIvInit, StreamCipher};
use franking_core::caead::{Aes256CtrBlake3, CtrHmacSha256, CtxAes256Gcm};
use hmac::Mac;
use universal_hash::UniversalHash;

#[path = "support/plot.rs"]
mod plot;

const SIZES: [usize; 4] = [64, 1024, 16 * 1024, 1024 * 1024];

type Job = Box<dyn FnMut(&mut [u8])>;

fn aead_job<A: AeadInOut + KeyInit + 'static>() -> Job {
    let cipher = A::new(&Default::default());
    let nonce = aead::Nonce::<A>::default();
    Box::new(move |buf: &mut [u8]| {
        let tag = cipher
            .encrypt_inout_detached(&nonce, b"", buf.into())
            .unwrap();
        black_box(tag);
    })
}

fn jobs() -> Vec<(&'static str, Job)> {
    vec![
        ("AES-256-GCM (baseline)", aead_job::<Aes256Gcm>()),
        ("ChaCha20-Poly1305", aead_job::<ChaCha20Poly1305>()),
        ("CtrHmacSha256", aead_job::<CtrHmacSha256>()),
        ("Aes256CtrBlake3", aead_job::<Aes256CtrBlake3>()),
        ("CtxAes256Gcm", aead_job::<CtxAes256Gcm>()),
        ("raw AES-256-CTR", {
            Box::new(|buf: &mut [u8]| {
                let mut c =
                    ctr::Ctr32BE::<aes::Aes256>::new(&Default::default(), &Default::default());
                c.apply_keystream(buf);
            })
        }),
        ("raw BLAKE3", {
            Box::new(|buf: &mut [u8]| {
                black_box(blake3::hash(buf));
            })
        }),
        ("ring AES-256-GCM (assembly ceiling)", {
            let key = ring::aead::LessSafeKey::new(
                ring::aead::UnboundKey::new(&ring::aead::AES_256_GCM, &[0u8; 32]).unwrap(),
            );
            Box::new(move |buf: &mut [u8]| {
                let tag = key
                    .seal_in_place_separate_tag(
                        ring::aead::Nonce::assume_unique_for_key([0; 12]),
                        ring::aead::Aad::empty(),
                        buf,
                    )
                    .unwrap();
                let _ = black_box(tag);
            })
        }),
        ("raw GHASH", {
            Box::new(|buf: &mut [u8]| {
                let mut g = ghash::GHash::new(&Default::default());
                g.update_padded(buf);
                black_box(g.finalize());
            })
        }),
        ("raw ChaCha20", {
            Box::new(|buf: &mut [u8]| {
                let mut c = chacha20::ChaCha20::new(&Default::default(), &Default::default());
                c.apply_keystream(buf);
            })
        }),
        ("raw Poly1305", {
            Box::new(|buf: &mut [u8]| {
                let mut p = poly1305::Poly1305::new(&Default::default());
                p.update_padded(buf);
                black_box(p.finalize());
            })
        }),
        ("raw SHA-256 (HMAC)", {
            let mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new(&Default::default());
            Box::new(move |buf: &mut [u8]| {
                let mut m = mac.clone();
                m.update(buf);
                black_box(m.finalize());
            })
        }),
        ("Facebook-style GCM+HMAC", {
            let gcm = Aes256Gcm::new(&Default::default());
            let mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new(&Default::default());
            Box::new(move |buf: &mut [u8]| {
                let mut m = mac.clone();
                m.update(buf);
                let commitment = m.finalize().into_bytes();
                let tag = gcm
                    .encrypt_inout_detached(&Default::default(), &commitment, buf.into())
                    .unwrap();
                black_box(tag);
            })
        }),
    ]
}

/// Bytes per second of `job` on `buf`, over about `budget` of wall time.
fn measure(job: &mut Job, buf: &mut [u8], budget: Duration) -> f64 {
    let mut iters = 1u64;
    loop {
        let start = Instant::now();
        for _ in 0..iters {
            job(black_box(&mut *buf));
        }
        let elapsed = start.elapsed();
        if elapsed >= budget {
            return (iters as f64 * buf.len() as f64) / elapsed.as_secs_f64();
        }
        iters = iters.saturating_mul(2);
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (rounds, budget) = if quick {
        (3, Duration::from_millis(20))
    } else {
        (7, Duration::from_millis(60))
    };
    let mut jobs = jobs();
    println!(
        "Seal throughput, MB/s (ratio to AES-256-GCM in the same run), median of {rounds} interleaved rounds\n"
    );
    print!("| scheme |");
    for s in SIZES {
        print!(" {} |", human(s));
    }
    println!();
    println!("|---|{}", "---|".repeat(SIZES.len()));
    let mut table = vec![vec![0f64; SIZES.len()]; jobs.len()];
    for (si, &size) in SIZES.iter().enumerate() {
        let mut buf = vec![0x5au8; size];
        let mut samples = vec![Vec::new(); jobs.len()];
        for _ in 0..rounds {
            for (ji, (_, job)) in jobs.iter_mut().enumerate() {
                samples[ji].push(measure(job, &mut buf, budget));
            }
        }
        for (ji, s) in samples.iter_mut().enumerate() {
            s.sort_by(|a, b| a.partial_cmp(b).unwrap());
            table[ji][si] = s[s.len() / 2];
        }
    }
    for (ji, (name, _)) in jobs.iter().enumerate() {
        print!("| {name} |");
        for (v, base) in table[ji].iter().zip(&table[0]) {
            print!(" {:.0} ({:.2}×) |", v / 1e6, v / base);
        }
        println!();
    }
    println!("\nPer-message cost at 64 B relative to AES-256-GCM (lower is better):");
    for (ji, (name, _)) in jobs.iter().enumerate().skip(1) {
        println!("  {name}: {:.2}×", table[0][0] / table[ji][0]);
    }
    let idx = |n: &str| jobs.iter().position(|(name, _)| *name == n).unwrap();
    println!("\nEach scheme against the sum of its primitives (1 / Σ 1/primitive), same run:");
    for (scheme, parts) in PRIMITIVES {
        let cells: Vec<String> = SIZES
            .iter()
            .enumerate()
            .map(|(si, &size)| {
                let sum = 1.0 / parts.iter().map(|p| 1.0 / table[idx(p)][si]).sum::<f64>();
                format!("{} {:.2}×", human(size), table[idx(scheme)][si] / sum)
            })
            .collect();
        println!("  {scheme} = {}: {}", parts.join(" + "), cells.join(", "));
    }
    if let Some(dir) = svg_dir() {
        let path = dir.join("aead-throughput.svg");
        plot(&path, &jobs, &table);
        println!("\nwrote {}", path.display());
    }
}

/// Which primitives each scheme runs over the whole message.
const PRIMITIVES: [(&str, &[&str]); 6] = [
    ("AES-256-GCM (baseline)", &["raw AES-256-CTR", "raw GHASH"]),
    ("ChaCha20-Poly1305", &["raw ChaCha20", "raw Poly1305"]),
    ("CtrHmacSha256", &["raw AES-256-CTR", "raw SHA-256 (HMAC)"]),
    ("Aes256CtrBlake3", &["raw AES-256-CTR", "raw BLAKE3"]),
    ("CtxAes256Gcm", &["raw AES-256-CTR", "raw GHASH"]),
    (
        "Facebook-style GCM+HMAC",
        &["raw AES-256-CTR", "raw GHASH", "raw SHA-256 (HMAC)"],
    ),
];

fn svg_dir() -> Option<std::path::PathBuf> {
    let args: Vec<String> = std::env::args().collect();
    let i = args.iter().position(|a| a == "--svg")?;
    args.get(i + 1).map(std::path::PathBuf::from)
}

/// MB/s against message size (log scale), one line per scheme (primitives left out).
fn plot(path: &std::path::Path, jobs: &[(&'static str, Job)], table: &[Vec<f64>]) {
    let xs: Vec<f64> = SIZES.iter().map(|&s| s as f64).collect();
    let series: Vec<(String, Vec<f64>)> = jobs
        .iter()
        .zip(table)
        .filter(|((name, _), _)| !name.starts_with("raw "))
        .map(|((name, _), row)| ((*name).to_owned(), row.iter().map(|v| v / 1e6).collect()))
        .collect();
    plot::line_chart(
        path,
        "Seal throughput (MB/s) against message size, one core",
        "message size (bytes, log scale)",
        "MB/s",
        &xs,
        &|x| human(x.round() as usize),
        &series,
    );
}

fn human(n: usize) -> String {
    match n {
        n if n >= 1 << 20 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 => format!("{} KiB", n >> 10),
        n => format!("{n} B"),
    }
}
