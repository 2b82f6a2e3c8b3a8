//! TCP: a listener that accepts asynchronously and a stream that connects asynchronously.
//!
//! `connect` creates the socket itself (through `socket2`, since `std` can only connect in
//! blocking mode), starts a non-blocking connect, registers the socket, waits until it is
//! writable and then asks the socket whether the connection succeeded (`SO_ERROR`, then the peer
//! address), so a refused connection comes back as `ConnectionRefused` instead of hanging.

use super::{connect_in_progress, each_addr, resolve, wait_connected};
use crate::loom::sync::Arc;
use crate::reactor::Reactor;
use crate::reactor::io::{Direction, PollIo};
use std::fmt;
use std::future::Future;
use std::io;
use std::net::{self, Shutdown, SocketAddr, ToSocketAddrs};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

/// A TCP socket server, listening for connections.
///
/// # Examples
///
/// ```no_run
/// use futures_lite::AsyncWriteExt;
/// use spindle::net::TcpListener;
///
/// async fn serve() -> std::io::Result<()> {
///     let listener = TcpListener::bind("127.0.0.1:8080").await?;
///     loop {
///         let (mut stream, peer) = listener.accept().await?;
///         spindle::spawn(async move {
///             let _ = stream.write_all(format!("hello, {peer}\n").as_bytes()).await;
///         });
///     }
/// }
///
/// spindle::run(serve()).unwrap();
/// ```
pub struct TcpListener {
    io: PollIo<net::TcpListener>,
}

impl TcpListener {
    /// Binds a listener to `addr`, trying each resolved address in turn (the last error is
    /// returned if none works). Port 0 picks a free port; see [`local_addr`](Self::local_addr).
    ///
    /// Must be awaited inside a spindle runtime (otherwise it returns an error).
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::TcpListener;
    ///
    /// spindle::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     assert_ne!(listener.local_addr().unwrap().port(), 0);
    /// });
    /// ```
    pub fn bind<A: ToSocketAddrs>(
        addr: A,
    ) -> impl Future<Output = io::Result<TcpListener>> + Send + 'static {
        let addrs = resolve(addr);
        async move {
            let listener = each_addr(&addrs?, net::TcpListener::bind)?;
            TcpListener::from_std(listener)
        }
    }

    /// Waits for a new connection; returns the connected stream and the peer's address.
    ///
    /// Several tasks may wait on one listener at once (through an `Arc`); each connection goes
    /// to one of them.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::{TcpListener, TcpStream};
    ///
    /// spindle::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let addr = listener.local_addr().unwrap();
    ///     let client = spindle::spawn(async move { TcpStream::connect(addr).await.unwrap() });
    ///     let (server_side, peer) = listener.accept().await.unwrap();
    ///     let client = client.await.unwrap();
    ///     assert_eq!(peer, client.local_addr().unwrap());
    ///     assert_eq!(server_side.peer_addr().unwrap(), client.local_addr().unwrap());
    /// });
    /// ```
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (stream, peer) = self.io.io(Direction::Read, |l| l.accept()).await?;
        let stream = TcpStream::register(self.io.reactor().clone(), stream)?;
        Ok((stream, peer))
    }

    /// The address this listener is bound to.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::TcpListener;
    ///
    /// spindle::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     assert!(listener.local_addr().unwrap().ip().is_loopback());
    /// });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Wraps a bound `std` listener: puts it in non-blocking mode and registers it with the
    /// current runtime. Returns an error outside a runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::TcpListener;
    ///
    /// let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let addr = std_listener.local_addr().unwrap();
    /// spindle::run(async move {
    ///     let listener = TcpListener::from_std(std_listener).unwrap();
    ///     assert_eq!(listener.local_addr().unwrap(), addr);
    /// });
    /// ```
    pub fn from_std(listener: net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        Ok(TcpListener {
            io: PollIo::new(listener)?,
        })
    }

    /// Deregisters the listener and returns the `std` listener, still in non-blocking mode.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::TcpListener;
    ///
    /// spindle::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let addr = listener.local_addr().unwrap();
    ///     let std_listener = listener.into_std();
    ///     assert_eq!(std_listener.local_addr().unwrap(), addr);
    /// });
    /// ```
    pub fn into_std(self) -> net::TcpListener {
        self.io.into_inner()
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.io.get_ref(), f)
    }
}

impl AsFd for TcpListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

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
    /// returned if none works). A closed port gives `ConnectionRefused`.
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
        let addrs = resolve(addr);
        async move {
            let mut last_err = None;
            for addr in addrs? {
                match TcpStream::connect_addr(addr).await {
                    Ok(stream) => return Ok(stream),
                    Err(err) => last_err = Some(err),
                }
            }
            Err(last_err.expect("`resolve` returns at least one address"))
        }
    }

    async fn connect_addr(addr: SocketAddr) -> io::Result<TcpStream> {
        let reactor = crate::reactor::io::current_reactor()?;
        let socket = socket2::Socket::new(
            socket2::Domain::for_address(addr),
            socket2::Type::STREAM,
            Some(socket2::Protocol::TCP),
        )?;
        socket.set_nonblocking(true)?;
        match socket.connect(&addr.into()) {
            Ok(()) => {}
            Err(err) if connect_in_progress(&err) => {}
            Err(err) => return Err(err),
        }
        let stream = TcpStream {
            io: PollIo::with_reactor(reactor, net::TcpStream::from(socket))?,
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

    fn register(reactor: Arc<Reactor>, stream: net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
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
        TcpStream::register(crate::reactor::io::current_reactor()?, stream)
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
    /// reads end-of-file.
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
        self.io.get_ref().shutdown(how)
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
}

impl_stream_io!(TcpStream);

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
// readiness handling as `AsyncRead::poll_read`. socket2's `recv` takes `&mut [MaybeUninit<u8>]`
// and the kernel initializes exactly the bytes it reports.
#[cfg(any(feature = "hyper", feature = "tokio-io"))]
impl TcpStream {
    pub(crate) fn poll_recv_uninit(
        &self,
        cx: &mut std::task::Context<'_>,
        buf: &mut [std::mem::MaybeUninit<u8>],
    ) -> std::task::Poll<io::Result<usize>> {
        self.io
            .poll_io(cx, Direction::Read, |s| socket2::SockRef::from(s).recv(buf))
    }
}
