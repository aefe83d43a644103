//! Streaming attachments: fixed-size segments, bounded memory, one compact commitment per file.
//!
//! An attachment is encrypted under a fresh random file key `K_a` with the committing AEAD
//! [`crate::caead::Aes256CtrBlake3`] (CMT-4, compactly committing), segment by segment, so a file
//! of any size is sealed and opened with about two segments of memory. The sender uploads the
//! resulting blob to any (possibly deduplicating, possibly malicious) blob store and puts an
//! [`AttachmentRef`] — key, whole-file commitment, length, media type — inside the franked message
//! content ([`crate::frank::content::MessageContent`]). Franking the message therefore franks the
//! attachment: a verified report names exactly one file. The format is specified in
//! `docs/protocol.md` §7 (with vectors in `docs/vectors/attachment.json`).
//!
//! # Format (version 1)
//!
//! ```text
//! header   = "FKAT" ‖ 0x01 (version) ‖ 0x01 (suite: Aes256CtrBlake3) ‖ 0x00 0x00 ‖ be32(S)   12 bytes
//! M        = M_0 ‖ M_1 ‖ … ‖ M_{n−1}    |M_i| = S for i < n−1,  1 ≤ |M_{n−1}| ≤ S  (0 only if n = 1)
//! N_i      = be64(i) ‖ f_i ‖ 0x00 0x00 0x00     f_i = 0x01 for the final segment i = n−1, else 0x00
//! C_i ‖ T_i = Aes256CtrBlake3.Enc(K_a, N_i, A = header, M_i)                  |T_i| = 32
//! blob     = header ‖ C_0 ‖ T_0 ‖ C_1 ‖ T_1 ‖ … ‖ C_{n−1} ‖ T_{n−1}
//! commit   = BLAKE3("franking/v1 attachment commitment\0" ‖ header ‖ T_0 ‖ … ‖ T_{n−1})      32 B
//! ```
//!
//! S is the segment size (default [`DEFAULT_SEGMENT_SIZE`] = 64 KiB; accepted range
//! [`MIN_SEGMENT_SIZE`]..=[`MAX_SEGMENT_SIZE`], a multiple of 16).
//!
//! # Why it commits
//!
//! Each T_i is a collision-resistant function of (K_a, N_i, header, C_i) (the CAEAD's compact
//! commitment), and the commitment is unkeyed BLAKE3 over a fixed-length label, a fixed-length
//! header and 32-byte tags, an injective encoding. Two different (K_a, file) openings with the same
//! commitment need either a BLAKE3 collision or, for some i, two different openings of one T_i — a
//! collision of the CAEAD's tag. Both cost about 2^128. In particular one blob cannot open to two
//! different files under two keys (the "invisible salamanders" failure of AES-GCM attachments).
//!
//! # What opening refuses, and when plaintext is released
//!
//! [`AttachmentOpener`] is the one implementation (push-style, no I/O, so async servers can feed it
//! from a request body); [`open_attachment`] and [`verify_attachment`] drive it over
//! [`std::io::Read`]/[`std::io::Write`]. Each segment's plaintext is released only after its tag
//! verifies. Reordered or moved segments fail (the index is in the nonce), truncation at a segment
//! boundary fails (the last segment present was sealed with f = 0), extension fails (the real final
//! segment is no longer last, so its f = 1 no longer matches), a changed header fails every tag,
//! and a blob under the right key that is not the committed file fails the commitment check at the
//! end. Because the commitment can only be checked after the last segment, **plaintext released
//! before an error must be discarded**: write to a temporary file (or a database transaction) and
//! keep it only when opening returns `Ok`. Every failure has its own [`Error`] variant and stable
//! code (`attachment_header_invalid`, `attachment_tag_invalid`, `attachment_truncated`,
//! `attachment_non_canonical`, `attachment_length_mismatch`, `attachment_commitment_mismatch`,
//! `attachment_too_large`, `io_error`).

mod parallel;

pub use parallel::{Parallelism, open_attachment_with};

use std::io::{ErrorKind, Read, Write};

use aead::{AeadInOut, KeyInit};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::Error;
use crate::caead::Aes256CtrBlake3;
use crate::frank::constants::{ATTACHMENT_COMMITMENT_LEN, ATTACHMENT_HEADER_LEN, KEY_LEN, TAG_LEN};
use crate::frank::secret::SecretBytes;
use crate::util::{b64_decode_array, b64_encode, read_full};

