//! The state machine behind [`File`](super::File): one operation in flight at a time, and one
//! buffer that holds either read-ahead data or writes not yet handed to the OS.
//!
//! ```text
//! State::Idle(Buf) --start(job)--> State::Busy(JoinHandle<(Op, Buf)>) --poll_complete--> Idle
//!        |  a full sequential read of a seekable file came back
//!        +--maybe_prefetch--> State::Prefetch { front: Buf, job }   (reads serve `front`;
//!              front used up: the job's buffer becomes the front;   the job reads what
//!              any other operation: the two buffers merge into one)  follows it)
//!
//! Buf::mode   Empty                  OS position == logical position
//!             Read { end_pos, eof }  bytes[start..end] read ahead: OS position is that far ahead
//!             Write { rewind }       bytes[..end] accepted, not yet written; before writing them,
//!                                    seek back over `rewind` bytes of discarded read-ahead
//! ```
//!
//! A job (`buf.rs`) owns the buffer while it runs on the blocking-I/O lane and hands it back
//! with its result ([`Op`]), so the buffer is never shared. A read fetches at least `buf_size`
//! bytes (128 KiB by default) per trip, doubling (up to 512 KiB) while reads stay sequential
//! and come back full; then the next chunk is read in the background while the caller consumes
//! this one (still one operation in flight: the prefetch). Writes accumulate until `buf_size`
//! is reached (then they leave at once, write-behind) or until a flush, a seek, a read, a
//! `&self` method that needs the data on disk, or the drop of the `File`. A job that carries
//! writes is *mandatory*: it runs even if the runtime shuts down meanwhile. Every transition is
//! a match on `State` and `Mode` that returns what happened; the poll functions are loops over
//! those transitions.

use super::buf::{Buf, Job, Mode, Op};
use crate::blocking::unblock_mandatory;
use crate::loom::sync::StdArc;
use crate::runtime::Handle;
use crate::task::JoinHandle;
use std::future::Future;
use std::io::{self, SeekFrom};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

/// Read-ahead per trip and write buffer capacity, unless `File::set_buffer_size` says otherwise.
pub(super) const DEFAULT_BUF_SIZE: usize = 128 * 1024;
/// The most one trip moves for a large `read`/`write` call (more if `buf_size` is larger).
const MAX_TRIP: usize = 2 * 1024 * 1024;
/// How far the read-ahead grows while reading sequentially (more if `buf_size` is larger).
/// With the prefetch, a sequential reader holds two buffers of this size.
const MAX_READ_AHEAD: usize = 512 * 1024;
/// What `poll_fill_buf` asks for when the buffer size is 0.
const MIN_FILL: usize = 8 * 1024;

pub(super) type SharedFile = StdArc<std::fs::File>;

pub(super) enum State {
    Idle(Buf),
    Busy(JoinHandle<(Op, Buf)>),
    /// Reading sequentially: `front` (read ahead, being served) and a read `job` of the bytes
    /// that follow it, into another buffer. The OS position is at the end of what `job` reads.
    Prefetch {
        front: Buf,
        job: JoinHandle<(Op, Buf)>,
    },
}

/// What `poll_complete` found.
enum Finished {
    /// Nothing was in flight.
    Idle,
    Op(Op),
    /// The job was cancelled (runtime shutdown); its buffer is gone.
    Lost(io::Error),
    /// A prefetch finished and its bytes joined the front buffer (or it failed and left the
    /// front buffer as it was: the OS position did not move, the next read meets the error).
    Merged,
}

pub(super) struct Inner {
    pub(super) state: State,
    /// A failed write-behind noticed by a read: reported by the next write, flush or seek.
    last_write_err: Option<io::Error>,
    buf_size: usize,
    /// The next read-ahead: `buf_size`, doubled after each full sequential read.
    read_ahead: usize,
    /// What the read in flight asked for.
    read_want: usize,
    /// The buffer a prefetch reads into (the front buffer's predecessor, kept to be reused).
    spare: Buf,
}

macro_rules! try_ready {
    ($e:expr) => {
        match $e {
            Ok(value) => value,
            Err(error) => return Poll::Ready(Err(error)),
        }
    };
}

