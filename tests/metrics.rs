//! `RuntimeMetrics`: exact counter values for known workloads, monotonic counters under load,
//! and the documented panic for a worker index out of range.
//!
//! Counters are runtime-wide, so every test builds its own runtime (or reads deltas around a
//! workload it fully controls). Timing is never asserted beyond generous lower bounds that
//! follow from the workload itself (a poll that spins 100 ms keeps its worker busy 100 ms).

use spindle::net::{TcpListener, TcpStream};
use spindle::runtime::{Builder, Handle, Runtime, RuntimeMetrics};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

fn rt(workers: usize, compute: usize) -> Runtime {
    Builder::new()
        .worker_threads(workers)
        .compute_threads(compute)
        .build()
        .unwrap()
}

/// Waits (up to 10 s) until `f` holds; the metric under test must get there by itself.
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn total_polls(m: &RuntimeMetrics) -> u64 {
    (0..m.num_workers()).map(|i| m.worker_poll_count(i)).sum()
}

fn spin(for_: Duration) {
    let start = Instant::now();
    while start.elapsed() < for_ {
        std::hint::spin_loop();
    }
}

// ---------------------------------------------------------------------------------------------
// Spawns and live tasks

#[spindle::test(worker_threads = 2, compute_threads = 2)]
async fn spawned_tasks_count_grows_by_exactly_the_number_of_spawns() {
    let m = Handle::current().metrics();

    let before = m.spawned_tasks_count();
    let handles: Vec<_> = (0..100u32)
        .map(|i| spindle::spawn(async move { i }))
        .collect();
    assert_eq!(m.spawned_tasks_count() - before, 100, "counted at spawn");
    for h in handles {
        h.await.unwrap();
    }
    assert_eq!(m.spawned_tasks_count() - before, 100);

    // Spawns from inside tasks (on the workers' own counters) count the same.
    let before = m.spawned_tasks_count();
    spindle::spawn(async {
        let inner: Vec<_> = (0..10).map(|_| spindle::spawn(async {})).collect();
        for h in inner {
            h.await.unwrap();
        }
    })
    .await
    .unwrap();
    assert_eq!(m.spawned_tasks_count() - before, 11);

    let before = m.spawned_tasks_count();
    for i in 0..5 {
        assert_eq!(spindle::spawn_blocking(move || i).await.unwrap(), i);
    }
    assert_eq!(m.spawned_tasks_count() - before, 5, "spawn_blocking");

    let before = m.spawned_tasks_count();
    let mut set = spindle::task::JoinSet::new();
    for i in 0..7u32 {
        set.spawn(async move { i });
    }
    set.spawn_blocking(|| 7);
    let mut out = set.join_all().await;
    out.sort_unstable();
    assert_eq!(out, (0..8).collect::<Vec<_>>());
    assert_eq!(m.spawned_tasks_count() - before, 8, "JoinSet members");

    let before = m.spawned_tasks_count();
    let total = spindle::task_group(|tg| async move {
        let a = tg.spawn(async { Ok::<_, std::io::Error>(1) });
        let b = tg.spawn(async { Ok(2) });
        let c = tg.spawn_blocking(|| Ok(3));
        Ok(a.await.unwrap() + b.await.unwrap() + c.await.unwrap())
    })
    .await
    .unwrap();
    assert_eq!(total, 6);
    assert_eq!(m.spawned_tasks_count() - before, 3, "task-group members");

    let before = m.spawned_tasks_count();
    spindle::task::Builder::new()
        .name("named")
        .spawn(async {})
        .unwrap()
        .await
        .unwrap();
    assert_eq!(m.spawned_tasks_count() - before, 1, "task::Builder");
}

