//! The `franking` binary against a real report server (in-process, SQLite, over HTTP):
//! `stamp --server` with a relay token from `FRANKING_TOKEN`, `report --server` with a service
//! token, the case visible to the network's moderator; refusals exit 1 with the server's code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../tests/src/harness.rs"]
mod harness;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use harness::{Network, TestDb, TestServer, unique};
use serde_json::Value;

fn workdir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-server-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Run the CLI in `dir` with `FRANKING_TOKEN` set to `token` (or removed).
fn run(dir: &Path, token: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_franking"));
    cmd.args(args).current_dir(dir).env_remove("FRANKING_TOKEN");
    if let Some(t) = token {
        cmd.env("FRANKING_TOKEN", t);
    }
    cmd.output().unwrap()
}

fn ok(dir: &Path, token: Option<&str>, args: &[&str]) -> Value {
    let out = run(dir, token, args);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    if out.stdout.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

/// Runs a command that must fail with exit status `code`; returns stderr.
fn fails(dir: &Path, token: Option<&str>, args: &[&str], code: i32) -> String {
    let out = run(dir, token, args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
    assert!(out.stdout.is_empty(), "{args:?} printed on stdout");
    err
}

/// keygen + seal (with `seal_args`, e.g. attachments) + `stamp --server` (relay token from the
/// environment) + open, in `dir`.
fn stamp_and_open(dir: &Path, server: &TestServer, net: &Network, text: &str, seal_args: &[&str]) {
    ok(dir, None, &["keygen", "session", "--out", "session.json"]);
    let session = ["--session-key", "session.json", "--conversation", "c1"];
    let mut seal = vec!["seal", "--text", text, "--out", "sealed.json"];
    seal.extend(session);
    seal.extend_from_slice(seal_args);
    ok(dir, None, &seal);
    let stamp = [
        "stamp",
        "--server",
        &server.url,
        "--network",
        &net.id,
        "--sender",
        "alice",
        "--recipient",
        "bob",
        "--message-id",
        "m1",
        "--in",
        "sealed.json",
        "--out",
        "delivered.json",
    ];
    ok(dir, Some(&net.relay), &stamp);
    let delivered: Value =
        serde_json::from_slice(&std::fs::read(dir.join("delivered.json")).unwrap()).unwrap();
    assert_eq!(delivered["context"]["network"], net.id.as_str());
    assert!(delivered["stamp"]["mac"].is_string(), "{delivered}");
    let mut open = vec![
        "open",
        "--me",
        "bob",
        "--sender",
        "alice",
        "--in",
        "delivered.json",
        "--out",
        "opened.json",
    ];
    open.extend(session);
    ok(dir, None, &open);
}

#[test]
fn stamp_and_report_through_the_server() {
    let server = TestServer::start(TestDb::sqlite());
    let net = server.network(&unique("net"), None);
    let dir = workdir("flow");
    let text = "an abusive message, reported from the command line";
    stamp_and_open(&dir, &server, &net, text, &[]);

    // The token on the command line works too (the environment is preferred).
    let receipt = ok(
        &dir,
        None,
        &[
            "report",
            "--server",
            &server.url,
            "--token",
            &net.service,
            "--reporter",
            "bob",
            "--reason",
            "abuse",
            "--category",
            "harassment",
            "--in",
            "opened.json",
        ],
    );
    assert_eq!(receipt["verdict"], "accepted", "{receipt}");
    assert_eq!(receipt["duplicate"], false);
    assert_eq!(receipt["report_count"], 1);
    let case_id = receipt["case_id"].as_str().unwrap().to_owned();

    // Again, with --out: the same case, marked duplicate.
    ok(
        &dir,
        Some(&net.service),
        &[
            "report",
            "--server",
            &server.url,
            "--reporter",
            "bob",
            "--in",
            "opened.json",
            "--out",
            "receipt.json",
        ],
    );
    let again: Value =
        serde_json::from_slice(&std::fs::read(dir.join("receipt.json")).unwrap()).unwrap();
    assert_eq!(again["case_id"], case_id.as_str());
    assert_eq!(again["duplicate"], true);

    // The network's moderator sees the verified plaintext.
    let case = server.get(&format!("/v1/cases/{case_id}"), &net.moderator);
    assert_eq!(case.status, 200, "{}", case.body);
    let evidence = &case.body["evidence"][0]["content"];
    assert_eq!(evidence["reporter"], "bob");
    assert_eq!(evidence["message"]["format"], "content");
    assert_eq!(evidence["message"]["text"], text);
    // The raw content encoding (it would carry attachment keys) is not shown.
    assert!(evidence["message"]["plaintext_b64"].is_null());
}

#[test]
fn server_refusals_exit_nonzero_with_the_code() {
    let server = TestServer::start(TestDb::sqlite());
    let net = server.network(&unique("net"), None);
    let other = server.network(&unique("other"), None);
    let dir = workdir("refusals");
    stamp_and_open(&dir, &server, &net, "hello bob", &[]);
    let report = |token: &str, input: &str| {
        run(
            &dir,
            Some(token),
            &[
                "report",
                "--server",
                &server.url,
                "--reporter",
                "bob",
                "--in",
                input,
            ],
        )
    };
    let code_of = |out: &Output| {
        assert_eq!(out.status.code(), Some(1));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };

    // Tampered plaintext in the opened message: the commitment does not open to it.
    let mut opened: Value =
        serde_json::from_slice(&std::fs::read(dir.join("opened.json")).unwrap()).unwrap();
    let pt = opened["opened"]["plaintext"].as_str().unwrap();
    let mut bytes = URL_SAFE_NO_PAD.decode(pt).unwrap();
    // Content = magic (4) ‖ text length (4) ‖ text ‖ ...: "hello bob" -> "iello bob".
    assert_eq!(bytes[8], b'h');
    bytes[8] ^= 0x01;
    opened["opened"]["plaintext"] = Value::String(URL_SAFE_NO_PAD.encode(&bytes));
    std::fs::write(dir.join("tampered.json"), opened.to_string()).unwrap();
    let err = code_of(&report(&net.service, "tampered.json"));
    assert!(err.contains("[commitment_mismatch]"), "{err}");

    // Another network's backend, a relay token, and an unknown token.
    let err = code_of(&report(&other.service, "opened.json"));
    assert!(err.contains("[wrong_network]"), "{err}");
    let err = code_of(&report(&net.relay, "opened.json"));
    assert!(err.contains("[forbidden]"), "{err}");
    let err = code_of(&report(&"A".repeat(43), "opened.json"));
    assert!(err.contains("[unauthorized]"), "{err}");

    // Stamping for a network the relay token does not belong to.
    let err = fails(
        &dir,
        Some(&other.relay),
        &[
            "stamp",
            "--server",
            &server.url,
            "--network",
            &net.id,
            "--sender",
            "alice",
            "--recipient",
            "bob",
            "--message-id",
            "m2",
            "--in",
            "sealed.json",
        ],
        1,
    );
    assert!(err.contains("[wrong_network]"), "{err}");

    // Usage: --server needs a token; --server and --platform-key exclude each other; a category
    // needs --server; the URL must be http(s).
    let err = fails(
        &dir,
        None,
        &[
            "report",
            "--server",
            &server.url,
            "--reporter",
            "bob",
            "--in",
            "opened.json",
        ],
        1,
    );
    assert!(err.contains("FRANKING_TOKEN"), "{err}");
    fails(
        &dir,
        Some(&net.relay),
        &[
            "stamp",
            "--server",
            &server.url,
            "--platform-key",
            "x.json",
            "--network",
            &net.id,
            "--sender",
            "alice",
            "--recipient",
            "bob",
            "--message-id",
            "m3",
            "--in",
            "sealed.json",
        ],
        2,
    );
    fails(
        &dir,
        None,
        &[
            "report",
            "--reporter",
            "bob",
            "--category",
            "spam",
            "--in",
            "opened.json",
        ],
        2,
    );
    let err = fails(
        &dir,
        Some(&net.service),
        &[
            "report",
            "--server",
            "localhost:1",
            "--reporter",
            "bob",
            "--in",
            "opened.json",
        ],
        1,
    );
    assert!(err.contains("invalid server URL"), "{err}");

    // Nothing listening: a transport error, exit 1.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = fails(
        &dir,
        Some(&net.service),
        &[
            "report",
            "--server",
            &format!("http://127.0.0.1:{port}"),
            "--reporter",
            "bob",
            "--in",
            "opened.json",
        ],
        1,
    );
    assert!(err.contains("HTTP error"), "{err}");

    // None of that created a case.
    let list = server.get("/v1/cases", &net.moderator);
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(
        list.body["cases"].as_array().unwrap().is_empty(),
        "{}",
        list.body
    );
}

#[test]
fn report_uploads_the_attachments_from_the_blob_dir() {
    let server = TestServer::start(TestDb::sqlite());
    let net = server.network(&unique("net"), None);
    let dir = workdir("attachments");
    let photo: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
        .collect();
    std::fs::write(dir.join("photo.jpg"), &photo).unwrap();
    stamp_and_open(
        &dir,
        &server,
        &net,
        "see this",
        &["--attach", "photo.jpg:image/jpeg", "--blob-dir", "blobs"],
    );
    let report = |extra: &[&str]| {
        let mut args = vec![
            "report",
            "--server",
            &server.url,
            "--reporter",
            "bob",
            "--in",
            "opened.json",
        ];
        args.extend_from_slice(extra);
        run(&dir, Some(&net.service), &args)
    };
    // Without the blobs the server refuses the report whole.
    let out = report(&[]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("[attachment_missing]"), "{err}");
    // With --blob-dir the blob is uploaded, verified and downloadable byte for byte.
    let out = report(&["--blob-dir", "blobs"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let receipt: Value = serde_json::from_slice(&out.stdout).unwrap();
    let case = server.get(
        &format!("/v1/cases/{}", receipt["case_id"].as_str().unwrap()),
        &net.moderator,
    );
    let att = &case.body["evidence"][0]["content"]["message"]["attachments"][0];
    assert_eq!(att["status"], "verified", "{}", case.body);
    let dl = server.get_raw(att["download"].as_str().unwrap(), &net.moderator, &[]);
    assert_eq!(dl.status, 200);
    assert!(dl.body == photo);
    assert_eq!(dl.header("content-type"), "image/jpeg");
}
