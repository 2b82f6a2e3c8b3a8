//! The runtime: builds the reactor, the scheduler and its worker threads, the rayon compute
//! pool and the blocking-I/O lane; owns their lifetime; and offers `block_on` to enter async
//! code from sync code.
//!
//! * `context.rs`: the thread-local "current runtime" behind `spawn`, `Handle::current` and the
//!   reactor lookups of sleeps and sockets.
//! * `block_on.rs`: polling a future on the calling thread and parking it between wakes.
//! * `compute.rs`: the rayon pool that `spawn_blocking` feeds (see `crate::blocking`).
//! * `io_pool.rs`: the elastic blocking-I/O lane that `unblock` and `spindle::fs` feed.
//!
//! Shutdown (drop, [`Runtime::shutdown_timeout`], or the end of [`run`]) goes: refuse new work
//! and wake every waiter → workers cancel what is in their queues and exit → cancel what is in
//! the injector and every idle task in the registry (queued `spawn_blocking` and `unblock`
//! jobs included: they never run) → stop the compute pool and wait for its running closures →
//! stop the blocking-I/O lane (file writes already handed to it still run) and wait for its
//! running jobs. Both waits share the `shutdown_timeout` deadline (none for drop); threads still
//! busy after it are left to finish on their own. Every future is dropped exactly once, with
//! this runtime as the current context, so destructors may spawn (they get a cancelled handle)
//! or wake (a no-op) without deadlock.

mod block_on;
mod compute;
pub(crate) mod context;
mod io_pool;
pub(crate) mod task_builder;

use crate::loom::sync::{Condvar, Mutex, StdArc};
pub use crate::metrics::{Dump, RuntimeMetrics, TaskInfo, TaskState, WaitsOn};
use crate::reactor::Reactor;
pub use crate::scheduler::SlowPoll;
use crate::scheduler::{Scheduler, SlowPollHook};
use crate::task::{JoinHandle, Meta};
use compute::ComputePool;
use io_pool::IoPool;
pub(crate) use io_pool::run_lane_job;
use std::fmt;
use std::future::Future;
use std::io;
use std::marker::PhantomData;
use std::time::{Duration, Instant};

