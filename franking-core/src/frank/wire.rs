//! The canonical binary encoding, in one place: a writer, a reader, and base64url helpers for JSON.
//!
//! ```text
//! object = version:u8 (= 0x01) ‖ type:u8 ‖ field*
//! field  = be32(len) ‖ len bytes                 (every value is exactly one length-prefixed string)
//! ```
//!
//! Integers are fixed-size big-endian byte strings inside a field (u8 → 1 byte, u32 → 4, u64 → 8),
//! strings are UTF-8, a nested object is a field holding the object's full encoding (with its own
//! version and type bytes), and a list is a field holding the concatenation of its items' fields.
//! Decoders check the version first, then the type, then every field's exact size, and reject any
//! trailing byte: there is exactly one encoding per value.

use hmac::Mac;

use crate::Error;
use crate::frank::VERSION;

/// Object type bytes (the second byte of every top-level encoding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum ObjType {
    Envelope = 0x01,
    Context = 0x02,
    Stamp = 0x03,
    Report = 0x04,
    ReportedMessage = 0x05,
}

/// Somewhere encoded bytes go: a buffer, or straight into a MAC (stamping without allocation).
pub(crate) trait Sink {
    /// Append bytes.
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

impl Sink for hmac::Hmac<sha2::Sha256> {
    fn put(&mut self, bytes: &[u8]) {
        self.update(bytes);
    }
}

/// Writes one object. Lengths over `u32::MAX` poison the writer; `finish` then fails.
pub(crate) struct Writer<'s, S: Sink> {
    sink: &'s mut S,
    overflow: bool,
}

impl<'s, S: Sink> Writer<'s, S> {
    /// Start an object of type `ty` in `sink`.
    pub(crate) fn new(sink: &'s mut S, ty: ObjType) -> Self {
        sink.put(&[VERSION, ty as u8]);
        Self {
            sink,
            overflow: false,
        }
    }

    /// Write the length prefix for a field of `len` bytes.
    pub(crate) fn prefix(&mut self, len: usize) {
        match u32::try_from(len) {
            Ok(l) => self.sink.put(&l.to_be_bytes()),
            Err(_) => {
                self.overflow = true;
                self.sink.put(&u32::MAX.to_be_bytes());
            }
        }
    }

    /// One field holding `bytes`.
    pub(crate) fn bytes(&mut self, bytes: &[u8]) {
        self.prefix(bytes.len());
        self.sink.put(bytes);
    }

    /// One field holding a byte.
    pub(crate) fn u8(&mut self, v: u8) {
        self.bytes(&[v]);
    }

    /// One field holding a big-endian u32.
    pub(crate) fn u32(&mut self, v: u32) {
        self.bytes(&v.to_be_bytes());
    }

    /// One field holding a big-endian u64.
    pub(crate) fn u64(&mut self, v: u64) {
        self.bytes(&v.to_be_bytes());
    }

    /// One field holding a list of byte strings (each length-prefixed inside the field).
    pub(crate) fn list<'a>(&mut self, items: impl Iterator<Item = &'a [u8]> + Clone) {
        let total = items
            .clone()
            .try_fold(0usize, |acc, i| acc.checked_add(4)?.checked_add(i.len()));
        match total {
            Some(t) => self.prefix(t),
            None => self.overflow = true,
        }
        for item in items {
            self.bytes(item);
        }
    }

    /// Finish: an error if some length did not fit in 32 bits.
    pub(crate) fn finish(self) -> Result<(), Error> {
        if self.overflow {
            Err(Error::Malformed {
                what: "field longer than 2^32 - 1 bytes",
            })
        } else {
            Ok(())
        }
    }
}

/// Encode one object into a fresh buffer.
pub(crate) fn encode(
    ty: ObjType,
    f: impl FnOnce(&mut Writer<'_, Vec<u8>>),
) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    let mut w = Writer::new(&mut out, ty);
    f(&mut w);
    w.finish()?;
    Ok(out)
}

