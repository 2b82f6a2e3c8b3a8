//! `spindle::task`: JoinSet, task-locals with inheritance, task::Builder names, task ids, and
//! the cooperative budget.

use spindle::runtime::{Builder, Runtime};
use spindle::task::{self, JoinSet};
use std::collections::HashSet;
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

struct DropFlag(Arc<AtomicBool>);
impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

// ---------------------------------------------------------------------------------------------
// JoinSet

#[spindle::test(worker_threads = 2)]
async fn join_set_yields_results_in_completion_order() {
    let order = {
        let mut set = JoinSet::new();
        // Each member finishes when released; they are released in an order unrelated to the
        // spawn order, one after the other.
        let mut releases = Vec::new();
        for i in 0..8u64 {
            let (tx, rx) = async_channel::bounded::<()>(1);
            releases.push(tx);
            set.spawn(async move {
                let _ = rx.recv().await;
                i
            });
        }
        assert_eq!(set.len(), 8);
        let release_order = [5u64, 2, 7, 0, 3, 6, 1, 4];
        let mut order = Vec::new();
        for &i in &release_order {
            releases[i as usize].send(()).await.unwrap();
            let next = set.join_next().await.unwrap().unwrap();
            order.push(next);
            assert_eq!(set.len(), 8 - order.len());
        }
        assert!(set.join_next().await.is_none());
        (order, release_order)
    };
    assert_eq!(order.0, order.1);
}

#[test]
fn dropping_a_join_set_aborts_every_task_and_runs_destructors() {
    let rt = rt(2);
    let flags: Vec<_> = (0..16).map(|_| Arc::new(AtomicBool::new(false))).collect();
    let (polled_tx, polled_rx) = mpsc::channel();
    rt.block_on(async {
        let mut set = JoinSet::new();
        for flag in &flags {
            let flag = DropFlag(flag.clone());
            let polled = polled_tx.clone();
            set.spawn(async move {
                let _flag = flag;
                polled.send(()).unwrap();
                std::future::pending::<()>().await
            });
        }
        for _ in 0..16 {
            polled_rx.recv().unwrap();
        }
        drop(set);
        // Aborted tasks are dropped on the workers: wait (bounded) for all of them.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !flags.iter().all(|f| f.load(Ordering::SeqCst)) {
            assert!(Instant::now() < deadline, "aborted tasks were not dropped");
            spindle::time::sleep(Duration::from_millis(1)).await;
        }
    });
}

#[spindle::test(worker_threads = 2)]
async fn join_set_abort_and_shutdown() {
    {
        let mut set = JoinSet::new();
        let mut aborts = Vec::new();
        for i in 0..16u64 {
            let abort = set.spawn(async move {
                spindle::time::sleep(Duration::from_millis(i)).await;
                i
            });
            aborts.push(abort);
        }
        for (i, abort) in aborts.iter().enumerate() {
            if i % 2 == 1 {
                abort.abort();
            }
        }
        let (mut completed, mut cancelled) = (0, 0);
        while let Some(result) = set.join_next().await {
            match result {
                Ok(i) => {
                    assert_eq!(i % 2, 0);
                    completed += 1;
                }
                Err(err) => {
                    assert!(err.is_cancelled());
                    cancelled += 1;
                }
            }
        }
        assert_eq!((completed, cancelled), (8, 8));

        let dropped = Arc::new(AtomicUsize::new(0));
        for _ in 0..10 {
            struct Count(Arc<AtomicUsize>);
            impl Drop for Count {
                fn drop(&mut self) {
                    self.0.fetch_add(1, Ordering::SeqCst);
                }
            }
            let count = Count(dropped.clone());
            set.spawn(async move {
                let _count = count;
                std::future::pending::<u64>().await
            });
        }
        set.shutdown().await;
        assert!(set.is_empty());
        assert_eq!(
            dropped.load(Ordering::SeqCst),
            10,
            "shutdown waits for every task"
        );
    }
}

#[test]
fn join_all_resumes_a_members_panic() {
    let rt = rt(2);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async {
            let mut set = JoinSet::new();
            set.spawn(async { 1 });
            set.spawn(async {
                spindle::time::sleep(Duration::from_millis(5)).await;
                panic!("member exploded")
            });
            set.join_all().await
        })
    }));
    let payload = result.unwrap_err();
    assert_eq!(*payload.downcast_ref::<&str>().unwrap(), "member exploded");

    let all = rt.block_on(async {
        let set: JoinSet<u32> = (0..5u32).map(|i| async move { i }).collect();
        let mut all = set.join_all().await;
        all.sort();
        all
    });
    assert_eq!(all, [0, 1, 2, 3, 4]);
}

