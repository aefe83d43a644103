//! The console's server side: sign-in sessions (cookie attributes, hashed storage, audit), the
//! session cookie authenticating exactly as its token (roles, tenant isolation, revocation, expiry),
//! CSRF on state-changing requests, sign-out, the security headers of console responses and the
//! static checks on the embedded assets (no inline script/style, no HTML sinks).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;
mod console_support;

use axum::http::{Method, StatusCode};
use common::*;
use console_support::*;
use report_server::console::{CSP, ConsoleSettings};
use serde_json::json;
use sqlx::Row as _;

async fn audit_actions(h: &Harness, action: &str) -> Vec<serde_json::Value> {
    let r = h
        .t()
        .get(&format!("/v1/admin/audit?action={action}"), Some(&h.admin))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["entries"].as_array().unwrap().clone()
}

#[tokio::test]
async fn sign_in_creates_a_hashed_session_with_a_strict_cookie() {
    let h = harness().await;
    let r = send(
        &h.app,
        Method::POST,
        "/console/session",
        &[],
        Some(json!({ "token": h.net1.moderator })),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let (id, raw) = set_cookie_value(&r);
    assert_eq!(id.len(), 43, "{raw}");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(raw.split("; ").any(|a| a == attr), "{attr} missing: {raw}");
    }
    assert!(!raw.contains("Secure"), "not configured behind TLS: {raw}");
    assert_eq!(r.body["role"], "moderator");
    assert_eq!(r.body["network"], "net1");
    assert_eq!(r.body["subject"], "mod");
    assert_eq!(r.body["actor"], "moderator:mod@net1");
    let csrf = r.body["csrf_token"].as_str().unwrap();
    assert_eq!(csrf.len(), 43);
    assert_ne!(csrf, id);
    let expires = r.body["expires_at"].as_i64().unwrap();
    let ttl = expires - now_ms() as i64;
    assert!((43_190_000..=43_200_000).contains(&ttl), "{ttl}");

    // Only SHA-256(id) is stored.
    let rows = sqlx::query("SELECT id_hash, csrf_token FROM console_sessions")
        .fetch_all(&h.state.db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let stored: String = rows[0].try_get("id_hash").unwrap();
    assert_eq!(stored, report_server::util::sha256_hex(id.as_bytes()));
    assert_ne!(stored, id);

    // The session reads back with the same CSRF token; the session is audited.
    let s = Sess {
        id: id.clone(),
        csrf: csrf.to_owned(),
        info: r.body.clone(),
    };
    let g = with_session(&h.app, &s, Method::GET, "/console/session", None, None).await;
    assert_eq!(g.status, StatusCode::OK, "{}", g.body);
    assert_eq!(g.body, r.body);
    assert_eq!(g.headers["cache-control"], "no-store");
    let a = audit_actions(&h, "console.sign_in").await;
    assert_eq!(a.len(), 1);
    assert_eq!(a[0]["actor"], "moderator:mod@net1");
    assert_eq!(a[0]["network"], "net1");
    assert_eq!(a[0]["details"]["session"], &stored[..16]);
    assert!(!a[0].to_string().contains(&id));
}

#[tokio::test]
async fn secure_cookie_and_ttl_follow_the_settings() {
    let h = harness().await;
    let app = report_server::router(h.state.clone().with_console(ConsoleSettings {
        session_ttl: std::time::Duration::from_secs(600),
        cookie_secure: true,
    }));
    let r = send(
        &app,
        Method::POST,
        "/console/session",
        &[],
        Some(json!({ "token": h.admin })),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let (_, raw) = set_cookie_value(&r);
    assert!(raw.split("; ").any(|a| a == "Secure"), "{raw}");
    assert!(raw.split("; ").any(|a| a == "Max-Age=600"), "{raw}");
    assert_eq!(r.body["role"], "admin");
    assert_eq!(r.body["network"], serde_json::Value::Null);
}

#[tokio::test]
async fn only_valid_admin_and_moderator_tokens_sign_in() {
    let h = harness().await;
    for (token, status, code) in [
        (h.net1.relay.as_str(), StatusCode::FORBIDDEN, "forbidden"),
        (h.net1.service.as_str(), StatusCode::FORBIDDEN, "forbidden"),
        (
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        ),
        ("", StatusCode::UNAUTHORIZED, "unauthorized"),
    ] {
        let r = send(
            &h.app,
            Method::POST,
            "/console/session",
            &[],
            Some(json!({ "token": token })),
        )
        .await;
        assert_eq!((r.status, r.code()), (status, code), "{}", r.body);
        assert!(!r.headers.contains_key("set-cookie"));
    }
    // Malformed bodies are 400, a missing content type 400 unsupported_media_type.
    let r = send(
        &h.app,
        Method::POST,
        "/console/session",
        &[],
        Some(json!({ "token": h.admin, "extra": 1 })),
    )
    .await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "malformed"));
    let r = h
        .t()
        .raw(Method::POST, "/console/session", None, None, b"{}".to_vec())
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "unsupported_media_type")
    );
    // A disabled network's moderator cannot sign in.
    let r = h
        .t()
        .call(
            Method::PATCH,
            "/v1/admin/networks/net2",
            Some(&h.admin),
            Some(json!({ "disabled": true })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = send(
        &h.app,
        Method::POST,
        "/console/session",
        &[],
        Some(json!({ "token": h.net2.moderator })),
    )
    .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "network_disabled")
    );
    assert!(audit_actions(&h, "console.sign_in").await.is_empty());
}

