//! Synchronous work off the async workers, in two lanes:
//!
//! * [`spawn_blocking`]: CPU work on the runtime's bounded rayon compute pool (this file);
//! * [`unblock`]: blocking I/O on the runtime's elastic blocking-I/O lane (`unblock.rs`).
//!
//! Both are ordinary tasks (same cell, state machine and `JoinHandle`) whose future runs the
//! closure on its first and only poll, and whose scheduler hook hands the task to rayon or to
//! the lane instead of to the async workers. So abort-before-start, panics, shutdown and the
//! JoinHandle behave exactly as for async tasks. A `spawn_blocking` call is a compute job
//! without a handle to watch it (see `crate::compute::task` for its cell): the closure reaches
//! its job token through `spindle::compute::checkpoint()` / `current()`, so aborting the
//! JoinHandle or shutting the runtime down while it runs makes its checkpoints fail, and the
//! handle then yields a cancelled error once the closure returns.

mod unblock;

pub use unblock::unblock;
pub(crate) use unblock::unblock_mandatory;

use crate::runtime::{Handle, Runtime, context, no_runtime_panic};
use crate::task::{JoinHandle, Meta, TaskKind};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Runs `f` on the current runtime's compute pool (rayon, `compute_threads` threads) and returns
/// a handle to its result. Inside `f`, rayon's parallel iterators use that same pool, and
/// [`spawn`](crate::spawn) / [`Handle::current`] work. A panic in `f` becomes
/// [`JoinError::is_panic`](crate::JoinError::is_panic); `abort()` before it starts means it
/// never runs. The `asyncio.to_thread` of spindle, bounded for CPU work.
///
/// Unlike asyncio's `to_thread` and tokio's `spawn_blocking`, a running closure can be asked
/// to stop: after `abort()` (or a runtime shutdown) its
/// [`compute::checkpoint()`](crate::compute::checkpoint) fails, and the handle yields a
/// cancelled error once it returns (never its value). Dropping the `JoinHandle` detaches, as in
/// tokio; [`compute::spawn`](crate::compute::spawn) gives a handle that cancels when dropped and
/// reports progress.
///
/// For calls that *wait* rather than compute (files, name resolution, a blocking C library),
/// use [`unblock`] instead: a few such calls would otherwise occupy every compute thread and
/// queue the kernels behind them.
///
/// # Panics
/// Outside a runtime, with a message naming the ways in.
///
/// ```
/// use rayon::prelude::*;
/// let sum = spindle::run(async {
///     spindle::spawn_blocking(|| (0..1_000_000u64).into_par_iter().sum::<u64>()).await.unwrap()
/// });
/// assert_eq!(sum, 499_999_500_000);
/// ```
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    spawn_blocking_with(f, Meta::here())
}

/// [`spawn_blocking`] with explicit spawn-site information.
#[track_caller]
pub(crate) fn spawn_blocking_with<F, R>(f: F, meta: Meta) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    match context::current() {
        Some(handle) => handle.spawn_blocking_with(f, meta),
        None => no_runtime_panic("spindle::spawn_blocking"),
    }
}

impl Handle {
    /// Runs `f` on this runtime's compute pool (see [`crate::spawn_blocking`]). After the runtime
    /// shut down, the closure never runs and the handle yields a cancelled error.
    ///
    /// ```
    /// let rt = spindle::runtime::Runtime::new().unwrap();
    /// let task = rt.handle().spawn_blocking(|| 2 + 2);
    /// assert_eq!(rt.block_on(task).unwrap(), 4);
    /// ```
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.spawn_blocking_with(f, Meta::here())
    }

    /// [`Handle::spawn_blocking`] with explicit spawn-site information.
    pub(crate) fn spawn_blocking_with<F, R>(&self, f: F, meta: Meta) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let meta = meta.kind(TaskKind::Blocking);
        crate::compute::task::spawn_closure(self, move |_: &crate::compute::Job| f(), meta).0
    }
}

impl Runtime {
    /// Runs `f` on this runtime's compute pool (see [`crate::spawn_blocking`]).
    ///
    /// ```
    /// let rt = spindle::runtime::Runtime::new().unwrap();
    /// let task = rt.spawn_blocking(|| "done");
    /// assert_eq!(rt.block_on(task).unwrap(), "done");
    /// ```
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.handle().spawn_blocking_with(f, Meta::here())
    }
}

/// The closure as a future that completes on its first poll (the lane's task cell;
/// `spawn_blocking` uses `compute::task`'s, which also installs the job token).
pub(crate) struct BlockingTask<F> {
    f: Option<F>,
}

impl<F> BlockingTask<F> {
    pub(crate) fn new(f: F) -> BlockingTask<F> {
        BlockingTask { f: Some(f) }
    }
}

impl<F> Unpin for BlockingTask<F> {}

impl<F: FnOnce() -> R, R> Future for BlockingTask<F> {
    type Output = R;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<R> {
        let f = self.f.take().expect("a blocking task is polled once");
        Poll::Ready(f())
    }
}
