//! `SpindleExecutor`: hyper's background futures become spindle tasks.

use crate::runtime::Handle;
use std::fmt;
use std::future::Future;

/// A [`hyper::rt::Executor`] that runs hyper's background futures (HTTP/2 connection and stream
/// tasks, client connection drivers, hyper-util's connection pool) as spindle tasks.
///
/// **Which runtime:** [`new`](Self::new) captures the current runtime's [`Handle`] when it is
/// called inside one (a task, `block_on`, or under [`Handle::enter`]), and every future then goes
/// to that runtime, from whatever thread hyper calls `execute`. Created outside any runtime, it
/// spawns on the runtime current at each `execute` call instead, and panics there (naming the fix)
/// when there is none. [`with_handle`](Self::with_handle) names the runtime explicitly. Spawned
/// tasks are detached: hyper tracks their completion itself.
///
/// Cheap to clone (one `Arc`).
///
/// # Examples
///
/// ```
/// use spindle::hyper::{SpindleConnector, SpindleExecutor, SpindleTimer};
///
/// spindle::run(async {
///     // hyper-util's pooled client, spawning its connection tasks on this runtime.
///     let client = hyper_util::client::legacy::Client::builder(SpindleExecutor::new())
///         .timer(SpindleTimer::new())
///         .build::<_, http_body_util::Empty<bytes::Bytes>>(SpindleConnector::new());
///     # drop(client);
/// });
/// ```
#[derive(Clone)]
pub struct SpindleExecutor {
    handle: Option<Handle>,
}

impl SpindleExecutor {
    /// An executor for the current runtime (captured now if there is one; see the type's docs).
    ///
    /// # Examples
    ///
    /// ```
    /// use hyper::rt::Executor;
    /// use spindle::hyper::SpindleExecutor;
    ///
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// spindle::run(async move {
    ///     let executor = SpindleExecutor::new();
    ///     executor.execute(async move { tx.send("ran on spindle").unwrap() });
    ///     spindle::time::sleep(std::time::Duration::from_millis(1)).await;
    /// });
    /// assert_eq!(rx.recv().unwrap(), "ran on spindle");
    /// ```
    pub fn new() -> SpindleExecutor {
        SpindleExecutor {
            handle: Handle::try_current(),
        }
    }

    /// An executor that spawns on the runtime behind `handle`, wherever `execute` is called.
    ///
    /// # Examples
    ///
    /// ```
    /// use hyper::rt::Executor;
    /// use spindle::hyper::SpindleExecutor;
    /// use spindle::runtime::Runtime;
    ///
    /// let rt = Runtime::new().unwrap();
    /// let executor = SpindleExecutor::with_handle(rt.handle().clone());
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// // Called from a plain thread: the future still runs on `rt`.
    /// executor.execute(async move { tx.send(spindle::runtime::Handle::try_current().is_some()).unwrap() });
    /// assert!(rx.recv().unwrap());
    /// ```
    pub fn with_handle(handle: Handle) -> SpindleExecutor {
        SpindleExecutor {
            handle: Some(handle),
        }
    }

    /// The runtime this executor was bound to, if any (see [`new`](Self::new)).
    ///
    /// # Examples
    ///
    /// ```
    /// use spindle::hyper::SpindleExecutor;
    ///
    /// assert!(SpindleExecutor::new().handle().is_none());
    /// spindle::run(async { assert!(SpindleExecutor::new().handle().is_some()) });
    /// ```
    pub fn handle(&self) -> Option<&Handle> {
        self.handle.as_ref()
    }
}

impl Default for SpindleExecutor {
    /// The same as [`SpindleExecutor::new`].
    fn default() -> SpindleExecutor {
        SpindleExecutor::new()
    }
}

impl From<Handle> for SpindleExecutor {
    fn from(handle: Handle) -> SpindleExecutor {
        SpindleExecutor::with_handle(handle)
    }
}

impl fmt::Debug for SpindleExecutor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpindleExecutor")
            .field("bound_to_runtime", &self.handle.is_some())
            .finish()
    }
}

impl<Fut> ::hyper::rt::Executor<Fut> for SpindleExecutor
where
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    #[track_caller]
    fn execute(&self, future: Fut) {
        let handle = match &self.handle {
            Some(handle) => handle.clone(),
            None => Handle::try_current().unwrap_or_else(|| {
                panic!(
                    "SpindleExecutor::execute: no spindle runtime here. Create the executor \
                     inside the runtime (`SpindleExecutor::new()` in a task or in `block_on` binds \
                     it to that runtime) or pass one with `SpindleExecutor::with_handle(handle)`"
                )
            }),
        };
        // Detached: hyper learns of the future's end through its own channels.
        drop(handle.spawn(future));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::hyper::rt::Executor;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn unbound_executor_uses_the_runtime_current_at_execute() {
        let executor = SpindleExecutor::default();
        assert!(executor.handle().is_none());
        let rt = crate::runtime::Runtime::new().unwrap();
        let (tx, rx) = mpsc::channel();
        let _guard = rt.handle().enter();
        executor.execute(async move { tx.send(7).unwrap() });
        assert_eq!(rx.recv_timeout(Duration::from_secs(30)).unwrap(), 7);
    }

    #[test]
    fn unbound_executor_outside_a_runtime_panics_with_the_fix() {
        let executor = SpindleExecutor::new();
        let err =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| executor.execute(async {})))
                .unwrap_err();
        let msg = err
            .downcast_ref::<&str>()
            .copied()
            .or(err.downcast_ref::<String>().map(String::as_str))
            .unwrap();
        assert!(msg.contains("with_handle"), "{msg}");
    }

    #[test]
    fn bound_executor_spawns_on_its_runtime_from_any_thread() {
        let rt = crate::runtime::Runtime::new().unwrap();
        let executor = rt.block_on(async { SpindleExecutor::new() });
        assert!(executor.handle().is_some());
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            executor.execute(async move { tx.send(Handle::try_current().is_some()).unwrap() })
        })
        .join()
        .unwrap();
        assert!(rx.recv_timeout(Duration::from_secs(30)).unwrap());
    }
}
