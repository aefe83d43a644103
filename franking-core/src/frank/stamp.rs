//! Platform stamps: HMAC-SHA-256 (and optionally Ed25519) over (commitment, context), with a key
//! ring that rotates stamping keys by key id.
//!
//! ```text
//! stamp_input = STAMP_LABEL ‖ be32(key_id) ‖ version:u8 ‖ suite:u8 ‖ T[32] ‖ canonical(ctx)
//! mac         = HMAC-SHA-256(K_p[key_id], stamp_input)
//! signature   = Ed25519-Sign(sk[key_id], stamp_input)          (optional, for other networks)
//! ```

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use hmac::{KeyInit, Mac};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::Error;
use crate::frank::VERSION;
use crate::frank::constants::{KEY_LEN, SIGNATURE_LEN, STAMP_LABEL_LEN, STAMP_MAC_LEN};
use crate::frank::context::Context;
use crate::frank::envelope::Commitment;
use crate::frank::published::PublishedKey;
use crate::frank::secret::SecretBytes;
use crate::frank::suite::Suite;
use crate::frank::wire::{self, ObjType, Reader, Sink};
use crate::util::{b64_encode, random_array};

/// Domain-separation label that starts every stamp input (18 bytes).
pub const STAMP_LABEL: &[u8; STAMP_LABEL_LEN] = b"franking/v1 stamp\0";

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// A stamping key's id (chosen by the platform; unique within a key ring).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct KeyId(pub u32);

/// One stamping key: a 32-byte HMAC key and, optionally, an Ed25519 signing key.
///
/// Secret material is zeroized on drop and never printed by `Debug`.
#[derive(Clone)]
pub struct StampKey {
    id: KeyId,
    mac_key: SecretBytes<KEY_LEN>,
    mac: HmacSha256,
    signing: Option<SigningKey>,
}

impl core::fmt::Debug for StampKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StampKey")
            .field("id", &self.id)
            .field("signs", &self.signing.is_some())
            .finish_non_exhaustive()
    }
}

fn hmac_with(key: &[u8; KEY_LEN]) -> HmacSha256 {
    // HMAC zero-pads keys shorter than the 64-byte block (RFC 2104 §2): the same function.
    let mut block = Zeroizing::new(aead::array::Array::<u8, aead::consts::U64>::default());
    block[..KEY_LEN].copy_from_slice(key);
    <HmacSha256 as KeyInit>::new(&block)
}

impl StampKey {
    /// A key from stored secret bytes: the HMAC key and, if the key also signs, the Ed25519 seed.
    pub fn from_bytes(
        id: KeyId,
        mac_key: [u8; KEY_LEN],
        signing_seed: Option<[u8; KEY_LEN]>,
    ) -> Self {
        Self::from_secrets(
            id,
            SecretBytes::from_bytes(mac_key),
            signing_seed.map(Zeroizing::new),
        )
    }

    fn from_secrets(
        id: KeyId,
        mac_key: SecretBytes<KEY_LEN>,
        signing_seed: Option<Zeroizing<[u8; KEY_LEN]>>,
    ) -> Self {
        Self {
            id,
            mac: hmac_with(mac_key.expose()),
            mac_key,
            signing: signing_seed.map(|seed| SigningKey::from_bytes(&seed)),
        }
    }

    /// A fresh key from the operating system's CSPRNG; `with_signature` adds an Ed25519 key.
    pub fn generate(id: KeyId, with_signature: bool) -> Result<Self, Error> {
        let seed = if with_signature {
            Some(random_array::<KEY_LEN>()?)
        } else {
            None
        };
        Ok(Self::from_secrets(id, SecretBytes::generate()?, seed))
    }

    /// The key id.
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// The HMAC key bytes, for storage. Secret.
    pub fn expose_mac_key(&self) -> &[u8; KEY_LEN] {
        self.mac_key.expose()
    }

    /// The Ed25519 seed, for storage, if this key signs. Secret.
    pub fn expose_signing_seed(&self) -> Option<Zeroizing<[u8; KEY_LEN]>> {
        self.signing.as_ref().map(|s| Zeroizing::new(s.to_bytes()))
    }

