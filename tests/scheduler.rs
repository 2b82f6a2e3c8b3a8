//! A scheduler that cannot be wedged: the cooperative budget, no task stranded behind a blocked
//! worker, a reactor that keeps turning while a worker is stuck, and timers registered and
//! cancelled from many workers at once.

use spindle::net::{TcpListener, TcpStream};
use spindle::runtime::{Builder, Runtime};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

fn rt(workers: usize) -> Runtime {
    Builder::new()
        .worker_threads(workers)
        .compute_threads(1)
        .build()
        .unwrap()
}

/// A connected pair of spindle TCP streams.
async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (client, accepted) =
        futures_lite::future::zip(TcpStream::connect(addr), listener.accept()).await;
    (client.unwrap(), accepted.unwrap().0)
}

// ---------------------------------------------------------------------------------------------
// The cooperative budget

/// On a 1-worker runtime, a task reading from a socket that always has data never returns
/// `Pending` by itself; the budget makes its reads yield, so a sibling's 10 ms sleep completes
/// long before the reader would finish (it reads until the sleeper is done, with a deadline).
#[test]
fn an_always_ready_socket_cannot_starve_a_sleep() {
    let rt = rt(1);
    let woke_after = rt.block_on(async {
        let (mut writer, mut reader) = tcp_pair().await;
        // Fill the socket buffers so every read is ready at once.
        use futures_lite::{AsyncReadExt, AsyncWriteExt};
        let chunk = vec![7u8; 64 * 1024];
        let done = Arc::new(AtomicBool::new(false));
        let d = done.clone();
        let writer_task = spindle::spawn(async move {
            while !d.load(Ordering::SeqCst) {
                if writer.write_all(&chunk).await.is_err() {
                    break;
                }
            }
        });
        let start = Instant::now();
        let d = done.clone();
        let sleeper = spindle::spawn(async move {
            spindle::time::sleep(Duration::from_millis(10)).await;
            d.store(true, Ordering::SeqCst);
            start.elapsed()
        });
        let reader_task = spindle::spawn(async move {
            let mut buf = [0u8; 16];
            let mut reads = 0u64;
            // 16-byte reads: always ready while the writer keeps the buffers full.
            while !done.load(Ordering::SeqCst) && start.elapsed() < Duration::from_secs(20) {
                if reader.read(&mut buf).await.unwrap() == 0 {
                    break;
                }
                reads += 1;
            }
            reads
        });
        let woke = sleeper.await.unwrap();
        assert!(reader_task.await.unwrap() > 0);
        writer_task.await.unwrap();
        woke
    });
    assert!(
        woke_after < Duration::from_millis(100),
        "the 10 ms sleep woke after {woke_after:?}: starved by an always-ready socket"
    );
}

/// The same with an always-ready JoinHandle-spending loop, and `unconstrained` opting out:
/// inside it the same loop runs to the end before the sibling gets a turn.
#[test]
fn the_budget_yields_and_unconstrained_opts_out() {
    let rt = rt(1);
    let (constrained_interleaved, unconstrained_interleaved) = rt.block_on(async {
        async fn ready_loop(flag: Arc<AtomicUsize>) -> usize {
            // 1 000 ready operations, each spending one unit (a finished JoinHandle is ready).
            let mut seen_sibling = 0;
            for _ in 0..1_000 {
                spindle::task::consume_budget().await;
                seen_sibling = seen_sibling.max(flag.load(Ordering::SeqCst));
            }
            seen_sibling
        }
        // The sibling is spawned by the looping task itself, just before the loop, so on the
        // one worker it can run only if the loop yields (spawned from outside, it could run
        // before the loop starts and prove nothing).
        async fn loop_with_sibling(flag: Arc<AtomicUsize>) -> usize {
            let f = flag.clone();
            let sibling = spindle::spawn(async move { f.store(1, Ordering::SeqCst) });
            let seen = ready_loop(flag).await;
            sibling.await.unwrap();
            seen
        }
        let constrained = spindle::spawn(loop_with_sibling(Arc::new(AtomicUsize::new(0))))
            .await
            .unwrap();
        let unconstrained = spindle::spawn(spindle::task::unconstrained(loop_with_sibling(
            Arc::new(AtomicUsize::new(0)),
        )))
        .await
        .unwrap();
        (constrained, unconstrained)
    });
    assert_eq!(constrained_interleaved, 1, "the budget let the sibling run");
    assert_eq!(
        unconstrained_interleaved, 0,
        "unconstrained: no forced yield inside the loop"
    );
}

