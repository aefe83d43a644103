//! Load generator for a running report-server: stamping and verified report intake, against
//! concurrency, next to the database's own commit rate.
//!
//! ```sh
//! cargo run --release -p report-server --example load -- \
//!     http://127.0.0.1:8080 ADMIN_TOKEN RELAY_TOKEN SERVICE_TOKEN \
//!     [--network dev] [--reports N] [--requests N] [--rounds R] [--concurrency 1,8,32] \
//!     [--pgbench 1=TPS,8=TPS,32=TPS] [--server-pid PID] [--svg DIR]
//! ```
//!
//! `scripts/bench-server.sh` runs the whole comparison with one command (a PostgreSQL-backed
//! server, `pgbench` with a one-row-insert transaction at the same client counts, and this
//! generator); see `docs/performance.md`.
//!
//! Raises the network's intake rate limits through the admin API, prepares N distinct franked
//! messages per concurrency level (sealed here, stamped by the server in batches, opened, turned
//! into reports with a distinct reporter each), then at each level C measures with C concurrent
//! keep-alive connections: `GET /healthz` (a trivial handler behind the same middleware),
//! `POST /v1/stamp`, `POST /v1/stamp/batch` (100 items per request; stamps/s) and `POST
//! /v1/reports` (each report distinct, verified and durably stored). The healthz and stamp runs
//! take turns in `--rounds` rounds (default 5, `--requests` split between them), so that a slow
//! or fast spell of a shared machine falls on both; their rates are over all rounds, and the table
//! also shows the lowest and highest ratio of a single round. Prints one line per endpoint and a
//! table with the ratios the performance issue asks for (stamp / healthz, reports / pgbench when
//! `--pgbench` gives the database's rate at the same client counts), and with `--server-pid` the
//! server's own CPU time per request (from `/proc`, so the load generator's share of the machine
//! does not blur it); with `--svg DIR` writes
//! `server-throughput.svg` and `intake-throughput.svg` there. Only talks to a server on this
//! machine.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::path::PathBuf;
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

#[path = "../../franking-core/examples/support/plot.rs"]
mod plot;

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

/// Items per `POST /v1/stamp/batch` request in the batch measurement.
const BATCH_ITEMS: usize = 100;

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
    body: Option<Bytes>,
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
    let req = b.body(Full::new(body.unwrap_or_default())).unwrap();
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

/// One endpoint to drive: where, with which token, which bodies, and what counts as success.
struct Run<'a> {
    method: &'static str,
    path: &'static str,
    token: &'a str,
    bodies: Vec<Option<Bytes>>,
    ok: u16,
}

impl<'a> Run<'a> {
    fn new(
        method: &'static str,
        path: &'static str,
        token: &'a str,
        bodies: Vec<Option<Bytes>>,
        ok: u16,
    ) -> Self {
        Self {
            method,
            path,
            token,
            bodies,
            ok,
        }
    }
}

/// What one run (or one round of a run) measured.
struct Sample {
    requests: usize,
    secs: f64,
    latencies: Vec<Duration>,
    errors: usize,
    /// The server's CPU time over the run (ns), with `--server-pid`.
    server_ns: Option<u64>,
}

/// What the runs of one endpoint at one level measured, all rounds together.
struct Measured {
    per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: usize,
    /// The server's CPU time per request (µs), with `--server-pid`.
    server_us: Option<f64>,
}

impl Measured {
    /// Requests over time and CPU over requests, summed over the rounds; latency percentiles
    /// over every request. Prints the summary line.
    fn of(label: &str, samples: Vec<Sample>) -> Self {
        let n: usize = samples.iter().map(|s| s.requests).sum();
        let secs: f64 = samples.iter().map(|s| s.secs).sum();
        let errors = samples.iter().map(|s| s.errors).sum();
        let server_ns: Option<u64> = samples.iter().map(|s| s.server_ns).sum();
        let mut lat: Vec<Duration> = samples.into_iter().flat_map(|s| s.latencies).collect();
        lat.sort();
        let m = Measured {
            per_sec: n as f64 / secs,
            p50_ms: percentile(&lat, 0.50).as_secs_f64() * 1e3,
            p99_ms: percentile(&lat, 0.99).as_secs_f64() * 1e3,
            errors,
            server_us: server_ns.map(|ns| ns as f64 / 1e3 / n as f64),
        };
        println!(
            "{label:<30} {n:>7} req  {:>9.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  errors {errors}{}",
            m.per_sec,
            m.p50_ms,
            m.p99_ms,
            m.server_us
                .map_or(String::new(), |us| format!("  server CPU {us:.1} µs/req")),
        );
        m
    }
}

