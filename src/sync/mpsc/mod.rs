//! A multi-producer, multi-consumer FIFO channel: asyncio's `Queue` between tasks.
//!
//! Backed by `async-channel` (a lock-free `concurrent-queue` plus `event-listener` wake-ups;
//! runtime-neutral, well kept, and already what spindle's own benches used). spindle adds its
//! error types and names, `Unpin` receivers that are `Stream`s, the cooperative budget, and the
//! `*_blocking` guard rails.
//!
//! Budget (tokio's rule): `recv` and the `Stream` spend one unit per message received; `send`
//! on a **bounded** channel spends one per message sent (it can wait, like a receiver); `send`
//! on an unbounded channel and every `try_*` method spend none.
//!
//! Closing: the channel closes when every `Sender` is gone, when every `Receiver` is gone, or
//! when either side calls `close()`. After that `send` fails at once (returning the message),
//! and receivers still get the messages already queued, then [`RecvError`].

mod error;

pub use error::{RecvError, SendError, TryRecvError, TrySendError};

use futures_core::Stream;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A channel holding at most `capacity` messages: `send` waits while it is full
/// (backpressure).
///
/// # Panics
/// If `capacity` is zero (a rendezvous channel is not supported; use `bounded(1)`).
///
/// ```
/// spindle::run(async {
///     let (tx, rx) = spindle::sync::mpsc::bounded(2);
///     tx.send("a").await.unwrap();
///     tx.send("b").await.unwrap();
///     assert!(tx.try_send("c").unwrap_err().is_full());
///     assert_eq!(rx.recv().await, Ok("a"));
/// });
/// ```
#[track_caller]
pub fn bounded<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(
        capacity > 0,
        "spindle::sync::mpsc::bounded(0): the capacity must be at least 1"
    );
    let (tx, rx) = async_channel::bounded(capacity);
    (Sender::from_inner(tx), Receiver::from_inner(rx))
}

/// A channel with no limit: `send` never waits (and spends no budget).
///
/// ```
/// spindle::run(async {
///     let (tx, rx) = spindle::sync::mpsc::unbounded();
///     for i in 0..1000 {
///         tx.try_send(i).unwrap(); // never full
///     }
///     assert_eq!(rx.len(), 1000);
///     assert_eq!(rx.recv().await, Ok(0));
/// });
/// ```
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    let (tx, rx) = async_channel::unbounded();
    (Sender::from_inner(tx), Receiver::from_inner(rx))
}

/// The sending half; `Clone` to add producers. Dropping the last one closes the channel.
pub struct Sender<T> {
    inner: async_channel::Sender<T>,
    /// Bounded channels spend budget on `send`.
    bounded: bool,
}

/// The receiving half; `Clone` to add consumers (each message goes to exactly one of them).
/// Dropping the last one closes the channel. Also a [`Stream`] of the messages.
pub struct Receiver<T> {
    /// Boxed so that `Receiver` is `Unpin` (async-channel's receiver is not) and `Stream`
    /// users need no `pin!`.
    inner: Pin<Box<async_channel::Receiver<T>>>,
}

/// A sender that does not keep the channel open ([`Sender::downgrade`]).
pub struct WeakSender<T> {
    inner: async_channel::WeakSender<T>,
    bounded: bool,
}

impl<T> Sender<T> {
    fn from_inner(inner: async_channel::Sender<T>) -> Sender<T> {
        let bounded = inner.capacity().is_some();
        Sender { inner, bounded }
    }

    /// Sends `message`, waiting while a bounded channel is full. Fails (returning the message)
    /// once the channel is closed. Spends one unit of budget per message on a bounded channel.
    ///
    /// If the future is dropped before it completes, the message was not sent.
    ///
    /// ```
    /// spindle::run(async {
    ///     let (tx, rx) = spindle::sync::mpsc::bounded(1);
    ///     tx.send(1).await.unwrap();
    ///     drop(rx);
    ///     assert_eq!(tx.send(2).await.unwrap_err().0, 2);
    /// });
    /// ```
    pub async fn send(&self, message: T) -> Result<(), SendError<T>> {
        super::Budgeted::with(self.inner.send(message), self.bounded)
            .await
            .map_err(|e| SendError(e.0))
    }

    /// Sends without waiting: fails with `Full` when a bounded channel has no room, `Closed`
    /// when closed. Spends no budget.
    ///
    /// ```
    /// use spindle::sync::mpsc::{bounded, TrySendError};
    /// let (tx, rx) = bounded(1);
    /// tx.try_send(1).unwrap();
    /// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
    /// rx.close();
    /// assert_eq!(tx.try_send(3), Err(TrySendError::Closed(3)));
    /// ```
    pub fn try_send(&self, message: T) -> Result<(), TrySendError<T>> {
        self.inner.try_send(message).map_err(|e| match e {
            async_channel::TrySendError::Full(m) => TrySendError::Full(m),
            async_channel::TrySendError::Closed(m) => TrySendError::Closed(m),
        })
    }

