//! The API contract (issue 13): the served OpenAPI document states every constraint the server
//! enforces, and the server refuses what the document forbids.
//!
//! The test starts the server on loopback (real HTTP; SQLite, or PostgreSQL with
//! `REPORT_SERVER_TESTS_ON_POSTGRES=1`), makes real fixtures (a case with an attachment, a
//! webhook endpoint with a delivery, tokens, keys), fetches `/v1/openapi.json` from it and, for every
//! operation, sends requests generated from the document:
//! - with every role's token (admin, moderator, relay, service) and none: allowed roles must be
//!   served, the others refused with a documented 401/403;
//! - valid requests: the fixture request, each optional body property left out, each value at an
//!   edge the document allows (minimum, maximum, empty string, negative number);
//! - invalid requests: a JSON array, null, a string for the object body; every required property
//!   missing; an unknown property where `additionalProperties` is false; every value in turn
//!   replaced by one the document forbids (wrong type, null, float for integer, below minimum,
//!   above maximum, empty or too long string, pattern, enum, empty array) — recursively through
//!   nested objects; the same for query and integer path parameters (including an empty `cursor=`).
//!
//! Every response must have a documented status and, when JSON is documented for it, validate
//! against the documented schema; no 5xx; invalid → 4xx; valid → not 400/413 (other documented
//! 4xx are state answers such as 409 or 422). All disagreements are collected and reported at once.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;
#[path = "contract_support/schema.rs"]
mod schema;

use std::collections::BTreeMap;

use axum::http::{Method, StatusCode};
use common::*;
use schema::{Doc, Variant, edge_values, generate, invalid_values, required};
use serde_json::{Map, Value, json};

/// The roles the test holds tokens for (the document's security scheme names).
const ROLES: [(&str, &str); 4] = [
    ("admin", "adminToken"),
    ("moderator", "moderatorToken"),
    ("relay", "relayToken"),
    ("service", "serviceToken"),
];

/// Rules the document states in prose because they tie two properties or a property and the
/// caller's role together (JSON Schema cannot say "absent for admin tokens"): (operation, the
/// variant's description starts with, the error code the server must then give).
const PROSE_RULES: &[(&str, &str, &str)] = &[
    // CreateToken.network: "required for moderator/relay/service, absent for admin".
    (
        "POST /v1/admin/tokens",
        "body /network",
        "invalid_parameter",
    ),
    // Context: "listed contexts have `recipients`, room contexts `members` instead" (one or the
    // other).
    (
        "POST /v1/stamp",
        "body /context/recipients: optional property left out",
        "malformed",
    ),
    (
        "POST /v1/stamp",
        "body /context/members: optional property given",
        "malformed",
    ),
    (
        "POST /v1/stamp/batch",
        "body /items/0/context/recipients: optional property left out",
        "malformed",
    ),
    (
        "POST /v1/stamp/batch",
        "body /items/0/context/members: optional property given",
        "malformed",
    ),
    (
        "POST /v1/reports",
        "body /report/message/context/recipients: optional property left out",
        "malformed",
    ),
    (
        "POST /v1/reports",
        "body /report/message/context/members: optional property given",
        "malformed",
    ),
    // CreatePeer/UpdatePeer.key_source: "`pinned` needs `keys`; `keys` are only for `pinned`".
    (
        "POST /v1/admin/networks/{id}/peers",
        "body /keys: optional property given",
        "invalid_peer",
    ),
    (
        "PATCH /v1/admin/networks/{id}/peers/{peer}",
        "body /keys: optional property given",
        "invalid_peer",
    ),
    (
        "PATCH /v1/admin/networks/{id}/peers/{peer}",
        "body /key_source: optional property given",
        "invalid_peer",
    ),
    // AssignRequest.assignee: "default: the calling moderator (admins must name one)".
    (
        "POST /v1/cases/{id}/assign",
        "body /assignee: optional property left out",
        "invalid_parameter",
    ),
];

