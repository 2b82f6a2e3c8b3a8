//! `gather` / `try_gather` over a collection of futures.
//!
//! The futures live in one pinned boxed slice (one allocation for all of them). Each child gets
//! its own waker, an `Arc<ChildWaker>` holding its index: waking it pushes the index onto a
//! shared `ConcurrentQueue` (at most once until the child is polled again, thanks to the
//! `queued` flag) and then wakes the parent task (at most once per parent poll, thanks to the
//! `parent_notified` flag). A poll of the combinator therefore touches only the children that
//! were woken, so n futures cost O(n + total child polls), never O(n²).
//!
//! The first poll of each child happens in a sweep in input order. Each poll of the combinator
//! polls at most [`BUDGET`] children and then yields (re-waking itself), so children that keep
//! waking themselves cannot monopolise a worker. The parent's waker is re-registered whenever the
//! combinator is polled with a different one.

use super::join::{MaybeDone, TryMaybeDone, try_maybe_done};
use crate::loom::sync::Mutex;
use crate::loom::sync::atomic::{AtomicBool, Ordering};
use concurrent_queue::ConcurrentQueue;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
// `std::task::Wake` needs std's `Arc`. These wakers are handed to child futures only as plain
// `Waker`s; the runtime core never sees the `Arc` itself.
use std::sync::Arc as StdArc;
use std::task::{Context, Poll, Wake, Waker};

/// Children polled per poll of the combinator before it yields to the scheduler.
const BUDGET: usize = 256;

/// Runs every future of a collection concurrently on the current task and returns their outputs
/// in input order: asyncio's `gather(*aws)`.
///
/// Only futures that were woken are polled again, so a `gather` of 100 000 futures costs time
/// linear in their number. Like [`gather!`](crate::gather!), the futures are polled by the
/// calling task: they need not be `Send` or `'static`, and may borrow locals.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// spindle::run(async {
///     let words = ["a", "bb", "ccc"];
///     let lengths = spindle::gather(words.iter().enumerate().map(|(i, w)| async move {
///         // The longest word sleeps the least: completion order is not input order.
///         spindle::time::sleep(Duration::from_millis(10 * (3 - i as u64))).await;
///         w.len()
///     }))
///     .await;
///     assert_eq!(lengths, vec![1, 2, 3]);
/// });
/// ```
pub fn gather<I>(futures: I) -> impl Future<Output = Vec<<I::Item as Future>::Output>>
where
    I: IntoIterator,
    I::Item: Future,
{
    let driver = Driver::new(futures.into_iter().map(MaybeDone::new));
    GatherAll { driver }
}

/// Like [`gather`] for futures of `Result<T, E>`: the first `Err` wins and the other futures
/// are dropped at once; otherwise the `Ok` values come back in input order.
///
/// # Examples
///
/// ```
/// spindle::run(async {
///     let all_ok = spindle::try_gather((1..=3).map(|i| async move { Ok::<_, String>(i * 10) }));
///     assert_eq!(all_ok.await, Ok(vec![10, 20, 30]));
///
///     let one_bad = spindle::try_gather((1..=3).map(|i| async move {
///         if i == 2 { Err(format!("item {i} failed")) } else { Ok(i) }
///     }));
///     assert_eq!(one_bad.await, Err("item 2 failed".to_string()));
/// });
/// ```
pub fn try_gather<I, T, E>(futures: I) -> impl Future<Output = Result<Vec<T>, E>>
where
    I: IntoIterator,
    I::Item: Future<Output = Result<T, E>>,
{
    let driver = Driver::new(futures.into_iter().map(try_maybe_done));
    TryGatherAll { driver }
}