/// The four magic bytes every attachment blob starts with.
pub const MAGIC: [u8; 4] = *b"FKAT";
/// The only blob format version this library reads and writes.
pub const VERSION: u8 = 1;
/// Suite byte for [`crate::caead::Aes256CtrBlake3`], the only attachment suite.
pub const SUITE_AES256CTR_BLAKE3: u8 = 1;
/// Length in bytes of the blob header.
pub const HEADER_LEN: usize = ATTACHMENT_HEADER_LEN;
/// Length in bytes of each segment's tag.
pub const SEGMENT_TAG_LEN: usize = TAG_LEN;
/// Default segment size: 64 KiB, large enough for BLAKE3's SIMD, small enough to stream.
pub const DEFAULT_SEGMENT_SIZE: u32 = 64 * 1024;
/// Smallest accepted segment size (keeps the per-segment overhead below 4%).
pub const MIN_SEGMENT_SIZE: u32 = 1024;
/// Largest accepted segment size: bounds the memory an untrusted header can make opening allocate.
pub const MAX_SEGMENT_SIZE: u32 = 16 * 1024 * 1024;
/// Longest accepted media type, in bytes.
pub const MAX_MEDIA_TYPE_LEN: usize = 255;
/// Domain-separation label of the whole-file commitment.
pub const COMMIT_LABEL: &[u8] = b"franking/v1 attachment commitment\0";

/// Size of the read buffer [`open_attachment`] uses (the opener adds at most one segment).
const READ_CHUNK: usize = 64 * 1024;

/// A 32-byte attachment file key `K_a`. Wiped on drop, compared in constant time; `Debug` never
/// prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct AttachmentKey(SecretBytes<KEY_LEN>);

impl AttachmentKey {
    /// A fresh random key from the operating system's generator (one per file; never reuse).
    pub fn generate() -> Result<Self, Error> {
        Ok(Self(SecretBytes::generate()?))
    }

    /// Wrap existing key bytes (for tests, known-answer vectors, or a key received in a message).
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(SecretBytes::from_bytes(bytes))
    }

    /// The raw key bytes; needed to serialise the key into a message or report. Secret.
    pub fn expose_secret(&self) -> &[u8; KEY_LEN] {
        self.0.expose()
    }
}

impl core::fmt::Debug for AttachmentKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("AttachmentKey(<redacted>)")
    }
}

impl zeroize::ZeroizeOnDrop for AttachmentKey {}

/// What a franked message says about one attachment: enough to fetch, decrypt and check it.
///
/// It travels inside the franked message content, so the platform's stamp and the message
/// commitment cover it; the blob itself may be stored anywhere. `Debug` prints the length only
/// (the rest is message plaintext, the key is secret).
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "AttachmentRefJson", into = "AttachmentRefJson")]
pub struct AttachmentRef {
    /// The file key `K_a`.
    pub key: AttachmentKey,
    /// The whole-file commitment (see the module docs); also a natural blob-store address.
    pub commitment: [u8; ATTACHMENT_COMMITMENT_LEN],
    /// Plaintext length in bytes.
    pub length: u64,
    /// Media type as declared by the sender, e.g. `image/jpeg` (printable ASCII, 1–255 bytes).
    /// Declared, not checked: see [`sniff_raster_image`] before displaying anything inline.
    pub media_type: String,
}

impl core::fmt::Debug for AttachmentRef {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AttachmentRef")
            .field("length", &self.length)
            .finish_non_exhaustive()
    }
}

/// JSON form of [`AttachmentRef`]: base64url (no padding) for the key and commitment.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct AttachmentRefJson {
    key: String,
    commitment: String,
    length: u64,
    media_type: String,
}

impl From<AttachmentRef> for AttachmentRefJson {
    fn from(r: AttachmentRef) -> Self {
        Self {
            key: b64_encode(r.key.expose_secret()),
            commitment: b64_encode(&r.commitment),
            length: r.length,
            media_type: r.media_type.clone(),
        }
    }
}

impl TryFrom<AttachmentRefJson> for AttachmentRef {
    type Error = Error;
    fn try_from(j: AttachmentRefJson) -> Result<Self, Error> {
        check_media_type(&j.media_type)?;
        Ok(Self {
            key: AttachmentKey(SecretBytes::from_zeroizing(b64_decode_array::<KEY_LEN>(
                "attachment key",
                &j.key,
            )?)),
            commitment: *b64_decode_array::<ATTACHMENT_COMMITMENT_LEN>(
                "attachment commitment",
                &j.commitment,
            )?,
            length: j.length,
            media_type: j.media_type.clone(),
        })
    }
}

impl Drop for AttachmentRefJson {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.key);
    }
}

/// Check that a media type is 1–255 bytes of printable ASCII (space allowed, for parameters);
/// otherwise [`Error::MalformedContent`].
pub fn check_media_type(media_type: &str) -> Result<(), Error> {
    let ok = !media_type.is_empty()
        && media_type.len() <= MAX_MEDIA_TYPE_LEN
        && media_type.bytes().all(|b| (0x20..=0x7e).contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::MalformedContent {
            what: "media type must be 1 to 255 bytes of printable ASCII",
        })
    }
}

