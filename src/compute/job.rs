//! The job token: [`Job`], [`Cancelled`], [`Progress`], and the "job running on this thread"
//! behind [`checkpoint`](super::checkpoint) and [`current`](super::current).
//!
//! A job's cancellation flag is its task's own state word: `JoinHandle::abort`, a task group
//! stopping and runtime shutdown all set the CANCELLED bit of the task running the closure,
//! also while it runs, so a checkpoint is one relaxed load of that word through the counted
//! task reference every [`Job`] holds. The rest of a job's shared state ([`JobShared`]: progress,
//! whether a checkpoint reported the cancellation, the watcher's waker) lives in one `Arc` that
//! the closure's future, every `Job` clone and the [`JobHandle`](super::JobHandle) share.

use crate::loom::sync::atomic::{Ordering, StdAtomicBool as AtomicBool, StdAtomicU64 as AtomicU64};
use crate::loom::sync::{StdArc as Arc, StdMutex as Mutex};
use crate::task::{AbortHandle, Id};
use std::cell::Cell;
use std::fmt;
use std::ptr;
use std::task::Waker;

/// `total` of a job whose size is unknown.
const NO_TOTAL: u64 = u64::MAX;

/// State shared by a running closure's [`Job`]s and its [`JobHandle`](super::JobHandle).
pub(crate) struct JobShared {
    done: AtomicU64,
    /// [`NO_TOTAL`] until `set_total`.
    total: AtomicU64,
    /// The watcher (`JobHandle::changed`) is parked until the next change: the next `advance`
    /// or `set_total` wakes it. Cleared by whoever takes the wake.
    want: AtomicBool,
    /// A checkpoint (or `is_cancelled`) of this job reported the cancellation: the closure
    /// knows, so an `Err` it returns afterwards is the cancellation, not a failure.
    observed: AtomicBool,
    /// The closure returned, or will never run: no change will follow.
    closed: AtomicBool,
    /// The watcher's waker.
    waker: Mutex<Option<Waker>>,
}

impl JobShared {
    pub(crate) fn new() -> JobShared {
        JobShared {
            done: AtomicU64::new(0),
            total: AtomicU64::new(NO_TOTAL),
            want: AtomicBool::new(false),
            observed: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            waker: Mutex::new(None),
        }
    }

    /// The latest progress (two loads: `done` and `total` may come from different instants).
    pub(crate) fn progress(&self) -> Progress {
        // SeqCst: pairs with the watcher's `want` handshake (see `park`).
        let done = self.done.load(Ordering::SeqCst);
        let total = self.total.load(Ordering::SeqCst);
        Progress {
            done,
            total: (total != NO_TOTAL).then_some(total),
        }
    }

    /// Whether a checkpoint of this job reported its cancellation.
    fn was_observed(&self) -> bool {
        // Relaxed: read by the thread that ran the closure, after it returned (any rayon
        // helper that set it finished before the closure's parallel call returned).
        self.observed.load(Ordering::Relaxed)
    }

    /// Whether the closure returned (or never will run).
    pub(crate) fn is_closed(&self) -> bool {
        // SeqCst: part of the watcher's handshake (see `park`).
        self.closed.load(Ordering::SeqCst)
    }

    /// The closure's future is gone: wake the watcher for the final value (or `None`).
    pub(crate) fn close(&self) {
        // SeqCst: a watcher that parks after this sees `closed`; one that parked before has
        // stored its waker, which we take below.
        self.closed.store(true, Ordering::SeqCst);
        self.wake();
    }

    /// Stores the watcher's waker and asks for a wake at the next change. The caller then
    /// re-reads the progress and `closed`, so a change racing with this is never lost: either
    /// the advancer sees `want` (its SeqCst load follows its SeqCst add) or the watcher's SeqCst
    /// re-read sees the add.
    pub(crate) fn park(&self, waker: &Waker) {
        self.set_waker(waker);
        self.want.store(true, Ordering::SeqCst);
    }

