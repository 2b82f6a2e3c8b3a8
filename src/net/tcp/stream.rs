//! [`TcpStream`]: connects asynchronously, reads and writes through the reactor (with the
//! drained-read and short-write hints of `net::sys`), splits into halves, and exposes the
//! readiness API and the usual socket options.
//!
//! `connect` creates the socket itself (through `socket2`, since `std` can only connect in
//! blocking mode), starts a non-blocking connect, registers the socket, waits until it is
//! writable and then asks the socket whether the connection succeeded (`SO_ERROR`, then the peer
//! address), so a refused connection comes back as `ConnectionRefused` instead of hanging.

use crate::loom::sync::Arc;
use crate::net::resolve::Target;
use crate::net::{connect_in_progress, connect_outcome, sys, wait_connected};
use crate::reactor::Reactor;
use crate::reactor::io::{Direction, PollIo};
use std::fmt;
use std::future::{Future, poll_fn};
use std::io;
use std::net::{self, Shutdown, SocketAddr, ToSocketAddrs};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::task::{Context, Poll};
use std::time::Duration;

/// A TCP connection. Implements [`futures_io::AsyncRead`] and [`futures_io::AsyncWrite`], also
/// for `&TcpStream`, so one task can read while another writes (share it through an `Arc`).
///
/// # Examples
///
/// ```no_run
/// use futures_lite::{AsyncReadExt, AsyncWriteExt};
/// use spindle::net::TcpStream;
///
/// async fn ping() -> std::io::Result<[u8; 4]> {
///     let mut stream = TcpStream::connect("127.0.0.1:8080").await?;
///     stream.write_all(b"ping").await?;
///     let mut reply = [0u8; 4];
///     stream.read_exact(&mut reply).await?;
///     Ok(reply)
/// }
///
/// let reply = spindle::run(ping()).unwrap();
/// println!("{}", String::from_utf8_lossy(&reply));
/// ```
pub struct TcpStream {
    io: PollIo<net::TcpStream>,
}

