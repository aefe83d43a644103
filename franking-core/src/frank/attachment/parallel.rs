//! Sealing and opening attachments on several cores.
//!
//! Segments are independent: segment `i` is sealed under the nonce `be64(i) ‖ f_i` with the header
//! as associated data, and nothing else links it to its neighbours. Only two things are ordered —
//! the whole-file commitment hashes the tags `T_0 ‖ T_1 ‖ …` in order, and the final flag `f_i`
//! needs to know which segment is last. So both directions read a batch of segments (keeping one
//! segment of look-ahead to decide which is final), encrypt or decrypt the batch on `threads`
//! scoped threads, and then write the output and hash the tags on the caller's thread, in order.
//! The blob is byte-for-byte the one-thread blob, every check runs exactly as on one thread, and
//! errors are reported for the first failing segment in file order (the same error as on one
//! thread); plaintext is still released only after its own tag verified.
//!
//! Memory: at most `threads × max(1 MiB, one segment) + one segment` of buffers, allocated as the
//! input turns out to need them (a small file costs one or two segments, as on one thread).

use std::io::{Read, Write};
use std::num::NonZeroUsize;

use zeroize::Zeroizing;

use super::{
    AttachmentRef, HEADER_LEN, OpenState, open_attachment_one, open_segment, seal_segment,
};
use crate::Error;
use crate::caead::Aes256CtrBlake3;
use crate::util::read_full;

/// Segments each thread takes per batch: large enough that thread start-up (tens of µs) is a few
/// per cent of a batch (16 × 64 KiB ≈ 0.4 ms of work), small enough to keep memory bounded.
const SEGMENTS_PER_THREAD: usize = 16;
/// Bytes each thread takes per batch at most (fewer segments when they are large, at least one):
/// a hostile header's 16 MiB segments must not make opening allocate 16 × 16 MiB per thread.
const BATCH_BYTES_PER_THREAD: usize = 1 << 20;

/// How many threads attachment sealing and opening use.
///
/// The output is the same whatever the choice; only speed and energy differ.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Parallelism {
    /// The caller's thread only (the default: a phone on battery, a server that already runs one
    /// request per core, and every small file — below a few MiB, setting up a batch costs more
    /// than a second core gains; see `docs/performance.md`).
    #[default]
    One,
    /// At most this many threads (the caller's included).
    Threads(NonZeroUsize),
    /// As many threads as [`std::thread::available_parallelism`] reports (one if it cannot tell):
    /// for large files.
    Available,
}

impl Parallelism {
    /// The number of threads this stands for (at least one).
    pub fn threads(self) -> usize {
        match self {
            Parallelism::One => 1,
            Parallelism::Threads(n) => n.get(),
            Parallelism::Available => std::thread::available_parallelism().map_or(1, usize::from),
        }
    }
}

/// Open a blob like [`super::open_attachment`] with a chosen [`Parallelism`]. The plaintext and the
/// errors are the same for every thread count. Before an error, a prefix of verified segments may
/// have been written (how long depends on buffering): **on `Err`, discard everything written to
/// `writer`**.
pub fn open_attachment_with<R: Read, W: Write>(
    reference: &AttachmentRef,
    mut reader: R,
    mut writer: W,
    parallelism: Parallelism,
) -> Result<u64, Error> {
    let threads = parallelism.threads();
    if threads == 1 {
        return open_attachment_one(reference, reader, writer);
    }
    let mut header = [0u8; HEADER_LEN];
    if read_full(&mut reader, &mut header)? < HEADER_LEN {
        // The push-style opener's answer for a blob that ends inside its header.
        return Err(Error::AttachmentTruncated);
    }
    let mut st = OpenState::new(&reference.key, header)?;
    let mut batch = Batch::new(threads, st.record);
    loop {
        let (count, eof) = batch.fill(&mut reader)?;
        st.received = st.received.saturating_add(batch.bytes(count, eof));
        // Every record with another record after it is not the final one.
        let opened = {
            let (cipher, header, first) = (&st.cipher, &st.header, st.index);
            batch.run(count, threads, |i, record| {
                open_segment(cipher, header, index_of(first, i)?, false, record)
            })
        };
        for (i, result) in opened.into_iter().enumerate() {
            let (ct_len, tag) = result?;
            st.account(ct_len, &tag, reference.length)?;
            writer.write_all(&batch.bufs[i][..ct_len])?;
            st.index = st.index.checked_add(1).ok_or(Error::AttachmentTooLarge)?;
        }
        if eof {
            // The last record read (possibly empty, if the blob ends after a full record or
            // right after the header) is the final one.
            let last = batch.have - 1;
            st.buf.clear();
            st.buf
                .extend_from_slice(&batch.bufs[last][..batch.lens[last]]);
            let ct_len = st.finish(reference.length, &reference.commitment)?;
            writer.write_all(&st.buf[..ct_len])?;
            writer.flush()?;
            return Ok(st.total);
        }
        batch.keep_last();
    }
}

