//! Deterministic tests of the state machines spindle implements itself (Notify, Semaphore,
//! broadcast, watch, OnceCell): futures are polled by hand with counting wakers, so every
//! ordering is exact. The runtime-level behaviour is in `tests/sync.rs`.

use super::*;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};

/// A waker that counts its wakes.
struct Counter(AtomicUsize);

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counter() -> (Arc<Counter>, Waker) {
    let c = Arc::new(Counter(AtomicUsize::new(0)));
    (c.clone(), Waker::from(c))
}

fn wakes(c: &Counter) -> usize {
    c.0.load(Ordering::SeqCst)
}

fn poll<F: Future + Unpin>(f: &mut F, waker: &Waker) -> Poll<F::Output> {
    Pin::new(f).poll(&mut Context::from_waker(waker))
}

fn poll_pinned<F: Future>(f: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(waker))
}

// ----- Notify -------------------------------------------------------------------------------

#[test]
fn notify_one_without_waiter_stores_exactly_one_permit() {
    let notify = Notify::new();
    let (_, w) = counter();
    notify.notify_one();
    notify.notify_one();
    notify.notify_one();
    assert!(
        poll(&mut notify.notified(), &w).is_ready(),
        "the stored permit"
    );
    let mut second = notify.notified();
    assert!(
        poll(&mut second, &w).is_pending(),
        "only one permit was stored"
    );
    notify.notify_one();
    assert!(poll(&mut second, &w).is_ready());
}

#[test]
fn notify_waiters_stores_nothing_and_reaches_unpolled_futures() {
    let notify = Notify::new();
    let (ca, wa) = counter();
    let (_, w) = counter();
    let mut polled = notify.notified();
    assert!(poll(&mut polled, &wa).is_pending());
    let mut unpolled = notify.notified(); // created before the call, never polled
    notify.notify_waiters();
    assert_eq!(wakes(&ca), 1);
    assert!(poll(&mut polled, &wa).is_ready());
    assert!(
        poll(&mut unpolled, &w).is_ready(),
        "created before notify_waiters"
    );
    let mut after = notify.notified();
    assert!(
        poll(&mut after, &w).is_pending(),
        "notify_waiters stored a permit"
    );
}

#[test]
fn notify_one_is_fifo_and_wakes_exactly_once() {
    let notify = Notify::new();
    let (ca, wa) = counter();
    let (cb, wb) = counter();
    let (cc, wc) = counter();
    let (mut a, mut b, mut c) = (notify.notified(), notify.notified(), notify.notified());
    assert!(poll(&mut a, &wa).is_pending());
    assert!(poll(&mut b, &wb).is_pending());
    assert!(poll(&mut c, &wc).is_pending());
    notify.notify_one();
    assert_eq!((wakes(&ca), wakes(&cb), wakes(&cc)), (1, 0, 0));
    assert!(poll(&mut b, &wb).is_pending(), "b is not first");
    assert!(poll(&mut a, &wa).is_ready());
    notify.notify_one();
    assert_eq!((wakes(&ca), wakes(&cb), wakes(&cc)), (1, 1, 0));
    assert!(poll(&mut b, &wb).is_ready());
    assert!(poll(&mut c, &wc).is_pending());
}

#[test]
fn notify_last_is_lifo() {
    let notify = Notify::new();
    let (_, w) = counter();
    let (mut a, mut b) = (notify.notified(), notify.notified());
    assert!(poll(&mut a, &w).is_pending());
    assert!(poll(&mut b, &w).is_pending());
    notify.notify_last();
    assert!(poll(&mut a, &w).is_pending());
    assert!(poll(&mut b, &w).is_ready());
}

