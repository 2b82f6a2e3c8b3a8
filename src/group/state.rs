//! The state machine of one task group, kept behind a single mutex.
//!
//! ```text
//!            first failure (child Err / body Err / any panic)
//!   Running ───────────────────────────────────────────────▶ Failing
//!      │  cancel() or task_group future dropped                 │ (dropped: stays Failing)
//!      ├──────────────────────────────────────────────────▶ Cancelled
//!      │  body done and no child left
//!      └──────────────────────────────────────────────────▶ Closed
//! ```
//!
//! Only `Running` admits new children. Entering `Failing` or `Cancelled` happens exactly once
//! and hands back the abort handles of every registered child plus the waiter's waker; the
//! caller runs those [`Effects`] after releasing the lock, so no user code, `abort` or `wake`
//! ever runs under it. Every transition is a small method on [`State`] so that a loom model can
//! drive them directly ("first failure racing a child's completion", "cancel racing a spawn").
//!
//! A child is counted in `live` from [`State::admit_child`] until [`State::child_exited`], which
//! its guard calls after the child's future was dropped; `task_group` finishes only when the
//! body is gone and `live == 0`.
//!
//! The state is generic over the abort handle ([`Abort`]), so a model can drive it with a stub
//! that records aborts instead of real tasks.

use crate::AbortHandle;
use std::any::Any;
use std::collections::HashMap;
use std::task::Waker;

/// What the state needs from a child's abort handle.
pub(crate) trait Abort {
    /// Requests the child's cancellation (a no-op if it already finished).
    fn abort(&self);
}

impl Abort for AbortHandle {
    fn abort(&self) {
        AbortHandle::abort(self);
    }
}

/// Where the group is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Accepting children; the body may still be running.
    Running,
    /// A failure happened: children aborted, body being dropped, spawns refused, errors kept.
    Failing,
    /// `cancel()` (or the `task_group` future was dropped): like `Failing`, but errors are
    /// discarded.
    Cancelled,
    /// Finished successfully; spawns refused.
    Closed,
}

/// How `task_group` ends, decided once under the lock.
pub(crate) enum Outcome<E> {
    /// Everything succeeded.
    Closed,
    /// `cancel()` stopped the group.
    Cancelled,
    /// The children's errors, in completion order (the body's is appended by the caller).
    Failed(Vec<E>),
    /// A child or the body panicked: resume this payload.
    Panicked(Box<dyn Any + Send>),
}

/// What the awaiting task should do next.
pub(crate) enum Progress<E> {
    /// Wait for a wake.
    Wait,
    /// The group is stopping and the body is still alive: drop it now.
    DropBody,
    /// Done.
    Finish(Outcome<E>),
}

/// Side effects of a transition, run after the lock is released.
#[must_use = "effects must be run after the lock is released"]
pub(crate) struct Effects<H = AbortHandle> {
    abort: Vec<H>,
    wake: Option<Waker>,
}

impl<H: Abort> Effects<H> {
    fn none() -> Effects<H> {
        Effects {
            abort: Vec::new(),
            wake: None,
        }
    }

    /// Aborts the collected children and wakes the awaiting task. Call without the lock held.
    pub(crate) fn run(self) {
        for handle in self.abort {
            handle.abort();
        }
        if let Some(waker) = self.wake {
            waker.wake();
        }
    }

    /// How many children this transition aborts (for tests and models).
    #[allow(dead_code)]
    pub(crate) fn aborted(&self) -> usize {
        self.abort.len()
    }
}

/// The group's shared state.
pub(crate) struct State<E, H = AbortHandle> {
    phase: Phase,
    /// Children admitted and not yet exited.
    live: usize,
    next_id: u64,
    /// Abort handles of live children; `None` between admission and the end of `spawn`, or
    /// after the handle was taken by a stop transition.
    children: HashMap<u64, Option<H>>,
    /// Children's errors in completion order.
    errors: Vec<E>,
    /// The first panic, to resume in the awaiting task.
    panic: Option<Box<dyn Any + Send>>,
    /// The task awaiting `task_group`.
    waiter: Option<Waker>,
}

impl<E, H: Abort> State<E, H> {
    pub(crate) fn new() -> State<E, H> {
        State {
            phase: Phase::Running,
            live: 0,
            next_id: 0,
            children: HashMap::new(),
            errors: Vec::new(),
            panic: None,
            waiter: None,
        }
    }

    pub(crate) fn phase(&self) -> Phase {
        self.phase
    }

    /// Children admitted and not yet exited.
    pub(crate) fn live(&self) -> usize {
        self.live
    }

    /// `Failing` or `Cancelled`: children and body must stop.
    pub(crate) fn is_stopping(&self) -> bool {
        matches!(self.phase, Phase::Failing | Phase::Cancelled)
    }

    /// Registers a new child if the group is `Running`; `None` means the spawn is refused.
    pub(crate) fn admit_child(&mut self) -> Option<u64> {
        if self.phase != Phase::Running {
            return None;
        }
        let id = self.next_id;
        self.next_id += 1;
        self.live += 1;
        self.children.insert(id, None);
        Some(id)
    }

