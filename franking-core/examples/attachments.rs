//! Attachment throughput: this library's committing attachment format on one core and on every
//! core, next to what client developers use for attachments today, measured in one run.
//!
//! `cargo run --release -p franking-core --example attachments [-- --quick] [--svg DIR]`
//!
//! Schemes, each sealing and opening a file held in memory into a preallocated buffer:
//! - **franking, 1 thread / N threads**: `frank::attachment` (Aes256CtrBlake3 in 64 KiB segments,
//!   one compact commitment per file), [`Parallelism::One`] and [`Parallelism::Available`];
//! - **Signal-style**: AES-256-CBC with PKCS#7 padding, then HMAC-SHA-256 over IV ‖ ciphertext
//!   (RustCrypto `cbc` + `hmac`; Signal also hashes the result with SHA-256 for its pointer digest,
//!   which is left out here, so this baseline is if anything flattered);
//! - **age-style STREAM**: ChaCha20-Poly1305 over 64 KiB chunks, nonce = 88-bit counter ‖ last-chunk
//!   flag (the age / Hoang–Reyhanitabar–Rogaway–Vizár STREAM construction).
//!
//! Neither baseline is compactly committing. Prints MB/s (median of interleaved rounds) and the
//! ratios of the bars; with `--svg DIR` writes `attachments-throughput.svg` (MB/s against
//! file size) there.
#![allow(clippy::unwrap_used, missing_docs)]

use std::io::Write as _;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Instant;

use aead::{AeadInOut, KeyInit};
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit, block_padding::Pkcs7};
use chacha20poly1305::ChaCha20Poly1305;
use franking_core::frank::attachment::{
    AttachmentKey, AttachmentRef, AttachmentSealer, Parallelism, open_attachment_with,
};
use hmac::Mac;

#[path = "support/plot.rs"]
mod plot;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;
const CHUNK: usize = 64 * 1024;

/// One scheme: seal `file` into `out`, open `blob` into `out`.
trait Scheme {
    fn name(&self) -> String;
    fn seal(&self, file: &[u8], out: &mut Vec<u8>);
    fn open(&self, blob: &[u8], out: &mut Vec<u8>);
}

/// The format at a parallelism; keeps the reference its last seal produced for the next open.
struct Franking(Parallelism, std::cell::RefCell<Option<AttachmentRef>>);

impl Scheme for Franking {
    fn name(&self) -> String {
        match self.0 {
            Parallelism::One => "franking attachment, 1 thread".into(),
            p => format!("franking attachment, {} threads", p.threads()),
        }
    }
    fn seal(&self, file: &[u8], out: &mut Vec<u8>) {
        let sealer = AttachmentSealer::default().with_parallelism(self.0);
        let r = sealer
            .seal_with_key(key(), "application/octet-stream", file, &mut *out)
            .unwrap();
        *self.1.borrow_mut() = Some(r);
    }
    fn open(&self, blob: &[u8], out: &mut Vec<u8>) {
        let r = self.1.borrow().clone().unwrap();
        open_attachment_with(&r, blob, &mut *out, self.0).unwrap();
    }
}

fn key() -> AttachmentKey {
    AttachmentKey::from_bytes([7; 32])
}

struct SignalStyle;

impl Scheme for SignalStyle {
    fn name(&self) -> String {
        "Signal-style AES-256-CBC + HMAC-SHA-256".into()
    }
    fn seal(&self, file: &[u8], out: &mut Vec<u8>) {
        let iv = [3u8; 16];
        out.extend_from_slice(&iv);
        let start = out.len();
        out.resize(start + file.len() + 16, 0);
        let n = cbc::Encryptor::<aes::Aes256>::new(&[1u8; 32].into(), &iv.into())
            .encrypt_padded_b2b::<Pkcs7>(file, &mut out[start..])
            .unwrap()
            .len();
        out.truncate(start + n);
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&[2u8; 32]).unwrap();
        mac.update(out);
        let tag = mac.finalize().into_bytes();
        out.extend_from_slice(&tag);
    }
    fn open(&self, blob: &[u8], out: &mut Vec<u8>) {
        let (body, tag) = blob.split_at(blob.len() - 32);
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&[2u8; 32]).unwrap();
        mac.update(body);
        mac.verify_slice(tag).unwrap();
        let (iv, ct) = body.split_at(16);
        out.resize(ct.len(), 0);
        let iv: [u8; 16] = iv.try_into().unwrap();
        let n = cbc::Decryptor::<aes::Aes256>::new(&[1u8; 32].into(), &iv.into())
            .decrypt_padded_b2b::<Pkcs7>(ct, out)
            .unwrap()
            .len();
        out.truncate(n);
    }
}

struct AgeStream;

fn stream_nonce(i: u64, last: bool) -> aead::Nonce<ChaCha20Poly1305> {
    let mut n = aead::Nonce::<ChaCha20Poly1305>::default();
    n[3..11].copy_from_slice(&i.to_be_bytes());
    n[11] = u8::from(last);
    n
}

