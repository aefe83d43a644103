//! End-to-end tests of the `franking-attacks` binary: forgeries it prints verify with the real
//! aes-gcm crate, and bad input exits non-zero with a message instead of panicking.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};

use attacks::gcm::GcmKey;

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_franking-attacks"))
        .args(args)
        .output()
        .unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn assert_fails(args: &[&str], needle: &str) {
    let out = run(args);
    assert!(!out.status.success(), "should fail: {args:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(needle), "stderr {err:?} lacks {needle:?}");
    assert!(!err.contains("panicked"), "panic on {args:?}: {err}");
}

#[test]
fn gcm_collide_output_verifies_under_every_key() {
    let keys: Vec<String> = (0..12u8)
        .map(|i| hex::encode(vec![i + 1; if i % 2 == 0 { 16 } else { 32 }]))
        .collect();
    let nonce = "00112233445566778899aabb";
    let ad = "deadbeef";
    for tag in [None, Some("0404040404040404040404040404040f")] {
        let mut args = vec!["gcm-collide", "--nonce", nonce, "--ad", ad];
        for k in &keys {
            args.extend(["--key", k.as_str()]);
        }
        if let Some(t) = tag {
            args.extend(["--tag", t]);
        }
        let v = json(&run(&args));
        let ct = hex::decode(v["ciphertext"].as_str().unwrap()).unwrap();
        let t: [u8; 16] = hex::decode(v["tag"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        if let Some(want) = tag {
            assert_eq!(hex::encode(t), want);
        }
        let n: [u8; 12] = hex::decode(nonce).unwrap().try_into().unwrap();
        let adb = hex::decode(ad).unwrap();
        for k in &keys {
            let key = GcmKey::from_slice(&hex::decode(k).unwrap()).unwrap();
            assert!(key.open(&n, &adb, &ct, &t).is_some(), "key {k} rejects");
        }
        // and `check` agrees: all 12 accept, an outsider does not
        let ct_hex = hex::encode(&ct);
        let t_hex = hex::encode(t);
        let outsider = hex::encode([0xEEu8; 16]);
        let mut cargs = vec![
            "check",
            "--nonce",
            nonce,
            "--ad",
            ad,
            "--ciphertext",
            &ct_hex,
            "--tag",
            &t_hex,
        ];
        for k in &keys {
            cargs.extend(["--key", k.as_str()]);
        }
        cargs.extend(["--key", outsider.as_str()]);
        let r = json(&run(&cargs));
        assert_eq!(r["accepted"], 12);
        assert_eq!(r["total"], 13);
        assert_eq!(r["results"][12]["accepts"], false);
    }
}

#[test]
fn bad_input_is_a_clean_error() {
    let k = "00112233445566778899aabbccddeeff";
    let n = "00112233445566778899aabb";
    assert_fails(&["gcm-collide", "--key", "zz", "--nonce", n], "invalid hex");
    assert_fails(
        &["gcm-collide", "--key", "0011", "--key", k, "--nonce", n],
        "invalid key length",
    );
    assert_fails(
        &["gcm-collide", "--key", k, "--key", k, "--nonce", "0011"],
        "invalid nonce length",
    );
    assert_fails(
        &["gcm-collide", "--key", k, "--key", k, "--nonce", n],
        "same GHASH key",
    );
    assert_fails(
        &["gcm-collide", "--key", k, "--nonce", n, "--tag", "00"],
        "invalid tag length",
    );
    assert_fails(
        &[
            "check",
            "--key",
            k,
            "--nonce",
            n,
            "--ciphertext",
            "00",
            "--tag",
            "00000000000000000000000000000000",
            "--scheme",
            "chacha20-poly1305",
        ],
        "invalid key length",
    );
    assert_fails(
        &[
            "check",
            "--key",
            k,
            "--nonce",
            n,
            "--ciphertext-file",
            "/nonexistent/file",
            "--tag",
            "00000000000000000000000000000000",
        ],
        "I/O error",
    );
    assert_fails(
        &[
            "salamander",
            "--key1",
            k,
            "--key2",
            "00112233445566778899aabbccddeef0",
            "--image1",
            "/nonexistent.jpg",
            "--image2",
            "/nonexistent.bmp",
            "--out",
            "/tmp/franking-attacks-never",
        ],
        "I/O error",
    );
    // clap's own usage errors are non-zero too
    assert!(!run(&["gcm-collide"]).status.success());
}

#[test]
fn salamander_command_writes_all_outputs() {
    let dir = std::env::temp_dir().join(format!("franking-attacks-cli-{}", std::process::id()));
    let td = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata");
    let k1 = "01010101010101010101010101010101";
    let k2 = "02020202020202020202020202020202";
    let out = run(&[
        "salamander",
        "--key1",
        k1,
        "--key2",
        k2,
        "--image1",
        &format!("{td}/innocent.jpg"),
        "--image2",
        &format!("{td}/abusive.bmp"),
        "--out",
        dir.to_str().unwrap(),
    ]);
    json(&out);
    let params: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("params.json")).unwrap()).unwrap();
    let ct = std::fs::read(dir.join("ciphertext.bin")).unwrap();
    let n: [u8; 12] = hex::decode(params["nonce"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let ad = hex::decode(params["ad"].as_str().unwrap()).unwrap();
    let t: [u8; 16] = hex::decode(params["tag"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let p1 = GcmKey::from_hex(k1)
        .unwrap()
        .open(&n, &ad, &ct, &t)
        .unwrap();
    let p2 = GcmKey::from_hex(k2)
        .unwrap()
        .open(&n, &ad, &ct, &t)
        .unwrap();
    assert_eq!(p1, std::fs::read(dir.join("decrypted-key1.jpg")).unwrap());
    assert_eq!(p2, std::fs::read(dir.join("decrypted-key2.bmp")).unwrap());
    let png = image::open(dir.join("side-by-side.png")).unwrap();
    assert!(png.width() > png.height());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn collisions_need_two_keys() {
    let k = "00112233445566778899aabbccddeeff";
    let n = "00112233445566778899aabb";
    for args in [
        vec!["gcm-collide", "--key", k, "--nonce", n],
        vec![
            "gcm-collide",
            "--key",
            k,
            "--nonce",
            n,
            "--tag",
            "00000000000000000000000000000000",
        ],
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?} printed a ciphertext");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("need at least 2 keys, got 1"), "{err}");
    }
    let k32 = "41".repeat(32);
    assert_fails(
        &["chapoly-collide", "--key", &k32, "--nonce", n],
        "need at least 2 keys, got 1",
    );
}

#[test]
fn collision_commands_reject_bad_hex_and_lengths() {
    let k1 = "41".repeat(32);
    let k2 = "42".repeat(32);
    let n12 = "000000000000000000000000";
    assert_fails(
        &[
            "chapoly-collide",
            "--key",
            "zz",
            "--key",
            &k2,
            "--nonce",
            n12,
        ],
        "invalid hex in --key",
    );
    assert_fails(
        &[
            "chapoly-collide",
            "--key",
            "0011",
            "--key",
            &k2,
            "--nonce",
            n12,
        ],
        "invalid key length 2 bytes (expected 32)",
    );
    assert_fails(
        &[
            "chapoly-collide",
            "--key",
            &k1,
            "--key",
            &k2,
            "--nonce",
            "00",
        ],
        "invalid nonce length 1 bytes (expected 12 (ChaCha20))",
    );
    assert_fails(
        &[
            "chapoly-collide",
            "--xchacha",
            "--key",
            &k1,
            "--key",
            &k2,
            "--nonce",
            n12,
        ],
        "invalid nonce length 12 bytes (expected 24 (XChaCha20))",
    );
    assert_fails(
        &[
            "chapoly-collide",
            "--key",
            &k1,
            "--key",
            &k2,
            "--nonce",
            n12,
            "--ad",
            "x",
        ],
        "invalid hex in --ad",
    );
    assert_fails(
        &[
            "siv-collide",
            "--key1",
            "zz",
            "--key2",
            "00",
            "--nonce",
            n12,
        ],
        "invalid hex in --key1",
    );
}

/// Every `franking-attacks` command in docs/attacks.md runs as written (from the workspace root,
/// in order, `\` continuations joined) and exits 0; where the doc shows the output as a JSON
/// line (`# -> {...}`), the output is exactly that.
#[test]
fn docs_examples_run_as_written() {
    let doc = include_str!("../../docs/attacks.md");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    let mut lines = Vec::new();
    let mut pending = String::new();
    for line in doc.lines() {
        let line = line.trim();
        match line.strip_suffix('\\') {
            Some(head) => pending.push_str(head),
            None => {
                pending.push_str(line);
                lines.push(std::mem::take(&mut pending));
            }
        }
    }
    let mut ran = 0;
    for (i, line) in lines.iter().enumerate() {
        let Some(args) = line
            .strip_prefix("cargo run --release -p attacks --bin franking-attacks -- ")
            .or_else(|| line.strip_prefix("franking-attacks "))
        else {
            continue;
        };
        let args: Vec<&str> = args.split_whitespace().collect();
        let out = Command::new(env!("CARGO_BIN_EXE_franking-attacks"))
            .args(&args)
            .current_dir(root)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "docs/attacks.md: {line}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let shown = lines.get(i + 1).and_then(|l| {
            let l = l.strip_prefix("# ->").or_else(|| l.strip_prefix("# →"))?;
            serde_json::from_str::<serde_json::Value>(l.trim()).ok()
        });
        if let Some(shown) = shown {
            assert_eq!(json(&out), shown, "docs/attacks.md: {line}");
        }
        ran += 1;
    }
    // salamander, check, 2× gcm-collide, 2× chapoly-collide, siv-collide
    assert!(ran >= 7, "only {ran} commands found in docs/attacks.md");
}
