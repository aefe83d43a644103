//! Sealing and opening attachments on several cores.
//!
//! Segments are independent: segment `i` is sealed under the nonce `be64(i) ‖ f_i` with the header
//! as associated data, and nothing else links it to its neighbours. Only two things are ordered —
//! the whole-file commitment hashes the tags `T_0 ‖ T_1 ‖ …` in order, and the final flag `f_i`
//! needs to know which segment is last.
//!
//! So both directions run a pipeline. The caller's thread reads *jobs* — runs of consecutive
//! segments, about [`JOB_BYTES`] each — into a shared queue, and `threads - 1` worker threads
//! (scoped to the call) take the oldest job, encrypt or decrypt it in place and put it back. The
//! caller writes finished jobs in file order, hashing the tags as it goes; while the job it needs
//! next is not finished it takes queued jobs itself instead of sleeping, so `threads` threads do
//! crypto and input, output and crypto overlap without more threads than cores. The caller keeps
//! one job of look-ahead: a job is queued only once the input is known to go on after it, or known
//! to end with it (then its last segment is the final one). The first [`SOLO_BYTES`] go through
//! one segment per job on the caller's thread alone, with no worker started: for small files that
//! is the one-thread path's cost, and the workers start only once a file is large enough to repay
//! them.
//!
//! The blob is byte-for-byte the one-thread blob, every check runs exactly as on one thread, and
//! errors are reported for the first failing segment in file order (the same error as on one
//! thread); plaintext is still released only after its own tag verified. Opening keeps the final
//! record on the caller's thread, where the one-thread code checks it, its length and the
//! commitment.
//!
//! Memory: at most `2 × threads + 2` jobs of `max(JOB_BYTES, one segment)` each, allocated as the
//! input turns out to need them (a file under [`SOLO_BYTES`] costs three segments, as on one
//! thread about two); all of it is wiped on drop, since it holds plaintext.

use std::collections::{BTreeMap, VecDeque};
use std::io::{Read, Write};
use std::num::NonZeroUsize;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use zeroize::Zeroizing;

use super::{
    AttachmentRef, HEADER_LEN, OpenState, SEGMENT_TAG_LEN, open_attachment_one, open_segment,
    seal_segment,
};
use crate::Error;
use crate::caead::Aes256CtrBlake3;
use crate::util::read_full;

/// Bytes of input per job (fewer segments when they are large, at least one): enough that queueing
/// a job (a lock and, when a worker sleeps, a wake-up, a few µs) is about 1 % of the job's
/// ≈ 100 µs of crypto, small enough that a job stays in a core's cache and a hostile header's
/// 16 MiB segments cost one segment per job.
const JOB_BYTES: usize = 256 * 1024;
/// Input the caller's thread handles alone, one segment per job, before it starts the workers:
/// files up to 1 MiB are done on one thread with about the one-thread path's buffers, since
/// starting threads, moving data between cores and wiping more buffers would cost more than a
/// second core gains on so little (`docs/performance.md`).
const SOLO_BYTES: u64 = 1 << 20;
/// Jobs handed out per worker and not yet taken back: two, so a worker always has its next job
/// queued while the caller's thread reads and writes.
const IN_FLIGHT_PER_WORKER: usize = 2;

