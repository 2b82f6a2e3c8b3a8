//! A single-value channel that keeps only the latest value: configuration, state, progress.
//!
//! spindle's own code (tokio's semantics; no runtime-neutral crate has them): the value lives
//! in an `RwLock`, next to a version word (`version << 1 | CLOSED`) that is bumped under the
//! write lock on every change. Each receiver remembers the version it last saw; `changed`
//! compares, and waits on an `event-listener` `Event` otherwise. A second `Event` wakes
//! [`Sender::closed`] when the last receiver goes.
//!
//! Budget: `Receiver::changed` and `wait_for` spend one unit when they complete; senders
//! (which never wait) and `borrow*` spend none.

use crate::loom::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use crate::loom::sync::{Arc, RwLock, RwLockReadGuard};
use event_listener::Event;
use std::fmt;
use std::ops::Deref;

/// A new watch channel holding `initial`. The receiver starts with `initial` marked as seen.
///
/// ```
/// spindle::run(async {
///     let (tx, mut rx) = spindle::sync::watch::channel("starting");
///     let watcher = spindle::spawn(async move {
///         while rx.changed().await.is_ok() {
///             if *rx.borrow_and_update() == "ready" {
///                 return true;
///             }
///         }
///         false
///     });
///     tx.send("warming up").unwrap();
///     tx.send("ready").unwrap();
///     assert!(watcher.await.unwrap());
/// });
/// ```
pub fn channel<T>(initial: T) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        value: RwLock::new(initial),
        state: AtomicU64::new(0),
        receivers: AtomicUsize::new(1),
        senders: AtomicUsize::new(1),
        changed: Event::new(),
        receivers_gone: Event::new(),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared, version: 0 },
    )
}

struct Shared<T> {
    value: RwLock<T>,
    /// `version << 1 | CLOSED`; the version is bumped (by 2) under the write lock.
    state: AtomicU64,
    receivers: AtomicUsize,
    senders: AtomicUsize,
    changed: Event,
    receivers_gone: Event,
}

const CLOSED: u64 = 1;

impl<T> Shared<T> {
    fn state(&self) -> u64 {
        // SeqCst: orders the version/closed word with the event-listener registration in
        // `changed` (listen, then re-check) against the notifier's update-then-notify.
        self.state.load(Ordering::SeqCst)
    }
}

/// Publishes new values. `Clone`; the channel closes for receivers when the last sender drops.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// Observes the latest value and waits for changes. `Clone` (the clone has seen what this
/// receiver has seen).
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// The version (without the closed bit) this receiver has seen.
    version: u64,
}

/// A borrowed view of the value; holds a read lock, so keep it short and never across an
/// `.await` (it is not `Send`).
pub struct Ref<'a, T> {
    guard: RwLockReadGuard<'a, T>,
    changed: bool,
}

impl<T> Ref<'_, T> {
    /// Whether this value had not been seen by the receiver when it was borrowed.
    ///
    /// ```
    /// let (tx, mut rx) = spindle::sync::watch::channel(0);
    /// tx.send(1).unwrap();
    /// assert!(rx.borrow_and_update().has_changed());
    /// assert!(!rx.borrow().has_changed());
    /// ```
    pub fn has_changed(&self) -> bool {
        self.changed
    }
}

impl<T> Deref for Ref<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T: fmt::Debug> fmt::Debug for Ref<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Modules of errors, as in tokio (`watch::error::SendError`).
pub mod error {
    use std::fmt;

    /// [`Sender::send`](super::Sender::send) failed: every receiver is gone. Carries the
    /// value back.
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub struct SendError<T>(pub T);

    impl<T> fmt::Debug for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("SendError(..)")
        }
    }

    impl<T> fmt::Display for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("watch channel has no receivers")
        }
    }

    impl<T> std::error::Error for SendError<T> {}

    /// [`Receiver::changed`](super::Receiver::changed) failed: every sender is gone (and the
    /// last value was seen).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct RecvError(pub(super) ());

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("watch channel closed: every sender is gone")
        }
    }

    impl std::error::Error for RecvError {}
}

pub use error::{RecvError, SendError};

