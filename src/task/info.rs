//! What a task can tell about itself without stopping anything: the read-only view that task
//! dumps are built from, and "what the task waits on", recorded by the resources it waits on.
//!
//! Every field read here is either immutable after spawn (id, name, spawn location) or a word
//! written with plain relaxed stores by the one thread that owns the task's poll (poll count,
//! last poll, what it waits on): a reader on another thread gets a recent value, never a torn
//! one, and never stops the task.

use super::id::Id;
use super::raw::{Header, RawTask};
use super::state::Snapshot;
use crate::loom::sync::atomic::Ordering;
use std::panic::Location;

/// What kind of work a task cell holds (for dumps).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TaskKind {
    /// A future on the async workers.
    Async,
    /// A `spawn_blocking` closure on the compute pool.
    Blocking,
    /// An `unblock` closure on the blocking-I/O lane.
    Io,
    /// A `compute::spawn` job on the compute pool.
    Compute,
}

/// What a task is waiting on, where the runtime knows it. Recorded by the resource when it
/// returns `Pending`; cleared when the task is polled again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WaitOn {
    /// Nothing recorded.
    Unknown,
    /// A timer due at this tick of its runtime's timer clock (milliseconds).
    Timer(u64),
    /// A socket (or another registered fd), for reading or for writing.
    Io { fd: i32, write: bool },
    /// A compute job (its id) and the job's progress.
    Compute(u64),
}

const KIND_SHIFT: u32 = 62;
const KIND_TIMER: u64 = 1;
const KIND_IO: u64 = 2;
const KIND_COMPUTE: u64 = 3;
const PAYLOAD: u64 = (1 << KIND_SHIFT) - 1;

impl WaitOn {
    pub(crate) fn encode(self) -> u64 {
        match self {
            WaitOn::Unknown => 0,
            WaitOn::Timer(tick) => (KIND_TIMER << KIND_SHIFT) | (tick & PAYLOAD),
            WaitOn::Io { fd, write } => {
                (KIND_IO << KIND_SHIFT) | ((write as u64) << 32) | u64::from(fd as u32)
            }
            WaitOn::Compute(job) => (KIND_COMPUTE << KIND_SHIFT) | (job & PAYLOAD),
        }
    }

    pub(crate) fn decode(word: u64) -> WaitOn {
        let payload = word & PAYLOAD;
        match word >> KIND_SHIFT {
            KIND_TIMER => WaitOn::Timer(payload),
            KIND_IO => WaitOn::Io {
                fd: payload as u32 as i32,
                write: payload >> 32 & 1 == 1,
            },
            KIND_COMPUTE => WaitOn::Compute(payload),
            _ => WaitOn::Unknown,
        }
    }
}

/// Records what the task being polled on this thread now waits on (no-op outside a task).
#[inline]
pub(crate) fn set_waiting(on: WaitOn) {
    super::local::with_current_header(|header| {
        // Relaxed: a diagnostic word, read by dumps only.
        header.wait.store(on.encode(), Ordering::Relaxed);
    });
}

/// A read-only look at a live task (the caller holds a reference to it).
pub(crate) struct TaskView<'a> {
    header: &'a Header,
}

impl<'a> TaskView<'a> {
    pub(crate) fn new(task: &'a RawTask) -> TaskView<'a> {
        TaskView {
            header: task.header(),
        }
    }

    pub(crate) fn id(&self) -> Id {
        self.header.id
    }

    pub(crate) fn name_arc(&self) -> Option<std::sync::Arc<str>> {
        self.header.name.clone()
    }

    pub(crate) fn spawned_at(&self) -> &'static Location<'static> {
        self.header.spawned_at
    }

    pub(crate) fn kind(&self) -> TaskKind {
        self.header.kind
    }

    pub(crate) fn state(&self) -> Snapshot {
        self.header.state.load()
    }

    /// Polls so far, and the scheduler's coarse millisecond clock when the last one started.
    pub(crate) fn polls(&self) -> (u32, u32) {
        // Relaxed: statistics written by the poller; any recent value is fine.
        let stats = self.header.stats.load(Ordering::Relaxed);
        (stats as u32, (stats >> 32) as u32)
    }

    pub(crate) fn waiting_on(&self) -> WaitOn {
        // Relaxed: see `set_waiting`.
        WaitOn::decode(self.header.wait.load(Ordering::Relaxed))
    }
}

/// Counts a poll that starts now (`now_ms`: the scheduler's coarse clock) and forgets what the
/// task waited on. Called by the one thread about to poll the task.
#[inline]
pub(crate) fn record_poll(header: &Header, now_ms: u32) {
    // Relaxed load + store, not an RMW: only the thread about to poll writes these words.
    let polls = (header.stats.load(Ordering::Relaxed) as u32).wrapping_add(1);
    header.stats.store(
        u64::from(polls) | (u64::from(now_ms) << 32),
        Ordering::Relaxed,
    );
    header.wait.store(0, Ordering::Relaxed);
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::WaitOn;

    #[test]
    fn wait_words_round_trip() {
        for on in [
            WaitOn::Unknown,
            WaitOn::Timer(0),
            WaitOn::Timer(123_456_789),
            WaitOn::Io {
                fd: 7,
                write: false,
            },
            WaitOn::Io {
                fd: i32::MAX,
                write: true,
            },
            WaitOn::Compute(42),
        ] {
            assert_eq!(WaitOn::decode(on.encode()), on);
        }
    }
}
