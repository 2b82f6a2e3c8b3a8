//! [`UnixStream`]: connects asynchronously (to a path or a Linux abstract name), reads and
//! writes through the reactor, splits into halves, and exposes the readiness API.
//!
//! `connect` uses a non-blocking socket (through `socket2`) so it never blocks a worker thread;
//! a local connect normally finishes at once, and a refused or missing path is reported
//! immediately.

use crate::loom::sync::Arc;
use crate::net::{connect_in_progress, connect_outcome, sys, wait_connected};
use crate::reactor::Reactor;
use crate::reactor::io::PollIo;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::{self, SocketAddr};
use std::path::Path;

/// A Unix-domain stream connection. Implements [`futures_io::AsyncRead`] and
/// [`futures_io::AsyncWrite`], also for `&UnixStream`.
///
/// # Examples
///
/// ```no_run
/// use futures_lite::{AsyncReadExt, AsyncWriteExt};
/// use spindle::net::UnixStream;
///
/// async fn ping() -> std::io::Result<Vec<u8>> {
///     let mut stream = UnixStream::connect("/tmp/spindle-example.sock").await?;
///     stream.write_all(b"ping").await?;
///     let mut reply = Vec::new();
///     stream.read_to_end(&mut reply).await?;
///     Ok(reply)
/// }
///
/// let reply = spindle::run(ping()).unwrap();
/// println!("{}", String::from_utf8_lossy(&reply));
/// ```
pub struct UnixStream {
    io: PollIo<net::UnixStream>,
}

