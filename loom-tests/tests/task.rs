//! The task state machine (`src/task/state.rs`, `raw.rs`, `join.rs`): wakes, runs, completion,
//! abort, JoinHandle drop and output handoff, wakers on other threads, and the refcount.
//!
//! Each model ends by dropping every handle and checking that the task cell was freed exactly
//! once (`TaskQueue::freed`), that the future and output were dropped exactly once, and — via
//! loom's leak check on `Arc`s — that no reference was lost.

#![cfg(loom)]

use loom::thread;
use loom_tests::{DropCount, Probe, counting_waker, poll_once};
use spindle::loom_api::TaskQueue;
use std::task::Poll;

/// A wake from another thread racing the poll that stores the waker: the task is re-queued
/// exactly once (by `schedule` if it was idle, by `yield_now` if it was running) and completes
/// on the next run.
#[test]
fn wake_racing_run_and_complete() {
    loom::model(|| {
        let queue = TaskQueue::new();
        let probe = Probe::new();
        let drops = DropCount::new();
        let mut join = queue.spawn(probe.script(2, &drops));

        let waker_thread = {
            let probe = probe.clone();
            thread::spawn(move || probe.wait_for_waker().wake())
        };
        // Poll 1 (Pending) races the wake; then run whatever the wake queued.
        assert!(queue.run_one());
        waker_thread.join().unwrap();
        assert_eq!(
            queue.scheduled() + queue.yielded(),
            1,
            "exactly one re-queue"
        );
        assert_eq!(queue.run_until_idle(), 1);

        assert_eq!(probe.polls(), 2);
        assert_eq!(drops.get(), 1, "future dropped once, at completion");
        let (wakes, waker) = counting_waker();
        assert!(matches!(poll_once(&mut join, &waker), Poll::Ready(Ok(2))));
        assert_eq!(wakes.get(), 0);
        drop((join, waker, probe));
        assert_eq!(queue.freed(), 1);
        queue.shutdown();
    });
}

/// Two threads wake the same idle task at once (one by value, one by reference) while a third
/// runs the queue: only one `Notified` exists at a time, the task completes once, and the
/// late wake of a completed task does nothing.
#[test]
fn wake_from_two_threads() {
    loom::model(|| {
        let queue = TaskQueue::new();
        let probe = Probe::new();
        let drops = DropCount::new();
        let join = queue.spawn(probe.script(2, &drops));
        assert!(queue.run_one()); // poll 1: Pending, idle
        let waker = probe.take_waker().unwrap();
        let waker2 = waker.clone();

        let a = thread::spawn(move || waker.wake());
        let b = thread::spawn(move || {
            waker2.wake_by_ref();
            drop(waker2);
        });
        let ran = queue.run_until_idle();
        a.join().unwrap();
        b.join().unwrap();
        let ran = ran + queue.run_until_idle();

        assert_eq!(ran, 1, "two wakes of an idle task queue it once");
        assert_eq!(probe.polls(), 2);
        assert_eq!(drops.get(), 1);
        drop((join, probe));
        assert_eq!(queue.freed(), 1);
        queue.shutdown();
    });
}

/// `abort` from another thread racing the poll that completes the task: the JoinHandle sees
/// either the output (the poll won) or `Cancelled` (the future was dropped unpolled), never
/// both, and the future is dropped exactly once.
#[test]
fn abort_racing_completion() {
    loom::model(|| {
        let queue = TaskQueue::new();
        let probe = Probe::new();
        let drops = DropCount::new();
        let mut join = queue.spawn(probe.script(2, &drops));
        assert!(queue.run_one()); // poll 1: Pending
        probe.take_waker().unwrap().wake(); // queued for poll 2, which completes
        let abort = join.abort_handle();

        let aborter = thread::spawn(move || abort.abort());
        queue.run_until_idle();
        aborter.join().unwrap();
        queue.run_until_idle();

        let (_wakes, waker) = counting_waker();
        match poll_once(&mut join, &waker) {
            Poll::Ready(Ok(n)) => {
                assert_eq!(n, 2);
                assert_eq!(probe.polls(), 2);
            }
            Poll::Ready(Err(e)) => {
                assert!(e.is_cancelled());
                assert_eq!(probe.polls(), 1, "a cancelled task is not polled again");
            }
            Poll::Pending => panic!("task neither completed nor cancelled"),
        }
        assert_eq!(drops.get(), 1);
        drop((join, waker, probe));
        assert_eq!(queue.freed(), 1);
        queue.shutdown();
    });
}

