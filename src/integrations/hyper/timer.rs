//! `SpindleTimer`: hyper's timeouts (header read, keep-alive, pool idle) on spindle's timer wheel.

use crate::time::Sleep;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// A [`hyper::rt::Timer`] backed by [`crate::time::Sleep`] (spindle's timer wheel, 1 ms
/// resolution).
///
/// hyper only enforces its timeouts when it has a timer. Without one, an HTTP/1 server's
/// `header_read_timeout` (30 s by default) is silently off, so a client that opens connections and
/// trickles a request line without ever finishing its headers (slowloris) holds each connection
/// and its memory forever. With `.timer(SpindleTimer::new())` hyper closes such a connection
/// when the timeout fires. The same timer drives HTTP/2 keep-alive pings and hyper-util's pool
/// idle timeout.
///
/// `reset` moves the deadline of the existing spindle sleep in place (no new allocation; the
/// timer entry and waker are kept) instead of replacing it, as hyper's default `reset` would.
/// (hyper 1.x's HTTP/1 server drops its header-read sleep once the headers are in and asks for a
/// new one on the next request, so a keep-alive connection costs one small allocation per
/// request there; a spindle sleep registers with the timer wheel only if it is polled while
/// pending, and leaves it when dropped.)
///
/// The sleeps it creates must be polled inside a spindle runtime (hyper polls them inside the
/// connection's task).
///
/// # Examples
///
/// ```
/// use hyper::rt::Timer;
/// use spindle::hyper::SpindleTimer;
/// use std::time::{Duration, Instant};
///
/// spindle::run(async {
///     let start = Instant::now();
///     SpindleTimer::new().sleep(Duration::from_millis(20)).await;
///     assert!(start.elapsed() >= Duration::from_millis(20));
/// });
/// ```
///
/// On a server (see also `examples/http.rs`):
///
/// ```
/// use spindle::hyper::SpindleTimer;
/// use std::time::Duration;
///
/// let mut builder = hyper::server::conn::http1::Builder::new();
/// builder.timer(SpindleTimer::new()).header_read_timeout(Duration::from_secs(5));
/// ```
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct SpindleTimer;

impl SpindleTimer {
    /// A timer. It holds no state: every sleep registers with the runtime it is polled in.
    ///
    /// # Examples
    ///
    /// ```
    /// use hyper::rt::Timer;
    /// use spindle::hyper::SpindleTimer;
    /// use std::time::{Duration, Instant};
    ///
    /// spindle::run(async {
    ///     let deadline = Instant::now() + Duration::from_millis(10);
    ///     SpindleTimer::new().sleep_until(deadline).await;
    ///     assert!(Instant::now() >= deadline);
    /// });
    /// ```
    pub fn new() -> SpindleTimer {
        SpindleTimer
    }
}

impl ::hyper::rt::Timer for SpindleTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn ::hyper::rt::Sleep>> {
        Box::pin(SpindleSleep {
            inner: crate::time::sleep(duration),
        })
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn ::hyper::rt::Sleep>> {
        Box::pin(SpindleSleep {
            inner: crate::time::sleep_until(deadline),
        })
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn ::hyper::rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<SpindleSleep>() {
            Some(ours) => ours.reset(new_deadline),
            // A sleep from another timer (hyper never mixes them, but the trait allows it).
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

pin_project_lite::pin_project! {
    /// The `hyper::rt::Sleep` handed to hyper: a pinned spindle `Sleep`.
    struct SpindleSleep {
        #[pin]
        inner: Sleep,
    }
}

impl SpindleSleep {
    fn reset(self: Pin<&mut Self>, deadline: Instant) {
        self.project().inner.reset(deadline);
    }
}

impl Future for SpindleSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.project().inner.poll(cx)
    }
}

impl ::hyper::rt::Sleep for SpindleSleep {}

#[cfg(test)]
mod tests {
    use super::*;
    use ::hyper::rt::Timer;

    /// A foreign `hyper::rt::Sleep`, to exercise `reset`'s fallback.
    struct Never;
    impl Future for Never {
        type Output = ();
        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            Poll::Pending
        }
    }
    impl ::hyper::rt::Sleep for Never {}

    #[test]
    fn reset_moves_the_same_sleep_in_place() {
        crate::run(async {
            let timer = SpindleTimer::new();
            let start = Instant::now();
            let mut sleep = timer.sleep(Duration::from_secs(3600));
            let before: *const dyn ::hyper::rt::Sleep = &*sleep;
            // Register it, as hyper does before it resets a timer.
            assert!(
                crate::time::timeout(Duration::from_millis(5), sleep.as_mut())
                    .await
                    .is_err()
            );
            timer.reset(&mut sleep, start + Duration::from_millis(30));
            assert!(
                std::ptr::addr_eq(before, &*sleep),
                "reset reallocated the sleep"
            );
            sleep.as_mut().await;
            let waited = start.elapsed();
            assert!(waited >= Duration::from_millis(30), "{waited:?}");
            assert!(waited < Duration::from_secs(60), "{waited:?}");
            // Reset after completion: waits again.
            let again = Instant::now();
            timer.reset(&mut sleep, again + Duration::from_millis(20));
            sleep.as_mut().await;
            assert!(again.elapsed() >= Duration::from_millis(20));
        });
    }

    #[test]
    fn reset_replaces_a_foreign_sleep() {
        crate::run(async {
            let timer = SpindleTimer::new();
            let mut sleep: Pin<Box<dyn ::hyper::rt::Sleep>> = Box::pin(Never);
            timer.reset(&mut sleep, Instant::now() + Duration::from_millis(10));
            assert!(sleep.as_mut().downcast_mut_pin::<SpindleSleep>().is_some());
            sleep.await;
        });
    }

    #[test]
    fn sleep_never_ends_early() {
        crate::run(async {
            let timer = SpindleTimer::new();
            let start = Instant::now();
            timer.sleep(Duration::from_millis(15)).await;
            assert!(start.elapsed() >= Duration::from_millis(15));
            assert!(timer.now() >= start);
        });
    }
}
