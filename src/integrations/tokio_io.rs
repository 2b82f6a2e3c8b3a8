//! tokio's I/O traits on spindle's streams (feature `tokio-io`).
//!
//! [`TcpStream`] and [`UnixStream`] (shared references to them, like their `futures_io` impls,
//! and their split halves) implement [`tokio::io::AsyncRead`] and [`tokio::io::AsyncWrite`], so code written
//! against tokio's traits — `tokio::io::copy`, `tokio_util::codec::Framed`, tonic's and
//! hyper-util's `TokioIo` — takes spindle sockets as they are. They are driven by spindle's
//! reactor: no tokio runtime is involved (for tokio-only *types* see `spindle::compat`).
//!
//! Reads go straight into the uninitialized part of tokio's `ReadBuf` (no zeroing). With the
//! `hyper` feature, [`SpindleIo<T>`](crate::hyper::SpindleIo) over any `futures_io` stream
//! implements the tokio traits as well; for a generic `T` only the part of the `ReadBuf` that
//! is not yet initialized is zeroed, once (tokio tracks what is initialized within a `ReadBuf`).
//!
//! ```
//! use spindle::net::{TcpListener, TcpStream};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! spindle::run(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
//!     let mut client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
//!     let (mut server, _) = listener.accept().await.unwrap();
//!     // tokio's extension traits, on spindle's sockets and reactor.
//!     client.write_all(b"tokio traits").await.unwrap();
//!     // (`shutdown` alone would be `TcpStream::shutdown(how)`, the inherent method.)
//!     AsyncWriteExt::shutdown(&mut client).await.unwrap();
//!     let mut got = String::new();
//!     server.read_to_string(&mut got).await.unwrap();
//!     assert_eq!(got, "tokio traits");
//! });
//! ```

use crate::integrations::uninit::{self, UninitRead};
use crate::net::TcpStream;
#[cfg(unix)]
use crate::net::UnixStream;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::io::ReadBuf;

/// Reads from a spindle socket into `buf`'s unfilled part, uninitialized or not.
fn poll_read_socket(
    socket: &dyn UninitRead,
    cx: &mut Context<'_>,
    buf: &mut ReadBuf<'_>,
) -> Poll<io::Result<()>> {
    // SAFETY: `unfilled_mut` requires that we never de-initialize bytes; the socket only stores
    // received bytes into the slice (see `UninitRead`).
    let dst = unsafe { buf.unfilled_mut() };
    let len = dst.len();
    let n = uninit::checked_count(ready!(socket.poll_read_uninit(cx, dst))?, len);
    // SAFETY: `poll_read_uninit` initialized the first `n` unfilled bytes.
    unsafe { buf.assume_init(n) };
    buf.advance(n);
    Poll::Ready(Ok(()))
}

/// tokio's `AsyncWrite` for a stream, a shared reference to one, or a write half, through its
/// `futures_io::AsyncWrite` (`poll_shutdown` is `poll_close`).
macro_rules! impl_tokio_write {
    ($ty:ty) => {
        /// tokio's `AsyncWrite` (feature `tokio-io`); `poll_shutdown` shuts the write
        /// direction down (the peer reads end-of-file). On a stream, call it as
        /// `AsyncWriteExt::shutdown(&mut stream)`: `stream.shutdown()` resolves to the
        /// inherent `shutdown(how)`.
        #[cfg_attr(docsrs, doc(cfg(feature = "tokio-io")))]
        impl tokio::io::AsyncWrite for $ty {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                futures_io::AsyncWrite::poll_write(self, cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                futures_io::AsyncWrite::poll_write_vectored(self, cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                true
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                futures_io::AsyncWrite::poll_flush(self, cx)
            }

            fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                futures_io::AsyncWrite::poll_close(self, cx)
            }
        }
    };
}

/// tokio's traits for a spindle stream type, by value and by shared reference, in terms of its
/// `futures_io` impls (writes, through `impl_tokio_write`) and `UninitRead` (reads).
macro_rules! impl_tokio_io {
    ($ty:ty) => {
        /// tokio's `AsyncRead` (feature `tokio-io`), on spindle's reactor; reads go straight
        /// into the `ReadBuf`'s uninitialized part.
        #[cfg_attr(docsrs, doc(cfg(feature = "tokio-io")))]
        impl tokio::io::AsyncRead for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                poll_read_socket(&*self, cx, buf)
            }
        }

        /// tokio's `AsyncRead` for a shared reference (feature `tokio-io`), so one task can read
        /// while another writes.
        #[cfg_attr(docsrs, doc(cfg(feature = "tokio-io")))]
        impl tokio::io::AsyncRead for &$ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                poll_read_socket(&**self, cx, buf)
            }
        }

        impl_tokio_write!($ty);
        impl_tokio_write!(&$ty);
    };
}

