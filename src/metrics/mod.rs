//! Observability, stable from day one: [`RuntimeMetrics`] (counters and gauges), task dumps
//! ([`Dump`], from [`Handle::dump`](crate::runtime::Handle::dump)) and slow-poll reports
//! ([`SlowPoll`](crate::runtime::SlowPoll)).
//!
//! Everything here reads what the core already publishes: each worker's counters live on its
//! own cache lines and are updated with plain relaxed stores by that worker alone
//! (`scheduler/remote.rs`), tasks carry their poll statistics and what they wait on
//! (`task/info.rs`), the registry of idle tasks is sharded (`task/owned.rs`). Reading a metric
//! or taking a dump never stops a worker and never waits for one, so both work on a runtime
//! with a worker stuck in a long synchronous call. See `docs/observability.md`.

mod dump;

pub use dump::{Dump, TaskInfo, TaskState, WaitsOn};

use crate::loom::sync::atomic::Ordering;
use crate::runtime::{Handle, Runtime};
use std::time::Duration;

/// A view of a runtime's counters and gauges. Cheap to create, `Clone`; every method reads the
/// current value (counters are monotonic: they never go down).
///
/// ```
/// let rt = spindle::runtime::Builder::new().worker_threads(2).build().unwrap();
/// let metrics = rt.metrics();
/// let before = metrics.spawned_tasks_count();
/// rt.block_on(async {
///     for _ in 0..10 {
///         spindle::spawn(async {}).await.unwrap();
///     }
/// });
/// assert_eq!(metrics.num_workers(), 2);
/// assert_eq!(metrics.spawned_tasks_count() - before, 10);
/// ```
#[derive(Clone, Debug)]
pub struct RuntimeMetrics {
    handle: Handle,
}

impl RuntimeMetrics {
    pub(crate) fn new(handle: Handle) -> RuntimeMetrics {
        RuntimeMetrics { handle }
    }

    fn shared(&self) -> &crate::scheduler::Shared {
        self.handle.inner.scheduler.shared()
    }

    fn worker(&self, index: usize) -> &crate::scheduler::remote::Remote {
        let remotes = &self.shared().remotes;
        remotes.get(index).unwrap_or_else(|| {
            panic!(
                "worker index {index} out of range: this runtime has {} workers \
                 (see `num_workers()`)",
                remotes.len()
            )
        })
    }

    /// The number of async worker threads.
    ///
    /// ```
    /// let rt = spindle::runtime::Builder::new().worker_threads(3).build().unwrap();
    /// assert_eq!(rt.metrics().num_workers(), 3);
    /// ```
    pub fn num_workers(&self) -> usize {
        self.shared().remotes.len()
    }

    /// Tasks that were spawned and have not finished yet (async tasks, blocking and compute
    /// jobs, blocking-I/O jobs, JoinSet and task-group members).
    ///
    /// ```
    /// let rt = spindle::runtime::Runtime::new().unwrap();
    /// let task = rt.spawn(std::future::pending::<()>());
    /// assert!(rt.metrics().num_alive_tasks() >= 1);
    /// task.abort();
    /// ```
    pub fn num_alive_tasks(&self) -> usize {
        self.shared().task_counts().1 as usize
    }

    /// Every spawn so far: async tasks, `spawn_blocking`, compute jobs, `unblock`, JoinSet and
    /// task-group members. Monotonic.
    ///
    /// ```
    /// let rt = spindle::runtime::Runtime::new().unwrap();
    /// let m = rt.metrics();
    /// let before = m.spawned_tasks_count();
    /// rt.block_on(rt.spawn_blocking(|| 1)).unwrap();
    /// assert_eq!(m.spawned_tasks_count(), before + 1);
    /// ```
    pub fn spawned_tasks_count(&self) -> u64 {
        self.shared().task_counts().0
    }

    /// Tasks waiting in the global (injection) queue: spawned or woken from outside the workers.
    ///
    /// ```
    /// let rt = spindle::runtime::Runtime::new().unwrap();
    /// let _depth = rt.metrics().global_queue_depth();
    /// ```
    pub fn global_queue_depth(&self) -> usize {
        self.shared().injector_len()
    }

    /// Tasks queued on worker `worker` (its local queue and its LIFO slot).
    ///
    /// # Panics
    /// If `worker >= num_workers()`.
    ///
    /// ```
    /// let rt = spindle::runtime::Runtime::new().unwrap();
    /// let _depth = rt.metrics().worker_local_queue_depth(0);
    /// ```
    pub fn worker_local_queue_depth(&self, worker: usize) -> usize {
        let remote = self.worker(worker);
        remote.stealer.len() + usize::from(!remote.lifo.is_empty())
    }

    /// Polls started by worker `worker`. Monotonic.
    ///
    /// ```
    /// let rt = spindle::runtime::Builder::new().worker_threads(1).build().unwrap();
    /// rt.block_on(rt.spawn(async {})).unwrap();
    /// assert!(rt.metrics().worker_poll_count(0) >= 1);
    /// ```
    pub fn worker_poll_count(&self, worker: usize) -> u64 {
        // Relaxed: a statistic (see `scheduler/remote.rs`).
        self.worker(worker).stats.polls.load(Ordering::Relaxed)
    }

