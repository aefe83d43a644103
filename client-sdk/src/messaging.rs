//! Sender and recipient flows over [`franking_core::frank`]: seal a [`MessageContent`] for a
//! conversation, open a stamped envelope with every recipient-side check, keep what a report needs,
//! and build the report.
//!
//! ```
//! use client_sdk::messaging::{Conversation, OpenChecks, stamp_envelope};
//! use client_sdk::frank::{Context, KeyId, KeyRing, ReportPolicy, StampKey, verify_report};
//! use client_sdk::MessageContent;
//!
//! // Both clients derive the same conversation from their E2E session (here: a shared secret).
//! let alice = Conversation::from_exporter_secret("conv-42", b"secret exported by the E2E layer")?;
//! let bob = Conversation::from_exporter_secret("conv-42", b"secret exported by the E2E layer")?;
//!
//! // Alice seals; the relay stamps with the platform key and the context it asserts.
//! let envelope = alice.seal(&MessageContent::text("hello bob"))?;
//! let ring = KeyRing::new("example.net", StampKey::generate(KeyId(1), false)?, 0, 0);
//! let ctx = Context::direct("example.net", "alice", "bob", 1_700_000_000_000, "m-1")?;
//! let delivered = stamp_envelope(&ring, envelope, ctx)?;
//!
//! // Bob opens it (every check passes) and later reports it.
//! let opened = bob.open(&delivered, &OpenChecks::recipient("bob").sender("alice"))?;
//! assert_eq!(opened.content().text, "hello bob");
//! let report = opened.report("bob", "spam", &[])?;
//!
//! // The report server (or `franking verify`) checks it offline with the platform key.
//! let verified = verify_report(report, &ring, &ReportPolicy::default(), 1_700_000_060_000)?;
//! assert_eq!(verified.plaintext(), opened.plaintext());
//! # Ok::<(), client_sdk::Error>(())
//! ```

pub use franking_core::frank::StampedEnvelope;
use franking_core::frank::{
    self, Context, Envelope, KeyRing, MAX_EARLIER, PublishedKey, Report, ReportPolicy,
    ReportedMessage, SessionKey, Suite,
};
use zeroize::Zeroizing;

use crate::content::MessageContent;
use crate::{Error, Result};

/// BLAKE3 key-derivation context for [`Conversation::from_exporter_secret`].
pub const SESSION_KEY_CONTEXT: &str = "franking/v1 client-sdk session key from E2E exporter secret";

/// One end-to-end encrypted conversation as the franking layer sees it: an id (bound into every
/// message as associated data, so a message cannot be replayed into another conversation) and the
/// session key that wraps each message's franking key.
#[derive(Clone, Debug)]
pub struct Conversation {
    id: String,
    session_key: SessionKey,
    suite: Suite,
}

impl Conversation {
    /// A conversation with a 32-byte session key taken directly from the host E2E protocol.
    pub fn new(id: impl Into<String>, session_key: SessionKey) -> Self {
        Self {
            id: id.into(),
            session_key,
            suite: Suite::default(),
        }
    }

    /// Derive the session key from an E2E exporter secret of any length (e.g. an MLS
    /// `exporter_secret` or a Double Ratchet message key) with BLAKE3's KDF mode, under the context
    /// [`SESSION_KEY_CONTEXT`] and the conversation id, so one secret yields independent keys per
    /// conversation and never collides with the host protocol's own uses of it.
    pub fn from_exporter_secret(id: impl Into<String>, secret: &[u8]) -> Result<Self> {
        let id = id.into();
        if secret.len() < 16 {
            return Err(Error::InvalidKey {
                what: "E2E exporter secret",
                reason: "shorter than 16 bytes".into(),
            });
        }
        let mut kdf = blake3::Hasher::new_derive_key(SESSION_KEY_CONTEXT);
        kdf.update(&(id.len() as u64).to_le_bytes());
        kdf.update(id.as_bytes());
        kdf.update(secret);
        let key = Zeroizing::new(*kdf.finalize().as_bytes());
        Ok(Self::new(id, SessionKey::from_bytes(*key)))
    }

