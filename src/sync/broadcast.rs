//! A multi-producer, multi-consumer broadcast channel: every receiver sees every message sent
//! after it subscribed.
//!
//! spindle's own code. `async-broadcast` was checked and does not match tokio's semantics,
//! which users of this name expect: it closes the channel when the last receiver drops (so a
//! sender can no longer `subscribe`), it needs `T: Clone` to send, and its overflow mode only
//! exists as an option next to a waiting `broadcast`. Here (as in tokio):
//!
//! * a ring buffer of `capacity` slots behind one mutex; slot `pos % capacity` holds message
//!   `pos` with the number of receivers that still have to read it (`rem`). The last reader
//!   *takes* the value instead of cloning it; a value nobody needs any more is dropped at once;
//! * `send` never waits: when the ring is full it overwrites the oldest message. A receiver
//!   whose next message was overwritten gets `Lagged(n)` — `n` is exactly how many messages it
//!   missed — and then continues with the oldest message still retained;
//! * `send` with no receivers fails and hands the value back; `subscribe` works at any time;
//! * receivers wait on an `event-listener` `Event` notified on every send and on close.
//!
//! Values are dropped outside the mutex, so a `Drop` impl may use the channel. Budget: `recv`
//! spends one unit per message (or `Lagged` error); `send` and `try_recv` spend none.

use crate::loom::sync::atomic::{AtomicUsize, Ordering};
use crate::loom::sync::{Arc, Mutex, MutexGuard};
use event_listener::Event;
use std::fmt;

pub mod error {
    //! The broadcast channel's errors (tokio's names).

    use std::fmt;

    /// [`Sender::send`](super::Sender::send) failed: there is no receiver. Carries the value back.
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub struct SendError<T>(pub T);

    /// Why [`Receiver::recv`](super::Receiver::recv) failed.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum RecvError {
        /// Every sender is gone and every message was received.
        Closed,
        /// This receiver fell behind: this many messages were overwritten before it read them.
        /// The next `recv` returns the oldest message still retained.
        Lagged(u64),
    }

    /// Why [`Receiver::try_recv`](super::Receiver::try_recv) failed.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum TryRecvError {
        /// No new message right now.
        Empty,
        /// Every sender is gone and every message was received.
        Closed,
        /// This receiver fell behind by this many messages (see [`RecvError::Lagged`]).
        Lagged(u64),
    }

    impl<T> fmt::Debug for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("SendError(..)")
        }
    }

    impl<T> fmt::Display for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("broadcast channel has no receivers")
        }
    }

    impl<T> std::error::Error for SendError<T> {}

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                RecvError::Closed => f.write_str("broadcast channel closed"),
                RecvError::Lagged(n) => write!(f, "broadcast receiver lagged by {n} messages"),
            }
        }
    }

    impl std::error::Error for RecvError {}

    impl fmt::Display for TryRecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                TryRecvError::Empty => f.write_str("broadcast channel empty"),
                TryRecvError::Closed => f.write_str("broadcast channel closed"),
                TryRecvError::Lagged(n) => {
                    write!(f, "broadcast receiver lagged by {n} messages")
                }
            }
        }
    }

    impl std::error::Error for TryRecvError {}
}

use error::{RecvError, SendError, TryRecvError};

/// A broadcast channel that retains the last `capacity` messages for slow receivers.
///
/// # Panics
/// If `capacity` is zero.
///
/// ```
/// use spindle::sync::broadcast;
/// spindle::run(async {
///     let (tx, mut rx1) = broadcast::channel(16);
///     let mut rx2 = tx.subscribe();
///     assert_eq!(tx.send("hello").unwrap(), 2); // two receivers will see it
///     assert_eq!(rx1.recv().await, Ok("hello"));
///     assert_eq!(rx2.recv().await, Ok("hello"));
/// });
/// ```
#[track_caller]
pub fn channel<T: Clone>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let tx = Sender::new(capacity);
    let rx = tx.subscribe();
    (tx, rx)
}

struct Shared<T> {
    state: Mutex<State<T>>,
    /// Senders; the last one to go closes the channel.
    senders: AtomicUsize,
    /// Receivers wait here for a send or the close.
    sent: Event,
    /// `Sender::closed` waits here for the last receiver to go.
    receivers_gone: Event,
}

