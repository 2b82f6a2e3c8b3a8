//! The watchdog: a small thread per runtime that notices a worker stuck in one long poll and
//! gets its queued tasks (and the reactor) to a worker that can run them.
//!
//! A task that blocks its worker in a long synchronous call (a `std::thread::sleep`, a blocking
//! read, a big computation) freezes whatever is queued on that worker, in particular the task
//! it just woke, which sits in the worker's LIFO slot, and no idle worker notices: parked
//! workers sleep until notified. tokio has this wart (tokio#4941, tokio#4730). The watchdog
//! checks every worker once per tick: one that is not parked, has not started a poll since the
//! previous tick, and has tasks queued is marked *stuck* and a parked worker is woken; that one
//! steals the stuck worker's queue *and its LIFO slot* (thieves take the slot only from stuck
//! workers, so the slot keeps its locality otherwise). If the reactor has no driver (every idle
//! worker is parked on its condvar), a parked worker is woken too so that timers and sockets of
//! the tasks other workers can run keep being served.
//!
//! It never polls a task, never turns the reactor and never touches a queue itself. Ticks are
//! 1 ms while any worker is unparked and back off to [`IDLE_TICK`] while all of them sleep, so
//! an idle runtime costs ~50 wake-ups per second of this thread and a busy one ~1 000 (each a
//! few atomic loads). It also refreshes the scheduler's coarse clock, which stamps every poll.

use super::Shared;
use crate::loom::sync::atomic::Ordering;
use std::time::Duration;

/// Tick while some worker is busy: how long a task may wait behind a stuck worker, about.
pub(crate) const BUSY_TICK: Duration = Duration::from_millis(1);
/// Longest tick while every worker is parked.
pub(crate) const IDLE_TICK: Duration = Duration::from_millis(20);

/// What the watchdog remembers between ticks.
pub(crate) struct Watchdog {
    /// Each worker's poll count at the previous tick.
    last_polls: Vec<u64>,
    tick: Duration,
}

/// What one tick found.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Findings {
    /// Workers that are not parked.
    pub(crate) busy: usize,
    /// Workers marked stuck this tick.
    pub(crate) stuck: usize,
    /// A parked worker was woken (to steal, or to drive the reactor).
    pub(crate) woke: bool,
}

impl Watchdog {
    pub(crate) fn new(workers: usize) -> Watchdog {
        Watchdog {
            last_polls: vec![u64::MAX; workers],
            tick: BUSY_TICK,
        }
    }

    /// How long to sleep before the next tick.
    pub(crate) fn next_tick(&self) -> Duration {
        self.tick
    }

    /// One check of every worker (see the module documentation).
    pub(crate) fn tick(&mut self, shared: &Shared) -> Findings {
        shared.clock.refresh();
        let mut findings = Findings::default();
        for (index, remote) in shared.remotes.iter().enumerate() {
            // Relaxed: hints; a stale value delays the decision by one tick at most.
            let polls = remote.stats.polls.load(Ordering::Relaxed);
            let parked = remote.parked.load(Ordering::Relaxed);
            let same_poll = polls == self.last_polls[index];
            self.last_polls[index] = polls;
            if parked {
                remote.stuck.store(false, Ordering::Relaxed);
                continue;
            }
            findings.busy += 1;
            if same_poll && remote.has_queued_work() {
                // Relaxed: read by thieves as a hint; taking the slot is an atomic swap.
                remote.stuck.store(true, Ordering::Relaxed);
                findings.stuck += 1;
            } else if !same_poll {
                remote.stuck.store(false, Ordering::Relaxed);
            }
        }
        let driverless = findings.busy > 0 && !shared.driver.is_locked();
        if findings.stuck > 0 || driverless {
            findings.woke = shared.wake_one_parked();
        }
        self.tick = if findings.busy > 0 {
            BUSY_TICK
        } else {
            (self.tick * 2).min(IDLE_TICK)
        };
        findings
    }
}

/// The watchdog thread's loop: tick, sleep, until the runtime shuts down.
#[cfg(not(loom))]
pub(crate) fn run(shared: &Shared) {
    let mut watchdog = Watchdog::new(shared.remotes.len());
    while shared.watchdog_sleep(watchdog.next_tick()) {
        watchdog.tick(shared);
    }
}
