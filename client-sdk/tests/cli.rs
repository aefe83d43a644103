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
        // A command may refuse (and exit) before it reads its input.
        if let Err(e) = input.write_all(bytes) {
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
        }
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

/// Runs a command that must be refused with exit status 1 and `franking: error [code]: ...` on
/// stderr; returns stderr.
fn fails_with(dir: &Path, args: &[&str], stdin: Option<&[u8]>, code: &str) -> String {
    let out = run(dir, args, stdin);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
    assert!(
        err.starts_with(&format!("franking: error [{code}]: ")),
        "{args:?}: expected [{code}], got {err:?}"
    );
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
    // `seal --blob-dir` and `open --attachments-out` create their directories.
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
    stamp_m1(dir, &sealed)
}

/// `franking stamp` with `platform.json`: message m1 from alice to bob on example.net at `T`.
fn stamp_m1(dir: &Path, sealed: &[u8]) -> Vec<u8> {
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
        Some(sealed),
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
    fails_with(
        &dir,
        &open_args,
        Some(v.to_string().as_bytes()),
        "authentication_failed",
    );

    // Wrong recipient, wrong conversation, wrong sender.
    let mut args = open_args.to_vec();
    args[6] = "carol";
    args.extend(["--out", "carol.json"]);
    fails_with(&dir, &args, Some(&stamped), "not_for_me");
    assert!(!dir.join("carol.json").exists());
    let mut args = open_args.to_vec();
    args[4] = "c2";
    fails_with(&dir, &args, Some(&stamped), "authentication_failed");
    let mut args = open_args.to_vec();
    args.extend(["--sender", "mallory"]);
    fails_with(&dir, &args, Some(&stamped), "unexpected_sender");

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
    fails_with(&dir, &args, Some(&stamped), "attachment_tag_invalid");
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
    fails_with(&dir, &verify, Some(r.to_string().as_bytes()), "bad_stamp");
    ok(
        &dir,
        &["keygen", "platform", "--key-id", "7", "--out", "other.json"],
        None,
    );
    fails_with(
        &dir,
        &["verify", "--platform-key", "other.json", "--now-ms", LATER],
        Some(&report),
        "bad_stamp",
    );
    let too_late = [
        "verify",
        "--platform-key",
        "platform.json",
        "--now-ms",
        "1950000000000",
    ];
    fails_with(&dir, &too_late, Some(&report), "outside_window");
    let out = run(&dir, &too_late, Some(&report));
    assert_eq!(
        json(&out.stdout),
        serde_json::json!({"valid": false, "code": "outside_window"})
    );
    fails_with(
        &dir,
        &["report", "--reporter", "alice"],
        Some(&opened),
        "reporter_not_recipient",
    );

    // Tampered blob at verification time.
    let report_path = dir.join("report.json");
    std::fs::write(&report_path, &report).unwrap();
    bytes[20] ^= 1;
    std::fs::write(&blob, &bytes).unwrap();
    fails_with(
        &dir,
        &[
            "verify",
            "--platform-key",
            "platform.json",
            "--now-ms",
            LATER,
            "--blob-dir",
            "blobs",
            "--attachments-out",
            "verified",
            "--in",
            "report.json",
        ],
        None,
        "attachment_tag_invalid",
    );
    assert_eq!(std::fs::read_dir(dir.join("verified")).unwrap().count(), 0);

    // Garbage input, missing files, bad usage.
    fails_with(&dir, &verify, Some(b"not json"), "malformed");
    fails_with(
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
        "io",
    );
    fails_with(
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
        "usage",
    );
    fails_with(
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
        "invalid_key",
    );
    fails(&dir, &["frobnicate"], None);
}

#[test]
fn help_documents_every_subcommand() {
    let out = bin().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for sub in [
        "keygen", "seal", "stamp", "open", "report", "verify", "publish",
    ] {
        assert!(text.contains(sub), "{sub} missing from --help");
        let out = bin().args([sub, "--help"]).output().unwrap();
        assert!(out.status.success(), "{sub} --help");
    }
}

