//! [`Sleep`]: a future that completes at a deadline.
//!
//! Creating a `Sleep` touches nothing shared. Its first poll looks up the current runtime's
//! reactor, completes at once if the deadline has passed, and otherwise registers an entry in
//! the timer driver (breaking the reactor's blocking wait if this deadline is earlier). Later
//! polls are cheap: if the driver's processed tick has reached ours, or the clock has reached
//! the deadline, the sleep is done without locking; only a still-pending sleep takes the timer
//! lock to refresh its waker. Dropping a registered `Sleep` frees its entry at once.

use super::deadline_after;
use crate::loom::sync::Arc;
use crate::reactor::Reactor;
use crate::reactor::timer::{EntryStatus, TimerKey};
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

#[cold]
#[inline(never)]
fn outside_runtime(created_at: &Location<'_>) -> ! {
    panic!(
        "the spindle::time timer (Sleep, Timeout or Interval) created at {created_at} must be \
         polled inside a spindle runtime (inside spindle::run, Runtime::block_on, a task, or \
         Handle::enter)"
    )
}

#[cold]
#[inline(never)]
fn after_shutdown(created_at: &Location<'_>) -> ! {
    panic!(
        "the spindle::time timer (Sleep, Timeout or Interval) created at {created_at} was polled \
         after its runtime shut down, so it can never fire: keep the Runtime alive (stay inside \
         spindle::run or Runtime::block_on) while its timers are in use"
    )
}

/// Waits until `duration` has elapsed.
///
/// The returned [`Sleep`] does nothing until it is awaited (polled) inside a spindle runtime.
/// It never completes early, and its resolution is 1 ms. A `duration` too large to add to
/// `Instant::now()` (such as [`Duration::MAX`]) means "about 30 years", without panicking.
///
/// ```
/// use std::time::{Duration, Instant};
///
/// spindle::run(async {
///     let start = Instant::now();
///     spindle::time::sleep(Duration::from_millis(20)).await;
///     assert!(start.elapsed() >= Duration::from_millis(20));
/// });
/// ```
#[track_caller]
pub fn sleep(duration: Duration) -> Sleep {
    let mut sleep = sleep_until(deadline_after(Instant::now(), duration));
    // The deadline is in the future right now, so the first poll need not read the clock
    // again: if it has passed by then, the wheel fires the entry at once or at its next turn.
    sleep.future_at_creation = !duration.is_zero();
    sleep
}

/// Waits until `deadline`. A deadline in the past completes on the first poll.
///
/// ```
/// use std::time::{Duration, Instant};
///
/// spindle::run(async {
///     let deadline = Instant::now() + Duration::from_millis(15);
///     spindle::time::sleep_until(deadline).await;
///     assert!(Instant::now() >= deadline);
/// });
/// ```
#[track_caller]
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline,
        created_at: Location::caller(),
        entry: None,
        done: false,
        future_at_creation: false,
    }
}

/// Future returned by [`sleep`] and [`sleep_until`]; completes at its [`deadline`](Sleep::deadline).
///
/// Polling it outside a spindle runtime panics with a message that says so; so does polling a
/// pending `Sleep` after the runtime it registered with has shut down. `Sleep` is `Unpin`, so
/// it can be awaited by reference (`(&mut sleep).await`) and re-armed with [`reset`](Sleep::reset).
///
/// ```
/// use std::time::Duration;
/// use spindle::time::sleep;
///
/// spindle::run(async {
///     let mut s = sleep(Duration::from_millis(5));
///     (&mut s).await;
///     assert!(s.is_elapsed());
/// });
/// ```
pub struct Sleep {
    deadline: Instant,
    /// Where the sleep (or its Timeout / Interval) was created, for the misuse panics.
    created_at: &'static Location<'static>,
    /// Set on the first pending poll: the driver entry, kept until drop.
    entry: Option<Entry>,
    /// Completed (returned `Ready`) and not reset since.
    done: bool,
    /// Created by `sleep(d)` with `d > 0`: the deadline was in the future then, so the first
    /// poll registers without reading the clock (one `Instant::now` per sleep, as tokio).
    future_at_creation: bool,
}

struct Entry {
    reactor: Arc<Reactor>,
    key: TimerKey,
    /// `deadline` as a driver tick (rounded up).
    tick: u64,
}

impl Sleep {
    /// The instant at which this sleep completes.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let deadline = Instant::now() + Duration::from_secs(1);
    /// let s = spindle::time::sleep_until(deadline);
    /// assert_eq!(s.deadline(), deadline);
    /// ```
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether the deadline has been reached, i.e. whether polling would complete now.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let s = spindle::time::sleep(Duration::from_secs(60));
    /// assert!(!s.is_elapsed());
    /// let s = spindle::time::sleep(Duration::ZERO);
    /// assert!(s.is_elapsed());
    /// ```
    pub fn is_elapsed(&self) -> bool {
        self.done || Instant::now() >= self.deadline
    }

