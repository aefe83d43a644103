//! The platform-asserted delivery context that a stamp binds to a commitment.

use crate::Error;
use crate::frank::room::RoomMembers;
use crate::frank::wire::{ObjType, Reader, Sink, Writer};

/// Longest identifier (network, user, room, message id) in bytes.
pub const MAX_ID_LEN: usize = 1024;
/// Most recipients one context may name.
pub const MAX_RECIPIENTS: usize = 10_000;

/// Platform context: who sent what to whom, when, on which network.
///
/// Asserted by the platform relay (never by a client) and bound to the commitment by the stamp.
/// Invariants, checked by every constructor and decoder: every identifier is non-empty UTF-8 of at
/// most [`MAX_ID_LEN`] bytes; there is at least one recipient and at most [`MAX_RECIPIENTS`];
/// recipients are sorted (bytewise) without duplicates and never include the sender. A relay can
/// stamp one context per delivery (`recipients = [that user]`, with `room` set for group chats) or one
/// per message naming every member; or, for rooms of any size, commit to the member set
/// ([`Context::room_members`], a room context of constant size: see [`crate::frank::RoomMembers`]),
/// and then the recipient list is empty.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "ContextJson", into = "ContextJson")]
pub struct Context {
    network: String,
    sender: String,
    room: Option<String>,
    recipients: Vec<String>,
    members: Option<RoomMembers>,
    timestamp_ms: u64,
    message_id: String,
}

/// JSON mirror of [`Context`], validated on the way in.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ContextJson {
    network: String,
    sender: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::frank::wire::present"
    )]
    room: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    recipients: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::frank::wire::present"
    )]
    members: Option<RoomMembers>,
    timestamp_ms: u64,
    message_id: String,
}

impl TryFrom<ContextJson> for Context {
    type Error = Error;
    fn try_from(j: ContextJson) -> Result<Self, Error> {
        let c = Context {
            network: j.network,
            sender: j.sender,
            room: j.room,
            recipients: j.recipients,
            members: j.members,
            timestamp_ms: j.timestamp_ms,
            message_id: j.message_id,
        };
        c.check()?;
        Ok(c)
    }
}

impl From<Context> for ContextJson {
    fn from(c: Context) -> Self {
        ContextJson {
            network: c.network,
            sender: c.sender,
            room: c.room,
            recipients: c.recipients,
            members: c.members,
            timestamp_ms: c.timestamp_ms,
            message_id: c.message_id,
        }
    }
}

pub(crate) fn check_id(id: &str, what: &'static str) -> Result<(), Error> {
    if id.is_empty() || id.len() > MAX_ID_LEN {
        Err(Error::Malformed { what })
    } else {
        Ok(())
    }
}

impl Context {
    /// A context for a one-to-one message from `sender` to `recipient`.
    pub fn direct(
        network: impl Into<String>,
        sender: impl Into<String>,
        recipient: impl Into<String>,
        timestamp_ms: u64,
        message_id: impl Into<String>,
    ) -> Result<Self, Error> {
        Self::new(
            network,
            sender,
            None,
            vec![recipient.into()],
            timestamp_ms,
            message_id,
        )
    }

    /// A context for a message to `room`, delivered to `recipients` (sorted, deduplicated, and the
    /// sender removed here; use one recipient per delivery or the full member list).
    pub fn room(
        network: impl Into<String>,
        sender: impl Into<String>,
        room: impl Into<String>,
        recipients: Vec<String>,
        timestamp_ms: u64,
        message_id: impl Into<String>,
    ) -> Result<Self, Error> {
        Self::new(
            network,
            sender,
            Some(room.into()),
            recipients,
            timestamp_ms,
            message_id,
        )
    }

