//! Reports (recipient → report server) and their verification.

use crate::Error;
use crate::frank::constants::NONCE_LEN;
use crate::frank::context::{Context, MAX_ID_LEN};
use crate::frank::envelope::{Commitment, Envelope, Opened, Opening, body_associated_data};
use crate::frank::json;
use crate::frank::published::{PublishedKey, verify_published};
use crate::frank::room::MembershipProof;
use crate::frank::stamp::{KeyId, KeyRing, Stamp};
use crate::frank::suite::Suite;
use crate::frank::wire::{self, ObjType, Reader};
use crate::frank::{MAX_AD_LEN, MAX_PLAINTEXT_LEN, VERSION};

/// Most earlier messages one report may carry.
pub const MAX_EARLIER: usize = 100;
/// Longest reason text in bytes.
pub const MAX_REASON_LEN: usize = 4096;

/// One franked message as revealed in a report: everything needed to recompute its commitment and
/// check its stamp.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportedMessage {
    /// The envelope's suite.
    pub suite: Suite,
    /// The envelope's body nonce N.
    #[serde(with = "wire::b64::array")]
    pub nonce: [u8; NONCE_LEN],
    /// The application associated data `body_ad` passed to seal/open (not the full A).
    #[serde(with = "wire::b64")]
    pub associated_data: Vec<u8>,
    /// The plaintext M the recipient was shown.
    #[serde(with = "wire::b64")]
    pub plaintext: Vec<u8>,
    /// The franking key K_f (the opening).
    pub opening: Opening,
    /// The commitment T from the envelope.
    pub commitment: Commitment,
    /// The platform context the stamp binds.
    pub context: Context,
    /// The platform's stamp over (T, context).
    pub stamp: Stamp,
    /// For a room context: the reporter's proof of membership in the stamped member set, as the
    /// relay delivered it (omitted otherwise; a proof with a listed context is `Malformed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub membership: Option<MembershipProof>,
}

impl core::fmt::Debug for ReportedMessage {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ReportedMessage")
            .field("suite", &self.suite)
            .field("plaintext_len", &self.plaintext.len())
            .field("commitment", &self.commitment)
            .field("context", &self.context)
            .field("stamp", &self.stamp)
            .field("membership", &self.membership)
            .finish_non_exhaustive()
    }
}

impl ReportedMessage {
    /// Assemble what a recipient kept after [`crate::frank::open`]: the envelope, the `body_ad` it
    /// used, the opened message, and the context and stamp the platform delivered with it.
    pub fn new(
        envelope: &Envelope,
        body_ad: &[u8],
        opened: &Opened,
        context: Context,
        stamp: Stamp,
    ) -> Self {
        Self {
            suite: envelope.suite,
            nonce: envelope.nonce,
            associated_data: body_ad.to_vec(),
            plaintext: opened.plaintext.clone(),
            opening: opened.opening.clone(),
            commitment: envelope.commitment,
            context,
            stamp,
            membership: None,
        }
    }

    /// The same message carrying the recipient's membership proof (room contexts).
    pub fn with_membership(mut self, membership: Option<MembershipProof>) -> Self {
        self.membership = membership;
        self
    }

    /// Whether `other` is the same message: the same stamp, or the same commitment sent by the same
    /// sender under the same message id on the same network (whatever delivery context and stamp
    /// each copy carries: per-delivery stamps of one group message are one message). The same
    /// envelope sent again under a new message id is a different message.
    pub fn same_message(&self, other: &ReportedMessage) -> bool {
        let same_stamp =
            self.stamp.key_id == other.stamp.key_id && self.stamp.mac == other.stamp.mac;
        let (a, b) = (&self.context, &other.context);
        let same_message = self.commitment.ct_eq(&other.commitment)
            && a.network() == b.network()
            && a.sender() == b.sender()
            && a.message_id() == b.message_id();
        same_stamp || same_message
    }

