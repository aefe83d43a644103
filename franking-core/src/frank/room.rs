//! Room contexts of constant size: the context commits to the room's member set (a Merkle root,
//! see [`crate::frank::merkle`]) instead of listing it, and a reporting member proves membership
//! with an inclusion proof.
//!
//! ```text
//! room context (0x06) = 01 06 ‖ [network] ‖ [sender] ‖ [room] ‖ [epoch:8] ‖ [member_count:4]
//!                             ‖ [member_root:32] ‖ [timestamp_ms:8] ‖ [message_id]
//! membership proof (0x07) = 01 07 ‖ [epoch:8] ‖ [leaf_index:4] ‖ [siblings: k × 32 bytes]
//! ```
//!
//! The relay computes the root once per epoch and stamps every message of the room once, in O(1);
//! it gives each member its proof with delivery ([`crate::frank::StampedEnvelope::membership`]);
//! a report carries the reporter's proof ([`crate::frank::ReportedMessage::membership`]) and
//! [`crate::frank::verify_report`] checks it against the stamped root, member count and epoch.

use crate::Error;
use crate::frank::context::Context;
use crate::frank::merkle::{
    MAX_PROOF_SIBLINGS, MAX_ROOM_MEMBERS, MEMBER_HASH_LEN, MemberHash, MemberTree, leaf_hash,
    verify_path,
};
use crate::frank::wire::{self, ObjType, Reader};

/// What a room context commits to: the membership epoch, the member count and the member root.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoomMembers {
    /// The membership epoch (e.g. the MLS epoch) the member set belongs to.
    pub epoch: u64,
    /// How many members the tree holds (1 ..= [`MAX_ROOM_MEMBERS`]); fixes the tree's shape.
    pub count: u32,
    /// The member tree's root ([`MemberTree::root`]).
    #[serde(with = "wire::b64::array")]
    pub root: MemberHash,
}

impl RoomMembers {
    /// The commitment to `tree`'s members at `epoch`.
    pub fn of(tree: &MemberTree, epoch: u64) -> Result<Self, Error> {
        Ok(Self {
            epoch,
            count: u32::try_from(tree.len()).map_err(|_| Error::Malformed {
                what: "room member count",
            })?,
            root: tree.root(),
        })
    }

    /// The count is within 1 ..= [`MAX_ROOM_MEMBERS`].
    pub(crate) fn check(&self) -> Result<(), Error> {
        let count = usize::try_from(self.count).unwrap_or(usize::MAX);
        if count == 0 || count > MAX_ROOM_MEMBERS {
            return Err(Error::Malformed {
                what: "room member count",
            });
        }
        Ok(())
    }

    /// Check that `proof` shows `member` in this member set: [`Error::MembershipProofMissing`]
    /// without a proof, [`Error::MembershipEpochMismatch`] for a proof of another epoch,
    /// [`Error::NotRoomMember`] if the path does not lead from `member`'s leaf to the root.
    pub fn check_member(&self, member: &str, proof: Option<&MembershipProof>) -> Result<(), Error> {
        let proof = proof.ok_or(Error::MembershipProofMissing)?;
        if proof.epoch != self.epoch {
            return Err(Error::MembershipEpochMismatch {
                proof: proof.epoch,
                context: self.epoch,
            });
        }
        let leaf = leaf_hash(member.as_bytes());
        let ok = verify_path(
            &leaf,
            u64::from(proof.index),
            u64::from(self.count),
            &proof.siblings,
            &self.root,
        );
        if ok {
            Ok(())
        } else {
            Err(Error::NotRoomMember)
        }
    }
}