    /// The general constructor: recipients are sorted, deduplicated and the sender is removed, then
    /// every invariant is checked.
    pub fn new(
        network: impl Into<String>,
        sender: impl Into<String>,
        room: Option<String>,
        mut recipients: Vec<String>,
        timestamp_ms: u64,
        message_id: impl Into<String>,
    ) -> Result<Self, Error> {
        let sender = sender.into();
        recipients.sort_unstable();
        recipients.dedup();
        recipients.retain(|r| *r != sender);
        let c = Context {
            network: network.into(),
            sender,
            room,
            recipients,
            members: None,
            timestamp_ms,
            message_id: message_id.into(),
        };
        c.check()?;
        Ok(c)
    }

    /// A room context of constant size: a message to `room` whose members (at the epoch and with
    /// the root and count in `members`) are committed to, not listed. Each member proves
    /// membership with a [`crate::frank::MembershipProof`].
    pub fn room_members(
        network: impl Into<String>,
        sender: impl Into<String>,
        room: impl Into<String>,
        members: RoomMembers,
        timestamp_ms: u64,
        message_id: impl Into<String>,
    ) -> Result<Self, Error> {
        let c = Context {
            network: network.into(),
            sender: sender.into(),
            room: Some(room.into()),
            recipients: Vec::new(),
            members: Some(members),
            timestamp_ms,
            message_id: message_id.into(),
        };
        c.check()?;
        Ok(c)
    }

    /// Check every invariant (see the type's docs).
    fn check(&self) -> Result<(), Error> {
        check_id(&self.network, "context network")?;
        check_id(&self.sender, "context sender")?;
        if let Some(room) = &self.room {
            check_id(room, "context room")?;
        }
        check_id(&self.message_id, "context message id")?;
        if let Some(members) = &self.members {
            if self.room.is_none() {
                return Err(Error::Malformed {
                    what: "room context without a room id",
                });
            }
            if !self.recipients.is_empty() {
                return Err(Error::Malformed {
                    what: "room context with a recipient list",
                });
            }
            return members.check();
        }
        if self.recipients.is_empty() || self.recipients.len() > MAX_RECIPIENTS {
            return Err(Error::Malformed {
                what: "context recipient count",
            });
        }
        for r in &self.recipients {
            check_id(r, "context recipient")?;
            if *r == self.sender {
                return Err(Error::Malformed {
                    what: "context sender listed as recipient",
                });
            }
        }
        if !self.recipients.windows(2).all(|w| w[0] < w[1]) {
            return Err(Error::Malformed {
                what: "context recipients not sorted and unique",
            });
        }
        Ok(())
    }

    /// The network (platform or federation member) that asserted this context.
    pub fn network(&self) -> &str {
        &self.network
    }

    /// The sending user's id.
    pub fn sender(&self) -> &str {
        &self.sender
    }

    /// The room (group conversation) id, if the message went to a room.
    pub fn room_id(&self) -> Option<&str> {
        self.room.as_deref()
    }

    /// The committed member set of a room context (`None` for a listed context).
    pub fn members(&self) -> Option<&RoomMembers> {
        self.members.as_ref()
    }

    /// The recipients this context names (sorted, unique, never the sender; empty for a room
    /// context, whose members are committed to instead: see [`Context::members`]).
    pub fn recipients(&self) -> &[String] {
        &self.recipients
    }

    /// Platform timestamp of the message, in milliseconds since the Unix epoch.
    pub fn timestamp_ms(&self) -> u64 {
        self.timestamp_ms
    }

    /// The platform's message id.
    pub fn message_id(&self) -> &str {
        &self.message_id
    }

    /// Whether `user` is one of the recipients.
    pub fn is_recipient(&self, user: &str) -> bool {
        self.recipients
            .binary_search_by(|r| r.as_str().cmp(user))
            .is_ok()
    }

    /// Whether `user` sent or received this message.
    pub fn is_participant(&self, user: &str) -> bool {
        self.sender == user || self.is_recipient(user)
    }

    /// Whether `other` belongs to the same conversation: same network and, for rooms, the same room;
    /// for direct messages (no room), the same set of participants (sender ∪ recipients).
    pub fn same_conversation(&self, other: &Context) -> bool {
        if self.network != other.network || self.room != other.room {
            return false;
        }
        if self.room.is_some() {
            return true;
        }
        let mut a: Vec<&str> = self.recipients.iter().map(String::as_str).collect();
        a.push(&self.sender);
        a.sort_unstable();
        let mut b: Vec<&str> = other.recipients.iter().map(String::as_str).collect();
        b.push(&other.sender);
        b.sort_unstable();
        a == b
    }

