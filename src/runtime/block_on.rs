//! `block_on`: poll a future on the calling thread, and park the thread between wakes.
//!
//! The waker unparks this thread (`Thread::unpark` keeps a token, so a wake that lands before
//! the park is not lost); the thread never spins. The calling thread is not a worker: it only
//! polls this one future, and the runtime's workers run everything it spawns.

use super::{Handle, context};
use crate::loom::thread::{self, Thread};
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

pub(super) fn block_on<F: Future>(handle: &Handle, future: F) -> F::Output {
    let _blocking = context::enter_block_on();
    let _context = context::enter(handle.clone());
    let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        thread::park();
    }
}