    /// Use a different franking suite for messages this end seals (default: the fast suite).
    pub fn with_suite(mut self, suite: Suite) -> Self {
        self.suite = suite;
        self
    }

    /// The conversation id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The suite new messages are sealed with.
    pub fn suite(&self) -> Suite {
        self.suite
    }

    /// The application associated data bound into every message body: the conversation id.
    pub fn body_ad(&self) -> &[u8] {
        self.id.as_bytes()
    }

    /// Sender: seal `content` (text and attachment references) into a franked envelope with a fresh
    /// franking key. Send the envelope to the relay, which stamps it.
    pub fn seal(&self, content: &MessageContent) -> Result<Envelope> {
        let m = content.encode()?;
        Ok(frank::seal(
            self.suite,
            &self.session_key,
            self.body_ad(),
            &m,
        )?)
    }

    /// Recipient: open a delivered envelope. Shows nothing unless every check passes:
    ///
    /// 1. the context names `checks.me` as a recipient and, if given, the expected sender (the peer
    ///    the E2E layer authenticated);
    /// 2. if the platform's published keys are configured, the stamp carries a valid Ed25519
    ///    signature over (commitment, context) by a key of the context's network, dated before the
    ///    key's retirement (plus [`OpenChecks::max_clock_skew_ms`]) — see
    ///    [`frank::verify_published`]; HMAC-only stamps cannot be checked by clients (that is what
    ///    keeps unreported messages deniable) — they are checked by the report server;
    /// 3. the wrapped franking key opens under the session key with the commitment T in its
    ///    associated data (an altered T or W fails here) and is not the session key;
    /// 4. the body opens under the franking key and T commits to it (an altered C fails here);
    /// 5. the plaintext is a well-formed [`MessageContent`] (a plaintext of another format is
    ///    `Error::Core(NotMessageContent)`).
    ///
    /// Attachments are opened separately with [`crate::attachment::open_attachment`] using the
    /// references in [`OpenedMessage::content`].
    pub fn open(
        &self,
        delivered: &StampedEnvelope,
        checks: &OpenChecks<'_>,
    ) -> Result<OpenedMessage> {
        let ctx = &delivered.context;
        if !ctx.is_recipient(checks.me) {
            return Err(Error::NotForMe);
        }
        if let Some(sender) = checks.sender
            && ctx.sender() != sender
        {
            return Err(Error::UnexpectedSender);
        }
        if let Some(keys) = checks.platform_keys {
            frank::verify_published(
                keys,
                &delivered.stamp,
                delivered.envelope.suite,
                &delivered.envelope.commitment,
                ctx,
                checks.max_clock_skew_ms,
            )?;
        }
        let opened = frank::open(&delivered.envelope, &self.session_key, self.body_ad())?;
        let content = MessageContent::decode(&opened.plaintext)?;
        let reported = ReportedMessage::new(
            &delivered.envelope,
            self.body_ad(),
            &opened,
            delivered.context.clone(),
            delivered.stamp.clone(),
        );
        Ok(OpenedMessage { content, reported })
    }
}

/// What the recipient requires of a delivered message beyond the cryptography; see
/// [`Conversation::open`].
#[derive(Clone, Copy, Debug)]
pub struct OpenChecks<'a> {
    /// The recipient's own user id; the context must name it.
    pub me: &'a str,
    /// The sender the E2E layer authenticated, if known; the context must name it.
    pub sender: Option<&'a str>,
    /// The platform's published stamping keys, if the platform signs stamps; then unsigned, badly
    /// signed, foreign-network or post-retirement stamps are refused.
    pub platform_keys: Option<&'a [PublishedKey]>,
    /// Clock skew allowed between a retired key's retirement and the stamps it made (default: the
    /// report policy's default, 5 minutes).
    pub max_clock_skew_ms: u64,
}