#[spindle::test(worker_threads = 2, compute_threads = 2)]
async fn num_alive_tasks_goes_back_to_the_baseline() {
    let m = Handle::current().metrics();
    let base = m.num_alive_tasks();
    let gate = Arc::new(spindle::sync::Barrier::new(51));
    let handles: Vec<_> = (0..50)
        .map(|_| {
            let gate = gate.clone();
            spindle::spawn(async move {
                gate.wait().await;
            })
        })
        .collect();
    assert_eq!(m.num_alive_tasks(), base + 50);
    let blocking = spindle::spawn_blocking(|| std::thread::sleep(Duration::from_millis(50)));
    assert_eq!(m.num_alive_tasks(), base + 51);
    gate.wait().await;
    for h in handles {
        h.await.unwrap();
    }
    blocking.await.unwrap();
    // A task is counted as finished before its JoinHandle can see it: exact right away.
    assert_eq!(m.num_alive_tasks(), base);

    // Aborted tasks finish too.
    let pending: Vec<_> = (0..20)
        .map(|_| spindle::spawn(std::future::pending::<()>()))
        .collect();
    assert_eq!(m.num_alive_tasks(), base + 20);
    for h in &pending {
        h.abort();
    }
    for h in pending {
        assert!(h.await.unwrap_err().is_cancelled());
    }
    assert_eq!(m.num_alive_tasks(), base);
}

// ---------------------------------------------------------------------------------------------
// Per-worker counters

/// One task on one worker spawns a burst of CPU-bound tasks: they all land on that worker's
/// queue, so the other worker can only get work by stealing it. Both workers parked while the
/// runtime was idle before the burst.
#[test]
fn steals_and_parks_on_an_unbalanced_load() {
    let rt = rt(2, 1);
    let m = rt.metrics();
    eventually("both workers park once", || {
        m.worker_park_count(0) > 0 && m.worker_park_count(1) > 0
    });
    let steals_before: u64 = (0..2).map(|i| m.worker_steal_count(i)).sum();
    let parks_before: u64 = (0..2).map(|i| m.worker_park_count(i)).sum();
    let ran_on = rt.block_on(async {
        spindle::spawn(async {
            let handles: Vec<_> = (0..200)
                .map(|_| {
                    spindle::spawn(async {
                        spin(Duration::from_millis(1));
                        std::thread::current().name().unwrap().to_string()
                    })
                })
                .collect();
            let mut names = Vec::new();
            for h in handles {
                names.push(h.await.unwrap());
            }
            names
        })
        .await
        .unwrap()
    });
    let steals: u64 = (0..2).map(|i| m.worker_steal_count(i)).sum::<u64>() - steals_before;
    assert!(steals > 0, "no steals; tasks ran on {:?}", ran_on);
    let threads: std::collections::HashSet<_> = ran_on.iter().collect();
    assert_eq!(threads.len(), 2, "both workers ran some of the burst");
    // The burst woke both workers; idle again, they park again.
    eventually("the workers park after the burst", || {
        (0..2).map(|i| m.worker_park_count(i)).sum::<u64>() >= parks_before + 2
    });
}

/// Tasks that finish in their first poll are polled exactly once each.
#[test]
fn worker_poll_count_grows_by_exactly_one_per_single_poll_task() {
    let rt = rt(2, 1);
    let m = rt.metrics();
    let before: Vec<u64> = (0..2).map(|i| m.worker_poll_count(i)).collect();
    let handles: Vec<_> = (0..500u32).map(|i| rt.spawn(async move { i })).collect();
    rt.block_on(async {
        for h in handles {
            h.await.unwrap();
        }
    });
    let after: Vec<u64> = (0..2).map(|i| m.worker_poll_count(i)).collect();
    for i in 0..2 {
        assert!(after[i] >= before[i], "worker {i} poll count went down");
    }
    assert_eq!(after.iter().sum::<u64>() - before.iter().sum::<u64>(), 500);

    // A task that yields 9 times is polled 10 times.
    let before = total_polls(&m);
    rt.block_on(rt.spawn(async {
        for _ in 0..9 {
            spindle::yield_now().await;
        }
    }))
    .unwrap();
    assert_eq!(total_polls(&m) - before, 10);
}

