//! One worker thread: find a task, run it, repeat; steal when empty; park when there is nothing.
//!
//! Where the next task comes from, in order:
//! 1. every `GLOBAL_INTERVAL` ticks, the injector first (so remote spawns and wakes are never
//!    starved by a worker whose local tasks keep re-waking each other);
//! 2. the LIFO slot (the task this worker just woke or spawned: message-passing latency), at most
//!    `MAX_LIFO_POLLS` in a row so that a ping-pong pair cannot starve the rest;
//! 3. the local FIFO queue;
//! 4. a batch from the injector;
//! 5. half the queue of another worker, starting at a random victim (at most half the workers
//!    search at once, see `idle.rs`), and the LIFO slot of a worker the watchdog saw stuck;
//! 6. park, possibly inside the reactor (see `park.rs`).
//!
//! Every `EVENT_INTERVAL` ticks a busy worker also turns the reactor with a zero timeout, so
//! timers and sockets are serviced even when no worker is idle.
//!
//! Around each poll the worker publishes, with plain stores to its own cache lines, what the
//! metrics, task dumps and the watchdog read (`remote.rs`): the poll count, the task in progress
//! and when it started; and it stamps the task's own poll statistics.

use super::Shared;
use super::park::Parker;
use super::queue::{Steal, Worker as LocalQueue};
use super::remote::{self, Remote};
use super::slow_poll::SlowPoll;
use crate::loom::sync::Arc;
use crate::loom::sync::atomic::Ordering;
use crate::task::Notified;
use std::cell::Cell;

const GLOBAL_INTERVAL: u32 = 61;
const EVENT_INTERVAL: u32 = 61;
const MAX_LIFO_POLLS: u32 = 3;

/// The thread-local side of a worker; `schedule` reaches it through [`CURRENT`].
pub(crate) struct Worker {
    pub(super) index: usize,
    pub(super) shared: Arc<Shared>,
    local: LocalQueue<Notified>,
    parker: Parker,
    tick: Cell<u32>,
    searching: Cell<bool>,
    rng: Cell<u32>,
}

crate::loom::thread_local! {
    /// The worker running on this thread, if any (a pointer to the `Worker` on its stack).
    static CURRENT: Cell<*const Worker> = const { Cell::new(std::ptr::null()) };
}

/// Runs `f` with this thread's worker, if this thread is a worker of `shared`'s runtime.
pub(super) fn with_current<R>(shared: &Shared, f: impl FnOnce(Option<&Worker>) -> R) -> R {
    let ptr = CURRENT.with(|c| c.get());
    if ptr.is_null() {
        return f(None);
    }
    // SAFETY: CURRENT is set only while `Worker::run` borrows the worker on this thread's stack
    // and is cleared before it returns, so a non-null pointer is live here.
    let worker = unsafe { &*ptr };
    if std::ptr::eq(Arc::as_ptr(&worker.shared), shared) {
        f(Some(worker))
    } else {
        f(None)
    }
}

/// This thread's worker index, if it is a worker of `shared`'s runtime.
#[inline]
pub(super) fn current_index(shared: &Shared) -> Option<usize> {
    with_current(shared, |worker| worker.map(|w| w.index))
}

/// Whether this thread is a worker of any spindle runtime.
pub(crate) fn on_worker_thread() -> bool {
    !CURRENT.with(|c| c.get()).is_null()
}

impl Worker {
    pub(super) fn new(
        index: usize,
        shared: Arc<Shared>,
        local: LocalQueue<Notified>,
        parker: Parker,
    ) -> Worker {
        Worker {
            index,
            shared,
            local,
            parker,
            tick: Cell::new(0),
            searching: Cell::new(false),
            rng: Cell::new(0x9E37_79B9 ^ (index as u32).wrapping_mul(0x85EB_CA6B) | 1),
        }
    }

    /// This worker's shared face.
    #[inline]
    fn me(&self) -> &Remote {
        &self.shared.remotes[self.index]
    }

