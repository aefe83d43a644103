//! The plaintext of a franked message: text plus attachment references, in a canonical binary form.
//!
//! The franking layer commits to opaque bytes M. The SDK puts a [`MessageContent`] in M, so the
//! commitment, the platform's stamp and any report cover the text *and* every attachment's key,
//! commitment, length and media type. A moderator decodes the same bytes to fetch and check the
//! attachments.
//!
//! ```text
//! M = "FKM" ‖ 0x01 ‖ be32(|text|) ‖ text (UTF-8) ‖ be16(n)
//!     ‖ n × ( K_a (32) ‖ commitment (32) ‖ be64(length) ‖ u8(|media type|) ‖ media type (ASCII) )
//! ```
//!
//! Decoding is strict: unknown versions, non-UTF-8 text, invalid media types, and trailing bytes are
//! refused, so each content has exactly one encoding.

use zeroize::Zeroizing;

use crate::attachment::{AttachmentKey, AttachmentRef, check_media_type};
use crate::{Error, Result};

/// Magic and version bytes at the start of every encoded content.
pub const CONTENT_PREFIX: [u8; 4] = *b"FKM\x01";
/// Most attachments one message may carry.
pub const MAX_ATTACHMENTS: usize = 64;

/// What the sender wants the recipient to see: text and attachments.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageContent {
    /// The message text (may be empty for an attachment-only message).
    pub text: String,
    /// References to attachments sealed with [`crate::attachment`].
    #[serde(default)]
    pub attachments: Vec<AttachmentRef>,
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
    pub fn encode(&self) -> Result<Zeroizing<Vec<u8>>> {
        let text_len = u32::try_from(self.text.len()).map_err(|_| Error::Malformed {
            what: "message content",
            reason: "text longer than 4 GiB".into(),
        })?;
        if self.attachments.len() > MAX_ATTACHMENTS {
            return Err(Error::Malformed {
                what: "message content",
                reason: format!("more than {MAX_ATTACHMENTS} attachments"),
            });
        }
        let mut out = Zeroizing::new(Vec::with_capacity(
            10 + self.text.len() + self.attachments.len() * 128,
        ));
        out.extend_from_slice(&CONTENT_PREFIX);
        out.extend_from_slice(&text_len.to_be_bytes());
        out.extend_from_slice(self.text.as_bytes());
        out.extend_from_slice(&(self.attachments.len() as u16).to_be_bytes());
        for a in &self.attachments {
            check_media_type(&a.media_type)?;
            out.extend_from_slice(a.key.as_bytes());
            out.extend_from_slice(&a.commitment);
            out.extend_from_slice(&a.length.to_be_bytes());
            out.push(a.media_type.len() as u8);
            out.extend_from_slice(a.media_type.as_bytes());
        }
        Ok(out)
    }

    /// Parse canonical bytes; refuses anything [`MessageContent::encode`] would not produce.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader(bytes);
        if r.take(4)? != CONTENT_PREFIX {
            return Err(malformed("unknown content magic or version"));
        }
        let text_len = u32::from_be_bytes(r.array()?) as usize;
        let text = std::str::from_utf8(r.take(text_len)?)
            .map_err(|_| malformed("text is not UTF-8"))?
            .to_owned();
        let n = u16::from_be_bytes(r.array()?) as usize;
        if n > MAX_ATTACHMENTS {
            return Err(malformed("too many attachments"));
        }
        let mut attachments = Vec::with_capacity(n);
        for _ in 0..n {
            let key = AttachmentKey::from_bytes(r.array()?);
            let commitment = r.array()?;
            let length = u64::from_be_bytes(r.array()?);
            let [mt_len] = r.array()?;
            let media_type = std::str::from_utf8(r.take(usize::from(mt_len))?)
                .map_err(|_| malformed("media type is not ASCII"))?
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
            return Err(malformed("trailing bytes"));
        }
        Ok(Self { text, attachments })
    }
}

fn malformed(reason: &str) -> Error {
    Error::Malformed {
        what: "message content",
        reason: reason.into(),
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.0.len() < n {
            return Err(malformed("truncated"));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
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
        assert!(MessageContent::decode(&longer).is_err());
        for cut in 0..bytes.len() {
            assert!(MessageContent::decode(&bytes[..cut]).is_err(), "cut {cut}");
        }
        let mut v2 = bytes.to_vec();
        v2[3] = 2;
        assert!(MessageContent::decode(&v2).is_err());
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<MessageContent>(&json).unwrap(), c);
    }
}