    fn check_lengths(&self) -> Result<(), Error> {
        if self.plaintext.len() > MAX_PLAINTEXT_LEN {
            return Err(Error::Malformed {
                what: "reported plaintext too long",
            });
        }
        if self.associated_data.len() > MAX_AD_LEN {
            return Err(Error::Malformed {
                what: "reported associated data too long",
            });
        }
        if self.membership.is_some() && self.context.members().is_none() {
            return Err(Error::Malformed {
                what: "membership proof for a context without a member root",
            });
        }
        Ok(())
    }

    /// Verify this message on its own at `now_ms`: key lookup, stamp, commitment, window (in that
    /// order). Does not look at the reporter.
    pub fn verify<V: StampVerifier + ?Sized>(
        &self,
        ring: &V,
        policy: &ReportPolicy,
        now_ms: u64,
    ) -> Result<KeyId, Error> {
        self.check_lengths()?;
        self.verify_binding(ring, policy, now_ms)?;
        policy.check_time(self.context.timestamp_ms(), now_ms)?;
        Ok(self.stamp.key_id)
    }

    /// The checks every reported message needs: the stamp binds (suite, commitment, context) under
    /// a key the verifier accepts at `now_ms` (a retired key only for contexts dated before its
    /// retirement plus the policy's clock skew), and the opening reproduces the commitment.
    fn verify_binding<V: StampVerifier + ?Sized>(
        &self,
        ring: &V,
        policy: &ReportPolicy,
        now_ms: u64,
    ) -> Result<(), Error> {
        ring.verify_stamp(
            &self.stamp,
            self.suite,
            &self.commitment,
            &self.context,
            now_ms,
            policy.max_clock_skew_ms,
        )?;
        let a = body_associated_data(self.suite, &self.associated_data);
        self.suite.verify_opening(
            self.opening.expose_secret(),
            &self.nonce,
            &a,
            &self.plaintext,
            self.commitment.as_bytes(),
        )
    }

    fn encode_fields(&self, w: &mut wire::Writer<'_, Vec<u8>>) -> Result<(), Error> {
        w.u8(self.suite.id());
        w.bytes(&self.nonce);
        w.bytes(&self.associated_data);
        w.bytes(&self.plaintext);
        w.bytes(self.opening.expose_secret());
        w.bytes(self.commitment.as_bytes());
        w.bytes(&self.context.to_bytes()?);
        w.bytes(&self.stamp.to_bytes()?);
        if let Some(p) = &self.membership {
            w.bytes(&p.to_bytes()?);
        }
        Ok(())
    }

    /// The canonical binary encoding (type 0x05): `01 05 ‖ [suite:1] ‖ [N:12] ‖ [body_ad] ‖ [M] ‖
    /// [K_f:32] ‖ [T:32] ‖ [context object] ‖ [stamp object] (‖ [membership proof object])`; the
    /// last field is present exactly when the message carries a membership proof.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let mut inner = Ok(());
        let out = wire::encode(ObjType::ReportedMessage, |w| inner = self.encode_fields(w))?;
        inner?;
        Ok(out)
    }

    /// Decode the canonical binary encoding.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::object(bytes, ObjType::ReportedMessage)?;
        let suite = Suite::from_id(r.u8("reported suite")?)?;
        let nonce = r.fixed("reported nonce")?;
        let associated_data = r.bytes("reported associated data")?.to_vec();
        let plaintext = r.bytes("reported plaintext")?.to_vec();
        let opening = Opening::from_bytes(r.fixed("reported opening")?);
        let commitment = Commitment(r.fixed("reported commitment")?);
        let context = Context::from_bytes(r.bytes("reported context")?)?;
        let stamp = Stamp::from_bytes(r.bytes("reported stamp")?)?;
        let membership = if r.is_empty() {
            None
        } else {
            // Anything after the stamp must be exactly one field holding a proof.
            Some(MembershipProof::from_bytes(r.bytes("trailing bytes")?)?)
        };
        r.finish()?;
        let m = ReportedMessage {
            suite,
            nonce,
            associated_data,
            plaintext,
            opening,
            commitment,
            context,
            stamp,
            membership,
        };
        m.check_lengths()?;
        Ok(m)
    }
}