    /// A task woken (or spawned) on this worker: it runs next; the one it displaces goes to the
    /// local queue, where other workers can steal it.
    pub(super) fn schedule_local(&self, task: Notified) {
        if let Some(previous) = self.me().lifo.put(task) {
            self.local.push(previous);
            self.shared.notify_parked();
        }
    }

    /// A task that yielded: behind everything that is ready. Another worker is woken only if
    /// there is something besides this task to take: waking one for a lone yielder would just
    /// make the task migrate (and its cache lines with it). Our own queue is always drained
    /// by us, so skipping the notification never strands the task.
    pub(super) fn schedule_yield(&self, task: Notified) {
        self.local.push(task);
        if self.local.len() > 1 {
            self.shared.notify_parked();
        }
    }

    pub(super) fn run(&self) {
        struct Reset;
        impl Drop for Reset {
            fn drop(&mut self) {
                CURRENT.with(|c| c.set(std::ptr::null()));
            }
        }
        CURRENT.with(|c| c.set(self as *const Worker));
        let _reset = Reset;
        let _forced_yields = crate::task::coop::count_forced_yields_in(&self.shared.forced_yields);
        // Sleeps registered on this worker go to its own timer shard.
        let _timer_home = self.shared.driver.reactor.timers.enter_home(self.index);
        self.mark_unparked();

        while !self.shared.is_shutdown() {
            let tick = self.tick.get().wrapping_add(1);
            self.tick.set(tick);
            if tick % EVENT_INTERVAL == 0 && self.shared.driver.reactor.has_work() {
                let (_, waiter) = super::park::Parker::poll_driver(&self.shared.driver);
                if let Some(index) = waiter {
                    // A worker parked on its condvar while we held the driver: let it take over.
                    self.shared.remotes[index]
                        .unparker
                        .unpark(&self.shared.driver);
                }
            }
            if let Some(task) = self.next_task(tick) {
                self.run_task(task);
            } else if let Some(task) = self.steal() {
                self.run_task(task);
            } else {
                self.park();
            }
        }
        self.mark_parked();
        self.drain_on_shutdown();
    }

    fn next_task(&self, tick: u32) -> Option<Notified> {
        if tick % GLOBAL_INTERVAL == 0 {
            if let Some(task) = self.pop_injector() {
                return Some(task);
            }
        }
        if let Some(task) = self.me().lifo.take() {
            return Some(task);
        }
        self.local.pop().or_else(|| self.pop_injector())
    }

    fn pop_injector(&self) -> Option<Notified> {
        loop {
            match self.shared.injector.steal_batch_and_pop(&self.local) {
                Steal::Success(task) => return Some(task),
                Steal::Empty => return None,
                Steal::Retry => continue,
            }
        }
    }

    fn run_task(&self, task: Notified) {
        if self.searching.replace(false) && self.shared.idle.transition_from_searching() {
            // We were the last searcher and found work: there may be more, keep someone looking.
            self.shared.notify_parked();
        }
        self.poll(task);
        let mut lifo_polls = 0;
        while let Some(next) = self.me().lifo.take() {
            if lifo_polls == MAX_LIFO_POLLS || self.shared.is_shutdown() {
                self.local.push(next);
                self.shared.notify_parked();
                break;
            }
            lifo_polls += 1;
            self.tick.set(self.tick.get().wrapping_add(1));
            self.poll(next);
        }
    }