    /// Stores the watcher's waker without asking for change wakes: only `close` will use it
    /// (the watcher waits for the end of its coalescing window on a timer). The caller then
    /// re-reads `closed`.
    pub(crate) fn set_waker(&self, waker: &Waker) {
        let mut slot = self.waker.lock().unwrap_or_else(|p| p.into_inner());
        if !slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
            *slot = Some(waker.clone());
        }
    }

    /// Withdraws a `park` (the watcher found a change itself, or waits on its timer instead).
    pub(crate) fn unpark(&self) {
        // Relaxed: a stale `true` only costs one spurious wake.
        self.want.store(false, Ordering::Relaxed);
    }

    /// A change happened: wake the watcher if it is parked.
    #[inline]
    fn changed(&self) {
        // SeqCst: see `park`.
        if self.want.load(Ordering::SeqCst) {
            self.wake_parked();
        }
    }

    #[cold]
    #[inline(never)]
    fn wake_parked(&self) {
        // SeqCst: one advancer takes the wake; the others see `false`.
        if self.want.swap(false, Ordering::SeqCst) {
            self.wake();
        }
    }

    fn wake(&self) {
        let waker = self.waker.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// The token of a running compute closure: ask whether it was cancelled, report progress.
///
/// A `Job` is handed to the closure of [`compute::spawn`](super::spawn), and
/// [`compute::current`](super::current) returns one inside a
/// [`spawn_blocking`](crate::spawn_blocking) closure or a task-group blocking child. It is
/// `Clone + Send + Sync`: move clones into rayon `par_iter` closures, which run on other pool
/// threads (see [`ParallelIteratorExt::cancel_with`](super::ParallelIteratorExt::cancel_with)
/// for a way to stop a parallel iterator without writing the check).
///
/// The job is cancelled once its handle is aborted or dropped, its task group fails or is
/// cancelled or dropped, or its runtime shuts down. The closure keeps running until it
/// returns: [`checkpoint`](Self::checkpoint) is how it learns that it should. A checkpoint is
/// one relaxed load of the task's state word (about a nanosecond, see `docs/benchmarks.md`), cheap
/// enough for an inner loop.
///
/// ```
/// use spindle::compute::{self, Cancelled};
///
/// spindle::run(async {
///     let job = compute::spawn(|job| -> Result<u64, Cancelled> {
///         job.set_total(1000);
///         let mut sum = 0;
///         for i in 0..1000u64 {
///             job.checkpoint()?; // returns Err(Cancelled) once the job was cancelled
///             sum += i;
///             job.advance(1);
///         }
///         Ok(sum)
///     });
///     assert_eq!(job.await.unwrap(), Ok(499_500));
/// });
/// ```
#[derive(Clone)]
pub struct Job {
    /// A counted reference to the task running the closure: its state word is the token.
    task: AbortHandle,
    shared: Arc<JobShared>,
}

impl Job {
    pub(crate) fn new(task: AbortHandle, shared: Arc<JobShared>) -> Job {
        Job { task, shared }
    }

    /// `Err(Cancelled)` once the job was cancelled, else `Ok(())`: put `job.checkpoint()?` in
    /// the loops of a kernel. One relaxed load on the fast path.
    ///
    /// ```
    /// use spindle::compute::{self, Cancelled};
    /// use std::time::Duration;
    ///
    /// spindle::run(async {
    ///     let handle = compute::spawn(|job| -> Result<(), Cancelled> {
    ///         loop {
    ///             job.checkpoint()?;
    ///             std::thread::sleep(Duration::from_millis(1)); // one step of work
    ///         }
    ///     });
    ///     spindle::time::sleep(Duration::from_millis(20)).await;
    ///     handle.abort();
    ///     assert!(handle.await.unwrap_err().is_cancelled());
    /// });
    /// ```
    #[inline]
    pub fn checkpoint(&self) -> Result<(), Cancelled> {
        if self.task.is_cancel_requested() {
            self.observe();
            return Err(Cancelled);
        }
        Ok(())
    }

    /// Whether the job was cancelled (the same test as [`checkpoint`](Self::checkpoint)).
    ///
    /// ```
    /// spindle::run(async {
    ///     let running = spindle::compute::spawn(|job| job.is_cancelled());
    ///     assert_eq!(running.await.unwrap(), false);
    /// });
    /// ```
    #[inline]
    pub fn is_cancelled(&self) -> bool {
        if self.task.is_cancel_requested() {
            self.observe();
            return true;
        }
        false
    }

    /// Where the job's cancellation stands, for a task group judging a child's result after
    /// its closure returned.
    pub(crate) fn cancellation(&self) -> Cancellation {
        Cancellation {
            requested: self.task.is_cancel_requested(),
            observed: self.shared.was_observed(),
        }
    }

    /// The closure saw its cancellation: remembered so that a task group counts an `Err` it
    /// returns afterwards as the cancellation, not as a failure.
    #[cold]
    #[inline(never)]
    fn observe(&self) {
        // Relaxed: read after the closure returned (see `JobShared::was_observed`).
        self.shared.observed.store(true, Ordering::Relaxed);
    }

    /// Sets how many units of work the job has in total (what [`advance`](Self::advance)
    /// counts towards); [`Progress::fraction`] needs it. `u64::MAX` means "unknown".
    ///
    /// ```
    /// spindle::run(async {
    ///     let handle = spindle::compute::spawn(|job| {
    ///         job.set_total(10);
    ///         job.advance(4);
    ///         job.progress()
    ///     });
    ///     assert_eq!(handle.await.unwrap().fraction(), Some(0.4));
    /// });
    /// ```
    pub fn set_total(&self, total: u64) {
        // SeqCst: see `JobShared::park`.
        self.shared.total.store(total, Ordering::SeqCst);
        self.shared.changed();
    }

    /// Counts `n` more units of work done. One atomic add on a counter shared by every clone
    /// (plus a load): fine per row, per tile or per simulation step; for work items of less
    /// than a microsecond, count a batch at a time. A watcher awaiting
    /// [`JobHandle::changed`](super::JobHandle::changed) is woken at most about once per
    /// 10 ms however often this is called.
    ///
    /// ```
    /// use rayon::prelude::*;
    ///
    /// spindle::run(async {
    ///     let handle = spindle::compute::spawn(|job| {
    ///         job.set_total(100);
    ///         (0..100u64).into_par_iter().for_each(|_| job.advance(1));
    ///         job.progress().done
    ///     });
    ///     assert_eq!(handle.await.unwrap(), 100);
    /// });
    /// ```
    #[inline]
    pub fn advance(&self, n: u64) {
        // SeqCst (a plain `lock xadd` on x86, as any RMW): see `JobShared::park`.
        self.shared.done.fetch_add(n, Ordering::SeqCst);
        self.shared.changed();
    }

    /// The progress reported so far.
    ///
    /// ```
    /// use spindle::compute::Progress;
    ///
    /// spindle::run(async {
    ///     let handle = spindle::compute::spawn(|job| {
    ///         job.advance(3);
    ///         job.progress()
    ///     });
    ///     assert_eq!(handle.await.unwrap(), Progress { done: 3, total: None });
    /// });
    /// ```
    pub fn progress(&self) -> Progress {
        self.shared.progress()
    }

    /// The id of the task running the closure (the same as its handle's).
    ///
    /// ```
    /// spindle::run(async {
    ///     let handle = spindle::compute::spawn(|job| job.id());
    ///     let id = handle.id();
    ///     assert_eq!(handle.await.unwrap(), id);
    /// });
    /// ```
    pub fn id(&self) -> Id {
        self.task.id()
    }
}

impl fmt::Debug for Job {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Job")
            .field("id", &self.task.id())
            .field("cancelled", &self.task.is_cancel_requested())
            .field("progress", &self.shared.progress())
            .finish()
    }
}

