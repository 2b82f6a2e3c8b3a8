//! The parent's ends of a child's stdio pipes: non-blocking, registered with the reactor of the
//! runtime that spawned the child (edge-triggered, like sockets), implementing
//! `futures_io::AsyncWrite` (stdin) and `futures_io::AsyncRead` (stdout, stderr).
//!
//! `O_NONBLOCK` is set on the parent's open file description only; the child's end of each pipe
//! is a separate description and stays blocking, as programs expect.

use crate::loom::sync::Arc;
use crate::reactor::Reactor;
use crate::reactor::io::{Direction, PollIo};
use std::fmt;
use std::fs::File;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::process::Stdio;
use std::task::{Context, Poll};

/// Sets or clears `O_NONBLOCK` on `fd`'s open file description.
fn set_nonblocking(fd: BorrowedFd<'_>, nonblocking: bool) -> io::Result<()> {
    let raw = fd.as_raw_fd();
    // SAFETY: `raw` is a valid open descriptor for the duration of this call (borrowed);
    // F_GETFL/F_SETFL only read and change its status flags.
    unsafe {
        let flags = libc::fcntl(raw, libc::F_GETFL);
        if flags == -1 {
            return Err(io::Error::last_os_error());
        }
        let wanted = if nonblocking {
            flags | libc::O_NONBLOCK
        } else {
            flags & !libc::O_NONBLOCK
        };
        if wanted != flags && libc::fcntl(raw, libc::F_SETFL, wanted) == -1 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

fn register(reactor: Arc<Reactor>, fd: OwnedFd) -> io::Result<PollIo<File>> {
    set_nonblocking(fd.as_fd(), true)?;
    PollIo::with_reactor(reactor, File::from(fd))
}

fn current_reactor() -> io::Result<Arc<Reactor>> {
    crate::reactor::io::current_reactor()
}

/// Deregisters the pipe and puts it back in blocking mode, for handing to another process.
fn unregister(io: PollIo<File>) -> io::Result<OwnedFd> {
    let fd = OwnedFd::from(io.into_inner());
    set_nonblocking(fd.as_fd(), false)?;
    Ok(fd)
}

/// The write end of a child's standard input ([`Child::stdin`](super::Child::stdin)).
///
/// Closing it — dropping it, `close().await` (`AsyncWriteExt::close`), or
/// [`Child::wait`](super::Child::wait), which drops it — is how the child reads end-of-file.
///
/// ```
/// use futures_lite::{AsyncReadExt, AsyncWriteExt};
/// use spindle::process::{Command, Stdio};
///
/// spindle::run(async {
///     let mut child = Command::new("cat")
///         .stdin(Stdio::piped())
///         .stdout(Stdio::piped())
///         .spawn()
///         .unwrap();
///     let mut stdin = child.stdin.take().unwrap();
///     stdin.write_all(b"through cat").await.unwrap();
///     stdin.close().await.unwrap(); // cat sees end-of-file
///     let mut echoed = String::new();
///     child.stdout.take().unwrap().read_to_string(&mut echoed).await.unwrap();
///     assert_eq!(echoed, "through cat");
///     assert!(child.wait().await.unwrap().success());
/// });
/// ```
pub struct ChildStdin {
    /// `None` once closed with `poll_close`.
    io: Option<PollIo<File>>,
}

/// The read end of a child's standard output ([`Child::stdout`](super::Child::stdout)).
///
/// ```
/// use futures_lite::AsyncReadExt;
/// use spindle::process::{Command, Stdio};
///
/// spindle::run(async {
///     let mut child = Command::new("echo").arg("hello").stdout(Stdio::piped()).spawn().unwrap();
///     let mut out = String::new();
///     child.stdout.take().unwrap().read_to_string(&mut out).await.unwrap();
///     assert_eq!(out, "hello\n");
///     child.wait().await.unwrap();
/// });
/// ```
pub struct ChildStdout {
    io: PollIo<File>,
}

/// The read end of a child's standard error ([`Child::stderr`](super::Child::stderr)).
///
/// ```
/// use futures_lite::AsyncReadExt;
/// use spindle::process::{Command, Stdio};
///
/// spindle::run(async {
///     let mut child = Command::new("sh")
///         .args(["-c", "echo oops >&2"])
///         .stderr(Stdio::piped())
///         .spawn()
///         .unwrap();
///     let mut err = String::new();
///     child.stderr.take().unwrap().read_to_string(&mut err).await.unwrap();
///     assert_eq!(err, "oops\n");
///     child.wait().await.unwrap();
/// });
/// ```
pub struct ChildStderr {
    io: PollIo<File>,
}

fn closed_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::BrokenPipe,
        "the child's stdin was closed (poll_close) by this process",
    )
}

