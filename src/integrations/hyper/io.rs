//! `SpindleIo<T>`: futures-io streams as hyper I/O, and hyper I/O as futures-io streams.
//!
//! Reading into hyper's buffer: hyper hands out a cursor over *uninitialized* memory (a fresh
//! `ReadBuf::uninit` for every read, over its `BytesMut`'s spare capacity, 8 KiB and up).
//! `futures_io::AsyncRead` can only fill an initialized `&mut [u8]`, so for a generic `T` the
//! cursor is zeroed first (`initialize_unfilled`) — hyper's `ReadBuf` does not carry what an
//! earlier read initialized across calls, and we must not guess it from addresses (a freed and
//! reallocated buffer is uninitialized again even at the same address). For spindle's own
//! sockets (`TcpStream`, `UnixStream`, by value, found by type id) the kernel writes straight
//! into the cursor instead (see `integrations/uninit.rs`): no memset per read.

use crate::integrations::uninit;
use std::io::{self, IoSlice, IoSliceMut};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

pin_project_lite::pin_project! {
    /// Adapts a [`futures_io`] stream to hyper's I/O traits, and a hyper stream to `futures_io`'s.
    ///
    /// * `T: futures_io::AsyncRead` → `SpindleIo<T>: hyper::rt::Read`;
    ///   `T: futures_io::AsyncWrite` → `SpindleIo<T>: hyper::rt::Write` (vectored writes,
    ///   flush, and `poll_shutdown` → `poll_close`). Wrap a [`TcpStream`](crate::net::TcpStream),
    ///   a [`UnixStream`](crate::net::UnixStream), or any other runtime-neutral stream (a TLS
    ///   stream from `futures-rustls`, say) and hand it to hyper's `serve_connection` or
    ///   `handshake`.
    /// * `T: hyper::rt::Read` → `SpindleIo<T>: futures_io::AsyncRead`, and the same for writes:
    ///   use hyper's I/O objects (an upgraded connection, `hyper::upgrade::Upgraded`) with
    ///   `futures_io` code such as `futures_lite::io::copy` or a WebSocket library.
    /// * With the `tokio-io` feature, `T: futures_io::AsyncRead`/`AsyncWrite` also makes
    ///   `SpindleIo<T>` a `tokio::io::AsyncRead`/`AsyncWrite`.
    ///
    /// `SpindleIo<T>` is `Unpin` when `T` is; a `!Unpin` `T` is pinned structurally.
    ///
    /// **Reads without memset:** for spindle's own `TcpStream` and `UnixStream` the bytes are
    /// received straight into hyper's uninitialized read buffer. Any other `T` can only fill an
    /// initialized `&mut [u8]`, so the part of hyper's buffer handed to it is zeroed first (hyper
    /// starts every read with a fresh uninitialized buffer, typically 8 KiB).
    ///
    /// **Vectored writes:** reported as efficient (`is_write_vectored`) for spindle's sockets,
    /// where they become one `writev`; for other `T` hyper then flattens its buffers itself.
    ///
    /// # Examples
    ///
    /// A hyper HTTP/1 server connection on a spindle socket:
    ///
    /// ```
    /// use http_body_util::Full;
    /// use hyper::body::Bytes;
    /// use spindle::hyper::{SpindleIo, SpindleTimer};
    /// use spindle::net::{TcpListener, TcpStream};
    /// use futures_lite::{AsyncReadExt, AsyncWriteExt};
    ///
    /// spindle::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let mut client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    ///     let (stream, _) = listener.accept().await.unwrap();
    ///     let service = hyper::service::service_fn(|_req| async {
    ///         Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(Bytes::from("hi"))))
    ///     });
    ///     let server = spindle::spawn(
    ///         hyper::server::conn::http1::Builder::new()
    ///             .timer(SpindleTimer::new())
    ///             .serve_connection(SpindleIo::new(stream), service),
    ///     );
    ///     client.write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await.unwrap();
    ///     let mut response = String::new();
    ///     client.read_to_string(&mut response).await.unwrap();
    ///     assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    ///     assert!(response.ends_with("\r\n\r\nhi"), "{response}");
    ///     server.await.unwrap().unwrap();
    /// });
    /// ```
    #[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct SpindleIo<T> {
        #[pin]
        inner: T,
    }
}

impl<T> SpindleIo<T> {
    /// Wraps `stream`.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::hyper::SpindleIo;
    ///
    /// let io = SpindleIo::new(futures_lite::io::Cursor::new(b"bytes".to_vec()));
    /// assert_eq!(io.inner().get_ref(), b"bytes");
    /// ```
    pub fn new(stream: T) -> SpindleIo<T> {
        SpindleIo { inner: stream }
    }

    /// The wrapped stream.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::hyper::SpindleIo;
    ///
    /// let io = SpindleIo::new(vec![1u8, 2]);
    /// assert_eq!(io.inner(), &[1, 2]);
    /// ```
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// The wrapped stream, mutably (for example to change a socket option).
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::hyper::SpindleIo;
    ///
    /// let mut io = SpindleIo::new(vec![1u8]);
    /// io.inner_mut().push(2);
    /// assert_eq!(io.inner(), &[1, 2]);
    /// ```
    pub fn inner_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// The wrapped stream, pinned (for a `!Unpin` stream).
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::hyper::SpindleIo;
    /// use std::pin::pin;
    ///
    /// let mut io = pin!(SpindleIo::new(5u8));
    /// *io.as_mut().inner_pin_mut() += 1;
    /// assert_eq!(*io.inner(), 6);
    /// ```
    pub fn inner_pin_mut(self: Pin<&mut Self>) -> Pin<&mut T> {
        self.project().inner
    }

