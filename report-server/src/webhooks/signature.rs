//! Webhook signatures (the `Franking-Signature` header), Stripe-style:
//!
//! ```text
//! Franking-Signature: t=<unix seconds>,v1=<hex HMAC-SHA-256(secret, t "." body)>[,v1=<hex ...>]
//! ```
//!
//! `secret` is the endpoint's secret string exactly as shown once by the admin API
//! (`whsec_<base64url>`), used as the HMAC key bytes. `t` is the time of the attempt. During a
//! secret rotation's overlap window the header carries one `v1` per valid secret (the new one
//! first). A receiver accepts the request if any `v1` matches under its secret (compared in
//! constant time) and `t` is within its tolerance of its clock (5 minutes is usual), which
//! limits replays; the event id (`Franking-Event-Id`) de-duplicates retries.

use hmac::{Hmac, KeyInit, Mac as _};
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

/// The signature header's name.
pub const HEADER: &str = "Franking-Signature";
/// The event-id header (the idempotency key; the same for every attempt of an event).
pub const EVENT_ID_HEADER: &str = "Franking-Event-Id";
/// The event-type header.
pub const EVENT_TYPE_HEADER: &str = "Franking-Event-Type";
/// Default tolerance of [`verify`] (seconds between `t` and the receiver's clock).
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &[u8], t: i64, body: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length (RFC 2104); this cannot fail.
    let mut m = <HmacSha256 as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| <HmacSha256 as KeyInit>::new(&Default::default()));
    m.update(t.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m.finalize().into_bytes().into()
}

/// The header value for `body` sent at `t` (unix seconds), one `v1` per secret in `secrets`.
pub fn sign(secrets: &[&[u8]], t: i64, body: &[u8]) -> String {
    let mut out = format!("t={t}");
    for s in secrets {
        out.push_str(",v1=");
        out.push_str(&hex::encode(mac(s, t, body)));
    }
    out
}

/// Why [`verify`] refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The header is not `t=<int>,v1=<hex>...`.
    #[error("malformed signature header")]
    Malformed,
    /// `t` is further from the receiver's clock than the tolerance.
    #[error("signature timestamp outside the tolerance")]
    Stale,
    /// No `v1` matches.
    #[error("no signature matches")]
    Mismatch,
}

/// Receiver side: check `header` for `body` under `secret` at `now_secs` with `tolerance_secs`.
pub fn verify(
    header: &str,
    secret: &[u8],
    body: &[u8],
    now_secs: i64,
    tolerance_secs: i64,
) -> Result<(), SignatureError> {
    let mut t = None;
    let mut sigs = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) if t.is_none() => {
                t = Some(v.parse::<i64>().map_err(|_| SignatureError::Malformed)?);
            }
            Some(("v1", v)) => sigs.push(hex::decode(v).map_err(|_| SignatureError::Malformed)?),
            // Unknown schemes are ignored (forward compatibility); a second `t` is malformed.
            Some((k, _)) if k != "t" => {}
            _ => return Err(SignatureError::Malformed),
        }
    }
    let t = t.ok_or(SignatureError::Malformed)?;
    if sigs.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if now_secs.abs_diff(t) > tolerance_secs.unsigned_abs() {
        return Err(SignatureError::Stale);
    }
    let expected = mac(secret, t, body);
    let mut ok = subtle::Choice::from(0);
    for s in &sigs {
        ok |= expected.as_slice().ct_eq(s.as_slice());
    }
    if bool::from(ok) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sign_verify_rotation_staleness_and_tampering() {
        let body = br#"{"id":"evt_1"}"#;
        let h = sign(&[b"new", b"old"], 1000, body);
        assert_eq!(h.matches(",v1=").count(), 2);
        assert!(verify(&h, b"new", body, 1000, 300).is_ok());
        assert!(verify(&h, b"old", body, 1200, 300).is_ok());
        assert_eq!(
            verify(&h, b"other", body, 1000, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&h, b"new", b"{}", 1000, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&h, b"new", body, 1301, 300),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(&h, b"new", body, 699, 300),
            Err(SignatureError::Stale)
        );
        // The timestamp is signed: moving it breaks the signature.
        let moved = h.replacen("t=1000", "t=1001", 1);
        assert_eq!(
            verify(&moved, b"new", body, 1000, 300),
            Err(SignatureError::Mismatch)
        );
        for bad in [
            "",
            "v1=00",
            "t=x,v1=00",
            "t=1000",
            "t=1000,v1=zz",
            "t=1,t=2,v1=00",
            "junk",
        ] {
            assert_eq!(
                verify(bad, b"new", body, 1000, 300),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
        // Known answer (Python: hmac.new(b"key", b"1000.body", hashlib.sha256)), pinning the format.
        assert_eq!(
            sign(&[b"key"], 1000, b"body"),
            "t=1000,v1=062f6ed108cb94155be54ddfb5d8e80ef70ed54fe9bbf747b5507a21aaf1d704"
        );
    }
}