    /// Stores a freshly spawned child's abort handle. Returns it back if it must be aborted now
    /// (the group began stopping while the child was being spawned).
    pub(crate) fn attach_abort(&mut self, id: u64, handle: H) -> Option<H> {
        let stopping = self.is_stopping();
        match self.children.get_mut(&id) {
            // Already exited: nothing to abort later.
            None => None,
            Some(_) if stopping => Some(handle),
            Some(slot) => {
                *slot = Some(handle);
                None
            }
        }
    }

    /// Enters `next` (`Failing` or `Cancelled`) from `Running`: takes every abort handle except
    /// `except`'s (a child does not abort itself) and the waiter, exactly once.
    fn begin_stopping(&mut self, next: Phase, except: Option<u64>) -> Effects<H> {
        debug_assert_eq!(self.phase, Phase::Running);
        self.phase = next;
        let abort = self
            .children
            .iter_mut()
            .filter(|(id, _)| Some(**id) != except)
            .filter_map(|(_, handle)| handle.take())
            .collect();
        Effects {
            abort,
            wake: self.waiter.take(),
        }
    }

    /// A child returned `Err`. Kept unless the group was cancelled; the first failure stops the
    /// group.
    pub(crate) fn child_failed(&mut self, id: u64, error: E) -> Effects<H> {
        match self.phase {
            Phase::Running => {
                self.errors.push(error);
                self.begin_stopping(Phase::Failing, Some(id))
            }
            Phase::Failing => {
                self.errors.push(error);
                Effects::none()
            }
            // A cancelled group reports no errors. (`Closed` cannot have live children.)
            Phase::Cancelled | Phase::Closed => Effects::none(),
        }
    }

    /// The body returned `Err`. Returns whether its error is kept (it is appended last by the
    /// awaiting task) and the effects of the first failure.
    pub(crate) fn body_failed(&mut self) -> (bool, Effects<H>) {
        match self.phase {
            Phase::Running => (true, self.begin_stopping(Phase::Failing, None)),
            Phase::Failing => (true, Effects::none()),
            Phase::Cancelled | Phase::Closed => (false, Effects::none()),
        }
    }

    /// A child (`Some(id)`) or the body (`None`) panicked. The first payload is kept; the group
    /// stops if it was running.
    pub(crate) fn panicked(
        &mut self,
        child: Option<u64>,
        payload: Box<dyn Any + Send>,
    ) -> Effects<H> {
        if self.panic.is_none() {
            self.panic = Some(payload);
        }
        match self.phase {
            Phase::Running => self.begin_stopping(Phase::Failing, child),
            _ => Effects::none(),
        }
    }

    /// `TaskGroup::cancel`: stops a running group; idempotent.
    pub(crate) fn cancel(&mut self) -> Effects<H> {
        match self.phase {
            Phase::Running => self.begin_stopping(Phase::Cancelled, None),
            _ => Effects::none(),
        }
    }

    /// The `task_group` future was dropped before it finished: abort every child that is still
    /// registered (including ones already aborted once; aborting twice is harmless).
    pub(crate) fn abandon(&mut self) -> Effects<H> {
        if self.phase == Phase::Running {
            return self.begin_stopping(Phase::Cancelled, None);
        }
        Effects {
            abort: self
                .children
                .values_mut()
                .filter_map(Option::take)
                .collect(),
            wake: None,
        }
    }

    /// A child's future is gone (finished, failed, panicked or aborted). Wakes the waiter when it
    /// was the last one.
    pub(crate) fn child_exited(&mut self, id: u64) -> Effects<H> {
        self.children.remove(&id);
        self.live -= 1;
        Effects {
            abort: Vec::new(),
            wake: if self.live == 0 {
                self.waiter.take()
            } else {
                None
            },
        }
    }

    /// Remembers the waker of the task awaiting `task_group`.
    pub(crate) fn register_waiter(&mut self, waker: &Waker) {
        if !self.waiter.as_ref().is_some_and(|w| w.will_wake(waker)) {
            self.waiter = Some(waker.clone());
        }
    }

    /// Decides the awaiting task's next step. Finishing moves a running group to `Closed`.
    pub(crate) fn progress(&mut self, body_alive: bool) -> Progress<E> {
        if body_alive {
            return if self.is_stopping() {
                Progress::DropBody
            } else {
                Progress::Wait
            };
        }
        if self.live > 0 {
            return Progress::Wait;
        }
        self.waiter = None;
        Progress::Finish(self.finish())
    }