/// What a request is, per the document.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Expect {
    Valid,
    Invalid,
    /// A token of a role the operation does not accept (or none).
    Denied,
}

/// Real resources for path parameters and request bodies.
struct Fixtures {
    t: Transport,
    admin: String,
    net: NetTokens,
    case_id: String,
    report_id: String,
    attachment_case: String,
    attachment_id: String,
    key_id: u64,
    webhook_id: String,
    delivery_id: String,
    submission: Value,
    stamp_request: Value,
    policy: Value,
}

impl Fixtures {
    fn token(&self, role: &str) -> &str {
        match role {
            "admin" => &self.admin,
            "moderator" => &self.net.moderator,
            "relay" => &self.net.relay,
            "service" => &self.net.service,
            other => panic!("no token for {other}"),
        }
    }

    /// The value of path parameter `name` in `path` (a fresh token for operations that use it
    /// up).
    async fn path_param(&self, path: &str, name: &str) -> String {
        match (path, name) {
            (p, "id") if p.starts_with("/v1/admin/networks/") => "net1".into(),
            (p, "id") if p.starts_with("/v1/admin/tokens/") => {
                let r = self
                    .t
                    .post(
                        "/v1/admin/tokens",
                        Some(&self.admin),
                        json!({"role": "moderator", "network": "net1", "subject": uniq("m")}),
                    )
                    .await;
                r.body["id"].as_str().unwrap().to_owned()
            }
            (p, "id") if p.starts_with("/v1/admin/webhooks/") => self.webhook_id.clone(),
            (p, "id") if p.starts_with("/v1/reports/") => self.report_id.clone(),
            (p, "id") if p.contains("/attachments/") => self.attachment_case.clone(),
            (p, "id") if p.starts_with("/v1/cases/") => self.case_id.clone(),
            (_, "key_id") => self.key_id.to_string(),
            (_, "attachment_id") => self.attachment_id.clone(),
            (_, "delivery_id") => self.delivery_id.clone(),
            (_, "peer") => "peer.example".to_owned(),
            other => panic!("no fixture for path parameter {other:?}"),
        }
    }

    /// The base request body of an operation: a real one where values carry meaning beyond the
    /// schema, otherwise generated from the schema.
    fn body(&self, doc: &Doc<'_>, path: &str, method: &str, schema: &Value) -> Value {
        match (path, method) {
            ("/v1/stamp", _) => self.stamp_request.clone(),
            ("/v1/stamp/batch", _) => json!({"items": [self.stamp_request.clone()]}),
            ("/v1/reports", _) => self.submission.clone(),
            ("/v1/admin/networks/{id}/policy", _) => self.policy.clone(),
            ("/v1/admin/networks", "post") => json!({"id": uniq("contract-net")}),
            ("/console/session", "post") => json!({"token": self.admin}),
            ("/v1/cases/{id}/assign", _) => json!({"assignee": "mod"}),
            _ => generate(doc, schema),
        }
    }

    /// Undo what a request to `path` may have changed that later requests rely on.
    async fn restore(&self, path: &str) {
        if path == "/v1/admin/networks/{id}/policy" {
            let r = self
                .t
                .call(
                    Method::PUT,
                    "/v1/admin/networks/net1/policy",
                    Some(&self.admin),
                    Some(self.policy.clone()),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        }
    }
}

/// One request of the sweep.
struct Call {
    what: String,
    expect: Expect,
    role: Option<&'static str>,
    query: Vec<(String, String)>,
    body: Option<BodyEdit>,
    path_override: Option<(String, String)>,
}

impl Call {
    fn new(what: impl Into<String>, expect: Expect, role: Option<&'static str>) -> Self {
        Self {
            what: what.into(),
            expect,
            role,
            query: Vec::new(),
            body: None,
            path_override: None,
        }
    }
}

/// One operation of the document.
struct Op<'a> {
    path: &'a str,
    method: &'a str,
    op: &'a Value,
}

