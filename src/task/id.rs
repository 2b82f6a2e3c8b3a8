//! Task ids: unique for the life of the process, assigned at spawn.
//!
//! A process-wide counter hands out blocks of [`BLOCK`] ids to each thread; a thread then
//! numbers its spawns from its block with a thread-local increment, so spawning from many
//! threads at once never contends on one cache line. Ids are therefore unique but only roughly
//! ordered by spawn time across threads.

use crate::loom::sync::atomic::{Ordering, StdAtomicU64};
use std::cell::Cell;
use std::fmt;
use std::num::NonZeroU64;

/// Ids a thread takes from the shared counter at once.
const BLOCK: u64 = 1024;

/// An opaque, unique identifier of a task (async task, blocking job or compute job), stable for
/// its whole life and never reused while the process runs.
///
/// ```
/// spindle::run(async {
///     let handle = spindle::spawn(async { spindle::task::id() });
///     let id = handle.id();
///     assert_eq!(handle.await.unwrap(), id);
///     println!("task {id} finished"); // `Display`: the number
/// });
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(NonZeroU64);

impl Id {
    /// A new id, unique in this process.
    pub(crate) fn next() -> Id {
        // A process-wide counter: std's atomic in both builds (loom atomics cannot be statics,
        // and id allocation is not part of any model).
        static NEXT_BLOCK: StdAtomicU64 = StdAtomicU64::new(1);
        crate::loom::thread_local! {
            /// The next id of this thread's block, and the end of the block.
            static RANGE: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
        }
        let id = RANGE
            .try_with(|range| {
                let (mut next, mut end) = range.get();
                if next == end {
                    // Relaxed: only uniqueness matters, which the RMW alone guarantees.
                    next = NEXT_BLOCK.fetch_add(BLOCK, Ordering::Relaxed);
                    end = next + BLOCK;
                }
                range.set((next + 1, end));
                next
            })
            // During thread teardown: take a single id straight from the shared counter.
            // Relaxed: as above.
            .unwrap_or_else(|_| NEXT_BLOCK.fetch_add(1, Ordering::Relaxed));
        Id(NonZeroU64::new(id).expect("task id counter overflowed"))
    }

    /// The id with this number, if it is one (ids are never 0).
    pub(crate) fn from_u64(n: u64) -> Option<Id> {
        NonZeroU64::new(n).map(Id)
    }

    /// The id as a number (for logs and metrics).
    ///
    /// ```
    /// spindle::run(async {
    ///     let h = spindle::spawn(async {});
    ///     assert!(h.id().as_u64() > 0);
    /// });
    /// ```
    pub fn as_u64(self) -> u64 {
        self.0.get()
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.0)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::Id;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_across_threads() {
        let threads: Vec<_> = (0..4)
            .map(|_| std::thread::spawn(|| (0..5_000).map(|_| Id::next()).collect::<Vec<_>>()))
            .collect();
        let mut seen = HashSet::new();
        for t in threads {
            for id in t.join().unwrap() {
                assert!(seen.insert(id), "duplicate id {id}");
            }
        }
        assert_eq!(seen.len(), 20_000);
    }
}
