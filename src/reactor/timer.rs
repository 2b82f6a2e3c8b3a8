//! The timer driver: the timing wheel behind a lock, the clock, and the earliest-deadline
//! bookkeeping that lets a blocked reactor turn be interrupted by an earlier timer.
//!
//! Ticks are whole milliseconds since the driver's creation (`origin`). A deadline rounds *up*
//! to its tick and "now" rounds *down*, so an entry fires only once its deadline has passed.
//! The wheel sits behind one `Mutex`; every critical section is a handful of list operations,
//! and wakers are always woken (and replaced wakers dropped) after the lock is released, since a
//! waker may run arbitrary code. Lock-free mirrors of the wheel (`pending`, `elapsed`,
//! `next_expiry`) let the hot paths skip the lock: `has_timers` is one load, `process` only
//! locks when something is due, and a `Sleep` whose tick is `<= elapsed` is known to be done.
//!
//! Blocking protocol with [`Reactor::turn`](super::Reactor::turn): `next_timeout` publishes
//! (under the lock) the tick the driving thread is about to block until as `wait_tick`, then
//! `begin_wait` lowers it to the real wake-up instant and `end_wait` clears it. Registrations
//! compare their tick with `wait_tick` while holding the lock: if their lock section comes
//! first, `next_timeout` sees the new entry; otherwise they see `wait_tick` and report
//! "needs notify" when they are earlier, and the caller breaks the wait with `Reactor::notify`.

use super::wheel::{EntryState, Key, Wheel};
use crate::loom::sync::Mutex;
use crate::loom::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::Waker;
use std::time::{Duration, Instant};

/// Longest single wait `next_timeout` asks for. Far deadlines (up to "never") are re-examined
/// once a day instead of handing the poller a duration that could overflow an `Instant`.
const MAX_WAIT: Duration = Duration::from_secs(24 * 60 * 60);

/// `wait_tick` value meaning "the driving thread is not blocked".
const NOT_WAITING: u64 = 0;

/// The owner's handle on a registered timer entry (see [`TimerDriver::register`]).
pub(crate) type TimerKey = Key;

/// What a poll of a registered entry found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EntryStatus {
    /// The deadline was reached.
    Fired,
    /// Still waiting; the given waker is stored.
    Pending,
    /// The runtime shut down before the deadline: it will never fire.
    ShutDown,
}

/// Result of a successful [`TimerDriver::register`].
#[derive(Debug)]
pub(crate) struct Registration {
    pub(crate) key: TimerKey,
    /// The deadline had already been processed: the entry fired at once.
    pub(crate) fired: bool,
    /// The deadline is earlier than the instant the driving thread blocks until: the caller
    /// must call `Reactor::notify`.
    pub(crate) needs_notify: bool,
}

/// Registration refused because the runtime shut down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ShutDown;

struct Inner {
    wheel: Wheel,
    /// Set once by `shutdown`; from then on nothing is (re-)armed.
    shut_down: bool,
}

/// The per-runtime timer driver (one field of the `Reactor`).
pub(crate) struct TimerDriver {
    /// Tick 0.
    origin: Instant,
    inner: Mutex<Inner>,
    /// Mirror of `wheel.pending()`.
    pending: AtomicUsize,
    /// Mirror of `wheel.elapsed()`: every deadline tick `<=` this has fired.
    elapsed: AtomicU64,
    /// Mirror of `wheel.next_expiration()`, `u64::MAX` when nothing is pending.
    next_expiry: AtomicU64,
    /// The tick the driving thread blocks until (`u64::MAX`: indefinitely; `NOT_WAITING`).
    wait_tick: AtomicU64,
    /// Mirror of `inner.shut_down`.
    shut_down: AtomicBool,
}

impl TimerDriver {
    pub(crate) fn new() -> Self {
        TimerDriver {
            origin: Instant::now(),
            inner: Mutex::new(Inner {
                wheel: Wheel::new(),
                shut_down: false,
            }),
            pending: AtomicUsize::new(0),
            elapsed: AtomicU64::new(0),
            next_expiry: AtomicU64::new(u64::MAX),
            wait_tick: AtomicU64::new(NOT_WAITING),
            shut_down: AtomicBool::new(false),
        }
    }

    // ----- clock -----