impl UnixStream {
    /// Connects to the listener bound at `path` (on Linux, a path that starts with a NUL byte
    /// is an abstract name). A path nobody listens on gives an error at once (`NotFound` or
    /// `ConnectionRefused`); if the listener's backlog is full the error has kind `WouldBlock`
    /// (try again later). Must be awaited inside a spindle runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UnixStream;
    ///
    /// spindle::run(async {
    ///     let missing = std::env::temp_dir().join("spindle-doc-no-such-socket");
    ///     let err = UnixStream::connect(&missing).await.unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    /// });
    /// ```
    pub fn connect<P: AsRef<Path>>(
        path: P,
    ) -> impl Future<Output = io::Result<UnixStream>> + Send + 'static {
        let addr = socket2::SockAddr::unix(path);
        async move {
            let addr = addr?;
            let reactor = crate::reactor::io::current_reactor()?;
            let socket = socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None)?;
            socket.set_nonblocking(true)?;
            match socket.connect(&addr) {
                Ok(()) => {}
                Err(err) if connect_in_progress(&err) => {}
                Err(err) => return Err(err),
            }
            let stream = UnixStream {
                io: PollIo::with_reactor(
                    reactor,
                    net::UnixStream::from(std::os::fd::OwnedFd::from(socket)),
                )?,
            };
            wait_connected(&stream.io, connect_outcome).await?;
            Ok(stream)
        }
    }

    /// A connected pair of streams (`socketpair(2)`), both registered with the current runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_lite::{AsyncReadExt, AsyncWriteExt};
    /// use spindle::net::UnixStream;
    ///
    /// spindle::run(async {
    ///     let (mut a, mut b) = UnixStream::pair().unwrap();
    ///     a.write_all(b"ping").await.unwrap();
    ///     let mut buf = [0u8; 4];
    ///     b.read_exact(&mut buf).await.unwrap();
    ///     assert_eq!(&buf, b"ping");
    /// });
    /// ```
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let reactor = crate::reactor::io::current_reactor()?;
        let (a, b) = net::UnixStream::pair()?;
        for s in [&a, &b] {
            s.set_nonblocking(true)?;
        }
        Ok((
            UnixStream::register(reactor.clone(), a)?,
            UnixStream::register(reactor, b)?,
        ))
    }

    /// Registers a connected, non-blocking stream with `reactor`.
    pub(crate) fn register(
        reactor: Arc<Reactor>,
        stream: net::UnixStream,
    ) -> io::Result<UnixStream> {
        stream.set_nonblocking(true)?;
        Ok(UnixStream {
            io: PollIo::with_reactor(reactor, stream)?,
        })
    }

    /// Wraps a connected `std` stream: puts it in non-blocking mode and registers it with the
    /// current runtime. Returns an error outside a runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_lite::{AsyncReadExt, AsyncWriteExt};
    /// use spindle::net::UnixStream;
    ///
    /// let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// spindle::run(async move {
    ///     let mut a = UnixStream::from_std(a).unwrap();
    ///     let mut b = UnixStream::from_std(b).unwrap();
    ///     a.write_all(b"hey").await.unwrap();
    ///     let mut buf = [0u8; 3];
    ///     b.read_exact(&mut buf).await.unwrap();
    ///     assert_eq!(&buf, b"hey");
    /// });
    /// ```
    pub fn from_std(stream: net::UnixStream) -> io::Result<UnixStream> {
        stream.set_nonblocking(true)?;
        Ok(UnixStream {
            io: PollIo::new(stream)?,
        })
    }

    /// Deregisters the stream and returns the `std` stream, still in non-blocking mode.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UnixStream;
    ///
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// spindle::run(async move {
    ///     let a = UnixStream::from_std(a).unwrap();
    ///     let a = a.into_std();
    ///     assert!(a.peer_addr().is_ok());
    /// });
    /// ```
    pub fn into_std(self) -> net::UnixStream {
        self.io.into_inner()
    }

    /// The address of this end of the connection.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UnixStream;
    ///
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// spindle::run(async move {
    ///     let a = UnixStream::from_std(a).unwrap();
    ///     assert!(a.local_addr().unwrap().is_unnamed());
    /// });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The address of the remote end of the connection.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UnixStream;
    ///
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// spindle::run(async move {
    ///     let a = UnixStream::from_std(a).unwrap();
    ///     assert!(a.peer_addr().unwrap().is_unnamed());
    /// });
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Shuts down the read half, the write half, or both. After `Shutdown::Write` the peer
    /// reads end-of-file. A connection the peer already closed counts as shut down (`Ok`).
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_lite::AsyncReadExt;
    /// use spindle::net::UnixStream;
    /// use std::net::Shutdown;
    ///
    /// let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// spindle::run(async move {
    ///     let a = UnixStream::from_std(a).unwrap();
    ///     let mut b = UnixStream::from_std(b).unwrap();
    ///     a.shutdown(Shutdown::Write).unwrap();
    ///     let mut buf = [0u8; 4];
    ///     assert_eq!(b.read(&mut buf).await.unwrap(), 0);
    /// });
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.shutdown_priv(how)
    }

    /// Takes the socket's pending error (`SO_ERROR`), if any.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UnixStream;
    ///
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// spindle::run(async move {
    ///     let a = UnixStream::from_std(a).unwrap();
    ///     assert!(a.take_error().unwrap().is_none());
    /// });
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }
}

impl_stream_primitives!(UnixStream, sys::stream_read_vectored);
impl_stream_api!(UnixStream, unix, sys::stream_read_vectored, unix_setup!());

impl TryFrom<net::UnixStream> for UnixStream {
    type Error = io::Error;

    /// The same as [`UnixStream::from_std`].
    fn try_from(stream: net::UnixStream) -> io::Result<UnixStream> {
        UnixStream::from_std(stream)
    }
}

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.io.get_ref(), f)
    }
}

impl AsFd for UnixStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl AsRawFd for UnixStream {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

// Crate-internal hook for `integrations/uninit.rs` (features `hyper`, `tokio-io`): receive
// straight into an uninitialized buffer (hyper's and tokio's read buffers), with the same
// readiness handling and drained/EOF hints as `AsyncRead::poll_read`.
#[cfg(any(feature = "hyper", feature = "tokio-io"))]
impl UnixStream {
    pub(crate) fn poll_recv_uninit(
        &self,
        cx: &mut std::task::Context<'_>,
        buf: &mut [std::mem::MaybeUninit<u8>],
    ) -> std::task::Poll<io::Result<usize>> {
        self.io
            .poll_io_hinted(cx, crate::reactor::io::Direction::Read, |s| {
                sys::stream_read_uninit(s, &mut *buf)
            })
    }
}