/// Seals attachments with a chosen segment size and thread count. [`seal_attachment`] uses the
/// defaults (64 KiB segments, every core for files over 1 MiB: [`Parallelism::Available`]).
#[derive(Clone, Copy, Debug)]
pub struct AttachmentSealer {
    segment_size: u32,
    parallelism: Parallelism,
}

impl Default for AttachmentSealer {
    fn default() -> Self {
        Self {
            segment_size: DEFAULT_SEGMENT_SIZE,
            parallelism: Parallelism::default(),
        }
    }
}

impl AttachmentSealer {
    /// A sealer with a non-default segment size (a multiple of 16 in
    /// [`MIN_SEGMENT_SIZE`]..=[`MAX_SEGMENT_SIZE`], else [`Error::AttachmentHeader`]). Smaller
    /// segments cost more tags; larger ones cost more memory on both ends.
    pub fn with_segment_size(segment_size: u32) -> Result<Self, Error> {
        check_segment_size(segment_size)?;
        Ok(Self {
            segment_size,
            parallelism: Parallelism::default(),
        })
    }

    /// This sealer with another thread count, e.g. [`Parallelism::One`] to stay on the caller's
    /// thread (a phone on battery, a server already running one request per core). The default,
    /// [`Parallelism::Available`], uses every core once a file is over 1 MiB. The blob is
    /// byte-for-byte the same whatever the parallelism.
    #[must_use]
    pub fn with_parallelism(self, parallelism: Parallelism) -> Self {
        Self {
            parallelism,
            ..self
        }
    }

    /// The parallelism this sealer uses.
    pub fn parallelism(&self) -> Parallelism {
        self.parallelism
    }

    /// The segment size this sealer uses.
    pub fn segment_size(&self) -> u32 {
        self.segment_size
    }

    /// Seal everything `reader` yields under a fresh random key, writing the blob to `writer`.
    ///
    /// Memory use is two segments regardless of the input's size. Returns the reference to put in
    /// the message.
    pub fn seal<R: Read, W: Write>(
        &self,
        media_type: &str,
        reader: R,
        writer: W,
    ) -> Result<AttachmentRef, Error> {
        self.seal_with_key(AttachmentKey::generate()?, media_type, reader, writer)
    }

    /// Like [`AttachmentSealer::seal`] with a caller-chosen key (known-answer tests). The key must
    /// be fresh and random for real use: the nonces are deterministic.
    pub fn seal_with_key<R: Read, W: Write>(
        &self,
        key: AttachmentKey,
        media_type: &str,
        mut reader: R,
        mut writer: W,
    ) -> Result<AttachmentRef, Error> {
        check_media_type(media_type)?;
        let header = encode_header(self.segment_size);
        let cipher = Aes256CtrBlake3::new(key.expose_secret().into());
        let mut commit = commitment_hasher(&header);
        writer.write_all(&header)?;
        let segment = self.segment_size as usize;
        let total = match self.parallelism.threads() {
            1 => seal_segments(
                &cipher,
                &header,
                segment,
                &mut reader,
                &mut writer,
                &mut commit,
            )?,
            threads => parallel::seal_segments(
                &cipher,
                &header,
                segment,
                threads,
                &mut reader,
                &mut writer,
                &mut commit,
            )?,
        };
        writer.flush()?;
        Ok(AttachmentRef {
            key,
            commitment: *commit.finalize().as_bytes(),
            length: total,
            media_type: media_type.to_owned(),
        })
    }
}

/// Seal every segment `reader` yields on the caller's thread, writing `C_i ‖ T_i` and hashing
/// each tag into `commit`. Returns the plaintext length.
fn seal_segments<R: Read, W: Write>(
    cipher: &Aes256CtrBlake3,
    header: &[u8; HEADER_LEN],
    seg: usize,
    reader: &mut R,
    writer: &mut W,
    commit: &mut blake3::Hasher,
) -> Result<u64, Error> {
    let mut cur = Zeroizing::new(vec![0u8; seg]);
    let mut next = Zeroizing::new(vec![0u8; seg]);
    let mut n_cur = read_full(reader, &mut cur)?;
    let mut index: u64 = 0;
    let mut total: u64 = 0;
    loop {
        // Look one segment ahead: the current segment is final iff nothing follows it.
        let n_next = if n_cur == seg {
            read_full(reader, &mut next)?
        } else {
            0
        };
        let is_final = n_next == 0;
        let tag = seal_segment(cipher, header, index, is_final, &mut cur[..n_cur])?;
        writer.write_all(&cur[..n_cur])?;
        writer.write_all(&tag)?;
        commit.update(&tag);
        total = total
            .checked_add(n_cur as u64)
            .ok_or(Error::AttachmentTooLarge)?;
        if is_final {
            return Ok(total);
        }
        core::mem::swap(&mut cur, &mut next);
        n_cur = n_next;
        index = index.checked_add(1).ok_or(Error::AttachmentTooLarge)?;
    }
}