impl ChildStdin {
    pub(crate) fn register(
        reactor: Arc<Reactor>,
        stdin: std::process::ChildStdin,
    ) -> io::Result<Self> {
        Ok(ChildStdin {
            io: Some(register(reactor, stdin.into())?),
        })
    }

    /// Wraps a `std` child's stdin: puts it in non-blocking mode and registers it with the
    /// current runtime (an error outside one).
    ///
    /// ```
    /// use futures_lite::AsyncWriteExt;
    /// use std::process::{Command, Stdio};
    ///
    /// spindle::run(async {
    ///     let mut child = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::null()).spawn().unwrap();
    ///     let mut stdin = spindle::process::ChildStdin::from_std(child.stdin.take().unwrap()).unwrap();
    ///     stdin.write_all(b"data").await.unwrap();
    ///     drop(stdin);
    ///     assert!(child.wait().unwrap().success());
    /// });
    /// ```
    pub fn from_std(stdin: std::process::ChildStdin) -> io::Result<Self> {
        Self::register(current_reactor()?, stdin)
    }

    /// Deregisters the pipe and returns its descriptor in blocking mode (for example to become
    /// another child's stdin through [`Stdio::from`]). An error if it was closed.
    ///
    /// ```
    /// use spindle::process::{Command, Stdio};
    ///
    /// spindle::run(async {
    ///     let mut child = Command::new("cat").stdin(Stdio::piped()).spawn().unwrap();
    ///     let fd = child.stdin.take().unwrap().into_owned_fd().unwrap();
    ///     drop(fd); // cat sees end-of-file
    ///     assert!(child.wait().await.unwrap().success());
    /// });
    /// ```
    pub fn into_owned_fd(mut self) -> io::Result<OwnedFd> {
        unregister(self.io.take().ok_or_else(closed_error)?)
    }

    fn io(&self) -> io::Result<&PollIo<File>> {
        self.io.as_ref().ok_or_else(closed_error)
    }
}

impl futures_io::AsyncWrite for ChildStdin {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.io() {
            Ok(io) => io.poll_io(cx, Direction::Write, |mut pipe| pipe.write(buf)),
            Err(err) => Poll::Ready(Err(err)),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.io() {
            Ok(io) => io.poll_io(cx, Direction::Write, |mut pipe| pipe.write_vectored(bufs)),
            Err(err) => Poll::Ready(Err(err)),
        }
    }

    /// A pipe has no user-space buffer: nothing to flush.
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Closes the pipe, so the child reads end-of-file; later writes fail with `BrokenPipe`.
    fn poll_close(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        drop(self.io.take()); // deregisters, then closes the descriptor
        Poll::Ready(Ok(()))
    }
}

impl TryFrom<ChildStdin> for Stdio {
    type Error = io::Error;

    /// Hands the pipe to another child (see [`ChildStdin::into_owned_fd`]).
    fn try_from(stdin: ChildStdin) -> io::Result<Stdio> {
        stdin.into_owned_fd().map(Stdio::from)
    }
}

impl fmt::Debug for ChildStdin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("ChildStdin");
        match &self.io {
            Some(io) => d.field("fd", &io.get_ref().as_raw_fd()),
            None => d.field("fd", &"closed"),
        };
        d.finish()
    }
}

