//! `franking-attacks check`: which of several keys accept one (nonce, AD, ciphertext, tag)?
//!
//! Uses only the real RustCrypto AEAD crates (aes-gcm, chacha20poly1305, aes-gcm-siv), so it
//! is an independent judge of the forgeries this crate produces (Albertini et al., USENIX
//! Security 2022, eprint 2020/1456, §2: key commitment is exactly "at most one key accepts").

use std::io::Write;
use std::path::PathBuf;

use aead::{Aead, KeyInit, Payload};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::hexutil::parse_hex;

/// AEAD schemes the `check` subcommand can verify with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scheme {
    /// AES-GCM with a 16- or 32-byte key and 12-byte nonce.
    AesGcm,
    /// ChaCha20-Poly1305 (RFC 8439), 32-byte key, 12-byte nonce.
    Chacha20Poly1305,
    /// XChaCha20-Poly1305, 32-byte key, 24-byte nonce.
    Xchacha20Poly1305,
    /// AES-GCM-SIV (RFC 8452) with a 16- or 32-byte key and 12-byte nonce.
    AesGcmSiv,
}

/// Arguments of `franking-attacks check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Key in hex; repeat to test several keys.
    #[arg(long = "key", value_name = "HEX", required = true)]
    pub keys: Vec<String>,
    /// Nonce in hex (12 bytes; 24 for xchacha20-poly1305).
    #[arg(long, value_name = "HEX")]
    pub nonce: String,
    /// Associated data in hex (default: empty).
    #[arg(long, value_name = "HEX", default_value = "")]
    pub ad: String,
    /// Ciphertext in hex, without the tag.
    #[arg(
        long,
        value_name = "HEX",
        conflicts_with = "ciphertext_file",
        required_unless_present = "ciphertext_file"
    )]
    pub ciphertext: Option<String>,
    /// File holding the raw ciphertext bytes (without the tag), instead of --ciphertext.
    #[arg(long, value_name = "FILE")]
    pub ciphertext_file: Option<PathBuf>,
    /// 16-byte tag in hex.
    #[arg(long, value_name = "HEX")]
    pub tag: String,
    /// AEAD scheme to verify with.
    #[arg(long, value_enum, default_value = "aes-gcm")]
    pub scheme: Scheme,
}

fn open_with<A: Aead + KeyInit>(
    key: &[u8],
    nonce: &[u8],
    ad: &[u8],
    msg: &[u8],
    key_lens: &'static str,
    nonce_len: &'static str,
) -> Result<Option<Vec<u8>>> {
    let cipher = A::new_from_slice(key).map_err(|_| Error::InvalidKeyLength {
        len: key.len(),
        expected: key_lens,
    })?;
    let n = aead::Nonce::<A>::try_from(nonce).map_err(|_| Error::InvalidNonceLength {
        len: nonce.len(),
        expected: nonce_len,
    })?;
    Ok(cipher.decrypt(&n, Payload { msg, aad: ad }).ok())
}

/// Decrypts `ct ‖ tag` under `key` with the real crate for `scheme`; `Ok(None)` if the tag
/// is rejected, an error if the key or nonce has the wrong length for the scheme.
pub fn open(
    scheme: Scheme,
    key: &[u8],
    nonce: &[u8],
    ad: &[u8],
    ct: &[u8],
    tag: &[u8],
) -> Result<Option<Vec<u8>>> {
    if tag.len() != 16 {
        return Err(Error::InvalidTagLength { len: tag.len() });
    }
    let mut msg = Vec::with_capacity(ct.len() + 16);
    msg.extend_from_slice(ct);
    msg.extend_from_slice(tag);
    match (scheme, key.len()) {
        (Scheme::AesGcm, 16) => {
            open_with::<aes_gcm::Aes128Gcm>(key, nonce, ad, &msg, "16 or 32", "12")
        }
        (Scheme::AesGcm, _) => {
            open_with::<aes_gcm::Aes256Gcm>(key, nonce, ad, &msg, "16 or 32", "12")
        }
        (Scheme::AesGcmSiv, 16) => {
            open_with::<aes_gcm_siv::Aes128GcmSiv>(key, nonce, ad, &msg, "16 or 32", "12")
        }
        (Scheme::AesGcmSiv, _) => {
            open_with::<aes_gcm_siv::Aes256GcmSiv>(key, nonce, ad, &msg, "16 or 32", "12")
        }
        (Scheme::Chacha20Poly1305, _) => {
            open_with::<chacha20poly1305::ChaCha20Poly1305>(key, nonce, ad, &msg, "32", "12")
        }
        (Scheme::Xchacha20Poly1305, _) => {
            open_with::<chacha20poly1305::XChaCha20Poly1305>(key, nonce, ad, &msg, "32", "24")
        }
    }
}

#[derive(Serialize)]
struct KeyResult {
    key: String,
    accepts: bool,
}

#[derive(Serialize)]
struct CheckReport {
    scheme: Scheme,
    accepted: usize,
    total: usize,
    all_accept: bool,
    results: Vec<KeyResult>,
}

/// Runs `check`: writes a JSON report of which keys accept the ciphertext to `out`.
pub fn run_check(args: &CheckArgs, out: &mut dyn Write) -> Result<()> {
    let nonce = parse_hex("--nonce", &args.nonce)?;
    let ad = parse_hex("--ad", &args.ad)?;
    let tag = parse_hex("--tag", &args.tag)?;
    let ct = match (&args.ciphertext, &args.ciphertext_file) {
        (Some(h), None) => parse_hex("--ciphertext", h)?,
        (None, Some(p)) => std::fs::read(p).map_err(|source| Error::Io {
            path: p.clone(),
            source,
        })?,
        _ => {
            return Err(Error::Malformed(
                "give exactly one of --ciphertext and --ciphertext-file".into(),
            ));
        }
    };
    let mut results = Vec::with_capacity(args.keys.len());
    for k in &args.keys {
        let key = parse_hex("--key", k)?;
        let accepts = open(args.scheme, &key, &nonce, &ad, &ct, &tag)?.is_some();
        results.push(KeyResult {
            key: hex::encode(&key),
            accepts,
        });
    }
    let accepted = results.iter().filter(|r| r.accepts).count();
    let report = CheckReport {
        scheme: args.scheme,
        accepted,
        total: results.len(),
        all_accept: accepted == results.len(),
        results,
    };
    writeln!(out, "{}", serde_json::to_string(&report)?).map_err(|source| Error::Io {
        path: "<stdout>".into(),
        source,
    })
}
