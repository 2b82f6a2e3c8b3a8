//! `JoinHandle` and `AbortHandle`: the spawner's side of a task.

use super::error::JoinError;
use super::id::Id;
use super::raw::RawTask;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

/// An owned permission to await a task's output. Dropping it detaches the task (it keeps running).
///
/// ```
/// spindle::run(async {
///     let handle = spindle::spawn(async { 6 * 7 });
///     assert_eq!(handle.await.unwrap(), 42);
/// });
/// ```
pub struct JoinHandle<T> {
    raw: RawTask,
    _output: PhantomData<T>,
}

// SAFETY: the handle only moves the output (a `T: Send`) out of the task; the task itself is
// shared through atomics.
unsafe impl<T: Send> Send for JoinHandle<T> {}
// SAFETY: `&JoinHandle` only allows `abort`, `is_finished` and `abort_handle`, which touch the
// atomic state; the output is only read through `&mut` (poll).
unsafe impl<T: Send> Sync for JoinHandle<T> {}

impl<T> Unpin for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    pub(crate) fn new(raw: RawTask) -> JoinHandle<T> {
        JoinHandle {
            raw,
            _output: PhantomData,
        }
    }

    /// Cancels the task: an idle task's future is dropped on a runtime thread, a running one when
    /// its current poll returns, a finished one is unaffected. Awaiting the handle then yields a
    /// cancelled [`JoinError`] (unless the task had already finished).
    ///
    /// ```
    /// spindle::run(async {
    ///     let handle = spindle::spawn(async { spindle::time::sleep(std::time::Duration::from_secs(60)).await });
    ///     handle.abort();
    ///     assert!(handle.await.unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn abort(&self) {
        self.raw.remote_abort();
    }

    /// True once the task has completed, been cancelled, or panicked.
    ///
    /// ```
    /// spindle::run(async {
    ///     let handle = spindle::spawn(async {});
    ///     while !handle.is_finished() {
    ///         spindle::yield_now().await;
    ///     }
    /// });
    /// ```
    pub fn is_finished(&self) -> bool {
        self.raw.state().load().is_complete()
    }

    /// The task's unique id (the same as [`task::id()`](crate::task::id) inside it).
    ///
    /// ```
    /// spindle::run(async {
    ///     let handle = spindle::spawn(async { spindle::task::id() });
    ///     let id = handle.id();
    ///     assert_eq!(handle.await.unwrap(), id);
    /// });
    /// ```
    pub fn id(&self) -> Id {
        self.raw.header().id
    }

    /// A cloneable handle that can only abort the task.
    ///
    /// ```
    /// spindle::run(async {
    ///     let handle = spindle::spawn(std::future::pending::<()>());
    ///     let abort = handle.abort_handle();
    ///     std::thread::spawn(move || abort.abort()).join().unwrap();
    ///     assert!(handle.await.unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn abort_handle(&self) -> AbortHandle {
        self.raw.ref_inc();
        AbortHandle { raw: self.raw }
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // One unit of the cooperative budget per ready join (given back if still pending).
        let coop = match super::coop::poll_proceed(cx) {
            Poll::Ready(coop) => coop,
            Poll::Pending => return Poll::Pending,
        };
        let mut out: Poll<Result<T, JoinError>> = Poll::Pending;
        // SAFETY: `out` has the type the task's vtable writes, and we are its JoinHandle.
        unsafe {
            self.raw
                .try_read_output(&mut out as *mut _ as *mut (), cx.waker())
        };
        if out.is_ready() {
            coop.made_progress();
        }
        out
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        self.raw.drop_join_handle();
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.raw.header().id)
            .field("state", &self.raw.state().load())
            .finish()
    }
}

/// A cloneable, thread-safe handle that can abort a task (and ask whether it finished), but not
/// await it.
///
/// ```
/// spindle::run(async {
///     let handle = spindle::spawn(std::future::pending::<()>());
///     let abort = handle.abort_handle();
///     let copy = abort.clone();
///     copy.abort();
///     assert!(handle.await.unwrap_err().is_cancelled());
///     assert!(abort.is_finished());
/// });
/// ```
pub struct AbortHandle {
    raw: RawTask,
}

impl AbortHandle {
    /// Cancels the task, like [`JoinHandle::abort`].
    ///
    /// ```
    /// spindle::run(async {
    ///     let handle = spindle::spawn(std::future::pending::<()>());
    ///     handle.abort_handle().abort();
    ///     assert!(handle.await.unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn abort(&self) {
        self.raw.remote_abort();
    }

    /// True once the task has completed, been cancelled, or panicked.
    ///
    /// ```
    /// spindle::run(async {
    ///     let handle = spindle::spawn(async { 1 });
    ///     let abort = handle.abort_handle();
    ///     handle.await.unwrap();
    ///     assert!(abort.is_finished());
    /// });
    /// ```
    pub fn is_finished(&self) -> bool {
        self.raw.state().load().is_complete()
    }
}

impl AbortHandle {
    /// An abort handle for the task being polled on this thread (a `spawn_blocking` or compute
    /// closure runs inside its task's poll), if any.
    pub(crate) fn current() -> Option<AbortHandle> {
        let mut out = None;
        super::local::with_current_header(|header| {
            // SAFETY: the header belongs to the task being polled here, which its poller keeps
            // alive during this call; the increment makes the new reference ours.
            let raw = unsafe { RawTask::from_ptr(std::ptr::NonNull::from(header).cast()) };
            raw.ref_inc();
            out = Some(AbortHandle { raw });
        });
        out
    }

    /// Whether the task was asked to stop (aborted, its group stopping, or its runtime shutting
    /// down), whether or not it has noticed: one load of its state word.
    #[inline]
    pub(crate) fn is_cancel_requested(&self) -> bool {
        self.raw.state().is_cancel_requested()
    }

    /// The task's unique id.
    ///
    /// ```
    /// spindle::run(async {
    ///     let handle = spindle::spawn(async {});
    ///     assert_eq!(handle.abort_handle().id(), handle.id());
    /// });
    /// ```
    pub fn id(&self) -> Id {
        self.raw.header().id
    }
}

impl Clone for AbortHandle {
    fn clone(&self) -> AbortHandle {
        self.raw.ref_inc();
        AbortHandle { raw: self.raw }
    }
}

impl Drop for AbortHandle {
    fn drop(&mut self) {
        self.raw.ref_dec();
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle")
            .field("id", &self.raw.header().id)
            .field("state", &self.raw.state().load())
            .finish()
    }
}
