//! `gather!`, `try_gather!`, `gather` and `try_gather`: ordering, concurrency on the calling
//! task, short-circuiting, allocation-free macros, and linear cost for big collections.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use spindle::time::sleep;

// ---------------------------------------------------------------------------------------------
// A per-thread allocation counter, to prove that the macro forms do not allocate.

struct CountingAlloc;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards every call to the system allocator unchanged; the counter is a const-initialised
// thread-local without a destructor, so touching it never allocates or re-enters.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

// ---------------------------------------------------------------------------------------------
// Helpers.

/// A future that returns `Pending` (waking itself) `yields` times, counting every poll.
struct Yielder {
    yields: usize,
    polls: Rc<Cell<usize>>,
}

impl Future for Yielder {
    type Output = usize;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        self.polls.set(self.polls.get() + 1);
        if self.yields == 0 {
            return Poll::Ready(1);
        }
        self.yields -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// A waker that counts its wakes.
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Sets its flag when dropped.
struct DropFlag(Rc<Cell<bool>>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

/// Polls `fut` with a no-op waker until it is ready (for futures that wake themselves).
fn poll_to_end<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// gather!

#[test]
fn gather_macro_runs_concurrently_results_in_argument_order() {
    spindle::run(async {
        let finished = RefCell::new(Vec::new());
        let slow = |ms: u64| {
            let finished = &finished;
            async move {
                sleep(Duration::from_millis(ms)).await;
                finished.borrow_mut().push(ms);
                ms * 10
            }
        };
        let start = Instant::now();
        let (a, b, c) = spindle::gather!(slow(300), slow(100), slow(200)).await;
        let elapsed = start.elapsed();
        assert_eq!(
            (a, b, c),
            (3000, 1000, 2000),
            "outputs follow argument order"
        );
        assert_eq!(
            *finished.borrow(),
            vec![100, 200, 300],
            "they finish by duration"
        );
        assert!(
            elapsed >= Duration::from_millis(300),
            "never before the slowest: {elapsed:?}"
        );
        assert!(
            elapsed < Duration::from_millis(450),
            "concurrent, not the 600 ms sum: {elapsed:?}"
        );
    });
}

#[test]
fn gather_macro_polls_on_the_calling_task_and_may_borrow_non_send_locals() {
    let caller = std::thread::current().id();
    let rc = Rc::new(RefCell::new(String::from("x")));
    let local = [1, 2, 3];
    let (sum, len, thread) = spindle::run(async {
        spindle::gather!(
            async {
                sleep(Duration::from_millis(200)).await;
                rc.borrow_mut().push('y'); // Rc: not Send
                local.iter().sum::<i32>() // borrowed, not moved
            },
            async {
                spindle::yield_now().await;
                rc.borrow().len()
            },
            async { std::thread::current().id() },
        )
        .await
    });
    assert_eq!(sum, 6);
    assert_eq!(
        len, 1,
        "the second future ran before the first one's sleep ended"
    );
    assert_eq!(
        thread, caller,
        "polled by the block_on thread, not a worker"
    );
    assert_eq!(*rc.borrow(), "xy");
    assert_eq!(local.len(), 3, "still usable: only borrowed");
}

#[test]
fn gather_macro_supports_one_to_sixteen_futures_of_mixed_types() {
    let one = poll_to_end(spindle::gather!(async { 'a' }));
    assert_eq!(one, ('a',));
    let twelve = poll_to_end(spindle::gather!(
        async { 1u8 },
        async { 2u16 },
        async { 3u32 },
        async { 4u64 },
        async { "5" },
        async { 6i8 },
        async { 7.0f32 },
        async { '8' },
        async { String::from("9") },
        async { vec![10] },
        async { Some(11) },
        async { (12,) },
    ));
    assert_eq!(
        twelve,
        (
            1,
            2,
            3,
            4,
            "5",
            6,
            7.0,
            '8',
            String::from("9"),
            vec![10],
            Some(11),
            (12,)
        )
    );
    let polls = Rc::new(Cell::new(0));
    let y = |k| Yielder {
        yields: k,
        polls: polls.clone(),
    };
    let sixteen = poll_to_end(spindle::gather!(
        y(0),
        y(1),
        y(2),
        y(3),
        y(4),
        y(5),
        y(6),
        y(7),
        y(8),
        y(9),
        y(10),
        y(11),
        y(12),
        y(13),
        y(14),
        y(15),
    ));
    assert_eq!(sixteen.0 + sixteen.15, 2);
    // Each future is polled until done and never after: 1 + yields polls each.
    assert_eq!(polls.get(), (1..=16).sum::<usize>());
    poll_to_end(spindle::gather!()); // zero futures: a future of `()`
}

#[test]
fn gather_macro_does_not_allocate() {
    let polls = Rc::new(Cell::new(0));
    let fut = spindle::gather!(
        Yielder {
            yields: 3,
            polls: polls.clone()
        },
        async { 2 },
        Yielder {
            yields: 1,
            polls: polls.clone()
        },
    );
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    let before = allocations();
    let out = loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            break v;
        }
    };
    assert_eq!(allocations(), before, "polling gather! allocated");
    assert_eq!(out, (1, 2, 1));
    assert_eq!(polls.get(), 4 + 2);

