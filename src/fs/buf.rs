//! The buffer of a [`File`](super::File) and the jobs that run on the blocking-I/O lane.
//!
//! A [`Buf`] holds either read-ahead data or writes not yet handed to the OS (see its
//! [`Mode`]); the `*_from`/`*_to` halves run on the lane, inside a [`Job`], while the job owns
//! the buffer. `state.rs` decides when to start which job.

use std::io::{self, Seek, SeekFrom, Write};

/// The bytes between the caller and the OS file.
pub(super) struct Buf {
    /// Storage; `bytes.len()` is how much of it is initialised (at least `end`).
    bytes: Vec<u8>,
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) mode: Mode,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mode {
    Empty,
    /// `bytes[start..end]` is unread; `bytes[..end]` covers file positions
    /// `end_pos - end .. end_pos` when `end_pos` is known. `eof`: the read stopped at the end of
    /// a regular file, so the next read past the buffer reports end-of-file without a trip.
    Read {
        end_pos: Option<u64>,
        eof: bool,
    },
    /// `bytes[..end]` waits to be written, after seeking back `rewind` bytes.
    Write {
        rewind: u64,
    },
}

impl Buf {
    pub(super) fn new() -> Buf {
        Buf {
            bytes: Vec::new(),
            start: 0,
            end: 0,
            mode: Mode::Empty,
        }
    }

    pub(super) fn reset(&mut self) {
        self.start = 0;
        self.end = 0;
        self.mode = Mode::Empty;
    }

    pub(super) fn unread(&self) -> &[u8] {
        match self.mode {
            Mode::Read { .. } => &self.bytes[self.start..self.end],
            _ => &[],
        }
    }

    pub(super) fn unread_len(&self) -> u64 {
        self.unread().len() as u64
    }

    pub(super) fn has_pending_write(&self) -> bool {
        matches!(self.mode, Mode::Write { .. }) && self.end > 0
    }

    /// Nothing buffered in either direction: the OS position is the logical one.
    pub(super) fn is_settled(&self) -> bool {
        match self.mode {
            Mode::Empty => true,
            Mode::Read { .. } => self.start == self.end,
            Mode::Write { .. } => false,
        }
    }

    pub(super) fn copy_to(&mut self, dst: &mut [u8]) -> usize {
        let n = dst.len().min(self.end - self.start);
        dst[..n].copy_from_slice(&self.bytes[self.start..self.start + n]);
        self.start += n;
        n
    }

    pub(super) fn consume(&mut self, amount: usize) {
        if let Mode::Read { .. } = self.mode {
            self.start = (self.start + amount).min(self.end);
        }
    }

    /// Switches to write mode; unread read-ahead is dropped and remembered as a seek back.
    pub(super) fn begin_write(&mut self) {
        match self.mode {
            Mode::Write { .. } => {}
            Mode::Read { .. } => {
                let rewind = self.unread_len();
                self.reset();
                self.mode = Mode::Write { rewind };
            }
            Mode::Empty => self.mode = Mode::Write { rewind: 0 },
        }
    }

    pub(super) fn append(&mut self, src: &[u8]) {
        let new_end = self.end + src.len();
        if self.bytes.len() < new_end {
            self.bytes.resize(new_end, 0);
        }
        self.bytes[self.end..new_end].copy_from_slice(src);
        self.end = new_end;
    }

    /// Read-ahead that a background read may follow: from a seekable file (so the read cannot
    /// block waiting for a writer, as on a pipe or a terminal), not at its end.
    pub(super) fn can_prefetch(&self) -> bool {
        matches!(
            self.mode,
            Mode::Read {
                end_pos: Some(_),
                eof: false
            }
        )
    }

    /// Appends `next` (read right after this buffer's bytes) so that the two read-aheads become
    /// one; `next` is emptied. An empty `next` means this buffer ends at the end of the file.
    pub(super) fn absorb(&mut self, next: &mut Buf) {
        debug_assert!(matches!(self.mode, Mode::Read { .. }));
        match next.mode {
            Mode::Read { .. } => {
                let end = self.end + next.end;
                if self.bytes.len() < end {
                    self.bytes.resize(end, 0);
                }
                self.bytes[self.end..end].copy_from_slice(&next.bytes[..next.end]);
                self.end = end;
                self.mode = next.mode;
            }
            _ => {
                if let Mode::Read { eof, .. } = &mut self.mode {
                    *eof = true;
                }
            }
        }
        next.reset();
    }

