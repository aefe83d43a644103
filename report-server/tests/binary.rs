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
    let mut cmd = command(dir, &[], envs);
    cmd.stdout(Stdio::piped()).stderr(Stdio::null());
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
    let dir = temp_dir("bin");

    let s = start(&dir, &[("FRANKING_LISTEN", "127.0.0.1:0")]);
    assert!(
        s.lines
            .iter()
            .any(|l| l.starts_with("dev mode: generated server key"))
    );
    let admin = token(&s.lines, "admin token:");
    assert_eq!(admin.len(), 43);
    // The console's URL is printed next to the tokens.
    let console_line = format!("moderator console: http://{}/console/", s.addr);
    assert!(s.lines.contains(&console_line), "{:?}", s.lines);
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
    let out = command(
        &dir,
        &["--listen", "127.0.0.1:0"],
        &[(
            "FRANKING_SERVER_KEY",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        )],
    )
    .output()
    .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("server key does not match"));
    let _ = std::fs::remove_dir_all(&dir);
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "report-server-{tag}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The binary with a data dir, no inherited configuration, and `args`/`envs`.
fn command(dir: &std::path::Path, args: &[&str], envs: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_report-server"));
    cmd.arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("FRANKING_SERVER_KEY")
        .env_remove("FRANKING_PRODUCTION")
        .env_remove("FRANKING_LISTEN")
        .env("RUST_LOG", "warn");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd
}

/// Wait for `child` to exit (at most `secs`), returning its status and stderr.
fn wait_exit(child: &mut Child, secs: u64) -> (std::process::ExitStatus, String) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("did not exit within {secs} s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        e.read_to_string(&mut err).unwrap();
    }
    (status, err)
}

