//! Property tests for every committing AEAD in `franking_core::caead`, instantiated per scheme by a
//! macro (in the spirit of RustCrypto's `aead` test macros): round trips for any (K, N, A, M), long
//! messages, rejection of any single change to key, nonce, AD, ciphertext, tag or length, no
//! plaintext released on failure, and — for the compact schemes — that `verify_opening` accepts the
//! true opening and rejects any single change to it.
//!
//! Messages longer than `P_MAX` (64 GiB) cannot be allocated in a test and are not covered here.
#![allow(clippy::unwrap_used)]

use aead::array::typenum::Unsigned;
use aead::inout::InOutBuf;
use aead::{Aead, AeadCore, Key, KeyInit, Nonce, Payload, Tag};
use franking_core::Error;
use franking_core::caead::{
    Aes256CtrBlake3, CommitmentLevel, CommittingAead, CompactCommitment, CtrHmacSha256,
    CtxAes256Gcm, KEY_LEN, TAG_LEN,
};
use proptest::prelude::*;

/// Default number of cases per property: modest, so `cargo test` stays fast. `PROPTEST_CASES` in the
/// environment overrides it for a longer run.
const CASES: u32 = 64;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(CASES);
    ProptestConfig {
        cases,
        // Integration tests have no lib.rs beside them; keep regressions next to this file.
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
        )),
        ..ProptestConfig::default()
    }
}

/// One opening (K, N, A, M); the nonce is cut to the scheme's length.
#[derive(Debug, Clone)]
struct Input {
    key: [u8; KEY_LEN],
    nonce: [u8; 16],
    ad: Vec<u8>,
    msg: Vec<u8>,
}

fn input(max_ad: usize, max_msg: usize) -> impl Strategy<Value = Input> {
    (
        any::<[u8; KEY_LEN]>(),
        any::<[u8; 16]>(),
        prop::collection::vec(any::<u8>(), 0..=max_ad),
        prop::collection::vec(any::<u8>(), 0..=max_msg),
    )
        .prop_map(|(key, nonce, ad, msg)| Input {
            key,
            nonce,
            ad,
            msg,
        })
}

/// Inputs that include the empty AD and empty message often enough to matter.
fn inputs() -> impl Strategy<Value = Input> {
    prop_oneof![
        1 => input(0, 0),
        1 => input(40, 0),
        1 => input(0, 40),
        6 => input(300, 2100),
    ]
}

fn key_of<A: KeyInit>(key: &[u8]) -> Key<A> {
    Key::<A>::try_from(key).unwrap()
}

fn nonce_of<A: AeadCore>(nonce: &[u8]) -> Nonce<A> {
    Nonce::<A>::try_from(&nonce[..A::NonceSize::USIZE]).unwrap()
}

fn seal<A: CommittingAead>(i: &Input) -> Vec<u8> {
    A::new(&key_of::<A>(&i.key))
        .encrypt(
            &nonce_of::<A>(&i.nonce),
            Payload {
                msg: &i.msg,
                aad: &i.ad,
            },
        )
        .unwrap()
}

fn open<A: CommittingAead>(i: &Input, ct: &[u8]) -> Result<Vec<u8>, aead::Error> {
    A::new(&key_of::<A>(&i.key)).decrypt(
        &nonce_of::<A>(&i.nonce),
        Payload {
            msg: ct,
            aad: &i.ad,
        },
    )
}

fn flip(bytes: &mut [u8], bit: usize) {
    bytes[bit / 8] ^= 1 << (bit % 8);
}