    /// The tick of a deadline, rounded up (saturating), so that it never fires early.
    pub(crate) fn deadline_tick(&self, deadline: Instant) -> u64 {
        // u64 arithmetic on purpose: `as_nanos()` is a u128 and its division is a libcall that
        // cost ~10% of a Sleep's registration (measured with callgrind).
        match deadline.checked_duration_since(self.origin) {
            Some(since) => since
                .as_secs()
                .saturating_mul(1_000)
                .saturating_add(u64::from(since.subsec_nanos().div_ceil(1_000_000))),
            None => 0,
        }
    }

    /// The tick of the present, rounded down (saturating): every tick `<=` it has fully passed.
    fn now_tick(&self, now: Instant) -> u64 {
        let since = now.saturating_duration_since(self.origin);
        since
            .as_secs()
            .saturating_mul(1_000)
            .saturating_add(u64::from(since.subsec_millis()))
    }

    /// The instant a tick starts at, `None` if it is not representable.
    fn tick_instant(&self, tick: u64) -> Option<Instant> {
        self.origin.checked_add(Duration::from_millis(tick))
    }

    // ----- interface for Reactor::turn -----

    /// Whether any entry is pending. One atomic load.
    pub(crate) fn has_timers(&self) -> bool {
        // Relaxed: a hint for the scheduler's optional zero-timeout turn; a stale answer only
        // moves that turn, and idle workers always consult `next_timeout` under the lock.
        self.pending.load(Ordering::Relaxed) > 0
    }

    /// Fires every entry due at `now`, then wakes their wakers (after releasing the lock).
    /// Returns the number of wakers woken.
    pub(crate) fn process(&self, now: Instant) -> usize {
        let now_tick = self.now_tick(now);
        // Relaxed: a stale (too late) value only postpones firing to the next turn, which first
        // takes the lock in `next_timeout` and then sees the fresh value here.
        if now_tick < self.next_expiry.load(Ordering::Relaxed) {
            return 0;
        }
        let mut wakers = Vec::new();
        {
            let mut inner = crate::loom::lock(&self.inner);
            inner.wheel.advance(now_tick, &mut wakers);
            self.publish(&inner);
        }
        let woken = wakers.len();
        for waker in wakers {
            waker.wake();
        }
        woken
    }

    /// Time from `now` until the earliest tick at which something may fire (zero if it is
    /// already due); `None` when no timer is pending. Also records that tick as the one the
    /// driving thread is about to block until (see the module documentation).
    pub(crate) fn next_timeout(&self, now: Instant) -> Option<Duration> {
        let next = {
            let inner = crate::loom::lock(&self.inner);
            let next = inner.wheel.next_expiration();
            // Relaxed: stored and read under `inner`'s lock (registrations read it inside their
            // critical section), which orders it; begin_wait/end_wait only refine it.
            self.wait_tick
                .store(next.unwrap_or(u64::MAX), Ordering::Relaxed);
            next
        }?;
        let wait = match self.tick_instant(next) {
            Some(at) => at.saturating_duration_since(now),
            None => MAX_WAIT,
        };
        Some(wait.min(MAX_WAIT))
    }

    /// The driving thread is about to block until `until` (`None`: until notified).
    pub(crate) fn begin_wait(&self, until: Option<Instant>) {
        let tick = until.map_or(u64::MAX, |until| self.deadline_tick(until));
        // Relaxed: only the driving thread writes; a registration that reads the value stored by
        // `next_timeout` instead gets a later tick, i.e. at worst one spurious notify.
        self.wait_tick.store(tick, Ordering::Relaxed);
    }

    /// The driving thread stopped blocking.
    pub(crate) fn end_wait(&self) {
        // Relaxed: the driver is awake and will consult the wheel under the lock before it
        // blocks again; a registration that still reads the old tick merely notifies needlessly.
        self.wait_tick.store(NOT_WAITING, Ordering::Relaxed);
    }

    /// Wakes every pending entry (they report [`EntryStatus::ShutDown`] from now on) and
    /// refuses new registrations.
    pub(crate) fn shutdown(&self) {
        let mut wakers = Vec::new();
        {
            let mut inner = crate::loom::lock(&self.inner);
            inner.shut_down = true;
            // Pending -> Cancelled for every entry.
            inner.wheel.cancel_all(&mut wakers);
            self.shut_down.store(true, Ordering::SeqCst);
            self.publish(&inner);
        }
        for waker in wakers {
            waker.wake();
        }
    }