    let fut = spindle::try_gather!(async { Ok::<_, ()>(1) }, async { Ok(2) });
    let mut fut = pin!(fut);
    let before = allocations();
    assert_eq!(fut.as_mut().poll(&mut cx), Poll::Ready(Ok((1, 2))));
    assert_eq!(allocations(), before, "polling try_gather! allocated");
}

#[test]
fn gather_macro_accepts_into_future_and_trailing_comma() {
    struct Seven;
    impl std::future::IntoFuture for Seven {
        type Output = u8;
        type IntoFuture = std::future::Ready<u8>;
        fn into_future(self) -> Self::IntoFuture {
            std::future::ready(7)
        }
    }
    assert_eq!(poll_to_end(spindle::gather!(Seven, async { 8 },)), (7, 8));
}

// ---------------------------------------------------------------------------------------------
// try_gather!

#[test]
fn try_gather_macro_all_ok_in_argument_order() {
    let out: Result<(u64, &str, u64), String> = spindle::run(async {
        spindle::try_gather!(
            async {
                sleep(Duration::from_millis(60)).await;
                Ok(60)
            },
            async { Ok("now") },
            async {
                sleep(Duration::from_millis(20)).await;
                Ok(20)
            },
        )
        .await
    });
    assert_eq!(out, Ok((60, "now", 20)));
}

#[test]
fn try_gather_macro_first_err_wins_and_losers_are_dropped_before_it_returns() {
    spindle::run(async {
        let slow_dropped = Rc::new(Cell::new(false));
        let slower_dropped = Rc::new(Cell::new(false));
        let finished_ok = Rc::new(Cell::new(false));
        let start = Instant::now();
        let result: Result<(u8, u8, u8, u8), &str> = spindle::try_gather!(
            {
                let flag = DropFlag(slow_dropped.clone());
                async move {
                    let _flag = flag;
                    sleep(Duration::from_secs(30)).await;
                    Ok(1)
                }
            },
            async {
                sleep(Duration::from_millis(50)).await;
                Err("second failed")
            },
            {
                let flag = DropFlag(slower_dropped.clone());
                async move {
                    let _flag = flag;
                    sleep(Duration::from_secs(60)).await;
                    Err("too late")
                }
            },
            async {
                finished_ok.set(true);
                Ok(4)
            },
        )
        .await;
        assert_eq!(result, Err("second failed"));
        assert!(slow_dropped.get(), "loser's destructor had not run");
        assert!(slower_dropped.get(), "loser's destructor had not run");
        assert!(finished_ok.get());
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "did not short-circuit: {:?}",
            start.elapsed()
        );
    });
}

#[test]
fn try_gather_macro_error_on_first_poll_polls_nothing_after_it() {
    let later_polled = Cell::new(false);
    let r: Result<(u8, u8), u8> = poll_to_end(spindle::try_gather!(async { Err(9) }, async {
        later_polled.set(true);
        Ok(1)
    }));
    assert_eq!(r, Err(9));
    assert!(
        !later_polled.get(),
        "futures after the failing one were polled"
    );
}

// ---------------------------------------------------------------------------------------------
// gather / try_gather over collections

#[test]
fn gather_collection_keeps_input_order() {
    let out = spindle::run(async {
        let start = Instant::now();
        let out = spindle::gather((0..5u64).map(|i| async move {
            sleep(Duration::from_millis(20 * (5 - i))).await;
            i * i
        }))
        .await;
        assert!(
            start.elapsed() < Duration::from_millis(250),
            "not concurrent"
        );
        out
    });
    assert_eq!(out, vec![0, 1, 4, 9, 16]);
}

