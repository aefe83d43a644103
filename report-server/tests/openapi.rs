//! The OpenAPI document: served at `GET /v1/openapi.json` without authentication, byte-identical to
//! `docs/openapi.json` (one source of truth), valid OpenAPI 3.x structure, and listing exactly the
//! routes the router serves — checked statically (every `.route(...)` in `src/routes/`) and
//! dynamically (every documented operation reaches a handler, not the 404 fallback or a 405).
//! Also: every error code the source can emit is in the document's `ErrorCode` enum.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use common::*;
use serde_json::Value;

const DOC_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json");
const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn doc() -> Value {
    serde_json::from_str(&std::fs::read_to_string(DOC_PATH).unwrap()).unwrap()
}

/// (METHOD, path) of every operation in the document.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (m, _) in item.as_object().unwrap() {
            assert!(METHODS.contains(&m.as_str()), "{path}: unexpected key {m}");
            out.insert((m.to_uppercase(), path.clone()));
        }
    }
    out
}

/// The console's HTML shell and static assets (and the redirect to them) are not JSON API routes:
/// they are listed in docs/console.md, not in the OpenAPI document. Its JSON endpoint
/// (`/console/session`) is documented and checked like every other route.
const NOT_API: &[&str] = &["/console", "/console/", "/console/assets/{name}"];

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            out.extend(rust_files(&p));
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
    out
}

/// (METHOD, path) of every `.route("path", method(handler)...)` call in `src/routes/**.rs` and
/// `src/console/**.rs`, except the [`NOT_API`] paths.
fn routed_in_source() -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    let dirs = [
        concat!(env!("CARGO_MANIFEST_DIR"), "/src/routes"),
        concat!(env!("CARGO_MANIFEST_DIR"), "/src/console"),
    ];
    for path in dirs
        .iter()
        .flat_map(|d| rust_files(std::path::Path::new(d)))
    {
        let src = std::fs::read_to_string(path).unwrap();
        let mut rest = src.as_str();
        while let Some(i) = rest.find(".route(") {
            rest = &rest[i + ".route(".len()..];
            // The balanced argument list.
            let mut depth = 1;
            let mut end = 0;
            for (j, c) in rest.char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            end = j;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let args = &rest[..end];
            let q1 = args.find('"').unwrap();
            let q2 = q1 + 1 + args[q1 + 1..].find('"').unwrap();
            let path = &args[q1 + 1..q2];
            let after = &args[q2 + 1..];
            if NOT_API.contains(&path) {
                continue;
            }
            let mut found = 0;
            for m in METHODS {
                let pat = format!("{m}(");
                let mut s = after;
                while let Some(k) = s.find(&pat) {
                    let prev = if k == 0 {
                        ' '
                    } else {
                        s[..k].chars().last().unwrap()
                    };
                    if !(prev.is_alphanumeric() || prev == '_') {
                        out.insert((m.to_uppercase(), path.to_owned()));
                        found += 1;
                    }
                    s = &s[k + pat.len()..];
                }
            }
            assert!(found > 0, "no method found in .route({args})");
        }
    }
    out
}

#[tokio::test]
async fn served_without_auth_and_identical_to_docs() {
    let h = harness().await;
    let t = h.t();
    let file = std::fs::read(DOC_PATH).unwrap();
    assert_eq!(
        report_server::routes::openapi::OPENAPI_JSON.as_bytes(),
        &file[..]
    );
    for token in [None, Some(h.admin.as_str()), Some(h.net1.relay.as_str())] {
        let r = t.get("/v1/openapi.json", token).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(
            r.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        assert_eq!(r.body, doc());
    }
}

#[test]
fn is_valid_openapi_3_structure() {
    let d = doc();
    assert!(d["openapi"].as_str().unwrap().starts_with("3."));
    assert!(d["info"]["title"].is_string());
    assert!(d["info"]["version"].is_string());
    let schemas = d["components"]["schemas"].as_object().unwrap();
    let schemes = d["components"]["securitySchemes"].as_object().unwrap();
    // Every $ref resolves.
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r.clone());
                }
                m.values().for_each(|x| refs(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&d, &mut all);
    assert!(!all.is_empty());
    for r in &all {
        let name = r.strip_prefix("#/components/schemas/").unwrap();
        assert!(schemas.contains_key(name), "dangling $ref {r}");
    }
    let mut op_ids = BTreeSet::new();
    for (path, item) in d["paths"].as_object().unwrap() {
        assert!(path.starts_with('/'));
        for (m, op) in item.as_object().unwrap() {
            let what = format!("{m} {path}");
            assert!(
                op_ids.insert(op["operationId"].as_str().unwrap().to_owned()),
                "{what}: duplicate operationId"
            );
            assert!(op["summary"].is_string(), "{what}");
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|k| k.starts_with('2')),
                "{what}: no success response"
            );
            for (status, resp) in responses {
                assert!(resp["description"].is_string(), "{what} {status}");
                if status.starts_with('4') || status.starts_with('5') {
                    assert_eq!(
                        resp["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/Error",
                        "{what} {status}: errors use the Error schema"
                    );
                }
            }
            // Path parameters are declared.
            for seg in path.split('/').filter(|s| s.starts_with('{')) {
                let name = seg.trim_matches(|c| c == '{' || c == '}');
                assert!(
                    op["parameters"].as_array().is_some_and(|ps| ps
                        .iter()
                        .any(|p| p["name"] == name && p["in"] == "path")),
                    "{what}: path parameter {name} not declared"
                );
            }
            // Security: [] (public) or known schemes; authenticated operations document 401/403.
            let sec = op["security"].as_array().unwrap();
            for s in sec {
                for k in s.as_object().unwrap().keys() {
                    assert!(schemes.contains_key(k), "{what}: unknown scheme {k}");
                }
            }
            if !sec.is_empty() {
                assert!(
                    responses.contains_key("401") && responses.contains_key("403"),
                    "{what}"
                );
            }
        }
    }
    // The error model: {"error": {"code", "message"}}.
    let e = &schemas["Error"];
    assert_eq!(e["required"], serde_json::json!(["error"]));
    assert_eq!(
        e["properties"]["error"]["required"],
        serde_json::json!(["code", "message"])
    );
}

