//! Evidence a moderator can act on (issue 9), end to end over real HTTP on SQLite and (with
//! `TEST_DATABASE_URL`) PostgreSQL: a message with text and attachments is sealed with client-sdk,
//! stamped by the server, opened by the recipient and reported with its blobs; the moderator sees
//! the text as a string, the attachments' committed metadata, and downloads exactly the files the
//! recipient saw, with headers that keep a browser from running them. Every bad blob (tampered,
//! cut, extended, under another key, another message's, missing, extra, the two-key AES-GCM
//! ciphertext of the attacks crate) refuses the whole report and leaves nothing stored.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use attacks::gcm::{GcmKey, collide_two};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use client_sdk::attachment::{AttachmentSealer, HEADER_LEN, open_attachment, seal_attachment};
use client_sdk::frank::{Context, Report, SessionKey};
use client_sdk::messaging::{Conversation, OpenChecks, OpenedMessage};
use client_sdk::server::{ReportReceipt, ServerClient};
use client_sdk::{AttachmentKey, AttachmentRef, Error, MessageContent};
use franking_tests::harness::{Network, TestServer, databases, now_ms, unique};
use serde_json::{Value, json};

const TABLES: [&str; 6] = [
    "cases",
    "reports",
    "evidence",
    "attachments",
    "attachment_chunks",
    "rate_counters",
];

fn conversation() -> Conversation {
    Conversation::new(unique("conv"), SessionKey::generate().unwrap())
}

fn dm(net: &Network, sender: &str, recipient: &str, ts: u64) -> Context {
    Context::direct(&net.id, sender, recipient, ts, unique("msg")).unwrap()
}

/// Deterministic filler bytes.
fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// A JPEG-shaped file (SOI, JFIF APP0, filler, EOI).
fn jpeg(n: usize) -> Vec<u8> {
    let mut v = vec![0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10];
    v.extend_from_slice(b"JFIF\0");
    v.extend(noise(n, 7));
    v.extend_from_slice(&[0xff, 0xd9]);
    v
}

/// A PDF-shaped file.
fn pdf(n: usize) -> Vec<u8> {
    let mut v = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    v.extend(noise(n, 11));
    v.extend_from_slice(b"\n%%EOF\n");
    v
}

/// Seal `files` (media type, bytes) with 1 KiB segments (many segments even for small files).
fn seal_files(files: &[(&str, &[u8])]) -> (Vec<AttachmentRef>, Vec<Vec<u8>>) {
    let sealer = AttachmentSealer::with_segment_size(1024).unwrap();
    files
        .iter()
        .map(|(media_type, bytes)| {
            let mut blob = Vec::new();
            let r = sealer.seal(media_type, *bytes, &mut blob).unwrap();
            (r, blob)
        })
        .unzip()
}

/// Alice seals `text` with `attachments`, the server stamps it for `ctx`, `me` opens it.
fn send(
    server: &TestServer,
    net: &Network,
    conv: &Conversation,
    ctx: Context,
    text: &str,
    attachments: Vec<AttachmentRef>,
    me: &str,
) -> OpenedMessage {
    let relay = ServerClient::new(&server.url, &net.relay).unwrap();
    let content = MessageContent {
        text: text.into(),
        attachments,
    };
    let delivered = relay.stamp(conv.seal(&content).unwrap(), ctx).unwrap();
    conv.open(&delivered, &OpenChecks::recipient(me)).unwrap()
}

fn submit(
    server: &TestServer,
    net: &Network,
    report: &Report,
    blobs: &[Vec<u8>],
) -> Result<ReportReceipt, Error> {
    let service = ServerClient::new(&server.url, &net.service).unwrap();
    service.submit_report_with_attachments(
        report.reporter.as_str(),
        None,
        report,
        blobs.iter().map(Vec::as_slice),
    )
}

