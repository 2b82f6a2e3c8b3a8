//! Observing a child's exit on the reactor, with no thread per child:
//!
//! * **pidfd** (Linux ≥ 5.3): `pidfd_open(pid)` gives a descriptor that becomes readable when
//!   the process exits; it is registered with the reactor like a socket, and each readiness
//!   event leads to one `waitpid(pid, WNOHANG)` (std's `try_wait`).
//! * **SIGCHLD** fallback (no pidfd: an old kernel, or a seccomp policy that forbids it): a
//!   [`Signal`] listener for `SIGCHLD` through `spindle::signal`, so the same self-pipe on the
//!   reactor; every delivery re-checks the child with `try_wait`. `SIGCHLD` carries no pid
//!   worth trusting (deliveries coalesce), so every waiting child re-checks on every delivery.
//!
//! Both are race-free the same way: a poll first calls `try_wait`, and only then waits for the
//! next event, which was armed before that `try_wait` (the pidfd's readiness is level-like: it
//! stays readable once the child exited; a `Signal` counts deliveries since it was created).

use crate::loom::sync::Arc;
use crate::loom::sync::atomic::{AtomicBool, Ordering};
use crate::reactor::Reactor;
use crate::reactor::io::{Direction, PollIo};
use crate::signal::unix::{Signal, SignalKind, signal};
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::ExitStatus;
use std::task::{Context, Poll};

/// Set once `pidfd_open` proved unavailable in this process; later children go straight to the
/// SIGCHLD path.
static PIDFD_UNAVAILABLE: AtomicBool = AtomicBool::new(false);

/// How the exit of one child is observed.
pub(crate) enum ExitWatch {
    Pidfd(PollIo<OwnedFd>),
    Sigchld(Signal),
}

/// The exit notification to use; `Auto` means pidfd when the system has it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    Auto,
    /// Forced by tests, to keep the fallback exercised on systems that have pidfd.
    Sigchld,
}

fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    // SAFETY: `pidfd_open(pid, 0)` takes two integers and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel just returned this descriptor to us (close-on-exec is set by
    // `pidfd_open` itself); nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
}

fn runtime_gone() -> io::Error {
    io::Error::other(
        "the spindle runtime this child was spawned on has shut down, so its exit can no longer \
         be awaited there; await it from inside another runtime, or use try_wait (dropping the \
         Child also reaps it)",
    )
}

impl ExitWatch {
    /// Starts watching child `pid` (not reaped yet) on `reactor`.
    pub(crate) fn new(reactor: Arc<Reactor>, pid: u32, mode: Mode) -> io::Result<ExitWatch> {
        // Relaxed: a cache of a fact about the system; a stale `false` costs one failed syscall.
        if mode == Mode::Auto && !PIDFD_UNAVAILABLE.load(Ordering::Relaxed) {
            match pidfd_open(pid) {
                // The registration starts out readable, so the first poll makes one `waitpid`
                // that usually finds the child running. Starting it "not ready" instead (the
                // epoll ADD queues an event anyway if the child already exited) looks like a
                // free saving but loses exits: an event dispatched before the clear would be
                // erased by it (tests/process.rs, `instantly_exiting_children_...`).
                Ok(fd) => return Ok(ExitWatch::Pidfd(PollIo::with_reactor(reactor, fd)?)),
                Err(err)
                    if matches!(
                        err.raw_os_error(),
                        Some(libc::ENOSYS | libc::EPERM | libc::EACCES)
                    ) =>
                {
                    // Relaxed: see above.
                    PIDFD_UNAVAILABLE.store(true, Ordering::Relaxed);
                }
                // Anything else (out of descriptors, say): this child uses the fallback.
                Err(_) => {}
            }
        }
        signal(SignalKind::child()).map(ExitWatch::Sigchld)
    }

    /// Whether this watch uses a pidfd (for tests).
    #[cfg(test)]
    pub(crate) fn is_pidfd(&self) -> bool {
        matches!(self, ExitWatch::Pidfd(_))
    }

    /// Ready with the exit status once `child` has exited (it is then reaped).
    pub(crate) fn poll_exit(
        &mut self,
        cx: &mut Context<'_>,
        child: &mut std::process::Child,
    ) -> Poll<io::Result<ExitStatus>> {
        loop {
            let poll = match self {
                ExitWatch::Pidfd(io) => Self::poll_pidfd(io, cx, child),
                ExitWatch::Sigchld(sigchld) => Self::poll_sigchld(sigchld, cx, child),
            };
            match poll {
                Poll::Ready(Err(err)) if is_runtime_gone(&err) => {
                    // Moved to another runtime after this one shut down: watch from there.
                    match crate::runtime::context::reactor() {
                        Some(reactor) if !self.belongs_to(&reactor) => {
                            *self = ExitWatch::new(reactor, child.id(), self.mode())?;
                        }
                        _ => return Poll::Ready(Err(runtime_gone())),
                    }
                }
                other => return other,
            }
        }
    }

    fn mode(&self) -> Mode {
        match self {
            ExitWatch::Pidfd(_) => Mode::Auto,
            ExitWatch::Sigchld(_) => Mode::Sigchld,
        }
    }

    fn belongs_to(&self, reactor: &Arc<Reactor>) -> bool {
        match self {
            ExitWatch::Pidfd(io) => Arc::ptr_eq(io.reactor(), reactor),
            // A Signal of a shut-down runtime reports the end; any live runtime is another.
            ExitWatch::Sigchld(_) => false,
        }
    }

    fn poll_pidfd(
        io: &PollIo<OwnedFd>,
        cx: &mut Context<'_>,
        child: &mut std::process::Child,
    ) -> Poll<io::Result<ExitStatus>> {
        loop {
            let tick = match io.poll_ready(cx, Direction::Read) {
                Poll::Ready(Ok(tick)) => tick,
                Poll::Ready(Err(_)) => return Poll::Ready(Err(runtime_gone_marker())),
                Poll::Pending => return Poll::Pending,
            };
            match child.try_wait() {
                Ok(Some(status)) => return Poll::Ready(Ok(status)),
                Ok(None) => io.clear_readiness(Direction::Read, tick),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Poll::Ready(Err(err)),
            }
        }
    }

    fn poll_sigchld(
        sigchld: &mut Signal,
        cx: &mut Context<'_>,
        child: &mut std::process::Child,
    ) -> Poll<io::Result<ExitStatus>> {
        loop {
            match child.try_wait() {
                Ok(Some(status)) => return Poll::Ready(Ok(status)),
                Ok(None) => {}
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Poll::Ready(Err(err)),
            }
            match sigchld.poll_recv(cx) {
                Poll::Ready(Some(())) => continue,
                Poll::Ready(None) => return Poll::Ready(Err(runtime_gone_marker())),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// The internal "this watch's runtime is gone" error, recognised by `poll_exit`.
#[derive(Debug)]
struct RuntimeGone;

impl std::fmt::Display for RuntimeGone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("runtime gone")
    }
}

impl std::error::Error for RuntimeGone {}

fn runtime_gone_marker() -> io::Error {
    io::Error::other(RuntimeGone)
}

fn is_runtime_gone(err: &io::Error) -> bool {
    err.get_ref().is_some_and(|inner| inner.is::<RuntimeGone>())
}