#[test]
fn documents_exactly_the_routes_in_the_source() {
    let doc = documented(&doc());
    let src = routed_in_source();
    let missing: Vec<_> = src.difference(&doc).collect();
    let extra: Vec<_> = doc.difference(&src).collect();
    assert!(
        missing.is_empty(),
        "routes not in docs/openapi.json: {missing:?}"
    );
    assert!(extra.is_empty(), "documented but not routed: {extra:?}");
    assert!(
        src.len() >= 30,
        "the route scanner found only {}",
        src.len()
    );
}

#[tokio::test]
async fn every_documented_operation_reaches_a_handler() {
    let h = harness().await;
    let t = h.t();
    // Sanity: the fallback is detectable.
    let r = t.get("/v1/no-such-route", None).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
    let fallback_body = r.body.clone();
    for (m, path) in documented(&doc()) {
        let concrete = path
            .replace("{key_id}", "1")
            .replace("{attachment_id}", "y")
            .replace("{peer}", "p")
            .replace("{id}", "x");
        let method = Method::from_bytes(m.as_bytes()).unwrap();
        let r = t.call(method, &concrete, None, None).await;
        assert_ne!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{m} {path}");
        assert_ne!(r.body, fallback_body, "{m} {path} hit the fallback");
        assert!(!r.status.is_server_error(), "{m} {path}: {}", r.status);
    }
}

#[test]
fn every_error_code_is_documented() {
    let d = doc();
    let documented: BTreeSet<String> = d["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    // Codes written as literals in the server's source.
    let mut codes = BTreeSet::new();
    let mut stack = vec![std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src"
    ))];
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let src = std::fs::read_to_string(&p).unwrap();
        for marker in [
            "code: ",
            "bad_request(",
            "conflict(",
            "unprocessable(",
            "\"code\": ",
        ] {
            let mut s = src.as_str();
            while let Some(i) = s.find(marker) {
                s = &s[i + marker.len()..];
                let t = s.trim_start();
                if let Some(lit) = t.strip_prefix('"') {
                    let code = &lit[..lit.find('"').unwrap()];
                    if !code.is_empty() && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                    {
                        codes.insert(code.to_owned());
                    }
                }
            }
        }
    }
    assert!(codes.contains("invalid_transition") && codes.contains("already_exists"));
    // Fixed codes of ApiError variants and franking-core's codes (passed through by from_protocol).
    for c in [
        "unauthorized",
        "not_found",
        "payload_too_large",
        "rate_limited",
        "unavailable",
        "internal",
        "malformed",
        "unsupported_version",
        "unsupported_suite",
        "message_too_long",
        "commitment_mismatch",
        "authentication_failed",
        "unknown_key_id",
        "key_retired",
        "stamp_after_retirement",
        "bad_stamp",
        "signature_required",
        "unexpected_signature",
        "json_null",
        "wrong_network",
        "reporter_not_recipient",
        "membership_proof_missing",
        "membership_epoch_mismatch",
        "not_room_member",
        "duplicate_member",
        "outside_window",
        "not_same_conversation",
        "duplicate_key_id",
        "duplicate_message",
        "attachment_header_invalid",
        "attachment_tag_invalid",
        "attachment_truncated",
        "attachment_non_canonical",
        "attachment_length_mismatch",
        "attachment_commitment_mismatch",
        "attachment_too_large",
        "range_not_satisfiable",
        "timeout",
    ] {
        codes.insert(c.to_owned());
    }
    let missing: Vec<_> = codes.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "error codes missing from the ErrorCode enum: {missing:?}"
    );
}
