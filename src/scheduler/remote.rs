//! What other threads see of a worker: its stealable queue, its LIFO slot, the handle that
//! wakes it, and the statistics it publishes (for metrics, task dumps and the watchdog).
//!
//! Every counter has exactly one writer, the worker itself, which updates it with a relaxed
//! load and a relaxed store (no read-modify-write, so no bus lock on the hot path); the whole
//! struct is aligned to its own cache lines, so workers never share a line. Readers (metrics,
//! the watchdog) load with relaxed ordering: they want a recent value, not a synchronisation.

use super::lifo::LifoSlot;
use super::park::Unparker;
use super::queue::Stealer;
use crate::loom::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, Ordering};
use crate::task::{Id, Notified};
use std::panic::Location;
use std::time::{Duration, Instant};

/// Adds one to a counter that only the calling thread writes.
#[inline]
pub(crate) fn bump(counter: &AtomicU64) {
    add(counter, 1);
}

/// Adds `n` to a counter that only the calling thread writes.
#[inline]
pub(crate) fn add(counter: &AtomicU64, n: u64) {
    // Relaxed load + store: single writer (see the module documentation).
    counter.store(
        counter.load(Ordering::Relaxed).wrapping_add(n),
        Ordering::Relaxed,
    );
}

/// One worker's shared face.
#[repr(align(128))]
pub(crate) struct Remote {
    pub(crate) stealer: Stealer<Notified>,
    pub(crate) unparker: Unparker,
    pub(crate) lifo: LifoSlot,
    pub(crate) stats: WorkerStats,
    /// Set by the watchdog when this worker spent a whole tick in one poll with tasks queued
    /// behind it: thieves then also take its LIFO slot. Cleared when it makes progress.
    pub(crate) stuck: AtomicBool,
    /// The worker is parked (not running tasks).
    pub(crate) parked: AtomicBool,
    /// The poll in progress, for task dumps: task id (0 = none), its spawn location, and when
    /// it started on the coarse clock.
    pub(crate) current_task: AtomicU64,
    pub(crate) current_location: AtomicPtr<Location<'static>>,
    pub(crate) current_started_ms: AtomicU32,
    /// The highest busy time a reader computed (see [`Remote::busy`]); written by readers
    /// only, never by the worker.
    busy_seen: AtomicU64,
}

/// Per-worker counters (monotonic, single writer).
#[derive(Default)]
pub(crate) struct WorkerStats {
    /// Polls started.
    pub(crate) polls: AtomicU64,
    /// Tasks stolen from other workers (and from their LIFO slots).
    pub(crate) steals: AtomicU64,
    /// Times the worker parked.
    pub(crate) parks: AtomicU64,
    /// Busy time, in one word so that a reader never sees half of a park or an unpark (see
    /// [`BusyClock`]).
    pub(crate) busy: AtomicU64,
    /// Tasks spawned from this worker thread, and tasks completed on it.
    pub(crate) spawned: AtomicU64,
    pub(crate) completed: AtomicU64,
}

impl Remote {
    pub(crate) fn new(stealer: Stealer<Notified>, unparker: Unparker) -> Remote {
        Remote {
            stealer,
            unparker,
            lifo: LifoSlot::new(),
            stats: WorkerStats::default(),
            stuck: AtomicBool::new(false),
            parked: AtomicBool::new(false),
            current_task: AtomicU64::new(0),
            current_location: AtomicPtr::new(std::ptr::null_mut()),
            current_started_ms: AtomicU32::new(0),
            busy_seen: AtomicU64::new(0),
        }
    }

    /// Whether tasks wait behind whatever this worker is doing (a hint).
    pub(crate) fn has_queued_work(&self) -> bool {
        !self.lifo.is_empty() || !self.stealer.is_empty()
    }

    /// Publishes the poll about to start.
    #[inline]
    pub(crate) fn begin_poll(&self, id: Id, location: &'static Location<'static>, now_ms: u32) {
        bump(&self.stats.polls);
        // Relaxed: diagnostics; a dump reading a mix of two consecutive polls only mislabels
        // one line for a moment.
        self.current_task.store(id.as_u64(), Ordering::Relaxed);
        self.current_location
            .store(location as *const _ as *mut _, Ordering::Relaxed);
        self.current_started_ms.store(now_ms, Ordering::Relaxed);
    }

    /// The poll ended.
    #[inline]
    pub(crate) fn end_poll(&self) {
        // Relaxed: as in `begin_poll`.
        self.current_task.store(0, Ordering::Relaxed);
    }

    /// The poll in progress: task id, spawn location, start (coarse ms), if any.
    pub(crate) fn current_poll(&self) -> Option<(u64, &'static Location<'static>, u32)> {
        // Relaxed: as in `begin_poll`.
        let id = self.current_task.load(Ordering::Relaxed);
        let location = self.current_location.load(Ordering::Relaxed);
        let started = self.current_started_ms.load(Ordering::Relaxed);
        // SAFETY: only ever set from a `&'static Location`.
        let location = unsafe { location.as_ref() }?;
        (id != 0).then_some((id, location, started))
    }

