//! `task_group`: one or more tests per numbered semantic of API.md, plus nesting, size,
//! blocking children and `GroupError`.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use spindle::runtime::Runtime;
use spindle::time::{sleep, timeout};
use spindle::{GroupError, GroupHandle, TaskGroup, task_group};

fn runtime() -> Runtime {
    Runtime::builder()
        .worker_threads(2)
        .compute_threads(2)
        .build()
        .expect("runtime")
}

/// Sets its flag when dropped.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

fn flag() -> Arc<AtomicBool> {
    Arc::new(AtomicBool::new(false))
}

fn is_set(flag: &AtomicBool) -> bool {
    flag.load(Ordering::SeqCst)
}

/// Spins (asynchronously) until `flag` is set; panics after 10 s so a bug cannot hang the suite.
async fn until_set(flag: &AtomicBool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !is_set(flag) {
        assert!(Instant::now() < deadline, "flag never set");
        sleep(Duration::from_millis(1)).await;
    }
}

/// Blocking version of [`until_set`], for `spawn_blocking` children.
fn until_set_blocking(flag: &AtomicBool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !is_set(flag) {
        assert!(Instant::now() < deadline, "flag never set");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Blocks until the group is cancelled (bounded by 10 s).
///
/// This asks the *group* (`TaskGroup::is_cancelled`), not the child's own job token
/// (`spindle::compute::checkpoint()`), on purpose: an `Err` a blocking child returns after only
/// looking at the group is still the child's own error and is collected (asyncio: a child that
/// caught `CancelledError` and raised something else). Only an `Err` returned after the job
/// token reported the cancellation counts as cancelled (tests/compute.rs covers that), so the
/// semantic_4/5 tests below keep collecting these errors in completion order.
fn until_cancelled_blocking<E: Send + 'static>(g: &TaskGroup<E>) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !g.is_cancelled() {
        assert!(Instant::now() < deadline, "group never cancelled");
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn panic_message(payload: Box<dyn Any + Send>) -> String {
    match payload.downcast::<&'static str>() {
        Ok(s) => s.to_string(),
        Err(payload) => *payload.downcast::<String>().expect("string payload"),
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Children run in parallel on the worker threads; the body runs on the awaiting task.

#[test]
fn semantic_1_children_run_in_parallel_body_on_awaiting_task() {
    let rt = runtime();
    let caller = std::thread::current().id();
    let (a_running, b_running) = (flag(), flag());
    let result = rt.block_on(task_group(|g| async move {
        let body_thread = std::thread::current().id();
        // Each child blocks its worker thread until it sees the other one running: this can
        // only finish if the two run at the same time on different threads.
        let a = {
            let (mine, other) = (a_running.clone(), b_running.clone());
            g.spawn(async move {
                mine.store(true, Ordering::SeqCst);
                until_set_blocking(&other);
                Ok::<_, String>(std::thread::current().id())
            })
        };
        let b = {
            let (mine, other) = (b_running.clone(), a_running.clone());
            g.spawn(async move {
                mine.store(true, Ordering::SeqCst);
                until_set_blocking(&other);
                Ok(std::thread::current().id())
            })
        };
        let (ta, tb) = (a.await.unwrap(), b.await.unwrap());
        Ok((body_thread, std::thread::current().id(), ta, tb))
    }));
    let (body_start, body_end, ta, tb) = result.unwrap();
    assert_eq!(
        body_start, caller,
        "the body runs on the task awaiting task_group"
    );
    assert_eq!(body_end, caller);
    assert_ne!(ta, tb, "children ran on two different threads");
    assert_ne!(ta, caller, "children run on worker threads");
    assert_ne!(tb, caller, "children run on worker threads");
}

// ---------------------------------------------------------------------------------------------
// 2. task_group returns only after every child finished, on every path; children may spawn
//    more children while the body waits.

#[test]
fn semantic_2_waits_for_every_child_on_success() {
    let rt = runtime();
    let done = Arc::new(AtomicUsize::new(0));
    let d = done.clone();
    let start = Instant::now();
    let r = rt.block_on(task_group(|g| async move {
        for ms in [50u64, 150, 100] {
            let d = d.clone();
            g.spawn(async move {
                sleep(Duration::from_millis(ms)).await;
                d.fetch_add(1, Ordering::SeqCst);
                Ok::<_, ()>(())
            });
        }
        Ok("body done first") // the body does not await its children
    }));
    assert_eq!(r.unwrap(), "body done first");
    assert_eq!(
        done.load(Ordering::SeqCst),
        3,
        "returned before every child finished"
    );
    assert!(start.elapsed() >= Duration::from_millis(150));
}

#[test]
fn semantic_2_children_spawn_children_while_the_body_waits() {
    let rt = runtime();
    let grandchild_done = flag();
    let gd = grandchild_done.clone();
    let r = rt.block_on(task_group(|g| async move {
        let g2 = g.clone();
        g.spawn(async move {
            sleep(Duration::from_millis(50)).await;
            // The body has returned by now; the group is still open for this child.
            let gd = gd.clone();
            let g3 = g2.clone();
            g2.spawn(async move {
                sleep(Duration::from_millis(50)).await;
                let h = g3.spawn(async move {
                    sleep(Duration::from_millis(20)).await;
                    gd.store(true, Ordering::SeqCst);
                    Ok(())
                });
                assert!(h.await.is_some());
                Ok(())
            });
            Ok::<_, ()>(())
        });
        Ok(())
    }));
    assert!(r.is_ok());
    assert!(
        is_set(&grandchild_done),
        "returned before the grandchild finished"
    );
}

#[test]
fn semantic_2_waits_for_a_running_blocking_child_on_failure_cancel_and_panic() {
    #[derive(Clone, Copy, Debug)]
    enum Ending {
        Failure,
        Cancel,
        Panic,
    }
    for ending in [Ending::Failure, Ending::Cancel, Ending::Panic] {
        let rt = runtime();
        let (started, finished) = (flag(), flag());
        let (s, f) = (started.clone(), finished.clone());
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            rt.block_on(task_group(|g| async move {
                // A blocking child cannot be interrupted: the group must wait for it.
                g.spawn_blocking(move || {
                    s.store(true, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(300));
                    f.store(true, Ordering::SeqCst);
                    Ok::<_, String>(())
                });
                until_set(&started).await;
                match ending {
                    Ending::Failure => Err("body failed".to_string()),
                    Ending::Cancel => {
                        g.cancel();
                        Ok(())
                    }
                    Ending::Panic => {
                        drop::<GroupHandle<()>>(g.spawn(async { panic!("child panicked") }));
                        sleep(Duration::from_secs(60)).await;
                        Ok(())
                    }
                }
            }))
        }));
        assert!(
            is_set(&finished),
            "{ending:?}: returned before the blocking child finished"
        );
        match (ending, outcome) {
            (Ending::Failure, Ok(Err(e))) => assert_eq!(e.errors(), ["body failed"]),
            (Ending::Cancel, Ok(Err(e))) => assert!(e.is_cancelled()),
            (Ending::Panic, Err(p)) => assert_eq!(panic_message(p), "child panicked"),
            (ending, other) => panic!("{ending:?}: unexpected outcome {other:?}"),
        }
    }
}

