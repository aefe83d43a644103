//! An in-process report server for end-to-end tests, reached over real HTTP on 127.0.0.1.
//!
//! [`TestServer::start`] runs `report_server::serve` on its own thread and tokio runtime (so the
//! test itself can use blocking clients such as `client_sdk::server::ServerClient`) against a
//! [`TestDb`]: a SQLite file in a fresh temporary directory, or a fresh PostgreSQL database created
//! on the `TEST_DATABASE_URL` server and dropped again afterwards. [`databases`] gives every backend
//! a test should run on. The only admin secret is issued through the library
//! (`bootstrap::issue_admin`); everything else goes through the HTTP API.
//!
//! This file is also compiled into `client-sdk/tests/cli_server.rs` (via `#[path]`), so it depends
//! only on report-server, tokio, sqlx, serde_json and ureq.
#![allow(clippy::expect_used, dead_code)]

use std::time::Duration;

use serde_json::{Value, json};

#[path = "test_db.rs"]
mod test_db;
pub use test_db::{TestDb, unique};

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(f)
}

/// Every database a test should run on: SQLite always, PostgreSQL when `TEST_DATABASE_URL` is
/// set (and required under `CI=true`).
pub fn databases() -> Vec<TestDb> {
    let mut v = vec![TestDb::sqlite()];
    v.extend(block_on(TestDb::postgres()));
    v
}

/// A report server running in-process on 127.0.0.1 (random port) until dropped.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// A global admin token (issued through the library; everything else is made over HTTP).
    pub admin: String,
    /// Which database backs it.
    pub backend: &'static str,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// The server key (base64url), to restart on the same database.
    key: String,
    // Dropped after the server thread has stopped (the `Drop` impl stops it first).
    _db: Option<TestDb>,
}

/// How [`TestServer::start_with`] runs a server.
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// The server key (base64url); `None` = a fresh one.
    pub server_key: Option<String>,
    /// Listen on this port of 127.0.0.1 (e.g. to restart a server where its peers expect it);
    /// `None` = a random free port.
    pub port: Option<u16>,
    /// Run the outbox delivery worker (webhooks and federation) with these settings.
    pub delivery: Option<report_server::webhooks::delivery::DeliveryConfig>,
}

/// A server stopped by [`TestServer::stop`]: its database (kept), key and port, to start again.
pub struct Stopped {
    /// The database, untouched.
    pub db: TestDb,
    /// The options that restart the same server (same key and port; no delivery worker unless
    /// set again).
    pub options: StartOptions,
}

impl TestServer {
    /// Start a server on `db` (fresh server key, default limits, migrations run).
    pub fn start(db: TestDb) -> Self {
        Self::start_with(db, StartOptions::default())
    }

    /// Stop the server, keeping its database for [`TestServer::start_with`].
    pub fn stop(mut self) -> Stopped {
        self.shutdown_and_join();
        let port = self
            .url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port in the URL");
        Stopped {
            db: self._db.take().expect("the database"),
            options: StartOptions {
                server_key: Some(self.key.clone()),
                port: Some(port),
                delivery: None,
            },
        }
    }

