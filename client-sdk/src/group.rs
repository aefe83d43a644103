//! Group conversations (rooms) with room stamps of constant size.
//!
//! The relay ([`RoomRelay`]) computes the member root of a room once per epoch, stamps each message
//! once with a room context that commits to the member set (its size does not depend on the room's
//! size), and hands every member its own [`MembershipProof`] with the delivery. Members
//! ([`GroupConversation`]) key the franking layer from the host protocol's group secret of the
//! epoch (e.g. an MLS exporter secret), open deliveries (checking their own membership proof) and
//! report with the proof, which the report server checks against the stamped root.
//!
//! ```
//! use client_sdk::group::{GroupConversation, RoomRelay};
//! use client_sdk::frank::{KeyId, KeyRing, ReportPolicy, StampKey, verify_report};
//! use client_sdk::{MessageContent, OpenChecks};
//!
//! let secret = b"MLS exporter secret of epoch 7, 32 bytes or more....";
//! let alice = GroupConversation::from_exporter_secret("room-1", 7, secret)?;
//! let bob = GroupConversation::from_exporter_secret("room-1", 7, secret)?;
//!
//! // The relay knows the room's members at epoch 7 and stamps once per message.
//! let members = vec!["alice".into(), "bob".into(), "carol".into()];
//! let relay = RoomRelay::new("room-1", 7, members)?;
//! let ring = KeyRing::new("example.net", StampKey::generate(KeyId(1), false)?, 0, 0);
//! let envelope = alice.seal(&MessageContent::text("hello room"))?;
//! let stamped = relay.stamp(&ring, envelope, "example.net", "alice", 1_700_000_000_000, "m-1")?;
//!
//! // Each member gets the same stamp and its own proof.
//! let to_bob = relay.deliver(&stamped, "bob")?;
//! let opened = bob.open(&to_bob, &OpenChecks::recipient("bob").sender("alice"))?;
//! let report = opened.report("bob", "spam", &[])?;
//! let verified = verify_report(report, &ring, &ReportPolicy::default(), 1_700_000_060_000)?;
//! assert_eq!(verified.context().room_id(), Some("room-1"));
//! # Ok::<(), client_sdk::Error>(())
//! ```

use franking_core::frank::merkle::MemberTree;
use franking_core::frank::{
    Context, Envelope, KeyRing, MembershipProof, RoomMembers, SessionKey, StampedEnvelope, Suite,
};
use zeroize::Zeroizing;

use crate::content::MessageContent;
use crate::messaging::{Conversation, OpenChecks, OpenedMessage};
use crate::{Error, Result};

/// HKDF-SHA-256 `info` label of [`GroupConversation::from_exporter_secret`]; followed by
/// `be64(epoch) ‖ be32(len(room)) ‖ room`.
pub const GROUP_KEY_INFO: &[u8] = b"franking/v1 client-sdk group session key\0";

/// One room at one epoch as the franking layer sees it: the room id (bound into every message as
/// associated data), the epoch and the epoch's session key.
#[derive(Clone, Debug)]
pub struct GroupConversation {
    epoch: u64,
    inner: Conversation,
}

impl GroupConversation {
    /// Derive the epoch's session key from the host protocol's group secret (e.g. an MLS exporter
    /// secret for this epoch, at least 16 bytes): HKDF-SHA-256 with no salt, the secret as input
    /// keying material and `info = GROUP_KEY_INFO ‖ be64(epoch) ‖ be32(len(room)) ‖ room`, so every
    /// (room, epoch) gets an independent key.
    pub fn from_exporter_secret(
        room: impl Into<String>,
        epoch: u64,
        secret: &[u8],
    ) -> Result<Self> {
        let room = room.into();
        if secret.len() < 16 {
            return Err(Error::InvalidKey {
                what: "group exporter secret",
                reason: "shorter than 16 bytes".into(),
            });
        }
        let room_len = u32::try_from(room.len()).map_err(|_| Error::InvalidKey {
            what: "room id",
            reason: "longer than 2^32 - 1 bytes".into(),
        })?;
        let info = [
            GROUP_KEY_INFO,
            &epoch.to_be_bytes(),
            &room_len.to_be_bytes(),
            room.as_bytes(),
        ]
        .concat();
        let mut key = Zeroizing::new([0u8; 32]);
        hkdf::Hkdf::<sha2::Sha256>::new(None, secret)
            .expand(&info, key.as_mut())
            .map_err(|_| Error::InvalidKey {
                what: "group exporter secret",
                reason: "HKDF expansion failed".into(),
            })?;
        Ok(Self {
            epoch,
            inner: Conversation::new(room, SessionKey::from_bytes(*key)),
        })
    }

