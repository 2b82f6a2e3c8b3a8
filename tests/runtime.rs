//! The crate-root and `spindle::runtime` rows of the API contract, plus the stress behaviours
//! the core runtime must show (no lost tasks, no starvation, shutdown without hangs).

use spindle::runtime::{Builder, Handle, Runtime};
use spindle::{AbortHandle, JoinError, JoinHandle};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

fn rt(workers: usize) -> Runtime {
    Builder::new()
        .worker_threads(workers)
        .compute_threads(2)
        .build()
        .unwrap()
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

/// Sets a flag when dropped: proves a future's destructor ran.
struct DropFlag(Arc<AtomicBool>);
impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

fn assert_send_sync<T: Send + Sync>() {}
fn assert_unpin<T: Unpin>() {}

#[test]
fn public_types_have_the_contracted_traits() {
    assert_send_sync::<JoinHandle<u32>>();
    assert_unpin::<JoinHandle<std::cell::Cell<u32>>>();
    assert_send_sync::<AbortHandle>();
    assert_send_sync::<JoinError>();
    assert_send_sync::<Handle>();
    fn is_error<E: std::error::Error + Send + Sync + 'static>() {}
    is_error::<JoinError>();
    fn is_clone<T: Clone>() {}
    is_clone::<AbortHandle>();
    is_clone::<Handle>();
}

// ---------- run ----------

#[test]
fn run_returns_the_output() {
    assert_eq!(spindle::run(async { 7 * 6 }), 42);
}

#[test]
fn run_cancels_live_tasks_and_joins_threads_before_returning() {
    let dropped = Arc::new(AtomicBool::new(false));
    let flag = DropFlag(dropped.clone());
    let worker_thread = Arc::new(Mutex::new(None));
    let slot = worker_thread.clone();
    spindle::run(async move {
        spindle::spawn(async move {
            let _flag = flag;
            *slot.lock().unwrap() = Some(std::thread::current().name().unwrap().to_string());
            std::future::pending::<()>().await;
        });
        while slot_is_empty(&worker_thread) {
            spindle::yield_now().await;
        }
    });
    assert!(
        dropped.load(Ordering::SeqCst),
        "the pending task's future was not dropped by run"
    );
}

fn slot_is_empty(slot: &Arc<Mutex<Option<String>>>) -> bool {
    slot.lock().unwrap().is_none()
}

#[test]
fn run_inside_a_runtime_panics_with_a_message() {
    let message = spindle::run(async {
        spindle::spawn(async { catch_unwind(|| spindle::run(async {})).unwrap_err() })
            .await
            .unwrap()
    });
    assert!(panic_message(message).contains("inside a spindle runtime"));
    let nested = catch_unwind(|| spindle::run(async { spindle::run(async {}) })).unwrap_err();
    assert!(panic_message(nested).contains("inside a spindle runtime"));
}

#[test]
fn run_propagates_a_panic_after_shutdown() {
    let dropped = Arc::new(AtomicBool::new(false));
    let flag = DropFlag(dropped.clone());
    let payload = catch_unwind(AssertUnwindSafe(|| {
        spindle::run(async move {
            spindle::spawn(async move {
                let _flag = flag;
                std::future::pending::<()>().await
            });
            spindle::yield_now().await;
            panic!("body failed");
        })
    }))
    .unwrap_err();
    assert_eq!(panic_message(payload), "body failed");
    assert!(
        dropped.load(Ordering::SeqCst),
        "shutdown did not run before the panic resumed"
    );
}

// ---------- spawn ----------

#[test]
fn spawn_works_in_every_context() {
    let rt = rt(2);
    // inside block_on
    assert_eq!(
        rt.block_on(async { spindle::spawn(async { 1 }).await.unwrap() }),
        1
    );
    // on a worker thread
    let nested = rt.block_on(async {
        spindle::spawn(async { spindle::spawn(async { 2 }).await.unwrap() }).await
    });
    assert_eq!(nested.unwrap(), 2);
    // inside a spawn_blocking closure
    let from_blocking = rt
        .block_on(rt.spawn_blocking(|| spindle::spawn(async { 3 })))
        .unwrap();
    assert_eq!(rt.block_on(from_blocking).unwrap(), 3);
    // under Handle::enter on a foreign thread
    let handle = rt.handle().clone();
    let task = std::thread::spawn(move || {
        let _guard = handle.enter();
        spindle::spawn(async { 4 })
    })
    .join()
    .unwrap();
    assert_eq!(rt.block_on(task).unwrap(), 4);
}

#[test]
fn spawn_outside_a_runtime_panics_naming_the_fix() {
    let payload = catch_unwind(|| spindle::spawn(async {})).unwrap_err();
    let message = panic_message(payload);
    assert!(message.contains("outside a spindle runtime"), "{message}");
    assert!(message.contains("spindle::run"), "{message}");
    let payload = catch_unwind(|| spindle::spawn_blocking(|| ())).unwrap_err();
    assert!(panic_message(payload).contains("outside a spindle runtime"));
    let payload = catch_unwind(Handle::current).unwrap_err();
    assert!(panic_message(payload).contains("Handle::current()"));
}

#[test]
fn ten_thousand_tasks_spawned_from_a_task_all_complete() {
    let rt = rt(2);
    let counter = Arc::new(AtomicUsize::new(0));
    let c = counter.clone();
    let sum = rt.block_on(rt.spawn(async move {
        let handles: Vec<_> = (0..10_000u64)
            .map(|i| {
                let c = c.clone();
                spindle::spawn(async move {
                    c.fetch_add(1, Ordering::Relaxed);
                    i
                })
            })
            .collect();
        let mut sum = 0;
        for h in handles {
            sum += h.await.unwrap();
        }
        sum
    }));
    assert_eq!(sum.unwrap(), (0..10_000u64).sum::<u64>());
    assert_eq!(counter.load(Ordering::SeqCst), 10_000);
}

#[test]
fn spawns_from_four_foreign_threads_at_once_all_run() {
    let rt = rt(2);
    let counter = Arc::new(AtomicUsize::new(0));
    let barrier = Arc::new(std::sync::Barrier::new(4));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let handle = rt.handle().clone();
            let counter = counter.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                (0..2_500)
                    .map(|_| {
                        let counter = counter.clone();
                        handle.spawn(async move {
                            counter.fetch_add(1, Ordering::Relaxed);
                        })
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let handles: Vec<_> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    rt.block_on(async {
        for h in handles {
            h.await.unwrap();
        }
    });
    assert_eq!(counter.load(Ordering::SeqCst), 10_000);
}

#[test]
fn a_task_that_rewakes_itself_forever_cannot_starve_others_or_block_on() {
    for workers in [1, 2] {
        let rt = rt(workers);
        let stop = Arc::new(AtomicBool::new(false));
        let spins = Arc::new(AtomicUsize::new(0));
        for _ in 0..workers {
            let (stop, spins) = (stop.clone(), spins.clone());
            rt.spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    spins.fetch_add(1, Ordering::Relaxed);
                    spindle::yield_now().await;
                }
            });
        }
        let start = Instant::now();
        let other = rt.block_on(async { spindle::spawn(async { "ran" }).await.unwrap() });
        assert_eq!(other, "ran");
        assert!(start.elapsed() < Duration::from_secs(5));
        assert!(
            spins.load(Ordering::Relaxed) > 0,
            "the spinning task never ran"
        );
        stop.store(true, Ordering::Relaxed);
    }
}