/// The CLI walkthrough of docs/client-sdk.md runs literally (`sh -e`, the built binary first on
/// PATH) in an empty directory holding only `photo.jpg`: no brackets to edit out, no directory to
/// create first, no timestamp outside the reporting window.
#[test]
fn docs_walkthrough_runs_as_written() {
    let dir = workdir("docs-walkthrough");
    let doc = include_str!("../../docs/client-sdk.md");
    let section = &doc[doc.find("## The `franking` CLI").unwrap()..];
    let start = section.find("```sh\n").unwrap() + "```sh\n".len();
    let script = &section[start..start + section[start..].find("```").unwrap()];
    let photo = b"\xFF\xD8\xFF\xE0 any bytes will do";
    std::fs::write(dir.join("photo.jpg"), photo).unwrap();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_franking")).parent().unwrap();
    let path = std::env::join_paths(std::iter::once(bin_dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    let out = Command::new("sh")
        .args(["-ec", script])
        .current_dir(&dir)
        .env("PATH", path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Only `verify` writes to stdout.
    let verdict = json(&out.stdout);
    assert_eq!(verdict["valid"], true, "{verdict}");
    assert_eq!(verdict["text"], "hi");
    for (key, out_dir) in [("shown", "shown"), ("verified", "verified")] {
        let files: Vec<PathBuf> = std::fs::read_dir(dir.join(out_dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1, "{key}: {files:?}");
        assert_eq!(files[0].extension().unwrap(), "jpg");
        assert_eq!(std::fs::read(&files[0]).unwrap(), photo);
    }
    let opened = json(&std::fs::read(dir.join("opened.json")).unwrap());
    let name = |v: &Value| {
        let path = PathBuf::from(v["attachments"][0]["path"].as_str().unwrap());
        path.file_name().unwrap().to_owned()
    };
    assert_eq!(name(&opened), name(&verdict));
}

/// Output directories are created (nested), opened and verified attachments carry an extension
/// from their media type and equal the sender's files, and the JSON names them.
#[test]
fn attachments_are_written_with_extensions_into_new_directories() {
    let dir = workdir("extensions");
    ok(&dir, &["keygen", "session", "--out", "session.json"], None);
    ok(
        &dir,
        &["keygen", "platform", "--out", "platform.json"],
        None,
    );
    let files = [
        ("a.png", "image/png", "png"),
        ("b.pdf", "application/pdf; name=b", "pdf"),
        ("c.dat", "", "bin"),
        ("d.txt", "text/x-shellscript", "bin"),
    ];
    let mut seal = vec![
        "seal",
        "--session-key",
        "session.json",
        "--conversation",
        "c1",
        "--text",
        "four files",
        "--blob-dir",
        "store/blobs",
        "--out",
        "sealed.json",
    ];
    let specs: Vec<String> = files
        .iter()
        .map(|(name, media, _)| {
            std::fs::write(dir.join(name), format!("contents of {name}")).unwrap();
            if media.is_empty() {
                (*name).to_owned()
            } else {
                format!("{name}:{media}")
            }
        })
        .collect();
    for spec in &specs {
        seal.extend(["--attach", spec.as_str()]);
    }
    ok(&dir, &seal, None);
    assert_eq!(
        std::fs::read_dir(dir.join("store/blobs")).unwrap().count(),
        files.len()
    );
    ok(
        &dir,
        &[
            "stamp",
            "--platform-key",
            "platform.json",
            "--network",
            "n",
            "--sender",
            "alice",
            "--recipient",
            "bob",
            "--message-id",
            "m1",
            "--in",
            "sealed.json",
            "--out",
            "stamped.json",
        ],
        None,
    );
    ok(
        &dir,
        &[
            "open",
            "--session-key",
            "session.json",
            "--conversation",
            "c1",
            "--me",
            "bob",
            "--blob-dir",
            "store/blobs",
            "--attachments-out",
            "out/shown",
            "--in",
            "stamped.json",
            "--out",
            "opened.json",
        ],
        None,
    );
    let report = ok(
        &dir,
        &["report", "--reporter", "bob", "--in", "opened.json"],
        None,
    );
    let verdict = json(&ok(
        &dir,
        &[
            "verify",
            "--platform-key",
            "platform.json",
            "--blob-dir",
            "store/blobs",
            "--attachments-out",
            "out/verified",
        ],
        Some(&report),
    ));
    let opened = json(&std::fs::read(dir.join("opened.json")).unwrap());
    for (i, (name, _, ext)) in files.iter().enumerate() {
        for listing in [&opened, &verdict] {
            let entry = &listing["attachments"][i];
            assert_eq!(entry["verified"], true);
            let path = PathBuf::from(entry["path"].as_str().unwrap());
            assert_eq!(path.extension().unwrap(), *ext, "{entry}");
            assert!(path.starts_with("out"), "{entry}");
            assert_eq!(
                std::fs::read(dir.join(&path)).unwrap(),
                std::fs::read(dir.join(name)).unwrap()
            );
        }
    }
    // Without --attachments-out, verify checks the blobs and writes nothing.
    let verdict = json(&ok(
        &dir,
        &[
            "verify",
            "--platform-key",
            "platform.json",
            "--blob-dir",
            "store/blobs",
        ],
        Some(&report),
    ));
    assert_eq!(verdict["attachments"][3]["verified"], true);
    assert!(verdict["attachments"][3].get("path").is_none());
}

/// A command that fails leaves no output file and no blob behind, even when it fails after
/// writing some of them (here: the second attachment is missing).
#[test]
fn failed_seal_leaves_nothing_behind() {
    let dir = workdir("failed-seal");
    ok(&dir, &["keygen", "session", "--out", "session.json"], None);
    std::fs::write(dir.join("photo.jpg"), b"a photo").unwrap();
    fails_with(
        &dir,
        &[
            "seal",
            "--session-key",
            "session.json",
            "--conversation",
            "c1",
            "--attach",
            "photo.jpg:image/jpeg",
            "--attach",
            "missing.jpg",
            "--blob-dir",
            "blobs",
            "--out",
            "sealed.json",
        ],
        None,
        "io",
    );
    assert!(!dir.join("sealed.json").exists());
    assert_eq!(std::fs::read_dir(dir.join("blobs")).unwrap().count(), 0);
    // An unusable session key: nothing is created either.
    std::fs::write(dir.join("bad.json"), b"{}").unwrap();
    fails_with(
        &dir,
        &[
            "seal",
            "--session-key",
            "bad.json",
            "--conversation",
            "c1",
            "--out",
            "sealed.json",
        ],
        None,
        "invalid_key",
    );
    assert!(!dir.join("sealed.json").exists());
}

/// Seal `text` in conversation c1, stamp it from `sender` to `recipient` at `ts` with id `id`, and
/// open it as `recipient` into `{id}.opened.json`.
fn message(dir: &Path, text: &str, sender: &str, recipient: &str, ts: &str, id: &str) {
    let session = ["--session-key", "session.json", "--conversation", "c1"];
    let mut seal = vec!["seal", "--text", text];
    seal.extend(session);
    let sealed = ok(dir, &seal, None);
    let stamped = ok(
        dir,
        &[
            "stamp",
            "--platform-key",
            "platform.json",
            "--network",
            "example.net",
            "--sender",
            sender,
            "--recipient",
            recipient,
            "--timestamp-ms",
            ts,
            "--message-id",
            id,
        ],
        Some(&sealed),
    );
    let out = format!("{id}.opened.json");
    let mut open = vec!["open", "--me", recipient, "--out", &out];
    open.extend(session);
    ok(dir, &open, Some(&stamped));
}

#[test]
fn verify_lists_earlier_messages_in_order_with_the_reporters_own_flagged() {
    let dir = workdir("earlier-order");
    setup(&dir);
    message(
        &dir,
        "first from alice",
        "alice",
        "bob",
        "1749999997000",
        "e1",
    );
    message(
        &dir,
        "bob's own threat",
        "bob",
        "alice",
        "1749999998000",
        "e2",
    );
    message(
        &dir,
        "second from alice",
        "alice",
        "bob",
        "1749999999000",
        "e3",
    );
    message(&dir, "the reported one", "alice", "bob", T, "m2");
    // Earlier messages given out of order.
    let report = ok(
        &dir,
        &[
            "report",
            "--reporter",
            "bob",
            "--reason",
            "harassment",
            "--in",
            "m2.opened.json",
            "--earlier",
            "e3.opened.json",
            "--earlier",
            "e1.opened.json",
            "--earlier",
            "e2.opened.json",
        ],
        None,
    );
    let verdict = json(&ok(
        &dir,
        &[
            "verify",
            "--platform-key",
            "platform.json",
            "--now-ms",
            LATER,
        ],
        Some(&report),
    ));
    assert_eq!(verdict["valid"], true, "{verdict}");
    let earlier: Vec<(String, String, bool, usize)> = verdict["earlier"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["text"].as_str().unwrap().to_owned(),
                m["sender"].as_str().unwrap().to_owned(),
                m["sent_by_reporter"].as_bool().unwrap(),
                m["position"].as_u64().unwrap() as usize,
            )
        })
        .collect();
    assert_eq!(
        earlier,
        [
            ("first from alice".to_owned(), "alice".to_owned(), false, 1),
            ("bob's own threat".to_owned(), "bob".to_owned(), true, 2),
            ("second from alice".to_owned(), "alice".to_owned(), false, 0),
        ]
    );
    assert_eq!(verdict["earlier"][0]["timestamp_ms"], 1_749_999_997_000u64);
}

/// `franking publish` prints a signing key's published record; `open --platform-keys` requires a
/// valid signature by one of the listed keys (and refuses a stripped one, another network's keys,
/// or a key published as retired before the message).
#[test]
fn open_checks_signatures_against_published_keys() {
    let dir = workdir("published-keys");
    ok(&dir, &["keygen", "session", "--out", "session.json"], None);
    ok(
        &dir,
        &["keygen", "platform", "--sign", "--out", "platform.json"],
        None,
    );
    let args = [
        "publish",
        "--platform-key",
        "platform.json",
        "--network",
        "example.net",
        "--created-at-ms",
        "1700000000000",
    ];
    let published = json(&ok(&dir, &args, None));
    assert_eq!(published.as_array().unwrap().len(), 1, "{published}");
    assert_eq!(published[0]["network"], "example.net");
    assert!(published[0].get("retired_at_ms").is_none(), "{published}");
    assert!(!published.to_string().contains("mac_key"), "no secrets");
    std::fs::write(dir.join("keys.json"), published.to_string()).unwrap();
    let sealed = ok(
        &dir,
        &[
            "seal",
            "--session-key",
            "session.json",
            "--conversation",
            "c1",
            "--text",
            "signed hello",
        ],
        None,
    );
    let delivered = stamp_m1(&dir, &sealed);
    let open = |keys: &str| {
        vec![
            "open",
            "--session-key",
            "session.json",
            "--conversation",
            "c1",
            "--me",
            "bob",
            "--platform-keys",
            keys,
        ]
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<_>>()
    };
    fn argv(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }
    let o = open("keys.json");
    assert_eq!(
        json(&ok(&dir, &argv(&o), Some(&delivered)))["text"],
        "signed hello"
    );
    // Signature stripped.
    let mut stripped = json(&delivered);
    stripped["stamp"]
        .as_object_mut()
        .unwrap()
        .remove("signature");
    fails_with(
        &dir,
        &argv(&o),
        Some(stripped.to_string().as_bytes()),
        "signature_required",
    );
    // `null` instead of omission.
    let mut null = json(&delivered);
    null["stamp"]["signature"] = Value::Null;
    fails_with(
        &dir,
        &argv(&o),
        Some(null.to_string().as_bytes()),
        "json_null",
    );
    // The keys of another network; a key retired before the message.
    let mut other = published.clone();
    other[0]["network"] = "other.net".into();
    std::fs::write(dir.join("other.json"), other.to_string()).unwrap();
    fails_with(
        &dir,
        &argv(&open("other.json")),
        Some(&delivered),
        "wrong_network",
    );
    let mut retired = published.clone();
    retired[0]["retired_at_ms"] = 1_700_000_000_001u64.into();
    std::fs::write(dir.join("retired.json"), retired.to_string()).unwrap();
    fails_with(
        &dir,
        &argv(&open("retired.json")),
        Some(&delivered),
        "stamp_after_retirement",
    );
    // An HMAC-only key has nothing to publish.
    ok(&dir, &["keygen", "platform", "--out", "hmac.json"], None);
    fails_with(
        &dir,
        &[
            "publish",
            "--platform-key",
            "hmac.json",
            "--network",
            "example.net",
        ],
        None,
        "usage",
    );
}
