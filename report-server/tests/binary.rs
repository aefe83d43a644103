//! The `report-server` binary as an operator runs it: zero-setup first start in a data directory
//! (SQLite file, 0600 server key, dev tokens printed once), `FRANKING_LISTEN`, a restart that
//! reuses everything, and SIGTERM ending the process cleanly (exit 0); and the durable webhook
//! outbox: an event committed while no delivery worker runs (FRANKING_WEBHOOK_INTERVAL_MS=0) is
//! delivered, signed, after a `kill -9` and a restart with the worker on.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use common::{Transport, dm, franked, now_ms, report_json, submission};
use report_server::webhooks::signature;
use serde_json::json;

struct Server {
    child: Child,
    addr: String,
    lines: Vec<String>,
}

fn start(dir: &std::path::Path, envs: &[(&str, &str)]) -> Server {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_report-server"));
    cmd.arg("--data-dir")
        .arg(dir)
        .env_remove("DATABASE_URL")
        .env_remove("FRANKING_SERVER_KEY")
        .env_remove("FRANKING_PRODUCTION")
        .env_remove("FRANKING_LISTEN")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(Instant::now() < deadline, "no listening line: {lines:?}");
        let mut line = String::new();
        if out.read_line(&mut line).unwrap() == 0 {
            panic!("server exited early: {lines:?}");
        }
        let done = line.starts_with("report-server listening on http://");
        lines.push(line.trim_end().to_owned());
        if done {
            break;
        }
    }
    let addr = lines
        .last()
        .unwrap()
        .trim_start_matches("report-server listening on http://")
        .to_owned();
    Server { child, addr, lines }
}

fn get(addr: &str, path: &str, token: Option<&str>) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    let auth = token.map_or(String::new(), |t| format!("authorization: Bearer {t}\r\n"));
    write!(
        s,
        "GET {path} HTTP/1.1\r\nhost: {addr}\r\n{auth}connection: close\r\n\r\n"
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    resp
}

fn token(lines: &[String], label: &str) -> String {
    lines
        .iter()
        .find_map(|l| l.trim().strip_prefix(label))
        .unwrap_or_else(|| panic!("no {label} in {lines:?}"))
        .trim()
        .to_owned()
}

fn sigterm_and_wait(mut s: Server) {
    let ok = Command::new("kill")
        .arg("-TERM")
        .arg(s.child.id().to_string())
        .status()
        .unwrap();
    assert!(ok.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = s.child.try_wait().unwrap() {
            assert!(status.success(), "exit status {status:?}");
            return;
        }
        assert!(Instant::now() < deadline, "server did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn zero_setup_start_restart_and_sigterm() {
    let dir = std::env::temp_dir().join(format!(
        "report-server-bin-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();

    let s = start(&dir, &[("FRANKING_LISTEN", "127.0.0.1:0")]);
    assert!(
        s.lines
            .iter()
            .any(|l| l.starts_with("dev mode: generated server key"))
    );
    let admin = token(&s.lines, "admin token:");
    assert_eq!(admin.len(), 43);
    assert!(dir.join("franking.db").exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.join("server.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(get(&s.addr, "/readyz", None).starts_with("HTTP/1.1 200"));
    let r = get(&s.addr, "/v1/admin/networks", Some(&admin));
    assert!(
        r.starts_with("HTTP/1.1 200") && r.contains("\"dev\""),
        "{r}"
    );
    sigterm_and_wait(s);

    // Restart: same key and database, no new bootstrap, the old admin token still works.
    let s = start(&dir, &[("FRANKING_LISTEN", "127.0.0.1:0")]);
    assert!(
        !s.lines.iter().any(|l| l.contains("token")),
        "{:?}",
        s.lines
    );
    assert!(!s.lines.iter().any(|l| l.contains("generated server key")));
    let r = get(&s.addr, "/v1/admin/networks", Some(&admin));
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    sigterm_and_wait(s);

    // A wrong server key is refused at start-up with a clear message.
    let out = Command::new(env!("CARGO_BIN_EXE_report-server"))
        .arg("--data-dir")
        .arg(&dir)
        .arg("--listen")
        .arg("127.0.0.1:0")
        .env_remove("DATABASE_URL")
        .env(
            "FRANKING_SERVER_KEY",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("server key does not match"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_committed_before_kill_9_is_delivered_after_restart() {
    let dir = std::env::temp_dir().join(format!(
        "report-server-whk-{}-{}",
        std::process::id(),
        now_ms()
    ));
    std::fs::create_dir_all(&dir).unwrap();

    // A receiver that records verified deliveries.
    let got = Arc::new(Mutex::new(Vec::<(String, bool)>::new()));
    let secret = Arc::new(Mutex::new(String::new()));
    let (g, s) = (got.clone(), secret.clone());
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let (g, s) = (g.clone(), s.clone());
            async move {
                let h = headers
                    .get(signature::HEADER)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                let now = i64::try_from(now_ms() / 1000).unwrap();
                let ok =
                    signature::verify(h, s.lock().unwrap().as_bytes(), &body, now, 300).is_ok();
                g.lock()
                    .unwrap()
                    .push((String::from_utf8(body.to_vec()).unwrap(), ok));
                if ok {
                    StatusCode::OK
                } else {
                    StatusCode::UNAUTHORIZED
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let rx_addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    // First run: no delivery worker.
    let mut s1 = start(
        &dir,
        &[
            ("FRANKING_LISTEN", "127.0.0.1:0"),
            ("FRANKING_WEBHOOK_INTERVAL_MS", "0"),
        ],
    );
    let admin = token(&s1.lines, "admin token:");
    let relay = token(&s1.lines, "relay token:");
    let service = token(&s1.lines, "service token:");
    let t = Transport::Http(s1.addr.parse().unwrap());
    let r = t
        .post(
            "/v1/admin/networks/dev/webhooks",
            Some(&admin),
            json!({ "url": format!("http://{rx_addr}/hook") }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    *secret.lock().unwrap() = r.body["secret"].as_str().unwrap().to_owned();
    let m = franked(&t, &relay, dm("dev", "alice", "bob", "m-kill"), b"spam").await;
    let r = t
        .post(
            "/v1/reports",
            Some(&service),
            submission("bob", report_json(m, "bob", vec![])),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let case = r.body["case_id"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(got.lock().unwrap().is_empty(), "no worker ran");
    s1.child.kill().unwrap(); // SIGKILL
    s1.child.wait().unwrap();

    // Restart with the worker on: the committed event arrives, signed.
    let mut s2 = start(
        &dir,
        &[
            ("FRANKING_LISTEN", "127.0.0.1:0"),
            ("FRANKING_WEBHOOK_INTERVAL_MS", "50"),
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while got.lock().unwrap().is_empty() {
        assert!(
            Instant::now() < deadline,
            "event not delivered after restart"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "{got:?}");
    let (body, verified) = &got[0];
    assert!(verified);
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(
        (v["type"].as_str(), v["case_id"].as_str()),
        (Some("case.created"), Some(case.as_str()))
    );
    s2.child.kill().unwrap();
    s2.child.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