impl Inner {
    pub(super) fn new() -> Inner {
        Inner {
            state: State::Idle(Buf::new()),
            last_write_err: None,
            buf_size: DEFAULT_BUF_SIZE,
            read_ahead: DEFAULT_BUF_SIZE,
            read_want: 0,
            spare: Buf::new(),
        }
    }

    /// Idle with nothing buffered and no unreported error.
    pub(super) fn is_settled(&self) -> bool {
        self.last_write_err.is_none() && matches!(&self.state, State::Idle(buf) if buf.is_settled())
    }

    /// For `Drop`: the buffer, if it holds writes that still have to reach the OS.
    pub(super) fn take_pending_write(&mut self) -> Option<Buf> {
        match &mut self.state {
            State::Idle(buf) if buf.has_pending_write() => Some(std::mem::replace(buf, Buf::new())),
            _ => None,
        }
    }

    pub(super) fn set_buffer_size(&mut self, bytes: usize) {
        self.buf_size = bytes;
        self.read_ahead = bytes;
    }

    fn read_size(&self, requested: usize) -> usize {
        requested
            .max(self.read_ahead)
            .min(MAX_TRIP.max(self.buf_size))
    }

    /// A read came back: a full one means a sequential reader that wants more per trip (true).
    fn note_read(&mut self, got: usize) -> bool {
        let sequential = got == self.read_want && self.buf_size > 0;
        self.read_ahead = if sequential {
            (got.saturating_mul(2)).min(MAX_READ_AHEAD.max(self.buf_size))
        } else {
            self.buf_size
        };
        sequential
    }

    /// Idle with read-ahead from a full sequential read → Prefetch: read the next chunk into
    /// the spare buffer while the caller consumes this one.
    fn maybe_prefetch(&mut self, file: &SharedFile) {
        let State::Idle(front) = &self.state else {
            return;
        };
        if !front.can_prefetch() || front.start == front.end {
            return;
        }
        let Ok(handle) = handle() else {
            return;
        };
        let State::Idle(front) = std::mem::replace(&mut self.state, State::Idle(Buf::new())) else {
            unreachable!("checked above");
        };
        let mut back = std::mem::replace(&mut self.spare, Buf::new());
        back.reset();
        let want = self.read_size(0);
        self.read_want = want;
        let file = file.clone();
        let job = handle.unblock(move || {
            let op = Job::Read(want).run(&file, &mut back);
            (op, back)
        });
        self.state = State::Prefetch { front, job };
    }

    /// Prefetch, front used up → the prefetched buffer becomes the front. `None`: go on
    /// reading; `Some`: what the read returns (end of file, or the prefetch's error).
    fn swap_in_prefetch(
        &mut self,
        joined: Result<(Op, Buf), crate::JoinError>,
        file: &SharedFile,
    ) -> Option<io::Result<usize>> {
        let State::Prefetch { front: mut old, .. } =
            std::mem::replace(&mut self.state, State::Idle(Buf::new()))
        else {
            unreachable!("only called in the Prefetch state");
        };
        old.reset();
        match joined {
            Ok((Op::Read(Ok(n)), back)) if n > 0 => {
                self.spare = old;
                self.state = State::Idle(back);
                if self.note_read(n) {
                    self.maybe_prefetch(file);
                }
                None
            }
            Ok((Op::Read(result), back)) => {
                // Ok(0): the end of the file; Err: the read failed, the position did not move.
                self.spare = back;
                self.state = State::Idle(old);
                Some(result)
            }
            Ok(_) => unreachable!("a prefetch is a read"),
            Err(error) => {
                self.state = State::Idle(old);
                Some(Err(super::lost(error)))
            }
        }
    }

    fn stash_write_error(&mut self, error: io::Error) {
        self.last_write_err.get_or_insert(error);
    }

    /// Idle → Busy: hands the buffer and `job` to the lane. Writes go as mandatory jobs.
    fn start(&mut self, handle: &Handle, file: &SharedFile, job: Job) {
        let State::Idle(buf) = &mut self.state else {
            unreachable!("a File starts a job only when idle");
        };
        let mut buf = std::mem::replace(buf, Buf::new());
        let mandatory = buf.has_pending_write();
        match &job {
            Job::Read(want) => self.read_want = *want,
            // Not sequential any more: start again from the base read-ahead.
            Job::Seek { .. } | Job::Flush => self.read_ahead = self.buf_size,
        }
        let file = file.clone();
        let work = move || {
            let op = job.run(&file, &mut buf);
            (op, buf)
        };
        self.state = State::Busy(if mandatory {
            unblock_mandatory(handle, work)
        } else {
            handle.unblock(work)
        });
    }

