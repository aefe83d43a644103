//! The franked envelope: seal (sender) and open (recipient), and the key and commitment types.

use std::sync::OnceLock;

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::Error;
use crate::frank::constants::{
    AD_LABEL_LEN, COMMITMENT_LEN, KEY_LEN, NONCE_LEN, TAG_LEN, VERSION_SUITE_LEN, WRAP_AD_LEN,
    WRAPPED_KEY_LEN,
};
use crate::frank::json;
use crate::frank::secret::SecretBytes;
use crate::frank::suite::{Cipher, Suite};
use crate::frank::wire::{self, ObjType, Reader};
use crate::frank::{MAX_AD_LEN, MAX_PLAINTEXT_LEN, VERSION};
use crate::util::random_array;
use crate::util::{b64_decode_array, b64_encode};

/// Prefix of the body's associated data: `A = BODY_AD_LABEL ‖ version ‖ suite ‖ body_ad` (17 bytes).
pub const BODY_AD_LABEL: &[u8; AD_LABEL_LEN] = b"franking/v1 body\0";
/// Prefix of the key wrap's associated data: `A_w = WRAP_AD_LABEL ‖ version ‖ suite ‖ T` (17 bytes).
pub const WRAP_AD_LABEL: &[u8; AD_LABEL_LEN] = b"franking/v1 wrap\0";

/// The end-to-end session key shared by sender and recipient; it wraps each message's franking key.
/// Where it comes from (a ratchet, a group key schedule) is the E2E layer's business.
///
/// The suite's key schedule is derived on first use and cached, so reusing one `SessionKey` value
/// for many messages saves the per-key derivation. Zeroized on drop, redacted in `Debug`.
#[derive(Clone)]
pub struct SessionKey {
    key: SecretBytes<KEY_LEN>,
    ciphers: [OnceLock<Cipher>; 2],
}

impl SessionKey {
    /// Wrap 32 key bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self {
            key: SecretBytes::from_bytes(bytes),
            ciphers: [OnceLock::new(), OnceLock::new()],
        }
    }

    /// A fresh key from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, Error> {
        Ok(Self {
            key: SecretBytes::generate()?,
            ciphers: [OnceLock::new(), OnceLock::new()],
        })
    }

    /// The key bytes. Handle with care: this is secret material.
    pub fn expose_secret(&self) -> &[u8; KEY_LEN] {
        self.key.expose()
    }

    /// The cached CAEAD for `suite` under this key.
    fn cipher(&self, suite: Suite) -> &Cipher {
        let slot = match suite {
            Suite::CtrHmacSha256 => &self.ciphers[0],
            Suite::Aes256CtrBlake3 => &self.ciphers[1],
        };
        slot.get_or_init(|| suite.cipher(self.key.expose()))
    }
}

impl core::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SessionKey(<redacted>)")
    }
}

impl PartialEq for SessionKey {
    /// Constant-time comparison of the key bytes.
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for SessionKey {}

impl zeroize::ZeroizeOnDrop for SessionKey {}

/// The per-message franking key K_f: the *opening* of the commitment. The recipient reveals it
/// in a report so the server can recompute the commitment. An honest sender draws it fresh for
/// each message, so it decrypts only that message's body; a sender can choose it, so a report
/// reveals at most what the sender chose to put under it — except the session key, which [`open`]
/// refuses as a franking key ([`Error::FrankingKeyIsSessionKey`]) so a report never reveals it.
///
/// Zeroized on drop, compared in constant time, redacted in `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Opening(SecretBytes<KEY_LEN>);

impl Opening {
    /// Wrap 32 key bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(SecretBytes::from_bytes(bytes))
    }

    /// A fresh key from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, Error> {
        Ok(Self(SecretBytes::generate()?))
    }

    /// The key bytes. Handle with care: this is secret material.
    pub fn expose_secret(&self) -> &[u8; KEY_LEN] {
        self.0.expose()
    }
}

impl core::fmt::Debug for Opening {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Opening(<redacted>)")
    }
}

impl zeroize::ZeroizeOnDrop for Opening {}

impl serde::Serialize for Opening {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&b64_encode(self.expose_secret()))
    }
}

