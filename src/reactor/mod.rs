//! The reactor: one `polling::Poller` per runtime, the timer wheel, and socket readiness.
//!
//! The reactor owns *readiness*, never scheduling: it turns OS events and expired deadlines into
//! `Waker::wake` calls and nothing else. It has no thread of its own. An idle worker that wins the
//! driver lock blocks in [`Reactor::turn`] with a timeout taken from the nearest timer; other idle
//! workers park on a condvar, and busy workers call `turn(Some(ZERO))` every few dozen tasks so
//! that timers and sockets are never starved. [`Reactor::notify`] breaks a
//! blocked turn when new work or an earlier timer arrives.
//!
//! * `wheel`: the hierarchical timing wheel (pure data structure).
//! * `timer`: the wheel behind a lock, the clock, and the earliest-deadline bookkeeping.
//! * `io`: registration of non-blocking sockets and their read/write wakers.
//! * `wait`: the wait itself (one `epoll_wait` per turn on Linux) and its notification.

pub(crate) mod io;
pub(crate) mod timer;
mod wait;
pub(crate) mod wheel;

use crate::loom::sync::atomic::{AtomicBool, Ordering};

use std::time::{Duration, Instant};

impl Drop for Reactor {
    fn drop(&mut self) {
        self.waiter.deregister(&self.poller);
    }
}

/// One per runtime: the poller, the socket registrations and the timers.
pub(crate) struct Reactor {
    poller: wait::OsPoller,
    /// Waits on the poller (one `epoll_wait` per turn on Linux) and breaks waits.
    waiter: wait::Waiter,
    pub(crate) io: io::IoDriver,
    pub(crate) timers: timer::TimerDriver,
    shut_down: AtomicBool,
    /// loom cannot block in epoll: under `--cfg loom` waits and notifications go here instead.
    #[cfg(loom)]
    model_poller: model::Poller,
}

impl Reactor {
    /// A reactor for a single worker (tests and models).
    #[cfg(any(test, loom))]
    pub(crate) fn new() -> std::io::Result<Reactor> {
        Reactor::with_workers(1)
    }

    /// A reactor whose timers have one shard per worker (see `timer.rs`).
    pub(crate) fn with_workers(workers: usize) -> std::io::Result<Reactor> {
        let poller = wait::OsPoller::new()?;
        let waiter = wait::Waiter::new(&poller)?;
        Ok(Reactor {
            poller,
            waiter,
            io: io::IoDriver::new(),
            timers: timer::TimerDriver::new(workers),
            shut_down: AtomicBool::new(false),
            #[cfg(loom)]
            model_poller: model::Poller::new(),
        })
    }

    /// The OS poller, for registering sources.
    pub(crate) fn poller(&self) -> &wait::OsPoller {
        &self.poller
    }

    /// Breaks a blocked [`turn`](Self::turn) (or makes the next one return at once).
    pub(crate) fn notify(&self) {
        #[cfg(loom)]
        self.model_poller.notify();
        #[cfg(not(loom))]
        self.waiter.notify(&self.poller);
    }

    /// Whether a busy worker's periodic zero-timeout turn has anything to look at.
    pub(crate) fn has_work(&self) -> bool {
        self.timers.has_timers() || self.io.has_sources()
    }

    /// Fires due timers, waits for socket events (at most `timeout`, and never past the next
    /// timer), dispatches them, and fires the timers that came due meanwhile. Returns how many
    /// wakers were woken. Only one thread turns the reactor at a time (the scheduler's driver lock).
    pub(crate) fn turn(&self, timeout: Option<Duration>) -> usize {
        let mut woken = self.timers.process(Instant::now());
        if woken > 0 {
            // Work was produced: do not block, but still look at sockets once.
            return woken + self.poll_io(Some(Duration::ZERO));
        }
        let now = Instant::now();
        let wait = match (timeout, self.timers.next_timeout(now)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.timers
            .begin_wait(wait.map(|w| now.checked_add(w).unwrap_or(now)));
        woken += self.poll_io(wait);
        self.timers.end_wait();
        woken + self.timers.process(Instant::now())
    }

    fn poll_io(&self, timeout: Option<Duration>) -> usize {
        #[cfg(loom)]
        self.model_poller.wait(timeout);
        match self.waiter.wait(&self.poller, timeout) {
            Ok(batch) => self.io.dispatch(batch.events()),
            // EINTR and friends: the caller loops anyway.
            Err(_) => 0,
        }
    }

    /// One wait without dispatching: the events, for tests of the socket driver.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn wait_events(&self, timeout: Option<Duration>) -> Vec<wait::IoEvent> {
        self.waiter
            .wait(&self.poller, timeout)
            .map(|batch| batch.events().collect())
            .unwrap_or_default()
    }

    /// Called once when the runtime shuts down: every pending timer and socket waiter is woken
    /// and sees the reactor gone (sockets return an error, sleeps panic with a clear message).
    pub(crate) fn shutdown(&self) {
        // SeqCst: pairs with the checks in Sleep/socket polls, which must not register after this.
        self.shut_down.store(true, Ordering::SeqCst);
        self.timers.shutdown();
        self.io.shutdown();
        self.notify();
    }
}

/// The loom stand-in for the OS poller's `wait`/`notify` pair (no sockets are modelled).
#[cfg(loom)]
mod model {
    use crate::loom::sync::{Condvar, Mutex};
    use std::time::Duration;

    /// `notify` leaves a flag that the next `wait` consumes, as `polling`'s notification does.
    pub(super) struct Poller {
        notified: Mutex<bool>,
        condvar: Condvar,
    }

    impl Poller {
        pub(super) fn new() -> Poller {
            Poller {
                notified: Mutex::new(false),
                condvar: Condvar::new(),
            }
        }

        pub(super) fn notify(&self) {
            *crate::loom::lock(&self.notified) = true;
            self.condvar.notify_one();
        }

        /// Blocks until notified when `timeout` is `None`. Time is not modelled, so a bounded
        /// wait returns at once (as if it had expired), consuming a pending notification.
        pub(super) fn wait(&self, timeout: Option<Duration>) {
            let mut notified = crate::loom::lock(&self.notified);
            if timeout.is_none() {
                while !*notified {
                    notified = self.condvar.wait(notified).unwrap();
                }
            }
            *notified = false;
        }
    }
}