/// CPU time (ns) the process `pid` has spent so far, summed over its threads
/// (`/proc/<pid>/task/*/schedstat`; threads that ended are not counted).
fn cpu_ns(pid: u32) -> Option<u64> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut total = 0u64;
    for task in tasks.flatten() {
        let stat = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
        total += stat
            .split_whitespace()
            .next()
            .and_then(|ns| ns.parse::<u64>().ok())
            .unwrap_or(0);
    }
    Some(total)
}

/// Send every body of `run` through `conc` connections.
async fn drive(addr: &str, run: Run<'_>, conc: usize, server: Option<u32>) -> Sample {
    let n = run.bodies.len();
    let queue = Arc::new(Mutex::new(run.bodies));
    let cpu_before = server.and_then(cpu_ns);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..conc {
        let queue = queue.clone();
        let addr = addr.to_owned();
        let token = run.token.to_owned();
        let (method, path, ok) = (run.method, run.path, run.ok);
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
    let mut latencies = Vec::with_capacity(n);
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.unwrap();
        latencies.extend(l);
        errors += e;
    }
    let secs = start.elapsed().as_secs_f64();
    let server_ns = match (cpu_before, server.and_then(cpu_ns)) {
        (Some(before), Some(after)) => Some(after.saturating_sub(before)),
        _ => None,
    };
    Sample {
        requests: n,
        secs,
        latencies,
        errors,
        server_ns,
    }
}

/// A run's summary label.
fn label(method: &str, path: &str, conc: usize) -> String {
    format!("{method} {path} (c={conc})")
}

/// Command-line options (see the module docs).
struct Options {
    addr: String,
    admin: String,
    relay: String,
    service: String,
    network: String,
    reports: usize,
    requests: usize,
    /// Turns the healthz and stamp runs take at each level (`--requests` split between them).
    rounds: usize,
    levels: Vec<usize>,
    pgbench: BTreeMap<usize, f64>,
    svg: Option<PathBuf>,
    /// The server's process id, to measure its CPU time per request (same machine only).
    server_pid: Option<u32>,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let positional: Vec<&String> = args
        .iter()
        .enumerate()
        .filter(|(i, a)| !a.starts_with("--") && (*i == 0 || !args[i - 1].starts_with("--")))
        .map(|(_, a)| a)
        .collect();
    if positional.len() != 4 {
        eprintln!(
            "usage: load URL ADMIN RELAY SERVICE [--network ID] [--reports N] [--requests N] \
             [--rounds R] [--concurrency C,C,...] [--pgbench C=TPS,...] [--server-pid PID] [--svg DIR]"
        );
        std::process::exit(2);
    }
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let addr = positional[0]
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    assert!(
        addr.starts_with("127.") || addr.starts_with("localhost") || addr.starts_with("[::1]"),
        "load only runs against a server on this machine"
    );
    let pgbench = flag("--pgbench")
        .map(|s| {
            s.split(',')
                .map(|kv| {
                    let (c, tps) = kv.split_once('=').expect("--pgbench C=TPS,...");
                    (c.parse().unwrap(), tps.parse().unwrap())
                })
                .collect()
        })
        .unwrap_or_default();
    Options {
        addr,
        admin: positional[1].clone(),
        relay: positional[2].clone(),
        service: positional[3].clone(),
        network: flag("--network").unwrap_or_else(|| "dev".into()),
        reports: flag("--reports").map_or(5000, |s| s.parse().unwrap()),
        requests: flag("--requests").map_or(50_000, |s| s.parse().unwrap()),
        rounds: flag("--rounds").map_or(5, |s| s.parse().unwrap()),
        levels: flag("--concurrency")
            .unwrap_or_else(|| "32".into())
            .split(',')
            .map(|c| c.parse().unwrap())
            .collect(),
        pgbench,
        svg: flag("--svg").map(PathBuf::from),
        server_pid: flag("--server-pid").map(|p| p.parse().unwrap()),
    }
}

/// Raise the network's intake limits so the runs measure verification and storage, not the
/// limiter.
async fn raise_limits(s: &mut Sender, o: &Options) {
    let path = format!("/v1/admin/networks/{}/policy", o.network);
    let (_, p) = send(s, &o.addr, "GET", &path, &o.admin, None).await;
    let mut policy: Value = serde_json::from_slice(&p).unwrap();
    policy["network_rate_limit"] = json!(100_000_000u64);
    policy["reporter_rate_limit"] = json!(1_000_000u64);
    let body = Bytes::from(policy.to_string());
    let (st, _) = send(s, &o.addr, "PUT", &path, &o.admin, Some(body)).await;
    assert_eq!(st, 200, "policy update failed");
}