    /// Tasks worker `worker` stole from other workers. Monotonic.
    ///
    /// ```
    /// let rt = spindle::runtime::Runtime::new().unwrap();
    /// let _steals = rt.metrics().worker_steal_count(0);
    /// ```
    pub fn worker_steal_count(&self, worker: usize) -> u64 {
        // Relaxed: a statistic.
        self.worker(worker).stats.steals.load(Ordering::Relaxed)
    }

    /// Times worker `worker` parked (went to sleep with nothing to do). Monotonic.
    ///
    /// ```
    /// let rt = spindle::runtime::Runtime::new().unwrap();
    /// let _parks = rt.metrics().worker_park_count(0);
    /// ```
    pub fn worker_park_count(&self, worker: usize) -> u64 {
        // Relaxed: a statistic.
        self.worker(worker).stats.parks.load(Ordering::Relaxed)
    }

    /// Time worker `worker` spent awake (running tasks, looking for them, turning the reactor
    /// when busy), including the current stretch. Monotonic.
    ///
    /// ```
    /// let rt = spindle::runtime::Runtime::new().unwrap();
    /// let busy = rt.metrics().worker_total_busy_duration(0);
    /// assert!(busy < std::time::Duration::from_secs(3600));
    /// ```
    pub fn worker_total_busy_duration(&self, worker: usize) -> Duration {
        self.worker(worker).busy(&self.shared().clock)
    }

    /// Times a task was made to yield because it spent its cooperative budget (128 ready
    /// operations in one poll). Monotonic.
    ///
    /// ```
    /// let rt = spindle::runtime::Runtime::new().unwrap();
    /// rt.block_on(rt.spawn(async {
    ///     for _ in 0..1_000 {
    ///         spindle::task::consume_budget().await;
    ///     }
    /// }))
    /// .unwrap();
    /// assert!(rt.metrics().budget_forced_yield_count() >= 7);
    /// ```
    pub fn budget_forced_yield_count(&self) -> u64 {
        // Relaxed: a statistic.
        self.shared().forced_yields.load(Ordering::Relaxed)
    }

    /// Threads in the compute (rayon) pool.
    ///
    /// ```
    /// let rt = spindle::runtime::Builder::new().compute_threads(3).build().unwrap();
    /// assert_eq!(rt.metrics().compute_threads(), 3);
    /// ```
    pub fn compute_threads(&self) -> usize {
        self.handle
            .inner
            .compute
            .as_ref()
            .map_or(0, |c| c.threads())
    }

    /// Compute jobs (`spawn_blocking`, `compute::spawn`) waiting for a pool thread.
    ///
    /// ```
    /// let rt = spindle::runtime::Runtime::new().unwrap();
    /// assert_eq!(rt.metrics().compute_queue_depth(), 0);
    /// ```
    pub fn compute_queue_depth(&self) -> usize {
        self.handle
            .inner
            .compute
            .as_ref()
            .map_or(0, |c| c.queue_depth())
    }

    /// Compute jobs running right now.
    ///
    /// ```
    /// let rt = spindle::runtime::Runtime::new().unwrap();
    /// let m = rt.metrics();
    /// let running = rt.block_on(rt.spawn_blocking(move || m.compute_active_jobs())).unwrap();
    /// assert_eq!(running, 1);
    /// ```
    pub fn compute_active_jobs(&self) -> usize {
        self.handle
            .inner
            .compute
            .as_ref()
            .map_or(0, |c| c.active_jobs())
    }

    /// Threads in the blocking-I/O lane (`unblock`), which grows and shrinks with demand.
    ///
    /// ```
    /// let rt = spindle::runtime::Runtime::new().unwrap();
    /// let _threads = rt.metrics().io_threads();
    /// ```
    pub fn io_threads(&self) -> usize {
        self.handle.io_lane_threads()
    }

    /// `unblock` jobs waiting for a lane thread.
    ///
    /// ```
    /// let rt = spindle::runtime::Runtime::new().unwrap();
    /// assert_eq!(rt.metrics().io_queue_depth(), 0);
    /// ```
    pub fn io_queue_depth(&self) -> usize {
        self.handle.io_lane_queue_depth()
    }

    /// Timers (sleeps, timeouts, intervals) registered and not yet fired.
    ///
    /// ```
    /// let rt = spindle::runtime::Runtime::new().unwrap();
    /// let _timers = rt.metrics().timers_pending();
    /// ```
    pub fn timers_pending(&self) -> usize {
        self.shared().reactor().timers.pending()
    }

    /// File descriptors registered with the reactor (sockets, pipes, signal and process
    /// handles, `AsyncFd`s).
    ///
    /// ```
    /// let rt = spindle::runtime::Runtime::new().unwrap();
    /// let _fds = rt.metrics().io_sources();
    /// ```
    pub fn io_sources(&self) -> usize {
        self.shared().reactor().io.sources()
    }
}

impl Handle {
    /// The runtime's metrics (see [`RuntimeMetrics`]).
    ///
    /// ```
    /// spindle::run(async {
    ///     let m = spindle::runtime::Handle::current().metrics();
    ///     assert!(m.num_workers() >= 1);
    /// });
    /// ```
    pub fn metrics(&self) -> RuntimeMetrics {
        RuntimeMetrics::new(self.clone())
    }
}

impl Runtime {
    /// The runtime's metrics (see [`RuntimeMetrics`]).
    ///
    /// ```
    /// let rt = spindle::runtime::Runtime::new().unwrap();
    /// assert!(rt.metrics().num_workers() >= 1);
    /// ```
    pub fn metrics(&self) -> RuntimeMetrics {
        self.handle().metrics()
    }
}
