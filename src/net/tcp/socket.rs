//! [`TcpSocket`]: a TCP socket configured before it becomes a listener or a connection — the
//! options that must be set before `bind`/`listen`/`connect` (`SO_REUSEPORT`, buffer sizes, the
//! backlog), through `socket2`.

use super::{TcpListener, TcpStream};
use crate::net::sys;
use std::fmt;
use std::io;
use std::net::{self, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// A TCP socket that has not become a listener or a connection yet: set options, [`bind`],
/// then [`listen`] or [`connect`]. Nothing is registered with the reactor until then, so a
/// `TcpSocket` may be built outside a runtime; `listen` and `connect` need one.
///
/// [`bind`]: TcpSocket::bind
/// [`listen`]: TcpSocket::listen
/// [`connect`]: TcpSocket::connect
///
/// # Examples
///
/// Two listeners sharing one port with `SO_REUSEPORT` (the kernel spreads connections over
/// them), as a server with one accept loop per core does:
///
/// ```
/// use spindle::net::TcpSocket;
///
/// spindle::run(async {
///     let first = TcpSocket::new_v4().unwrap();
///     first.set_reuseport(true).unwrap();
///     first.bind("127.0.0.1:0".parse().unwrap()).unwrap();
///     let addr = first.local_addr().unwrap();
///     let first = first.listen(1024).unwrap();
///
///     let second = TcpSocket::new_v4().unwrap();
///     second.set_reuseport(true).unwrap();
///     second.bind(addr).unwrap();
///     let second = second.listen(1024).unwrap();
///     assert_eq!(first.local_addr().unwrap(), second.local_addr().unwrap());
/// });
/// ```
pub struct TcpSocket {
    inner: socket2::Socket,
}

impl TcpSocket {
    /// A new IPv4 TCP socket (close-on-exec).
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = spindle::net::TcpSocket::new_v4().unwrap();
    /// socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    /// assert!(socket.local_addr().unwrap().is_ipv4());
    /// ```
    pub fn new_v4() -> io::Result<TcpSocket> {
        TcpSocket::new(socket2::Domain::IPV4)
    }

    /// A new IPv6 TCP socket (close-on-exec).
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = spindle::net::TcpSocket::new_v6().unwrap();
    /// // Binding needs an IPv6 address (this machine may have none configured).
    /// if socket.bind("[::1]:0".parse().unwrap()).is_ok() {
    ///     assert!(socket.local_addr().unwrap().is_ipv6());
    /// }
    /// ```
    pub fn new_v6() -> io::Result<TcpSocket> {
        TcpSocket::new(socket2::Domain::IPV6)
    }

    fn new(domain: socket2::Domain) -> io::Result<TcpSocket> {
        let inner =
            socket2::Socket::new(domain, socket2::Type::STREAM, Some(socket2::Protocol::TCP))?;
        inner.set_nonblocking(true)?;
        Ok(TcpSocket { inner })
    }

    /// Sets `SO_REUSEADDR`: bind a listening port again while old connections on it are in
    /// `TIME_WAIT`. (`TcpListener::bind` sets it; a fresh `TcpSocket` does not.)
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = spindle::net::TcpSocket::new_v4().unwrap();
    /// socket.set_reuseaddr(true).unwrap();
    /// assert!(socket.reuseaddr().unwrap());
    /// ```
    pub fn set_reuseaddr(&self, reuseaddr: bool) -> io::Result<()> {
        self.inner.set_reuse_address(reuseaddr)
    }

    /// Whether `SO_REUSEADDR` is set.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = spindle::net::TcpSocket::new_v4().unwrap();
    /// assert!(!socket.reuseaddr().unwrap());
    /// ```
    pub fn reuseaddr(&self) -> io::Result<bool> {
        self.inner.reuse_address()
    }

    /// Sets `SO_REUSEPORT`: several sockets (each with the option, same user) may bind the same
    /// address and port; for listeners the kernel balances new connections across them.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = spindle::net::TcpSocket::new_v4().unwrap();
    /// socket.set_reuseport(true).unwrap();
    /// assert!(socket.reuseport().unwrap());
    /// ```
    pub fn set_reuseport(&self, reuseport: bool) -> io::Result<()> {
        self.inner.set_reuse_port(reuseport)
    }

    /// Whether `SO_REUSEPORT` is set.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = spindle::net::TcpSocket::new_v4().unwrap();
    /// assert!(!socket.reuseport().unwrap());
    /// ```
    pub fn reuseport(&self) -> io::Result<bool> {
        self.inner.reuse_port()
    }

    /// Sets `TCP_NODELAY` (no Nagle delay); a connection made by [`connect`](Self::connect)
    /// keeps it.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = spindle::net::TcpSocket::new_v4().unwrap();
    /// socket.set_nodelay(true).unwrap();
    /// assert!(socket.nodelay().unwrap());
    /// ```
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.set_tcp_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = spindle::net::TcpSocket::new_v4().unwrap();
    /// assert!(!socket.nodelay().unwrap());
    /// ```
    pub fn nodelay(&self) -> io::Result<bool> {
        self.inner.tcp_nodelay()
    }

    /// Sets `SO_KEEPALIVE` (TCP keep-alive probes on an idle connection).
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = spindle::net::TcpSocket::new_v4().unwrap();
    /// socket.set_keepalive(true).unwrap();
    /// assert!(socket.keepalive().unwrap());
    /// ```
    pub fn set_keepalive(&self, keepalive: bool) -> io::Result<()> {
        self.inner.set_keepalive(keepalive)
    }

    /// Whether `SO_KEEPALIVE` is set.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = spindle::net::TcpSocket::new_v4().unwrap();
    /// assert!(!socket.keepalive().unwrap());
    /// ```
    pub fn keepalive(&self) -> io::Result<bool> {
        self.inner.keepalive()
    }

    /// Sets `SO_RCVBUF`, the kernel's receive buffer size. Linux doubles the value (for its
    /// bookkeeping) and clamps it to `net.core.rmem_max`, so read it back with
    /// [`recv_buffer_size`](Self::recv_buffer_size).
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = spindle::net::TcpSocket::new_v4().unwrap();
    /// socket.set_recv_buffer_size(64 * 1024).unwrap();
    /// assert!(socket.recv_buffer_size().unwrap() >= 64 * 1024);
    /// ```
    pub fn set_recv_buffer_size(&self, size: u32) -> io::Result<()> {
        self.inner.set_recv_buffer_size(size as usize)
    }

    /// The `SO_RCVBUF` value.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = spindle::net::TcpSocket::new_v4().unwrap();
    /// assert!(socket.recv_buffer_size().unwrap() > 0);
    /// ```
    pub fn recv_buffer_size(&self) -> io::Result<u32> {
        self.inner.recv_buffer_size().map(clamp_u32)
    }

    /// Sets `SO_SNDBUF`, the kernel's send buffer size (doubled and clamped by Linux, as with
    /// [`set_recv_buffer_size`](Self::set_recv_buffer_size)).
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = spindle::net::TcpSocket::new_v4().unwrap();
    /// socket.set_send_buffer_size(64 * 1024).unwrap();
    /// assert!(socket.send_buffer_size().unwrap() >= 64 * 1024);
    /// ```
    pub fn set_send_buffer_size(&self, size: u32) -> io::Result<()> {
        self.inner.set_send_buffer_size(size as usize)
    }

    /// The `SO_SNDBUF` value.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = spindle::net::TcpSocket::new_v4().unwrap();
    /// assert!(socket.send_buffer_size().unwrap() > 0);
    /// ```
    pub fn send_buffer_size(&self) -> io::Result<u32> {
        self.inner.send_buffer_size().map(clamp_u32)
    }

    /// Sets `SO_LINGER` (see [`TcpStream::set_linger`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let socket = spindle::net::TcpSocket::new_v4().unwrap();
    /// socket.set_linger(Some(Duration::from_secs(1))).unwrap();
    /// assert_eq!(socket.linger().unwrap(), Some(Duration::from_secs(1)));
    /// ```
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        self.inner.set_linger(linger)
    }

    /// The `SO_LINGER` value.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = spindle::net::TcpSocket::new_v4().unwrap();
    /// assert_eq!(socket.linger().unwrap(), None);
    /// ```
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        self.inner.linger()
    }

    /// Binds the socket to `addr` (port 0 picks a free port).
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = spindle::net::TcpSocket::new_v4().unwrap();
    /// socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    /// assert_ne!(socket.local_addr().unwrap().port(), 0);
    /// ```
    pub fn bind(&self, addr: SocketAddr) -> io::Result<()> {
        self.inner.bind(&addr.into())
    }

    /// The address the socket is bound to.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = spindle::net::TcpSocket::new_v4().unwrap();
    /// socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    /// assert!(socket.local_addr().unwrap().ip().is_loopback());
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()?.as_socket().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "the socket is not an IP socket",
            )
        })
    }

    /// Takes the socket's pending error (`SO_ERROR`), if any.
    ///
    /// # Examples
    ///
    /// ```
    /// let socket = spindle::net::TcpSocket::new_v4().unwrap();
    /// assert!(socket.take_error().unwrap().is_none());
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.take_error()
    }

    /// Starts listening with a queue of up to `backlog` pending connections (the kernel caps
    /// it at `net.core.somaxconn`) and registers the listener with the current runtime. An
    /// unbound socket listens on a free port of every address. Returns an error outside a
    /// runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::{TcpSocket, TcpStream};
    ///
    /// spindle::run(async {
    ///     let socket = TcpSocket::new_v4().unwrap();
    ///     socket.set_reuseaddr(true).unwrap();
    ///     socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    ///     let listener = socket.listen(64).unwrap();
    ///     let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    ///     let (_, peer) = listener.accept().await.unwrap();
    ///     assert_eq!(peer, client.local_addr().unwrap());
    /// });
    /// ```
    pub fn listen(self, backlog: u32) -> io::Result<TcpListener> {
        // Before `listen`, so that accepted sockets inherit it.
        sys::enable_inq(&self.inner);
        let backlog = i32::try_from(backlog).unwrap_or(i32::MAX);
        self.inner.listen(backlog)?;
        TcpListener::from_std(net::TcpListener::from(self.inner))
    }

    /// Connects to `addr` and returns the stream; the options set so far stay in effect. A
    /// closed port gives `ConnectionRefused`. Must be awaited inside a spindle runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::{TcpListener, TcpSocket};
    ///
    /// spindle::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let socket = TcpSocket::new_v4().unwrap();
    ///     socket.set_nodelay(true).unwrap();
    ///     let stream = socket.connect(listener.local_addr().unwrap()).await.unwrap();
    ///     assert!(stream.nodelay().unwrap());
    ///     assert_eq!(stream.peer_addr().unwrap(), listener.local_addr().unwrap());
    /// });
    /// ```
    pub async fn connect(self, addr: SocketAddr) -> io::Result<TcpStream> {
        TcpStream::connect_socket(self.inner, addr).await
    }

    /// Wraps a `std` stream's socket, to set options on it before registering it (for example
    /// a stream accepted elsewhere).
    ///
    /// # Examples
    ///
    /// ```
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let stream = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    /// let socket = spindle::net::TcpSocket::from_std_stream(stream);
    /// socket.set_nodelay(true).unwrap();
    /// ```
    pub fn from_std_stream(stream: net::TcpStream) -> TcpSocket {
        TcpSocket {
            inner: socket2::Socket::from(stream),
        }
    }
}

fn clamp_u32(size: usize) -> u32 {
    u32::try_from(size).unwrap_or(u32::MAX)
}

impl fmt::Debug for TcpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpSocket")
            .field("fd", &self.inner.as_raw_fd())
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}

impl AsFd for TcpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl AsRawFd for TcpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}

impl IntoRawFd for TcpSocket {
    fn into_raw_fd(self) -> RawFd {
        self.inner.into_raw_fd()
    }
}

impl FromRawFd for TcpSocket {
    /// Wraps a TCP socket's fd (made non-blocking when it is listened on or connected).
    ///
    /// # Safety
    ///
    /// `fd` must be an open TCP socket that nothing else owns.
    unsafe fn from_raw_fd(fd: RawFd) -> TcpSocket {
        // SAFETY: the caller guarantees `fd` is an open socket owned by nobody else.
        TcpSocket {
            inner: unsafe { socket2::Socket::from_raw_fd(fd) },
        }
    }
}

impl From<OwnedFd> for TcpSocket {
    fn from(fd: OwnedFd) -> TcpSocket {
        TcpSocket {
            inner: socket2::Socket::from(fd),
        }
    }
}
