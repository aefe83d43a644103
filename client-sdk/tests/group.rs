//! Groups: `GroupConversation` keyed per epoch from an exporter secret, the relay's `RoomRelay`
//! (one stamp per message for any room size, each member's proof with its delivery), reports
//! verified against the stamped member root; and the CLI path `franking stamp --room-members FILE
//! --epoch N --deliver-to MEMBER` → `open` → `report` → `verify`.
#![allow(clippy::unwrap_used, missing_docs)]

use std::path::Path;
use std::process::Command;

use client_sdk::frank::{KeyId, KeyRing, ReportPolicy, StampKey, verify_report};
use client_sdk::group::{GroupConversation, RoomRelay};
use client_sdk::{Error, MessageContent, OpenChecks};

const T0: u64 = 1_750_000_000_000;
const SECRET: &[u8] = b"exporter secret of the host group protocol, epoch 7";

fn ring() -> KeyRing {
    KeyRing::new(
        "example.net",
        StampKey::from_bytes(KeyId(1), [5; 32], None),
        0,
        0,
    )
}

fn members(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("u{i:05}")).collect()
}

#[test]
fn two_members_open_and_report_one_room_stamp() {
    let relay = RoomRelay::new("room-9", 7, members(10_000)).unwrap();
    let alice = GroupConversation::from_exporter_secret("room-9", 7, SECRET).unwrap();
    let env = alice.seal(&MessageContent::text("buy now")).unwrap();
    let stamped = relay
        .stamp(&ring(), env, "example.net", "u00000", T0, "m-1")
        .unwrap();
    for me in ["u00001", "u09999"] {
        let member = GroupConversation::from_exporter_secret("room-9", 7, SECRET).unwrap();
        let delivery = relay.deliver(&stamped, me).unwrap();
        assert_eq!(delivery.stamp, stamped.stamp, "one stamp for the room");
        let opened = member
            .open(&delivery, &OpenChecks::recipient(me).sender("u00000"))
            .unwrap();
        assert_eq!(opened.content().text, "buy now");
        let report = opened.report(me, "spam", &[]).unwrap();
        let v = verify_report(report, &ring(), &ReportPolicy::default(), T0 + 1).unwrap();
        assert_eq!(v.reporter(), me);
        assert_eq!(v.context().members().unwrap().count, 10_000);
    }
}

#[test]
fn refusals() {
    let relay = RoomRelay::new("room-9", 7, members(20)).unwrap();
    let alice = GroupConversation::from_exporter_secret("room-9", 7, SECRET).unwrap();
    let stamped = relay
        .stamp(
            &ring(),
            alice.seal(&MessageContent::text("x")).unwrap(),
            "example.net",
            "u00000",
            T0,
            "m-1",
        )
        .unwrap();
    let bob = GroupConversation::from_exporter_secret("room-9", 7, SECRET).unwrap();
    let code = |e: Error| e.code().to_owned();
    // No proof in the delivery; a non-member; another member's proof.
    let checks = OpenChecks::recipient("u00003");
    assert_eq!(
        code(bob.open(&stamped, &checks).unwrap_err()),
        "membership_proof_missing"
    );
    assert_eq!(
        code(relay.deliver(&stamped, "mallory").unwrap_err()),
        "not_room_member"
    );
    let other = relay.deliver(&stamped, "u00004").unwrap();
    assert_eq!(
        code(bob.open(&other, &checks).unwrap_err()),
        "not_room_member"
    );
    // Another epoch's key; another room.
    let next = GroupConversation::from_exporter_secret("room-9", 8, SECRET).unwrap();
    let mine = relay.deliver(&stamped, "u00003").unwrap();
    assert_eq!(
        code(next.open(&mine, &checks).unwrap_err()),
        "membership_epoch_mismatch"
    );
    let elsewhere = GroupConversation::from_exporter_secret("room-8", 7, SECRET).unwrap();
    assert_eq!(
        code(elsewhere.open(&mine, &checks).unwrap_err()),
        "not_for_me"
    );
    // The sender gets no delivery; a non-member cannot send; duplicates are refused.
    assert_eq!(
        code(relay.deliver(&stamped, "u00000").unwrap_err()),
        "reporter_not_recipient"
    );
    assert_eq!(
        code(
            relay
                .context("example.net", "mallory", T0, "m")
                .unwrap_err()
        ),
        "not_room_member"
    );
    let mut dup = members(3);
    dup.push("u00001".into());
    assert_eq!(
        code(RoomRelay::new("r", 1, dup).unwrap_err()),
        "duplicate_member"
    );
    // Keys differ per epoch and per room.
    assert!(GroupConversation::from_exporter_secret("r", 1, b"short").is_err());
    assert_eq!(bob.open(&mine, &checks).unwrap().content().text, "x");
}

