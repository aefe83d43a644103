//! A small blocking HTTP client for the report server (`report-server`): relay stamping and report
//! intake.
//!
//! * [`ServerClient::stamp`] — `POST /v1/stamp` with a network's **relay** token: sends only the
//!   envelope's suite, commitment T and the platform context (never the ciphertext or any key) and
//!   returns the [`StampedEnvelope`] the relay delivers.
//! * [`ServerClient::submit_report`] — `POST /v1/reports` with a network's **service** token: the
//!   platform backend, which authenticated the reporting user, asserts `reporter` and submits the
//!   report the recipient built. The server verifies it completely and answers with a
//!   [`ReportReceipt`] (case id, verdict) or refuses it with a machine-readable code.
//! * [`ServerClient::submit_report_with_attachments`] — the same as a streaming
//!   `multipart/form-data` upload with the reported message's attachment blobs (as the recipient
//!   received them), read from any [`Read`]ers in content order; the server verifies each blob
//!   against the verified reference and refuses the whole report if one fails (e.g.
//!   `attachment_tag_invalid`, `attachment_missing`). A message with attachments must be reported
//!   this way.
//!
//! Refusals by the server become [`Error::Server`] with the HTTP status and the server's stable
//! error `code` (e.g. `commitment_mismatch`, `reporter_not_recipient`, `outside_window`,
//! `wrong_network`, `unauthorized`); transport failures (connection refused, TLS, timeout, a
//! response that is not the expected JSON) become [`Error::Http`].
//!
//! ```no_run
//! use client_sdk::frank::Context;
//! use client_sdk::messaging::{Conversation, OpenChecks};
//! use client_sdk::server::ServerClient;
//! use client_sdk::MessageContent;
//!
//! let conv = Conversation::from_exporter_secret("conv-1", b"secret exported by the E2E layer")?;
//! // Relay: stamp the sender's envelope with the platform-asserted context.
//! let relay = ServerClient::new("http://127.0.0.1:8080", "<relay token>")?;
//! let ctx = Context::direct("dev", "alice", "bob", 1_750_000_000_000, "m-1")?;
//! let delivered = relay.stamp(conv.seal(&MessageContent::text("hi"))?, ctx)?;
//! // Recipient opens; later the platform backend submits bob's report.
//! let opened = conv.open(&delivered, &OpenChecks::recipient("bob"))?;
//! let service = ServerClient::new("http://127.0.0.1:8080", "<service token>")?;
//! let receipt = service.submit_report("bob", Some("spam"), &opened.report("bob", "spam", &[])?)?;
//! println!("case {}", receipt.case_id);
//! # Ok::<(), client_sdk::Error>(())
//! ```

use std::io::{Cursor, Read};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use franking_core::frank::{Context, Envelope, Report, Stamp};
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::messaging::StampedEnvelope;
use crate::{Error, Result};

/// Default whole-request timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Largest response body read from the server (answers are small JSON documents).
const MAX_RESPONSE_BYTES: u64 = 1024 * 1024;

/// The report server's answer to an accepted report (`POST /v1/reports`, 201 or 200).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReportReceipt {
    /// `accepted` (refusals are [`Error::Server`]).
    pub verdict: String,
    /// The moderation case the report belongs to (reports of the same message share one case).
    pub case_id: String,
    /// The stored report's id (the earlier one for a duplicate).
    pub report_id: String,
    /// True if this reporter had already reported this message; nothing new was stored.
    #[serde(default)]
    pub duplicate: bool,
    /// Distinct reporters of the case so far.
    #[serde(default)]
    pub report_count: u64,
}

/// A client for one report server with one bearer token (a relay token for [`stamp`](Self::stamp),
/// a service token for [`submit_report`](Self::submit_report)). Cheap to clone; reuses connections.
#[derive(Clone)]
pub struct ServerClient {
    base: String,
    token: Zeroizing<String>,
    agent: ureq::Agent,
}

