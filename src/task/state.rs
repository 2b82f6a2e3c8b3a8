//! The task state word: lifecycle flags and the reference count in one `AtomicUsize`.
//!
//! ```text
//!  bit 0 RUNNING       a thread owns the future and is polling (or cancelling) it
//!  bit 1 COMPLETE      the output (or the JoinError) is stored; the future is gone
//!  bit 2 SCHEDULED     a `Notified` for this task exists (in a queue, or about to be)
//!  bit 3 CANCELLED     abort was requested; whoever next owns the future drops it
//!  bit 4 JOIN_INTEREST a JoinHandle is alive and will read the output
//!  bit 5 JOIN_WAKER    the JoinHandle stored a waker in the trailer
//!  bits 6.. refcount   one per Task/Notified/JoinHandle/Waker/registry entry
//! ```
//!
//! Every change is one of the named transitions below, each a single compare-and-swap loop
//! returning an enum that tells the caller what it now owns. Keeping state and count in one word
//! means "wake an idle task" (set SCHEDULED and take a reference for the queue) is one atomic
//! operation, and the last reference can never be dropped while a flag says someone still works.

use crate::loom::sync::atomic::{AtomicUsize, Ordering};

const RUNNING: usize = 1 << 0;
const COMPLETE: usize = 1 << 1;
const SCHEDULED: usize = 1 << 2;
const CANCELLED: usize = 1 << 3;
const JOIN_INTEREST: usize = 1 << 4;
const JOIN_WAKER: usize = 1 << 5;
const REF_SHIFT: usize = 6;
const REF_ONE: usize = 1 << REF_SHIFT;

/// A read of the state word.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot(usize);

impl Snapshot {
    pub(crate) fn is_running(self) -> bool {
        self.0 & RUNNING != 0
    }
    pub(crate) fn is_complete(self) -> bool {
        self.0 & COMPLETE != 0
    }
    pub(crate) fn is_scheduled(self) -> bool {
        self.0 & SCHEDULED != 0
    }
    pub(crate) fn is_cancelled(self) -> bool {
        self.0 & CANCELLED != 0
    }
    pub(crate) fn has_join_interest(self) -> bool {
        self.0 & JOIN_INTEREST != 0
    }
    pub(crate) fn has_join_waker(self) -> bool {
        self.0 & JOIN_WAKER != 0
    }
    pub(crate) fn ref_count(self) -> usize {
        self.0 >> REF_SHIFT
    }
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("running", &self.is_running())
            .field("complete", &self.is_complete())
            .field("scheduled", &self.is_scheduled())
            .field("cancelled", &self.is_cancelled())
            .field("join_interest", &self.has_join_interest())
            .field("join_waker", &self.has_join_waker())
            .field("refs", &self.ref_count())
            .finish()
    }
}

/// What a worker that popped a `Notified` now owns.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TransitionToRunning {
    /// Poll the future.
    Success,
    /// Abort was requested: drop the future and complete with `Cancelled`.
    Cancelled,
    /// Someone else finished or cancelled it meanwhile: just drop the queue's reference.
    Failed,
}

/// What the poller must do after a `Pending` poll.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TransitionToIdle {
    /// Idle, and the poller's reference was released in the same operation.
    Ok,
    /// It was woken while running: a new reference was taken for the `Notified`; the poller
    /// drops its own after handing the `Notified` to the scheduler.
    OkNotified,
    /// Abort arrived while running: the poller still owns the future and must cancel it.
    Cancelled,
}

/// What a waker (or abort) must do.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TransitionToNotified {
    /// Already queued, running (it will re-queue itself) or complete.
    DoNothing,
    /// Idle: the caller now holds a reference for a new `Notified` and must schedule it.
    Submit,
    /// The caller's reference was the last one: deallocate.
    Dealloc,
}

pub(crate) struct State {
    word: AtomicUsize,
}

impl State {
    /// A freshly spawned task: queued, with a JoinHandle, and `refs` references
    /// (the Notified, the JoinHandle, and any the spawner keeps).
    pub(crate) fn new(refs: usize) -> State {
        State {
            word: AtomicUsize::new(SCHEDULED | JOIN_INTEREST | (refs * REF_ONE)),
        }
    }