#[test]
fn dropped_notified_waiter_forwards_its_notification() {
    let notify = Notify::new();
    let (_, wa) = counter();
    let (cb, wb) = counter();
    let mut a = notify.notified();
    let mut b = notify.notified();
    assert!(poll(&mut a, &wa).is_pending());
    assert!(poll(&mut b, &wb).is_pending());
    notify.notify_one(); // goes to `a`
    drop(a); // never consumed: passed on to `b`
    assert_eq!(wakes(&cb), 1);
    assert!(poll(&mut b, &wb).is_ready());

    // With nobody left to forward to, it becomes the stored permit.
    let mut c = notify.notified();
    assert!(poll(&mut c, &wa).is_pending());
    notify.notify_one();
    drop(c);
    assert!(poll(&mut notify.notified(), &wa).is_ready());
    // A waiter dropped after notify_waiters forwards nothing.
    let mut d = notify.notified();
    assert!(poll(&mut d, &wa).is_pending());
    notify.notify_waiters();
    drop(d);
    assert!(poll(&mut notify.notified(), &wa).is_pending());
}

#[test]
fn enable_registers_before_the_first_poll() {
    let notify = Notify::new();
    let (_, w) = counter();
    let mut n = std::pin::pin!(notify.notified());
    assert!(!n.as_mut().enable());
    notify.notify_one(); // to the enabled waiter, not to a permit
    assert!(n.as_mut().enable(), "enable reports the notification");
    assert!(poll_pinned(n.as_mut(), &w).is_ready());
    assert!(
        poll(&mut notify.notified(), &w).is_pending(),
        "no permit was stored"
    );
}

// ----- Semaphore ----------------------------------------------------------------------------

#[test]
fn semaphore_hands_permits_to_the_head_in_order() {
    let sem = Semaphore::new(0);
    let (ca, wa) = counter();
    let (cb, wb) = counter();
    let mut a = std::pin::pin!(sem.acquire_many(2));
    let mut b = std::pin::pin!(sem.acquire());
    assert!(poll_pinned(a.as_mut(), &wa).is_pending());
    assert!(poll_pinned(b.as_mut(), &wb).is_pending());
    sem.add_permits(1); // goes to `a` (the head), which still needs one more
    assert_eq!((wakes(&ca), wakes(&cb)), (0, 0));
    assert!(sem.try_acquire().is_none(), "try_acquire overtook a waiter");
    assert_eq!(
        (wakes(&ca), wakes(&cb)),
        (0, 0),
        "a failed try_acquire released permits"
    );
    assert_eq!(sem.available_permits(), 0);
    sem.add_permits(1);
    assert_eq!((wakes(&ca), wakes(&cb)), (1, 0));
    let permit_a = match poll_pinned(a.as_mut(), &wa) {
        Poll::Ready(p) => p,
        Poll::Pending => panic!("a was served"),
    };
    assert_eq!(permit_a.num_permits(), 2);
    assert!(poll_pinned(b.as_mut(), &wb).is_pending());
    drop(permit_a); // both back: one to `b`, one free
    assert_eq!(wakes(&cb), 1);
    let permit_b = poll_pinned(b.as_mut(), &wb);
    assert!(permit_b.is_ready());
    assert_eq!(sem.available_permits(), 1);
    drop(permit_b);
    assert_eq!(sem.available_permits(), 2);
}

#[test]
fn semaphore_cancelled_waiter_gives_back_what_it_collected() {
    let sem = Semaphore::new(1);
    let (_, w) = counter();
    let (cb, wb) = counter();
    let mut a = Box::pin(sem.acquire_many(3));
    assert!(poll_pinned(a.as_mut(), &w).is_pending()); // collected the free permit
    let mut b = Box::pin(sem.acquire());
    assert!(poll_pinned(b.as_mut(), &wb).is_pending());
    assert_eq!(sem.available_permits(), 0);
    drop(a);
    assert_eq!(wakes(&cb), 1, "the permit `a` collected went to `b`");
    assert!(poll_pinned(b.as_mut(), &wb).is_ready());
}

#[test]
fn semaphore_close_fails_waiters_and_returns_their_permits() {
    let sem = Semaphore::new(1);
    let (ca, wa) = counter();
    let mut a = Box::pin(sem.acquire_many_checked(2));
    assert!(poll_pinned(a.as_mut(), &wa).is_pending());
    sem.close();
    assert_eq!(wakes(&ca), 1);
    match poll_pinned(a.as_mut(), &wa) {
        Poll::Ready(Err(AcquireError { .. })) => {}
        other => panic!("expected AcquireError, got {:?}", other.map(|r| r.is_ok())),
    }
    assert_eq!(sem.available_permits(), 1, "collected permit returned");
    assert!(sem.try_acquire().is_none(), "closed");
}