    // ----- interface for Sleep -----

    /// Whether [`shutdown`](Self::shutdown) ran.
    pub(crate) fn is_shut_down(&self) -> bool {
        self.shut_down.load(Ordering::SeqCst)
    }

    /// Every deadline tick `<=` this value has fired (lock-free check for a registered entry).
    pub(crate) fn elapsed_tick(&self) -> u64 {
        // Relaxed: the value only states that the clock reached a tick; no data is published
        // with it, and a stale (smaller) value just sends the caller to the locked path.
        self.elapsed.load(Ordering::Relaxed)
    }

    /// Registers an entry for `tick` (from [`deadline_tick`](Self::deadline_tick)) with `waker`.
    /// `now` lets an idle wheel catch up with the clock first.
    pub(crate) fn register(
        &self,
        tick: u64,
        waker: &Waker,
        now: Instant,
    ) -> Result<Registration, ShutDown> {
        let mut inner = crate::loom::lock(&self.inner);
        if inner.shut_down {
            return Err(ShutDown);
        }
        self.catch_up_if_idle(&mut inner, now);
        // Free -> Pending, or Free -> Fired if the tick was already processed.
        let (key, state) = inner.wheel.insert(tick, waker);
        let fired = state == EntryState::Fired;
        let needs_notify = !fired && self.is_before_wait(tick);
        self.publish(&inner);
        Ok(Registration {
            key,
            fired,
            needs_notify,
        })
    }

    /// Checks a registered entry; if it is still pending, stores `waker` (unless the stored one
    /// already wakes the same task).
    pub(crate) fn poll_entry(&self, key: &TimerKey, waker: &Waker) -> EntryStatus {
        let replaced;
        {
            let mut inner = crate::loom::lock(&self.inner);
            match inner.wheel.state(key) {
                EntryState::Fired => return EntryStatus::Fired,
                EntryState::Cancelled => return EntryStatus::ShutDown,
                EntryState::Pending => replaced = inner.wheel.set_waker(key, waker),
            }
        }
        // The old waker is dropped here, outside the lock.
        drop(replaced);
        EntryStatus::Pending
    }

    /// Moves a registered entry to a new deadline tick, keeping its waker. Returns whether the
    /// caller must call `Reactor::notify`. After shutdown the entry is cancelled instead (its
    /// next poll reports [`EntryStatus::ShutDown`] unless the deadline has passed).
    pub(crate) fn reset(&self, key: &TimerKey, tick: u64, now: Instant) -> bool {
        let (needs_notify, to_wake, to_drop) = {
            let mut inner = crate::loom::lock(&self.inner);
            if inner.shut_down {
                // Fired/Cancelled -> Cancelled: nothing is re-armed after shutdown.
                (false, None, inner.wheel.cancel(key))
            } else {
                self.catch_up_if_idle(&mut inner, now);
                // Pending/Fired/Cancelled -> Pending, or -> Fired (waker handed back) if the
                // tick was already processed.
                let (state, fired_waker) = inner.wheel.reset(key, tick);
                let needs_notify = state == EntryState::Pending && self.is_before_wait(tick);
                self.publish(&inner);
                (needs_notify, fired_waker, None)
            }
        };
        drop(to_drop);
        if let Some(waker) = to_wake {
            waker.wake();
        }
        needs_notify
    }

    /// Frees a registered entry in whatever state it is (cancelling it if pending).
    pub(crate) fn remove(&self, key: TimerKey) {
        let waker = {
            let mut inner = crate::loom::lock(&self.inner);
            // Any state -> Free.
            let waker = inner.wheel.remove(key);
            self.publish(&inner);
            waker
        };
        // Dropped outside the lock: it may be the last reference to a task.
        drop(waker);
    }

    // ----- helpers (called with the lock held) -----

    /// An empty wheel may jump to the present at no cost (nothing can fire); doing so keeps new
    /// entries on low levels instead of cascading down from wherever the wheel stopped.
    fn catch_up_if_idle(&self, inner: &mut Inner, now: Instant) {
        if inner.wheel.pending() == 0 {
            inner.wheel.jump_when_empty(self.now_tick(now));
        }
    }

