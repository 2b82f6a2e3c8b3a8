//! The multi-threaded scheduler: per-core workers with work-stealing queues and a global injector.
//!
//! * [`Shared`] is what every worker and every task's scheduler hook point at: the injector, the
//!   workers' shared faces (`remote.rs`: stealable queue, LIFO slot, unparker, statistics), the
//!   idle accounting, the task registry and the reactor driver.
//! * `worker.rs` is the loop one thread runs; `idle.rs` decides who to wake; `park.rs` puts a
//!   worker to sleep (one of them inside the reactor); `queue.rs` wraps crossbeam-deque;
//!   `lifo.rs` is the LIFO slot; `watchdog.rs` notices a worker stuck in a long poll;
//!   `slow_poll.rs` reports polls over a threshold.
//!
//! A wake on a worker thread goes to that worker's LIFO slot; anything else goes to the injector
//! and wakes at most one parked worker. Shutdown is a flag checked by every push, so a task
//! scheduled after shutdown is cancelled on the spot instead of sitting in a dead queue.

mod idle;
pub(crate) mod lifo;
mod park;
mod queue;
pub(crate) mod remote;
mod slow_poll;
mod watchdog;
mod worker;

pub use slow_poll::SlowPoll;
pub(crate) use slow_poll::SlowPollHook;
pub(crate) use worker::on_worker_thread;

use crate::loom::sync::atomic::{AtomicBool, AtomicU64, Ordering, fence};
use crate::loom::sync::{Arc, Condvar, Mutex};
use crate::reactor::Reactor;
use crate::task::{JoinHandle, Meta, Notified, OwnedTasks, Schedule};
use idle::Idle;
use park::Driver;
use queue::{Injector, Steal, Worker as LocalQueue};
use remote::{Clock, Remote};
use std::future::Future;
#[cfg(not(loom))]
use std::time::Duration;

/// State shared by the workers of one runtime and by every task spawned on it.
pub(crate) struct Shared {
    injector: Injector<Notified>,
    pub(crate) remotes: Box<[Remote]>,
    idle: Idle,
    owned: OwnedTasks,
    driver: Driver,
    pub(crate) clock: Clock,
    shutdown: AtomicBool,
    /// Set once shutdown has cancelled everything in the injector and the registry; a push
    /// that lands after this must clean up after itself.
    drained: AtomicBool,
    /// Tasks forced to yield by the cooperative budget (see `task::coop`).
    pub(crate) forced_yields: AtomicU64,
    /// Tasks spawned, and tasks completed, on threads that are not workers (the workers count
    /// theirs in `remotes`). Read-modify-writes, but only off the workers' hot paths.
    pub(crate) remote_spawned: AtomicU64,
    pub(crate) remote_completed: AtomicU64,
    slow_poll: Option<SlowPollHook>,
    /// The watchdog's sleep: `true` once it must exit.
    watchdog_stop: Mutex<bool>,
    watchdog_wake: Condvar,
    /// The watchdog is sleeping longer than its busy tick (every worker was parked): the first
    /// worker to unpark wakes it (see `Shared::watchdog_sleep` and `Worker::mark_unparked`).
    pub(crate) watchdog_dozing: AtomicBool,
}

/// The scheduler hook stored in every async task: a counted pointer to [`Shared`].
#[derive(Clone)]
pub(crate) struct Scheduler {
    shared: Arc<Shared>,
}

/// A worker that has not started running yet (moved onto its thread by the runtime).
pub(crate) struct WorkerLauncher {
    worker: worker::Worker,
}

// SAFETY: the Worker is built on the creating thread and then moved, never shared, to the thread
// that runs it; its `Cell`s and local queue are only ever touched by that one thread afterwards.
unsafe impl Send for WorkerLauncher {}

impl WorkerLauncher {
    /// Runs the worker loop on the current thread until the runtime shuts down.
    pub(crate) fn run(self) {
        self.worker.run();
    }
}

impl Scheduler {
    /// Builds the shared state for `workers` workers around `reactor`; returns the scheduler
    /// and one launcher per worker thread.
    pub(crate) fn new(
        workers: usize,
        reactor: Arc<Reactor>,
        slow_poll: Option<SlowPollHook>,
    ) -> (Scheduler, Vec<WorkerLauncher>) {
        let locals: Vec<LocalQueue<Notified>> =
            (0..workers).map(|_| LocalQueue::new_fifo()).collect();
        let (parkers, unparkers): (Vec<_>, Vec<_>) = (0..workers).map(|_| park::pair()).unzip();
        let shared = Arc::new(Shared {
            injector: Injector::new(),
            remotes: locals
                .iter()
                .zip(unparkers)
                .map(|(local, unparker)| Remote::new(local.stealer(), unparker))
                .collect(),
            idle: Idle::new(workers),
            owned: OwnedTasks::new(workers),
            driver: Driver::new(reactor),
            clock: Clock::new(),
            shutdown: AtomicBool::new(false),
            drained: AtomicBool::new(false),
            forced_yields: AtomicU64::new(0),
            remote_spawned: AtomicU64::new(0),
            remote_completed: AtomicU64::new(0),
            slow_poll,
            watchdog_stop: Mutex::new(false),
            watchdog_wake: Condvar::new(),
            watchdog_dozing: AtomicBool::new(false),
        });
        let launchers = locals
            .into_iter()
            .zip(parkers)
            .enumerate()
            .map(|(index, (local, parker))| WorkerLauncher {
                worker: worker::Worker::new(index, shared.clone(), local, parker),
            })
            .collect();
        (Scheduler { shared }, launchers)
    }