/// Encrypt one segment in place and return its tag `T_i`.
fn seal_segment(
    cipher: &Aes256CtrBlake3,
    header: &[u8; HEADER_LEN],
    index: u64,
    is_final: bool,
    segment: &mut [u8],
) -> Result<[u8; SEGMENT_TAG_LEN], Error> {
    let tag = cipher
        .encrypt_inout_detached(&segment_nonce(index, is_final), header, segment.into())
        .map_err(|_| Error::AttachmentTooLarge)?;
    let mut out = [0u8; SEGMENT_TAG_LEN];
    out.copy_from_slice(&tag);
    Ok(out)
}

/// Authenticate and decrypt one record `C_i ‖ T_i` in place: on success its first `ct_len` bytes
/// are the segment's plaintext. Returns `ct_len` and the tag.
fn open_segment(
    cipher: &Aes256CtrBlake3,
    header: &[u8; HEADER_LEN],
    index: u64,
    is_final: bool,
    record: &mut [u8],
) -> Result<(usize, [u8; SEGMENT_TAG_LEN]), Error> {
    let n = record.len();
    if n < SEGMENT_TAG_LEN {
        return Err(Error::AttachmentTruncated);
    }
    let ct_len = n - SEGMENT_TAG_LEN;
    if is_final && ct_len == 0 && index > 0 {
        return Err(Error::AttachmentNonCanonical {
            what: "empty final segment",
        });
    }
    let (ciphertext, tag_bytes) = record.split_at_mut(ct_len);
    let tag = aead::Tag::<Aes256CtrBlake3>::try_from(&*tag_bytes)
        .map_err(|_| Error::AttachmentTruncated)?;
    cipher
        .decrypt_inout_detached(
            &segment_nonce(index, is_final),
            header,
            ciphertext.into(),
            &tag,
        )
        .map_err(|_| Error::AttachmentTag { index })?;
    let mut out = [0u8; SEGMENT_TAG_LEN];
    out.copy_from_slice(tag_bytes);
    Ok((ct_len, out))
}

/// Seal an attachment with the default segment size and a fresh key; see [`AttachmentSealer`].
///
/// ```
/// use franking_core::frank::attachment::{open_attachment, seal_attachment};
///
/// let photo = vec![7u8; 200_000];
/// let mut blob = Vec::new();
/// let reference = seal_attachment("image/jpeg", photo.as_slice(), &mut blob)?;
/// assert_eq!(reference.length, 200_000);
///
/// let mut shown = Vec::new();
/// open_attachment(&reference, blob.as_slice(), &mut shown)?;
/// assert_eq!(shown, photo);
///
/// // One flipped bit anywhere in the blob and the recipient refuses it.
/// blob[100] ^= 1;
/// let err = open_attachment(&reference, blob.as_slice(), std::io::sink()).unwrap_err();
/// assert_eq!(err.code(), "attachment_tag_invalid");
/// # Ok::<(), franking_core::Error>(())
/// ```
pub fn seal_attachment<R: Read, W: Write>(
    media_type: &str,
    reader: R,
    writer: W,
) -> Result<AttachmentRef, Error> {
    AttachmentSealer::default().seal(media_type, reader, writer)
}

/// Push-style, I/O-free opening of one blob against its reference: feed the blob's bytes in any
/// chunking with [`AttachmentOpener::update`], then call [`AttachmentOpener::finish`].
///
/// Plaintext is appended to the caller's buffer one whole segment at a time, and only after that
/// segment's tag verified; the final segment is released only after the length and whole-file
/// commitment checks pass too. Memory: one record (segment + tag) of buffered input, at most
/// [`MAX_SEGMENT_SIZE`] + 32 bytes for a hostile header. After an error the opener is poisoned:
/// every later call returns that error again. **On any error, discard all plaintext released.**
///
/// ```
/// use franking_core::frank::attachment::{AttachmentOpener, seal_attachment};
///
/// let mut blob = Vec::new();
/// let reference = seal_attachment("text/plain", &b"hello"[..], &mut blob)?;
/// let mut opener = AttachmentOpener::new(&reference);
/// let mut plaintext = Vec::new();
/// for chunk in blob.chunks(7) {
///     opener.update(chunk, &mut plaintext)?; // e.g. write `plaintext` into a transaction
/// }
/// assert_eq!(opener.finish(&mut plaintext)?, 5); // ... and commit only now
/// assert_eq!(plaintext, b"hello");
/// # Ok::<(), franking_core::Error>(())
/// ```
pub struct AttachmentOpener {
    key: AttachmentKey,
    commitment: [u8; ATTACHMENT_COMMITMENT_LEN],
    length: u64,
    header: [u8; HEADER_LEN],
    header_filled: usize,
    /// `Some` once the header has been read and accepted.
    state: Option<OpenState>,
    failed: Option<Error>,
}