/// Reads the fields of one object (or of a list field).
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Check the version and type bytes of an object and return a reader over its fields.
    pub(crate) fn object(input: &'a [u8], ty: ObjType) -> Result<Self, Error> {
        let (&version, rest) = input.split_first().ok_or(Error::Malformed {
            what: "truncated: empty input",
        })?;
        if version != VERSION {
            return Err(Error::UnsupportedVersion(version));
        }
        let (&t, rest) = rest.split_first().ok_or(Error::Malformed {
            what: "truncated: missing object type",
        })?;
        if t != ty as u8 {
            return Err(Error::Malformed {
                what: "wrong object type",
            });
        }
        Ok(Self { buf: rest })
    }

    /// A reader over the items of a list field.
    pub(crate) fn list(items: &'a [u8]) -> Self {
        Self { buf: items }
    }

    /// Whether every byte has been consumed.
    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The next field's bytes.
    pub(crate) fn bytes(&mut self, what: &'static str) -> Result<&'a [u8], Error> {
        let truncated = Error::Malformed { what };
        let (len, rest) = self.buf.split_first_chunk::<4>().ok_or(truncated.clone())?;
        let len = usize::try_from(u32::from_be_bytes(*len)).map_err(|_| truncated.clone())?;
        if rest.len() < len {
            return Err(truncated);
        }
        let (field, rest) = rest.split_at(len);
        self.buf = rest;
        Ok(field)
    }

    /// The next field, which must be exactly `N` bytes.
    pub(crate) fn fixed<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], Error> {
        let b = self.bytes(what)?;
        <[u8; N]>::try_from(b).map_err(|_| Error::Malformed { what })
    }

    /// The next field as a byte.
    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, Error> {
        Ok(self.fixed::<1>(what)?[0])
    }

    /// The next field as a big-endian u32.
    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, Error> {
        Ok(u32::from_be_bytes(self.fixed(what)?))
    }

    /// The next field as a big-endian u64.
    pub(crate) fn u64(&mut self, what: &'static str) -> Result<u64, Error> {
        Ok(u64::from_be_bytes(self.fixed(what)?))
    }

    /// The next field as UTF-8 text.
    pub(crate) fn string(&mut self, what: &'static str) -> Result<String, Error> {
        let b = self.bytes(what)?;
        String::from_utf8(b.to_vec()).map_err(|_| Error::Malformed { what })
    }

    /// Reject trailing bytes.
    pub(crate) fn finish(self) -> Result<(), Error> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(Error::Malformed {
                what: "trailing bytes",
            })
        }
    }
}

/// `deserialize_with` for an optional field that is omitted when absent: a present value must be a
/// `T`, so an explicit `null` is refused (one encoding per value). Use with
/// `#[serde(default, skip_serializing_if = "Option::is_none")]`.
pub(crate) fn present<'de, D: serde::Deserializer<'de>, T: serde::Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// `serde(with = ...)` helpers for byte fields in the JSON form.
pub(crate) mod b64 {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    /// Serialize bytes as base64url without padding.
    pub(crate) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::util::b64_encode(bytes))
    }

    /// Deserialize base64url without padding into a `Vec<u8>`.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        crate::util::b64_decode(&s).map_err(D::Error::custom)
    }

    /// Fixed-size arrays.
    pub(crate) mod array {
        use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

        /// Serialize a fixed-size array as base64url without padding.
        pub(crate) fn serialize<S: Serializer, const N: usize>(
            bytes: &[u8; N],
            s: S,
        ) -> Result<S::Ok, S::Error> {
            s.serialize_str(&crate::util::b64_encode(bytes))
        }

        /// Deserialize base64url into exactly `N` bytes.
        pub(crate) fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
            d: D,
        ) -> Result<[u8; N], D::Error> {
            let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
            crate::util::b64_decode_array::<N>("base64url field", &s)
                .map(|a| *a)
                .map_err(D::Error::custom)
        }
    }

    /// Optional fixed-size arrays (absent = `None`; an explicit `null` is refused: one encoding per
    /// value). Use with `#[serde(default, skip_serializing_if = "Option::is_none")]`.
    pub(crate) mod opt_array {
        use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

        /// Serialize an optional fixed-size array.
        pub(crate) fn serialize<S: Serializer, const N: usize>(
            bytes: &Option<[u8; N]>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match bytes {
                Some(b) => s.serialize_some(&crate::util::b64_encode(b)),
                None => s.serialize_none(),
            }
        }

        /// Deserialize an optional fixed-size array.
        pub(crate) fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
            d: D,
        ) -> Result<Option<[u8; N]>, D::Error> {
            let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
            crate::util::b64_decode_array::<N>("base64url field", &s)
                .map(|a| Some(*a))
                .map_err(D::Error::custom)
        }
    }
}
