//! The per-thread runtime context: which runtime `spawn`, `Handle::current` and the reactor
//! users (sleeps, sockets) talk to on this thread, and whether this thread may block.
//!
//! Worker threads and `block_on` hold a strong handle for their whole run; `Handle::enter`
//! holds one for the guard's life. Compute-pool (rayon) threads hold a *weak* one, set when the
//! thread starts: the pool is owned by the runtime, so a strong handle there would be a cycle.
//!
//! Entered handles form a stack; each [`ContextGuard`] removes exactly its own entry when it
//! drops, so guards dropped out of order (`Handle::enter` guards are user-visible) still leave
//! the most recently entered *live* guard's runtime current — never a runtime whose guard is gone.
//!
//! Every access uses `try_with`: a runtime may be dropped inside another thread-local's
//! destructor, after this thread's context is gone. Then there simply is no context (nothing is
//! entered and lookups find no runtime) instead of a panic that would abort the process.

use super::{Handle, HandleInner};
use crate::loom::sync::{Arc, StdWeak};
use crate::reactor::Reactor;
use crate::scheduler::Scheduler;
use std::cell::{Cell, RefCell};

/// What a thread falls back to when no guard is entered.
enum Base {
    None,
    Weak(StdWeak<HandleInner>),
}

struct Stack {
    base: Base,
    /// Entered handles, innermost last, each with its guard's id.
    entered: Vec<(u64, Handle)>,
    next_id: u64,
}

crate::loom::thread_local! {
    static CONTEXT: RefCell<Stack> = const {
        RefCell::new(Stack { base: Base::None, entered: Vec::new(), next_id: 1 })
    };
    /// Set while this thread is inside `block_on` (nesting would deadlock).
    static IN_BLOCK_ON: Cell<bool> = const { Cell::new(false) };
}

/// Calls `f` with the current handle without cloning it (upgrading a weak one).
pub(crate) fn with_current<R>(f: impl FnOnce(&Handle) -> R) -> Option<R> {
    CONTEXT
        .try_with(|ctx| {
            let ctx = ctx.borrow();
            match (ctx.entered.last(), &ctx.base) {
                (Some((_, handle)), _) => Some(f(handle)),
                (None, Base::Weak(weak)) => weak.upgrade().map(|inner| f(&Handle { inner })),
                (None, Base::None) => None,
            }
        })
        .ok()
        .flatten()
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

/// Removes its own entry from the thread's context stack when dropped.
pub(crate) struct ContextGuard {
    /// 0: nothing was entered (the thread's context was already destroyed).
    id: u64,
}

/// Makes `handle` the current runtime of this thread until the guard drops.
pub(crate) fn enter(handle: Handle) -> ContextGuard {
    let entered = CONTEXT.try_with(|ctx| {
        let mut ctx = ctx.borrow_mut();
        let id = ctx.next_id;
        ctx.next_id += 1;
        ctx.entered.push((id, handle));
        id
    });
    ContextGuard {
        id: entered.unwrap_or(0),
    }
}

impl Drop for ContextGuard {
    fn drop(&mut self) {
        if self.id == 0 {
            return;
        }
        let id = self.id;
        let removed = CONTEXT
            .try_with(|ctx| {
                let mut ctx = ctx.borrow_mut();
                // Innermost first: in-order drops find their entry at the end at once.
                let position = ctx.entered.iter().rposition(|(entry, _)| *entry == id)?;
                Some(ctx.entered.remove(position).1)
            })
            .ok()
            .flatten();
        // Dropped after the borrow ends: the last handle of a runtime may run its destructor,
        // which may look at this context.
        drop(removed);
    }
}

/// Installs a weak context for the lifetime of a compute-pool thread.
pub(crate) fn set_weak(inner: StdWeak<HandleInner>) {
    let _ = CONTEXT.try_with(|ctx| ctx.borrow_mut().base = Base::Weak(inner));
}

/// Clears the context when a compute-pool thread exits.
pub(crate) fn clear() {
    let old = CONTEXT
        .try_with(|ctx| std::mem::replace(&mut ctx.borrow_mut().base, Base::None))
        .ok();
    drop(old);
}

/// Marks this thread as blocking in `block_on`; panics if that would nest or if this is a
/// worker thread (both would stop the thread from running the tasks it is waiting for).
#[track_caller]
pub(crate) fn enter_block_on() -> BlockOnGuard {
    let nested = IN_BLOCK_ON.try_with(|b| b.replace(true)).unwrap_or(false);
    if crate::scheduler::on_worker_thread() || nested {
        if !nested {
            let _ = IN_BLOCK_ON.try_with(|b| b.set(false));
        }
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
        let _ = IN_BLOCK_ON.try_with(|b| b.set(false));
    }
}

/// Runs `f` as if this thread were not inside `block_on`: a compute-pool thread that waits in
/// `block_on` helps run other queued pool jobs, and those may `block_on` themselves.
#[cfg(not(loom))]
pub(crate) fn outside_block_on<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = IN_BLOCK_ON.try_with(|b| b.set(self.0));
        }
    }
    let _restore = Restore(IN_BLOCK_ON.try_with(|b| b.replace(false)).unwrap_or(false));
    f()
}

/// True on a worker thread or inside `block_on`.
pub(crate) fn is_runtime_thread() -> bool {
    crate::scheduler::on_worker_thread() || IN_BLOCK_ON.try_with(|b| b.get()).unwrap_or(false)
}