fn refused<T: std::fmt::Debug>(r: Result<T, Error>) -> (u16, String) {
    match r {
        Err(Error::Server { status, code, .. }) => (status, code),
        other => panic!("expected a server refusal, got {other:?}"),
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn set_policy(server: &TestServer, net: &Network, change: impl FnOnce(&mut Value)) {
    let path = format!("/v1/admin/networks/{}/policy", net.id);
    let mut policy = server.get(&path, &server.admin).body;
    change(&mut policy);
    let r = server.call("PUT", &path, Some(&server.admin), Some(policy));
    assert_eq!(r.status, 200, "{}", r.body);
}

fn case_message(server: &TestServer, net: &Network, case_id: &str) -> Value {
    let case = server.get(&format!("/v1/cases/{case_id}"), &net.moderator);
    assert_eq!(case.status, 200, "{}", case.body);
    case.body["evidence"][0]["content"]["message"].clone()
}

/// The safety headers every download carries.
fn assert_safe_headers(dl: &franking_tests::harness::RawResp, what: &str) {
    assert_eq!(dl.header("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(
        dl.header("content-security-policy"),
        "sandbox; default-src 'none'",
        "{what}"
    );
    assert_eq!(dl.header("accept-ranges"), "bytes", "{what}");
}

#[test]
fn text_jpeg_and_pdf_reach_the_moderator_byte_for_byte() {
    for db in databases() {
        let server = TestServer::start(db);
        let backend = server.backend;
        let net = server.network(&unique("net"), None);
        let other = server.network(&unique("other"), None);
        let conv = conversation();
        let (photo, doc) = (jpeg(300_000), pdf(70_000));
        let (refs, blobs) = seal_files(&[("image/jpeg", &photo), ("application/pdf", &doc)]);
        let text = "look at this, you will regret it \u{1F620}";
        let opened = send(
            &server,
            &net,
            &conv,
            dm(&net, "alice", "bob", now_ms()),
            text,
            refs.clone(),
            "bob",
        );
        // The recipient sees the text and both files.
        assert_eq!(opened.content().text, text);
        for (r, (blob, file)) in refs.iter().zip(blobs.iter().zip([&photo, &doc])) {
            let mut shown = Vec::new();
            open_attachment(r, blob.as_slice(), &mut shown).unwrap();
            assert_eq!(&shown, file);
        }
        let report = opened.report("bob", "threat", &[]).unwrap();
        // Retention is per evidence item from its arrival (issue 16): with a zero retention the
        // evidence is purged by the first run after its case closes.
        set_policy(&server, &net, |p| p["evidence_retention_ms"] = json!(0));
        let receipt = submit(&server, &net, &report, &blobs).unwrap();
        assert_eq!(receipt.verdict, "accepted", "{backend}");
        assert_eq!(server.count_rows("attachments"), 2, "{backend}");
        // 300 KB in 256 KiB chunks: 2 rows; 70 KB: 1 row.
        assert_eq!(server.count_rows("attachment_chunks"), 3, "{backend}");

        // The case view: the text as a string, the attachments' committed metadata and links.
        let msg = case_message(&server, &net, &receipt.case_id);
        assert_eq!(msg["format"], "content", "{backend}: {msg}");
        assert_eq!(msg["text"], text);
        assert!(msg["plaintext_b64"].is_null(), "{msg}");
        assert_eq!(msg["sent_by_reporter"], false);
        assert_eq!(msg["context"]["sender"], "alice");
        assert_eq!(msg["context"]["recipients"], json!(["bob"]));
        let atts = msg["attachments"].as_array().unwrap();
        assert_eq!(atts.len(), 2);
        for (i, (a, (r, file))) in atts.iter().zip(refs.iter().zip([&photo, &doc])).enumerate() {
            assert_eq!(a["index"], i);
            assert_eq!(a["status"], "verified");
            assert_eq!(a["media_type"], r.media_type.as_str());
            assert_eq!(a["length"], file.len());
            assert_eq!(a["commitment"], b64(&r.commitment));
            let id = a["id"].as_str().unwrap();
            assert_eq!(
                a["download"],
                format!("/v1/cases/{}/attachments/{id}", receipt.case_id)
            );
        }
        // Attachment keys and the raw content encoding are never returned.
        let shown = server
            .get(&format!("/v1/cases/{}", receipt.case_id), &net.moderator)
            .body
            .to_string();
        for r in &refs {
            assert!(!shown.contains(&b64(r.key.expose_secret())), "{backend}");
        }
        assert!(!shown.contains(&b64(opened.plaintext())), "{backend}");

        // Downloads: exactly the committed bytes, the committed media type, safe headers.
        let path = |i: usize| atts[i]["download"].as_str().unwrap().to_owned();
        let dl = server.get_raw(&path(0), &net.moderator, &[]);
        assert_eq!(dl.status, 200, "{backend}");
        assert!(dl.body == photo, "{backend}: JPEG differs");
        assert_eq!(dl.header("content-type"), "image/jpeg");
        assert_eq!(dl.header("content-length"), photo.len().to_string());
        // A JPEG declared as one is the only kind of file shown inline.
        assert_eq!(
            dl.header("content-disposition"),
            "inline; filename=\"attachment-0.jpg\""
        );
        assert_safe_headers(&dl, "jpeg");
        let dl = server.get_raw(&path(1), &net.moderator, &[]);
        assert_eq!(dl.status, 200);
        assert!(dl.body == doc, "{backend}: PDF differs");
        assert_eq!(dl.header("content-type"), "application/pdf");
        assert_eq!(
            dl.header("content-disposition"),
            "attachment; filename=\"attachment-1.pdf\""
        );
        assert_safe_headers(&dl, "pdf");

        // Ranges: inside one chunk, across the chunk boundary, a suffix, and past the end.
        let (a, b) = (262_000, 262_300);
        let r = server.get_raw(
            &path(0),
            &net.moderator,
            &[("range", &format!("bytes={a}-{b}"))],
        );
        assert_eq!(r.status, 206, "{backend}");
        assert_eq!(&r.body[..], &photo[a..=b]);
        assert_eq!(
            r.header("content-range"),
            format!("bytes {a}-{b}/{}", photo.len())
        );
        let r = server.get_raw(&path(1), &net.moderator, &[("range", "bytes=-7")]);
        assert_eq!((r.status, &r.body[..]), (206, &doc[doc.len() - 7..]));
        let r = server.get_raw(
            &path(1),
            &net.moderator,
            &[("range", &format!("bytes={}-", doc.len()))],
        );
        assert_eq!(r.status, 416);
        assert_eq!(r.header("content-range"), format!("bytes */{}", doc.len()));

        // Tenant isolation exactly like the case: another network's moderator gets 404, a
        // service token 403, an unknown attachment 404.
        assert_eq!(server.get_raw(&path(0), &other.moderator, &[]).status, 404);
        assert_eq!(server.get_raw(&path(0), &net.service, &[]).status, 403);
        let unknown = format!("/v1/cases/{}/attachments/att_nope", receipt.case_id);
        assert_eq!(server.get_raw(&unknown, &net.moderator, &[]).status, 404);
        // An admin sees every network.
        assert_eq!(server.get_raw(&path(1), &server.admin, &[]).status, 200);

        // Reporting again (with the blobs) is idempotent: nothing new stored.
        let again = submit(&server, &net, &report, &blobs).unwrap();
        assert!(again.duplicate, "{backend}");
        assert_eq!(server.count_rows("attachments"), 2);
        assert_eq!(server.count_rows("attachment_chunks"), 3);

        // Retention purges the attachments with the rest of the evidence.
        let resolve = format!("/v1/cases/{}/resolve", receipt.case_id);
        let r = server.post(
            &resolve,
            &net.moderator,
            json!({ "action": "remove_content" }),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let r = server.post("/v1/admin/retention/run", &server.admin, json!({}));
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(server.count_rows("attachment_chunks"), 0, "{backend}");
        let case = server.get(&format!("/v1/cases/{}", receipt.case_id), &net.moderator);
        assert!(case.body["evidence"][0]["content"].is_null());
        assert_eq!(server.get_raw(&path(0), &net.moderator, &[]).status, 404);
    }
}

/// The two-key AES-GCM ciphertext of the attacks crate: decrypts under two keys (as the
/// Facebook-style store would accept), but is no blob of ours.
fn gcm_salamander() -> Vec<u8> {
    let g1 = GcmKey::from_slice(&[1; 32]).unwrap();
    let g2 = GcmKey::from_slice(&[2; 32]).unwrap();
    let template = noise(64, 3);
    let forgery = collide_two(&g1, &g2, &[0; 12], b"", &template, 2).unwrap();
    let mut blob = forgery.ciphertext;
    blob.extend_from_slice(&forgery.tag);
    blob
}

#[test]
fn bad_blobs_refuse_the_whole_report_and_store_nothing() {
    for db in databases() {
        let server = TestServer::start(db);
        let backend = server.backend;
        let net = server.network(&unique("net"), None);
        let conv = conversation();
        let file = noise(5_000, 1);
        let (refs, blobs) = seal_files(&[("image/png", &file)]);
        let blob = blobs[0].clone();
        let opened = send(
            &server,
            &net,
            &conv,
            dm(&net, "alice", "bob", now_ms()),
            "see attached",
            refs,
            "bob",
        );
        let report = opened.report("bob", "abuse", &[]).unwrap();
        let record = 1024 + 32;

        let mut flipped = blob.clone();
        flipped[HEADER_LEN + 2 * record + 5] ^= 1;
        let cut_mid = blob[..blob.len() - 10].to_vec();
        let cut_at_segment = blob[..HEADER_LEN + 2 * record].to_vec();
        let mut extended = blob.clone();
        extended.push(0);
        let mut extended_segment = blob.clone();
        extended_segment.extend_from_slice(&blob[HEADER_LEN..HEADER_LEN + record]);
        // The same file sealed again (a new key), and another message's file.
        let (_, resealed) = seal_files(&[("image/png", &file)]);
        let (_, foreign) = seal_files(&[("image/png", &noise(5_000, 2))]);
        let cases: Vec<(&str, Vec<Vec<u8>>, u16, &str)> = vec![
            (
                "one flipped byte",
                vec![flipped],
                422,
                "attachment_tag_invalid",
            ),
            ("truncated", vec![cut_mid], 422, "attachment_truncated"),
            (
                "cut at a segment",
                vec![cut_at_segment],
                422,
                "attachment_truncated",
            ),
            (
                "extended by a byte",
                vec![extended],
                422,
                "attachment_tag_invalid",
            ),
            (
                "extended by a segment",
                vec![extended_segment],
                422,
                "attachment_tag_invalid",
            ),
            (
                "sealed under another key",
                resealed,
                422,
                "attachment_tag_invalid",
            ),
            (
                "another message's blob",
                foreign,
                422,
                "attachment_tag_invalid",
            ),
            ("empty blob", vec![Vec::new()], 422, "attachment_truncated"),
            (
                "two-key AES-GCM ciphertext",
                vec![gcm_salamander()],
                422,
                "attachment_header_invalid",
            ),
            ("missing blob", vec![], 422, "attachment_missing"),
            (
                "an extra blob",
                vec![blob.clone(), blob.clone()],
                422,
                "attachment_unexpected",
            ),
        ];
        for (what, blobs, status, code) in cases {
            assert_eq!(
                refused(submit(&server, &net, &report, &blobs)),
                (status, code.to_owned()),
                "{backend}: {what}"
            );
            for table in TABLES {
                assert_eq!(server.count_rows(table), 0, "{backend}: {what}: {table}");
            }
        }
        // Without the multipart upload the blob is missing too.
        let service = ServerClient::new(&server.url, &net.service).unwrap();
        assert_eq!(
            refused(service.submit_report("bob", None, &report)),
            (422, "attachment_missing".into()),
            "{backend}"
        );
        // Over the network's per-attachment and per-report limits (checked on the committed
        // lengths before any blob byte is read).
        set_policy(&server, &net, |p| p["max_attachment_bytes"] = json!(4_999));
        assert_eq!(
            refused(submit(&server, &net, &report, std::slice::from_ref(&blob))),
            (413, "attachment_over_limit".into())
        );
        set_policy(&server, &net, |p| {
            p["max_attachment_bytes"] = json!(10_000);
            p["max_report_attachment_bytes"] = json!(4_999);
        });
        assert_eq!(
            refused(submit(&server, &net, &report, std::slice::from_ref(&blob))),
            (413, "report_attachments_over_limit".into())
        );
        set_policy(&server, &net, |p| {
            p["max_report_attachment_bytes"] = json!(10_000)
        });
        // A message included twice is refused (422 duplicate_message).
        let mut twice = report.clone();
        twice.earlier = vec![report.message.clone()];
        assert_eq!(
            refused(submit(&server, &net, &twice, std::slice::from_ref(&blob))),
            (422, "duplicate_message".into()),
            "{backend}"
        );
        for table in TABLES {
            assert_eq!(server.count_rows(table), 0, "{backend}: {table}");
        }
        // The genuine blob is accepted.
        let receipt = submit(&server, &net, &report, &[blob]).unwrap();
        assert!(!receipt.duplicate);
        assert_eq!(server.count_rows("attachments"), 1, "{backend}");
        let msg = case_message(&server, &net, &receipt.case_id);
        let dl = server.get_raw(
            msg["attachments"][0]["download"].as_str().unwrap(),
            &net.moderator,
            &[],
        );
        assert!(dl.body == file, "{backend}");
    }
}

/// The Facebook scenario at the server: two messages whose references name one stored
/// ciphertext under two keys. With a committing attachment format one blob opens under one key
/// only: each case shows the file its own recipient saw, and a report whose reference names
/// someone else's blob under another key is refused (the recipient could not open it either).
#[test]
fn facebook_scenario_each_case_shows_what_its_recipient_saw() {
    for db in databases() {
        let server = TestServer::start(db);
        let backend = server.backend;
        let net = server.network(&unique("net"), None);
        let conv = conversation();
        let benign = b"a kitten picture".repeat(100);
        let abusive = b"ABUSIVE CONTENT!".repeat(100);
        let mut blob1 = Vec::new();
        let ref1 = seal_attachment("image/png", &benign[..], &mut blob1).unwrap();
        let mut blob2 = Vec::new();
        let ref2 = seal_attachment("image/png", &abusive[..], &mut blob2).unwrap();
        // A deduplicating store holds one blob per commitment.
        let store = std::collections::HashMap::from([
            (ref1.commitment, blob1.clone()),
            (ref2.commitment, blob2.clone()),
        ]);
        // The attacker's message names blob 1 (by its commitment) under another key.
        let forged_ref = AttachmentRef {
            key: AttachmentKey::generate().unwrap(),
            ..ref1.clone()
        };
        let t = now_ms();
        let m1 = send(
            &server,
            &net,
            &conv,
            dm(&net, "alice", "bob", t - 2),
            "first",
            vec![ref1.clone()],
            "bob",
        );
        let m2 = send(
            &server,
            &net,
            &conv,
            dm(&net, "alice", "carol", t - 1),
            "second",
            vec![ref2.clone()],
            "carol",
        );
        let m3 = send(
            &server,
            &net,
            &conv,
            dm(&net, "alice", "dave", t),
            "third",
            vec![forged_ref.clone()],
            "dave",
        );
        // Dave's client cannot open the blob his reference names: he is shown no file.
        let mut shown = Vec::new();
        assert!(
            open_attachment(
                &forged_ref,
                store[&forged_ref.commitment].as_slice(),
                &mut shown
            )
            .is_err()
        );

        let r1 = submit(
            &server,
            &net,
            &m1.report("bob", "x", &[]).unwrap(),
            &[store[&ref1.commitment].clone()],
        )
        .unwrap();
        let r2 = submit(
            &server,
            &net,
            &m2.report("carol", "x", &[]).unwrap(),
            &[store[&ref2.commitment].clone()],
        )
        .unwrap();
        // Dave's report with the stored blob is refused, with nothing of it stored.
        let before = server.count_rows("attachments");
        assert_eq!(
            refused(submit(
                &server,
                &net,
                &m3.report("dave", "x", &[]).unwrap(),
                &[store[&forged_ref.commitment].clone()]
            )),
            (422, "attachment_tag_invalid".into()),
            "{backend}"
        );
        assert_eq!(server.count_rows("attachments"), before);
        // Each case shows its own recipient's file, never the other's.
        for (receipt, file, other) in [(&r1, &benign, &abusive), (&r2, &abusive, &benign)] {
            let msg = case_message(&server, &net, &receipt.case_id);
            let dl = server.get_raw(
                msg["attachments"][0]["download"].as_str().unwrap(),
                &net.moderator,
                &[],
            );
            assert_eq!(dl.status, 200);
            assert!(&dl.body == file && &dl.body != other, "{backend}");
        }
    }
}

#[test]
fn html_and_svg_are_downloads_never_inline() {
    for db in databases() {
        let server = TestServer::start(db);
        let net = server.network(&unique("net"), None);
        let conv = conversation();
        let html = b"<!doctype html><html><script>alert(document.cookie)</script></html>".to_vec();
        let svg =
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>".to_vec();
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDRfiller".to_vec();
        let gif = b"GIF89a filler bytes".to_vec();
        let files: Vec<(&str, &[u8], &str)> = vec![
            (
                "text/html",
                &html,
                "attachment; filename=\"attachment-0.bin\"",
            ),
            (
                "image/svg+xml",
                &svg,
                "attachment; filename=\"attachment-1.bin\"",
            ),
            // Declared a PNG, but HTML by its bytes.
            (
                "image/png",
                &html,
                "attachment; filename=\"attachment-2.png\"",
            ),
            // A real PNG declared as one: inline.
            ("image/png", &png, "inline; filename=\"attachment-3.png\""),
            // A GIF declared as a PNG: not inline.
            (
                "image/png",
                &gif,
                "attachment; filename=\"attachment-4.png\"",
            ),
            (
                "text/javascript",
                b"alert(1)",
                "attachment; filename=\"attachment-5.bin\"",
            ),
        ];
        let (refs, blobs) = seal_files(&files.iter().map(|(t, b, _)| (*t, *b)).collect::<Vec<_>>());
        let opened = send(
            &server,
            &net,
            &conv,
            dm(&net, "alice", "bob", now_ms()),
            "",
            refs,
            "bob",
        );
        let receipt = submit(
            &server,
            &net,
            &opened.report("bob", "x", &[]).unwrap(),
            &blobs,
        )
        .unwrap();
        let msg = case_message(&server, &net, &receipt.case_id);
        assert_eq!(msg["text"], "");
        for (i, (media_type, bytes, disposition)) in files.iter().enumerate() {
            let dl = server.get_raw(
                msg["attachments"][i]["download"].as_str().unwrap(),
                &net.moderator,
                &[],
            );
            assert_eq!(dl.status, 200, "{media_type}");
            assert_eq!(dl.body, *bytes, "{media_type}");
            assert_eq!(dl.header("content-type"), *media_type);
            assert_eq!(
                dl.header("content-disposition"),
                *disposition,
                "{i}: {media_type}"
            );
            assert_safe_headers(&dl, media_type);
        }
    }
}

#[test]
fn earlier_messages_in_conversation_order_with_the_reporters_own_flagged() {
    for db in databases() {
        let server = TestServer::start(db);
        let backend = server.backend;
        let net = server.network(&unique("net"), None);
        let conv = conversation();
        let t = now_ms();
        // Bob's own message in the middle; alice's before and after it.
        let e1 = send(
            &server,
            &net,
            &conv,
            dm(&net, "alice", "bob", t - 3000),
            "first from alice",
            vec![],
            "bob",
        );
        let e2 = send(
            &server,
            &net,
            &conv,
            dm(&net, "bob", "alice", t - 2000),
            "bob's own threat",
            vec![],
            "alice",
        );
        let e3 = send(
            &server,
            &net,
            &conv,
            dm(&net, "alice", "bob", t - 1000),
            "second from alice",
            vec![],
            "bob",
        );
        let reported = send(
            &server,
            &net,
            &conv,
            dm(&net, "alice", "bob", t),
            "the reported one",
            vec![],
            "bob",
        );
        // Listed out of order.
        let report = reported
            .report("bob", "harassment", &[&e3, &e1, &e2])
            .unwrap();
        let receipt = submit(&server, &net, &report, &[]).unwrap();
        let case = server.get(&format!("/v1/cases/{}", receipt.case_id), &net.moderator);
        let content = &case.body["evidence"][0]["content"];
        assert_eq!(content["message"]["sent_by_reporter"], false);
        let earlier = content["earlier"].as_array().unwrap();
        let seen: Vec<(&str, &str, bool)> = earlier
            .iter()
            .map(|m| {
                (
                    m["text"].as_str().unwrap(),
                    m["context"]["sender"].as_str().unwrap(),
                    m["sent_by_reporter"].as_bool().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("first from alice", "alice", false),
                ("bob's own threat", "bob", true),
                ("second from alice", "alice", false),
            ],
            "{backend}"
        );
        let ts: Vec<u64> = earlier
            .iter()
            .map(|m| m["context"]["timestamp_ms"].as_u64().unwrap())
            .collect();
        assert_eq!(ts, [t - 3000, t - 2000, t - 1000]);
    }
}
