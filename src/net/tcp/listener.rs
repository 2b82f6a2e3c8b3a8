//! [`TcpListener`]: binds (resolving host names off the worker), accepts asynchronously, and
//! offers the accepted connections as a `Stream` ([`Incoming`]).

use super::TcpStream;
use crate::net::resolve::Target;
use crate::net::{each_addr, sys};
use crate::reactor::io::{Direction, PollIo};
use std::fmt;
use std::future::{Future, poll_fn};
use std::io;
use std::net::{self, SocketAddr, ToSocketAddrs};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};

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
    /// A host name (`"localhost:8080"`) is resolved off the worker thread (see the
    /// [module doc](crate::net#addresses-and-name-resolution)). The socket has `SO_REUSEADDR`
    /// and a backlog of 128, as `std` sets them; use [`TcpSocket`](crate::net::TcpSocket) to
    /// choose options and the backlog.
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
    ///     let named = TcpListener::bind("localhost:0").await.unwrap();
    ///     assert!(named.local_addr().unwrap().ip().is_loopback());
    /// });
    /// ```
    pub fn bind<A: ToSocketAddrs>(
        addr: A,
    ) -> impl Future<Output = io::Result<TcpListener>> + Send + 'static {
        let target = Target::new(addr);
        async move {
            let addrs = target.resolve().await?;
            let listener = each_addr(&addrs, net::TcpListener::bind)?;
            TcpListener::from_std(listener)
        }
    }

    /// Waits for a new connection; returns the connected stream and the peer's address.
    ///
    /// Several tasks may wait on one listener at once (through an `Arc`); each connection goes
    /// to one of them. Errors such as running out of file descriptors (`EMFILE`) are returned
    /// as they are; the listener stays usable.
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
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for a new connection (the poll form of [`accept`](Self::accept)).
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::{TcpListener, TcpStream};
    ///
    /// spindle::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    ///     let (_, peer) = std::future::poll_fn(|cx| listener.poll_accept(cx)).await.unwrap();
    ///     assert_eq!(peer, client.local_addr().unwrap());
    /// });
    /// ```
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        match self.io.poll_io(cx, Direction::Read, sys::accept_tcp) {
            Poll::Ready(Ok((stream, peer))) => Poll::Ready(
                // Accepted sockets inherit TCP_INQ from the listener (see `from_std`).
                TcpStream::register(self.io.reactor().clone(), stream).map(|s| (s, peer)),
            ),
            Poll::Ready(Err(err)) => Poll::Ready(Err(err)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// The accepted connections as a [`futures_core::Stream`] of `io::Result<TcpStream>`. It
    /// never ends; an accept error is one `Err` item, after which it goes on accepting.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_lite::StreamExt;
    /// use spindle::net::{TcpListener, TcpStream};
    ///
    /// spindle::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let addr = listener.local_addr().unwrap();
    ///     let clients = spindle::spawn(async move {
    ///         let mut kept = Vec::new();
    ///         for _ in 0..3 {
    ///             kept.push(TcpStream::connect(addr).await.unwrap());
    ///         }
    ///         kept
    ///     });
    ///     let accepted: Vec<_> = listener.incoming().take(3).collect().await;
    ///     assert_eq!(accepted.len(), 3);
    ///     assert!(accepted.iter().all(|s| s.is_ok()));
    ///     drop(clients.await.unwrap());
    /// });
    /// ```
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
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

    /// Sets `IP_TTL`, the time-to-live of the IP packets of the connections accepted from now
    /// on.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::TcpListener;
    ///
    /// spindle::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     listener.set_ttl(42).unwrap();
    ///     assert_eq!(listener.ttl().unwrap(), 42);
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
    /// use spindle::net::TcpListener;
    ///
    /// spindle::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     assert!(listener.ttl().unwrap() > 0);
    /// });
    /// ```
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// Takes the socket's pending error (`SO_ERROR`), if any.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::TcpListener;
    ///
    /// spindle::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     assert!(listener.take_error().unwrap().is_none());
    /// });
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
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
        // Inherited by every accepted socket: their reads learn when they drained the socket.
        sys::enable_inq(&listener);
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

impl TryFrom<net::TcpListener> for TcpListener {
    type Error = io::Error;

    /// The same as [`TcpListener::from_std`].
    fn try_from(listener: net::TcpListener) -> io::Result<TcpListener> {
        TcpListener::from_std(listener)
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

/// The connections accepted by a [`TcpListener`], as a [`futures_core::Stream`] of
/// `io::Result<TcpStream>`; from [`TcpListener::incoming`]. It never ends.
///
/// # Examples
///
/// ```
/// use futures_lite::StreamExt;
/// use spindle::net::{TcpListener, TcpStream};
///
/// spindle::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let _client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
///     let mut incoming = listener.incoming();
///     let stream = incoming.next().await.unwrap().unwrap();
///     assert!(stream.peer_addr().is_ok());
/// });
/// ```
#[derive(Debug)]
#[must_use = "streams do nothing unless polled"]
pub struct Incoming<'a> {
    listener: &'a TcpListener,
}

impl futures_core::Stream for Incoming<'_> {
    type Item = io::Result<TcpStream>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.listener
            .poll_accept(cx)
            .map(|accepted| Some(accepted.map(|(stream, _)| stream)))
    }
}