/// `n` distinct report bodies: sealed here, stamped by the server in batches, opened.
async fn prepare_reports(s: &mut Sender, o: &Options, n: usize) -> Vec<Option<Bytes>> {
    let run = format!("{:x}", rand_u64());
    let sk = SessionKey::generate().unwrap();
    let now = now_ms();
    let mut reports = Vec::with_capacity(n);
    for chunk in (0..n).collect::<Vec<_>>().chunks(500) {
        let mut envs = Vec::new();
        let mut items = Vec::new();
        for &i in chunk {
            let ctx = Context::direct(
                &o.network,
                "sender",
                format!("u{run}-{i}"),
                now,
                format!("{run}-{i}"),
            )
            .unwrap();
            let body = format!("message {i} of run {run}");
            let env = seal(Suite::default(), &sk, b"load", body.as_bytes()).unwrap();
            items.push(json!({
                "suite": env.suite.id(),
                "commitment": URL_SAFE_NO_PAD.encode(env.commitment.as_bytes()),
                "context": ctx,
            }));
            envs.push((env, ctx, i));
        }
        let batch = Bytes::from(json!({ "items": items }).to_string());
        let (st, body) = send(s, &o.addr, "POST", "/v1/stamp/batch", &o.relay, Some(batch)).await;
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
            reports.push(Some(Bytes::from(body.to_string())));
        }
    }
    reports
}

/// What one concurrency level measured.
struct Level {
    conc: usize,
    healthz: Measured,
    stamp: Measured,
    /// The lowest and highest stamp / healthz rate of a single round.
    round_ratios: (f64, f64),
    batch_stamps_per_sec: f64,
    reports: Measured,
}

/// Requests per second of one round.
fn rate(s: &Sample) -> f64 {
    s.requests as f64 / s.secs
}

async fn measure_level(o: &Options, conc: usize, reports: Vec<Option<Bytes>>) -> Level {
    let stamp_item = json!({
        "suite": 2,
        "commitment": URL_SAFE_NO_PAD.encode([7u8; 32]),
        "context": Context::direct(&o.network, "a", "b", now_ms(), "m").unwrap(),
    });
    let stamp_body = Bytes::from(stamp_item.to_string());
    let batch_body = Bytes::from(json!({ "items": vec![stamp_item; BATCH_ITEMS] }).to_string());
    // healthz and stamp take turns, round by round, so that a slow or fast spell of this shared
    // machine falls on both rather than on one of them.
    let rounds = o.rounds.clamp(1, o.requests.max(1));
    let per_round = o.requests / rounds;
    let (mut healthz, mut stamp) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let h = Run::new("GET", "/healthz", "", vec![None; per_round], 200);
        healthz.push(drive(&o.addr, h, conc, o.server_pid).await);
        let bodies = vec![Some(stamp_body.clone()); per_round];
        let st = Run::new("POST", "/v1/stamp", &o.relay, bodies, 200);
        stamp.push(drive(&o.addr, st, conc, o.server_pid).await);
    }
    let ratios = healthz.iter().zip(&stamp).map(|(h, s)| rate(s) / rate(h));
    let round_ratios = ratios.fold((f64::INFINITY, 0.0_f64), |(lo, hi), r| {
        (lo.min(r), hi.max(r))
    });
    let batches = (o.requests / BATCH_ITEMS).max(100);
    let batch = Run::new(
        "POST",
        "/v1/stamp/batch",
        &o.relay,
        vec![Some(batch_body); batches],
        200,
    );
    let intake = Run::new("POST", "/v1/reports", &o.service, reports, 201);
    let healthz = Measured::of(&label("GET", "/healthz", conc), healthz);
    let stamp = Measured::of(&label("POST", "/v1/stamp", conc), stamp);
    let batch = drive(&o.addr, batch, conc, o.server_pid).await;
    let batch = Measured::of(&label("POST", "/v1/stamp/batch", conc), vec![batch]);
    let reports = drive(&o.addr, intake, conc, o.server_pid).await;
    let reports = Measured::of(&label("POST", "/v1/reports", conc), vec![reports]);
    Level {
        conc,
        healthz,
        stamp,
        round_ratios,
        batch_stamps_per_sec: batch.per_sec * BATCH_ITEMS as f64,
        reports,
    }
}

