//! Regression tests for the soundness defects found by peer test suites, miri, sanitizers and a
//! soak run (issue "Soundness first"). Each test is named after the defect it pins down.

use spindle::runtime::{Builder, Handle, Runtime};
use std::cell::RefCell;
use std::future::Future;
use std::marker::PhantomPinned;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::task::{Context, Poll};
use std::time::Duration;

fn rt(workers: usize, compute: usize) -> Runtime {
    Builder::new()
        .worker_threads(workers)
        .compute_threads(compute)
        .build()
        .unwrap()
}

/// Runs `f` on a fresh thread and fails (instead of hanging the suite) if it takes too long.
fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tx.send(f()).unwrap());
    rx.recv_timeout(limit)
        .unwrap_or_else(|_| panic!("did not finish within {limit:?}: a hang"))
}

// ---------------------------------------------------------------------------------------------
// 1. A task's pinned future is dropped in place.

/// A `!Unpin` future that remembers its address at its first poll and checks it when dropped,
/// like an intrusive waiter list entry would rely on.
struct AddressBound {
    first_polled_at: Option<usize>,
    report: Arc<Mutex<Vec<&'static str>>>,
    panic_on_poll: bool,
    ready: bool,
    _pin: PhantomPinned,
}

impl AddressBound {
    fn new(report: &Arc<Mutex<Vec<&'static str>>>) -> AddressBound {
        AddressBound {
            first_polled_at: None,
            report: report.clone(),
            panic_on_poll: false,
            ready: false,
            _pin: PhantomPinned,
        }
    }
}

