//! [`timeout`]: run a future with a deadline.
//!
//! [`Timeout`] pairs the future with a [`Sleep`] and always polls the future first, so a future
//! that is ready wins even when the deadline has already passed (or the duration is zero).
//! Dropping the `Timeout` drops the future, which is how the timed-out work is cancelled.

use super::{Sleep, sleep_until};
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Runs `future` for at most `duration`: `Ok(output)` if it completes in time, otherwise
/// `Err(Elapsed)` (and the future is dropped when the `Timeout` is).
///
/// A future that is ready on its first poll wins even with a zero duration.
///
/// ```
/// use std::time::Duration;
/// use spindle::time::{sleep, timeout};
///
/// spindle::run(async {
///     assert_eq!(timeout(Duration::from_secs(5), async { 7 }).await, Ok(7));
///     let slow = timeout(Duration::from_millis(10), sleep(Duration::from_secs(60))).await;
///     assert!(slow.is_err());
/// });
/// ```
#[track_caller]
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    Timeout {
        future,
        delay: super::sleep(duration),
    }
}

/// Like [`timeout`], with an absolute deadline.
///
/// ```
/// use std::time::{Duration, Instant};
/// use spindle::time::{sleep, timeout_at};
///
/// spindle::run(async {
///     let deadline = Instant::now() + Duration::from_millis(10);
///     let res = timeout_at(deadline, sleep(Duration::from_secs(60))).await;
///     assert!(res.is_err());
///     assert!(Instant::now() >= deadline);
/// });
/// ```
#[track_caller]
pub fn timeout_at<F: Future>(deadline: Instant, future: F) -> Timeout<F> {
    Timeout {
        future,
        delay: sleep_until(deadline),
    }
}

/// Future returned by [`timeout`] and [`timeout_at`].
///
/// ```
/// use std::time::Duration;
///
/// spindle::run(async {
///     let t = spindle::time::timeout(Duration::from_secs(1), async { "done" });
///     assert_eq!(t.await, Ok("done"));
/// });
/// ```
pub struct Timeout<F> {
    future: F,
    delay: Sleep,
}

impl<F> Timeout<F> {
    /// The wrapped future.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let t = spindle::time::timeout(Duration::from_secs(1), std::future::ready(3));
    /// let _inner: &std::future::Ready<i32> = t.get_ref();
    /// ```
    pub fn get_ref(&self) -> &F {
        &self.future
    }

    /// The wrapped future, mutably (only reachable while the `Timeout` is not pinned, or is
    /// `Unpin`).
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let mut t = spindle::time::timeout(Duration::from_secs(1), std::future::ready(3));
    /// let _inner: &mut std::future::Ready<i32> = t.get_mut();
    /// ```
    pub fn get_mut(&mut self) -> &mut F {
        &mut self.future
    }

    /// Unwraps the future, discarding the deadline.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let t = spindle::time::timeout(Duration::from_secs(1), std::future::ready(3));
    /// assert_eq!(spindle::run(t.into_inner()), 3);
    /// ```
    pub fn into_inner(self) -> F {
        self.future
    }

    /// The instant after which the future is abandoned.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let deadline = Instant::now() + Duration::from_secs(1);
    /// let t = spindle::time::timeout_at(deadline, async {});
    /// assert_eq!(t.deadline(), deadline);
    /// ```
    pub fn deadline(&self) -> Instant {
        self.delay.deadline()
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `future` is structurally pinned: `Timeout` has no `Drop` impl, never moves
        // `future` out of a pinned `Timeout` (the by-value and `&mut` accessors need an unpinned
        // or `Unpin` value), and is `Unpin` only when `F` is (`Sleep` is `Unpin`).
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: see above; `this.future` stays where it is for as long as `self` is pinned.
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        let had_budget = crate::task::coop::has_budget_remaining();
        if let Poll::Ready(output) = future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        let delay = Pin::new(&mut this.delay);
        // If the inner future spent the last of the budget, the deadline must still be able to
        // fire: poll the timer unconstrained (otherwise an always-busy inner future that yields
        // only because of the budget could never time out).
        let poll = if had_budget && !crate::task::coop::has_budget_remaining() {
            crate::task::coop::with_unconstrained(|| delay.poll(cx))
        } else {
            delay.poll(cx)
        };
        match poll {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed(()))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<F: fmt::Debug> fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("future", &self.future)
            .field("deadline", &self.delay.deadline())
            .finish()
    }
}

/// The error of a [`timeout`] whose deadline passed first.
///
/// Converts into an [`io::Error`] of kind [`io::ErrorKind::TimedOut`], so `?` works in
/// functions returning `io::Result`.
///
/// ```
/// use std::time::Duration;
/// use spindle::time::{sleep, timeout};
///
/// let err = spindle::run(async {
///     timeout(Duration::from_millis(1), sleep(Duration::from_secs(60))).await.unwrap_err()
/// });
/// assert_eq!(err.to_string(), "deadline has elapsed");
/// let io: std::io::Error = err.into();
/// assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for io::Error {
    fn from(elapsed: Elapsed) -> io::Error {
        io::Error::new(io::ErrorKind::TimedOut, elapsed)
    }
}
