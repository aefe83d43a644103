//! Times the k-key AES-GCM multi-collision (Len–Grubbs–Ristenpart 2021) and the two-key
//! forge (Dodis et al. 2018), verifying every result with the real `aes-gcm` crate.
//!
//! Run: `cargo run --release -p attacks --example kkey_timing`
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use attacks::gcm::{GcmKey, collide_many, collide_two, verify_all};

fn keys(k: usize) -> Vec<GcmKey> {
    (0..k)
        .map(|i| {
            let mut b = [0u8; 16];
            b[..8].copy_from_slice(&(i as u64).to_be_bytes());
            b[8..].copy_from_slice(
                &(0x5eed_u64 ^ (i as u64).wrapping_mul(0x9e37_79b9)).to_be_bytes(),
            );
            GcmKey::from_slice(&b).unwrap()
        })
        .collect()
}

fn main() {
    let nonce = [0x42u8; 12];
    let ad = b"example associated data";
    // Two-key forge: one free block in a 4-block template.
    let ks = keys(2);
    let template = [0x11u8; 64];
    let reps = 2000u32;
    let t0 = Instant::now();
    let mut f = None;
    for _ in 0..reps {
        f = Some(collide_two(&ks[0], &ks[1], &nonce, ad, &template, 1).unwrap());
    }
    let per = t0.elapsed() / reps;
    verify_all(&ks, &nonce, ad, &f.unwrap()).unwrap();
    println!(
        "two-key forge (AES-128, 4 blocks, free block 1): {per:?} per forge (mean of {reps}), verified with aes-gcm"
    );
    println!();
    println!("| k | ciphertext blocks | forge time | verify all k keys with aes-gcm |");
    println!("|---:|---:|---:|---:|");
    for &k in &[64usize, 1024, 4096] {
        let ks = keys(k);
        let t0 = Instant::now();
        let f = collide_many(&ks, &nonce, ad, None).unwrap();
        let forge = t0.elapsed();
        let t1 = Instant::now();
        verify_all(&ks, &nonce, ad, &f).unwrap();
        let verify = t1.elapsed();
        println!(
            "| {k} | {} | {:.3} s | {:.3} s |",
            f.ciphertext.len() / 16,
            forge.as_secs_f64(),
            verify.as_secs_f64()
        );
    }
}