impl Future for AddressBound {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: only plain fields are written; nothing is moved out.
        let this = unsafe { self.get_unchecked_mut() };
        let here = this as *mut AddressBound as usize;
        this.first_polled_at.get_or_insert(here);
        if this.panic_on_poll {
            panic!("poll exploded");
        }
        if this.ready {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for AddressBound {
    fn drop(&mut self) {
        let here = self as *mut AddressBound as usize;
        let verdict = match self.first_polled_at {
            None => "never polled",
            Some(at) if at == here => "dropped in place",
            Some(_) => "MOVED after its first poll",
        };
        self.report.lock().unwrap().push(verdict);
    }
}

#[test]
fn a_pinned_task_future_is_dropped_in_place_on_every_path() {
    let rt = rt(2, 1);
    let report = Arc::new(Mutex::new(Vec::new()));

    // Completion.
    let mut done = AddressBound::new(&report);
    done.ready = true;
    rt.block_on(rt.spawn(done)).unwrap();

    // Abort of an idle task.
    let (polled_tx, polled_rx) = mpsc::channel();
    let pending = AddressBound::new(&report);
    let handle = rt.spawn(async move {
        let mut pending = std::pin::pin!(pending);
        std::future::poll_fn(|cx| {
            let r = pending.as_mut().poll(cx);
            polled_tx.send(()).ok();
            r
        })
        .await
    });
    polled_rx.recv().unwrap();
    handle.abort();
    assert!(rt.block_on(handle).unwrap_err().is_cancelled());

    // Panic during poll.
    let r = report.clone();
    let exploding = Box::pin(async move {
        let mut f = AddressBound::new(&r);
        f.panic_on_poll = true;
        f.await
    });
    assert!(rt.block_on(rt.spawn(exploding)).unwrap_err().is_panic());

    // Runtime shutdown with an idle task.
    let (polled_tx, polled_rx) = mpsc::channel();
    let idle = AddressBound::new(&report);
    rt.spawn(async move {
        let mut idle = std::pin::pin!(idle);
        std::future::poll_fn(|cx| {
            let r = idle.as_mut().poll(cx);
            polled_tx.send(()).ok();
            r
        })
        .await
    });
    polled_rx.recv().unwrap();
    drop(rt);

    let report = report.lock().unwrap().clone();
    assert_eq!(report, vec!["dropped in place"; 4]);
}

#[test]
fn a_pinned_future_is_dropped_in_place_in_task_groups_and_gather() {
    let rt = rt(2, 1);
    let report = Arc::new(Mutex::new(Vec::new()));
    let r = report.clone();
    let result = rt.block_on(spindle::task_group(|g| async move {
        let child = AddressBound::new(&r);
        g.spawn(async move {
            child.await; // pending forever: cancelled by the sibling's failure
            Ok::<(), &str>(())
        });
        g.spawn(async {
            spindle::time::sleep(Duration::from_millis(20)).await;
            Err::<(), _>("stop")
        });
        // Pinned inside gather!'s slots and gather's boxed slice, then dropped with the body.
        let in_macro = AddressBound::new(&r);
        let in_collection = vec![AddressBound::new(&r), AddressBound::new(&r)];
        spindle::gather!(in_macro, spindle::gather(in_collection)).await;
        Ok(())
    }));
    assert_eq!(result.unwrap_err().into_errors(), vec!["stop"]);
    drop(rt);
    let report = report.lock().unwrap().clone();
    assert_eq!(report, vec!["dropped in place"; 4]);
}

// ---------------------------------------------------------------------------------------------
// 2. A cancelled spawn_blocking child's captured state is dropped before the group returns.

#[test]
fn a_cancelled_blocking_child_is_dropped_before_task_group_returns() {
    let rt = rt(2, 1);
    for round in 0..50 {
        let dropped = Arc::new(AtomicBool::new(false));
        struct SlowDropFlag(Arc<AtomicBool>);
        impl Drop for SlowDropFlag {
            fn drop(&mut self) {
                std::thread::sleep(Duration::from_millis(2));
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let flag = SlowDropFlag(dropped.clone());
        let (busy_tx, busy_rx) = mpsc::channel();
        let result = rt.block_on(spindle::task_group(|g| async move {
            // Occupy the only compute thread so that the next child is queued, not started.
            g.spawn_blocking(move || {
                busy_tx.send(()).unwrap();
                std::thread::sleep(Duration::from_millis(5));
                Ok(())
            });
            busy_rx.recv().unwrap();
            g.spawn_blocking(move || {
                let _flag = flag;
                Ok(())
            });
            Err::<(), &str>("stop")
        }));
        assert_eq!(result.unwrap_err().into_errors(), vec!["stop"]);
        assert!(
            dropped.load(Ordering::SeqCst),
            "round {round}: task_group returned while a cancelled child's state was alive"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Dropping a Runtime on a worker of another runtime cancels and joins.

#[test]
fn dropping_a_runtime_on_another_runtimes_worker_cancels_and_joins() {
    let outer = rt(1, 1);
    let dropped_before_return = outer
        .block_on(outer.spawn(async {
            let inner = rt(2, 1);
            let dropped = Arc::new(AtomicBool::new(false));
            struct Flag(Arc<AtomicBool>);
            impl Drop for Flag {
                fn drop(&mut self) {
                    self.0.store(true, Ordering::SeqCst);
                }
            }
            let flag = Flag(dropped.clone());
            let (polled_tx, polled_rx) = mpsc::channel();
            inner.spawn(async move {
                let _flag = flag;
                polled_tx.send(()).unwrap();
                // Still inside this poll when `drop(inner)` starts: the drop must wait for it.
                std::thread::sleep(Duration::from_millis(100));
                std::future::pending::<()>().await
            });
            polled_rx.recv().unwrap();
            drop(inner); // on a worker of `outer`
            dropped.load(Ordering::SeqCst)
        }))
        .unwrap();
    assert!(
        dropped_before_return,
        "the inner runtime's task was still alive after drop returned"
    );
}

// ---------------------------------------------------------------------------------------------
// 4. spawn_blocking that block_ons another spawn_blocking.

#[test]
fn spawn_blocking_that_block_ons_another_spawn_blocking_does_not_hang() {
    let out = within(Duration::from_secs(30), || {
        // One compute thread: the inner job can only run if the waiting thread helps.
        let rt = rt(1, 1);
        let one = rt.block_on(rt.spawn_blocking(|| {
            let handle = Handle::current();
            handle.block_on(handle.spawn_blocking(|| 21)).unwrap() * 2
        }));
        // N closures on N threads, each waiting for a nested job.
        let rt2 = rt_with(2);
        let many: Vec<_> = (0..2u64)
            .map(|i| {
                rt2.spawn_blocking(move || {
                    let handle = Handle::current();
                    let inner = handle.spawn_blocking(move || {
                        let h = Handle::current();
                        h.block_on(h.spawn_blocking(move || i + 1)).unwrap()
                    });
                    handle.block_on(inner).unwrap() * 10
                })
            })
            .collect();
        let many: Vec<u64> = many.into_iter().map(|h| rt2.block_on(h).unwrap()).collect();
        (one.unwrap(), many)
    });
    assert_eq!(out, (42, vec![10, 20]));
}

fn rt_with(compute: usize) -> Runtime {
    rt(1, compute)
}

// ---------------------------------------------------------------------------------------------
// 5. Builder::build returns InvalidInput instead of panicking.

#[test]
fn builder_returns_invalid_input_for_huge_counts_and_nul_names() {
    for builder in [
        Builder::new().worker_threads(65_535),
        Builder::new().worker_threads(usize::MAX),
        Builder::new().compute_threads(1_000_000),
        Builder::new().thread_name("bad\0name"),
        Builder::new().worker_threads(0),
    ] {
        let err = builder.build().unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{err}");
    }
    let err = Builder::new().thread_name("a\0b").build().unwrap_err();
    assert!(err.to_string().contains("NUL"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// 6. Dropping a Runtime from a thread-local destructor does not abort (child process).

const CHILD_ENV: &str = "SPINDLE_SOUNDNESS_CHILD";

fn run_in_child(test: &str) {
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, test)
        .status()
        .unwrap();
    assert!(status.success(), "the child process failed: {status}");
}

fn is_child(test: &str) -> bool {
    std::env::var(CHILD_ENV).is_ok_and(|v| v == test)
}

#[test]
fn dropping_a_runtime_in_a_thread_local_destructor_does_not_abort() {
    const NAME: &str = "dropping_a_runtime_in_a_thread_local_destructor_does_not_abort";
    if !is_child(NAME) {
        return run_in_child(NAME);
    }
    thread_local! {
        static KEPT: RefCell<Option<Runtime>> = const { RefCell::new(None) };
    }
    let dropped = Arc::new(AtomicBool::new(false));
    let d = dropped.clone();
    std::thread::spawn(move || {
        // Registered first, so destroyed after spindle's own thread-locals (glibc runs them in
        // reverse order of registration).
        KEPT.with(|_| {});
        let rt = rt(1, 1);
        struct Flag(Arc<AtomicBool>);
        impl Drop for Flag {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let flag = Flag(d);
        let (polled_tx, polled_rx) = mpsc::channel();
        rt.spawn(async move {
            let _flag = flag;
            polled_tx.send(()).unwrap();
            std::future::pending::<()>().await
        });
        polled_rx.recv().unwrap();
        // Touch spindle's thread-locals on this thread (context, block_on).
        rt.block_on(async { spindle::time::sleep(Duration::from_millis(1)).await });
        KEPT.with(|k| *k.borrow_mut() = Some(rt));
    })
    .join()
    .unwrap();
    assert!(dropped.load(Ordering::SeqCst));
}

// ---------------------------------------------------------------------------------------------
// 7. EnterGuards dropped out of order never leave a dropped runtime current.

#[test]
fn enter_guards_dropped_out_of_order_restore_the_live_runtime() {
    let a = rt(1, 1);
    let b = rt(1, 1);
    let guard_a = a.handle().enter();
    let guard_b = b.handle().enter();
    drop(guard_a); // out of order
    // b's guard is alive: b is current.
    let on_b = spindle::spawn(async { std::thread::current().name().map(str::to_string) });
    assert!(b.block_on(on_b).unwrap().is_some());
    drop(a);
    drop(guard_b);
    assert!(
        Handle::try_current().is_none(),
        "no guard is alive, so no runtime may be current"
    );
    drop(b);
    // Nested in order still restores each level.
    let c = rt(1, 1);
    let d = rt(1, 1);
    {
        let _c = c.handle().enter();
        {
            let _d = d.handle().enter();
            let here = Handle::current();
            let task = here.spawn(async { 1 });
            assert_eq!(d.block_on(task).unwrap(), 1);
        }
        assert!(Handle::try_current().is_some());
    }
    assert!(Handle::try_current().is_none());
}

// ---------------------------------------------------------------------------------------------
// 8. A panicking task's future (and a group child's and body's) is dropped while panicking.

struct RecordPanicking(Arc<Mutex<Vec<bool>>>);
impl Drop for RecordPanicking {
    fn drop(&mut self) {
        self.0.lock().unwrap().push(std::thread::panicking());
    }
}

/// A future that panics when polled. Its state is a field, not an async block's local, so it is
/// dropped by whoever drops the future, not by the panic's own unwinding of the poll frame.
struct PanicOnPoll<T> {
    _guard: RecordPanicking,
    _output: std::marker::PhantomData<fn() -> T>,
}

impl<T> PanicOnPoll<T> {
    fn new(seen: &Arc<Mutex<Vec<bool>>>) -> Self {
        PanicOnPoll {
            _guard: RecordPanicking(seen.clone()),
            _output: std::marker::PhantomData,
        }
    }
}

impl<T> Future for PanicOnPoll<T> {
    type Output = T;
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<T> {
        panic!("poll panicked");
    }
}

#[test]
fn a_panicking_future_is_dropped_while_the_panic_unwinds() {
    let rt = rt(2, 1);
    let seen = Arc::new(Mutex::new(Vec::new()));

    let err = rt
        .block_on(rt.spawn(PanicOnPoll::<()>::new(&seen)))
        .unwrap_err();
    assert!(err.is_panic());

    let child = PanicOnPoll::<Result<(), ()>>::new(&seen);
    let group = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(spindle::task_group(|g| async move {
            g.spawn(child);
            Ok::<(), ()>(())
        }))
    }));
    assert!(group.is_err());

    let body = PanicOnPoll::<Result<(), ()>>::new(&seen);
    let group = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(spindle::task_group(|_g: spindle::TaskGroup<()>| body))
    }));
    assert!(group.is_err());

    assert_eq!(*seen.lock().unwrap(), vec![true, true, true]);
}

// ---------------------------------------------------------------------------------------------
// Waiters that are dropped mid-wait (the shape of the original miri finding): many aborted
// tasks blocked on an intrusive-style notify, then the notifier runs.

#[test]
fn aborting_tasks_blocked_in_a_group_leaves_nothing_behind() {
    let rt = rt(2, 1);
    let alive = Arc::new(AtomicUsize::new(0));
    struct Alive(Arc<AtomicUsize>);
    impl Drop for Alive {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }
    for _ in 0..20 {
        let alive2 = alive.clone();
        let r = rt.block_on(spindle::task_group(|g| async move {
            for _ in 0..50 {
                alive2.fetch_add(1, Ordering::SeqCst);
                let a = Alive(alive2.clone());
                g.spawn(async move {
                    let _a = a;
                    std::future::pending::<()>().await;
                    #[allow(unreachable_code)]
                    Ok::<(), &str>(())
                });
            }
            spindle::yield_now().await;
            Err::<(), _>("stop")
        }));
        assert!(r.is_err());
        assert_eq!(alive.load(Ordering::SeqCst), 0);
    }
}