struct OpenState {
    cipher: Aes256CtrBlake3,
    /// The accepted header: every segment's associated data.
    header: [u8; HEADER_LEN],
    commit: blake3::Hasher,
    /// Segment size + tag length.
    record: usize,
    /// The bytes of the current record received so far (at most `record`).
    buf: Zeroizing<Vec<u8>>,
    index: u64,
    total: u64,
    /// Blob bytes received after the header.
    received: u64,
}

impl core::fmt::Debug for AttachmentOpener {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AttachmentOpener")
            .field("length", &self.length)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl AttachmentOpener {
    /// An opener checking a blob against `reference` (key, commitment, length).
    pub fn new(reference: &AttachmentRef) -> Self {
        Self {
            key: reference.key.clone(),
            commitment: reference.commitment,
            length: reference.length,
            header: [0; HEADER_LEN],
            header_filled: 0,
            state: None,
            failed: None,
        }
    }

    /// Feed the next bytes of the blob. Appends to `plaintext` every segment that is now known
    /// not to be the final one and whose tag verified (possibly none, possibly several).
    pub fn update(&mut self, input: &[u8], plaintext: &mut Vec<u8>) -> Result<(), Error> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let r = self.update_inner(input, plaintext);
        if let Err(e) = &r {
            self.failed = Some(e.clone());
        }
        r
    }

    /// End of the blob: verify the final segment, the total length and the whole-file commitment,
    /// then append the final segment's plaintext. Returns the file's length.
    pub fn finish(mut self, plaintext: &mut Vec<u8>) -> Result<u64, Error> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        let st = self.state.as_mut().ok_or(Error::AttachmentTruncated)?;
        let ct_len = st.finish(self.length, &self.commitment)?;
        plaintext.extend_from_slice(&st.buf[..ct_len]);
        Ok(st.total)
    }

    fn update_inner(&mut self, mut input: &[u8], plaintext: &mut Vec<u8>) -> Result<(), Error> {
        if self.state.is_none() {
            let take = (HEADER_LEN - self.header_filled).min(input.len());
            self.header[self.header_filled..self.header_filled + take]
                .copy_from_slice(&input[..take]);
            self.header_filled += take;
            input = &input[take..];
            if self.header_filled < HEADER_LEN {
                return Ok(());
            }
            self.state = Some(OpenState::new(&self.key, self.header)?);
        }
        let length = self.length;
        let Some(st) = self.state.as_mut() else {
            return Ok(());
        };
        while !input.is_empty() {
            if st.buf.len() == st.record {
                // A full record with more bytes after it: not the final segment.
                let ct_len = st.open_record(false, length)?;
                plaintext.extend_from_slice(&st.buf[..ct_len]);
                st.buf.clear();
                st.index = st.index.checked_add(1).ok_or(Error::AttachmentTooLarge)?;
            }
            let take = (st.record - st.buf.len()).min(input.len());
            st.buf.extend_from_slice(&input[..take]);
            st.received = st.received.saturating_add(take as u64);
            input = &input[take..];
        }
        Ok(())
    }
}

impl OpenState {
    /// The state after an accepted header (else [`Error::AttachmentHeader`]).
    fn new(key: &AttachmentKey, header: [u8; HEADER_LEN]) -> Result<Self, Error> {
        let record = decode_header(&header)? as usize + SEGMENT_TAG_LEN;
        Ok(OpenState {
            cipher: Aes256CtrBlake3::new(key.expose_secret().into()),
            commit: commitment_hasher(&header),
            header,
            record,
            buf: Zeroizing::new(Vec::with_capacity(record)),
            index: 0,
            total: 0,
            received: 0,
        })
    }

    /// Authenticate and decrypt the buffered record in place; returns the plaintext length.
    fn open_record(&mut self, is_final: bool, length: u64) -> Result<usize, Error> {
        let (ct_len, tag) = open_segment(
            &self.cipher,
            &self.header,
            self.index,
            is_final,
            &mut self.buf,
        )?;
        self.account(ct_len, &tag, length)?;
        Ok(ct_len)
    }

    /// Count an opened segment against the committed length and hash its tag, in order.
    fn account(&mut self, ct_len: usize, tag: &[u8], length: u64) -> Result<(), Error> {
        self.total = self
            .total
            .checked_add(ct_len as u64)
            .ok_or(Error::AttachmentTooLarge)?;
        if self.total > length {
            return Err(Error::AttachmentLengthMismatch {
                expected: length,
                actual: self.total,
            });
        }
        self.commit.update(tag);
        Ok(())
    }