#[test]
fn semantic_2_waits_until_aborted_children_are_dropped() {
    let rt = runtime();
    let dropped: Vec<_> = (0..20).map(|_| flag()).collect();
    let flags = dropped.clone();
    let r = rt.block_on(task_group(|g| async move {
        for f in flags {
            g.spawn(async move {
                let _flag = DropFlag(f);
                sleep(Duration::from_secs(60)).await;
                Ok::<(), _>(())
            });
        }
        sleep(Duration::from_millis(20)).await;
        Err::<(), _>("stop")
    }));
    assert_eq!(r.unwrap_err().into_errors(), vec!["stop"]);
    assert!(
        dropped.iter().all(|f| is_set(f)),
        "a cancelled child's future was still alive when task_group returned"
    );
}

// ---------------------------------------------------------------------------------------------
// 3. The first failure cancels every other child and the body (dropped at its current await),
//    exactly once; cancelled children are not errors.

#[test]
fn semantic_3_first_child_failure_cancels_siblings_and_body() {
    let rt = runtime();
    let body_dropped = flag();
    let body_drops = Arc::new(AtomicUsize::new(0));
    let sibling_drops = Arc::new(AtomicUsize::new(0));
    let after_await = flag();
    let (bd, bds, sd, aa) = (
        body_dropped.clone(),
        body_drops.clone(),
        sibling_drops.clone(),
        after_await.clone(),
    );
    let start = Instant::now();
    let handles: Arc<Mutex<Vec<GroupHandle<()>>>> = Arc::default();
    let hs = handles.clone();
    let r = rt.block_on(task_group(|g| async move {
        struct Counted(Arc<AtomicUsize>);
        impl Drop for Counted {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let _body_flag = DropFlag(bd);
        let _body_count = Counted(bds);
        for _ in 0..5 {
            let sd = sd.clone();
            hs.lock().unwrap().push(g.spawn(async move {
                let _c = Counted(sd);
                sleep(Duration::from_secs(60)).await;
                Ok(())
            }));
        }
        g.spawn(async {
            sleep(Duration::from_millis(50)).await;
            Err::<(), _>("child failed")
        });
        sleep(Duration::from_secs(60)).await; // the body is dropped here
        aa.store(true, Ordering::SeqCst);
        Ok(())
    }));
    let err = r.unwrap_err();
    assert_eq!(
        err.errors(),
        ["child failed"],
        "cancelled siblings are not errors"
    );
    assert!(!err.is_cancelled());
    assert!(is_set(&body_dropped));
    assert!(!is_set(&after_await), "the body ran past its await");
    assert_eq!(
        body_drops.load(Ordering::SeqCst),
        1,
        "body dropped exactly once"
    );
    assert_eq!(
        sibling_drops.load(Ordering::SeqCst),
        5,
        "each sibling dropped once"
    );
    assert!(start.elapsed() < Duration::from_secs(10));
    let handles = std::mem::take(&mut *handles.lock().unwrap());
    let results = rt.block_on(spindle::gather(handles));
    assert_eq!(
        results,
        vec![None; 5],
        "cancelled children's handles yield None"
    );
}

#[test]
fn semantic_3_body_failure_cancels_children() {
    let rt = runtime();
    let child_dropped = flag();
    let cd = child_dropped.clone();
    let r = rt.block_on(task_group(|g| async move {
        let h = g.spawn(async move {
            let _f = DropFlag(cd);
            sleep(Duration::from_secs(60)).await;
            Ok::<u8, &str>(1)
        });
        sleep(Duration::from_millis(20)).await;
        drop(h);
        Err::<(), _>("body failed")
    }));
    assert_eq!(r.unwrap_err().errors(), ["body failed"]);
    assert!(is_set(&child_dropped));
}

#[test]
fn semantic_3_cancellation_happens_once_even_with_many_failures() {
    // Fifty children fail at about the same moment; the group aborts the rest once, the body
    // is dropped once, and every reported error is a real failure (never a cancellation).
    let rt = runtime();
    let body_drops = Arc::new(AtomicUsize::new(0));
    let bd = body_drops.clone();
    let r = rt.block_on(task_group(|g| async move {
        struct Counted(Arc<AtomicUsize>);
        impl Drop for Counted {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let _c = Counted(bd);
        for i in 0..50 {
            g.spawn(async move {
                sleep(Duration::from_millis(30)).await;
                Err::<(), _>(i)
            });
        }
        sleep(Duration::from_secs(60)).await;
        Ok(())
    }));
    let err = r.unwrap_err();
    assert!(!err.is_empty() && err.len() <= 50);
    let mut seen = err.errors().to_vec();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), err.len(), "an error was reported twice");
    assert_eq!(body_drops.load(Ordering::SeqCst), 1);
}

