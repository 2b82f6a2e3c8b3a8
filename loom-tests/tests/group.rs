//! The task group's state machine (`src/group/state.rs`), driven as `task_group.rs` drives it,
//! with real tasks (and their real `AbortHandle`s) as children.

#![cfg(loom)]

use loom::sync::Arc;
use loom::thread;
use loom_tests::{DropCount, Probe};
use spindle::loom_api::{GroupOutcome, GroupState, TaskQueue};
use std::future::poll_fn;

/// Reports a child's exit when dropped, like `ChildGuard`: after the child's future is gone,
/// whether it finished or was aborted.
struct ExitGuard {
    group: Arc<GroupState>,
    id: u64,
}

impl Drop for ExitGuard {
    fn drop(&mut self) {
        self.group.child_exited(self.id);
    }
}

/// Child `a` fails (aborting its siblings) while child `b` completes on another thread, and the
/// awaiting task waits for both: `b` is aborted at most once and only if it had not exited,
/// its future is dropped exactly once, the waiter is never left asleep (loom would report a
/// deadlock) and the outcome is always `Failed(["a"])`.
#[test]
fn first_failure_racing_child_completion() {
    loom::model(|| {
        let group = Arc::new(GroupState::new());
        let queue = TaskQueue::new();

        let id_a = group.admit_child().unwrap();
        let guard_a = ExitGuard {
            group: group.clone(),
            id: id_a,
        };
        let failing = group.clone();
        let join_a = queue.spawn(async move {
            let _guard = guard_a;
            failing.child_failed(id_a, "a");
        });
        group.attach_abort(id_a, join_a.abort_handle());

        let id_b = group.admit_child().unwrap();
        let guard_b = ExitGuard {
            group: group.clone(),
            id: id_b,
        };
        let probe = Probe::new();
        let drops = DropCount::new();
        let gate = probe.gated(&drops);
        let join_b = queue.spawn(async move {
            let _guard = guard_b;
            gate.await
        });
        group.attach_abort(id_b, join_b.abort_handle());

        // Both children are queued; run b's first poll (Pending) so that it is idle.
        let task_a = queue.pop().unwrap();
        queue.run_one();
        assert_eq!(probe.polls(), 1);
        let b_waker = probe.take_waker().unwrap();

        let thread_a = {
            let queue = queue.clone();
            thread::spawn(move || {
                task_a.run(); // fails: aborts b unless b already exited
                queue.run_until_idle();
            })
        };
        let thread_b = {
            let (queue, probe) = (queue.clone(), probe.clone());
            thread::spawn(move || {
                probe.open();
                b_waker.wake(); // b completes at its next poll
                queue.run_until_idle();
            })
        };
        let outcome = loom::future::block_on(poll_fn(|cx| group.poll_finish(cx.waker())));
        thread_a.join().unwrap();
        thread_b.join().unwrap();

        assert_eq!(outcome, GroupOutcome::Failed(vec!["a"]));
        assert_eq!(group.live(), 0);
        assert_eq!(drops.get(), 1, "b's future dropped exactly once");
        assert!(probe.polls() <= 2, "an aborted child is not polled again");
        drop((join_a, join_b, probe));
        queue.shutdown();
        assert_eq!(queue.freed(), 2);
    });
}

/// `cancel()` racing a spawn into the group: the child is refused, or admitted and then
/// aborted exactly once — by the cancel (handle attached first) or by the spawn itself
/// (attached after the cancel) — and the group finishes `Cancelled`.
#[test]
fn cancel_racing_spawn() {
    loom::model(|| {
        let group = Arc::new(GroupState::new());
        let queue = TaskQueue::new();
        let probe = Probe::new();
        let drops = DropCount::new();

        let spawner = {
            let (group, queue, probe, drops) =
                (group.clone(), queue.clone(), probe.clone(), drops.clone());
            thread::spawn(move || {
                let id = group.admit_child()?;
                let guard = ExitGuard {
                    group: group.clone(),
                    id,
                };
                let pending = probe.gated(&drops);
                let join = queue.spawn(async move {
                    let _guard = guard;
                    pending.await
                });
                group.attach_abort(id, join.abort_handle());
                Some(join)
            })
        };
        group.cancel();
        let join = spawner.join().unwrap();
        queue.run_until_idle();

        let outcome = loom::future::block_on(poll_fn(|cx| group.poll_finish(cx.waker())));
        assert_eq!(outcome, GroupOutcome::Cancelled);
        if let Some(mut join) = join {
            let (_wakes, waker) = loom_tests::counting_waker();
            match loom_tests::poll_once(&mut join, &waker) {
                std::task::Poll::Ready(Err(e)) => assert!(e.is_cancelled()),
                _ => panic!("an admitted child must be aborted"),
            }
            assert_eq!(drops.get(), 1);
            assert_eq!(probe.polls(), 0, "aborted before its first poll");
        }
        drop(probe);
        queue.shutdown();
        assert_eq!(queue.freed(), queue.spawned());
    });
}
