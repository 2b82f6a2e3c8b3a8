//! `unblock`: blocking I/O on the runtime's blocking-I/O lane (`runtime/io_pool.rs`).
//!
//! The same task cell as `spawn_blocking` (a [`BlockingTask`] future), with a scheduler hook
//! that queues on the lane instead of on rayon. Jobs that `spindle::fs::File` hands over to
//! write buffered data are *mandatory*: they are not registered with the runtime (so shutdown
//! does not cancel them), the lane runs them even while shutting down, and once the lane is
//! closed they run inline on the calling thread, so written data is never silently dropped.

use super::BlockingTask;
use crate::loom::sync::StdArc;
use crate::runtime::{Handle, HandleInner, Runtime, context, no_runtime_panic, run_lane_job};
use crate::task::{JoinHandle, Meta, Notified, OwnedTasks, Schedule, TaskKind};

/// Runs the blocking call `f` on the current runtime's **blocking-I/O lane** and returns a
/// handle to its result: the tool for work that *waits* — file system calls, DNS lookups,
/// a blocking C library, a synchronous database driver. `spindle::fs` is built on it.
/// The `asyncio.to_thread` / `loop.run_in_executor(None, f)` of spindle.
///
/// The lane is an elastic thread pool, separate from the rayon compute pool behind
/// [`spawn_blocking`](crate::spawn_blocking): threads are started on demand, up to
/// [`Builder::max_io_threads`](crate::runtime::Builder::max_io_threads) (64 by default), and
/// exit after 10 s without work. So a hundred waiting calls do not hold up a numeric kernel,
/// and a kernel that keeps every core busy does not hold up a file read. Use
/// `spawn_blocking` for CPU work (it is bounded to the cores, and `par_iter` inside it shares
/// the pool); use `unblock` when the thread mostly sleeps in the kernel.
///
/// Inside `f`, [`spawn`](crate::spawn) and [`Handle::current`] work. A panic in `f` becomes
/// [`JoinError::is_panic`](crate::JoinError::is_panic); `abort()` before it starts means it
/// never runs (a started call cannot be interrupted: it runs to its end and its result is
/// dropped). Runtime shutdown cancels calls that have not started and waits for running
/// ones (bounded by [`Runtime::shutdown_timeout`]).
///
/// # Panics
/// Outside a runtime, with a message naming the ways in.
///
/// ```
/// let text = spindle::run(async {
///     let path = std::env::temp_dir().join(format!("unblock-doc-{}", std::process::id()));
///     spindle::unblock({
///         let path = path.clone();
///         move || std::fs::write(path, "written on the lane")
///     })
///     .await
///     .unwrap()
///     .unwrap();
///     let text = spindle::unblock(move || {
///         let text = std::fs::read_to_string(&path);
///         std::fs::remove_file(&path).unwrap();
///         text
///     });
///     text.await.unwrap().unwrap()
/// });
/// assert_eq!(text, "written on the lane");
/// ```
#[track_caller]
pub fn unblock<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    match context::current() {
        Some(handle) => handle.unblock_with(f, Meta::here()),
        None => no_runtime_panic("spindle::unblock"),
    }
}

impl Handle {
    /// Runs `f` on this runtime's blocking-I/O lane (see [`crate::unblock`]). After the runtime
    /// shut down, the closure never runs and the handle yields a cancelled error.
    ///
    /// ```
    /// let rt = spindle::runtime::Runtime::new().unwrap();
    /// let handle = rt.handle().clone();
    /// let task = handle.unblock(|| std::fs::metadata("/").map(|m| m.is_dir()));
    /// assert!(rt.block_on(task).unwrap().unwrap());
    /// ```
    #[track_caller]
    pub fn unblock<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.unblock_with(f, Meta::here())
    }

    /// [`Handle::unblock`] with explicit spawn-site information.
    pub(crate) fn unblock_with<F, R>(&self, f: F, meta: Meta) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let hook = LaneSchedule {
            handle: self.inner.clone(),
            mandatory: false,
        };
        let job = BlockingTask::new(move || run_lane_job(f));
        let (notified, join) = crate::task::new_task(job, hook.clone(), meta.kind(TaskKind::Io));
        self.inner.scheduler.count_spawn();
        if crate::task::register_unstarted(&notified) {
            hook.schedule(notified);
        } else {
            drop(notified); // the runtime is shut down: cancelled, never run
        }
        join
    }
}

impl Runtime {
    /// Runs `f` on this runtime's blocking-I/O lane (see [`crate::unblock`]).
    ///
    /// ```
    /// let rt = spindle::runtime::Runtime::new().unwrap();
    /// let task = rt.unblock(|| std::thread::current().name().map(String::from));
    /// let name = rt.block_on(task).unwrap().unwrap();
    /// assert!(name.starts_with("spindle-io-"), "{name}");
    /// ```
    #[track_caller]
    pub fn unblock<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.handle().unblock_with(f, Meta::here())
    }
}

/// Runs `f` on the lane of `handle`'s runtime even if that runtime starts shutting down before
/// it runs; once the lane is closed, `f` runs right here, on the calling thread. For work that
/// must not be lost (a file's buffered writes).
#[track_caller]
pub(crate) fn unblock_mandatory<F, R>(handle: &Handle, f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let hook = LaneSchedule {
        handle: handle.inner.clone(),
        mandatory: true,
    };
    // Not registered: the shutdown's registry drain must not cancel it.
    let job = BlockingTask::new(move || run_lane_job(f));
    let meta = Meta::here().kind(TaskKind::Io);
    let (notified, join) = crate::task::new_task(job, hook.clone(), meta);
    handle.inner.scheduler.count_spawn();
    hook.schedule(notified);
    join
}

/// The scheduler hook of lane tasks: "schedule" means "queue on the blocking-I/O lane".
#[derive(Clone)]
struct LaneSchedule {
    handle: StdArc<HandleInner>,
    mandatory: bool,
}

impl Schedule for LaneSchedule {
    fn schedule(&self, task: Notified) {
        if let Err(task) = self.handle.io.push(task, self.mandatory) {
            if self.mandatory {
                task.run(); // the lane is closed; the work must still happen
            } else {
                drop(task); // refused by a closed lane: the task is cancelled
            }
        }
    }

    fn owned_tasks(&self) -> &OwnedTasks {
        self.handle.scheduler.owned()
    }
}