impl Op<'_> {
    fn roles(&self) -> Vec<&'static str> {
        let schemes: Vec<&str> = self.op["security"]
            .as_array()
            .map(|s| {
                s.iter()
                    .filter_map(|o| o.as_object())
                    .flat_map(|o| o.keys().map(String::as_str))
                    .collect()
            })
            .unwrap_or_default();
        ROLES
            .iter()
            .filter(|(_, scheme)| schemes.contains(scheme))
            .map(|(r, _)| *r)
            .collect()
    }

    fn is_public(&self) -> bool {
        self.op["security"].as_array().is_some_and(Vec::is_empty)
    }

    fn params(&self, location: &str) -> Vec<&Value> {
        self.op["parameters"]
            .as_array()
            .map(|ps| ps.iter().filter(|p| p["in"] == location).collect())
            .unwrap_or_default()
    }

    fn json_body_schema(&self) -> Option<&Value> {
        self.op
            .get("requestBody")
            .map(|rb| &rb["content"]["application/json"]["schema"])
            .filter(|s| !s.is_null())
    }

    fn label(&self) -> String {
        format!("{} {}", self.method.to_uppercase(), self.path)
    }
}

/// Variants of a JSON body at JSON pointer `at` (recursively into object properties and the first
/// item of arrays of objects).
fn body_variants(doc: &Doc<'_>, schema: &Value, value: &Value, at: &str, out: &mut Vec<Call>) {
    let s = doc.resolve(schema);
    if let Value::Object(map) = value
        && schema::types(s).contains(&"object")
    {
        let props = s["properties"].as_object().cloned().unwrap_or_default();
        let req = s.as_object().map(required).unwrap_or_default();
        for r in &req {
            if map.contains_key(*r) {
                out.push(with(
                    at,
                    Edit::Remove(r),
                    Expect::Invalid,
                    "required property missing",
                ));
            }
        }
        if s["additionalProperties"] == json!(false) {
            out.push(with(
                at,
                Edit::Set("contract_unknown", json!(1)),
                Expect::Invalid,
                "unknown property",
            ));
        }
        for (name, ps) in &props {
            let present = map.get(name);
            if present.is_some() && !req.contains(&name.as_str()) {
                out.push(with(
                    at,
                    Edit::Remove(name),
                    Expect::Valid,
                    "optional property left out",
                ));
            }
            for Variant { what, value } in invalid_values(doc, ps) {
                out.push(with(at, Edit::Set(name, value), Expect::Invalid, &what));
            }
            for Variant { what, value } in edge_values(doc, ps) {
                out.push(with(at, Edit::Set(name, value), Expect::Valid, &what));
            }
            if present.is_none() {
                let given = generate(doc, ps);
                out.push(with(
                    at,
                    Edit::Set(name, given),
                    Expect::Valid,
                    "optional property given",
                ));
            }
            // Nested values: only under properties the base body has.
            let child_at = format!("{at}/{name}");
            match present {
                Some(child @ Value::Object(_)) => body_variants(doc, ps, child, &child_at, out),
                Some(Value::Array(items)) => {
                    if let (Some(first), Some(item_schema)) =
                        (items.first(), doc.resolve(ps).get("items"))
                    {
                        body_variants(doc, item_schema, first, &format!("{child_at}/0"), out);
                    }
                }
                _ => {}
            }
        }
    }
}

