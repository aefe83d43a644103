//! Load generator for a running report-server: stamping and verified report intake.
//!
//! ```sh
//! cargo run --release -p report-server --example load -- \
//!     http://127.0.0.1:8080 ADMIN_TOKEN RELAY_TOKEN SERVICE_TOKEN [NETWORK] [REPORTS] [CONCURRENCY]
//! ```
//!
//! Prepares REPORTS distinct franked messages (sealed here, stamped by the server in batches,
//! opened, turned into reports with a distinct reporter each), raises the network's intake rate
//! limits through the admin API, then submits every report once with CONCURRENCY connections and
//! prints throughput, p50/p99 latency and the number of non-201 answers. Also measures
//! `POST /v1/stamp` and `GET /healthz` for comparison. Only talks to the given address.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use franking_core::frank::{
    Context, Report, ReportedMessage, SessionKey, Stamp, Suite, open, seal,
};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use serde_json::{Value, json};
use tokio::sync::Mutex;

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(addr: &str) -> Sender {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let (sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    sender
}

async fn send(
    s: &mut Sender,
    addr: &str,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Vec<u8>>,
) -> (u16, Bytes) {
    s.ready().await.unwrap();
    let mut b = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr)
        .header("authorization", format!("Bearer {token}"));
    if body.is_some() {
        b = b.header("content-type", "application/json");
    }
    let req = b
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .unwrap();
    let resp = s.send_request(req).await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.into_body().collect().await.unwrap().to_bytes())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// Run `bodies` through `path` with `conc` connections; print a summary line.
#[allow(clippy::too_many_arguments)]
async fn drive(
    label: &str,
    addr: &str,
    method: &'static str,
    path: &'static str,
    token: &str,
    bodies: Vec<Option<Vec<u8>>>,
    conc: usize,
    ok: u16,
) {
    let n = bodies.len();
    let queue = Arc::new(Mutex::new(bodies));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..conc {
        let queue = queue.clone();
        let addr = addr.to_owned();
        let token = token.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut s = connect(&addr).await;
            let mut lat = Vec::new();
            let mut errors = 0usize;
            loop {
                let Some(body) = queue.lock().await.pop() else {
                    break;
                };
                let t0 = Instant::now();
                let (status, _) = send(&mut s, &addr, method, path, &token, body).await;
                lat.push(t0.elapsed());
                if status != ok {
                    errors += 1;
                }
            }
            (lat, errors)
        }));
    }
    let mut lat = Vec::with_capacity(n);
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.unwrap();
        lat.extend(l);
        errors += e;
    }
    let secs = start.elapsed().as_secs_f64();
    lat.sort();
    println!(
        "{label:<22} {n:>7} req  {:>9.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  errors {errors} ({:.2}%)",
        n as f64 / secs,
        percentile(&lat, 0.50).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3,
        100.0 * errors as f64 / n.max(1) as f64,
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 {
        eprintln!("usage: load URL ADMIN RELAY SERVICE [NETWORK] [REPORTS] [CONCURRENCY]");
        std::process::exit(2);
    }
    let addr = args[1]
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    assert!(
        addr.starts_with("127.") || addr.starts_with("localhost") || addr.starts_with("[::1]"),
        "load only runs against a server on this machine"
    );
    let (admin, relay, service) = (args[2].clone(), args[3].clone(), args[4].clone());
    let network = args.get(5).cloned().unwrap_or_else(|| "dev".into());
    let n: usize = args.get(6).map_or(5000, |s| s.parse().unwrap());
    let conc: usize = args.get(7).map_or(32, |s| s.parse().unwrap());

    let mut s = connect(&addr).await;
    // Raise the intake limits so the run measures verification and storage, not the limiter.
    let (_, p) = send(
        &mut s,
        &addr,
        "GET",
        &format!("/v1/admin/networks/{network}/policy"),
        &admin,
        None,
    )
    .await;
    let mut policy: Value = serde_json::from_slice(&p).unwrap();
    policy["network_rate_limit"] = json!(100_000_000u64);
    policy["reporter_rate_limit"] = json!(1_000_000u64);
    let (st, _) = send(
        &mut s,
        &addr,
        "PUT",
        &format!("/v1/admin/networks/{network}/policy"),
        &admin,
        Some(policy.to_string().into_bytes()),
    )
    .await;
    assert_eq!(st, 200, "policy update failed");

    // Prepare reports: seal, stamp (batches of 500), open.
    let t0 = Instant::now();
    let run = format!("{:x}", rand_u64());
    let sk = SessionKey::generate().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let mut reports = Vec::with_capacity(n);
    for chunk in (0..n).collect::<Vec<_>>().chunks(500) {
        let mut envs = Vec::new();
        let mut items = Vec::new();
        for &i in chunk {
            let ctx = Context::direct(
                &network,
                "sender",
                format!("u{run}-{i}"),
                now,
                format!("{run}-{i}"),
            )
            .unwrap();
            let env = seal(
                Suite::default(),
                &sk,
                b"load",
                format!("message {i} of run {run}").as_bytes(),
            )
            .unwrap();
            items.push(json!({
                "suite": env.suite.id(),
                "commitment": URL_SAFE_NO_PAD.encode(env.commitment.as_bytes()),
                "context": ctx,
            }));
            envs.push((env, ctx, i));
        }
        let (st, body) = send(
            &mut s,
            &addr,
            "POST",
            "/v1/stamp/batch",
            &relay,
            Some(json!({ "items": items }).to_string().into_bytes()),
        )
        .await;
        assert_eq!(st, 200, "{}", String::from_utf8_lossy(&body));
        let v: Value = serde_json::from_slice(&body).unwrap();
        for ((env, ctx, i), stamp) in envs.into_iter().zip(v["stamps"].as_array().unwrap()) {
            let stamp: Stamp = serde_json::from_value(stamp.clone()).unwrap();
            let opened = open(&env, &sk, b"load").unwrap();
            let reporter = format!("u{run}-{i}");
            let report = Report {
                message: ReportedMessage::new(&env, b"load", &opened, ctx, stamp),
                reporter: reporter.clone(),
                reason: "load test".into(),
                earlier: vec![],
            };
            let body = json!({ "reporter": reporter, "category": "spam", "report": report });
            reports.push(Some(body.to_string().into_bytes()));
        }
    }
    println!(
        "prepared {n} reports in {:.1} s; concurrency {conc}",
        t0.elapsed().as_secs_f64()
    );

    drive(
        "GET /healthz",
        &addr,
        "GET",
        "/healthz",
        "",
        vec![None; n.max(20_000)],
        conc,
        200,
    )
    .await;
    let stamp_body = json!({
        "suite": 2,
        "commitment": URL_SAFE_NO_PAD.encode([7u8; 32]),
        "context": Context::direct(&network, "a", "b", now, "m").unwrap(),
    })
    .to_string()
    .into_bytes();
    drive(
        "POST /v1/stamp",
        &addr,
        "POST",
        "/v1/stamp",
        &relay,
        vec![Some(stamp_body); n.max(20_000)],
        conc,
        200,
    )
    .await;
    drive(
        "POST /v1/reports",
        &addr,
        "POST",
        "/v1/reports",
        &service,
        reports,
        conc,
        201,
    )
    .await;
}

fn rand_u64() -> u64 {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).unwrap();
    u64::from_le_bytes(b)
}
