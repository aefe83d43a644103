//! Offline verification of a report, and reconstruction of what the recipient was shown.
//!
//! [`verify_report`] wraps [`franking_core::frank::verify_report`] (stamp, commitment, reporter,
//! window, no message twice) and then decodes the verified plaintext as a [`MessageContent`], whose
//! attachment references are covered by the commitment. Earlier messages come in conversation
//! order (by verified timestamp), each with its verified sender and recipients and whether the
//! reporter sent it — the order and flags of [`VerifiedReport::earlier_in_order`]. [`reconstruct_attachment`] decrypts a blob fetched from
//! any store and checks it against the *verified* reference: if it succeeds, the moderator holds
//! exactly the bytes the recipient was shown — the invariant the Facebook-style design lost.
//!
//! ```
//! use std::collections::HashMap;
//! use client_sdk::attachment::{open_attachment, seal_attachment};
//! use client_sdk::frank::{Context, KeyId, KeyRing, ReportPolicy, SessionKey, StampKey};
//! use client_sdk::messaging::{Conversation, OpenChecks, stamp_envelope};
//! use client_sdk::moderation::{reconstruct_attachment, verify_report};
//! use client_sdk::MessageContent;
//!
//! let key = SessionKey::generate()?;
//! let (alice, bob) = (Conversation::new("c", key.clone()), Conversation::new("c", key));
//! let mut blobs = HashMap::new(); // any blob store, here keyed by commitment
//!
//! // Sender: seal the attachment, upload the blob, reference it in the franked message.
//! let mut blob = Vec::new();
//! let reference = seal_attachment("image/png", &b"picture bytes"[..], &mut blob)?;
//! blobs.insert(reference.commitment, blob);
//! let content = MessageContent { text: "look".into(), attachments: vec![reference] };
//!
//! // Relay stamps; recipient opens the message and the attachment.
//! let ring = KeyRing::new("example.net", StampKey::generate(KeyId(1), false)?, 0, 0);
//! let ctx = Context::direct("example.net", "alice", "bob", 1_700_000_000_000, "m-7")?;
//! let delivered = stamp_envelope(&ring, alice.seal(&content)?, ctx)?;
//! let opened = bob.open(&delivered, &OpenChecks::recipient("bob"))?;
//! let r = &opened.content().attachments[0];
//! let mut shown = Vec::new();
//! open_attachment(r, blobs[&r.commitment].as_slice(), &mut shown)?;
//!
//! // Report; the moderator verifies and rebuilds the attachment from the verified reference.
//! let verified = verify_report(opened.report("bob", "abuse", &[])?, &ring,
//!                              &ReportPolicy::default(), 1_700_000_000_500)?;
//! let r = verified.attachment(0)?;
//! let mut rebuilt = Vec::new();
//! reconstruct_attachment(r, blobs[&r.commitment].as_slice(), &mut rebuilt)?;
//! assert_eq!(rebuilt, shown);
//! # Ok::<(), client_sdk::Error>(())
//! ```

use std::io::{Read, Write};

use franking_core::frank::{self, Context, KeyRing, Report, ReportPolicy, VerifiedReport};

use crate::attachment::{AttachmentRef, open_attachment};
use crate::content::MessageContent;
use crate::{Error, Result};

/// A verified report together with the decoded content of the reported message and of every
/// earlier message. `Debug` prints lengths only.
#[derive(Clone, Debug)]
pub struct VerifiedContent {
    /// The report whose every check passed.
    pub report: VerifiedReport,
    /// The reported message's content (text and verified attachment references).
    pub content: MessageContent,
    /// The earlier messages in conversation order (by verified timestamp, ties in report order).
    pub earlier: Vec<EarlierContent>,
}

/// One verified earlier message of a report and its decoded content. Dereferences to its
/// [`MessageContent`] (`earlier[i].text`). `Debug` prints lengths only.
#[derive(Clone, Debug)]
pub struct EarlierContent {
    /// Position of the message in the report's `earlier` list, as submitted.
    pub position: usize,
    /// The verified platform context: sender, recipients, timestamp, message id.
    pub context: Context,
    /// Whether the reporter sent this message.
    pub sent_by_reporter: bool,
    /// The decoded content.
    pub content: MessageContent,
}

impl core::ops::Deref for EarlierContent {
    type Target = MessageContent;
    fn deref(&self) -> &MessageContent {
        &self.content
    }
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
        .earlier_in_order()
        .map(|m| {
            Ok(EarlierContent {
                position: m.position,
                context: m.context().clone(),
                sent_by_reporter: m.sent_by_reporter,
                content: MessageContent::decode(m.plaintext())?,
            })
        })
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
    Ok(open_attachment(reference, blob, out)?)
}
