//! The parking and idle protocol (`src/scheduler/{idle,park,worker,mod}.rs`) and shutdown.
//!
//! The worker loop runs unchanged on loom threads; the crossbeam queues are replaced by the
//! mutex stand-in in `scheduler/queue.rs`, and the OS poller by the reactor's loom stand-in
//! (a condvar that `Reactor::notify` signals). A lost wake-up shows up as a loom deadlock
//! ("all threads blocked"), a leaked task as a leaked `Arc` or a failed count.

#![cfg(loom)]

use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering, fence};
use loom::sync::{Arc, Mutex};
use loom::thread;
use loom_tests::{DropCount, Probe, counting_waker, poll_once};
use spindle::loom_api::{Idle, LifoSlot, ParkDriver, Runtime, TaskQueue, park_pair};
use std::task::Poll;

/// An unpark racing a park on the reactor path (the driver is free) is never lost: the
/// parked thread returns.
#[test]
fn unpark_racing_park_on_driver() {
    loom::model(|| {
        let driver = Arc::new(ParkDriver::new());
        let (parker, unparker) = park_pair();
        let d = driver.clone();
        let sleeper = thread::spawn(move || {
            parker.park(&d, 0);
        });
        unparker.unpark(&driver);
        sleeper.join().unwrap();
    });
}

/// Two workers park at once, so one sleeps on the reactor and the other on its condvar; an
/// unpark of each, racing their parks, wakes both.
#[test]
fn unpark_racing_park_on_condvar() {
    loom::model(|| {
        let driver = Arc::new(ParkDriver::new());
        let (p0, u0) = park_pair();
        let (p1, u1) = park_pair();
        let d0 = driver.clone();
        let d1 = driver.clone();
        let t0 = thread::spawn(move || {
            p0.park(&d0, 0);
        });
        let t1 = thread::spawn(move || {
            p1.park(&d1, 1);
        });
        u0.unpark(&driver);
        u1.unpark(&driver);
        t0.join().unwrap();
        t1.join().unwrap();
    });
}

/// Notifications racing each other while every worker is parked: at most one worker is woken
/// (the woken one counts as searching, which stops further wakes), and never the same worker
/// twice.
#[test]
fn idle_notify_wakes_at_most_one() {
    loom::model(|| {
        let idle = Arc::new(Idle::new(2));
        assert!(!idle.transition_to_parked(0, false));
        assert!(!idle.transition_to_parked(1, false));
        let woken = Arc::new(AtomicUsize::new(0));
        let notifiers: Vec<_> = (0..2)
            .map(|_| {
                let idle = idle.clone();
                let woken = woken.clone();
                thread::spawn(move || {
                    let picked = idle.worker_to_notify();
                    if picked.is_some() {
                        woken.fetch_add(1, Ordering::SeqCst);
                    }
                    picked
                })
            })
            .collect();
        let picked: Vec<_> = notifiers.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(woken.load(Ordering::SeqCst), 1, "{picked:?}");
        // The woken worker takes itself off the sleepers list exactly once.
        let index = picked.into_iter().flatten().next().unwrap();
        assert!(idle.transition_from_parked(index), "woken by a notifier");
        assert!(idle.transition_from_searching(), "it was the only searcher");
        // The other one is still asleep and can be woken by the next notification.
        assert_eq!(idle.worker_to_notify(), Some(1 - index));
    });
}

/// A searching worker giving up (parking) races a notification: either the notifier sees the
/// worker parked and wakes a sleeper, or the worker — told it was the last searcher — finds
/// the work in its re-check. The "queue" is a mutex, like the loom stand-in of the injector
/// (loom treats SeqCst loads and stores as AcqRel, so a bare SeqCst flag here would be a
/// false alarm; the notifier's fence mirrors `push_remote`).
#[test]
fn last_searcher_parking_races_notify() {
    loom::model(|| {
        let idle = Arc::new(Idle::new(2));
        assert!(!idle.transition_to_parked(1, false)); // worker 1 asleep
        assert!(idle.transition_to_searching()); // worker 0 searching
        let work = Arc::new(Mutex::new(false));
        let notifier = {
            let (idle, work) = (idle.clone(), work.clone());
            thread::spawn(move || {
                *work.lock().unwrap() = true; // push
                fence(Ordering::SeqCst);
                idle.worker_to_notify()
            })
        };
        let recheck = idle.transition_to_parked(0, true);
        assert!(recheck, "the last searcher must re-check");
        let saw_work = *work.lock().unwrap();
        let picked = notifier.join().unwrap();
        assert!(saw_work || picked.is_some(), "notification lost");
    });
}

/// The real worker loop: a task pushed from outside while the only worker is going to sleep is
/// run (a lost notification would leave both threads blocked: loom reports a deadlock). Then
/// shutdown lets the worker exit.
#[test]
fn remote_spawn_racing_worker_park() {
    loom::model(|| {
        let (rt, mut workers) = Runtime::new(1);
        let worker = workers.pop().unwrap();
        let w = thread::spawn(move || worker.run());
        let join = rt.spawn(async { 3 });
        assert_eq!(loom::future::block_on(join).unwrap(), 3);
        assert!(rt.begin_shutdown());
        w.join().unwrap();
        rt.finish_shutdown();
    });
}