/// Aborting an idle task from two threads while a third wakes it: it is queued once and
/// cancelled once.
#[test]
fn abort_and_wake_idle_task() {
    loom::model(|| {
        let queue = TaskQueue::new();
        let probe = Probe::new();
        let drops = DropCount::new();
        let mut join = queue.spawn(probe.script(usize::MAX, &drops));
        assert!(queue.run_one()); // idle forever unless woken
        let waker = probe.take_waker().unwrap();
        let abort = join.abort_handle();
        let abort2 = abort.clone();

        let a = thread::spawn(move || abort.abort());
        let b = thread::spawn(move || abort2.abort());
        waker.wake();
        a.join().unwrap();
        b.join().unwrap();
        // One queued Notified at most per wake/abort that found the task idle: at most one.
        assert_eq!(queue.len(), 1);
        queue.run_until_idle();

        let (_wakes, waker) = counting_waker();
        match poll_once(&mut join, &waker) {
            Poll::Ready(Err(e)) => assert!(e.is_cancelled()),
            other => panic!("expected cancelled, got {other:?}"),
        }
        assert_eq!(probe.polls(), 1);
        assert_eq!(drops.get(), 1);
        drop((join, waker, probe));
        assert_eq!(queue.freed(), 1);
        queue.shutdown();
    });
}

/// Dropping the JoinHandle on one thread while the task completes on another: the output is
/// dropped exactly once, by whichever side is second, and the cell is freed once.
#[test]
fn join_handle_dropped_racing_completion() {
    loom::model(|| {
        let queue = TaskQueue::new();
        let output_drops = DropCount::new();
        let out = output_drops.clone();
        let (task, join) = queue.spawn_runnable(async move { out.track(7u32) });

        let dropper = thread::spawn(move || drop(join));
        task.run();
        dropper.join().unwrap();

        assert_eq!(output_drops.get(), 1, "output dropped exactly once");
        assert_eq!(queue.freed(), 1);
        queue.shutdown();
    });
}

/// The JoinHandle is awaited on one thread while the task completes on another: the output is
/// handed over exactly once, and if the handle registered its waker first, it is woken
/// (otherwise `block_on` would deadlock and loom would report it).
#[test]
fn join_handle_output_handoff() {
    loom::model(|| {
        let queue = TaskQueue::new();
        let output_drops = DropCount::new();
        let out = output_drops.clone();
        let (task, join) = queue.spawn_runnable(async move { out.track(String::from("out")) });

        let runner = thread::spawn(move || task.run());
        let output = loom::future::block_on(join).expect("task succeeded");
        assert_eq!(output.value, "out");
        assert_eq!(output_drops.get(), 0, "the handle owns the output now");
        drop(output);
        runner.join().unwrap();
        assert_eq!(output_drops.get(), 1);
        assert_eq!(queue.freed(), 1);
        queue.shutdown();
    });
}