/// Builds a [`Runtime`] with custom settings.
///
/// ```
/// let rt = spindle::runtime::Builder::new()
///     .worker_threads(2)
///     .compute_threads(2)
///     .thread_name("my-app")
///     .build()
///     .unwrap();
/// assert_eq!(rt.block_on(async { 1 + 1 }), 2);
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    worker_threads: usize,
    compute_threads: usize,
    thread_name: String,
    max_io_threads: usize,
    io_keep_alive: Duration,
    slow_poll: Option<SlowPollHook>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// Defaults: `num_cpus::get()` workers and compute threads, threads named `spindle`.
    ///
    /// ```
    /// let rt = spindle::runtime::Builder::new().build().unwrap();
    /// rt.block_on(async {});
    /// ```
    pub fn new() -> Builder {
        Builder {
            worker_threads: num_cpus::get(),
            compute_threads: num_cpus::get(),
            thread_name: "spindle".into(),
            max_io_threads: io_pool::DEFAULT_MAX_THREADS,
            io_keep_alive: io_pool::DEFAULT_KEEP_ALIVE,
            slow_poll: None,
        }
    }

    /// The number of async worker threads (at least 1).
    ///
    /// ```
    /// let rt = spindle::runtime::Builder::new().worker_threads(1).build().unwrap();
    /// rt.block_on(async {});
    /// ```
    pub fn worker_threads(mut self, count: usize) -> Builder {
        self.worker_threads = count;
        self
    }

    /// The number of threads in the rayon pool behind `spawn_blocking` (at least 1).
    ///
    /// ```
    /// let rt = spindle::runtime::Builder::new().compute_threads(1).build().unwrap();
    /// assert_eq!(rt.block_on(rt.spawn_blocking(|| 7)).unwrap(), 7);
    /// ```
    pub fn compute_threads(mut self, count: usize) -> Builder {
        self.compute_threads = count;
        self
    }

    /// The most threads the blocking-I/O lane behind [`unblock`](crate::unblock) and
    /// `spindle::fs` may run at once (at least 1; default 64). Lane threads are started only
    /// when a job finds no idle one, and exit after [`io_thread_keep_alive`](Self::io_thread_keep_alive)
    /// without work; jobs beyond the cap wait in a queue.
    ///
    /// ```
    /// let rt = spindle::runtime::Builder::new().max_io_threads(4).build().unwrap();
    /// assert_eq!(rt.block_on(rt.unblock(|| 7)).unwrap(), 7);
    /// ```
    pub fn max_io_threads(mut self, count: usize) -> Builder {
        self.max_io_threads = count;
        self
    }

    /// How long an idle blocking-I/O lane thread waits for a job before it exits (default
    /// 10 s; tokio's `thread_keep_alive`).
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = spindle::runtime::Builder::new()
    ///     .io_thread_keep_alive(Duration::from_millis(100))
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(rt.block_on(rt.unblock(|| 7)).unwrap(), 7);
    /// ```
    pub fn io_thread_keep_alive(mut self, keep_alive: Duration) -> Builder {
        self.io_keep_alive = keep_alive;
        self
    }

    /// The prefix of the runtime's thread names (`NAME-worker-0`, `NAME-compute-0`,
    /// `NAME-io-0`, …).
    ///
    /// ```
    /// let rt = spindle::runtime::Builder::new().thread_name("app").build().unwrap();
    /// let name = rt.block_on(rt.spawn(async { std::thread::current().name().unwrap().to_string() }));
    /// assert!(name.unwrap().starts_with("app-worker-"));
    /// ```
    pub fn thread_name(mut self, name: impl Into<String>) -> Builder {
        self.thread_name = name.into();
        self
    }

    /// Calls `callback` on the worker thread, right after the poll, whenever one poll of a
    /// task held its worker for `threshold` or longer: the report names the task (id, name,
    /// spawn location) and the duration. This is how a blocking call hidden in async code is
    /// found. Polls are timed only when a callback is set (two clock reads per poll); a panic in
    /// the callback is caught and ignored.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let rt = spindle::runtime::Builder::new()
    ///     .on_slow_poll(Duration::from_millis(100), |slow| eprintln!("slow poll: {slow}"))
    ///     .build()
    ///     .unwrap();
    /// rt.block_on(async {});
    /// ```
    pub fn on_slow_poll<F>(mut self, threshold: Duration, callback: F) -> Builder
    where
        F: Fn(&SlowPoll) + Send + Sync + 'static,
    {
        self.slow_poll = Some(SlowPollHook {
            threshold,
            callback: std::sync::Arc::new(callback),
        });
        self
    }

    /// Starts the runtime. A thread count of 0 or above [`MAX_THREADS`], or a thread name
    /// containing a NUL byte, is an `InvalidInput` error (nothing is started).
    ///
    /// ```
    /// let err = spindle::runtime::Builder::new().worker_threads(0).build().unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    /// ```
    pub fn build(self) -> io::Result<Runtime> {
        self.validate()?;
        let reactor = crate::loom::sync::Arc::new(Reactor::with_workers(self.worker_threads)?);
        let (scheduler, launchers) =
            Scheduler::new(self.worker_threads, reactor, self.slow_poll.clone());
        let exits = StdArc::new(ThreadExits::default());

        let mut pool_error = None;
        let inner = StdArc::new_cyclic(|weak| {
            let compute = ComputePool::new(self.compute_threads, &self.thread_name, weak.clone())
                .map_err(|e| pool_error = Some(e))
                .ok();
            let io = IoPool::new(
                self.max_io_threads,
                self.io_keep_alive,
                &self.thread_name,
                weak.clone(),
            );
            HandleInner {
                scheduler: scheduler.clone(),
                compute,
                io,
            }
        });
        let handle = Handle { inner };
        if let Some(error) = pool_error {
            handle.inner.scheduler.begin_shutdown();
            return Err(error);
        }

        let mut runtime = Runtime {
            handle,
            threads: Vec::new(),
            exits,
        };
        for (index, launcher) in launchers.into_iter().enumerate() {
            let handle = runtime.handle.clone();
            let exits = runtime.exits.clone();
            exits.started();
            let spawned = std::thread::Builder::new()
                .name(format!("{}-worker-{index}", self.thread_name))
                .spawn(move || {
                    let _exit = ExitNotice(exits);
                    let _context = context::enter(handle);
                    launcher.run();
                });
            match spawned {
                Ok(thread) => runtime.threads.push(thread),
                Err(error) => {
                    runtime.exits.exited();
                    return Err(error); // dropping `runtime` shuts down what started
                }
            }
        }
        runtime.spawn_watchdog(&self.thread_name)?;
        Ok(runtime)
    }
}