    /// The Ed25519 public key other networks use to check this key's signatures, if it signs.
    pub fn verifying_key(&self) -> Option<VerifyingKey> {
        self.signing.as_ref().map(SigningKey::verifying_key)
    }

    fn mac_over(
        &self,
        suite: Suite,
        commitment: &Commitment,
        ctx: &Context,
    ) -> Result<[u8; STAMP_MAC_LEN], Error> {
        let mut mac = self.mac.clone();
        write_stamp_prefix(&mut mac, self.id, suite, commitment);
        ctx.encode_into(&mut mac)?;
        Ok(mac.finalize().into_bytes().into())
    }

    /// Stamp a commitment in a context with this key (HMAC always, Ed25519 if the key signs).
    pub fn stamp(
        &self,
        suite: Suite,
        commitment: &Commitment,
        ctx: &Context,
    ) -> Result<Stamp, Error> {
        let mac = self.mac_over(suite, commitment, ctx)?;
        let signature = match &self.signing {
            Some(sk) => Some(
                sk.sign(&stamp_input(self.id, suite, commitment, ctx)?)
                    .to_bytes(),
            ),
            None => None,
        };
        Ok(Stamp {
            key_id: self.id,
            mac,
            signature,
        })
    }

    /// Verify a stamp made with this key: the HMAC in constant time ([`Error::BadStamp`]), then the
    /// signature rule: a signing key's stamp must carry a valid signature
    /// ([`Error::SignatureRequired`], [`Error::BadStamp`]), an HMAC-only key's stamp none
    /// ([`Error::UnexpectedSignature`]). So each stamp has exactly one valid encoding.
    /// Crate-private: callers verify through [`KeyRing::verify`], which also checks the network
    /// and the key's retirement.
    pub(crate) fn verify(
        &self,
        stamp: &Stamp,
        suite: Suite,
        commitment: &Commitment,
        ctx: &Context,
    ) -> Result<(), Error> {
        if stamp.key_id != self.id {
            return Err(Error::BadStamp);
        }
        let expected = self.mac_over(suite, commitment, ctx)?;
        if !bool::from(expected.ct_eq(&stamp.mac)) {
            return Err(Error::BadStamp);
        }
        match (self.verifying_key(), stamp.signature.is_some()) {
            (Some(vk), true) => stamp.verify_signature(&vk, suite, commitment, ctx),
            (Some(_), false) => Err(Error::SignatureRequired),
            (None, true) => Err(Error::UnexpectedSignature),
            (None, false) => Ok(()),
        }
    }
}

fn write_stamp_prefix<S: Sink>(sink: &mut S, id: KeyId, suite: Suite, commitment: &Commitment) {
    sink.put(STAMP_LABEL);
    sink.put(&id.0.to_be_bytes());
    sink.put(&[VERSION, suite.id()]);
    sink.put(commitment.as_bytes());
}

/// The exact bytes a stamp authenticates: `STAMP_LABEL ‖ be32(key_id) ‖ version ‖ suite ‖ T ‖
/// canonical(ctx)`.
pub fn stamp_input(
    key_id: KeyId,
    suite: Suite,
    commitment: &Commitment,
    ctx: &Context,
) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    write_stamp_prefix(&mut out, key_id, suite, commitment);
    ctx.encode_into(&mut out)?;
    Ok(out)
}

/// A platform stamp: the key id, the HMAC tag and an optional Ed25519 signature over
/// [`stamp_input`].
///
/// HMAC-only stamps keep unreported messages deniable (only the platform can check them); a
/// signature makes the stamp verifiable by anyone holding the network's public key, which gives up
/// that deniability — enable it only for federation.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stamp {
    /// Which stamping key made this stamp.
    pub key_id: KeyId,
    /// HMAC-SHA-256 over the stamp input.
    #[serde(with = "wire::b64::array")]
    pub mac: [u8; STAMP_MAC_LEN],
    /// Ed25519 signature over the stamp input, if the key signs.
    #[serde(
        default,
        with = "wire::b64::opt_array",
        skip_serializing_if = "Option::is_none"
    )]
    pub signature: Option<[u8; SIGNATURE_LEN]>,
}

impl core::fmt::Debug for Stamp {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Stamp")
            .field("key_id", &self.key_id)
            .field("mac", &b64_encode(&self.mac))
            .field("signed", &self.signature.is_some())
            .finish()
    }
}

