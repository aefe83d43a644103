//! The subcommands: parse the hex and file arguments into the library's types, run the attack,
//! and print one JSON object on the output stream.

use std::io::Write;
use std::path::Path;

use attacks::check::open;
use attacks::error::{Error, Result};
use attacks::gcm::{GcmKey, collide_many, verify_all};
use attacks::hexutil::{parse_hex, parse_nonce12, parse_tag};
use attacks::{chapoly, salamander, siv};
use serde::Serialize;
use serde_json::json;

use crate::cli::{ChapolyCollideArgs, CheckArgs, GcmCollideArgs, SalamanderArgs, SivCollideArgs};

/// A collision needs two keys at least: with one, "verifies under every key" is plain
/// encryption, not an attack.
const MIN_COLLISION_KEYS: usize = 2;

/// Writes `value` as one line of JSON.
fn print_json(out: &mut dyn Write, value: &impl Serialize) -> Result<()> {
    let line = serde_json::to_string(value)?;
    writeln!(out, "{line}").map_err(|source| Error::Io {
        path: "<stdout>".into(),
        source,
    })
}

/// The collision subcommands' output: `{"ciphertext": "<hex>", "tag": "<hex>"}`.
fn print_collision(out: &mut dyn Write, ciphertext: &[u8], tag: &[u8]) -> Result<()> {
    print_json(
        out,
        &json!({ "ciphertext": hex::encode(ciphertext), "tag": hex::encode(tag) }),
    )
}

fn check_key_count(got: usize) -> Result<()> {
    if got < MIN_COLLISION_KEYS {
        return Err(Error::TooFewKeys {
            needed: MIN_COLLISION_KEYS,
            got,
        });
    }
    Ok(())
}

/// `gcm-collide`: forges a ciphertext verifying under every key, self-checks it with `aes-gcm`.
pub(crate) fn gcm_collide(a: &GcmCollideArgs, out: &mut dyn Write) -> Result<()> {
    let keys = a
        .keys
        .iter()
        .map(|k| GcmKey::from_hex(k))
        .collect::<Result<Vec<_>>>()?;
    let nonce = parse_nonce12(&a.nonce)?;
    let ad = parse_hex("--ad", &a.ad)?;
    let tag = a.tag.as_deref().map(parse_tag).transpose()?;
    check_key_count(keys.len())?;
    let forgery = collide_many(&keys, &nonce, &ad, tag)?;
    verify_all(&keys, &nonce, &ad, &forgery)?;
    print_collision(out, &forgery.ciphertext, &forgery.tag)
}