// ---------------------------------------------------------------------------------------------
// 4. All errors are collected: children's in completion order, the body's last.

#[test]
fn semantic_4_errors_in_completion_order_body_last() {
    let rt = runtime();
    let r = rt.block_on(task_group(|g| async move {
        // Two blocking children that are already running when the body fails: they cannot be
        // interrupted, see the cancellation and fail in a known order (b1 before b2).
        let started: Vec<_> = (0..2).map(|_| flag()).collect();
        for (i, (name, delay)) in [("b2", 150u64), ("b1", 30)].into_iter().enumerate() {
            let (g2, s) = (g.clone(), started[i].clone());
            g.spawn_blocking(move || {
                s.store(true, Ordering::SeqCst);
                until_cancelled_blocking(&g2);
                std::thread::sleep(Duration::from_millis(delay));
                Err::<(), _>(name.to_string())
            });
        }
        for s in &started {
            until_set(s).await;
        }
        Err::<(), _>("body".to_string()) // fails first, reported last
    }));
    let err = r.unwrap_err();
    assert!(!err.is_cancelled());
    assert_eq!(err.into_errors(), vec!["b1", "b2", "body"]);
}

#[test]
fn semantic_4_first_failing_child_first_then_the_others_in_completion_order() {
    let rt = runtime();
    let r = rt.block_on(task_group(|g| async move {
        let started: Vec<_> = (0..2).map(|_| flag()).collect();
        for (i, (name, delay)) in [("slow", 150u64), ("fast", 30)].into_iter().enumerate() {
            let (g2, s) = (g.clone(), started[i].clone());
            g.spawn_blocking(move || {
                s.store(true, Ordering::SeqCst);
                until_cancelled_blocking(&g2);
                std::thread::sleep(Duration::from_millis(delay));
                Err::<(), _>(name)
            });
        }
        let all_started = started.clone();
        g.spawn(async move {
            for s in &all_started {
                until_set(s).await;
            }
            Err::<(), _>("async first")
        });
        sleep(Duration::from_secs(60)).await; // dropped: the body adds no error
        Ok(())
    }));
    assert_eq!(
        r.unwrap_err().into_errors(),
        vec!["async first", "fast", "slow"]
    );
}

