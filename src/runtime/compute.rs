//! The compute pool: a rayon `ThreadPool` owned by the runtime.
//!
//! `spawn_blocking` closures run here, and so do rayon parallel iterators called from inside
//! them (rayon uses the pool of the thread it is called from), so numeric kernels and their
//! `par_iter`s share one bounded set of `compute_threads` threads. Each pool thread carries a
//! weak runtime context, so `spawn` and `Handle::current()` work inside the closures.

use super::{HandleInner, ThreadExits, context};
use crate::loom::sync::{Mutex, StdArc, StdWeak};
use std::io;
use std::time::Instant;

pub(crate) struct ComputePool {
    /// Taken at shutdown; `None` afterwards, and blocking tasks are then cancelled at once.
    pool: Mutex<Option<StdArc<rayon::ThreadPool>>>,
    exits: StdArc<ThreadExits>,
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
        })
    }

    /// Runs `job` on the pool; false (job dropped) once the pool is shut down.
    pub(crate) fn spawn(&self, job: impl FnOnce() + Send + 'static) -> bool {
        let pool = crate::loom::lock(&self.pool).clone();
        match pool {
            Some(pool) => {
                pool.spawn(job);
                true
            }
            None => false,
        }
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
