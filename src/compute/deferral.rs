//! A one-shot wake-up at an instant, on the timer driver of the job's runtime: how
//! `JobHandle::changed` delivers a change that arrived inside its 10 ms coalescing window
//! without asking every `advance` to read a clock.
//!
//! Unlike `spindle::time::Sleep` it never panics: after the runtime shut down (or for a job of
//! a runtime that is gone) it reports [`Deferral::Unavailable`] and the watcher simply delivers
//! at once.

use crate::loom::sync::Arc;
use crate::reactor::Reactor;
use crate::reactor::timer::{EntryStatus, TimerKey};
use std::task::Context;
use std::time::Instant;

/// What a poll of the deferral found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wait {
    /// The instant has passed.
    Elapsed,
    /// Not yet; the task is woken at the instant.
    Pending,
    /// No timer can be armed (the runtime shut down).
    Unavailable,
}

/// A timer entry on `reactor`'s driver, armed on demand, freed on drop.
pub(crate) struct Deferral {
    reactor: Arc<Reactor>,
    /// The registered entry and its deadline tick.
    entry: Option<(TimerKey, u64)>,
}

impl Deferral {
    pub(crate) fn new(reactor: Arc<Reactor>) -> Deferral {
        Deferral {
            reactor,
            entry: None,
        }
    }

    /// Waits until `at` (1 ms resolution, never early).
    pub(crate) fn poll_until(&mut self, at: Instant, cx: &mut Context<'_>) -> Wait {
        if Instant::now() >= at {
            return Wait::Elapsed;
        }
        let timers = &self.reactor.timers;
        let tick = timers.deadline_tick(at);
        match &mut self.entry {
            Some((key, armed)) => {
                if *armed != tick {
                    *armed = tick;
                    if timers.reset(key, tick) {
                        self.reactor.notify();
                    }
                } else if timers.elapsed_tick(key) >= tick {
                    return Wait::Elapsed;
                }
                match timers.poll_entry(key, cx.waker()) {
                    EntryStatus::Pending => Wait::Pending,
                    EntryStatus::Fired => Wait::Elapsed,
                    EntryStatus::ShutDown => Wait::Unavailable,
                }
            }
            None => match timers.register(tick, cx.waker()) {
                Ok(registration) => {
                    if registration.needs_notify {
                        self.reactor.notify();
                    }
                    let fired = registration.fired;
                    self.entry = Some((registration.key, tick));
                    if fired { Wait::Elapsed } else { Wait::Pending }
                }
                Err(_) => Wait::Unavailable,
            },
        }
    }

    /// Frees the entry (if any): nothing is woken at the instant.
    pub(crate) fn cancel(&mut self) {
        if let Some((key, _)) = self.entry.take() {
            self.reactor.timers.remove(key);
        }
    }
}

impl Drop for Deferral {
    fn drop(&mut self) {
        self.cancel();
    }
}