// ---------- yield_now ----------

#[test]
fn yield_now_requeues_behind_ready_work() {
    let rt = rt(1);
    let order = Arc::new(Mutex::new(Vec::new()));
    let o = order.clone();
    rt.block_on(rt.spawn(async move {
        let o2 = o.clone();
        let other = spindle::spawn(async move { o2.lock().unwrap().push("spawned") });
        o.lock().unwrap().push("before yield");
        spindle::yield_now().await;
        o.lock().unwrap().push("after yield");
        other.await.unwrap();
    }))
    .unwrap();
    assert_eq!(
        *order.lock().unwrap(),
        ["before yield", "spawned", "after yield"]
    );
}

// ---------- JoinHandle / AbortHandle / JoinError ----------

#[test]
fn dropping_a_join_handle_detaches_the_task() {
    let rt = rt(2);
    let (tx, rx) = mpsc::channel();
    rt.block_on(async move {
        drop(spindle::spawn(async move {
            spindle::yield_now().await;
            tx.send("still ran").unwrap();
        }));
    });
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(5)).unwrap(),
        "still ran"
    );
}

#[test]
fn abort_of_an_idle_task_drops_its_future_on_a_runtime_thread() {
    let rt = rt(2);
    let dropped_on = Arc::new(Mutex::new(None));
    struct RecordThread(Arc<Mutex<Option<String>>>);
    impl Drop for RecordThread {
        fn drop(&mut self) {
            *self.0.lock().unwrap() = std::thread::current().name().map(str::to_string);
        }
    }
    let record = RecordThread(dropped_on.clone());
    let handle = rt.spawn(async move {
        let _record = record;
        std::future::pending::<()>().await
    });
    std::thread::sleep(Duration::from_millis(20)); // let it go idle
    handle.abort();
    let err = rt.block_on(handle).unwrap_err();
    assert!(err.is_cancelled() && !err.is_panic());
    assert_eq!(err.to_string(), "task was cancelled");
    let thread = dropped_on.lock().unwrap().clone().unwrap();
    assert!(thread.contains("worker"), "dropped on {thread}");
}

