//! The cooperative budget: how many ready operations a task may perform in one poll before the
//! resources it uses start saying `Pending` on their own.
//!
//! A task whose socket or channel is always ready would otherwise never return `Pending` and
//! would starve every other task on its worker (and the timers behind them). So every poll of a
//! task gets [`INITIAL`] units (a thread-local counter, set by the worker around the poll);
//! sockets, timers, `JoinHandle`s and `spindle::sync` receivers and locks spend one unit per
//! ready operation through [`poll_proceed`]. When the budget is spent they wake the task and
//! return `Pending`, so it goes to the back of the queue and the others run.
//!
//! A resource that took a unit but then returns `Pending` anyway gives it back
//! ([`RestoreOnPending`]), so waiting never costs budget. Outside a task poll (a plain thread,
//! a test polling by hand) the budget is unconstrained; [`unconstrained`] opts a future out.

use crate::loom::sync::atomic::{AtomicU64, Ordering};
use std::cell::Cell;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Units per task poll (tokio uses the same number).
pub(crate) const INITIAL: u8 = 128;

/// `None`: unconstrained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Budget(Option<u8>);

crate::loom::thread_local! {
    static BUDGET: Cell<Budget> = const { Cell::new(Budget(None)) };
    /// Where this thread counts forced yields: the worker's metrics counter, set by the worker
    /// for its whole run (null elsewhere).
    static FORCED_YIELDS: Cell<*const AtomicU64> = const { Cell::new(std::ptr::null()) };
}

/// Runs `f` (one task poll) with a fresh budget, restoring the previous one afterwards, also
/// on unwind.
#[inline]
pub(crate) fn budget<R>(f: impl FnOnce() -> R) -> R {
    with_budget(Budget(Some(INITIAL)), f)
}

#[inline]
fn with_budget<R>(budget: Budget, f: impl FnOnce() -> R) -> R {
    struct Reset(Budget);
    impl Drop for Reset {
        #[inline]
        fn drop(&mut self) {
            BUDGET.with(|cell| cell.set(self.0));
        }
    }
    let _reset = Reset(BUDGET.with(|cell| cell.replace(budget)));
    f()
}

/// Makes `counter` the place where forced yields on this thread are counted until the returned
/// guard drops. The counter must outlive the guard.
pub(crate) fn count_forced_yields_in(counter: &AtomicU64) -> ForcedYieldsGuard {
    FORCED_YIELDS.with(|cell| cell.set(counter));
    ForcedYieldsGuard(())
}

pub(crate) struct ForcedYieldsGuard(());

impl Drop for ForcedYieldsGuard {
    fn drop(&mut self) {
        FORCED_YIELDS.with(|cell| cell.set(std::ptr::null()));
    }
}

/// Proof that one unit was taken. Dropped without [`made_progress`](Self::made_progress) (the
/// resource returned `Pending` after all), it gives the unit back.
#[must_use = "call `made_progress` once the operation completed"]
pub(crate) struct RestoreOnPending(Cell<Budget>);

impl RestoreOnPending {
    /// The operation completed: the unit stays spent.
    #[inline]
    pub(crate) fn made_progress(&self) {
        self.0.set(Budget(None));
    }
}

impl Drop for RestoreOnPending {
    #[inline]
    fn drop(&mut self) {
        let before = self.0.get();
        if before.0.is_some() {
            BUDGET.with(|cell| cell.set(before));
        }
    }
}

/// Takes one unit of the current task's budget, or — when it is spent — wakes the task and
/// returns `Pending` so that it yields. Resources call this first and then try their operation.
#[inline]
pub(crate) fn poll_proceed(cx: &mut Context<'_>) -> Poll<RestoreOnPending> {
    let before = BUDGET.with(|cell| cell.get());
    match before.0 {
        None => Poll::Ready(RestoreOnPending(Cell::new(Budget(None)))),
        Some(0) => {
            forced_yield();
            cx.waker().wake_by_ref();
            Poll::Pending
        }
        Some(n) => {
            BUDGET.with(|cell| cell.set(Budget(Some(n - 1))));
            Poll::Ready(RestoreOnPending(Cell::new(before)))
        }
    }
}