    /// The watchdog thread's body (see `watchdog.rs`); returns at shutdown.
    #[cfg(not(loom))]
    pub(crate) fn run_watchdog(&self) {
        watchdog::run(&self.shared);
    }

    /// The state metrics and dumps read.
    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }

    /// Counts a task of this runtime (async, blocking or compute) whose future is gone.
    #[inline]
    pub(crate) fn count_completed(&self) {
        self.shared
            .count(|r| &r.stats.completed, &self.shared.remote_completed);
    }

    /// Counts a task spawned through this runtime's scheduler or pools.
    #[inline]
    pub(crate) fn count_spawn(&self) {
        self.shared
            .count(|r| &r.stats.spawned, &self.shared.remote_spawned);
    }

    /// Whether the calling thread is one of this scheduler's workers.
    pub(crate) fn is_current_worker(&self) -> bool {
        worker::with_current(&self.shared, |worker| worker.is_some())
    }

    pub(crate) fn reactor(&self) -> &Arc<Reactor> {
        &self.shared.driver.reactor
    }

    pub(crate) fn owned(&self) -> &OwnedTasks {
        &self.shared.owned
    }

    /// Spawns `future` as a task of this scheduler.
    pub(crate) fn spawn<F>(&self, future: F, meta: Meta) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (notified, join) = crate::task::new_task(future, self.clone(), meta);
        // One look at the thread's worker for both the count and the queueing.
        worker::with_current(&self.shared, |worker| match worker {
            Some(worker) => {
                remote::bump(&worker.me().stats.spawned);
                worker.schedule_local(notified);
            }
            None => {
                // Relaxed: a monotonic statistic.
                self.shared.remote_spawned.fetch_add(1, Ordering::Relaxed);
                self.shared.push_remote(notified);
            }
        });
        join
    }

    /// Begins shutdown: no queue accepts tasks any more, the reactor wakes every waiter, and
    /// every worker is woken to drain its queue and exit. Returns false if already shut down.
    pub(crate) fn begin_shutdown(&self) -> bool {
        if self.shared.shutdown.swap(true, Ordering::SeqCst) {
            return false;
        }
        self.shared.driver.reactor.shutdown();
        for remote in self.shared.remotes.iter() {
            remote.unparker.unpark(&self.shared.driver);
        }
        *crate::loom::lock(&self.shared.watchdog_stop) = true;
        self.shared.watchdog_wake.notify_all();
        true
    }

    /// After the workers exited: cancels what is left in the injector and in the registry.
    pub(crate) fn finish_shutdown(&self) {
        loop {
            self.shared.drain_injector();
            crate::task::shutdown_all(&self.shared.owned);
            if self.shared.injector.is_empty() {
                break;
            }
        }
        self.shared.drained.store(true, Ordering::SeqCst);
        // A push that raced the flag is either seen here or sees the flag (see push_remote).
        self.shared.drain_injector();
    }
}

impl Schedule for Scheduler {
    fn schedule(&self, task: Notified) {
        worker::with_current(&self.shared, |worker| match worker {
            Some(worker) => worker.schedule_local(task),
            None => self.shared.push_remote(task),
        })
    }

    fn yield_now(&self, task: Notified) {
        worker::with_current(&self.shared, |worker| match worker {
            Some(worker) => worker.schedule_yield(task),
            None => self.shared.push_remote(task),
        })
    }

    fn owned_tasks(&self) -> &OwnedTasks {
        &self.shared.owned
    }

    fn task_completed(&self) {
        self.count_completed();
    }
}

impl Shared {
    fn is_shutdown(&self) -> bool {
        self.shutdown.load(Ordering::SeqCst)
    }

    /// A task scheduled from outside the workers (or from another runtime's thread).
    ///
    /// This runs inside `Waker::wake`, possibly while the waker's owner holds a lock (a
    /// channel's, say), so it must never run a task's destructor: after shutdown a woken task
    /// (always registered) only gives its reference back, and the shutdown thread, which
    /// drains the registry, drops the future.
    fn push_remote(&self, task: Notified) {
        if self.is_shutdown() {
            // Registered: shutdown_all cancels it. Not registered: a fresh spawn, not a wake,
            // so cancelling it here runs its destructor in the spawner's context.
            task.discard_after_shutdown();
            return;
        }
        self.injector.push(task);
        // SeqCst fence: orders the push before the flag re-checks and the idle-state read,
        // against a parking worker's "register as parked, then look at the injector" and
        // against finish_shutdown's "set drained, then drain".
        fence(Ordering::SeqCst);
        if self.drained.load(Ordering::SeqCst) {
            // Shutdown finished before our push landed; only spawns can get here (every
            // registered task is complete), so cancelling in place is safe.
            self.drain_injector();
        } else if !self.is_shutdown() {
            self.notify_parked();
        }
    }