impl<'de> serde::Deserialize<'de> for Opening {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Zeroizing::new(<String as serde::Deserialize>::deserialize(d)?);
        let b = b64_decode_array::<KEY_LEN>("opening", &s).map_err(serde::de::Error::custom)?;
        Ok(Opening(SecretBytes::from_zeroizing(b)))
    }
}

/// The commitment T: the body's 32-byte CAEAD tag, which binds (K_f, N, A, M).
///
/// The relay stamps it; a report reveals an opening the server checks against it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Commitment(#[serde(with = "wire::b64::array")] pub [u8; COMMITMENT_LEN]);

impl Commitment {
    /// The commitment bytes.
    pub fn as_bytes(&self) -> &[u8; COMMITMENT_LEN] {
        &self.0
    }

    /// Constant-time equality.
    pub fn ct_eq(&self, other: &Commitment) -> bool {
        bool::from(self.0.ct_eq(&other.0))
    }
}

impl core::fmt::Debug for Commitment {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Commitment({})", b64_encode(&self.0))
    }
}

/// The associated data of the body: `BODY_AD_LABEL ‖ version ‖ suite ‖ body_ad`.
pub fn body_associated_data(suite: Suite, body_ad: &[u8]) -> Vec<u8> {
    let mut a = Vec::with_capacity(AD_LABEL_LEN + VERSION_SUITE_LEN + body_ad.len());
    a.extend_from_slice(BODY_AD_LABEL);
    a.extend_from_slice(&[VERSION, suite.id()]);
    a.extend_from_slice(body_ad);
    a
}

/// The associated data of the key wrap: `WRAP_AD_LABEL ‖ version ‖ suite ‖ T`.
pub fn wrap_associated_data(suite: Suite, commitment: &Commitment) -> [u8; WRAP_AD_LEN] {
    let mut a = [0u8; WRAP_AD_LEN];
    let (label, rest) = a.split_at_mut(AD_LABEL_LEN);
    let (version_suite, t) = rest.split_at_mut(VERSION_SUITE_LEN);
    label.copy_from_slice(WRAP_AD_LABEL);
    version_suite.copy_from_slice(&[VERSION, suite.id()]);
    t.copy_from_slice(&commitment.0);
    a
}

/// A franked message as it travels from sender to recipient: `{version, suite, N, C, T, N_w, W}`.
///
/// `commitment` (T) is what the relay stamps; `wrapped_key` (W) is the franking key encrypted under
/// the session key with T in its associated data. The version is implicit ([`VERSION`]).
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "EnvelopeJson", into = "EnvelopeJson")]
pub struct Envelope {
    /// The franking suite.
    pub suite: Suite,
    /// Body nonce N.
    pub nonce: [u8; NONCE_LEN],
    /// Body ciphertext C (same length as the plaintext).
    pub ciphertext: Vec<u8>,
    /// Commitment T (the body's CAEAD tag).
    pub commitment: Commitment,
    /// Key-wrap nonce N_w.
    pub wrap_nonce: [u8; NONCE_LEN],
    /// Wrapped franking key W = CAEAD.Enc(session_key, N_w, A_w, K_f): 32-byte ciphertext ‖ tag.
    pub wrapped_key: [u8; WRAPPED_KEY_LEN],
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvelopeJson {
    v: u8,
    suite: Suite,
    #[serde(with = "wire::b64::array")]
    nonce: [u8; NONCE_LEN],
    #[serde(with = "wire::b64")]
    ciphertext: Vec<u8>,
    commitment: Commitment,
    #[serde(with = "wire::b64::array")]
    wrap_nonce: [u8; NONCE_LEN],
    #[serde(with = "wire::b64::array")]
    wrapped_key: [u8; WRAPPED_KEY_LEN],
}

impl TryFrom<EnvelopeJson> for Envelope {
    type Error = Error;
    fn try_from(j: EnvelopeJson) -> Result<Self, Error> {
        if j.v != VERSION {
            return Err(Error::UnsupportedVersion(j.v));
        }
        if j.ciphertext.len() > MAX_PLAINTEXT_LEN {
            return Err(Error::Malformed {
                what: "ciphertext too long",
            });
        }
        Ok(Envelope {
            suite: j.suite,
            nonce: j.nonce,
            ciphertext: j.ciphertext,
            commitment: j.commitment,
            wrap_nonce: j.wrap_nonce,
            wrapped_key: j.wrapped_key,
        })
    }
}

impl From<Envelope> for EnvelopeJson {
    fn from(e: Envelope) -> Self {
        EnvelopeJson {
            v: VERSION,
            suite: e.suite,
            nonce: e.nonce,
            ciphertext: e.ciphertext,
            commitment: e.commitment,
            wrap_nonce: e.wrap_nonce,
            wrapped_key: e.wrapped_key,
        }
    }
}

impl core::fmt::Debug for Envelope {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Envelope")
            .field("suite", &self.suite)
            .field("ciphertext_len", &self.ciphertext.len())
            .field("commitment", &self.commitment)
            .finish_non_exhaustive()
    }
}

