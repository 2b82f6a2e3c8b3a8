//! What TCP and Unix-domain streams share, written once as macros: the `futures_io` traits (for
//! the stream, `&stream` and the split halves), the reactor-driven read/write primitives, and
//! the public readiness API (`readable`, `writable`, `try_read`, `try_write`, ...).
//!
//! Every operation goes through `PollIo::poll_io_hinted` (or `try_io` for the `try_*` forms),
//! so the `net::sys` hints (a drained TCP read, a short write) apply to all of them.

/// Implements `futures_io::AsyncRead` for `$ty`, whose `$this => $stream` expression yields a
/// `&` of a stream type with `poll_read_priv` / `poll_read_vectored_priv`.
macro_rules! impl_async_read {
    (impl<$lt:lifetime> $ty:ty, $this:ident => $stream:expr) => {
        impl<$lt> futures_io::AsyncRead for $ty {
            impl_async_read!(@body $this => $stream);
        }
    };
    ($ty:ty, $this:ident => $stream:expr) => {
        impl futures_io::AsyncRead for $ty {
            impl_async_read!(@body $this => $stream);
        }
    };
    (@body $this:ident => $stream:expr) => {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $this = &*self;
                $stream.poll_read_priv(cx, buf)
            }

            fn poll_read_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $this = &*self;
                $stream.poll_read_vectored_priv(cx, bufs)
            }
    };
}

/// Implements `futures_io::AsyncWrite` for `$ty` (see `impl_async_read`); `close` shuts the
/// write direction down through `$close`.
macro_rules! impl_async_write {
    (impl<$lt:lifetime> $ty:ty, $this:ident => $stream:expr, close($closer:ident) => $close:expr) => {
        impl<$lt> futures_io::AsyncWrite for $ty {
            impl_async_write!(@body $this => $stream, close($closer) => $close);
        }
    };
    ($ty:ty, $this:ident => $stream:expr, close($closer:ident) => $close:expr) => {
        impl futures_io::AsyncWrite for $ty {
            impl_async_write!(@body $this => $stream, close($closer) => $close);
        }
    };
    (@body $this:ident => $stream:expr, close($closer:ident) => $close:expr) => {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $this = &*self;
                $stream.poll_write_priv(cx, buf)
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $this = &*self;
                $stream.poll_write_vectored_priv(cx, bufs)
            }

            /// Sockets have no user-space buffer: nothing to flush.
            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }

            /// Shuts down the write direction (the peer reads end-of-file). A connection the
            /// peer already reset counts as closed: `Ok`.
            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                let $closer = self.get_mut();
                std::task::Poll::Ready($close)
            }
    };
}

/// Implements the stream-side primitives (`poll_read_priv`, ...) for a stream type with an
/// `io: PollIo<S>` field; `$read` is the `net::sys` read function for its family.
macro_rules! impl_stream_primitives {
    ($ty:ty, $read:path) => {
        impl $ty {
            pub(crate) fn poll_read_priv(
                &self,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io
                    .poll_io_hinted(cx, crate::reactor::io::Direction::Read, |s| {
                        $read(s, &mut [std::io::IoSliceMut::new(&mut *buf)])
                    })
            }

            pub(crate) fn poll_read_vectored_priv(
                &self,
                cx: &mut std::task::Context<'_>,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io
                    .poll_io_hinted(cx, crate::reactor::io::Direction::Read, |s| $read(s, bufs))
            }

            pub(crate) fn poll_write_priv(
                &self,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io
                    .poll_io_hinted(cx, crate::reactor::io::Direction::Write, |s| {
                        crate::net::sys::stream_write(s, buf)
                    })
            }

            pub(crate) fn poll_write_vectored_priv(
                &self,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io
                    .poll_io_hinted(cx, crate::reactor::io::Direction::Write, |s| {
                        crate::net::sys::stream_write_vectored(s, bufs)
                    })
            }

            /// `shutdown(2)`, where a connection that is already gone (the peer reset it)
            /// counts as shut down: `Ok`, as in tokio.
            pub(crate) fn shutdown_priv(&self, how: std::net::Shutdown) -> std::io::Result<()> {
                match self.io.get_ref().shutdown(how) {
                    Err(err) if err.kind() == std::io::ErrorKind::NotConnected => Ok(()),
                    result => result,
                }
            }
        }

        impl_async_read!($ty, this => this);
        impl_async_read!(impl<'a> &'a $ty, this => *this);
        impl_async_write!($ty, this => this, close(this) => this.shutdown_priv(std::net::Shutdown::Write));
        impl_async_write!(impl<'a> &'a $ty, this => *this, close(this) => this.shutdown_priv(std::net::Shutdown::Write));
    };
}

