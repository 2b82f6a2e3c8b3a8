//! A closure on the compute pool as a task: the cell behind `spawn_blocking`, task-group
//! blocking children and `compute::spawn`.
//!
//! The closure becomes an ordinary task (same cell, state machine and `JoinHandle`) whose
//! future runs it on its first and only poll, and whose scheduler hook hands the task to rayon
//! instead of to the async workers. So abort-before-start, panics, shutdown and the JoinHandle
//! behave exactly as for async tasks. The task is registered with the runtime at spawn, so a
//! shutdown cancels it if it has not started, and marks it cancelled if it is running.
//!
//! While the closure runs, its [`Job`] is this thread's current job (for
//! `compute::checkpoint` / `compute::current`). When the future is gone (the closure returned
//! or panicked, or the task was cancelled before it started), the job is closed, which wakes a
//! watcher awaiting `JobHandle::changed`.

use super::job::{self, Job, JobShared};
use crate::loom::sync::StdArc;
use crate::runtime::{Handle, HandleInner};
use crate::task::{AbortHandle, JoinHandle, Meta, Notified, OwnedTasks, Schedule};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Spawns `f` onto `handle`'s compute pool. Returns its JoinHandle and the job's shared state.
/// After the runtime shut down, the closure never runs and the handle yields a cancelled error.
pub(crate) fn spawn_closure<F, R>(
    handle: &Handle,
    f: F,
    meta: Meta,
) -> (JoinHandle<R>, StdArc<JobShared>)
where
    F: FnOnce(&Job) -> R + Send + 'static,
    R: Send + 'static,
{
    let scheduler = ComputeSchedule {
        handle: handle.inner.clone(),
    };
    let shared = StdArc::new(JobShared::new());
    let future = JobTask {
        f: Some(f),
        shared: shared.clone(),
    };
    let (notified, join) = crate::task::new_task(future, scheduler.clone(), meta);
    handle.inner.scheduler.count_spawn();
    if crate::task::register_unstarted(&notified) {
        scheduler.schedule(notified);
    } else {
        drop(notified); // the runtime is shut down: cancelled, never run
    }
    (join, shared)
}

/// The closure as a future that completes on its first poll.
struct JobTask<F> {
    f: Option<F>,
    shared: StdArc<JobShared>,
}

impl<F> Unpin for JobTask<F> {}

impl<F: FnOnce(&Job) -> R, R> Future for JobTask<F> {
    type Output = R;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<R> {
        let f = self.f.take().expect("a compute closure is polled once");
        // The task's poller made it current on this thread (`task::local`).
        let task = AbortHandle::current().expect("a compute closure runs inside its task");
        let job = Job::new(task, self.shared.clone());
        let _current = job::enter(&job);
        Poll::Ready(f(&job))
    }
}

impl<F> Drop for JobTask<F> {
    fn drop(&mut self) {
        // The closure's captures are gone (consumed by the call, or dropped with `f` above).
        self.f = None;
        self.shared.close();
    }
}

/// The scheduler hook of compute tasks: "schedule" means "queue on the rayon pool".
#[derive(Clone)]
struct ComputeSchedule {
    handle: StdArc<HandleInner>,
}

impl Schedule for ComputeSchedule {
    fn schedule(&self, task: Notified) {
        let pool = self
            .handle
            .compute
            .as_ref()
            .expect("a running runtime has a compute pool");
        // A job refused by a stopped pool is dropped, which cancels the task.
        pool.spawn(move || task.run());
    }

    fn owned_tasks(&self) -> &OwnedTasks {
        self.handle.scheduler.owned()
    }

    fn task_completed(&self) {
        self.handle.scheduler.count_completed();
    }
}
