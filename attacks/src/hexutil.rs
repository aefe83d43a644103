//! Parsing of hex-encoded command-line values into typed, length-checked byte strings.
//!
//! All CLI input flows through these helpers so malformed input yields an [`Error`]
//! instead of a panic.

use crate::error::{Error, Result};

/// Decodes `s` (whitespace around it ignored, optional `0x` prefix) as hex; `what` names
/// the argument in the error message.
pub fn parse_hex(what: &str, s: &str) -> Result<Vec<u8>> {
    let t = s.trim();
    let t = t.strip_prefix("0x").unwrap_or(t);
    hex::decode(t).map_err(|source| Error::InvalidHex {
        what: what.to_string(),
        source,
    })
}

/// Decodes a 96-bit GCM nonce.
pub fn parse_nonce12(s: &str) -> Result<[u8; 12]> {
    let v = parse_hex("--nonce", s)?;
    <[u8; 12]>::try_from(v.as_slice()).map_err(|_| Error::InvalidNonceLength {
        len: v.len(),
        expected: "12",
    })
}

/// Decodes a 16-byte authentication tag.
pub fn parse_tag(s: &str) -> Result<[u8; 16]> {
    let v = parse_hex("--tag", s)?;
    <[u8; 16]>::try_from(v.as_slice()).map_err(|_| Error::InvalidTagLength { len: v.len() })
}

/// `ciphertext ‖ tag`, the layout RustCrypto's `Aead::decrypt` expects.
pub fn append_tag(ciphertext: &[u8], tag: &[u8]) -> Vec<u8> {
    [ciphertext, tag].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_hex_and_lengths() {
        assert!(matches!(
            parse_hex("x", "zz"),
            Err(Error::InvalidHex { .. })
        ));
        assert!(matches!(
            parse_hex("x", "abc"),
            Err(Error::InvalidHex { .. })
        ));
        assert_eq!(parse_hex("x", " 0x0aFF ").ok(), Some(vec![0x0a, 0xff]));
        assert!(matches!(
            parse_nonce12("00"),
            Err(Error::InvalidNonceLength { len: 1, .. })
        ));
        assert!(matches!(
            parse_tag("00"),
            Err(Error::InvalidTagLength { len: 1 })
        ));
    }
}