#[spindle::test(worker_threads = 2, compute_threads = 2)]
async fn join_set_blocking_members_ids_and_try_join_next() {
    {
        let mut set = JoinSet::new();
        let mut ids = HashSet::new();
        for i in 0..4u64 {
            ids.insert(set.spawn_blocking(move || i * i).id());
        }
        ids.insert(set.spawn(async { 100 }).id());
        let mut seen = HashSet::new();
        let mut values = Vec::new();
        while let Some(result) = set.join_next_with_id().await {
            let (id, value) = result.unwrap();
            seen.insert(id);
            values.push(value);
        }
        values.sort();
        assert_eq!(values, [0, 1, 4, 9, 100]);
        assert_eq!(seen, ids);

        // try_join_next: nothing before completion, everything after, no waiting.
        let mut set = JoinSet::new();
        let (tx, rx) = async_channel::unbounded::<()>();
        for _ in 0..200 {
            let rx = rx.clone();
            set.spawn(async move { rx.recv().await });
        }
        assert!(set.try_join_next().is_none());
        drop(tx);
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut count = 0;
        while count < 200 {
            match set.try_join_next() {
                Some(result) => {
                    assert!(result.unwrap().is_err());
                    count += 1;
                }
                None => {
                    assert!(Instant::now() < deadline);
                    spindle::yield_now().await;
                }
            }
        }
        assert!(set.is_empty());
    }
}

#[test]
fn join_set_joined_on_another_runtime_after_its_runtime_is_gone() {
    let mut set = JoinSet::new();
    {
        let gone = rt(1);
        set.spawn_on(std::future::pending::<()>(), gone.handle());
    }
    let err = rt(1).block_on(set.join_next()).unwrap().unwrap_err();
    assert!(err.is_cancelled());
}

#[test]
fn join_next_respects_the_budget_and_loses_nothing() {
    rt(1).block_on(async {
        let mut set = JoinSet::new();
        let finished = Arc::new(AtomicUsize::new(0));
        for _ in 0..1000 {
            let finished = finished.clone();
            set.spawn(async move {
                finished.fetch_add(1, Ordering::SeqCst);
            });
        }
        // Let them all finish.
        while finished.load(Ordering::SeqCst) < 1000 {
            spindle::yield_now().await;
        }
        let handle = spindle::spawn(async move {
            let mut count = 0;
            let mut yielded = 0;
            loop {
                match futures_lite::future::poll_once(set.join_next()).await {
                    Some(Some(result)) => {
                        result.unwrap();
                        count += 1;
                    }
                    Some(None) => break,
                    None => {
                        yielded += 1;
                        spindle::yield_now().await;
                    }
                }
            }
            (count, yielded)
        });
        let (count, yielded) = handle.await.unwrap();
        assert_eq!(count, 1000);
        assert!(yielded >= 1, "the budget must make join_next yield");
    });
}

// ---------------------------------------------------------------------------------------------
// task-locals

spindle::task_local! {
    static REQUEST: u64;
    static USER: String;
}

#[test]
fn task_locals_are_inherited_through_all_four_spawn_paths() {
    let rt = rt(2);
    let seen = rt.block_on(REQUEST.scope(
        7,
        USER.scope("ada".to_string(), async {
            let task = spindle::spawn(async { (REQUEST.get(), USER.get()) });
            let blocking = spindle::spawn_blocking(|| (REQUEST.get(), USER.get()));
            let mut set = JoinSet::new();
            set.spawn(async { (REQUEST.get(), USER.get()) });
            let group = spindle::task_group(|g| async move {
                let child = g.spawn(async { Ok::<_, ()>((REQUEST.get(), USER.get())) });
                let blocking_child = g.spawn_blocking(|| Ok::<_, ()>((REQUEST.get(), USER.get())));
                Ok((child.await.unwrap(), blocking_child.await.unwrap()))
            })
            .await
            .unwrap();
            // Grandchildren inherit through the child.
            let grandchild =
                spindle::spawn(async { spindle::spawn(async { REQUEST.get() }).await.unwrap() });
            (
                task.await.unwrap(),
                blocking.await.unwrap(),
                set.join_next().await.unwrap().unwrap(),
                group,
                grandchild.await.unwrap(),
            )
        }),
    ));
    let expected = (7, "ada".to_string());
    assert_eq!(seen.0, expected);
    assert_eq!(seen.1, expected);
    assert_eq!(seen.2, expected);
    assert_eq!(seen.3, (expected.clone(), expected));
    assert_eq!(seen.4, 7);
}

#[test]
fn a_childs_scope_never_changes_what_the_parent_sees() {
    let rt = rt(2);
    rt.block_on(REQUEST.scope(1, async {
        let child = spindle::spawn(async {
            // The child's own scope shadows the inherited value...
            let inner = REQUEST.scope(2, async { REQUEST.get() }).await;
            // ...only inside it.
            (inner, REQUEST.get())
        });
        assert_eq!(child.await.unwrap(), (2, 1));
        assert_eq!(REQUEST.get(), 1);
        // A task spawned after the child changed its scope still sees the parent's value.
        let later = spindle::spawn(async { REQUEST.get() });
        assert_eq!(later.await.unwrap(), 1);
        // sync_scope, nested, restores on exit.
        REQUEST.sync_scope(3, || {
            assert_eq!(REQUEST.get(), 3);
            REQUEST.sync_scope(4, || assert_eq!(REQUEST.get(), 4));
            assert_eq!(REQUEST.get(), 3);
        });
        assert_eq!(REQUEST.get(), 1);
    }));
    // Outside every scope: not set.
    assert!(REQUEST.try_with(|v| *v).is_err());
    let task = rt.spawn(async { REQUEST.try_with(|v| *v).is_err() });
    assert!(rt.block_on(task).unwrap(), "no leak into unrelated tasks");
}

