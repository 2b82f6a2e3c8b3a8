//! Loom models of spindle's concurrency core; see README.md. Built only with `--cfg loom`.
//!
//! This library holds what several model files share: a waker that counts its wakes and is
//! leak-checked by loom, a drop counter, and a scriptable future whose polls a model can steer.

#![cfg(loom)]

use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::sync::{Arc, Mutex};
use std::future::Future;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

/// Counts wakes. Lives in a loom `Arc`, so a waker that is never dropped fails the model
/// ("Arc leaked").
#[derive(Default)]
pub struct WakeCount {
    wakes: AtomicUsize,
}

impl WakeCount {
    /// Wakes so far.
    pub fn get(&self) -> usize {
        self.wakes.load(Ordering::SeqCst)
    }
}

static COUNTING_VTABLE: RawWakerVTable = RawWakerVTable::new(
    counting_clone,
    counting_wake,
    counting_wake_by_ref,
    counting_drop,
);

unsafe fn counting_clone(data: *const ()) -> RawWaker {
    // SAFETY: `data` came from `Arc::into_raw` and the waker being cloned keeps it alive.
    let arc = ManuallyDrop::new(unsafe { Arc::from_raw(data as *const WakeCount) });
    let clone = Arc::clone(&arc);
    RawWaker::new(Arc::into_raw(clone) as *const (), &COUNTING_VTABLE)
}

unsafe fn counting_wake(data: *const ()) {
    // SAFETY: the waker owns one count, consumed here.
    let arc = unsafe { Arc::from_raw(data as *const WakeCount) };
    arc.wakes.fetch_add(1, Ordering::SeqCst);
}

unsafe fn counting_wake_by_ref(data: *const ()) {
    // SAFETY: the waker's count keeps the Arc alive; ManuallyDrop keeps it.
    let arc = ManuallyDrop::new(unsafe { Arc::from_raw(data as *const WakeCount) });
    arc.wakes.fetch_add(1, Ordering::SeqCst);
}

unsafe fn counting_drop(data: *const ()) {
    // SAFETY: the waker owns one count.
    drop(unsafe { Arc::from_raw(data as *const WakeCount) });
}

/// A waker counting its wakes in the returned `WakeCount`.
pub fn counting_waker() -> (Arc<WakeCount>, Waker) {
    let count = Arc::new(WakeCount::default());
    let raw = RawWaker::new(Arc::into_raw(count.clone()) as *const (), &COUNTING_VTABLE);
    // SAFETY: the vtable implements the RawWaker contract over a counted loom Arc.
    (count, unsafe { Waker::from_raw(raw) })
}

/// Polls `future` once with `waker`.
pub fn poll_once<F: Future + Unpin>(future: &mut F, waker: &Waker) -> Poll<F::Output> {
    Pin::new(future).poll(&mut Context::from_waker(waker))
}

/// Counts drops of [`Tracked`] values.
#[derive(Clone, Default)]
pub struct DropCount(Arc<AtomicUsize>);

impl DropCount {
    /// A new counter at zero.
    pub fn new() -> DropCount {
        DropCount::default()
    }

    /// A value whose drop bumps this counter.
    pub fn track<T>(&self, value: T) -> Tracked<T> {
        Tracked {
            value,
            count: self.clone(),
        }
    }

    /// Drops so far.
    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// A value that counts its drop.
pub struct Tracked<T> {
    /// The payload.
    pub value: T,
    count: DropCount,
}

impl<T> Drop for Tracked<T> {
    fn drop(&mut self) {
        self.count.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// What a [`Script`] future shares with the model: its poll count, the waker of its latest
/// poll, and a gate.
#[derive(Clone, Default)]
pub struct Probe {
    polls: Arc<AtomicUsize>,
    waker: Arc<Mutex<Option<Waker>>>,
    open: Arc<AtomicBool>,
}

impl Probe {
    /// A probe with a closed gate.
    pub fn new() -> Probe {
        Probe::default()
    }

    /// Polls so far.
    pub fn polls(&self) -> usize {
        self.polls.load(Ordering::SeqCst)
    }

    /// Takes the waker stored by the latest poll.
    pub fn take_waker(&self) -> Option<Waker> {
        self.waker.lock().unwrap().take()
    }

    /// Spins (yielding to loom) until a poll stored a waker, and takes it.
    pub fn wait_for_waker(&self) -> Waker {
        loop {
            if let Some(waker) = self.take_waker() {
                return waker;
            }
            loom::thread::yield_now();
        }
    }

    /// Opens the gate: a `Script::gated` future completes at its next poll.
    pub fn open(&self) {
        self.open.store(true, Ordering::SeqCst);
    }

    /// A future that stores a clone of its waker at every poll and completes with its poll
    /// number at poll `ready_at`. It is wrapped in a drop counter.
    pub fn script(&self, ready_at: usize, drops: &DropCount) -> Tracked<Script> {
        drops.track(Script {
            probe: self.clone(),
            ready_at,
            gated: false,
        })
    }

    /// A future that stores its waker at every poll and completes once the gate is open.
    pub fn gated(&self, drops: &DropCount) -> Tracked<Script> {
        drops.track(Script {
            probe: self.clone(),
            ready_at: usize::MAX,
            gated: true,
        })
    }
}

/// See [`Probe::script`].
pub struct Script {
    probe: Probe,
    ready_at: usize,
    gated: bool,
}

impl Future for Tracked<Script> {
    type Output = usize;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        let script = &self.value;
        let n = script.probe.polls.fetch_add(1, Ordering::SeqCst) + 1;
        *script.probe.waker.lock().unwrap() = Some(cx.waker().clone());
        let ready = if script.gated {
            script.probe.open.load(Ordering::SeqCst)
        } else {
            n >= script.ready_at
        };
        if ready { Poll::Ready(n) } else { Poll::Pending }
    }
}
