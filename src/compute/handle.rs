//! [`JobHandle`]: the async side of a compute job — await its result, watch its progress,
//! cancel it (explicitly, or by dropping the handle).
//!
//! Watching: [`JobHandle::changed`] returns the progress when it differs from what it returned
//! last. Wakes are coalesced on the watcher's side, so `advance` never reads a clock: for
//! [`WINDOW`] after a delivery the watcher sleeps on a timer of the job runtime's driver and
//! the job's changes do not wake it; after the window, a watcher with nothing new parks and
//! asks for a wake at the next change (one SeqCst load per `advance` notices that). So a fast
//! job wakes its watcher about once per window however often it advances, a change is held
//! back at most one window, and the final value always arrives (closing the job wakes the
//! watcher at once, window or not).

use super::deferral::{Deferral, Wait};
use super::job::{JobShared, Progress};
use crate::loom::sync::StdArc;
use crate::task::info::{WaitOn, set_waiting};
use crate::task::{AbortHandle, Id, JoinError, JoinHandle};
use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// The least time between two progress deliveries of [`JobHandle::changed`].
pub(crate) const WINDOW: Duration = Duration::from_millis(10);

/// An owned handle to a compute job ([`compute::spawn`](super::spawn)): a future of the
/// closure's result, a progress watch, and the job's cancellation.
///
/// * Awaiting it yields `Ok(value)`, or a [`JoinError`] if the closure panicked or the job was
///   cancelled. A job cancelled while it runs yields the cancelled error once the closure has
///   returned (never the value it computed).
/// * [`abort`](Self::abort) cancels the job: one that has not started never runs; a running
///   one sees its [`Job::checkpoint`](super::Job::checkpoint) fail.
/// * **Dropping the handle cancels the job**, so `timeout(d, handle)` or a `select!` that
///   drops it stops the kernel. [`detach`](Self::detach) lets it run on instead.
/// * [`progress`](Self::progress) reads the progress now; [`changed`](Self::changed) waits for
///   the next change (coalesced to about one wake per 10 ms) and returns `None` once the job
///   finished.
///
/// ```
/// use spindle::compute;
///
/// spindle::run(async {
///     let mut job = compute::spawn(|job| {
///         job.set_total(1_000);
///         let mut acc = 0u64;
///         for i in 0..1_000u64 {
///             acc = acc.wrapping_mul(31).wrapping_add(i);
///             job.advance(1);
///         }
///         acc
///     });
///     while let Some(progress) = job.changed().await {
///         println!("{progress}"); // "350/1000 (35.0 %)", ...
///     }
///     assert_eq!(job.progress().done, 1_000);
///     let _value = job.await.unwrap();
/// });
/// ```
pub struct JobHandle<R> {
    join: JoinHandle<R>,
    shared: StdArc<JobShared>,
    /// What `changed` returned last (initially the zero progress).
    seen: Progress,
    /// When `changed` last returned a progress.
    delivered: Option<Instant>,
    /// The timer that ends a coalescing window; `None` if the job's runtime has no driver.
    deferral: Option<Deferral>,
    /// `detach` was called: dropping does not cancel.
    detached: bool,
}

impl<R> JobHandle<R> {
    pub(crate) fn new(
        join: JoinHandle<R>,
        shared: StdArc<JobShared>,
        deferral: Option<Deferral>,
    ) -> JobHandle<R> {
        JobHandle {
            join,
            shared,
            seen: Progress::default(),
            delivered: None,
            deferral,
            detached: false,
        }
    }

