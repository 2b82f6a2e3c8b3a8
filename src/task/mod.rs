//! Tasks: spawning, joining, aborting, the cooperative budget.
//!
//! This is the public `spindle::task` module: [`spawn`], [`spawn_blocking`], [`yield_now`],
//! [`JoinHandle`], [`AbortHandle`], [`JoinError`], and the cooperative budget
//! ([`consume_budget`], [`unconstrained`]).
//!
//! ```
//! spindle::run(async {
//!     let handle = spindle::task::spawn(async { 6 * 7 });
//!     assert_eq!(handle.await.unwrap(), 42);
//! });
//! ```
//!
//! Inside, the folder is the core's task cell. A spawned future lives in one heap cell (`raw`)
//! whose atomic state word (`state`) decides, transition by transition, who may poll it, who
//! may read its output and when it is freed. The task knows its scheduler only through the
//! `Schedule` trait: a wake turns into `Schedule::schedule(Notified)` and nothing more.
//! `JoinHandle` / `AbortHandle` are the spawner's side; `OwnedTasks` lets a runtime find every
//! live task at shutdown; `coop` is the per-poll budget. The spawn functions re-exported here
//! live in `runtime/` and `blocking/`, above the core.
//!
//! Follow a task: `spawn` → `RawTask::new` (state SCHEDULED, 2 refs) → `Schedule::schedule` →
//! a worker pops the `Notified` and calls `run` → poll → `Ready`: output stored, JoinHandle woken,
//! cell freed when the last reference goes; `Pending`: registered in `OwnedTasks`, idle until a
//! waker calls `schedule` again.

pub(crate) mod coop;
mod error;
mod id;
pub(crate) mod info;
mod join;
pub(crate) mod local;
pub(crate) mod owned;
pub(crate) mod raw;
pub(crate) mod state;
mod trace;

pub use crate::blocking::spawn_blocking;
pub use crate::group::JoinSet;
pub use crate::runtime::spawn;
pub use crate::runtime::task_builder::Builder;
pub use coop::{Unconstrained, consume_budget, unconstrained};
pub use error::JoinError;
pub use id::Id;
pub(crate) use info::TaskKind;
pub use join::{AbortHandle, JoinHandle};
pub use local::{AccessError, LocalKey, TaskLocalFuture};
pub(crate) use owned::OwnedTasks;
pub(crate) use raw::Meta;
use raw::RawTask;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The scheduler hook stored in every task cell.
pub(crate) trait Schedule: Send + Sync + 'static {
    /// A woken (or newly spawned) task is ready to run.
    fn schedule(&self, task: Notified);
    /// The task was woken while it was being polled (e.g. `yield_now`): queue it behind the work
    /// that is already ready.
    fn yield_now(&self, task: Notified) {
        self.schedule(task);
    }
    /// The registry that shutdown drains.
    fn owned_tasks(&self) -> &OwnedTasks;
    /// The task's future is gone (completed, cancelled or panicked): for the metrics.
    fn task_completed(&self) {}
}

/// A task that is ready to run: owns one reference and the task's SCHEDULED flag.
/// Dropping it without running it cancels the task, so a notification can never be lost silently.
#[must_use = "dropping a Notified cancels its task"]
pub(crate) struct Notified {
    raw: RawTask,
}

impl Notified {
    pub(crate) fn from_raw(raw: RawTask) -> Notified {
        Notified { raw }
    }

    /// Polls the task once (or cancels it, if that was requested).
    pub(crate) fn run(self) {
        let raw = self.raw;
        std::mem::forget(self);
        raw.run();
    }

    #[cfg(test)]
    pub(crate) fn raw(&self) -> RawTask {
        self.raw
    }

    /// Counts a poll that starts now (see `info::record_poll`).
    #[inline]
    pub(crate) fn record_poll(&self, now_ms: u32) {
        info::record_poll(self.raw.header(), now_ms);
    }

    /// The task's id and spawn location (for the scheduler's slow-poll report and its view of
    /// the poll in progress).
    #[inline]
    pub(crate) fn identity(&self) -> (Id, &'static std::panic::Location<'static>) {
        let header = self.raw.header();
        (header.id, header.spawned_at)
    }

