//! The compute pool: a rayon `ThreadPool` owned by the runtime.
//!
//! `spawn_blocking` closures run here, and so do rayon parallel iterators called from inside
//! them (rayon uses the pool of the thread it is called from), so numeric kernels and their
//! `par_iter`s share one bounded set of `compute_threads` threads. Each pool thread carries a
//! weak runtime context, so `spawn` and `Handle::current()` work inside the closures.

use super::{HandleInner, ThreadExits, context};
use crate::loom::sync::atomic::{Ordering, StdAtomicUsize as AtomicUsize};
use crate::loom::sync::{Mutex, StdArc, StdWeak};
use std::io;
use std::time::Instant;

pub(crate) struct ComputePool {
    /// Taken at shutdown; `None` afterwards, and blocking tasks are then cancelled at once.
    pool: Mutex<Option<StdArc<rayon::ThreadPool>>>,
    exits: StdArc<ThreadExits>,
    threads: usize,
    /// Jobs handed to rayon and not started yet, and jobs running (metrics).
    queued: StdArc<AtomicUsize>,
    active: StdArc<AtomicUsize>,
}

impl ComputePool {
    pub(super) fn new(
        threads: usize,
        name: &str,
        handle: StdWeak<HandleInner>,
    ) -> io::Result<ComputePool> {
        let exits = StdArc::new(ThreadExits::default());
        let (on_start, on_exit) = (exits.clone(), exits.clone());
        let name = name.to_string();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(move |i| format!("{name}-compute-{i}"))
            .start_handler(move |_| {
                on_start.started();
                context::set_weak(handle.clone());
            })
            .exit_handler(move |_| {
                context::clear();
                on_exit.exited();
            })
            // Blocking tasks catch their own panics; this only keeps a stray one from aborting.
            .panic_handler(|_| {})
            .build()
            .map_err(io::Error::other)?;
        Ok(ComputePool {
            pool: Mutex::new(Some(StdArc::new(pool))),
            exits,
            threads,
            queued: StdArc::new(AtomicUsize::new(0)),
            active: StdArc::new(AtomicUsize::new(0)),
        })
    }

    /// Runs `job` on the pool; false (job dropped) once the pool is shut down.
    pub(crate) fn spawn(&self, job: impl FnOnce() + Send + 'static) -> bool {
        let pool = crate::loom::lock(&self.pool).clone();
        match pool {
            Some(pool) => {
                let (queued, active) = (self.queued.clone(), self.active.clone());
                // Relaxed (all four): statistics for the metrics.
                queued.fetch_add(1, Ordering::Relaxed);
                pool.spawn(move || {
                    struct Finished(StdArc<AtomicUsize>);
                    impl Drop for Finished {
                        fn drop(&mut self) {
                            self.0.fetch_sub(1, Ordering::Relaxed);
                        }
                    }
                    queued.fetch_sub(1, Ordering::Relaxed);
                    active.fetch_add(1, Ordering::Relaxed);
                    let _finished = Finished(active);
                    job();
                });
                true
            }
            None => false,
        }
    }

    /// Threads in the pool.
    pub(crate) fn threads(&self) -> usize {
        self.threads
    }

    /// Jobs waiting for a pool thread.
    pub(crate) fn queue_depth(&self) -> usize {
        // Relaxed: a statistic.
        self.queued.load(Ordering::Relaxed)
    }

    /// Jobs running on the pool.
    pub(crate) fn active_jobs(&self) -> usize {
        // Relaxed: a statistic.
        self.active.load(Ordering::Relaxed)
    }

    /// Whether the calling thread is one of this pool's threads.
    pub(crate) fn is_pool_thread(&self) -> bool {
        crate::loom::lock(&self.pool)
            .as_ref()
            .is_some_and(|pool| pool.current_thread_index().is_some())
    }

    /// Stops the pool and waits (until `deadline`) for its threads to finish what they run.
    pub(super) fn shutdown(&self, deadline: Option<Instant>) {
        let Some(pool) = crate::loom::lock(&self.pool).take() else {
            return;
        };
        let on_pool_thread = pool.current_thread_index().is_some();
        drop(pool); // rayon lets the threads finish their queue, then exit
        if !on_pool_thread {
            self.exits.wait_until_none(deadline);
        }
    }
}
