//! Sealing and opening on several threads keeps memory at O(threads × segment): a 256 MiB file
//! through four threads raises the process's peak resident memory by a few MiB, never by the
//! file's size. (Alone in its test binary so no other test moves the peak.)
#![allow(clippy::unwrap_used, missing_docs)]

use std::io::{BufReader, BufWriter, Read};
use std::num::NonZeroUsize;

use franking_core::frank::attachment::{AttachmentSealer, Parallelism, open_attachment_with};

const FILE: u64 = 256 << 20;

/// A reader producing `len` bytes of a pattern without holding them.
struct Pattern {
    left: u64,
}

impl Read for Pattern {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = (buf.len() as u64).min(self.left) as usize;
        for (i, b) in buf[..n].iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(13);
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// Peak resident set size of this process, in KiB (Linux `VmHWM`).
fn peak_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn a_256_mib_file_on_four_threads_in_bounded_memory() {
    let Some(before) = peak_kib() else {
        eprintln!("no /proc/self/status here; skipping the memory bound");
        return;
    };
    let four = Parallelism::Threads(NonZeroUsize::new(4).unwrap());
    let path = std::env::temp_dir().join(format!("franking-par-mem-{}", std::process::id()));
    let blob = BufWriter::new(std::fs::File::create(&path).unwrap());
    let r = AttachmentSealer::default()
        .with_parallelism(four)
        .seal("application/octet-stream", Pattern { left: FILE }, blob)
        .unwrap();
    let blob = BufReader::new(std::fs::File::open(&path).unwrap());
    let n = open_attachment_with(&r, blob, std::io::sink(), four).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(n, FILE);
    let grew = peak_kib().unwrap().saturating_sub(before);
    // 4 threads × 16 segments × 64 KiB, plus look-ahead and buffers: about 4–5 MiB.
    assert!(grew < 16 * 1024, "peak RSS grew by {grew} KiB");
}