    /// Whether an entry at `tick` fires before the instant the driving thread blocks until.
    /// Must be called with the lock held (see the module documentation).
    fn is_before_wait(&self, tick: u64) -> bool {
        // Relaxed: read under the lock that `next_timeout` stored it under (see there).
        tick < self.wait_tick.load(Ordering::Relaxed)
    }

    /// Refreshes the lock-free mirrors. Called at the end of every critical section that
    /// changed the wheel, so the last store in lock order is the current state.
    fn publish(&self, inner: &Inner) {
        let wheel = &inner.wheel;
        // Relaxed (all three): readers use them as hints and fall back to the lock (see the
        // comments at each load); the lock orders the stores among themselves.
        self.pending.store(wheel.pending(), Ordering::Relaxed);
        self.elapsed.store(wheel.elapsed(), Ordering::Relaxed);
        self.next_expiry.store(
            wheel.next_expiration().unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }
}

impl std::fmt::Debug for TimerDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Relaxed: a diagnostic snapshot; nothing is read through it.
        f.debug_struct("TimerDriver")
            .field("pending", &self.pending.load(Ordering::Relaxed))
            .field("elapsed_tick", &self.elapsed.load(Ordering::Relaxed))
            .field("shut_down", &self.is_shut_down())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize as StdAtomicUsize;
    use std::task::Wake;

