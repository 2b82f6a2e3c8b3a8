//! `spindle::compute`: cancelling running kernels (abort, drop, timeout, task groups, runtime
//! shutdown), watching their progress, and the same token behind `spawn_blocking`.
//!
//! Timing: the CI machine is a loaded 2-core box, so "stops within a few ms" is measured and
//! printed, but asserted with generous bounds (seconds); speed is measured in
//! `benches/compute.rs`.

use rayon::prelude::*;
use spindle::compute::{self, Cancelled, ParallelIteratorExt, Progress};
use spindle::runtime::{Builder, Runtime, WaitsOn};
use spindle::time::{sleep, timeout};
use spindle::{GroupHandle, task_group};
use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::task::{Context, Wake, Waker};
use std::time::{Duration, Instant};

/// How long anything that should happen "within a few ms" may take on a loaded CI machine.
const GENEROUS: Duration = Duration::from_secs(10);

fn flag() -> Arc<AtomicBool> {
    Arc::new(AtomicBool::new(false))
}

/// Waits (asynchronously) until `flag` is set; panics after [`GENEROUS`].
async fn until_set(flag: &AtomicBool) {
    let deadline = Instant::now() + GENEROUS;
    while !flag.load(Ordering::SeqCst) {
        assert!(Instant::now() < deadline, "flag never set");
        sleep(Duration::from_millis(1)).await;
    }
}