impl<T> Sender<T> {
    /// Replaces the value and notifies the receivers. Fails (handing the value back, storing
    /// nothing) when every receiver is gone — use [`send_replace`](Sender::send_replace) to
    /// store regardless. Never waits.
    ///
    /// ```
    /// let (tx, rx) = spindle::sync::watch::channel(1);
    /// tx.send(2).unwrap();
    /// assert_eq!(*rx.borrow(), 2);
    /// drop(rx);
    /// assert_eq!(tx.send(3).unwrap_err().0, 3);
    /// ```
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        if self.receiver_count() == 0 {
            return Err(SendError(value));
        }
        self.send_replace(value);
        Ok(())
    }

    /// Replaces the value (even with no receivers), notifies, and returns the old value.
    ///
    /// ```
    /// let (tx, _rx) = spindle::sync::watch::channel(1);
    /// assert_eq!(tx.send_replace(2), 1);
    /// ```
    pub fn send_replace(&self, mut value: T) -> T {
        self.send_modify(|current| std::mem::swap(current, &mut value));
        value
    }

    /// Modifies the value in place and notifies (even with no receivers).
    ///
    /// ```
    /// let (tx, rx) = spindle::sync::watch::channel(vec![1]);
    /// tx.send_modify(|v| v.push(2));
    /// assert_eq!(*rx.borrow(), [1, 2]);
    /// ```
    pub fn send_modify(&self, modify: impl FnOnce(&mut T)) {
        self.send_if_modified(|value| {
            modify(value);
            true
        });
    }

    /// Modifies the value in place; notifies only if `modify` returns `true`. Returns what it
    /// returned.
    ///
    /// ```
    /// let (tx, rx) = spindle::sync::watch::channel(5);
    /// assert!(!tx.send_if_modified(|v| if *v > 10 { *v = 10; true } else { false }));
    /// assert!(!rx.has_changed().unwrap());
    /// assert!(tx.send_if_modified(|v| { *v += 1; true }));
    /// assert!(rx.has_changed().unwrap());
    /// ```
    pub fn send_if_modified(&self, modify: impl FnOnce(&mut T) -> bool) -> bool {
        {
            let mut value = crate::loom::write(&self.shared.value);
            if !modify(&mut value) {
                return false;
            }
            // Under the write lock, so a reader holding the read lock sees a version that
            // matches the value it reads. SeqCst: see `Shared::state`.
            self.shared.state.fetch_add(2, Ordering::SeqCst);
        }
        self.shared.changed.notify(usize::MAX);
        true
    }

    /// Borrows the current value.
    ///
    /// ```
    /// let (tx, _rx) = spindle::sync::watch::channel("a");
    /// assert_eq!(*tx.borrow(), "a");
    /// ```
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref {
            guard: crate::loom::read(&self.shared.value),
            changed: false,
        }
    }

    /// A new receiver that has seen the current value.
    ///
    /// ```
    /// let (tx, rx) = spindle::sync::watch::channel(0);
    /// drop(rx);
    /// let rx = tx.subscribe();
    /// tx.send(1).unwrap();
    /// assert!(rx.has_changed().unwrap());
    /// ```
    pub fn subscribe(&self) -> Receiver<T> {
        // Relaxed: a count; the Arc clone keeps the shared state alive.
        self.shared.receivers.fetch_add(1, Ordering::Relaxed);
        let version = self.shared.state() & !CLOSED;
        Receiver {
            shared: self.shared.clone(),
            version,
        }
    }

    /// Number of live receivers.
    ///
    /// ```
    /// let (tx, rx) = spindle::sync::watch::channel(0);
    /// let _rx2 = rx.clone();
    /// assert_eq!(tx.receiver_count(), 2);
    /// ```
    pub fn receiver_count(&self) -> usize {
        // SeqCst: pairs with the decrement in `Receiver::drop` and the re-check in `closed`.
        self.shared.receivers.load(Ordering::SeqCst)
    }

    /// Number of live senders.
    ///
    /// ```
    /// let (tx, _rx) = spindle::sync::watch::channel(0);
    /// let _tx2 = tx.clone();
    /// assert_eq!(tx.sender_count(), 2);
    /// ```
    pub fn sender_count(&self) -> usize {
        // Relaxed: an informational count.
        self.shared.senders.load(Ordering::Relaxed)
    }

    /// Whether every receiver is gone.
    ///
    /// ```
    /// let (tx, rx) = spindle::sync::watch::channel(0);
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.receiver_count() == 0
    }

    /// Waits until every receiver is gone.
    ///
    /// ```
    /// spindle::run(async {
    ///     let (tx, rx) = spindle::sync::watch::channel(0);
    ///     spindle::spawn(async move { drop(rx) });
    ///     tx.closed().await;
    /// });
    /// ```
    pub async fn closed(&self) {
        loop {
            if self.is_closed() {
                return;
            }
            let listener = self.shared.receivers_gone.listen();
            if self.is_closed() {
                return;
            }
            listener.await;
        }
    }

    /// Whether both senders belong to the same channel.
    ///
    /// ```
    /// let (tx, _rx) = spindle::sync::watch::channel(0);
    /// assert!(tx.same_channel(&tx.clone()));
    /// ```
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Receiver<T> {
    /// Borrows the current value without marking it seen.
    ///
    /// ```
    /// let (tx, rx) = spindle::sync::watch::channel(1);
    /// tx.send(2).unwrap();
    /// assert_eq!(*rx.borrow(), 2);
    /// assert!(rx.has_changed().unwrap()); // still unseen
    /// ```
    pub fn borrow(&self) -> Ref<'_, T> {
        let guard = crate::loom::read(&self.shared.value);
        let version = self.shared.state() & !CLOSED;
        Ref {
            guard,
            changed: version != self.version,
        }
    }

    /// Borrows the current value and marks it seen.
    ///
    /// ```
    /// let (tx, mut rx) = spindle::sync::watch::channel(1);
    /// tx.send(2).unwrap();
    /// assert_eq!(*rx.borrow_and_update(), 2);
    /// assert!(!rx.has_changed().unwrap());
    /// ```
    pub fn borrow_and_update(&mut self) -> Ref<'_, T> {
        let guard = crate::loom::read(&self.shared.value);
        // Read under the read lock: versions only change under the write lock, so this is
        // exactly the version of the value in `guard`.
        let version = self.shared.state() & !CLOSED;
        let changed = version != self.version;
        self.version = version;
        Ref { guard, changed }
    }

    /// Whether a value this receiver has not seen is there. `Err` once every sender is gone
    /// (as in tokio, even if the last value was not seen; `changed` still delivers it).
    ///
    /// ```
    /// let (tx, rx) = spindle::sync::watch::channel(0);
    /// assert_eq!(rx.has_changed(), Ok(false));
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.has_changed(), Ok(true));
    /// drop(tx);
    /// assert!(rx.has_changed().is_err());
    /// ```
    pub fn has_changed(&self) -> Result<bool, RecvError> {
        let state = self.shared.state();
        if state & CLOSED != 0 {
            return Err(RecvError(()));
        }
        Ok(state & !CLOSED != self.version)
    }

    /// Marks the current value as seen.
    ///
    /// ```
    /// let (tx, mut rx) = spindle::sync::watch::channel(0);
    /// tx.send(1).unwrap();
    /// rx.mark_unchanged();
    /// assert!(!rx.has_changed().unwrap());
    /// ```
    pub fn mark_unchanged(&mut self) {
        self.version = self.shared.state() & !CLOSED;
    }

    /// Marks the current value as unseen, so the next `changed` completes at once.
    ///
    /// ```
    /// spindle::run(async {
    ///     let (_tx, mut rx) = spindle::sync::watch::channel(0);
    ///     rx.mark_changed();
    ///     rx.changed().await.unwrap();
    /// });
    /// ```
    pub fn mark_changed(&mut self) {
        // Versions advance by 2, so an odd number is never a real version.
        self.version = u64::MAX;
    }

    /// Waits for a value this receiver has not seen, and marks it seen (read it with
    /// [`borrow`](Receiver::borrow)). `Err` once every sender is gone and the last value has
    /// been seen. Spends one unit of budget when it completes. Cancel-safe.
    ///
    /// ```
    /// spindle::run(async {
    ///     let (tx, mut rx) = spindle::sync::watch::channel(0);
    ///     spindle::spawn(async move {
    ///         tx.send(1).unwrap();
    ///     }); // then the sender is dropped
    ///     rx.changed().await.unwrap();
    ///     assert_eq!(*rx.borrow(), 1);
    ///     assert!(rx.changed().await.is_err()); // seen, and the sender is gone
    /// });
    /// ```
    pub async fn changed(&mut self) -> Result<(), RecvError> {
        super::Budgeted::new(changed(&self.shared, &mut self.version)).await
    }

    /// Waits until the value satisfies `predicate` (checking the current value first, seen or
    /// not), marks it seen and returns a borrow of exactly the value that satisfied it. `Err`
    /// once every sender is gone and the last value does not satisfy it.
    ///
    /// ```
    /// spindle::run(async {
    ///     let (tx, mut rx) = spindle::sync::watch::channel(0);
    ///     spindle::spawn(async move {
    ///         for i in 1..=5 {
    ///             tx.send(i).unwrap();
    ///             spindle::yield_now().await;
    ///         }
    ///     });
    ///     let at_least_3 = *rx.wait_for(|v| *v >= 3).await.unwrap();
    ///     assert!(at_least_3 >= 3);
    /// });
    /// ```
    pub async fn wait_for(
        &mut self,
        mut predicate: impl FnMut(&T) -> bool,
    ) -> Result<Ref<'_, T>, RecvError> {
        // Disjoint borrows: the guard we return borrows `shared`, the waiting updates `version`.
        let shared: &Shared<T> = &self.shared;
        let version = &mut self.version;
        let mut closed = false;
        loop {
            {
                let guard = crate::loom::read(&shared.value);
                // Under the read lock: exactly the version of the value in `guard`.
                let current = shared.state() & !CLOSED;
                let changed = current != *version;
                *version = current;
                if predicate(&guard) {
                    return Ok(Ref { guard, changed });
                }
            }
            if closed {
                return Err(RecvError(()));
            }
            if super::Budgeted::new(self::changed(shared, version))
                .await
                .is_err()
            {
                // One last look: the final value may have arrived with the close.
                closed = true;
            }
        }
    }

    /// Whether both receivers belong to the same channel.
    ///
    /// ```
    /// let (_tx, rx) = spindle::sync::watch::channel(0);
    /// assert!(rx.same_channel(&rx.clone()));
    /// ```
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

