//! `Semaphore`: a fair (FIFO) counting semaphore that can be closed.
//!
//! spindle's own code: async-lock's semaphore has no `close` and lets a `try_acquire` overtake
//! queued waiters; tokio's semantics (strict FIFO, partial hand-off to the head, close) are what
//! `OnceCell` and users rely on. One mutex guards the free-permit count, the `closed` flag and a
//! FIFO [`WaitList`] of waiters.
//!
//! Hand-off, not barging: a released permit goes straight to the waiter at the head of the
//! queue (its `needed` count drops), so a waiter that wants many permits collects them as they
//! come back and a stream of small requests cannot starve it. Invariant: while somebody waits,
//! the free count is zero — which is why `try_acquire` never overtakes a waiter. A waiting
//! future that is dropped gives back what it had collected.
//!
//! Budget: `acquire*` spends one unit per ready acquisition (tokio does the same); `try_*` none.

mod permit;

pub use permit::{OwnedSemaphorePermit, SemaphorePermit};

use super::wait_list::{Key, WaitList, WakeList};
use crate::loom::sync::{Mutex, StdArc as Arc};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// A counting semaphore: at most `n` holders of a permit at a time; asyncio's `Semaphore`.
///
/// [`acquire`](Semaphore::acquire) waits for a permit and returns a guard that gives it back
/// when dropped. Waiters are served strictly in arrival order. [`close`](Semaphore::close)
/// fails every pending and future acquisition (observe it with the `*_checked` methods).
///
/// ```
/// use spindle::sync::Semaphore;
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// spindle::run(async {
///     let sem = Arc::new(Semaphore::new(2)); // at most two downloads at once
///     let (now, max) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
///     let tasks: Vec<_> = (0..8)
///         .map(|_| {
///             let (sem, now, max) = (sem.clone(), now.clone(), max.clone());
///             spindle::spawn(async move {
///                 let _permit = sem.acquire().await;
///                 let inside = now.fetch_add(1, Ordering::SeqCst) + 1;
///                 max.fetch_max(inside, Ordering::SeqCst);
///                 spindle::time::sleep(std::time::Duration::from_millis(2)).await;
///                 now.fetch_sub(1, Ordering::SeqCst);
///             })
///         })
///         .collect();
///     for t in tasks {
///         t.await.unwrap();
///     }
///     assert!(max.load(Ordering::SeqCst) <= 2);
/// });
/// ```
pub struct Semaphore {
    state: Mutex<State>,
}

struct State {
    /// Free permits (zero while anyone waits).
    permits: usize,
    closed: bool,
    waiters: WaitList<Waiter>,
}

struct Waiter {
    /// Permits still to be handed to this waiter.
    needed: usize,
    waker: Option<Waker>,
}

/// The error of the `*_checked` acquisitions: the semaphore was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcquireError(());

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("semaphore closed")
    }
}

impl std::error::Error for AcquireError {}

const CLOSED_PANIC: &str = "Semaphore::acquire*: the semaphore was closed; use \
     Semaphore::acquire_checked (or acquire_owned_checked / acquire_many_checked) to handle closing";

impl Semaphore {
    /// The largest number of permits a semaphore can hold (`usize::MAX >> 3`, as in tokio).
    pub const MAX_PERMITS: usize = usize::MAX >> 3;

    /// A semaphore with `permits` permits.
    ///
    /// # Panics
    /// If `permits` exceeds [`MAX_PERMITS`](Semaphore::MAX_PERMITS).
    ///
    /// ```
    /// let sem = spindle::sync::Semaphore::new(3);
    /// assert_eq!(sem.available_permits(), 3);
    /// ```
    pub fn new(permits: usize) -> Semaphore {
        assert!(
            permits <= Self::MAX_PERMITS,
            "Semaphore::new: {permits} permits exceed Semaphore::MAX_PERMITS"
        );
        Semaphore {
            state: Mutex::new(State {
                permits,
                closed: false,
                waiters: WaitList::new(),
            }),
        }
    }

