//! `OwnedTasks`: the registry a runtime uses to find and cancel every live task at shutdown.
//!
//! A task is registered the first time it goes idle (a task that finishes in one poll never is)
//! and removed when it completes. Slots are spread over power-of-two shards, each a small mutex
//! around a slab, chosen per thread so that spawning threads rarely meet on one lock. After
//! `close_and_drain` every insert is refused, so nothing can slip in behind the shutdown.

use super::info::TaskView;
use super::raw::{NOT_REGISTERED, RawTask};
use crate::loom::sync::Mutex;
#[cfg(not(loom))]
use crate::loom::sync::atomic::{AtomicUsize, Ordering};

pub(crate) struct OwnedTasks {
    shards: Box<[Shard]>,
}

#[repr(align(128))] // one cache line pair per shard: no false sharing between shard locks
struct Shard {
    slab: Mutex<Slab>,
}

#[derive(Default)]
struct Slab {
    slots: Vec<Option<RawTask>>,
    free: Vec<u32>,
    closed: bool,
}

const SHARD_BITS: u32 = 32;

impl OwnedTasks {
    pub(crate) fn new(threads: usize) -> OwnedTasks {
        let count = (threads * 4).next_power_of_two().clamp(4, 256);
        OwnedTasks {
            shards: (0..count)
                .map(|_| Shard {
                    slab: Mutex::new(Slab::default()),
                })
                .collect(),
        }
    }

    /// Takes a reference for the registry and records the slot in the task header. Returns false
    /// (and takes nothing) once the registry is closed.
    pub(crate) fn insert(&self, task: RawTask) -> bool {
        let shard_index = thread_shard() & (self.shards.len() - 1);
        let mut slab = crate::loom::lock(&self.shards[shard_index].slab);
        if slab.closed {
            return false;
        }
        let index = match slab.free.pop() {
            Some(index) => index as usize,
            None => {
                slab.slots.push(None);
                slab.slots.len() - 1
            }
        };
        slab.slots[index] = Some(task);
        task.ref_inc();
        let key = (shard_index << SHARD_BITS) | index;
        // SAFETY: the caller owns the task's future (RUNNING, or not yet shared), the only role
        // that writes the key.
        task.header().registry_key.with_mut(|k| unsafe { *k = key });
        true
    }

    /// Removes a completing task. True if the registry's reference now belongs to the caller.
    pub(crate) fn remove(&self, task: RawTask) -> bool {
        // SAFETY: the caller owns RUNNING; the writer of the key happened-before via the state.
        let key = task.header().registry_key.with(|k| unsafe { *k });
        if key == NOT_REGISTERED {
            return false;
        }
        let (shard_index, index) = (key >> SHARD_BITS, key & ((1 << SHARD_BITS) - 1));
        let mut slab = crate::loom::lock(&self.shards[shard_index].slab);
        // The slot may already have been drained by shutdown, which then owns the reference.
        if slab.slots.get(index).copied().flatten() == Some(task) {
            slab.slots[index] = None;
            if !slab.closed {
                slab.free.push(index as u32);
            }
            true
        } else {
            false
        }
    }

    /// How many shards the registry has (a dump visits them one at a time).
    pub(crate) fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// Calls `f` with a view of every task registered in shard `index`, under that shard's
    /// lock (the registry's reference keeps each task alive meanwhile). Other shards, and the
    /// tasks themselves, keep running.
    pub(crate) fn for_each_in_shard(&self, index: usize, mut f: impl FnMut(&TaskView<'_>)) {
        let slab = crate::loom::lock(&self.shards[index].slab);
        for task in slab.slots.iter().flatten() {
            f(&TaskView::new(task));
        }
    }

    /// Refuses all further inserts and hands back every registered task, each with the
    /// registry's reference (the caller cancels it and drops that reference).
    pub(crate) fn close_and_drain(&self) -> Vec<RawTask> {
        let mut tasks = Vec::new();
        for shard in self.shards.iter() {
            let mut slab = crate::loom::lock(&shard.slab);
            slab.closed = true;
            tasks.extend(slab.slots.iter_mut().filter_map(Option::take));
            slab.free.clear();
        }
        tasks
    }
}

/// A per-thread number picking the shard, so that a thread keeps hitting the same lock.
#[cfg(not(loom))]
fn thread_shard() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    crate::loom::thread_local! {
        static SHARD: usize = NEXT.fetch_add(1, Ordering::Relaxed); // only needs distinct values
    }
    SHARD.with(|s| *s)
}

/// Under loom a process-wide counter would differ between the model's executions (and loom
/// atomics cannot be statics): every thread uses shard 0, which keeps executions identical.
#[cfg(loom)]
fn thread_shard() -> usize {
    0
}