fn franking(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_franking"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn cli_room_stamp_open_report_verify() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-room");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("members.txt"), members(1000).join("\n") + "\n").unwrap();
    franking(&dir, &["keygen", "session", "--out", "session.json"]);
    franking(
        &dir,
        &[
            "keygen",
            "platform",
            "--key-id",
            "3",
            "--out",
            "platform.json",
        ],
    );
    let s = ["--session-key", "session.json", "--conversation", "room-9"];
    franking(
        &dir,
        &[
            &["seal"][..],
            &s,
            &["--text", "hi room", "--out", "sealed.json"],
        ]
        .concat(),
    );
    let stamp = |extra: &[&str]| {
        let base = [
            "stamp",
            "--platform-key",
            "platform.json",
            "--network",
            "example.net",
            "--sender",
            "u00000",
            "--room",
            "room-9",
            "--room-members",
            "members.txt",
            "--epoch",
            "7",
            "--timestamp-ms",
            "1750000000000",
            "--message-id",
            "m-1",
            "--in",
            "sealed.json",
        ];
        franking(&dir, &[&base[..], extra].concat())
    };
    let whole = stamp(&[]);
    let to_bob = stamp(&["--deliver-to", "u00042"]);
    let whole: serde_json::Value = serde_json::from_slice(&whole).unwrap();
    let delivery: serde_json::Value = serde_json::from_slice(&to_bob).unwrap();
    assert_eq!(whole["stamp"], delivery["stamp"], "one stamp for the room");
    assert!(whole.get("membership").is_none());
    assert_eq!(delivery["membership"]["epoch"], 7);
    assert_eq!(delivery["context"]["members"]["count"], 1000);
    std::fs::write(dir.join("delivery.json"), &to_bob).unwrap();
    let open = [
        &["open"][..],
        &s,
        &[
            "--me",
            "u00042",
            "--in",
            "delivery.json",
            "--out",
            "opened.json",
        ],
    ]
    .concat();
    franking(&dir, &open);
    let report = franking(
        &dir,
        &[
            "report",
            "--reporter",
            "u00042",
            "--reason",
            "spam",
            "--in",
            "opened.json",
        ],
    );
    std::fs::write(dir.join("report.json"), &report).unwrap();
    let verdict: serde_json::Value = serde_json::from_slice(&franking(
        &dir,
        &[
            "verify",
            "--platform-key",
            "platform.json",
            "--now-ms",
            "1750000005000",
            "--in",
            "report.json",
        ],
    ))
    .unwrap();
    assert_eq!(verdict["valid"], true, "{verdict}");
    assert_eq!(verdict["context"]["room"], "room-9");

    // Without a proof (the room-wide stamped envelope), opening is refused.
    std::fs::write(dir.join("whole.json"), serde_json::to_vec(&whole).unwrap()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_franking"))
        .args([&["open"][..], &s, &["--me", "u00042", "--in", "whole.json"]].concat())
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("[membership_proof_missing]"));
}