impl core::fmt::Debug for ServerClient {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ServerClient")
            .field("base", &self.base)
            .field("token", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl ServerClient {
    /// A client for the server at `base_url` (`http://` or `https://`, e.g.
    /// `http://127.0.0.1:8080`; a trailing `/` is ignored) authenticating with `token`, with the
    /// [`DEFAULT_TIMEOUT`].
    pub fn new(base_url: &str, token: &str) -> Result<Self> {
        Self::with_timeout(base_url, token, DEFAULT_TIMEOUT)
    }

    /// Like [`new`](Self::new) with a whole-request `timeout`.
    pub fn with_timeout(base_url: &str, token: &str, timeout: Duration) -> Result<Self> {
        let base = base_url.trim_end_matches('/');
        let rest = base
            .strip_prefix("http://")
            .or_else(|| base.strip_prefix("https://"))
            .ok_or_else(|| Error::InvalidServerUrl("must start with http:// or https://".into()))?;
        if rest.is_empty() || rest.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Error::InvalidServerUrl(
                "no host, or whitespace in it".into(),
            ));
        }
        let token = token.trim();
        if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::InvalidKey {
                what: "server token",
                reason: "empty or not printable ASCII".into(),
            });
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .user_agent(concat!("franking-client-sdk/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Ok(Self {
            base: base.to_owned(),
            token: Zeroizing::new(token.to_owned()),
            agent,
        })
    }

    /// The server's base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Relay: have the server stamp `envelope`'s commitment in `context` (which must name the relay
    /// token's network) and return the envelope as delivered to the recipients.
    pub fn stamp(&self, envelope: Envelope, context: Context) -> Result<StampedEnvelope> {
        let body = json!({
            "suite": envelope.suite.id(),
            "commitment": URL_SAFE_NO_PAD.encode(envelope.commitment.as_bytes()),
            "context": to_value(&context)?,
        });
        let mut answer = self.post("/v1/stamp", &body)?;
        let stamp: Stamp = serde_json::from_value(answer["stamp"].take())
            .map_err(|e| Error::Http(format!("unexpected stamp response: {e}")))?;
        Ok(StampedEnvelope {
            envelope,
            context,
            stamp,
        })
    }

    /// Platform backend: submit `report` on behalf of `reporter` (the user the backend
    /// authenticated; it must equal the report's reporter), optionally with a `category` from the
    /// network's policy. Returns the server's receipt once the report verified and was stored.
    pub fn submit_report(
        &self,
        reporter: &str,
        category: Option<&str>,
        report: &Report,
    ) -> Result<ReportReceipt> {
        let mut body = json!({ "reporter": reporter, "report": to_value(report)? });
        if let Some(c) = category {
            body["category"] = json!(c);
        }
        let answer = self.post("/v1/reports", &body)?;
        serde_json::from_value(answer)
            .map_err(|e| Error::Http(format!("unexpected report response: {e}")))
    }

    /// Like [`submit_report`](Self::submit_report), uploading the reported message's attachment
    /// blobs too: `blobs` yields one reader per attachment of the message, in content order. The
    /// body is streamed (`multipart/form-data`, chunked): memory stays bounded whatever the blob
    /// sizes. Large uploads may need a longer timeout ([`with_timeout`](Self::with_timeout)).
    pub fn submit_report_with_attachments<'a, R: Read + 'a>(
        &self,
        reporter: &str,
        category: Option<&str>,
        report: &Report,
        blobs: impl IntoIterator<Item = R>,
    ) -> Result<ReportReceipt> {
        let mut submission = json!({ "reporter": reporter, "report": to_value(report)? });
        if let Some(c) = category {
            submission["category"] = json!(c);
        }
        let boundary = format!(
            "franking-{}",
            hex::encode(*franking_core::util::random_array::<16>()?)
        );
        let mut head = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"report\"\r\n\
             Content-Type: application/json\r\n\r\n"
        )
        .into_bytes();
        serde_json::to_writer(&mut head, &submission).map_err(|e| Error::Malformed {
            what: "request body",
            reason: e.to_string(),
        })?;
        head.extend_from_slice(b"\r\n");
        let mut body: Box<dyn Read + 'a> = Box::new(Cursor::new(head));
        for (index, blob) in blobs.into_iter().enumerate() {
            let part = format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"attachment\"; \
                 filename=\"{index}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            );
            body = Box::new(
                body.chain(Cursor::new(part.into_bytes()))
                    .chain(blob)
                    .chain(Cursor::new(b"\r\n".to_vec())),
            );
        }
        let mut body = body.chain(Cursor::new(format!("--{boundary}--\r\n").into_bytes()));
        let url = format!("{}/v1/reports", self.base);
        let auth = Zeroizing::new(format!("Bearer {}", &*self.token));
        let resp = self
            .agent
            .post(&url)
            .header("authorization", auth.as_str())
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .header("accept", "application/json")
            .send(ureq::SendBody::from_reader(&mut body))
            .map_err(|e| Error::Http(format!("POST {url}: {e}")))?;
        let answer = answer(&url, resp)?;
        serde_json::from_value(answer)
            .map_err(|e| Error::Http(format!("unexpected report response: {e}")))
    }

    /// POST `body` as JSON to `path`; a 2xx answer's JSON, or [`Error::Server`] for any other
    /// status.
    fn post(&self, path: &str, body: &Value) -> Result<Value> {
        let bytes = serde_json::to_vec(body).map_err(|e| Error::Malformed {
            what: "request body",
            reason: e.to_string(),
        })?;
        let url = format!("{}{path}", self.base);
        let auth = Zeroizing::new(format!("Bearer {}", &*self.token));
        let resp = self
            .agent
            .post(&url)
            .header("authorization", auth.as_str())
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .send(&bytes[..])
            .map_err(|e| Error::Http(format!("POST {url}: {e}")))?;
        answer(&url, resp)
    }
}