    /// Unwraps the stream.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::hyper::SpindleIo;
    ///
    /// assert_eq!(SpindleIo::new("stream").into_inner(), "stream");
    /// ```
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T> From<T> for SpindleIo<T> {
    fn from(stream: T) -> SpindleIo<T> {
        SpindleIo::new(stream)
    }
}

impl<T: futures_io::AsyncRead> ::hyper::rt::Read for SpindleIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ::hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let inner = self.project().inner;
        if let Some(socket) = uninit::spindle_socket(&*inner) {
            // SAFETY: `as_mut` requires that we never de-initialize bytes; the socket only
            // stores received bytes into the slice (see `UninitRead`).
            let dst = unsafe { buf.as_mut() };
            let len = dst.len();
            let n = uninit::checked_count(ready!(socket.poll_read_uninit(cx, dst))?, len);
            // SAFETY: `poll_read_uninit` initialized the first `n` bytes of the cursor, and
            // `n <= len` was checked.
            unsafe { buf.advance(n) };
            return Poll::Ready(Ok(()));
        }
        let dst = buf.initialize_unfilled();
        let len = dst.len();
        let n = uninit::checked_count(ready!(inner.poll_read(cx, dst))?, len);
        // SAFETY: `initialize_unfilled` initialized the whole cursor (recorded in hyper's
        // `ReadBuf`), and `n <= len` was checked.
        unsafe { buf.advance(n) };
        Poll::Ready(Ok(()))
    }
}

impl<T: futures_io::AsyncWrite> ::hyper::rt::Write for SpindleIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_close(cx)
    }

    fn is_write_vectored(&self) -> bool {
        uninit::is_spindle_socket::<T>()
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write_vectored(cx, bufs)
    }
}

impl<T: ::hyper::rt::Read> futures_io::AsyncRead for SpindleIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut read_buf = ::hyper::rt::ReadBuf::new(buf);
        ready!(self.project().inner.poll_read(cx, read_buf.unfilled()))?;
        Poll::Ready(Ok(read_buf.filled().len()))
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        match bufs.iter_mut().find(|b| !b.is_empty()) {
            Some(buf) => self.poll_read(cx, buf),
            None => self.poll_read(cx, &mut []),
        }
    }
}

impl<T: ::hyper::rt::Write> futures_io::AsyncWrite for SpindleIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::hyper::rt::{Read, ReadBuf, Write};
    use futures_lite::future::poll_fn;
    use std::mem::MaybeUninit;

    /// A reader that claims more bytes than it was given.
    struct Liar;
    impl futures_io::AsyncRead for Liar {
        fn poll_read(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<io::Result<usize>> {
            Poll::Ready(Ok(buf.len() + 1))
        }
    }

    #[test]
    fn generic_reader_fills_hyper_buffer() {
        let mut io = SpindleIo::new(futures_lite::io::Cursor::new(b"hello world".to_vec()));
        let mut storage = [MaybeUninit::<u8>::uninit(); 5];
        let mut buf = ReadBuf::uninit(&mut storage);
        futures_lite::future::block_on(poll_fn(|cx| {
            Pin::new(&mut io).poll_read(cx, buf.unfilled())
        }))
        .unwrap();
        assert_eq!(buf.filled(), b"hello");
        assert!(!Write::is_write_vectored(&SpindleIo::new(Vec::<u8>::new())));
    }

    #[test]
    fn a_lying_reader_panics_instead_of_exposing_uninit_memory() {
        let result = std::panic::catch_unwind(|| {
            let mut io = SpindleIo::new(Liar);
            let mut storage = [MaybeUninit::<u8>::uninit(); 4];
            let mut buf = ReadBuf::uninit(&mut storage);
            let _ = futures_lite::future::block_on(poll_fn(|cx| {
                Pin::new(&mut io).poll_read(cx, buf.unfilled())
            }));
        });
        let err = result.unwrap_err();
        let msg = err.downcast_ref::<String>().unwrap();
        assert!(msg.contains("returned 5 for a buffer of 4 bytes"), "{msg}");
    }

    #[test]
    fn hyper_io_back_to_futures_io() {
        use futures_lite::{AsyncReadExt, AsyncWriteExt};
        // SpindleIo<SpindleIo<Cursor>>: futures-io -> hyper -> futures-io, both directions.
        futures_lite::future::block_on(async {
            let mut io = SpindleIo::new(SpindleIo::new(futures_lite::io::Cursor::new(
                b"abc".to_vec(),
            )));
            let mut out = String::new();
            io.read_to_string(&mut out).await.unwrap();
            assert_eq!(out, "abc");
            io.write_all(b"def").await.unwrap();
            io.flush().await.unwrap();
            io.close().await.unwrap();
            assert_eq!(io.into_inner().into_inner().into_inner(), b"abcdef");
        });
    }

    #[test]
    fn unpin_when_the_stream_is() {
        fn assert_unpin<T: Unpin>() {}
        assert_unpin::<SpindleIo<crate::net::TcpStream>>();
        assert_unpin::<SpindleIo<Vec<u8>>>();
    }
}