#[test]
fn worker_total_busy_duration_grows_while_a_worker_is_busy() {
    let rt = rt(1, 1);
    let m = rt.metrics();
    let started = Arc::new(Barrier::new(2));
    let stop = Arc::new(AtomicBool::new(false));
    let (s, st) = (started.clone(), stop.clone());
    let task = rt.spawn(async move {
        s.wait();
        while !st.load(Ordering::SeqCst) {
            std::hint::spin_loop();
        }
    });
    started.wait();
    // The worker is inside one poll from here until `stop`: unparked the whole time.
    let first = m.worker_total_busy_duration(0);
    std::thread::sleep(Duration::from_millis(100));
    let second = m.worker_total_busy_duration(0);
    stop.store(true, Ordering::SeqCst);
    rt.block_on(task).unwrap();
    assert!(
        second - first >= Duration::from_millis(100),
        "busy time grew by {:?} during a 100 ms poll",
        second - first
    );
    // Once the worker parked, the figure is frozen.
    eventually("the worker parks", || {
        let a = m.worker_total_busy_duration(0);
        std::thread::sleep(Duration::from_millis(20));
        a == m.worker_total_busy_duration(0)
    });
    assert!(m.worker_total_busy_duration(0) >= second);
}

/// 128 units per poll: a loop of `128 * 10 + 1` budget units is forced to yield exactly 10
/// times (after units 128, 256, ..., 1280).
#[test]
fn budget_forced_yield_count_after_a_known_loop() {
    let rt = rt(1, 1);
    let m = rt.metrics();
    let before = m.budget_forced_yield_count();
    rt.block_on(rt.spawn(async {
        for _ in 0..128 * 10 + 1 {
            spindle::task::consume_budget().await;
        }
    }))
    .unwrap();
    assert_eq!(m.budget_forced_yield_count() - before, 10);

    // `unconstrained` opts out: no forced yield.
    let before = m.budget_forced_yield_count();
    rt.block_on(rt.spawn(spindle::task::unconstrained(async {
        for _ in 0..1_000 {
            spindle::task::consume_budget().await;
        }
    })))
    .unwrap();
    assert_eq!(m.budget_forced_yield_count(), before);
}

// ---------------------------------------------------------------------------------------------
// Compute pool, timers, I/O sources

#[test]
fn compute_active_jobs_and_queue_depth_while_jobs_run() {
    let rt = rt(1, 2);
    let m = rt.metrics();
    assert_eq!(m.compute_threads(), 2);
    assert_eq!((m.compute_active_jobs(), m.compute_queue_depth()), (0, 0));
    let entered = Arc::new(Barrier::new(3));
    let release = Arc::new(Barrier::new(3));
    let jobs: Vec<_> = (0..2)
        .map(|_| {
            let (entered, release) = (entered.clone(), release.clone());
            rt.spawn_blocking(move || {
                entered.wait();
                release.wait();
            })
        })
        .collect();
    entered.wait();
    // Both pool threads are inside a job; a third job has to queue.
    assert_eq!(m.compute_active_jobs(), 2);
    assert_eq!(m.compute_queue_depth(), 0);
    let third = rt.spawn_blocking(|| 3);
    assert_eq!(m.compute_queue_depth(), 1);
    assert_eq!(m.compute_active_jobs(), 2);
    release.wait();
    rt.block_on(async {
        for job in jobs {
            job.await.unwrap();
        }
        assert_eq!(third.await.unwrap(), 3);
    });
    assert_eq!(m.compute_queue_depth(), 0);
    // A job's JoinHandle is woken from inside the job, just before the pool thread leaves it.
    eventually("no compute job running", || m.compute_active_jobs() == 0);
}