    /// Moves the deadline (earlier or later), whether or not the sleep has completed. A
    /// registered sleep keeps its timer entry and its waker, so a task already waiting on it
    /// is woken at the new deadline.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// spindle::run(async {
    ///     let start = Instant::now();
    ///     let mut s = Box::pin(spindle::time::sleep(Duration::from_secs(60)));
    ///     s.as_mut().reset(start + Duration::from_millis(10));
    ///     s.await;
    ///     assert!(start.elapsed() < Duration::from_secs(30));
    /// });
    /// ```
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        let this = self.get_mut();
        this.deadline = deadline;
        this.done = false;
        this.future_at_creation = false;
        if let Some(entry) = &mut this.entry {
            let timers = &entry.reactor.timers;
            entry.tick = timers.deadline_tick(deadline);
            if timers.reset(&entry.key, entry.tick) {
                entry.reactor.notify();
            }
        }
    }

    /// First poll: register with the current runtime (or complete at once).
    #[cold]
    fn register(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(reactor) = crate::runtime::context::reactor() else {
            outside_runtime(self.created_at);
        };
        if !self.future_at_creation && Instant::now() >= self.deadline {
            self.done = true;
            return Poll::Ready(());
        }
        let timers = &reactor.timers;
        let tick = timers.deadline_tick(self.deadline);
        let Ok(registration) = timers.register(tick, cx.waker()) else {
            after_shutdown(self.created_at);
        };
        if registration.needs_notify {
            reactor.notify();
        }
        let fired = registration.fired;
        self.entry = Some(Entry {
            reactor,
            key: registration.key,
            tick,
        });
        if fired {
            self.done = true;
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(());
        }
        // One unit of the cooperative budget per completed sleep (given back while pending).
        let coop = match crate::task::coop::poll_proceed(cx) {
            Poll::Ready(coop) => coop,
            Poll::Pending => return Poll::Pending,
        };
        let poll = this.poll_deadline(cx);
        match (&poll, &this.entry) {
            (Poll::Ready(()), _) => coop.made_progress(),
            // Task dumps show what a task sleeps on.
            (Poll::Pending, Some(entry)) => {
                crate::task::info::set_waiting(crate::task::info::WaitOn::Timer(entry.tick))
            }
            (Poll::Pending, None) => {}
        }
        poll
    }
}

impl Sleep {
    fn poll_deadline(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let this = self;
        let Some(entry) = &this.entry else {
            return this.register(cx);
        };
        let timers = &entry.reactor.timers;
        // Fast paths without the lock: the driver has processed our tick (so the entry fired),
        // or the clock has passed the deadline (the wheel may lag by up to one turn).
        if timers.elapsed_tick(&entry.key) >= entry.tick || Instant::now() >= this.deadline {
            this.done = true;
            return Poll::Ready(());
        }
        match timers.poll_entry(&entry.key, cx.waker()) {
            EntryStatus::Pending => Poll::Pending,
            EntryStatus::Fired => {
                this.done = true;
                Poll::Ready(())
            }
            EntryStatus::ShutDown => after_shutdown(this.created_at),
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some(entry) = self.entry.take() {
            entry.reactor.timers.remove(entry.key);
        }
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("is_elapsed", &self.is_elapsed())
            .field("registered", &self.entry.is_some())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::runtime::Runtime;

    fn poll_once(sleep: &mut Sleep) -> Poll<()> {
        Pin::new(sleep).poll(&mut Context::from_waker(std::task::Waker::noop()))
    }

    #[test]
    fn registers_on_first_poll_and_frees_on_drop() {
        let rt = Runtime::new().unwrap();
        rt.block_on(async {
            let reactor = crate::runtime::context::reactor().unwrap();
            let mut s = sleep(Duration::from_secs(60));
            // Creating a Sleep touches nothing.
            assert!(!reactor.timers.has_timers());
            assert!(poll_once(&mut s).is_pending());
            assert!(s.entry.is_some());
            assert!(reactor.timers.has_timers());
            // Dropping the pending sleep frees its entry at once.
            drop(s);
            assert!(!reactor.timers.has_timers());
            // A deadline already passed completes without registering.
            let mut past = sleep_until(Instant::now() - Duration::from_millis(1));
            assert!(poll_once(&mut past).is_ready());
            assert!(past.entry.is_none());
            assert!(!reactor.timers.has_timers());
        });
    }

    #[test]
    fn reset_reuses_the_entry_and_fires_at_new_deadline() {
        let rt = Runtime::new().unwrap();
        rt.block_on(async {
            let reactor = crate::runtime::context::reactor().unwrap();
            let mut s = sleep(Duration::from_secs(60));
            assert!(poll_once(&mut s).is_pending());
            let start = Instant::now();
            Pin::new(&mut s).reset(start + Duration::from_millis(5));
            (&mut s).await;
            assert!(start.elapsed() >= Duration::from_millis(5));
            // Completed but still holding its (fired) entry until reset or drop.
            assert!(s.entry.is_some());
            assert!(poll_once(&mut s).is_ready());
            Pin::new(&mut s).reset(Instant::now() + Duration::from_secs(60));
            assert!(reactor.timers.has_timers());
            assert!(poll_once(&mut s).is_pending());
            drop(s);
            assert!(!reactor.timers.has_timers());
        });
    }
}
