//! AES-GCM-SIV two-key collisions (Schmieg 2020), judged by the real `aes-gcm-siv` crate.
#![allow(clippy::unwrap_used)]

use aead::{Aead, KeyInit, Payload};
use aes_gcm_siv::{Aes128GcmSiv, Aes256GcmSiv};
use attacks::siv::{self, open_with_crate, seal_own};
use proptest::prelude::*;

fn crate_seal(key: &[u8], nonce: &[u8], ad: &[u8], pt: &[u8]) -> Vec<u8> {
    let p = Payload { msg: pt, aad: ad };
    let n = nonce.try_into().unwrap();
    match key.len() {
        16 => Aes128GcmSiv::new_from_slice(key)
            .unwrap()
            .encrypt(n, p)
            .unwrap(),
        32 => Aes256GcmSiv::new_from_slice(key)
            .unwrap()
            .encrypt(n, p)
            .unwrap(),
        _ => unreachable!(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    /// Our POLYVAL, key derivation and CTR agree with the crate (tag and ciphertext).
    #[test]
    fn own_gcm_siv_matches_crate(
        key in prop_oneof![
            proptest::collection::vec(any::<u8>(), 16),
            proptest::collection::vec(any::<u8>(), 32)
        ],
        nonce in any::<[u8; 12]>(),
        ad in proptest::collection::vec(any::<u8>(), 0..50),
        pt in proptest::collection::vec(any::<u8>(), 0..70),
    ) {
        prop_assert_eq!(seal_own(&key, &nonce, &ad, &pt).unwrap(), crate_seal(&key, &nonce, &ad, &pt));
    }

    /// Random key pairs of both sizes: the forgery opens under both keys, to different
    /// plaintexts, and under neither after a bit flip.
    #[test]
    fn random_two_key_collisions(
        k1 in any::<[u8; 32]>(), k2 in any::<[u8; 32]>(), aes128 in any::<bool>(),
        nonce in any::<[u8; 12]>(),
        ad in proptest::collection::vec(any::<u8>(), 0..40),
        blocks in 2usize..6,
        fixed in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        prop_assume!(k1 != k2);
        let len = if aes128 { 16 } else { 32 };
        let (k1, k2) = (&k1[..len], &k2[..len]);
        let c = siv::collide(k1, k2, &nonce, &ad, blocks, &fixed).unwrap();
        prop_assert_eq!(c.ciphertext.len(), 16 * blocks);
        let n = fixed.len().min(16 * (blocks - 2));
        prop_assert_eq!(&c.ciphertext[32..32 + n], &fixed[..n]);
        let buf = c.ciphertext_and_tag();
        let p1 = open_with_crate(k1, &nonce, &ad, &buf).unwrap();
        let p2 = open_with_crate(k2, &nonce, &ad, &buf).unwrap();
        prop_assert_ne!(p1, p2);
        let mut bad = buf.clone();
        bad[0] ^= 0x80;
        prop_assert!(open_with_crate(k1, &nonce, &ad, &bad).is_err());
        prop_assert!(open_with_crate(k2, &nonce, &ad, &bad).is_err());
    }
}

#[test]
fn aes256_collision_fixed_inputs() {
    let k1 = [1u8; 32];
    let k2 = [2u8; 32];
    let nonce = [3u8; 12];
    let c = siv::collide(&k1, &k2, &nonce, b"hdr", 4, b"attacker-chosen tail bytes").unwrap();
    let buf = c.ciphertext_and_tag();
    let n = nonce.as_slice().try_into().unwrap();
    let a = Aes256GcmSiv::new((&k1).into())
        .decrypt(
            n,
            Payload {
                msg: &buf,
                aad: b"hdr",
            },
        )
        .unwrap();
    let b = Aes256GcmSiv::new((&k2).into())
        .decrypt(
            n,
            Payload {
                msg: &buf,
                aad: b"hdr",
            },
        )
        .unwrap();
    assert_ne!(a, b);
    // a third key and another AD reject
    assert!(open_with_crate(&[4u8; 32], &nonce, b"hdr", &buf).is_err());
    assert!(open_with_crate(&k1, &nonce, b"hdx", &buf).is_err());
}

#[test]
fn bad_inputs_are_typed_errors() {
    use attacks::Error;
    let n = [0u8; 12];
    assert!(matches!(
        siv::collide(&[0u8; 16], &[1u8; 32], &n, b"", 2, b""),
        Err(Error::MixedKeyLengths)
    ));
    assert!(matches!(
        siv::collide(&[0u8; 24], &[1u8; 24], &n, b"", 2, b""),
        Err(Error::InvalidKeyLength { .. })
    ));
    assert!(matches!(
        siv::collide(&[0u8; 16], &[1u8; 16], &n[..8], b"", 2, b""),
        Err(Error::InvalidNonceLength { .. })
    ));
    assert!(matches!(
        siv::collide(&[0u8; 16], &[1u8; 16], &n, b"", 1, b""),
        Err(Error::FreeBlockOutOfRange { .. })
    ));
    // the same key twice: the 2×2 system is singular
    assert!(matches!(
        siv::collide(&[5u8; 16], &[5u8; 16], &n, b"", 2, b""),
        Err(Error::SingularSystem)
    ));
}

#[test]
fn cli_siv_collide() {
    let k1 = [0x10u8; 16];
    let k2 = [0x20u8; 16];
    let nonce = [0x30u8; 12];
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_franking-attacks"))
        .args([
            "siv-collide",
            "--key1",
            &hex::encode(k1),
            "--key2",
            &hex::encode(k2),
        ])
        .args(["--nonce", &hex::encode(nonce), "--ad", "616263"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut buf = hex::decode(v["ciphertext"].as_str().unwrap()).unwrap();
    buf.extend(hex::decode(v["tag"].as_str().unwrap()).unwrap());
    for k in [k1, k2] {
        Aes128GcmSiv::new((&k).into())
            .decrypt(
                (&nonce).into(),
                Payload {
                    msg: &buf,
                    aad: b"abc",
                },
            )
            .unwrap();
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_franking-attacks"))
        .args([
            "siv-collide",
            "--key1",
            "00",
            "--key2",
            "00",
            "--nonce",
            "xx",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}
