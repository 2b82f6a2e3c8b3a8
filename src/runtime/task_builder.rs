//! `spindle::task::Builder`: spawning with options (a name, a target runtime).

use super::{Handle, context};
use crate::task::{JoinHandle, Meta, TaskKind};
use std::future::Future;
use std::io;
use std::panic::Location;

/// Spawns a task with options: today a name, which task dumps, slow-poll reports and
/// tokio-console show next to the task's id and spawn location.
///
/// ```
/// spindle::run(async {
///     let handle = spindle::task::Builder::new()
///         .name("fetch-config")
///         .spawn(async { 42 })
///         .unwrap();
///     assert_eq!(handle.await.unwrap(), 42);
/// });
/// ```
#[derive(Debug, Default, Clone)]
pub struct Builder<'a> {
    name: Option<&'a str>,
}

impl<'a> Builder<'a> {
    /// A builder with no options set.
    ///
    /// ```
    /// let builder = spindle::task::Builder::new();
    /// # drop(builder);
    /// ```
    pub fn new() -> Builder<'a> {
        Builder { name: None }
    }

    /// Names the task.
    ///
    /// ```
    /// spindle::run(async {
    ///     let h = spindle::task::Builder::new().name("worker").spawn(async {}).unwrap();
    ///     h.await.unwrap();
    /// });
    /// ```
    pub fn name(mut self, name: &'a str) -> Builder<'a> {
        self.name = Some(name);
        self
    }

    #[track_caller]
    fn meta(&self) -> Meta {
        Meta {
            spawned_at: Location::caller(),
            name: self.name.map(std::sync::Arc::from),
            kind: crate::task::TaskKind::Async,
        }
    }

    /// Spawns the task on the current runtime. Outside a runtime this is an error (of kind
    /// `Other`, naming the fix) instead of a panic.
    ///
    /// ```
    /// let err = spindle::task::Builder::new().spawn(async {}).unwrap_err();
    /// assert!(err.to_string().contains("outside a spindle runtime"));
    /// ```
    #[track_caller]
    pub fn spawn<F>(self, future: F) -> io::Result<JoinHandle<F::Output>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let meta = self.meta();
        match context::current() {
            Some(handle) => Ok(handle.spawn_with(future, meta)),
            None => Err(outside_runtime()),
        }
    }

    /// Spawns the task on the runtime behind `handle`.
    ///
    /// ```
    /// let rt = spindle::runtime::Runtime::new().unwrap();
    /// let h = spindle::task::Builder::new()
    ///     .name("on-handle")
    ///     .spawn_on(async { 1 }, rt.handle())
    ///     .unwrap();
    /// assert_eq!(rt.block_on(h).unwrap(), 1);
    /// ```
    #[track_caller]
    pub fn spawn_on<F>(self, future: F, handle: &Handle) -> io::Result<JoinHandle<F::Output>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Ok(handle.spawn_with(future, self.meta()))
    }

    /// Runs `f` on the current runtime's compute pool, like [`crate::spawn_blocking`].
    ///
    /// ```
    /// spindle::run(async {
    ///     let h = spindle::task::Builder::new().name("sum").spawn_blocking(|| 1 + 1).unwrap();
    ///     assert_eq!(h.await.unwrap(), 2);
    /// });
    /// ```
    #[track_caller]
    pub fn spawn_blocking<F, R>(self, f: F) -> io::Result<JoinHandle<R>>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let meta = self.meta();
        match context::current() {
            Some(handle) => Ok(handle.spawn_blocking_with(f, meta.kind(TaskKind::Blocking))),
            None => Err(outside_runtime()),
        }
    }
}

fn outside_runtime() -> io::Error {
    io::Error::other(
        "spindle::task::Builder::spawn was called outside a spindle runtime. Call it from inside \
         `spindle::run(...)`, `Runtime::block_on`, a spawned task, or while a `Handle::enter()` \
         guard is alive, or use `spawn_on` with a `Handle`",
    )
}
