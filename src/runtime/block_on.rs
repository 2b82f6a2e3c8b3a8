//! `block_on`: poll a future on the calling thread, and park the thread between wakes.
//!
//! The waker unparks this thread (`Thread::unpark` keeps a token, so a wake that lands before
//! the park is not lost); the thread never spins. The calling thread is not a worker: it only
//! polls this one future, and the runtime's workers run everything it spawns.
//!
//! **Inside a compute job.** A `spawn_blocking` closure may `block_on` (through
//! `Handle::block_on`) work that itself needs the compute pool, e.g. another `spawn_blocking`.
//! If every pool thread did that, the inner jobs would wait in the pool's queue behind threads
//! that wait for them: a deadlock. So a pool thread of this runtime that waits in `block_on`
//! *helps*: between polls it runs queued pool jobs (`rayon::yield_now`), and when there are
//! none it parks for at most [`HELP_INTERVAL`] before looking again (rayon has no way to wake
//! it when a job is queued). A helped job runs to completion before the outer future is polled
//! again, exactly like rayon's own `join` while it waits.

use super::{Handle, context};
use crate::loom::thread::{self, Thread};
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
#[cfg(not(loom))]
use std::time::Duration;

/// How long a compute-pool thread waiting in `block_on` sleeps before it looks for queued jobs
/// again.
#[cfg(not(loom))]
const HELP_INTERVAL: Duration = Duration::from_millis(1);

struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

#[track_caller]
pub(super) fn block_on<F: Future>(handle: &Handle, future: F) -> F::Output {
    let _blocking = context::enter_block_on();
    let _context = context::enter(handle.clone());
    let helps_pool = handle
        .inner
        .compute
        .as_ref()
        .is_some_and(|pool| pool.is_pool_thread());
    let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(output) = crate::task::coop::budget(|| future.as_mut().poll(&mut cx)) {
            return output;
        }
        if helps_pool {
            help_or_park();
        } else {
            thread::park();
        }
    }
}

/// Runs one queued job of this thread's rayon pool, or parks briefly if there is none.
#[cfg(not(loom))]
fn help_or_park() {
    match context::outside_block_on(rayon::yield_now) {
        Some(rayon::Yield::Executed) => {}
        _ => std::thread::park_timeout(HELP_INTERVAL),
    }
}

#[cfg(loom)]
fn help_or_park() {
    thread::park();
}
