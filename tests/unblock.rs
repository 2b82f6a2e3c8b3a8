//! `spindle::unblock` and the blocking-I/O lane: separate from the compute pool, elastic, lazy,
//! bounded by `max_io_threads`, and behaving like every other task (panics, abort, shutdown).

use spindle::runtime::{Builder, Handle, Runtime};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex, mpsc};
use std::time::{Duration, Instant};

fn rt(name: &str) -> Runtime {
    Builder::new()
        .worker_threads(2)
        .compute_threads(2)
        .thread_name(name)
        .build()
        .unwrap()
}

/// Polls `check` until it holds (a generous deadline: CI is a loaded, shared 2-core machine).
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Names of this process's threads that start with `prefix` (from /proc/self/task/*/comm;
/// Linux truncates names to 15 bytes, so test prefixes are short).
fn threads_named(prefix: &str) -> Vec<String> {
    let mut names = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        let comm = task.unwrap().path().join("comm");
        if let Ok(name) = std::fs::read_to_string(comm) {
            let name = name.trim_end().to_string();
            if name.starts_with(prefix) {
                names.push(name);
            }
        }
    }
    names.sort();
    names
}

/// Saturates the compute pool: `n` `spawn_blocking` jobs that hold their rayon thread until
/// the returned sender is dropped. Returns once all of them are running.
fn saturate_compute(rt: &Runtime, n: usize) -> (mpsc::Sender<()>, Vec<spindle::JoinHandle<()>>) {
    let (release, wait) = mpsc::channel::<()>();
    let wait = Arc::new(Mutex::new(wait));
    let running = Arc::new(AtomicUsize::new(0));
    let jobs = (0..n)
        .map(|_| {
            let (wait, running) = (wait.clone(), running.clone());
            rt.spawn_blocking(move || {
                running.fetch_add(1, Ordering::SeqCst);
                // Err once the sender is dropped; the lock is only held by one job at a time,
                // so the others wait on the mutex: all of them stay on their thread.
                let _ = wait.lock().unwrap().recv();
            })
        })
        .collect();
    eventually("every compute thread is busy", || {
        running.load(Ordering::SeqCst) == n
    });
    (release, jobs)
}

#[test]
fn eight_unblock_calls_overlap_while_the_compute_pool_is_saturated() {
    let rt = rt("ovl");
    let (release, hogs) = saturate_compute(&rt, 2);
    // A compute job queued behind the hogs does not run: the pool really is saturated.
    let queued_compute = rt.spawn_blocking(|| ());

    let barrier = Arc::new(Barrier::new(8));
    let started = Instant::now();
    let calls: Vec<_> = (0..8)
        .map(|i| {
            let barrier = barrier.clone();
            rt.unblock(move || {
                // All eight must be running at once to get past this.
                barrier.wait();
                std::thread::sleep(Duration::from_millis(100));
                i
            })
        })
        .collect();
    let outputs: Vec<usize> = calls.into_iter().map(|c| rt.block_on(c).unwrap()).collect();
    let elapsed = started.elapsed();
    assert_eq!(outputs, (0..8).collect::<Vec<_>>());
    assert!(
        elapsed >= Duration::from_millis(100) && elapsed < Duration::from_secs(1),
        "8 overlapping 100 ms calls took {elapsed:?} (serial would be 800 ms)"
    );
    assert!(
        !queued_compute.is_finished(),
        "the compute pool was not saturated"
    );

    drop(release);
    for hog in hogs {
        rt.block_on(hog).unwrap();
    }
    rt.block_on(queued_compute).unwrap();
}