/// One sibling hash in the JSON form (base64url).
#[derive(Clone, Copy, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
struct SiblingJson(#[serde(with = "wire::b64::array")] MemberHash);

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct MembershipProofJson {
    epoch: u64,
    index: u32,
    siblings: Vec<SiblingJson>,
}

/// A member's inclusion proof: the epoch it was issued for, the member's leaf index (its position
/// in the sorted member list) and the RFC 9162 inclusion path (at most [`MAX_PROOF_SIBLINGS`]
/// siblings). Encoded in 26 + 32·k bytes for k siblings (k ≤ ⌈log2 n⌉).
#[derive(Clone, PartialEq, Eq, Debug, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "MembershipProofJson", into = "MembershipProofJson")]
pub struct MembershipProof {
    epoch: u64,
    index: u32,
    siblings: Vec<MemberHash>,
}

impl TryFrom<MembershipProofJson> for MembershipProof {
    type Error = Error;
    fn try_from(j: MembershipProofJson) -> Result<Self, Error> {
        Self::new(
            j.epoch,
            j.index,
            j.siblings.into_iter().map(|s| s.0).collect(),
        )
    }
}

impl From<MembershipProof> for MembershipProofJson {
    fn from(p: MembershipProof) -> Self {
        MembershipProofJson {
            epoch: p.epoch,
            index: p.index,
            siblings: p.siblings.into_iter().map(SiblingJson).collect(),
        }
    }
}

impl MembershipProof {
    /// A proof from its parts; more than [`MAX_PROOF_SIBLINGS`] siblings is `Malformed`.
    pub fn new(epoch: u64, index: u32, siblings: Vec<MemberHash>) -> Result<Self, Error> {
        if siblings.len() > MAX_PROOF_SIBLINGS {
            return Err(Error::Malformed {
                what: "membership proof too long",
            });
        }
        Ok(Self {
            epoch,
            index,
            siblings,
        })
    }

    /// The proof for `member` in `tree` at `epoch` ([`Error::NotRoomMember`] if it is none).
    pub fn for_member(tree: &MemberTree, epoch: u64, member: &str) -> Result<Self, Error> {
        let index = tree.index_of(member).ok_or(Error::NotRoomMember)?;
        let siblings = tree.path(index).ok_or(Error::NotRoomMember)?;
        let index = u32::try_from(index).map_err(|_| Error::NotRoomMember)?;
        Self::new(epoch, index, siblings)
    }

    /// The epoch the proof was issued for.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The member's leaf index.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The inclusion path, from the leaf up.
    pub fn siblings(&self) -> &[MemberHash] {
        &self.siblings
    }

    /// The canonical binary encoding (type 0x07).
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        wire::encode(ObjType::MembershipProof, |w| {
            w.u64(self.epoch);
            w.u32(self.index);
            w.bytes(&self.siblings.concat());
        })
    }

    /// Decode the canonical binary encoding; any deviation is `Malformed`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::object(bytes, ObjType::MembershipProof)?;
        let epoch = r.u64("membership proof epoch")?;
        let index = r.u32("membership proof index")?;
        let siblings = r.bytes("membership proof siblings")?;
        r.finish()?;
        if siblings.len() % MEMBER_HASH_LEN != 0 {
            return Err(Error::Malformed {
                what: "membership proof siblings",
            });
        }
        if siblings.len() > MAX_PROOF_SIBLINGS * MEMBER_HASH_LEN {
            return Err(Error::Malformed {
                what: "membership proof too long",
            });
        }
        let siblings = siblings
            .chunks_exact(MEMBER_HASH_LEN)
            .map(|c| {
                <MemberHash>::try_from(c).map_err(|_| Error::Malformed {
                    what: "membership proof siblings",
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(epoch, index, siblings)
    }
}

impl Context {
    /// Whether `user` received the message this context describes: for a listed context, `user` is
    /// a recipient ([`Error::ReporterNotRecipient`] otherwise; a membership proof there is
    /// `Malformed`); for a room context, `user` is not the sender ([`Error::ReporterNotRecipient`])
    /// and `proof` shows `user` in the committed member set ([`RoomMembers::check_member`]).
    pub fn check_recipient(
        &self,
        user: &str,
        proof: Option<&MembershipProof>,
    ) -> Result<(), Error> {
        match self.members() {
            None if proof.is_some() => Err(Error::Malformed {
                what: "membership proof for a context without a member root",
            }),
            None if self.is_recipient(user) => Ok(()),
            None => Err(Error::ReporterNotRecipient),
            Some(_) if self.sender() == user => Err(Error::ReporterNotRecipient),
            Some(members) => members.check_member(user, proof),
        }
    }

    /// Whether `user` sent or received this message ([`Context::check_recipient`] unless `user`
    /// is the sender).
    pub fn check_participant(
        &self,
        user: &str,
        proof: Option<&MembershipProof>,
    ) -> Result<(), Error> {
        if self.sender() == user && (proof.is_none() || self.members().is_some()) {
            return Ok(());
        }
        self.check_recipient(user, proof)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(n: usize) -> MemberTree {
        MemberTree::new((0..n).map(|i| format!("m{i}")).collect()).unwrap()
    }

    #[test]
    fn proof_round_trips_in_binary_and_json_and_has_the_documented_size() {
        let t = tree(10_000);
        let p = MembershipProof::for_member(&t, 7, "m4242").unwrap();
        let bytes = p.to_bytes().unwrap();
        assert_eq!(bytes.len(), 26 + 32 * p.siblings().len());
        assert!(p.siblings().len() <= 14);
        assert_eq!(MembershipProof::from_bytes(&bytes).unwrap(), p);
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<MembershipProof>(&json).unwrap(), p);
        let mut bad = bytes.clone();
        bad.push(0);
        assert!(MembershipProof::from_bytes(&bad).is_err());
    }

    #[test]
    fn members_pass_and_everything_else_has_its_code() {
        let t = tree(100);
        let members = RoomMembers::of(&t, 3).unwrap();
        let p = MembershipProof::for_member(&t, 3, "m17").unwrap();
        assert_eq!(members.check_member("m17", Some(&p)), Ok(()));
        assert_eq!(
            members.check_member("m18", Some(&p)),
            Err(Error::NotRoomMember)
        );
        assert_eq!(
            members.check_member("m17", None),
            Err(Error::MembershipProofMissing)
        );
        let other_epoch = MembershipProof::for_member(&t, 2, "m17").unwrap();
        assert_eq!(
            members.check_member("m17", Some(&other_epoch)),
            Err(Error::MembershipEpochMismatch {
                proof: 2,
                context: 3
            })
        );
        let mut swapped = p.clone();
        swapped.siblings.swap(0, 1);
        assert_eq!(
            members.check_member("m17", Some(&swapped)),
            Err(Error::NotRoomMember)
        );
    }
}
