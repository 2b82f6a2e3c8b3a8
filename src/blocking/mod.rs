//! `spawn_blocking`: synchronous work on the runtime's rayon compute pool.
//!
//! A blocking call is a compute job without a handle to watch it (see `crate::compute::task`
//! for the task cell behind both): an ordinary task whose future runs the closure on its only
//! poll, scheduled onto rayon. So abort-before-start, panics, shutdown and the JoinHandle
//! behave exactly as for async tasks, and the closure can reach its job token through
//! `spindle::compute::checkpoint()` / `current()`: aborting the JoinHandle or shutting the
//! runtime down while it runs makes its checkpoints fail, and the handle then yields a
//! cancelled error once the closure returns.

use crate::runtime::{Handle, Runtime, context, no_runtime_panic};
use crate::task::{JoinHandle, Meta, TaskKind};

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
