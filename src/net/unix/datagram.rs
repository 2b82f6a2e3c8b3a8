//! [`UnixDatagram`]: Unix-domain datagram sockets — bound to a path, to a Linux abstract name,
//! or unbound; connected or not — registered with the reactor.
//!
//! Every operation takes `&self`, so one socket can be shared by many tasks through an `Arc`.

use crate::reactor::io::{Direction, PollIo, Progress};
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::{self, SocketAddr};
use std::path::Path;
use std::task::{Context, Poll};

/// A Unix-domain datagram socket.
///
/// # Examples
///
/// ```
/// use spindle::net::UnixDatagram;
///
/// spindle::run(async {
///     let (a, b) = UnixDatagram::pair().unwrap();
///     a.send(b"one datagram").await.unwrap();
///     let mut buf = [0u8; 32];
///     let n = b.recv(&mut buf).await.unwrap();
///     assert_eq!(&buf[..n], b"one datagram");
/// });
/// ```
pub struct UnixDatagram {
    io: PollIo<net::UnixDatagram>,
}

impl UnixDatagram {
    /// A socket bound to `path` (which must not exist yet; on Linux a leading NUL byte makes
    /// it an abstract name), registered with the current runtime. Synchronous; returns an
    /// error outside a runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UnixDatagram;
    ///
    /// let path = std::env::temp_dir().join(format!("spindle-doc-dgram-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// spindle::run(async {
    ///     let socket = UnixDatagram::bind(&path).unwrap();
    ///     let client = UnixDatagram::unbound().unwrap();
    ///     client.send_to(b"hello", &path).await.unwrap();
    ///     let mut buf = [0u8; 8];
    ///     let (n, _) = socket.recv_from(&mut buf).await.unwrap();
    ///     assert_eq!(&buf[..n], b"hello");
    /// });
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixDatagram> {
        let addr = super::socket_addr(path.as_ref())?;
        UnixDatagram::from_std(net::UnixDatagram::bind_addr(&addr)?)
    }

    /// A socket bound to no address (it can send, and receive replies to an autobound
    /// address only if the system autobinds it).
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UnixDatagram;
    ///
    /// spindle::run(async {
    ///     let socket = UnixDatagram::unbound().unwrap();
    ///     assert!(socket.local_addr().unwrap().is_unnamed());
    /// });
    /// ```
    pub fn unbound() -> io::Result<UnixDatagram> {
        UnixDatagram::from_std(net::UnixDatagram::unbound()?)
    }

