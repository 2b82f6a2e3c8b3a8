//! [`Interval`]: ticks on a fixed schedule.
//!
//! An `Interval` is one [`Sleep`] that is reset after every tick, so it holds a single timer
//! entry for its whole life. Each tick returns the instant it was *scheduled* for. A tick that
//! is observed more than [`LATE_AFTER`] after its scheduled instant counts as missed, and the
//! next one is scheduled according to the [`MissedTickBehavior`].

use super::{Sleep, deadline_after, sleep_until};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Lateness up to which a tick still counts as on time (scheduling jitter, not a missed tick).
const LATE_AFTER: Duration = Duration::from_millis(5);

/// Creates an interval whose first tick completes immediately and then every `period`.
///
/// # Panics
///
/// If `period` is zero.
///
/// ```
/// use std::time::Duration;
///
/// spindle::run(async {
///     let mut iv = spindle::time::interval(Duration::from_millis(10));
///     let first = iv.tick().await; // immediate
///     let second = iv.tick().await; // 10 ms later
///     assert_eq!(second - first, Duration::from_millis(10));
/// });
/// ```
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    interval_at(Instant::now(), period)
}

/// Creates an interval whose first tick completes at `start` and then every `period`.
///
/// # Panics
///
/// If `period` is zero.
///
/// ```
/// use std::time::{Duration, Instant};
///
/// spindle::run(async {
///     let start = Instant::now() + Duration::from_millis(5);
///     let mut iv = spindle::time::interval_at(start, Duration::from_millis(10));
///     assert_eq!(iv.tick().await, start);
///     assert_eq!(iv.tick().await, start + Duration::from_millis(10));
/// });
/// ```
#[track_caller]
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(
        !period.is_zero(),
        "spindle::time::interval: the period must be greater than zero (got Duration::ZERO); \
         pass a positive period, or use spindle::yield_now() to loop without waiting"
    );
    Interval {
        delay: sleep_until(start),
        period,
        missed_tick_behavior: MissedTickBehavior::default(),
    }
}

/// What an [`Interval`] does after a tick was missed (observed more than 5 ms late, because the
/// task was busy or the runtime overloaded).
///
/// With a period of 10 ms starting at `t = 0`, a task that gets back to `tick()` at `t = 35`:
///
/// ```text
/// scheduled:  0  10  20  30  40  50
/// Burst:      0  10  20  30  40  50   (10, 20, 30 returned at once at t = 35)
/// Delay:      0  10  45  55  65       (10 at t = 35, then every 10 ms from there)
/// Skip:       0  10  40  50  60       (10 at t = 35, then back on the original grid)
/// ```
///
/// ```
/// use spindle::time::MissedTickBehavior;
///
/// assert_eq!(MissedTickBehavior::default(), MissedTickBehavior::Burst);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MissedTickBehavior {
    /// Catch up: return the missed ticks back to back until the schedule is met again.
    #[default]
    Burst,
    /// Restart the schedule: the next tick comes one period after the late one was observed.
    Delay,
    /// Drop the missed ticks: the next tick is the next one of the original schedule that is
    /// still in the future.
    Skip,
}

impl MissedTickBehavior {
    /// The tick after `scheduled`, which was observed at `now` (late).
    fn next_after_late(self, scheduled: Instant, now: Instant, period: Duration) -> Instant {
        match self {
            MissedTickBehavior::Burst => deadline_after(scheduled, period),
            MissedTickBehavior::Delay => deadline_after(now, period),
            MissedTickBehavior::Skip => {
                let behind = (now - scheduled).as_nanos();
                let period_ns = period.as_nanos();
                // `period - (behind % period)` lies in (0, period]: fits a Duration.
                let until_next = period_ns - behind % period_ns;
                let until_next = Duration::new(
                    (until_next / 1_000_000_000) as u64,
                    (until_next % 1_000_000_000) as u32,
                );
                deadline_after(now, until_next)
            }
        }
    }
}

/// A stream of ticks every `period`, created by [`interval`] or [`interval_at`].
///
/// ```
/// use std::time::{Duration, Instant};
/// use spindle::time::{MissedTickBehavior, interval};
///
/// spindle::run(async {
///     let start = Instant::now();
///     let mut iv = interval(Duration::from_millis(5));
///     iv.set_missed_tick_behavior(MissedTickBehavior::Skip);
///     for _ in 0..3 {
///         iv.tick().await;
///     }
///     assert!(start.elapsed() >= Duration::from_millis(10));
/// });
/// ```
#[derive(Debug)]
pub struct Interval {
    /// Completes at the next scheduled tick.
    delay: Sleep,
    period: Duration,
    missed_tick_behavior: MissedTickBehavior,
}