    const_fn! {
        /// [`new`](Semaphore::new) as a `const fn`, for statics.
        ///
        /// ```
        /// use spindle::sync::Semaphore;
        /// static LIMIT: Semaphore = Semaphore::const_new(4);
        /// assert_eq!(LIMIT.available_permits(), 4);
        /// ```
        pub const fn const_new(permits: usize) -> Semaphore {
            assert!(
                permits <= Self::MAX_PERMITS,
                "Semaphore::const_new: too many permits"
            );
            Semaphore {
                state: Mutex::new(State {
                    permits,
                    closed: false,
                    waiters: WaitList::new(),
                }),
            }
        }
    }

    /// Permits free right now.
    ///
    /// ```
    /// let sem = spindle::sync::Semaphore::new(2);
    /// let _p = sem.try_acquire().unwrap();
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    pub fn available_permits(&self) -> usize {
        crate::loom::lock(&self.state).permits
    }

    /// Adds `n` permits; they go to queued waiters first, in order.
    ///
    /// # Panics
    /// If the free permits would exceed [`MAX_PERMITS`](Semaphore::MAX_PERMITS).
    ///
    /// ```
    /// let sem = spindle::sync::Semaphore::new(0);
    /// assert!(sem.try_acquire().is_none());
    /// sem.add_permits(1);
    /// assert!(sem.try_acquire().is_some());
    /// ```
    pub fn add_permits(&self, n: usize) {
        self.release(n);
    }

    /// Removes up to `n` free permits (permits held by guards are not touched) and returns
    /// how many were removed.
    ///
    /// ```
    /// let sem = spindle::sync::Semaphore::new(5);
    /// assert_eq!(sem.forget_permits(3), 3);
    /// assert_eq!(sem.forget_permits(9), 2);
    /// assert_eq!(sem.available_permits(), 0);
    /// ```
    pub fn forget_permits(&self, n: usize) -> usize {
        let mut state = crate::loom::lock(&self.state);
        let removed = n.min(state.permits);
        state.permits -= removed;
        removed
    }

    /// Closes the semaphore: every queued and future acquisition fails (`*_checked` return
    /// [`AcquireError`], `try_*` return `None`, the unchecked ones panic). Permits already
    /// held stay valid.
    ///
    /// ```
    /// spindle::run(async {
    ///     let sem = spindle::sync::Semaphore::new(1);
    ///     sem.close();
    ///     assert!(sem.is_closed());
    ///     assert!(sem.acquire_checked().await.is_err());
    ///     assert!(sem.try_acquire().is_none());
    /// });
    /// ```
    pub fn close(&self) {
        let mut wakers = WakeList::new();
        let mut overflow = Vec::new();
        {
            let mut state = crate::loom::lock(&self.state);
            state.closed = true;
            while let Some(key) = state.waiters.pop_front() {
                if let Some(waker) = state.waiters.get_mut(key).waker.take() {
                    if wakers.is_full() {
                        overflow.push(waker);
                    } else {
                        wakers.push(waker);
                    }
                }
            }
        }
        wakers.wake_all();
        overflow.into_iter().for_each(Waker::wake);
    }