/// An abuse report: the reported message, who reports it and why, and optionally earlier messages
/// of the same conversation (in any order: verification orders them by timestamp, see
/// [`VerifiedReport::earlier_in_order`]). No message may appear twice ([`Error::DuplicateMessage`]).
#[derive(Clone, PartialEq, Eq, Debug, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "ReportJson", into = "ReportJson")]
pub struct Report {
    /// The reported message.
    pub message: ReportedMessage,
    /// The reporting user's id (must be a recipient of `message`).
    pub reporter: String,
    /// Free-form reason or category code (at most [`MAX_REASON_LEN`] bytes).
    pub reason: String,
    /// Earlier messages of the same conversation, as context for the moderator (at most
    /// [`MAX_EARLIER`]); each is verified like the reported message.
    pub earlier: Vec<ReportedMessage>,
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportJson {
    v: u8,
    message: ReportedMessage,
    reporter: String,
    reason: String,
    #[serde(default)]
    earlier: Vec<ReportedMessage>,
}

impl TryFrom<ReportJson> for Report {
    type Error = Error;
    fn try_from(j: ReportJson) -> Result<Self, Error> {
        if j.v != VERSION {
            return Err(Error::UnsupportedVersion(j.v));
        }
        let r = Report {
            message: j.message,
            reporter: j.reporter,
            reason: j.reason,
            earlier: j.earlier,
        };
        r.check()?;
        Ok(r)
    }
}

impl From<Report> for ReportJson {
    fn from(r: Report) -> Self {
        ReportJson {
            v: VERSION,
            message: r.message,
            reporter: r.reporter,
            reason: r.reason,
            earlier: r.earlier,
        }
    }
}

impl Report {
    /// Check the structural limits (reporter id, reason length, number of earlier messages, sizes).
    fn check(&self) -> Result<(), Error> {
        if self.reporter.is_empty() || self.reporter.len() > MAX_ID_LEN {
            return Err(Error::Malformed { what: "reporter" });
        }
        if self.reason.len() > MAX_REASON_LEN {
            return Err(Error::Malformed { what: "reason" });
        }
        if self.earlier.len() > MAX_EARLIER {
            return Err(Error::Malformed {
                what: "too many earlier messages",
            });
        }
        self.message.check_lengths()?;
        self.earlier
            .iter()
            .try_for_each(ReportedMessage::check_lengths)?;
        // Each stamped message appears once (the reported message included).
        let all: Vec<&ReportedMessage> = core::iter::once(&self.message)
            .chain(&self.earlier)
            .collect();
        for (i, a) in all.iter().enumerate() {
            if all[..i].iter().any(|b| b.same_message(a)) {
                return Err(Error::DuplicateMessage);
            }
        }
        Ok(())
    }

    /// Parse the JSON form with precise errors: [`Error::UnsupportedVersion`] for `"v"` ≠ 1 and
    /// [`Error::UnsupportedSuite`] for an unknown suite of any message (checked before the rest of
    /// the shape), [`Error::MalformedJson`] for syntax or shape, then the structural checks of
    /// [`Report`] ([`Error::Malformed`], [`Error::DuplicateMessage`]).
    pub fn from_json(bytes: &[u8]) -> Result<Self, Error> {
        json::probe_report(bytes)?;
        Report::try_from(json::parse::<ReportJson>("report", bytes)?)
    }