#[test]
fn abort_of_a_running_task_takes_effect_when_its_poll_returns() {
    let rt = rt(2);
    let (started_tx, started_rx) = mpsc::channel();
    let release = Arc::new(AtomicBool::new(false));
    let after_poll = Arc::new(AtomicBool::new(false));
    let (r, a) = (release.clone(), after_poll.clone());
    let handle = rt.spawn(async move {
        started_tx.send(()).unwrap();
        while !r.load(Ordering::SeqCst) {
            std::hint::spin_loop();
        }
        spindle::yield_now().await;
        a.store(true, Ordering::SeqCst); // never reached: cancelled at the yield
    });
    started_rx.recv().unwrap();
    handle.abort();
    assert!(
        !handle.is_finished(),
        "abort must not complete a task in the middle of a poll"
    );
    release.store(true, Ordering::SeqCst);
    assert!(rt.block_on(handle).unwrap_err().is_cancelled());
    assert!(!after_poll.load(Ordering::SeqCst));
}

#[test]
fn abort_of_a_finished_task_is_a_no_op() {
    let rt = rt(2);
    let handle = rt.spawn(async { 5 });
    while !handle.is_finished() {
        std::thread::yield_now();
    }
    handle.abort();
    handle.abort_handle().abort();
    assert_eq!(rt.block_on(handle).unwrap(), 5);
}

#[test]
fn abort_from_another_thread() {
    let rt = rt(2);
    let dropped = Arc::new(AtomicBool::new(false));
    let flag = DropFlag(dropped.clone());
    let handle = rt.spawn(async move {
        let _flag = flag;
        std::future::pending::<()>().await
    });
    let abort = handle.abort_handle();
    assert!(!abort.is_finished());
    std::thread::spawn(move || abort.abort()).join().unwrap();
    assert!(rt.block_on(handle).unwrap_err().is_cancelled());
    assert!(dropped.load(Ordering::SeqCst));
}

#[test]
fn a_panicking_task_is_reported_and_the_worker_lives_on() {
    let rt = rt(1);
    let err = rt
        .block_on(rt.spawn(async { panic!("task exploded") }))
        .unwrap_err();
    assert!(err.is_panic() && !err.is_cancelled());
    assert_eq!(
        err.to_string(),
        "task panicked with message \"task exploded\""
    );
    let err2 = rt
        .block_on(rt.spawn(async { std::panic::panic_any(17u8) }))
        .unwrap_err();
    assert_eq!(err2.to_string(), "task panicked");
    assert_eq!(*err2.into_panic().downcast::<u8>().unwrap(), 17);
    // The single worker survived both panics.
    let name = rt.block_on(rt.spawn(async { std::thread::current().name().unwrap().to_string() }));
    assert_eq!(name.unwrap(), "spindle-worker-0");
    assert_eq!(panic_message(err.into_panic()), "task exploded");
}

