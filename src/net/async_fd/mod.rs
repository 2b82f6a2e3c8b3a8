//! [`AsyncFd`]: any non-blocking file descriptor (a pipe, an eventfd, a device, a socket type
//! spindle does not wrap) registered with the reactor, with readiness guards in tokio's shape.
//!
//! Readiness is **edge-triggered** and cached, exactly as for spindle's own sockets: the
//! reactor records "may be readable/writable" when the kernel reports a change, and that
//! stays true until you say otherwise. The contract, in one line: *after an operation returns
//! `WouldBlock`, call [`AsyncFdReadyGuard::clear_ready`] (or use
//! [`AsyncFdReadyGuard::try_io`], which does it), and never clear readiness otherwise.*
//!
//! * Not clearing after `WouldBlock` makes the next `readable()` return at once, forever: a
//!   busy loop.
//! * Clearing without having seen `WouldBlock` can lose the only notification: the kernel
//!   reports an edge only when something *new* happens, so data that was already there when
//!   you cleared is never announced again and the task may wait forever.
//!
//! A clear that races with a newer event keeps the newer readiness (each event advances a
//! tick, and a guard only clears the readiness it observed).

mod guard;

pub use guard::{AsyncFdReadyGuard, AsyncFdReadyMutGuard, TryIoError};

use crate::reactor::io::{Direction, PollIo};
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::task::{Context, Poll};

/// A file descriptor registered with the reactor; owns the object `T` that owns the fd, and
/// deletes the fd from the reactor before dropping `T`.
///
/// The fd must be in non-blocking mode (otherwise an operation blocks the worker thread) and
/// pollable (sockets, pipes, FIFOs, terminals, eventfd, timerfd, signalfd, ...; not regular
/// files).
///
/// # Edge-triggered readiness
///
/// Readiness is **edge-triggered** and cached, exactly as for spindle's own sockets: the
/// reactor records "may be readable/writable" when the kernel reports a change, and that
/// stays true until you say otherwise. The contract, in one line: *after an operation returns
/// `WouldBlock`, call [`AsyncFdReadyGuard::clear_ready`] (or use
/// [`AsyncFdReadyGuard::try_io`], which does it), and never clear readiness otherwise.*
///
/// * Not clearing after `WouldBlock` makes the next `readable()` return at once, forever: a
///   busy loop.
/// * Clearing without having seen `WouldBlock` can lose the only notification: the kernel
///   reports an edge only when something *new* happens, so data that was already there when
///   you cleared is never announced again and the task may wait forever.
///
/// A clear that races with a newer event keeps the newer readiness (each event advances a
/// tick, and a guard only clears the readiness it observed). A new `AsyncFd` counts as ready
/// in both directions, so the first operation is simply attempted.
///
/// # Examples
///
/// A non-blocking socket pair from `std`, read through `AsyncFd`:
///
/// ```
/// use spindle::net::AsyncFd;
/// use std::io::{Read, Write};
/// use std::os::unix::net::UnixStream;
///
/// spindle::run(async {
///     let (a, mut b) = UnixStream::pair().unwrap();
///     a.set_nonblocking(true).unwrap();
///     let fd = AsyncFd::new(a).unwrap();
///     let writer = std::thread::spawn(move || b.write_all(b"wake up").unwrap());
///     let mut buf = [0u8; 16];
///     let n = loop {
///         let mut guard = fd.readable().await.unwrap();
///         match guard.try_io(|inner| inner.get_ref().read(&mut buf)) {
///             Ok(result) => break result.unwrap(),
///             Err(_would_block) => continue, // readiness cleared; wait for the next event
///         }
///     };
///     writer.join().unwrap();
///     assert_eq!(&buf[..n], b"wake up");
/// });
/// ```
pub struct AsyncFd<T: AsFd> {
    io: PollIo<T>,
}

impl<T: AsFd> AsyncFd<T> {
    /// Registers `inner` for both read and write readiness with the current runtime. Errors:
    /// outside a runtime (the message says how to fix it), and for an fd the OS cannot poll
    /// (`PermissionDenied` for a regular file, with a message that says so); `inner` is
    /// dropped then.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::AsyncFd;
    ///
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
    /// // Outside a runtime: a clear error.
    /// let err = AsyncFd::new(a.try_clone().unwrap()).unwrap_err();
    /// assert!(err.to_string().contains("spindle runtime"));
    /// spindle::run(async move {
    ///     let fd = AsyncFd::new(a).unwrap();
    ///     assert!(fd.get_ref().peer_addr().is_ok());
    /// });
    /// ```
    pub fn new(inner: T) -> io::Result<AsyncFd<T>> {
        PollIo::new(inner)
            .map(|io| AsyncFd { io })
            .map_err(|err| match err.kind() {
                io::ErrorKind::PermissionDenied => io::Error::new(
                    err.kind(),
                    format!(
                        "this file descriptor cannot be polled ({err}); regular files and \
                         directories are always ready: read them with blocking calls on \
                         `spindle::spawn_blocking` instead"
                    ),
                ),
                _ => err,
            })
    }

    /// The wrapped object.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::AsyncFd;
    ///
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
    /// spindle::run(async move {
    ///     let fd = AsyncFd::new(a).unwrap();
    ///     assert!(fd.get_ref().local_addr().is_ok());
    /// });
    /// ```
    pub fn get_ref(&self) -> &T {
        self.io.get_ref()
    }