    /// The canonical binary encoding (type 0x04): `01 04 ‖ [reported message object] ‖ [reporter] ‖
    /// [reason] ‖ [list of earlier reported message objects]`.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        self.check()?;
        let message = self.message.to_bytes()?;
        let earlier = self
            .earlier
            .iter()
            .map(ReportedMessage::to_bytes)
            .collect::<Result<Vec<_>, _>>()?;
        wire::encode(ObjType::Report, |w| {
            w.bytes(&message);
            w.bytes(self.reporter.as_bytes());
            w.bytes(self.reason.as_bytes());
            w.list(earlier.iter().map(Vec::as_slice));
        })
    }

    /// Decode the canonical binary encoding.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::object(bytes, ObjType::Report)?;
        let message = ReportedMessage::from_bytes(r.bytes("report message")?)?;
        let reporter = r.string("reporter")?;
        let reason = r.string("reason")?;
        let list = r.bytes("report earlier messages")?;
        r.finish()?;
        let mut items = Reader::list(list);
        let mut earlier = Vec::new();
        while !items.is_empty() {
            if earlier.len() >= MAX_EARLIER {
                return Err(Error::Malformed {
                    what: "too many earlier messages",
                });
            }
            earlier.push(ReportedMessage::from_bytes(
                items.bytes("report earlier message")?,
            )?);
        }
        let report = Report {
            message,
            reporter,
            reason,
            earlier,
        };
        report.check()?;
        Ok(report)
    }
}

/// The report server's policy: how long after its timestamp a message may be reported, and how far
/// in the future (clock skew) a timestamp may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReportPolicy {
    /// A message is reportable while `now_ms <= timestamp_ms + window_ms`.
    pub window_ms: u64,
    /// A message is refused if `timestamp_ms > now_ms + max_clock_skew_ms`.
    pub max_clock_skew_ms: u64,
}

impl Default for ReportPolicy {
    /// 30 days window, 5 minutes clock skew.
    fn default() -> Self {
        Self {
            window_ms: 30 * 24 * 3600 * 1000,
            max_clock_skew_ms: 5 * 60 * 1000,
        }
    }
}

impl ReportPolicy {
    /// [`Error::OutsideWindow`] unless `timestamp_ms` is reportable at `now_ms`.
    pub fn check_time(&self, timestamp_ms: u64, now_ms: u64) -> Result<(), Error> {
        let too_old = now_ms > timestamp_ms.saturating_add(self.window_ms);
        let too_new = timestamp_ms > now_ms.saturating_add(self.max_clock_skew_ms);
        if too_old || too_new {
            Err(Error::OutsideWindow)
        } else {
            Ok(())
        }
    }
}

/// How a verifier checks a reported message's stamp: a network's own [`KeyRing`] (HMAC, and the
/// signature when the key signs), or another network's published verifying keys (federation).
pub trait StampVerifier {
    /// Check `stamp` over (suite, commitment, context) at `now_ms`, a retired key only for
    /// contexts dated no later than its retirement plus `max_clock_skew_ms`: a precise stamp error
    /// ([`Error::UnknownKeyId`], [`Error::KeyRetired`], [`Error::StampAfterRetirement`],
    /// [`Error::SignatureRequired`], [`Error::BadStamp`], ...) on failure.
    fn verify_stamp(
        &self,
        stamp: &Stamp,
        suite: Suite,
        commitment: &Commitment,
        ctx: &Context,
        now_ms: u64,
        max_clock_skew_ms: u64,
    ) -> Result<(), Error>;
}

impl StampVerifier for KeyRing {
    fn verify_stamp(
        &self,
        stamp: &Stamp,
        suite: Suite,
        commitment: &Commitment,
        ctx: &Context,
        now_ms: u64,
        max_clock_skew_ms: u64,
    ) -> Result<(), Error> {
        self.verify(stamp, suite, commitment, ctx, now_ms, max_clock_skew_ms)
    }
}