impl Builder {
    /// Every setting checked up front, so that `build` reports bad input as `InvalidInput`
    /// instead of panicking halfway through starting threads.
    fn validate(&self) -> io::Result<()> {
        let invalid = |message: String| Err(io::Error::new(io::ErrorKind::InvalidInput, message));
        for (name, count) in [
            ("worker_threads", self.worker_threads),
            ("compute_threads", self.compute_threads),
            ("max_io_threads", self.max_io_threads),
        ] {
            if count == 0 {
                return invalid(format!("{name} must be at least 1"));
            }
            if count > MAX_THREADS {
                return invalid(format!(
                    "{name} is {count}, more than the maximum of {MAX_THREADS}"
                ));
            }
        }
        if self.thread_name.contains('\0') {
            return invalid(format!(
                "thread_name {:?} contains a NUL byte, which thread names cannot hold",
                self.thread_name
            ));
        }
        Ok(())
    }
}

/// The most worker, compute or blocking-I/O threads a runtime accepts (the idle accounting packs
/// counts into 16 bits; far more threads than any machine has cores).
pub const MAX_THREADS: usize = 32_767;

/// A spindle runtime: worker threads running async tasks, a reactor for timers and sockets, and
/// a rayon pool for compute. Dropping it cancels every task and joins its threads.
///
/// ```
/// let rt = spindle::runtime::Runtime::new().unwrap();
/// let handle = rt.spawn(async { "hello" });
/// assert_eq!(rt.block_on(handle).unwrap(), "hello");
/// ```
pub struct Runtime {
    handle: Handle,
    threads: Vec<std::thread::JoinHandle<()>>,
    exits: StdArc<ThreadExits>,
}

impl Runtime {
    /// A runtime with `num_cpus::get()` workers and compute threads.
    ///
    /// ```
    /// let rt = spindle::runtime::Runtime::new().unwrap();
    /// assert_eq!(rt.block_on(async { 40 + 2 }), 42);
    /// ```
    pub fn new() -> io::Result<Runtime> {
        Builder::new().build()
    }

    /// Same as [`Builder::new`].
    ///
    /// ```
    /// let rt = spindle::runtime::Runtime::builder().worker_threads(1).build().unwrap();
    /// rt.block_on(async {});
    /// ```
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// Runs `future` to completion on the calling thread, with this runtime as the context
    /// (so `spawn`, sleeps and sockets work inside). The future need not be `Send` or `'static`.
    ///
    /// # Panics
    /// Inside a runtime thread (a worker, or another `block_on`): that would deadlock.
    ///
    /// ```
    /// let rt = spindle::runtime::Runtime::new().unwrap();
    /// let local = String::from("borrowed");
    /// let len = rt.block_on(async { local.len() });
    /// assert_eq!(len, 8);
    /// ```
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.handle.block_on(future)
    }

    /// Spawns a task on this runtime (see [`crate::spawn`]).
    ///
    /// ```
    /// let rt = spindle::runtime::Runtime::new().unwrap();
    /// let task = rt.spawn(async { 5 });
    /// assert_eq!(rt.block_on(task).unwrap(), 5);
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn_with(future, Meta::here())
    }

    /// This runtime's handle.
    ///
    /// ```
    /// let rt = spindle::runtime::Runtime::new().unwrap();
    /// let handle = rt.handle().clone();
    /// std::thread::spawn(move || handle.block_on(async { 1 })).join().unwrap();
    /// ```
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Shuts down, waiting at most `timeout` for worker, compute and blocking-I/O threads to
    /// finish their current poll or closure (threads still busy after that are left to exit on
    /// their own).
    ///
    /// ```
    /// let rt = spindle::runtime::Runtime::new().unwrap();
    /// rt.spawn(std::future::pending::<()>());
    /// rt.shutdown_timeout(std::time::Duration::from_secs(1));
    /// ```
    pub fn shutdown_timeout(mut self, timeout: Duration) {
        self.shutdown(Some(timeout));
    }

    /// Starts the scheduler's watchdog thread (see `scheduler/watchdog.rs`).
    fn spawn_watchdog(&mut self, name: &str) -> io::Result<()> {
        #[cfg(not(loom))]
        {
            let scheduler = self.handle.inner.scheduler.clone();
            let exits = self.exits.clone();
            exits.started();
            let spawned = std::thread::Builder::new()
                .name(format!("{name}-watchdog"))
                .spawn(move || {
                    let _exit = ExitNotice(exits);
                    scheduler.run_watchdog();
                });
            match spawned {
                Ok(thread) => self.threads.push(thread),
                Err(error) => {
                    self.exits.exited();
                    return Err(error);
                }
            }
        }
        #[cfg(loom)]
        let _ = name;
        Ok(())
    }

    fn shutdown(&mut self, timeout: Option<Duration>) {
        let scheduler = &self.handle.inner.scheduler;
        if !scheduler.begin_shutdown() {
            return;
        }
        let deadline = timeout.map(|t| Instant::now().checked_add(t).unwrap_or_else(far_future));
        // Futures dropped below see this runtime as current, so `spawn` in a destructor gets a
        // cancelled handle instead of a "no runtime" panic.
        let _context = context::enter(self.handle.clone());

        // A worker dropping its own runtime cannot wait for itself (a worker of *another*
        // runtime can, and must: the tasks' futures are dropped before this returns).
        let waited = !scheduler.is_current_worker() && self.exits.wait_until_none(deadline);
        if waited {
            for thread in self.threads.drain(..) {
                // Worker loops catch task panics, so a join error would be a spindle bug; the
                // thread is gone either way.
                let _ = thread.join();
            }
        } else {
            self.threads.clear(); // detach the stragglers
        }
        scheduler.finish_shutdown();
        if let Some(compute) = &self.handle.inner.compute {
            compute.shutdown(deadline);
        }
        self.handle.inner.io.shutdown(deadline);
    }
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365 * 30)
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.shutdown(None);
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("workers", &self.threads.len())
            .finish_non_exhaustive()
    }
}

