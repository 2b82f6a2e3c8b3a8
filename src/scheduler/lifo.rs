//! The LIFO slot: the task a worker just woke or spawned, run next on that worker.
//!
//! It holds at most one `Notified` as a pointer in an `AtomicPtr`. The owner worker puts and
//! takes with one atomic swap each; another worker may take the task too, with the same swap,
//! but only when the watchdog saw the owner stuck in one long poll (see `watchdog.rs`): then
//! the woken task would otherwise wait for the whole poll. tokio made its slot stealable
//! unconditionally and reverted it (it cost a message-forwarding load 29 %: eager thieves broke
//! the locality the slot exists for); here thieves only come when the owner cannot run it.

use crate::loom::sync::atomic::{AtomicPtr, Ordering};
use crate::task::Notified;
use std::ptr::{self, NonNull};

pub(crate) struct LifoSlot {
    /// Null, or a `Notified` given up with `into_raw`.
    slot: AtomicPtr<()>,
}

impl LifoSlot {
    pub(crate) fn new() -> LifoSlot {
        LifoSlot {
            slot: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// Owner: puts `task` in the slot and returns the task it displaced.
    #[inline]
    pub(crate) fn put(&self, task: Notified) -> Option<Notified> {
        // AcqRel: Release hands the task to whoever takes it next (owner or thief); Acquire
        // pairs with a thief's swap that emptied the slot (nothing to read then, but the
        // displaced value, when there is one, was stored by us).
        let previous = self.slot.swap(task.into_raw().as_ptr(), Ordering::AcqRel);
        // SAFETY: every non-null value in the slot came from `Notified::into_raw` and is taken
        // out exactly once, by the swap that replaces it.
        NonNull::new(previous).map(|p| unsafe { Notified::from_raw_ptr(p) })
    }

    /// Owner or thief: takes the task, if any.
    #[inline]
    pub(crate) fn take(&self) -> Option<Notified> {
        // Relaxed: a cheap emptiness check; the swap below is what takes ownership.
        if self.slot.load(Ordering::Relaxed).is_null() {
            return None;
        }
        // Acquire: pairs with the Release of the `put` that stored the task.
        let task = self.slot.swap(ptr::null_mut(), Ordering::Acquire);
        // SAFETY: as in `put`.
        NonNull::new(task).map(|p| unsafe { Notified::from_raw_ptr(p) })
    }

    /// Whether the slot holds a task (a hint: it may change at once).
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        // Relaxed: a hint for the watchdog and parking checks; `take` decides.
        self.slot.load(Ordering::Relaxed).is_null()
    }
}

impl Drop for LifoSlot {
    fn drop(&mut self) {
        // A task left in the slot at teardown is cancelled like any dropped `Notified`.
        drop(self.take());
    }
}
