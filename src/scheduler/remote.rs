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
    /// Nanoseconds spent unparked, up to the last park.
    pub(crate) busy_ns: AtomicU64,
    /// When the worker last unparked, in nanoseconds since the clock's origin; 0 while parked.
    pub(crate) unparked_at_ns: AtomicU64,
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
    pub(crate) fn busy(&self, clock: &Clock) -> Duration {
        // Relaxed: statistics.
        let mut ns = self.stats.busy_ns.load(Ordering::Relaxed);
        let since = self.stats.unparked_at_ns.load(Ordering::Relaxed);
        if since != 0 {
            ns += clock.precise_ns().saturating_sub(since);
        }
        Duration::from_nanos(ns)
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
