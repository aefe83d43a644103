//! The durable outbox survives a crash: with the `report-server` binary, an event committed while
//! no worker delivers (FRANKING_WEBHOOK_INTERVAL_MS=0) is still delivered, signed, after a
//! `kill -9` and a restart with the worker on.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use common::*;
use report_server::webhooks::signature;
use serde_json::json;

struct Server {
    child: Child,
    addr: SocketAddr,
    lines: Vec<String>,
}

fn start(dir: &std::path::Path, interval_ms: &str) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_report-server"))
        .arg("--data-dir")
        .arg(dir)
        .env_remove("DATABASE_URL")
        .env_remove("FRANKING_SERVER_KEY")
        .env_remove("FRANKING_PRODUCTION")
        .env("FRANKING_LISTEN", "127.0.0.1:0")
        .env("FRANKING_WEBHOOK_INTERVAL_MS", interval_ms)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(Instant::now() < deadline, "no listening line: {lines:?}");
        let mut line = String::new();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "server exited: {lines:?}"
        );
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
        .parse()
        .unwrap();
    Server { child, addr, lines }
}

fn token(lines: &[String], label: &str) -> String {
    lines
        .iter()
        .find_map(|l| l.trim().strip_prefix(label))
        .unwrap_or_else(|| panic!("no {label} in {lines:?}"))
        .trim()
        .to_owned()
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
    let mut s1 = start(&dir, "0");
    let admin = token(&s1.lines, "admin token:");
    let relay = token(&s1.lines, "relay token:");
    let service = token(&s1.lines, "service token:");
    let t = Transport::Http(s1.addr);
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
    let mut s2 = start(&dir, "50");
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