/// Where a job's cancellation stands ([`Job::cancellation`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Cancellation {
    /// The job was asked to stop (abort, its group stopping, runtime shutdown).
    pub(crate) requested: bool,
    /// A checkpoint of the job reported it to the closure.
    pub(crate) observed: bool,
}

/// The error of [`Job::checkpoint`] and [`compute::checkpoint`](super::checkpoint): the job was
/// cancelled and should stop. Return it (`?`) from the closure; a task-group blocking child
/// that returns an error after a checkpoint reported this counts as cancelled, not failed.
///
/// ```
/// use spindle::compute::Cancelled;
///
/// assert_eq!(Cancelled.to_string(), "the compute job was cancelled");
/// let io: std::io::Error = Cancelled.into();
/// assert_eq!(io.to_string(), "the compute job was cancelled");
/// assert!(io.get_ref().unwrap().is::<Cancelled>());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Cancelled;

impl fmt::Display for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the compute job was cancelled")
    }
}

impl std::error::Error for Cancelled {}

impl From<Cancelled> for std::io::Error {
    fn from(cancelled: Cancelled) -> std::io::Error {
        std::io::Error::other(cancelled)
    }
}

/// How far a job got: `done` units of work out of `total` (if the job set one).
///
/// ```
/// use spindle::compute::Progress;
///
/// let p = Progress { done: 25, total: Some(100) };
/// assert_eq!(p.fraction(), Some(0.25));
/// assert_eq!(Progress { done: 7, total: None }.fraction(), None);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Progress {
    /// Units of work done ([`Job::advance`]).
    pub done: u64,
    /// Units of work in total ([`Job::set_total`]), if known.
    pub total: Option<u64>,
}