/// Blocks until `flag` is set; panics after [`GENEROUS`].
fn until_set_blocking(flag: &AtomicBool) {
    let deadline = Instant::now() + GENEROUS;
    while !flag.load(Ordering::SeqCst) {
        assert!(Instant::now() < deadline, "flag never set");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// When a cooperative kernel noticed its cancellation and returned.
#[derive(Default)]
struct Stopped {
    at: Mutex<Option<Instant>>,
}

impl Stopped {
    fn mark(&self) {
        *self.at.lock().unwrap() = Some(Instant::now());
    }

    fn get(&self) -> Option<Instant> {
        *self.at.lock().unwrap()
    }

    /// Waits (blocking) until the kernel returned; panics after [`GENEROUS`].
    fn wait(&self) -> Instant {
        let deadline = Instant::now() + GENEROUS;
        loop {
            if let Some(at) = self.get() {
                return at;
            }
            assert!(Instant::now() < deadline, "the kernel never stopped");
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// A kernel that checks its job every ~100 µs of work until cancelled: sets `started`, then
/// marks `stopped` when a checkpoint fails. Returns the steps it made.
fn cooperative_kernel(
    job: &compute::Job,
    started: &AtomicBool,
    stopped: &Stopped,
) -> Result<u64, Cancelled> {
    started.store(true, Ordering::SeqCst);
    let mut steps = 0u64;
    let result = loop {
        if let Err(cancelled) = job.checkpoint() {
            break Err(cancelled);
        }
        spin_for(Duration::from_micros(100));
        steps += 1;
        if steps > 1_000_000 {
            break Ok(steps); // ~100 s: the test failed; do not hang the suite forever
        }
    };
    stopped.mark();
    result
}

fn spin_for(d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}

// ---------------------------------------------------------------------------------------------
// abort

#[spindle::test]
async fn abort_of_a_running_job_stops_it_and_yields_cancelled() {
    let (started, stopped) = (flag(), Arc::new(Stopped::default()));
    let (s, st) = (started.clone(), stopped.clone());
    let handle = compute::spawn(move |job| cooperative_kernel(job, &s, &st));
    until_set(&started).await;
    assert!(!handle.is_finished());
    let aborted_at = Instant::now();
    handle.abort();
    let err = handle.await.expect_err("aborted while running");
    assert!(err.is_cancelled(), "{err:?}");
    // The handle is ready only after the closure returned.
    let stopped_at = stopped
        .get()
        .expect("the closure returned before the handle was ready");
    let latency = stopped_at.saturating_duration_since(aborted_at);
    println!("abort -> closure returned: {latency:?}");
    assert!(latency < GENEROUS);
}

#[spindle::test]
async fn an_aborted_running_job_never_yields_its_value() {
    // The closure notices the cancellation and returns a value anyway: the caller gave up on
    // it, so the handle yields the cancelled error and the value is dropped.
    #[derive(Debug)]
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let drops = Arc::new(AtomicUsize::new(0));
    let started = flag();
    let (d, s) = (drops.clone(), started.clone());
    let handle = compute::spawn(move |job| {
        s.store(true, Ordering::SeqCst);
        while !job.is_cancelled() {
            std::thread::sleep(Duration::from_micros(200));
        }
        Counted(d)
    });
    until_set(&started).await;
    handle.abort();
    assert!(handle.await.unwrap_err().is_cancelled());
    assert_eq!(drops.load(Ordering::SeqCst), 1, "the value was dropped");
}

#[spindle::test(compute_threads = 1)]
async fn abort_before_start_never_runs_the_closure() {
    // Occupy the only pool thread so the next jobs stay queued.
    let (busy, release) = (flag(), flag());
    let (b, r) = (busy.clone(), release.clone());
    let blocker = spindle::spawn_blocking(move || {
        b.store(true, Ordering::SeqCst);
        until_set_blocking(&r);
    });
    until_set(&busy).await;

    let ran = Arc::new(AtomicUsize::new(0));
    let r1 = ran.clone();
    let job = compute::spawn(move |_| r1.fetch_add(1, Ordering::SeqCst));
    let r2 = ran.clone();
    let blocking = spindle::spawn_blocking(move || r2.fetch_add(1, Ordering::SeqCst));
    let r3 = ran.clone();
    let dropped = compute::spawn(move |_| r3.fetch_add(1, Ordering::SeqCst));
    job.abort();
    blocking.abort();
    drop(dropped); // dropping a JobHandle cancels too
    release.store(true, Ordering::SeqCst);
    blocker.await.unwrap();

    assert!(job.await.unwrap_err().is_cancelled());
    assert!(blocking.await.unwrap_err().is_cancelled());
    // Let the pool drain whatever was queued, then check nothing ran.
    spindle::spawn_blocking(|| ()).await.unwrap();
    assert_eq!(ran.load(Ordering::SeqCst), 0);
}

#[spindle::test]
async fn spawn_blocking_reaches_the_same_token() {
    assert_eq!(compute::checkpoint(), Ok(()), "outside a job");
    assert!(compute::current().is_none());

    let (started, stopped) = (flag(), Arc::new(Stopped::default()));
    let (s, st) = (started.clone(), stopped.clone());
    let handle = spindle::spawn_blocking(move || {
        let job = compute::current().expect("a spawn_blocking closure runs as a job");
        let id = job.id();
        let r = cooperative_kernel(&job, &s, &st);
        (id, r, compute::checkpoint())
    });
    let id = handle.id();
    until_set(&started).await;
    let abort = handle.abort_handle();
    abort.abort();
    assert!(handle.await.unwrap_err().is_cancelled());
    assert!(stopped.get().is_some());

    // Not aborted: the value comes back, with the job's id and a passing checkpoint.
    let handle = spindle::spawn_blocking(|| {
        let job = compute::current().unwrap();
        (job.id(), compute::checkpoint(), job.is_cancelled())
    });
    let expected = handle.id();
    assert_eq!(handle.await.unwrap(), (expected, Ok(()), false));
    assert_ne!(id, expected);
}

#[spindle::test]
async fn dropping_the_join_handle_of_spawn_blocking_detaches() {
    // tokio's rule for JoinHandle: dropping it lets the closure finish.
    let (tx, rx) = mpsc::channel();
    drop(spindle::spawn_blocking(move || {
        std::thread::sleep(Duration::from_millis(20));
        tx.send(compute::checkpoint()).unwrap();
    }));
    let got = spindle::spawn_blocking(move || rx.recv_timeout(GENEROUS).unwrap())
        .await
        .unwrap();
    assert_eq!(got, Ok(()));
}

// ---------------------------------------------------------------------------------------------
// progress

#[spindle::test]
async fn progress_and_changed_see_increasing_values_then_none() {
    let mut handle = compute::spawn(|job| {
        job.set_total(40);
        for _ in 0..40 {
            std::thread::sleep(Duration::from_millis(2));
            job.advance(1);
        }
        "done"
    });
    let mut seen: Vec<Progress> = Vec::new();
    while let Some(p) = handle.changed().await {
        seen.push(p);
    }
    assert_eq!(
        seen.last(),
        Some(&Progress {
            done: 40,
            total: Some(40)
        }),
        "the final value is always delivered: {seen:?}"
    );
    assert!(
        seen.windows(2)
            .all(|w| (w[0].done, w[0].total) < (w[1].done, w[1].total)),
        "each delivery is a change, in order: {seen:?}"
    );
    assert!(seen.len() >= 2, "a live view, not just the end: {seen:?}");
    assert_eq!(handle.changed().await, None, "None stays None");
    assert_eq!(handle.progress().fraction(), Some(1.0));
    assert_eq!(handle.await.unwrap(), "done");
}

#[spindle::test]
async fn changed_is_none_for_a_job_cancelled_before_it_started() {
    let mut handle = compute::spawn(|job| job.advance(1));
    handle.abort();
    // Either it never ran (no change: None at once), or it ran before the abort landed.
    let first = handle.changed().await;
    assert!(matches!(first, None | Some(Progress { done: 1, .. })));
    assert_eq!(handle.changed().await, None);
}

/// Counts the wakes of the waker it wraps.
struct CountingWaker {
    inner: Waker,
    wakes: Arc<AtomicUsize>,
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
        self.inner.wake_by_ref();
    }
}

#[spindle::test]
async fn changed_coalesces_wakes_to_about_one_per_10_ms() {
    const ADVANCES: u64 = 1_000_000;
    let mut handle = compute::spawn(|job| {
        job.set_total(ADVANCES);
        let start = Instant::now();
        for i in 0..ADVANCES {
            job.advance(1);
            if i % 1000 == 0 {
                // Pace the advances over ~100 ms (100 ns each).
                while start.elapsed() < Duration::from_nanos(i * 100) {
                    std::hint::spin_loop();
                }
            }
        }
        start.elapsed()
    });
    let wakes = Arc::new(AtomicUsize::new(0));
    let mut deliveries = Vec::new();
    loop {
        let mut changed = pin!(handle.changed());
        let next = poll_fn(|cx| {
            let counting = Waker::from(Arc::new(CountingWaker {
                inner: cx.waker().clone(),
                wakes: wakes.clone(),
            }));
            changed.as_mut().poll(&mut Context::from_waker(&counting))
        })
        .await;
        match next {
            Some(p) => deliveries.push(p),
            None => break,
        }
    }
    let kernel_time = handle.await.unwrap();
    let wakes = wakes.load(Ordering::SeqCst);
    println!(
        "{ADVANCES} advances in {kernel_time:?}: {wakes} wakes, {} deliveries",
        deliveries.len()
    );
    assert_eq!(
        deliveries.last(),
        Some(&Progress {
            done: ADVANCES,
            total: Some(ADVANCES)
        })
    );
    // One wake per 10 ms window, plus the final one (and a little slack for the first).
    let allowed = kernel_time.as_millis() as usize / 10 + 5;
    assert!(
        wakes <= allowed,
        "{wakes} wakes for {kernel_time:?} of advances (at most {allowed})"
    );
    assert!(deliveries.len() <= wakes + 1);
}

// ---------------------------------------------------------------------------------------------
// rayon

#[spindle::test]
async fn par_iter_with_the_job_stops_early() {
    const ITEMS: u64 = 1_000_000;
    for use_adapter in [false, true] {
        let processed = Arc::new(AtomicU64::new(0));
        let started = flag();
        let (p, s) = (processed.clone(), started.clone());
        let handle = compute::spawn(move |job| {
            s.store(true, Ordering::SeqCst);
            let work = |_: u64| {
                p.fetch_add(1, Ordering::Relaxed);
                spin_for(Duration::from_micros(20));
            };
            if use_adapter {
                (0..ITEMS).into_par_iter().cancel_with(job).for_each(work);
                job.checkpoint()
            } else {
                // The Job moves into the closures, which run on other pool threads.
                let job = job.clone();
                (0..ITEMS).into_par_iter().try_for_each(move |i| {
                    job.checkpoint()?;
                    work(i);
                    Ok(())
                })
            }
        });
        until_set(&started).await;
        sleep(Duration::from_millis(30)).await;
        handle.abort();
        assert!(handle.await.unwrap_err().is_cancelled());
        let at_return = processed.load(Ordering::SeqCst);
        println!("cancel_with={use_adapter}: {at_return} of {ITEMS} items processed");
        assert!(at_return > 0);
        // 20 µs per item on a few threads: all of them would take ~10 s.
        assert!(
            at_return < ITEMS / 2,
            "cancel_with={use_adapter}: {at_return} items: did not stop early"
        );
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(
            processed.load(Ordering::SeqCst),
            at_return,
            "nothing runs after the closure returned"
        );
    }
}

#[spindle::test]
async fn cancel_with_passes_every_item_when_not_cancelled() {
    let handle = compute::spawn(|job| {
        let v: Vec<u64> = (0..10_000u64)
            .into_par_iter()
            .cancel_with(job)
            .map(|x| x * 2)
            .collect();
        (v.len(), v.iter().sum::<u64>())
    });
    assert_eq!(handle.await.unwrap(), (10_000, 9_999 * 10_000));
}

// ---------------------------------------------------------------------------------------------
// task groups

#[spindle::test]
async fn a_failing_sibling_stops_a_running_blocking_child() {
    let (started, stopped) = (flag(), Arc::new(Stopped::default()));
    let (s, st) = (started.clone(), stopped.clone());
    let steps = Arc::new(AtomicU64::new(0));
    let steps2 = steps.clone();
    let r = task_group(|g| async move {
        g.spawn_blocking(move || -> Result<(), String> {
            let job = compute::current().unwrap();
            let r = cooperative_kernel(&job, &s, &st);
            steps2.store(r.unwrap_or(0), Ordering::SeqCst);
            r.map(drop).map_err(|e| e.to_string())
        });
        g.spawn(async move {
            until_set(&started).await;
            sleep(Duration::from_millis(5)).await;
            Err::<(), _>("sibling failed".to_string())
        });
        Ok(())
    })
    .await;
    // The group waited for the child, whose error after seeing the cancellation is not an error.
    assert!(
        stopped.get().is_some(),
        "task_group returned before the child"
    );
    assert_eq!(
        steps.load(Ordering::SeqCst),
        0,
        "the child was stopped, not finished"
    );
    assert_eq!(r.unwrap_err().into_errors(), ["sibling failed"]);
}

#[spindle::test]
async fn an_error_returned_without_looking_at_the_token_is_still_collected() {
    // The asyncio rule: a child that catches CancelledError and raises something else fails.
    let started = flag();
    let s = started.clone();
    let r = task_group(|g| async move {
        g.spawn_blocking(move || {
            s.store(true, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(100));
            Err::<(), _>("own error")
        });
        g.spawn(async move {
            until_set(&started).await;
            Err::<(), _>("first")
        });
        Ok(())
    })
    .await;
    assert_eq!(r.unwrap_err().into_errors(), ["first", "own error"]);
}

#[spindle::test]
async fn group_cancel_stops_a_running_blocking_child_and_drops_its_value() {
    let (started, stopped) = (flag(), Arc::new(Stopped::default()));
    let (s, st) = (started.clone(), stopped.clone());
    let mut kept: Option<GroupHandle<u64>> = None;
    let r = task_group(|g| {
        kept = Some(g.spawn_blocking(move || {
            let job = compute::current().unwrap();
            // Returns Ok(steps) on purpose: a cancelled child's value is dropped anyway.
            Ok::<_, ()>(cooperative_kernel(&job, &s, &st).unwrap_or(7))
        }));
        async move {
            until_set(&started).await;
            g.cancel();
            Ok(())
        }
    })
    .await;
    assert!(r.unwrap_err().is_cancelled());
    assert!(stopped.get().is_some(), "the group waited for the child");
    assert_eq!(kept.unwrap().await, None, "cancelled: no value");
}

#[spindle::test]
async fn dropping_the_group_future_stops_a_running_blocking_child() {
    let (started, stopped) = (flag(), Arc::new(Stopped::default()));
    let (s, st) = (started.clone(), stopped.clone());
    let group = task_group(|g| async move {
        g.spawn_blocking(move || {
            let job = compute::current().unwrap();
            cooperative_kernel(&job, &s, &st).map_err(|_| ())
        });
        std::future::pending::<()>().await;
        Ok::<(), ()>(())
    });
    let s2 = started.clone();
    let out = timeout(Duration::from_secs(60), async move {
        let mut group = pin!(group);
        // Drive the group until the child runs, then drop it.
        poll_fn(|cx| {
            let _ = group.as_mut().poll(cx);
            if s2.load(Ordering::SeqCst) {
                std::task::Poll::Ready(())
            } else {
                cx.waker().wake_by_ref();
                std::task::Poll::Pending
            }
        })
        .await;
    })
    .await;
    out.unwrap();
    let dropped_at = Instant::now();
    let stopped_at = spindle::spawn_blocking(move || stopped.wait())
        .await
        .unwrap();
    println!(
        "group dropped -> child returned: {:?}",
        stopped_at.saturating_duration_since(dropped_at)
    );
}

// ---------------------------------------------------------------------------------------------
// timeout, drop, detach

#[spindle::test]
async fn timeout_around_a_job_handle_stops_the_kernel() {
    let (started, stopped) = (flag(), Arc::new(Stopped::default()));
    let (s, st) = (started.clone(), stopped.clone());
    let handle = compute::spawn(move |job| cooperative_kernel(job, &s, &st));
    let out = timeout(Duration::from_millis(50), handle).await;
    assert!(out.is_err(), "the kernel runs for ~100 s unless stopped");
    let expired = Instant::now();
    let stopped_at = spindle::spawn_blocking(move || stopped.wait())
        .await
        .unwrap();
    assert!(started.load(Ordering::SeqCst));
    println!(
        "timeout -> kernel returned: {:?}",
        stopped_at.saturating_duration_since(expired)
    );
}

#[spindle::test]
async fn detach_keeps_the_job_running() {
    let (release, started) = (flag(), flag());
    let (r, s) = (release.clone(), started.clone());
    let (tx, rx) = mpsc::channel();
    let handle = compute::spawn(move |job| {
        s.store(true, Ordering::SeqCst);
        while !r.load(Ordering::SeqCst) {
            if job.is_cancelled() {
                tx.send("cancelled").unwrap();
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        tx.send("finished").unwrap();
    });
    handle.detach();
    until_set(&started).await;
    sleep(Duration::from_millis(30)).await;
    release.store(true, Ordering::SeqCst);
    let got = spindle::spawn_blocking(move || rx.recv_timeout(GENEROUS).unwrap())
        .await
        .unwrap();
    assert_eq!(got, "finished");
}

#[spindle::test]
async fn a_job_clone_works_on_other_threads() {
    let started = flag();
    let s = started.clone();
    let handle = compute::spawn(move |job| {
        let job = job.clone();
        // A plain thread: no current job there, but the clone holds its own task reference.
        std::thread::spawn(move || {
            s.store(true, Ordering::SeqCst);
            assert!(compute::current().is_none());
            let deadline = Instant::now() + GENEROUS;
            while !job.is_cancelled() {
                assert!(Instant::now() < deadline);
                std::thread::sleep(Duration::from_millis(1));
            }
            job.checkpoint()
        })
        .join()
        .unwrap()
    });
    until_set(&started).await;
    handle.abort();
    assert!(handle.await.unwrap_err().is_cancelled());
}

// ---------------------------------------------------------------------------------------------
// runtime shutdown

#[test]
fn runtime_shutdown_stops_a_running_job_and_waits_for_it() {
    for blocking in [false, true] {
        let rt = Builder::new()
            .worker_threads(1)
            .compute_threads(2)
            .build()
            .unwrap();
        let (started, stopped) = (flag(), Arc::new(Stopped::default()));
        let (s, st) = (started.clone(), stopped.clone());
        if blocking {
            rt.spawn_blocking(move || {
                let job = compute::current().unwrap();
                cooperative_kernel(&job, &s, &st)
            });
        } else {
            let _enter = rt.handle().enter();
            compute::spawn(move |job| cooperative_kernel(job, &s, &st)).detach();
        }
        until_set_blocking(&started);
        let start = Instant::now();
        drop(rt);
        let took = start.elapsed();
        println!("blocking={blocking}: shutdown took {took:?}");
        assert!(
            stopped.get().is_some(),
            "shutdown returned before the closure did"
        );
        assert!(took < GENEROUS);
    }
}

#[test]
fn shutdown_timeout_returns_early_for_a_cooperative_job() {
    let rt = Runtime::new().unwrap();
    let (started, stopped) = (flag(), Arc::new(Stopped::default()));
    let (s, st) = (started.clone(), stopped.clone());
    {
        let _enter = rt.handle().enter();
        compute::spawn(move |job| cooperative_kernel(job, &s, &st)).detach();
    }
    until_set_blocking(&started);
    let start = Instant::now();
    rt.shutdown_timeout(Duration::from_secs(30));
    assert!(stopped.get().is_some());
    assert!(start.elapsed() < GENEROUS, "took {:?}", start.elapsed());
}

// ---------------------------------------------------------------------------------------------
// observability

#[spindle::test]
async fn a_task_awaiting_a_job_shows_it_in_dumps() {
    let release = flag();
    let r = release.clone();
    let (tx, rx) = spindle::sync::oneshot::channel();
    let waiter = spindle::spawn(async move {
        let job = compute::spawn(move |_| until_set_blocking(&r));
        tx.send(job.id()).unwrap();
        job.await.unwrap();
    });
    let job_id = rx.await.unwrap();
    let handle = spindle::runtime::Handle::current();
    let deadline = Instant::now() + GENEROUS;
    loop {
        let dump = handle.dump().await;
        let waits = dump
            .tasks()
            .iter()
            .find(|t| t.id() == waiter.id())
            .and_then(|t| t.waits_on());
        if waits
            == Some(WaitsOn::Compute {
                job: job_id.as_u64(),
            })
        {
            assert!(dump.to_string().contains(&format!("compute job {job_id}")));
            break;
        }
        assert!(Instant::now() < deadline, "never shown waiting: {dump}");
        sleep(Duration::from_millis(2)).await;
    }
    release.store(true, Ordering::SeqCst);
    waiter.await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// the types' promises

#[test]
fn the_types_are_what_the_contract_says() {
    fn job_handle<T: Future<Output = Result<u8, spindle::JoinError>> + Unpin + Send>() {}
    fn job<T: Clone + Send + Sync + std::fmt::Debug>() {}
    fn error<T: std::error::Error + Clone + Copy + PartialEq + Send + Sync + 'static>() {}
    job_handle::<compute::JobHandle<u8>>();
    job::<compute::Job>();
    error::<Cancelled>();
    let io: std::io::Error = Cancelled.into();
    assert_eq!(io.kind(), std::io::ErrorKind::Other);
    assert_eq!(
        Progress {
            done: 1,
            total: Some(4)
        }
        .to_string(),
        "1/4 (25.0 %)"
    );
}