    /// The body is gone and no child is left: the final outcome.
    fn finish(&mut self) -> Outcome<E> {
        if let Some(payload) = self.panic.take() {
            self.errors.clear();
            return Outcome::Panicked(payload);
        }
        match self.phase {
            Phase::Running | Phase::Closed => {
                self.phase = Phase::Closed;
                Outcome::Closed
            }
            Phase::Cancelled => Outcome::Cancelled,
            Phase::Failing => Outcome::Failed(std::mem::take(&mut self.errors)),
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Counts the aborts requested for one child.
    #[derive(Clone, Default)]
    struct Stub(Arc<AtomicUsize>);

    impl Abort for Stub {
        fn abort(&self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    impl Stub {
        fn aborts(&self) -> usize {
            self.0.load(Ordering::SeqCst)
        }
    }

    fn admit(state: &mut State<&'static str, Stub>) -> (u64, Stub) {
        let id = state.admit_child().expect("running group admits");
        let stub = Stub::default();
        assert!(state.attach_abort(id, stub.clone()).is_none());
        (id, stub)
    }

    #[test]
    fn first_failure_aborts_every_other_child_exactly_once() {
        let mut state = State::new();
        let (a, sa) = admit(&mut state);
        let (_b, sb) = admit(&mut state);
        let (_c, sc) = admit(&mut state);
        let effects = state.child_failed(a, "a failed");
        assert_eq!(
            effects.aborted(),
            2,
            "the failing child does not abort itself"
        );
        effects.run();
        assert_eq!(state.phase(), Phase::Failing);
        // A second failure collects its error but aborts nobody again.
        let effects = state.child_failed(a, "again");
        assert_eq!(effects.aborted(), 0);
        effects.run();
        assert_eq!((sa.aborts(), sb.aborts(), sc.aborts()), (0, 1, 1));
    }

    #[test]
    fn failure_racing_a_completion_either_order_ends_consistently() {
        // Order 1: b completes, then a fails: nothing left to abort for b.
        let mut state = State::new();
        let (a, _) = admit(&mut state);
        let (b, sb) = admit(&mut state);
        state.child_exited(b).run();
        state.child_failed(a, "a").run();
        assert_eq!(sb.aborts(), 0);
        state.child_exited(a).run();
        match state.progress(false) {
            Progress::Finish(Outcome::Failed(errors)) => assert_eq!(errors, ["a"]),
            _ => panic!("expected the failure"),
        }

        // Order 2: a fails (aborting b), then b completes anyway: harmless, one error.
        let mut state = State::new();
        let (a, _) = admit(&mut state);
        let (b, sb) = admit(&mut state);
        state.child_failed(a, "a").run();
        assert_eq!(sb.aborts(), 1);
        state.child_exited(b).run();
        assert!(
            matches!(state.progress(false), Progress::Wait),
            "a has not exited"
        );
        state.child_exited(a).run();
        match state.progress(false) {
            Progress::Finish(Outcome::Failed(errors)) => assert_eq!(errors, ["a"]),
            _ => panic!("expected the failure"),
        }
    }

    #[test]
    fn spawn_racing_a_stop_is_aborted_when_it_attaches() {
        let mut state: State<&str, Stub> = State::new();
        let id = state.admit_child().unwrap();
        state.cancel().run(); // the handle is not attached yet
        let late = Stub::default();
        let back = state
            .attach_abort(id, late.clone())
            .expect("must be aborted by the spawner");
        back.abort();
        assert_eq!(late.aborts(), 1);
        assert!(
            state.admit_child().is_none(),
            "a cancelled group refuses children"
        );
    }

    #[test]
    fn cancel_discards_errors_and_is_idempotent() {
        let mut state = State::new();
        let (a, sa) = admit(&mut state);
        let (b, _) = admit(&mut state);
        let effects = state.cancel();
        assert_eq!(effects.aborted(), 2);
        effects.run();
        assert_eq!(state.cancel().aborted(), 0, "cancel is idempotent");
        state.child_failed(b, "ignored").run();
        state.child_exited(b).run();
        state.child_exited(a).run();
        assert_eq!(sa.aborts(), 1);
        assert!(matches!(
            state.progress(false),
            Progress::Finish(Outcome::Cancelled)
        ));
    }

    #[test]
    fn success_closes_the_group() {
        let mut state: State<&str, Stub> = State::new();
        let (a, _) = admit(&mut state);
        assert!(matches!(state.progress(true), Progress::Wait));
        assert!(matches!(state.progress(false), Progress::Wait));
        state.child_exited(a).run();
        assert!(matches!(
            state.progress(false),
            Progress::Finish(Outcome::Closed)
        ));
        assert_eq!(state.phase(), Phase::Closed);
        assert!(
            state.admit_child().is_none(),
            "a finished group refuses children"
        );
    }

    #[test]
    fn panic_wins_over_errors_and_stops_the_body() {
        let mut state: State<&str, Stub> = State::new();
        let (a, _) = admit(&mut state);
        let (b, sb) = admit(&mut state);
        state.child_failed(b, "error").run();
        state.panicked(Some(a), Box::new("boom")).run();
        assert!(matches!(state.progress(true), Progress::DropBody));
        state.child_exited(a).run();
        state.child_exited(b).run();
        assert_eq!(sb.aborts(), 0, "b failed itself: never aborted");
        match state.progress(false) {
            Progress::Finish(Outcome::Panicked(p)) => {
                assert_eq!(*p.downcast::<&str>().unwrap(), "boom")
            }
            _ => panic!("expected the panic"),
        }
    }
}