impl Progress {
    /// `done / total`, at most 1.0; `None` without a total. A total of 0 counts as finished
    /// (1.0).
    ///
    /// ```
    /// use spindle::compute::Progress;
    ///
    /// assert_eq!(Progress { done: 150, total: Some(100) }.fraction(), Some(1.0));
    /// assert_eq!(Progress { done: 0, total: Some(0) }.fraction(), Some(1.0));
    /// ```
    pub fn fraction(&self) -> Option<f64> {
        let total = self.total?;
        if total == 0 {
            return Some(1.0);
        }
        Some((self.done as f64 / total as f64).min(1.0))
    }
}

impl fmt::Display for Progress {
    /// `done/total (pp.p %)`, or just `done` without a total.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.total, self.fraction()) {
            (Some(total), Some(fraction)) => {
                write!(f, "{}/{total} ({:.1} %)", self.done, fraction * 100.0)
            }
            _ => write!(f, "{}", self.done),
        }
    }
}

// ---- the job running on this thread ----

crate::loom::thread_local! {
    /// The job whose closure runs on this thread (borrowed from its task's poll, which keeps
    /// it alive until the guard restores the previous value).
    static CURRENT: Cell<*const Job> = const { Cell::new(ptr::null()) };
}

/// Restores the previous current job (closures nest: rayon may run another job's closure on
/// this thread while this one waits inside a parallel call).
pub(crate) struct EnterJob {
    prev: *const Job,
}

impl Drop for EnterJob {
    fn drop(&mut self) {
        let _ = CURRENT.try_with(|c| c.set(self.prev));
    }
}

/// Makes `job` the current job of this thread until the guard drops.
pub(crate) fn enter(job: &Job) -> EnterJob {
    EnterJob {
        prev: CURRENT.try_with(|c| c.replace(job)).unwrap_or(ptr::null()),
    }
}

/// Calls `f` with the job running on this thread, if any.
#[inline]
pub(crate) fn with_current<R>(f: impl FnOnce(&Job) -> R) -> Option<R> {
    let job = CURRENT.try_with(Cell::get).unwrap_or(ptr::null());
    // SAFETY: a non-null pointer was set by `enter` from a `Job` that lives on the stack of the
    // closure's poll until its guard restores the previous value; `f` runs before we return.
    unsafe { job.as_ref() }.map(f)
}