#[test]
fn timers_pending_equals_the_number_of_pending_sleeps() {
    let rt = rt(2, 1);
    let m = rt.metrics();
    let base = m.timers_pending();
    rt.block_on(async {
        // Registered on their first poll.
        let mut sleeps: Vec<_> = (0..25u64)
            .map(|i| Box::pin(spindle::time::sleep(Duration::from_secs(60 + i))))
            .collect();
        assert_eq!(
            m.timers_pending(),
            base,
            "not registered before their first poll"
        );
        for sleep in &mut sleeps {
            assert!(
                futures_lite::future::poll_once(sleep.as_mut())
                    .await
                    .is_none()
            );
        }
        assert_eq!(m.timers_pending(), base + 25);
        sleeps.truncate(10);
        assert_eq!(
            m.timers_pending(),
            base + 10,
            "a dropped sleep is deregistered"
        );
        drop(sleeps);
        assert_eq!(m.timers_pending(), base);

        // Sleeps in tasks on the workers (their own timer shards) count the same.
        let tasks: Vec<_> = (0..30)
            .map(|_| spindle::spawn(spindle::time::sleep(Duration::from_secs(60))))
            .collect();
        let deadline = Instant::now() + Duration::from_secs(10);
        while m.timers_pending() < base + 30 {
            assert!(Instant::now() < deadline, "sleeps never registered");
            spindle::time::sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(m.timers_pending(), base + 30);
        for t in &tasks {
            t.abort();
        }
        for t in tasks {
            assert!(t.await.unwrap_err().is_cancelled());
        }
        assert_eq!(m.timers_pending(), base);

        // A sleep that fires leaves the count.
        spindle::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(m.timers_pending(), base);
    });
}

#[spindle::test(worker_threads = 2)]
async fn io_sources_counts_sockets() {
    let m = Handle::current().metrics();
    let base = m.io_sources();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    assert_eq!(m.io_sources(), base + 1);
    let addr = listener.local_addr().unwrap();
    let (client, accepted) =
        futures_lite::future::zip(TcpStream::connect(addr), listener.accept()).await;
    let (client, (server, _)) = (client.unwrap(), accepted.unwrap());
    assert_eq!(m.io_sources(), base + 3);
    let udp = spindle::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    assert_eq!(m.io_sources(), base + 4);
    drop((client, server));
    assert_eq!(m.io_sources(), base + 2);
    drop((listener, udp));
    assert_eq!(m.io_sources(), base);
}

// ---------------------------------------------------------------------------------------------
// Monotonic under load, out-of-range indices

/// A sampler thread reads every counter in a tight loop while the runtime spawns, yields,
/// sleeps, steals and parks; no counter may ever go down.
#[test]
fn every_counter_is_monotonic_under_load() {
    let rt = rt(2, 2);
    let m = rt.metrics();
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (m, done) = (m.clone(), done.clone());
        std::thread::spawn(move || {
            let read = |m: &RuntimeMetrics| {
                let mut v = vec![m.spawned_tasks_count(), m.budget_forced_yield_count()];
                for i in 0..m.num_workers() {
                    v.push(m.worker_poll_count(i));
                    v.push(m.worker_steal_count(i));
                    v.push(m.worker_park_count(i));
                    v.push(m.worker_total_busy_duration(i).as_nanos() as u64);
                }
                v
            };
            let names = [
                "spawned", "forced", "polls0", "steals0", "parks0", "busy0", "polls1", "steals1",
                "parks1", "busy1",
            ];
            let mut last = read(&m);
            let mut samples = 0u64;
            while !done.load(Ordering::SeqCst) {
                let now = read(&m);
                for (i, (a, b)) in last.iter().zip(&now).enumerate() {
                    assert!(b >= a, "{} went down: {a} -> {b}", names[i]);
                }
                last = now;
                samples += 1;
            }
            (samples, last)
        })
    };
    rt.block_on(async {
        for round in 0..20u64 {
            let handles: Vec<_> = (0..200u64)
                .map(|i| {
                    spindle::spawn(async move {
                        match i % 4 {
                            0 => spindle::yield_now().await,
                            1 => spindle::time::sleep(Duration::from_micros(200)).await,
                            2 => {
                                for _ in 0..300 {
                                    spindle::task::consume_budget().await;
                                }
                            }
                            _ => spin(Duration::from_micros(50)),
                        }
                        i
                    })
                })
                .collect();
            for h in handles {
                h.await.unwrap();
            }
            if round % 5 == 0 {
                spindle::spawn_blocking(|| ()).await.unwrap();
                // Let the workers park now and then.
                spindle::time::sleep(Duration::from_millis(3)).await;
            }
        }
    });
    done.store(true, Ordering::SeqCst);
    let (samples, last) = sampler.join().unwrap();
    assert!(samples > 0);
    // The sampler's last read may predate the end of the workload (a preempted sampler thread
    // sees `done` only later), so the totals are read again now, and must not be below it.
    let spawned = m.spawned_tasks_count();
    let forced = m.budget_forced_yield_count();
    assert!(
        spawned >= last[0] && forced >= last[1],
        "counters went down at the end"
    );
    assert!(spawned >= 20 * 200 + 4, "spawned count {spawned}");
    assert!(forced > 0, "the consume_budget loops were forced to yield");
}