    /// The wrapped object, mutably (do not replace its fd: the registration is for the
    /// original one).
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::AsyncFd;
    /// use std::io::Write;
    ///
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
    /// spindle::run(async move {
    ///     let mut fd = AsyncFd::new(a).unwrap();
    ///     assert_eq!(fd.get_mut().write(b"x").unwrap(), 1);
    /// });
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.io.get_mut()
    }

    /// Deregisters the fd and returns the object.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::AsyncFd;
    ///
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
    /// spindle::run(async move {
    ///     let fd = AsyncFd::new(a).unwrap();
    ///     let a = fd.into_inner();
    ///     // Registering it again works: it left the reactor.
    ///     let _again = AsyncFd::new(a).unwrap();
    /// });
    /// ```
    pub fn into_inner(self) -> T {
        self.io.into_inner()
    }

    /// Waits until the fd may be readable and returns a guard for that readiness (see the
    /// [`AsyncFd` docs](AsyncFd#edge-triggered-readiness) for when to clear it).
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::AsyncFd;
    /// use std::io::{Read, Write};
    ///
    /// let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
    /// b.write_all(b"ready").unwrap();
    /// spindle::run(async move {
    ///     let fd = AsyncFd::new(a).unwrap();
    ///     let mut guard = fd.readable().await.unwrap();
    ///     let mut buf = [0u8; 5];
    ///     let n = guard.try_io(|inner| inner.get_ref().read(&mut buf)).unwrap().unwrap();
    ///     assert_eq!(&buf[..n], b"ready");
    /// });
    /// ```
    pub async fn readable(&self) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        poll_fn(|cx| self.poll_read_ready(cx)).await
    }

    /// Waits until the fd may be writable and returns a guard for that readiness.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::AsyncFd;
    /// use std::io::Write;
    ///
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
    /// spindle::run(async move {
    ///     let fd = AsyncFd::new(a).unwrap();
    ///     let mut guard = fd.writable().await.unwrap();
    ///     let n = guard.try_io(|inner| inner.get_ref().write(b"out")).unwrap().unwrap();
    ///     assert_eq!(n, 3);
    /// });
    /// ```
    pub async fn writable(&self) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        poll_fn(|cx| self.poll_write_ready(cx)).await
    }

    /// [`readable`](Self::readable) with a guard that lends `&mut AsyncFd` (for objects whose
    /// I/O methods need `&mut self`).
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::AsyncFd;
    /// use std::io::{Read, Write};
    ///
    /// let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
    /// b.write_all(b"m").unwrap();
    /// spindle::run(async move {
    ///     let mut fd = AsyncFd::new(a).unwrap();
    ///     let mut guard = fd.readable_mut().await.unwrap();
    ///     let mut buf = [0u8; 1];
    ///     let n = guard.try_io(|inner| inner.get_mut().read(&mut buf)).unwrap().unwrap();
    ///     assert_eq!(n, 1);
    /// });
    /// ```
    pub async fn readable_mut(&mut self) -> io::Result<AsyncFdReadyMutGuard<'_, T>> {
        let tick = poll_fn(|cx| self.io.poll_ready(cx, Direction::Read)).await?;
        Ok(AsyncFdReadyMutGuard {
            fd: self,
            dir: Direction::Read,
            tick,
        })
    }

    /// [`writable`](Self::writable) with a guard that lends `&mut AsyncFd`.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::AsyncFd;
    /// use std::io::Write;
    ///
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
    /// spindle::run(async move {
    ///     let mut fd = AsyncFd::new(a).unwrap();
    ///     let mut guard = fd.writable_mut().await.unwrap();
    ///     let n = guard.try_io(|inner| inner.get_mut().write(b"w")).unwrap().unwrap();
    ///     assert_eq!(n, 1);
    /// });
    /// ```
    pub async fn writable_mut(&mut self) -> io::Result<AsyncFdReadyMutGuard<'_, T>> {
        let tick = poll_fn(|cx| self.io.poll_ready(cx, Direction::Write)).await?;
        Ok(AsyncFdReadyMutGuard {
            fd: self,
            dir: Direction::Write,
            tick,
        })
    }

    /// Polls for read readiness (the poll form of [`readable`](Self::readable)).
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::AsyncFd;
    /// use std::io::Write;
    ///
    /// let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
    /// b.write_all(b"p").unwrap();
    /// spindle::run(async move {
    ///     let fd = AsyncFd::new(a).unwrap();
    ///     let guard = std::future::poll_fn(|cx| fd.poll_read_ready(cx)).await.unwrap();
    ///     guard.retain_ready();
    /// });
    /// ```
    pub fn poll_read_ready<'a>(
        &'a self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'a, T>>> {
        self.poll_guard(cx, Direction::Read)
    }

    /// Polls for write readiness (the poll form of [`writable`](Self::writable)).
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::AsyncFd;
    ///
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
    /// spindle::run(async move {
    ///     let fd = AsyncFd::new(a).unwrap();
    ///     let guard = std::future::poll_fn(|cx| fd.poll_write_ready(cx)).await.unwrap();
    ///     guard.retain_ready();
    /// });
    /// ```
    pub fn poll_write_ready<'a>(
        &'a self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'a, T>>> {
        self.poll_guard(cx, Direction::Write)
    }

    fn poll_guard<'a>(
        &'a self,
        cx: &mut Context<'_>,
        dir: Direction,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'a, T>>> {
        self.io.poll_ready(cx, dir).map(|ready| {
            ready.map(|tick| AsyncFdReadyGuard {
                fd: self,
                dir,
                tick,
            })
        })
    }
}

impl<T: AsFd> AsFd for AsyncFd<T> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl<T: AsFd> AsRawFd for AsyncFd<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_fd().as_raw_fd()
    }
}

impl<T: AsFd + fmt::Debug> fmt::Debug for AsyncFd<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFd")
            .field("inner", self.io.get_ref())
            .finish()
    }
}