// ---------------------------------------------------------------------------------------------
// 5. A child's panic: cancel everything, wait for every child, resume the panic in the task
//    awaiting task_group; other errors are dropped.

#[test]
fn semantic_5_child_panic_cancels_waits_and_resumes_in_awaiting_task() {
    let rt = runtime();
    let (blocking_started, blocking_done, sleeper_dropped) = (flag(), flag(), flag());
    let (bs, bd, sd) = (
        blocking_started.clone(),
        blocking_done.clone(),
        sleeper_dropped.clone(),
    );
    let caller = std::thread::current().id();
    let caught = catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(task_group(|g| async move {
            let g2 = g.clone();
            g.spawn_blocking(move || {
                bs.store(true, Ordering::SeqCst);
                until_cancelled_blocking(&g2);
                std::thread::sleep(Duration::from_millis(100));
                bd.store(true, Ordering::SeqCst);
                Err::<(), _>("error collected, then dropped".to_string())
            });
            g.spawn(async move {
                let _f = DropFlag(sd);
                sleep(Duration::from_secs(60)).await;
                Ok(())
            });
            until_set(&blocking_started).await;
            drop::<GroupHandle<()>>(g.spawn(async {
                sleep(Duration::from_millis(10)).await;
                panic!("kaboom {}", 42);
            }));
            sleep(Duration::from_secs(60)).await;
            Ok(())
        }))
    }));
    let payload = caught.expect_err("the child's panic must resume in the awaiting task");
    assert_eq!(panic_message(payload), "kaboom 42");
    assert_eq!(std::thread::current().id(), caller);
    assert!(
        is_set(&blocking_done),
        "resumed before the blocking child finished"
    );
    assert!(
        is_set(&sleeper_dropped),
        "the sleeping child was not cancelled"
    );
    // The runtime is still healthy afterwards.
    assert_eq!(rt.block_on(async { 5 }), 5);
}

