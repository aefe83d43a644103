//! Known-answer tests: franking-core's committing AEADs against vectors from an independent Python
//! implementation of the specs (`scripts/caead_vectors.py`, see `tests/vectors/README.md`).
//!
//! Two implementations written separately from one spec must agree byte for byte: for every valid
//! vector encryption gives exactly `ct ‖ tag`, decryption gives `msg`, `CommittingAead::commitment`
//! returns the tag and (compact schemes) `CompactCommitment::verify_opening` accepts; every invalid
//! vector is rejected.
#![allow(clippy::unwrap_used)]

use aead::{Aead, Key, Nonce, Payload};
use franking_core::caead::{
    Aes256CtrBlake3, CommittingAead, CompactCommitment, CtrHmacSha256, CtxAes256Gcm,
};
use serde::Deserialize;

#[derive(Deserialize)]
struct VectorFile {
    scheme: String,
    source: String,
    vectors: Vec<Vector>,
}

#[derive(Deserialize)]
struct Vector {
    comment: String,
    #[serde(deserialize_with = "de_hex")]
    key: Vec<u8>,
    #[serde(deserialize_with = "de_hex")]
    nonce: Vec<u8>,
    #[serde(deserialize_with = "de_hex")]
    ad: Vec<u8>,
    #[serde(deserialize_with = "de_hex")]
    msg: Vec<u8>,
    #[serde(deserialize_with = "de_hex")]
    ct: Vec<u8>,
    #[serde(deserialize_with = "de_hex")]
    tag: Vec<u8>,
    result: Expect,
}

fn de_hex<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    let s = String::deserialize(d)?;
    hex::decode(s).map_err(serde::de::Error::custom)
}

#[derive(Deserialize, PartialEq, Eq, Clone, Copy, Debug)]
#[serde(rename_all = "lowercase")]
enum Expect {
    Valid,
    Invalid,
}

/// How many vectors of each kind a file held.
#[derive(Debug, Default)]
struct Counts {
    valid: usize,
    invalid: usize,
}

fn load(json: &str, scheme: &str) -> VectorFile {
    let file: VectorFile = serde_json::from_str(json).unwrap();
    assert_eq!(file.scheme, scheme);
    assert!(file.source.contains("scripts/caead_vectors.py"));
    file
}

/// `CompactCommitment::verify_opening` over raw byte slices (key, nonce, ad, msg, commitment).
type OpeningCheck = fn(&[u8], &[u8], &[u8], &[u8], &[u8]) -> Result<(), franking_core::Error>;

/// The checks every scheme gets; `opening` is the compact-commitment check, if the scheme has one.
fn run<A: CommittingAead>(json: &str, opening: Option<OpeningCheck>) -> Counts {
    let file = load(json, A::NAME);
    let mut counts = Counts::default();
    for v in &file.vectors {
        let ctx = format!("{} vector {:?}", A::NAME, v.comment);
        let key = Key::<A>::try_from(v.key.as_slice()).expect(&ctx);
        let nonce = Nonce::<A>::try_from(v.nonce.as_slice()).expect(&ctx);
        let scheme = A::new(&key);
        let mut ct_and_tag = v.ct.clone();
        ct_and_tag.extend_from_slice(&v.tag);
        let aad = v.ad.as_slice();
        match v.result {
            Expect::Valid => {
                counts.valid += 1;
                assert_eq!(v.ct.len(), v.msg.len(), "{ctx}");
                assert_eq!(v.tag.len(), 32, "{ctx}");
                // Encrypt: exactly ct ‖ tag.
                let sealed = scheme
                    .encrypt(&nonce, Payload { msg: &v.msg, aad })
                    .expect(&ctx);
                assert!(sealed == ct_and_tag, "{ctx}: encryption differs");
                // Detached in-place API gives the same bytes.
                let mut buf = v.msg.clone();
                let tag = scheme
                    .encrypt_inout_detached(&nonce, aad, buf.as_mut_slice().into())
                    .expect(&ctx);
                assert!(buf == v.ct && tag.as_slice() == v.tag.as_slice(), "{ctx}");
                // Decrypt: msg.
                let opened = scheme
                    .decrypt(
                        &nonce,
                        Payload {
                            msg: &ct_and_tag,
                            aad,
                        },
                    )
                    .expect(&ctx);
                assert!(opened == v.msg, "{ctx}: decryption differs");
                // Commitment bytes are the tag.
                assert_eq!(A::commitment(&ct_and_tag).expect(&ctx), v.tag.as_slice());
                if let Some(check) = opening {
                    check(&v.key, &v.nonce, aad, &v.msg, &v.tag).expect(&ctx);
                }
            }
            Expect::Invalid => {
                counts.invalid += 1;
                let res = scheme.decrypt(
                    &nonce,
                    Payload {
                        msg: &ct_and_tag,
                        aad,
                    },
                );
                assert!(res.is_err(), "{ctx}: invalid vector decrypted");
                // The opening (K, N, A, M) against T verifies exactly when T is M's honest tag:
                // a tampered C leaves the opening honest; a changed T, K, N or A breaks it.
                if let Some(check) = opening
                    && v.ct.len() == v.msg.len()
                {
                    let honest = scheme
                        .encrypt(&nonce, Payload { msg: &v.msg, aad })
                        .expect(&ctx);
                    let honest_tag = &honest[honest.len() - 32..];
                    let expect_ok = honest_tag == v.tag.as_slice();
                    let got = check(&v.key, &v.nonce, aad, &v.msg, &v.tag);
                    assert_eq!(got.is_ok(), expect_ok, "{ctx}");
                }
            }
        }
    }
    counts
}