/// A deterministic pseudorandom message (xorshift64*), for sizes too large to draw byte by byte.
fn long_message(len: usize, seed: u64) -> Vec<u8> {
    let mut s = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        out.extend_from_slice(&s.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    out.truncate(len);
    out
}

// ---------------------------------------------------------------------------------------------
// Properties shared by every scheme.
// ---------------------------------------------------------------------------------------------

fn prop_round_trip<A: CommittingAead>(i: &Input) -> Result<(), TestCaseError> {
    let ct = seal::<A>(i);
    prop_assert_eq!(ct.len(), i.msg.len() + TAG_LEN);
    prop_assert_eq!(A::TagSize::USIZE, TAG_LEN);
    prop_assert_eq!(open::<A>(i, &ct).unwrap(), i.msg.clone());
    // The commitment is the tag, in every scheme (compact or not).
    prop_assert_eq!(A::commitment(&ct).unwrap(), &ct[i.msg.len()..]);
    // Detached in-place and buffer-to-buffer APIs agree with `Aead`.
    let scheme = A::new(&key_of::<A>(&i.key));
    let nonce = nonce_of::<A>(&i.nonce);
    let mut buf = i.msg.clone();
    let tag = scheme
        .encrypt_inout_detached(&nonce, &i.ad, buf.as_mut_slice().into())
        .unwrap();
    prop_assert_eq!(&buf[..], &ct[..i.msg.len()]);
    prop_assert_eq!(tag.as_slice(), &ct[i.msg.len()..]);
    let mut out = vec![0u8; i.msg.len()];
    scheme
        .decrypt_inout_detached(&nonce, &i.ad, InOutBuf::new(&buf, &mut out).unwrap(), &tag)
        .unwrap();
    prop_assert_eq!(&out, &i.msg);
    // Encryption is deterministic.
    prop_assert_eq!(seal::<A>(i), ct);
    Ok(())
}

/// The ways to change a valid (K, N, A, C ‖ T) by one thing.
#[derive(Debug, Clone, Copy)]
enum Change {
    KeyBit,
    NonceBit,
    AdBit,
    AdAppend,
    AdTruncate,
    CiphertextBit,
    TagBit,
    Truncate,
    Extend,
}

const CHANGES: [Change; 9] = [
    Change::KeyBit,
    Change::NonceBit,
    Change::AdBit,
    Change::AdAppend,
    Change::AdTruncate,
    Change::CiphertextBit,
    Change::TagBit,
    Change::Truncate,
    Change::Extend,
];

fn prop_rejects_change<A: CommittingAead>(
    i: &Input,
    change: Change,
    at: usize,
    byte: u8,
) -> Result<(), TestCaseError> {
    let mut ct = seal::<A>(i);
    let mut j = i.clone();
    let n_len = A::NonceSize::USIZE;
    match change {
        Change::KeyBit => flip(&mut j.key, at % (8 * KEY_LEN)),
        Change::NonceBit => flip(&mut j.nonce[..n_len], at % (8 * n_len)),
        Change::AdBit => {
            prop_assume!(!j.ad.is_empty());
            let bits = 8 * j.ad.len();
            flip(&mut j.ad, at % bits);
        }
        Change::AdAppend => j.ad.push(byte),
        Change::AdTruncate => {
            prop_assume!(!j.ad.is_empty());
            j.ad.pop();
        }
        Change::CiphertextBit => {
            prop_assume!(!i.msg.is_empty());
            flip(&mut ct[..i.msg.len()], at % (8 * i.msg.len()));
        }
        Change::TagBit => flip(&mut ct[i.msg.len()..], at % (8 * TAG_LEN)),
        Change::Truncate => {
            ct.pop();
        }
        Change::Extend => ct.push(byte),
    }
    prop_assert!(
        open::<A>(&j, &ct).is_err(),
        "{} accepted after {:?}",
        A::NAME,
        change
    );
    Ok(())
}

/// On failure the in-place buffer (and a separate output buffer) is left exactly as it was: no
/// plaintext byte is released before the tag verifies.
fn prop_no_release_on_failure<A: CommittingAead>(
    i: &Input,
    at: usize,
) -> Result<(), TestCaseError> {
    let scheme = A::new(&key_of::<A>(&i.key));
    let nonce = nonce_of::<A>(&i.nonce);
    let mut ct = seal::<A>(i);
    let n = i.msg.len();
    flip(&mut ct[n..], at % (8 * TAG_LEN));

    // `Aead::decrypt_in_place` over ciphertext ‖ tag.
    let mut buf = ct.clone();
    prop_assert!(scheme.decrypt_in_place(&nonce, &i.ad, &mut buf).is_err());
    prop_assert_eq!(&buf, &ct);

    // Detached, in place.
    let tag = Tag::<A>::try_from(&ct[n..]).unwrap();
    let mut body = ct[..n].to_vec();
    prop_assert!(
        scheme
            .decrypt_inout_detached(&nonce, &i.ad, body.as_mut_slice().into(), &tag)
            .is_err()
    );
    prop_assert_eq!(&body[..], &ct[..n]);

    // Detached, buffer to buffer: the output stays untouched.
    let mut out = vec![0xA5u8; n];
    prop_assert!(
        scheme
            .decrypt_inout_detached(
                &nonce,
                &i.ad,
                InOutBuf::new(&ct[..n], &mut out).unwrap(),
                &tag,
            )
            .is_err()
    );
    prop_assert!(out.iter().all(|&b| b == 0xA5));
    Ok(())
}

fn check_long_message<A: CommittingAead>(len: usize, seed: u64) {
    let i = Input {
        key: long_message(KEY_LEN, seed ^ 0x006b_6579)
            .try_into()
            .unwrap(),
        nonce: long_message(16, seed ^ 0x6e_6f6e).try_into().unwrap(),
        ad: long_message(37, seed ^ 0x6164),
        msg: long_message(len, seed),
    };
    let mut ct = seal::<A>(&i);
    assert_eq!(ct.len(), len + TAG_LEN);
    assert!(open::<A>(&i, &ct).unwrap() == i.msg, "{}", A::NAME);
    // One bit flipped at the end of the long body (after every internal segment) is rejected.
    flip(&mut ct, 8 * len - 1);
    assert!(open::<A>(&i, &ct).is_err(), "{}", A::NAME);
}

fn check_commitment_lengths<A: CommittingAead>() {
    for len in [0, 1, A::TagSize::USIZE - 1] {
        assert!(matches!(
            A::commitment(&vec![0u8; len]),
            Err(Error::InvalidLength { got, .. }) if got == len
        ));
    }
    assert_eq!(A::commitment(&[7u8; 32]).unwrap(), &[7u8; 32]);
    assert_eq!(A::LEVEL, CommitmentLevel::Cmt4);
    assert!(A::P_MAX >= (1 << 36) - 32, "{}", A::NAME);
}

// ---------------------------------------------------------------------------------------------
// Properties of compactly committing schemes.
// ---------------------------------------------------------------------------------------------

fn verify<A: CompactCommitment>(i: &Input, commitment: &[u8]) -> Result<(), Error> {
    A::verify_opening(
        &key_of::<A>(&i.key),
        &nonce_of::<A>(&i.nonce),
        &i.ad,
        &i.msg,
        commitment,
    )
}

/// The ways to change an opening (K, N, A, M) by one thing.
#[derive(Debug, Clone, Copy)]
enum OpeningChange {
    KeyBit,
    NonceBit,
    AdBit,
    AdAppend,
    MsgBit,
    MsgAppend,
    MsgTruncate,
}

const OPENING_CHANGES: [OpeningChange; 7] = [
    OpeningChange::KeyBit,
    OpeningChange::NonceBit,
    OpeningChange::AdBit,
    OpeningChange::AdAppend,
    OpeningChange::MsgBit,
    OpeningChange::MsgAppend,
    OpeningChange::MsgTruncate,
];

fn prop_opening<A: CompactCommitment>(
    i: &Input,
    change: OpeningChange,
    at: usize,
    byte: u8,
) -> Result<(), TestCaseError> {
    let ct = seal::<A>(i);
    let commitment = A::commitment(&ct).unwrap().to_vec();
    prop_assert!(verify::<A>(i, &commitment).is_ok());

    let mut j = i.clone();
    let n_len = A::NonceSize::USIZE;
    match change {
        OpeningChange::KeyBit => flip(&mut j.key, at % (8 * KEY_LEN)),
        OpeningChange::NonceBit => flip(&mut j.nonce[..n_len], at % (8 * n_len)),
        OpeningChange::AdBit => {
            prop_assume!(!j.ad.is_empty());
            let bits = 8 * j.ad.len();
            flip(&mut j.ad, at % bits);
        }
        OpeningChange::AdAppend => j.ad.push(byte),
        OpeningChange::MsgBit => {
            prop_assume!(!j.msg.is_empty());
            let bits = 8 * j.msg.len();
            flip(&mut j.msg, at % bits);
        }
        OpeningChange::MsgAppend => j.msg.push(byte),
        OpeningChange::MsgTruncate => {
            prop_assume!(!j.msg.is_empty());
            j.msg.pop();
        }
    }
    prop_assert!(
        matches!(verify::<A>(&j, &commitment), Err(Error::CommitmentMismatch)),
        "{} opening accepted after {:?}",
        A::NAME,
        change
    );

    // A commitment of the wrong length is an InvalidLength error, never a match.
    for len in [0, TAG_LEN - 1, TAG_LEN + 1] {
        let mut c = commitment.clone();
        c.resize(len, byte);
        let is_invalid_length =
            matches!(verify::<A>(i, &c), Err(Error::InvalidLength { got, .. }) if got == len);
        prop_assert!(is_invalid_length, "{} len {}", A::NAME, len);
    }
    // A tag with one bit flipped does not verify.
    let mut c = commitment.clone();
    flip(&mut c, at % (8 * TAG_LEN));
    prop_assert!(matches!(verify::<A>(i, &c), Err(Error::CommitmentMismatch)));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Per-scheme instantiation.
// ---------------------------------------------------------------------------------------------

/// Instantiate the properties every committing AEAD must have for `$ty` in module `$name`.
macro_rules! caead_properties {
    ($name:ident, $ty:ty) => {
        mod $name {
            use super::*;

            proptest! {
                #![proptest_config(config())]

                #[test]
                fn round_trip(i in inputs()) {
                    prop_round_trip::<$ty>(&i)?;
                }

                #[test]
                fn rejects_any_single_change(
                    i in inputs(),
                    change in prop::sample::select(CHANGES.to_vec()),
                    at in any::<usize>(),
                    byte in any::<u8>(),
                ) {
                    prop_rejects_change::<$ty>(&i, change, at, byte)?;
                }

                #[test]
                fn no_plaintext_released_on_failure(i in inputs(), at in any::<usize>()) {
                    prop_no_release_on_failure::<$ty>(&i, at)?;
                }
            }

            /// Every kind of change, on one fixed non-empty input, so none is left to chance.
            #[test]
            fn rejects_each_change_kind() {
                let i = Input {
                    key: [0x11; KEY_LEN],
                    nonce: [0x22; 16],
                    ad: b"associated data".to_vec(),
                    msg: long_message(100, 3),
                };
                for change in CHANGES {
                    for at in [0usize, 5, 99] {
                        prop_rejects_change::<$ty>(&i, change, at * 0x0123_4567, 0x5c).unwrap();
                    }
                }
            }

            /// 3 MiB + 5 bytes: many internal segments, a partial final block.
            #[test]
            fn long_message_round_trip() {
                // Two cases: our crate is built unoptimised, and generic cipher code instantiated
                // in it runs at debug speed (~0.2 s per 3 MiB seal + open here).
                for seed in 1..=2 {
                    check_long_message::<$ty>(3 * 1024 * 1024 + 5, seed);
                }
            }

            /// Sealing works in 256 KiB segments, opening in one pass: sizes at and around the
            /// segment boundaries must round-trip (a misaligned keystream would not).
            #[test]
            fn segment_boundary_round_trip() {
                const SEG: usize = 256 * 1024;
                for len in [SEG - 1, SEG, SEG + 1, SEG + 16, 2 * SEG, 2 * SEG + 15] {
                    check_long_message::<$ty>(len, len as u64);
                }
            }

            #[test]
            fn commitment_and_level() {
                check_commitment_lengths::<$ty>();
            }
        }
    };
}

/// Instantiate the compact-commitment properties for `$ty` in module `$name`.
macro_rules! compact_properties {
    ($name:ident, $ty:ty) => {
        mod $name {
            use super::*;

            proptest! {
                #![proptest_config(config())]

                #[test]
                fn opening_binds_key_nonce_ad_message(
                    i in inputs(),
                    change in prop::sample::select(OPENING_CHANGES.to_vec()),
                    at in any::<usize>(),
                    byte in any::<u8>(),
                ) {
                    prop_opening::<$ty>(&i, change, at, byte)?;
                }
            }

            #[test]
            fn opening_each_change_kind() {
                const { assert!(<$ty as CommittingAead>::COMPACT) };
                let i = Input {
                    key: [0x33; KEY_LEN],
                    nonce: [0x44; 16],
                    ad: b"ad".to_vec(),
                    msg: long_message(33, 9),
                };
                for change in OPENING_CHANGES {
                    prop_opening::<$ty>(&i, change, 12_345, 1).unwrap();
                }
            }

            #[test]
            fn opening_of_long_message() {
                let i = Input {
                    key: [0x55; KEY_LEN],
                    nonce: [0x66; 16],
                    ad: Vec::new(),
                    msg: long_message(3 * 1024 * 1024 + 5, 4),
                };
                let ct = seal::<$ty>(&i);
                verify::<$ty>(&i, <$ty>::commitment(&ct).unwrap()).unwrap();
                let mut j = i.clone();
                flip(&mut j.msg, 8 * 3 * 1024 * 1024);
                assert!(verify::<$ty>(&j, <$ty>::commitment(&ct).unwrap()).is_err());
            }
        }
    };
}

caead_properties!(ctr_hmac_sha256, CtrHmacSha256);
caead_properties!(aes256ctr_blake3, Aes256CtrBlake3);
caead_properties!(ctx_aes256gcm, CtxAes256Gcm);

compact_properties!(ctr_hmac_sha256_compact, CtrHmacSha256);
compact_properties!(aes256ctr_blake3_compact, Aes256CtrBlake3);

/// CTX is CMT-4 but not compactly committing: it says so, and its commitment bytes are its tag.
#[test]
fn ctx_is_not_compact_and_commitment_is_the_tag() {
    const { assert!(!CtxAes256Gcm::COMPACT) };
    const { assert!(CtrHmacSha256::COMPACT && Aes256CtrBlake3::COMPACT) };
    let i = Input {
        key: [9; KEY_LEN],
        nonce: [8; 16],
        ad: b"a".to_vec(),
        msg: b"hello".to_vec(),
    };
    let ct = seal::<CtxAes256Gcm>(&i);
    assert_eq!(CtxAes256Gcm::commitment(&ct).unwrap(), &ct[5..]);
    assert_eq!(CtxAes256Gcm::commitment(&ct).unwrap().len(), 32);
    assert_eq!(CtxAes256Gcm::NAME, "CtxAes256Gcm");
    assert_eq!(<CtxAes256Gcm as AeadCore>::NonceSize::USIZE, 12);
}