#[test]
fn semantic_5_panic_in_a_blocking_child_resumes_too() {
    let rt = runtime();
    let caught = catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(task_group(|g| async move {
            g.spawn_blocking(|| -> Result<(), ()> { panic!("blocking kaboom") });
            sleep(Duration::from_secs(60)).await;
            Ok(())
        }))
    }));
    assert_eq!(panic_message(caught.unwrap_err()), "blocking kaboom");
}

#[test]
fn semantic_5_body_panic_waits_for_children_then_resumes() {
    let rt = runtime();
    let (started, finished) = (flag(), flag());
    let (s, f) = (started.clone(), finished.clone());
    let caught: Result<Result<(), GroupError<()>>, _> = catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(task_group(|g: TaskGroup<()>| async move {
            g.spawn_blocking(move || {
                s.store(true, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(150));
                f.store(true, Ordering::SeqCst);
                Ok(())
            });
            until_set(&started).await;
            panic!("body kaboom");
        }))
    }));
    assert_eq!(panic_message(caught.unwrap_err()), "body kaboom");
    assert!(is_set(&finished));
}

// ---------------------------------------------------------------------------------------------
// 6. cancel(): everything stops; Err(GroupError) with no errors and is_cancelled().

#[test]
fn semantic_6_cancel_from_a_child_stops_everything_without_errors() {
    let rt = runtime();
    let (body_dropped, sibling_dropped) = (flag(), flag());
    let (bd, sd) = (body_dropped.clone(), sibling_dropped.clone());
    let start = Instant::now();
    let r = rt.block_on(task_group(|g| async move {
        let _f = DropFlag(bd);
        g.spawn(async move {
            let _f = DropFlag(sd);
            sleep(Duration::from_secs(60)).await;
            Ok(())
        });
        let g2 = g.clone();
        g.spawn(async move {
            sleep(Duration::from_millis(30)).await;
            assert!(!g2.is_cancelled());
            g2.cancel();
            g2.cancel(); // idempotent
            assert!(g2.is_cancelled());
            Err::<(), _>("an error after cancel() is not reported")
        });
        sleep(Duration::from_secs(60)).await;
        Ok(())
    }));
    let err: GroupError<&str> = r.unwrap_err();
    assert!(err.is_cancelled());
    assert!(err.is_empty());
    assert_eq!(err.len(), 0);
    assert_eq!(err.to_string(), "task group was cancelled");
    assert!(is_set(&body_dropped) && is_set(&sibling_dropped));
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[test]
fn semantic_6_cancel_from_the_body_drops_the_body_at_its_next_await() {
    let rt = runtime();
    let reached = flag();
    let re = reached.clone();
    let r = rt.block_on(task_group(|g: TaskGroup<String>| async move {
        g.cancel();
        spindle::yield_now().await;
        re.store(true, Ordering::SeqCst);
        Ok(())
    }));
    assert!(r.unwrap_err().is_cancelled());
    assert!(!is_set(&reached));
}

// ---------------------------------------------------------------------------------------------
// 7. A spawn after the group started failing, was cancelled, or finished is refused.

/// A future that records whether it was ever polled or dropped.
fn probe(
    polled: Arc<AtomicBool>,
    dropped: Arc<AtomicBool>,
) -> impl Future<Output = Result<u8, String>> + Send {
    let guard = DropFlag(dropped);
    async move {
        let _guard = guard;
        polled.store(true, Ordering::SeqCst);
        Ok(1)
    }
}

#[test]
fn semantic_7_spawn_refused_after_cancel() {
    let rt = runtime();
    let (polled, dropped) = (flag(), flag());
    let (p, d) = (polled.clone(), dropped.clone());
    let handle_result = Arc::new(Mutex::new(None));
    let hr = handle_result.clone();
    let r = rt.block_on(task_group(|g| async move {
        g.cancel();
        let h = g.spawn(probe(p, d.clone()));
        assert!(is_set(&d), "refused future is dropped at once");
        *hr.lock().unwrap() = Some(h.await);
        Ok(())
    }));
    assert!(r.unwrap_err().is_cancelled());
    assert!(!is_set(&polled), "a refused future was polled");
    assert!(is_set(&dropped));
    // A refused handle is ready at once, so the body got past that await.
    assert_eq!(*handle_result.lock().unwrap(), Some(None));
}

#[test]
fn semantic_7_spawn_refused_while_failing() {
    let rt = runtime();
    let (polled, dropped) = (flag(), flag());
    let (p, d) = (polled.clone(), dropped.clone());
    let refused = Arc::new(Mutex::new(None));
    let rf = refused.clone();
    let r = rt.block_on(task_group(|g| async move {
        let g2 = g.clone();
        let started = flag();
        let s = started.clone();
        g.spawn_blocking(move || {
            s.store(true, Ordering::SeqCst);
            until_cancelled_blocking(&g2);
            // The group is failing now: this spawn must be refused.
            let h = g2.spawn(probe(p, d));
            let mut h = pin!(h);
            let polled_once = h.as_mut().poll(&mut Context::from_waker(Waker::noop()));
            *rf.lock().unwrap() = Some(polled_once);
            Ok(0)
        });
        until_set(&started).await;
        Err::<(), _>("fail".to_string())
    }));
    assert_eq!(r.unwrap_err().into_errors(), vec!["fail"]);
    assert_eq!(*refused.lock().unwrap(), Some(Poll::Ready(None)));
    assert!(!is_set(&polled));
    assert!(is_set(&dropped));
}

#[test]
fn semantic_7_spawn_refused_after_finish() {
    let rt = runtime();
    let mut kept: Option<TaskGroup<String>> = None;
    let r = rt.block_on(task_group(|g| {
        kept = Some(g.clone());
        async { Ok(()) }
    }));
    assert!(r.is_ok());
    let g = kept.unwrap();
    assert!(
        !g.is_cancelled(),
        "a group that finished normally was not cancelled"
    );
    let (polled, dropped) = (flag(), flag());
    let h = g.spawn(probe(polled.clone(), dropped.clone()));
    assert!(is_set(&dropped));
    assert_eq!(rt.block_on(h), None);
    let hb = g.spawn_blocking(|| Ok(1));
    assert_eq!(rt.block_on(hb), None);
    assert!(!is_set(&polled));
}

// ---------------------------------------------------------------------------------------------
// 8. Dropping the task_group future cancels every child.

#[test]
fn semantic_8_dropping_the_future_cancels_every_child() {
    let rt = runtime();
    let dropped: Vec<_> = (0..10).map(|_| flag()).collect();
    let flags = dropped.clone();
    let mut kept: Option<TaskGroup<()>> = None;
    let kept_ref = &mut kept;
    let r = rt.block_on(timeout(
        Duration::from_millis(100),
        task_group(move |g| {
            *kept_ref = Some(g.clone());
            async move {
                for f in flags {
                    g.spawn(async move {
                        let _f = DropFlag(f);
                        sleep(Duration::from_secs(60)).await;
                        Ok(())
                    });
                }
                sleep(Duration::from_secs(60)).await;
                Ok(())
            }
        }),
    ));
    assert!(r.is_err(), "the timeout should have fired");
    // Aborted children are dropped by the workers shortly after.
    rt.block_on(async {
        for f in &dropped {
            until_set(f).await;
        }
    });
    let g = kept.unwrap();
    assert!(g.is_cancelled());
    let (polled, d) = (flag(), flag());
    let h = g.spawn(async move {
        let _f = DropFlag(d);
        polled.store(true, Ordering::SeqCst);
        Ok(())
    });
    assert_eq!(
        rt.block_on(h),
        None,
        "spawn into an abandoned group is refused"
    );
}

// ---------------------------------------------------------------------------------------------
// 9. All children succeed and the body returns Ok(r) → Ok(r).

#[test]
fn semantic_9_all_ok_returns_body_value() {
    let rt = runtime();
    let r = rt.block_on(task_group(|g| async move {
        let handles: Vec<GroupHandle<u64>> = (1..=10u64)
            .map(|i| {
                g.spawn(async move {
                    sleep(Duration::from_millis(i)).await;
                    Ok::<_, String>(i * i)
                })
            })
            .collect();
        let squares = spindle::gather(handles).await;
        Ok(squares.into_iter().map(Option::unwrap).sum::<u64>())
    }));
    assert_eq!(r.unwrap(), 385);
}

#[test]
fn semantic_9_handles_are_ready_at_once_after_task_group_returned() {
    let rt = runtime();
    let mut kept = Vec::new();
    let r = rt.block_on(task_group(|g| {
        for i in 0..8u32 {
            kept.push(g.spawn(async move {
                sleep(Duration::from_millis(u64::from(i) * 5)).await;
                Ok::<_, ()>(i)
            }));
        }
        async { Ok("done") }
    }));
    assert_eq!(r, Ok("done"));
    let mut cx = Context::from_waker(Waker::noop());
    for (i, mut h) in kept.into_iter().enumerate() {
        assert!(h.is_finished());
        assert_eq!(pin!(&mut h).poll(&mut cx), Poll::Ready(Some(i as u32)));
    }
}

// ---------------------------------------------------------------------------------------------
// Beyond the numbered semantics.

#[test]
fn nested_group_error_surfaces_as_one_error_of_the_outer_group() {
    let rt = runtime();
    let r = rt.block_on(task_group(
        |outer: TaskGroup<GroupError<String>>| async move {
            outer.spawn(async {
                task_group(|inner| async move {
                    let started = flag();
                    let g2 = inner.clone();
                    let s = started.clone();
                    inner.spawn_blocking(move || {
                        s.store(true, Ordering::SeqCst);
                        until_cancelled_blocking(&g2);
                        Err::<(), _>("inner blocking".to_string())
                    });
                    until_set(&started).await;
                    Err::<(), _>("inner body".to_string())
                })
                .await
            });
            outer.spawn(async { Ok(()) });
            Ok(())
        },
    ));
    let outer_err = r.unwrap_err();
    assert_eq!(
        outer_err.len(),
        1,
        "the inner group is one error of the outer"
    );
    let inner = &outer_err.errors()[0];
    assert_eq!(inner.errors(), ["inner blocking", "inner body"]);
    assert_eq!(
        outer_err.to_string(),
        "task group failed with 1 error:\n  1. task group failed with 2 errors:\n       1. inner blocking\n       2. inner body"
    );
}

#[test]
fn group_of_ten_thousand_children() {
    let rt = runtime();
    let start = Instant::now();
    let r = rt.block_on(task_group(|g| async move {
        let handles: Vec<_> = (0..10_000u64)
            .map(|i| {
                g.spawn(async move {
                    if i % 2 == 0 {
                        spindle::yield_now().await;
                    } else {
                        sleep(Duration::from_millis(i % 7)).await;
                    }
                    Ok::<_, String>(i)
                })
            })
            .collect();
        let mut sum = 0;
        for h in handles {
            sum += h.await.unwrap();
        }
        Ok(sum)
    }));
    assert_eq!(r.unwrap(), (0..10_000u64).sum::<u64>());
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn spawn_blocking_children_run_rayon_kernels_and_report_errors() {
    use rayon::prelude::*;
    let rt = runtime();
    let r = rt.block_on(task_group(|g| async move {
        let sum =
            g.spawn_blocking(|| Ok::<_, String>((0..1_000_000u64).into_par_iter().sum::<u64>()));
        let max =
            g.spawn_blocking(|| Ok((0..1000u32).into_par_iter().map(|x| x % 97).max().unwrap()));
        Ok((sum.await.unwrap(), max.await.unwrap()))
    }));
    assert_eq!(r.unwrap(), (499_999_500_000, 96));

    let r = rt.block_on(task_group(|g| async move {
        g.spawn_blocking(|| Err::<(), _>("blocking failed".to_string()));
        sleep(Duration::from_secs(60)).await;
        Ok(())
    }));
    assert_eq!(r.unwrap_err().into_errors(), vec!["blocking failed"]);
}

#[test]
fn group_error_display_and_split() {
    let rt = runtime();
    let r = rt.block_on(task_group(|g| async move {
        let started = flag();
        let (g2, s) = (g.clone(), started.clone());
        g.spawn_blocking(move || {
            s.store(true, Ordering::SeqCst);
            until_cancelled_blocking(&g2);
            Err::<(), _>("Second error".to_string())
        });
        until_set(&started).await;
        Err::<(), _>("First error".to_string())
    }));
    let err = r.unwrap_err();
    assert_eq!(
        err.to_string(),
        "task group failed with 2 errors:\n  1. Second error\n  2. First error"
    );
    assert_eq!(
        format!("{err:?}"),
        r#"GroupError { errors: ["Second error", "First error"], cancelled: false }"#
    );
    let (firsts, rest) = err.split(|e| e.starts_with("First"));
    let (firsts, rest) = (firsts.unwrap(), rest.unwrap());
    assert_eq!(firsts.errors(), ["First error"]);
    assert_eq!(rest.errors(), ["Second error"]);
    assert_eq!(
        rest.to_string(),
        "task group failed with 1 error:\n  1. Second error"
    );
    let (all, none) = firsts.split(|_| true);
    assert!(none.is_none());
    assert_eq!(all.unwrap().len(), 1);
}

#[test]
fn group_error_is_a_std_error_with_the_first_error_as_source() {
    let rt = runtime();
    let r = rt.block_on(task_group(|_g| async {
        Err::<(), _>(std::io::Error::other("disk on fire"))
    }));
    let err = r.unwrap_err();
    let dyn_err: &dyn std::error::Error = &err;
    assert_eq!(dyn_err.source().unwrap().to_string(), "disk on fire");
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(err);
    assert!(boxed.to_string().contains("disk on fire"));
}

#[test]
fn task_group_types_are_send_sync_and_the_future_can_be_spawned() {
    fn assert_clone_send_sync<T: Clone + Send + Sync>() {}
    fn assert_unpin_send<T: Unpin + Send>() {}
    assert_clone_send_sync::<TaskGroup<String>>();
    assert_unpin_send::<GroupHandle<Vec<u8>>>();
    fn assert_send<T: Send>(t: T) -> T {
        t
    }
    let rt = runtime();
    let r = rt.block_on(async {
        let fut = assert_send(task_group(|g| async move {
            let h = g.spawn(async { Ok::<_, String>(21) });
            Ok(h.await.unwrap() * 2)
        }));
        spindle::spawn(fut).await.unwrap()
    });
    assert_eq!(r.unwrap(), 42);
}

#[test]
fn the_body_may_borrow_locals() {
    let rt = runtime();
    let mut log = Vec::new();
    let r = rt.block_on(task_group(|g| {
        let log = &mut log;
        async move {
            let h = g.spawn(async { Ok::<_, ()>("child") });
            log.push(h.await.unwrap());
            log.push("body");
            Ok(log.len())
        }
    }));
    assert_eq!(r, Ok(2));
    assert_eq!(log, ["child", "body"]);
}
