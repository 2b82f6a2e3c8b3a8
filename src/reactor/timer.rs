//! The timer driver: one timing wheel per worker (plus one shared by every other thread), the
//! clock, and the earliest-deadline bookkeeping that lets a blocked reactor turn be interrupted
//! by an earlier timer.
//!
//! Ticks are whole milliseconds since the driver's creation (`origin`). A deadline rounds *up*
//! to its tick and "now" rounds *down*, so an entry fires only once its deadline has passed.
//!
//! **Shards.** Each worker registers its sleeps in its own shard (chosen through a thread-local
//! "home shard" the worker sets when it starts); other threads share the last shard. A shard is
//! a wheel behind its own mutex, so registering and cancelling from the owning worker never
//! touch a lock another worker uses, and a sleep dropped on another worker (its task migrated)
//! locks the shard its entry lives in: cross-worker cancel is an ordinary, correct, rarely
//! contended lock. The thread turning the reactor fires due entries of every shard. Lock-free
//! mirrors of each wheel (`pending`, `elapsed`, `next_expiry`) let the hot paths skip locks:
//! `process` only locks a shard when something in it is due, and a `Sleep` whose tick is
//! `<= elapsed` of its shard is known to be done. Wakers are always woken (and replaced wakers
//! dropped) after the lock is released, since a waker may run arbitrary code.
//!
//! **Blocking protocol** with [`Reactor::turn`](super::Reactor::turn): before reading the
//! shards' `next_expiry`, [`next_timeout`](TimerDriver::next_timeout) stores `wait_tick = MAX`
//! ("about to block, horizon unknown"); [`begin_wait`](TimerDriver::begin_wait) then lowers it
//! to the tick the wait really ends at, and [`end_wait`](TimerDriver::end_wait) clears it. A
//! registration stores its shard's new `next_expiry` and then reads `wait_tick`, both SeqCst,
//! against the driver's store-then-read: either the driver's read sees the new entry, or the
//! registration sees a horizon (`MAX` or the lowered one) later than its tick and reports
//! "needs notify", and the caller breaks the wait with `Reactor::notify`. (Modelled in
//! `loom-tests/tests/timer.rs`.)

use super::wheel::{EntryState, Key, Wheel};
use crate::loom::sync::Mutex;
use crate::loom::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering, fence};
use std::cell::Cell;
use std::task::Waker;
use std::time::{Duration, Instant};

/// Longest single wait `next_timeout` asks for. Far deadlines (up to "never") are re-examined
/// once a day instead of handing the poller a duration that could overflow an `Instant`.
const MAX_WAIT: Duration = Duration::from_secs(24 * 60 * 60);

/// `wait_tick` value meaning "the driving thread is not blocked".
const NOT_WAITING: u64 = 0;

/// The owner's handle on a registered timer entry (see [`TimerDriver::register`]).
#[derive(Debug)]
pub(crate) struct TimerKey {
    shard: usize,
    key: Key,
}

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

/// One wheel and its lock-free mirrors.
#[repr(align(128))] // shards of different workers never share a cache line
struct Shard {
    inner: Mutex<Inner>,
    /// Mirror of `wheel.pending()`.
    pending: AtomicUsize,
    /// Mirror of `wheel.elapsed()`: every deadline tick `<=` this has fired.
    elapsed: AtomicU64,
    /// Mirror of `wheel.next_expiration()`, `u64::MAX` when nothing is pending.
    next_expiry: AtomicU64,
}

impl Shard {
    fn new() -> Shard {
        Shard {
            inner: Mutex::new(Inner {
                wheel: Wheel::new(),
                shut_down: false,
            }),
            pending: AtomicUsize::new(0),
            elapsed: AtomicU64::new(0),
            next_expiry: AtomicU64::new(u64::MAX),
        }
    }

