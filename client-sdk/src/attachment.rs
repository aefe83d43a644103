//! Streaming attachments: fixed-size segments, bounded memory, one compact commitment per file.
//!
//! An attachment is encrypted under a fresh random file key `K_a` with the committing AEAD
//! [`franking_core::caead::Aes256CtrBlake3`] (CMT-4, compactly committing), segment by segment, so a
//! file of any size is sealed and opened with two segment buffers of memory. The sender uploads the
//! resulting blob to any (possibly deduplicating, possibly malicious) blob store and puts an
//! [`AttachmentRef`] — key, whole-file commitment, length, media type — inside the franked message.
//! Franking the message therefore franks the attachment: a verified report names exactly one file.
//!
//! # Format (version 1)
//!
//! ```text
//! header   = "FKAT" ‖ 0x01 (version) ‖ 0x01 (suite: Aes256CtrBlake3) ‖ 0x00 0x00 ‖ be32(S)   12 bytes
//! M        = M_0 ‖ M_1 ‖ … ‖ M_{n−1}    |M_i| = S for i < n−1,  1 ≤ |M_{n−1}| ≤ S  (0 only if n = 1)
//! N_i      = be64(i) ‖ f_i ‖ 0…0        f_i = 0x01 for the final segment i = n−1, else 0x00,
//!                                       zero-padded to the suite's nonce length
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
//! commitment), and the commitment is unkeyed BLAKE3 over a fixed-length label, a fixed-length header
//! and 32-byte tags, an injective encoding. Two different (K_a, file) openings with the same
//! commitment need either a BLAKE3 collision or, for some i, two different openings of one T_i — a
//! collision of the CAEAD's tag. Both cost about 2^128. In particular one blob cannot open to two
//! different files under two keys (the "invisible salamanders" failure of AES-GCM attachments).
//!
//! # What `open` refuses
//!
//! Every segment's tag is checked before its plaintext is written. Reordered or moved segments fail
//! (the index is in the nonce), truncation at a segment boundary fails (the last segment present was
//! sealed with f = 0), extension fails (the real final segment is no longer last, and its f = 1 no
//! longer matches), a changed header fails every tag, and a blob under the right key that is not the
//! committed file fails the commitment check at the end. Because the commitment can only be checked
//! after the last segment, **plaintext written before an error must be discarded**: write to a
//! temporary file and rename it only when [`open_attachment`] returns `Ok` (the `franking` CLI does
//! this), or run [`verify_attachment`] first when the blob can be read twice.

use std::io::{Read, Write};

use aead::{AeadInOut, KeyInit};
use franking_core::caead::Aes256CtrBlake3;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::util::{b64_decode_array, b64_encode, random_key, read_full};
use crate::{Error, Result};

/// The four magic bytes every attachment blob starts with.
pub const MAGIC: [u8; 4] = *b"FKAT";
/// The only blob format version this library reads and writes.
pub const VERSION: u8 = 1;
/// Suite byte for [`franking_core::caead::Aes256CtrBlake3`], the only attachment suite.
pub const SUITE_AES256CTR_BLAKE3: u8 = 1;
/// Length in bytes of the blob header.
pub const HEADER_LEN: usize = 12;
/// Length in bytes of each segment's tag.
pub const TAG_LEN: usize = 32;
/// Default segment size: 64 KiB, large enough for BLAKE3's SIMD, small enough to stream.
pub const DEFAULT_SEGMENT_SIZE: u32 = 64 * 1024;
/// Smallest accepted segment size (keeps the per-segment overhead below 4%).
pub const MIN_SEGMENT_SIZE: u32 = 1024;
/// Largest accepted segment size: bounds the memory an untrusted header can make `open` allocate.
pub const MAX_SEGMENT_SIZE: u32 = 16 * 1024 * 1024;
/// Longest accepted media type, in bytes.
pub const MAX_MEDIA_TYPE_LEN: usize = 255;

const COMMIT_LABEL: &[u8] = b"franking/v1 attachment commitment\0";

