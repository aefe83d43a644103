//! Shared test harness: databases (SQLite temp file; PostgreSQL database per test when
//! `TEST_DATABASE_URL` is set), a configured server, a transport (router `oneshot` or real HTTP)
//! and helpers that make franked messages through the server's own stamp endpoint.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code, missing_docs)]

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use franking_core::frank::{
    Context, Envelope, Report, ReportedMessage, SessionKey, Stamp, Suite, open, seal,
};
use http_body_util::BodyExt as _;
use report_server::auth::{Role, issue_token};
use report_server::bootstrap;
use report_server::keys::{Policy, create_network};
use report_server::seal::ServerKey;
use report_server::{AppState, Limits, db, router};
use serde_json::{Value, json};
use tower::ServiceExt as _;

#[path = "../../../tests/src/test_db.rs"]
mod test_db;
pub use test_db::TestDb;

pub mod process;
pub mod proxy;

/// Tokens of one network.
#[derive(Clone)]
pub struct NetTokens {
    pub relay: String,
    pub service: String,
    pub moderator: String,
}

/// A running server configuration: state, router, tokens for networks `net1` and `net2`.
pub struct Harness {
    pub state: AppState,
    pub app: Router,
    pub admin: String,
    pub net1: NetTokens,
    pub net2: NetTokens,
    pub db: TestDb,
}

pub async fn net_tokens(state: &AppState, net: &str) -> NetTokens {
    let (_, relay) = issue_token(&state.db, Role::Relay, Some(net), "relay", None)
        .await
        .unwrap();
    let (_, service) = issue_token(&state.db, Role::Service, Some(net), "svc", None)
        .await
        .unwrap();
    let (_, moderator) = issue_token(&state.db, Role::Moderator, Some(net), "mod", None)
        .await
        .unwrap();
    NetTokens {
        relay: relay.secret.to_string(),
        service: service.secret.to_string(),
        moderator: moderator.secret.to_string(),
    }
}

pub async fn state_for(db: &TestDb, key: ServerKey, limits: Limits) -> AppState {
    let (pool, backend) = db::connect(&db.url, 8).await.unwrap();
    bootstrap::check_server_key(&pool, &key).await.unwrap();
    AppState::new(pool, backend, key, limits)
}

pub async fn harness_with(db: TestDb, limits: Limits) -> Harness {
    let key = ServerKey::generate().unwrap();
    let state = state_for(&db, key, limits).await;
    for n in ["net1", "net2"] {
        create_network(&state.db, &state.server_key, n, n, &Policy::default())
            .await
            .unwrap();
    }
    let admin = bootstrap::issue_admin(&state.db, "test-admin")
        .await
        .unwrap()
        .to_string();
    let net1 = net_tokens(&state, "net1").await;
    let net2 = net_tokens(&state, "net2").await;
    Harness {
        app: router(state.clone()),
        state,
        admin,
        net1,
        net2,
        db,
    }
}

/// The default test database: SQLite, or PostgreSQL when `REPORT_SERVER_TESTS_ON_POSTGRES=1` and
/// `TEST_DATABASE_URL` are both set (to run the router-level suite against PostgreSQL as well).
pub async fn default_db() -> TestDb {
    if std::env::var("REPORT_SERVER_TESTS_ON_POSTGRES").is_ok_and(|v| v == "1")
        && let Some(db) = TestDb::postgres().await
    {
        return db;
    }
    TestDb::sqlite()
}

pub async fn harness() -> Harness {
    harness_with(default_db().await, Limits::default()).await
}

/// SQLite always; PostgreSQL too when `TEST_DATABASE_URL` is set.
pub async fn harnesses() -> Vec<Harness> {
    let mut v = vec![harness().await];
    if let Some(db) = TestDb::postgres().await {
        v.push(harness_with(db, Limits::default()).await);
    }
    v
}

static UNIQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// `p` with a number unique in this test process.
pub fn uniq(p: &str) -> String {
    format!(
        "{p}{}",
        UNIQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

/// `POST /v1/cases/{case}/{verb}` as the admin; asserts 200.
pub async fn act(h: &Harness, case: &str, verb: &str, body: Value) {
    let r = h
        .t()
        .post(&format!("/v1/cases/{case}/{verb}"), Some(&h.admin), body)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{verb}: {}", r.body);
}

/// How requests reach the server.
#[derive(Clone)]
pub enum Transport {
    /// `tower::ServiceExt::oneshot` on the router.
    Router(Router),
    /// Real HTTP/1.1 over TCP (hyper client).
    Http(SocketAddr),
}

pub struct Resp {
    pub status: StatusCode,
    pub body: Value,
    pub headers: axum::http::HeaderMap,
}

impl Resp {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

impl Transport {
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Resp {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        if let Some(ct) = content_type {
            b = b.header("content-type", ct);
        }
        let (status, headers, bytes) = match self {
            Transport::Router(app) => {
                let resp = app
                    .clone()
                    .oneshot(b.body(Body::from(body)).unwrap())
                    .await
                    .unwrap();
                let status = resp.status();
                let headers = resp.headers().clone();
                (
                    status,
                    headers,
                    resp.into_body().collect().await.unwrap().to_bytes(),
                )
            }
            Transport::Http(addr) => {
                let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
                let (mut sender, conn) =
                    hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                        .await
                        .unwrap();
                tokio::spawn(conn);
                let req = b
                    .header("host", addr.to_string())
                    .body(http_body_util::Full::new(axum::body::Bytes::from(body)))
                    .unwrap();
                let resp = sender.send_request(req).await.unwrap();
                let status = resp.status();
                let headers = resp.headers().clone();
                (
                    status,
                    headers,
                    resp.into_body().collect().await.unwrap().to_bytes(),
                )
            }
        };
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

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        match body {
            Some(v) => {
                self.raw(
                    method,
                    path,
                    token,
                    Some("application/json"),
                    serde_json::to_vec(&v).unwrap(),
                )
                .await
            }
            None => self.raw(method, path, token, None, Vec::new()).await,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.call(Method::POST, path, token, Some(body)).await
    }
}

impl Harness {
    pub fn t(&self) -> Transport {
        Transport::Router(self.app.clone())
    }
}

/// Start a real HTTP server for `state` on 127.0.0.1:0; returns its address and a shutdown sender.
pub async fn spawn_http(
    state: AppState,
) -> (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(report_server::serve(listener, state, async move {
        let _ = rx.await;
    }));
    (addr, tx, handle)
}

pub fn now_ms() -> u64 {
    report_server::util::now_ms() as u64
}

pub fn b64(b: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(b)
}

/// A franked message: sealed by a sender, stamped by the server (relay token), opened by the
/// recipient — everything a recipient keeps for reporting.
pub struct Franked {
    pub message: ReportedMessage,
}

/// Seal `plaintext`, have the server stamp it for `ctx` with `relay`, open it, and return the
/// reported-message form.
pub async fn franked(
    t: &Transport,
    relay: &str,
    ctx: Context,
    plaintext: &[u8],
) -> ReportedMessage {
    let sk = SessionKey::generate().unwrap();
    let body_ad = b"conversation-1";
    let env = seal(Suite::default(), &sk, body_ad, plaintext).unwrap();
    let stamp = stamp_via_server(t, relay, &env, &ctx).await;
    let opened = open(&env, &sk, body_ad).unwrap();
    ReportedMessage::new(&env, body_ad, &opened, ctx, stamp)
}

/// The server's stamp (`POST /v1/stamp` with `relay`) on `env`'s commitment in `ctx`.
pub async fn stamp_via_server(t: &Transport, relay: &str, env: &Envelope, ctx: &Context) -> Stamp {
    let r = t
        .post(
            "/v1/stamp",
            Some(relay),
            json!({
                "suite": env.suite.id(),
                "commitment": b64(env.commitment.as_bytes()),
                "context": serde_json::to_value(ctx).unwrap(),
            }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "stamp failed: {}", r.body);
    serde_json::from_value(r.body["stamp"].clone()).unwrap()
}

/// A room context on `net` from alice to `recipients`, timestamped now.
pub fn room(net: &str, recipients: &[&str], message_id: &str) -> Context {
    let recipients = recipients.iter().map(|r| (*r).to_owned()).collect();
    Context::room(net, "alice", "room", recipients, now_ms(), message_id).unwrap()
}

/// A direct-message context on `net` from `sender` to `recipient`, timestamped now.
pub fn dm(net: &str, sender: &str, recipient: &str, message_id: &str) -> Context {
    Context::direct(net, sender, recipient, now_ms(), message_id).unwrap()
}

pub fn report_json(
    message: ReportedMessage,
    reporter: &str,
    earlier: Vec<ReportedMessage>,
) -> Value {
    serde_json::to_value(Report {
        message,
        reporter: reporter.to_owned(),
        reason: "abusive".to_owned(),
        earlier,
    })
    .unwrap()
}

pub fn submission(reporter: &str, report: Value) -> Value {
    json!({ "reporter": reporter, "category": "spam", "report": report })
}

/// Report (as bob, on `net`) a message from mallory that carries one attachment holding
/// `attachment`, as a multipart body with its blob; asserts 201 and returns the receipt.
pub async fn report_with_attachment(
    t: &Transport,
    net: &str,
    tokens: &NetTokens,
    attachment: &[u8],
) -> Value {
    let (ct, body) = attachment_report_body(t, net, tokens, attachment, |_| {}).await;
    let r = t
        .raw(
            Method::POST,
            "/v1/reports",
            Some(&tokens.service),
            Some(&ct),
            body,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body
}

/// The multipart body (and its content type) of bob's report, on `net`, of a message from mallory
/// that carries one attachment holding `attachment`; `tamper` may alter the sealed blob first.
pub async fn attachment_report_body(
    t: &Transport,
    net: &str,
    tokens: &NetTokens,
    attachment: &[u8],
    tamper: impl FnOnce(&mut Vec<u8>),
) -> (String, Vec<u8>) {
    use franking_core::frank::attachment::seal_attachment;
    use franking_core::frank::content::MessageContent;
    let mut blob = Vec::new();
    let reference = seal_attachment("image/png", attachment, &mut blob).unwrap();
    tamper(&mut blob);
    let content = MessageContent {
        text: "see attached".into(),
        attachments: vec![reference],
    };
    let ctx = dm(net, "mallory", "bob", &uniq("m"));
    let m = franked(t, &tokens.relay, ctx, &content.encode().unwrap()).await;
    let sub = submission("bob", report_json(m, "bob", vec![]));
    let boundary = "franking-test-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"report\"\r\n\
         Content-Type: application/json\r\n\r\n{sub}\r\n--{boundary}\r\n\
         Content-Disposition: form-data; name=\"attachment\"; filename=\"0\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&blob);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Report (as bob, on `net`) a message from mallory with `plaintext`; asserts 201 and returns the
/// receipt and the submission.
pub async fn report_plain(
    t: &Transport,
    net: &str,
    tokens: &NetTokens,
    plaintext: &[u8],
) -> (Value, Value) {
    let ctx = dm(net, "mallory", "bob", &uniq("m"));
    let m = franked(t, &tokens.relay, ctx, plaintext).await;
    let sub = submission("bob", report_json(m, "bob", vec![]));
    let r = t
        .post("/v1/reports", Some(&tokens.service), sub.clone())
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    (r.body, sub)
}

/// The download path of the first attachment in a case view.
pub fn first_download(case_view: &Value) -> Option<String> {
    fn find(v: &Value) -> Option<String> {
        match v {
            Value::Object(m) => m
                .get("download")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| m.values().find_map(find)),
            Value::Array(a) => a.iter().find_map(find),
            _ => None,
        }
    }
    find(case_view)
}

/// Count rows of a table (test-only dynamic SQL over a fixed table list).
pub async fn count(state: &AppState, table: &str) -> i64 {
    assert!(
        [
            "cases",
            "reports",
            "case_reporters",
            "evidence",
            "rate_counters",
            "audit_log",
            "tokens",
            "stamping_keys"
        ]
        .contains(&table)
    );
    use sqlx::Row as _;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) AS n FROM {table}"
    )))
    .fetch_one(&state.db)
    .await
    .unwrap()
    .try_get::<i64, _>("n")
    .unwrap()
}

/// Create a webhook endpoint of `net` (all event types, or `types`); returns (id, secret).
pub async fn endpoint(h: &Harness, net: &str, url: &str, types: Option<Value>) -> (String, String) {
    let mut body = json!({ "url": url });
    if let Some(t) = types {
        body["event_types"] = t;
    }
    let r = h
        .t()
        .post(
            &format!("/v1/admin/networks/{net}/webhooks"),
            Some(&h.admin),
            body,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    (
        r.body["id"].as_str().unwrap().to_owned(),
        r.body["secret"].as_str().unwrap().to_owned(),
    )
}