/// `chapoly-collide`: forges a ciphertext with an all-zero tag verifying under every key
/// (checked with the real `chacha20poly1305` crate by the library).
pub(crate) fn chapoly_collide(a: &ChapolyCollideArgs, out: &mut dyn Write) -> Result<()> {
    let keys = a
        .keys
        .iter()
        .map(|h| {
            let v = parse_hex("--key", h)?;
            <[u8; 32]>::try_from(v.as_slice()).map_err(|_| Error::InvalidKeyLength {
                len: v.len(),
                expected: "32",
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let nonce = parse_hex("--nonce", &a.nonce)?;
    let (want, expected) = if a.xchacha {
        (24, "24 (XChaCha20)")
    } else {
        (12, "12 (ChaCha20)")
    };
    if nonce.len() != want {
        return Err(Error::InvalidNonceLength {
            len: nonce.len(),
            expected,
        });
    }
    let ad = parse_hex("--ad", &a.ad)?;
    check_key_count(keys.len())?;
    let c = chapoly::collide(&keys, &nonce, &ad, [0u8; 16], chapoly::DEFAULT_MAX_TRIES)?;
    print_collision(out, &c.ciphertext, &c.tag)
}

/// `siv-collide`: forges a two-block ciphertext and tag verifying under both keys (checked with
/// the real `aes-gcm-siv` crate by the library).
pub(crate) fn siv_collide(a: &SivCollideArgs, out: &mut dyn Write) -> Result<()> {
    let k1 = parse_hex("--key1", &a.key1)?;
    let k2 = parse_hex("--key2", &a.key2)?;
    let nonce = parse_hex("--nonce", &a.nonce)?;
    let ad = parse_hex("--ad", &a.ad)?;
    let c = siv::collide(&k1, &k2, &nonce, &ad, 2, &[])?;
    print_collision(out, &c.ciphertext, &c.tag)
}

#[derive(Serialize)]
struct KeyResult {
    key: String,
    accepts: bool,
}

#[derive(Serialize)]
struct CheckReport {
    scheme: attacks::check::Scheme,
    accepted: usize,
    total: usize,
    all_accept: bool,
    results: Vec<KeyResult>,
}

/// `check`: which keys accept the ciphertext, judged by the real AEAD crates.
pub(crate) fn check(a: &CheckArgs, out: &mut dyn Write) -> Result<()> {
    let nonce = parse_hex("--nonce", &a.nonce)?;
    let ad = parse_hex("--ad", &a.ad)?;
    let tag = parse_hex("--tag", &a.tag)?;
    let ct = match (&a.ciphertext, &a.ciphertext_file) {
        (Some(h), None) => parse_hex("--ciphertext", h)?,
        (None, Some(p)) => read(p)?,
        _ => {
            return Err(Error::Malformed(
                "give exactly one of --ciphertext and --ciphertext-file".into(),
            ));
        }
    };
    let mut results = Vec::with_capacity(a.keys.len());
    for k in &a.keys {
        let key = parse_hex("--key", k)?;
        let accepts = open(a.scheme, &key, &nonce, &ad, &ct, &tag)?.is_some();
        results.push(KeyResult {
            key: hex::encode(&key),
            accepts,
        });
    }
    let accepted = results.iter().filter(|r| r.accepts).count();
    print_json(
        out,
        &CheckReport {
            scheme: a.scheme,
            accepted,
            total: results.len(),
            all_accept: accepted == results.len(),
            results,
        },
    )
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn write(path: &Path, data: &[u8]) -> Result<()> {
    std::fs::write(path, data).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

#[derive(Serialize)]
struct Params {
    nonce: String,
    ad: String,
    tag: String,
    key1: String,
    key2: String,
    nonce_tries: u64,
}

/// `salamander`: builds the polyglot, writes `ciphertext.bin`, `params.json`,
/// `decrypted-key1.jpg`, `decrypted-key2.bmp` and `side-by-side.png` into `--out` (created if
/// missing), and prints a one-line JSON summary.
pub(crate) fn salamander(a: &SalamanderArgs, out: &mut dyn Write) -> Result<()> {
    let k1 = GcmKey::from_hex(&a.key1)?;
    let k2 = GcmKey::from_hex(&a.key2)?;
    let ad = parse_hex("--ad", &a.ad)?;
    let tag = a.tag.as_deref().map(parse_tag).transpose()?;
    let jpeg = read(&a.image1)?;
    let bmp = read(&a.image2)?;
    let s = salamander::build(&k1, &k2, &jpeg, &bmp, &ad, tag)?;
    std::fs::create_dir_all(&a.out).map_err(|source| Error::Io {
        path: a.out.clone(),
        source,
    })?;
    write(&a.out.join("ciphertext.bin"), &s.forgery.ciphertext)?;
    let params = serde_json::to_string_pretty(&Params {
        nonce: hex::encode(s.nonce),
        ad: hex::encode(&s.ad),
        tag: hex::encode(s.forgery.tag),
        key1: hex::encode(k1.as_bytes()),
        key2: hex::encode(k2.as_bytes()),
        nonce_tries: s.nonce_tries,
    })?;
    write(&a.out.join("params.json"), format!("{params}\n").as_bytes())?;
    write(&a.out.join("decrypted-key1.jpg"), &s.plaintext1)?;
    write(&a.out.join("decrypted-key2.bmp"), &s.plaintext2)?;
    let png_path = a.out.join("side-by-side.png");
    salamander::side_by_side(&s.plaintext1, &s.plaintext2)?
        .save_with_format(&png_path, image::ImageFormat::Png)?;
    print_json(
        out,
        &json!({
            "out": a.out.display().to_string(),
            "nonce": hex::encode(s.nonce),
            "tag": hex::encode(s.forgery.tag),
            "ciphertext_len": s.forgery.ciphertext.len(),
            "nonce_tries": s.nonce_tries,
        }),
    )
}