fn opening_for<A: CompactCommitment>(
    key: &[u8],
    nonce: &[u8],
    ad: &[u8],
    msg: &[u8],
    commitment: &[u8],
) -> Result<(), franking_core::Error> {
    let key = Key::<A>::try_from(key).unwrap();
    let nonce = Nonce::<A>::try_from(nonce).unwrap();
    A::verify_opening(&key, &nonce, ad, msg, commitment)
}

/// Every file must actually exercise the cases the README promises.
fn assert_coverage(json: &str, counts: &Counts, min_valid: usize) {
    let file: VectorFile = serde_json::from_str(json).unwrap();
    assert!(counts.valid >= min_valid, "{counts:?}");
    assert!(counts.invalid >= 8, "{counts:?}");
    let valid = file.vectors.iter().filter(|v| v.result == Expect::Valid);
    let lens: Vec<usize> = valid.clone().map(|v| v.msg.len()).collect();
    for want in [
        0,
        1,
        15,
        16,
        17,
        64,
        1024,
        1025,
        16 * 1024 + 3,
        300 * 1024 + 7,
    ] {
        assert!(lens.contains(&want), "no {want}-byte message vector");
    }
    assert!(
        valid.clone().any(|v| v.msg.is_empty() && v.ad.is_empty()),
        "no empty/empty vector"
    );
    assert!(
        valid.clone().any(|v| v.ad.len() >= 2048),
        "no long-AD vector"
    );
    assert!(
        lens.iter().any(|&l| l > 256 * 1024),
        "no vector crossing the 256 KiB segment"
    );
}

const CTR_HMAC: &str = include_str!("vectors/ctr_hmac_sha256.json");
const CTR_BLAKE3: &str = include_str!("vectors/aes256ctr_blake3.json");
const CTX_GCM: &str = include_str!("vectors/ctx_aes256gcm.json");

#[test]
fn kat_ctr_hmac_sha256() {
    let counts = run::<CtrHmacSha256>(CTR_HMAC, Some(opening_for::<CtrHmacSha256>));
    assert_coverage(CTR_HMAC, &counts, 27);
    assert!(
        load(CTR_HMAC, "CtrHmacSha256")
            .vectors
            .iter()
            .any(|v| v.comment.contains("nonce all-ff")),
        "no all-ones-nonce vector"
    );
}

#[test]
fn kat_aes256ctr_blake3() {
    let counts = run::<Aes256CtrBlake3>(CTR_BLAKE3, Some(opening_for::<Aes256CtrBlake3>));
    assert_coverage(CTR_BLAKE3, &counts, 27);
    assert!(
        load(CTR_BLAKE3, "Aes256CtrBlake3")
            .vectors
            .iter()
            .any(|v| v.comment.contains("nonce all-ff")),
        "no all-ones-nonce vector"
    );
}

#[test]
fn kat_ctx_aes256gcm() {
    let counts = run::<CtxAes256Gcm>(CTX_GCM, None);
    assert_coverage(CTX_GCM, &counts, 24);
    const { assert!(!CtxAes256Gcm::COMPACT) };
}