/// Waits for a version other than `*version` and records it; `Err` once closed with nothing new.
async fn changed<T>(shared: &Shared<T>, version: &mut u64) -> Result<(), RecvError> {
    loop {
        if let Some(result) = check_changed(shared, version) {
            return result;
        }
        // Register, then check again: a change between the two is not lost.
        let listener = shared.changed.listen();
        if let Some(result) = check_changed(shared, version) {
            return result;
        }
        listener.await;
    }
}

fn check_changed<T>(shared: &Shared<T>, version: &mut u64) -> Option<Result<(), RecvError>> {
    let state = shared.state();
    let current = state & !CLOSED;
    if current != *version {
        *version = current;
        return Some(Ok(()));
    }
    (state & CLOSED != 0).then_some(Err(RecvError(())))
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
        // AcqRel: the last sender's close must follow every other sender's updates.
        if self.shared.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            // SeqCst: see `Shared::state`.
            self.shared.state.fetch_or(CLOSED, Ordering::SeqCst);
            self.shared.changed.notify(usize::MAX);
        }
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Receiver<T> {
        // Relaxed: a count; the Arc clone keeps the shared state alive.
        self.shared.receivers.fetch_add(1, Ordering::Relaxed);
        Receiver {
            shared: self.shared.clone(),
            version: self.version,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        // SeqCst: pairs with `Sender::closed`'s listen-then-check.
        if self.shared.receivers.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.shared.receivers_gone.notify(usize::MAX);
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("value", &*self.borrow())
            .finish()
    }
}

impl<T: fmt::Debug> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("value", &*self.borrow())
            .field("version", &self.version)
            .finish()
    }
}
