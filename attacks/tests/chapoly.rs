//! ChaCha20-Poly1305 / XChaCha20-Poly1305 multi-key collisions (Len–Grubbs–Ristenpart, USENIX
//! Security 2021, §3.2), always judged by the real `chacha20poly1305` crate.
#![allow(clippy::unwrap_used)]

use aead::{Aead, KeyInit, Payload};
use attacks::chapoly::{self, DEFAULT_MAX_TRIES, open_with_crate};
use attacks::poly1305::{chapoly_tag, poly1305};
use chacha20poly1305::{ChaCha20Poly1305, XChaCha20Poly1305};
use proptest::prelude::*;

fn keys(k: usize, seed: u8) -> Vec<[u8; 32]> {
    (0..k)
        .map(|i| {
            let mut key = [0u8; 32];
            for (j, b) in key.iter_mut().enumerate() {
                *b = seed
                    .wrapping_mul(31)
                    .wrapping_add((i as u8).wrapping_mul(97))
                    .wrapping_add(j as u8);
            }
            key
        })
        .collect()
}

/// Asserts that every key opens the forgery with the real crate, and that the plaintexts
/// differ pairwise (they are C ⊕ keystream_j).
fn assert_opens_under_all(keys: &[[u8; 32]], nonce: &[u8], ad: &[u8], ct: &[u8], tag: &[u8]) {
    let mut buf = ct.to_vec();
    buf.extend_from_slice(tag);
    let mut pts = Vec::new();
    for key in keys {
        let pt = match nonce.len() {
            12 => ChaCha20Poly1305::new(key.into())
                .decrypt(nonce.try_into().unwrap(), Payload { msg: &buf, aad: ad })
                .unwrap(),
            24 => XChaCha20Poly1305::new(key.into())
                .decrypt(nonce.try_into().unwrap(), Payload { msg: &buf, aad: ad })
                .unwrap(),
            _ => unreachable!(),
        };
        pts.push(pt);
    }
    for i in 0..pts.len() {
        for j in 0..i {
            assert_ne!(pts[i], pts[j], "keys {j} and {i} gave the same plaintext");
        }
    }
}

#[test]
fn own_tag_matches_crate() {
    // Our Poly1305/one-time-key code agrees with the crate's tags (ChaCha20 and XChaCha20).
    let key = [7u8; 32];
    for nonce in [vec![3u8; 12], vec![5u8; 24]] {
        for (ad, pt) in [
            (&b""[..], &b""[..]),
            (b"header", b"some longer plaintext, 37 bytes....."),
        ] {
            let sealed = if nonce.len() == 12 {
                ChaCha20Poly1305::new((&key).into())
                    .encrypt(
                        nonce.as_slice().try_into().unwrap(),
                        Payload { msg: pt, aad: ad },
                    )
                    .unwrap()
            } else {
                XChaCha20Poly1305::new((&key).into())
                    .encrypt(
                        nonce.as_slice().try_into().unwrap(),
                        Payload { msg: pt, aad: ad },
                    )
                    .unwrap()
            };
            let (ct, tag) = sealed.split_at(sealed.len() - 16);
            assert_eq!(chapoly_tag(&key, &nonce, ad, ct).unwrap().as_slice(), tag);
        }
    }
    // a single flipped bit in the MAC input changes the tag (the check can fail)
    assert_ne!(poly1305(&[1u8; 32], b"a"), poly1305(&[1u8; 32], b"b"));
}

#[test]
fn two_key_collision() {
    let ks = keys(2, 1);
    let nonce = [9u8; 12];
    let c = chapoly::collide(&ks, &nonce, b"", [0u8; 16], DEFAULT_MAX_TRIES).unwrap();
    assert_eq!(c.ciphertext.len(), 48);
    assert_opens_under_all(&ks, &nonce, b"", &c.ciphertext, &c.tag);
    // a third, unrelated key rejects it: the collision is specific to the chosen keys
    let other = keys(1, 200)[0];
    assert!(open_with_crate(&other, &nonce, b"", &c.ciphertext_and_tag()).is_err());
    // flipping one ciphertext bit breaks it under both keys
    let mut bad = c.ciphertext_and_tag();
    bad[5] ^= 1;
    for k in &ks {
        assert!(open_with_crate(k, &nonce, b"", &bad).is_err());
    }
}

#[test]
fn ten_key_collision_with_ad_and_nonzero_tag() {
    let ks = keys(10, 2);
    let nonce = [0x42u8; 12];
    let ad = b"associated data spanning two blocks";
    let tag = *b"chosen tag 16 B!";
    let c = chapoly::collide(&ks, &nonce, ad, tag, DEFAULT_MAX_TRIES).unwrap();
    assert_eq!(c.tag, tag);
    assert_eq!(c.ciphertext.len(), 16 * 11);
    assert_opens_under_all(&ks, &nonce, ad, &c.ciphertext, &c.tag);
    // the AD is bound: another AD is rejected
    assert!(open_with_crate(&ks[0], &nonce, b"other", &c.ciphertext_and_tag()).is_err());
}

