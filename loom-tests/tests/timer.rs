//! The timer driver (`src/reactor/timer.rs`): registration, firing, cancellation and shutdown
//! racing each other, and the "earlier timer must interrupt the blocked driver" protocol.
//!
//! Time is explicit (milliseconds after the driver's creation), so only the interleavings vary.
//! Wakers are loom-tracked: a waker kept forever by a removed entry fails the model.

#![cfg(loom)]

use loom::sync::Arc;
use loom::thread;
use loom_tests::counting_waker;
use spindle::loom_api::{EntryStatus, TimerDriver};
use std::time::Duration;

/// A sleep registers, polls and is dropped (removing its entry) while the driving thread fires
/// due timers: the waker is woken at most once, exactly once if the entry was seen to fire,
/// and nothing stays pending.
#[test]
fn insert_racing_fire_and_cancel() {
    loom::model(|| {
        let timers = Arc::new(TimerDriver::new());
        let (wakes, waker) = counting_waker();

        let driver = {
            let timers = timers.clone();
            thread::spawn(move || timers.process(10))
        };
        let reg = timers.register(5, &waker).expect("not shut down");
        let status = if reg.fired {
            EntryStatus::Fired
        } else {
            timers.poll_entry(&reg.key, &waker)
        };
        timers.remove(reg.key); // the Sleep is dropped
        let fired_by_driver = driver.join().unwrap();

        assert!(fired_by_driver <= 1);
        assert_eq!(
            wakes.get(),
            fired_by_driver,
            "every fired waker is woken once"
        );
        if status == EntryStatus::Fired && !reg.fired {
            assert_eq!(wakes.get(), 1, "seen fired, so it was woken");
        }
        assert!(!timers.has_timers(), "nothing left pending");
        drop(waker);
    });
}

/// Re-arming an entry (`reset`, as `Sleep::reset` does) races the driving thread firing its
/// old deadline: the old deadline fires at most once, and whichever came first, the entry is
/// pending at the new deadline afterwards and fires there exactly once.
#[test]
fn reset_racing_fire() {
    loom::model(|| {
        let timers = Arc::new(TimerDriver::new());
        let (wakes, waker) = counting_waker();
        let reg = timers.register(5, &waker).expect("not shut down");
        assert!(!reg.fired);

        let driver = {
            let timers = timers.clone();
            thread::spawn(move || timers.process(10))
        };
        timers.reset(&reg.key, 50);
        let fired_first = driver.join().unwrap();
        assert!(fired_first <= 1);
        assert_eq!(wakes.get(), fired_first);
        assert_eq!(timers.poll_entry(&reg.key, &waker), EntryStatus::Pending);
        assert_eq!(timers.process(60), 1, "the new deadline fires once");
        assert_eq!(wakes.get(), fired_first + 1);
        assert_eq!(timers.poll_entry(&reg.key, &waker), EntryStatus::Fired);
        timers.remove(reg.key);
        drop(waker);
    });
}

/// A registration racing shutdown: it is either refused, or accepted and then woken by the
/// shutdown and reported as `ShutDown` — never left waiting for a timer that will not fire.
#[test]
fn register_racing_shutdown() {
    loom::model(|| {
        let timers = Arc::new(TimerDriver::new());
        let (wakes, waker) = counting_waker();
        let closer = {
            let timers = timers.clone();
            thread::spawn(move || timers.shutdown())
        };
        let reg = timers.register(5, &waker);
        closer.join().unwrap();
        match reg {
            None => assert_eq!(wakes.get(), 0),
            Some(reg) => {
                assert!(!reg.fired);
                assert_eq!(wakes.get(), 1, "shutdown wakes every pending entry");
                assert_eq!(timers.poll_entry(&reg.key, &waker), EntryStatus::ShutDown);
                timers.remove(reg.key);
            }
        }
        assert!(!timers.has_timers());
        drop(waker);
    });
}

/// The driving thread computes how long to block (an entry is due at 100 ms) while another
/// thread registers an entry due at 5 ms: either the driver's wait already accounts for it,
/// or the registration reports `needs_notify` so the caller breaks the wait. A timer is never
/// slept through.
#[test]
fn earlier_registration_racing_driver_wait() {
    loom::model(|| {
        let timers = Arc::new(TimerDriver::new());
        let (_far_wakes, far_waker) = counting_waker();
        let far = timers.register(100, &far_waker).expect("not shut down");
        assert!(!far.needs_notify, "nobody is waiting yet");

        let driver = {
            let timers = timers.clone();
            thread::spawn(move || {
                let wait = timers.next_timeout(0);
                timers.begin_wait(wait.map(|w| w.as_millis() as u64));
                wait
            })
        };
        let (_near_wakes, near_waker) = counting_waker();
        let near = timers.register(5, &near_waker).expect("not shut down");
        let wait = driver.join().unwrap().expect("an entry is pending");
        assert!(
            near.needs_notify || wait < Duration::from_millis(50),
            "driver blocks for {wait:?} past the 5 ms entry and nobody notifies it"
        );
        timers.end_wait();
        timers.remove(near.key);
        timers.remove(far.key);
        drop((far_waker, near_waker));
    });
}

/// Per-worker shards: worker 1 registers a 5 ms entry in its own shard while the driving
/// thread (worker 0's) computes its wait from every shard (worker 0's shard holds a 100 ms
/// entry): either the driver's wait accounts for the new entry, or the registration reports
/// `needs_notify`. No timer is slept through, whichever shard it lives in.
#[test]
fn registration_in_another_shard_racing_driver_wait() {
    loom::model(|| {
        let timers = Arc::new(TimerDriver::new());
        let (_far_wakes, far_waker) = counting_waker();
        let far = {
            let _home = timers.enter_home(0);
            timers.register(100, &far_waker).expect("not shut down")
        };
        let driver = {
            let timers = timers.clone();
            thread::spawn(move || {
                let wait = timers.next_timeout(0);
                timers.begin_wait(wait.map(|w| w.as_millis() as u64));
                wait
            })
        };
        let (_near_wakes, near_waker) = counting_waker();
        let near = {
            let _home = timers.enter_home(1);
            timers.register(5, &near_waker).expect("not shut down")
        };
        let wait = driver.join().unwrap().expect("an entry is pending");
        assert!(
            near.needs_notify || wait < Duration::from_millis(50),
            "driver blocks for {wait:?} past the 5 ms entry of the other shard, unnotified"
        );
        timers.end_wait();
        timers.remove(near.key);
        timers.remove(far.key);
        drop((far_waker, near_waker));
    });
}

/// A sleep registered on worker 0 is dropped on worker 1 (its task migrated) while the driving
/// thread fires that shard: the waker is woken at most once, exactly when the driver fired it,
/// and nothing stays pending in any shard.
#[test]
fn cross_shard_cancel_racing_fire() {
    loom::model(|| {
        let timers = Arc::new(TimerDriver::new());
        let (wakes, waker) = counting_waker();
        let reg = {
            let _home = timers.enter_home(0);
            timers.register(5, &waker).expect("not shut down")
        };
        let driver = {
            let timers = timers.clone();
            thread::spawn(move || timers.process(10))
        };
        let canceller = {
            let timers = timers.clone();
            thread::spawn(move || {
                let _home = timers.enter_home(1);
                timers.remove(reg.key);
            })
        };
        canceller.join().unwrap();
        let fired = driver.join().unwrap();
        assert!(fired <= 1);
        assert_eq!(wakes.get(), fired, "woken exactly when fired");
        assert!(!timers.has_timers());
        drop(waker);
    });
}