    /// Cancels the job. One that has not started never runs; a running one sees its
    /// checkpoints fail, and the handle then yields a cancelled [`JoinError`] once the closure
    /// returns. No effect on a finished job.
    ///
    /// ```
    /// use spindle::compute::{self, Cancelled};
    ///
    /// spindle::run(async {
    ///     let job = compute::spawn(|job| -> Result<(), Cancelled> {
    ///         loop {
    ///             job.checkpoint()?;
    ///             std::hint::spin_loop();
    ///         }
    ///     });
    ///     job.abort();
    ///     assert!(job.await.unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn abort(&self) {
        self.join.abort();
    }

    /// A cloneable handle that can only cancel the job (and ask whether it finished).
    ///
    /// ```
    /// spindle::run(async {
    ///     let job = spindle::compute::spawn(|job| while !job.is_cancelled() {});
    ///     let abort = job.abort_handle();
    ///     std::thread::spawn(move || abort.abort()).join().unwrap();
    ///     assert!(job.await.unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn abort_handle(&self) -> AbortHandle {
        self.join.abort_handle()
    }

    /// True once the job's task has completed (returned, been cancelled, or panicked).
    ///
    /// ```
    /// spindle::run(async {
    ///     let job = spindle::compute::spawn(|_| 42);
    ///     while !job.is_finished() {
    ///         spindle::yield_now().await;
    ///     }
    ///     assert_eq!(job.await.unwrap(), 42);
    /// });
    /// ```
    pub fn is_finished(&self) -> bool {
        self.join.is_finished()
    }

    /// The job's task id (the same as [`Job::id`](super::Job::id) inside it, and the one task
    /// dumps show for a task awaiting this handle).
    ///
    /// ```
    /// spindle::run(async {
    ///     let job = spindle::compute::spawn(|job| job.id());
    ///     let id = job.id();
    ///     assert_eq!(job.await.unwrap(), id);
    /// });
    /// ```
    pub fn id(&self) -> Id {
        self.join.id()
    }

    /// Lets the job run on without this handle: dropping the returned value is not a
    /// cancellation. Its result is dropped when it finishes. (A runtime shutdown still
    /// cancels it.)
    ///
    /// ```
    /// use std::sync::mpsc;
    ///
    /// spindle::run(async {
    ///     let (tx, rx) = mpsc::channel();
    ///     spindle::compute::spawn(move |_| tx.send(6 * 7).unwrap()).detach();
    ///     let answer = spindle::spawn_blocking(move || rx.recv().unwrap()).await.unwrap();
    ///     assert_eq!(answer, 42);
    /// });
    /// ```
    pub fn detach(mut self) {
        self.detached = true;
    }

    /// The progress the job reported so far ([`Job::advance`](super::Job::advance),
    /// [`Job::set_total`](super::Job::set_total)).
    ///
    /// ```
    /// spindle::run(async {
    ///     let mut job = spindle::compute::spawn(|job| job.advance(5));
    ///     (&mut job).await.unwrap();
    ///     assert_eq!(job.progress().done, 5);
    /// });
    /// ```
    pub fn progress(&self) -> Progress {
        self.shared.progress()
    }

    /// Waits until the progress differs from what this method returned last (initially: from
    /// zero done, no total) and returns it; `None` once the job finished (its closure returned
    /// or it was cancelled before it started) and the last value was delivered.
    ///
    /// However often the job advances, this returns at most about once per 10 ms (intermediate
    /// values are skipped, the task awaiting it is woken about as often); a change is held
    /// back at most that long, and the final value is always delivered before `None`. No
    /// polling: while nothing changes, the awaiting task sleeps. Cancel-safe (a dropped call
    /// loses nothing).
    ///
    /// ```
    /// use spindle::compute::Progress;
    ///
    /// spindle::run(async {
    ///     let mut job = spindle::compute::spawn(|job| {
    ///         job.set_total(3);
    ///         for _ in 0..3 {
    ///             std::thread::sleep(std::time::Duration::from_millis(20));
    ///             job.advance(1);
    ///         }
    ///     });
    ///     let mut seen = Vec::new();
    ///     while let Some(p) = job.changed().await {
    ///         seen.push(p);
    ///     }
    ///     assert_eq!(seen.last(), Some(&Progress { done: 3, total: Some(3) }));
    ///     assert!(seen.windows(2).all(|w| w[0].done <= w[1].done));
    ///     job.await.unwrap();
    /// });
    /// ```
    pub async fn changed(&mut self) -> Option<Progress> {
        poll_fn(|cx| self.poll_changed(cx)).await
    }

    fn poll_changed(&mut self, cx: &mut Context<'_>) -> Poll<Option<Progress>> {
        loop {
            let closed = self.shared.is_closed();
            let now = self.shared.progress();
            let changed = now != self.seen;
            if closed {
                // The final value is delivered at once, then `None` for good.
                return Poll::Ready(changed.then(|| self.deliver(now)));
            }
            // Inside the window that follows a delivery, the job's changes do not wake us:
            // the timer does, at the window's end (and closing the job, at once).
            let window_end = self
                .delivered
                .map(|at| at + WINDOW)
                .filter(|end| Instant::now() < *end);
            if let (Some(end), Some(deferral)) = (window_end, self.deferral.as_mut()) {
                self.shared.unpark();
                match deferral.poll_until(end, cx) {
                    Wait::Pending => {
                        self.shared.set_waker(cx.waker());
                        if !self.shared.is_closed() {
                            return Poll::Pending;
                        }
                        continue;
                    }
                    // The window is over, or no timer can be armed (the runtime shut down):
                    // no coalescing then.
                    Wait::Elapsed | Wait::Unavailable => {}
                }
            }
            if changed {
                return Poll::Ready(Some(self.deliver(now)));
            }
            // Nothing new after the window: park until the next change (or the end of the
            // job), then look again so that a change racing with the park is not lost.
            self.shared.park(cx.waker());
            if self.shared.progress() == self.seen && !self.shared.is_closed() {
                return Poll::Pending;
            }
        }
    }

    /// Records `now` as delivered and opens the next coalescing window.
    fn deliver(&mut self, now: Progress) -> Progress {
        if let Some(deferral) = &mut self.deferral {
            deferral.cancel();
        }
        self.shared.unpark();
        self.seen = now;
        self.delivered = Some(Instant::now());
        now
    }
}

impl<R> Future for JobHandle<R> {
    type Output = Result<R, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let poll = Pin::new(&mut self.join).poll(cx);
        if poll.is_pending() {
            // Task dumps show the awaiting task waiting on this job.
            set_waiting(WaitOn::Compute(self.join.id().as_u64()));
        }
        poll
    }
}

impl<R> Drop for JobHandle<R> {
    fn drop(&mut self) {
        if !self.detached {
            self.join.abort();
        }
    }
}

impl<R> fmt::Debug for JobHandle<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobHandle")
            .field("id", &self.join.id())
            .field("progress", &self.shared.progress())
            .field("finished", &self.join.is_finished())
            .field("detached", &self.detached)
            .finish()
    }
}