/// Another network's published keys ([`verify_published`]: signature required, the HMAC is not
/// checked): how a federated report server verifies a peer's stamps.
impl StampVerifier for [PublishedKey] {
    fn verify_stamp(
        &self,
        stamp: &Stamp,
        suite: Suite,
        commitment: &Commitment,
        ctx: &Context,
        _now_ms: u64,
        max_clock_skew_ms: u64,
    ) -> Result<(), Error> {
        verify_published(self, stamp, suite, commitment, ctx, max_clock_skew_ms)
    }
}

/// A report whose every check passed; only [`verify_report`] (or [`verify_forwarded_report`])
/// makes one.
#[derive(Clone, Debug)]
pub struct VerifiedReport {
    report: Report,
    key_id: KeyId,
    /// Indices into `report.earlier`, by (timestamp, position in the report).
    order: Vec<usize>,
    /// False for [`verify_forwarded_report`]: the reporter is a peer's pseudonym.
    reporter_named: bool,
}

/// One earlier message of a verified report, as a moderator should see it: every field is
/// authentic (stamped context, committed plaintext).
#[derive(Clone, Copy, Debug)]
pub struct EarlierMessage<'a> {
    /// Position of the message in the report's `earlier` list, as submitted.
    pub position: usize,
    /// The verified message.
    pub message: &'a ReportedMessage,
    /// Whether the reporter sent this message (its verified sender is the reporter): a reporter
    /// may include their own messages, which must not read as the other party's.
    pub sent_by_reporter: bool,
}

impl<'a> EarlierMessage<'a> {
    /// The verified sender.
    pub fn sender(&self) -> &'a str {
        self.message.context.sender()
    }

    /// The verified recipients.
    pub fn recipients(&self) -> &'a [String] {
        self.message.context.recipients()
    }

    /// The verified platform timestamp (ms since the Unix epoch).
    pub fn timestamp_ms(&self) -> u64 {
        self.message.context.timestamp_ms()
    }

    /// The verified platform context.
    pub fn context(&self) -> &'a Context {
        &self.message.context
    }

    /// The verified plaintext.
    pub fn plaintext(&self) -> &'a [u8] {
        &self.message.plaintext
    }
}

impl VerifiedReport {
    /// The verified report.
    pub fn report(&self) -> &Report {
        &self.report
    }

    /// Unwrap into the verified report.
    pub fn into_report(self) -> Report {
        self.report
    }

    /// The key id whose stamp verified on the reported message.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The verified plaintext the recipient was shown.
    pub fn plaintext(&self) -> &[u8] {
        &self.report.message.plaintext
    }

    /// The verified platform context.
    pub fn context(&self) -> &Context {
        &self.report.message.context
    }

    /// The commitment (with the stamp, the natural key for grouping reports of one message).
    pub fn commitment(&self) -> &Commitment {
        &self.report.message.commitment
    }

    /// The reporting user.
    pub fn reporter(&self) -> &str {
        &self.report.reporter
    }

    /// The earlier messages in conversation order: by verified timestamp, ties in the order the
    /// report listed them; each with its position in the report and whether the reporter sent it.
    /// (The reported message itself is never the reporter's: the reporter is one of its
    /// recipients, and a sender is never a recipient.)
    pub fn earlier_in_order(&self) -> impl ExactSizeIterator<Item = EarlierMessage<'_>> + '_ {
        self.order.iter().map(|&position| {
            let message = &self.report.earlier[position];
            EarlierMessage {
                position,
                message,
                sent_by_reporter: self.reporter_named
                    && message.context.sender() == self.report.reporter,
            }
        })
    }
}

