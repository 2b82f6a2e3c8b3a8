//! Split halves of a stream, written once for TCP and Unix-domain streams (the
//! `define_split!` macro is invoked in `net::tcp` and `net::unix`).
//!
//! * `ReadHalf<'a>` / `WriteHalf<'a>` borrow the stream (`split(&mut self)`), so both halves can
//!   be used by one task at the same time; closing the write half shuts the write direction
//!   down, dropping it does not.
//! * `OwnedReadHalf` / `OwnedWriteHalf` share the stream through an `Arc` (`into_split(self)`)
//!   and move into different tasks. No lock is needed: reads and writes on a socket are
//!   independent, and each direction has its own readiness. Dropping the owned write half shuts
//!   the write direction down (as tokio does), unless it was `forget`-ed or `reunite`-d.

/// Defines the split types of stream type `$stream` (whose addresses are `$addr`) in the
/// invoking module. `$setup` is hidden doc-example code that starts `spindle::run(async {` and
/// binds two connected streams, `client` and `server`.
macro_rules! define_split {
    ($stream:ident, $addr:ty, $setup:expr) => {
        use crate::loom::sync::StdArc;

        /// The read half of a borrowed stream, from `split`; implements
        /// [`futures_io::AsyncRead`].
        ///
        /// # Examples
        ///
        /// ```
        #[doc = $setup]
        /// use futures_lite::{AsyncReadExt, AsyncWriteExt};
        /// let mut server = server;
        /// let (mut rd, _wr) = server.split();
        /// (&client).write_all(b"abc").await.unwrap();
        /// let mut buf = [0u8; 3];
        /// rd.read_exact(&mut buf).await.unwrap();
        /// assert_eq!(&buf, b"abc");
        /// # });
        /// ```
        #[derive(Debug)]
        pub struct ReadHalf<'a>(&'a $stream);

        /// The write half of a borrowed stream, from `split`; implements
        /// [`futures_io::AsyncWrite`] (closing it shuts the write direction down).
        ///
        /// # Examples
        ///
        /// ```
        #[doc = $setup]
        /// use futures_lite::{AsyncReadExt, AsyncWriteExt};
        /// let mut server = server;
        /// let (_rd, mut wr) = server.split();
        /// wr.write_all(b"bye").await.unwrap();
        /// wr.close().await.unwrap();
        /// let mut got = Vec::new();
        /// (&client).read_to_end(&mut got).await.unwrap();
        /// assert_eq!(got, b"bye");
        /// # });
        /// ```
        #[derive(Debug)]
        pub struct WriteHalf<'a>(&'a $stream);

        /// The owned read half of a stream, from `into_split`; implements
        /// [`futures_io::AsyncRead`].
        ///
        /// # Examples
        ///
        /// ```
        #[doc = $setup]
        /// use futures_lite::{AsyncReadExt, AsyncWriteExt};
        /// let (mut rd, _wr) = server.into_split();
        /// let reader = spindle::spawn(async move {
        ///     let mut buf = [0u8; 4];
        ///     rd.read_exact(&mut buf).await.map(|_| buf)
        /// });
        /// (&client).write_all(b"data").await.unwrap();
        /// assert_eq!(&reader.await.unwrap().unwrap(), b"data");
        /// # });
        /// ```
        #[derive(Debug)]
        pub struct OwnedReadHalf {
            inner: StdArc<$stream>,
        }

        /// The owned write half of a stream, from `into_split`; implements
        /// [`futures_io::AsyncWrite`]. Dropping it (or closing it) shuts the write direction
        /// down, so the peer reads end-of-file; [`forget`](Self::forget) drops it without.
        ///
        /// # Examples
        ///
        /// ```
        #[doc = $setup]
        /// use futures_lite::{AsyncReadExt, AsyncWriteExt};
        /// let (_rd, mut wr) = server.into_split();
        /// spindle::spawn(async move { wr.write_all(b"done").await.unwrap() })
        ///     .await
        ///     .unwrap();
        /// let mut got = Vec::new();
        /// (&client).read_to_end(&mut got).await.unwrap();
        /// assert_eq!(got, b"done");
        /// # });
        /// ```
        #[derive(Debug)]
        pub struct OwnedWriteHalf {
            inner: StdArc<$stream>,
            shutdown_on_drop: bool,
        }

        /// The error of [`OwnedReadHalf::reunite`] when the halves come from different
        /// streams; it gives both halves back.
        ///
        /// # Examples
        ///
        /// ```
        #[doc = $setup]
        /// let (rd, _) = client.into_split();
        /// let (_, wr) = server.into_split();
        /// let err = rd.reunite(wr).unwrap_err();
        /// assert_eq!(
        ///     err.to_string(),
        ///     "tried to reunite halves that are not from the same socket"
        /// );
        /// let (_rd, _wr) = (err.0, err.1);
        /// # });
        /// ```
        #[derive(Debug)]
        pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

        impl std::fmt::Display for ReuniteError {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("tried to reunite halves that are not from the same socket")
            }
        }

        impl std::error::Error for ReuniteError {}

        pub(crate) fn split(stream: &mut $stream) -> (ReadHalf<'_>, WriteHalf<'_>) {
            (ReadHalf(stream), WriteHalf(stream))
        }

        pub(crate) fn split_owned(stream: $stream) -> (OwnedReadHalf, OwnedWriteHalf) {
            let inner = StdArc::new(stream);
            (
                OwnedReadHalf {
                    inner: inner.clone(),
                },
                OwnedWriteHalf {
                    inner,
                    shutdown_on_drop: true,
                },
            )
        }

        impl OwnedReadHalf {
            /// Puts the halves of one stream back together; a write half of another stream is
            /// an error that returns both halves. The write direction is not shut down.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = $setup]
            /// let (rd, wr) = server.into_split();
            /// let server = rd.reunite(wr).unwrap();
            /// assert_eq!(
            ///     format!("{:?}", server.local_addr().unwrap()),
            ///     format!("{:?}", client.peer_addr().unwrap())
            /// );
            /// # });
            /// ```
            pub fn reunite(self, other: OwnedWriteHalf) -> Result<$stream, ReuniteError> {
                if StdArc::ptr_eq(&self.inner, &other.inner) {
                    other.forget();
                    // Only these two halves ever held the Arc, and the write half is gone.
                    Ok(StdArc::try_unwrap(self.inner)
                        .expect("a stream's Arc is held by exactly its two halves"))
                } else {
                    Err(ReuniteError(self, other))
                }
            }
        }

        impl OwnedWriteHalf {
            /// Puts the halves back together (see [`OwnedReadHalf::reunite`]).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = $setup]
            /// let (rd, wr) = client.into_split();
            /// let client = wr.reunite(rd).unwrap();
            /// assert_eq!(
            ///     format!("{:?}", client.peer_addr().unwrap()),
            ///     format!("{:?}", server.local_addr().unwrap())
            /// );
            /// # });
            /// ```
            pub fn reunite(self, other: OwnedReadHalf) -> Result<$stream, ReuniteError> {
                other.reunite(self)
            }

            /// Drops the write half *without* shutting the write direction down (the stream
            /// closes once the read half is dropped too).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = $setup]
            /// let (rd, wr) = client.into_split();
            /// wr.forget();
            /// drop(rd);
            /// # drop(server);
            /// # });
            /// ```
            pub fn forget(mut self) {
                self.shutdown_on_drop = false;
            }
        }

        impl Drop for OwnedWriteHalf {
            fn drop(&mut self) {
                if self.shutdown_on_drop {
                    // Best effort, as tokio: an error (the connection is already gone) leaves
                    // nothing to shut down.
                    let _ = self.inner.shutdown_priv(std::net::Shutdown::Write);
                }
            }
        }

        impl ReadHalf<'_> {
            fn inner_ref(&self) -> &$stream {
                self.0
            }
        }

        impl WriteHalf<'_> {
            fn inner_ref(&self) -> &$stream {
                self.0
            }
        }

        impl OwnedReadHalf {
            fn inner_ref(&self) -> &$stream {
                &self.inner
            }
        }

        impl OwnedWriteHalf {
            fn inner_ref(&self) -> &$stream {
                &self.inner
            }
        }

        impl_async_read!(impl<'a> ReadHalf<'a>, this => this.0);
        impl_async_read!(OwnedReadHalf, this => this.inner);
        impl_async_write!(impl<'a> WriteHalf<'a>, this => this.0,
            close(this) => this.0.shutdown_priv(std::net::Shutdown::Write));
        impl_async_write!(OwnedWriteHalf, this => this.inner, close(this) => {
            let result = this.inner.shutdown_priv(std::net::Shutdown::Write);
            if result.is_ok() {
                this.shutdown_on_drop = false;
            }
            result
        });

        define_split!(@read_half ReadHalf<'_>, $stream, $addr, $setup, split);
        define_split!(@read_half OwnedReadHalf, $stream, $addr, $setup, into_split);
        define_split!(@write_half WriteHalf<'_>, $stream, $addr, $setup, split);
        define_split!(@write_half OwnedWriteHalf, $stream, $addr, $setup, into_split);
    };

    (@common $half:ty, $stream:ident, $addr:ty, $setup:expr, $how:ident) => {
        impl $half {
            /// The address of the remote peer.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = $setup]
            #[doc = concat!("let mut server = server;\nlet halves = server.", stringify!($how), "();")]
            /// assert_eq!(
            ///     format!("{:?}", halves.0.peer_addr().unwrap()),
            ///     format!("{:?}", client.local_addr().unwrap())
            /// );
            /// # });
            /// ```
            pub fn peer_addr(&self) -> std::io::Result<$addr> {
                AsRef::<$stream>::as_ref(self).peer_addr()
            }

            /// The local address of the stream.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = $setup]
            #[doc = concat!("let mut server = server;\nlet halves = server.", stringify!($how), "();")]
            /// assert_eq!(
            ///     format!("{:?}", halves.1.local_addr().unwrap()),
            ///     format!("{:?}", client.peer_addr().unwrap())
            /// );
            /// # });
            /// ```
            pub fn local_addr(&self) -> std::io::Result<$addr> {
                AsRef::<$stream>::as_ref(self).local_addr()
            }
        }
    };

    (@read_half $half:ty, $stream:ident, $addr:ty, $setup:expr, $how:ident) => {
        define_split!(@common $half, $stream, $addr, $setup, $how);

        impl AsRef<$stream> for $half {
            fn as_ref(&self) -> &$stream {
                self.inner_ref()
            }
        }

        impl $half {
            /// Waits until the stream may be readable (see the stream's `readable`).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = $setup]
            #[doc = concat!("let mut server = server;\nlet (rd, _wr) = server.", stringify!($how), "();")]
            /// use futures_lite::AsyncWriteExt;
            /// (&client).write_all(b"x").await.unwrap();
            /// rd.readable().await.unwrap();
            /// # });
            /// ```
            pub async fn readable(&self) -> std::io::Result<()> {
                self.inner_ref().readable().await
            }

            /// Polls for read readiness (see the stream's `poll_read_ready`).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = $setup]
            #[doc = concat!("let mut server = server;\nlet (rd, _wr) = server.", stringify!($how), "();")]
            /// use futures_lite::AsyncWriteExt;
            /// (&client).write_all(b"x").await.unwrap();
            /// std::future::poll_fn(|cx| rd.poll_read_ready(cx)).await.unwrap();
            /// # });
            /// ```
            pub fn poll_read_ready(
                &self,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                self.inner_ref().poll_read_ready(cx)
            }

            /// Reads what is available now, without waiting (see the stream's `try_read`).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = $setup]
            #[doc = concat!("let mut server = server;\nlet (rd, _wr) = server.", stringify!($how), "();")]
            /// let mut buf = [0u8; 4];
            /// let err = rd.try_read(&mut buf).unwrap_err();
            /// assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
            /// # drop(client);
            /// # });
            /// ```
            pub fn try_read(&self, buf: &mut [u8]) -> std::io::Result<usize> {
                self.inner_ref().try_read(buf)
            }

            /// [`try_read`](Self::try_read) into several buffers.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = $setup]
            #[doc = concat!("let mut server = server;\nlet (rd, _wr) = server.", stringify!($how), "();")]
            /// let mut buf = [0u8; 4];
            /// let mut bufs = [std::io::IoSliceMut::new(&mut buf)];
            /// let err = rd.try_read_vectored(&mut bufs).unwrap_err();
            /// assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
            /// # drop(client);
            /// # });
            /// ```
            pub fn try_read_vectored(
                &self,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::io::Result<usize> {
                self.inner_ref().try_read_vectored(bufs)
            }
        }
    };

    (@write_half $half:ty, $stream:ident, $addr:ty, $setup:expr, $how:ident) => {
        define_split!(@common $half, $stream, $addr, $setup, $how);

        impl AsRef<$stream> for $half {
            fn as_ref(&self) -> &$stream {
                self.inner_ref()
            }
        }

        impl $half {
            /// Waits until the stream may be writable (see the stream's `writable`).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = $setup]
            #[doc = concat!("let mut server = server;\nlet (_rd, wr) = server.", stringify!($how), "();")]
            /// wr.writable().await.unwrap();
            /// # drop(client);
            /// # });
            /// ```
            pub async fn writable(&self) -> std::io::Result<()> {
                self.inner_ref().writable().await
            }

            /// Polls for write readiness (see the stream's `poll_write_ready`).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = $setup]
            #[doc = concat!("let mut server = server;\nlet (_rd, wr) = server.", stringify!($how), "();")]
            /// std::future::poll_fn(|cx| wr.poll_write_ready(cx)).await.unwrap();
            /// # drop(client);
            /// # });
            /// ```
            pub fn poll_write_ready(
                &self,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                self.inner_ref().poll_write_ready(cx)
            }

            /// Writes what fits now, without waiting (see the stream's `try_write`).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = $setup]
            #[doc = concat!("let mut server = server;\nlet (_rd, wr) = server.", stringify!($how), "();")]
            /// assert_eq!(wr.try_write(b"ok").unwrap(), 2);
            /// # drop(client);
            /// # });
            /// ```
            pub fn try_write(&self, buf: &[u8]) -> std::io::Result<usize> {
                self.inner_ref().try_write(buf)
            }

            /// [`try_write`](Self::try_write) from several buffers.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = $setup]
            #[doc = concat!("let mut server = server;\nlet (_rd, wr) = server.", stringify!($how), "();")]
            /// let bufs = [std::io::IoSlice::new(b"o"), std::io::IoSlice::new(b"k")];
            /// assert_eq!(wr.try_write_vectored(&bufs).unwrap(), 2);
            /// # drop(client);
            /// # });
            /// ```
            pub fn try_write_vectored(&self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
                self.inner_ref().try_write_vectored(bufs)
            }
        }
    };
}
