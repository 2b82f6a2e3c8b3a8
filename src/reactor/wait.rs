//! Waiting for OS events: one system call per reactor turn.
//!
//! Sources are registered with `polling` (edge-triggered, both directions), but on Linux the
//! reactor does not wait through `Poller::wait`: that call costs five system calls per turn
//! (arm its timerfd, re-arm the timerfd in epoll, `epoll_wait`, read its notification eventfd,
//! re-arm that eventfd), measured with `strace -c` at two turns per keep-alive request. Instead
//! [`Waiter`] calls `epoll_wait` on the poller's epoll descriptor with a millisecond timeout
//! (rounded *up*, so a timer is never woken early), and notifications go through an eventfd of
//! our own registered edge-triggered: every `write` to it produces a new edge, so it never has
//! to be read or re-armed. A turn is one `epoll_wait`; a notification is one `write`.
//!
//! Elsewhere (and under loom) the portable `polling::Poller::wait` is used. Under miri, which
//! cannot run `epoll`'s helpers (`timerfd_create`), there is no OS poller at all: the wait is a
//! timed condvar wait, so runtimes, timers and the scheduler run under miri, and registering a
//! file descriptor fails with a clear `Unsupported` error.

use std::io;
use std::time::Duration;

/// One event, as the socket driver needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IoEvent {
    pub(crate) key: usize,
    pub(crate) readable: bool,
    pub(crate) writable: bool,
    /// A hang-up or an error: the next operation in either direction returns at once.
    pub(crate) closed: bool,
}

/// The key our notification eventfd is registered under (polling reserves `usize::MAX`).
#[cfg(all(target_os = "linux", not(loom), not(miri)))]
const NOTIFY_KEY: usize = usize::MAX - 1;

/// Events fetched per `epoll_wait`.
#[cfg(all(target_os = "linux", not(loom), not(miri)))]
const BATCH: usize = 1024;

#[cfg(all(target_os = "linux", not(loom), not(miri)))]
pub(crate) struct Waiter {
    notify: std::os::fd::OwnedFd,
    buffer: crate::loom::sync::Mutex<Vec<libc::epoll_event>>,
}

#[cfg(all(target_os = "linux", not(loom), not(miri)))]
impl Waiter {
    pub(crate) fn new(poller: &polling::Poller) -> io::Result<Waiter> {
        use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
        // SAFETY: plain system call; the returned descriptor is checked and then owned.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a fresh descriptor nobody else owns.
        let notify = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: `polling` requires a registered fd to be deleted before it is closed; `Drop`
        // deletes it, and the eventfd lives exactly as long as this `Waiter`.
        unsafe {
            poller.add_with_mode(
                notify.as_raw_fd(),
                polling::Event::readable(NOTIFY_KEY),
                polling::PollMode::Edge,
            )?;
        }
        Ok(Waiter {
            notify,
            buffer: crate::loom::sync::Mutex::new(Vec::with_capacity(BATCH)),
        })
    }

    /// Breaks the current or next [`wait`](Self::wait).
    pub(crate) fn notify(&self, _poller: &polling::Poller) {
        use std::os::fd::AsRawFd;
        let one: u64 = 1;
        loop {
            // SAFETY: writes 8 bytes from a live u64 to our own eventfd.
            let n = unsafe {
                libc::write(
                    self.notify.as_raw_fd(),
                    (&one as *const u64).cast(),
                    std::mem::size_of::<u64>(),
                )
            };
            if n >= 0 {
                return;
            }
            match io::Error::last_os_error().kind() {
                io::ErrorKind::Interrupted => continue,
                // The counter is full (after 2^64 - 2 notifications nobody read): empty it
                // once and write again, so the next write is an edge.
                io::ErrorKind::WouldBlock => {
                    let mut sink = 0u64;
                    // SAFETY: reads 8 bytes into a live u64.
                    unsafe {
                        libc::read(
                            self.notify.as_raw_fd(),
                            (&mut sink as *mut u64).cast(),
                            std::mem::size_of::<u64>(),
                        )
                    };
                }
                // Any other error leaves the wait bounded by its timeout; not worth a panic.
                _ => return,
            }
        }
    }

    /// Waits (at most `timeout`, rounded up to whole milliseconds; `None`: until an event or a
    /// notification) and returns the batch of socket events.
    pub(crate) fn wait(
        &self,
        poller: &polling::Poller,
        timeout: Option<Duration>,
    ) -> io::Result<Batch<'_>> {
        use std::os::fd::AsRawFd;
        let timeout_ms = match timeout {
            None => -1,
            Some(t) => {
                let ms = t.as_nanos().div_ceil(1_000_000);
                i32::try_from(ms).unwrap_or(i32::MAX)
            }
        };
        let mut buffer = crate::loom::lock(&self.buffer);
        buffer.clear();
        // SAFETY: the buffer has room for `capacity` events; the kernel writes at most that many
        // and returns the count, which we then set as the length.
        let n = unsafe {
            libc::epoll_wait(
                poller.as_raw_fd(),
                buffer.as_mut_ptr(),
                i32::try_from(buffer.capacity()).unwrap_or(i32::MAX),
                timeout_ms,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the kernel initialised the first `n` entries.
        unsafe { buffer.set_len(n as usize) };
        Ok(Batch { buffer })
    }

    /// Deletes the eventfd from the poller before it is closed.
    pub(crate) fn deregister(&self, poller: &polling::Poller) {
        use std::os::fd::AsFd;
        let _ = poller.delete(self.notify.as_fd());
    }
}

/// The events of one `epoll_wait` (the buffer stays locked while it is read).
#[cfg(all(target_os = "linux", not(loom), not(miri)))]
pub(crate) struct Batch<'a> {
    buffer: crate::loom::sync::MutexGuard<'a, Vec<libc::epoll_event>>,
}

