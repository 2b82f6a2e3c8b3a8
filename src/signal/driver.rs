//! The per-runtime end of the self-pipe: a dup of its read end registered with the runtime's
//! reactor like a socket, and a waker that drains it.
//!
//! The reactor only wakes wakers, so the driver *is* a waker: when the pipe becomes readable the
//! reactor wakes the driver, whose `wake` reads the pipe until it would block (which stores the
//! driver again as the pipe's read waiter) and then [`broadcast`](super::registry::broadcast)s
//! the deliveries to the listeners' wakers. No task and no thread is involved.
//!
//! A runtime gets its driver when its first listener is created, and keeps it until it shuts
//! down: the reactor's shutdown wakes the driver one last time, the read fails with the
//! shut-down error, the driver marks itself closed, wakes every listener (each re-checks its own
//! driver and returns `None` if it is closed) and does not register again. The pipe's reader
//! waiter list holding the driver is a reference cycle through the reactor that this last
//! wake-up breaks.
//!
//! Several runtimes share one pipe through their dups: whichever drains a byte broadcasts to all
//! listeners, in every runtime (a waker may belong to any runtime).

use super::registry;
use crate::loom::sync::atomic::{AtomicBool, Ordering};
use crate::loom::sync::{Arc, Mutex, StdWeak as Weak};
use crate::reactor::Reactor;
use crate::reactor::io::{Direction, PollIo};
use std::io::{self, Read};
use std::os::unix::net::UnixStream;
use std::task::{Context, Poll, Wake, Waker};

/// One runtime's registration of the self-pipe.
pub(crate) struct Driver {
    pipe: PollIo<UnixStream>,
    closed: AtomicBool,
}

/// The live drivers, one per runtime that has (had) listeners.
static DRIVERS: Mutex<Vec<Weak<Driver>>> = Mutex::new(Vec::new());

impl Driver {
    /// The driver of `reactor`'s runtime, created and armed on first use.
    pub(crate) fn get(reactor: Arc<Reactor>) -> io::Result<Arc<Driver>> {
        let driver = {
            let mut drivers = crate::loom::lock(&DRIVERS);
            drivers.retain(|weak| weak.strong_count() > 0);
            // A live driver keeps its reactor alive, so a match by pointer is the same reactor.
            if let Some(found) = drivers
                .iter()
                .filter_map(Weak::upgrade)
                .find(|d| Arc::ptr_eq(d.pipe.reactor(), &reactor))
            {
                return if found.is_closed() {
                    Err(io::Error::other(
                        "this spindle runtime has shut down: it cannot deliver signals any more",
                    ))
                } else {
                    Ok(found)
                };
            }
            let read = registry::pipe()?.read.try_clone()?;
            let driver = Arc::new(Driver {
                pipe: PollIo::with_reactor(reactor, read)?,
                closed: AtomicBool::new(false),
            });
            drivers.push(Arc::downgrade(&driver));
            driver
        };
        // Arm it: drain what is already there and store the driver as the pipe's waiter.
        driver.drive();
        Ok(driver)
    }

    /// Whether the runtime of this driver has shut down (its listeners then yield `None`).
    pub(crate) fn is_closed(&self) -> bool {
        // Acquire: pairs with the Release store in `drive`.
        self.closed.load(Ordering::Acquire)
    }

    /// Reads the pipe until it would block (registering `self` for the next byte), then wakes
    /// the listeners of whatever was delivered.
    fn drive(self: &Arc<Self>) {
        let waker = Waker::from(self.clone());
        let mut cx = Context::from_waker(&waker);
        let mut buf = [0u8; 64];
        loop {
            match self
                .pipe
                .poll_io(&mut cx, Direction::Read, |mut pipe| pipe.read(&mut buf))
            {
                Poll::Ready(Ok(n)) if n > 0 => continue,
                Poll::Pending => break,
                // The runtime shut down (or the pipe broke, which the static write end rules
                // out): stop listening and let every listener look at its driver.
                Poll::Ready(_) => {
                    // Release: pairs with the Acquire in `is_closed`.
                    self.closed.store(true, Ordering::Release);
                    registry::wake_all();
                    return;
                }
            }
        }
        registry::broadcast();
    }
}

impl Wake for Driver {
    fn wake(self: std::sync::Arc<Self>) {
        self.drive();
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.drive();
    }
}