/// Verify a report at time `now_ms`; on success every field of the result is authentic.
///
/// Checks, in order, for the reported message: structural limits ([`Error::Malformed`]); the
/// ring's network ([`Error::WrongNetwork`]); stamping key ([`Error::UnknownKeyId`],
/// [`Error::KeyRetired`], [`Error::StampAfterRetirement`]); stamp HMAC and signature rule
/// ([`Error::BadStamp`], [`Error::SignatureRequired`], [`Error::UnexpectedSignature`]);
/// commitment recomputed from (K_f, N, A, M) ([`Error::CommitmentMismatch`]); reporter among the
/// context's recipients ([`Error::ReporterNotRecipient`]) or, for a room context, not the sender and
/// proven a member at the stamped epoch by the message's membership proof
/// ([`Error::MembershipProofMissing`], [`Error::MembershipEpochMismatch`],
/// [`Error::NotRoomMember`]); timestamp inside the window
/// ([`Error::OutsideWindow`]). Then for each earlier message the same key/stamp/commitment/window
/// checks, plus: same conversation and not newer than the reported message
/// ([`Error::NotSameConversation`]) and the reporter took part in it
/// ([`Error::ReporterNotRecipient`], or the membership errors for a room context). A message included twice — by its stamp, or the reported
/// message again — is [`Error::DuplicateMessage`] (checked first, with the structural limits). The
/// first failure is returned; its [`Error::code`] is stable.
pub fn verify_report<V: StampVerifier + ?Sized>(
    report: Report,
    ring: &V,
    policy: &ReportPolicy,
    now_ms: u64,
) -> Result<VerifiedReport, Error> {
    verify_with(report, ring, policy, now_ms, ReporterCheck::Named)
}

/// Verify a report forwarded by another network's report server that vouches for its reporter
/// (federation, pseudonymous forwards): every check of [`verify_report`] except the two that need
/// the reporter's identity — the reporter among the reported message's recipients and among the
/// participants of each earlier message. `report.reporter` is then a pseudonym chosen by the
/// forwarding server, and no earlier message counts as sent by the reporter. Stamp, signature,
/// commitment, window, conversation and duplicate checks are the same.
pub fn verify_forwarded_report<V: StampVerifier + ?Sized>(
    report: Report,
    ring: &V,
    policy: &ReportPolicy,
    now_ms: u64,
) -> Result<VerifiedReport, Error> {
    verify_with(report, ring, policy, now_ms, ReporterCheck::AttestedByPeer)
}

/// Who establishes that the reporter received the reported message.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ReporterCheck {
    /// The report names the reporter; verification checks the contexts.
    Named,
    /// A peer server checked it and forwards a pseudonym.
    AttestedByPeer,
}

fn verify_with<V: StampVerifier + ?Sized>(
    report: Report,
    ring: &V,
    policy: &ReportPolicy,
    now_ms: u64,
    reporter_check: ReporterCheck,
) -> Result<VerifiedReport, Error> {
    let named = reporter_check == ReporterCheck::Named;
    report.check()?;
    let m = &report.message;
    m.verify_binding(ring, policy, now_ms)?;
    if named {
        m.context
            .check_recipient(&report.reporter, m.membership.as_ref())?;
    }
    policy.check_time(m.context.timestamp_ms(), now_ms)?;
    for e in &report.earlier {
        e.verify(ring, policy, now_ms)?;
        if !e.context.same_conversation(&m.context)
            || e.context.timestamp_ms() > m.context.timestamp_ms()
        {
            return Err(Error::NotSameConversation);
        }
        if named {
            e.context
                .check_participant(&report.reporter, e.membership.as_ref())?;
        }
    }
    let key_id = m.stamp.key_id;
    let mut order: Vec<usize> = (0..report.earlier.len()).collect();
    // Stable: equal timestamps keep the report's order.
    order.sort_by_key(|&i| report.earlier[i].context.timestamp_ms());
    Ok(VerifiedReport {
        report,
        key_id,
        order,
        reporter_named: named,
    })
}

/// Decode a binary report and verify it: [`Report::from_bytes`] then [`verify_report`].
pub fn verify_report_bytes<V: StampVerifier + ?Sized>(
    bytes: &[u8],
    ring: &V,
    policy: &ReportPolicy,
    now_ms: u64,
) -> Result<VerifiedReport, Error> {
    verify_report(Report::from_bytes(bytes)?, ring, policy, now_ms)
}