/// A 32-byte attachment file key `K_a`. Wiped on drop; `Debug` never prints it.
#[derive(Clone)]
pub struct AttachmentKey(Zeroizing<[u8; 32]>);

impl AttachmentKey {
    /// A fresh random key from the operating system's generator (one per file; never reuse).
    pub fn generate() -> Result<Self> {
        Ok(Self(random_key()?))
    }

    /// Wrap existing key bytes (for tests, known-answer vectors, or a key received in a message).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The raw key bytes; needed to serialise the key into a message or report.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl core::fmt::Debug for AttachmentKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("AttachmentKey(..)")
    }
}

impl PartialEq for AttachmentKey {
    fn eq(&self, other: &Self) -> bool {
        bool::from(self.0.ct_eq(&*other.0))
    }
}
impl Eq for AttachmentKey {}

/// What a franked message says about one attachment: enough to fetch, decrypt and check it.
///
/// It travels inside the franked message content (see [`crate::MessageContent`]), so the platform's
/// stamp and the message commitment cover it; the blob itself may be stored anywhere.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "AttachmentRefJson", into = "AttachmentRefJson")]
pub struct AttachmentRef {
    /// The file key `K_a`.
    pub key: AttachmentKey,
    /// The whole-file commitment (see the module docs); also a natural blob-store address.
    pub commitment: [u8; 32],
    /// Plaintext length in bytes.
    pub length: u64,
    /// Media type as declared by the sender, e.g. `image/jpeg` (printable ASCII, 1–255 bytes).
    pub media_type: String,
}

/// JSON form of [`AttachmentRef`]: base64url (no padding) for the key and commitment.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
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
            key: b64_encode(r.key.as_bytes()),
            commitment: b64_encode(&r.commitment),
            length: r.length,
            media_type: r.media_type,
        }
    }
}

impl TryFrom<AttachmentRefJson> for AttachmentRef {
    type Error = Error;
    fn try_from(j: AttachmentRefJson) -> Result<Self> {
        check_media_type(&j.media_type)?;
        Ok(Self {
            key: AttachmentKey(b64_decode_array::<32>("attachment key", &j.key)?),
            commitment: *b64_decode_array::<32>("attachment commitment", &j.commitment)?,
            length: j.length,
            media_type: j.media_type,
        })
    }
}

/// Check that a media type is 1–255 bytes of printable ASCII (space allowed, for parameters).
pub(crate) fn check_media_type(media_type: &str) -> Result<()> {
    let ok = !media_type.is_empty()
        && media_type.len() <= MAX_MEDIA_TYPE_LEN
        && media_type.bytes().all(|b| (0x20..=0x7e).contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::Malformed {
            what: "media type",
            reason: "must be 1 to 255 bytes of printable ASCII".into(),
        })
    }
}

/// Seals attachments with a chosen segment size. [`seal_attachment`] uses the defaults.
#[derive(Clone, Copy, Debug)]
pub struct AttachmentSealer {
    segment_size: u32,
}

impl Default for AttachmentSealer {
    fn default() -> Self {
        Self {
            segment_size: DEFAULT_SEGMENT_SIZE,
        }
    }
}