/// Counts live runtime threads so shutdown can wait for them with a deadline.
#[derive(Default)]
pub(crate) struct ThreadExits {
    live: Mutex<usize>,
    changed: Condvar,
}

impl ThreadExits {
    pub(crate) fn started(&self) {
        *crate::loom::lock(&self.live) += 1;
    }

    pub(crate) fn exited(&self) {
        *crate::loom::lock(&self.live) -= 1;
        self.changed.notify_all();
    }

    /// Waits until no thread is live; false if the deadline passed first.
    pub(crate) fn wait_until_none(&self, deadline: Option<Instant>) -> bool {
        let mut live = crate::loom::lock(&self.live);
        while *live > 0 {
            match deadline {
                None => live = self.changed.wait(live).unwrap_or_else(|p| p.into_inner()),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return false;
                    }
                    live = self
                        .changed
                        .wait_timeout(live, deadline - now)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
            }
        }
        true
    }
}

struct ExitNotice(StdArc<ThreadExits>);

impl Drop for ExitNotice {
    fn drop(&mut self) {
        self.0.exited();
    }
}

/// A cheap, cloneable reference to a runtime, usable from any thread.
///
/// ```
/// let rt = spindle::runtime::Runtime::new().unwrap();
/// let handle = rt.handle().clone();
/// let out = std::thread::spawn(move || {
///     let task = handle.spawn(async { 3 });
///     handle.block_on(task).unwrap()
/// })
/// .join()
/// .unwrap();
/// assert_eq!(out, 3);
/// ```
#[derive(Clone)]
pub struct Handle {
    pub(crate) inner: StdArc<HandleInner>,
}

pub(crate) struct HandleInner {
    pub(crate) scheduler: Scheduler,
    pub(crate) compute: Option<ComputePool>,
    pub(crate) io: IoPool,
}

