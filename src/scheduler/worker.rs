//! One worker thread: find a task, run it, repeat; steal when empty; park when there is nothing.
//!
//! Where the next task comes from, in order:
//! 1. every *global interval* ticks, the injector first (so remote spawns and wakes are never
//!    starved by a worker whose local tasks keep re-waking each other); the interval tunes
//!    itself to about 200 µs of polling (tokio's rule), from 2 to 127 ticks;
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
use std::ptr::NonNull;

/// Ticks between the busy worker's reactor turns (and global-interval re-tuning).
const EVENT_INTERVAL: u32 = 61;
const MAX_LIFO_POLLS: u32 = 3;
/// How much polling time may pass between two looks at the injector (tokio's target too):
/// the global-queue interval is this divided by the mean poll time, within the bounds below.
const GLOBAL_TARGET_NS: u64 = 200_000;
const GLOBAL_INTERVAL_MIN: u32 = 2;
const GLOBAL_INTERVAL_MAX: u32 = 127;
/// The interval before any poll was measured.
const GLOBAL_INTERVAL_DEFAULT: u32 = 61;
/// Most tasks taken from the injector at once (crossbeam also stops at a block boundary).
const INJECTOR_BATCH_MAX: usize = 128;

/// The thread-local side of a worker; `schedule` reaches it through [`CURRENT`].
pub(crate) struct Worker {
    pub(super) index: usize,
    pub(super) shared: Arc<Shared>,
    /// `&shared.remotes[index]`, resolved once: the hot path reaches it several times per poll.
    me: NonNull<Remote>,
    local: LocalQueue<Notified>,
    parker: Parker,
    tick: Cell<u32>,
    /// Ticks left until the next look at the injector first.
    global_countdown: Cell<u32>,
    /// The self-tuned global-queue interval (see `retune`).
    global_interval: Cell<u32>,
    /// Mean poll time (ns, exponentially weighted), and where the current measurement began:
    /// the precise clock and the poll count.
    mean_poll_ns: Cell<f64>,
    batch_start: Cell<(u64, u64)>,
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
        let me = NonNull::from(&shared.remotes[index]);
        Worker {
            index,
            me,
            shared,
            local,
            parker,
            tick: Cell::new(0),
            global_countdown: Cell::new(GLOBAL_INTERVAL_DEFAULT),
            global_interval: Cell::new(GLOBAL_INTERVAL_DEFAULT),
            mean_poll_ns: Cell::new(0.0),
            batch_start: Cell::new((0, 0)),
            searching: Cell::new(false),
            rng: Cell::new(0x9E37_79B9 ^ (index as u32).wrapping_mul(0x85EB_CA6B) | 1),
        }
    }

    /// This worker's shared face.
    #[inline]
    pub(super) fn me(&self) -> &Remote {
        // SAFETY: `me` points into `shared.remotes`, a boxed slice that is never resized and
        // that our `Arc<Shared>` keeps alive as long as `self`.
        unsafe { self.me.as_ref() }
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
    ///
    /// "Ready work" includes the injector: if remote tasks are waiting there, a batch of them
    /// is moved into the local queue first, so a task that keeps yielding (a cooperative
    /// busy loop) never makes remote spawns and wakes wait for the next global-queue look.
    pub(super) fn schedule_yield(&self, task: Notified) {
        if !self.shared.injector.is_empty() {
            if let Some(first) = self.pop_injector() {
                self.local.push(first);
            }
        }
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
            if tick % EVENT_INTERVAL == 0 {
                self.retune();
                if self.shared.driver.reactor.has_work() {
                    let (_, waiter) = super::park::Parker::poll_driver(&self.shared.driver);
                    if let Some(index) = waiter {
                        // A worker parked on its condvar while we held the driver: let it
                        // take over.
                        self.shared.remotes[index]
                            .unparker
                            .unpark(&self.shared.driver);
                    }
                }
            }
            if let Some(task) = self.next_task() {
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

    fn next_task(&self) -> Option<Notified> {
        let countdown = self.global_countdown.get().saturating_sub(1);
        if countdown == 0 {
            self.global_countdown.set(self.global_interval.get());
            if let Some(task) = self.pop_injector() {
                return Some(task);
            }
        } else {
            self.global_countdown.set(countdown);
        }
        if let Some(task) = self.me().lifo.take() {
            return Some(task);
        }
        self.local.pop().or_else(|| self.pop_injector())
    }

    /// A batch from the injector: this worker's share of it (at least crossbeam's usual 32),
    /// so a burst of remote spawns is spread in few trips.
    fn pop_injector(&self) -> Option<Notified> {
        let share = self.shared.injector.len() / self.shared.remotes.len() + 1;
        let limit = share.clamp(32, INJECTOR_BATCH_MAX);
        loop {
            match self
                .shared
                .injector
                .steal_batch_with_limit_and_pop(&self.local, limit)
            {
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
            // The global-queue interval counts polls (it is tuned from the mean poll time),
            // so LIFO polls count too: a chain of tasks waking one another must not stretch
            // the wait of injected tasks by the LIFO run's length.
            self.global_countdown
                .set(self.global_countdown.get().saturating_sub(1).max(1));
            self.poll(next);
        }
    }

    /// Polls one task with a fresh cooperative budget, publishing the poll for observers.
    ///
    /// Inlined into the run loop (a call here cost ~16 instructions of register saves per
    /// poll); the slow-poll timing, used only when a hook is installed, stays out of line.
    #[inline(always)]
    fn poll(&self, task: Notified) {
        let now_ms = self.shared.clock.now_ms();
        let (id, spawned_at) = task.identity();
        task.record_poll(now_ms);
        let me = self.me();
        me.begin_poll(id, spawned_at, now_ms);
        match self.shared.slow_poll() {
            None => crate::task::coop::budget(|| task.run()),
            Some(hook) => Self::poll_timed(task, id, spawned_at, hook),
        }
        me.end_poll();
    }

    /// A poll under a slow-poll hook: timed, and reported if it took too long.
    #[cold]
    #[inline(never)]
    fn poll_timed(
        task: Notified,
        id: crate::task::Id,
        spawned_at: &'static std::panic::Location<'static>,
        hook: &super::slow_poll::SlowPollHook,
    ) {
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
            let _ =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (hook.callback)(&report)));
        }
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

    /// Re-derives the global-queue interval from the mean poll time since the last call
    /// (tokio's self-tuning): long polls mean fewer ticks between looks at the injector, so
    /// remote work waits about [`GLOBAL_TARGET_NS`] of polling at most, however long polls are.
    /// One clock read every [`EVENT_INTERVAL`] ticks.
    fn retune(&self) {
        let now = self.shared.clock.precise_ns();
        // Relaxed: our own counter.
        let polls = self.me().stats.polls.load(Ordering::Relaxed);
        let (start_ns, start_polls) = self.batch_start.replace((now, polls));
        let polled = polls.wrapping_sub(start_polls);
        if start_ns == 0 || polled == 0 {
            return;
        }
        let sample = now.saturating_sub(start_ns) as f64 / polled as f64;
        // Exponentially weighted, as tokio does (weight 0.1 for the new sample).
        let previous = self.mean_poll_ns.get();
        let mean = if previous > 0.0 {
            previous * 0.9 + sample * 0.1
        } else {
            sample
        };
        self.mean_poll_ns.set(mean);
        let interval = (GLOBAL_TARGET_NS as f64 / mean.max(1.0)) as u32;
        self.global_interval
            .set(interval.clamp(GLOBAL_INTERVAL_MIN, GLOBAL_INTERVAL_MAX));
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
        let now = self.shared.clock.refresh();
        // The mean poll time is measured over busy stretches only, not across sleeps.
        // Relaxed: our own counter.
        self.batch_start
            .set((now, me.stats.polls.load(Ordering::Relaxed)));
        me.busy_start(now);
        // SeqCst: the Dekker pair with the watchdog's doze (`Shared::watchdog_sleep`): either
        // it sees us unparked, or we see it dozing and wake it.
        me.parked.store(false, Ordering::SeqCst);
        if self.shared.watchdog_dozing.load(Ordering::SeqCst)
            && self.shared.watchdog_dozing.swap(false, Ordering::SeqCst)
        {
            self.shared.wake_watchdog();
        }
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
