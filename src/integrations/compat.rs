//! Running tokio-only futures from spindle tasks (feature `tokio-compat`).
//!
//! Crates built on tokio's own types — reqwest, tonic, sqlx, `tokio::net`, `tokio::time` — need a
//! *tokio reactor* to register their sockets and timers with; polled anywhere else they panic with
//! "there is no reactor running, must be called from the context of a Tokio 1.x runtime".
//! [`tokio`](fn@tokio) wraps such a future so that it works inside a spindle task:
//!
//! ```
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! spindle::run(async {
//!     // A plain spindle echo server...
//!     let listener = spindle::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
//!     let addr = listener.local_addr().unwrap();
//!     spindle::spawn(async move {
//!         let (stream, _) = listener.accept().await.unwrap();
//!         futures_lite::io::copy(&stream, &mut &stream).await.unwrap();
//!     });
//!     // ...and a tokio-only client for it, run from a spindle task.
//!     let echoed = spindle::spawn(spindle::compat::tokio(async move {
//!         let mut stream = tokio::net::TcpStream::connect(addr).await?;
//!         stream.write_all(b"through tokio").await?;
//!         stream.shutdown().await?;
//!         let mut echoed = String::new();
//!         stream.read_to_string(&mut echoed).await?;
//!         Ok::<_, std::io::Error>(echoed)
//!     }));
//!     assert_eq!(echoed.await.unwrap().unwrap(), "through tokio");
//! });
//! ```
//!
//! # How it works, and the one exception to "one reactor"
//!
//! spindle has one reactor per runtime and starts no helper threads. This feature is the
//! exception, and only when it is used: the first [`tokio`](fn@tokio) future that is polled outside a
//! tokio runtime lazily starts **one small tokio runtime** (a current-thread scheduler with
//! tokio's I/O and time drivers, on one background thread named `async-compat/tokio-1`, alive
//! until the process exits). The wrapped future itself still runs on spindle: while it is polled
//! (and when it is dropped) tokio's context is entered on the spindle worker, so tokio's types
//! register with that background reactor, and the reactor's wake-ups schedule the spindle task
//! like any other waker. Tasks the future spawns with `tokio::spawn` run on the background
//! thread. If a tokio runtime is already current on the thread, that one is used instead.
//!
//! The work is done by the well-kept `async-compat` crate (smol-rs), which does exactly this;
//! spindle adds the function and its documentation.
//!
//! For tokio's I/O *traits* (not types) no tokio runtime is needed at all: the `tokio-io`
//! feature implements `tokio::io::AsyncRead`/`AsyncWrite` for spindle's own streams.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Runs `future`, which needs a tokio reactor (it uses reqwest, tonic, sqlx, `tokio::net`,
/// `tokio::time`, ...), from a spindle task. See the [module docs](self) for how, and for the
/// background tokio runtime this starts the first time.
///
/// The returned future is `Send` when `future` is, so it can be [`spawn`](crate::spawn)ed.
///
/// **Pass an `async` block**: the tokio context is entered while the future is *polled* (and
/// dropped), not while its argument expression is evaluated. Some tokio constructors need the
/// context already when they are called — `tokio::time::sleep(d)` and
/// `tokio::net::TcpStream::from_std(s)` panic outside it — so write
/// `compat::tokio(async { tokio::time::sleep(d).await })`, not `compat::tokio(tokio::time::sleep(d))`.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
///
/// spindle::run(async {
///     let start = Instant::now();
///     // tokio's timer, inside a spindle task.
///     spindle::compat::tokio(async { tokio::time::sleep(Duration::from_millis(10)).await }).await;
///     assert!(start.elapsed() >= Duration::from_millis(10));
/// });
/// ```
pub fn tokio<F: Future>(future: F) -> TokioCompat<F> {
    TokioCompat {
        inner: async_compat::Compat::new(future),
    }
}

pin_project_lite::pin_project! {
    /// The future returned by [`tokio()`]: `F` polled (and dropped) inside a tokio context.
    ///
    /// # Examples
    ///
    /// ```
    /// let fut: spindle::compat::TokioCompat<_> = spindle::compat::tokio(async { 1 + 1 });
    /// assert_eq!(spindle::run(fut), 2);
    /// ```
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct TokioCompat<F> {
        #[pin]
        inner: async_compat::Compat<F>,
    }
}

impl<F> TokioCompat<F> {
    /// The wrapped future.
    ///
    /// # Examples
    ///
    /// ```
    /// let fut = spindle::compat::tokio(std::future::ready(3));
    /// assert_eq!(fut.get_ref().clone().into_inner(), 3);
    /// ```
    pub fn get_ref(&self) -> &F {
        self.inner.get_ref()
    }

    /// The wrapped future, mutably.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut fut = spindle::compat::tokio(std::future::ready(3));
    /// let _: &mut std::future::Ready<i32> = fut.get_mut();
    /// ```
    pub fn get_mut(&mut self) -> &mut F {
        self.inner.get_mut()
    }
}

impl<F: Future> Future for TokioCompat<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.project().inner.poll(cx)
    }
}

impl<F> fmt::Debug for TokioCompat<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokioCompat").finish_non_exhaustive()
    }
}