    struct Counter(StdAtomicUsize);

    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counter() -> (Arc<Counter>, Waker) {
        let counter = Arc::new(Counter(StdAtomicUsize::new(0)));
        (counter.clone(), Waker::from(counter))
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn ticks_round_deadlines_up_and_now_down() {
        let driver = TimerDriver::new();
        let o = driver.origin;
        assert_eq!(driver.deadline_tick(o), 0);
        assert_eq!(driver.deadline_tick(o - ms(5)), 0);
        assert_eq!(driver.deadline_tick(o + Duration::from_nanos(1)), 1);
        assert_eq!(driver.deadline_tick(o + ms(7)), 7);
        assert_eq!(
            driver.deadline_tick(o + ms(7) + Duration::from_micros(1)),
            8
        );
        assert_eq!(driver.now_tick(o + ms(7) + Duration::from_micros(999)), 7);
        assert_eq!(driver.now_tick(o - ms(1)), 0);
        // Far future: no overflow, just a big tick.
        let far = o + Duration::from_secs(86_400 * 365 * 30);
        assert_eq!(driver.deadline_tick(far), 86_400 * 365 * 30 * 1000);
    }

    #[test]
    fn register_process_and_never_early() {
        let driver = TimerDriver::new();
        let o = driver.origin;
        let (count, waker) = counter();
        let deadline = o + ms(10) + Duration::from_micros(300);
        let tick = driver.deadline_tick(deadline);
        assert_eq!(tick, 11);
        let reg = driver.register(tick, &waker, o).unwrap();
        assert!(!reg.fired);
        assert!(!reg.needs_notify, "the driver is not blocked");
        assert!(driver.has_timers());
        assert_eq!(driver.poll_entry(&reg.key, &waker), EntryStatus::Pending);
        // 10.999 ms: before the deadline, nothing fires.
        assert_eq!(driver.process(o + ms(10) + Duration::from_micros(999)), 0);
        assert_eq!(driver.poll_entry(&reg.key, &waker), EntryStatus::Pending);
        assert_eq!(driver.next_timeout(o + ms(10)), Some(ms(1)));
        assert_eq!(driver.process(o + ms(11)), 1);
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert!(!driver.has_timers());
        assert!(driver.elapsed_tick() >= tick);
        assert_eq!(driver.poll_entry(&reg.key, &waker), EntryStatus::Fired);
        assert_eq!(driver.next_timeout(o + ms(11)), None);
        driver.remove(reg.key);
    }

    #[test]
    fn registering_a_processed_tick_fires_at_once() {
        let driver = TimerDriver::new();
        let o = driver.origin;
        let (count, waker) = counter();
        assert_eq!(driver.process(o + ms(50)), 0);
        // An idle wheel catches up with the clock at registration.
        let reg = driver.register(40, &waker, o + ms(50)).unwrap();
        assert!(reg.fired);
        assert!(!reg.needs_notify);
        assert_eq!(
            count.0.load(Ordering::SeqCst),
            0,
            "the caller completes, no wake"
        );
        assert!(!driver.has_timers());
        driver.remove(reg.key);
    }

    #[test]
    fn notify_only_when_earlier_than_the_wait() {
        let driver = TimerDriver::new();
        let o = driver.origin;
        let (_, waker) = counter();
        let a = driver.register(50, &waker, o).unwrap();
        // The driver computes its wait (until tick 50) and blocks.
        assert_eq!(driver.next_timeout(o), Some(ms(50)));
        driver.begin_wait(Some(o + ms(50)));
        let later = driver.register(60, &waker, o).unwrap();
        assert!(!later.needs_notify);
        let same = driver.register(50, &waker, o).unwrap();
        assert!(!same.needs_notify);
        let earlier = driver.register(30, &waker, o).unwrap();
        assert!(earlier.needs_notify);
        // Reset earlier / later than the wait.
        assert!(driver.reset(&later.key, 45, o));
        assert!(!driver.reset(&later.key, 55, o));
        driver.end_wait();
        for reg in [a, later, same, earlier] {
            driver.remove(reg.key);
        }
        // Not blocked: no notify needed.
        let free = driver.register(50, &waker, o).unwrap();
        assert!(!free.needs_notify);
        // Between next_timeout and begin_wait the published tick (50) already counts.
        assert_eq!(driver.next_timeout(o), Some(ms(50)));
        let before_begin = driver.register(30, &waker, o).unwrap();
        assert!(before_begin.needs_notify);
        // A far deadline: the wait ends at the start of its level-2 slot (tick 4096), an early
        // but harmless wake-up that cascades it.
        driver.remove(free.key);
        driver.remove(before_begin.key);
        let far = driver.register(5000, &waker, o).unwrap();
        assert_eq!(driver.next_timeout(o), Some(ms(4096)));
        assert_eq!(driver.process(o + ms(4096)), 0);
        // Now on level 1: its slot starts at tick 4992; then level 0 gives the exact tick.
        assert_eq!(driver.next_timeout(o + ms(4096)), Some(ms(896)));
        assert_eq!(driver.process(o + ms(4992)), 0);
        assert_eq!(driver.next_timeout(o + ms(4992)), Some(ms(8)));
        // Blocking without a deadline: every registration must notify.
        driver.begin_wait(None);
        let any = driver.register(1 << 40, &waker, o).unwrap();
        assert!(any.needs_notify);
        driver.end_wait();
        driver.remove(far.key);
        driver.remove(any.key);
        assert!(!driver.has_timers());
    }

    #[test]
    fn reset_and_remove() {
        let driver = TimerDriver::new();
        let o = driver.origin;
        let (count, waker) = counter();
        let reg = driver.register(20, &waker, o).unwrap();
        assert!(!driver.reset(&reg.key, 40, o));
        assert_eq!(driver.process(o + ms(30)), 0);
        assert_eq!(driver.process(o + ms(40)), 1);
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        // Re-arm the fired entry; its waker was consumed, so poll stores a new one.
        driver.reset(&reg.key, 60, o + ms(40));
        assert!(driver.has_timers());
        assert_eq!(driver.poll_entry(&reg.key, &waker), EntryStatus::Pending);
        // Reset into the already-processed past: fires at once and wakes.
        driver.reset(&reg.key, 35, o + ms(40));
        assert_eq!(count.0.load(Ordering::SeqCst), 2);
        assert_eq!(driver.poll_entry(&reg.key, &waker), EntryStatus::Fired);
        // Removing a pending entry cancels it: nothing fires later.
        driver.reset(&reg.key, 90, o + ms(40));
        driver.remove(reg.key);
        assert!(!driver.has_timers());
        assert_eq!(driver.process(o + ms(100)), 0);
        assert_eq!(count.0.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn shutdown_wakes_everything_and_refuses() {
        let driver = TimerDriver::new();
        let o = driver.origin;
        let (count, waker) = counter();
        let regs: Vec<Registration> = [5u64, 500, 1 << 40]
            .iter()
            .map(|&t| driver.register(t, &waker, o).unwrap())
            .collect();
        let fired = driver.register(1, &waker, o).unwrap();
        assert_eq!(driver.process(o + ms(1)), 1);
        driver.shutdown();
        assert!(driver.is_shut_down());
        assert_eq!(count.0.load(Ordering::SeqCst), 4);
        assert!(!driver.has_timers());
        for reg in &regs {
            assert_eq!(driver.poll_entry(&reg.key, &waker), EntryStatus::ShutDown);
        }
        assert_eq!(driver.poll_entry(&fired.key, &waker), EntryStatus::Fired);
        // A re-arm after shutdown is refused: the entry reports shutdown, never fires early.
        assert!(!driver.reset(&fired.key, 100, o));
        assert_eq!(driver.poll_entry(&fired.key, &waker), EntryStatus::ShutDown);
        assert!(driver.register(10, &waker, o).is_err());
        assert_eq!(driver.process(o + ms(10_000)), 0);
        for reg in regs {
            driver.remove(reg.key);
        }
        driver.remove(fired.key);
    }

    #[test]
    fn far_deadlines_cap_the_wait() {
        let driver = TimerDriver::new();
        let o = driver.origin;
        let (_, waker) = counter();
        let reg = driver.register(u64::MAX, &waker, o).unwrap();
        let wait = driver.next_timeout(o).unwrap();
        assert_eq!(wait, MAX_WAIT);
        assert_eq!(driver.process(o + Duration::from_secs(86_400 * 365)), 0);
        driver.remove(reg.key);
    }

    #[test]
    fn wakers_are_replaced_only_for_other_tasks() {
        let driver = TimerDriver::new();
        let o = driver.origin;
        let (first, waker_a) = counter();
        let (second, waker_b) = counter();
        let reg = driver.register(5, &waker_a, o).unwrap();
        assert_eq!(driver.poll_entry(&reg.key, &waker_b), EntryStatus::Pending);
        assert_eq!(driver.process(o + ms(5)), 1);
        assert_eq!(first.0.load(Ordering::SeqCst), 0);
        assert_eq!(second.0.load(Ordering::SeqCst), 1);
        driver.remove(reg.key);
    }

    #[test]
    fn concurrent_register_and_process() {
        // Several threads register and drop timers while one thread processes: every entry
        // that is not removed is woken exactly once, none before its tick.
        let driver = Arc::new(TimerDriver::new());
        let o = driver.origin;
        let total = Arc::new(StdAtomicUsize::new(0));
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                let driver = driver.clone();
                std::thread::spawn(move || {
                    let (count, waker) = counter();
                    let (_, removed_waker) = counter();
                    let mut kept = Vec::new();
                    for i in 0..2000u64 {
                        let tick = 1 + (i * 7 + t) % 300;
                        if i % 3 == 0 {
                            let reg = driver.register(tick, &removed_waker, o).unwrap();
                            driver.remove(reg.key);
                        } else {
                            kept.push(driver.register(tick, &waker, o).unwrap());
                        }
                    }
                    (count, kept)
                })
            })
            .collect();
        let processor = {
            let driver = driver.clone();
            let total = total.clone();
            std::thread::spawn(move || {
                for step in 0..=400u64 {
                    total.fetch_add(driver.process(o + ms(step)), Ordering::SeqCst);
                }
            })
        };
        let results: Vec<_> = threads.into_iter().map(|h| h.join().unwrap()).collect();
        processor.join().unwrap();
        // Registrations after the processor passed their tick fired on insert (no wake).
        total.fetch_add(driver.process(o + ms(1000)), Ordering::SeqCst);
        let mut kept_total = 0;
        let mut woken = 0;
        for (count, kept) in results {
            for reg in kept {
                if !reg.fired {
                    kept_total += 1;
                }
                assert_eq!(
                    driver.poll_entry(&reg.key, Waker::noop()),
                    EntryStatus::Fired
                );
                driver.remove(reg.key);
            }
            woken += count.0.load(Ordering::SeqCst);
        }
        assert_eq!(woken, kept_total);
        // Removed entries may have fired before their removal, never more than once.
        let total = total.load(Ordering::SeqCst);
        assert!(
            total >= kept_total && total <= kept_total + 4 * 667,
            "{total}"
        );
        assert!(!driver.has_timers());
    }
}
