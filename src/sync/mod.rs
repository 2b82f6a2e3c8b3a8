//! Channels and locks for tasks: asyncio's `Queue`, `Lock`, `Semaphore`, `Event`, `Barrier`,
//! with tokio's names and semantics, integrated with spindle's cooperative budget.
//!
//! | need | spindle | asyncio | backed by |
//! |---|---|---|---|
//! | a queue between tasks (many producers, many consumers) | [`mpsc::bounded`], [`mpsc::unbounded`] | `asyncio.Queue` | `async-channel` |
//! | one value, once | [`oneshot::channel`] | a `Future` you `set_result` on | `futures-channel` |
//! | every message to every subscriber | [`broadcast::channel`] | — | spindle |
//! | the latest value, and "it changed" | [`watch::channel`] | — | spindle |
//! | mutual exclusion across `.await` | [`Mutex`] | `asyncio.Lock` | `async-lock` |
//! | many readers or one writer | [`RwLock`] | — | `async-lock` |
//! | at most N at a time | [`Semaphore`] | `asyncio.Semaphore` | spindle |
//! | wait until N tasks arrive | [`Barrier`] | `asyncio.Barrier` | `async-lock` |
//! | initialise once, lazily, asynchronously | [`OnceCell`] | — | spindle |
//! | wake one / all waiting tasks | [`Notify`] | `asyncio.Event`, `asyncio.Condition` | spindle |
//!
//! All of them are runtime-neutral (they work on any executor and from plain threads through
//! the `*_blocking` methods), but on spindle they also take part in the scheduler's
//! **cooperative budget**: a task polls at most 128 ready operations before it yields, so a
//! task whose channel is always full of messages cannot starve the other tasks on its worker
//! (or the timers behind them). The rule, tokio's:
//!
//! * **spend one unit per ready operation**: receiving (`mpsc`, `oneshot`, `broadcast`,
//!   `watch::Receiver::changed`), sending into a *bounded* `mpsc` channel, and acquiring a lock
//!   or permit (`Mutex::lock`, `RwLock::{read, write}`, `Semaphore::acquire*`,
//!   `Barrier::wait`). When the budget is spent they wake the task and return `Pending`; it
//!   continues after the other ready tasks have run. An operation that has to wait gives its
//!   unit back.
//! * **spend nothing**: sends that never wait (an unbounded `mpsc` sender, `broadcast` and
//!   `watch` senders), every `try_*` method, and `Notify::notified` (not a receiver or lock).
//!
//! Wrap a future in [`task::unconstrained`](crate::task::unconstrained) to opt out.
//!
//! ```
//! use spindle::sync::{mpsc, Mutex};
//! use std::sync::Arc;
//!
//! spindle::run(async {
//!     let (tx, rx) = mpsc::bounded::<u32>(16);
//!     let total = Arc::new(Mutex::new(0));
//!     let consumer = spindle::spawn({
//!         let total = total.clone();
//!         async move {
//!             while let Ok(n) = rx.recv().await {
//!                 *total.lock().await += n;
//!             }
//!         }
//!     });
//!     for n in 1..=10 {
//!         tx.send(n).await.unwrap();
//!     }
//!     drop(tx); // closes the channel: the consumer's loop ends
//!     consumer.await.unwrap();
//!     assert_eq!(*total.lock().await, 55);
//! });
//! ```

/// A `const fn` in normal builds, a plain `fn` under `--cfg loom` (where the crates underneath
/// swap in loom's non-const primitives).
macro_rules! const_fn {
    ($(#[$attr:meta])* $vis:vis const fn $($rest:tt)*) => {
        #[cfg(not(loom))]
        $(#[$attr])* $vis const fn $($rest)*
        #[cfg(loom)]
        $(#[$attr])* $vis fn $($rest)*
    };
}

mod barrier;
pub mod broadcast;
pub mod mpsc;
mod mutex;
mod notify;
mod once_cell;
pub mod oneshot;
mod rwlock;
mod semaphore;
mod wait_list;
pub mod watch;

pub use barrier::{Barrier, BarrierWaitResult};
pub use mutex::{Mutex, MutexGuard, OwnedMutexGuard};
pub use notify::{Notified, Notify};
pub use once_cell::{OnceCell, SetError};
pub use rwlock::{
    OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock, RwLockReadGuard, RwLockWriteGuard,
};
pub use semaphore::{AcquireError, OwnedSemaphorePermit, Semaphore, SemaphorePermit};

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

/// Polls `f` under the cooperative budget: takes one unit first (or yields when the budget is
/// spent), keeps it only if `f` completed.
#[inline]
pub(crate) fn poll_budgeted<T>(
    cx: &mut Context<'_>,
    f: impl FnOnce(&mut Context<'_>) -> Poll<T>,
) -> Poll<T> {
    let restore = ready!(crate::task::coop::poll_proceed(cx));
    let output = ready!(f(cx));
    restore.made_progress();
    Poll::Ready(output)
}

pin_project_lite::pin_project! {
    /// A future polled under the cooperative budget (see [`poll_budgeted`]); `enabled: false`
    /// polls it as is.
    pub(crate) struct Budgeted<F> {
        #[pin]
        inner: F,
        enabled: bool,
    }
}

impl<F> Budgeted<F> {
    #[inline]
    pub(crate) fn new(inner: F) -> Budgeted<F> {
        Budgeted {
            inner,
            enabled: true,
        }
    }

    #[inline]
    pub(crate) fn with(inner: F, enabled: bool) -> Budgeted<F> {
        Budgeted { inner, enabled }
    }
}

impl<F: Future> Future for Budgeted<F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        if *this.enabled {
            let inner = this.inner;
            poll_budgeted(cx, |cx| inner.poll(cx))
        } else {
            this.inner.poll(cx)
        }
    }
}

/// Panics (naming the fix) when a `*_blocking` method is called on a thread that runs async
/// tasks, where blocking would stall them or deadlock.
#[track_caller]
pub(crate) fn assert_may_block(what: &str) {
    if crate::runtime::context::is_runtime_thread() {
        panic!(
            "{what} was called on a thread that runs spindle tasks (a worker or block_on); \
             blocking it could deadlock. Use the async method with `.await`, or call it from \
             spindle::spawn_blocking or a plain thread"
        );
    }
}

#[cfg(all(test, not(loom)))]
mod tests;
