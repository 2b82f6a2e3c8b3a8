//! UDP: a non-blocking `std::net::UdpSocket` registered with the reactor — binding,
//! connecting, sending and receiving (async and poll forms), readiness. The `try_*` and peek
//! operations live in `try_ops.rs`, the socket options in `options.rs`.
//!
//! Every operation takes `&self`, so one socket can be shared by many tasks through an `Arc`;
//! each datagram goes to one of the receiving tasks.

mod options;
mod try_ops;

use super::each_addr;
use super::resolve::Target;
use crate::reactor::io::{Direction, PollIo};
use std::fmt;
use std::future::{Future, poll_fn};
use std::io;
use std::net::{self, SocketAddr, ToSocketAddrs};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::task::{Context, Poll};

/// A UDP socket.
///
/// # Examples
///
/// ```
/// use spindle::net::UdpSocket;
///
/// spindle::run(async {
///     let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
///     let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
///     a.send_to(b"ping", b.local_addr().unwrap()).await.unwrap();
///     let mut buf = [0u8; 16];
///     let (n, from) = b.recv_from(&mut buf).await.unwrap();
///     assert_eq!(&buf[..n], b"ping");
///     assert_eq!(from, a.local_addr().unwrap());
/// });
/// ```
pub struct UdpSocket {
    io: PollIo<net::UdpSocket>,
}