impl TcpStream {
    /// Opens a connection to `addr`, trying each resolved address in turn (the last error is
    /// returned if none works). A closed port gives `ConnectionRefused`. A host name
    /// (`"localhost:8080"`, `("localhost", 8080)`) is resolved off the worker thread (see the
    /// [module doc](crate::net#addresses-and-name-resolution)).
    ///
    /// Must be awaited inside a spindle runtime (otherwise it returns an error).
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::TcpStream;
    ///
    /// spindle::run(async {
    ///     // Find a port that nobody listens on.
    ///     let port = std::net::TcpListener::bind("127.0.0.1:0")
    ///         .unwrap()
    ///         .local_addr()
    ///         .unwrap()
    ///         .port();
    ///     let err = TcpStream::connect(("127.0.0.1", port)).await.unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    /// });
    /// ```
    pub fn connect<A: ToSocketAddrs>(
        addr: A,
    ) -> impl Future<Output = io::Result<TcpStream>> + Send + 'static {
        let target = Target::new(addr);
        async move {
            let mut last_err = None;
            for addr in target.resolve().await? {
                match TcpStream::connect_addr(addr).await {
                    Ok(stream) => return Ok(stream),
                    Err(err) => last_err = Some(err),
                }
            }
            Err(last_err.expect("`Target::resolve` returns at least one address"))
        }
    }

    async fn connect_addr(addr: SocketAddr) -> io::Result<TcpStream> {
        let socket = socket2::Socket::new(
            socket2::Domain::for_address(addr),
            socket2::Type::STREAM,
            Some(socket2::Protocol::TCP),
        )?;
        TcpStream::connect_socket(socket, addr).await
    }

    /// Connects `socket` (non-blocking, maybe bound and configured by `TcpSocket`) to `addr`.
    pub(crate) async fn connect_socket(
        socket: socket2::Socket,
        addr: SocketAddr,
    ) -> io::Result<TcpStream> {
        let reactor = crate::reactor::io::current_reactor()?;
        socket.set_nonblocking(true)?;
        sys::enable_inq(&socket);
        match socket.connect(&addr.into()) {
            Ok(()) => {}
            Err(err) if connect_in_progress(&err) => {}
            Err(err) => return Err(err),
        }
        let stream = TcpStream {
            io: PollIo::with_reactor(reactor, net::TcpStream::from(socket))?,
        };
        wait_connected(&stream.io, connect_outcome).await?;
        Ok(stream)
    }

    /// Registers a connected, non-blocking stream (from `accept`) with `reactor`.
    pub(crate) fn register(reactor: Arc<Reactor>, stream: net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            io: PollIo::with_reactor(reactor, stream)?,
        })
    }

    /// Wraps a connected `std` stream: puts it in non-blocking mode and registers it with the
    /// current runtime. Returns an error outside a runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::TcpStream;
    ///
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let std_stream = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    /// spindle::run(async move {
    ///     let stream = TcpStream::from_std(std_stream).unwrap();
    ///     assert_eq!(stream.peer_addr().unwrap(), listener.local_addr().unwrap());
    /// });
    /// ```
    pub fn from_std(stream: net::TcpStream) -> io::Result<TcpStream> {
        let reactor = crate::reactor::io::current_reactor()?;
        stream.set_nonblocking(true)?;
        sys::enable_inq(&stream);
        TcpStream::register(reactor, stream)
    }

    /// Deregisters the stream and returns the `std` stream, still in non-blocking mode.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::{TcpListener, TcpStream};
    ///
    /// spindle::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let stream = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    ///     let peer = stream.peer_addr().unwrap();
    ///     assert_eq!(stream.into_std().peer_addr().unwrap(), peer);
    /// });
    /// ```
    pub fn into_std(self) -> net::TcpStream {
        self.io.into_inner()
    }

    /// The address of the remote peer.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::{TcpListener, TcpStream};
    ///
    /// spindle::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let addr = listener.local_addr().unwrap();
    ///     let stream = TcpStream::connect(addr).await.unwrap();
    ///     assert_eq!(stream.peer_addr().unwrap(), addr);
    /// });
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// The local address of this end of the connection.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::{TcpListener, TcpStream};
    ///
    /// spindle::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let stream = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    ///     let (_, peer) = listener.accept().await.unwrap();
    ///     assert_eq!(stream.local_addr().unwrap(), peer);
    /// });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Sets `TCP_NODELAY` (disables Nagle's algorithm when `true`).
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::{TcpListener, TcpStream};
    ///
    /// spindle::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let stream = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    ///     stream.set_nodelay(true).unwrap();
    ///     assert!(stream.nodelay().unwrap());
    /// });
    /// ```
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.get_ref().set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::{TcpListener, TcpStream};
    ///
    /// spindle::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let stream = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    ///     stream.set_nodelay(false).unwrap();
    ///     assert!(!stream.nodelay().unwrap());
    /// });
    /// ```
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get_ref().nodelay()
    }

    /// Shuts down the read half, the write half, or both. After `Shutdown::Write` the peer
    /// reads end-of-file. A connection that the peer already reset counts as shut down
    /// (`Ok`, as in tokio), so closing a stream never fails just because the client left.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_lite::AsyncReadExt;
    /// use spindle::net::{TcpListener, TcpStream};
    /// use std::net::Shutdown;
    ///
    /// spindle::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    ///     let (mut server, _) = listener.accept().await.unwrap();
    ///     client.shutdown(Shutdown::Write).unwrap();
    ///     let mut buf = [0u8; 8];
    ///     assert_eq!(server.read(&mut buf).await.unwrap(), 0);
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
    /// use spindle::net::{TcpListener, TcpStream};
    ///
    /// spindle::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let stream = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    ///     assert!(stream.take_error().unwrap().is_none());
    /// });
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }

    /// Receives data without removing it from the socket: the next read returns it again.
    /// Waits until at least one byte (or end-of-file: `Ok(0)`) is there.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_lite::{AsyncReadExt, AsyncWriteExt};
    /// use spindle::net::{TcpListener, TcpStream};
    ///
    /// spindle::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let mut client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    ///     let (mut server, _) = listener.accept().await.unwrap();
    ///     client.write_all(b"GET /").await.unwrap();
    ///     let mut head = [0u8; 3];
    ///     let n = server.peek(&mut head).await.unwrap();
    ///     assert_eq!(&head[..n], &b"GET"[..n]);
    ///     let mut all = [0u8; 5];
    ///     server.read_exact(&mut all).await.unwrap();
    ///     assert_eq!(&all, b"GET /");
    /// });
    /// ```
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_peek(cx, buf)).await
    }

    /// Polls a [`peek`](Self::peek).
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_lite::AsyncWriteExt;
    /// use spindle::net::{TcpListener, TcpStream};
    ///
    /// spindle::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let mut client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    ///     let (server, _) = listener.accept().await.unwrap();
    ///     client.write_all(b"x").await.unwrap();
    ///     let mut buf = [0u8; 1];
    ///     let n = std::future::poll_fn(|cx| server.poll_peek(cx, &mut buf)).await.unwrap();
    ///     assert_eq!(&buf[..n], b"x");
    /// });
    /// ```
    pub fn poll_peek(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io.poll_io(cx, Direction::Read, |s| s.peek(buf))
    }

    /// Sets `SO_LINGER`: with `Some(d)`, closing the socket waits up to `d` for unsent data
    /// (blocking the thread that drops it, so prefer `Some(Duration::ZERO)`, which resets the
    /// connection at once, or `None`, the default: close in the background).
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::{TcpListener, TcpStream};
    /// use std::time::Duration;
    ///
    /// spindle::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let stream = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    ///     stream.set_linger(Some(Duration::ZERO)).unwrap();
    ///     assert_eq!(stream.linger().unwrap(), Some(Duration::ZERO));
    /// });
    /// ```
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        socket2::SockRef::from(self.io.get_ref()).set_linger(linger)
    }

    /// The `SO_LINGER` value (see [`set_linger`](Self::set_linger)).
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::{TcpListener, TcpStream};
    ///
    /// spindle::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let stream = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    ///     assert_eq!(stream.linger().unwrap(), None);
    /// });
    /// ```
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        socket2::SockRef::from(self.io.get_ref()).linger()
    }

    /// Sets `IP_TTL`, the time-to-live of this connection's IP packets.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::{TcpListener, TcpStream};
    ///
    /// spindle::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let stream = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    ///     stream.set_ttl(100).unwrap();
    ///     assert_eq!(stream.ttl().unwrap(), 100);
    /// });
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// The `IP_TTL` value (see [`set_ttl`](Self::set_ttl)).
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::{TcpListener, TcpStream};
    ///
    /// spindle::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let stream = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    ///     assert!(stream.ttl().unwrap() > 0);
    /// });
    /// ```
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }
}

