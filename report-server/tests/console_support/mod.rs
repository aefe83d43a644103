//! Helpers shared by the console tests: requests with the session cookie and CSRF header, sign-in,
//! and cases made through the real API (franked, stamped by the server, reported by the intake).
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code, missing_docs)]

use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use franking_core::frank::Context;
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use tower::ServiceExt as _;

use crate::common::*;

static N: AtomicU64 = AtomicU64::new(0);

/// A unique name with a prefix.
pub fn uniq(p: &str) -> String {
    format!("{p}{}", N.fetch_add(1, Ordering::Relaxed))
}

/// One request through the router with arbitrary headers (e.g. `cookie`, `x-csrf-token`).
pub async fn send(
    app: &Router,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Resp {
    let mut b = Request::builder().method(method).uri(path);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let body = match body {
        Some(v) => {
            b = b.header("content-type", "application/json");
            Body::from(serde_json::to_vec(&v).unwrap())
        }
        None => Body::empty(),
    };
    let resp = app.clone().oneshot(b.body(body).unwrap()).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    Resp {
        status,
        body,
        headers,
    }
}

/// A signed-in console session: the cookie value and the CSRF token.
#[derive(Clone, Debug)]
pub struct Sess {
    pub id: String,
    pub csrf: String,
    pub info: Value,
}

impl Sess {
    pub fn cookie(&self) -> String {
        format!("franking_session={}", self.id)
    }
}

/// The value of the `franking_session` cookie set by a response.
pub fn set_cookie_value(r: &Resp) -> (String, String) {
    let raw = r.headers["set-cookie"].to_str().unwrap().to_owned();
    let v = raw
        .split(';')
        .next()
        .unwrap()
        .strip_prefix("franking_session=")
        .unwrap()
        .to_owned();
    (v, raw)
}

/// Sign in with `token` (must succeed).
pub async fn sign_in(app: &Router, token: &str) -> Sess {
    let r = send(
        app,
        Method::POST,
        "/console/session",
        &[],
        Some(json!({ "token": token })),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let (id, _) = set_cookie_value(&r);
    Sess {
        id,
        csrf: r.body["csrf_token"].as_str().unwrap().to_owned(),
        info: r.body,
    }
}

/// A request authenticated by the session cookie, with the CSRF header when `csrf` is set.
pub async fn with_session(
    app: &Router,
    s: &Sess,
    method: Method,
    path: &str,
    csrf: Option<&str>,
    body: Option<Value>,
) -> Resp {
    let cookie = s.cookie();
    let mut headers = vec![("cookie", cookie.as_str())];
    if let Some(c) = csrf {
        headers.push(("x-csrf-token", c));
    }
    send(app, method, path, &headers, body).await
}

/// A real case on `net`: `sender` sends `text` directly to a fresh recipient, the server stamps
/// it, the recipient reports it with `category`. Returns the case id.
pub async fn case_with_text(
    t: &Transport,
    tokens: &NetTokens,
    net: &str,
    sender: &str,
    category: &str,
    text: &str,
) -> String {
    let reporter = uniq("bob");
    let m = franked(
        t,
        &tokens.relay,
        dm(net, sender, &reporter, &uniq("m")),
        text.as_bytes(),
    )
    .await;
    let r = t
        .post(
            "/v1/reports",
            Some(&tokens.service),
            json!({ "reporter": reporter, "category": category,
                    "report": report_json(m, &reporter, vec![]) }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["case_id"].as_str().unwrap().to_owned()
}

/// A message in a room, reported by several members (see [`room_case`]).
pub struct RoomCase<'a> {
    /// Who sends the reported message.
    pub sender: &'a str,
    /// Room members who report it; the first one also supplies the earlier messages.
    pub reporters: &'a [&'a str],
    /// Earlier messages (sender, text), oldest first.
    pub earlier: &'a [(&'a str, &'a str)],
    /// The reported message's text.
    pub text: &'a str,
    /// The report category.
    pub category: &'a str,
}

/// A real case in a room on `net` (see [`RoomCase`]). Returns the case id.
pub async fn room_case(t: &Transport, tokens: &NetTokens, net: &str, spec: RoomCase<'_>) -> String {
    let RoomCase {
        sender,
        reporters,
        earlier,
        text,
        category,
    } = spec;
    let room = uniq("room");
    let mut members: Vec<String> = reporters.iter().map(|s| (*s).to_owned()).collect();
    members.push(sender.to_owned());
    for (who, _) in earlier {
        members.push((*who).to_owned());
    }
    let ctx = |from: &str, ts: u64| {
        Context::room(net, from, &room, members.clone(), ts, uniq("m")).unwrap()
    };
    let base = now_ms() - 60_000;
    let mut before = Vec::new();
    for (i, (who, body)) in earlier.iter().enumerate() {
        before.push(
            franked(
                t,
                &tokens.relay,
                ctx(who, base + i as u64 * 1000),
                body.as_bytes(),
            )
            .await,
        );
    }
    let m = franked(t, &tokens.relay, ctx(sender, now_ms()), text.as_bytes()).await;
    let mut case_id = String::new();
    for (i, who) in reporters.iter().enumerate() {
        let e = if i == 0 { before.clone() } else { vec![] };
        let r = t
            .post(
                "/v1/reports",
                Some(&tokens.service),
                json!({ "reporter": who, "category": category,
                        "report": report_json(m.clone(), who, e) }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        case_id = r.body["case_id"].as_str().unwrap().to_owned();
    }
    case_id
}

/// A real case whose reported message carries `text` and `files` (media type, bytes) as
/// attachments: sealed with `frank::attachment`, stamped by the server, reported by a fresh
/// recipient with the sealed blobs uploaded in the multipart intake. Returns the case id.
pub async fn case_with_attachments(
    t: &Transport,
    tokens: &NetTokens,
    net: &str,
    sender: &str,
    text: &str,
    files: &[(&str, &[u8])],
) -> String {
    use franking_core::frank::attachment::AttachmentSealer;
    use franking_core::frank::content::MessageContent;

    let sealer = AttachmentSealer::with_segment_size(1024).unwrap();
    let mut blobs = Vec::new();
    let mut attachments = Vec::new();
    for (media_type, bytes) in files {
        let mut blob = Vec::new();
        attachments.push(sealer.seal(media_type, *bytes, &mut blob).unwrap());
        blobs.push(blob);
    }
    let content = MessageContent {
        text: text.to_owned(),
        attachments,
    };
    let reporter = uniq("bob");
    let m = franked(
        t,
        &tokens.relay,
        dm(net, sender, &reporter, &uniq("m")),
        &content.encode().unwrap(),
    )
    .await;
    let submission = json!({ "reporter": reporter, "category": "spam",
                             "report": report_json(m, &reporter, vec![]) });
    let boundary = "franking-console-test-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"report\"\r\n\
         Content-Type: application/json\r\n\r\n{submission}\r\n"
    )
    .into_bytes();
    for (i, blob) in blobs.iter().enumerate() {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"attachment\"; \
                 filename=\"{i}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(blob);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let r = t
        .raw(
            Method::POST,
            "/v1/reports",
            Some(&tokens.service),
            Some(&format!("multipart/form-data; boundary={boundary}")),
            body,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["case_id"].as_str().unwrap().to_owned()
}
