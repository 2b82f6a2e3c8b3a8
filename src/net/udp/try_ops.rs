//! The non-waiting operations of [`UdpSocket`]: `try_send`, `try_recv`, `try_send_to`,
//! `try_recv_from`, `try_peek_from`, and `peek_from` / `peek` (which wait but leave the
//! datagram queued). The `try_*` forms never register a waker; `WouldBlock` clears the
//! readiness they observed, as every operation does.

use super::UdpSocket;
use crate::reactor::io::{Direction, Progress};
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll};

impl UdpSocket {
    /// Sends one datagram to `target` now, without waiting: `WouldBlock` when the socket is
    /// not writable (wait with [`writable`](Self::writable)).
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UdpSocket;
    ///
    /// spindle::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     a.writable().await.unwrap();
    ///     assert_eq!(a.try_send_to(b"now", b.local_addr().unwrap()).unwrap(), 3);
    /// });
    /// ```
    pub fn try_send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        self.io.try_io(Direction::Write, |s| {
            s.send_to(buf, target).map(|n| (n, Progress::Unknown))
        })
    }

    /// Receives one datagram if one is queued, without waiting: `WouldBlock` otherwise (wait
    /// with [`readable`](Self::readable)).
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UdpSocket;
    ///
    /// spindle::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     let mut buf = [0u8; 8];
    ///     let err = a.try_recv_from(&mut buf).unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
    ///     a.send_to(b"hi", a.local_addr().unwrap()).await.unwrap();
    ///     let (n, from) = loop {
    ///         a.readable().await.unwrap();
    ///         match a.try_recv_from(&mut buf) {
    ///             Ok(got) => break got,
    ///             Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
    ///             Err(e) => panic!("{e}"),
    ///         }
    ///     };
    ///     assert_eq!((&buf[..n], from), (&b"hi"[..], a.local_addr().unwrap()));
    /// });
    /// ```
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.try_io(Direction::Read, |s| {
            s.recv_from(buf).map(|r| (r, Progress::Unknown))
        })
    }

    /// Sends one datagram to the connected peer now, without waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UdpSocket;
    ///
    /// spindle::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     a.connect(a.local_addr().unwrap()).await.unwrap();
    ///     assert_eq!(a.try_send(b"x").unwrap(), 1);
    /// });
    /// ```
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_io(Direction::Write, |s| {
            s.send(buf).map(|n| (n, Progress::Unknown))
        })
    }

    /// Receives one datagram from the connected peer if one is queued, without waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UdpSocket;
    ///
    /// spindle::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     a.connect(a.local_addr().unwrap()).await.unwrap();
    ///     let mut buf = [0u8; 4];
    ///     assert_eq!(
    ///         a.try_recv(&mut buf).unwrap_err().kind(),
    ///         std::io::ErrorKind::WouldBlock
    ///     );
    /// });
    /// ```
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_io(Direction::Read, |s| {
            s.recv(buf).map(|n| (n, Progress::Unknown))
        })
    }

    /// Receives the next datagram without removing it from the queue: the next receive gets
    /// it again. Returns its length (up to `buf.len()`) and sender.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UdpSocket;
    ///
    /// spindle::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     a.send_to(b"twice", a.local_addr().unwrap()).await.unwrap();
    ///     let mut buf = [0u8; 8];
    ///     let (n, from) = a.peek_from(&mut buf).await.unwrap();
    ///     assert_eq!((&buf[..n], from), (&b"twice"[..], a.local_addr().unwrap()));
    ///     let (n, _) = a.recv_from(&mut buf).await.unwrap();
    ///     assert_eq!(&buf[..n], b"twice");
    /// });
    /// ```
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        poll_fn(|cx| self.poll_peek_from(cx, buf)).await
    }

    /// Polls a [`peek_from`](Self::peek_from).
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UdpSocket;
    ///
    /// spindle::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     a.send_to(b"p", a.local_addr().unwrap()).await.unwrap();
    ///     let mut buf = [0u8; 1];
    ///     let (n, _) = std::future::poll_fn(|cx| a.poll_peek_from(cx, &mut buf)).await.unwrap();
    ///     assert_eq!(&buf[..n], b"p");
    /// });
    /// ```
    pub fn poll_peek_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.io.poll_io(cx, Direction::Read, |s| s.peek_from(buf))
    }

    /// [`peek_from`](Self::peek_from) without waiting: `WouldBlock` when nothing is queued.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UdpSocket;
    ///
    /// spindle::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     let mut buf = [0u8; 1];
    ///     let err = a.try_peek_from(&mut buf).unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
    /// });
    /// ```
    pub fn try_peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.try_io(Direction::Read, |s| {
            s.peek_from(buf).map(|r| (r, Progress::Unknown))
        })
    }

    /// Receives from the connected peer without removing the datagram from the queue.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UdpSocket;
    ///
    /// spindle::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     a.connect(a.local_addr().unwrap()).await.unwrap();
    ///     a.send(b"again").await.unwrap();
    ///     let mut buf = [0u8; 8];
    ///     assert_eq!(a.peek(&mut buf).await.unwrap(), 5);
    ///     assert_eq!(a.recv(&mut buf).await.unwrap(), 5);
    /// });
    /// ```
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.io.poll_io(cx, Direction::Read, |s| s.peek(&mut *buf))).await
    }
}