impl_stream_primitives!(TcpStream, sys::tcp_read_vectored);
impl_stream_api!(TcpStream, tcp, sys::tcp_read_vectored, tcp_setup!());

impl TryFrom<net::TcpStream> for TcpStream {
    type Error = io::Error;

    /// The same as [`TcpStream::from_std`].
    fn try_from(stream: net::TcpStream) -> io::Result<TcpStream> {
        TcpStream::from_std(stream)
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.io.get_ref(), f)
    }
}

impl AsFd for TcpStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

// Crate-internal hook for `integrations/uninit.rs` (features `hyper`, `tokio-io`): receive
// straight into an uninitialized buffer (hyper's and tokio's read buffers), with the same
// readiness handling and drained/EOF hints as `AsyncRead::poll_read`.
#[cfg(any(feature = "hyper", feature = "tokio-io"))]
impl TcpStream {
    pub(crate) fn poll_recv_uninit(
        &self,
        cx: &mut std::task::Context<'_>,
        buf: &mut [std::mem::MaybeUninit<u8>],
    ) -> std::task::Poll<io::Result<usize>> {
        self.io
            .poll_io_hinted(cx, crate::reactor::io::Direction::Read, |s| {
                sys::tcp_read_uninit(s, &mut *buf)
            })
    }
}