// ---------------------------------------------------------------------------------------------
// No stranded task

/// Task A wakes task B (B lands in A's worker's LIFO slot), then A blocks its worker for
/// 500 ms. Another worker must pick B up well within 50 ms.
#[test]
fn a_woken_task_runs_while_the_wakers_worker_blocks() {
    let rt = rt(2);
    for round in 0..5 {
        let waited = rt.block_on(async {
            let (tx, rx) = async_channel::bounded::<Instant>(1);
            let b = spindle::spawn(async move {
                let sent = rx.recv().await.unwrap();
                sent.elapsed()
            });
            // Let B park on the channel.
            spindle::time::sleep(Duration::from_millis(20)).await;
            let a = spindle::spawn(async move {
                tx.try_send(Instant::now()).unwrap(); // wakes B onto this worker
                std::thread::sleep(Duration::from_millis(500)); // then blocks the worker
            });
            let waited = b.await.unwrap();
            a.await.unwrap();
            waited
        });
        assert!(
            waited < Duration::from_millis(50),
            "round {round}: B waited {waited:?} behind its waker's blocked worker"
        );
    }
}

/// A spawned task, likewise: it lands in the spawner's LIFO slot.
#[test]
fn a_task_spawned_by_a_blocking_task_runs_elsewhere() {
    let rt = rt(2);
    let waited = rt.block_on(async {
        let (inner_tx, inner_rx) = async_channel::bounded(1);
        let outer = spindle::spawn(async move {
            let spawned_at = Instant::now();
            let inner = spindle::spawn(async move { spawned_at.elapsed() });
            inner_tx.try_send(inner).unwrap();
            std::thread::sleep(Duration::from_millis(500));
        });
        let waited = inner_rx.recv().await.unwrap().await.unwrap();
        outer.await.unwrap();
        waited
    });
    assert!(waited < Duration::from_millis(50), "waited {waited:?}");
}

// ---------------------------------------------------------------------------------------------
// The reactor keeps turning

/// While one worker is stuck in a 600 ms synchronous call, a 10 ms sleep and a socket read of
/// tasks the other worker can run complete on time.
#[test]
fn timers_and_sockets_are_served_while_a_worker_blocks() {
    let rt = rt(2);
    for round in 0..3 {
        let (slept, read) = rt.block_on(async {
            let (mut a, mut b) = tcp_pair().await;
            let (stuck_tx, stuck_rx) = mpsc::channel();
            let blocker = spindle::spawn(async move {
                stuck_tx.send(()).unwrap();
                std::thread::sleep(Duration::from_millis(600));
            });
            stuck_rx.recv().unwrap();
            let start = Instant::now();
            let sleeper = spindle::spawn(async move {
                spindle::time::sleep(Duration::from_millis(10)).await;
                start.elapsed()
            });
            let reader = spindle::spawn(async move {
                use futures_lite::AsyncReadExt;
                let mut byte = [0u8; 1];
                b.read_exact(&mut byte).await.unwrap();
                start.elapsed()
            });
            spindle::time::sleep(Duration::from_millis(20)).await;
            use futures_lite::AsyncWriteExt;
            a.write_all(b"x").await.unwrap();
            let out = (sleeper.await.unwrap(), reader.await.unwrap());
            blocker.await.unwrap();
            out
        });
        assert!(
            slept < Duration::from_millis(150),
            "round {round}: 10 ms sleep took {slept:?}"
        );
        assert!(
            read < Duration::from_millis(200),
            "round {round}: read took {read:?}"
        );
    }
}