#[tokio::test]
async fn the_cookie_authenticates_as_its_token_and_csrf_guards_changes() {
    let h = harness().await;
    let t = h.t();
    let case = case_with_text(&t, &h.net1, "net1", "alice", "spam", "hello").await;
    let other = case_with_text(&t, &h.net2, "net2", "alice", "spam", "elsewhere").await;
    let s = sign_in(&h.app, &h.net1.moderator).await;

    // Reads: like the moderator's bearer token, including tenant isolation.
    let r = with_session(&h.app, &s, Method::GET, "/v1/cases", None, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let ids: Vec<_> = r.body["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, vec![case.clone()]);
    let r = with_session(
        &h.app,
        &s,
        Method::GET,
        &format!("/v1/cases/{other}"),
        None,
        None,
    )
    .await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
    // Role checks apply: a moderator session is not an admin.
    let r = with_session(&h.app, &s, Method::GET, "/v1/admin/networks", None, None).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"));
    // The cookie never reaches the relay or service endpoints' roles.
    let r = with_session(
        &h.app,
        &s,
        Method::POST,
        "/v1/reports",
        Some(&s.csrf),
        Some(json!({})),
    )
    .await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"));

    // Changes need the CSRF header: missing, wrong (also one character off), then right.
    let s2 = sign_in(&h.app, &h.net1.moderator).await;
    let audit_before = count(&h.state, "audit_log").await;
    let path = format!("/v1/cases/{case}/notes");
    let note = json!({ "body": "looks like spam" });
    let r = with_session(&h.app, &s, Method::POST, &path, None, Some(note.clone())).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "csrf_token_missing")
    );
    let mut off = s.csrf.clone();
    let last = off.pop().unwrap();
    off.push(if last == 'A' { 'B' } else { 'A' });
    for wrong in ["", "nope", off.as_str(), s.id.as_str()] {
        let r = with_session(
            &h.app,
            &s,
            Method::POST,
            &path,
            Some(wrong),
            Some(note.clone()),
        )
        .await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::FORBIDDEN, "csrf_token_invalid"),
            "{wrong:?}"
        );
    }
    // Another session's CSRF token does not fit this session.
    let r = with_session(
        &h.app,
        &s,
        Method::POST,
        &path,
        Some(&s2.csrf),
        Some(note.clone()),
    )
    .await;
    assert_eq!(r.code(), "csrf_token_invalid");
    assert_eq!(
        count(&h.state, "audit_log").await,
        audit_before,
        "nothing written"
    );
    let notes = with_session(&h.app, &s, Method::GET, &path, None, None).await;
    assert_eq!(notes.body["notes"], json!([]));
    let r = with_session(&h.app, &s, Method::POST, &path, Some(&s.csrf), Some(note)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["author"], "moderator:mod@net1");
    // The same for a transition; its audit entry names the token's identity.
    let r = with_session(
        &h.app,
        &s,
        Method::POST,
        &format!("/v1/cases/{case}/resolve"),
        Some(&s.csrf),
        Some(json!({ "action": "warn_sender" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let a = audit_actions(&h, "case.resolve").await;
    assert_eq!(a[0]["actor"], "moderator:mod@net1");
}

#[tokio::test]
async fn bearer_header_takes_precedence_over_the_cookie() {
    let h = harness().await;
    let s = sign_in(&h.app, &h.admin).await;
    // A stale cookie does not spoil a valid bearer token ...
    let stale = "franking_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let bearer = format!("Bearer {}", h.net1.moderator);
    let r = send(
        &h.app,
        Method::GET,
        "/v1/cases",
        &[("cookie", stale), ("authorization", &bearer)],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // ... and a valid admin cookie does not rescue a bad bearer token.
    let cookie = s.cookie();
    let r = send(
        &h.app,
        Method::GET,
        "/v1/admin/networks",
        &[
            ("cookie", &cookie),
            (
                "authorization",
                "Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            ),
        ],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // A bearer-authenticated change needs no CSRF header even with a cookie present.
    let r = send(
        &h.app,
        Method::POST,
        "/v1/admin/retention/run",
        &[
            ("cookie", &cookie),
            ("authorization", &format!("Bearer {}", h.admin)),
        ],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Unknown or malformed cookies are 401, not ignored.
    for bad in [stale, "franking_session=short", "franking_session="] {
        let r = send(&h.app, Method::GET, "/v1/cases", &[("cookie", bad)], None).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::UNAUTHORIZED, "unauthorized"),
            "{bad}"
        );
    }
    // Other cookies around ours are fine.
    let mixed = format!("theme=dark; {}; lang=en", s.cookie());
    let r = send(
        &h.app,
        Method::GET,
        "/v1/admin/networks",
        &[("cookie", &mixed)],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[tokio::test]
async fn revoking_the_token_ends_its_sessions() {
    let h = harness().await;
    let t = h.t();
    let r = t
        .post(
            "/v1/admin/tokens",
            Some(&h.admin),
            json!({ "role": "moderator", "network": "net1", "subject": "erin" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let (tok_id, tok) = (
        r.body["id"].as_str().unwrap().to_owned(),
        r.body["token"].as_str().unwrap().to_owned(),
    );
    let s = sign_in(&h.app, &tok).await;
    let r = with_session(&h.app, &s, Method::GET, "/v1/cases", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = t
        .call(
            Method::DELETE,
            &format!("/v1/admin/tokens/{tok_id}"),
            Some(&h.admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    for path in ["/v1/cases", "/console/session"] {
        let r = with_session(&h.app, &s, Method::GET, path, None, None).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::UNAUTHORIZED, "unauthorized"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn expired_sessions_are_refused_and_swept() {
    let h = harness().await;
    let s = sign_in(&h.app, &h.net1.moderator).await;
    sqlx::query("UPDATE console_sessions SET expires_at = $1")
        .bind(report_server::util::now_ms() - 1)
        .execute(&h.state.db)
        .await
        .unwrap();
    let r = with_session(&h.app, &s, Method::GET, "/v1/cases", None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = with_session(&h.app, &s, Method::GET, "/console/session", None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // The next sign-in deletes expired rows.
    let _ = sign_in(&h.app, &h.net1.moderator).await;
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM console_sessions")
        .fetch_one(&h.state.db)
        .await
        .unwrap()
        .try_get("n")
        .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn sign_out_needs_csrf_deletes_the_session_and_clears_the_cookie() {
    let h = harness().await;
    let s = sign_in(&h.app, &h.net1.moderator).await;
    let r = with_session(&h.app, &s, Method::DELETE, "/console/session", None, None).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "csrf_token_missing")
    );
    let r = with_session(
        &h.app,
        &s,
        Method::DELETE,
        "/console/session",
        Some("x"),
        None,
    )
    .await;
    assert_eq!(r.code(), "csrf_token_invalid");
    let r = with_session(
        &h.app,
        &s,
        Method::DELETE,
        "/console/session",
        Some(&s.csrf),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let raw = r.headers["set-cookie"].to_str().unwrap();
    assert!(
        raw.starts_with("franking_session=;") && raw.contains("Max-Age=0"),
        "{raw}"
    );
    for (m, path) in [
        (Method::GET, "/console/session"),
        (Method::GET, "/v1/cases"),
    ] {
        let r = with_session(&h.app, &s, m, path, None, None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}");
    }
    let r = with_session(
        &h.app,
        &s,
        Method::DELETE,
        "/console/session",
        Some(&s.csrf),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let out = audit_actions(&h, "console.sign_out").await;
    assert_eq!(out.len(), 1);
    let inn = audit_actions(&h, "console.sign_in").await;
    assert_eq!(out[0]["details"]["session"], inn[0]["details"]["session"]);
    // Signed out without any cookie: 401.
    let r = send(&h.app, Method::GET, "/console/session", &[], None).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );
}

#[tokio::test]
async fn console_pages_carry_strict_security_headers() {
    let h = harness().await;
    let r = send(&h.app, Method::GET, "/console", &[], None).await;
    assert_eq!(r.status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(r.headers["location"], "/console/");
    for (path, ctype) in [
        ("/console/", "text/html; charset=utf-8"),
        ("/console/assets/app.js", "text/javascript; charset=utf-8"),
        ("/console/assets/console.css", "text/css; charset=utf-8"),
        ("/console/assets/favicon.svg", "image/svg+xml"),
        ("/console/session", "application/json"),
    ] {
        let r = send(&h.app, Method::GET, path, &[], None).await;
        if path == "/console/session" {
            assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        } else {
            assert_eq!(r.status, StatusCode::OK, "{path}");
        }
        assert_eq!(r.headers["content-type"], ctype, "{path}");
        assert_eq!(r.headers["content-security-policy"], CSP, "{path}");
        assert_eq!(r.headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(r.headers["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(r.headers["x-frame-options"], "DENY", "{path}");
    }
    assert!(CSP.contains("script-src 'self';") && CSP.contains("frame-ancestors 'none'"));
    assert!(!CSP.contains("unsafe"));
    for bad in ["/console/assets/nope.js", "/console/assets/..%2Fmod.rs"] {
        let r = send(&h.app, Method::GET, bad, &[], None).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::NOT_FOUND, "not_found"),
            "{bad}"
        );
    }
}

/// Every embedded asset, as the server sends it.
async fn assets(h: &Harness) -> Vec<(String, String)> {
    let index = send(&h.app, Method::GET, "/console/", &[], None).await;
    let mut out = vec![(
        "index.html".to_owned(),
        index.body.as_str().unwrap().to_owned(),
    )];
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/console/assets");
    for e in std::fs::read_dir(dir).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        if name == "index.html" {
            continue;
        }
        let r = send(
            &h.app,
            Method::GET,
            &format!("/console/assets/{name}"),
            &[],
            None,
        )
        .await;
        assert_eq!(
            r.status,
            StatusCode::OK,
            "{name} is in the directory but not served"
        );
        out.push((name, r.body.as_str().unwrap().to_owned()));
    }
    out
}

#[tokio::test]
async fn assets_have_no_inline_script_or_style_and_no_html_sinks() {
    let h = harness().await;
    let all = assets(&h).await;
    assert!(all.len() >= 9);
    let (_, index) = &all[0];
    // Every <script> loads a file; no inline handlers or style attributes anywhere in the shell.
    let mut rest = index.as_str();
    let mut scripts = 0;
    while let Some(i) = rest.find("<script") {
        let tag_end = rest[i..].find('>').unwrap() + i;
        assert!(
            rest[i..tag_end].contains("src="),
            "inline script in index.html"
        );
        assert!(rest[tag_end + 1..].starts_with("</script>"));
        scripts += 1;
        rest = &rest[tag_end..];
    }
    assert_eq!(scripts, 1);
    assert!(!index.contains("<style") && !index.contains(" style="));
    assert!(!index.contains(" onclick=") && !index.contains(" onload="));
    for (name, body) in &all {
        if !name.ends_with(".js") {
            continue;
        }
        for sink in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
            "new Function",
            "setAttribute('style'",
            ".style.",
        ] {
            assert!(!body.contains(sink), "{name} uses {sink}");
        }
    }
}