    /// Write the canonical encoding (type 0x02, or 0x06 for a room context) into `sink`.
    pub(crate) fn encode_into<S: Sink>(&self, sink: &mut S) -> Result<(), Error> {
        if let Some(members) = &self.members {
            let mut w = Writer::new(sink, ObjType::RoomContext);
            w.bytes(self.network.as_bytes());
            w.bytes(self.sender.as_bytes());
            w.bytes(self.room.as_deref().unwrap_or("").as_bytes());
            w.u64(members.epoch);
            w.u32(members.count);
            w.bytes(&members.root);
            w.u64(self.timestamp_ms);
            w.bytes(self.message_id.as_bytes());
            return w.finish();
        }
        let mut w = Writer::new(sink, ObjType::Context);
        w.bytes(self.network.as_bytes());
        w.bytes(self.sender.as_bytes());
        w.bytes(self.room.as_deref().unwrap_or("").as_bytes());
        w.list(self.recipients.iter().map(String::as_bytes));
        w.u64(self.timestamp_ms);
        w.bytes(self.message_id.as_bytes());
        w.finish()
    }

    /// Parse the JSON form: [`Error::JsonNull`] for an explicit `null` (omit `room` instead),
    /// [`Error::MalformedJson`] for syntax or shape, [`Error::Malformed`] for a broken invariant.
    pub fn from_json(bytes: &[u8]) -> Result<Self, Error> {
        crate::frank::json::check_no_null("context", bytes)?;
        Context::try_from(crate::frank::json::parse::<ContextJson>("context", bytes)?)
    }

    /// The canonical binary encoding: the exact bytes a stamp authenticates.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        self.encode_into(&mut out)?;
        Ok(out)
    }

    /// Decode the canonical binary encoding; any deviation is an error.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.get(1) == Some(&(ObjType::RoomContext as u8)) {
            return Self::room_from_bytes(bytes);
        }
        let mut r = Reader::object(bytes, ObjType::Context)?;
        let network = r.string("context network")?;
        let sender = r.string("context sender")?;
        let room = r.string("context room")?;
        let list = r.bytes("context recipients")?;
        let timestamp_ms = r.u64("context timestamp")?;
        let message_id = r.string("context message id")?;
        r.finish()?;
        let mut items = Reader::list(list);
        let mut recipients = Vec::new();
        while !items.is_empty() {
            if recipients.len() >= MAX_RECIPIENTS {
                return Err(Error::Malformed {
                    what: "context recipient count",
                });
            }
            recipients.push(items.string("context recipient")?);
        }
        let c = Context {
            network,
            sender,
            room: (!room.is_empty()).then_some(room),
            recipients,
            members: None,
            timestamp_ms,
            message_id,
        };
        c.check()?;
        Ok(c)
    }

    /// Decode a room context (type 0x06).
    fn room_from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::object(bytes, ObjType::RoomContext)?;
        let network = r.string("context network")?;
        let sender = r.string("context sender")?;
        let room = r.string("context room")?;
        let members = RoomMembers {
            epoch: r.u64("room context epoch")?,
            count: r.u32("room context member count")?,
            root: r.fixed("room context member root")?,
        };
        let timestamp_ms = r.u64("context timestamp")?;
        let message_id = r.string("context message id")?;
        r.finish()?;
        Self::room_members(network, sender, room, members, timestamp_ms, message_id)
    }
}

impl core::fmt::Debug for Context {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Context")
            .field("network", &self.network)
            .field("sender", &self.sender)
            .field("room", &self.room)
            .field("recipients", &self.recipients)
            .field("members", &self.members)
            .field("timestamp_ms", &self.timestamp_ms)
            .field("message_id", &self.message_id)
            .finish()
    }
}