#[test]
fn a_burst_of_64_blocking_sleeps_does_not_hold_up_compute() {
    let rt = rt("bst");
    let kernel = || (0..2_000_000u64).fold(0u64, |a, x| a.wrapping_add(x * x));
    let time_compute = |rt: &Runtime| {
        let started = Instant::now();
        rt.block_on(rt.spawn_blocking(kernel)).unwrap();
        started.elapsed()
    };
    let baseline = time_compute(&rt);

    let release = Arc::new(AtomicBool::new(false));
    let sleeping = Arc::new(AtomicUsize::new(0));
    let burst: Vec<_> = (0..64)
        .map(|_| {
            let (release, sleeping) = (release.clone(), sleeping.clone());
            rt.unblock(move || {
                sleeping.fetch_add(1, Ordering::SeqCst);
                while !release.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
        })
        .collect();
    eventually("the 64 blocking calls are all running", || {
        sleeping.load(Ordering::SeqCst) == 64
    });
    let during = time_compute(&rt);
    release.store(true, Ordering::SeqCst);
    for call in burst {
        rt.block_on(call).unwrap();
    }
    // Had the burst shared the compute pool, the kernel would wait for the release (forever
    // here). Generous bound: a loaded machine may be slow, but not by a second.
    assert!(
        during < baseline + Duration::from_secs(1),
        "compute took {during:?} during the burst vs {baseline:?} before it"
    );
    assert_eq!(threads_named("bst-io-").len(), 64);
}

#[test]
fn lane_threads_start_lazily_and_exit_after_the_keep_alive() {
    let rt = Builder::new()
        .worker_threads(1)
        .compute_threads(1)
        .thread_name("lzy")
        .io_thread_keep_alive(Duration::from_millis(150))
        .build()
        .unwrap();
    assert!(
        threads_named("lzy-io-").is_empty(),
        "no lane thread at startup"
    );
    assert_eq!(rt.metrics().io_threads(), 0);

    // Sequential calls reuse one thread.
    for _ in 0..5 {
        rt.block_on(rt.unblock(|| ())).unwrap();
    }
    assert_eq!(threads_named("lzy-io-"), ["lzy-io-0"]);

    // Three calls that wait for each other need three threads, named in order.
    let barrier = Arc::new(Barrier::new(3));
    let calls: Vec<_> = (0..3)
        .map(|_| {
            let barrier = barrier.clone();
            rt.unblock(move || {
                barrier.wait();
            })
        })
        .collect();
    for call in calls {
        rt.block_on(call).unwrap();
    }
    let names = threads_named("lzy-io-");
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(names.iter().all(|n| n.starts_with("lzy-io-")));
    let metrics = rt.metrics();
    assert_eq!(metrics.io_threads(), 3);
    assert_eq!(metrics.io_queue_depth(), 0);

    eventually("idle lane threads exit", || {
        threads_named("lzy-io-").is_empty()
    });
    assert_eq!(metrics.io_threads(), 0);
    // The runtime's own threads are still there.
    assert_eq!(threads_named("lzy-worker-").len(), 1);
}

#[test]
fn max_io_threads_bounds_concurrency_exactly() {
    let rt = Builder::new()
        .worker_threads(2)
        .compute_threads(1)
        .thread_name("cap")
        .max_io_threads(2)
        .build()
        .unwrap();
    let current = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let names = Arc::new(Mutex::new(std::collections::BTreeSet::new()));
    let calls: Vec<_> = (0..6)
        .map(|_| {
            let (current, peak, names) = (current.clone(), peak.clone(), names.clone());
            rt.unblock(move || {
                let now = current.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                let name = std::thread::current().name().unwrap().to_string();
                names.lock().unwrap().insert(name);
                std::thread::sleep(Duration::from_millis(50));
                current.fetch_sub(1, Ordering::SeqCst);
            })
        })
        .collect();
    for call in calls {
        rt.block_on(call).unwrap();
    }
    assert_eq!(
        peak.load(Ordering::SeqCst),
        2,
        "at most (and here exactly) 2 at once"
    );
    let names: Vec<_> = names.lock().unwrap().iter().cloned().collect();
    assert!(names.len() <= 2, "{names:?}");
    assert!(names.iter().all(|n| n.starts_with("cap-io-")), "{names:?}");
}

#[test]
fn max_io_threads_zero_is_an_invalid_input_error() {
    let err = Builder::new().max_io_threads(0).build().unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("max_io_threads"), "{err}");
}

#[test]
fn a_panic_becomes_a_panic_join_error() {
    let rt = rt("pan");
    let err = rt
        .block_on(rt.unblock(|| -> u8 { panic!("lane exploded") }))
        .unwrap_err();
    assert!(err.is_panic());
    assert!(err.to_string().contains("lane exploded"), "{err}");
    // The lane thread survived and keeps working.
    assert_eq!(rt.block_on(rt.unblock(|| 3)).unwrap(), 3);
}

#[test]
fn abort_before_start_means_it_never_runs() {
    let rt = Builder::new()
        .worker_threads(1)
        .compute_threads(1)
        .max_io_threads(1)
        .build()
        .unwrap();
    let (release, wait) = mpsc::channel::<()>();
    let (started_tx, started) = mpsc::channel::<()>();
    let blocker = rt.unblock(move || {
        started_tx.send(()).unwrap();
        wait.recv().unwrap();
    });
    started.recv().unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    let flag = ran.clone();
    let queued = rt.unblock(move || flag.store(true, Ordering::SeqCst));
    queued.abort();
    release.send(()).unwrap();
    rt.block_on(blocker).unwrap();
    let err = rt.block_on(queued).unwrap_err();
    assert!(err.is_cancelled());
    // Give the lane a chance to (wrongly) run it.
    rt.block_on(rt.unblock(|| ())).unwrap();
    assert!(!ran.load(Ordering::SeqCst), "an aborted call ran");
}

#[test]
fn shutdown_waits_for_a_running_call_and_cancels_queued_ones() {
    let rt = Builder::new()
        .worker_threads(1)
        .compute_threads(1)
        .max_io_threads(1)
        .build()
        .unwrap();
    let finished = Arc::new(AtomicBool::new(false));
    let (started_tx, started) = mpsc::channel::<()>();
    let flag = finished.clone();
    let running = rt.unblock(move || {
        started_tx.send(()).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        flag.store(true, Ordering::SeqCst);
    });
    started.recv().unwrap();
    let queued_ran = Arc::new(AtomicBool::new(false));
    let flag = queued_ran.clone();
    let queued = rt.unblock(move || flag.store(true, Ordering::SeqCst));

    drop(rt); // no timeout: waits for the running call
    assert!(
        finished.load(Ordering::SeqCst),
        "drop returned before the running call ended"
    );
    assert!(
        !queued_ran.load(Ordering::SeqCst),
        "a queued call ran after shutdown began"
    );
    let other = Runtime::new().unwrap();
    assert!(other.block_on(queued).unwrap_err().is_cancelled());
    assert!(
        other.block_on(running).is_ok(),
        "the running call's result is delivered"
    );
}

#[test]
fn shutdown_timeout_lets_a_straggler_go() {
    let rt = Builder::new()
        .worker_threads(1)
        .compute_threads(1)
        .build()
        .unwrap();
    let (started_tx, started) = mpsc::channel::<()>();
    let (release, wait) = mpsc::channel::<()>();
    let (done_tx, done) = mpsc::channel::<()>();
    let _detached = rt.unblock(move || {
        started_tx.send(()).unwrap();
        let _ = wait.recv();
        done_tx.send(()).unwrap();
    });
    started.recv().unwrap();
    let t = Instant::now();
    rt.shutdown_timeout(Duration::from_millis(100));
    let waited = t.elapsed();
    assert!(
        waited >= Duration::from_millis(100),
        "returned after {waited:?}"
    );
    assert!(waited < Duration::from_secs(5), "waited {waited:?}");
    // The straggler still finishes on its own (and its thread exits).
    release.send(()).unwrap();
    done.recv_timeout(Duration::from_secs(10)).unwrap();
}

#[test]
fn the_runtime_context_is_there_inside() {
    let rt = rt("ctx");
    let (spawned, name) = rt
        .block_on(rt.unblock(|| {
            let task = spindle::spawn(async { 21 * 2 });
            let handle = Handle::current();
            let out = handle.block_on(task).unwrap();
            (out, std::thread::current().name().unwrap().to_string())
        }))
        .unwrap();
    assert_eq!(spawned, 42);
    assert!(name.starts_with("ctx-io-"), "{name}");
    // spawn_blocking from the lane goes to the compute pool.
    let name = rt
        .block_on(rt.unblock(|| {
            Handle::current().block_on(spindle::spawn_blocking(|| {
                std::thread::current().name().unwrap().to_string()
            }))
        }))
        .unwrap()
        .unwrap();
    assert!(name.starts_with("ctx-compute-"), "{name}");
}

#[test]
fn crate_root_handle_and_runtime_forms_agree() {
    let rt = rt("frm");
    let from_root = rt.block_on(async { spindle::unblock(|| 1).await.unwrap() });
    let from_handle = rt.block_on(rt.handle().unblock(|| 2)).unwrap();
    let from_runtime = rt.block_on(rt.unblock(|| 3)).unwrap();
    assert_eq!((from_root, from_handle, from_runtime), (1, 2, 3));
}

#[test]
fn outside_a_runtime_it_panics_naming_the_fix() {
    let payload = catch_unwind(AssertUnwindSafe(|| spindle::unblock(|| ()))).unwrap_err();
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(message.contains("spindle::unblock"), "{message}");
    assert!(message.contains("outside a spindle runtime"), "{message}");
    assert!(message.contains("spindle::run"), "{message}");
}

#[test]
fn after_the_runtime_is_gone_a_call_is_cancelled_and_never_runs() {
    let rt = rt("gone");
    let handle = rt.handle().clone();
    drop(rt);
    let ran = Arc::new(AtomicBool::new(false));
    let flag = ran.clone();
    let call = handle.unblock(move || flag.store(true, Ordering::SeqCst));
    let err = Runtime::new().unwrap().block_on(call).unwrap_err();
    assert!(err.is_cancelled());
    assert!(!ran.load(Ordering::SeqCst));
}

#[test]
fn dropping_the_runtime_inside_its_own_lane_does_not_deadlock() {
    let rt = rt("own");
    let handle = rt.handle().clone();
    let (done_tx, done) = mpsc::channel::<()>();
    // Another lane thread is busy for a moment: the drop waits for it, not for itself.
    let (busy_tx, busy) = mpsc::channel::<()>();
    drop(rt.unblock(move || {
        busy_tx.send(()).unwrap();
        std::thread::sleep(Duration::from_millis(100));
    }));
    busy.recv().unwrap();
    drop(handle.unblock(move || {
        drop(rt);
        done_tx.send(()).unwrap();
    }));
    done.recv_timeout(Duration::from_secs(20))
        .expect("the runtime's drop on its own lane thread hung");
    eventually("its lane threads are gone", || {
        threads_named("own-").is_empty()
    });
}
