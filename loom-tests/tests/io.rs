//! Socket readiness: an event dispatched by the reactor racing a task that clears readiness
//! after `WouldBlock` and then waits. The task must either see the new readiness or be woken;
//! a lost wake-up here is a connection that hangs forever.
#![cfg(loom)]

use spindle::loom_api::IoSource;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// How the task gives up its readiness: after `WouldBlock`, or after a read that proved the
/// socket drained (`TCP_INQ` = 0).
#[derive(Clone, Copy)]
enum Clear {
    WouldBlock,
    Drained,
}

fn clear(source: &IoSource, how: Clear, tick: usize) {
    match how {
        Clear::WouldBlock => source.clear_read(tick),
        Clear::Drained => source.clear_read_drained(tick),
    }
}

fn race(clear_before_event: bool) {
    race_with(clear_before_event, Clear::WouldBlock);
}

fn race_with(clear_before_event: bool, how: Clear) {
    loom::model(move || {
        let source = IoSource::new();
        let flag = Arc::new(Flag(AtomicBool::new(false)));
        let waker = Waker::from(flag.clone());
        let mut cx = Context::from_waker(&waker);
        let Poll::Ready(Ok(tick)) = source.poll_read(&mut cx) else {
            panic!("a new source starts ready");
        };
        if clear_before_event {
            clear(&source, how, tick);
        }
        let dispatcher = {
            let source = source.clone();
            loom::thread::spawn(move || source.dispatch_readable())
        };
        if !clear_before_event {
            clear(&source, how, tick);
        }
        let ready = source.poll_read(&mut cx).is_ready();
        dispatcher.join().unwrap();
        assert!(ready || flag.0.load(Ordering::SeqCst), "wake-up lost");
    });
}

#[test]
fn event_racing_registration_is_not_lost() {
    race(true);
}

#[test]
fn event_racing_clear_is_not_lost() {
    race(false);
}

#[test]
fn event_racing_drained_clear_is_not_lost() {
    race_with(true, Clear::Drained);
    race_with(false, Clear::Drained);
}