/// The JoinHandle is polled twice with different wakers while the task completes: the waker
/// swap under the trailer lock never loses the wake of the latest waker.
#[test]
fn join_waker_replaced_racing_completion() {
    loom::model(|| {
        let queue = TaskQueue::new();
        let (task, mut join) = queue.spawn_runnable(async { 5u8 });
        let (first_wakes, first) = counting_waker();
        let (second_wakes, second) = counting_waker();

        let runner = thread::spawn(move || task.run());
        let mut result = poll_once(&mut join, &first);
        if result.is_pending() {
            result = poll_once(&mut join, &second);
        }
        runner.join().unwrap();
        match result {
            Poll::Ready(output) => assert_eq!(output.unwrap(), 5),
            Poll::Pending => {
                // The completer ran after our last registration: it must have woken it.
                assert_eq!(second_wakes.get(), 1, "the latest waker is woken");
                assert!(matches!(poll_once(&mut join, &second), Poll::Ready(Ok(5))));
            }
        }
        assert!(first_wakes.get() <= 1);
        drop((join, first, second));
        assert_eq!(queue.freed(), 1);
        queue.shutdown();
    });
}

/// A waker cloned, woken and dropped on another thread while the task runs and completes on
/// this one: every clone's reference is released and the cell is freed exactly once, by
/// whoever holds the last reference.
#[test]
fn waker_cloned_and_dropped_on_another_thread() {
    loom::model(|| {
        let queue = TaskQueue::new();
        let probe = Probe::new();
        let drops = DropCount::new();
        let join = queue.spawn(probe.script(2, &drops));
        assert!(queue.run_one()); // poll 1: Pending; the probe holds a waker
        let waker = probe.take_waker().unwrap();

        let other = thread::spawn(move || {
            let clone = waker.clone();
            drop(waker);
            clone.wake_by_ref();
            drop(clone);
        });
        drop(join);
        queue.run_until_idle();
        other.join().unwrap();
        queue.run_until_idle();

        assert_eq!(probe.polls(), 2);
        assert_eq!(drops.get(), 1);
        drop(probe); // the waker stored by poll 2
        assert_eq!(queue.freed(), 1);
        queue.shutdown();
    });
}

/// The last three references (JoinHandle, a waker, the running poller) are released on three
/// threads at once: the cell is deallocated exactly once.
#[test]
fn refcount_reaches_zero_exactly_once() {
    loom::model(|| {
        let queue = TaskQueue::new();
        let probe = Probe::new();
        let drops = DropCount::new();
        let join = queue.spawn(probe.script(2, &drops));
        assert!(queue.run_one()); // poll 1: Pending
        probe.take_waker().unwrap().wake(); // queued for poll 2
        let task = queue.pop().unwrap();

        let a = thread::spawn(move || drop(join));
        let b = thread::spawn(move || task.run()); // poll 2 stores a waker, completes
        let c = {
            let probe = probe.clone();
            thread::spawn(move || drop(probe.wait_for_waker()))
        };
        a.join().unwrap();
        b.join().unwrap();
        c.join().unwrap();
        drop(probe);
        assert_eq!(drops.get(), 1);
        assert_eq!(queue.freed(), 1, "freed exactly once");
        queue.shutdown();
    });
}

/// Runtime shutdown (cancel every registered task) racing a wake of the same idle task from
/// another thread: the future is dropped once, on the shutdown side or by the queued
/// `Notified`'s cancellation, and the JoinHandle reports `Cancelled`.
#[test]
fn shutdown_racing_wake() {
    loom::model(|| {
        let queue = TaskQueue::new();
        let probe = Probe::new();
        let drops = DropCount::new();
        let mut join = queue.spawn(probe.script(usize::MAX, &drops));
        assert!(queue.run_one()); // idle, registered
        let waker = probe.take_waker().unwrap();

        let waker_thread = thread::spawn(move || waker.wake());
        queue.shutdown();
        waker_thread.join().unwrap();
        queue.shutdown(); // a wake that landed after the first pass

        let (_wakes, waker) = counting_waker();
        match poll_once(&mut join, &waker) {
            Poll::Ready(Err(e)) => assert!(e.is_cancelled()),
            other => panic!("expected cancelled, got {other:?}"),
        }
        assert_eq!(probe.polls(), 1);
        assert_eq!(drops.get(), 1);
        drop((join, waker, probe));
        assert_eq!(queue.freed(), 1);
    });
}