/// A 2xx answer's JSON, or [`Error::Server`] with the server's code for any other status.
fn answer(url: &str, mut resp: ureq::http::Response<ureq::Body>) -> Result<Value> {
    let status = resp.status().as_u16();
    let text = resp
        .body_mut()
        .with_config()
        .limit(MAX_RESPONSE_BYTES)
        .read_to_string()
        .map_err(|e| Error::Http(format!("POST {url}: reading the response: {e}")))?;
    let json: Option<Value> = serde_json::from_str(&text).ok();
    if (200..300).contains(&status) {
        return json.ok_or_else(|| {
            Error::Http(format!("POST {url}: status {status} without a JSON body"))
        });
    }
    let error = json.as_ref().and_then(|v| v.get("error"));
    let field = |name: &str| {
        error
            .and_then(|e| e.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    Err(Error::Server {
        status,
        code: field("code").unwrap_or_else(|| format!("http_{status}")),
        message: field("message").unwrap_or_else(|| truncate(&text, 200)),
    })
}

fn to_value<T: serde::Serialize>(v: &T) -> Result<Value> {
    serde_json::to_value(v).map_err(|e| Error::Malformed {
        what: "request body",
        reason: e.to_string(),
    })
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::{Conversation, MessageContent, OpenChecks, stamp_envelope};
    use franking_core::frank::{KeyId, KeyRing, SessionKey, StampKey};

    #[test]
    fn urls_and_tokens_are_checked() {
        assert!(ServerClient::new("http://127.0.0.1:1/", "t").is_ok());
        let c = ServerClient::new("https://example.net/", "t").unwrap();
        assert_eq!(c.base_url(), "https://example.net");
        for bad in ["", "127.0.0.1:8080", "ftp://x", "http://", "http://a b"] {
            assert!(
                matches!(ServerClient::new(bad, "t"), Err(Error::InvalidServerUrl(_))),
                "{bad:?}"
            );
        }
        for bad in ["", "  ", "a\nb", "tok en"] {
            assert!(
                matches!(
                    ServerClient::new("http://x", bad),
                    Err(Error::InvalidKey { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn debug_redacts_the_token() {
        let c = ServerClient::new("http://x", "very-secret-token").unwrap();
        let text = format!("{c:?}");
        assert!(!text.contains("very-secret-token"), "{text}");
    }

    #[test]
    fn connection_refused_is_an_http_error() {
        // Bind and drop a listener to get a port nothing listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let c = ServerClient::with_timeout(
            &format!("http://127.0.0.1:{port}"),
            "t",
            Duration::from_secs(5),
        )
        .unwrap();
        let ring = KeyRing::new("n", StampKey::generate(KeyId(1), false).unwrap(), 0, 0);
        let conv = Conversation::new("c", SessionKey::generate().unwrap());
        let env = conv.seal(&MessageContent::text("x")).unwrap();
        let ctx = Context::direct("n", "a", "b", 1, "m").unwrap();
        let delivered = stamp_envelope(&ring, env.clone(), ctx.clone()).unwrap();
        let report = conv
            .open(&delivered, &OpenChecks::recipient("b"))
            .unwrap()
            .report("b", "r", &[])
            .unwrap();
        let r = c.submit_report("b", None, &report);
        assert!(matches!(r, Err(Error::Http(_))), "{r:?}");
        let r = c.stamp(env, ctx);
        assert!(matches!(r, Err(Error::Http(_))), "{r:?}");
    }
}