    /// After an insert: the cheap part of `publish`. `next_expiry` only ever needs to move
    /// *earlier* here (an entry's own deadline is a valid wake-up tick: `advance` at or after it
    /// fires or cascades everything due); removals leave it early, which at worst wakes the
    /// driver once for nothing, after which `advance` publishes the exact value.
    ///
    /// Returns whether `next_expiry` was lowered: only then may the driver have computed its
    /// wait without this entry (otherwise it wakes at the earlier published tick anyway).
    fn published_insert(&self, inner: &Inner, tick: u64, pending: bool) -> bool {
        // Relaxed: as in `publish`.
        self.pending.store(inner.wheel.pending(), Ordering::Relaxed);
        self.elapsed.store(inner.wheel.elapsed(), Ordering::Relaxed);
        // (`u64::MAX` means "nothing pending", so the farthest deadline is stored one less.)
        let tick = tick.min(u64::MAX - 1);
        // Relaxed load: only written under the lock we hold.
        let lowered = pending && tick < self.next_expiry.load(Ordering::Relaxed);
        if lowered {
            // SeqCst (and the fence in `is_before_wait`): one side of the blocking protocol.
            self.next_expiry.store(tick, Ordering::SeqCst);
        }
        lowered
    }

    /// Refreshes the lock-free mirrors. Called at the end of every critical section that
    /// changed the wheel in other ways than an insert or a removal, so the last store in lock
    /// order is the current state.
    fn publish(&self, inner: &Inner) {
        let wheel = &inner.wheel;
        // Relaxed (pending, elapsed): hints; readers fall back to the lock (see each load).
        self.pending.store(wheel.pending(), Ordering::Relaxed);
        self.elapsed.store(wheel.elapsed(), Ordering::Relaxed);
        // SeqCst: one side of the blocking protocol (see the module documentation).
        self.next_expiry.store(
            wheel.next_expiration().unwrap_or(u64::MAX),
            Ordering::SeqCst,
        );
    }
}

crate::loom::thread_local! {
    /// The shard this thread registers in: `(driver address, shard index)`, set by a worker for
    /// its whole run.
    static HOME: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
}

/// Restores the thread's previous home shard when dropped.
pub(crate) struct HomeGuard {
    previous: (usize, usize),
}

impl Drop for HomeGuard {
    fn drop(&mut self) {
        let _ = HOME.try_with(|home| home.set(self.previous));
    }
}

/// The per-runtime timer driver (one field of the `Reactor`).
pub(crate) struct TimerDriver {
    /// Tick 0.
    origin: Instant,
    /// One per worker, then the shared one.
    shards: Box<[Shard]>,
    /// The tick the driving thread blocks until (`u64::MAX`: indefinitely or not yet known;
    /// `NOT_WAITING`).
    wait_tick: AtomicU64,
    /// The latest "now" tick the driving thread processed (a cheap, slightly stale clock that
    /// lets an empty wheel catch up at registration without reading the clock).
    processed: AtomicU64,
    /// Set once by `shutdown`.
    shut_down: AtomicBool,
}

impl TimerDriver {
    /// A driver with one shard per worker and one shared shard.
    pub(crate) fn new(workers: usize) -> Self {
        TimerDriver {
            origin: Instant::now(),
            shards: (0..=workers).map(|_| Shard::new()).collect(),
            wait_tick: AtomicU64::new(NOT_WAITING),
            processed: AtomicU64::new(0),
            shut_down: AtomicBool::new(false),
        }
    }

    /// Makes shard `index` (a worker's own) the one this thread registers in, until the guard
    /// drops.
    pub(crate) fn enter_home(&self, index: usize) -> HomeGuard {
        debug_assert!(
            index + 1 < self.shards.len(),
            "the last shard is the shared one"
        );
        let me = self as *const TimerDriver as usize;
        HomeGuard {
            previous: HOME.with(|home| home.replace((me, index))),
        }
    }

