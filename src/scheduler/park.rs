//! Parking a worker: one idle worker sleeps inside the reactor, the others on a condvar.
//!
//! A worker with nothing to do calls [`Parker::park`]. If it wins the driver lock it blocks in
//! `Reactor::turn` (epoll with the nearest timer as timeout), so timers and sockets need no
//! thread of their own; otherwise it sleeps on its own condvar. [`Unparker::unpark`] knows
//! which of the two the worker chose (the state word says) and either signals the condvar or
//! calls `Reactor::notify`. A notification that arrives before the worker sleeps is kept in the
//! state word (NOTIFIED) and consumed by the next `park`, so it is never lost.

use crate::loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use crate::loom::sync::{Arc, Condvar, Mutex};
use crate::reactor::Reactor;
use std::time::Duration;

const EMPTY: usize = 0;
const PARKED_CONDVAR: usize = 1;
const PARKED_DRIVER: usize = 2;
const NOTIFIED: usize = 3;

struct Inner {
    state: AtomicUsize,
    mutex: Mutex<()>,
    condvar: Condvar,
}

/// The sleeping side, owned by one worker.
pub(crate) struct Parker {
    inner: Arc<Inner>,
}

/// The waking side, shared by everyone.
#[derive(Clone)]
pub(crate) struct Unparker {
    inner: Arc<Inner>,
}

/// The driver lock: whoever holds it may turn the reactor.
pub(crate) struct Driver {
    pub(crate) reactor: Arc<Reactor>,
    locked: AtomicBool,
    /// A worker that found the driver busy and parked on its condvar instead (index + 1; 0 = none).
    /// Whoever releases the driver after a non-blocking turn wakes it so it can take over.
    wanted_by: AtomicUsize,
}

pub(crate) struct DriverGuard<'a> {
    driver: &'a Driver,
}

impl Driver {
    pub(crate) fn new(reactor: Arc<Reactor>) -> Driver {
        Driver {
            reactor,
            locked: AtomicBool::new(false),
            wanted_by: AtomicUsize::new(0),
        }
    }

    pub(crate) fn try_lock(&self) -> Option<DriverGuard<'_>> {
        // Acquire: see everything the previous holder did with the reactor's event buffer.
        if self.locked.swap(true, Ordering::Acquire) {
            None
        } else {
            Some(DriverGuard { driver: self })
        }
    }

    /// Whether some thread holds the driver right now (a hint).
    pub(crate) fn is_locked(&self) -> bool {
        // Relaxed: the watchdog's hint; a wrong answer costs one spurious wake or one tick.
        self.locked.load(Ordering::Relaxed)
    }

    /// Takes the recorded "a worker wanted the driver" mark, returning that worker's index.
    pub(crate) fn take_waiter(&self) -> Option<usize> {
        match self.wanted_by.swap(0, Ordering::SeqCst) {
            0 => None,
            n => Some(n - 1),
        }
    }
}

impl Drop for DriverGuard<'_> {
    fn drop(&mut self) {
        // Release: hand our use of the reactor to the next holder.
        self.driver.locked.store(false, Ordering::Release);
    }
}

pub(crate) fn pair() -> (Parker, Unparker) {
    let inner = Arc::new(Inner {
        state: AtomicUsize::new(EMPTY),
        mutex: Mutex::new(()),
        condvar: Condvar::new(),
    });
    (
        Parker {
            inner: inner.clone(),
        },
        Unparker { inner },
    )
}

impl Parker {
    /// Sleeps until unparked, or (when this worker drives the reactor) until a timer or socket
    /// event woke something. Returns the number of wakers the reactor woke (0 on a condvar park).
    pub(crate) fn park(&self, driver: &Driver, worker: usize) -> usize {
        let state = &self.inner.state;
        if state
            .compare_exchange(NOTIFIED, EMPTY, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            return 0;
        }
        if let Some(_guard) = driver.try_lock() {
            if state
                .compare_exchange(EMPTY, PARKED_DRIVER, Ordering::SeqCst, Ordering::SeqCst)
                .is_err()
            {
                // It was NOTIFIED. A swap, not a store: it reads (and acquires) a notification
                // that lands meanwhile, e.g. shutdown's, instead of erasing it unread.
                state.swap(EMPTY, Ordering::SeqCst);
                return 0;
            }
            let woken = driver.reactor.turn(None);
            state.swap(EMPTY, Ordering::SeqCst);
            return woken;
        }
        let mut guard = crate::loom::lock(&self.inner.mutex);
        if state
            .compare_exchange(EMPTY, PARKED_CONDVAR, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            // It was NOTIFIED: swap, not store (see above).
            state.swap(EMPTY, Ordering::SeqCst);
            return 0;
        }
        driver.wanted_by.store(worker + 1, Ordering::SeqCst);
        loop {
            guard = wait(&self.inner.condvar, guard);
            if state
                .compare_exchange(NOTIFIED, EMPTY, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            {
                return 0;
            }
        }
    }

    /// Turns the reactor without blocking if nobody else is (a busy worker's periodic check).
    /// Returns the wakers woken and, if a parked worker wanted the driver meanwhile, its index.
    pub(crate) fn poll_driver(driver: &Driver) -> (usize, Option<usize>) {
        match driver.try_lock() {
            Some(guard) => {
                let woken = driver.reactor.turn(Some(Duration::ZERO));
                drop(guard);
                (woken, driver.take_waiter())
            }
            None => (0, None),
        }
    }
}

fn wait<'a>(
    condvar: &Condvar,
    guard: crate::loom::sync::MutexGuard<'a, ()>,
) -> crate::loom::sync::MutexGuard<'a, ()> {
    #[cfg(not(loom))]
    {
        condvar
            .wait(guard)
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
    #[cfg(loom)]
    {
        condvar.wait(guard).unwrap()
    }
}

impl Unparker {
    pub(crate) fn unpark(&self, driver: &Driver) {
        match self.inner.state.swap(NOTIFIED, Ordering::SeqCst) {
            EMPTY | NOTIFIED => {}
            PARKED_CONDVAR => {
                // Taking the lock orders us after the sleeper's check-then-wait.
                drop(crate::loom::lock(&self.inner.mutex));
                self.inner.condvar.notify_one();
            }
            PARKED_DRIVER => driver.reactor.notify(),
            other => unreachable!("invalid park state {other}"),
        }
    }
}