impl UdpSocket {
    /// Binds a socket to `addr`, trying each resolved address in turn (the last error is
    /// returned if none works); a host name is resolved off the worker thread (see the
    /// [module doc](crate::net#addresses-and-name-resolution)). Must be awaited inside a
    /// spindle runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UdpSocket;
    ///
    /// spindle::run(async {
    ///     let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     assert_ne!(socket.local_addr().unwrap().port(), 0);
    /// });
    /// ```
    pub fn bind<A: ToSocketAddrs>(
        addr: A,
    ) -> impl Future<Output = io::Result<UdpSocket>> + Send + 'static {
        let target = Target::new(addr);
        async move {
            let socket = each_addr(&target.resolve().await?, net::UdpSocket::bind)?;
            UdpSocket::from_std(socket)
        }
    }

    /// Wraps a bound `std` socket: puts it in non-blocking mode and registers it with the
    /// current runtime. Returns an error outside a runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UdpSocket;
    ///
    /// let std_socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let addr = std_socket.local_addr().unwrap();
    /// spindle::run(async move {
    ///     let socket = UdpSocket::from_std(std_socket).unwrap();
    ///     assert_eq!(socket.local_addr().unwrap(), addr);
    /// });
    /// ```
    pub fn from_std(socket: net::UdpSocket) -> io::Result<UdpSocket> {
        socket.set_nonblocking(true)?;
        Ok(UdpSocket {
            io: PollIo::new(socket)?,
        })
    }

    /// Deregisters the socket and returns the `std` socket, still in non-blocking mode.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UdpSocket;
    ///
    /// spindle::run(async {
    ///     let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     let addr = socket.local_addr().unwrap();
    ///     assert_eq!(socket.into_std().local_addr().unwrap(), addr);
    /// });
    /// ```
    pub fn into_std(self) -> net::UdpSocket {
        self.io.into_inner()
    }

    /// The address this socket is bound to.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UdpSocket;
    ///
    /// spindle::run(async {
    ///     let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     assert!(socket.local_addr().unwrap().ip().is_loopback());
    /// });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The address this socket is connected to (see [`connect`](Self::connect)).
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UdpSocket;
    ///
    /// spindle::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     a.connect(b.local_addr().unwrap()).await.unwrap();
    ///     assert_eq!(a.peer_addr().unwrap(), b.local_addr().unwrap());
    /// });
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Sets the default destination for [`send`](Self::send) and the only source
    /// [`recv`](Self::recv) accepts, trying each resolved address in turn.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UdpSocket;
    ///
    /// spindle::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     a.connect(b.local_addr().unwrap()).await.unwrap();
    ///     b.connect(a.local_addr().unwrap()).await.unwrap();
    ///     a.send(b"hi").await.unwrap();
    ///     let mut buf = [0u8; 8];
    ///     assert_eq!(b.recv(&mut buf).await.unwrap(), 2);
    ///     assert_eq!(&buf[..2], b"hi");
    /// });
    /// ```
    pub async fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        let addrs = Target::new(addr).resolve().await?;
        each_addr(&addrs, |addr| self.io.get_ref().connect(addr))
    }

    /// Sends one datagram to `target` (its first resolved address; a host name is resolved off
    /// the worker thread); returns the bytes sent.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UdpSocket;
    ///
    /// spindle::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     let sent = a.send_to(b"abc", b.local_addr().unwrap()).await.unwrap();
    ///     assert_eq!(sent, 3);
    /// });
    /// ```
    pub async fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], target: A) -> io::Result<usize> {
        let target = Target::new(target).resolve().await?[0];
        poll_fn(|cx| self.poll_send_to(cx, buf, target)).await
    }

    /// Receives one datagram; returns its length and sender. Bytes beyond `buf.len()` are
    /// discarded.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UdpSocket;
    ///
    /// spindle::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     a.send_to(b"xyz", b.local_addr().unwrap()).await.unwrap();
    ///     let mut buf = [0u8; 8];
    ///     let (n, from) = b.recv_from(&mut buf).await.unwrap();
    ///     assert_eq!((&buf[..n], from), (&b"xyz"[..], a.local_addr().unwrap()));
    /// });
    /// ```
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        poll_fn(|cx| self.poll_recv_from(cx, buf)).await
    }

    /// Sends one datagram to the connected peer (see [`connect`](Self::connect)).
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UdpSocket;
    ///
    /// spindle::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     // Not connected yet: the OS refuses.
    ///     assert!(a.send(b"x").await.is_err());
    /// });
    /// ```
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_send(cx, buf)).await
    }

    /// Receives one datagram from the connected peer (see [`connect`](Self::connect)).
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UdpSocket;
    ///
    /// spindle::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     b.connect(a.local_addr().unwrap()).await.unwrap();
    ///     a.send_to(b"ok", b.local_addr().unwrap()).await.unwrap();
    ///     let mut buf = [0u8; 8];
    ///     let n = b.recv(&mut buf).await.unwrap();
    ///     assert_eq!(&buf[..n], b"ok");
    /// });
    /// ```
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_recv(cx, buf)).await
    }

    /// Polls a [`send_to`](Self::send_to) to an already resolved address.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UdpSocket;
    ///
    /// spindle::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     let to = a.local_addr().unwrap();
    ///     let n = std::future::poll_fn(|cx| a.poll_send_to(cx, b"me", to)).await.unwrap();
    ///     assert_eq!(n, 2);
    /// });
    /// ```
    pub fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        self.io
            .poll_io(cx, Direction::Write, |s| s.send_to(buf, target))
    }

    /// Polls a [`recv_from`](Self::recv_from).
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UdpSocket;
    ///
    /// spindle::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     a.send_to(b"self", a.local_addr().unwrap()).await.unwrap();
    ///     let mut buf = [0u8; 8];
    ///     let (n, from) = std::future::poll_fn(|cx| a.poll_recv_from(cx, &mut buf)).await.unwrap();
    ///     assert_eq!((&buf[..n], from), (&b"self"[..], a.local_addr().unwrap()));
    /// });
    /// ```
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.io.poll_io(cx, Direction::Read, |s| s.recv_from(buf))
    }

    /// Polls a [`send`](Self::send).
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UdpSocket;
    ///
    /// spindle::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     a.connect(a.local_addr().unwrap()).await.unwrap();
    ///     let n = std::future::poll_fn(|cx| a.poll_send(cx, b"x")).await.unwrap();
    ///     assert_eq!(n, 1);
    /// });
    /// ```
    pub fn poll_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io.poll_io(cx, Direction::Write, |s| s.send(buf))
    }

    /// Polls a [`recv`](Self::recv).
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UdpSocket;
    ///
    /// spindle::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     a.connect(a.local_addr().unwrap()).await.unwrap();
    ///     a.send(b"loop").await.unwrap();
    ///     let mut buf = [0u8; 8];
    ///     let n = std::future::poll_fn(|cx| a.poll_recv(cx, &mut buf)).await.unwrap();
    ///     assert_eq!(&buf[..n], b"loop");
    /// });
    /// ```
    pub fn poll_recv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io.poll_io(cx, Direction::Read, |s| s.recv(buf))
    }

    /// Waits until a datagram (or an error, such as an ICMP "port unreachable" on a connected
    /// socket) may be received. Readiness can be stale: a following `try_recv*` may still
    /// return `WouldBlock`, which clears it.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UdpSocket;
    ///
    /// spindle::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     a.send_to(b"r", a.local_addr().unwrap()).await.unwrap();
    ///     a.readable().await.unwrap();
    /// });
    /// ```
    pub async fn readable(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_recv_ready(cx)).await
    }

    /// Waits until a datagram may be sent.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UdpSocket;
    ///
    /// spindle::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     a.writable().await.unwrap();
    /// });
    /// ```
    pub async fn writable(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_send_ready(cx)).await
    }

    /// Polls for receive readiness (the poll form of [`readable`](Self::readable)).
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UdpSocket;
    ///
    /// spindle::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     a.send_to(b"r", a.local_addr().unwrap()).await.unwrap();
    ///     std::future::poll_fn(|cx| a.poll_recv_ready(cx)).await.unwrap();
    /// });
    /// ```
    pub fn poll_recv_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io
            .poll_ready(cx, Direction::Read)
            .map(|ready| ready.map(drop))
    }

    /// Polls for send readiness (the poll form of [`writable`](Self::writable)).
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UdpSocket;
    ///
    /// spindle::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     std::future::poll_fn(|cx| a.poll_send_ready(cx)).await.unwrap();
    /// });
    /// ```
    pub fn poll_send_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io
            .poll_ready(cx, Direction::Write)
            .map(|ready| ready.map(drop))
    }

    /// Takes the socket's pending error (`SO_ERROR`), if any — for example the
    /// "connection refused" that an ICMP "port unreachable" leaves on a connected socket.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UdpSocket;
    ///
    /// spindle::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     assert!(a.take_error().unwrap().is_none());
    /// });
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }
}

impl TryFrom<net::UdpSocket> for UdpSocket {
    type Error = io::Error;

    /// The same as [`UdpSocket::from_std`].
    fn try_from(socket: net::UdpSocket) -> io::Result<UdpSocket> {
        UdpSocket::from_std(socket)
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.io.get_ref(), f)
    }
}

impl AsFd for UdpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl AsRawFd for UdpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}