#[cold]
fn forced_yield() {
    let counter = FORCED_YIELDS.with(|cell| cell.get());
    if !counter.is_null() {
        // SAFETY: set by `count_forced_yields_in` from a counter that outlives its guard, and the
        // guard is dropped (clearing the pointer) before the counter can go away.
        // Relaxed: a monotonic statistic; readers need no ordering with anything else.
        unsafe { &*counter }.fetch_add(1, Ordering::Relaxed);
    }
}

/// Whether the current task still has budget (always true outside a task).
#[inline]
pub(crate) fn has_budget_remaining() -> bool {
    BUDGET.with(|cell| cell.get().0 != Some(0))
}

/// Runs `f` with no budget (see [`unconstrained`]).
#[inline]
pub(crate) fn with_unconstrained<R>(f: impl FnOnce() -> R) -> R {
    with_budget(Budget(None), f)
}

/// Spends one unit of the current task's cooperative budget, yielding to the scheduler first
/// when the budget is exhausted.
///
/// Call it in a loop that does a lot of work without awaiting anything that could be
/// `Pending` — e.g. processing items that are already in memory — so that other tasks on the
/// same worker still get to run. Each task poll starts with 128 units; spindle's sockets,
/// timers, `JoinHandle`s, channels and locks spend them automatically.
///
/// ```
/// spindle::run(async {
///     let mut sum = 0u64;
///     for i in 0..10_000u64 {
///         sum += i;
///         spindle::task::consume_budget().await; // yields once every 128 iterations
///     }
///     assert_eq!(sum, 49_995_000);
/// });
/// ```
pub async fn consume_budget() {
    poll_fn(|cx| match poll_proceed(cx) {
        Poll::Ready(restore) => {
            restore.made_progress();
            Poll::Ready(())
        }
        Poll::Pending => Poll::Pending,
    })
    .await
}

/// Runs `future` without a cooperative budget: the resources it uses never force it to yield.
///
/// Use it sparingly, for a future that must finish a burst of ready work in one go; it can
/// starve the other tasks on its worker.
///
/// ```
/// spindle::run(async {
///     let out = spindle::task::unconstrained(async {
///         let mut n = 0;
///         for _ in 0..1_000 {
///             spindle::task::consume_budget().await; // never yields in here
///             n += 1;
///         }
///         n
///     })
///     .await;
///     assert_eq!(out, 1_000);
/// });
/// ```
pub fn unconstrained<F: Future>(future: F) -> Unconstrained<F> {
    Unconstrained { future }
}

/// The future returned by [`unconstrained`].
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct Unconstrained<F> {
    future: F,
}

impl<F: Future> Future for Unconstrained<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out of `self`, and
        // `Unconstrained` has no `Drop` impl or `Unpin` impl that could move it.
        let future = unsafe { self.map_unchecked_mut(|this| &mut this.future) };
        with_unconstrained(|| future.poll(cx))
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::task::Waker;

    #[test]
    fn budget_runs_out_then_restores_and_unconstrained_is_free() {
        let mut cx = Context::from_waker(Waker::noop());
        // Outside a task poll: unconstrained.
        for _ in 0..1_000 {
            assert!(poll_proceed(&mut cx).is_ready());
        }
        let counter = AtomicU64::new(0);
        let _guard = count_forced_yields_in(&counter);
        budget(|| {
            for _ in 0..INITIAL {
                match poll_proceed(&mut cx) {
                    Poll::Ready(restore) => restore.made_progress(),
                    Poll::Pending => panic!("budget ran out early"),
                }
            }
            assert!(!has_budget_remaining());
            assert!(poll_proceed(&mut cx).is_pending());
            assert_eq!(counter.load(Ordering::SeqCst), 1);
            // Nested unconstrained section: free, and the outer budget is back afterwards.
            with_unconstrained(|| assert!(poll_proceed(&mut cx).is_ready()));
            assert!(!has_budget_remaining());
            assert!(poll_proceed(&mut cx).is_pending());
        });
        budget(|| {
            // A unit taken and then given back (the operation was Pending).
            let restore = match poll_proceed(&mut cx) {
                Poll::Ready(restore) => restore,
                Poll::Pending => panic!("fresh budget"),
            };
            assert_eq!(BUDGET.with(|c| c.get()), Budget(Some(INITIAL - 1)));
            drop(restore);
            assert_eq!(BUDGET.with(|c| c.get()), Budget(Some(INITIAL)));
        });
        assert_eq!(BUDGET.with(|c| c.get()), Budget(None));
    }
}