    /// A seek that lands inside the read-ahead window only moves `start`: no trip.
    pub(super) fn seek_within(&mut self, pos: SeekFrom) -> Option<u64> {
        let Mode::Read {
            end_pos: Some(end_pos),
            ..
        } = self.mode
        else {
            return None;
        };
        let window_start = end_pos.checked_sub(self.end as u64)?;
        let logical = end_pos - (self.end - self.start) as u64;
        let target = match pos {
            SeekFrom::Start(p) => p,
            SeekFrom::Current(offset) => logical.checked_add_signed(offset)?,
            SeekFrom::End(_) => return None,
        };
        if target < window_start || target > end_pos {
            return None;
        }
        self.start = (target - window_start) as usize;
        Some(target)
    }

    // ---- the jobs' halves, run on the lane ----

    /// One `read` call of up to `want` bytes into an empty buffer.
    fn read_from(&mut self, file: &std::fs::File, want: usize) -> io::Result<usize> {
        debug_assert_eq!(self.mode, Mode::Empty);
        // Nothing in the buffer is needed any more. A larger one is a fresh allocation (growing
        // in place would copy the stale bytes), and neither is zeroed first: read(2) writes
        // into the spare capacity, so a 512 KiB read-ahead costs no 512 KiB memset.
        self.bytes.clear();
        if self.bytes.capacity() < want {
            self.bytes = Vec::with_capacity(want);
        }
        let fd = std::os::fd::AsRawFd::as_raw_fd(file);
        let n = loop {
            // SAFETY: the pointer and `want` describe spare capacity of `self.bytes` (at least
            // `want` bytes, reserved above), which read(2) only writes to; `fd` is open for
            // the whole call (borrowed from `file`).
            let got = unsafe { libc::read(fd, self.bytes.as_mut_ptr().cast(), want) };
            if got >= 0 {
                break got as usize;
            }
            let error = io::Error::last_os_error();
            if error.kind() != io::ErrorKind::Interrupted {
                return Err(error);
            }
        };
        // SAFETY: read(2) initialised the first `n` bytes, and `n <= want <= capacity`.
        unsafe { self.bytes.set_len(n) };
        if n > 0 {
            let end_pos = (&*file).stream_position().ok();
            // A short read of a regular file that reached its length is the end of the file:
            // remember it, and the caller's next read after the buffer costs no trip. Not for
            // a length of 0: procfs and sysfs files say 0 and may still have more to read.
            let eof = n < want
                && end_pos.is_some_and(|pos| {
                    file.metadata()
                        .is_ok_and(|meta| meta.is_file() && meta.len() > 0 && pos >= meta.len())
                });
            (self.start, self.end, self.mode) = (0, n, Mode::Read { end_pos, eof });
        }
        Ok(n)
    }

    /// Writes what is pending (after the seek back, if any); the buffer is empty afterwards,
    /// whatever the outcome (a failed write's bytes are reported, not retried).
    pub(super) fn write_to(&mut self, file: &std::fs::File) -> io::Result<()> {
        let Mode::Write { rewind } = self.mode else {
            return Ok(());
        };
        let end = self.end;
        self.reset();
        if rewind > 0 {
            (&*file).seek(SeekFrom::Current(-(rewind as i64)))?;
        }
        (&*file).write_all(&self.bytes[..end])
    }
}

/// Work for the lane.
pub(super) enum Job {
    /// One read of this many bytes.
    Read(usize),
    /// Write what is pending.
    Flush,
    /// Write what is pending, then seek to `to`. `tag` is the caller's `SeekFrom` (`None` for
    /// an internal rewind), so a completion can be matched to the call that wants it.
    Seek { tag: Option<SeekFrom>, to: SeekFrom },
}

/// What a finished job did.
pub(super) enum Op {
    Read(io::Result<usize>),
    Write(io::Result<()>),
    Seek(Option<SeekFrom>, io::Result<u64>),
}

impl Job {
    pub(super) fn run(self, file: &std::fs::File, buf: &mut Buf) -> Op {
        match self {
            Job::Read(want) => Op::Read(buf.read_from(file, want)),
            Job::Flush => Op::Write(buf.write_to(file)),
            Job::Seek { tag, to } => match buf.write_to(file) {
                Err(e) => Op::Write(Err(e)),
                Ok(()) => {
                    let result = (&*file).seek(to);
                    // The read-ahead goes only once the seek happened: a failed seek leaves
                    // the OS position, and so the buffer, as they were (as `std::io::BufReader`).
                    if result.is_ok() {
                        buf.reset();
                    }
                    Op::Seek(tag, result)
                }
            },
        }
    }
}
