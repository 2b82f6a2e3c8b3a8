//! A channel for exactly one value: the answer to a request, the result of a job.
//!
//! Backed by `futures-channel`'s oneshot (one allocation, a tiny lock per side, well kept by
//! the futures-rs team). spindle adds tokio's names and error types, the cooperative budget
//! (awaiting the `Receiver` spends one unit when the value arrives), and `recv_blocking`.
//!
//! Drop semantics: dropping the `Sender` without sending makes the `Receiver` fail with
//! [`RecvError`]; dropping (or [`close`](Receiver::close)-ing) the `Receiver` makes `send`
//! fail and return the value, and completes [`Sender::closed`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A new oneshot channel.
///
/// ```
/// spindle::run(async {
///     let (tx, rx) = spindle::sync::oneshot::channel();
///     spindle::spawn(async move {
///         let _ = tx.send(6 * 7);
///     });
///     assert_eq!(rx.await, Ok(42));
/// });
/// ```
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let (tx, rx) = futures_channel::oneshot::channel();
    (Sender { inner: tx }, Receiver { inner: rx })
}

/// Sends the one value ([`send`](Sender::send) consumes it).
pub struct Sender<T> {
    inner: futures_channel::oneshot::Sender<T>,
}

/// Receives the value: `.await` it (a `Future<Output = Result<T, RecvError>>`, `Unpin`).
pub struct Receiver<T> {
    inner: futures_channel::oneshot::Receiver<T>,
}

/// The sender was dropped without sending (or the value was already taken).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecvError(());

/// Why [`Receiver::try_recv`] failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TryRecvError {
    /// Nothing sent yet; the sender is still alive.
    Empty,
    /// The sender was dropped without sending, or the value was already received.
    Closed,
}

impl<T> Sender<T> {
    /// Sends the value. Fails, handing it back, if the receiver is gone or closed.
    ///
    /// ```
    /// let (tx, rx) = spindle::sync::oneshot::channel();
    /// drop(rx);
    /// assert_eq!(tx.send("lost"), Err("lost"));
    /// ```
    pub fn send(self, value: T) -> Result<(), T> {
        self.inner.send(value)
    }

    /// Whether the receiver is gone or closed (a send would fail).
    ///
    /// ```
    /// let (tx, mut rx) = spindle::sync::oneshot::channel::<u8>();
    /// assert!(!tx.is_closed());
    /// rx.close();
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.inner.is_canceled()
    }

    /// Waits until the receiver is gone or closed — e.g. to stop computing an answer nobody
    /// will read.
    ///
    /// ```
    /// spindle::run(async {
    ///     let (mut tx, rx) = spindle::sync::oneshot::channel::<u8>();
    ///     spindle::spawn(async move { drop(rx) });
    ///     tx.closed().await;
    ///     assert!(tx.is_closed());
    /// });
    /// ```
    pub async fn closed(&mut self) {
        self.inner.cancellation().await
    }

    /// Polls for [`closed`](Sender::closed): `Ready` once the receiver is gone or closed.
    ///
    /// ```
    /// use std::task::{Context, Waker};
    /// let (mut tx, rx) = spindle::sync::oneshot::channel::<u8>();
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert!(tx.poll_closed(&mut cx).is_pending());
    /// drop(rx);
    /// assert!(tx.poll_closed(&mut cx).is_ready());
    /// ```
    pub fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.inner.poll_canceled(cx)
    }
}

impl<T> Receiver<T> {
    /// Takes the value if it has been sent, without waiting or spending budget.
    ///
    /// ```
    /// use spindle::sync::oneshot::{channel, TryRecvError};
    /// let (tx, mut rx) = channel();
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed)); // already taken
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        match self.inner.try_recv() {
            Ok(Some(value)) => Ok(value),
            Ok(None) => Err(TryRecvError::Empty),
            Err(_) => Err(TryRecvError::Closed),
        }
    }

    /// Refuses the value: a later `send` fails and [`Sender::closed`] completes. A value
    /// sent before the close can still be taken with `try_recv` or `.await`.
    ///
    /// ```
    /// let (tx, mut rx) = spindle::sync::oneshot::channel::<u8>();
    /// rx.close();
    /// assert_eq!(tx.send(1), Err(1));
    /// ```
    pub fn close(&mut self) {
        self.inner.close()
    }

    /// Blocks the calling thread until the value arrives (for synchronous code).
    ///
    /// # Panics
    /// On a thread that runs spindle tasks (a worker, or inside `block_on`).
    ///
    /// ```
    /// let (tx, rx) = spindle::sync::oneshot::channel();
    /// std::thread::spawn(move || tx.send(3).unwrap());
    /// assert_eq!(rx.recv_blocking(), Ok(3));
    /// ```
    #[track_caller]
    pub fn recv_blocking(self) -> Result<T, RecvError> {
        super::assert_may_block("oneshot::Receiver::recv_blocking");
        futures_lite::future::block_on(self.inner).map_err(|_| RecvError(()))
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    /// Ready with the value, or with [`RecvError`] if the sender was dropped without sending.
    /// Spends one unit of budget when ready.
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = Pin::new(&mut self.inner);
        super::poll_budgeted(cx, |cx| inner.poll(cx)).map_err(|_| RecvError(()))
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Receiver { .. }")
    }
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the oneshot sender was dropped without sending")
    }
}

impl std::error::Error for RecvError {}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("no value sent yet"),
            TryRecvError::Closed => f.write_str("the oneshot channel is closed"),
        }
    }
}

impl std::error::Error for TryRecvError {}