    /// The buffered record is the last: open it as final, then check the total length and the
    /// whole-file commitment. Returns the final segment's plaintext length (in `buf`).
    fn finish(
        &mut self,
        length: u64,
        commitment: &[u8; ATTACHMENT_COMMITMENT_LEN],
    ) -> Result<usize, Error> {
        let seg = (self.record - SEGMENT_TAG_LEN) as u32;
        let expected_records = blob_len(length, seg).map_or(u64::MAX, |b| b - HEADER_LEN as u64);
        let ct_len = match self.open_record(true, length) {
            // The last segment present does not verify as final, and the blob is shorter than the
            // reference's length implies: it was cut.
            Err(Error::AttachmentTag { .. }) if self.received < expected_records => {
                return Err(Error::AttachmentTruncated);
            }
            r => r?,
        };
        if self.total != length {
            return Err(Error::AttachmentLengthMismatch {
                expected: length,
                actual: self.total,
            });
        }
        let computed = self.commit.finalize();
        if !bool::from(computed.as_bytes().ct_eq(commitment)) {
            return Err(Error::AttachmentCommitmentMismatch);
        }
        Ok(ct_len)
    }
}

/// Decrypt and check a blob against its reference, streaming plaintext to `writer`, with the
/// default [`Parallelism::Available`]: every core once the blob is over 1 MiB, the caller's thread
/// alone below ([`open_attachment_with`] chooses, e.g. [`Parallelism::One`] on battery).
///
/// Each segment is authenticated before it is written; the length and whole-file commitment are
/// checked at the end. **On `Err`, discard everything written to `writer`**: it may be a prefix of
/// a file the sender never committed to. Returns the number of plaintext bytes written.
///
/// Memory use is O(threads × max(256 KiB, segment size)): a 64 KiB read buffer plus about two
/// segments on one thread, at most `2 × threads + 2` jobs of 256 KiB on several.
pub fn open_attachment<R: Read, W: Write>(
    reference: &AttachmentRef,
    reader: R,
    writer: W,
) -> Result<u64, Error> {
    open_attachment_with(reference, reader, writer, Parallelism::default())
}

/// [`open_attachment`] on the caller's thread: the push-style [`AttachmentOpener`] over a reader.
fn open_attachment_one<R: Read, W: Write>(
    reference: &AttachmentRef,
    mut reader: R,
    mut writer: W,
) -> Result<u64, Error> {
    let mut opener = AttachmentOpener::new(reference);
    let mut chunk = Zeroizing::new(vec![0u8; READ_CHUNK]);
    let mut out = Zeroizing::new(Vec::new());
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        opener.update(&chunk[..n], &mut out)?;
        writer.write_all(&out)?;
        out.clear();
    }
    let total = opener.finish(&mut out)?;
    writer.write_all(&out)?;
    writer.flush()?;
    Ok(total)
}

/// Check a blob against its reference without keeping any plaintext (for example before
/// downloading it twice, or on a moderator's side). Same checks as [`open_attachment`].
pub fn verify_attachment<R: Read>(reference: &AttachmentRef, reader: R) -> Result<u64, Error> {
    open_attachment(reference, reader, std::io::sink())
}

/// Length of the blob that sealing `length` plaintext bytes with `segment_size` produces.
pub fn blob_len(length: u64, segment_size: u32) -> Option<u64> {
    let seg = u64::from(segment_size);
    if seg == 0 {
        return None;
    }
    let segments = length.div_ceil(seg).max(1);
    segments
        .checked_mul(SEGMENT_TAG_LEN as u64)?
        .checked_add(length)?
        .checked_add(HEADER_LEN as u64)
}

/// A raster image format recognised by its magic bytes ([`sniff_raster_image`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RasterImage {
    /// PNG: `89 50 4E 47 0D 0A 1A 0A`.
    Png,
    /// JPEG: `FF D8 FF`.
    Jpeg,
    /// GIF: `GIF87a` or `GIF89a`.
    Gif,
    /// WebP: `RIFF` ‖ 4 bytes ‖ `WEBP`.
    Webp,
}

impl RasterImage {
    /// The format's media type (`image/png`, `image/jpeg`, `image/gif`, `image/webp`).
    pub const fn media_type(self) -> &'static str {
        match self {
            RasterImage::Png => "image/png",
            RasterImage::Jpeg => "image/jpeg",
            RasterImage::Gif => "image/gif",
            RasterImage::Webp => "image/webp",
        }
    }
}

/// How many leading bytes [`sniff_raster_image`] looks at.
pub const SNIFF_LEN: usize = 12;

/// Which raster image format `prefix` (the first bytes of a file, at least [`SNIFF_LEN`] for
/// WebP) starts with, by magic bytes only; `None` for anything else (HTML, SVG, PDF, scripts, ...).
/// A server decides by this, never by the declared media type, whether a file may be shown inline.
pub fn sniff_raster_image(prefix: &[u8]) -> Option<RasterImage> {
    if prefix.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(RasterImage::Png)
    } else if prefix.starts_with(&[0xff, 0xd8, 0xff]) {
        Some(RasterImage::Jpeg)
    } else if prefix.starts_with(b"GIF87a") || prefix.starts_with(b"GIF89a") {
        Some(RasterImage::Gif)
    } else if prefix.len() >= SNIFF_LEN && prefix.starts_with(b"RIFF") && &prefix[8..12] == b"WEBP"
    {
        Some(RasterImage::Webp)
    } else {
        None
    }
}