/// How many threads attachment sealing and opening use.
///
/// The output is the same whatever the choice; only speed and energy differ.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Parallelism {
    /// The caller's thread only: a phone on battery, a server that already runs one request per
    /// core.
    One,
    /// At most this many threads, the caller's included (it also reads and writes). The first
    /// 1 MiB is done on the caller's thread alone, since for so little starting threads costs
    /// more than they gain; see `docs/performance.md`.
    Threads(NonZeroUsize),
    /// As many threads as [`std::thread::available_parallelism`] reports (one if it cannot tell),
    /// as [`Parallelism::Threads`]: the default, so large files use every core and small ones
    /// stay on the caller's thread.
    #[default]
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
    let cipher = st.cipher.clone();
    let work = |job: &mut Job| {
        job.run(|_, index, record| open_segment(&cipher, &header, index, false, record));
    };
    // Every record but the blob's last is opened on a worker, as not final; the last one stays here
    // for `OpenState::finish`, which checks it, the length and the commitment as on one thread.
    let mut last = Zeroizing::new(Vec::new());
    let mut received: u64 = 0;
    run_pipeline(
        threads,
        st.record,
        st.record - SEGMENT_TAG_LEN,
        &mut reader,
        work,
        |job, ends| {
            if ends {
                let len = job.lens.pop().unwrap_or(0);
                let off = job.lens.len() * job.size;
                last.extend_from_slice(&job.buf[off..off + len]);
            }
            received = received.saturating_add(job.total_len());
        },
        |job| {
            for (i, result) in job.results.drain(..).enumerate() {
                let (ct_len, tag) = result?;
                st.account(ct_len, &tag, reference.length)?;
                let off = i * job.size;
                writer.write_all(&job.buf[off..off + ct_len])?;
                st.index = st.index.checked_add(1).ok_or(Error::AttachmentTooLarge)?;
            }
            Ok(())
        },
    )?;
    st.received = received.saturating_add(last.len() as u64);
    // The last record read (possibly empty, if the blob ends right after the header) is the final
    // one.
    st.buf.clear();
    st.buf.extend_from_slice(&last);
    let ct_len = st.finish(reference.length, &reference.commitment)?;
    writer.write_all(&st.buf[..ct_len])?;
    writer.flush()?;
    Ok(st.total)
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
    let work = |job: &mut Job| {
        let count = job.lens.len();
        let final_last = job.final_last;
        job.run(|i, index, segment| {
            let tag = seal_segment(cipher, header, index, final_last && i + 1 == count, segment)?;
            Ok((segment.len(), tag))
        });
    };
    let mut total: u64 = 0;
    run_pipeline(
        threads,
        seg,
        seg,
        reader,
        work,
        // An empty input is one empty final segment.
        |job, _| {
            if job.first == 0 && job.lens.is_empty() {
                job.lens.push(0);
            }
        },
        |job: &mut Job| {
            for (i, result) in job.results.drain(..).enumerate() {
                let (len, tag) = result?;
                let off = i * job.size;
                writer.write_all(&job.buf[off..off + len])?;
                writer.write_all(&tag)?;
                commit.update(&tag);
                total = total
                    .checked_add(len as u64)
                    .ok_or(Error::AttachmentTooLarge)?;
            }
            Ok(())
        },
    )?;
    Ok(total)
}

/// What a worker computed for one segment: its length after the operation and its tag.
type SegmentResult = Result<(usize, [u8; SEGMENT_TAG_LEN]), Error>;

/// A run of consecutive segments (records when opening), read into one buffer at multiples of
/// `size`, and what the worker made of each.
struct Job {
    /// Index of the first segment.
    first: u64,
    /// Segment `i` is `buf[i * size..][..lens[i]]`. Wiped on drop: it holds plaintext.
    buf: Zeroizing<Vec<u8>>,
    lens: Vec<usize>,
    size: usize,
    /// Whether the last segment is the stream's final one.
    final_last: bool,
    results: Vec<SegmentResult>,
}

impl Job {
    fn new(size: usize) -> Self {
        Self {
            first: 0,
            buf: Zeroizing::new(Vec::new()),
            lens: Vec::new(),
            size,
            final_last: false,
            results: Vec::new(),
        }
    }

    /// Segments a job holds at most.
    fn slots(size: usize) -> usize {
        (JOB_BYTES / size.max(1)).max(1)
    }

