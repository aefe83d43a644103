//! The plaintext of a franked message: text plus attachment references, in a canonical binary form.
//!
//! The franking layer commits to opaque bytes M. Clients of this project put a [`MessageContent`]
//! in M, so the commitment, the platform's stamp and any report cover the text *and* every
//! attachment's key, commitment, length and media type. A moderator decodes the same bytes to fetch
//! and check the attachments ([`crate::frank::attachment`]). Platforms that frank their own formats
//! stay supported: [`MessageContent::decode_if_content`] tells "not this format" apart from "this
//! format, but invalid". Specified in `docs/protocol.md` §7 (vectors: `docs/vectors/content.json`).
//!
//! ```text
//! M = "FKM" ‖ 0x01 ‖ be32(|text|) ‖ text (UTF-8) ‖ be16(n)
//!     ‖ n × ( K_a (32) ‖ commitment (32) ‖ be64(length) ‖ u8(|media type|) ‖ media type (ASCII) )
//! ```
//!
//! Decoding is strict — non-UTF-8 text, more than [`MAX_ATTACHMENTS`] attachments, an invalid
//! media type, truncation and trailing bytes are refused — so each content has exactly one encoding.

use zeroize::Zeroizing;

use crate::Error;
use crate::frank::attachment::{AttachmentKey, AttachmentRef, check_media_type};
use crate::frank::constants::{ATTACHMENT_COMMITMENT_LEN, KEY_LEN};

/// The three magic bytes that mark the message content format.
pub const CONTENT_MAGIC: [u8; 3] = *b"FKM";
/// The content format version this library reads and writes.
pub const CONTENT_VERSION: u8 = 1;
/// Magic and version bytes at the start of every encoded content.
pub const CONTENT_PREFIX: [u8; 4] = *b"FKM\x01";
/// Most attachments one message may carry.
pub const MAX_ATTACHMENTS: usize = 64;

/// What the sender wants the recipient to see: text and attachments.
///
/// `Debug` prints lengths only (never the text, keys or media types).
#[derive(Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageContent {
    /// The message text (may be empty for an attachment-only message).
    pub text: String,
    /// References to attachments sealed with [`crate::frank::attachment`].
    #[serde(default)]
    pub attachments: Vec<AttachmentRef>,
}

impl core::fmt::Debug for MessageContent {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MessageContent")
            .field("text_len", &self.text.len())
            .field("attachments", &self.attachments.len())
            .finish()
    }
}