#[test]
fn task_local_is_available_when_the_future_is_dropped() {
    let rt = rt(2);
    // On abort.
    let (tx, rx) = mpsc::channel();
    struct SendOnDrop(Option<mpsc::Sender<Option<u64>>>);
    impl Drop for SendOnDrop {
        fn drop(&mut self) {
            let value = REQUEST.try_with(|v| *v).ok();
            self.0.take().unwrap().send(value).unwrap();
        }
    }
    let guard = SendOnDrop(Some(tx.clone()));
    let (polled_tx, polled_rx) = mpsc::channel();
    let handle = rt.spawn(REQUEST.scope(42, async move {
        let _guard = guard;
        polled_tx.send(()).unwrap();
        std::future::pending::<()>().await
    }));
    polled_rx.recv().unwrap();
    handle.abort();
    assert_eq!(rx.recv().unwrap(), Some(42));
    // On completion.
    let guard = SendOnDrop(Some(tx.clone()));
    rt.block_on(rt.spawn(REQUEST.scope(43, async move {
        let _guard = guard;
    })))
    .unwrap();
    assert_eq!(rx.recv().unwrap(), Some(43));
    // An inherited value, when the child task is aborted (dropped by the runtime).
    let guard = SendOnDrop(Some(tx));
    let (polled_tx, polled_rx) = mpsc::channel();
    let child = REQUEST.sync_scope(44, || {
        rt.spawn(async move {
            let _guard = guard;
            polled_tx.send(()).unwrap();
            std::future::pending::<()>().await
        })
    });
    polled_rx.recv().unwrap();
    child.abort();
    assert_eq!(rx.recv().unwrap(), Some(44));
}

#[test]
#[should_panic(expected = "cannot access a task-local value that is not set here")]
fn task_local_with_outside_a_scope_panics() {
    REQUEST.with(|_| ());
}

// ---------------------------------------------------------------------------------------------
// task::Builder, ids

#[test]
fn builder_names_and_ids() {
    let rt = rt(2);
    let (id_inside, handle_id) = rt.block_on(async {
        let handle = task::Builder::new()
            .name("worker-7")
            .spawn(async { task::id() })
            .unwrap();
        let handle_id = handle.id();
        (handle.await.unwrap(), handle_id)
    });
    assert_eq!(id_inside, handle_id);
    // Outside a runtime: an error, not a panic.
    let err = task::Builder::new().name("x").spawn(async {}).unwrap_err();
    assert!(
        err.to_string().contains("outside a spindle runtime"),
        "{err}"
    );
    // Ids are unique across spawn kinds, and try_id is None outside tasks.
    let ids: HashSet<task::Id> = rt.block_on(async {
        let mut ids = HashSet::new();
        for _ in 0..100 {
            ids.insert(spindle::spawn(async { task::id() }).await.unwrap());
            ids.insert(spindle::spawn_blocking(task::id).await.unwrap());
        }
        assert_eq!(task::try_id(), None, "block_on's future is not a task");
        ids
    });
    assert_eq!(ids.len(), 200);
    assert_eq!(task::try_id(), None);
}

// ---------------------------------------------------------------------------------------------
// the cooperative budget

#[test]
fn consume_budget_lets_a_sibling_run_and_unconstrained_does_not() {
    let rt = rt(1);
    // A busy loop that only spends budget: a sibling sleep still completes on time.
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    let sibling = rt.spawn(async move {
        spindle::time::sleep(Duration::from_millis(10)).await;
        f.store(true, Ordering::SeqCst);
        Instant::now()
    });
    let start = Instant::now();
    let busy = rt.spawn(async move {
        let mut spins = 0u64;
        while !flag.load(Ordering::SeqCst) {
            task::consume_budget().await;
            spins += 1;
            assert!(start.elapsed() < Duration::from_secs(10), "starved");
        }
        spins
    });
    assert!(rt.block_on(busy).unwrap() > 0);
    let woke = rt.block_on(sibling).unwrap();
    assert!(woke.duration_since(start) < Duration::from_secs(5));

    // Unconstrained: the same loop never yields, so a sibling cannot interleave.
    let log = Arc::new(Mutex::new(Vec::new()));
    let (l1, l2) = (log.clone(), log.clone());
    let unconstrained = rt.spawn(task::unconstrained(async move {
        for _ in 0..1_000 {
            task::consume_budget().await;
        }
        l1.lock().unwrap().push("unconstrained done");
    }));
    let other = rt.spawn(async move {
        l2.lock().unwrap().push("other ran");
    });
    rt.block_on(unconstrained).unwrap();
    rt.block_on(other).unwrap();
    assert_eq!(log.lock().unwrap()[0], "unconstrained done");
}
