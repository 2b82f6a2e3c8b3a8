//! Integration tests of `spindle::sync` through the public API, on real runtimes.
//!
//! Counts and orderings are exact; timing bounds are generous (a loaded shared 2-core
//! machine). The state machines are also tested deterministically, by hand-polling, in
//! `src/sync/tests.rs`. The budget cases build their own one-worker runtime; everything else
//! runs under `#[spindle::test]`.

use futures_lite::StreamExt;
use spindle::runtime::Builder;
use spindle::sync::{
    Barrier, Mutex, Notify, OnceCell, RwLock, Semaphore, broadcast, mpsc, oneshot, watch,
};
use spindle::time::{sleep, timeout};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

// ===== mpsc ==================================================================================

#[spindle::test(worker_threads = 2)]
async fn mpsc_many_producers_many_consumers_deliver_each_message_exactly_once() {
    const PRODUCERS: u64 = 4;
    const PER: u64 = 5_000;
    let (count, sum) = async {
        let (tx, rx) = mpsc::bounded::<u64>(64);
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let tx = tx.clone();
                spindle::spawn(async move {
                    for i in 0..PER {
                        tx.send(p * PER + i).await.unwrap();
                    }
                })
            })
            .collect();
        drop(tx);
        let consumers: Vec<_> = (0..3)
            .map(|_| {
                let rx = rx.clone();
                spindle::spawn(async move {
                    let (mut count, mut sum) = (0u64, 0u64);
                    while let Ok(v) = rx.recv().await {
                        count += 1;
                        sum += v;
                    }
                    (count, sum)
                })
            })
            .collect();
        drop(rx);
        for p in producers {
            p.await.unwrap();
        }
        let (mut count, mut sum) = (0, 0);
        for c in consumers {
            let (n, s) = c.await.unwrap();
            count += n;
            sum += s;
        }
        (count, sum)
    }
    .await;
    let n = PRODUCERS * PER;
    assert_eq!(count, n);
    assert_eq!(sum, n * (n - 1) / 2);
}