/// A change of the base body at a JSON pointer.
enum Edit<'a> {
    Remove(&'a str),
    Set(&'a str, Value),
}

/// How a call's body differs from the operation's base body.
enum BodyEdit {
    /// Another body altogether.
    Replace(Value),
    /// Property `key` of the object at pointer `at` removed (`None`) or set.
    At {
        at: String,
        key: String,
        value: Option<Value>,
    },
}

impl BodyEdit {
    /// The edited body.
    fn apply(&self, base: &Value) -> Value {
        match self {
            BodyEdit::Replace(v) => v.clone(),
            BodyEdit::At { at, key, value } => {
                let mut out = base.clone();
                let obj: &mut Map<String, Value> =
                    out.pointer_mut(at).unwrap().as_object_mut().unwrap();
                match value {
                    None => obj.remove(key),
                    Some(v) => obj.insert(key.clone(), v.clone()),
                };
                out
            }
        }
    }
}

/// A body call recorded as a pointer edit; applied to the base body when sent.
fn with(at: &str, edit: Edit<'_>, expect: Expect, what: &str) -> Call {
    let (key, value) = match edit {
        Edit::Remove(k) => (k.to_owned(), None),
        Edit::Set(k, v) => (k.to_owned(), Some(v)),
    };
    let mut c = Call::new(format!("body {at}/{key}: {what}"), expect, None);
    c.body = Some(BodyEdit::At {
        at: at.to_owned(),
        key,
        value,
    });
    c
}

/// Variants of the query string: each parameter valid (generated, and at its edges) and invalid.
fn query_variants(doc: &Doc<'_>, op: &Op<'_>, out: &mut Vec<Call>) {
    for p in op.params("query") {
        let name = p["name"].as_str().unwrap();
        let ps = &p["schema"];
        let mut valid: Vec<(String, Value)> = Vec::new();
        if name != "cursor" {
            let v = match name {
                "network" => json!("net1"),
                _ => generate(doc, ps),
            };
            valid.push(("a generated value".into(), v));
        }
        valid.extend(edge_values(doc, ps).into_iter().map(|v| (v.what, v.value)));
        for (what, v) in valid {
            let mut c = Call::new(format!("query {name}: {what}"), Expect::Valid, None);
            c.query.push((name.to_owned(), query_text(&v)));
            out.push(c);
        }
        // A query value is text: wrong JSON types other than numbers/booleans/strings cannot be
        // written, and for a string parameter every text is of the right type.
        let allows_string = schema::types(doc.resolve(ps)).contains(&"string");
        let invalid: Vec<(String, String)> = invalid_values(doc, ps)
            .into_iter()
            .filter(|v| !matches!(v.value, Value::Null | Value::Object(_) | Value::Array(_)))
            .filter(|v| !allows_string || v.value.is_string())
            .map(|v| (v.what, query_text(&v.value)))
            .collect();
        for (what, v) in invalid {
            let mut c = Call::new(format!("query {name}: {what}"), Expect::Invalid, None);
            c.query.push((name.to_owned(), v));
            out.push(c);
        }
    }
}

/// Invalid values of integer path parameters.
fn path_variants(doc: &Doc<'_>, op: &Op<'_>, out: &mut Vec<Call>) {
    for p in op.params("path") {
        let name = p["name"].as_str().unwrap();
        if !schema::types(doc.resolve(&p["schema"])).contains(&"integer") {
            continue;
        }
        for Variant { what, value } in invalid_values(doc, &p["schema"]) {
            if matches!(value, Value::Null | Value::Object(_) | Value::Array(_)) {
                continue;
            }
            let mut c = Call::new(format!("path {name}: {what}"), Expect::Invalid, None);
            c.path_override = Some((name.to_owned(), query_text(&value)));
            out.push(c);
        }
    }
}

fn query_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn encode_query(pairs: &[(String, String)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Check one response against the document and the expectation; findings go to `out`.
fn judge(doc: &Doc<'_>, op: &Op<'_>, call: &Call, r: &Resp, out: &mut Vec<String>) {
    let status = r.status.as_u16();
    let label = format!(
        "{} [{}; {}]",
        op.label(),
        call.role.unwrap_or("no token"),
        call.what
    );
    let responses = &op.op["responses"];
    let documented = responses
        .get(status.to_string())
        .or_else(|| responses.get("default"));
    let Some(documented) = documented else {
        out.push(format!("{label}: undocumented status {status}: {}", r.body));
        return;
    };
    if status >= 500 {
        out.push(format!("{label}: {status}: {}", r.body));
    }
    match call.expect {
        Expect::Invalid if !(400..500).contains(&status) => out.push(format!(
            "{label}: invalid request answered {status}: {}",
            r.body
        )),
        Expect::Valid if matches!(status, 400 | 401 | 413) => {
            let rule = PROSE_RULES
                .iter()
                .find(|(o, what, _)| *o == op.label() && call.what.starts_with(what));
            match rule {
                Some((_, _, code)) if r.code() == *code => {}
                _ => out.push(format!(
                    "{label}: valid request refused with {status}: {}",
                    r.body
                )),
            }
        }
        Expect::Denied if !matches!(status, 401 | 403) => out.push(format!(
            "{label}: a role without access got {status}: {}",
            r.body
        )),
        _ => {}
    }
    let is_json = r
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if let Some(schema) = documented["content"]["application/json"].get("schema")
        && is_json
    {
        let mut errors = Vec::new();
        doc.validate(schema, &r.body, "", &mut errors);
        for e in errors {
            out.push(format!(
                "{label}: {status} body does not match the document: {e}"
            ));
        }
    }
}

/// Send every call of one operation.
async fn sweep_op(fx: &Fixtures, doc: &Doc<'_>, op: &Op<'_>, findings: &mut Vec<String>) -> usize {
    let roles = op.roles();
    let actor = roles.first().copied();
    let mut calls = Vec::new();
    // Access: every role's token and none.
    if !op.is_public() {
        for (role, _) in ROLES {
            let expect = if roles.contains(&role) {
                Expect::Valid
            } else {
                Expect::Denied
            };
            calls.push(Call::new("access", expect, Some(role)));
        }
        calls.push(Call::new("access", Expect::Denied, None));
    } else {
        calls.push(Call::new("public", Expect::Valid, None));
    }
    let mut variants = Vec::new();
    let body_schema = op.json_body_schema();
    let base_body = body_schema.map(|s| fx.body(doc, op.path, op.method, s));
    if let (Some(s), Some(base)) = (body_schema, &base_body) {
        for (what, v) in [
            ("a JSON array for the object body", json!([null, null])),
            ("null for the object body", Value::Null),
            ("a string for the object body", json!("contract")),
            ("a number for the object body", json!(1)),
        ] {
            let mut c = Call::new(what, Expect::Invalid, None);
            c.body = Some(BodyEdit::Replace(v));
            variants.push(c);
        }
        body_variants(doc, s, base, "", &mut variants);
    }
    query_variants(doc, op, &mut variants);
    path_variants(doc, op, &mut variants);
    if actor.is_some() || op.is_public() {
        for mut v in variants {
            v.role = actor;
            calls.push(v);
        }
    }
    let method = Method::from_bytes(op.method.to_uppercase().as_bytes()).unwrap();
    let n = calls.len();
    for call in calls {
        let mut path = op.path.to_owned();
        for p in op.params("path") {
            let name = p["name"].as_str().unwrap();
            let value = match &call.path_override {
                Some((n, v)) if n == name => v.clone(),
                _ => fx.path_param(op.path, name).await,
            };
            path = path.replace(&format!("{{{name}}}"), &value);
        }
        if !call.query.is_empty() {
            path = format!("{path}?{}", encode_query(&call.query));
        }
        let body = match (&base_body, &call.body) {
            (Some(base), Some(edit)) => Some(edit.apply(base)),
            (base, None) => base.clone(),
            (None, Some(_)) => unreachable!("a body variant without a body"),
        };
        let token = call.role.map(|r| fx.token(r));
        let r = fx.t.call(method.clone(), &path, token, body).await;
        judge(doc, op, &call, &r, findings);
        fx.restore(op.path).await;
    }
    n
}

/// A report of a message with one attachment (multipart), and a plain one; returns
/// (case, report, attachment case, the plain submission).
async fn reports(t: &Transport, net: &NetTokens) -> (String, String, String, Value) {
    let receipt = report_with_attachment(t, "net1", net, b"contract attachment").await;
    let attachment_case = receipt["case_id"].as_str().unwrap().to_owned();
    let (receipt, plain) = report_plain(t, "net1", net, b"plain abuse").await;
    (
        receipt["case_id"].as_str().unwrap().to_owned(),
        receipt["report_id"].as_str().unwrap().to_owned(),
        attachment_case,
        plain,
    )
}

async fn fixtures(h: &Harness, t: Transport) -> Fixtures {
    let admin = h.admin.clone();
    let net = h.net1.clone();
    // Generous rate limits: the sweep submits many (duplicate) reports.
    let mut policy = t
        .get("/v1/admin/networks/net1/policy", Some(&admin))
        .await
        .body;
    policy["reporter_rate_limit"] = json!(1_000_000);
    policy["network_rate_limit"] = json!(1_000_000);
    let r = t
        .call(
            Method::PUT,
            "/v1/admin/networks/net1/policy",
            Some(&admin),
            Some(policy.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = t
        .post(
            "/v1/admin/networks/net1/webhooks",
            Some(&admin),
            json!({"url": "http://127.0.0.1:9/contract"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let webhook_id = r.body["id"].as_str().unwrap().to_owned();
    // A federation peer of net1 (its server is never reached: nothing is forwarded here).
    let r = t
        .post(
            "/v1/admin/networks/net1/peers",
            Some(&admin),
            json!({"network": "peer.example", "base_url": "http://127.0.0.1:9", "key_source": "fetched"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let (case_id, report_id, attachment_case, submission) = reports(&t, &net).await;
    let detail = t
        .get(&format!("/v1/cases/{attachment_case}"), Some(&admin))
        .await;
    let attachment_id = first_download(&detail.body)
        .and_then(|d| d.rsplit('/').next().map(str::to_owned))
        .expect("the case view names its attachment");
    let deliveries = t
        .get(
            &format!("/v1/admin/webhooks/{webhook_id}/deliveries"),
            Some(&admin),
        )
        .await;
    let delivery_id = deliveries.body["deliveries"][0]["id"]
        .as_str()
        .expect("the reports made webhook deliveries")
        .to_owned();
    let keys = t.get("/v1/admin/networks/net1/keys", Some(&admin)).await;
    let key_id = keys.body["keys"][0]["key_id"].as_u64().unwrap();
    let ctx = dm("net1", "alice", "bob", "contract-stamp");
    let stamp_request = json!({
        "suite": 1,
        "commitment": b64(&[7u8; 32]),
        "context": serde_json::to_value(&ctx).unwrap(),
    });
    Fixtures {
        t,
        admin,
        net,
        case_id,
        report_id,
        attachment_case,
        attachment_id,
        key_id,
        webhook_id,
        delivery_id,
        submission,
        stamp_request,
        policy,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_keeps_the_documents_contract() {
    let h = harness().await;
    let (addr, stop, _server) = spawn_http(h.state.clone()).await;
    let t = Transport::Http(addr);
    let doc_value = t.get("/v1/openapi.json", None).await.body;
    let doc = Doc(&doc_value);
    let fx = fixtures(&h, t).await;

    let mut findings = Vec::new();
    let mut per_op: BTreeMap<String, usize> = BTreeMap::new();
    for (path, item) in doc_value["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let op = Op { path, method, op };
            if path.starts_with("/console/") && method != "post" {
                continue; // cookie sessions: tests/console_api.rs
            }
            let n = sweep_op(&fx, &doc, &op, &mut findings).await;
            per_op.insert(op.label(), n);
        }
    }
    let total: usize = per_op.values().sum();
    eprintln!(
        "contract: {total} requests over {} operations",
        per_op.len()
    );
    let _ = stop.send(());
    assert!(
        findings.is_empty(),
        "{} disagreements between the server and docs/openapi.json:\n{}",
        findings.len(),
        findings.join("\n")
    );
    assert!(total > 500, "the sweep sent only {total} requests");
}
