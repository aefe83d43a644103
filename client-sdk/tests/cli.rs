//! The `franking` binary: a full seal → stamp → open → report → verify pipeline through files and
//! stdin, and non-zero exits with a message on stderr for every refusal.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const T: &str = "1750000000000";
const LATER: &str = "1750000005000";

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_franking"))
}

fn workdir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Run in `dir`, optionally feeding `stdin`.
fn run(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = bin()
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(bytes) = stdin {
        input.write_all(bytes).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn ok(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
    let out = run(dir, args, stdin);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn fails(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> String {
    let out = run(dir, args, stdin);
    assert!(!out.status.success(), "{args:?} unexpectedly succeeded");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!err.is_empty(), "{args:?}: nothing on stderr");
    err
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

/// Set up keys, a 1 MiB attachment, and a sealed + stamped message; returns the stamped JSON.
fn setup(dir: &Path) -> Vec<u8> {
    ok(dir, &["keygen", "session", "--out", "session.json"], None);
    ok(
        dir,
        &[
            "keygen",
            "platform",
            "--key-id",
            "7",
            "--out",
            "platform.json",
        ],
        None,
    );
    let photo: Vec<u8> = (0..(1u32 << 20))
        .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
        .collect();
    std::fs::write(dir.join("photo.jpg"), &photo).unwrap();
    std::fs::create_dir_all(dir.join("blobs")).unwrap();
    std::fs::create_dir_all(dir.join("shown")).unwrap();
    ok(
        dir,
        &[
            "seal",
            "--session-key",
            "session.json",
            "--conversation",
            "c1",
            "--text",
            "hello bob",
            "--attach",
            "photo.jpg:image/jpeg",
            "--blob-dir",
            "blobs",
            "--out",
            "sealed.json",
        ],
        None,
    );
    // stamp reads the sealed message from stdin.
    let sealed = std::fs::read(dir.join("sealed.json")).unwrap();
    ok(
        dir,
        &[
            "stamp",
            "--platform-key",
            "platform.json",
            "--network",
            "example.net",
            "--sender",
            "alice",
            "--recipient",
            "bob",
            "--timestamp-ms",
            T,
            "--message-id",
            "m1",
        ],
        Some(&sealed),
    )
}

#[test]
fn full_pipeline_through_files_and_stdin() {
    let dir = workdir("pipeline");
    let stamped = setup(&dir);
    std::fs::write(dir.join("stamped.json"), &stamped).unwrap();

    let opened = ok(
        &dir,
        &[
            "open",
            "--session-key",
            "session.json",
            "--conversation",
            "c1",
            "--me",
            "bob",
            "--sender",
            "alice",
            "--blob-dir",
            "blobs",
            "--attachments-out",
            "shown",
            "--in",
            "stamped.json",
            "--out",
            "opened.json",
        ],
        None,
    );
    assert!(opened.is_empty());
    let opened = json(&std::fs::read(dir.join("opened.json")).unwrap());
    assert_eq!(opened["text"], "hello bob");
    let shown_path = dir.join(opened["attachments"][0]["path"].as_str().unwrap());
    assert_eq!(
        std::fs::read(shown_path).unwrap(),
        std::fs::read(dir.join("photo.jpg")).unwrap()
    );

    let report = ok(
        &dir,
        &["report", "--reporter", "bob", "--reason", "spam"],
        Some(&std::fs::read(dir.join("opened.json")).unwrap()),
    );
    std::fs::write(dir.join("report.json"), &report).unwrap();
    let verdict = json(&ok(
        &dir,
        &[
            "verify",
            "--platform-key",
            "platform.json",
            "--now-ms",
            LATER,
            "--blob-dir",
            "blobs",
            "--in",
            "report.json",
        ],
        None,
    ));
    assert_eq!(verdict["valid"], true);
    assert_eq!(verdict["text"], "hello bob");
    assert_eq!(verdict["key_id"], 7);
    assert_eq!(verdict["context"]["sender"], "alice");
    assert_eq!(verdict["attachments"][0]["verified"], true);
    assert_eq!(verdict["attachments"][0]["length"], 1 << 20);
}

#[test]
fn refusals_exit_non_zero() {
    let dir = workdir("refusals");
    let stamped = setup(&dir);
    let open_args = [
        "open",
        "--session-key",
        "session.json",
        "--conversation",
        "c1",
        "--me",
        "bob",
    ];

    // Tampered ciphertext: open refuses.
    let mut v = json(&stamped);
    let ct = v["envelope"]["ciphertext"].as_str().unwrap().to_owned();
    let flipped = if ct.starts_with('A') { "B" } else { "A" };
    v["envelope"]["ciphertext"] = Value::String(format!("{flipped}{}", &ct[1..]));
    let err = fails(&dir, &open_args, Some(v.to_string().as_bytes()));
    assert!(err.contains("authentication_failed"), "{err}");

    // Wrong recipient, wrong conversation, wrong sender.
    let mut args = open_args.to_vec();
    args[6] = "carol";
    fails(&dir, &args, Some(&stamped));
    let mut args = open_args.to_vec();
    args[4] = "c2";
    fails(&dir, &args, Some(&stamped));
    let mut args = open_args.to_vec();
    args.extend(["--sender", "mallory"]);
    fails(&dir, &args, Some(&stamped));

    // Tampered attachment blob: open refuses and leaves no output file behind.
    let blob = std::fs::read_dir(dir.join("blobs"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&blob).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&blob, &bytes).unwrap();
    let mut args = open_args.to_vec();
    args.extend(["--blob-dir", "blobs", "--attachments-out", "shown"]);
    fails(&dir, &args, Some(&stamped));
    assert_eq!(std::fs::read_dir(dir.join("shown")).unwrap().count(), 0);
    bytes[last] ^= 1;
    std::fs::write(&blob, &bytes).unwrap();

    // A valid report, then rejected variants.
    let opened = ok(&dir, &open_args, Some(&stamped));
    let report = ok(&dir, &["report", "--reporter", "bob"], Some(&opened));
    let verify = [
        "verify",
        "--platform-key",
        "platform.json",
        "--now-ms",
        LATER,
    ];
    ok(&dir, &verify, Some(&report));

    // Edited text in the report.
    let mut r = json(&report);
    let pt = r["message"]["plaintext"].as_str().unwrap().to_owned();
    let flipped = if pt.ends_with('A') { "B" } else { "A" };
    r["message"]["plaintext"] = Value::String(format!("{}{flipped}", &pt[..pt.len() - 1]));
    let out = run(&dir, &verify, Some(r.to_string().as_bytes()));
    assert!(!out.status.success());
    assert_eq!(json(&out.stdout)["valid"], false);

    // Edited context, other platform key, outside the window, non-recipient reporter.
    let mut r = json(&report);
    r["message"]["context"]["sender"] = Value::String("carol".into());
    let err = fails(&dir, &verify, Some(r.to_string().as_bytes()));
    assert!(err.contains("bad_stamp"), "{err}");
    ok(
        &dir,
        &["keygen", "platform", "--key-id", "7", "--out", "other.json"],
        None,
    );
    fails(
        &dir,
        &["verify", "--platform-key", "other.json", "--now-ms", LATER],
        Some(&report),
    );
    fails(
        &dir,
        &[
            "verify",
            "--platform-key",
            "platform.json",
            "--now-ms",
            "1950000000000",
        ],
        Some(&report),
    );
    fails(&dir, &["report", "--reporter", "alice"], Some(&opened));

    // Tampered blob at verification time.
    let report_path = dir.join("report.json");
    std::fs::write(&report_path, &report).unwrap();
    bytes[20] ^= 1;
    std::fs::write(&blob, &bytes).unwrap();
    fails(
        &dir,
        &[
            "verify",
            "--platform-key",
            "platform.json",
            "--now-ms",
            LATER,
            "--blob-dir",
            "blobs",
            "--in",
            "report.json",
        ],
        None,
    );

    // Garbage input, missing files, bad usage.
    fails(&dir, &verify, Some(b"not json"));
    fails(
        &dir,
        &[
            "open",
            "--session-key",
            "missing.json",
            "--conversation",
            "c",
            "--me",
            "b",
        ],
        Some(&stamped),
    );
    fails(
        &dir,
        &[
            "seal",
            "--session-key",
            "session.json",
            "--conversation",
            "c",
            "--attach",
            "photo.jpg",
        ],
        None,
    );
    fails(
        &dir,
        &[
            "stamp",
            "--platform-key",
            "session.json",
            "--network",
            "n",
            "--sender",
            "a",
            "--recipient",
            "b",
            "--message-id",
            "m",
        ],
        Some(&stamped),
    );
    fails(&dir, &["frobnicate"], None);
}

#[test]
fn help_documents_every_subcommand() {
    let out = bin().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for sub in ["keygen", "seal", "stamp", "open", "report", "verify"] {
        assert!(text.contains(sub), "{sub} missing from --help");
        let out = bin().args([sub, "--help"]).output().unwrap();
        assert!(out.status.success(), "{sub} --help");
    }
}
