//! The `report-server` binary as a child process (started, SIGKILLed, restarted on the same
//! database) and a fallible HTTP client for it: requests made while the server dies or the
//! database is away must report what happened, not panic.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt as _;
use serde_json::Value;

/// A running `report-server` process.
pub struct ServerProcess {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its stdout up to and including the `listening` line (dev tokens on a first start).
    pub lines: Vec<String>,
}

impl ServerProcess {
    /// Start the binary with `--data-dir dir`, listening on a free port, plus `envs` (e.g.
    /// `DATABASE_URL`); waits for the `listening` line. Logs go to `dir/server-<n>.log`.
    pub async fn start(dir: &Path, envs: &[(&str, &str)]) -> Self {
        let dir = dir.to_path_buf();
        let envs: Vec<(String, String)> = envs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        tokio::task::spawn_blocking(move || Self::start_blocking(&dir, &envs))
            .await
            .unwrap()
    }

    fn start_blocking(dir: &PathBuf, envs: &[(String, String)]) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let log = (0..)
            .map(|n| dir.join(format!("server-{n}.log")))
            .find(|p| !p.exists())
            .unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_report-server"));
        cmd.arg("--data-dir")
            .arg(dir)
            .arg("--listen")
            .arg("127.0.0.1:0")
            .env_remove("DATABASE_URL")
            .env_remove("FRANKING_SERVER_KEY")
            .env_remove("FRANKING_PRODUCTION")
            .env_remove("FRANKING_CONFIG")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut lines = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        let addr = loop {
            let mut line = String::new();
            if Instant::now() > deadline || out.read_line(&mut line).unwrap_or(0) == 0 {
                break None;
            }
            let line = line.trim_end().to_owned();
            let listening = line.strip_prefix("report-server listening on http://");
            let addr = listening.map(|a| a.parse::<SocketAddr>().unwrap());
            lines.push(line);
            if addr.is_some() {
                break addr;
            }
        };
        let mut server = Self {
            child,
            addr: addr.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0))),
            lines,
        };
        if addr.is_none() {
            server.kill9();
            panic!(
                "server did not start: {:?}\n{}",
                server.lines,
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        server
    }

    /// The token printed after `label` (e.g. `admin token:`) by the dev bootstrap.
    pub fn token(&self, label: &str) -> String {
        self.lines
            .iter()
            .find_map(|l| l.trim().strip_prefix(label))
            .unwrap_or_else(|| panic!("no {label} in {:?}", self.lines))
            .trim()
            .to_owned()
    }

    /// The process id (for reading `/proc/<pid>/status`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// True while the process has not exited.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// `kill -9`: no graceful shutdown, no pool close, transactions cut wherever they are.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A fresh directory for a server's data (SQLite file, `server.key`, logs).
pub fn data_dir(prefix: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(super::test_db::unique(prefix));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What came back: a response, or why there was none (connection refused/reset, or no answer
/// within the client's deadline).
#[derive(Debug)]
pub enum Outcome {
    /// Status and JSON body (or the body text as a JSON string).
    Answered(StatusCode, Value),
    /// The connection failed or broke before a complete response.
    Failed(String),
    /// No response before the client's deadline.
    Hung,
}

impl Outcome {
    /// The status, if answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Outcome::Answered(s, _) => Some(*s),
            _ => None,
        }
    }

    /// The JSON body, if answered.
    pub fn body(&self) -> &Value {
        match self {
            Outcome::Answered(_, b) => b,
            _ => &Value::Null,
        }
    }

    /// The error code of an answered error.
    pub fn code(&self) -> &str {
        self.body()["error"]["code"].as_str().unwrap_or("")
    }
}

/// One HTTP/1.1 request on a fresh connection, answered within `deadline` or [`Outcome::Hung`].
pub async fn request(
    addr: SocketAddr,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
    deadline: Duration,
) -> Outcome {
    let fut = async {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(conn);
        let mut b = Request::builder()
            .method(method)
            .uri(path)
            .header("host", addr.to_string());
        if let Some(t) = token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        let bytes = match body {
            Some(v) => {
                b = b.header("content-type", "application/json");
                serde_json::to_vec(v).unwrap()
            }
            None => Vec::new(),
        };
        let req = b
            .body(http_body_util::Full::new(axum::body::Bytes::from(bytes)))
            .unwrap();
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| format!("send: {e}"))?;
        let status = resp.status();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("body: {e}"))?
            .to_bytes();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Ok::<_, String>((status, body))
    };
    match tokio::time::timeout(deadline, fut).await {
        Ok(Ok((s, b))) => Outcome::Answered(s, b),
        Ok(Err(e)) => Outcome::Failed(e),
        Err(_) => Outcome::Hung,
    }
}

/// `n` distinct report submissions for network `net` (each message stamped by the server at
/// `addr` with `relay`, each reported by its own recipient, so no reporter rate limit is hit).
pub async fn submissions(addr: SocketAddr, relay: &str, net: &str, n: usize) -> Vec<Value> {
    let t = super::Transport::Http(addr);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let reporter = format!("rcpt-{i}");
        let ctx = super::dm(net, "mallory", &reporter, &format!("msg-{i}"));
        let msg = super::franked(&t, relay, ctx, format!("abuse number {i}").as_bytes()).await;
        out.push(super::submission(
            &reporter,
            super::report_json(msg, &reporter, vec![]),
        ));
    }
    out
}