/// Seal every segment `reader` yields on `threads` threads; same output as the one-thread
/// `super::seal_segments`. Returns the plaintext length.
pub(super) fn seal_segments<R: Read, W: Write>(
    cipher: &Aes256CtrBlake3,
    header: &[u8; HEADER_LEN],
    seg: usize,
    threads: usize,
    reader: &mut R,
    writer: &mut W,
    commit: &mut blake3::Hasher,
) -> Result<u64, Error> {
    let mut batch = Batch::new(threads, seg);
    let mut index: u64 = 0;
    let mut total: u64 = 0;
    loop {
        let (count, eof) = batch.fill(reader)?;
        // At the end of the input the last segment read is sealed too, as the final one (an
        // empty input is one empty final segment).
        let sealed_count = if eof { batch.have } else { count };
        let tags = batch.run(sealed_count, threads, |i, segment| {
            let is_final = eof && i + 1 == sealed_count;
            seal_segment(cipher, header, index_of(index, i)?, is_final, segment)
        });
        for (i, tag) in tags.into_iter().enumerate() {
            let tag = tag?;
            let len = batch.lens[i];
            writer.write_all(&batch.bufs[i][..len])?;
            writer.write_all(&tag)?;
            commit.update(&tag);
            total = total
                .checked_add(len as u64)
                .ok_or(Error::AttachmentTooLarge)?;
        }
        if eof {
            return Ok(total);
        }
        index = index_of(index, count)?;
        batch.keep_last();
    }
}

/// `first + i` as a segment index, refusing overflow.
fn index_of(first: u64, i: usize) -> Result<u64, Error> {
    first.checked_add(i as u64).ok_or(Error::AttachmentTooLarge)
}

/// A batch of fixed-size buffers (segments when sealing, records when opening) with one buffer of
/// look-ahead.
struct Batch {
    /// Buffers allocated so far (wiped on drop: they hold plaintext).
    bufs: Vec<Zeroizing<Vec<u8>>>,
    lens: Vec<usize>,
    /// Buffers holding data: `bufs[..have]`.
    have: usize,
    /// Most buffers a batch uses, look-ahead included.
    cap: usize,
    size: usize,
}

impl Batch {
    fn new(threads: usize, size: usize) -> Self {
        let per_thread = (BATCH_BYTES_PER_THREAD / size.max(1)).clamp(1, SEGMENTS_PER_THREAD);
        Self {
            bufs: Vec::new(),
            lens: Vec::new(),
            have: 0,
            cap: threads * per_thread + 1,
            size,
        }
    }

    /// Read until every buffer is full or the input ends. Returns how many leading buffers are
    /// certainly not the last (another non-empty buffer follows them), and whether the input
    /// ended; at the end, `bufs[have - 1]` is the last piece (possibly short or empty).
    fn fill<R: Read>(&mut self, reader: &mut R) -> Result<(usize, bool), Error> {
        while self.have < self.cap {
            if self.have > 0 && self.lens[self.have - 1] < self.size {
                return Ok((self.have - 1, true));
            }
            if self.have == self.bufs.len() {
                self.bufs.push(Zeroizing::new(vec![0u8; self.size]));
                self.lens.push(0);
            }
            let n = read_full(reader, &mut self.bufs[self.have])?;
            if n == 0 && self.have > 0 {
                return Ok((self.have - 1, true));
            }
            self.lens[self.have] = n;
            self.have += 1;
        }
        Ok((self.have - 1, false))
    }

    /// Bytes held in the buffers consumed by this round (`count`, plus the last one at the end).
    fn bytes(&self, count: usize, eof: bool) -> u64 {
        let n = if eof { self.have } else { count };
        self.lens[..n].iter().map(|&l| l as u64).sum()
    }

    /// Apply `f(i, &mut bufs[i][..lens[i]])` for `i < count` on up to `threads` threads (the
    /// caller's included); results in order.
    fn run<T: Send>(
        &mut self,
        count: usize,
        threads: usize,
        f: impl Fn(usize, &mut [u8]) -> T + Sync,
    ) -> Vec<T> {
        let mut jobs: Vec<(usize, &mut [u8])> = self.bufs[..count]
            .iter_mut()
            .zip(&self.lens)
            .enumerate()
            .map(|(i, (b, &len))| (i, &mut b[..len]))
            .collect();
        let per_thread = count.div_ceil(threads.max(1)).max(1);
        let f = &f;
        let work = |chunk: &mut [(usize, &mut [u8])]| -> Vec<T> {
            chunk.iter_mut().map(|(i, b)| f(*i, b)).collect()
        };
        let mut chunks = jobs.chunks_mut(per_thread);
        let Some(mine) = chunks.next() else {
            return Vec::new();
        };
        std::thread::scope(|scope| {
            let others: Vec<_> = chunks.map(|c| scope.spawn(move || work(c))).collect();
            let mut out = work(mine);
            for h in others {
                out.extend(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
            }
            out
        })
    }

    /// Move the look-ahead buffer (the last one read) to the front for the next round.
    fn keep_last(&mut self) {
        let last = self.have - 1;
        self.bufs.swap(0, last);
        self.lens[0] = self.lens[last];
        self.have = 1;
    }
}
