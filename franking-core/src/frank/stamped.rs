//! The envelope as a relay delivers it: the sender's envelope, the platform context and the stamp.

use crate::Error;
use crate::frank::context::Context;
use crate::frank::envelope::Envelope;
use crate::frank::json;
use crate::frank::room::MembershipProof;
use crate::frank::stamp::{KeyRing, Stamp};

/// An envelope as the relay delivers it: the sender's envelope, the context the platform asserts,
/// and the platform's stamp over (commitment, context). Shared by clients (which open it) and the
/// report server's relay (which makes it).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StampedEnvelope {
    /// The sender's franked envelope.
    pub envelope: Envelope,
    /// The platform-asserted context.
    pub context: Context,
    /// The platform's stamp.
    pub stamp: Stamp,
    /// For a room context: the delivering member's proof of membership, issued by the relay with
    /// this delivery (the stamp itself is the same for every member). Omitted otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub membership: Option<MembershipProof>,
}

impl StampedEnvelope {
    /// Relay side: stamp `envelope`'s commitment in `context` with the ring's current key.
    pub fn stamp(ring: &KeyRing, envelope: Envelope, context: Context) -> Result<Self, Error> {
        let stamp = ring.stamp(envelope.suite, &envelope.commitment, &context)?;
        Ok(Self {
            envelope,
            context,
            stamp,
            membership: None,
        })
    }

    /// This delivery with `member`'s proof attached (relay side, for room contexts).
    pub fn with_membership(mut self, membership: MembershipProof) -> Self {
        self.membership = Some(membership);
        self
    }

    /// Parse the JSON form with precise errors: the envelope's unknown version or suite first
    /// ([`Error::UnsupportedVersion`], [`Error::UnsupportedSuite`]), then
    /// [`Error::MalformedJson`] for anything else.
    pub fn from_json(bytes: &[u8]) -> Result<Self, Error> {
        json::probe_stamped_envelope(bytes)?;
        json::parse("stamped envelope", bytes)
    }
}