/// A media type without parameters, trimmed and in lower case (`Image/PNG; x=y` → `image/png`).
fn media_type_essence(media_type: &str) -> String {
    media_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Whether a file may be shown inline (e.g. by a moderation console), and as which image format:
/// `Some` only when `prefix` (its first bytes, at least [`SNIFF_LEN`] for WebP) is a raster image
/// by its magic bytes ([`sniff_raster_image`]) **and** `media_type` declares that very format
/// (parameters and letter case ignored). HTML, SVG, scripts and anything mislabelled: `None`.
pub fn inline_image(media_type: &str, prefix: &[u8]) -> Option<RasterImage> {
    sniff_raster_image(prefix).filter(|image| image.media_type() == media_type_essence(media_type))
}

/// The usual file extension of a media type (parameters and letter case ignored), from a fixed
/// table; `bin` for anything not in it. For naming opened or downloaded files: the media type the
/// sender chose never reaches a file name except through this table.
pub fn file_extension(media_type: &str) -> &'static str {
    match media_type_essence(media_type).as_str() {
        "image/png" => "png",
        "image/jpeg" | "image/jpg" => "jpg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "image/bmp" => "bmp",
        "image/heic" => "heic",
        "application/pdf" => "pdf",
        "text/plain" => "txt",
        "audio/mpeg" => "mp3",
        "audio/ogg" => "ogg",
        "video/mp4" => "mp4",
        "video/webm" => "webm",
        _ => "bin",
    }
}

fn check_segment_size(segment_size: u32) -> Result<(), Error> {
    if !(MIN_SEGMENT_SIZE..=MAX_SEGMENT_SIZE).contains(&segment_size)
        || !segment_size.is_multiple_of(16)
    {
        return Err(Error::AttachmentHeader {
            what: "segment size must be a multiple of 16 between 1 KiB and 16 MiB",
        });
    }
    Ok(())
}

fn commitment_hasher(header: &[u8; HEADER_LEN]) -> blake3::Hasher {
    let mut commit = blake3::Hasher::new();
    commit.update(COMMIT_LABEL);
    commit.update(header);
    commit
}

fn encode_header(segment_size: u32) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..4].copy_from_slice(&MAGIC);
    h[4] = VERSION;
    h[5] = SUITE_AES256CTR_BLAKE3;
    h[8..].copy_from_slice(&segment_size.to_be_bytes());
    h
}

fn decode_header(h: &[u8; HEADER_LEN]) -> Result<u32, Error> {
    let bad = |what| Err(Error::AttachmentHeader { what });
    if h[..4] != MAGIC {
        return bad("not an attachment blob (bad magic)");
    }
    if h[4] != VERSION {
        return bad("unknown version");
    }
    if h[5] != SUITE_AES256CTR_BLAKE3 {
        return bad("unknown suite");
    }
    if h[6..8] != [0, 0] {
        return bad("reserved bytes are not zero");
    }
    let seg = u32::from_be_bytes([h[8], h[9], h[10], h[11]]);
    check_segment_size(seg)?;
    Ok(seg)
}

/// `be64(index) ‖ final-flag ‖ zero padding` to the suite's 12-byte nonce.
fn segment_nonce(index: u64, is_final: bool) -> aead::Nonce<Aes256CtrBlake3> {
    let mut n = aead::Nonce::<Aes256CtrBlake3>::default();
    n[..8].copy_from_slice(&index.to_be_bytes());
    n[8] = u8::from(is_final);
    n
}

