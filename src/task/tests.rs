//! Unit tests of the task cell, its wakers and the JoinHandle against a mock scheduler: no
//! runtime, no worker threads, so they also run under miri (`.ci/miri.sh`), which checks the
//! raw-pointer and `UnsafeCell` code for undefined behaviour and, in the threaded tests, for
//! data races.

use super::raw::RawTask;
use super::{JoinHandle, Notified, OwnedTasks, Schedule};
use crate::loom::sync::atomic::{AtomicUsize, Ordering};
use crate::loom::sync::{Arc, Mutex};
use std::collections::VecDeque;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll, Wake, Waker};

// ---- the mock scheduler ----

#[derive(Default)]
struct Counters {
    scheduled: AtomicUsize,
    yielded: AtomicUsize,
    freed: AtomicUsize,
}

struct MockInner {
    queue: Mutex<VecDeque<Notified>>,
    owned: OwnedTasks,
    counters: Counters,
}

/// One per task cell (its drop is the cell's deallocation).
struct Mock {
    inner: Arc<MockInner>,
}

impl Schedule for Mock {
    fn schedule(&self, task: Notified) {
        self.inner.counters.scheduled.fetch_add(1, Ordering::SeqCst);
        crate::loom::lock(&self.inner.queue).push_back(task);
    }

    fn yield_now(&self, task: Notified) {
        self.inner.counters.yielded.fetch_add(1, Ordering::SeqCst);
        crate::loom::lock(&self.inner.queue).push_back(task);
    }

    fn owned_tasks(&self) -> &OwnedTasks {
        &self.inner.owned
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        self.inner.counters.freed.fetch_add(1, Ordering::SeqCst);
    }
}

struct Harness {
    inner: Arc<MockInner>,
}

impl Harness {
    fn new() -> Harness {
        Harness {
            inner: Arc::new(MockInner {
                queue: Mutex::new(VecDeque::new()),
                owned: OwnedTasks::new(1),
                counters: Counters::default(),
            }),
        }
    }

    /// A new task; its first `Notified` is returned, not queued.
    fn task<F>(&self, future: F) -> (Notified, JoinHandle<F::Output>)
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        super::new_task(
            future,
            Mock {
                inner: self.inner.clone(),
            },
            super::Meta::here(),
        )
    }

    fn pop(&self) -> Option<Notified> {
        crate::loom::lock(&self.inner.queue).pop_front()
    }

    fn queued(&self) -> usize {
        crate::loom::lock(&self.inner.queue).len()
    }

    fn run_all(&self) -> usize {
        let mut ran = 0;
        while let Some(task) = self.pop() {
            task.run();
            ran += 1;
        }
        ran
    }

    fn scheduled(&self) -> usize {
        self.inner.counters.scheduled.load(Ordering::SeqCst)
    }

    fn yielded(&self) -> usize {
        self.inner.counters.yielded.load(Ordering::SeqCst)
    }

    fn freed(&self) -> usize {
        self.inner.counters.freed.load(Ordering::SeqCst)
    }

    fn shutdown(&self) {
        loop {
            let drained: Vec<Notified> = crate::loom::lock(&self.inner.queue).drain(..).collect();
            drop(drained);
            super::shutdown_all(&self.inner.owned);
            if self.queued() == 0 {
                break;
            }
        }
    }
}

// ---- test futures and wakers ----

/// A waker counting its wakes (std `Wake`, not a task waker).
#[derive(Default)]
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counting_waker() -> (std::sync::Arc<CountingWaker>, Waker) {
    let count = std::sync::Arc::new(CountingWaker::default());
    (count.clone(), Waker::from(count))
}

fn wakes(count: &CountingWaker) -> usize {
    count.0.load(Ordering::SeqCst)
}

fn poll_join<T>(join: &mut JoinHandle<T>, waker: &Waker) -> Poll<Result<T, super::JoinError>> {
    Pin::new(join).poll(&mut Context::from_waker(waker))
}

/// Counts drops.
#[derive(Clone, Default)]
struct Drops(Arc<AtomicUsize>);