    fn shutdown_and_join(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    /// Start a server on `db` with `opts`.
    pub fn start_with(db: TestDb, opts: StartOptions) -> Self {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<(String, String)>();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let url = db.url.clone();
        let key = match &opts.server_key {
            Some(k) => report_server::seal::ServerKey::from_base64(k).expect("server key"),
            None => report_server::seal::ServerKey::generate().expect("server key"),
        };
        let key_b64 = key.to_base64().to_string();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("tokio runtime");
            rt.block_on(async move {
                let (pool, backend) = report_server::db::connect(&url, 8)
                    .await
                    .expect("connect and migrate");
                report_server::bootstrap::check_server_key(&pool, &key)
                    .await
                    .expect("server key check");
                let admin = report_server::bootstrap::issue_admin(&pool, "e2e-admin")
                    .await
                    .expect("admin token");
                let state = report_server::AppState::new(
                    pool.clone(),
                    backend,
                    key,
                    report_server::Limits::default(),
                );
                if let Some(cfg) = opts.delivery {
                    report_server::webhooks::delivery::spawn(&state, cfg);
                }
                let listener = tokio::net::TcpListener::bind(("127.0.0.1", opts.port.unwrap_or(0)))
                    .await
                    .expect("bind 127.0.0.1");
                let addr = listener.local_addr().expect("local addr");
                ready_tx
                    .send((format!("http://{addr}"), admin.to_string()))
                    .expect("report readiness");
                report_server::serve(listener, state, async move {
                    let _ = stop_rx.await;
                })
                .await
                .expect("serve");
                pool.close().await;
            });
        });
        let (url, admin) = ready_rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the test server did not start");
        Self {
            url,
            admin,
            backend: db.backend,
            shutdown: Some(stop_tx),
            thread: Some(thread),
            key: key_b64,
            _db: Some(db),
        }
    }

    /// A JSON request with an optional bearer token; returns (status, JSON body or `Null`).
    pub fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Resp {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut headers = Vec::new();
        if let Some(a) = &auth {
            headers.push(("authorization", a.as_str()));
        }
        let bytes = match &body {
            Some(v) => {
                headers.push(("content-type", "application/json"));
                serde_json::to_vec(v).expect("encode body")
            }
            None => Vec::new(),
        };
        self.request(method, path, &headers, bytes)
    }

    /// POST raw JSON bytes with extra headers (no token); returns (status, JSON body or `Null`).
    pub fn post_raw(&self, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
        let mut all = vec![("content-type", "application/json")];
        all.extend_from_slice(headers);
        self.request("POST", path, &all, body.to_vec())
    }

    fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Resp {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        let url = format!("{}{path}", self.url);
        let mut req = ureq::http::Request::builder().method(method).uri(&url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(body).expect("request");
        let mut resp = agent
            .run(req)
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().expect("response body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Resp { status, body }
    }

    /// GET with a token.
    pub fn get(&self, path: &str, token: &str) -> Resp {
        self.call("GET", path, Some(token), None)
    }

    /// POST JSON with a token.
    pub fn post(&self, path: &str, token: &str, body: Value) -> Resp {
        self.call("POST", path, Some(token), Some(body))
    }

    /// Create network `id` through the admin API (with `policy` if given), and a relay, a
    /// service and a moderator token for it.
    pub fn network(&self, id: &str, policy: Option<Value>) -> Network {
        let mut body = json!({ "id": id });
        if let Some(p) = policy {
            body["policy"] = p;
        }
        let r = self.post("/v1/admin/networks", &self.admin, body);
        assert_eq!(r.status, 201, "create network {id}: {}", r.body);
        let token = |role: &str, subject: &str| {
            let r = self.post(
                "/v1/admin/tokens",
                &self.admin,
                json!({ "role": role, "network": id, "subject": subject }),
            );
            assert_eq!(r.status, 201, "issue {role} token: {}", r.body);
            r.body["token"]
                .as_str()
                .expect("token in answer")
                .to_owned()
        };
        Network {
            id: id.to_owned(),
            relay: token("relay", &format!("{id}-relay")),
            service: token("service", &format!("{id}-backend")),
            moderator: token("moderator", &format!("{id}-mod")),
            moderator_name: format!("{id}-mod"),
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown_and_join();
    }
}

impl TestServer {
    /// A GET with a token and extra request headers; returns the raw answer (any body size).
    pub fn get_raw(&self, path: &str, token: &str, headers: &[(&str, &str)]) -> RawResp {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into();
        let url = format!("{}{path}", self.url);
        let mut req = agent
            .get(&url)
            .header("authorization", format!("Bearer {token}"));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mut resp = req.call().unwrap_or_else(|e| panic!("GET {url}: {e}"));
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp
            .body_mut()
            .with_config()
            .limit(u64::MAX)
            .read_to_vec()
            .expect("response body");
        RawResp {
            status,
            headers,
            body,
        }
    }

    /// Rows in `table` of this server's database (a fixed list of tables).
    pub fn count_rows(&self, table: &str) -> i64 {
        assert!(
            [
                "cases",
                "reports",
                "case_reporters",
                "evidence",
                "attachments",
                "attachment_chunks",
                "rate_counters",
                "federation_forwards",
                "federation_inbound",
            ]
            .contains(&table),
            "count_rows: unexpected table {table}"
        );
        let url = self._db.as_ref().expect("the database").url.clone();
        block_on(async move {
            sqlx::any::install_default_drivers();
            let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&url)
                .await
                .expect("connect to the test database");
            let (n,): (i64,) =
                sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                    .fetch_one(&mut conn)
                    .await
                    .expect("count rows");
            let _ = sqlx::Connection::close(conn).await;
            n
        })
    }
}

/// A raw HTTP answer.
#[derive(Debug)]
pub struct RawResp {
    /// Status code.
    pub status: u16,
    /// Response headers.
    pub headers: ureq::http::HeaderMap,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl RawResp {
    /// A header's value as text (`""` if absent).
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Resp {
    /// Status code.
    pub status: u16,
    /// JSON body (`Null` if empty, a string if not JSON).
    pub body: Value,
}

impl Resp {
    /// The machine-readable error code of an error answer (`""` if none).
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

/// A network created through the admin API, with one token per role.
#[derive(Clone, Debug)]
pub struct Network {
    /// The network id.
    pub id: String,
    /// Relay token (stamping).
    pub relay: String,
    /// Service token (report intake; asserts the reporter).
    pub service: String,
    /// Moderator token.
    pub moderator: String,
    /// The moderator token's subject.
    pub moderator_name: String,
}