    pub(crate) fn load(&self) -> Snapshot {
        // Acquire: a reader that sees COMPLETE must also see the stored output.
        Snapshot(self.word.load(Ordering::Acquire))
    }

    /// Whether abort, runtime shutdown or a task group asked this task to stop (the CANCELLED
    /// bit). The fast path of `spindle::compute`'s checkpoints: one load of the state word.
    #[inline]
    pub(crate) fn is_cancel_requested(&self) -> bool {
        // Relaxed: the bit publishes no data to the reader; a checkpoint that misses a bit set
        // an instant ago sees it at its next call (the bit is never cleared).
        self.word.load(Ordering::Relaxed) & CANCELLED != 0
    }

    /// Runs `f` in a CAS loop; `f` returns the next word (or `None` to leave it) and a result.
    fn transition<R>(&self, mut f: impl FnMut(usize) -> (Option<usize>, R)) -> R {
        // Acquire, also on CAS failure: a transition may decide from this read alone (`None`)
        // and then own data another thread published, e.g. `unset_join_interest` seeing
        // COMPLETE hands the completer's output to the JoinHandle's drop.
        let mut current = self.word.load(Ordering::Acquire);
        loop {
            let (next, result) = f(current);
            let Some(next) = next else { return result };
            // AcqRel: acquire what the previous owner wrote (future, output, waker), release ours.
            match self.word.compare_exchange_weak(
                current,
                next,
                Ordering::AcqRel,
                Ordering::Acquire, // the re-read value may decide the transition (see above)
            ) {
                Ok(_) => return result,
                Err(actual) => current = actual,
            }
        }
    }

    /// A worker popped this task's `Notified` and wants to poll it.
    pub(crate) fn transition_to_running(&self) -> TransitionToRunning {
        self.transition(|cur| {
            debug_assert!(
                cur & SCHEDULED != 0,
                "running a task that was not scheduled"
            );
            if cur & (RUNNING | COMPLETE) != 0 {
                // Shutdown took the future out from under the queue entry.
                return (None, TransitionToRunning::Failed);
            }
            let next = (cur & !SCHEDULED) | RUNNING;
            if cur & CANCELLED != 0 {
                (Some(next), TransitionToRunning::Cancelled)
            } else {
                (Some(next), TransitionToRunning::Success)
            }
        })
    }

    /// The poll returned `Pending`.
    pub(crate) fn transition_to_idle(&self) -> TransitionToIdle {
        self.transition(|cur| {
            debug_assert!(cur & RUNNING != 0);
            if cur & CANCELLED != 0 {
                (None, TransitionToIdle::Cancelled)
            } else if cur & SCHEDULED != 0 {
                (
                    Some((cur & !RUNNING) + REF_ONE),
                    TransitionToIdle::OkNotified,
                )
            } else {
                debug_assert!(cur >> REF_SHIFT >= 2, "an idle task must stay referenced");
                (Some((cur & !RUNNING) - REF_ONE), TransitionToIdle::Ok)
            }
        })
    }

    /// The output is stored: RUNNING → COMPLETE. Returns the state just before.
    pub(crate) fn transition_to_complete(&self) -> Snapshot {
        // AcqRel: release the output to the JoinHandle; acquire its waker registration.
        let prev = Snapshot(self.word.fetch_xor(RUNNING | COMPLETE, Ordering::AcqRel));
        debug_assert!(prev.is_running() && !prev.is_complete());
        prev
    }

    /// Drops `count` references at once after completion; true if they were the last.
    pub(crate) fn transition_to_terminal(&self, count: usize) -> bool {
        // AcqRel: the thread that frees the cell must see every other thread's last access.
        let prev = self.word.fetch_sub(count * REF_ONE, Ordering::AcqRel);
        debug_assert!(prev >> REF_SHIFT >= count, "task refcount underflow");
        prev >> REF_SHIFT == count
    }