impl Stamp {
    /// Verify the Ed25519 signature with a network's public key: [`Error::SignatureRequired`] if
    /// there is none, [`Error::BadStamp`] if it is invalid. Uses strict verification (no malleable
    /// signatures). Crate-private: the public paths ([`KeyRing::verify`],
    /// [`crate::frank::verify_published`]) also check the network and the key's retirement.
    pub(crate) fn verify_signature(
        &self,
        verifying_key: &VerifyingKey,
        suite: Suite,
        commitment: &Commitment,
        ctx: &Context,
    ) -> Result<(), Error> {
        let sig = self.signature.as_ref().ok_or(Error::SignatureRequired)?;
        let sig = ed25519_dalek::Signature::from_bytes(sig);
        let msg = stamp_input(self.key_id, suite, commitment, ctx)?;
        verifying_key
            .verify_strict(&msg, &sig)
            .map_err(|_| Error::BadStamp)
    }

    /// The canonical binary encoding (type 0x03): `01 03 ‖ [key_id:4] ‖ [mac:32] ‖ [sig:0|64]`.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        wire::encode(ObjType::Stamp, |w| {
            w.u32(self.key_id.0);
            w.bytes(&self.mac);
            w.bytes(self.signature.as_ref().map_or(&[][..], |s| &s[..]));
        })
    }

    /// Decode the canonical binary encoding.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::object(bytes, ObjType::Stamp)?;
        let key_id = KeyId(r.u32("stamp key id")?);
        let mac = r.fixed("stamp mac")?;
        let sig = r.bytes("stamp signature")?;
        r.finish()?;
        let signature = match sig.len() {
            0 => None,
            SIGNATURE_LEN => {
                let mut s = [0u8; SIGNATURE_LEN];
                s.copy_from_slice(sig);
                Some(s)
            }
            _ => {
                return Err(Error::Malformed {
                    what: "stamp signature",
                });
            }
        };
        Ok(Stamp {
            key_id,
            mac,
            signature,
        })
    }
}

/// One key of a [`KeyRing`] with its lifetime (ms since the epoch).
#[derive(Clone, Debug)]
struct RingKey {
    key: StampKey,
    created_at_ms: u64,
    retired_at_ms: Option<u64>,
}

impl RingKey {
    fn published(&self, network: &str) -> Option<PublishedKey> {
        Some(PublishedKey {
            network: network.to_owned(),
            key_id: self.key.id,
            public_key: self.key.verifying_key()?,
            created_at_ms: self.created_at_ms,
            retired_at_ms: self.retired_at_ms,
        })
    }
}

/// One network's stamping keys: one current key that makes new stamps, and retired keys that still
/// verify, for `grace_ms` after their retirement, the stamps they made *before* it (set the grace
/// period to at least the reporting window, so every message stamped before a rotation stays
/// reportable for its full window).
#[derive(Clone, Debug)]
pub struct KeyRing {
    network: String,
    current: RingKey,
    /// Retired keys (each with `retired_at_ms` set).
    retired: Vec<RingKey>,
    grace_ms: u64,
}

impl KeyRing {
    /// The ring of `network` holding `current` (created at `created_at_ms`), whose retired keys
    /// verify for `grace_ms` after retirement.
    pub fn new(
        network: impl Into<String>,
        current: StampKey,
        created_at_ms: u64,
        grace_ms: u64,
    ) -> Self {
        Self {
            network: network.into(),
            current: RingKey {
                key: current,
                created_at_ms,
                retired_at_ms: None,
            },
            retired: Vec::new(),
            grace_ms,
        }
    }

    /// The network whose contexts this ring stamps and verifies.
    pub fn network(&self) -> &str {
        &self.network
    }

    /// How long a retired key still verifies, in milliseconds.
    pub fn grace_ms(&self) -> u64 {
        self.grace_ms
    }

    /// The key new stamps are made with.
    pub fn current(&self) -> &StampKey {
        &self.current.key
    }

    fn contains(&self, id: KeyId) -> bool {
        self.current.key.id == id || self.retired.iter().any(|k| k.key.id == id)
    }