struct State<T> {
    ring: Box<[Slot<T>]>,
    /// Position of the next message.
    tail: u64,
    receivers: usize,
    closed: bool,
}

struct Slot<T> {
    /// The message position this slot holds (`u64::MAX`: never written).
    pos: u64,
    /// Receivers that still have to read it.
    rem: usize,
    value: Option<T>,
}

impl<T> State<T> {
    fn capacity(&self) -> u64 {
        self.ring.len() as u64
    }

    /// Oldest position still in the ring.
    fn oldest(&self) -> u64 {
        self.tail.saturating_sub(self.capacity())
    }
}

/// The sending half: `send` never waits. `Clone`; the channel closes when the last one drops.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// A subscriber: receives every message sent after it was created. Not `Clone` (a clone would
/// be ambiguous about which messages it has seen): use [`Receiver::resubscribe`] or
/// [`Sender::subscribe`].
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// Position of the next message for this receiver.
    next: u64,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        crate::loom::lock(&self.state)
    }
}

impl<T> Sender<T> {
    /// A sender with no receiver yet (subscribe later); retains up to `capacity` messages.
    ///
    /// # Panics
    /// If `capacity` is zero.
    ///
    /// ```
    /// let tx = spindle::sync::broadcast::Sender::<u8>::new(4);
    /// assert!(tx.send(1).is_err()); // nobody listens yet
    /// let mut rx = tx.subscribe();
    /// tx.send(2).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(2));
    /// ```
    #[track_caller]
    pub fn new(capacity: usize) -> Sender<T> {
        assert!(
            capacity > 0,
            "spindle::sync::broadcast::channel(0): the capacity must be at least 1"
        );
        let ring = (0..capacity)
            .map(|_| Slot {
                pos: u64::MAX,
                rem: 0,
                value: None,
            })
            .collect();
        Sender {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    ring,
                    tail: 0,
                    receivers: 0,
                    closed: false,
                }),
                senders: AtomicUsize::new(1),
                sent: Event::new(),
                receivers_gone: Event::new(),
            }),
        }
    }

    /// Sends `value` to every current receiver and returns how many there are. Never waits:
    /// when the ring is full the oldest message is overwritten (receivers that had not read it
    /// get `Lagged`). Fails, handing the value back, when there is no receiver.
    ///
    /// ```
    /// let (tx, rx) = spindle::sync::broadcast::channel(2);
    /// assert_eq!(tx.send(1).unwrap(), 1);
    /// drop(rx);
    /// assert_eq!(tx.send(2).unwrap_err().0, 2);
    /// ```
    pub fn send(&self, value: T) -> Result<usize, SendError<T>> {
        let (receivers, overwritten) = {
            let mut state = self.shared.lock();
            if state.receivers == 0 {
                return Err(SendError(value));
            }
            let pos = state.tail;
            let index = (pos % state.capacity()) as usize;
            let receivers = state.receivers;
            let slot = &mut state.ring[index];
            slot.pos = pos;
            slot.rem = receivers;
            let overwritten = slot.value.replace(value);
            state.tail += 1;
            (receivers, overwritten)
        };
        drop(overwritten); // outside the lock: its destructor may use this channel
        self.shared.sent.notify(usize::MAX);
        Ok(receivers)
    }

    /// A new receiver that will see every message sent from now on.
    ///
    /// ```
    /// let (tx, _rx) = spindle::sync::broadcast::channel(4);
    /// tx.send(1).unwrap();
    /// let mut late = tx.subscribe();
    /// tx.send(2).unwrap();
    /// assert_eq!(late.try_recv(), Ok(2)); // not 1: it was sent before subscribing
    /// ```
    pub fn subscribe(&self) -> Receiver<T> {
        new_receiver(&self.shared)
    }

    /// Number of live receivers.
    ///
    /// ```
    /// let (tx, rx) = spindle::sync::broadcast::channel::<u8>(4);
    /// let _rx2 = rx.resubscribe();
    /// assert_eq!(tx.receiver_count(), 2);
    /// ```
    pub fn receiver_count(&self) -> usize {
        self.shared.lock().receivers
    }

    /// Number of retained messages that some receiver still has to read.
    ///
    /// ```
    /// let (tx, mut rx) = spindle::sync::broadcast::channel(4);
    /// tx.send(1).unwrap();
    /// tx.send(2).unwrap();
    /// assert_eq!(tx.len(), 2);
    /// rx.try_recv().unwrap();
    /// assert_eq!(tx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        let state = self.shared.lock();
        (state.oldest()..state.tail)
            .filter(|pos| {
                let slot = &state.ring[(pos % state.capacity()) as usize];
                slot.pos == *pos && slot.rem > 0
            })
            .count()
    }

    /// Whether no retained message is waiting to be read.
    ///
    /// ```
    /// let (tx, _rx) = spindle::sync::broadcast::channel::<u8>(4);
    /// assert!(tx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits until there is no receiver.
    ///
    /// ```
    /// spindle::run(async {
    ///     let (tx, rx) = spindle::sync::broadcast::channel::<u8>(4);
    ///     spindle::spawn(async move { drop(rx) });
    ///     tx.closed().await;
    ///     assert_eq!(tx.receiver_count(), 0);
    /// });
    /// ```
    pub async fn closed(&self) {
        loop {
            if self.receiver_count() == 0 {
                return;
            }
            let listener = self.shared.receivers_gone.listen();
            if self.receiver_count() == 0 {
                return;
            }
            listener.await;
        }
    }

    /// Whether both senders belong to the same channel.
    ///
    /// ```
    /// let (tx, _rx) = spindle::sync::broadcast::channel::<u8>(1);
    /// assert!(tx.same_channel(&tx.clone()));
    /// ```
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