    /// The shard registrations from this thread go to.
    fn home_shard(&self) -> usize {
        let me = self as *const TimerDriver as usize;
        match HOME.try_with(Cell::get) {
            Ok((driver, index)) if driver == me => index,
            _ => self.shards.len() - 1,
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
    pub(crate) fn tick_instant(&self, tick: u64) -> Option<Instant> {
        self.origin.checked_add(Duration::from_millis(tick))
    }

    // ----- interface for Reactor::turn -----

    /// Whether any entry is pending.
    pub(crate) fn has_timers(&self) -> bool {
        self.pending() > 0
    }

    /// How many entries are pending, over every shard (the `timers_pending` metric).
    pub(crate) fn pending(&self) -> usize {
        // Relaxed: a hint for the scheduler's optional zero-timeout turn and a statistic; a
        // stale answer only moves that turn, and idle workers always consult `next_timeout`.
        self.shards
            .iter()
            .map(|s| s.pending.load(Ordering::Relaxed))
            .sum()
    }

    /// Fires every entry due at `now`, then wakes their wakers (after releasing the locks).
    /// Returns the number of wakers woken.
    pub(crate) fn process(&self, now: Instant) -> usize {
        let now_tick = self.now_tick(now);
        // Relaxed: only the driving thread writes it; registrations use it as a stale clock.
        self.processed.fetch_max(now_tick, Ordering::Relaxed);
        let mut wakers = Vec::new();
        for shard in self.shards.iter() {
            // Relaxed: a stale (too late) value only postpones firing to the next turn, which
            // first reads it SeqCst in `next_timeout` (and then sees the fresh value here).
            if now_tick < shard.next_expiry.load(Ordering::Relaxed) {
                continue;
            }
            let mut inner = crate::loom::lock(&shard.inner);
            inner.wheel.advance(now_tick, &mut wakers);
            shard.publish(&inner);
        }
        let woken = wakers.len();
        for waker in wakers {
            waker.wake();
        }
        woken
    }

    /// Time from `now` until the earliest tick at which something may fire (zero if it is
    /// already due); `None` when no timer is pending. Marks the driving thread as about to
    /// block (see the module documentation).
    pub(crate) fn next_timeout(&self, now: Instant) -> Option<Duration> {
        // SeqCst store and fence: the driver's half of the blocking protocol (store, then read
        // the shards; see `is_before_wait`).
        self.wait_tick.store(u64::MAX, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        let next = self
            .shards
            .iter()
            .map(|s| s.next_expiry.load(Ordering::SeqCst))
            .min()
            .filter(|&tick| tick != u64::MAX)?;
        let wait = match self.tick_instant(next) {
            Some(at) => at.saturating_duration_since(now),
            None => MAX_WAIT,
        };
        Some(wait.min(MAX_WAIT))
    }

    /// The driving thread is about to block until `until` (`None`: until notified).
    pub(crate) fn begin_wait(&self, until: Option<Instant>) {
        let tick = until.map_or(u64::MAX, |until| self.deadline_tick(until));
        // SeqCst: lowers the horizon published by `next_timeout`; a registration that reads
        // this value and is earlier still notifies (see the module documentation).
        self.wait_tick.store(tick.max(1), Ordering::SeqCst);
    }

    /// The driving thread stopped blocking.
    pub(crate) fn end_wait(&self) {
        // SeqCst: as in `begin_wait`.
        self.wait_tick.store(NOT_WAITING, Ordering::SeqCst);
    }

    /// Wakes every pending entry (they report [`EntryStatus::ShutDown`] from now on) and
    /// refuses new registrations.
    pub(crate) fn shutdown(&self) {
        let mut wakers = Vec::new();
        self.shut_down.store(true, Ordering::SeqCst);
        for shard in self.shards.iter() {
            let mut inner = crate::loom::lock(&shard.inner);
            inner.shut_down = true;
            // Pending -> Cancelled for every entry.
            inner.wheel.cancel_all(&mut wakers);
            shard.publish(&inner);
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

    /// Every deadline tick `<=` this value has fired in the shard of `key` (a lock-free check
    /// for a registered entry).
    pub(crate) fn elapsed_tick(&self, key: &TimerKey) -> u64 {
        // Relaxed: the value only states that the clock reached a tick; no data is published
        // with it, and a stale (smaller) value just sends the caller to the locked path.
        self.shards[key.shard].elapsed.load(Ordering::Relaxed)
    }

    /// Registers an entry for `tick` (from [`deadline_tick`](Self::deadline_tick)) with `waker`
    /// in this thread's home shard.
    pub(crate) fn register(&self, tick: u64, waker: &Waker) -> Result<Registration, ShutDown> {
        let index = self.home_shard();
        let shard = &self.shards[index];
        let (key, fired, lowered) = {
            let mut inner = crate::loom::lock(&shard.inner);
            if inner.shut_down {
                return Err(ShutDown);
            }
            self.catch_up_if_idle(&mut inner);
            // Free -> Pending, or Free -> Fired if the tick was already processed.
            let (key, state) = inner.wheel.insert(tick, waker);
            let fired = state == EntryState::Fired;
            let lowered = shard.published_insert(&inner, tick, !fired);
            (key, fired, lowered)
        };
        Ok(Registration {
            needs_notify: lowered && self.is_before_wait(tick),
            key: TimerKey { shard: index, key },
            fired,
        })
    }

    /// Checks a registered entry; if it is still pending, stores `waker` (unless the stored one
    /// already wakes the same task).
    pub(crate) fn poll_entry(&self, key: &TimerKey, waker: &Waker) -> EntryStatus {
        let replaced;
        {
            let mut inner = crate::loom::lock(&self.shards[key.shard].inner);
            match inner.wheel.state(&key.key) {
                EntryState::Fired => return EntryStatus::Fired,
                EntryState::Cancelled => return EntryStatus::ShutDown,
                EntryState::Pending => replaced = inner.wheel.set_waker(&key.key, waker),
            }
        }
        // The old waker is dropped here, outside the lock.
        drop(replaced);
        EntryStatus::Pending
    }

    /// Moves a registered entry to a new deadline tick, keeping its waker (and its shard).
    /// Returns whether the caller must call `Reactor::notify`. After shutdown the entry is
    /// cancelled instead (its next poll reports [`EntryStatus::ShutDown`] unless the deadline
    /// has passed).
    pub(crate) fn reset(&self, key: &TimerKey, tick: u64) -> bool {
        let shard = &self.shards[key.shard];
        let (pending, to_wake, to_drop) = {
            let mut inner = crate::loom::lock(&shard.inner);
            if inner.shut_down {
                // Fired/Cancelled -> Cancelled: nothing is re-armed after shutdown.
                (false, None, inner.wheel.cancel(&key.key))
            } else {
                self.catch_up_if_idle(&mut inner);
                // Pending/Fired/Cancelled -> Pending, or -> Fired (waker handed back) if the
                // tick was already processed.
                let (state, fired_waker) = inner.wheel.reset(&key.key, tick);
                shard.publish(&inner);
                (state == EntryState::Pending, fired_waker, None)
            }
        };
        drop(to_drop);
        if let Some(waker) = to_wake {
            waker.wake();
        }
        pending && self.is_before_wait(tick)
    }

    /// Frees a registered entry in whatever state it is (cancelling it if pending).
    pub(crate) fn remove(&self, key: TimerKey) {
        let shard = &self.shards[key.shard];
        let waker = {
            let mut inner = crate::loom::lock(&shard.inner);
            // Any state -> Free.
            let waker = inner.wheel.remove(key.key);
            // Relaxed: as in `publish`; `next_expiry` may stay early (see `published_insert`).
            shard
                .pending
                .store(inner.wheel.pending(), Ordering::Relaxed);
            waker
        };
        // Dropped outside the lock: it may be the last reference to a task.
        drop(waker);
    }

    // ----- helpers -----

    /// An empty wheel may jump to the last processed tick at no cost (nothing can fire); doing
    /// so keeps new entries on low levels instead of cascading down from wherever the wheel
    /// stopped. Called with the shard's lock held.
    fn catch_up_if_idle(&self, inner: &mut Inner) {
        if inner.wheel.pending() == 0 {
            // Relaxed: a tick that has fully passed (written by the driving thread); a stale
            // value only means a smaller jump.
            inner
                .wheel
                .jump_when_empty(self.processed.load(Ordering::Relaxed));
        }
    }

    /// Whether an entry at `tick`, already published in its shard's `next_expiry`, fires
    /// before the instant the driving thread blocks until (see the module documentation).
    fn is_before_wait(&self, tick: u64) -> bool {
        // The registration's half of the blocking protocol: its SeqCst store of `next_expiry`,
        // this fence, then the read, against the driver's store, fence, read. (Fences, so that
        // loom, which models SeqCst accesses as AcqRel, checks the protocol too.)
        fence(Ordering::SeqCst);
        tick < self.wait_tick.load(Ordering::SeqCst)
    }
}

impl std::fmt::Debug for TimerDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimerDriver")
            .field("shards", &self.shards.len())
            .field("pending", &self.pending())
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
        let driver = TimerDriver::new(1);
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
        let driver = TimerDriver::new(1);
        let o = driver.origin;
        let (count, waker) = counter();
        let deadline = o + ms(10) + Duration::from_micros(300);
        let tick = driver.deadline_tick(deadline);
        assert_eq!(tick, 11);
        let reg = driver.register(tick, &waker).unwrap();
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
        assert!(driver.elapsed_tick(&reg.key) >= tick);
        assert_eq!(driver.poll_entry(&reg.key, &waker), EntryStatus::Fired);
        assert_eq!(driver.next_timeout(o + ms(11)), None);
        driver.remove(reg.key);
    }

    #[test]
    fn registering_a_processed_tick_fires_at_once() {
        let driver = TimerDriver::new(1);
        let o = driver.origin;
        let (count, waker) = counter();
        assert_eq!(driver.process(o + ms(50)), 0);
        // An idle wheel catches up with the clock at registration.
        let reg = driver.register(40, &waker).unwrap();
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
        let driver = TimerDriver::new(1);
        let o = driver.origin;
        let (_, waker) = counter();
        let a = driver.register(50, &waker).unwrap();
        // The driver computes its wait (until tick 50) and blocks.
        assert_eq!(driver.next_timeout(o), Some(ms(50)));
        driver.begin_wait(Some(o + ms(50)));
        let later = driver.register(60, &waker).unwrap();
        assert!(!later.needs_notify);
        let same = driver.register(50, &waker).unwrap();
        assert!(!same.needs_notify);
        let earlier = driver.register(30, &waker).unwrap();
        assert!(earlier.needs_notify);
        // Reset earlier / later than the wait.
        assert!(driver.reset(&later.key, 45));
        assert!(!driver.reset(&later.key, 55));
        driver.end_wait();
        for reg in [a, later, same, earlier] {
            driver.remove(reg.key);
        }
        // Not blocked: no notify needed.
        let free = driver.register(50, &waker).unwrap();
        assert!(!free.needs_notify);
        // Removed entries may leave the published expiry early (30 here): the driver then wakes
        // once for nothing, and `process` publishes the exact value.
        assert_eq!(driver.next_timeout(o), Some(ms(30)));
        driver.end_wait();
        assert_eq!(driver.process(o + ms(30)), 0);
        assert_eq!(driver.next_timeout(o + ms(30)), Some(ms(20)));
        // Between next_timeout and begin_wait the horizon is not known yet: any registration
        // notifies.
        let before_begin = driver.register(40, &waker).unwrap();
        assert!(before_begin.needs_notify);
        driver.end_wait();
        // A far deadline: once processed, the wait ends at the start of its level-2 slot
        // (tick 4096), an early but harmless wake-up that cascades it.
        driver.remove(free.key);
        driver.remove(before_begin.key);
        let far = driver.register(5000, &waker).unwrap();
        assert_eq!(driver.process(o + ms(40)), 0);
        assert_eq!(driver.next_timeout(o + ms(40)), Some(ms(4056)));
        assert_eq!(driver.process(o + ms(4096)), 0);
        // Now on level 1: its slot starts at tick 4992; then level 0 gives the exact tick.
        assert_eq!(driver.next_timeout(o + ms(4096)), Some(ms(896)));
        assert_eq!(driver.process(o + ms(4992)), 0);
        assert_eq!(driver.next_timeout(o + ms(4992)), Some(ms(8)));
        // A later entry than a pending one needs no notify: the wait already ends earlier.
        driver.begin_wait(Some(o + ms(5000)));
        let later = driver.register(6000, &waker).unwrap();
        assert!(!later.needs_notify);
        driver.end_wait();
        driver.remove(far.key);
        driver.remove(later.key);
        assert_eq!(
            driver.process(o + ms(5000)),
            0,
            "the stale expiry is cleared"
        );
        // Blocking without a deadline (no timer pending): every registration must notify.
        assert_eq!(driver.next_timeout(o + ms(5000)), None);
        driver.begin_wait(None);
        let any = driver.register(1 << 40, &waker).unwrap();
        assert!(any.needs_notify);
        driver.end_wait();
        driver.remove(any.key);
        assert!(!driver.has_timers());
    }

    #[test]
    fn reset_and_remove() {
        let driver = TimerDriver::new(1);
        let o = driver.origin;
        let (count, waker) = counter();
        let reg = driver.register(20, &waker).unwrap();
        assert!(!driver.reset(&reg.key, 40));
        assert_eq!(driver.process(o + ms(30)), 0);
        assert_eq!(driver.process(o + ms(40)), 1);
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        // Re-arm the fired entry; its waker was consumed, so poll stores a new one.
        driver.reset(&reg.key, 60);
        assert!(driver.has_timers());
        assert_eq!(driver.poll_entry(&reg.key, &waker), EntryStatus::Pending);
        // Reset into the already-processed past: fires at once and wakes.
        driver.reset(&reg.key, 35);
        assert_eq!(count.0.load(Ordering::SeqCst), 2);
        assert_eq!(driver.poll_entry(&reg.key, &waker), EntryStatus::Fired);
        // Removing a pending entry cancels it: nothing fires later.
        driver.reset(&reg.key, 90);
        driver.remove(reg.key);
        assert!(!driver.has_timers());
        assert_eq!(driver.process(o + ms(100)), 0);
        assert_eq!(count.0.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn shutdown_wakes_everything_and_refuses() {
        let driver = TimerDriver::new(1);
        let o = driver.origin;
        let (count, waker) = counter();
        let regs: Vec<Registration> = [5u64, 500, 1 << 40]
            .iter()
            .map(|&t| driver.register(t, &waker).unwrap())
            .collect();
        let fired = driver.register(1, &waker).unwrap();
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
        assert!(!driver.reset(&fired.key, 100));
        assert_eq!(driver.poll_entry(&fired.key, &waker), EntryStatus::ShutDown);
        assert!(driver.register(10, &waker).is_err());
        assert_eq!(driver.process(o + ms(10_000)), 0);
        for reg in regs {
            driver.remove(reg.key);
        }
        driver.remove(fired.key);
    }

    #[test]
    fn far_deadlines_cap_the_wait() {
        let driver = TimerDriver::new(1);
        let o = driver.origin;
        let (_, waker) = counter();
        let reg = driver.register(u64::MAX, &waker).unwrap();
        let wait = driver.next_timeout(o).unwrap();
        assert_eq!(wait, MAX_WAIT);
        assert_eq!(driver.process(o + Duration::from_secs(86_400 * 365)), 0);
        driver.remove(reg.key);
    }

    #[test]
    fn wakers_are_replaced_only_for_other_tasks() {
        let driver = TimerDriver::new(1);
        let o = driver.origin;
        let (first, waker_a) = counter();
        let (second, waker_b) = counter();
        let reg = driver.register(5, &waker_a).unwrap();
        assert_eq!(driver.poll_entry(&reg.key, &waker_b), EntryStatus::Pending);
        assert_eq!(driver.process(o + ms(5)), 1);
        assert_eq!(first.0.load(Ordering::SeqCst), 0);
        assert_eq!(second.0.load(Ordering::SeqCst), 1);
        driver.remove(reg.key);
    }

    #[test]
    fn concurrent_register_and_process() {
        // Four threads, each in its own shard (as four workers), register and drop timers while
        // one thread processes every shard: every entry that is not removed is woken exactly
        // once, none before its tick. (Smaller under miri, which is ~1000x slower.)
        let per_thread: u64 = if cfg!(miri) { 60 } else { 2000 };
        let driver = Arc::new(TimerDriver::new(4));
        let o = driver.origin;
        let total = Arc::new(StdAtomicUsize::new(0));
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                let driver = driver.clone();
                std::thread::spawn(move || {
                    let _home = driver.enter_home(t as usize);
                    let (count, waker) = counter();
                    let (_, removed_waker) = counter();
                    let mut kept = Vec::new();
                    for i in 0..per_thread {
                        let tick = 1 + (i * 7 + t) % 300;
                        if i % 3 == 0 {
                            let reg = driver.register(tick, &removed_waker).unwrap();
                            driver.remove(reg.key);
                        } else {
                            kept.push(driver.register(tick, &waker).unwrap());
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
                for step in (0..=400u64).step_by(if cfg!(miri) { 40 } else { 1 }) {
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
        let removed = 4 * per_thread.div_ceil(3) as usize;
        assert!(
            total >= kept_total && total <= kept_total + removed,
            "{total}"
        );
        assert!(!driver.has_timers());
    }
}