    /// Busy → Idle once the job is done; Prefetch → Idle with the two buffers merged.
    fn poll_complete(&mut self, cx: &mut Context<'_>) -> Poll<Finished> {
        let handle = match &mut self.state {
            State::Idle(_) => return Poll::Ready(Finished::Idle),
            State::Prefetch { job, .. } => {
                let joined = ready!(Pin::new(job).poll(cx));
                return Poll::Ready(self.merge_prefetch(joined));
            }
            State::Busy(handle) => handle,
        };
        let joined = ready!(Pin::new(handle).poll(cx));
        Poll::Ready(match joined {
            Ok((op, buf)) => {
                self.state = State::Idle(buf);
                if let Op::Read(Ok(got)) = op {
                    self.note_read(got);
                }
                Finished::Op(op)
            }
            Err(error) => {
                self.state = State::Idle(Buf::new());
                Finished::Lost(super::lost(error))
            }
        })
    }

    /// The prefetch is done and another operation than a read wants the file: one read-ahead
    /// buffer again, so the other operations need not know about prefetching.
    fn merge_prefetch(&mut self, joined: Result<(Op, Buf), crate::JoinError>) -> Finished {
        let State::Prefetch { mut front, .. } =
            std::mem::replace(&mut self.state, State::Idle(Buf::new()))
        else {
            unreachable!("only called in the Prefetch state");
        };
        match joined {
            Ok((Op::Read(Ok(n)), mut back)) => {
                front.absorb(&mut back);
                self.spare = back;
                self.note_read(n);
            }
            // The read did not happen (failed, or cancelled before it started at shutdown):
            // the position did not move, and the next read asks again.
            Ok((Op::Read(Err(_)), back)) => self.spare = back,
            Ok(_) => unreachable!("a prefetch is a read"),
            Err(error) => drop(super::lost(error)), // resumes a panic, if that is what it was
        }
        self.state = State::Idle(front);
        Finished::Merged
    }