fn print_table(o: &Options, levels: &[Level]) {
    println!();
    println!(
        "| connections | GET /healthz req/s | POST /v1/stamp req/s | stamp / healthz (rounds) | batch stamps/s | reports/s (p50, p99) | pgbench tx/s | reports / pgbench |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for l in levels {
        let pg = o.pgbench.get(&l.conc);
        println!(
            "| {} | {:.0} | {:.0} | {:.0} % ({:.0}–{:.0} %) | {:.0} | {:.0} ({:.1} ms, {:.1} ms) | {} | {} |",
            l.conc,
            l.healthz.per_sec,
            l.stamp.per_sec,
            100.0 * l.stamp.per_sec / l.healthz.per_sec,
            100.0 * l.round_ratios.0,
            100.0 * l.round_ratios.1,
            l.batch_stamps_per_sec,
            l.reports.per_sec,
            l.reports.p50_ms,
            l.reports.p99_ms,
            pg.map_or("—".into(), |t| format!("{t:.0}")),
            pg.map_or("—".into(), |t| format!(
                "{:.0} %",
                100.0 * l.reports.per_sec / t
            )),
        );
    }
    if levels.iter().all(|l| l.healthz.server_us.is_some()) {
        println!(
            "\n| connections | server CPU per healthz (µs) | per stamp (µs) | healthz / stamp | per report (µs) |"
        );
        println!("|---:|---:|---:|---:|---:|");
        for l in levels {
            let (h, s, r) = (
                l.healthz.server_us.unwrap_or(0.0),
                l.stamp.server_us.unwrap_or(0.0),
                l.reports.server_us.unwrap_or(0.0),
            );
            println!(
                "| {} | {h:.1} | {s:.1} | {:.0} % | {r:.0} |",
                l.conc,
                100.0 * h / s
            );
        }
    }
    let errors: usize = levels
        .iter()
        .map(|l| l.healthz.errors + l.stamp.errors + l.reports.errors)
        .sum();
    println!("\nnon-success answers in all runs: {errors}");
    println!("bars: stamp / healthz ≥ 80 %; reports / pgbench ≥ 50 % (same client count)");
}

fn write_plots(o: &Options, dir: &std::path::Path, levels: &[Level]) {
    std::fs::create_dir_all(dir).unwrap();
    let xs: Vec<f64> = levels.iter().map(|l| l.conc as f64).collect();
    let label = |x: f64| format!("{}", x.round());
    let series = |name: &str, f: &dyn Fn(&Level) -> f64| {
        (name.to_owned(), levels.iter().map(f).collect::<Vec<f64>>())
    };
    let http = dir.join("server-throughput.svg");
    plot::line_chart(
        &http,
        "report-server: requests/s against concurrent connections",
        "concurrent connections (log scale)",
        "per second",
        &xs,
        &label,
        // Batch stamps/s (hundreds of thousands) would flatten these lines: they are in the table.
        &[
            series("GET /healthz (trivial handler, same middleware)", &|l| {
                l.healthz.per_sec
            }),
            series("POST /v1/stamp", &|l| l.stamp.per_sec),
        ],
    );
    let mut intake = vec![series("POST /v1/reports (verified, stored)", &|l| {
        l.reports.per_sec
    })];
    if levels.iter().all(|l| o.pgbench.contains_key(&l.conc)) {
        intake.push(series("pgbench one-row-insert transactions", &|l| {
            o.pgbench[&l.conc]
        }));
    }
    let intake_path = dir.join("intake-throughput.svg");
    plot::line_chart(
        &intake_path,
        "Report intake on PostgreSQL against concurrent connections",
        "concurrent connections (log scale)",
        "per second",
        &xs,
        &label,
        &intake,
    );
    println!("wrote {} and {}", http.display(), intake_path.display());
}

#[tokio::main]
async fn main() {
    let o = options();
    let mut s = connect(&o.addr).await;
    raise_limits(&mut s, &o).await;
    let t0 = Instant::now();
    let mut prepared = Vec::new();
    for _ in &o.levels {
        prepared.push(prepare_reports(&mut s, &o, o.reports).await);
    }
    println!(
        "prepared {} reports per level in {:.1} s; levels {:?}",
        o.reports,
        t0.elapsed().as_secs_f64(),
        o.levels
    );
    let mut levels = Vec::new();
    for (&conc, reports) in o.levels.iter().zip(prepared) {
        levels.push(measure_level(&o, conc, reports).await);
    }
    print_table(&o, &levels);
    if let Some(dir) = &o.svg {
        write_plots(&o, dir, &levels);
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn rand_u64() -> u64 {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).unwrap();
    u64::from_le_bytes(b)
}