impl Handle {
    /// The handle of the runtime this thread is in.
    ///
    /// # Panics
    /// Outside a runtime, with a message naming the ways in.
    ///
    /// ```
    /// spindle::run(async {
    ///     let handle = spindle::runtime::Handle::current();
    ///     handle.spawn(async {}).await.unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn current() -> Handle {
        // A `match`, not `unwrap_or_else`: a closure would lose `#[track_caller]` and the panic
        // would point into spindle instead of at the caller's line.
        match Handle::try_current() {
            Some(handle) => handle,
            None => no_runtime_panic("Handle::current()"),
        }
    }

    /// The handle of the runtime this thread is in, or `None`.
    ///
    /// ```
    /// assert!(spindle::runtime::Handle::try_current().is_none());
    /// spindle::run(async { assert!(spindle::runtime::Handle::try_current().is_some()) });
    /// ```
    pub fn try_current() -> Option<Handle> {
        context::current()
    }

    /// Spawns a task on this runtime. After the runtime shut down, the task is cancelled at
    /// once (its future dropped unpolled) and the handle yields a cancelled [`JoinError`].
    ///
    /// [`JoinError`]: crate::JoinError
    ///
    /// ```
    /// let rt = spindle::runtime::Runtime::new().unwrap();
    /// let handle = rt.handle().clone();
    /// drop(rt);
    /// let task = handle.spawn(async { 1 });
    /// let err = spindle::runtime::Runtime::new().unwrap().block_on(task).unwrap_err();
    /// assert!(err.is_cancelled());
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_with(future, Meta::here())
    }

    /// Spawns with explicit spawn-site information (task builder, groups, sets).
    pub(crate) fn spawn_with<F>(&self, future: F, meta: Meta) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.inner.scheduler.spawn(future, meta)
    }

    /// Runs `future` to completion on the calling thread (see [`Runtime::block_on`]).
    ///
    /// ```
    /// let rt = spindle::runtime::Runtime::new().unwrap();
    /// assert_eq!(rt.handle().block_on(async { 9 }), 9);
    /// ```
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        block_on::block_on(self, future)
    }

    /// Makes this runtime the current one on this thread while the guard lives, so that
    /// crate-root `spawn` and [`Handle::current`] work on a foreign thread.
    ///
    /// ```
    /// let rt = spindle::runtime::Runtime::new().unwrap();
    /// let _guard = rt.handle().enter();
    /// let task = spindle::spawn(async { 1 });
    /// assert_eq!(rt.block_on(task).unwrap(), 1);
    /// ```
    pub fn enter(&self) -> EnterGuard<'_> {
        EnterGuard {
            _context: context::enter(self.clone()),
            _handle: PhantomData,
        }
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle").finish_non_exhaustive()
    }
}

impl Handle {
    /// Threads of the blocking-I/O lane.
    pub(crate) fn io_lane_threads(&self) -> usize {
        self.inner.io.threads()
    }

    /// Jobs queued on the blocking-I/O lane.
    pub(crate) fn io_lane_queue_depth(&self) -> usize {
        self.inner.io.queue_depth()
    }
}

/// Keeps a runtime current on this thread; see [`Handle::enter`]. Not `Send`: it restores the
/// thread's previous context when dropped.
pub struct EnterGuard<'a> {
    _context: context::ContextGuard,
    _handle: PhantomData<(&'a Handle, *const ())>,
}

impl fmt::Debug for EnterGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EnterGuard")
    }
}

#[track_caller]
pub(crate) fn no_runtime_panic(what: &str) -> ! {
    panic!(
        "{what} was called outside a spindle runtime. Call it from inside `spindle::run(...)`, \
         `Runtime::block_on`, a spawned task, or while a `Handle::enter()` guard is alive"
    )
}

/// Runs `future` on a new default runtime and shuts the runtime down before returning: every
/// task still alive is cancelled and the threads are joined. The `asyncio.run` of spindle.
///
/// # Panics
/// Inside a runtime (nesting would deadlock). A panic in `future` propagates after shutdown.
///
/// ```
/// let answer = spindle::run(async {
///     let a = spindle::spawn(async { 20 });
///     let b = spindle::spawn(async { 22 });
///     a.await.unwrap() + b.await.unwrap()
/// });
/// assert_eq!(answer, 42);
/// ```
pub fn run<F: Future>(future: F) -> F::Output {
    if context::is_runtime_thread() {
        panic!(
            "spindle::run was called inside a spindle runtime; nesting runtimes would block a \
             thread that runs tasks. Use `.await` (or spindle::spawn) instead"
        );
    }
    let runtime = Runtime::new().expect("spindle::run: could not start the runtime");
    let result =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| runtime.block_on(future)));
    drop(runtime);
    match result {
        Ok(output) => output,
        Err(payload) => std::panic::resume_unwind(payload),
    }
}

/// Spawns a task on the current runtime; it starts running right away on the worker threads.
/// The returned [`JoinHandle`] awaits its output; dropping it lets the task run on detached.
///
/// # Panics
/// Outside a runtime, with a message naming the ways in.
///
/// ```
/// spindle::run(async {
///     let handles: Vec<_> = (0..10).map(|i| spindle::spawn(async move { i * 2 })).collect();
///     let mut sum = 0;
///     for handle in handles {
///         sum += handle.await.unwrap();
///     }
///     assert_eq!(sum, 90);
/// });
/// ```
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    spawn_with(future, Meta::here())
}

/// [`spawn`] with explicit spawn-site information.
#[track_caller]
pub(crate) fn spawn_with<F>(future: F, meta: Meta) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match context::scheduler() {
        Some(scheduler) => scheduler.spawn(future, meta),
        None => {
            drop(future);
            no_runtime_panic("spindle::spawn")
        }
    }
}