fn new_receiver<T>(shared: &Arc<Shared<T>>) -> Receiver<T> {
    let mut state = shared.lock();
    state.receivers += 1;
    Receiver {
        shared: shared.clone(),
        next: state.tail,
    }
}

impl<T: Clone> Receiver<T> {
    /// Waits for the next message. `Err(Lagged(n))` if `n` messages were overwritten before
    /// this receiver read them (the next call returns the oldest retained one);
    /// `Err(Closed)` once every sender is gone and everything was read. Spends one unit of
    /// budget when ready. Cancel-safe.
    ///
    /// ```
    /// use spindle::sync::broadcast::{self, error::RecvError};
    /// spindle::run(async {
    ///     let (tx, mut rx) = broadcast::channel(2);
    ///     for i in 0..5 {
    ///         tx.send(i).unwrap(); // 0, 1 and 2 are overwritten
    ///     }
    ///     assert_eq!(rx.recv().await, Err(RecvError::Lagged(3)));
    ///     assert_eq!(rx.recv().await, Ok(3));
    ///     assert_eq!(rx.recv().await, Ok(4));
    ///     drop(tx);
    ///     assert_eq!(rx.recv().await, Err(RecvError::Closed));
    /// });
    /// ```
    pub async fn recv(&mut self) -> Result<T, RecvError> {
        super::Budgeted::new(self.recv_inner()).await
    }

    async fn recv_inner(&mut self) -> Result<T, RecvError> {
        loop {
            match self.try_recv() {
                Ok(value) => return Ok(value),
                Err(TryRecvError::Lagged(n)) => return Err(RecvError::Lagged(n)),
                Err(TryRecvError::Closed) => return Err(RecvError::Closed),
                Err(TryRecvError::Empty) => {}
            }
            // Register, then check again: a send between the two is not lost.
            let listener = self.shared.sent.listen();
            match self.try_recv() {
                Ok(value) => return Ok(value),
                Err(TryRecvError::Lagged(n)) => return Err(RecvError::Lagged(n)),
                Err(TryRecvError::Closed) => return Err(RecvError::Closed),
                Err(TryRecvError::Empty) => listener.await,
            }
        }
    }