    /// Whether [`close`](Semaphore::close) was called.
    ///
    /// ```
    /// assert!(!spindle::sync::Semaphore::new(1).is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        crate::loom::lock(&self.state).closed
    }

    /// Waits for one permit (in FIFO order) and returns a guard that gives it back on drop.
    ///
    /// # Panics
    /// If the semaphore is (or gets) closed — use [`acquire_checked`](Semaphore::acquire_checked)
    /// to handle closing. (This is tokio's `acquire().await.unwrap()`.)
    ///
    /// ```
    /// spindle::run(async {
    ///     let sem = spindle::sync::Semaphore::new(1);
    ///     let permit = sem.acquire().await;
    ///     assert_eq!(sem.available_permits(), 0);
    ///     drop(permit);
    ///     assert_eq!(sem.available_permits(), 1);
    /// });
    /// ```
    pub async fn acquire(&self) -> SemaphorePermit<'_> {
        self.acquire_checked().await.expect(CLOSED_PANIC)
    }

    /// Waits for `n` permits at once (in FIFO order; permits are collected as they are
    /// released, so smaller later requests cannot starve this one).
    ///
    /// # Panics
    /// If the semaphore is (or gets) closed — see [`acquire_many_checked`](Semaphore::acquire_many_checked) —
    /// or if `n` exceeds [`MAX_PERMITS`](Semaphore::MAX_PERMITS).
    ///
    /// ```
    /// spindle::run(async {
    ///     let sem = spindle::sync::Semaphore::new(5);
    ///     let three = sem.acquire_many(3).await;
    ///     assert_eq!(three.num_permits(), 3);
    ///     assert_eq!(sem.available_permits(), 2);
    /// });
    /// ```
    pub async fn acquire_many(&self, n: u32) -> SemaphorePermit<'_> {
        self.acquire_many_checked(n).await.expect(CLOSED_PANIC)
    }

    /// [`acquire`](Semaphore::acquire) that returns an error instead of panicking when the
    /// semaphore is closed (tokio's `acquire`).
    ///
    /// ```
    /// spindle::run(async {
    ///     let sem = spindle::sync::Semaphore::new(1);
    ///     assert!(sem.acquire_checked().await.is_ok());
    ///     sem.close();
    ///     assert_eq!(sem.acquire_checked().await.unwrap_err().to_string(), "semaphore closed");
    /// });
    /// ```
    pub async fn acquire_checked(&self) -> Result<SemaphorePermit<'_>, AcquireError> {
        self.acquire_many_checked(1).await
    }

    /// [`acquire_many`](Semaphore::acquire_many) that returns an error when closed.
    ///
    /// ```
    /// spindle::run(async {
    ///     let sem = spindle::sync::Semaphore::new(2);
    ///     assert_eq!(sem.acquire_many_checked(2).await.unwrap().num_permits(), 2);
    /// });
    /// ```
    pub async fn acquire_many_checked(&self, n: u32) -> Result<SemaphorePermit<'_>, AcquireError> {
        Acquire::new(self, n).await?;
        Ok(SemaphorePermit {
            sem: self,
            permits: n,
        })
    }

    /// [`acquire`](Semaphore::acquire) for a semaphore in an `Arc`: the guard owns a clone of
    /// the `Arc`, so it can move into a spawned task.
    ///
    /// # Panics
    /// If the semaphore is (or gets) closed — see [`acquire_owned_checked`](Semaphore::acquire_owned_checked).
    ///
    /// ```
    /// use spindle::sync::Semaphore;
    /// use std::sync::Arc;
    /// spindle::run(async {
    ///     let sem = Arc::new(Semaphore::new(1));
    ///     let permit = sem.clone().acquire_owned().await;
    ///     let task = spindle::spawn(async move {
    ///         let _held = permit; // released when the task ends
    ///     });
    ///     task.await.unwrap();
    ///     assert_eq!(sem.available_permits(), 1);
    /// });
    /// ```
    pub async fn acquire_owned(self: Arc<Self>) -> OwnedSemaphorePermit {
        self.acquire_many_owned_checked(1)
            .await
            .expect(CLOSED_PANIC)
    }

    /// [`acquire_many`](Semaphore::acquire_many) with an owned guard.
    ///
    /// # Panics
    /// If the semaphore is (or gets) closed.
    ///
    /// ```
    /// use std::sync::Arc;
    /// spindle::run(async {
    ///     let sem = Arc::new(spindle::sync::Semaphore::new(4));
    ///     let permit = sem.clone().acquire_many_owned(4).await;
    ///     assert_eq!(permit.num_permits(), 4);
    /// });
    /// ```
    pub async fn acquire_many_owned(self: Arc<Self>, n: u32) -> OwnedSemaphorePermit {
        self.acquire_many_owned_checked(n)
            .await
            .expect(CLOSED_PANIC)
    }

    /// [`acquire_owned`](Semaphore::acquire_owned) that returns an error when closed.
    ///
    /// ```
    /// use std::sync::Arc;
    /// spindle::run(async {
    ///     let sem = Arc::new(spindle::sync::Semaphore::new(1));
    ///     sem.close();
    ///     assert!(sem.clone().acquire_owned_checked().await.is_err());
    /// });
    /// ```
    pub async fn acquire_owned_checked(
        self: Arc<Self>,
    ) -> Result<OwnedSemaphorePermit, AcquireError> {
        self.acquire_many_owned_checked(1).await
    }

    /// [`acquire_many_owned`](Semaphore::acquire_many_owned) that returns an error when closed.
    ///
    /// ```
    /// use std::sync::Arc;
    /// spindle::run(async {
    ///     let sem = Arc::new(spindle::sync::Semaphore::new(2));
    ///     assert!(sem.clone().acquire_many_owned_checked(2).await.is_ok());
    /// });
    /// ```
    pub async fn acquire_many_owned_checked(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, AcquireError> {
        Acquire::new(&self, n).await?;
        Ok(OwnedSemaphorePermit {
            sem: self,
            permits: n,
        })
    }

    /// Takes a permit if one is free right now and nobody is queued; `None` otherwise (also
    /// when closed). Never waits and spends no budget.
    ///
    /// ```
    /// let sem = spindle::sync::Semaphore::new(1);
    /// let permit = sem.try_acquire().expect("one permit is free");
    /// assert!(sem.try_acquire().is_none());
    /// drop(permit);
    /// assert!(sem.try_acquire().is_some());
    /// ```
    pub fn try_acquire(&self) -> Option<SemaphorePermit<'_>> {
        self.try_acquire_many(1)
    }

    /// [`try_acquire`](Semaphore::try_acquire) for `n` permits at once.
    ///
    /// ```
    /// let sem = spindle::sync::Semaphore::new(3);
    /// assert!(sem.try_acquire_many(4).is_none());
    /// assert_eq!(sem.try_acquire_many(3).unwrap().num_permits(), 3);
    /// ```
    pub fn try_acquire_many(&self, n: u32) -> Option<SemaphorePermit<'_>> {
        // `then`, not `then_some`: an eagerly built permit would be dropped (releasing `n`
        // permits that were never taken) when the take fails.
        self.try_take(n).then(|| SemaphorePermit {
            sem: self,
            permits: n,
        })
    }

    /// [`try_acquire`](Semaphore::try_acquire) with an owned guard.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(spindle::sync::Semaphore::new(1));
    /// let permit = sem.clone().try_acquire_owned().unwrap();
    /// assert!(sem.clone().try_acquire_owned().is_none());
    /// drop(permit);
    /// ```
    pub fn try_acquire_owned(self: Arc<Self>) -> Option<OwnedSemaphorePermit> {
        self.try_acquire_many_owned(1)
    }

    /// [`try_acquire_many`](Semaphore::try_acquire_many) with an owned guard.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(spindle::sync::Semaphore::new(2));
    /// assert!(sem.clone().try_acquire_many_owned(2).is_some());
    /// ```
    pub fn try_acquire_many_owned(self: Arc<Self>, n: u32) -> Option<OwnedSemaphorePermit> {
        if self.try_take(n) {
            Some(OwnedSemaphorePermit {
                sem: self,
                permits: n,
            })
        } else {
            None
        }
    }

    fn try_take(&self, n: u32) -> bool {
        let mut state = crate::loom::lock(&self.state);
        let n = n as usize;
        // Free permits are zero while anyone waits, so this never overtakes a waiter.
        if state.closed || state.permits < n {
            return false;
        }
        state.permits -= n;
        true
    }

    /// Returns `n` permits to the pool, handing them to queued waiters in order.
    fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        let mut wakers = WakeList::new();
        let mut guard = crate::loom::lock(&self.state);
        assert!(
            guard
                .permits
                .checked_add(n)
                .is_some_and(|p| p <= Self::MAX_PERMITS),
            "Semaphore::add_permits: more than Semaphore::MAX_PERMITS free permits"
        );
        guard.permits += n;
        while guard.hand_off(&mut wakers) {
            // The wake batch is full: wake outside the lock, then continue.
            drop(guard);
            wakers.wake_all();
            guard = crate::loom::lock(&self.state);
        }
        drop(guard);
        wakers.wake_all();
    }
}

