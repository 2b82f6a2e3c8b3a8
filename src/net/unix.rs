//! Unix-domain stream sockets: a listener bound to a filesystem path and streams that connect
//! to it, both registered with the reactor.
//!
//! `connect` uses a non-blocking socket (through `socket2`) so it never blocks a worker thread;
//! a local connect normally finishes at once, and a refused or missing path is reported
//! immediately.

use super::{connect_in_progress, wait_connected};
use crate::reactor::io::{Direction, PollIo};
use std::fmt;
use std::future::Future;
use std::io;
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::{self, SocketAddr};
use std::path::Path;

/// A Unix-domain socket server, listening for connections on a path.
///
/// # Examples
///
/// ```no_run
/// use futures_lite::AsyncWriteExt;
/// use spindle::net::UnixListener;
///
/// async fn serve() -> std::io::Result<()> {
///     let listener = UnixListener::bind("/tmp/spindle-example.sock")?;
///     loop {
///         let (mut stream, _) = listener.accept().await?;
///         spindle::spawn(async move {
///             let _ = stream.write_all(b"hello\n").await;
///         });
///     }
/// }
///
/// spindle::run(serve()).unwrap();
/// ```
pub struct UnixListener {
    io: PollIo<net::UnixListener>,
}

impl UnixListener {
    /// Binds a listener to `path` (which must not exist yet) and registers it with the current
    /// runtime. Synchronous; returns an error outside a runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UnixListener;
    ///
    /// let path = std::env::temp_dir().join(format!("spindle-doc-bind-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// spindle::run(async {
    ///     let listener = UnixListener::bind(&path).unwrap();
    ///     assert_eq!(listener.local_addr().unwrap().as_pathname(), Some(path.as_path()));
    /// });
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixListener> {
        UnixListener::from_std(net::UnixListener::bind(path)?)
    }

    /// Wraps a bound `std` listener: puts it in non-blocking mode and registers it with the
    /// current runtime. Returns an error outside a runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UnixListener;
    ///
    /// let path = std::env::temp_dir().join(format!("spindle-doc-lstd-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// let std_listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    /// spindle::run(async move {
    ///     let listener = UnixListener::from_std(std_listener).unwrap();
    ///     assert!(listener.local_addr().unwrap().as_pathname().is_some());
    /// });
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn from_std(listener: net::UnixListener) -> io::Result<UnixListener> {
        listener.set_nonblocking(true)?;
        Ok(UnixListener {
            io: PollIo::new(listener)?,
        })
    }

    /// Deregisters the listener and returns the `std` listener, still in non-blocking mode.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UnixListener;
    ///
    /// let path = std::env::temp_dir().join(format!("spindle-doc-linto-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// spindle::run(async {
    ///     let listener = UnixListener::bind(&path).unwrap();
    ///     let std_listener = listener.into_std();
    ///     assert!(std_listener.local_addr().unwrap().as_pathname().is_some());
    /// });
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn into_std(self) -> net::UnixListener {
        self.io.into_inner()
    }

    /// Waits for a new connection; returns the connected stream and the peer's address (usually
    /// unnamed).
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::{UnixListener, UnixStream};
    ///
    /// let path = std::env::temp_dir().join(format!("spindle-doc-accept-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// spindle::run(async {
    ///     let listener = UnixListener::bind(&path).unwrap();
    ///     let client = UnixStream::connect(&path).await.unwrap();
    ///     let (server_side, _) = listener.accept().await.unwrap();
    ///     assert_eq!(
    ///         server_side.local_addr().unwrap().as_pathname(),
    ///         client.peer_addr().unwrap().as_pathname()
    ///     );
    /// });
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let (stream, peer) = self.io.io(Direction::Read, |l| l.accept()).await?;
        stream.set_nonblocking(true)?;
        let stream = UnixStream {
            io: PollIo::with_reactor(self.io.reactor().clone(), stream)?,
        };
        Ok((stream, peer))
    }

    /// The address this listener is bound to.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UnixListener;
    ///
    /// let path = std::env::temp_dir().join(format!("spindle-doc-laddr-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// spindle::run(async {
    ///     let listener = UnixListener::bind(&path).unwrap();
    ///     assert_eq!(listener.local_addr().unwrap().as_pathname(), Some(path.as_path()));
    /// });
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.io.get_ref(), f)
    }
}

impl AsFd for UnixListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl AsRawFd for UnixListener {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

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
    /// Connects to the listener bound at `path`. A path nobody listens on gives an error at
    /// once (`NotFound` or `ConnectionRefused`); if the listener's backlog is full the error has
    /// kind `WouldBlock` (try again later). Must be awaited inside a spindle runtime.
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
            wait_connected(&stream.io, |s| {
                if let Some(err) = s.take_error()? {
                    return Err(err);
                }
                s.peer_addr().map(|_| ())
            })
            .await?;
            Ok(stream)
        }
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
    /// reads end-of-file.
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
        self.io.get_ref().shutdown(how)
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

impl_stream_io!(UnixStream);

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
// readiness handling as `AsyncRead::poll_read`. socket2's `recv` takes `&mut [MaybeUninit<u8>]`
// and the kernel initializes exactly the bytes it reports.
#[cfg(any(feature = "hyper", feature = "tokio-io"))]
impl UnixStream {
    pub(crate) fn poll_recv_uninit(
        &self,
        cx: &mut std::task::Context<'_>,
        buf: &mut [std::mem::MaybeUninit<u8>],
    ) -> std::task::Poll<io::Result<usize>> {
        self.io
            .poll_io(cx, Direction::Read, |s| socket2::SockRef::from(s).recv(buf))
    }
}
