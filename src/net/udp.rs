//! UDP: a non-blocking `std::net::UdpSocket` registered with the reactor.
//!
//! Every operation takes `&self`, so one socket can be shared by many tasks through an `Arc`;
//! each datagram goes to one of the receiving tasks.

use super::{each_addr, resolve};
use crate::reactor::io::{Direction, PollIo};
use std::fmt;
use std::future::Future;
use std::io;
use std::net::{self, SocketAddr, ToSocketAddrs};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

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
    /// returned if none works). Must be awaited inside a spindle runtime.
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
        let addrs = resolve(addr);
        async move {
            let socket = each_addr(&addrs?, net::UdpSocket::bind)?;
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
        let addrs = resolve(addr)?;
        each_addr(&addrs, |addr| self.io.get_ref().connect(addr))
    }

    /// Sends one datagram to `target` (its first resolved address); returns the bytes sent.
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
        let target = resolve(target)?[0];
        self.io
            .io(Direction::Write, |s| s.send_to(buf, target))
            .await
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
        self.io.io(Direction::Read, |s| s.recv_from(buf)).await
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
        self.io.io(Direction::Write, |s| s.send(buf)).await
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
        self.io.io(Direction::Read, |s| s.recv(buf)).await
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