/// The public readiness and split API of a stream type (`$ty` with an `io: PollIo<S>` field).
/// `$read` is the `net::sys` read for its family; `$setup` is hidden doc-example code that
/// starts `spindle::run(async {` and binds two connected streams, `client` and `server`.
macro_rules! impl_stream_api {
    ($ty:ident, $module:ident, $read:path, $setup:expr) => {
        impl $ty {
            /// Waits until the stream may be readable: data, end-of-file or an error is
            /// pending. Readiness can be stale: a following [`try_read`](Self::try_read) may
            /// still return `WouldBlock`, which clears it; then wait again.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = $setup]
            /// use futures_lite::AsyncWriteExt;
            /// (&client).write_all(b"hi").await.unwrap();
            /// let mut buf = [0u8; 8];
            /// let n = loop {
            ///     server.readable().await.unwrap();
            ///     match server.try_read(&mut buf) {
            ///         Ok(n) => break n,
            ///         Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            ///         Err(e) => panic!("{e}"),
            ///     }
            /// };
            /// assert_eq!(&buf[..n], b"hi");
            /// # });
            /// ```
            pub async fn readable(&self) -> std::io::Result<()> {
                std::future::poll_fn(|cx| self.poll_read_ready(cx)).await
            }

            /// Waits until the stream may be writable (room in the send buffer, or an error
            /// pending). As with [`readable`](Self::readable), `try_write` may still return
            /// `WouldBlock`.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = $setup]
            /// client.writable().await.unwrap();
            /// assert_eq!(client.try_write(b"ping").unwrap(), 4);
            /// # drop(server);
            /// # });
            /// ```
            pub async fn writable(&self) -> std::io::Result<()> {
                std::future::poll_fn(|cx| self.poll_write_ready(cx)).await
            }

            /// Polls for read readiness (the poll form of [`readable`](Self::readable)). Several
            /// tasks may poll at once; an event wakes each of them.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = $setup]
            /// use futures_lite::AsyncWriteExt;
            /// (&client).write_all(b"x").await.unwrap();
            /// std::future::poll_fn(|cx| server.poll_read_ready(cx)).await.unwrap();
            /// # });
            /// ```
            pub fn poll_read_ready(
                &self,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                self.io
                    .poll_ready(cx, crate::reactor::io::Direction::Read)
                    .map(|ready| ready.map(drop))
            }

            /// Polls for write readiness (the poll form of [`writable`](Self::writable)).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = $setup]
            /// std::future::poll_fn(|cx| client.poll_write_ready(cx)).await.unwrap();
            /// # drop(server);
            /// # });
            /// ```
            pub fn poll_write_ready(
                &self,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                self.io
                    .poll_ready(cx, crate::reactor::io::Direction::Write)
                    .map(|ready| ready.map(drop))
            }

            /// Reads what is available now, without waiting: `Ok(0)` is end-of-file,
            /// `WouldBlock` means nothing is there yet (wait with
            /// [`readable`](Self::readable)).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = $setup]
            /// let mut buf = [0u8; 8];
            /// // Nothing was sent yet.
            /// let err = server.try_read(&mut buf).unwrap_err();
            /// assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
            /// # drop(client);
            /// # });
            /// ```
            pub fn try_read(&self, buf: &mut [u8]) -> std::io::Result<usize> {
                self.io
                    .try_io(crate::reactor::io::Direction::Read, |s| {
                        $read(s, &mut [std::io::IoSliceMut::new(&mut *buf)])
                    })
            }

            /// [`try_read`](Self::try_read) into several buffers, filled in order.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = $setup]
            /// use futures_lite::AsyncWriteExt;
            /// use std::io::IoSliceMut;
            /// (&client).write_all(b"abcdef").await.unwrap();
            /// let (mut head, mut tail) = ([0u8; 2], [0u8; 8]);
            /// let n = loop {
            ///     server.readable().await.unwrap();
            ///     let mut bufs = [IoSliceMut::new(&mut head), IoSliceMut::new(&mut tail)];
            ///     match server.try_read_vectored(&mut bufs) {
            ///         Ok(n) => break n,
            ///         Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            ///         Err(e) => panic!("{e}"),
            ///     }
            /// };
            /// assert_eq!((n, &head, &tail[..4]), (6, b"ab", &b"cdef"[..]));
            /// # });
            /// ```
            pub fn try_read_vectored(
                &self,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::io::Result<usize> {
                self.io
                    .try_io(crate::reactor::io::Direction::Read, |s| $read(s, bufs))
            }

            /// Writes what fits in the send buffer now, without waiting; `WouldBlock` when it
            /// is full (wait with [`writable`](Self::writable)).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = $setup]
            /// use futures_lite::AsyncReadExt;
            /// assert_eq!(client.try_write(b"hey").unwrap(), 3);
            /// let mut buf = [0u8; 3];
            /// (&server).read_exact(&mut buf).await.unwrap();
            /// assert_eq!(&buf, b"hey");
            /// # });
            /// ```
            pub fn try_write(&self, buf: &[u8]) -> std::io::Result<usize> {
                self.io
                    .try_io(crate::reactor::io::Direction::Write, |s| {
                        crate::net::sys::stream_write(s, buf)
                    })
            }

            /// [`try_write`](Self::try_write) from several buffers, in order.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = $setup]
            /// use std::io::IoSlice;
            /// let n = client
            ///     .try_write_vectored(&[IoSlice::new(b"ab"), IoSlice::new(b"cd")])
            ///     .unwrap();
            /// assert_eq!(n, 4);
            /// # drop(server);
            /// # });
            /// ```
            pub fn try_write_vectored(&self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
                self.io
                    .try_io(crate::reactor::io::Direction::Write, |s| {
                        crate::net::sys::stream_write_vectored(s, bufs)
                    })
            }

            /// Splits the stream into a read half and a write half that borrow it, so that
            /// one task can read and write concurrently (for example with `gather!`). Closing
            /// the write half shuts down the write direction; dropping it does nothing. Use
            /// [`into_split`](Self::into_split) to move the halves into different tasks.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = $setup]
            /// use futures_lite::{AsyncReadExt, AsyncWriteExt};
            /// let mut server = server;
            /// let (mut rd, mut wr) = server.split();
            /// let (written, read) = spindle::gather!(
            ///     async { wr.write_all(b"to client").await },
            ///     async {
            ///         (&client).write_all(b"to server").await.unwrap();
            ///         let mut buf = [0u8; 9];
            ///         rd.read_exact(&mut buf).await.map(|_| buf)
            ///     },
            /// )
            /// .await;
            /// written.unwrap();
            /// assert_eq!(&read.unwrap(), b"to server");
            /// # });
            /// ```
            pub fn split(&mut self) -> (crate::net::$module::ReadHalf<'_>, crate::net::$module::WriteHalf<'_>) {
                crate::net::$module::split(self)
            }

            /// Splits the stream into owned halves that can move into different tasks (an
            /// `Arc` inside, no lock). Dropping the [`OwnedWriteHalf`] shuts down the write
            /// direction, as closing it does (the peer reads end-of-file);
            /// [`OwnedWriteHalf::forget`] drops it without. [`OwnedReadHalf::reunite`] puts
            /// the two halves back together.
            ///
            #[doc = concat!("[`OwnedWriteHalf`]: crate::net::", stringify!($module), "::OwnedWriteHalf")]
            #[doc = concat!("[`OwnedWriteHalf::forget`]: crate::net::", stringify!($module), "::OwnedWriteHalf::forget")]
            #[doc = concat!("[`OwnedReadHalf::reunite`]: crate::net::", stringify!($module), "::OwnedReadHalf::reunite")]
            ///
            /// # Examples
            ///
            /// ```
            #[doc = $setup]
            /// use futures_lite::{AsyncReadExt, AsyncWriteExt};
            /// let (mut rd, mut wr) = server.into_split();
            /// let echo = spindle::spawn(async move {
            ///     let mut buf = [0u8; 5];
            ///     rd.read_exact(&mut buf).await.unwrap();
            ///     wr.write_all(&buf).await.unwrap();
            /// });
            /// (&client).write_all(b"hello").await.unwrap();
            /// echo.await.unwrap();
            /// let mut reply = Vec::new();
            /// // The write half was dropped with the task: the reply ends with EOF.
            /// (&client).read_to_end(&mut reply).await.unwrap();
            /// assert_eq!(reply, b"hello");
            /// # });
            /// ```
            pub fn into_split(self) -> (crate::net::$module::OwnedReadHalf, crate::net::$module::OwnedWriteHalf) {
                crate::net::$module::split_owned(self)
            }
        }
    };
}
