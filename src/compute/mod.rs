//! Offloaded work you can cancel and watch: compute jobs on the runtime's rayon pool.
//!
//! [`spawn`] runs a closure on the compute pool (like [`spawn_blocking`](crate::spawn_blocking))
//! and hands it a [`Job`]; the [`JobHandle`] it returns is a future of the result that can also
//! cancel the job and watch its progress:
//!
//! ```
//! use rayon::prelude::*;
//! use spindle::compute::{self, Cancelled, ParallelIteratorExt};
//!
//! spindle::run(async {
//!     let mut handle = compute::spawn(|job| -> Result<f64, Cancelled> {
//!         let n = 2_000u64;
//!         job.set_total(n);
//!         let sum: f64 = (0..n)
//!             .into_par_iter()
//!             .cancel_with(job) // stops early if the job is cancelled
//!             .map(|i| {
//!                 let x = (i as f64 + 0.5) / n as f64;
//!                 job.advance(1);
//!                 4.0 / (1.0 + x * x)
//!             })
//!             .sum();
//!         job.checkpoint()?; // a cancelled iterator's sum is partial: never return it
//!         Ok(sum / n as f64)
//!     });
//!     // The async side watches (at most one wake per ~10 ms, however often `advance` runs).
//!     while let Some(progress) = handle.changed().await {
//!         println!("pi: {progress}");
//!     }
//!     let pi = handle.await.unwrap().unwrap();
//!     assert!((pi - std::f64::consts::PI).abs() < 1e-6);
//! });
//! ```
//!
//! # Cancellation
//!
//! A running closure cannot be interrupted, only asked to stop. It is asked when
//!
//! * its handle is [aborted](JobHandle::abort) or **dropped** (so `timeout(d, handle)` and a
//!   `select!` that drops the handle stop the kernel; [`JobHandle::detach`] opts out),
//! * for a [`spawn_blocking`](crate::spawn_blocking) closure: its `JoinHandle` is aborted
//!   (dropping a `JoinHandle` detaches, as in tokio),
//! * for a task-group [`spawn_blocking`](crate::TaskGroup::spawn_blocking) child: a sibling
//!   fails, the group is cancelled, or the `task_group` future is dropped,
//! * its runtime shuts down (shutdown then waits for the closure to return, up to
//!   `shutdown_timeout`).
//!
//! The closure learns it through [`Job::checkpoint`] / [`Job::is_cancelled`] (one relaxed load
//! of the task's state word: put them in inner loops), through the free functions
//! [`checkpoint`] / [`current`] (which find the job running on this thread, so plain
//! `spawn_blocking` closures and group children reach the same token), or through
//! [`ParallelIteratorExt::cancel_with`] for rayon iterators. Once cancelled, a job's handle
//! yields a cancelled [`JoinError`](crate::JoinError) when the closure returns, never the value it
//! computed; a job aborted before it started never runs. A task-group child that returns an
//! `Err` after one of its checkpoints reported the cancellation counts as cancelled, not as a
//! failure (an `Err` it returns without having looked is still its own error, as an asyncio
//! task that catches `CancelledError` and raises something else).
//!
//! This is what the peers lack: asyncio's `to_thread` / `run_in_executor` keep running after
//! the awaiting task is cancelled (CPython #107505), so do anyio's `to_thread.run_sync` and
//! tokio's `spawn_blocking`, and rayon has no way to stop a started job. See
//! `docs/asyncio.md` for the side-by-side.
//!
//! Inside rayon's parallel iterator closures, which run on other pool threads (possibly while
//! those threads wait inside *another* job), the free functions do not know the job: use a
//! `Job` (it is `Clone + Send + Sync`) or `cancel_with` there.
//!
//! # Progress
//!
//! [`Job::set_total`] and [`Job::advance`] report progress; [`JobHandle::progress`] reads it and
//! [`JobHandle::changed`] awaits the next change — no polling loop, wakes coalesced to about one
//! per 10 ms however fast the job advances, the final value always delivered, then `None`.

mod deferral;
mod handle;
mod job;
mod par;
pub(crate) mod task;

pub use handle::JobHandle;
pub use job::{Cancelled, Job, Progress};
pub use par::{CancelWith, ParallelIteratorExt};

