//! Offline verification of a report, and reconstruction of what the recipient was shown.
//!
//! [`verify_report`] wraps [`franking_core::frank::verify_report`] (stamp, commitment, reporter,
//! window) and then decodes the verified plaintext as a [`MessageContent`], whose attachment
//! references are covered by the commitment. [`reconstruct_attachment`] decrypts a blob fetched from
//! any store and checks it against the *verified* reference: if it succeeds, the moderator holds
//! exactly the bytes the recipient was shown — the invariant the Facebook-style design lost.

use std::io::{Read, Write};

use franking_core::frank::{self, KeyRing, Report, ReportPolicy, VerifiedReport};

use crate::attachment::{AttachmentRef, open_attachment};
use crate::content::MessageContent;
use crate::{Error, Result};

/// A verified report together with the decoded content of the reported message.
#[derive(Clone, Debug)]
pub struct VerifiedContent {
    /// The report whose every check passed.
    pub report: VerifiedReport,
    /// The reported message's content (text and verified attachment references).
    pub content: MessageContent,
    /// Contents of the earlier messages, in the report's order.
    pub earlier: Vec<MessageContent>,
}

/// Verify a report at `now_ms` with the platform's key ring and decode its content.
pub fn verify_report(
    report: Report,
    ring: &KeyRing,
    policy: &ReportPolicy,
    now_ms: u64,
) -> Result<VerifiedContent> {
    let report = frank::verify_report(report, ring, policy, now_ms)?;
    let content = MessageContent::decode(report.plaintext())?;
    let earlier = report
        .report()
        .earlier
        .iter()
        .map(|m| MessageContent::decode(&m.plaintext))
        .collect::<Result<Vec<_>>>()?;
    Ok(VerifiedContent {
        report,
        content,
        earlier,
    })
}

impl VerifiedContent {
    /// The reference of attachment `index` of the reported message.
    pub fn attachment(&self, index: usize) -> Result<&AttachmentRef> {
        self.content
            .attachments
            .get(index)
            .ok_or(Error::AttachmentMissing { index })
    }
}

/// Decrypt and check an attachment blob against a verified reference (same checks as the
/// recipient's [`open_attachment`]; discard the output on error).
pub fn reconstruct_attachment<R: Read, W: Write>(
    reference: &AttachmentRef,
    blob: R,
    out: W,
) -> Result<u64> {
    open_attachment(reference, blob, out)
}