impl AttachmentSealer {
    /// A sealer with a non-default segment size (a multiple of 16 in
    /// [`MIN_SEGMENT_SIZE`]..=[`MAX_SEGMENT_SIZE`]). Smaller segments cost more tags; larger ones
    /// cost more memory on both ends.
    pub fn with_segment_size(segment_size: u32) -> Result<Self> {
        check_segment_size(segment_size)?;
        Ok(Self { segment_size })
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
    ) -> Result<AttachmentRef> {
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
    ) -> Result<AttachmentRef> {
        check_media_type(media_type)?;
        let header = encode_header(self.segment_size);
        let cipher = Aes256CtrBlake3::new(key.as_bytes().into());
        let mut commit = blake3::Hasher::new();
        commit.update(COMMIT_LABEL);
        commit.update(&header);
        writer.write_all(&header)?;

        let seg = self.segment_size as usize;
        let mut cur = Zeroizing::new(vec![0u8; seg]);
        let mut next = Zeroizing::new(vec![0u8; seg]);
        let mut n_cur = read_full(&mut reader, &mut cur)?;
        let mut index: u64 = 0;
        let mut total: u64 = 0;
        loop {
            // Look one segment ahead: the current segment is final iff nothing follows it.
            let n_next = if n_cur == seg {
                read_full(&mut reader, &mut next)?
            } else {
                0
            };
            let is_final = n_next == 0;
            let nonce = segment_nonce(index, is_final);
            let tag = cipher
                .encrypt_inout_detached(&nonce, &header, (&mut cur[..n_cur]).into())
                .map_err(|_| Error::AttachmentTooLarge)?;
            writer.write_all(&cur[..n_cur])?;
            writer.write_all(&tag)?;
            commit.update(&tag);
            total = total
                .checked_add(n_cur as u64)
                .ok_or(Error::AttachmentTooLarge)?;
            if is_final {
                break;
            }
            core::mem::swap(&mut cur, &mut next);
            n_cur = n_next;
            index = index.checked_add(1).ok_or(Error::AttachmentTooLarge)?;
        }
        writer.flush()?;
        Ok(AttachmentRef {
            key,
            commitment: *commit.finalize().as_bytes(),
            length: total,
            media_type: media_type.to_owned(),
        })
    }
}

/// Seal an attachment with the default segment size and a fresh key; see [`AttachmentSealer`].
///
/// ```
/// use client_sdk::attachment::{open_attachment, seal_attachment};
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
/// assert!(open_attachment(&reference, blob.as_slice(), std::io::sink()).is_err());
/// # Ok::<(), client_sdk::Error>(())
/// ```
pub fn seal_attachment<R: Read, W: Write>(
    media_type: &str,
    reader: R,
    writer: W,
) -> Result<AttachmentRef> {
    AttachmentSealer::default().seal(media_type, reader, writer)
}

/// Decrypt and check a blob against its reference, streaming plaintext to `writer`.
///
/// Each segment is authenticated before it is written; the length and whole-file commitment are
/// checked at the end. **On `Err`, discard everything written to `writer`**: it may be a prefix of
/// a file the sender never committed to. Returns the number of plaintext bytes written.
///
/// Memory use is two segments (at most 2 × ([`MAX_SEGMENT_SIZE`] + 32) bytes for a hostile header).
pub fn open_attachment<R: Read, W: Write>(
    reference: &AttachmentRef,
    mut reader: R,
    mut writer: W,
) -> Result<u64> {
    let mut header = [0u8; HEADER_LEN];
    if read_full(&mut reader, &mut header)? < HEADER_LEN {
        return Err(Error::AttachmentTruncated);
    }
    let seg = decode_header(&header)? as usize;
    let cipher = Aes256CtrBlake3::new(reference.key.as_bytes().into());
    let mut commit = blake3::Hasher::new();
    commit.update(COMMIT_LABEL);
    commit.update(&header);

    let record = seg + TAG_LEN;
    let mut cur = Zeroizing::new(vec![0u8; record]);
    let mut next = Zeroizing::new(vec![0u8; record]);
    let mut n_cur = read_full(&mut reader, &mut cur)?;
    let mut index: u64 = 0;
    let mut total: u64 = 0;
    loop {
        if n_cur < TAG_LEN {
            return Err(Error::AttachmentTruncated);
        }
        let n_next = if n_cur == record {
            read_full(&mut reader, &mut next)?
        } else {
            0
        };
        let is_final = n_next == 0;
        let ct_len = n_cur - TAG_LEN;
        if is_final && ct_len == 0 && index > 0 {
            return Err(Error::AttachmentNonCanonical("empty final segment"));
        }
        let (ciphertext, tag) = cur[..n_cur].split_at_mut(ct_len);
        let tag = aead::Tag::<Aes256CtrBlake3>::try_from(&*tag)
            .map_err(|_| Error::AttachmentTruncated)?;
        let nonce = segment_nonce(index, is_final);
        cipher
            .decrypt_inout_detached(&nonce, &header, ciphertext.into(), &tag)
            .map_err(|_| Error::AttachmentSegment { index })?;
        total = total
            .checked_add(ct_len as u64)
            .ok_or(Error::AttachmentTooLarge)?;
        if total > reference.length {
            return Err(Error::AttachmentLength {
                expected: reference.length,
                actual: total,
            });
        }
        writer.write_all(ciphertext)?;
        commit.update(&tag);
        if is_final {
            break;
        }
        core::mem::swap(&mut cur, &mut next);
        n_cur = n_next;
        index = index.checked_add(1).ok_or(Error::AttachmentTooLarge)?;
    }
    if total != reference.length {
        return Err(Error::AttachmentLength {
            expected: reference.length,
            actual: total,
        });
    }
    if !bool::from(commit.finalize().as_bytes().ct_eq(&reference.commitment)) {
        return Err(Error::AttachmentCommitment);
    }
    writer.flush()?;
    Ok(total)
}