pub(crate) use job::with_current as with_current_job;

use crate::runtime::{Handle, context, no_runtime_panic};
use crate::task::{Meta, TaskKind};
use deferral::Deferral;

/// Runs `f` on the current runtime's compute pool (rayon, `compute_threads` threads) with a
/// [`Job`] token, and returns a [`JobHandle`] to await, watch or cancel it. Inside `f`, rayon's
/// parallel iterators use that same pool, and [`spawn`](crate::spawn) /
/// [`Handle::current`] work. A panic in `f` becomes
/// [`JoinError::is_panic`](crate::JoinError::is_panic).
///
/// **Dropping the handle cancels the job** (see [`JobHandle`]).
///
/// # Panics
/// Outside a runtime, with a message naming the ways in.
///
/// ```
/// use spindle::compute::{self, Cancelled};
/// use std::time::Duration;
///
/// spindle::run(async {
///     let kernel = compute::spawn(|job| -> Result<u64, Cancelled> {
///         let mut steps = 0;
///         loop {
///             job.checkpoint()?; // fails once the timeout below dropped the handle
///             std::thread::sleep(Duration::from_millis(1));
///             steps += 1;
///         }
///     });
///     let out = spindle::time::timeout(Duration::from_millis(30), kernel).await;
///     assert!(out.is_err(), "timed out; the dropped handle cancelled the kernel");
/// });
/// ```
#[track_caller]
pub fn spawn<F, R>(f: F) -> JobHandle<R>
where
    F: FnOnce(&Job) -> R + Send + 'static,
    R: Send + 'static,
{
    let meta = Meta::here().kind(TaskKind::Compute);
    match context::current() {
        Some(handle) => spawn_on(&handle, f, meta),
        None => no_runtime_panic("spindle::compute::spawn"),
    }
}

/// [`spawn`] on a given runtime.
pub(crate) fn spawn_on<F, R>(handle: &Handle, f: F, meta: Meta) -> JobHandle<R>
where
    F: FnOnce(&Job) -> R + Send + 'static,
    R: Send + 'static,
{
    let (join, shared) = task::spawn_closure(handle, f, meta);
    let reactor = handle.inner.scheduler.reactor().clone();
    JobHandle::new(join, shared, Some(Deferral::new(reactor)))
}

/// `Err(Cancelled)` if the compute job running on this thread was cancelled, else `Ok(())`;
/// always `Ok(())` outside a job. The job is the one of the [`spawn`] closure, the
/// [`spawn_blocking`](crate::spawn_blocking) closure or the task-group blocking child that this
/// thread is running, so plain blocking code can be made cancellable without passing a
/// [`Job`] around. In rayon parallel-iterator closures (other threads), use a `Job` instead.
///
/// ```
/// use std::time::Duration;
///
/// spindle::run(async {
///     let blocking = spindle::spawn_blocking(|| -> Result<(), spindle::compute::Cancelled> {
///         loop {
///             spindle::compute::checkpoint()?;
///             std::thread::sleep(Duration::from_millis(1));
///         }
///     });
///     spindle::time::sleep(Duration::from_millis(10)).await;
///     blocking.abort();
///     assert!(blocking.await.unwrap_err().is_cancelled());
///     assert_eq!(spindle::compute::checkpoint(), Ok(())); // not in a job here
/// });
/// ```
#[inline]
pub fn checkpoint() -> Result<(), Cancelled> {
    with_current_job(Job::checkpoint).unwrap_or(Ok(()))
}

/// The [`Job`] running on this thread (a [`spawn`] closure, a
/// [`spawn_blocking`](crate::spawn_blocking) closure or a task-group blocking child), or
/// `None` outside a job. Clone it into rayon closures, report progress with it.
///
/// ```
/// spindle::run(async {
///     assert!(spindle::compute::current().is_none());
///     let id = spindle::spawn_blocking(|| {
///         let job = spindle::compute::current().expect("a blocking closure is a job");
///         assert!(!job.is_cancelled());
///         job.id()
///     });
///     let expected = id.id();
///     assert_eq!(id.await.unwrap(), expected);
/// });
/// ```
pub fn current() -> Option<Job> {
    with_current_job(Job::clone)
}