impl<'a> OpenChecks<'a> {
    /// Checks for recipient `me`, with no sender expectation and no signature check.
    pub fn recipient(me: &'a str) -> Self {
        Self {
            me,
            sender: None,
            platform_keys: None,
            max_clock_skew_ms: ReportPolicy::default().max_clock_skew_ms,
        }
    }

    /// Also require the context's sender to be `sender`.
    pub fn sender(mut self, sender: &'a str) -> Self {
        self.sender = Some(sender);
        self
    }

    /// Also require a valid Ed25519 stamp signature under one of the platform's published `keys`
    /// (see [`frank::verify_published`]).
    pub fn platform_keys(mut self, keys: &'a [PublishedKey]) -> Self {
        self.platform_keys = Some(keys);
        self
    }
}

/// Relay side (also used by tests and the CLI's `stamp`): stamp an envelope's commitment in `context`
/// with the ring's current key ([`StampedEnvelope::stamp`]).
pub fn stamp_envelope(
    ring: &KeyRing,
    envelope: Envelope,
    context: Context,
) -> Result<StampedEnvelope> {
    Ok(StampedEnvelope::stamp(ring, envelope, context)?)
}

/// A message the recipient opened and was shown, with everything a later report needs.
///
/// Store it (its JSON form holds the franking key, so store it like message history) to be able
/// to report the message later. `Debug` prints lengths only, never the text or keys.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "ReportedMessage", into = "ReportedMessage")]
pub struct OpenedMessage {
    content: MessageContent,
    reported: ReportedMessage,
}

impl TryFrom<ReportedMessage> for OpenedMessage {
    type Error = Error;
    fn try_from(reported: ReportedMessage) -> Result<Self> {
        Ok(Self {
            content: MessageContent::decode(&reported.plaintext)?,
            reported,
        })
    }
}

impl From<OpenedMessage> for ReportedMessage {
    fn from(m: OpenedMessage) -> Self {
        m.reported
    }
}

impl OpenedMessage {
    /// The content the recipient was shown.
    pub fn content(&self) -> &MessageContent {
        &self.content
    }

    /// The exact plaintext bytes M (the encoded content).
    pub fn plaintext(&self) -> &[u8] {
        &self.reported.plaintext
    }

    /// The platform-asserted context delivered with the message.
    pub fn context(&self) -> &Context {
        &self.reported.context
    }

    /// The message as it will appear in a report.
    pub fn reported_message(&self) -> &ReportedMessage {
        &self.reported
    }

    /// Build a report of this message by `reporter` (who must be a recipient of it), optionally
    /// with earlier messages of the same conversation as context for the moderator.
    ///
    /// Checks locally what the server will check structurally (reporter is a recipient, earlier
    /// messages are from the same conversation and not newer, no message twice, limits), so a
    /// client learns of a hopeless report before sending it.
    pub fn report(
        &self,
        reporter: &str,
        reason: &str,
        earlier: &[&OpenedMessage],
    ) -> Result<Report> {
        if !self.context().is_recipient(reporter) {
            return Err(Error::Core(franking_core::Error::ReporterNotRecipient));
        }
        if earlier.len() > MAX_EARLIER {
            return Err(Error::Core(franking_core::Error::Malformed {
                what: "too many earlier messages",
            }));
        }
        for e in earlier {
            if !e.context().same_conversation(self.context())
                || e.context().timestamp_ms() > self.context().timestamp_ms()
            {
                return Err(Error::Core(franking_core::Error::NotSameConversation));
            }
        }
        let report = Report {
            message: self.reported.clone(),
            reporter: reporter.to_owned(),
            reason: reason.to_owned(),
            earlier: earlier.iter().map(|e| e.reported.clone()).collect(),
        };
        // Runs franking-core's structural checks (reporter and reason limits, sizes, duplicates).
        report.to_bytes()?;
        Ok(report)
    }
}