#[test]
fn gather_collection_of_nothing_is_ready_at_once() {
    let out: Vec<u8> = poll_to_end(spindle::gather(Vec::<std::future::Ready<u8>>::new()));
    assert!(out.is_empty());
    let out: Result<Vec<u8>, ()> =
        poll_to_end(spindle::try_gather(Vec::<std::future::Ready<_>>::new()));
    assert_eq!(out, Ok(vec![]));
}

/// Counts exactly: 100 000 futures that yield 3 times each are polled exactly 4 × 100 000 times.
#[test]
fn gather_collection_polls_each_future_only_when_woken() {
    const N: usize = 100_000;
    const K: usize = 3;
    let polls = Rc::new(Cell::new(0));
    let out = poll_to_end(spindle::gather((0..N).map(|_| Yielder {
        yields: K,
        polls: polls.clone(),
    })));
    assert_eq!(out.len(), N);
    assert_eq!(polls.get(), (K + 1) * N);
}

/// Futures that are never woken are never polled again, however often the parent is polled.
#[test]
fn gather_collection_repolls_only_the_woken_child() {
    const N: usize = 10_000;
    let polls = Rc::new(RefCell::new(vec![0usize; N]));
    let wakers: Rc<RefCell<Vec<Option<Waker>>>> = Rc::new(RefCell::new(vec![None; N]));
    let open = Rc::new(RefCell::new(vec![false; N]));
    let futs = (0..N).map(|i| {
        let (polls, wakers, open) = (polls.clone(), wakers.clone(), open.clone());
        std::future::poll_fn(move |cx| {
            polls.borrow_mut()[i] += 1;
            if open.borrow()[i] {
                Poll::Ready(i)
            } else {
                wakers.borrow_mut()[i] = Some(cx.waker().clone());
                Poll::Pending
            }
        })
    });
    let parent = Arc::new(CountingWaker(AtomicUsize::new(0)));
    let parent_waker = Waker::from(parent.clone());
    let mut cx = Context::from_waker(&parent_waker);
    let mut fut = pin!(spindle::gather(futs));

    // First polls: every child polled exactly once (several parent polls: the budget yields).
    while polls.borrow().contains(&0) {
        assert!(fut.as_mut().poll(&mut cx).is_pending());
    }
    assert!(polls.borrow().iter().all(|&p| p == 1));
    // Polling again without any wake touches no child.
    for _ in 0..10 {
        assert!(fut.as_mut().poll(&mut cx).is_pending());
    }
    assert_eq!(polls.borrow().iter().sum::<usize>(), N);

    // Wake child 4242 (still not ready) three times: the parent is woken once and exactly that
    // child is re-polled, once.
    let woken_before = parent.0.load(Ordering::SeqCst);
    let w = wakers.borrow_mut()[4242].take().unwrap();
    w.wake_by_ref();
    w.wake_by_ref();
    w.wake();
    assert_eq!(parent.0.load(Ordering::SeqCst), woken_before + 1);
    assert!(fut.as_mut().poll(&mut cx).is_pending());
    assert_eq!(polls.borrow()[4242], 2);
    assert_eq!(polls.borrow().iter().sum::<usize>(), N + 1);

    // Open everything and wake everyone: each child is polled once more, then the output is
    // in input order.
    open.borrow_mut().iter_mut().for_each(|o| *o = true);
    let all: Vec<Waker> = wakers
        .borrow_mut()
        .iter_mut()
        .flatten()
        .map(|w| w.clone())
        .collect();
    for w in &all {
        w.wake_by_ref();
        w.wake_by_ref(); // a second wake before the poll does not cause a second poll
    }
    let out = loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            break out;
        }
    };
    assert_eq!(out, (0..N).collect::<Vec<_>>());
    assert_eq!(polls.borrow().iter().sum::<usize>(), 2 * N + 1);
}