impl_tokio_io!(TcpStream);
#[cfg(unix)]
impl_tokio_io!(UnixStream);

/// tokio's traits for the split halves of a stream type (in module `$m`): the read halves read
/// through the stream (`AsRef`), uninitialized buffers included; the write halves use their
/// `futures_io` impls (`poll_shutdown` shuts the write direction down, like `poll_close`).
macro_rules! impl_tokio_io_halves {
    ($m:ident) => {
        /// tokio's `AsyncRead` (feature `tokio-io`).
        #[cfg_attr(docsrs, doc(cfg(feature = "tokio-io")))]
        impl tokio::io::AsyncRead for crate::net::$m::ReadHalf<'_> {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                poll_read_socket(self.get_mut().as_ref(), cx, buf)
            }
        }

        /// tokio's `AsyncRead` (feature `tokio-io`).
        #[cfg_attr(docsrs, doc(cfg(feature = "tokio-io")))]
        impl tokio::io::AsyncRead for crate::net::$m::OwnedReadHalf {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                poll_read_socket(self.get_mut().as_ref(), cx, buf)
            }
        }

        impl_tokio_write!(crate::net::$m::WriteHalf<'_>);
        impl_tokio_write!(crate::net::$m::OwnedWriteHalf);
    };
}

impl_tokio_io_halves!(tcp);
#[cfg(unix)]
impl_tokio_io_halves!(unix);

#[cfg(feature = "hyper")]
mod spindle_io {
    use super::*;
    use crate::hyper::SpindleIo;

    #[cfg_attr(docsrs, doc(cfg(all(feature = "hyper", feature = "tokio-io"))))]
    /// tokio's `AsyncRead` for any `futures_io` reader wrapped in `SpindleIo` (spindle's own
    /// sockets read into the uninitialized buffer; other readers get the not yet initialized
    /// part zeroed first).
    impl<T: futures_io::AsyncRead> tokio::io::AsyncRead for SpindleIo<T> {
        fn poll_read(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let inner = self.inner_pin_mut();
            if let Some(socket) = uninit::spindle_socket(&*inner) {
                return poll_read_socket(socket, cx, buf);
            }
            let dst = buf.initialize_unfilled();
            let len = dst.len();
            let n = uninit::checked_count(ready!(inner.poll_read(cx, dst))?, len);
            buf.advance(n);
            Poll::Ready(Ok(()))
        }
    }

    #[cfg_attr(docsrs, doc(cfg(all(feature = "hyper", feature = "tokio-io"))))]
    /// tokio's `AsyncWrite` for any `futures_io` writer wrapped in `SpindleIo`
    /// (`poll_shutdown` is `poll_close`).
    impl<T: futures_io::AsyncWrite> tokio::io::AsyncWrite for SpindleIo<T> {
        fn poll_write(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.inner_pin_mut().poll_write(cx, buf)
        }

        fn poll_write_vectored(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            self.inner_pin_mut().poll_write_vectored(cx, bufs)
        }

        fn is_write_vectored(&self) -> bool {
            uninit::is_spindle_socket::<T>()
        }

        fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            self.inner_pin_mut().poll_flush(cx)
        }

        fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            self.inner_pin_mut().poll_close(cx)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn unix_streams_speak_tokio() {
        crate::run(async {
            let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
            let mut a = UnixStream::from_std(a).unwrap();
            let b = UnixStream::from_std(b).unwrap();
            let payload: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
            let expected = payload.clone();
            let writer = crate::spawn(async move {
                a.write_all(&payload).await.unwrap();
                AsyncWriteExt::shutdown(&mut a).await.unwrap();
            });
            let mut got = Vec::new();
            // Through `&UnixStream`, with a fresh (uninitialized) buffer every read.
            (&b).read_to_end(&mut got).await.unwrap();
            writer.await.unwrap();
            assert_eq!(got, expected);
        });
    }

    #[test]
    fn read_buf_with_prefilled_bytes_keeps_them() {
        crate::run(async {
            let listener = crate::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let mut client = TcpStream::connect(listener.local_addr().unwrap())
                .await
                .unwrap();
            let (mut server, _) = listener.accept().await.unwrap();
            client.write_all(b"world").await.unwrap();
            let mut storage = [std::mem::MaybeUninit::<u8>::uninit(); 16];
            let mut buf = ReadBuf::uninit(&mut storage);
            buf.put_slice(b"hello ");
            while buf.filled().len() < 11 {
                std::future::poll_fn(|cx| {
                    tokio::io::AsyncRead::poll_read(Pin::new(&mut server), cx, &mut buf)
                })
                .await
                .unwrap();
            }
            assert_eq!(buf.filled(), b"hello world");
        });
    }
}