    /// Polls one task with a fresh cooperative budget, publishing the poll for observers.
    #[inline]
    fn poll(&self, task: Notified) {
        let now_ms = self.shared.clock.now_ms();
        let (id, spawned_at) = task.identity();
        task.record_poll(now_ms);
        let me = self.me();
        me.begin_poll(id, spawned_at, now_ms);
        match self.shared.slow_poll() {
            None => crate::task::coop::budget(|| task.run()),
            Some(hook) => {
                let name = task.name();
                let start = std::time::Instant::now();
                crate::task::coop::budget(|| task.run());
                let duration = start.elapsed();
                if duration >= hook.threshold {
                    let report = SlowPoll {
                        task_id: id,
                        name,
                        spawned_at,
                        duration,
                    };
                    // The user's callback must not unwind into the worker loop.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        (hook.callback)(&report)
                    }));
                }
            }
        }
        me.end_poll();
    }

    fn steal(&self) -> Option<Notified> {
        if !self.searching.get() {
            if !self.shared.idle.transition_to_searching() {
                return None;
            }
            self.searching.set(true);
        }
        let remotes = &self.shared.remotes;
        let start = self.next_random() as usize % remotes.len();
        for offset in 0..remotes.len() {
            let victim = (start + offset) % remotes.len();
            if victim == self.index {
                continue;
            }
            if let Some(task) = self.steal_from(&remotes[victim]) {
                return Some(task);
            }
        }
        self.pop_injector()
    }

    /// Half of `victim`'s queue, or, if the watchdog saw it stuck, the task in its LIFO slot.
    fn steal_from(&self, victim: &Remote) -> Option<Notified> {
        loop {
            let before = self.local.len();
            match victim.stealer.steal_batch_and_pop(&self.local) {
                Steal::Success(task) => {
                    let stolen = self.local.len().saturating_sub(before) + 1;
                    remote::add(&self.me().stats.steals, stolen as u64);
                    return Some(task);
                }
                Steal::Empty => break,
                Steal::Retry => continue,
            }
        }
        // Relaxed: a hint set by the watchdog; taking the slot is an atomic swap.
        if victim.stuck.load(Ordering::Relaxed) {
            if let Some(task) = victim.lifo.take() {
                remote::bump(&self.me().stats.steals);
                return Some(task);
            }
        }
        None
    }

    fn park(&self) {
        let shared = &*self.shared;
        shared
            .idle
            .transition_to_parked(self.index, self.searching.replace(false));
        // Registered as parked (SeqCst) before this last look; a notifier pushes before it reads
        // the idle word. One of us sees the other, so a task pushed now is never stranded.
        if shared.has_visible_work() || shared.is_shutdown() {
            if shared.idle.transition_from_parked(self.index) {
                self.searching.set(true);
            }
            return;
        }
        self.mark_parked();
        remote::bump(&self.me().stats.parks);
        let woken = self.parker.park(&shared.driver, self.index);
        self.mark_unparked();
        if shared.idle.transition_from_parked(self.index) {
            self.searching.set(true);
        }
        if woken > 0 && !self.local.is_empty() {
            // The reactor woke several tasks onto our queue: let a sleeper steal some (and take
            // over the reactor).
            shared.notify_parked();
        }
    }

    /// Going to sleep: the busy stretch ends.
    fn mark_parked(&self) {
        let me = self.me();
        me.busy_stop(self.shared.clock.precise_ns());
        // Relaxed: a watchdog hint (see `remote.rs`).
        me.parked.store(true, Ordering::Relaxed);
    }

    /// Awake again: a busy stretch starts (and the coarse clock is refreshed for the polls).
    fn mark_unparked(&self) {
        let me = self.me();
        me.busy_start(self.shared.clock.refresh());
        // Relaxed: as in `mark_parked`.
        me.parked.store(false, Ordering::Relaxed);
    }

    /// Shutdown: every task still queued here is cancelled (dropping a `Notified` cancels it).
    /// Cancelling runs destructors that may wake or spawn more, so loop until empty.
    fn drain_on_shutdown(&self) {
        loop {
            let task = self.me().lifo.take().or_else(|| self.local.pop());
            match task {
                Some(task) => drop(task),
                None => break,
            }
        }
    }

    fn next_random(&self) -> u32 {
        // xorshift32: victim selection only needs to spread workers apart.
        let mut x = self.rng.get();
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rng.set(x);
        x
    }
}
