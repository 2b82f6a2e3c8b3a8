//! [`UnixListener`]: binds a path (or a Linux abstract name), accepts asynchronously, and
//! offers the accepted connections as a `Stream` ([`Incoming`]).

use super::UnixStream;
use crate::reactor::io::{Direction, PollIo};
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::{self, SocketAddr};
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A Unix-domain socket server, listening for connections on a path.
///
/// # Examples
///
/// ```no_run
/// use futures_lite::AsyncWriteExt;
/// use spindle::net::UnixListener;
///
/// async fn serve() -> std::io::Result<()> {
///     let listener = UnixListener::bind("/tmp/spindle-example.sock")?;
///     loop {
///         let (mut stream, _) = listener.accept().await?;
///         spindle::spawn(async move {
///             let _ = stream.write_all(b"hello\n").await;
///         });
///     }
/// }
///
/// spindle::run(serve()).unwrap();
/// ```
pub struct UnixListener {
    io: PollIo<net::UnixListener>,
}

impl UnixListener {
    /// Binds a listener to `path` (which must not exist yet) and registers it with the current
    /// runtime. On Linux a path that starts with a NUL byte is an abstract name (see the
    /// [`unix` module](crate::net::unix)). Synchronous; returns an error outside a runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UnixListener;
    ///
    /// let path = std::env::temp_dir().join(format!("spindle-doc-bind-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// spindle::run(async {
    ///     let listener = UnixListener::bind(&path).unwrap();
    ///     assert_eq!(listener.local_addr().unwrap().as_pathname(), Some(path.as_path()));
    /// });
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixListener> {
        let addr = super::socket_addr(path.as_ref())?;
        UnixListener::from_std(net::UnixListener::bind_addr(&addr)?)
    }

    /// Wraps a bound `std` listener: puts it in non-blocking mode and registers it with the
    /// current runtime. Returns an error outside a runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UnixListener;
    ///
    /// let path = std::env::temp_dir().join(format!("spindle-doc-lstd-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// let std_listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    /// spindle::run(async move {
    ///     let listener = UnixListener::from_std(std_listener).unwrap();
    ///     assert!(listener.local_addr().unwrap().as_pathname().is_some());
    /// });
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn from_std(listener: net::UnixListener) -> io::Result<UnixListener> {
        listener.set_nonblocking(true)?;
        Ok(UnixListener {
            io: PollIo::new(listener)?,
        })
    }

    /// Deregisters the listener and returns the `std` listener, still in non-blocking mode.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UnixListener;
    ///
    /// let path = std::env::temp_dir().join(format!("spindle-doc-linto-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// spindle::run(async {
    ///     let listener = UnixListener::bind(&path).unwrap();
    ///     let std_listener = listener.into_std();
    ///     assert!(std_listener.local_addr().unwrap().as_pathname().is_some());
    /// });
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn into_std(self) -> net::UnixListener {
        self.io.into_inner()
    }

