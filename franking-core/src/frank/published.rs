//! Published stamp-verification keys: the public record of one network's signing stamping key,
//! and [`verify_published`], the one way to check a signed stamp without the network's HMAC keys
//! (a recipient, another network of a federation).
//!
//! ```text
//! PublishedKey = {network, key_id, public_key (Ed25519, 32 B), created_at_ms, [retired_at_ms]}
//! verify_published: key of (ctx.network, stamp.key_id) present;
//!                   retired ⇒ ctx.timestamp_ms ≤ retired_at_ms + max_clock_skew_ms;
//!                   Ed25519 signature (strict) over stamp_input present and valid
//! ```

use ed25519_dalek::VerifyingKey;

use crate::Error;
use crate::frank::constants::KEY_LEN;
use crate::frank::context::{Context, MAX_ID_LEN};
use crate::frank::envelope::Commitment;
use crate::frank::json;
use crate::frank::stamp::{KeyId, Stamp, check_dated_before};
use crate::frank::suite::Suite;
use crate::frank::wire;

/// The public record of one signing stamping key, as a network publishes it (e.g. at a well-known
/// endpoint) for others to verify its signed stamps. Made by [`crate::frank::KeyRing::published_keys`].
///
/// JSON: `{"network", "key_id", "public_key" (base64url, 32 bytes), "created_at_ms",
/// "retired_at_ms"}`; `retired_at_ms` is omitted while the key is current (never `null`), unknown
/// fields are refused, the public key must be a valid Ed25519 point.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "PublishedKeyJson", into = "PublishedKeyJson")]
pub struct PublishedKey {
    /// The network whose contexts the key stamps.
    pub network: String,
    /// The key's id within the network.
    pub key_id: KeyId,
    /// The Ed25519 key that checks the stamps' signatures.
    pub public_key: VerifyingKey,
    /// When the key became current (ms since the epoch).
    pub created_at_ms: u64,
    /// When the key was retired (ms since the epoch); it made no stamps after that. `None` while
    /// it is current.
    pub retired_at_ms: Option<u64>,
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PublishedKeyJson {
    network: String,
    key_id: KeyId,
    #[serde(with = "wire::b64::array")]
    public_key: [u8; KEY_LEN],
    created_at_ms: u64,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "wire::present"
    )]
    retired_at_ms: Option<u64>,
}

impl TryFrom<PublishedKeyJson> for PublishedKey {
    type Error = Error;
    fn try_from(j: PublishedKeyJson) -> Result<Self, Error> {
        if j.network.is_empty() || j.network.len() > MAX_ID_LEN {
            return Err(Error::Malformed {
                what: "published key network",
            });
        }
        if j.retired_at_ms.is_some_and(|r| r < j.created_at_ms) {
            return Err(Error::Malformed {
                what: "published key retired before its creation",
            });
        }
        let public_key = VerifyingKey::from_bytes(&j.public_key).map_err(|_| Error::Malformed {
            what: "published key is not an Ed25519 public key",
        })?;
        Ok(Self {
            network: j.network,
            key_id: j.key_id,
            public_key,
            created_at_ms: j.created_at_ms,
            retired_at_ms: j.retired_at_ms,
        })
    }
}

impl From<PublishedKey> for PublishedKeyJson {
    fn from(k: PublishedKey) -> Self {
        Self {
            network: k.network,
            key_id: k.key_id,
            public_key: k.public_key.to_bytes(),
            created_at_ms: k.created_at_ms,
            retired_at_ms: k.retired_at_ms,
        }
    }
}

impl PublishedKey {
    /// Parse a JSON array of published keys: [`Error::JsonNull`] for an explicit `null`,
    /// [`Error::MalformedJson`] for anything else off, [`Error::DuplicateKeyId`] if two entries
    /// name the same (network, key id).
    pub fn list_from_json(bytes: &[u8]) -> Result<Vec<Self>, Error> {
        json::check_no_null("published keys", bytes)?;
        let keys: Vec<Self> = json::parse("published keys", bytes)?;
        for (i, k) in keys.iter().enumerate() {
            if keys[..i]
                .iter()
                .any(|o| o.network == k.network && o.key_id == k.key_id)
            {
                return Err(Error::DuplicateKeyId(k.key_id.0));
            }
        }
        Ok(keys)
    }
}

/// Verify a signed stamp with a network's published keys, in this order: some key of the
/// context's network is published ([`Error::WrongNetwork`]); the stamp's key id is among them
/// ([`Error::UnknownKeyId`]); a retired key's stamp is dated no later than its retirement plus
/// `max_clock_skew_ms` ([`Error::StampAfterRetirement`]); the stamp carries a signature
/// ([`Error::SignatureRequired`]) that verifies (strict Ed25519) over [`crate::frank::stamp_input`]
/// ([`Error::BadStamp`]). The HMAC cannot be checked without the network's secret key and is not.
pub fn verify_published(
    keys: &[PublishedKey],
    stamp: &Stamp,
    suite: Suite,
    commitment: &Commitment,
    ctx: &Context,
    max_clock_skew_ms: u64,
) -> Result<(), Error> {
    let mut of_network = keys
        .iter()
        .filter(|k| k.network == ctx.network())
        .peekable();
    if of_network.peek().is_none() {
        return Err(Error::WrongNetwork);
    }
    let key = of_network
        .find(|k| k.key_id == stamp.key_id)
        .ok_or(Error::UnknownKeyId(stamp.key_id.0))?;
    if let Some(retired_at) = key.retired_at_ms {
        check_dated_before(ctx, key.key_id, retired_at, max_clock_skew_ms)?;
    }
    stamp.verify_signature(&key.public_key, suite, commitment, ctx)
}