/// The harder case: the worker that turns the reactor wakes a task whose timer fired and runs
/// it, and that task blocks (so the reactor's driver is the stuck worker, and the idle worker
/// sleeps without driving anything). Timers and sockets of other tasks must still be served.
#[test]
fn timers_and_sockets_are_served_while_the_driving_worker_blocks() {
    let rt = rt(2);
    for round in 0..3 {
        let (slept, read) = rt.block_on(async {
            let (mut a, mut b) = tcp_pair().await;
            let start = Instant::now();
            // Both workers go idle; the one driving the reactor fires this timer and runs the
            // task, which then blocks that worker.
            let blocker = spindle::spawn(async {
                spindle::time::sleep(Duration::from_millis(30)).await;
                std::thread::sleep(Duration::from_millis(600));
            });
            let sleeper = spindle::spawn(async move {
                spindle::time::sleep(Duration::from_millis(60)).await;
                start.elapsed()
            });
            let reader = spindle::spawn(async move {
                use futures_lite::AsyncReadExt;
                let mut byte = [0u8; 1];
                b.read_exact(&mut byte).await.unwrap();
                start.elapsed()
            });
            // Write from the block_on thread at 80 ms (while the blocker blocks). A blocking
            // std sleep here, not a timer: this thread's own timers are served by the reactor
            // under test.
            std::thread::sleep(Duration::from_millis(80).saturating_sub(start.elapsed()));
            use futures_lite::AsyncWriteExt;
            a.write_all(b"x").await.unwrap();
            let out = (sleeper.await.unwrap(), reader.await.unwrap());
            blocker.await.unwrap();
            out
        });
        assert!(
            slept < Duration::from_millis(250),
            "round {round}: a 60 ms sleep took {slept:?}"
        );
        assert!(
            read < Duration::from_millis(300),
            "round {round}: the read (data sent at 80 ms) took {read:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Timers from many workers

/// 8 tasks on 4 workers each register 500 timers, cancel every other one (some from another
/// task after migration through a channel), and await the rest: exactly the kept ones fire.
#[test]
fn timers_inserted_and_cancelled_across_workers_fire_exactly() {
    let rt = rt(4);
    let fired = Arc::new(AtomicUsize::new(0));
    let total = rt.block_on(async {
        let (drop_tx, drop_rx) = async_channel::unbounded::<spindle::time::Sleep>();
        let dropper = spindle::spawn(async move {
            let mut dropped = 0;
            while let Ok(sleep) = drop_rx.recv().await {
                drop(sleep); // cancelled on whatever worker runs this task
                dropped += 1;
            }
            dropped
        });
        let mut tasks = Vec::new();
        for t in 0..8u64 {
            let fired = fired.clone();
            let drop_tx = drop_tx.clone();
            tasks.push(spindle::spawn(async move {
                let mut kept = Vec::new();
                for i in 0..500u64 {
                    let mut sleep = Box::pin(spindle::time::sleep(Duration::from_millis(
                        5 + (i * 7 + t) % 40,
                    )));
                    // Register it (first poll), then decide.
                    let _ = futures_lite::future::poll_once(sleep.as_mut()).await;
                    if i % 2 == 0 {
                        kept.push(sleep);
                    } else if i % 4 == 1 {
                        drop(sleep);
                    } else {
                        drop_tx
                            .send(*std::pin::Pin::into_inner(sleep))
                            .await
                            .unwrap();
                    }
                    if i % 50 == 0 {
                        spindle::yield_now().await;
                    }
                }
                let n = kept.len();
                for sleep in kept {
                    sleep.await;
                    fired.fetch_add(1, Ordering::SeqCst);
                }
                n
            }));
        }
        drop(drop_tx);
        let mut kept = 0;
        for task in tasks {
            kept += task.await.unwrap();
        }
        assert_eq!(dropper.await.unwrap(), 8 * 125);
        kept
    });
    assert_eq!(total, 8 * 250);
    assert_eq!(fired.load(Ordering::SeqCst), 8 * 250);
}