    /// Busy time so far, including the current unparked stretch.
    ///
    /// A reader that loads the word just before a park lands and reads the clock just after
    /// the worker read its own can compute a few nanoseconds more than the total the park then
    /// stores; the highest figure handed out so far (`busy_seen`) keeps readers monotonic.
    pub(crate) fn busy(&self, clock: &Clock) -> Duration {
        // Relaxed: a statistic in one word (see `BusyClock`).
        let word = self.stats.busy.load(Ordering::Relaxed);
        let ns = BusyClock::read(word, clock.precise_ns());
        // Relaxed: only orders figures among readers, through this one location.
        let seen = self.busy_seen.fetch_max(ns, Ordering::Relaxed);
        Duration::from_nanos(ns.max(seen))
    }

    /// The worker unparked at `now_ns`: a busy stretch starts.
    pub(crate) fn busy_start(&self, now_ns: u64) {
        let word = self.stats.busy.load(Ordering::Relaxed);
        // Relaxed load + store: single writer (the worker).
        self.stats
            .busy
            .store(BusyClock::unparked(word, now_ns), Ordering::Relaxed);
    }

    /// The worker parks at `now_ns`: the busy stretch ends.
    pub(crate) fn busy_stop(&self, now_ns: u64) {
        let word = self.stats.busy.load(Ordering::Relaxed);
        // Relaxed load + store: single writer (the worker).
        self.stats
            .busy
            .store(BusyClock::parked(word, now_ns), Ordering::Relaxed);
    }
}

/// A worker's busy time as one word, so that readers see each park and unpark whole.
///
/// Parked, the word is the total busy nanoseconds. Unparked, it is `UNPARKED | start`, where
/// `start` is the instant (on the scheduler's precise clock) at which the worker would have
/// started if all its busy time had been one stretch: busy time is then `now - start`. Two
/// words (a total and "unparked since") let a reader racing a park add the stretch twice or
/// not at all, so the figure could go down; one word cannot.
pub(crate) struct BusyClock;

impl BusyClock {
    const UNPARKED: u64 = 1 << 63;

    /// The word after an unpark at `now_ns`.
    pub(crate) fn unparked(word: u64, now_ns: u64) -> u64 {
        if word & Self::UNPARKED != 0 {
            return word; // already running
        }
        // Busy time never exceeds the time since the clock's origin, so this never wraps.
        Self::UNPARKED | now_ns.saturating_sub(word)
    }

    /// The word after a park at `now_ns`.
    pub(crate) fn parked(word: u64, now_ns: u64) -> u64 {
        if word & Self::UNPARKED == 0 {
            return word; // already parked
        }
        now_ns.saturating_sub(word & !Self::UNPARKED)
    }

    /// Busy nanoseconds at `now_ns`.
    pub(crate) fn read(word: u64, now_ns: u64) -> u64 {
        if word & Self::UNPARKED == 0 {
            word
        } else {
            now_ns.saturating_sub(word & !Self::UNPARKED)
        }
    }
}

/// The scheduler's clocks: a precise one (`Instant`, for busy time) and a coarse millisecond
/// counter refreshed by the watchdog and by workers when they unpark, which costs one relaxed
/// load to read and so can stamp every poll.
pub(crate) struct Clock {
    origin: Instant,
    coarse_ms: AtomicU32,
}

impl Clock {
    pub(crate) fn new() -> Clock {
        Clock {
            origin: Instant::now(),
            coarse_ms: AtomicU32::new(0),
        }
    }

    /// Nanoseconds since the origin (at least 1, so that 0 can mean "not set").
    pub(crate) fn precise_ns(&self) -> u64 {
        (self.origin.elapsed().as_nanos() as u64).max(1)
    }

    /// Reads the precise clock and refreshes the coarse one; returns nanoseconds since origin.
    pub(crate) fn refresh(&self) -> u64 {
        let ns = self.precise_ns();
        // Relaxed: a clock value, no data hangs off it. Wraps after ~49 days; users subtract
        // with wrapping arithmetic.
        self.coarse_ms
            .store((ns / 1_000_000) as u32, Ordering::Relaxed);
        ns
    }

    /// The coarse milliseconds since origin (recent within a watchdog tick).
    #[inline]
    pub(crate) fn now_ms(&self) -> u32 {
        // Relaxed: see `refresh`.
        self.coarse_ms.load(Ordering::Relaxed)
    }

    /// Milliseconds elapsed since the coarse stamp `then_ms`, measured with the precise clock.
    pub(crate) fn since_ms(&self, then_ms: u32) -> u32 {
        ((self.precise_ns() / 1_000_000) as u32).wrapping_sub(then_ms)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::BusyClock;

    #[test]
    fn busy_clock_counts_unparked_stretches_only() {
        let mut word = 0; // parked, nothing yet
        assert_eq!(BusyClock::read(word, 1_000), 0);
        word = BusyClock::unparked(word, 1_000);
        assert_eq!(BusyClock::read(word, 1_250), 250);
        assert_eq!(
            BusyClock::unparked(word, 1_100),
            word,
            "a second unpark changes nothing"
        );
        word = BusyClock::parked(word, 1_300);
        assert_eq!(BusyClock::read(word, 9_000), 300, "parked: frozen");
        assert_eq!(
            BusyClock::parked(word, 9_000),
            word,
            "a second park changes nothing"
        );
        word = BusyClock::unparked(word, 5_000);
        assert_eq!(BusyClock::read(word, 5_000), 300);
        assert_eq!(BusyClock::read(word, 5_700), 1_000);
        word = BusyClock::parked(word, 6_000);
        assert_eq!(BusyClock::read(word, 7_000), 1_300);
    }
}