impl State {
    /// Moves free permits to the waiters at the head of the queue. Returns `true` if it
    /// stopped only because `wakers` is full (call again after waking them).
    fn hand_off(&mut self, wakers: &mut WakeList) -> bool {
        while self.permits > 0 {
            let Some(key) = self.waiters.front() else {
                return false;
            };
            if wakers.is_full() {
                return true;
            }
            let waiter = self.waiters.get_mut(key);
            let take = waiter.needed.min(self.permits);
            waiter.needed -= take;
            self.permits -= take;
            if waiter.needed > 0 {
                return false;
            }
            let waker = waiter.waker.take();
            self.waiters.pop_front();
            if let Some(waker) = waker {
                wakers.push(waker);
            }
        }
        false
    }
}

/// One acquisition of `wanted` permits; the future behind every `acquire*`.
struct Acquire<'a> {
    sem: &'a Semaphore,
    wanted: u32,
    key: Option<Key>,
}

impl<'a> Acquire<'a> {
    fn new(sem: &'a Semaphore, wanted: u32) -> Acquire<'a> {
        assert!(
            wanted as usize <= Semaphore::MAX_PERMITS,
            "Semaphore::acquire_many: {wanted} permits exceed Semaphore::MAX_PERMITS"
        );
        Acquire {
            sem,
            wanted,
            key: None,
        }
    }

    fn poll_acquire(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), AcquireError>> {
        let mut guard = crate::loom::lock(&self.sem.state);
        let state = &mut *guard;
        let wanted = self.wanted as usize;
        let Some(key) = self.key else {
            if state.closed {
                return Poll::Ready(Err(AcquireError(())));
            }
            // Free permits are zero while anyone waits: taking them never overtakes a waiter.
            if state.permits >= wanted {
                state.permits -= wanted;
                return Poll::Ready(Ok(()));
            }
            // Queue, keeping what is free now (we are the head: nobody else waits).
            let taken = state.permits;
            state.permits = 0;
            self.key = Some(state.waiters.push_back(Waiter {
                needed: wanted - taken,
                waker: Some(cx.waker().clone()),
            }));
            return Poll::Pending;
        };
        let waiter = state.waiters.get_mut(key);
        if waiter.needed == 0 {
            state.waiters.remove(key);
            self.key = None;
            return Poll::Ready(Ok(()));
        }
        if state.closed {
            let collected = wanted - waiter.needed;
            state.waiters.remove(key);
            self.key = None;
            // Closed: nobody is queued, so the collected permits simply return to the pool.
            state.permits += collected;
            return Poll::Ready(Err(AcquireError(())));
        }
        match &mut waiter.waker {
            Some(old) if old.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl Future for Acquire<'_> {
    type Output = Result<(), AcquireError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        super::poll_budgeted(cx, |cx| this.poll_acquire(cx))
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else {
            return;
        };
        let collected = {
            let mut state = crate::loom::lock(&self.sem.state);
            let waiter = state.waiters.remove(key);
            self.wanted as usize - waiter.needed
        };
        // Cancelled while queued (or after being served but before its poll): give back
        // everything it had collected, to the next waiters.
        self.sem.release(collected);
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = crate::loom::lock(&self.state);
        f.debug_struct("Semaphore")
            .field("permits", &state.permits)
            .field("closed", &state.closed)
            .finish()
    }
}