#[test]
fn a_panic_in_a_task_destructor_is_caught() {
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("destructor exploded");
        }
    }
    let rt = rt(1);
    // Completed task whose future panics while being dropped.
    let err = rt
        .block_on(rt.spawn(async {
            let _bomb = PanicOnDrop;
            1
        }))
        .unwrap_err();
    assert!(err.is_panic());
    assert_eq!(panic_message(err.into_panic()), "destructor exploded");
    // Aborted task whose destructor panics (aborted once it is surely inside its first poll).
    let (polled_tx, polled_rx) = mpsc::channel();
    let handle = rt.spawn(async move {
        let _bomb = PanicOnDrop;
        polled_tx.send(()).unwrap();
        std::future::pending::<()>().await
    });
    polled_rx.recv().unwrap();
    handle.abort();
    assert!(rt.block_on(handle).unwrap_err().is_panic());
    // Detached task whose destructor panics: nobody to report to, the worker survives.
    drop(rt.spawn(async {
        let _bomb = PanicOnDrop;
    }));
    assert_eq!(rt.block_on(rt.spawn(async { 2 })).unwrap(), 2);
}

#[test]
fn join_error_try_into_panic_returns_cancelled_errors() {
    let rt = rt(1);
    let handle = rt.spawn(std::future::pending::<()>());
    handle.abort();
    let err = rt.block_on(handle).unwrap_err();
    let err = err.try_into_panic().unwrap_err();
    assert!(err.is_cancelled());
    assert!(format!("{err:?}").contains("Cancelled"));
    let io: std::io::Error = err.into();
    assert_eq!(io.to_string(), "task was cancelled");
}

// ---------- spawn_blocking ----------

#[test]
fn spawn_blocking_runs_on_the_compute_pool_with_the_runtime_context() {
    let rt = Builder::new()
        .worker_threads(1)
        .compute_threads(3)
        .thread_name("t")
        .build()
        .unwrap();
    let (name, threads, spawned) = rt
        .block_on(rt.spawn_blocking(|| {
            let name = std::thread::current().name().unwrap().to_string();
            let handle = Handle::current();
            let spawned = handle.spawn(async { 11 });
            (name, rayon::current_num_threads(), spawned)
        }))
        .unwrap();
    assert!(name.starts_with("t-compute-"), "{name}");
    assert_eq!(threads, 3);
    assert_eq!(rt.block_on(spawned).unwrap(), 11);
}

#[test]
fn rayon_parallel_iterators_inside_spawn_blocking_use_the_same_pool() {
    use rayon::prelude::*;
    let rt = Builder::new()
        .worker_threads(1)
        .compute_threads(2)
        .thread_name("p")
        .build()
        .unwrap();
    let names = rt
        .block_on(rt.spawn_blocking(|| {
            (0..64)
                .into_par_iter()
                .map(|_| {
                    std::thread::sleep(Duration::from_millis(1));
                    // spawn works inside par_iter bodies too
                    drop(spindle::spawn(async {}));
                    std::thread::current().name().unwrap().to_string()
                })
                .collect::<std::collections::BTreeSet<_>>()
        }))
        .unwrap();
    assert!(
        names.iter().all(|n| n.starts_with("p-compute-")),
        "{names:?}"
    );
    assert!(names.len() <= 2);
}

#[test]
fn spawn_blocking_panic_becomes_a_panic_join_error() {
    let rt = rt(1);
    let err = rt
        .block_on(rt.spawn_blocking(|| -> u8 { panic!("blocking exploded") }))
        .unwrap_err();
    assert!(err.is_panic());
    assert_eq!(
        err.to_string(),
        "task panicked with message \"blocking exploded\""
    );
    // The pool still works.
    assert_eq!(rt.block_on(rt.spawn_blocking(|| 3)).unwrap(), 3);
}

