//! Non-blocking TCP, UDP and Unix-domain sockets driven by the runtime's reactor.
//!
//! Each socket is a `std` socket in non-blocking mode wrapped in a registration with the reactor
//! of the runtime it was created in (edge-triggered, both directions; see `reactor::io`). An
//! operation is simply attempted; on `WouldBlock` the task waits for the next readiness event
//! and tries again. Streams implement [`futures_io::AsyncRead`] and [`futures_io::AsyncWrite`]
//! for `T` and for `&T`, so one stream can be read and written by two tasks at once through an
//! `Arc`.
//!
//! Addresses are resolved with [`std::net::ToSocketAddrs`] when the function is called (a host
//! name lookup blocks the calling thread; pass a `SocketAddr` to avoid it), and binding or
//! connecting tries each resolved address in turn, returning the last error. The returned
//! futures do not borrow the address argument.
//!
//! A socket keeps working from any runtime thread, but once the runtime it belongs to has shut
//! down every operation returns an `io::Error` instead of waiting forever.

use crate::reactor::io::{Direction, PollIo};
use std::future::poll_fn;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::AsFd;
use std::task::Poll;

/// Implements `AsyncRead`/`AsyncWrite` for a stream type and for a shared reference to it; the
/// type has an `io: PollIo<S>` field where `&S: Read + Write`, and a `shutdown` method.
macro_rules! impl_stream_io {
    ($ty:ty) => {
        impl futures_io::AsyncRead for $ty {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                futures_io::AsyncRead::poll_read(std::pin::Pin::new(&mut &*self), cx, buf)
            }

            fn poll_read_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                futures_io::AsyncRead::poll_read_vectored(std::pin::Pin::new(&mut &*self), cx, bufs)
            }
        }

        impl futures_io::AsyncRead for &$ty {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io
                    .poll_io(cx, crate::reactor::io::Direction::Read, |mut s| {
                        std::io::Read::read(&mut s, buf)
                    })
            }

            fn poll_read_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io
                    .poll_io(cx, crate::reactor::io::Direction::Read, |mut s| {
                        std::io::Read::read_vectored(&mut s, bufs)
                    })
            }
        }

        impl futures_io::AsyncWrite for $ty {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                futures_io::AsyncWrite::poll_write(std::pin::Pin::new(&mut &*self), cx, buf)
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                futures_io::AsyncWrite::poll_write_vectored(
                    std::pin::Pin::new(&mut &*self),
                    cx,
                    bufs,
                )
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                futures_io::AsyncWrite::poll_flush(std::pin::Pin::new(&mut &*self), cx)
            }

            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                futures_io::AsyncWrite::poll_close(std::pin::Pin::new(&mut &*self), cx)
            }
        }

        impl futures_io::AsyncWrite for &$ty {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io
                    .poll_io(cx, crate::reactor::io::Direction::Write, |mut s| {
                        std::io::Write::write(&mut s, buf)
                    })
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io
                    .poll_io(cx, crate::reactor::io::Direction::Write, |mut s| {
                        std::io::Write::write_vectored(&mut s, bufs)
                    })
            }

            /// Sockets have no user-space buffer: nothing to flush.
            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }

            /// Shuts down the write half (the peer reads end-of-file).
            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(self.shutdown(std::net::Shutdown::Write))
            }
        }
    };
}

mod tcp;
mod udp;
#[cfg(unix)]
mod unix;

pub use tcp::{TcpListener, TcpStream};
pub use udp::UdpSocket;
#[cfg(unix)]
pub use unix::{UnixListener, UnixStream};

/// Resolves `addr` now, so that the returned futures need not hold on to it.
fn resolve<A: ToSocketAddrs>(addr: A) -> io::Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
    if addrs.is_empty() {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any address",
        ))
    } else {
        Ok(addrs)
    }
}

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
    Err(last_err.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any address",
        )
    }))
}

/// `EINPROGRESS`: a non-blocking `connect` has started. `std` maps it to
/// `io::ErrorKind::InProgress`, which is not stable to name yet, so the raw code is compared.
#[cfg(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "tvos",
    target_os = "watchos",
    target_os = "visionos",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly",
    all(
        any(target_os = "linux", target_os = "android"),
        any(target_arch = "sparc", target_arch = "sparc64")
    ),
))]
const EINPROGRESS: i32 = 36;
#[cfg(any(
    target_os = "illumos",
    target_os = "solaris",
    all(
        any(target_os = "linux", target_os = "android"),
        any(
            target_arch = "mips",
            target_arch = "mips64",
            target_arch = "mips32r6",
            target_arch = "mips64r6"
        )
    ),
))]
const EINPROGRESS: i32 = 150;
#[cfg(all(
    any(target_os = "linux", target_os = "android"),
    not(any(
        target_arch = "sparc",
        target_arch = "sparc64",
        target_arch = "mips",
        target_arch = "mips64",
        target_arch = "mips32r6",
        target_arch = "mips64r6"
    ))
))]
const EINPROGRESS: i32 = 115;

/// Whether a non-blocking `connect` error only means "started, not finished yet".
fn connect_in_progress(err: &io::Error) -> bool {
    err.raw_os_error() == Some(EINPROGRESS)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn einprogress_matches_the_os() {
        // The OS's text for the code proves the constant is the right one on this target.
        let text = io::Error::from_raw_os_error(EINPROGRESS).to_string();
        assert!(text.contains("in progress"), "{text}");
        assert!(connect_in_progress(&io::Error::from_raw_os_error(
            EINPROGRESS
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
            resolve(&[][..] as &[SocketAddr]).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
    }
}