#[test]
fn gather_collection_wakes_the_latest_parent_waker() {
    let waker_slot: Rc<RefCell<Option<Waker>>> = Rc::new(RefCell::new(None));
    let ready = Rc::new(Cell::new(false));
    let child = {
        let (waker_slot, ready) = (waker_slot.clone(), ready.clone());
        std::future::poll_fn(move |cx| {
            if ready.get() {
                Poll::Ready(())
            } else {
                *waker_slot.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
        })
    };
    let mut fut = pin!(spindle::gather(vec![child]));
    let a = Arc::new(CountingWaker(AtomicUsize::new(0)));
    let b = Arc::new(CountingWaker(AtomicUsize::new(0)));
    let (wa, wb) = (Waker::from(a.clone()), Waker::from(b.clone()));
    assert!(
        fut.as_mut()
            .poll(&mut Context::from_waker(&wa))
            .is_pending()
    );
    assert!(
        fut.as_mut()
            .poll(&mut Context::from_waker(&wb))
            .is_pending()
    );
    ready.set(true);
    waker_slot.borrow_mut().take().unwrap().wake();
    assert_eq!(a.0.load(Ordering::SeqCst), 0, "woke the stale parent waker");
    assert_eq!(
        b.0.load(Ordering::SeqCst),
        1,
        "did not wake the current parent waker"
    );
    assert_eq!(
        fut.as_mut().poll(&mut Context::from_waker(&wb)),
        Poll::Ready(vec![()])
    );
}

/// Linear cost on the runtime: every child is polled exactly once per wake (never re-polled
/// because a sibling was woken), and 100 000 futures that yield take about 10x what 10 000 take
/// (not 100x). The time ratio uses the best of several runs and a generous bound: a loaded CI
/// machine adds noise, the poll count is the exact check.
#[test]
fn gather_collection_of_100k_futures_scales_linearly() {
    fn run_n(n: usize) -> (Duration, usize) {
        let polls = Arc::new(AtomicUsize::new(0));
        let p = polls.clone();
        let took = spindle::run(async move {
            let start = Instant::now();
            let out = spindle::gather((0..n).map(|i| {
                let p = p.clone();
                let mut left = 2;
                std::future::poll_fn(move |cx| {
                    p.fetch_add(1, Ordering::Relaxed);
                    if left == 0 {
                        return Poll::Ready(i);
                    }
                    left -= 1;
                    cx.waker().wake_by_ref();
                    Poll::Pending
                })
            }))
            .await;
            assert_eq!(out.len(), n);
            assert_eq!(out[n - 1], n - 1);
            start.elapsed()
        });
        (took, polls.load(Ordering::SeqCst))
    }
    for n in [10_000, 100_000] {
        assert_eq!(run_n(n).1, 3 * n, "children polled more often than woken");
    }
    let best = |n: usize, runs: usize| (0..runs).map(|_| run_n(n).0).min().unwrap();
    let small = best(10_000, 5).max(Duration::from_micros(500));
    let big = best(100_000, 3);
    let ratio = big.as_secs_f64() / small.as_secs_f64();
    assert!(
        ratio < 40.0,
        "100k took {big:?}, 10k took {small:?}: ratio {ratio:.1} is not linear"
    );
}

#[test]
fn try_gather_collection_drops_the_rest_on_first_err() {
    spindle::run(async {
        let dropped: Vec<Rc<Cell<bool>>> = (0..10).map(|_| Rc::new(Cell::new(false))).collect();
        let start = Instant::now();
        let result = spindle::try_gather(dropped.iter().enumerate().map(|(i, flag)| {
            let flag = DropFlag(flag.clone());
            async move {
                let _flag = flag;
                if i == 6 {
                    sleep(Duration::from_millis(30)).await;
                    return Err(format!("child {i} failed"));
                }
                sleep(Duration::from_secs(30)).await;
                Ok(i)
            }
        }))
        .await;
        assert_eq!(result, Err("child 6 failed".to_string()));
        assert!(
            dropped.iter().all(|f| f.get()),
            "every future was dropped by the time try_gather returned"
        );
        assert!(start.elapsed() < Duration::from_secs(5));
    });
}

#[test]
fn try_gather_collection_all_ok_in_input_order() {
    let out = spindle::run(spindle::try_gather((0..100u64).map(|i| async move {
        sleep(Duration::from_millis(100 - i)).await;
        Ok::<_, String>(i)
    })));
    assert_eq!(out, Ok((0..100).collect::<Vec<_>>()));
}

#[test]
fn gather_collection_is_send_when_its_futures_are() {
    fn assert_send<T: Send>(t: T) -> T {
        t
    }
    let out = spindle::run(async {
        let fut = assert_send(spindle::gather((0..4).map(|i| async move {
            sleep(Duration::from_millis(1)).await;
            i
        })));
        spindle::spawn(fut).await.unwrap()
    });
    assert_eq!(out, vec![0, 1, 2, 3]);
}
