//! Parsing the JSON forms with precise error codes.
//!
//! serde turns every error raised inside a `Deserialize` impl into text, which would lose
//! [`Error::UnsupportedVersion`] and [`Error::UnsupportedSuite`]. So each `from_json` first reads
//! only the version and suite fields (ignoring everything else: a future version may have another
//! shape), refuses unknown ones with their own codes, and only then parses the whole value; the
//! structural checks run outside serde so they keep their codes too.
//!
//! None of these forms holds a `null` (optional fields are omitted): [`check_no_null`] refuses
//! one anywhere with [`Error::JsonNull`], after the version and suite checks.

use crate::Error;
use crate::frank::VERSION;
use crate::frank::suite::Suite;

#[derive(serde::Deserialize)]
struct SuiteProbe {
    #[serde(default)]
    suite: Option<u64>,
}

#[derive(serde::Deserialize)]
struct EnvelopeProbe {
    #[serde(default)]
    v: Option<u64>,
    #[serde(default)]
    suite: Option<u64>,
}

#[derive(serde::Deserialize)]
struct StampedEnvelopeProbe {
    #[serde(default)]
    envelope: Option<EnvelopeProbe>,
}

#[derive(serde::Deserialize)]
struct ReportProbe {
    #[serde(default)]
    v: Option<u64>,
    #[serde(default)]
    message: Option<SuiteProbe>,
    #[serde(default)]
    earlier: Option<Vec<SuiteProbe>>,
}

/// Parse `bytes` as `T`; any serde error is [`Error::MalformedJson`] about `what`.
pub(crate) fn parse<'a, T: serde::Deserialize<'a>>(
    what: &'static str,
    bytes: &'a [u8],
) -> Result<T, Error> {
    serde_json::from_slice(bytes).map_err(|e| Error::MalformedJson {
        what,
        detail: e.to_string(),
    })
}

/// Walks any JSON value without keeping it and tells whether it holds a `null` somewhere.
struct HasNull(bool);

impl<'de> serde::Deserialize<'de> for HasNull {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(HasNullVisitor).map(HasNull)
    }
}

struct HasNullVisitor;

impl<'de> serde::de::Visitor<'de> for HasNullVisitor {
    type Value = bool;

    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<bool, E> {
        Ok(true)
    }
    fn visit_none<E>(self) -> Result<bool, E> {
        Ok(true)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        <HasNull as serde::Deserialize>::deserialize(d).map(|h| h.0)
    }
    fn visit_bool<E>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_i64<E>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_u64<E>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_f64<E>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_str<E>(self, _: &str) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        let mut found = false;
        while let Some(HasNull(n)) = seq.next_element()? {
            found |= n;
        }
        Ok(found)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let mut found = false;
        while let Some((serde::de::IgnoredAny, HasNull(n))) = map.next_entry()? {
            found |= n;
        }
        Ok(found)
    }
}

/// [`Error::JsonNull`] if the JSON text holds a `null` anywhere ([`Error::MalformedJson`] if it
/// is not JSON).
pub(crate) fn check_no_null(what: &'static str, bytes: &[u8]) -> Result<(), Error> {
    if parse::<HasNull>(what, bytes)?.0 {
        Err(Error::JsonNull { what })
    } else {
        Ok(())
    }
}

fn check_version(v: Option<u64>) -> Result<(), Error> {
    match v {
        Some(v) if v != u64::from(VERSION) => Err(Error::UnsupportedVersion(
            u8::try_from(v).unwrap_or(u8::MAX),
        )),
        _ => Ok(()),
    }
}

fn check_suite(suite: Option<u64>) -> Result<(), Error> {
    if let Some(id) = suite {
        let id = u8::try_from(id).map_err(|_| Error::Malformed {
            what: "suite out of range",
        })?;
        Suite::from_id(id)?;
    }
    Ok(())
}

fn check_envelope(p: &EnvelopeProbe) -> Result<(), Error> {
    check_version(p.v)?;
    check_suite(p.suite)
}

/// Version and suite of an envelope's JSON form.
pub(crate) fn probe_envelope(bytes: &[u8]) -> Result<(), Error> {
    check_envelope(&parse::<EnvelopeProbe>("envelope", bytes)?)?;
    check_no_null("envelope", bytes)
}

/// Version and suite of the envelope inside a stamped envelope's JSON form.
pub(crate) fn probe_stamped_envelope(bytes: &[u8]) -> Result<(), Error> {
    let p = parse::<StampedEnvelopeProbe>("stamped envelope", bytes)?;
    p.envelope.as_ref().map_or(Ok(()), check_envelope)?;
    check_no_null("stamped envelope", bytes)
}

/// Version of a report's JSON form and the suite of each of its messages.
pub(crate) fn probe_report(bytes: &[u8]) -> Result<(), Error> {
    let p = parse::<ReportProbe>("report", bytes)?;
    check_version(p.v)?;
    core::iter::once(p.message.as_ref())
        .flatten()
        .chain(p.earlier.iter().flatten())
        .try_for_each(|m| check_suite(m.suite))?;
    check_no_null("report", bytes)
}