    fn drain_injector(&self) {
        loop {
            match self.injector.steal() {
                Steal::Success(task) => drop(task),
                Steal::Empty => break,
                Steal::Retry => continue,
            }
        }
    }

    /// Wakes one parked worker if nobody is searching for work already.
    fn notify_parked(&self) {
        if let Some(index) = self.idle.worker_to_notify() {
            self.remotes[index].unparker.unpark(&self.driver);
        }
    }

    /// Wakes one parked worker even if another is searching (the watchdog's call: a searcher
    /// may be about to give up). Returns whether one was parked.
    fn wake_one_parked(&self) -> bool {
        match self.idle.worker_to_wake() {
            Some(index) => {
                self.remotes[index].unparker.unpark(&self.driver);
                true
            }
            None => false,
        }
    }

    /// Work a parking worker could still pick up.
    fn has_visible_work(&self) -> bool {
        !self.injector.is_empty()
            || self.remotes.iter().any(|r| {
                !r.stealer.is_empty()
                    // Relaxed: a hint, re-checked by the watchdog every tick.
                    || (r.stuck.load(Ordering::Relaxed) && !r.lifo.is_empty())
            })
    }

    /// Counts one event: on a worker of this runtime in its own counter (a plain store),
    /// elsewhere in the shared one.
    #[inline]
    fn count(&self, field: impl FnOnce(&Remote) -> &AtomicU64, shared: &AtomicU64) {
        worker::with_current(self, |worker| match worker {
            Some(worker) => remote::bump(field(worker.me())),
            None => {
                // Relaxed: a monotonic statistic.
                shared.fetch_add(1, Ordering::Relaxed);
            }
        })
    }

    /// Sleeps the watchdog for `tick`; false once the runtime is shutting down.
    ///
    /// A tick longer than the busy tick is a doze: announced in `watchdog_dozing` so that the
    /// first worker to unpark cuts it short (otherwise a task stranded right after an idle
    /// stretch would wait for the rest of a 20 ms doze, measured: 14 ms median). The flag and
    /// the workers' `parked` flags form a Dekker pair (SeqCst on both sides): either we see a
    /// worker unparked and take the busy tick, or that worker sees the flag and wakes us, under
    /// the mutex we hold until `wait_timeout` releases it, so the wake-up cannot be lost.
    #[cfg(not(loom))]
    fn watchdog_sleep(&self, mut tick: Duration) -> bool {
        let stop = crate::loom::lock(&self.watchdog_stop);
        if *stop {
            return false;
        }
        if tick > watchdog::BUSY_TICK {
            self.watchdog_dozing.store(true, Ordering::SeqCst);
            if self
                .remotes
                .iter()
                .any(|remote| !remote.parked.load(Ordering::SeqCst))
            {
                self.watchdog_dozing.store(false, Ordering::SeqCst);
                tick = watchdog::BUSY_TICK;
            }
        }
        let (stop, _) = self
            .watchdog_wake
            .wait_timeout(stop, tick)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        self.watchdog_dozing.store(false, Ordering::SeqCst);
        !*stop
    }

    /// A worker unparked while the watchdog dozes: bring it back to its busy tick now.
    #[cold]
    pub(crate) fn wake_watchdog(&self) {
        let _stop = crate::loom::lock(&self.watchdog_stop);
        self.watchdog_wake.notify_one();
    }

    /// The global queue's length (metrics).
    pub(crate) fn injector_len(&self) -> usize {
        self.injector.len()
    }

    /// The registry (for dumps).
    pub(crate) fn owned(&self) -> &OwnedTasks {
        &self.owned
    }

    /// The reactor (for metrics and dumps).
    pub(crate) fn reactor(&self) -> &Reactor {
        &self.driver.reactor
    }

    /// Tasks spawned so far, and tasks still alive (spawned, not completed).
    pub(crate) fn task_counts(&self) -> (u64, u64) {
        // Relaxed: statistics; completions are read first so that a racing task never makes
        // the alive count negative (it is clamped anyway).
        let completed = self.remote_completed.load(Ordering::Relaxed)
            + self
                .remotes
                .iter()
                .map(|r| r.stats.completed.load(Ordering::Relaxed))
                .sum::<u64>();
        let spawned = self.remote_spawned.load(Ordering::Relaxed)
            + self
                .remotes
                .iter()
                .map(|r| r.stats.spawned.load(Ordering::Relaxed))
                .sum::<u64>();
        (spawned, spawned.saturating_sub(completed))
    }

    /// The slow-poll hook, if one is configured.
    pub(crate) fn slow_poll(&self) -> Option<&SlowPollHook> {
        self.slow_poll.as_ref()
    }
}