    /// The next message if there is one, without waiting or spending budget.
    ///
    /// ```
    /// use spindle::sync::broadcast::{self, error::TryRecvError};
    /// let (tx, mut rx) = broadcast::channel(4);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut state = self.shared.lock();
        if self.next >= state.tail {
            return Err(if state.closed {
                TryRecvError::Closed
            } else {
                TryRecvError::Empty
            });
        }
        let oldest = state.oldest();
        if self.next < oldest {
            // Overwritten before this receiver read it.
            let missed = oldest - self.next;
            self.next = oldest;
            return Err(TryRecvError::Lagged(missed));
        }
        let index = (self.next % state.capacity()) as usize;
        let slot = &mut state.ring[index];
        debug_assert_eq!(slot.pos, self.next, "broadcast ring out of step");
        self.next += 1;
        slot.rem -= 1;
        let value = if slot.rem == 0 {
            slot.value.take() // the last reader takes it: no clone
        } else {
            slot.value.clone()
        };
        drop(state);
        Ok(value.expect("broadcast slot emptied while a receiver still had to read it"))
    }

    /// Blocks the calling thread until the next message (for synchronous code).
    ///
    /// # Panics
    /// On a thread that runs spindle tasks (a worker, or inside `block_on`).
    ///
    /// ```
    /// let (tx, mut rx) = spindle::sync::broadcast::channel(4);
    /// let t = std::thread::spawn(move || rx.recv_blocking());
    /// tx.send(7).unwrap();
    /// assert_eq!(t.join().unwrap(), Ok(7));
    /// ```
    #[track_caller]
    pub fn recv_blocking(&mut self) -> Result<T, RecvError> {
        super::assert_may_block("broadcast::Receiver::recv_blocking");
        futures_lite::future::block_on(self.recv_inner())
    }
}

impl<T> Receiver<T> {
    /// A new receiver of the same channel that will see messages sent from now on (not the
    /// ones this receiver has yet to read).
    ///
    /// ```
    /// let (tx, rx) = spindle::sync::broadcast::channel(4);
    /// tx.send(1).unwrap();
    /// let mut rx2 = rx.resubscribe();
    /// tx.send(2).unwrap();
    /// assert_eq!(rx2.try_recv(), Ok(2));
    /// ```
    pub fn resubscribe(&self) -> Receiver<T> {
        new_receiver(&self.shared)
    }

    /// Messages sent that this receiver has not read yet (more than the capacity means the
    /// next `recv` reports `Lagged`).
    ///
    /// ```
    /// let (tx, rx) = spindle::sync::broadcast::channel(4);
    /// tx.send(1).unwrap();
    /// tx.send(2).unwrap();
    /// assert_eq!(rx.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        let tail = self.shared.lock().tail;
        tail.saturating_sub(self.next) as usize
    }

    /// Whether this receiver has read everything sent so far.
    ///
    /// ```
    /// let (_tx, rx) = spindle::sync::broadcast::channel::<u8>(4);
    /// assert!(rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether every sender is gone.
    ///
    /// ```
    /// let (tx, rx) = spindle::sync::broadcast::channel::<u8>(4);
    /// drop(tx);
    /// assert!(rx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.shared.lock().closed
    }

    /// Whether both receivers belong to the same channel.
    ///
    /// ```
    /// let (_tx, rx) = spindle::sync::broadcast::channel::<u8>(4);
    /// assert!(rx.same_channel(&rx.resubscribe()));
    /// ```
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Sender<T> {
        // Relaxed: a count; the Arc clone keeps the shared state alive.
        self.shared.senders.fetch_add(1, Ordering::Relaxed);
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        // AcqRel: the last sender's close follows every other sender's sends.
        if self.shared.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.shared.lock().closed = true;
            self.shared.sent.notify(usize::MAX);
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut unread = Vec::new();
        let last = {
            let mut state = self.shared.lock();
            state.receivers -= 1;
            // Give up this receiver's claim on every retained message it has not read; a
            // message nobody else needs is dropped (outside the lock).
            let start = self.next.max(state.oldest());
            for pos in start..state.tail {
                let index = (pos % state.capacity()) as usize;
                let slot = &mut state.ring[index];
                if slot.pos == pos {
                    slot.rem -= 1;
                    if slot.rem == 0 {
                        unread.extend(slot.value.take());
                    }
                }
            }
            state.receivers == 0
        };
        drop(unread);
        if last {
            self.shared.receivers_gone.notify(usize::MAX);
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("receivers", &self.receiver_count())
            .finish()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("next", &self.next)
            .finish()
    }
}