impl Scheme for AgeStream {
    fn name(&self) -> String {
        "age-style ChaCha20-Poly1305 STREAM, 64 KiB".into()
    }
    fn seal(&self, file: &[u8], out: &mut Vec<u8>) {
        let c = ChaCha20Poly1305::new(&[5u8; 32].into());
        let chunks = file.len().div_ceil(CHUNK).max(1);
        for i in 0..chunks {
            let part = &file[i * CHUNK..file.len().min((i + 1) * CHUNK)];
            let start = out.len();
            out.extend_from_slice(part);
            let tag = c
                .encrypt_inout_detached(
                    &stream_nonce(i as u64, i + 1 == chunks),
                    b"",
                    (&mut out[start..]).into(),
                )
                .unwrap();
            out.extend_from_slice(&tag);
        }
    }
    fn open(&self, blob: &[u8], out: &mut Vec<u8>) {
        let c = ChaCha20Poly1305::new(&[5u8; 32].into());
        let record = CHUNK + 16;
        let chunks = blob.len().div_ceil(record).max(1);
        for i in 0..chunks {
            let part = &blob[i * record..blob.len().min((i + 1) * record)];
            let (ct, tag) = part.split_at(part.len() - 16);
            let start = out.len();
            out.extend_from_slice(ct);
            c.decrypt_inout_detached(
                &stream_nonce(i as u64, i + 1 == chunks),
                b"",
                (&mut out[start..]).into(),
                tag.try_into().unwrap(),
            )
            .unwrap();
        }
    }
}

/// Median bytes/s of sealing and of opening `file` with each scheme, over `rounds` interleaved
/// rounds.
fn measure(schemes: &[Box<dyn Scheme>], file: &[u8], rounds: usize) -> Vec<(f64, f64)> {
    let mut blob = Vec::with_capacity(file.len() + file.len() / 256 + 4096);
    let mut out = Vec::with_capacity(file.len() + 4096);
    let mut seal = vec![Vec::new(); schemes.len()];
    let mut open = vec![Vec::new(); schemes.len()];
    for _ in 0..rounds {
        for (i, s) in schemes.iter().enumerate() {
            blob.clear();
            let t = Instant::now();
            s.seal(file, &mut blob);
            seal[i].push(file.len() as f64 / t.elapsed().as_secs_f64());
            out.clear();
            let t = Instant::now();
            s.open(&blob, &mut out);
            open[i].push(file.len() as f64 / t.elapsed().as_secs_f64());
            assert_eq!(out.len(), file.len(), "{}", s.name());
        }
    }
    seal.iter_mut()
        .zip(open.iter_mut())
        .map(|(a, b)| (median(a), median(b)))
        .collect()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let svg = args
        .iter()
        .position(|a| a == "--svg")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from);
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let schemes: Vec<Box<dyn Scheme>> = vec![
        Box::new(Franking(Parallelism::One, Default::default())),
        Box::new(Franking(
            Parallelism::Threads(NonZeroUsize::new(threads).unwrap()),
            Default::default(),
        )),
        Box::new(SignalStyle),
        Box::new(AgeStream),
    ];
    let (big, rounds) = if quick { (64, 2) } else { (256, 5) };
    let sizes_mib: Vec<usize> = if quick {
        vec![1, 16, big]
    } else {
        vec![1, 16, 64, big]
    };
    println!(
        "Attachment throughput on {threads} cores, MB/s (median of {rounds} interleaved rounds; \
         file in memory, output to a preallocated buffer)\n"
    );
    let mut results = Vec::new();
    for &mib in &sizes_mib {
        let file: Vec<u8> = (0..mib << 20).map(|i| (i * 7 + 1) as u8).collect();
        let r = measure(
            &schemes,
            &file,
            if mib == big { rounds } else { rounds + 2 },
        );
        results.push((mib, r));
        eprint!(".");
        std::io::stderr().flush().unwrap();
    }
    eprintln!();
    for (mib, r) in &results {
        println!("{mib} MiB file:\n");
        println!("| scheme | seal MB/s | open MB/s |");
        println!("|---|---|---|");
        for (s, (seal, open)) in schemes.iter().zip(r) {
            println!("| {} | {:.0} | {:.0} |", s.name(), seal / 1e6, open / 1e6);
        }
        println!();
    }
    let (_, r) = results.last().unwrap();
    let ratio = |a: usize, b: usize| (r[a].0 / r[b].0, r[a].1 / r[b].1);
    let show = |what: &str, bar: &str, (s, o): (f64, f64)| {
        println!("  {what}: seal {s:.2}×, open {o:.2}×  (bar: {bar})");
    };
    println!("Ratios at {big} MiB, measured in this run:");
    show(
        &format!("{threads} threads vs 1 thread"),
        "≥ 1.7× on 2 cores",
        ratio(1, 0),
    );
    show("1 thread vs Signal-style", "≥ 2×", ratio(0, 2));
    show(
        &format!("{threads} threads vs Signal-style"),
        "≥ 3.5× on 2 cores",
        ratio(1, 2),
    );
    show("1 thread vs age-style STREAM", "none", ratio(0, 3));
    if let Some(dir) = svg {
        let path = dir.join("attachments-throughput.svg");
        plot(&path, &schemes, &results);
        println!("\nwrote {}", path.display());
    }
}

/// MB/s of sealing against file size, one line per scheme.
fn plot(path: &std::path::Path, schemes: &[Box<dyn Scheme>], results: &[(usize, Vec<(f64, f64)>)]) {
    let xs: Vec<f64> = results.iter().map(|(m, _)| *m as f64).collect();
    let series: Vec<(String, Vec<f64>)> = schemes
        .iter()
        .enumerate()
        .map(|(i, s)| {
            (
                s.name(),
                results.iter().map(|(_, r)| r[i].0 / 1e6).collect(),
            )
        })
        .collect();
    plot::line_chart(
        path,
        "Attachment seal throughput (MB/s) against file size",
        "file size (MiB, log scale)",
        "MB/s",
        &xs,
        &|x| format!("{}", x.round()),
        &series,
    );
}