    /// Read segments from `first` on until the job is full or the input ends; returns whether it
    /// ended (then the job may be empty, or end with a short segment).
    fn fill<R: Read>(&mut self, reader: &mut R, first: u64, slots: usize) -> Result<bool, Error> {
        self.first = first;
        self.final_last = false;
        self.lens.clear();
        self.results.clear();
        for slot in 0..slots {
            let off = slot * self.size;
            if self.buf.len() < off + self.size {
                self.buf.resize(off + self.size, 0);
            }
            let n = read_full(reader, &mut self.buf[off..off + self.size])?;
            if n == 0 {
                return Ok(true);
            }
            self.lens.push(n);
            if n < self.size {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Input bytes the job holds.
    fn total_len(&self) -> u64 {
        self.lens.iter().map(|&l| l as u64).sum()
    }

    /// Apply `f(position in the job, segment index, segment)` to each segment in order, keeping
    /// the results.
    fn run(&mut self, f: impl Fn(usize, u64, &mut [u8]) -> SegmentResult) {
        let (first, size) = (self.first, self.size);
        self.results = self
            .lens
            .iter()
            .enumerate()
            .map(|(i, &len)| {
                let index = first
                    .checked_add(i as u64)
                    .ok_or(Error::AttachmentTooLarge)?;
                f(i, index, &mut self.buf[i * size..i * size + len])
            })
            .collect();
    }
}

/// The jobs between the caller's thread and the workers.
#[derive(Default)]
struct Queue {
    /// Jobs read and not yet taken by anyone, oldest first, with their sequence numbers.
    todo: VecDeque<(usize, Job)>,
    /// Finished jobs not yet written, by sequence number.
    done: BTreeMap<usize, Job>,
    /// No more jobs will come (the caller finished or failed): workers exit.
    closed: bool,
    /// A worker panicked: the caller stops waiting (the scope re-raises the panic).
    worker_died: bool,
}

/// [`Queue`] under its lock, with one condition variable for each side's wake-ups.
#[derive(Default)]
struct Shared {
    queue: Mutex<Queue>,
    /// Signalled when a job arrives or the queue closes.
    work_ready: Condvar,
    /// Signalled when a job is done or a worker dies.
    job_done: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // Nothing panics while holding the lock, so it is never poisoned; be safe anyway.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A worker's loop: take the oldest job, do it, put it back, until the queue closes.
    fn serve(&self, work: &(impl Fn(&mut Job) + Sync)) {
        let guard = WorkerGuard(self);
        let mut q = self.lock();
        loop {
            if let Some((seq, mut job)) = q.todo.pop_front() {
                drop(q);
                work(&mut job);
                q = self.lock();
                q.done.insert(seq, job);
                self.job_done.notify_one();
            } else if q.closed {
                break;
            } else {
                q = self
                    .work_ready
                    .wait(q)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        }
        drop(q);
        core::mem::forget(guard);
    }
}

/// Marks the queue when a worker unwinds, so that the caller does not wait for it forever.
struct WorkerGuard<'a>(&'a Shared);

impl Drop for WorkerGuard<'_> {
    fn drop(&mut self) {
        self.0.lock().worker_died = true;
        self.0.job_done.notify_all();
    }
}

/// Run the pipeline: read jobs of `size`-byte segments (`plain` bytes of plaintext each) from
/// `reader`, let `before_send(job, ends)`
/// look at each job before it is queued (`ends`: the stream ends with it, so it holds the final
/// segment or nothing), have `threads` threads — `threads - 1` workers and the caller's, which also
/// reads and writes — apply `work`, and give the finished jobs to `emit` in file order. Stops at
/// the first error `emit` returns.
fn run_pipeline<R: Read>(
    threads: usize,
    size: usize,
    plain: usize,
    reader: &mut R,
    work: impl Fn(&mut Job) + Sync,
    mut before_send: impl FnMut(&mut Job, bool),
    mut emit: impl FnMut(&mut Job) -> Result<(), Error>,
) -> Result<(), Error> {
    let shared = Shared::default();
    let mut pipeline = Pipeline {
        shared: &shared,
        work: &work,
        free: Vec::new(),
        sent: 0,
        taken: 0,
        // Alone, the caller's thread does each job before it reads the one after next.
        limit: 1,
        in_flight_with_workers: IN_FLIGHT_PER_WORKER * threads.max(1),
        solo_segments: SOLO_BYTES / plain.max(1) as u64,
        size,
    };
    std::thread::scope(|scope| {
        let mut spawn = || {
            for _ in 1..threads {
                scope.spawn(|| shared.serve(&work));
            }
        };
        let result = pipeline.drive(reader, &mut spawn, &mut before_send, &mut emit);
        // Whatever happened, let the workers go; the scope joins them.
        shared.lock().closed = true;
        shared.work_ready.notify_all();
        result
    })
}

/// The caller's side of [`run_pipeline`].
struct Pipeline<'a, F> {
    shared: &'a Shared,
    work: &'a F,
    /// Finished jobs whose buffers can be refilled.
    free: Vec<Job>,
    /// Jobs queued so far (the next sequence number).
    sent: usize,
    /// Jobs emitted so far (the sequence number emitted next).
    taken: usize,
    /// Jobs queued and not yet emitted at most.
    limit: usize,
    /// The limit once the workers run.
    in_flight_with_workers: usize,
    /// Segments done alone before the workers start ([`SOLO_BYTES`] of plaintext).
    solo_segments: u64,
    size: usize,
}

impl<F: Fn(&mut Job) + Sync> Pipeline<'_, F> {
    /// Read, queue and emit every job in order; `spawn` starts the workers once the input has
    /// proven long enough for them to pay off.
    fn drive<R: Read>(
        &mut self,
        reader: &mut R,
        spawn: &mut impl FnMut(),
        before_send: &mut impl FnMut(&mut Job, bool),
        emit: &mut impl FnMut(&mut Job) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let mut slots = 1;
        let mut held = self.take_free();
        let mut ended = held.fill(reader, 0, slots)?;
        let mut next_index: u64 = held.lens.len() as u64;
        while !ended {
            if slots == 1 && next_index > self.solo_segments {
                spawn();
                self.limit = self.in_flight_with_workers;
                slots = Job::slots(self.size);
            }
            // `held` is full: it is not the last job unless the input ends right after it.
            let mut next = self.take_free();
            ended = next.fill(reader, next_index, slots)?;
            next_index = next_index
                .checked_add(next.lens.len() as u64)
                .ok_or(Error::AttachmentTooLarge)?;
            if ended && next.lens.is_empty() {
                self.free.push(next);
                break;
            }
            before_send(&mut held, false);
            self.send(held, emit)?;
            held = next;
        }
        held.final_last = true;
        before_send(&mut held, true);
        self.send(held, emit)?;
        while self.taken < self.sent {
            self.take_back(emit)?;
        }
        Ok(())
    }