    /// Make `next` the current key (created at `now_ms`); the previous current key is retired at
    /// `now_ms`. Fails with [`Error::DuplicateKeyId`] if the ring already holds `next`'s id.
    pub fn rotate(&mut self, next: StampKey, now_ms: u64) -> Result<(), Error> {
        if self.contains(next.id) {
            return Err(Error::DuplicateKeyId(next.id.0));
        }
        let next = RingKey {
            key: next,
            created_at_ms: now_ms,
            retired_at_ms: None,
        };
        let mut old = core::mem::replace(&mut self.current, next);
        old.retired_at_ms = Some(now_ms);
        self.retired.push(old);
        Ok(())
    }

    /// Add a key created at `created_at_ms` and retired at `retired_at_ms` (e.g. when loading a
    /// ring from storage).
    pub fn insert_retired(
        &mut self,
        key: StampKey,
        created_at_ms: u64,
        retired_at_ms: u64,
    ) -> Result<(), Error> {
        if self.contains(key.id) {
            return Err(Error::DuplicateKeyId(key.id.0));
        }
        self.retired.push(RingKey {
            key,
            created_at_ms,
            retired_at_ms: Some(retired_at_ms),
        });
        Ok(())
    }

    /// Drop retired keys whose grace period ended before `now_ms` (their stamps then fail with
    /// [`Error::UnknownKeyId`] instead of [`Error::KeyRetired`]).
    pub fn prune(&mut self, now_ms: u64) {
        let grace = self.grace_ms;
        self.retired.retain(|k| {
            k.retired_at_ms
                .is_some_and(|r| now_ms <= r.saturating_add(grace))
        });
    }

    /// The published record of every signing key in the ring (current and retired), for other
    /// networks to verify this network's signed stamps with [`crate::frank::verify_published`].
    pub fn published_keys(&self) -> Vec<PublishedKey> {
        core::iter::once(&self.current)
            .chain(&self.retired)
            .filter_map(|k| k.published(&self.network))
            .collect()
    }

    /// Stamp with the current key.
    pub fn stamp(
        &self,
        suite: Suite,
        commitment: &Commitment,
        ctx: &Context,
    ) -> Result<Stamp, Error> {
        self.current.key.stamp(suite, commitment, ctx)
    }

    /// Verify a stamp at time `now_ms`, in this order: the context's network is the ring's
    /// ([`Error::WrongNetwork`]); the key is in the ring ([`Error::UnknownKeyId`]) and, if retired,
    /// inside its grace period at `now_ms` ([`Error::KeyRetired`]) and the context is dated no
    /// later than its retirement plus `max_clock_skew_ms` ([`Error::StampAfterRetirement`]); then
    /// the HMAC in constant time ([`Error::BadStamp`]) and the signature rule of the key
    /// ([`Error::SignatureRequired`], [`Error::UnexpectedSignature`], [`Error::BadStamp`]).
    pub fn verify(
        &self,
        stamp: &Stamp,
        suite: Suite,
        commitment: &Commitment,
        ctx: &Context,
        now_ms: u64,
        max_clock_skew_ms: u64,
    ) -> Result<(), Error> {
        if ctx.network() != self.network {
            return Err(Error::WrongNetwork);
        }
        let id = stamp.key_id;
        let k = core::iter::once(&self.current)
            .chain(&self.retired)
            .find(|k| k.key.id == id)
            .ok_or(Error::UnknownKeyId(id.0))?;
        if let Some(retired_at) = k.retired_at_ms {
            if now_ms > retired_at.saturating_add(self.grace_ms) {
                return Err(Error::KeyRetired(id.0));
            }
            check_dated_before(ctx, id, retired_at, max_clock_skew_ms)?;
        }
        k.key.verify(stamp, suite, commitment, ctx)
    }
}

/// [`Error::StampAfterRetirement`] unless `ctx` is dated no later than `retired_at_ms` plus the
/// allowed clock skew.
pub(crate) fn check_dated_before(
    ctx: &Context,
    id: KeyId,
    retired_at_ms: u64,
    max_clock_skew_ms: u64,
) -> Result<(), Error> {
    if ctx.timestamp_ms() > retired_at_ms.saturating_add(max_clock_skew_ms) {
        Err(Error::StampAfterRetirement(id.0))
    } else {
        Ok(())
    }
}