    /// Blocks the calling thread until the message is sent (for synchronous producers).
    ///
    /// # Panics
    /// On a thread that runs spindle tasks (a worker, or inside `block_on`).
    ///
    /// ```
    /// spindle::run(async {
    ///     let (tx, rx) = spindle::sync::mpsc::bounded(1);
    ///     let producer = std::thread::spawn(move || {
    ///         for i in 0..3 {
    ///             tx.send_blocking(i).unwrap();
    ///         }
    ///     });
    ///     for i in 0..3 {
    ///         assert_eq!(rx.recv().await, Ok(i));
    ///     }
    ///     producer.join().unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn send_blocking(&self, message: T) -> Result<(), SendError<T>> {
        super::assert_may_block("mpsc::Sender::send_blocking");
        self.inner
            .send_blocking(message)
            .map_err(|e| SendError(e.0))
    }

    /// Closes the channel for everyone. Returns `true` if this call closed it.
    ///
    /// ```
    /// let (tx, rx) = spindle::sync::mpsc::unbounded::<u8>();
    /// assert!(tx.close());
    /// assert!(rx.is_closed());
    /// ```
    pub fn close(&self) -> bool {
        self.inner.close()
    }

    /// Waits until the channel is closed (e.g. every receiver is gone).
    ///
    /// ```
    /// spindle::run(async {
    ///     let (tx, rx) = spindle::sync::mpsc::unbounded::<u8>();
    ///     drop(rx);
    ///     tx.closed().await;
    /// });
    /// ```
    pub async fn closed(&self) {
        self.inner.closed().await
    }

    /// A sender that does not keep the channel open; [`WeakSender::upgrade`] it to send.
    ///
    /// ```
    /// let (tx, _rx) = spindle::sync::mpsc::unbounded::<u8>();
    /// let weak = tx.downgrade();
    /// assert!(weak.upgrade().is_some());
    /// drop(tx);
    /// assert!(weak.upgrade().is_none());
    /// ```
    pub fn downgrade(&self) -> WeakSender<T> {
        WeakSender {
            inner: self.inner.downgrade(),
            bounded: self.bounded,
        }
    }
}

impl<T> Receiver<T> {
    fn from_inner(inner: async_channel::Receiver<T>) -> Receiver<T> {
        Receiver {
            inner: Box::pin(inner),
        }
    }

    /// Waits for the next message. Fails with [`RecvError`] once the channel is closed **and**
    /// empty. Spends one unit of budget per message.
    ///
    /// Cancel-safe: if the future is dropped before it completes, no message is lost.
    ///
    /// ```
    /// spindle::run(async {
    ///     let (tx, rx) = spindle::sync::mpsc::unbounded();
    ///     spindle::spawn(async move { tx.send("hi").await.unwrap() });
    ///     assert_eq!(rx.recv().await, Ok("hi"));
    ///     assert!(rx.recv().await.is_err()); // the sender is gone
    /// });
    /// ```
    pub async fn recv(&self) -> Result<T, RecvError> {
        super::Budgeted::new(self.inner.recv())
            .await
            .map_err(|_| RecvError)
    }

    /// Takes a message if one is queued, without waiting or spending budget.
    ///
    /// ```
    /// use spindle::sync::mpsc::{unbounded, TryRecvError};
    /// let (tx, rx) = unbounded();
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.try_send(1).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// drop(tx);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    /// ```
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.inner.try_recv().map_err(|e| match e {
            async_channel::TryRecvError::Empty => TryRecvError::Empty,
            async_channel::TryRecvError::Closed => TryRecvError::Closed,
        })
    }

    /// Blocks the calling thread until a message arrives (for synchronous consumers).
    ///
    /// # Panics
    /// On a thread that runs spindle tasks (a worker, or inside `block_on`).
    ///
    /// ```
    /// let (tx, rx) = spindle::sync::mpsc::unbounded();
    /// let consumer = std::thread::spawn(move || rx.recv_blocking());
    /// tx.try_send(5).unwrap();
    /// assert_eq!(consumer.join().unwrap(), Ok(5));
    /// ```
    #[track_caller]
    pub fn recv_blocking(&self) -> Result<T, RecvError> {
        super::assert_may_block("mpsc::Receiver::recv_blocking");
        self.inner.recv_blocking().map_err(|_| RecvError)
    }

    /// Closes the channel for everyone: senders fail from now on; queued messages can still
    /// be received. Returns `true` if this call closed it.
    ///
    /// ```
    /// spindle::run(async {
    ///     let (tx, rx) = spindle::sync::mpsc::unbounded();
    ///     tx.send(1).await.unwrap();
    ///     rx.close();
    ///     assert!(tx.send(2).await.is_err());
    ///     assert_eq!(rx.recv().await, Ok(1)); // still delivered
    ///     assert!(rx.recv().await.is_err());
    /// });
    /// ```
    pub fn close(&self) -> bool {
        self.inner.close()
    }
}

