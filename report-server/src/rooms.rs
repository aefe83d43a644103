//! Room reports in the moderator's view: a report of a message with a room context (a member
//! root, see franking-core's `frank::merkle`) is verified by `verify_report`, which checks the
//! reporter's membership proof against the stamped root at the stamped epoch before anything is
//! stored. Reports of one room message by several members carry the same stamp and commitment, so
//! they group into one case like any other message; this module only shows the reporter's verified
//! membership beside the evidence.

use franking_core::frank::ReportedMessage;
use serde::Serialize;

/// The reporter's verified membership in the room of a reported message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MembershipView {
    /// The room id (from the stamped context).
    pub room: String,
    /// The membership epoch (from the stamped context).
    pub epoch: u64,
    /// How many members the stamped root commits to.
    pub member_count: u32,
    /// The reporter's leaf index (position among the sorted member ids).
    pub leaf_index: u32,
    /// Length of the verified inclusion path.
    pub proof_siblings: usize,
}

/// The membership of the reporter of `m`, for a verified message with a room context; `None` for
/// a listed context.
pub fn membership_view(m: &ReportedMessage) -> Option<MembershipView> {
    let members = m.context.members()?;
    let proof = m.membership.as_ref()?;
    Some(MembershipView {
        room: m.context.room_id().unwrap_or_default().to_owned(),
        epoch: members.epoch,
        member_count: members.count,
        leaf_index: proof.index(),
        proof_siblings: proof.siblings().len(),
    })
}