/// One slot of the collection: polled in place, reports completion or an early error.
trait Slot {
    type Output;
    type Error;
    /// Whether the future has not finished yet.
    fn is_pending(&self) -> bool;
    /// `Ok(true)`: finished. `Ok(false)`: still running. `Err`: failed, stop everything.
    fn poll_slot(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Result<bool, Self::Error>;
    fn take(self: Pin<&mut Self>) -> Self::Output;
}

impl<F: Future> Slot for MaybeDone<F> {
    type Output = F::Output;
    type Error = Infallible;
    fn is_pending(&self) -> bool {
        matches!(self, MaybeDone::Pending(_))
    }
    fn poll_slot(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Result<bool, Infallible> {
        Ok(self.poll_done(cx))
    }
    fn take(self: Pin<&mut Self>) -> F::Output {
        self.take_output()
    }
}

impl<F, T, E> Slot for TryMaybeDone<F, T>
where
    F: Future<Output = Result<T, E>>,
{
    type Output = T;
    type Error = E;
    fn is_pending(&self) -> bool {
        matches!(self, TryMaybeDone::Pending(_))
    }
    fn poll_slot(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Result<bool, E> {
        self.poll_try(cx)
    }
    fn take(self: Pin<&mut Self>) -> T {
        self.take_output()
    }
}

/// What the children's wakers share with the combinator.
struct Shared {
    /// Indices of children woken since they were last polled.
    ready: ConcurrentQueue<usize>,
    /// The task polling the combinator.
    parent: Mutex<Option<Waker>>,
    /// Set by the first child wake after the parent's latest poll started; cleared by the parent.
    parent_notified: AtomicBool,
}

impl Shared {
    fn notify_parent(&self) {
        // AcqRel: the parent's clearing swap must see (acquire) the index we pushed before this.
        if !self.parent_notified.swap(true, Ordering::AcqRel) {
            let waker = crate::loom::lock(&self.parent).clone();
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }
}

/// The waker of one child.
struct ChildWaker {
    index: usize,
    /// True while the index is in `ready` (or the child is about to get its first poll).
    queued: AtomicBool,
    shared: StdArc<Shared>,
}

impl Wake for ChildWaker {
    fn wake(self: StdArc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &StdArc<Self>) {
        // AcqRel: pairs with the parent's `store(false)` before it polls this child, so a wake
        // that comes after that poll read its state always re-queues the child.
        if !self.queued.swap(true, Ordering::AcqRel) {
            // The queue is unbounded and never closed, so `push` cannot fail.
            let _ = self.shared.ready.push(self.index);
            self.shared.notify_parent();
        }
    }
}

/// Polls a collection of slots, re-polling only the woken ones.
struct Driver<S> {
    slots: Pin<Box<[S]>>,
    /// The children's wakers; created by the sweep that polls each child for the first time.
    wakers: Vec<(StdArc<ChildWaker>, Waker)>,
    shared: StdArc<Shared>,
    /// Children not finished yet.
    remaining: usize,
    finished: bool,
}

impl<S: Slot> Driver<S> {
    fn new(slots: impl Iterator<Item = S>) -> Self {
        let slots: Box<[S]> = slots.collect();
        let remaining = slots.len();
        Driver {
            slots: Box::into_pin(slots),
            wakers: Vec::with_capacity(remaining),
            shared: StdArc::new(Shared {
                ready: ConcurrentQueue::unbounded(),
                parent: Mutex::new(None),
                parent_notified: AtomicBool::new(false),
            }),
            remaining,
            finished: false,
        }
    }

    /// Polls the children that need it. `Ready(Ok(()))` once all finished, `Ready(Err)` on the
    /// first error (every other child is dropped before this returns).
    fn poll_children(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        assert!(
            !self.finished,
            "spindle::gather: the future was polled after it completed"
        );
        {
            let mut parent = crate::loom::lock(&self.shared.parent);
            if !parent.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *parent = Some(cx.waker().clone());
            }
        }
        // AcqRel: acquire the indices pushed by wakes that saw the flag set; release is harmless.
        self.shared.parent_notified.swap(false, Ordering::AcqRel);

        let mut budget = BUDGET;
        while budget > 0 {
            let index = if self.wakers.len() < self.slots.len() {
                // First poll of the next child, in input order.
                let index = self.wakers.len();
                let child = StdArc::new(ChildWaker {
                    index,
                    queued: AtomicBool::new(true),
                    shared: self.shared.clone(),
                });
                let waker = Waker::from(child.clone());
                self.wakers.push((child, waker));
                index
            } else {
                match self.shared.ready.pop() {
                    Ok(index) => index,
                    Err(_) => break,
                }
            };
            budget -= 1;
            let (child, waker) = &self.wakers[index];
            // Release: a wake that follows this poll (and so reads `false`) re-queues the child;
            // the wake's own AcqRel swap orders it after everything before this store.
            child.queued.store(false, Ordering::Release);
            let mut slot = slot_at(self.slots.as_mut(), index);
            if !slot.as_ref().get_ref().is_pending() {
                // A stale wake of a child that already finished.
                continue;
            }
            match slot.as_mut().poll_slot(&mut Context::from_waker(waker)) {
                Ok(true) => self.remaining -= 1,
                Ok(false) => {}
                Err(error) => {
                    self.finished = true;
                    // Drop every other child now, in place.
                    self.slots = Box::into_pin(Box::default());
                    return Poll::Ready(Err(error));
                }
            }
        }
        if self.remaining == 0 && self.wakers.len() == self.slots.len() {
            self.finished = true;
            return Poll::Ready(Ok(()));
        }
        if budget == 0 {
            // Out of budget with work left (or possibly left): come back after other tasks ran.
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }

    /// Moves every output out, in input order.
    fn take_outputs(&mut self) -> Vec<S::Output> {
        let len = self.slots.len();
        let mut outputs = Vec::with_capacity(len);
        for index in 0..len {
            outputs.push(slot_at(self.slots.as_mut(), index).take());
        }
        self.slots = Box::into_pin(Box::default());
        outputs
    }
}

/// Pin projection from the pinned slice to one pinned element. Panics if out of range.
fn slot_at<S>(slots: Pin<&mut [S]>, index: usize) -> Pin<&mut S> {
    // SAFETY: the elements of a pinned slice are pinned too; the element is handed out pinned
    // and never moved (the boxed slice is never resized, and only replaced as a whole, which
    // drops the elements in place).
    unsafe { slots.map_unchecked_mut(|slots| &mut slots[index]) }
}

/// The future returned by [`gather`].
struct GatherAll<F: Future> {
    driver: Driver<MaybeDone<F>>,
}

impl<F: Future> Future for GatherAll<F> {
    type Output = Vec<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // `Driver` keeps its futures behind a pinned `Box`, so `GatherAll` is `Unpin`.
        let this = self.get_mut();
        match this.driver.poll_children(cx) {
            Poll::Ready(Ok(())) => Poll::Ready(this.driver.take_outputs()),
            Poll::Ready(Err(never)) => match never {},
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The future returned by [`try_gather`].
struct TryGatherAll<F, T> {
    driver: Driver<TryMaybeDone<F, T>>,
}

impl<F, T, E> Future for TryGatherAll<F, T>
where
    F: Future<Output = Result<T, E>>,
{
    type Output = Result<Vec<T>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // `Driver` keeps its futures behind a pinned `Box`, so `TryGatherAll` is `Unpin`.
        let this = self.get_mut();
        match this.driver.poll_children(cx) {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(this.driver.take_outputs())),
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => Poll::Pending,
        }
    }
}