/// The random values one seal consumes; pass them explicitly only for test vectors.
#[derive(Clone)]
pub struct SealRandomness {
    /// The franking key K_f.
    pub franking_key: Opening,
    /// Body nonce N.
    pub nonce: [u8; NONCE_LEN],
    /// Key-wrap nonce N_w.
    pub wrap_nonce: [u8; NONCE_LEN],
}

impl SealRandomness {
    /// Fresh values from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, Error> {
        // One system call for all 64 bytes.
        let r = random_array::<{ KEY_LEN + 2 * NONCE_LEN }>()?;
        let mut k = [0u8; KEY_LEN];
        let mut nonce = [0u8; NONCE_LEN];
        let mut wrap_nonce = [0u8; NONCE_LEN];
        k.copy_from_slice(&r[..KEY_LEN]);
        nonce.copy_from_slice(&r[KEY_LEN..KEY_LEN + NONCE_LEN]);
        wrap_nonce.copy_from_slice(&r[KEY_LEN + NONCE_LEN..]);
        Ok(Self {
            franking_key: Opening::from_bytes(k),
            nonce,
            wrap_nonce,
        })
    }
}

impl core::fmt::Debug for SealRandomness {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SealRandomness(<redacted>)")
    }
}

/// What a recipient gets from [`open`]: the plaintext and the opening to keep for reporting.
///
/// `Debug` prints the plaintext's length only.
#[derive(Clone)]
pub struct Opened {
    /// The message plaintext M.
    pub plaintext: Vec<u8>,
    /// The franking key K_f (keep it, with the envelope, context and stamp, to report later).
    pub opening: Opening,
}

impl core::fmt::Debug for Opened {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Opened")
            .field("plaintext_len", &self.plaintext.len())
            .field("opening", &self.opening)
            .finish()
    }
}

/// Seal `plaintext` for the recipient holding `session_key`, with fresh randomness.
///
/// `body_ad` is application associated data both ends know (e.g. a conversation id); it is not
/// carried in the envelope and must be passed to [`open`] and put into a report.
pub fn seal(
    suite: Suite,
    session_key: &SessionKey,
    body_ad: &[u8],
    plaintext: &[u8],
) -> Result<Envelope, Error> {
    seal_with(
        suite,
        session_key,
        body_ad,
        plaintext,
        &SealRandomness::generate()?,
    )
}

/// [`Error::MessageTooLong`] for a plaintext (or ciphertext) longer than [`MAX_PLAINTEXT_LEN`],
/// [`Error::Malformed`] for associated data longer than [`MAX_AD_LEN`]: such a message could never
/// be reported, so it is neither sealed nor shown.
fn check_limits(message_len: usize, body_ad: &[u8]) -> Result<(), Error> {
    if message_len > MAX_PLAINTEXT_LEN {
        return Err(Error::MessageTooLong {
            len: message_len as u64,
            max: MAX_PLAINTEXT_LEN as u64,
        });
    }
    if body_ad.len() > MAX_AD_LEN {
        return Err(Error::Malformed {
            what: "body associated data too long",
        });
    }
    Ok(())
}

/// [`Error::FrankingKeyIsSessionKey`] if `k_f` equals the session key (compared in constant time).
fn check_not_session_key(k_f: &[u8; KEY_LEN], session_key: &SessionKey) -> Result<(), Error> {
    if bool::from(k_f.ct_eq(session_key.expose_secret())) {
        Err(Error::FrankingKeyIsSessionKey)
    } else {
        Ok(())
    }
}