/// The same with two workers: one may sleep in the reactor and one on its condvar, and the
/// notification must reach a sleeping one (or a searcher must find the task).
#[test]
fn remote_spawn_racing_two_workers_park() {
    loom::model(|| {
        let (rt, workers) = Runtime::new(2);
        let threads: Vec<_> = workers
            .into_iter()
            .map(|worker| thread::spawn(move || worker.run()))
            .collect();
        let join = rt.spawn(async { 4 });
        assert_eq!(loom::future::block_on(join).unwrap(), 4);
        assert!(rt.begin_shutdown());
        for t in threads {
            t.join().unwrap();
        }
        rt.finish_shutdown();
    });
}

/// A remote spawn racing runtime shutdown: the task is either run before shutdown or cancelled
/// by it, never leaked in a queue and never polled once shutdown finished. Its future is
/// dropped exactly once.
#[test]
fn injector_push_racing_shutdown() {
    loom::model(|| {
        let (rt, mut workers) = Runtime::new(1);
        let worker = workers.pop().unwrap();
        let finished = Arc::new(AtomicBool::new(false));
        let drops = DropCount::new();

        let w = thread::spawn(move || worker.run());
        let spawner = {
            let (rt, finished, drops) = (rt.clone(), finished.clone(), drops.clone());
            thread::spawn(move || {
                let guard = drops.track(());
                rt.spawn(async move {
                    let _guard = guard;
                    assert!(!finished.load(Ordering::SeqCst), "polled after shutdown");
                    11
                })
            })
        };
        rt.begin_shutdown();
        w.join().unwrap();
        rt.finish_shutdown();
        finished.store(true, Ordering::SeqCst);
        let mut join = spawner.join().unwrap();

        let (_wakes, waker) = counting_waker();
        match poll_once(&mut join, &waker) {
            Poll::Ready(Ok(v)) => assert_eq!(v, 11),
            Poll::Ready(Err(e)) => assert!(e.is_cancelled()),
            Poll::Pending => panic!("task leaked: neither run nor cancelled"),
        }
        assert_eq!(drops.get(), 1, "future dropped exactly once");
    });
}

/// A foreign thread wakes an idle (registered) task while the runtime shuts down: the task is
/// cancelled exactly once, and its destructor never runs inside `Waker::wake` on the foreign
/// thread (which may hold a lock the destructor needs).
#[test]
fn foreign_wake_racing_shutdown() {
    loom::model(|| {
        let (rt, mut workers) = Runtime::new(1);
        let worker = workers.pop().unwrap();
        let w = thread::spawn(move || worker.run());
        let probe = Probe::new();
        let drops = DropCount::new();
        let dropped_on = Arc::new(Mutex::new(None));
        let future = {
            let (gate, on) = (probe.gated(&drops), dropped_on.clone());
            let witness = OnDrop(Some(move || {
                *on.lock().unwrap() = Some(thread::current().id());
            }));
            async move {
                let _witness = witness;
                gate.await
            }
        };
        let mut join = rt.spawn(future);
        let waker = probe.wait_for_waker(); // polled once: idle and registered

        let foreign = thread::spawn(move || {
            waker.wake();
            thread::current().id()
        });
        rt.begin_shutdown();
        w.join().unwrap();
        rt.finish_shutdown();
        let foreign_id = foreign.join().unwrap();

        let (_wakes, waker) = counting_waker();
        match poll_once(&mut join, &waker) {
            Poll::Ready(Err(e)) => assert!(e.is_cancelled()),
            Poll::Ready(Ok(_)) => panic!("the gate never opens"),
            Poll::Pending => panic!("task leaked: not cancelled by shutdown"),
        }
        assert_eq!(drops.get(), 1);
        let on = dropped_on.lock().unwrap().expect("future dropped");
        assert_ne!(on, foreign_id, "destructor ran inside Waker::wake");
    });
}

/// Runs a closure when dropped.
struct OnDrop<F: FnOnce()>(Option<F>);

impl<F: FnOnce()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            f();
        }
    }
}

/// The LIFO slot hand-off: the owner puts two tasks (the second displaces the first, which the
/// owner runs) and finally takes what is left, while a thief (another worker, after the
/// watchdog saw the owner stuck) takes from the slot concurrently. Every task runs exactly
/// once; none is lost in the slot or run twice.
#[test]
fn lifo_slot_owner_and_thief_run_each_task_once() {
    loom::model(|| {
        let queue = TaskQueue::new();
        let runs = Arc::new(AtomicUsize::new(0));
        let spawn = |runs: &Arc<AtomicUsize>| {
            let runs = runs.clone();
            let (task, join) = queue.spawn_runnable(async move {
                runs.fetch_add(1, Ordering::SeqCst);
            });
            drop(join);
            task
        };
        let (a, b) = (spawn(&runs), spawn(&runs));
        let slot = Arc::new(LifoSlot::new());
        assert!(slot.put(a).is_none());
        let thief = {
            let slot = slot.clone();
            thread::spawn(move || {
                if let Some(task) = slot.take() {
                    task.run();
                }
            })
        };
        if let Some(displaced) = slot.put(b) {
            displaced.run();
        }
        if let Some(task) = slot.take() {
            task.run();
        }
        thief.join().unwrap();
        assert!(slot.take().is_none());
        assert_eq!(runs.load(Ordering::SeqCst), 2, "each task ran exactly once");
        queue.shutdown();
    });
}