#[test]
fn semaphore_permit_split_merge_forget() {
    let sem = Semaphore::new(4);
    let mut p = sem.try_acquire_many(3).unwrap();
    assert!(p.split(4).is_none());
    let q = p.split(1).unwrap();
    assert_eq!(
        (p.num_permits(), q.num_permits(), sem.available_permits()),
        (2, 1, 1)
    );
    p.merge(q);
    assert_eq!(p.num_permits(), 3);
    p.forget();
    assert_eq!(sem.available_permits(), 1);
}

// ----- broadcast ----------------------------------------------------------------------------

/// Counts clones and drops of itself.
#[derive(Debug)]
struct Tracked {
    clones: Arc<AtomicUsize>,
    drops: Arc<AtomicUsize>,
}

impl Clone for Tracked {
    fn clone(&self) -> Tracked {
        self.clones.fetch_add(1, Ordering::SeqCst);
        Tracked {
            clones: self.clones.clone(),
            drops: self.drops.clone(),
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn broadcast_lag_is_exact_per_receiver_then_recovers() {
    use broadcast::error::TryRecvError;
    let (tx, mut fast) = broadcast::channel(4);
    let mut slow = tx.subscribe();
    for i in 0..3 {
        tx.send(i).unwrap();
        assert_eq!(fast.try_recv(), Ok(i));
    }
    for i in 3..10 {
        tx.send(i).unwrap();
    }
    // Retained: 6, 7, 8, 9. `slow` never read: missed 0..=5; `fast` read 0..=2: missed 3..=5.
    assert_eq!(slow.try_recv(), Err(TryRecvError::Lagged(6)));
    assert_eq!(fast.try_recv(), Err(TryRecvError::Lagged(3)));
    for i in 6..10 {
        assert_eq!(slow.try_recv(), Ok(i));
        assert_eq!(fast.try_recv(), Ok(i));
    }
    assert_eq!(slow.try_recv(), Err(TryRecvError::Empty));
    drop(tx);
    assert_eq!(slow.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn broadcast_last_reader_takes_and_unread_values_are_dropped() {
    let clones = Arc::new(AtomicUsize::new(0));
    let drops = Arc::new(AtomicUsize::new(0));
    let make = || Tracked {
        clones: clones.clone(),
        drops: drops.clone(),
    };
    let (tx, mut a) = broadcast::channel(8);
    let mut b = tx.subscribe();
    let mut c = tx.subscribe();
    tx.send(make()).unwrap();
    drop(a.try_recv().unwrap());
    drop(b.try_recv().unwrap());
    drop(c.try_recv().unwrap()); // the last reader: no clone
    assert_eq!(clones.load(Ordering::SeqCst), 2);
    assert_eq!(drops.load(Ordering::SeqCst), 3);
    // Unread messages are freed as soon as no receiver needs them.
    tx.send(make()).unwrap();
    tx.send(make()).unwrap();
    drop(a);
    drop(b);
    assert_eq!(drops.load(Ordering::SeqCst), 3, "c still needs them");
    drop(c);
    assert_eq!(drops.load(Ordering::SeqCst), 5);
    assert_eq!(tx.len(), 0);
}

#[test]
fn broadcast_without_receivers_refuses_then_subscribe_works() {
    let (tx, rx) = broadcast::channel::<u32>(2);
    drop(rx);
    assert_eq!(tx.send(1).unwrap_err().0, 1);
    let mut rx = tx.subscribe();
    assert_eq!(tx.send(2), Ok(1));
    assert_eq!(rx.try_recv(), Ok(2));
}

#[test]
fn broadcast_value_destructor_may_use_the_channel() {
    // A value whose destructor sends on the same channel: overwriting or dropping it happens
    // outside the channel's lock, so this must not deadlock.
    struct SendsOnDrop(Option<broadcast::Sender<Option<Arc<SendsOnDrop>>>>);
    impl Drop for SendsOnDrop {
        fn drop(&mut self) {
            if let Some(tx) = self.0.take() {
                let _ = tx.send(None);
            }
        }
    }
    let (tx, rx) = broadcast::channel(1);
    let bomb = Arc::new(SendsOnDrop(Some(tx.clone())));
    tx.send(Some(bomb)).unwrap();
    tx.send(None).unwrap(); // overwrites the only slot: the bomb drops and sends
    drop(rx); // and with no receiver, its own send fails quietly
}

#[test]
fn broadcast_recv_waits_then_wakes_on_send_and_close() {
    let (tx, mut rx) = broadcast::channel(2);
    let (c, w) = counter();
    {
        let mut recv = Box::pin(rx.recv());
        assert!(poll_pinned(recv.as_mut(), &w).is_pending());
        tx.send(5).unwrap();
        assert_eq!(wakes(&c), 1);
        assert_eq!(poll_pinned(recv.as_mut(), &w), Poll::Ready(Ok(5)));
    }
    let mut recv = Box::pin(rx.recv());
    assert!(poll_pinned(recv.as_mut(), &w).is_pending());
    drop(tx);
    assert_eq!(wakes(&c), 2);
    assert_eq!(
        poll_pinned(recv.as_mut(), &w),
        Poll::Ready(Err(broadcast::error::RecvError::Closed))
    );
}

// ----- watch --------------------------------------------------------------------------------

#[test]
fn watch_changed_after_sender_drop_delivers_the_unseen_value_then_errs() {
    let (tx, mut rx) = watch::channel(0);
    let (_, w) = counter();
    tx.send(1).unwrap();
    drop(tx);
    assert!(
        rx.has_changed().is_err(),
        "tokio: has_changed errs once closed"
    );
    assert_eq!(poll(&mut Box::pin(rx.changed()), &w), Poll::Ready(Ok(())));
    assert_eq!(*rx.borrow(), 1);
    assert!(matches!(
        poll(&mut Box::pin(rx.changed()), &w),
        Poll::Ready(Err(_))
    ));
}

#[test]
fn watch_changed_waits_and_is_woken() {
    let (tx, mut rx) = watch::channel("a");
    let (c, w) = counter();
    let mut changed = Box::pin(rx.changed());
    assert!(poll_pinned(changed.as_mut(), &w).is_pending());
    assert!(!tx.send_if_modified(|_| false));
    assert_eq!(wakes(&c), 0, "an unmodified value woke the receiver");
    tx.send("b").unwrap();
    assert_eq!(wakes(&c), 1);
    assert_eq!(poll_pinned(changed.as_mut(), &w), Poll::Ready(Ok(())));
    drop(changed);
    assert!(!rx.borrow().has_changed());
    assert_eq!(*rx.borrow_and_update(), "b");
}

#[test]
fn watch_receiver_clone_shares_what_was_seen_and_subscribe_sees_current() {
    let (tx, mut rx) = watch::channel(0);
    tx.send(1).unwrap();
    let clone = rx.clone();
    assert!(clone.has_changed().unwrap());
    rx.mark_unchanged();
    assert!(!rx.clone().has_changed().unwrap());
    let sub = tx.subscribe();
    assert!(!sub.has_changed().unwrap());
    assert_eq!(tx.receiver_count(), 3);
}

// ----- OnceCell -----------------------------------------------------------------------------

#[test]
fn once_cell_set_during_initialisation_reports_initializing() {
    let cell = OnceCell::new();
    let (_, w) = counter();
    let (tx, rx) = oneshot::channel::<u32>();
    let mut init = Box::pin(cell.get_or_init(|| async { rx.await.unwrap() }));
    assert!(poll_pinned(init.as_mut(), &w).is_pending());
    assert!(cell.set(1).unwrap_err().is_initializing_err());
    tx.send(2).unwrap();
    assert_eq!(poll_pinned(init.as_mut(), &w), Poll::Ready(&2));
    assert!(cell.set(3).unwrap_err().is_already_init_err());
}

#[test]
fn once_cell_drops_its_value_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    let cell = OnceCell::new();
    cell.set(Tracked {
        clones: Arc::new(AtomicUsize::new(0)),
        drops: drops.clone(),
    })
    .unwrap();
    let mut cell = cell;
    let taken = cell.take().unwrap();
    drop(cell);
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    drop(taken);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}