/// [`seal`] with caller-chosen randomness (deterministic; for test vectors only — reusing a
/// franking key or wrap nonce under one session key is a protocol violation, and the franking key
/// must not be the session key: [`Error::FrankingKeyIsSessionKey`]).
pub fn seal_with(
    suite: Suite,
    session_key: &SessionKey,
    body_ad: &[u8],
    plaintext: &[u8],
    randomness: &SealRandomness,
) -> Result<Envelope, Error> {
    check_limits(plaintext.len(), body_ad)?;
    check_not_session_key(randomness.franking_key.expose_secret(), session_key)?;
    seal_unchecked(suite, session_key, body_ad, plaintext, randomness)
}

/// The sealing computation without the input checks of [`seal_with`].
fn seal_unchecked(
    suite: Suite,
    session_key: &SessionKey,
    body_ad: &[u8],
    plaintext: &[u8],
    randomness: &SealRandomness,
) -> Result<Envelope, Error> {
    let a = body_associated_data(suite, body_ad);
    let mut ciphertext = plaintext.to_vec();
    let tag = suite.seal(
        randomness.franking_key.expose_secret(),
        &randomness.nonce,
        &a,
        &mut ciphertext,
    )?;
    let commitment = Commitment(tag);
    let a_w = wrap_associated_data(suite, &commitment);
    let mut wrapped_key = [0u8; WRAPPED_KEY_LEN];
    wrapped_key[..KEY_LEN].copy_from_slice(randomness.franking_key.expose_secret());
    let tag_w = session_key.cipher(suite).seal(
        &randomness.wrap_nonce,
        &a_w,
        &mut wrapped_key[..KEY_LEN],
    )?;
    wrapped_key[KEY_LEN..].copy_from_slice(&tag_w);
    Ok(Envelope {
        suite,
        nonce: randomness.nonce,
        ciphertext,
        commitment,
        wrap_nonce: randomness.wrap_nonce,
        wrapped_key,
    })
}

/// Open an envelope: refuse a ciphertext or `body_ad` over the limits a report accepts
/// ([`Error::MessageTooLong`], [`Error::Malformed`]: the message could never be reported), unwrap
/// K_f (fails if T was altered), refuse a K_f equal to the session key
/// ([`Error::FrankingKeyIsSessionKey`], compared in constant time: reporting it would reveal the
/// session key), then decrypt the body (fails unless T commits to it). Both authentication
/// failures are [`Error::AuthenticationFailed`]; nothing is returned unless every check passes.
pub fn open(
    envelope: &Envelope,
    session_key: &SessionKey,
    body_ad: &[u8],
) -> Result<Opened, Error> {
    check_limits(envelope.ciphertext.len(), body_ad)?;
    let suite = envelope.suite;
    let a_w = wrap_associated_data(suite, &envelope.commitment);
    let mut k_f = Zeroizing::new([0u8; KEY_LEN]);
    k_f.copy_from_slice(&envelope.wrapped_key[..KEY_LEN]);
    let mut tag_w = [0u8; TAG_LEN];
    tag_w.copy_from_slice(&envelope.wrapped_key[KEY_LEN..]);
    session_key
        .cipher(suite)
        .open(&envelope.wrap_nonce, &a_w, &mut *k_f, &tag_w)?;
    check_not_session_key(&k_f, session_key)?;
    let a = body_associated_data(suite, body_ad);
    let mut plaintext = envelope.ciphertext.clone();
    suite.open(
        &k_f,
        &envelope.nonce,
        &a,
        &mut plaintext,
        &envelope.commitment.0,
    )?;
    Ok(Opened {
        plaintext,
        opening: Opening(SecretBytes::from_zeroizing(k_f)),
    })
}

impl Envelope {
    /// Parse the JSON form with precise errors: [`Error::UnsupportedVersion`] for `"v"` ≠ 1,
    /// [`Error::UnsupportedSuite`] for an unknown suite, [`Error::MalformedJson`] for anything
    /// else.
    pub fn from_json(bytes: &[u8]) -> Result<Self, Error> {
        json::probe_envelope(bytes)?;
        Envelope::try_from(json::parse::<EnvelopeJson>("envelope", bytes)?)
    }