#[cfg(all(target_os = "linux", not(loom), not(miri)))]
impl Batch<'_> {
    pub(crate) fn events(&self) -> impl Iterator<Item = IoEvent> + '_ {
        self.buffer.iter().filter_map(|event| {
            let key = event.u64 as usize;
            if key == NOTIFY_KEY {
                return None; // a notification: the wait ended, nothing to dispatch
            }
            let flags = event.events as i32;
            // The same classification `polling` uses.
            let closed = flags & (libc::EPOLLHUP | libc::EPOLLERR) != 0;
            Some(IoEvent {
                key,
                readable: flags & (libc::EPOLLIN | libc::EPOLLPRI) != 0 || closed,
                writable: flags & libc::EPOLLOUT != 0 || closed,
                closed,
            })
        })
    }
}

/// The portable fallback: `polling`'s own wait and notification.
#[cfg(all(not(all(target_os = "linux", not(loom))), not(miri)))]
pub(crate) struct Waiter {
    events: crate::loom::sync::Mutex<polling::Events>,
}

#[cfg(all(not(all(target_os = "linux", not(loom))), not(miri)))]
pub(crate) struct Batch<'a> {
    events: crate::loom::sync::MutexGuard<'a, polling::Events>,
}

#[cfg(all(not(all(target_os = "linux", not(loom))), not(miri)))]
impl Batch<'_> {
    pub(crate) fn events(&self) -> impl Iterator<Item = IoEvent> + '_ {
        self.events.iter().map(|event| {
            let closed = event.is_interrupt() || event.is_err() == Some(true);
            IoEvent {
                key: event.key,
                readable: event.readable || closed,
                writable: event.writable || closed,
                closed,
            }
        })
    }
}

#[cfg(all(not(all(target_os = "linux", not(loom))), not(miri)))]
impl Waiter {
    pub(crate) fn new(_poller: &polling::Poller) -> io::Result<Waiter> {
        Ok(Waiter {
            events: crate::loom::sync::Mutex::new(polling::Events::new()),
        })
    }

    pub(crate) fn notify(&self, poller: &polling::Poller) {
        // An error means the poller's own notification pipe failed; the only effect is a
        // longer wait, bounded by the next timer, so it is not worth a panic.
        let _ = poller.notify();
    }

    pub(crate) fn wait(
        &self,
        poller: &polling::Poller,
        timeout: Option<Duration>,
    ) -> io::Result<Batch<'_>> {
        let mut events = crate::loom::lock(&self.events);
        events.clear();
        // Under loom there is no OS poller to wait on: the caller models the wait itself.
        #[cfg(not(loom))]
        poller.wait(&mut events, timeout)?;
        #[cfg(loom)]
        let _ = (poller, timeout);
        Ok(Batch { events })
    }

    pub(crate) fn deregister(&self, _poller: &polling::Poller) {}
}

/// The OS poller sources are registered with.
#[cfg(not(miri))]
pub(crate) type OsPoller = polling::Poller;

/// Under miri: no OS poller; registrations fail with `Unsupported`.
#[cfg(miri)]
pub(crate) struct OsPoller(());

#[cfg(miri)]
impl OsPoller {
    pub(crate) fn new() -> io::Result<OsPoller> {
        Ok(OsPoller(()))
    }

    fn unsupported() -> io::Error {
        io::Error::new(
            io::ErrorKind::Unsupported,
            "file descriptors cannot be registered with spindle's reactor under miri",
        )
    }

    /// # Safety
    /// As `polling::Poller::add_with_mode` (nothing is registered here).
    pub(crate) unsafe fn add_with_mode(
        &self,
        _fd: std::os::fd::RawFd,
        _event: polling::Event,
        _mode: polling::PollMode,
    ) -> io::Result<()> {
        Err(Self::unsupported())
    }

    pub(crate) fn delete(&self, _fd: std::os::fd::BorrowedFd<'_>) -> io::Result<()> {
        Err(Self::unsupported())
    }
}

/// Under miri: a timed condvar wait that `notify` breaks.
#[cfg(miri)]
pub(crate) struct Waiter {
    notified: crate::loom::sync::Mutex<bool>,
    condvar: crate::loom::sync::Condvar,
}

#[cfg(miri)]
pub(crate) struct Batch<'a> {
    _waiter: std::marker::PhantomData<&'a Waiter>,
}

#[cfg(miri)]
impl Batch<'_> {
    pub(crate) fn events(&self) -> impl Iterator<Item = IoEvent> + '_ {
        std::iter::empty()
    }
}

#[cfg(miri)]
impl Waiter {
    pub(crate) fn new(_poller: &OsPoller) -> io::Result<Waiter> {
        Ok(Waiter {
            notified: crate::loom::sync::Mutex::new(false),
            condvar: crate::loom::sync::Condvar::new(),
        })
    }

    pub(crate) fn notify(&self, _poller: &OsPoller) {
        *crate::loom::lock(&self.notified) = true;
        self.condvar.notify_one();
    }

    pub(crate) fn wait(
        &self,
        _poller: &OsPoller,
        timeout: Option<Duration>,
    ) -> io::Result<Batch<'_>> {
        let mut notified = crate::loom::lock(&self.notified);
        if !*notified {
            notified = match timeout {
                None => self
                    .condvar
                    .wait(notified)
                    .unwrap_or_else(|poisoned| poisoned.into_inner()),
                Some(timeout) => {
                    self.condvar
                        .wait_timeout(notified, timeout)
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .0
                }
            };
        }
        *notified = false;
        Ok(Batch {
            _waiter: std::marker::PhantomData,
        })
    }

    pub(crate) fn deregister(&self, _poller: &OsPoller) {}
}