    /// Use a different franking suite for messages this member seals.
    pub fn with_suite(mut self, suite: Suite) -> Self {
        self.inner = self.inner.with_suite(suite);
        self
    }

    /// The room id.
    pub fn room(&self) -> &str {
        self.inner.id()
    }

    /// The epoch this conversation's key belongs to.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Sender: seal `content` for the room. The relay stamps it once for every member.
    pub fn seal(&self, content: &MessageContent) -> Result<Envelope> {
        self.inner.seal(content)
    }

    /// Member: open a delivery. Refuses a context that is not a room context of this room
    /// ([`Error::NotForMe`]) or of another epoch (`membership_epoch_mismatch`), then runs every
    /// check of [`Conversation::open`], including `checks.me`'s membership proof against the
    /// stamped member root. The opened message keeps the proof for a later report.
    pub fn open(
        &self,
        delivered: &StampedEnvelope,
        checks: &OpenChecks<'_>,
    ) -> Result<OpenedMessage> {
        let ctx = &delivered.context;
        let members = ctx.members().ok_or(Error::NotForMe)?;
        if ctx.room_id() != Some(self.room()) {
            return Err(Error::NotForMe);
        }
        if members.epoch != self.epoch {
            return Err(Error::Core(franking_core::Error::MembershipEpochMismatch {
                proof: self.epoch,
                context: members.epoch,
            }));
        }
        self.inner.open(delivered, checks)
    }
}

/// The relay side of a room at one epoch: the member tree, the room context of each message and
/// each member's proof.
#[derive(Clone, Debug)]
pub struct RoomRelay {
    room: String,
    epoch: u64,
    tree: MemberTree,
    members: RoomMembers,
}

impl RoomRelay {
    /// The room `room` at `epoch` with `members` (any order; a duplicate is
    /// `duplicate_member`, an empty set or an invalid id `malformed`). Costs O(n) once per epoch.
    pub fn new(room: impl Into<String>, epoch: u64, members: Vec<String>) -> Result<Self> {
        let tree = MemberTree::new(members)?;
        let members = RoomMembers::of(&tree, epoch)?;
        Ok(Self {
            room: room.into(),
            epoch,
            tree,
            members,
        })
    }

    /// What the room context commits to (epoch, member count, member root).
    pub fn members(&self) -> RoomMembers {
        self.members
    }

    /// The room id.
    pub fn room(&self) -> &str {
        &self.room
    }

    /// The epoch.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The room context of one message (O(1)); the sender must be a member (`not_room_member`).
    pub fn context(
        &self,
        network: &str,
        sender: &str,
        timestamp_ms: u64,
        message_id: &str,
    ) -> Result<Context> {
        if self.tree.index_of(sender).is_none() {
            return Err(Error::Core(franking_core::Error::NotRoomMember));
        }
        Ok(Context::room_members(
            network,
            sender,
            self.room.as_str(),
            self.members,
            timestamp_ms,
            message_id,
        )?)
    }

    /// Stamp `envelope` once for the whole room (no proof attached: see [`RoomRelay::deliver`]).
    pub fn stamp(
        &self,
        ring: &KeyRing,
        envelope: Envelope,
        network: &str,
        sender: &str,
        timestamp_ms: u64,
        message_id: &str,
    ) -> Result<StampedEnvelope> {
        let ctx = self.context(network, sender, timestamp_ms, message_id)?;
        Ok(StampedEnvelope::stamp(ring, envelope, ctx)?)
    }

    /// `member`'s membership proof at this epoch (O(log n); `not_room_member` for a non-member).
    pub fn proof_for(&self, member: &str) -> Result<MembershipProof> {
        Ok(MembershipProof::for_member(&self.tree, self.epoch, member)?)
    }

    /// The delivery of `stamped` (a message of this room at this epoch) to `member`: the same
    /// stamp with `member`'s proof attached. Refuses the sender and non-members.
    pub fn deliver(&self, stamped: &StampedEnvelope, member: &str) -> Result<StampedEnvelope> {
        if stamped.context.members() != Some(&self.members)
            || stamped.context.room_id() != Some(self.room.as_str())
        {
            return Err(Error::Core(franking_core::Error::NotSameConversation));
        }
        if stamped.context.sender() == member {
            return Err(Error::Core(franking_core::Error::ReporterNotRecipient));
        }
        Ok(stamped.clone().with_membership(self.proof_for(member)?))
    }
}
