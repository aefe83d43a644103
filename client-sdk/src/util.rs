//! Small shared helpers: randomness, full reads, base64 serde adapters.

use std::io::{ErrorKind, Read};

use zeroize::Zeroizing;

use crate::Error;

/// Fresh random bytes from the operating system, in a buffer that is wiped on drop.
pub(crate) fn random_key() -> Result<Zeroizing<[u8; 32]>, Error> {
    let mut key = Zeroizing::new([0u8; 32]);
    getrandom::fill(&mut *key).map_err(|e| Error::Random(e.to_string()))?;
    Ok(key)
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

/// base64url without padding, as used by every JSON form in this crate and in `franking-core`.
pub(crate) fn b64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Decode base64url without padding; `what` names the field in the error.
pub(crate) fn b64_decode(what: &'static str, text: &str) -> Result<Vec<u8>, Error> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim())
        .map_err(|e| Error::Malformed {
            what,
            reason: e.to_string(),
        })
}

/// Decode base64url into exactly `N` bytes.
pub(crate) fn b64_decode_array<const N: usize>(
    what: &'static str,
    text: &str,
) -> Result<Zeroizing<[u8; N]>, Error> {
    let bytes = Zeroizing::new(b64_decode(what, text)?);
    let mut out = Zeroizing::new([0u8; N]);
    if bytes.len() != N {
        return Err(Error::Malformed {
            what,
            reason: format!("expected {N} bytes, got {}", bytes.len()),
        });
    }
    out.copy_from_slice(&bytes);
    Ok(out)
}