    /// Waits for a new connection; returns the connected stream and the peer's address (usually
    /// unnamed).
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::{UnixListener, UnixStream};
    ///
    /// let path = std::env::temp_dir().join(format!("spindle-doc-accept-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// spindle::run(async {
    ///     let listener = UnixListener::bind(&path).unwrap();
    ///     let client = UnixStream::connect(&path).await.unwrap();
    ///     let (server_side, _) = listener.accept().await.unwrap();
    ///     assert_eq!(
    ///         server_side.local_addr().unwrap().as_pathname(),
    ///         client.peer_addr().unwrap().as_pathname()
    ///     );
    /// });
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for a new connection (the poll form of [`accept`](Self::accept)).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(target_os = "linux")] {
    /// use spindle::net::{UnixListener, UnixStream};
    ///
    /// spindle::run(async {
    ///     let name = format!("\0spindle-doc-poll-accept-{}", std::process::id());
    ///     let listener = UnixListener::bind(&name).unwrap();
    ///     let _client = UnixStream::connect(&name).await.unwrap();
    ///     let (stream, _) = std::future::poll_fn(|cx| listener.poll_accept(cx)).await.unwrap();
    ///     assert!(stream.peer_addr().is_ok());
    /// });
    /// # }
    /// ```
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(UnixStream, SocketAddr)>> {
        match self.io.poll_io(cx, Direction::Read, |l| l.accept()) {
            Poll::Ready(Ok((stream, peer))) => Poll::Ready(
                UnixStream::register(self.io.reactor().clone(), stream).map(|s| (s, peer)),
            ),
            Poll::Ready(Err(err)) => Poll::Ready(Err(err)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// The accepted connections as a [`futures_core::Stream`] of `io::Result<UnixStream>`. It
    /// never ends; an accept error is one `Err` item, after which it goes on accepting.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(target_os = "linux")] {
    /// use futures_lite::StreamExt;
    /// use spindle::net::{UnixListener, UnixStream};
    ///
    /// spindle::run(async {
    ///     let name = format!("\0spindle-doc-incoming-{}", std::process::id());
    ///     let listener = UnixListener::bind(&name).unwrap();
    ///     let _a = UnixStream::connect(&name).await.unwrap();
    ///     let _b = UnixStream::connect(&name).await.unwrap();
    ///     let accepted: Vec<_> = listener.incoming().take(2).collect().await;
    ///     assert!(accepted.iter().all(|s| s.is_ok()));
    /// });
    /// # }
    /// ```
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }

    /// Takes the socket's pending error (`SO_ERROR`), if any.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(target_os = "linux")] {
    /// use spindle::net::UnixListener;
    ///
    /// spindle::run(async {
    ///     let name = format!("\0spindle-doc-lerr-{}", std::process::id());
    ///     let listener = UnixListener::bind(&name).unwrap();
    ///     assert!(listener.take_error().unwrap().is_none());
    /// });
    /// # }
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }

    /// The address this listener is bound to.
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::net::UnixListener;
    ///
    /// let path = std::env::temp_dir().join(format!("spindle-doc-laddr-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// spindle::run(async {
    ///     let listener = UnixListener::bind(&path).unwrap();
    ///     assert_eq!(listener.local_addr().unwrap().as_pathname(), Some(path.as_path()));
    /// });
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.io.get_ref(), f)
    }
}

impl AsFd for UnixListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl AsRawFd for UnixListener {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl TryFrom<net::UnixListener> for UnixListener {
    type Error = io::Error;

    /// The same as [`UnixListener::from_std`].
    fn try_from(listener: net::UnixListener) -> io::Result<UnixListener> {
        UnixListener::from_std(listener)
    }
}

/// The connections accepted by a [`UnixListener`], as a [`futures_core::Stream`] of
/// `io::Result<UnixStream>`; from [`UnixListener::incoming`]. It never ends.
///
/// # Examples
///
/// ```
/// # #[cfg(target_os = "linux")] {
/// use futures_lite::StreamExt;
/// use spindle::net::{UnixListener, UnixStream};
///
/// spindle::run(async {
///     let name = format!("\0spindle-doc-incoming-type-{}", std::process::id());
///     let listener = UnixListener::bind(&name).unwrap();
///     let _client = UnixStream::connect(&name).await.unwrap();
///     let stream = listener.incoming().next().await.unwrap().unwrap();
///     assert!(stream.local_addr().is_ok());
/// });
/// # }
/// ```
#[derive(Debug)]
#[must_use = "streams do nothing unless polled"]
pub struct Incoming<'a> {
    listener: &'a UnixListener,
}

impl futures_core::Stream for Incoming<'_> {
    type Item = io::Result<UnixStream>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.listener
            .poll_accept(cx)
            .map(|accepted| Some(accepted.map(|(stream, _)| stream)))
    }
}