    /// `Waker::wake_by_ref`: queue the task if it is idle, taking a new reference for the queue.
    pub(crate) fn transition_to_notified_by_ref(&self) -> TransitionToNotified {
        self.transition(|cur| {
            if cur & (COMPLETE | SCHEDULED) != 0 {
                (None, TransitionToNotified::DoNothing)
            } else if cur & RUNNING != 0 {
                // The poller re-queues it in transition_to_idle.
                (Some(cur | SCHEDULED), TransitionToNotified::DoNothing)
            } else {
                (
                    Some((cur | SCHEDULED) + REF_ONE),
                    TransitionToNotified::Submit,
                )
            }
        })
    }

    /// `Waker::wake`: like `by_ref`, but the waker's own reference is consumed: dropped here
    /// unless the result is `Submit`, in which case a new reference is taken for the queue and
    /// the caller drops the waker's after `schedule` returns (the scheduler may drop the
    /// `Notified` inside `schedule`, which must never free the cell under its `&self`).
    pub(crate) fn transition_to_notified_by_val(&self) -> TransitionToNotified {
        self.transition(|cur| {
            debug_assert!(cur >> REF_SHIFT >= 1);
            if cur & RUNNING != 0 {
                // The poller holds a reference, so ours is never the last here.
                (
                    Some((cur | SCHEDULED) - REF_ONE),
                    TransitionToNotified::DoNothing,
                )
            } else if cur & (COMPLETE | SCHEDULED) != 0 {
                let next = cur - REF_ONE;
                if next >> REF_SHIFT == 0 {
                    (Some(next), TransitionToNotified::Dealloc)
                } else {
                    (Some(next), TransitionToNotified::DoNothing)
                }
            } else {
                (
                    Some((cur | SCHEDULED) + REF_ONE),
                    TransitionToNotified::Submit,
                )
            }
        })
    }

    /// Abort: mark cancelled, and queue the task if it is idle so that a runtime thread drops
    /// its future.
    pub(crate) fn transition_to_notified_and_cancel(&self) -> TransitionToNotified {
        self.transition(|cur| {
            if cur & (COMPLETE | CANCELLED) != 0 {
                (None, TransitionToNotified::DoNothing)
            } else if cur & (RUNNING | SCHEDULED) != 0 {
                // The poller or the queue entry will see CANCELLED.
                (
                    Some(cur | CANCELLED | SCHEDULED),
                    TransitionToNotified::DoNothing,
                )
            } else {
                (
                    Some((cur | CANCELLED | SCHEDULED) + REF_ONE),
                    TransitionToNotified::Submit,
                )
            }
        })
    }

    /// Runtime shutdown: mark cancelled and, if nobody is polling it, take ownership of the
    /// future (set RUNNING) so the caller can drop it. Returns whether the caller now owns it.
    pub(crate) fn transition_to_shutdown(&self) -> bool {
        self.transition(|cur| {
            if cur & COMPLETE != 0 || cur & (RUNNING | CANCELLED) == RUNNING | CANCELLED {
                (None, false)
            } else if cur & RUNNING != 0 {
                // The poller drops the future when its poll returns.
                (Some(cur | CANCELLED), false)
            } else {
                (Some(cur | CANCELLED | RUNNING), true)
            }
        })
    }

    /// The JoinHandle is dropped. `Err` if the task already completed: then the caller owns
    /// the output and must drop it.
    pub(crate) fn unset_join_interest(&self) -> Result<(), Snapshot> {
        self.transition(|cur| {
            debug_assert!(cur & JOIN_INTEREST != 0);
            if cur & COMPLETE != 0 {
                (None, Err(Snapshot(cur)))
            } else {
                (Some(cur & !(JOIN_INTEREST | JOIN_WAKER)), Ok(()))
            }
        })
    }

    /// The JoinHandle stored a waker (under the trailer's lock). Returns the previous state:
    /// if it was already COMPLETE, the completer will not wake it and the handle must read now.
    pub(crate) fn set_join_waker(&self) -> Snapshot {
        // AcqRel: acquire the output if COMPLETE was already set; release the stored waker.
        Snapshot(self.word.fetch_or(JOIN_WAKER, Ordering::AcqRel))
    }

