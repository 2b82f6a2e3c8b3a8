//! Non-blocking TCP, UDP and Unix-domain sockets driven by the runtime's reactor, plus
//! [`AsyncFd`] for any other file descriptor and [`lookup_host`] for name resolution.
//!
//! Each socket is a `std` socket in non-blocking mode wrapped in a registration with the reactor
//! of the runtime it was created in (edge-triggered, both directions; see `reactor::io`). An
//! operation is simply attempted; on `WouldBlock` the task waits for the next readiness event
//! and tries again. On Linux a TCP read also learns from the kernel (`TCP_INQ`) whether it
//! drained the socket, and a short write that the send buffer is full; the next operation then
//! waits for the event instead of paying a system call that fails with `WouldBlock`
//! (`net::sys`). Streams implement [`futures_io::AsyncRead`] and [`futures_io::AsyncWrite`]
//! for `T` and for `&T`, so one stream can be read and written by two tasks at once through an
//! `Arc`; [`TcpStream::into_split`] / [`UnixStream::into_split`] give owned halves instead.
//!
//! # Addresses and name resolution
//!
//! A worker thread never blocks on a DNS lookup that spindle can see coming:
//!
//! * [`lookup_host`] resolves a host name on the runtime's blocking-I/O lane (see
//!   [`unblock`](crate::unblock); numeric addresses are parsed inline, without any thread hop).
//! * [`TcpStream::connect`], [`TcpListener::bind`], [`UdpSocket::bind`],
//!   [`UdpSocket::connect`] and [`UdpSocket::send_to`] take any [`std::net::ToSocketAddrs`].
//!   When the argument is a string (`&str`, `String`, `&String`) or a `(&str | String, u16)`
//!   pair, spindle parses it itself: a numeric address is used at once, and a host name is
//!   resolved off the worker, like `lookup_host`. Every other `ToSocketAddrs` type of `std` is
//!   numeric already. Only a third-party type with its own `ToSocketAddrs` impl that does a
//!   lookup would run that lookup on the calling thread; resolve such a value with
//!   `lookup_host` (or inside `spindle::unblock`) first.
//!
//! Binding or connecting tries each resolved address in turn and returns the last error. The
//! returned futures do not borrow the address argument.
//!
//! # Runtime
//!
//! Sockets must be created inside a spindle runtime (an `io::Error` that says so otherwise). A
//! socket keeps working from any runtime thread, but once the runtime it belongs to has shut
//! down every operation returns an `io::Error` instead of waiting forever.

use crate::reactor::io::{Direction, PollIo};
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::task::Poll;

#[macro_use]
mod stream;
#[macro_use]
mod split;
mod async_fd;
mod resolve;
mod sys;
pub mod tcp;
mod udp;
#[cfg(unix)]
pub mod unix;

pub use async_fd::{AsyncFd, AsyncFdReadyGuard, AsyncFdReadyMutGuard, TryIoError};
pub use resolve::lookup_host;
pub use tcp::{TcpListener, TcpSocket, TcpStream};
pub use udp::UdpSocket;
#[cfg(unix)]
pub use unix::{UnixDatagram, UnixListener, UnixStream};

/// Runs `op` on each address in turn until one succeeds; otherwise returns the last error.
fn each_addr<T>(
    addrs: &[SocketAddr],
    mut op: impl FnMut(SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    let mut last_err = None;
    for &addr in addrs {
        match op(addr) {
            Ok(value) => return Ok(value),
            Err(err) => last_err = Some(err),
        }
    }
    Err(last_err.unwrap_or_else(resolve::no_addresses))
}

/// `EINPROGRESS`: a non-blocking `connect` has started. `std` maps it to
/// `io::ErrorKind::InProgress`, which is not stable to name yet, so the raw code is compared.
fn connect_in_progress(err: &io::Error) -> bool {
    err.raw_os_error() == Some(libc::EINPROGRESS)
}

/// Waits until the non-blocking connect of `io` has finished. `check` reports the outcome:
/// `Ok` when connected, the connection's error when it failed, and `NotConnected` while it is
/// still in progress (then the write readiness was optimistic or stale, and we wait again).
async fn wait_connected<T: AsFd>(
    io: &PollIo<T>,
    check: impl Fn(&T) -> io::Result<()>,
) -> io::Result<()> {
    poll_fn(|cx| {
        loop {
            let tick = match io.poll_ready(cx, Direction::Write) {
                Poll::Ready(Ok(tick)) => tick,
                Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
                Poll::Pending => return Poll::Pending,
            };
            match check(io.get_ref()) {
                Err(err) if err.kind() == io::ErrorKind::NotConnected => {
                    io.clear_readiness(Direction::Write, tick);
                }
                result => return Poll::Ready(result),
            }
        }
    })
    .await
}

/// `SO_ERROR`, then the peer address: `Ok` once a non-blocking connect has succeeded.
fn connect_outcome(socket: &impl AsFd) -> io::Result<()> {
    let socket = socket2::SockRef::from(socket);
    if let Some(err) = socket.take_error()? {
        return Err(err);
    }
    socket.peer_addr().map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn einprogress_matches_the_os() {
        // The OS's text for the code proves the constant is the right one on this target.
        let text = io::Error::from_raw_os_error(libc::EINPROGRESS).to_string();
        assert!(text.contains("in progress"), "{text}");
        assert!(connect_in_progress(&io::Error::from_raw_os_error(
            libc::EINPROGRESS
        )));
        assert!(!connect_in_progress(&io::Error::from(
            io::ErrorKind::ConnectionRefused
        )));
    }

    #[test]
    fn each_addr_returns_the_last_error() {
        let addrs: Vec<SocketAddr> = vec![
            "127.0.0.1:1".parse().unwrap(),
            "127.0.0.1:2".parse().unwrap(),
        ];
        let mut tried = Vec::new();
        let err = each_addr(&addrs, |a| -> io::Result<()> {
            tried.push(a.port());
            Err(io::Error::other(format!("port {}", a.port())))
        })
        .unwrap_err();
        assert_eq!(tried, [1, 2]);
        assert_eq!(err.to_string(), "port 2");
        let ok = each_addr(&addrs, |a| {
            if a.port() == 2 {
                Ok(a.port())
            } else {
                Err(io::Error::other("no"))
            }
        });
        assert_eq!(ok.unwrap(), 2);
        assert_eq!(
            each_addr(&[], |_| Ok(())).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
    }
}
