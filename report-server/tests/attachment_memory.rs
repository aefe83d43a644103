//! A 200 MiB attachment through the `report-server` binary (a child process, SQLite): uploaded
//! with its report as a streamed multipart body, verified and stored, then downloaded and compared
//! byte for byte — with the server's peak resident memory (`VmHWM` in `/proc/<pid>/status`) far
//! below the file's size. The file comes from a deterministic generator, never from memory.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::io::{BufRead as _, BufReader, BufWriter, Read, Write};
use std::net::{SocketAddr, TcpStream};

use axum::http::{Method, StatusCode};
use common::process::{Outcome, ServerProcess, data_dir, request};
use franking_core::frank::attachment::{
    AttachmentKey, AttachmentSealer, DEFAULT_SEGMENT_SIZE, blob_len,
};
use franking_core::frank::content::MessageContent;
use serde_json::{Value, json};

const LEN: u64 = 200 * 1024 * 1024;
/// The bound asserted on the server's peak resident set.
const MAX_RSS_KIB: u64 = 150 * 1024;
const TABLE_LEN: usize = 1 << 20;

/// The file: each MiB is one fixed pseudo-random MiB rotated by the block number.
struct Generator {
    table: Vec<u8>,
    pos: u64,
    len: u64,
}

impl Generator {
    fn new(len: u64) -> Self {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let table = (0..TABLE_LEN)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 32) as u8
            })
            .collect();
        Self { table, pos: 0, len }
    }
}

impl Read for Generator {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self.len - self.pos;
        let block = self.pos / TABLE_LEN as u64;
        let within = (self.pos % TABLE_LEN as u64) as usize;
        let start = (within + block as usize * 7919) % TABLE_LEN;
        let n = buf
            .len()
            .min(left as usize)
            .min(TABLE_LEN - within)
            .min(TABLE_LEN - start);
        buf[..n].copy_from_slice(&self.table[start..start + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

fn json_call(
    addr: SocketAddr,
    method: Method,
    path: &str,
    token: &str,
    body: Option<&Value>,
) -> Value {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    match rt.block_on(request(
        addr,
        method,
        path,
        Some(token),
        body,
        std::time::Duration::from_secs(60),
    )) {
        Outcome::Answered(s, b) => {
            assert!(s.is_success(), "{path}: {s} {b}");
            b
        }
        other => panic!("{path}: {other:?}"),
    }
}

/// Peak and current resident set of `pid`, in KiB.
fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// Read an HTTP/1.1 answer's status line and headers; the reader is left at the body.
fn read_head(r: &mut BufReader<TcpStream>) -> (u16, Vec<String>) {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        let line = line.trim_end().to_owned();
        if line.is_empty() {
            break;
        }
        lines.push(line);
    }
    let status = lines[0].split(' ').nth(1).unwrap().parse().unwrap();
    (status, lines)
}

#[test]
fn a_200_mib_attachment_with_bounded_server_memory() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = data_dir("attachment-memory");
    let server = rt.block_on(ServerProcess::start(&dir, &[]));
    let addr = server.addr;
    let (admin, relay, service, moderator) = (
        server.token("admin token:"),
        server.token("relay token:"),
        server.token("service token:"),
        server.token("moderator token:"),
    );
    let path = "/v1/admin/networks/dev/policy";
    let mut policy = json_call(addr, Method::GET, path, &admin, None);
    policy["max_attachment_bytes"] = json!(256 * 1024 * 1024);
    policy["max_report_attachment_bytes"] = json!(256 * 1024 * 1024);
    json_call(addr, Method::PUT, path, &admin, Some(&policy));

    // The sender seals the file (to learn its commitment), the relay stamps the message.
    let key = AttachmentKey::generate().unwrap();
    let sealer = AttachmentSealer::default();
    let reference = sealer
        .seal_with_key(
            key.clone(),
            "application/octet-stream",
            Generator::new(LEN),
            std::io::sink(),
        )
        .unwrap();
    let content = MessageContent {
        text: "a big file".into(),
        attachments: vec![reference],
    };
    let plaintext = content.encode().unwrap();
    let t = common::Transport::Http(addr);
    let ctx = common::dm("dev", "alice", "bob", "big-1");
    let message = rt.block_on(common::franked(&t, &relay, ctx, &plaintext));
    let submission = common::submission("bob", common::report_json(message, "bob", vec![]));

    // Upload: the report part, then the blob sealed again on the fly straight into the socket.
    let boundary = "franking-memory-test-boundary";
    let mut head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"report\"\r\n\r\n{submission}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"0\"\r\n\r\n"
    )
    .into_bytes();
    let tail = format!("\r\n--{boundary}--\r\n").into_bytes();
    let body_len =
        head.len() as u64 + blob_len(LEN, DEFAULT_SEGMENT_SIZE).unwrap() + tail.len() as u64;
    let mut request = format!(
        "POST /v1/reports HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {service}\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {body_len}\r\n\
         Connection: close\r\n\r\n"
    )
    .into_bytes();
    request.append(&mut head);
    let stream = TcpStream::connect(addr).unwrap();
    let mut w = BufWriter::with_capacity(256 * 1024, stream.try_clone().unwrap());
    w.write_all(&request).unwrap();
    sealer
        .seal_with_key(key, "application/octet-stream", Generator::new(LEN), &mut w)
        .unwrap();
    w.write_all(&tail).unwrap();
    w.flush().unwrap();
    let mut r = BufReader::new(stream);
    let (status, _) = read_head(&mut r);
    let mut answer = String::new();
    r.read_to_string(&mut answer).unwrap();
    assert_eq!(status, StatusCode::CREATED.as_u16(), "{answer}");
    let receipt: Value = serde_json::from_str(&answer).unwrap();
    let case_id = receipt["case_id"].as_str().unwrap();

    // The moderator downloads it: the same 200 MiB, compared as it streams in.
    let case = json_call(
        addr,
        Method::GET,
        &format!("/v1/cases/{case_id}"),
        &moderator,
        None,
    );
    let att = &case["evidence"][0]["content"]["message"]["attachments"][0];
    assert_eq!(att["status"], "verified");
    assert_eq!(att["length"], LEN);
    let download = att["download"].as_str().unwrap();
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {download} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {moderator}\r\n\
         Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut r = BufReader::with_capacity(1 << 20, stream);
    let (status, headers) = read_head(&mut r);
    assert_eq!(status, 200, "{headers:?}");
    assert!(
        headers
            .iter()
            .any(|h| h.eq_ignore_ascii_case(&format!("content-length: {LEN}"))),
        "{headers:?}"
    );
    let mut expected = Generator::new(LEN);
    let (mut got, mut want) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    let mut total = 0u64;
    loop {
        let n = r.read(&mut got).unwrap();
        if n == 0 {
            break;
        }
        expected.read_exact(&mut want[..n]).unwrap();
        assert!(got[..n] == want[..n], "download differs near byte {total}");
        total += n as u64;
    }
    assert_eq!(total, LEN);

    let (peak, now) = rss_kib(server.pid());
    eprintln!("report-server peak RSS {peak} KiB, now {now} KiB, after 200 MiB up and down");
    assert!(
        peak < MAX_RSS_KIB,
        "peak RSS {peak} KiB >= {MAX_RSS_KIB} KiB"
    );
}