/// Check a blob against its reference without keeping any plaintext (for example before
/// downloading it twice, or on a moderator's side). Same checks as [`open_attachment`].
pub fn verify_attachment<R: Read>(reference: &AttachmentRef, reader: R) -> Result<u64> {
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
        .checked_mul(TAG_LEN as u64)?
        .checked_add(length)?
        .checked_add(HEADER_LEN as u64)
}

fn check_segment_size(segment_size: u32) -> Result<()> {
    if !(MIN_SEGMENT_SIZE..=MAX_SEGMENT_SIZE).contains(&segment_size)
        || !segment_size.is_multiple_of(16)
    {
        return Err(Error::AttachmentHeader(
            "segment size must be a multiple of 16 between 1 KiB and 16 MiB",
        ));
    }
    Ok(())
}

fn encode_header(segment_size: u32) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..4].copy_from_slice(&MAGIC);
    h[4] = VERSION;
    h[5] = SUITE_AES256CTR_BLAKE3;
    h[8..].copy_from_slice(&segment_size.to_be_bytes());
    h
}

fn decode_header(h: &[u8; HEADER_LEN]) -> Result<u32> {
    if h[..4] != MAGIC {
        return Err(Error::AttachmentHeader(
            "not an attachment blob (bad magic)",
        ));
    }
    if h[4] != VERSION {
        return Err(Error::AttachmentHeader("unknown version"));
    }
    if h[5] != SUITE_AES256CTR_BLAKE3 {
        return Err(Error::AttachmentHeader("unknown suite"));
    }
    if h[6..8] != [0, 0] {
        return Err(Error::AttachmentHeader("reserved bytes are not zero"));
    }
    let seg = u32::from_be_bytes([h[8], h[9], h[10], h[11]]);
    check_segment_size(seg)?;
    Ok(seg)
}

/// `be64(index) ‖ final-flag ‖ zero padding` to the suite's nonce length (at least 9 bytes).
fn segment_nonce(index: u64, is_final: bool) -> aead::Nonce<Aes256CtrBlake3> {
    let mut n = aead::Nonce::<Aes256CtrBlake3>::default();
    n[..8].copy_from_slice(&index.to_be_bytes());
    n[8] = u8::from(is_final);
    n
}

#[cfg(test)]
mod tests {
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
        let mut h = encode_header(1024);
        h[0] ^= 1;
        assert!(decode_header(&h).is_err());
        let mut h = encode_header(1024);
        h[4] = 2;
        assert!(decode_header(&h).is_err());
        let mut h = encode_header(1024);
        h[5] = 9;
        assert!(decode_header(&h).is_err());
        let mut h = encode_header(1024);
        h[7] = 1;
        assert!(decode_header(&h).is_err());
        assert!(decode_header(&encode_header(1000)).is_err());
        assert!(decode_header(&encode_header(u32::MAX)).is_err());
    }

    #[test]
    fn key_debug_is_redacted() {
        let k = AttachmentKey::from_bytes([0x41; 32]);
        assert_eq!(format!("{k:?}"), "AttachmentKey(..)");
    }
}
