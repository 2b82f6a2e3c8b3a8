//! The per-thread runtime context: which runtime `spawn`, `Handle::current` and the reactor
//! users (sleeps, sockets) talk to on this thread, and whether this thread may block.
//!
//! Worker threads and `block_on` hold a strong handle for their whole run; `Handle::enter`
//! holds one for the guard's life. Compute-pool (rayon) threads hold a *weak* one, set when the
//! thread starts: the pool is owned by the runtime, so a strong handle there would be a cycle.

use super::{Handle, HandleInner};
use crate::loom::sync::{Arc, StdWeak};
use crate::reactor::Reactor;
use crate::scheduler::Scheduler;
use std::cell::{Cell, RefCell};

enum Current {
    None,
    Strong(Handle),
    Weak(StdWeak<HandleInner>),
}

crate::loom::thread_local! {
    static CONTEXT: RefCell<Current> = const { RefCell::new(Current::None) };
    /// Set while this thread is inside `block_on` (nesting would deadlock).
    static IN_BLOCK_ON: Cell<bool> = const { Cell::new(false) };
}

/// Calls `f` with the current handle without cloning it (upgrading a weak one).
pub(crate) fn with_current<R>(f: impl FnOnce(&Handle) -> R) -> Option<R> {
    CONTEXT.with(|ctx| match &*ctx.borrow() {
        Current::None => None,
        Current::Strong(handle) => Some(f(handle)),
        Current::Weak(weak) => weak.upgrade().map(|inner| f(&Handle { inner })),
    })
}

/// The current runtime's handle, if this thread is in one.
pub(crate) fn current() -> Option<Handle> {
    with_current(Handle::clone)
}

/// The scheduler tasks spawned here go to.
pub(crate) fn scheduler() -> Option<Scheduler> {
    with_current(|h| h.inner.scheduler.clone())
}

/// The reactor of the runtime whose context this thread is in.
pub(crate) fn reactor() -> Option<Arc<Reactor>> {
    with_current(|h| h.inner.scheduler.reactor().clone())
}

/// Restores the previous context when dropped.
pub(crate) struct ContextGuard {
    previous: Option<Current>,
}

/// Makes `handle` the current runtime of this thread until the guard drops.
pub(crate) fn enter(handle: Handle) -> ContextGuard {
    let previous = CONTEXT.with(|ctx| ctx.replace(Current::Strong(handle)));
    ContextGuard {
        previous: Some(previous),
    }
}

/// Installs a weak context for the lifetime of a compute-pool thread.
pub(crate) fn set_weak(inner: StdWeak<HandleInner>) {
    CONTEXT.with(|ctx| *ctx.borrow_mut() = Current::Weak(inner));
}

/// Clears the context when a compute-pool thread exits.
pub(crate) fn clear() {
    CONTEXT.with(|ctx| drop(ctx.replace(Current::None)));
}

impl Drop for ContextGuard {
    fn drop(&mut self) {
        if let Some(previous) = self.previous.take() {
            // Take the old value out before dropping it: its destructor may look at CONTEXT.
            let replaced = CONTEXT.with(|ctx| ctx.replace(previous));
            drop(replaced);
        }
    }
}

/// Marks this thread as blocking in `block_on`; panics if that would nest or if this is a
/// worker thread (both would stop the thread from running the tasks it is waiting for).
pub(crate) fn enter_block_on() -> BlockOnGuard {
    if crate::scheduler::on_worker_thread() || IN_BLOCK_ON.with(|b| b.replace(true)) {
        panic!(
            "cannot block_on (or spindle::run) inside a spindle runtime: this thread is already \
             running async tasks and blocking it could deadlock. Use `.await` instead, or move the \
             blocking code into spindle::spawn_blocking"
        );
    }
    BlockOnGuard(())
}

pub(crate) struct BlockOnGuard(());

impl Drop for BlockOnGuard {
    fn drop(&mut self) {
        IN_BLOCK_ON.with(|b| b.set(false));
    }
}

/// True on a worker thread or inside `block_on`.
pub(crate) fn is_runtime_thread() -> bool {
    crate::scheduler::on_worker_thread() || IN_BLOCK_ON.with(|b| b.get())
}