impl Interval {
    /// Waits for the next tick and returns the instant it was scheduled for.
    ///
    /// Cancel-safe: dropping the returned future before it completes loses no tick.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// spindle::run(async {
    ///     let mut iv = spindle::time::interval(Duration::from_millis(5));
    ///     let t = iv.tick().await;
    ///     assert!(t <= Instant::now());
    /// });
    /// ```
    pub async fn tick(&mut self) -> Instant {
        std::future::poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Poll-based [`tick`](Self::tick): `Ready(scheduled instant)` when a tick is due.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// spindle::run(async {
    ///     let mut iv = spindle::time::interval(Duration::from_millis(5));
    ///     let first = std::future::poll_fn(|cx| iv.poll_tick(cx)).await;
    ///     assert_eq!(iv.tick().await, first + Duration::from_millis(5));
    /// });
    /// ```
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        if Pin::new(&mut self.delay).poll(cx).is_pending() {
            return Poll::Pending;
        }
        let scheduled = self.delay.deadline();
        let now = Instant::now();
        let next = if now > deadline_after(scheduled, LATE_AFTER) {
            self.missed_tick_behavior
                .next_after_late(scheduled, now, self.period)
        } else {
            deadline_after(scheduled, self.period)
        };
        Pin::new(&mut self.delay).reset(next);
        Poll::Ready(scheduled)
    }

    /// Restarts the schedule: the next tick comes one period from now.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// spindle::run(async {
    ///     let mut iv = spindle::time::interval(Duration::from_millis(10));
    ///     iv.tick().await;
    ///     let before = Instant::now();
    ///     iv.reset();
    ///     assert!(iv.tick().await >= before + Duration::from_millis(10));
    /// });
    /// ```
    pub fn reset(&mut self) {
        self.reset_at(deadline_after(Instant::now(), self.period));
    }

    /// Makes the next tick due at once (the schedule continues from it).
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// spindle::run(async {
    ///     let mut iv = spindle::time::interval(Duration::from_secs(60));
    ///     iv.tick().await;
    ///     iv.reset_immediately();
    ///     let start = Instant::now();
    ///     iv.tick().await;
    ///     assert!(start.elapsed() < Duration::from_secs(30));
    /// });
    /// ```
    pub fn reset_immediately(&mut self) {
        self.reset_at(Instant::now());
    }

    /// Makes the next tick due `after` from now.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// spindle::run(async {
    ///     let mut iv = spindle::time::interval(Duration::from_secs(60));
    ///     iv.tick().await;
    ///     let before = Instant::now();
    ///     iv.reset_after(Duration::from_millis(5));
    ///     assert!(iv.tick().await >= before + Duration::from_millis(5));
    /// });
    /// ```
    pub fn reset_after(&mut self, after: Duration) {
        self.reset_at(deadline_after(Instant::now(), after));
    }

    /// Makes the next tick due at `deadline`.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// spindle::run(async {
    ///     let mut iv = spindle::time::interval(Duration::from_secs(60));
    ///     iv.tick().await;
    ///     let at = Instant::now() + Duration::from_millis(5);
    ///     iv.reset_at(at);
    ///     assert_eq!(iv.tick().await, at);
    /// });
    /// ```
    pub fn reset_at(&mut self, deadline: Instant) {
        Pin::new(&mut self.delay).reset(deadline);
    }

    /// The period between ticks.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let iv = spindle::time::interval(Duration::from_millis(250));
    /// assert_eq!(iv.period(), Duration::from_millis(250));
    /// ```
    pub fn period(&self) -> Duration {
        self.period
    }

    /// The current [`MissedTickBehavior`] (initially `Burst`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use spindle::time::{MissedTickBehavior, interval};
    ///
    /// let iv = interval(Duration::from_millis(5));
    /// assert_eq!(iv.missed_tick_behavior(), MissedTickBehavior::Burst);
    /// ```
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed_tick_behavior
    }

    /// Sets what happens after a missed tick.
    ///
    /// ```
    /// use std::time::Duration;
    /// use spindle::time::{MissedTickBehavior, interval};
    ///
    /// let mut iv = interval(Duration::from_millis(5));
    /// iv.set_missed_tick_behavior(MissedTickBehavior::Delay);
    /// assert_eq!(iv.missed_tick_behavior(), MissedTickBehavior::Delay);
    /// ```
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed_tick_behavior = behavior;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Duration = Duration::from_millis(10);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn missed_tick_schedules() {
        let t0 = Instant::now();
        let scheduled = t0 + ms(10);
        let now = t0 + ms(35);
        assert_eq!(
            MissedTickBehavior::Burst.next_after_late(scheduled, now, P),
            t0 + ms(20)
        );
        assert_eq!(
            MissedTickBehavior::Delay.next_after_late(scheduled, now, P),
            t0 + ms(45)
        );
        assert_eq!(
            MissedTickBehavior::Skip.next_after_late(scheduled, now, P),
            t0 + ms(40)
        );
        // Exactly on a grid point: that point is skipped too (it is "now", already late).
        assert_eq!(
            MissedTickBehavior::Skip.next_after_late(scheduled, t0 + ms(40), P),
            t0 + ms(50)
        );
        // Sub-millisecond periods keep exact nanosecond arithmetic.
        let p = Duration::from_nanos(1_500_001);
        let next = MissedTickBehavior::Skip.next_after_late(t0, t0 + ms(7), p);
        assert_eq!((next - t0).as_nanos() % p.as_nanos(), 0);
        assert!(next > t0 + ms(7) && next <= t0 + ms(7) + p);
    }

    #[test]
    #[should_panic(expected = "period must be greater than zero")]
    fn zero_period_panics() {
        let _ = interval(Duration::ZERO);
    }
}
