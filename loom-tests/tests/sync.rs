//! The state machines spindle implements itself in `spindle::sync` (Notify, Semaphore,
//! OnceCell, watch, broadcast), raced against their notifiers: no lost wake-up (a pending
//! future is always woken and then ready), no lost or duplicated notification or permit.

#![cfg(loom)]

use loom::sync::Arc;
use loom::thread;
use loom_tests::{counting_waker, poll_once};
use spindle::sync::{Notify, OnceCell, Semaphore, broadcast, watch};
use std::task::Poll;

/// `notify_one` on another thread racing the first poll of a `Notified`: whichever wins, the
/// notification reaches the waiter (as a stored permit or a wake), and no second one exists.
#[test]
fn notify_one_racing_the_first_poll() {
    loom::model(|| {
        let notify = Arc::new(Notify::new());
        let notifier = {
            let notify = notify.clone();
            thread::spawn(move || notify.notify_one())
        };
        let (wakes, waker) = counting_waker();
        let mut notified = notify.notified();
        let first = poll_once(&mut notified, &waker);
        notifier.join().unwrap();
        if first.is_pending() {
            assert_eq!(wakes.get(), 1, "lost wake-up");
            assert!(poll_once(&mut notified, &waker).is_ready());
        }
        drop(notified);
        let mut again = notify.notified();
        assert!(
            poll_once(&mut again, &waker).is_pending(),
            "notification duplicated"
        );
    });
}

/// `notify_waiters` racing the first poll of a `Notified` created before it: always completes.
#[test]
fn notify_waiters_reaches_a_notified_created_before_it() {
    loom::model(|| {
        let notify = Arc::new(Notify::new());
        let mut notified = notify.notified();
        let notifier = {
            let notify = notify.clone();
            thread::spawn(move || notify.notify_waiters())
        };
        let (wakes, waker) = counting_waker();
        let first = poll_once(&mut notified, &waker);
        notifier.join().unwrap();
        if first.is_pending() {
            assert_eq!(wakes.get(), 1, "lost wake-up");
        }
        assert!(poll_once(&mut notified, &waker).is_ready());
    });
}

/// A waiter dropped while `notify_one` picks it: the notification goes to the other waiter,
/// never lost and never doubled.
#[test]
fn notify_one_racing_a_dropped_waiter_is_forwarded() {
    loom::model(|| {
        let notify = Arc::new(Notify::new());
        let (_, wa) = counting_waker();
        let (wakes_b, wb) = counting_waker();
        let mut a = notify.notified();
        let mut b = notify.notified();
        assert!(poll_once(&mut a, &wa).is_pending());
        assert!(poll_once(&mut b, &wb).is_pending());
        let notifier = {
            let notify = notify.clone();
            thread::spawn(move || notify.notify_one())
        };
        drop(a);
        notifier.join().unwrap();
        assert_eq!(wakes_b.get(), 1);
        assert!(poll_once(&mut b, &wb).is_ready());
        let mut c = notify.notified();
        assert!(poll_once(&mut c, &wb).is_pending(), "notification doubled");
    });
}

/// A permit released on another thread while an acquire queues: the acquirer is woken and
/// served, and the permit count ends where it started.
#[test]
fn semaphore_release_racing_acquire() {
    loom::model(|| {
        // A std Arc: the owned-permit API takes `self: std::sync::Arc<Semaphore>` (the
        // semaphore's own state is loom-modelled either way).
        let sem = std::sync::Arc::new(Semaphore::new(1));
        let held = sem.clone().try_acquire_owned().unwrap();
        let releaser = thread::spawn(move || drop(held));
        let (wakes, waker) = counting_waker();
        let mut acquire = Box::pin(sem.acquire());
        let first = poll_once(&mut acquire, &waker);
        releaser.join().unwrap();
        let permit = match first {
            Poll::Ready(permit) => permit,
            Poll::Pending => {
                assert_eq!(wakes.get(), 1, "lost wake-up");
                match poll_once(&mut acquire, &waker) {
                    Poll::Ready(permit) => permit,
                    Poll::Pending => panic!("woken but not served"),
                }
            }
        };
        assert_eq!(sem.available_permits(), 0);
        drop(permit);
        drop(acquire);
        assert_eq!(sem.available_permits(), 1);
    });
}

/// A queued acquire cancelled while `add_permits` hands it the permit: the permit is not lost.
#[test]
fn semaphore_cancel_racing_hand_off() {
    loom::model(|| {
        let sem = Arc::new(Semaphore::new(0));
        let (_, waker) = counting_waker();
        let mut acquire = Box::pin(sem.acquire());
        assert!(poll_once(&mut acquire, &waker).is_pending());
        let adder = {
            let sem = sem.clone();
            thread::spawn(move || sem.add_permits(1))
        };
        drop(acquire);
        adder.join().unwrap();
        assert_eq!(sem.available_permits(), 1, "permit lost");
    });
}

/// Two threads race to `set` a `OnceCell` while a third reads: exactly one set wins, and a
/// reader sees nothing or the whole winning value.
#[test]
fn once_cell_set_race() {
    loom::model(|| {
        let cell = Arc::new(OnceCell::new());
        let setters: Vec<_> = (0..2u32)
            .map(|i| {
                let cell = cell.clone();
                thread::spawn(move || cell.set(i).is_ok())
            })
            .collect();
        if let Some(v) = cell.get() {
            assert!(*v < 2);
        }
        let wins = setters
            .into_iter()
            .map(|t| t.join().unwrap() as usize)
            .sum::<usize>();
        assert_eq!(wins, 1);
        assert!(cell.get().is_some());
    });
}

/// A watch `send` racing `changed()`: the receiver is woken and sees the new value.
#[test]
fn watch_send_racing_changed() {
    loom::model(|| {
        let (tx, mut rx) = watch::channel(0u32);
        let sender = thread::spawn(move || {
            tx.send(1).unwrap();
            tx // keep the channel open until joined
        });
        let (wakes, waker) = counting_waker();
        {
            let mut changed = Box::pin(rx.changed());
            let first = poll_once(&mut changed, &waker);
            let tx = sender.join().unwrap();
            if first.is_pending() {
                assert!(wakes.get() >= 1, "lost wake-up");
                assert!(matches!(
                    poll_once(&mut changed, &waker),
                    Poll::Ready(Ok(()))
                ));
            }
            drop(tx);
        }
        assert_eq!(*rx.borrow(), 1);
    });
}

/// A broadcast `send` racing `recv()`: the receiver is woken and gets the message.
#[test]
fn broadcast_send_racing_recv() {
    loom::model(|| {
        let (tx, mut rx) = broadcast::channel::<u32>(1);
        let sender = thread::spawn(move || {
            tx.send(5).unwrap();
            tx
        });
        let (wakes, waker) = counting_waker();
        let mut recv = Box::pin(rx.recv());
        let first = poll_once(&mut recv, &waker);
        let tx = sender.join().unwrap();
        let got = match first {
            Poll::Ready(v) => v,
            Poll::Pending => {
                assert!(wakes.get() >= 1, "lost wake-up");
                match poll_once(&mut recv, &waker) {
                    Poll::Ready(v) => v,
                    Poll::Pending => panic!("woken but nothing received"),
                }
            }
        };
        assert_eq!(got, Ok(5));
        drop(recv);
        drop(tx);
    });
}