/// Issue 16.9: printing the dev bootstrap tokens to a closed stdout is a clean error exit (no
/// panic) and creates nothing, so the next start bootstraps and prints them. Same for
/// `--issue-admin-token`.
#[test]
fn closed_stdout_creates_no_tokens() {
    let dir = temp_dir("closed-stdout");
    for args in [&["--issue-admin-token", "ops"][..], &[][..]] {
        let mut child = command(&dir, args, &[("FRANKING_LISTEN", "127.0.0.1:0")])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // the only read end: every write gets EPIPE
        let (status, err) = wait_exit(&mut child, 30);
        assert_eq!(status.code(), Some(1), "{status:?} {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(err.contains("nothing was created"), "{err}");
    }
    // Nothing was created: this start bootstraps and prints the tokens.
    let s = start(&dir, &[("FRANKING_LISTEN", "127.0.0.1:0")]);
    let admin = token(&s.lines, "admin token:");
    let r = get(&s.addr, "/v1/admin/tokens", Some(&admin));
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    assert_eq!(
        r.matches("\"subject\"").count(),
        4,
        "only the bootstrap's tokens: {r}"
    );
    let r = get(
        &s.addr,
        "/v1/admin/audit?action=bootstrap.dev",
        Some(&admin),
    );
    assert!(r.contains("\"actor\":\"system:bootstrap\""), "{r}");
    sigterm_and_wait(s);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 15: a config file honours every variable (FRANKING_RETENTION_INTERVAL_SECS=0 too) and
/// refuses an unknown name, naming file and line; `--help` lists every variable; logs written to
/// a pipe carry no ANSI colour codes.
#[test]
fn config_file_help_and_plain_logs() {
    let dir = temp_dir("config-file");
    let conf = dir.join("server.conf");
    std::fs::write(&conf, "# typo\nFRANKING_RETENTION_INTERVAL=0\n").unwrap();
    let mut child = command(&dir, &["--config", conf.to_str().unwrap()], &[])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (status, err) = wait_exit(&mut child, 30);
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(
        err.contains("line 2: unknown name \"FRANKING_RETENTION_INTERVAL\""),
        "{err}"
    );
    assert!(
        !dir.join("server.key").exists(),
        "nothing written before the refusal"
    );

    // A good file: the retention task is off (its start-up log line never appears), and the
    // warn-level lines on a pipe are plain text.
    std::fs::write(
        &conf,
        "FRANKING_RETENTION_INTERVAL_SECS=0\nRUST_LOG=info\nFRANKING_LISTEN=127.0.0.1:0\n",
    )
    .unwrap();
    let mut child = command(&dir, &["--config", conf.to_str().unwrap()], &[])
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.starts_with("report-server listening on") {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "server exited early");
    }
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let (status, err) = wait_exit(&mut child, 30);
    assert!(status.success(), "{err}");
    assert!(err.contains("webhook delivery worker started"), "{err}");
    assert!(!err.contains("evidence retention task started"), "{err}");
    assert!(
        !err.contains('\x1b'),
        "ANSI escape codes in piped logs: {err:?}"
    );

    let help = command(&dir, &["--help"], &[]).output().unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    for var in [
        "FRANKING_RETENTION_INTERVAL_SECS",
        "FRANKING_WEBHOOK_INTERVAL_MS",
        "FRANKING_WEBHOOK_MAX_BACKOFF_MS",
        "FRANKING_CONFIG",
        "DATABASE_URL",
        "RUST_LOG",
    ] {
        assert!(
            help.contains(&format!("[env: {var}")),
            "{var} missing from --help"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 15: a PostgreSQL database that does not exist stops the start with a `createdb`
/// command, before the dev server key file is written.
#[test]
fn missing_postgres_database_says_how_to_create_it() {
    let Ok(base) = std::env::var("TEST_DATABASE_URL") else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "TEST_DATABASE_URL is required under CI=true"
        );
        eprintln!("TEST_DATABASE_URL not set: skipping");
        return;
    };
    let dir = temp_dir("missing-db");
    let (server, _) = base.rsplit_once('/').unwrap();
    let url = format!("{server}/rs_never_created_{}", std::process::id());
    let mut child = command(&dir, &[], &[("DATABASE_URL", &url)])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (status, err) = wait_exit(&mut child, 60);
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(err.contains("does not exist"), "{err}");
    assert!(err.contains("create it with: createdb -h "), "{err}");
    assert!(
        !dir.join("server.key").exists(),
        "server.key written before the database check"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 16.3: a database once used with `--production` is never dev-bootstrapped, even when a
/// later start forgets `--production`.
#[test]
fn production_database_is_never_bootstrapped() {
    let dir = temp_dir("production");
    let key = "c2VjcmV0LXNlcnZlci1rZXktYnl0ZXMtMzItbG9uZyE";
    let prod = [
        ("FRANKING_LISTEN", "127.0.0.1:0"),
        ("FRANKING_SERVER_KEY", key),
    ];
    let s = start(&dir, &[prod[0], prod[1], ("FRANKING_PRODUCTION", "true")]);
    assert!(
        !s.lines.iter().any(|l| l.contains("token")),
        "{:?}",
        s.lines
    );
    sigterm_and_wait(s);
    // Same database and key, dev mode by mistake: no network, key or tokens appear.
    let s = start(&dir, &prod);
    assert!(
        !s.lines.iter().any(|l| l.contains("token")),
        "{:?}",
        s.lines
    );
    sigterm_and_wait(s);
    let out = command(
        &dir,
        &["--issue-admin-token", "ops"],
        &[("FRANKING_SERVER_KEY", key)],
    )
    .output()
    .unwrap();
    assert!(out.status.success());
    let admin = String::from_utf8(out.stdout).unwrap();
    let admin = admin.trim().rsplit(' ').next().unwrap().to_owned();
    let s = start(&dir, &prod);
    let r = get(&s.addr, "/v1/admin/networks", Some(&admin));
    assert!(r.ends_with("{\"networks\":[]}"), "{r}");
    let r = get(&s.addr, "/v1/admin/tokens", Some(&admin));
    assert_eq!(r.matches("\"subject\"").count(), 1, "{r}");
    sigterm_and_wait(s);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 16.9: a server key file other users may read is refused; the SQLite files are created
/// with mode 0600.
#[cfg(unix)]
#[test]
fn key_and_database_file_modes() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = temp_dir("modes");
    let s = start(&dir, &[("FRANKING_LISTEN", "127.0.0.1:0")]);
    sigterm_and_wait(s);
    for f in [
        "franking.db",
        "franking.db-wal",
        "franking.db-shm",
        "server.key",
    ] {
        if let Ok(meta) = std::fs::metadata(dir.join(f)) {
            assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{f}");
        } else {
            assert_ne!(f, "franking.db", "the database file exists");
        }
    }
    let key = dir.join("server.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = command(&dir, &[], &[("FRANKING_LISTEN", "127.0.0.1:0")])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("has mode 0644") && err.contains("chmod 600"),
        "{err}"
    );
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let s = start(&dir, &[("FRANKING_LISTEN", "127.0.0.1:0")]);
    sigterm_and_wait(s);
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------- 16.2 / 16.9: the transport

/// Read from `s` until the server closes the connection (EOF or reset) or `limit` passes; returns
/// what was read and how long it took, or panics if it stayed open.
fn until_closed(s: &mut TcpStream, limit: Duration) -> (String, Duration) {
    let start = Instant::now();
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => break, // reset
        }
        assert!(
            start.elapsed() < limit,
            "connection still open after {limit:?}"
        );
    }
    (String::from_utf8_lossy(&out).into_owned(), start.elapsed())
}

/// One keep-alive request on `s`; returns the response head and body.
fn keep_alive_get(s: &mut TcpStream, path: &str) -> String {
    write!(s, "GET {path} HTTP/1.1\r\nhost: x\r\n\r\n").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "closed: {}", String::from_utf8_lossy(&out));
        out.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&out);
        if let Some(head_end) = text.find("\r\n\r\n") {
            let len: usize = text[..head_end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap();
            if out.len() >= head_end + 4 + len {
                return text.into_owned();
            }
        }
    }
}

/// A silent connection, a slow header drip and an idle keep-alive are all closed within the
/// configured times, while other clients are served.
#[test]
fn slow_and_idle_connections_are_closed() {
    let dir = temp_dir("slow");
    let s = start(
        &dir,
        &[
            ("FRANKING_LISTEN", "127.0.0.1:0"),
            ("FRANKING_HEADER_TIMEOUT_SECS", "1"),
            ("FRANKING_IDLE_TIMEOUT_SECS", "2"),
        ],
    );
    // Silent: closed about one header timeout after accept.
    let mut silent = TcpStream::connect(&s.addr).unwrap();
    // Slow drip: one header line every 300 ms never completes a head within 1 s.
    let mut drip = TcpStream::connect(&s.addr).unwrap();
    let mut writer = drip.try_clone().unwrap();
    let dripper = std::thread::spawn(move || {
        let _ = writer.write_all(b"GET /healthz HTTP/1.1\r\n");
        for i in 0..40 {
            std::thread::sleep(Duration::from_millis(300));
            if writer
                .write_all(format!("x-drip-{i}: y\r\n").as_bytes())
                .is_err()
            {
                return;
            }
        }
    });
    // Idle keep-alive: one request, then nothing.
    let mut idle = TcpStream::connect(&s.addr).unwrap();
    let r = keep_alive_get(&mut idle, "/healthz");
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    let idle_since = Instant::now();
    // Meanwhile the server answers everybody else.
    assert!(get(&s.addr, "/healthz", None).starts_with("HTTP/1.1 200"));

    let (_, t) = until_closed(&mut silent, Duration::from_secs(5));
    assert!(t < Duration::from_secs(3), "silent: {t:?}");
    let (out, t) = until_closed(&mut drip, Duration::from_secs(5));
    assert!(t < Duration::from_secs(3), "drip: {t:?}");
    assert!(
        out.is_empty(),
        "no response to a head that never completed: {out}"
    );
    dripper.join().unwrap();
    until_closed(&mut idle, Duration::from_secs(6));
    let t = idle_since.elapsed();
    assert!(
        t > Duration::from_millis(1800) && t < Duration::from_secs(4),
        "idle: {t:?}"
    );
    assert!(get(&s.addr, "/healthz", None).starts_with("HTTP/1.1 200"));
    sigterm_and_wait(s);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Past the connection limit new connections are closed at once, while the connections being
/// served carry on; a freed slot is used again.
#[test]
fn connection_limit_closes_new_connections_only() {
    let dir = temp_dir("limit");
    let s = start(
        &dir,
        &[
            ("FRANKING_LISTEN", "127.0.0.1:0"),
            ("FRANKING_MAX_CONNECTIONS", "3"),
            ("FRANKING_HEADER_TIMEOUT_SECS", "60"),
            ("FRANKING_IDLE_TIMEOUT_SECS", "60"),
        ],
    );
    let mut held: Vec<TcpStream> = (0..3)
        .map(|_| TcpStream::connect(&s.addr).unwrap())
        .collect();
    for c in &mut held {
        assert!(keep_alive_get(c, "/healthz").starts_with("HTTP/1.1 200"));
    }
    for _ in 0..3 {
        let mut extra = TcpStream::connect(&s.addr).unwrap();
        let _ = write!(extra, "GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n");
        let (out, t) = until_closed(&mut extra, Duration::from_secs(5));
        assert!(out.is_empty() && t < Duration::from_secs(2), "{out} {t:?}");
    }
    // The existing connections are still served.
    for c in &mut held {
        assert!(keep_alive_get(c, "/readyz").starts_with("HTTP/1.1 200"));
    }
    // Free one slot: a new connection is served again.
    drop(held.pop());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        // Until the server has seen the freed connection close, a new one is still over the
        // limit and closed on accept: a reset here means "not yet", like a non-200 answer.
        let attempt = || -> std::io::Result<String> {
            let mut c = TcpStream::connect(&s.addr)?;
            write!(
                c,
                "GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"
            )?;
            let mut out = String::new();
            c.read_to_string(&mut out)?;
            Ok(out)
        };
        let r = attempt().unwrap_or_default();
        if r.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < deadline, "slot not reused: {r:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    sigterm_and_wait(s);
    let _ = std::fs::remove_dir_all(&dir);
}

/// SIGTERM with a half-sent request head and a request stuck waiting for its body: the process
/// exits (status 0) within the shutdown deadline instead of never.
#[test]
fn sigterm_exits_within_the_shutdown_deadline() {
    let dir = temp_dir("sigterm");
    let s = start(
        &dir,
        &[
            ("FRANKING_LISTEN", "127.0.0.1:0"),
            ("FRANKING_HEADER_TIMEOUT_SECS", "60"),
            ("FRANKING_IDLE_TIMEOUT_SECS", "60"),
            ("FRANKING_REQUEST_TIMEOUT_SECS", "60"),
            ("FRANKING_SHUTDOWN_TIMEOUT_SECS", "2"),
        ],
    );
    let admin = token(&s.lines, "admin token:");
    let mut partial = TcpStream::connect(&s.addr).unwrap();
    partial
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nx-unfinished: ")
        .unwrap();
    let mut stuck = TcpStream::connect(&s.addr).unwrap();
    write!(
        stuck,
        "POST /v1/admin/networks HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {admin}\r\n\
         content-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"id\":"
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    sigterm_and_wait(s);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "exit took {:?}",
        started.elapsed()
    );
    drop((partial, stuck));
    let _ = std::fs::remove_dir_all(&dir);
}

/// hyper's own 431 (too many or too large header fields) carries the JSON error body.
#[test]
fn header_fields_too_large_is_json() {
    let dir = temp_dir("431");
    let s = start(&dir, &[("FRANKING_LISTEN", "127.0.0.1:0")]);
    let many: String = (0..150).map(|i| format!("x-h{i}: v\r\n")).collect();
    let huge = format!("x-big: {}\r\n", "a".repeat(600 * 1024));
    for extra in [many, huge] {
        let mut c = TcpStream::connect(&s.addr).unwrap();
        let _ = write!(c, "GET /healthz HTTP/1.1\r\nhost: x\r\n{extra}\r\n");
        let (out, _) = until_closed(&mut c, Duration::from_secs(10));
        assert!(out.starts_with("HTTP/1.1 431"), "{out}");
        assert!(out.contains("content-type: application/json"), "{out}");
        let body = &out[out.find("\r\n\r\n").unwrap() + 4..];
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["error"]["code"], "headers_too_large", "{out}");
    }
    assert!(get(&s.addr, "/healthz", None).starts_with("HTTP/1.1 200"));
    sigterm_and_wait(s);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `/metrics` on a separate listener behind a token: 404 on the API listener, 401 without the
/// token, 200 with it.
#[test]
fn metrics_on_a_separate_listener_with_a_token() {
    let dir = temp_dir("metrics");
    let tok = "metrics-token-0123456789";
    let s = start(
        &dir,
        &[
            ("FRANKING_LISTEN", "127.0.0.1:0"),
            ("FRANKING_METRICS_LISTEN", "127.0.0.1:0"),
            ("FRANKING_METRICS_TOKEN", tok),
        ],
    );
    let maddr = s
        .lines
        .iter()
        .find_map(|l| l.strip_prefix("report-server metrics on http://"))
        .unwrap()
        .trim_end_matches("/metrics")
        .to_owned();
    let r = get(&s.addr, "/metrics", Some(tok));
    assert!(
        r.starts_with("HTTP/1.1 404") && r.contains("not_found"),
        "{r}"
    );
    let r = get(&maddr, "/metrics", None);
    assert!(
        r.starts_with("HTTP/1.1 401") && r.contains("unauthorized"),
        "{r}"
    );
    let r = get(&maddr, "/metrics", Some("metrics-token-wrong-value"));
    assert!(r.starts_with("HTTP/1.1 401"), "{r}");
    let r = get(&maddr, "/metrics", Some(tok));
    assert!(
        r.starts_with("HTTP/1.1 200") && r.contains("franking_http_requests"),
        "{r}"
    );
    let r = get(&maddr, "/v1/admin/networks", Some(tok));
    assert!(r.starts_with("HTTP/1.1 404"), "only /metrics there: {r}");
    sigterm_and_wait(s);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Failed token lookups are limited per client address: past the limit, 429 with Retry-After
/// (no lookup) for the rest of the minute.
#[test]
fn failed_authentications_are_limited_per_peer() {
    let dir = temp_dir("authfail");
    let s = start(
        &dir,
        &[
            ("FRANKING_LISTEN", "127.0.0.1:0"),
            ("FRANKING_AUTH_FAILURES_PER_MINUTE", "5"),
        ],
    );
    let admin = token(&s.lines, "admin token:");
    assert!(get(&s.addr, "/v1/admin/networks", Some(&admin)).starts_with("HTTP/1.1 200"));
    let bad = "A".repeat(43);
    for _ in 0..5 {
        let r = get(&s.addr, "/v1/admin/networks", Some(&bad));
        assert!(r.starts_with("HTTP/1.1 401"), "{r}");
    }
    let r = get(&s.addr, "/v1/admin/networks", Some(&bad));
    assert!(
        r.starts_with("HTTP/1.1 429") && r.contains("rate_limited"),
        "{r}"
    );
    assert!(r.to_ascii_lowercase().contains("retry-after:"), "{r}");
    sigterm_and_wait(s);
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
