//! Timers: [`sleep`], [`timeout`] and [`interval`], like `asyncio.sleep` / `asyncio.timeout`.
//!
//! A [`Sleep`] is a plain value (a deadline) until it is first polled; then it registers one
//! entry in the timing wheel of the runtime it is polled in (`reactor::timer`) and keeps it until
//! it is dropped, so a sleep that is re-armed (`reset`, `Interval`) reuses its entry. Deadlines
//! round up to the wheel's 1 ms tick, so nothing ever completes early; an idle runtime fires a
//! timer within about a millisecond of its deadline. Durations too large for an `Instant`
//! (such as `Duration::MAX`) saturate to a deadline about 30 years away instead of panicking.
//! [`Timeout`] polls its future before its timer, and [`Interval`] is a `Sleep` that is reset
//! after each tick according to its [`MissedTickBehavior`].

mod interval;
mod sleep;
mod timeout;

pub use interval::{Interval, MissedTickBehavior, interval, interval_at};
pub use sleep::{Sleep, sleep, sleep_until};
pub use timeout::{Elapsed, Timeout, timeout, timeout_at};

use std::time::{Duration, Instant};

/// About 30 years: what a deadline saturates to when `now + duration` overflows `Instant`.
const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 30);

/// `start + duration`, saturated to a far-future instant instead of overflowing.
fn deadline_after(start: Instant, duration: Duration) -> Instant {
    start
        .checked_add(duration)
        .or_else(|| start.checked_add(FAR_FUTURE))
        .unwrap_or(start)
}