#[test]
fn worker_metrics_with_an_index_out_of_range_panic_with_the_documented_message() {
    let rt = rt(2, 1);
    let m = rt.metrics();
    let expected = "worker index 2 out of range: this runtime has 2 workers (see `num_workers()`)";
    type Call = fn(&RuntimeMetrics);
    let calls: [(&str, Call); 5] = [
        ("worker_local_queue_depth", |m| {
            let _ = m.worker_local_queue_depth(2);
        }),
        ("worker_poll_count", |m| {
            let _ = m.worker_poll_count(2);
        }),
        ("worker_steal_count", |m| {
            let _ = m.worker_steal_count(2);
        }),
        ("worker_park_count", |m| {
            let _ = m.worker_park_count(2);
        }),
        ("worker_total_busy_duration", |m| {
            let _ = m.worker_total_busy_duration(2);
        }),
    ];
    for (name, call) in calls {
        let err =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| call(&m))).expect_err(name);
        let message = err
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap();
        assert_eq!(message, expected, "{name}");
    }
    // In range: fine, and the runtime is unharmed.
    assert_eq!(m.worker_local_queue_depth(1), 0);
    assert_eq!(rt.block_on(rt.spawn(async { 1 })).unwrap(), 1);
}

#[test]
fn queue_depth_gauges_see_queued_tasks() {
    let rt = rt(1, 1);
    let m = rt.metrics();
    let started = Arc::new(Barrier::new(2));
    let release = Arc::new(Barrier::new(2));
    let (s, r) = (started.clone(), release.clone());
    // The only worker is held inside a poll: what is spawned meanwhile waits in queues.
    let blocker = rt.spawn(async move {
        s.wait();
        r.wait();
    });
    started.wait();
    // From outside the workers: the global queue.
    let outside: Vec<_> = (0..5).map(|_| rt.spawn(async {})).collect();
    assert_eq!(m.global_queue_depth(), 5);
    assert_eq!(m.worker_local_queue_depth(0), 0);
    release.wait();
    rt.block_on(async {
        blocker.await.unwrap();
        for h in outside {
            h.await.unwrap();
        }
    });
    assert_eq!(m.global_queue_depth(), 0);

    // From inside a task on the worker: its LIFO slot and local queue.
    let (started, release) = (Arc::new(Barrier::new(2)), Arc::new(Barrier::new(2)));
    let (s, r) = (started.clone(), release.clone());
    let spawner = rt.spawn(async move {
        let inner: Vec<_> = (0..4).map(|_| spindle::spawn(async {})).collect();
        s.wait();
        r.wait();
        for h in inner {
            h.await.unwrap();
        }
    });
    started.wait();
    assert_eq!(m.worker_local_queue_depth(0), 4);
    assert_eq!(m.global_queue_depth(), 0);
    release.wait();
    rt.block_on(spawner).unwrap();
    assert_eq!(m.worker_local_queue_depth(0), 0);
}
