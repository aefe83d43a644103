//! Small helpers every crate of the workspace shares, in one place: base64url, the CSPRNG, the
//! clock, and full reads.
//!
//! * base64url **without padding** is the one text encoding of bytes in every JSON form of the
//!   project. Decoding is strict: padding, `+`/`/`, whitespace and non-canonical trailing bits are
//!   refused, so each byte string has exactly one text form.
//! * [`random_array`] / [`fill_random`] read the operating system's CSPRNG.
//! * [`now_ms`] reads the system clock. The protocol code never calls it (time is passed in as
//!   `now_ms`); it exists for callers (the CLI, the report server).

use std::io::{ErrorKind, Read};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::Zeroizing;

use crate::Error;

/// Encode bytes as base64url without padding.
pub fn b64_encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decode base64url without padding. Padding, `+`/`/`, whitespace and non-canonical trailing bits
/// are refused ([`Error::Malformed`]).
pub fn b64_decode(text: &str) -> Result<Vec<u8>, Error> {
    URL_SAFE_NO_PAD.decode(text).map_err(|_| Error::Malformed {
        what: "base64url (no padding)",
    })
}

/// Decode base64url into exactly `N` bytes, in a buffer wiped on drop (keys go through here).
/// A wrong length is [`Error::InvalidLength`] naming `what`.
pub fn b64_decode_array<const N: usize>(
    what: &'static str,
    text: &str,
) -> Result<Zeroizing<[u8; N]>, Error> {
    let bytes = Zeroizing::new(b64_decode(text)?);
    if bytes.len() != N {
        return Err(Error::InvalidLength {
            what,
            expected: N,
            got: bytes.len(),
        });
    }
    let mut out = Zeroizing::new([0u8; N]);
    out.copy_from_slice(&bytes);
    Ok(out)
}

/// Fill `buf` from the operating system's CSPRNG ([`Error::Randomness`] if it fails).
pub fn fill_random(buf: &mut [u8]) -> Result<(), Error> {
    getrandom::fill(buf).map_err(|_| Error::Randomness)
}

/// `N` fresh random bytes from the operating system's CSPRNG, in a buffer wiped on drop.
pub fn random_array<const N: usize>() -> Result<Zeroizing<[u8; N]>, Error> {
    let mut b = Zeroizing::new([0u8; N]);
    fill_random(&mut *b)?;
    Ok(b)
}

/// Milliseconds since the Unix epoch from the system clock (0 if the clock is before 1970).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Read until `buf` is full or the reader reports end of file; returns the number of bytes read.
pub(crate) fn read_full<R: Read + ?Sized>(
    reader: &mut R,
    buf: &mut [u8],
) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_is_strict() {
        assert_eq!(b64_encode(&[0xfb, 0xff]), "-_8");
        assert_eq!(b64_decode("-_8").unwrap(), vec![0xfb, 0xff]);
        for bad in ["-_8=", "+/8", " -_8", "-_8\n", "-_9"] {
            assert_eq!(
                b64_decode(bad),
                Err(Error::Malformed {
                    what: "base64url (no padding)"
                }),
                "{bad:?}"
            );
        }
        assert_eq!(
            b64_decode_array::<3>("k", "AAAA").map(|a| *a),
            Ok([0, 0, 0])
        );
        assert_eq!(
            b64_decode_array::<4>("k", "AAAA").map(|a| *a),
            Err(Error::InvalidLength {
                what: "k",
                expected: 4,
                got: 3
            })
        );
    }

    #[test]
    fn clock_and_rng() {
        assert!(now_ms() > 1_600_000_000_000);
        let a = random_array::<32>().unwrap();
        let b = random_array::<32>().unwrap();
        assert_ne!(*a, *b);
    }
}