    fn take_free(&mut self) -> Job {
        self.free.pop().unwrap_or_else(|| Job::new(self.size))
    }

    /// Queue `job`, first emitting finished jobs while too many are out.
    fn send(
        &mut self,
        job: Job,
        emit: &mut impl FnMut(&mut Job) -> Result<(), Error>,
    ) -> Result<(), Error> {
        while self.sent - self.taken >= self.limit {
            self.take_back(emit)?;
        }
        self.shared.lock().todo.push_back((self.sent, job));
        self.shared.work_ready.notify_one();
        self.sent += 1;
        Ok(())
    }

    /// Wait for the oldest job (file order) and emit it. While it is not done, the caller's thread
    /// does queued jobs itself instead of sleeping.
    fn take_back(
        &mut self,
        emit: &mut impl FnMut(&mut Job) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let seq = self.taken;
        let mut q = self.shared.lock();
        let mut job = loop {
            if let Some(job) = q.done.remove(&seq) {
                break job;
            }
            if q.worker_died {
                return Err(worker_gone());
            }
            if let Some((s, mut job)) = q.todo.pop_front() {
                drop(q);
                (self.work)(&mut job);
                q = self.shared.lock();
                q.done.insert(s, job);
            } else {
                q = self
                    .shared
                    .job_done
                    .wait(q)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        };
        drop(q);
        emit(&mut job)?;
        self.taken += 1;
        self.free.push(job);
        Ok(())
    }
}

/// A worker thread panicked (the scope re-raises the panic when it joins it, so this error is
/// never seen by a caller).
fn worker_gone() -> Error {
    std::io::Error::other("attachment worker thread ended").into()
}