#[cfg(test)]
mod tests {
    #[test]
    fn inline_only_for_matching_raster_images() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\0rest";
        assert_eq!(inline_image("image/png", png), Some(RasterImage::Png));
        assert_eq!(inline_image("IMAGE/PNG; x=y", png), Some(RasterImage::Png));
        assert_eq!(inline_image("image/jpeg", png), None);
        assert_eq!(inline_image("text/html", png), None);
        assert_eq!(inline_image("image/svg+xml", b"<svg xmlns=..."), None);
        assert_eq!(inline_image("image/png", b"<html><script>"), None);
        assert_eq!(
            inline_image("image/jpeg", &[0xff, 0xd8, 0xff, 0xe0]),
            Some(RasterImage::Jpeg)
        );
        assert_eq!(inline_image("image/png", b""), None);
    }

    #[test]
    fn extensions_from_media_types() {
        assert_eq!(file_extension("image/png"), "png");
        assert_eq!(file_extension("IMAGE/JPEG"), "jpg");
        assert_eq!(file_extension("text/plain; charset=utf-8"), "txt");
        assert_eq!(file_extension("application/pdf"), "pdf");
        // Unknown or hostile media types never shape the file name.
        assert_eq!(file_extension("text/html"), "bin");
        assert_eq!(file_extension("image/svg+xml"), "bin");
        assert_eq!(file_extension("image/../../etc/passwd"), "bin");
        assert_eq!(file_extension(""), "bin");
    }

    use super::*;

    #[test]
    fn blob_len_matches_sealed_output() {
        for len in [0usize, 1, 1023, 1024, 1025, 4096, 5000] {
            let data = vec![3u8; len];
            let mut blob = Vec::new();
            let sealer = AttachmentSealer::with_segment_size(1024).unwrap();
            let r = sealer.seal("a/b", data.as_slice(), &mut blob).unwrap();
            assert_eq!(
                Some(blob.len() as u64),
                blob_len(len as u64, 1024),
                "len {len}"
            );
            let mut out = Vec::new();
            assert_eq!(
                open_attachment(&r, blob.as_slice(), &mut out).unwrap(),
                len as u64
            );
            assert_eq!(out, data);
        }
    }

    #[test]
    fn header_rejections() {
        assert!(decode_header(&encode_header(1024)).is_ok());
        let mut cases = Vec::new();
        let mut h = encode_header(1024);
        h[0] ^= 1;
        cases.push(h);
        let mut h = encode_header(1024);
        h[4] = 2;
        cases.push(h);
        let mut h = encode_header(1024);
        h[5] = 9;
        cases.push(h);
        let mut h = encode_header(1024);
        h[7] = 1;
        cases.push(h);
        cases.push(encode_header(1000));
        cases.push(encode_header(u32::MAX));
        for h in cases {
            assert_eq!(
                decode_header(&h).unwrap_err().code(),
                "attachment_header_invalid"
            );
        }
    }

    #[test]
    fn opener_releases_only_verified_segments_in_any_chunking() {
        let data: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
        let mut blob = Vec::new();
        let r = AttachmentSealer::with_segment_size(1024)
            .unwrap()
            .seal("a/b", data.as_slice(), &mut blob)
            .unwrap();
        for chunk in [1, 7, 1056, 1057, 4096, blob.len()] {
            let mut o = AttachmentOpener::new(&r);
            let mut out = Vec::new();
            for c in blob.chunks(chunk) {
                o.update(c, &mut out).unwrap();
                // Never more than the whole segments seen so far, and never the final one.
                assert_eq!(out.len() % 1024, 0);
                assert!(out.len() < data.len());
            }
            assert_eq!(o.finish(&mut out).unwrap(), 5000);
            assert_eq!(out, data, "chunk {chunk}");
        }
        // A failure poisons the opener.
        let mut bad = blob.clone();
        bad[20] ^= 1;
        let mut o = AttachmentOpener::new(&r);
        let mut out = Vec::new();
        let e = o.update(&bad, &mut out).unwrap_err();
        assert_eq!(e, Error::AttachmentTag { index: 0 });
        assert!(out.is_empty());
        assert_eq!(o.update(&[], &mut out), Err(e.clone()));
        assert_eq!(o.finish(&mut out), Err(e));
    }

    #[test]
    fn sniffing() {
        assert_eq!(
            sniff_raster_image(b"\x89PNG\r\n\x1a\n...."),
            Some(RasterImage::Png)
        );
        assert_eq!(
            sniff_raster_image(&[0xff, 0xd8, 0xff, 0xe0]),
            Some(RasterImage::Jpeg)
        );
        assert_eq!(sniff_raster_image(b"GIF89a.."), Some(RasterImage::Gif));
        assert_eq!(sniff_raster_image(b"GIF87a"), Some(RasterImage::Gif));
        assert_eq!(
            sniff_raster_image(b"RIFF\0\0\0\0WEBPVP8 "),
            Some(RasterImage::Webp)
        );
        for other in [
            &b"RIFF\0\0\0\0WAVE"[..],
            b"<svg xmlns",
            b"<html>",
            b"%PDF-1.7",
            b"\x89PNG",
            b"GIF88a",
            b"",
        ] {
            assert_eq!(sniff_raster_image(other), None, "{other:?}");
        }
        assert_eq!(RasterImage::Webp.media_type(), "image/webp");
    }

    #[test]
    fn debug_is_redacted() {
        let k = AttachmentKey::from_bytes([0x41; 32]);
        assert_eq!(format!("{k:?}"), "AttachmentKey(<redacted>)");
        let r = AttachmentRef {
            key: k,
            commitment: [0x42; 32],
            length: 9,
            media_type: "image/secret".into(),
        };
        assert_eq!(format!("{r:?}"), "AttachmentRef { length: 9, .. }");
    }
}