    /// The task's name (a shared reference, for a slow-poll report).
    pub(crate) fn name(&self) -> Option<std::sync::Arc<str>> {
        self.raw.header().name.clone()
    }

    /// Gives up ownership as a pointer (for a slot that hands tasks between threads).
    pub(crate) fn into_raw(self) -> std::ptr::NonNull<()> {
        let raw = self.raw;
        std::mem::forget(self);
        raw.as_ptr()
    }

    /// # Safety
    /// `ptr` must come from [`into_raw`](Self::into_raw) and be used once.
    pub(crate) unsafe fn from_raw_ptr(ptr: std::ptr::NonNull<()>) -> Notified {
        // SAFETY: forwarded contract: the pointer carries the ownership `into_raw` gave up.
        Notified {
            raw: unsafe { RawTask::from_ptr(ptr) },
        }
    }

    /// For a scheduler that has shut down. A registered task keeps its future until the
    /// registry drain cancels it, on the shutting-down thread; dropping the future here could
    /// run user destructors inside `Waker::wake`. An unregistered task (a fresh spawn) is
    /// cancelled now.
    pub(crate) fn discard_after_shutdown(self) {
        if self.raw.is_registered() {
            let raw = self.raw;
            std::mem::forget(self);
            raw.ref_dec();
        } else {
            drop(self);
        }
    }
}

impl Drop for Notified {
    fn drop(&mut self) {
        self.raw.shutdown();
        self.raw.ref_dec();
    }
}

impl std::fmt::Debug for Notified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notified")
            .field("state", &self.raw.state().load())
            .finish()
    }
}

/// Creates a task for `future` owned by `scheduler`; the caller must pass the `Notified` to the
/// scheduler (or drop it to cancel the task).
pub(crate) fn new_task<F, S>(
    future: F,
    scheduler: S,
    meta: Meta,
) -> (Notified, JoinHandle<F::Output>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    let raw = RawTask::new(future, scheduler, meta);
    (Notified { raw }, JoinHandle::new(raw))
}

/// Registers a task that is not yet shared (a blocking task waiting in the compute pool's queue)
/// so that shutdown can cancel it before it starts. False if the runtime is already closed.
pub(crate) fn register_unstarted(task: &Notified) -> bool {
    task.raw.owned_tasks().insert(task.raw)
}

/// Cancels every registered task: the runtime's last step of shutdown.
pub(crate) fn shutdown_all(owned: &OwnedTasks) {
    for task in owned.close_and_drain() {
        task.shutdown();
        task.ref_dec();
    }
}

/// The id of the task this is called from (an async task, or a `spawn_blocking` job).
///
/// # Panics
/// Outside a task (e.g. directly in `block_on`'s future, which is not a task); use [`try_id`].
///
/// ```
/// spindle::run(async {
///     let handle = spindle::spawn(async { spindle::task::id() });
///     assert_eq!(handle.id(), handle.await.unwrap());
/// });
/// ```
#[track_caller]
pub fn id() -> Id {
    match try_id() {
        Some(id) => id,
        None => panic!(
            "spindle::task::id() was called outside a task; use spindle::task::try_id() where \
             that can happen (block_on's own future is not a task)"
        ),
    }
}

/// The id of the task this is called from, or `None` outside a task.
///
/// ```
/// assert_eq!(spindle::task::try_id(), None);
/// spindle::run(async {
///     let inner = spindle::spawn(async { spindle::task::try_id() });
///     assert!(inner.await.unwrap().is_some());
/// });
/// ```
pub fn try_id() -> Option<Id> {
    local::current_task()
}

/// Yields once: the task goes behind every task that is already ready, then continues.
///
/// ```
/// spindle::run(async {
///     let handle = spindle::spawn(async { 1 });
///     while !handle.is_finished() {
///         spindle::yield_now().await; // lets the spawned task run
///     }
/// });
/// ```
pub async fn yield_now() {
    YieldNow { yielded: false }.await
}

struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        // A self-wake while running: the task's poller re-queues it through
        // `Schedule::yield_now`, at the back of the queue.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[cfg(all(test, not(loom)))]
mod tests;