    pub(crate) fn ref_inc(&self) {
        // Relaxed: a new reference is made from an existing one, which already keeps the
        // cell alive; no data is published by the increment itself.
        let prev = self.word.fetch_add(REF_ONE, Ordering::Relaxed);
        assert!(
            prev >> REF_SHIFT < usize::MAX >> (REF_SHIFT + 1),
            "task refcount overflow"
        );
    }

    /// Drops one reference; true if it was the last and the caller must deallocate.
    pub(crate) fn ref_dec(&self) -> bool {
        self.transition_to_terminal(1)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn spawn_run_idle_wake_complete() {
        let s = State::new(2); // Notified + JoinHandle
        assert_eq!(s.transition_to_running(), TransitionToRunning::Success);
        assert_eq!(
            s.transition_to_notified_by_ref(),
            TransitionToNotified::DoNothing
        );
        assert!(s.load().is_scheduled());
        // Woken while running: a new reference for the Notified; the poller then drops its own.
        assert_eq!(s.transition_to_idle(), TransitionToIdle::OkNotified);
        assert!(!s.ref_dec());
        assert_eq!(s.transition_to_running(), TransitionToRunning::Success);
        s.ref_inc(); // a waker
        assert_eq!(s.transition_to_idle(), TransitionToIdle::Ok);
        assert_eq!(s.load().ref_count(), 2);
        assert_eq!(
            s.transition_to_notified_by_val(),
            TransitionToNotified::Submit
        );
        assert_eq!(s.load().ref_count(), 3); // the waker's is dropped after scheduling
        assert!(!s.ref_dec());
        assert_eq!(s.transition_to_running(), TransitionToRunning::Success);
        let prev = s.transition_to_complete();
        assert!(prev.has_join_interest() && !prev.has_join_waker());
        assert!(!s.transition_to_terminal(1));
        assert!(s.unset_join_interest().is_err());
        assert!(s.ref_dec());
    }

    #[test]
    fn abort_idle_task_submits_once() {
        let s = State::new(2);
        assert_eq!(s.transition_to_running(), TransitionToRunning::Success);
        assert_eq!(s.transition_to_idle(), TransitionToIdle::Ok);
        assert_eq!(
            s.transition_to_notified_and_cancel(),
            TransitionToNotified::Submit
        );
        assert_eq!(
            s.transition_to_notified_and_cancel(),
            TransitionToNotified::DoNothing
        );
        assert_eq!(
            s.transition_to_notified_by_ref(),
            TransitionToNotified::DoNothing
        );
        assert_eq!(s.transition_to_running(), TransitionToRunning::Cancelled);
    }

    #[test]
    fn abort_while_running_is_seen_at_idle() {
        let s = State::new(2);
        assert_eq!(s.transition_to_running(), TransitionToRunning::Success);
        assert_eq!(
            s.transition_to_notified_and_cancel(),
            TransitionToNotified::DoNothing
        );
        assert_eq!(s.transition_to_idle(), TransitionToIdle::Cancelled);
        assert!(s.load().is_running());
    }

    #[test]
    fn shutdown_takes_idle_and_queued_tasks_but_not_running_ones() {
        let queued = State::new(2);
        assert!(queued.transition_to_shutdown());
        assert_eq!(queued.transition_to_running(), TransitionToRunning::Failed);

        let running = State::new(2);
        assert_eq!(
            running.transition_to_running(),
            TransitionToRunning::Success
        );
        assert!(!running.transition_to_shutdown());
        assert_eq!(running.transition_to_idle(), TransitionToIdle::Cancelled);
    }

    #[test]
    fn wake_by_val_of_complete_task_can_be_last_reference() {
        let s = State::new(2);
        assert_eq!(s.transition_to_running(), TransitionToRunning::Success);
        s.transition_to_complete();
        assert!(s.unset_join_interest().is_err());
        // Poller's reference and JoinHandle's remain; drop the poller's, keeping one "waker".
        assert!(!s.transition_to_terminal(1));
        assert_eq!(
            s.transition_to_notified_by_val(),
            TransitionToNotified::Dealloc
        );
    }
}