#[test]
fn xchacha_multi_key_collision() {
    let ks = keys(6, 3);
    let nonce = [0x11u8; 24];
    let c = chapoly::collide(&ks, &nonce, b"x", [0u8; 16], DEFAULT_MAX_TRIES).unwrap();
    assert_opens_under_all(&ks, &nonce, b"x", &c.ciphertext, &c.tag);
    // the same bytes with the 12-byte ChaCha20 variant do not verify
    assert!(open_with_crate(&ks[0], &nonce[..12], b"x", &c.ciphertext_and_tag()).is_err());
}

#[test]
fn bad_inputs_are_typed_errors() {
    let ks = keys(2, 4);
    assert!(matches!(
        chapoly::collide(&ks[..1], &[0u8; 12], b"", [0; 16], 10),
        Err(attacks::Error::TooFewKeys { .. })
    ));
    assert!(matches!(
        chapoly::collide(&ks, &[0u8; 13], b"", [0; 16], 10),
        Err(attacks::Error::InvalidNonceLength { .. })
    ));
    assert!(matches!(
        chapoly::collide(&[ks[0], ks[0]], &[0u8; 12], b"", [0; 16], 10),
        Err(attacks::Error::DuplicateOneTimeKey { .. })
    ));
    assert!(matches!(
        chapoly::collide(&keys(8, 5), &[0u8; 12], b"", [0; 16], 3),
        Err(attacks::Error::CollisionSearchExhausted { tries: 3 })
    ));
}

/// The third-party vectors of julialen/key_multicollision: each line's ciphertext and tag open
/// under all ten keys with the real crate (empty AD).
#[test]
fn third_party_ten_key_vectors() {
    let text = include_str!("../testdata/third-party/chapoly-10keys.txt");
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let keys_line = lines.next().unwrap().strip_prefix("keys:").unwrap();
    let ks: Vec<[u8; 32]> = keys_line
        .trim()
        .split(',')
        .map(|h| hex::decode(h.trim()).unwrap().try_into().unwrap())
        .collect();
    assert_eq!(ks.len(), 10);
    let mut n = 0;
    for line in lines {
        let f: Vec<&str> = line.trim().split(',').collect();
        assert_eq!(f.len(), 3, "line {line}");
        let nonce = hex::decode(f[0]).unwrap();
        let ct = hex::decode(f[1]).unwrap();
        let tag = hex::decode(f[2]).unwrap();
        let mut buf = ct.clone();
        buf.extend_from_slice(&tag);
        for key in &ks {
            open_with_crate(key, &nonce, b"", &buf).unwrap();
        }
        // and our own Poly1305 agrees with the crate on these
        let tag: [u8; 16] = tag.try_into().unwrap();
        assert!(chapoly::own_tags_match(&ks, &nonce, b"", &ct, &tag).unwrap());
        n += 1;
    }
    assert!(n >= 1);
}

#[test]
fn cli_chapoly_collide() {
    let ks = keys(3, 6);
    let nonce = [1u8; 12];
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_franking-attacks"));
    cmd.arg("chapoly-collide");
    for k in &ks {
        cmd.arg("--key").arg(hex::encode(k));
    }
    let out = cmd
        .args(["--nonce", &hex::encode(nonce), "--ad", "6164"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ct = hex::decode(v["ciphertext"].as_str().unwrap()).unwrap();
    let tag = hex::decode(v["tag"].as_str().unwrap()).unwrap();
    assert_opens_under_all(&ks, &nonce, b"ad", &ct, &tag);

    // XChaCha20 variant
    let xn = [2u8; 24];
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_franking-attacks"))
        .args(["chapoly-collide", "--xchacha", "--nonce", &hex::encode(xn)])
        .args(["--key", &hex::encode(ks[0]), "--key", &hex::encode(ks[1])])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ct = hex::decode(v["ciphertext"].as_str().unwrap()).unwrap();
    let tag = hex::decode(v["tag"].as_str().unwrap()).unwrap();
    assert_opens_under_all(&ks[..2], &xn, b"", &ct, &tag);

    // bad input: non-zero exit, no panic
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_franking-attacks"))
        .args([
            "chapoly-collide",
            "--nonce",
            "00",
            "--key",
            "zz",
            "--key",
            "00",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]
    /// Random key pairs / triples, nonces and AD: the forgery always opens under each key.
    #[test]
    fn random_keys_collide(seed in any::<u8>(), k in 2usize..5, nonce in any::<[u8; 12]>(),
                           ad in proptest::collection::vec(any::<u8>(), 0..40)) {
        let ks = keys(k, seed);
        let c = chapoly::collide(&ks, &nonce, &ad, [0u8; 16], DEFAULT_MAX_TRIES).unwrap();
        assert_opens_under_all(&ks, &nonce, &ad, &c.ciphertext, &c.tag);
    }
}