    /// A connected pair of sockets (`socketpair(2)`).
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UnixDatagram;
    ///
    /// spindle::run(async {
    ///     let (a, b) = UnixDatagram::pair().unwrap();
    ///     b.send(b"back").await.unwrap();
    ///     let mut buf = [0u8; 4];
    ///     assert_eq!(a.recv(&mut buf).await.unwrap(), 4);
    /// });
    /// ```
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let reactor = crate::reactor::io::current_reactor()?;
        let (a, b) = net::UnixDatagram::pair()?;
        let register = |s: net::UnixDatagram| -> io::Result<UnixDatagram> {
            s.set_nonblocking(true)?;
            Ok(UnixDatagram {
                io: PollIo::with_reactor(reactor.clone(), s)?,
            })
        };
        Ok((register(a)?, register(b)?))
    }

    /// Connects the socket to `path` (a leading NUL byte: an abstract name): the default
    /// destination of [`send`](Self::send) and the only source [`recv`](Self::recv) accepts.
    /// Synchronous (a local connect never waits).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(target_os = "linux")] {
    /// use spindle::net::UnixDatagram;
    ///
    /// spindle::run(async {
    ///     let name = format!("\0spindle-doc-dgram-connect-{}", std::process::id());
    ///     let server = UnixDatagram::bind(&name).unwrap();
    ///     let client = UnixDatagram::unbound().unwrap();
    ///     client.connect(&name).unwrap();
    ///     client.send(b"hi").await.unwrap();
    ///     let mut buf = [0u8; 2];
    ///     assert_eq!(server.recv(&mut buf).await.unwrap(), 2);
    /// });
    /// # }
    /// ```
    pub fn connect<P: AsRef<Path>>(&self, path: P) -> io::Result<()> {
        let addr = super::socket_addr(path.as_ref())?;
        self.io.get_ref().connect_addr(&addr)
    }

    /// Wraps a `std` socket: puts it in non-blocking mode and registers it with the current
    /// runtime. Returns an error outside a runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UnixDatagram;
    ///
    /// let (a, _b) = std::os::unix::net::UnixDatagram::pair().unwrap();
    /// spindle::run(async move {
    ///     let a = UnixDatagram::from_std(a).unwrap();
    ///     assert!(a.peer_addr().is_ok());
    /// });
    /// ```
    pub fn from_std(socket: net::UnixDatagram) -> io::Result<UnixDatagram> {
        socket.set_nonblocking(true)?;
        Ok(UnixDatagram {
            io: PollIo::new(socket)?,
        })
    }

    /// Deregisters the socket and returns the `std` socket, still in non-blocking mode.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UnixDatagram;
    ///
    /// spindle::run(async {
    ///     let (a, _b) = UnixDatagram::pair().unwrap();
    ///     let a = a.into_std();
    ///     assert!(a.peer_addr().is_ok());
    /// });
    /// ```
    pub fn into_std(self) -> net::UnixDatagram {
        self.io.into_inner()
    }

    /// Sends one datagram to the socket bound at `target` (a leading NUL byte: an abstract
    /// name); returns the bytes sent.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(target_os = "linux")] {
    /// use spindle::net::UnixDatagram;
    ///
    /// spindle::run(async {
    ///     let name = format!("\0spindle-doc-dgram-sendto-{}", std::process::id());
    ///     let server = UnixDatagram::bind(&name).unwrap();
    ///     let client = UnixDatagram::unbound().unwrap();
    ///     assert_eq!(client.send_to(b"abc", &name).await.unwrap(), 3);
    ///     let mut buf = [0u8; 3];
    ///     assert_eq!(server.recv(&mut buf).await.unwrap(), 3);
    /// });
    /// # }
    /// ```
    pub async fn send_to<P: AsRef<Path>>(&self, buf: &[u8], target: P) -> io::Result<usize> {
        let addr = super::socket_addr(target.as_ref())?;
        poll_fn(|cx| self.poll_send_to_addr(cx, buf, &addr)).await
    }

    /// Polls a send to an already converted address (see [`send_to`](Self::send_to)).
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UnixDatagram;
    ///
    /// let path = std::env::temp_dir().join(format!("spindle-doc-dgram-poll-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// spindle::run(async {
    ///     let server = UnixDatagram::bind(&path).unwrap();
    ///     let addr = server.local_addr().unwrap();
    ///     let client = UnixDatagram::unbound().unwrap();
    ///     let n = std::future::poll_fn(|cx| client.poll_send_to_addr(cx, b"p", &addr))
    ///         .await
    ///         .unwrap();
    ///     assert_eq!(n, 1);
    /// });
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn poll_send_to_addr(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: &SocketAddr,
    ) -> Poll<io::Result<usize>> {
        self.io
            .poll_io(cx, Direction::Write, |s| s.send_to_addr(buf, target))
    }

    /// Receives one datagram; returns its length and the sender's address. Bytes beyond
    /// `buf.len()` are discarded.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UnixDatagram;
    ///
    /// spindle::run(async {
    ///     let (a, b) = UnixDatagram::pair().unwrap();
    ///     a.send(b"from a").await.unwrap();
    ///     let mut buf = [0u8; 16];
    ///     let (n, from) = b.recv_from(&mut buf).await.unwrap();
    ///     assert_eq!(&buf[..n], b"from a");
    ///     assert!(from.is_unnamed());
    /// });
    /// ```
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        poll_fn(|cx| self.poll_recv_from(cx, buf)).await
    }

    /// Polls a [`recv_from`](Self::recv_from).
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UnixDatagram;
    ///
    /// spindle::run(async {
    ///     let (a, b) = UnixDatagram::pair().unwrap();
    ///     a.send(b"x").await.unwrap();
    ///     let mut buf = [0u8; 1];
    ///     let (n, _) = std::future::poll_fn(|cx| b.poll_recv_from(cx, &mut buf)).await.unwrap();
    ///     assert_eq!(n, 1);
    /// });
    /// ```
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.io.poll_io(cx, Direction::Read, |s| s.recv_from(buf))
    }

    /// Sends one datagram to the connected peer.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UnixDatagram;
    ///
    /// spindle::run(async {
    ///     let socket = UnixDatagram::unbound().unwrap();
    ///     // Not connected: the OS refuses.
    ///     assert!(socket.send(b"x").await.is_err());
    /// });
    /// ```
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_send(cx, buf)).await
    }

    /// Polls a [`send`](Self::send).
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UnixDatagram;
    ///
    /// spindle::run(async {
    ///     let (a, _b) = UnixDatagram::pair().unwrap();
    ///     let n = std::future::poll_fn(|cx| a.poll_send(cx, b"xy")).await.unwrap();
    ///     assert_eq!(n, 2);
    /// });
    /// ```
    pub fn poll_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io.poll_io(cx, Direction::Write, |s| s.send(buf))
    }

    /// Receives one datagram from the connected peer.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UnixDatagram;
    ///
    /// spindle::run(async {
    ///     let (a, b) = UnixDatagram::pair().unwrap();
    ///     a.send(b"12345").await.unwrap();
    ///     let mut small = [0u8; 3];
    ///     // The rest of the datagram is discarded.
    ///     assert_eq!(b.recv(&mut small).await.unwrap(), 3);
    /// });
    /// ```
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_recv(cx, buf)).await
    }

    /// Polls a [`recv`](Self::recv).
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UnixDatagram;
    ///
    /// spindle::run(async {
    ///     let (a, b) = UnixDatagram::pair().unwrap();
    ///     a.send(b"z").await.unwrap();
    ///     let mut buf = [0u8; 1];
    ///     let n = std::future::poll_fn(|cx| b.poll_recv(cx, &mut buf)).await.unwrap();
    ///     assert_eq!(&buf[..n], b"z");
    /// });
    /// ```
    pub fn poll_recv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io.poll_io(cx, Direction::Read, |s| s.recv(buf))
    }

    /// Sends to the connected peer now, without waiting: `WouldBlock` when the peer's queue
    /// is full (wait with [`writable`](Self::writable)).
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UnixDatagram;
    ///
    /// spindle::run(async {
    ///     let (a, _b) = UnixDatagram::pair().unwrap();
    ///     assert_eq!(a.try_send(b"now").unwrap(), 3);
    /// });
    /// ```
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_io(Direction::Write, |s| {
            s.send(buf).map(|n| (n, Progress::Unknown))
        })
    }

    /// Receives from the connected peer if a datagram is queued, without waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UnixDatagram;
    ///
    /// spindle::run(async {
    ///     let (a, b) = UnixDatagram::pair().unwrap();
    ///     let mut buf = [0u8; 4];
    ///     assert_eq!(b.try_recv(&mut buf).unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
    ///     a.try_send(b"now").unwrap();
    ///     // That WouldBlock cleared the readiness: wait for the event, then try again.
    ///     let n = loop {
    ///         b.readable().await.unwrap();
    ///         match b.try_recv(&mut buf) {
    ///             Ok(n) => break n,
    ///             Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
    ///             Err(e) => panic!("{e}"),
    ///         }
    ///     };
    ///     assert_eq!(n, 3);
    /// });
    /// ```
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_io(Direction::Read, |s| {
            s.recv(buf).map(|n| (n, Progress::Unknown))
        })
    }

    /// Sends to `target` now, without waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(target_os = "linux")] {
    /// use spindle::net::UnixDatagram;
    ///
    /// spindle::run(async {
    ///     let name = format!("\0spindle-doc-dgram-trysendto-{}", std::process::id());
    ///     let _server = UnixDatagram::bind(&name).unwrap();
    ///     let client = UnixDatagram::unbound().unwrap();
    ///     assert_eq!(client.try_send_to(b"q", &name).unwrap(), 1);
    /// });
    /// # }
    /// ```
    pub fn try_send_to<P: AsRef<Path>>(&self, buf: &[u8], target: P) -> io::Result<usize> {
        let addr = super::socket_addr(target.as_ref())?;
        self.io.try_io(Direction::Write, |s| {
            s.send_to_addr(buf, &addr).map(|n| (n, Progress::Unknown))
        })
    }

    /// Receives one datagram if one is queued, without waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UnixDatagram;
    ///
    /// spindle::run(async {
    ///     let (a, b) = UnixDatagram::pair().unwrap();
    ///     a.try_send(b"r").unwrap();
    ///     let mut buf = [0u8; 1];
    ///     let (n, _) = b.try_recv_from(&mut buf).unwrap();
    ///     assert_eq!(n, 1);
    /// });
    /// ```
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.try_io(Direction::Read, |s| {
            s.recv_from(buf).map(|r| (r, Progress::Unknown))
        })
    }

    /// Waits until a datagram may be received (readiness can be stale: `try_recv*` may still
    /// return `WouldBlock`, which clears it).
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UnixDatagram;
    ///
    /// spindle::run(async {
    ///     let (a, b) = UnixDatagram::pair().unwrap();
    ///     a.send(b"x").await.unwrap();
    ///     b.readable().await.unwrap();
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
    /// use spindle::net::UnixDatagram;
    ///
    /// spindle::run(async {
    ///     let (a, _b) = UnixDatagram::pair().unwrap();
    ///     a.writable().await.unwrap();
    /// });
    /// ```
    pub async fn writable(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_send_ready(cx)).await
    }

    /// Polls for receive readiness.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UnixDatagram;
    ///
    /// spindle::run(async {
    ///     let (a, b) = UnixDatagram::pair().unwrap();
    ///     a.send(b"x").await.unwrap();
    ///     std::future::poll_fn(|cx| b.poll_recv_ready(cx)).await.unwrap();
    /// });
    /// ```
    pub fn poll_recv_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io
            .poll_ready(cx, Direction::Read)
            .map(|ready| ready.map(drop))
    }

    /// Polls for send readiness.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UnixDatagram;
    ///
    /// spindle::run(async {
    ///     let (a, _b) = UnixDatagram::pair().unwrap();
    ///     std::future::poll_fn(|cx| a.poll_send_ready(cx)).await.unwrap();
    /// });
    /// ```
    pub fn poll_send_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io
            .poll_ready(cx, Direction::Write)
            .map(|ready| ready.map(drop))
    }

    /// The address this socket is bound to.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(target_os = "linux")] {
    /// use spindle::net::UnixDatagram;
    /// use std::os::linux::net::SocketAddrExt;
    ///
    /// spindle::run(async {
    ///     let name = format!("spindle-doc-dgram-laddr-{}", std::process::id());
    ///     let socket = UnixDatagram::bind(format!("\0{name}")).unwrap();
    ///     let addr = socket.local_addr().unwrap();
    ///     assert_eq!(addr.as_abstract_name(), Some(name.as_bytes()));
    /// });
    /// # }
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The address of the connected peer.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UnixDatagram;
    ///
    /// spindle::run(async {
    ///     let socket = UnixDatagram::unbound().unwrap();
    ///     assert!(socket.peer_addr().is_err()); // not connected
    /// });
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Shuts down reading, writing, or both (`recv` then returns 0, `send` fails).
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UnixDatagram;
    /// use std::net::Shutdown;
    ///
    /// spindle::run(async {
    ///     let (a, _b) = UnixDatagram::pair().unwrap();
    ///     a.shutdown(Shutdown::Write).unwrap();
    ///     assert!(a.send(b"x").await.is_err());
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
    /// use spindle::net::UnixDatagram;
    ///
    /// spindle::run(async {
    ///     let (a, _b) = UnixDatagram::pair().unwrap();
    ///     assert!(a.take_error().unwrap().is_none());
    /// });
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }
}

impl TryFrom<net::UnixDatagram> for UnixDatagram {
    type Error = io::Error;

    /// The same as [`UnixDatagram::from_std`].
    fn try_from(socket: net::UnixDatagram) -> io::Result<UnixDatagram> {
        UnixDatagram::from_std(socket)
    }
}

impl fmt::Debug for UnixDatagram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.io.get_ref(), f)
    }
}

impl AsFd for UnixDatagram {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl AsRawFd for UnixDatagram {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}