#[test]
fn spawn_blocking_aborted_before_it_starts_never_runs() {
    let rt = Builder::new()
        .worker_threads(1)
        .compute_threads(1)
        .build()
        .unwrap();
    let (gate_tx, gate_rx) = mpsc::channel::<()>();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    // Occupy the only compute thread.
    let blocker = rt.spawn_blocking(move || {
        started_tx.send(()).unwrap();
        gate_rx.recv().unwrap();
    });
    started_rx.recv().unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let queued = rt.spawn_blocking(move || r.store(true, Ordering::SeqCst));
    queued.abort();
    gate_tx.send(()).unwrap();
    rt.block_on(blocker).unwrap();
    assert!(rt.block_on(queued).unwrap_err().is_cancelled());
    assert!(!ran.load(Ordering::SeqCst));
}

// ---------- Runtime / Builder ----------

#[test]
fn builder_rejects_zero_counts_with_invalid_input() {
    let err = Builder::new().worker_threads(0).build().unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("worker_threads"));
    let err = Runtime::builder().compute_threads(0).build().unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("compute_threads"));
}

#[test]
fn runtime_new_uses_num_cpus_threads() {
    let rt = Runtime::new().unwrap();
    let names: std::collections::BTreeSet<String> = rt.block_on(async {
        let handles: Vec<_> = (0..200)
            .map(|_| {
                spindle::spawn(async {
                    std::thread::sleep(Duration::from_micros(200));
                    std::thread::current().name().unwrap().to_string()
                })
            })
            .collect();
        let mut names = std::collections::BTreeSet::new();
        for h in handles {
            names.insert(h.await.unwrap());
        }
        names
    });
    assert!(names.len() <= num_cpus::get());
    assert!(names.iter().all(|n| n.starts_with("spindle-worker-")));
    let compute = rt
        .block_on(rt.spawn_blocking(rayon::current_num_threads))
        .unwrap();
    assert_eq!(compute, num_cpus::get());
}

#[test]
fn block_on_accepts_non_send_borrowing_futures() {
    let rt = rt(1);
    let local = std::rc::Rc::new(5);
    let borrowed = &local;
    let out = rt.block_on(async move {
        spindle::yield_now().await;
        **borrowed + 1
    });
    assert_eq!(out, 6);
}

#[test]
fn nested_block_on_panics_with_a_clear_message() {
    let rt = rt(1);
    let handle = rt.handle().clone();
    let payload = catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(async { handle.block_on(async {}) })
    }))
    .unwrap_err();
    assert!(panic_message(payload).contains("cannot block_on"));
    let handle = rt.handle().clone();
    let from_task = rt.block_on(rt.spawn(async move {
        catch_unwind(AssertUnwindSafe(|| handle.block_on(async {}))).map_err(panic_message)
    }));
    assert!(from_task.unwrap().unwrap_err().contains("cannot block_on"));
    // The runtime still works afterwards.
    assert_eq!(rt.block_on(async { 1 }), 1);
}

#[test]
fn dropping_the_runtime_cancels_every_task_and_runs_destructors() {
    let rt = rt(2);
    let flags: Vec<_> = (0..100).map(|_| Arc::new(AtomicBool::new(false))).collect();
    for flag in &flags {
        let f = DropFlag(flag.clone());
        rt.spawn(async move {
            let _f = f;
            std::future::pending::<()>().await
        });
    }
    // Some still queued, some idle.
    drop(rt);
    assert!(flags.iter().all(|f| f.load(Ordering::SeqCst)));
}