    /// The canonical binary encoding (type 0x01):
    /// `01 01 ‖ [suite:1] ‖ [N:12] ‖ [C] ‖ [T:32] ‖ [N_w:12] ‖ [W:64]`, each `[..]` a be32-prefixed field.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        wire::encode(ObjType::Envelope, |w| {
            w.u8(self.suite.id());
            w.bytes(&self.nonce);
            w.bytes(&self.ciphertext);
            w.bytes(&self.commitment.0);
            w.bytes(&self.wrap_nonce);
            w.bytes(&self.wrapped_key);
        })
    }

    /// Decode the canonical binary encoding. Unknown version → [`Error::UnsupportedVersion`],
    /// unknown suite → [`Error::UnsupportedSuite`], anything else off → [`Error::Malformed`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::object(bytes, ObjType::Envelope)?;
        let suite = Suite::from_id(r.u8("envelope suite")?)?;
        let nonce = r.fixed("envelope nonce")?;
        let ciphertext = r.bytes("envelope ciphertext")?;
        if ciphertext.len() > MAX_PLAINTEXT_LEN {
            return Err(Error::Malformed {
                what: "ciphertext too long",
            });
        }
        let ciphertext = ciphertext.to_vec();
        let commitment = Commitment(r.fixed("envelope commitment")?);
        let wrap_nonce = r.fixed("envelope wrap nonce")?;
        let wrapped_key = r.fixed("envelope wrapped key")?;
        r.finish()?;
        Ok(Envelope {
            suite,
            nonce,
            ciphertext,
            commitment,
            wrap_nonce,
            wrapped_key,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn randomness(franking_key: [u8; KEY_LEN]) -> SealRandomness {
        SealRandomness {
            franking_key: Opening::from_bytes(franking_key),
            nonce: [1; NONCE_LEN],
            wrap_nonce: [2; NONCE_LEN],
        }
    }

    /// A sender who picks K_f = session key: sealing refuses, and a recipient refuses to open the
    /// envelope such a sender made anyway (its report would hand the session key to the platform).
    #[test]
    fn franking_key_equal_to_session_key_is_refused() {
        let session = SessionKey::from_bytes([7; KEY_LEN]);
        for suite in [Suite::CtrHmacSha256, Suite::Aes256CtrBlake3] {
            assert_eq!(
                seal_with(suite, &session, b"ad", b"hi", &randomness([7; KEY_LEN])).unwrap_err(),
                Error::FrankingKeyIsSessionKey
            );
            let evil =
                seal_unchecked(suite, &session, b"ad", b"hi", &randomness([7; KEY_LEN])).unwrap();
            let err = open(&evil, &session, b"ad").unwrap_err();
            assert_eq!(err, Error::FrankingKeyIsSessionKey);
            assert_eq!(err.code(), "franking_key_is_session_key");
            // One differing byte: an ordinary franking key.
            let mut k = [7; KEY_LEN];
            k[KEY_LEN - 1] = 8;
            let fine = seal_with(suite, &session, b"ad", b"hi", &randomness(k)).unwrap();
            assert_eq!(open(&fine, &session, b"ad").unwrap().plaintext, b"hi");
        }
    }

    /// An `Envelope` built directly (its fields are public) with a ciphertext longer than
    /// `MAX_PLAINTEXT_LEN`, or opened with associated data longer than `MAX_AD_LEN`, is refused
    /// before anything is decrypted: the recipient would be shown a message it can never report.
    #[test]
    fn open_enforces_the_report_limits() {
        let session = SessionKey::from_bytes([7; KEY_LEN]);
        let mut env = seal(Suite::default(), &session, b"ad", b"hi").unwrap();
        assert_eq!(
            open(&env, &session, &vec![0; MAX_AD_LEN + 1]).unwrap_err(),
            Error::Malformed {
                what: "body associated data too long"
            }
        );
        let ad = vec![0; MAX_AD_LEN];
        let ok = seal(Suite::default(), &session, &ad, b"hi").unwrap();
        assert_eq!(open(&ok, &session, &ad).unwrap().plaintext, b"hi");
        // Zeroed pages are not touched: the check runs before any copy or decryption.
        env.ciphertext = vec![0; MAX_PLAINTEXT_LEN + 1];
        let err = open(&env, &session, b"ad").unwrap_err();
        assert_eq!(err.code(), "message_too_long");
    }
}