    pub(super) fn poll_read(
        &mut self,
        cx: &mut Context<'_>,
        file: &SharedFile,
        dst: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            let buf = match &mut self.state {
                State::Prefetch { front, job } => {
                    if front.start < front.end || dst.is_empty() {
                        return Poll::Ready(Ok(front.copy_to(dst)));
                    }
                    let joined = ready!(Pin::new(job).poll(cx));
                    match self.swap_in_prefetch(joined, file) {
                        Some(result) => return Poll::Ready(result),
                        None => continue,
                    }
                }
                State::Busy(_) => {
                    match ready!(self.poll_complete(cx)) {
                        Finished::Op(Op::Read(Ok(0))) => return Poll::Ready(Ok(0)),
                        Finished::Op(Op::Read(Ok(_))) => self.maybe_prefetch(file),
                        Finished::Op(Op::Read(Err(e))) => return Poll::Ready(Err(e)),
                        Finished::Op(Op::Write(Err(e))) => self.stash_write_error(e),
                        Finished::Lost(e) => return Poll::Ready(Err(e)),
                        Finished::Op(_) | Finished::Idle | Finished::Merged => {}
                    }
                    continue;
                }
                State::Idle(buf) => buf,
            };
            match buf.mode {
                Mode::Read { .. } if buf.start < buf.end => {
                    return Poll::Ready(Ok(buf.copy_to(dst)));
                }
                Mode::Read { eof: true, .. } => {
                    buf.reset();
                    return Poll::Ready(Ok(0));
                }
                Mode::Write { .. } => {
                    let handle = try_ready!(handle());
                    self.start(&handle, file, Job::Flush); // the writes come first
                }
                Mode::Read { .. } | Mode::Empty => {
                    if dst.is_empty() {
                        return Poll::Ready(Ok(0));
                    }
                    let handle = try_ready!(handle());
                    buf.reset();
                    let want = self.read_size(dst.len());
                    self.start(&handle, file, Job::Read(want));
                }
            }
        }
    }

    pub(super) fn poll_fill_buf(
        &mut self,
        cx: &mut Context<'_>,
        file: &SharedFile,
    ) -> Poll<io::Result<&[u8]>> {
        loop {
            let buf = match &mut self.state {
                State::Prefetch { front, job } => {
                    if front.start < front.end {
                        break;
                    }
                    let joined = ready!(Pin::new(job).poll(cx));
                    match self.swap_in_prefetch(joined, file) {
                        Some(Ok(_)) => return Poll::Ready(Ok(&[])),
                        Some(Err(e)) => return Poll::Ready(Err(e)),
                        None => continue,
                    }
                }
                State::Busy(_) => {
                    match ready!(self.poll_complete(cx)) {
                        Finished::Op(Op::Read(Ok(0))) => return Poll::Ready(Ok(&[])),
                        Finished::Op(Op::Read(Ok(_))) => self.maybe_prefetch(file),
                        Finished::Op(Op::Read(Err(e))) => return Poll::Ready(Err(e)),
                        Finished::Op(Op::Write(Err(e))) => self.stash_write_error(e),
                        Finished::Lost(e) => return Poll::Ready(Err(e)),
                        Finished::Op(_) | Finished::Idle | Finished::Merged => {}
                    }
                    continue;
                }
                State::Idle(buf) => buf,
            };
            match buf.mode {
                Mode::Read { .. } if buf.start < buf.end => break,
                Mode::Read { eof: true, .. } => {
                    buf.reset();
                    return Poll::Ready(Ok(&[]));
                }
                Mode::Write { .. } => {
                    let handle = try_ready!(handle());
                    self.start(&handle, file, Job::Flush);
                }
                Mode::Read { .. } | Mode::Empty => {
                    let handle = try_ready!(handle());
                    buf.reset();
                    let want = self.read_size(MIN_FILL);
                    self.start(&handle, file, Job::Read(want));
                }
            }
        }
        match &self.state {
            State::Idle(buf) | State::Prefetch { front: buf, .. } => Poll::Ready(Ok(buf.unread())),
            State::Busy(_) => unreachable!("the loop leaves only with unread data"),
        }
    }

    pub(super) fn consume(&mut self, amount: usize) {
        if let State::Idle(buf) | State::Prefetch { front: buf, .. } = &mut self.state {
            buf.consume(amount);
        }
    }

    pub(super) fn poll_write(
        &mut self,
        cx: &mut Context<'_>,
        file: &SharedFile,
        src: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Some(error) = self.last_write_err.take() {
            return Poll::Ready(Err(error));
        }
        loop {
            let State::Idle(buf) = &mut self.state else {
                match ready!(self.poll_complete(cx)) {
                    Finished::Op(Op::Write(Err(e))) | Finished::Lost(e) => {
                        return Poll::Ready(Err(e));
                    }
                    // A read that an abandoned call started (or a prefetch): its data is now
                    // buffered, and the write below gives it back.
                    Finished::Op(_) | Finished::Idle | Finished::Merged => {}
                }
                continue;
            };
            if src.is_empty() {
                return Poll::Ready(Ok(0));
            }
            buf.begin_write();
            let limit = self.buf_size.max(src.len().min(MAX_TRIP));
            let room = limit.saturating_sub(buf.end);
            if room == 0 {
                let handle = try_ready!(handle());
                self.start(&handle, file, Job::Flush);
                continue;
            }
            let n = room.min(src.len());
            buf.append(&src[..n]);
            if buf.end >= limit {
                // Full: write-behind, at once. Without a runtime the bytes stay buffered and
                // the next flush reports that.
                if let Ok(handle) = handle() {
                    self.start(&handle, file, Job::Flush);
                }
            }
            return Poll::Ready(Ok(n));
        }
    }

    pub(super) fn poll_flush(
        &mut self,
        cx: &mut Context<'_>,
        file: &SharedFile,
    ) -> Poll<io::Result<()>> {
        loop {
            let State::Idle(buf) = &mut self.state else {
                if let State::Prefetch { .. } = self.state {
                    // Reading: no write is pending, and the prefetch may go on.
                    return Poll::Ready(self.last_write_err.take().map_or(Ok(()), Err));
                }
                match ready!(self.poll_complete(cx)) {
                    Finished::Op(Op::Write(Err(e))) | Finished::Lost(e) => {
                        return Poll::Ready(Err(e));
                    }
                    Finished::Op(_) | Finished::Idle | Finished::Merged => {}
                }
                continue;
            };
            if !buf.has_pending_write() {
                return Poll::Ready(self.last_write_err.take().map_or(Ok(()), Err));
            }
            let handle = try_ready!(handle());
            self.start(&handle, file, Job::Flush);
        }
    }

    pub(super) fn poll_seek(
        &mut self,
        cx: &mut Context<'_>,
        file: &SharedFile,
        pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        if let Some(error) = self.last_write_err.take() {
            return Poll::Ready(Err(error));
        }
        loop {
            let State::Idle(buf) = &mut self.state else {
                match ready!(self.poll_complete(cx)) {
                    Finished::Op(Op::Seek(Some(tag), result)) if tag == pos => {
                        return Poll::Ready(result);
                    }
                    Finished::Op(Op::Write(Err(e))) | Finished::Lost(e) => {
                        return Poll::Ready(Err(e));
                    }
                    // A read, a write, a prefetch, or the seek of an abandoned call: start ours.
                    Finished::Op(_) | Finished::Idle | Finished::Merged => {}
                }
                continue;
            };
            let to = match buf.mode {
                Mode::Read { .. } => {
                    if let Some(target) = buf.seek_within(pos) {
                        return Poll::Ready(Ok(target));
                    }
                    // The OS position is ahead by the unread bytes.
                    match pos {
                        SeekFrom::Current(offset) => {
                            SeekFrom::Current(try_ready!(back_over(offset, buf.unread_len())))
                        }
                        absolute => absolute,
                    }
                }
                // Pending writes are written first, in the same trip.
                Mode::Write { .. } | Mode::Empty => pos,
            };
            let handle = try_ready!(handle());
            // The job drops the read-ahead once the seek succeeded.
            self.start(&handle, file, Job::Seek { tag: Some(pos), to });
        }
    }

    /// Brings the OS file up to date: in-flight work done, pending writes written, and with
    /// `rewind` the read-ahead given back so the OS position is the logical one.
    pub(super) fn poll_settle(
        &mut self,
        cx: &mut Context<'_>,
        file: &SharedFile,
        rewind: bool,
    ) -> Poll<io::Result<()>> {
        loop {
            let State::Idle(buf) = &mut self.state else {
                match ready!(self.poll_complete(cx)) {
                    Finished::Op(Op::Write(Err(e)))
                    | Finished::Op(Op::Seek(None, Err(e)))
                    | Finished::Lost(e) => return Poll::Ready(Err(e)),
                    Finished::Op(_) | Finished::Idle | Finished::Merged => {}
                }
                continue;
            };
            let job = match buf.mode {
                Mode::Write { .. } => Job::Flush,
                Mode::Read { .. } if rewind && buf.start < buf.end => Job::Seek {
                    tag: None,
                    to: SeekFrom::Current(-(buf.unread_len() as i64)),
                },
                Mode::Read { .. } | Mode::Empty => {
                    if rewind {
                        buf.reset();
                    }
                    return Poll::Ready(self.last_write_err.take().map_or(Ok(()), Err));
                }
            };
            let handle = try_ready!(handle());
            self.start(&handle, file, job);
        }
    }
}

/// The lane to start a job on.
fn handle() -> io::Result<Handle> {
    super::current_handle("a spindle::fs::File operation")
}

/// A relative seek from the logical position, expressed from the OS position `unread` ahead.
fn back_over(offset: i64, unread: u64) -> io::Result<i64> {
    i64::try_from(unread)
        .ok()
        .and_then(|unread| offset.checked_sub(unread))
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek offset overflows"))
}

/// Writes a dropped `File`'s pending bytes: on `handle`'s lane (mandatory, so not lost to a
/// shutdown), or here when there is no runtime. Errors are lost: nobody is left to report to.
pub(super) fn write_behind_on_drop(handle: Option<Handle>, file: SharedFile, mut buf: Buf) {
    match handle {
        Some(handle) => drop(unblock_mandatory(&handle, move || {
            let _ = buf.write_to(&file);
        })),
        None => {
            let _ = buf.write_to(&file);
        }
    }
}