impl Drops {
    fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

struct Tracked<T> {
    value: T,
    drops: Drops,
    panic_on_drop: bool,
}

impl<T> Drop for Tracked<T> {
    fn drop(&mut self) {
        self.drops.0.fetch_add(1, Ordering::SeqCst);
        if self.panic_on_drop {
            panic!("destructor panic");
        }
    }
}

fn tracked<T>(value: T, drops: &Drops) -> Tracked<T> {
    Tracked {
        value,
        drops: drops.clone(),
        panic_on_drop: false,
    }
}

/// Pending `pending_polls` times (storing the waker each time), then `Ready(polls)`.
struct Script {
    polls: usize,
    pending_polls: usize,
    waker: Arc<Mutex<Option<Waker>>>,
    wake_self: bool,
}

impl Script {
    fn new(pending_polls: usize) -> (Script, Arc<Mutex<Option<Waker>>>) {
        let slot = Arc::new(Mutex::new(None));
        let script = Script {
            polls: 0,
            pending_polls,
            waker: slot.clone(),
            wake_self: false,
        };
        (script, slot)
    }
}

impl Future for Script {
    type Output = usize;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        self.polls += 1;
        if self.polls > self.pending_polls {
            return Poll::Ready(self.polls);
        }
        *crate::loom::lock(&self.waker) = Some(cx.waker().clone());
        if self.wake_self {
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}

fn take(slot: &Mutex<Option<Waker>>) -> Waker {
    crate::loom::lock(slot)
        .take()
        .expect("the task stored a waker")
}

fn refs(raw: RawTask) -> usize {
    raw.state().load().ref_count()
}

// ---- single-threaded tests ----

#[test]
fn completes_in_one_poll_and_hands_over_the_output() {
    let h = Harness::new();
    let (task, mut join) = h.task(async { String::from("done") });
    let raw = task.raw();
    assert_eq!(refs(raw), 2, "Notified + JoinHandle");
    let (count, waker) = counting_waker();
    assert!(poll_join(&mut join, &waker).is_pending());
    task.run();
    assert_eq!(
        wakes(&count),
        1,
        "the JoinHandle's waker is woken at completion"
    );
    assert!(join.is_finished());
    assert_eq!(refs(raw), 1, "only the JoinHandle is left");
    match poll_join(&mut join, &waker) {
        Poll::Ready(Ok(s)) => assert_eq!(s, "done"),
        _ => panic!("expected the output"),
    }
    assert_eq!(h.freed(), 0);
    drop(join);
    assert_eq!(h.freed(), 1);
}

#[test]
fn wakers_count_references_and_wake_once_while_idle() {
    let h = Harness::new();
    let (script, slot) = Script::new(1);
    let (task, mut join) = h.task(script);
    let raw = task.raw();
    task.run(); // Pending: registered (+1), stored a waker clone (+1), poller ref released
    assert_eq!(refs(raw), 3, "JoinHandle + registry + stored waker");
    let waker = take(&slot);
    let clone = waker.clone();
    assert_eq!(refs(raw), 4);
    clone.wake_by_ref(); // idle: queue it (+1 for the Notified)
    clone.wake_by_ref(); // already scheduled: nothing
    assert_eq!(h.queued(), 1);
    assert_eq!(refs(raw), 5);
    drop(clone);
    waker.wake(); // scheduled: drops its own reference
    assert_eq!(refs(raw), 3);
    assert_eq!(h.scheduled(), 1);
    assert_eq!(h.run_all(), 1); // Ready; leaves the registry
    let (_, noop) = counting_waker();
    assert!(matches!(poll_join(&mut join, &noop), Poll::Ready(Ok(2))));
    drop(join);
    assert_eq!(h.freed(), 1);
}

#[test]
fn wake_while_running_requeues_through_yield_now() {
    let h = Harness::new();
    let (mut script, slot) = Script::new(1);
    script.wake_self = true;
    let (task, join) = h.task(script);
    task.run();
    assert_eq!(h.yielded(), 1);
    assert_eq!(h.scheduled(), 0);
    assert_eq!(h.run_all(), 1);
    assert!(join.is_finished());
    drop((join, slot));
    assert_eq!(h.freed(), 1);
}

#[test]
fn abort_of_an_idle_task_cancels_it_on_the_next_run() {
    let h = Harness::new();
    let drops = Drops::default();
    let (script, slot) = Script::new(usize::MAX);
    let guard = tracked((), &drops);
    let (task, mut join) = h.task(async move {
        let _guard = guard;
        script.await
    });
    task.run();
    join.abort();
    join.abort(); // a second abort does nothing
    assert_eq!(h.queued(), 1);
    assert_eq!(
        drops.get(),
        0,
        "the future is dropped on a runtime thread, not in abort"
    );
    h.run_all();
    assert_eq!(drops.get(), 1);
    let (_, waker) = counting_waker();
    match poll_join(&mut join, &waker) {
        Poll::Ready(Err(e)) => assert!(e.is_cancelled()),
        _ => panic!("expected cancelled"),
    }
    // A late wake of the cancelled task does nothing but drop its reference.
    take(&slot).wake();
    assert_eq!(h.queued(), 0);
    drop(join);
    assert_eq!(h.freed(), 1);
}

#[test]
fn abort_after_completion_keeps_the_output() {
    let h = Harness::new();
    let (task, mut join) = h.task(async { 9 });
    task.run();
    let abort = join.abort_handle();
    abort.abort();
    assert!(abort.is_finished());
    let (_, waker) = counting_waker();
    assert!(matches!(poll_join(&mut join, &waker), Poll::Ready(Ok(9))));
    drop((join, abort));
    assert_eq!(h.freed(), 1);
}

#[test]
fn dropping_the_join_handle_first_lets_the_completer_drop_the_output() {
    let h = Harness::new();
    let drops = Drops::default();
    let d = drops.clone();
    let (task, join) = h.task(async move { tracked(1, &d) });
    drop(join);
    assert_eq!(h.freed(), 0, "the Notified still holds the cell");
    task.run();
    assert_eq!(drops.get(), 1);
    assert_eq!(h.freed(), 1);
}

#[test]
fn dropping_the_join_handle_after_completion_drops_the_unread_output() {
    let h = Harness::new();
    let drops = Drops::default();
    let d = drops.clone();
    let (task, join) = h.task(async move { tracked(1, &d) });
    task.run();
    assert_eq!(drops.get(), 0);
    drop(join);
    assert_eq!(drops.get(), 1);
    assert_eq!(h.freed(), 1);
}

#[test]
fn output_read_through_the_join_handle_is_not_dropped_again() {
    let h = Harness::new();
    let drops = Drops::default();
    let d = drops.clone();
    let (task, mut join) = h.task(async move { tracked(5, &d) });
    task.run();
    let (_, waker) = counting_waker();
    let output = match poll_join(&mut join, &waker) {
        Poll::Ready(Ok(output)) => output,
        _ => panic!("expected the output"),
    };
    assert_eq!(output.value, 5);
    drop(join);
    assert_eq!(drops.get(), 0);
    drop(output);
    assert_eq!(drops.get(), 1);
    assert_eq!(h.freed(), 1);
}

#[test]
fn join_waker_is_replaced_only_for_another_task() {
    let h = Harness::new();
    let (script, slot) = Script::new(1);
    let (task, mut join) = h.task(script);
    task.run();
    let (first_count, first) = counting_waker();
    let (second_count, second) = counting_waker();
    assert!(poll_join(&mut join, &first).is_pending());
    assert!(poll_join(&mut join, &first).is_pending()); // same waker: kept
    assert!(poll_join(&mut join, &second).is_pending()); // replaced
    take(&slot).wake();
    h.run_all();
    assert_eq!(wakes(&first_count), 0);
    assert_eq!(wakes(&second_count), 1);
    assert!(matches!(poll_join(&mut join, &second), Poll::Ready(Ok(2))));
    drop(join);
    assert_eq!(h.freed(), 1);
}

#[test]
fn a_panicking_poll_becomes_a_join_error_and_drops_the_future() {
    let h = Harness::new();
    let drops = Drops::default();
    let guard = tracked((), &drops);
    let (task, mut join) = h.task(async move {
        let _guard = guard;
        boom()
    });
    task.run();
    assert_eq!(drops.get(), 1);
    let (_, waker) = counting_waker();
    match poll_join(&mut join, &waker) {
        Poll::Ready(Err(e)) => {
            assert!(e.is_panic());
            assert_eq!(*e.into_panic().downcast::<&str>().unwrap(), "boom");
        }
        _ => panic!("expected a panic error"),
    }
    drop(join);
    assert_eq!(h.freed(), 1);
}

fn boom() -> u8 {
    panic!("boom")
}

/// Ready at once; its destructor (run by the task after `Ready`) panics.
struct ReadyThenPanicOnDrop(Drops);

impl Future for ReadyThenPanicOnDrop {
    type Output = u8;

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<u8> {
        Poll::Ready(3)
    }
}

impl Drop for ReadyThenPanicOnDrop {
    fn drop(&mut self) {
        self.0.0.fetch_add(1, Ordering::SeqCst);
        panic!("destructor panic");
    }
}

#[test]
fn a_panicking_future_destructor_after_ready_is_reported() {
    let h = Harness::new();
    let drops = Drops::default();
    let (task, mut join) = h.task(ReadyThenPanicOnDrop(drops.clone()));
    task.run();
    assert_eq!(drops.get(), 1);
    let (_, waker) = counting_waker();
    match poll_join(&mut join, &waker) {
        Poll::Ready(Err(e)) => assert!(e.is_panic()),
        _ => panic!("expected a panic error"),
    }
    drop(join);
    assert_eq!(h.freed(), 1);
}

#[test]
fn an_unread_output_that_panics_on_drop_is_swallowed_by_the_completer() {
    let h = Harness::new();
    let drops = Drops::default();
    let d = drops.clone();
    let (task, join) = h.task(async move {
        let mut out = tracked((), &d);
        out.panic_on_drop = true;
        out
    });
    drop(join);
    task.run(); // must not unwind
    assert_eq!(drops.get(), 1);
    assert_eq!(h.freed(), 1);
}

#[test]
fn dropping_a_notified_cancels_its_task() {
    let h = Harness::new();
    let drops = Drops::default();
    let guard = tracked((), &drops);
    let (task, mut join) = h.task(async move {
        let _guard = guard;
    });
    drop(task);
    assert_eq!(drops.get(), 1);
    let (_, waker) = counting_waker();
    match poll_join(&mut join, &waker) {
        Poll::Ready(Err(e)) => assert!(e.is_cancelled()),
        _ => panic!("expected cancelled"),
    }
    drop(join);
    assert_eq!(h.freed(), 1);
}

#[test]
fn shutdown_cancels_idle_and_queued_tasks_and_refuses_new_registrations() {
    let h = Harness::new();
    let drops = Drops::default();
    let (idle_script, idle_slot) = Script::new(usize::MAX);
    let g1 = tracked((), &drops);
    let (idle, mut idle_join) = h.task(async move {
        let _g = g1;
        idle_script.await
    });
    idle.run(); // registered, idle
    let (queued_script, queued_slot) = Script::new(usize::MAX);
    let g2 = tracked((), &drops);
    let (queued, mut queued_join) = h.task(async move {
        let _g = g2;
        queued_script.await
    });
    queued.run();
    take(&queued_slot).wake(); // idle -> queued
    assert_eq!(h.queued(), 1);

    h.shutdown();
    assert_eq!(drops.get(), 2);
    let (_, waker) = counting_waker();
    for join in [&mut idle_join, &mut queued_join] {
        match poll_join(join, &waker) {
            Poll::Ready(Err(e)) => assert!(e.is_cancelled()),
            _ => panic!("expected cancelled"),
        }
    }
    // A task that first goes idle after shutdown is cancelled instead of registered.
    let (late_script, _late_slot) = Script::new(usize::MAX);
    let (late, mut late_join) = h.task(late_script);
    late.run();
    match poll_join(&mut late_join, &waker) {
        Poll::Ready(Err(e)) => assert!(e.is_cancelled()),
        _ => panic!("expected cancelled"),
    }
    // Late wakes of the cancelled tasks do nothing.
    take(&idle_slot).wake();
    assert_eq!(h.queued(), 0);
    drop((idle_join, queued_join, late_join, _late_slot));
    assert_eq!(h.freed(), 3);
}

#[test]
fn yield_now_requeues_behind_ready_work() {
    let h = Harness::new();
    let order = Arc::new(Mutex::new(Vec::new()));
    let o1 = order.clone();
    let (a, join_a) = h.task(async move {
        crate::loom::lock(&o1).push("a1");
        super::yield_now().await;
        crate::loom::lock(&o1).push("a2");
    });
    let o2 = order.clone();
    let (b, join_b) = h.task(async move {
        crate::loom::lock(&o2).push("b");
    });
    a.run();
    b.run();
    h.run_all();
    assert_eq!(*crate::loom::lock(&order), ["a1", "b", "a2"]);
    assert_eq!(h.yielded(), 1);
    drop((join_a, join_b));
    assert_eq!(h.freed(), 2);
}

// ---- threaded tests (miri checks these for data races) ----

#[test]
fn join_handle_drop_races_completion_on_threads() {
    for _ in 0..8 {
        let h = Harness::new();
        let drops = Drops::default();
        let d = drops.clone();
        let (task, join) = h.task(async move { tracked(vec![1u8, 2, 3], &d) });
        let dropper = std::thread::spawn(move || drop(join));
        task.run();
        dropper.join().unwrap();
        assert_eq!(drops.get(), 1);
        assert_eq!(h.freed(), 1);
    }
}

#[test]
fn join_handle_poll_races_completion_on_threads() {
    for _ in 0..8 {
        let h = Harness::new();
        let (task, mut join) = h.task(async { String::from("x") });
        let runner = std::thread::spawn(move || task.run());
        let (count, waker) = counting_waker();
        let mut got = None;
        while got.is_none() {
            if let Poll::Ready(out) = poll_join(&mut join, &waker) {
                got = Some(out.unwrap());
            } else {
                std::thread::yield_now();
            }
        }
        runner.join().unwrap();
        assert_eq!(got.as_deref(), Some("x"));
        assert!(wakes(&count) <= 1);
        drop(join);
        assert_eq!(h.freed(), 1);
    }
}

#[test]
fn wakes_and_aborts_from_threads_run_the_task_at_most_once_more() {
    for _ in 0..4 {
        let h = Harness::new();
        let (script, slot) = Script::new(usize::MAX);
        let (task, mut join) = h.task(script);
        task.run();
        let waker = take(&slot);
        let abort = join.abort_handle();
        let threads = [
            std::thread::spawn({
                let w = waker.clone();
                move || w.wake()
            }),
            std::thread::spawn(move || waker.wake_by_ref()),
            std::thread::spawn(move || abort.abort()),
        ];
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(h.queued(), 1, "one Notified, whoever came first");
        h.run_all();
        let (_, w) = counting_waker();
        match poll_join(&mut join, &w) {
            Poll::Ready(Err(e)) => assert!(e.is_cancelled()),
            _ => panic!("expected cancelled"),
        }
        drop((join, slot));
        assert_eq!(h.freed(), 1);
    }
}

#[test]
fn a_panic_unwinding_out_of_the_join_waker_does_not_reach_the_worker() {
    struct PanickingWaker;
    impl Wake for PanickingWaker {
        fn wake(self: std::sync::Arc<Self>) {
            panic!("waker panic");
        }
    }
    let h = Harness::new();
    let (task, mut join) = h.task(async { 1 });
    let waker = Waker::from(std::sync::Arc::new(PanickingWaker));
    assert!(poll_join(&mut join, &waker).is_pending());
    let ran = catch_unwind(AssertUnwindSafe(|| task.run()));
    assert!(ran.is_ok(), "the completer swallows the waker's panic");
    assert!(matches!(poll_join(&mut join, &waker), Poll::Ready(Ok(1))));
    drop(join);
    assert_eq!(h.freed(), 1);
}

// ---- a scheduler that cancels the task inside `schedule` ----

/// Simulates, deterministically, another thread's runtime shutdown landing inside `schedule`:
/// the registry is drained (the task, scheduled but not running, is cancelled) and then the
/// `Notified` is dropped, as `Shared::push_remote` does after shutdown.
struct ClosingMock {
    owned: Arc<OwnedTasks>,
    freed: Drops,
}

impl Schedule for ClosingMock {
    fn schedule(&self, task: Notified) {
        super::shutdown_all(&self.owned);
        drop(task);
    }

    fn owned_tasks(&self) -> &OwnedTasks {
        &self.owned
    }
}

impl Drop for ClosingMock {
    fn drop(&mut self) {
        self.freed.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Every other reference is gone when the wake's `Notified` is dropped inside `schedule`: the
/// cell must not be freed while `schedule`'s `&self` (the scheduler inside the cell) is live
/// (miri reports that as undefined behaviour), and it must be freed exactly once afterwards.
#[test]
fn a_notified_dropped_inside_schedule_does_not_free_the_cell_under_it() {
    let freed = Drops::default();
    let owned = Arc::new(OwnedTasks::new(1));
    let (script, slot) = Script::new(usize::MAX);
    let scheduler = ClosingMock {
        owned: owned.clone(),
        freed: freed.clone(),
    };
    let (task, join) = super::new_task(script, scheduler, super::Meta::here());
    task.run(); // idle, registered
    drop(join);
    let waker = take(&slot);
    drop(slot);
    assert_eq!(freed.get(), 0);
    waker.wake(); // by value: the task is idle, so it is scheduled
    assert_eq!(freed.get(), 1);
}