#[test]
fn shutdown_does_not_deadlock_when_a_destructor_wakes_or_spawns() {
    let rt = rt(2);
    let (waker_tx, waker_rx) = mpsc::channel::<std::task::Waker>();
    // A task that parks and hands its waker out.
    rt.spawn(std::future::poll_fn(move |cx| {
        waker_tx.send(cx.waker().clone()).ok();
        std::task::Poll::<()>::Pending
    }));
    let waker = waker_rx.recv().unwrap();
    struct WakeAndSpawnOnDrop(Option<std::task::Waker>, Arc<AtomicBool>);
    impl Drop for WakeAndSpawnOnDrop {
        fn drop(&mut self) {
            self.0.take().unwrap().wake();
            let handle = spindle::spawn(async {});
            // The runtime is shutting down: the spawned task is cancelled, not run.
            self.1.store(!handle.is_finished(), Ordering::SeqCst);
        }
    }
    let spawn_unfinished = Arc::new(AtomicBool::new(true));
    let bomb = WakeAndSpawnOnDrop(Some(waker), spawn_unfinished.clone());
    rt.spawn(async move {
        let _bomb = bomb;
        std::future::pending::<()>().await
    });
    std::thread::sleep(Duration::from_millis(20));
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        drop(rt);
        done_tx.send(()).unwrap();
    });
    done_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("runtime drop deadlocked");
    assert!(
        !spawn_unfinished.load(Ordering::SeqCst),
        "a spawn during shutdown must be cancelled at once"
    );
}

#[test]
fn shutdown_timeout_bounds_the_wait_on_a_stuck_task() {
    let rt = rt(2);
    let (started_tx, started_rx) = mpsc::channel();
    rt.spawn(async move {
        started_tx.send(()).unwrap();
        std::thread::sleep(Duration::from_secs(3)); // blocks a worker: a misbehaving task
    });
    started_rx.recv().unwrap();
    let start = Instant::now();
    rt.shutdown_timeout(Duration::from_millis(100));
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "took {:?}",
        start.elapsed()
    );
}

#[test]
fn spawning_on_the_handle_of_a_dropped_runtime_yields_cancelled() {
    let rt = rt(1);
    let handle = rt.handle().clone();
    drop(rt);
    let dropped = Arc::new(AtomicBool::new(false));
    let flag = DropFlag(dropped.clone());
    let task = handle.spawn(async move {
        let _flag = flag;
        unreachable!("must never be polled")
    });
    assert!(
        dropped.load(Ordering::SeqCst),
        "the refused future is dropped at once"
    );
    assert!(task.is_finished());
    let other = rt_for_polling();
    assert!(other.block_on(task).unwrap_err().is_cancelled());
    let blocking = handle.spawn_blocking(|| unreachable!("must never run"));
    assert!(other.block_on(blocking).unwrap_err().is_cancelled());
}

fn rt_for_polling() -> Runtime {
    rt(1)
}

#[test]
fn handle_current_and_try_current() {
    assert!(Handle::try_current().is_none());
    let rt = rt(1);
    {
        let _guard = rt.handle().enter();
        assert!(Handle::try_current().is_some());
        let h = Handle::current();
        assert_eq!(rt.block_on(h.spawn(async { 1 })).unwrap(), 1);
    }
    assert!(
        Handle::try_current().is_none(),
        "EnterGuard must restore the previous context"
    );
    let inside = rt.block_on(async { Handle::try_current().is_some() });
    assert!(inside);
}

#[test]
fn runtime_dropped_while_ten_thousand_tasks_wait_on_fed_channels() {
    for round in 0..20 {
        let rt = rt(2);
        let stop = Arc::new(AtomicBool::new(false));
        let mut senders = Vec::with_capacity(10_000);
        let received = Arc::new(AtomicUsize::new(0));
        for _ in 0..10_000 {
            let (tx, rx) = async_channel::unbounded::<u32>();
            senders.push(tx);
            let received = received.clone();
            rt.spawn(async move {
                while let Ok(_v) = rx.recv().await {
                    received.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        let s = stop.clone();
        let feeder = std::thread::spawn(move || {
            let mut i = 0u32;
            while !s.load(Ordering::Relaxed) {
                for tx in senders.iter().step_by(7) {
                    let _ = tx.try_send(i);
                }
                i = i.wrapping_add(1);
            }
            senders // keep the channels open until after the runtime is gone
        });
        std::thread::sleep(Duration::from_millis(5));
        let start = Instant::now();
        drop(rt);
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "round {round}: drop took {:?}",
            start.elapsed()
        );
        stop.store(true, Ordering::Relaxed);
        drop(feeder.join().unwrap());
    }
}