macro_rules! shared_methods {
    ($ty:ident) => {
        impl<T> $ty<T> {
            /// Number of messages queued.
            ///
            /// ```
            /// let (tx, rx) = spindle::sync::mpsc::unbounded();
            /// tx.try_send(()).unwrap();
            /// assert_eq!((tx.len(), rx.len()), (1, 1));
            /// ```
            pub fn len(&self) -> usize {
                self.inner.len()
            }

            /// Whether no message is queued.
            ///
            /// ```
            /// let (tx, rx) = spindle::sync::mpsc::unbounded::<u8>();
            /// assert!(tx.is_empty() && rx.is_empty());
            /// ```
            pub fn is_empty(&self) -> bool {
                self.inner.is_empty()
            }

            /// Whether a bounded channel is at capacity (never true for an unbounded one).
            ///
            /// ```
            /// let (tx, rx) = spindle::sync::mpsc::bounded(1);
            /// tx.try_send(()).unwrap();
            /// assert!(tx.is_full() && rx.is_full());
            /// ```
            pub fn is_full(&self) -> bool {
                self.inner.is_full()
            }

            /// Whether the channel is closed.
            ///
            /// ```
            /// let (tx, rx) = spindle::sync::mpsc::unbounded::<u8>();
            /// drop(rx);
            /// assert!(tx.is_closed());
            /// ```
            pub fn is_closed(&self) -> bool {
                self.inner.is_closed()
            }

            /// The capacity: `Some(n)` for `bounded(n)`, `None` for `unbounded()`.
            ///
            /// ```
            /// let (tx, _rx) = spindle::sync::mpsc::bounded::<u8>(8);
            /// assert_eq!(tx.capacity(), Some(8));
            /// let (tx, _rx) = spindle::sync::mpsc::unbounded::<u8>();
            /// assert_eq!(tx.capacity(), None);
            /// ```
            pub fn capacity(&self) -> Option<usize> {
                self.inner.capacity()
            }

            /// Number of live senders.
            ///
            /// ```
            /// let (tx, rx) = spindle::sync::mpsc::unbounded::<u8>();
            /// let tx2 = tx.clone();
            /// assert_eq!(rx.sender_count(), 2);
            /// ```
            pub fn sender_count(&self) -> usize {
                self.inner.sender_count()
            }

            /// Number of live receivers.
            ///
            /// ```
            /// let (tx, rx) = spindle::sync::mpsc::unbounded::<u8>();
            /// let rx2 = rx.clone();
            /// assert_eq!(tx.receiver_count(), 2);
            /// ```
            pub fn receiver_count(&self) -> usize {
                self.inner.receiver_count()
            }
        }
    };
}

shared_methods!(Sender);
shared_methods!(Receiver);

impl<T> Sender<T> {
    /// Whether both senders belong to the same channel.
    ///
    /// ```
    /// let (tx, _rx) = spindle::sync::mpsc::unbounded::<u8>();
    /// assert!(tx.same_channel(&tx.clone()));
    /// ```
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        self.inner.same_channel(&other.inner)
    }
}

impl<T> Receiver<T> {
    /// Whether both receivers belong to the same channel.
    ///
    /// ```
    /// let (_tx, rx) = spindle::sync::mpsc::unbounded::<u8>();
    /// assert!(rx.same_channel(&rx.clone()));
    /// ```
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        self.inner.same_channel(&other.inner)
    }
}

impl<T> WeakSender<T> {
    /// A `Sender` again, if the channel is still open and has a live sender.
    ///
    /// ```
    /// let (tx, _rx) = spindle::sync::mpsc::unbounded::<u8>();
    /// let weak = tx.downgrade();
    /// assert!(weak.upgrade().unwrap().same_channel(&tx));
    /// ```
    pub fn upgrade(&self) -> Option<Sender<T>> {
        let inner = self.inner.upgrade()?;
        Some(Sender {
            inner,
            bounded: self.bounded,
        })
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Sender<T> {
        Sender {
            inner: self.inner.clone(),
            bounded: self.bounded,
        }
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Receiver<T> {
        Receiver::from_inner((*self.inner).clone())
    }
}

impl<T> Clone for WeakSender<T> {
    fn clone(&self) -> WeakSender<T> {
        WeakSender {
            inner: self.inner.clone(),
            bounded: self.bounded,
        }
    }
}

impl<T> Stream for Receiver<T> {
    type Item = T;

    /// The next message, `None` once the channel is closed and empty. Spends budget like
    /// [`Receiver::recv`].
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let inner = self.inner.as_mut();
        super::poll_budgeted(cx, |cx| inner.poll_next(cx))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.inner.len(), None)
    }
}

impl<T> futures_core::stream::FusedStream for Receiver<T> {
    fn is_terminated(&self) -> bool {
        self.inner.is_terminated()
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl<T> fmt::Debug for WeakSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WeakSender { .. }")
    }
}