impl MessageContent {
    /// A text-only message.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            attachments: Vec::new(),
        }
    }

    /// Canonical bytes (the franked plaintext M). Wiped on drop since they contain file keys.
    /// Text over 4 GiB, too many attachments or an invalid media type: [`Error::MalformedContent`].
    pub fn encode(&self) -> Result<Zeroizing<Vec<u8>>, Error> {
        let text_len = u32::try_from(self.text.len()).map_err(|_| Error::MalformedContent {
            what: "text longer than 4 GiB",
        })?;
        let n = u16::try_from(self.attachments.len())
            .ok()
            .filter(|&n| usize::from(n) <= MAX_ATTACHMENTS)
            .ok_or(Error::MalformedContent {
                what: "too many attachments",
            })?;
        let mut out = Zeroizing::new(Vec::with_capacity(
            CONTENT_PREFIX.len() + 6 + self.text.len() + self.attachments.len() * 128,
        ));
        out.extend_from_slice(&CONTENT_PREFIX);
        out.extend_from_slice(&text_len.to_be_bytes());
        out.extend_from_slice(self.text.as_bytes());
        out.extend_from_slice(&n.to_be_bytes());
        for a in &self.attachments {
            check_media_type(&a.media_type)?;
            out.extend_from_slice(a.key.expose_secret());
            out.extend_from_slice(&a.commitment);
            out.extend_from_slice(&a.length.to_be_bytes());
            // check_media_type bounds the length to 255.
            out.push(a.media_type.len() as u8);
            out.extend_from_slice(a.media_type.as_bytes());
        }
        Ok(out)
    }

    /// Parse canonical bytes; refuses anything [`MessageContent::encode`] would not produce:
    /// [`Error::NotMessageContent`] without the `"FKM"` magic, [`Error::UnsupportedContentVersion`]
    /// for another version, [`Error::MalformedContent`] for everything else.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let Some(rest) = bytes.strip_prefix(&CONTENT_MAGIC) else {
            return Err(Error::NotMessageContent);
        };
        let mut r = Reader(rest);
        let [version] = r.array()?;
        if version != CONTENT_VERSION {
            return Err(Error::UnsupportedContentVersion(version));
        }
        let text_len = u32::from_be_bytes(r.array()?) as usize;
        let text = std::str::from_utf8(r.take(text_len)?)
            .map_err(|_| Error::MalformedContent {
                what: "text is not UTF-8",
            })?
            .to_owned();
        let n = usize::from(u16::from_be_bytes(r.array()?));
        if n > MAX_ATTACHMENTS {
            return Err(Error::MalformedContent {
                what: "too many attachments",
            });
        }
        let mut attachments = Vec::with_capacity(n);
        for _ in 0..n {
            let key = AttachmentKey::from_bytes(*Zeroizing::new(r.array::<KEY_LEN>()?));
            let commitment = r.array::<ATTACHMENT_COMMITMENT_LEN>()?;
            let length = u64::from_be_bytes(r.array()?);
            let [mt_len] = r.array()?;
            let media_type = std::str::from_utf8(r.take(usize::from(mt_len))?)
                .map_err(|_| Error::MalformedContent {
                    what: "media type must be 1 to 255 bytes of printable ASCII",
                })?
                .to_owned();
            check_media_type(&media_type)?;
            attachments.push(AttachmentRef {
                key,
                commitment,
                length,
                media_type,
            });
        }
        if !r.0.is_empty() {
            return Err(Error::MalformedContent {
                what: "trailing bytes",
            });
        }
        Ok(Self { text, attachments })
    }

    /// [`MessageContent::decode`], but a plaintext of another format (no `"FKM"` magic) is
    /// `Ok(None)`, so callers can show it as bytes (and as text when it is UTF-8). A plaintext that
    /// claims this format but is invalid is still an error.
    pub fn decode_if_content(bytes: &[u8]) -> Result<Option<Self>, Error> {
        match Self::decode(bytes) {
            Ok(c) => Ok(Some(c)),
            Err(Error::NotMessageContent) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        if self.0.len() < n {
            return Err(Error::MalformedContent { what: "truncated" });
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> MessageContent {
        MessageContent {
            text: "héllo".into(),
            attachments: vec![AttachmentRef {
                key: AttachmentKey::from_bytes([1; 32]),
                commitment: [2; 32],
                length: 77,
                media_type: "image/png".into(),
            }],
        }
    }

    #[test]
    fn round_trip_and_strictness() {
        let c = sample();
        let bytes = c.encode().unwrap();
        assert_eq!(MessageContent::decode(&bytes).unwrap(), c);
        let mut longer = bytes.to_vec();
        longer.push(0);
        assert_eq!(
            MessageContent::decode(&longer).unwrap_err().code(),
            "content_malformed"
        );
        for cut in 0..bytes.len() {
            let code = MessageContent::decode(&bytes[..cut]).unwrap_err().code();
            let expected = if cut < 3 {
                "not_message_content"
            } else {
                "content_malformed"
            };
            assert_eq!(code, expected, "cut {cut}");
        }
        let mut v2 = bytes.to_vec();
        v2[3] = 2;
        assert_eq!(
            MessageContent::decode(&v2),
            Err(Error::UnsupportedContentVersion(2))
        );
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<MessageContent>(&json).unwrap(), c);
    }

    #[test]
    fn other_formats_are_told_apart() {
        assert_eq!(MessageContent::decode_if_content(b"plain text"), Ok(None));
        assert_eq!(MessageContent::decode_if_content(b""), Ok(None));
        assert_eq!(
            MessageContent::decode_if_content(b"FKM\x01\0\0\0\x02hi\0\0"),
            Ok(Some(MessageContent::text("hi")))
        );
        assert_eq!(
            MessageContent::decode_if_content(b"FKM\x01\0\0"),
            Err(Error::MalformedContent { what: "truncated" })
        );
    }

    #[test]
    fn debug_prints_lengths_only() {
        let shown = format!("{:?}", sample());
        assert_eq!(shown, "MessageContent { text_len: 6, attachments: 1 }");
    }
}