#[spindle::test]
async fn mpsc_per_producer_order_is_fifo() {
    let (tx, rx) = mpsc::unbounded::<(u32, u32)>();
    let producers: Vec<_> = (0..3)
        .map(|p| {
            let tx = tx.clone();
            spindle::spawn(async move {
                for i in 0..1_000 {
                    tx.send((p, i)).await.unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let mut next = [0u32; 3];
    while let Ok((p, i)) = rx.recv().await {
        assert_eq!(i, next[p as usize], "producer {p} out of order");
        next[p as usize] += 1;
    }
    assert_eq!(next, [1_000; 3]);
    for p in producers {
        p.await.unwrap();
    }
}

#[spindle::test]
async fn mpsc_bounded_send_waits_for_room() {
    let (tx, rx) = mpsc::bounded::<u32>(2);
    tx.send(1).await.unwrap();
    tx.send(2).await.unwrap();
    assert!(tx.is_full());
    let sent = Arc::new(AtomicBool::new(false));
    let blocked = spindle::spawn({
        let (tx, sent) = (tx.clone(), sent.clone());
        async move {
            tx.send(3).await.unwrap();
            sent.store(true, Ordering::SeqCst);
        }
    });
    sleep(ms(30)).await;
    assert!(
        !sent.load(Ordering::SeqCst),
        "send completed on a full channel"
    );
    assert_eq!(rx.len(), 2);
    assert_eq!(rx.recv().await, Ok(1)); // makes room
    blocked.await.unwrap();
    assert!(sent.load(Ordering::SeqCst));
    assert_eq!(rx.recv().await, Ok(2));
    assert_eq!(rx.recv().await, Ok(3));
    // A send that timed out (cancelled while waiting) did not send.
    tx.send(4).await.unwrap();
    tx.send(5).await.unwrap();
    assert!(timeout(ms(10), tx.send(6)).await.is_err());
    assert_eq!(rx.try_recv(), Ok(4));
    assert_eq!(rx.try_recv(), Ok(5));
    assert_eq!(rx.try_recv(), Err(mpsc::TryRecvError::Empty));
}

#[spindle::test]
async fn mpsc_close_from_either_end() {
    // Receiver closes: queued messages still arrive, senders fail at once, even waiting ones.
    let (tx, rx) = mpsc::bounded::<u32>(1);
    tx.send(1).await.unwrap();
    let waiting = spindle::spawn({
        let tx = tx.clone();
        async move { tx.send(2).await }
    });
    sleep(ms(10)).await;
    assert!(rx.close());
    assert!(!rx.close(), "already closed");
    assert_eq!(waiting.await.unwrap().unwrap_err().0, 2);
    assert!(tx.is_closed());
    assert_eq!(tx.try_send(3), Err(mpsc::TrySendError::Closed(3)));
    assert_eq!(rx.recv().await, Ok(1));
    assert_eq!(rx.recv().await, Err(mpsc::RecvError));

    // Sender closes: a waiting receiver wakes with an error.
    let (tx, rx) = mpsc::unbounded::<u32>();
    let receiver = spindle::spawn(async move { rx.recv().await });
    sleep(ms(10)).await;
    let tx2 = tx.clone();
    assert!(tx.close());
    assert_eq!(receiver.await.unwrap(), Err(mpsc::RecvError));
    assert!(tx2.send(1).await.is_err());

    // Dropping every sender closes the channel too; every receiver likewise.
    let (tx, rx) = mpsc::unbounded::<u32>();
    let rx2 = rx.clone();
    assert_eq!((tx.sender_count(), tx.receiver_count()), (1, 2));
    drop(rx);
    assert!(!tx.is_closed(), "one receiver is left");
    drop(rx2);
    assert!(tx.is_closed());
    tx.closed().await;
    let (tx, rx) = mpsc::unbounded::<u32>();
    tx.try_send(7).unwrap();
    drop(tx);
    assert_eq!(rx.recv().await, Ok(7));
    assert_eq!(rx.recv().await, Err(mpsc::RecvError));
}

#[spindle::test]
async fn mpsc_receiver_is_an_unpin_stream() {
    fn assert_unpin<T: Unpin>(_: &T) {}
    async {
        let (tx, mut rx) = mpsc::bounded::<u32>(4);
        assert_unpin(&rx);
        let producer = spindle::spawn(async move {
            for i in 0..100 {
                tx.send(i).await.unwrap();
            }
        });
        let first_ten: Vec<u32> = (&mut rx).take(10).collect().await;
        assert_eq!(first_ten, (0..10).collect::<Vec<_>>());
        let rest: Vec<u32> = rx.collect().await; // ends when the producer is done
        assert_eq!(rest, (10..100).collect::<Vec<_>>());
        producer.await.unwrap();
    }
    .await;
}

#[spindle::test]
async fn mpsc_blocking_ends_work_from_plain_threads() {
    let (tx, rx) = mpsc::bounded::<u32>(1);
    let (back_tx, back_rx) = mpsc::unbounded::<u32>();
    let worker = std::thread::spawn(move || {
        let mut total = 0;
        while let Ok(v) = rx.recv_blocking() {
            total += v;
            back_tx.send_blocking(v * 10).unwrap();
        }
        total
    });
    for i in 1..=10 {
        tx.send(i).await.unwrap();
        assert_eq!(back_rx.recv().await, Ok(i * 10));
    }
    drop(tx);
    assert_eq!(worker.join().unwrap(), 55);
}

#[spindle::test]
#[should_panic(
    expected = "mpsc::Receiver::recv_blocking was called on a thread that runs spindle tasks"
)]
async fn mpsc_recv_blocking_inside_the_runtime_panics_with_the_fix() {
    let (_tx, rx) = mpsc::unbounded::<u32>();
    let _ = rx.recv_blocking();
}

// ===== oneshot ===============================================================================

#[spindle::test]
async fn oneshot_drop_semantics() {
    // Sender dropped without sending: the receiver fails.
    let (tx, rx) = oneshot::channel::<u32>();
    spindle::spawn(async move { drop(tx) });
    let err = rx.await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "the oneshot sender was dropped without sending"
    );

    // Receiver dropped: send fails and hands the value back; closed() completes.
    let (mut tx, rx) = oneshot::channel::<String>();
    let closer = spindle::spawn(async move {
        sleep(ms(5)).await;
        drop(rx);
    });
    tx.closed().await;
    assert!(tx.is_closed());
    assert_eq!(tx.send("unread".into()).unwrap_err(), "unread");
    closer.await.unwrap();

    // A sent value that is never received is dropped exactly once.
    let drops = Arc::new(AtomicUsize::new(0));
    struct D(Arc<AtomicUsize>);
    impl Drop for D {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let (tx, rx) = oneshot::channel();
    assert!(tx.send(D(drops.clone())).is_ok());
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    drop(rx);
    assert_eq!(drops.load(Ordering::SeqCst), 1);

    // try_recv states, and a receive across tasks.
    let (tx, mut rx) = oneshot::channel();
    assert_eq!(rx.try_recv(), Err(oneshot::TryRecvError::Empty));
    let sender = spindle::spawn(async move {
        sleep(ms(5)).await;
        tx.send(42).unwrap();
    });
    assert_eq!((&mut rx).await, Ok(42));
    assert_eq!(rx.try_recv(), Err(oneshot::TryRecvError::Closed));
    sender.await.unwrap();
}

// ===== broadcast =============================================================================

#[spindle::test(worker_threads = 2)]
async fn broadcast_every_receiver_sees_every_message_in_order() {
    let (tx, rx) = broadcast::channel::<u32>(1_024);
    let receivers: Vec<_> = (0..4)
        .map(|i| {
            let mut rx = if i == 0 {
                rx.resubscribe()
            } else {
                tx.subscribe()
            };
            spindle::spawn(async move {
                let mut got = Vec::new();
                loop {
                    match rx.recv().await {
                        Ok(v) => got.push(v),
                        Err(broadcast::error::RecvError::Closed) => return got,
                        Err(e) => panic!("unexpected {e}"),
                    }
                }
            })
        })
        .collect();
    drop(rx);
    for i in 0..1_000 {
        assert_eq!(tx.send(i), Ok(4));
    }
    drop(tx);
    for r in receivers {
        assert_eq!(r.await.unwrap(), (0..1_000).collect::<Vec<_>>());
    }
}

#[spindle::test]
async fn broadcast_lag_is_reported_with_the_exact_count_then_recovers() {
    use broadcast::error::RecvError;
    let (tx, mut rx) = broadcast::channel::<u32>(8);
    for i in 0..20 {
        tx.send(i).unwrap();
    }
    assert_eq!(rx.len(), 20);
    assert_eq!(rx.recv().await, Err(RecvError::Lagged(12)));
    for i in 12..20 {
        assert_eq!(rx.recv().await, Ok(i));
    }
    // Caught up: waits for the next one.
    let next = spindle::spawn(async move {
        let v = rx.recv().await;
        (v, rx)
    });
    sleep(ms(5)).await;
    tx.send(20).unwrap();
    let (v, mut rx) = next.await.unwrap();
    assert_eq!(v, Ok(20));
    drop(tx);
    assert_eq!(rx.recv().await, Err(RecvError::Closed));
}

// ===== watch =================================================================================

#[spindle::test]
async fn watch_changed_after_the_sender_is_dropped() {
    let (tx, mut rx) = watch::channel(0u32);
    // The sender sends a last value and goes away while the receiver is waiting.
    let waiter = spindle::spawn(async move {
        let mut seen = Vec::new();
        while rx.changed().await.is_ok() {
            seen.push(*rx.borrow_and_update());
        }
        seen
    });
    sleep(ms(5)).await;
    tx.send(7).unwrap();
    drop(tx);
    // The last value before the drop is delivered, then the loop ends.
    assert_eq!(waiter.await.unwrap(), [7]);

    // Sender dropped with an unseen value: changed() is Ok once, then Err.
    let (tx, mut rx) = watch::channel("a");
    tx.send("b").unwrap();
    drop(tx);
    assert!(rx.changed().await.is_ok());
    assert_eq!(*rx.borrow(), "b");
    assert!(rx.changed().await.is_err());
    assert!(rx.changed().await.is_err(), "stays closed");
}

#[spindle::test(worker_threads = 2)]
async fn watch_receivers_see_the_latest_value_and_sender_closed_waits_for_them() {
    let (tx, rx) = watch::channel(0u64);
    let watchers: Vec<_> = (0..3)
        .map(|_| {
            let mut rx = rx.clone();
            spindle::spawn(async move {
                // Values only go up, and the final one is always seen.
                let mut last = 0;
                while rx.changed().await.is_ok() {
                    let v = *rx.borrow_and_update();
                    assert!(v >= last, "went back from {last} to {v}");
                    last = v;
                }
                last
            })
        })
        .collect();
    drop(rx);
    for v in 1..=1_000 {
        tx.send(v).unwrap();
        if v % 100 == 0 {
            spindle::yield_now().await;
        }
    }
    let w = rx_wait_for(&tx).await;
    assert_eq!(w, 1_000);
    drop(tx);
    for w in watchers {
        assert_eq!(w.await.unwrap(), 1_000);
    }

    let (tx, rx) = watch::channel(());
    let dropper = spindle::spawn(async move {
        sleep(ms(5)).await;
        drop(rx);
    });
    tx.closed().await;
    assert!(tx.is_closed());
    assert!(tx.send(()).is_err());
    dropper.await.unwrap();
}

async fn rx_wait_for(tx: &watch::Sender<u64>) -> u64 {
    let mut rx = tx.subscribe();
    *rx.wait_for(|v| *v == 1_000).await.unwrap()
}

// ===== Mutex =================================================================================

#[spindle::test(worker_threads = 2)]
async fn mutex_under_contention_loses_no_update_and_no_wakeup() {
    const TASKS: u64 = 16;
    const ROUNDS: u64 = 500;
    let total = async {
        let counter = Arc::new(Mutex::new(0u64));
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let counter = counter.clone();
                spindle::spawn(async move {
                    for _ in 0..ROUNDS {
                        let mut guard = counter.lock().await;
                        let v = *guard;
                        spindle::yield_now().await; // hold it across an await
                        *guard = v + 1;
                    }
                })
            })
            .collect();
        for t in tasks {
            timeout(Duration::from_secs(60), t)
                .await
                .expect("a task never got the lock: lost wake-up")
                .unwrap();
        }
        *counter.lock().await
    }
    .await;
    assert_eq!(total, TASKS * ROUNDS);
}

#[spindle::test(worker_threads = 2)]
async fn mutex_is_fair_enough_that_a_hot_loop_cannot_starve_a_waiter() {
    let m = Arc::new(Mutex::new(()));
    let stop = Arc::new(AtomicBool::new(false));
    let hot = spindle::spawn({
        let (m, stop) = (m.clone(), stop.clone());
        async move {
            let started = Instant::now();
            let mut rounds = 0u64;
            while !stop.load(Ordering::SeqCst) && started.elapsed() < Duration::from_secs(10) {
                let _g = m.lock().await;
                spindle::yield_now().await; // others run while it is held
                rounds += 1;
            }
            rounds
        }
    });
    sleep(ms(5)).await;
    let waited = Instant::now();
    drop(m.lock().await);
    let waited = waited.elapsed();
    stop.store(true, Ordering::SeqCst);
    let rounds = hot.await.unwrap();
    assert!(rounds > 0);
    assert!(
        waited < Duration::from_secs(5),
        "waiter starved for {waited:?}"
    );
}

#[spindle::test]
async fn owned_mutex_guard_moves_into_a_task() {
    let m = Arc::new(Mutex::new(Vec::new()));
    let mut guard = m.lock_arc().await;
    assert!(m.try_lock().is_none());
    spindle::spawn(async move {
        guard.push(1);
        sleep(ms(2)).await;
        guard.push(2);
    })
    .await
    .unwrap();
    assert_eq!(*m.lock().await, [1, 2]);
    assert!(
        spindle::sync::OwnedMutexGuard::mutex(&m.try_lock_arc().unwrap())
            .try_lock()
            .is_none()
    );
}

// ===== RwLock ================================================================================

#[spindle::test(worker_threads = 2)]
async fn rwlock_readers_run_in_parallel_and_the_writer_alone() {
    const READERS: usize = 4;
    let lock = Arc::new(RwLock::new(0u32));
    // All readers hold the lock at the same moment: each waits at a barrier of READERS
    // while holding its guard, which only completes if the guards coexist.
    let barrier = Arc::new(Barrier::new(READERS));
    let readers: Vec<_> = (0..READERS)
        .map(|_| {
            let (lock, barrier) = (lock.clone(), barrier.clone());
            spindle::spawn(async move {
                let guard = lock.read().await;
                barrier.wait().await;
                *guard
            })
        })
        .collect();
    for r in readers {
        let v = timeout(Duration::from_secs(30), r)
            .await
            .expect("readers were serialised")
            .unwrap();
        assert_eq!(v, 0);
    }

    // The writer excludes readers and other writers; count holders exactly.
    let holders = Arc::new(AtomicUsize::new(0));
    let writers_inside = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let (lock, holders, writers_inside) =
                (lock.clone(), holders.clone(), writers_inside.clone());
            spindle::spawn(async move {
                for _ in 0..50 {
                    if i % 4 == 0 {
                        let mut g = lock.write().await;
                        assert_eq!(
                            holders.fetch_add(1, Ordering::SeqCst),
                            0,
                            "writer not alone"
                        );
                        writers_inside.fetch_add(1, Ordering::SeqCst);
                        spindle::yield_now().await;
                        *g += 1;
                        writers_inside.fetch_sub(1, Ordering::SeqCst);
                        holders.fetch_sub(1, Ordering::SeqCst);
                    } else {
                        let _g = lock.read().await;
                        holders.fetch_add(1, Ordering::SeqCst);
                        assert_eq!(
                            writers_inside.load(Ordering::SeqCst),
                            0,
                            "reader beside a writer"
                        );
                        spindle::yield_now().await;
                        holders.fetch_sub(1, Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(*lock.read().await, 5 * 50);
}

// ===== Semaphore =============================================================================

#[spindle::test(worker_threads = 2)]
async fn semaphore_never_admits_more_than_n_among_1000_tasks() {
    const PERMITS: usize = 7;
    async {
        let sem = Arc::new(Semaphore::new(PERMITS));
        let inside = Arc::new(AtomicUsize::new(0));
        let max = Arc::new(AtomicUsize::new(0));
        let admitted = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..1_000)
            .map(|i| {
                let (sem, inside, max, admitted) =
                    (sem.clone(), inside.clone(), max.clone(), admitted.clone());
                spindle::spawn(async move {
                    // Borrowed and owned permits count the same.
                    let permit: Box<dyn Send + '_> = if i % 2 == 0 {
                        Box::new(sem.acquire().await)
                    } else {
                        Box::new(sem.clone().acquire_owned().await)
                    };
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    max.fetch_max(now, Ordering::SeqCst);
                    admitted.fetch_add(1, Ordering::SeqCst);
                    if i % 10 == 0 {
                        sleep(ms(1)).await;
                    } else {
                        spindle::yield_now().await;
                    }
                    inside.fetch_sub(1, Ordering::SeqCst);
                    drop(permit);
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(admitted.load(Ordering::SeqCst), 1_000);
        assert_eq!(
            max.load(Ordering::SeqCst),
            PERMITS,
            "never more than N, and N reached"
        );
        assert_eq!(sem.available_permits(), PERMITS);
    }
    .await;
}

#[spindle::test]
async fn semaphore_close_wakes_waiters_with_an_error() {
    let sem = Arc::new(Semaphore::new(1));
    let held = sem.try_acquire().unwrap();
    let waiters: Vec<_> = (0..5)
        .map(|_| {
            let sem = sem.clone();
            spindle::spawn(async move { sem.acquire_checked().await.is_err() })
        })
        .collect();
    sleep(ms(10)).await;
    sem.close();
    for w in waiters {
        assert!(w.await.unwrap(), "a waiter acquired a closed semaphore");
    }
    drop(held);
    assert!(sem.try_acquire().is_none());
}

#[spindle::test]
#[should_panic(expected = "the semaphore was closed; use Semaphore::acquire_checked")]
async fn semaphore_acquire_on_a_closed_semaphore_panics_with_the_fix() {
    let sem = Semaphore::new(1);
    sem.close();
    let _ = sem.acquire().await;
}

// ===== Barrier ===============================================================================

#[spindle::test(worker_threads = 2)]
async fn barrier_has_exactly_one_leader_per_generation() {
    const PARTIES: usize = 5;
    const GENERATIONS: usize = 100;
    async {
        let barrier = Arc::new(Barrier::new(PARTIES));
        let leaders: Arc<Vec<AtomicUsize>> =
            Arc::new((0..GENERATIONS).map(|_| AtomicUsize::new(0)).collect());
        let arrived: Arc<Vec<AtomicUsize>> =
            Arc::new((0..GENERATIONS).map(|_| AtomicUsize::new(0)).collect());
        let tasks: Vec<_> = (0..PARTIES)
            .map(|_| {
                let (barrier, leaders, arrived) =
                    (barrier.clone(), leaders.clone(), arrived.clone());
                spindle::spawn(async move {
                    for g in 0..GENERATIONS {
                        arrived[g].fetch_add(1, Ordering::SeqCst);
                        let result = barrier.wait().await;
                        // Nobody passes before the whole generation arrived.
                        assert_eq!(arrived[g].load(Ordering::SeqCst), PARTIES);
                        if result.is_leader() {
                            leaders[g].fetch_add(1, Ordering::SeqCst);
                        }
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        for (g, l) in leaders.iter().enumerate() {
            assert_eq!(l.load(Ordering::SeqCst), 1, "generation {g}");
        }
    }
    .await;
}

// ===== OnceCell ==============================================================================

#[spindle::test(worker_threads = 2)]
async fn once_cell_initialises_exactly_once_under_a_race() {
    let cell = Arc::new(OnceCell::<u64>::new());
    let inits = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let (cell, inits) = (cell.clone(), inits.clone());
            spindle::spawn(async move {
                *cell
                    .get_or_init(|| async move {
                        inits.fetch_add(1, Ordering::SeqCst);
                        sleep(ms(5)).await;
                        1_000 + i
                    })
                    .await
            })
        })
        .collect();
    let mut values = Vec::new();
    for t in tasks {
        values.push(t.await.unwrap());
    }
    assert_eq!(inits.load(Ordering::SeqCst), 1);
    assert!(values.iter().all(|v| *v == values[0]));
    assert_eq!(cell.get(), Some(&values[0]));
}

#[spindle::test]
async fn once_cell_cancelled_or_failed_initialiser_lets_the_next_one_run() {
    let cell = Arc::new(OnceCell::<&str>::new());
    // The first initialiser is cancelled (timeout) while a second caller waits behind it.
    let second = spindle::spawn({
        let cell = cell.clone();
        async move {
            sleep(ms(5)).await;
            *cell.get_or_init(|| async { "second" }).await
        }
    });
    let first = timeout(
        ms(30),
        cell.get_or_init(|| async {
            sleep(Duration::from_secs(3600)).await;
            "first"
        }),
    )
    .await;
    assert!(first.is_err());
    assert_eq!(second.await.unwrap(), "second");
    assert_eq!(cell.get(), Some(&"second"));

    let cell = OnceCell::<u32>::new();
    let err = cell
        .get_or_try_init(|| async { Err::<u32, _>("boom") })
        .await;
    assert_eq!(err, Err("boom"));
    assert!(!cell.initialized());
    assert_eq!(
        cell.get_or_try_init(|| async { Ok::<_, &str>(9) }).await,
        Ok(&9)
    );
}

// ===== Notify ================================================================================

#[spindle::test(worker_threads = 2)]
async fn notify_ping_pong_loses_no_notification() {
    const ROUNDS: u64 = 10_000;
    async {
        let ping = Arc::new(Notify::new());
        let pong = Arc::new(Notify::new());
        let count = Arc::new(AtomicU64::new(0));
        let other = spindle::spawn({
            let (ping, pong, count) = (ping.clone(), pong.clone(), count.clone());
            async move {
                for _ in 0..ROUNDS {
                    ping.notified().await;
                    count.fetch_add(1, Ordering::SeqCst);
                    pong.notify_one();
                }
            }
        });
        for _ in 0..ROUNDS {
            ping.notify_one();
            pong.notified().await;
        }
        timeout(Duration::from_secs(60), other)
            .await
            .expect("lost notification")
            .unwrap();
        assert_eq!(count.load(Ordering::SeqCst), ROUNDS);
    }
    .await;
}

#[spindle::test]
async fn notify_waiters_wakes_all_current_waiters_only() {
    let notify = Arc::new(Notify::new());
    let registered = Arc::new(AtomicUsize::new(0));
    let woken = Arc::new(AtomicUsize::new(0));
    let waiters: Vec<_> = (0..10)
        .map(|_| {
            let (notify, registered, woken) = (notify.clone(), registered.clone(), woken.clone());
            spindle::spawn(async move {
                let mut notified = std::pin::pin!(notify.notified());
                notified.as_mut().enable(); // queued from here on
                registered.fetch_add(1, Ordering::SeqCst);
                notified.await;
                woken.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    while registered.load(Ordering::SeqCst) < 10 {
        sleep(ms(1)).await;
    }
    notify.notify_waiters();
    for w in waiters {
        timeout(Duration::from_secs(60), w)
            .await
            .expect("a waiter was not woken")
            .unwrap();
    }
    assert_eq!(woken.load(Ordering::SeqCst), 10);
    assert!(
        timeout(ms(20), notify.notified()).await.is_err(),
        "notify_waiters stored a permit"
    );
}

// ===== cooperative budget ====================================================================

/// On a one-worker runtime, a task whose operation is always ready runs `op` in a loop while
/// a sibling sleeps 10 ms. Returns how long after the start the sleeper completed, and the
/// spinner's iteration count.
fn sleeper_beside_spinner<F, Fut>(
    unconstrained: bool,
    spin_for: Duration,
    mut op: F,
) -> (Duration, u64)
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let rt = Builder::new()
        .worker_threads(1)
        .compute_threads(1)
        .build()
        .unwrap();
    rt.block_on(async move {
        let start = Instant::now();
        let stop = Arc::new(AtomicBool::new(false));
        let sleeper = spindle::spawn({
            let stop = stop.clone();
            async move {
                sleep(ms(10)).await;
                stop.store(true, Ordering::SeqCst);
                start.elapsed()
            }
        });
        let spin = async move {
            let mut n = 0u64;
            // With the budget it stops as soon as the sleeper ran; without, after `spin_for`.
            while !stop.load(Ordering::SeqCst) && start.elapsed() < spin_for {
                op().await;
                n += 1;
            }
            n
        };
        let spinner = if unconstrained {
            spindle::spawn(spindle::task::unconstrained(spin))
        } else {
            spindle::spawn(spin)
        };
        let slept = sleeper.await.unwrap();
        (slept, spinner.await.unwrap())
    })
}

macro_rules! budget_case {
    ($name:ident, $setup:expr, |$state:ident| $op:expr) => {
        #[test]
        fn $name() {
            let $state = Arc::new($setup);
            let state = $state.clone();
            let (slept, spins) = sleeper_beside_spinner(false, Duration::from_secs(5), move || {
                let $state = state.clone();
                async move { $op }
            });
            assert!(spins > 0);
            assert!(
                slept < ms(100),
                "an always-ready operation starved a 10 ms sleep for {slept:?}"
            );
        }
    };
}

budget_case!(budget_mpsc_recv_yields, mpsc::unbounded::<u32>(), |ch| {
    ch.0.try_send(1).unwrap();
    ch.1.recv().await.unwrap();
});

budget_case!(
    budget_mpsc_bounded_send_yields,
    mpsc::bounded::<u32>(1),
    |ch| {
        ch.0.send(1).await.unwrap();
        ch.1.try_recv().unwrap();
    }
);

budget_case!(
    budget_broadcast_recv_yields,
    {
        let (tx, rx) = broadcast::channel::<u32>(4);
        (tx, Mutex::new(rx))
    },
    |ch| {
        ch.0.send(1).unwrap();
        ch.1.try_lock().unwrap().recv().await.unwrap();
    }
);

budget_case!(
    budget_watch_changed_yields,
    {
        let (tx, rx) = watch::channel(0u32);
        (tx, Mutex::new(rx))
    },
    |ch| {
        ch.0.send_modify(|v| *v += 1);
        ch.1.try_lock().unwrap().changed().await.unwrap();
    }
);

budget_case!(budget_oneshot_yields, (), |_unit| {
    let (tx, rx) = oneshot::channel();
    tx.send(1).unwrap();
    rx.await.unwrap();
});

budget_case!(budget_mutex_lock_yields, Mutex::new(0u64), |m| {
    *m.lock().await += 1;
});

budget_case!(budget_rwlock_yields, RwLock::new(0u64), |l| {
    *l.write().await += 1;
    drop(l.read().await);
});

budget_case!(budget_semaphore_yields, Semaphore::new(1), |s| {
    drop(s.acquire().await);
});

budget_case!(budget_barrier_yields, Barrier::new(1), |b| {
    b.wait().await;
});

#[test]
fn unconstrained_opts_a_channel_receiver_out_of_the_budget() {
    let spin_for = ms(300);
    let ch = Arc::new(mpsc::unbounded::<u32>());
    let (slept, spins) = sleeper_beside_spinner(true, spin_for, move || {
        let ch = ch.clone();
        async move {
            ch.0.try_send(1).unwrap();
            ch.1.recv().await.unwrap();
        }
    });
    assert!(spins > 0);
    // Without a budget the spinner never yields: the sleeper runs only after it stopped.
    assert!(
        slept >= spin_for,
        "the sleeper ran after {slept:?}, while an unconstrained spinner held the only worker"
    );
}