/// The read-side API shared by `ChildStdout` and `ChildStderr`.
macro_rules! read_pipe {
    ($ty:ident, $std:ty, $field:literal) => {
        impl $ty {
            pub(crate) fn register(reactor: Arc<Reactor>, pipe: $std) -> io::Result<Self> {
                Ok($ty {
                    io: register(reactor, pipe.into())?,
                })
            }

            /// Wraps a `std` child's pipe: puts it in non-blocking mode and registers it with
            /// the current runtime (an error outside one).
            ///
            /// ```
            /// use futures_lite::AsyncReadExt;
            /// use std::process::{Command, Stdio};
            ///
            /// spindle::run(async {
            #[doc = concat!("    let mut child = Command::new(\"true\").", $field, "(Stdio::piped()).spawn().unwrap();")]
            #[doc = concat!("    let pipe = child.", $field, ".take().unwrap();")]
            #[doc = concat!("    let mut pipe = spindle::process::", stringify!($ty), "::from_std(pipe).unwrap();")]
            ///     let mut all = Vec::new();
            ///     pipe.read_to_end(&mut all).await.unwrap();
            ///     assert!(all.is_empty());
            ///     child.wait().unwrap();
            /// });
            /// ```
            pub fn from_std(pipe: $std) -> io::Result<Self> {
                Self::register(current_reactor()?, pipe)
            }

            /// Deregisters the pipe and returns its descriptor in blocking mode (for example to
            /// become another child's stdin through [`Stdio::from`]).
            ///
            /// ```
            /// use spindle::process::{Command, Stdio};
            ///
            /// spindle::run(async {
            #[doc = concat!("    let mut child = Command::new(\"echo\").arg(\"hi\").", $field, "(Stdio::piped()).spawn().unwrap();")]
            #[doc = concat!("    let fd = child.", $field, ".take().unwrap().into_owned_fd().unwrap();")]
            ///     let mut text = String::new();
            ///     std::io::Read::read_to_string(&mut std::fs::File::from(fd), &mut text).unwrap();
            ///     child.wait().await.unwrap();
            /// });
            /// ```
            pub fn into_owned_fd(self) -> io::Result<OwnedFd> {
                unregister(self.io)
            }
        }

        impl futures_io::AsyncRead for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                futures_io::AsyncRead::poll_read(Pin::new(&mut &*self), cx, buf)
            }

            fn poll_read_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &mut [IoSliceMut<'_>],
            ) -> Poll<io::Result<usize>> {
                futures_io::AsyncRead::poll_read_vectored(Pin::new(&mut &*self), cx, bufs)
            }
        }

        impl futures_io::AsyncRead for &$ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                self.io
                    .poll_io(cx, Direction::Read, |mut pipe| pipe.read(buf))
            }

            fn poll_read_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &mut [IoSliceMut<'_>],
            ) -> Poll<io::Result<usize>> {
                self.io
                    .poll_io(cx, Direction::Read, |mut pipe| pipe.read_vectored(bufs))
            }
        }

        impl AsFd for $ty {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.io.get_ref().as_fd()
            }
        }

        impl AsRawFd for $ty {
            fn as_raw_fd(&self) -> RawFd {
                self.io.get_ref().as_raw_fd()
            }
        }

        impl TryFrom<$ty> for Stdio {
            type Error = io::Error;

            /// Hands the pipe to another child, e.g. one child's stdout as the next one's
            /// stdin (see `into_owned_fd`).
            fn try_from(pipe: $ty) -> io::Result<Stdio> {
                pipe.into_owned_fd().map(Stdio::from)
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($ty))
                    .field("fd", &self.as_raw_fd())
                    .finish()
            }
        }
    };
}

read_pipe!(ChildStdout, std::process::ChildStdout, "stdout");
read_pipe!(ChildStderr, std::process::ChildStderr, "stderr");
