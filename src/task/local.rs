//! Task-local values that flow like Python's `contextvars`, and the "current task" of a thread.
//!
//! The values in scope form an immutable chain of [`Node`]s (`key → value`, then the parent
//! chain). A thread-local pointer names the chain in effect right now:
//!
//! * while a task is polled (or its future dropped), the chain it inherited at spawn;
//! * while a [`LocalKey::scope`] future is polled, or a [`LocalKey::sync_scope`] closure runs, a
//!   node for that key on top of whatever was in effect around it.
//!
//! **Inheritance**: spawning (a task, a `spawn_blocking` job, a task-group child, a `JoinSet`
//! member) copies the pointer in effect at the spawn call into the new task — one reference
//! count increment, no allocation, and nothing at all when no task-local is set. The child
//! sees the values the spawner saw; a child's own `scope` builds a new node on *its* chain, so
//! it never changes what the parent sees (asyncio's `create_task` copies the context the same
//! way). Values are shared between threads, so they must be `Send + Sync`.

use super::id::Id;
use super::raw::Header;
// std's `Arc` in both builds: the chain is shared data, not a hand-off any loom model covers,
// and values are stored as `Arc<dyn Any>` (loom's `Arc` cannot coerce to a trait object).
use crate::loom::sync::StdArc as Arc;
use std::any::Any;
use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::ptr;
use std::task::{Context, Poll};

/// One task-local value in scope, on top of its parent chain. Immutable once built.
pub(crate) struct Node {
    /// The address of the `LocalKey` static this value belongs to.
    key: usize,
    value: Arc<dyn Any + Send + Sync>,
    parent: Option<Arc<Node>>,
}

/// The task-local values a task carries: the chain it inherited at spawn.
pub(crate) type Locals = Option<Arc<Node>>;

/// What is in effect on this thread.
struct Current {
    /// The task being polled (or dropped) here: its header (borrowed from the poller, which
    /// keeps the task alive while it is current). Its id is read from the header.
    header: Cell<*const Header>,
    /// The chain in effect; borrowed from whoever set it (a task, a scope), who keeps it alive.
    locals: Cell<*const Node>,
}

crate::loom::thread_local! {
    static CURRENT: Current = const {
        Current {
            header: Cell::new(ptr::null()),
            locals: Cell::new(ptr::null()),
        }
    };
}

/// Restores the previous task and chain when dropped (also during an unwind).
pub(crate) struct Enter {
    header: *const Header,
    locals: *const Node,
}

impl Drop for Enter {
    #[inline]
    fn drop(&mut self) {
        let _ = CURRENT.try_with(|c| {
            c.header.set(self.header);
            c.locals.set(self.locals);
        });
    }
}

/// Makes the task of `header` (with its inherited locals) current on this thread until the
/// guard drops. The caller keeps the task alive for that long.
#[inline]
pub(crate) fn enter_task(header: &Header) -> Enter {
    let locals = header.locals.as_ref().map_or(ptr::null(), Arc::as_ptr);
    CURRENT
        .try_with(|c| Enter {
            header: c.header.replace(header),
            locals: c.locals.replace(locals),
        })
        // Only during thread teardown; its drop then finds no thread-local either.
        .unwrap_or_else(|_| Enter {
            header: ptr::null(),
            locals: ptr::null(),
        })
}

/// Makes `node` the chain in effect (the task stays the same) until the guard drops.
fn enter_locals(node: &Arc<Node>) -> Enter {
    CURRENT.with(|c| Enter {
        header: c.header.get(),
        locals: c.locals.replace(Arc::as_ptr(node)),
    })
}

/// The id of the task running on this thread, if any.
pub(crate) fn current_task() -> Option<Id> {
    let header = CURRENT.try_with(|c| c.header.get()).unwrap_or(ptr::null());
    // SAFETY: a non-null header was set by `enter_task` from a task the poller keeps alive
    // until the guard restores the previous value.
    unsafe { header.as_ref() }.map(|header| header.id)
}

/// Calls `f` with the header of the task being polled on this thread, if any.
#[inline]
pub(crate) fn with_current_header(f: impl FnOnce(&Header)) {
    let header = CURRENT.try_with(|c| c.header.get()).unwrap_or(ptr::null());
    // SAFETY: a non-null header was set by `enter_task` from a task the poller keeps alive
    // until the guard restores the previous value; `f` runs before we return.
    if let Some(header) = unsafe { header.as_ref() } {
        f(header);
    }
}

fn current_locals_ptr() -> *const Node {
    CURRENT.try_with(|c| c.locals.get()).unwrap_or(ptr::null())
}

/// The chain in effect, as an owned reference for a task being spawned here. Free (no atomic
/// operation) when no task-local is set.
#[inline]
pub(crate) fn inherit() -> Locals {
    let current = current_locals_ptr();
    if current.is_null() {
        return None;
    }
    // SAFETY: a non-null pointer was stored by `enter_task`/`enter_locals` from an `Arc<Node>`
    // that its owner (the task being polled, or the scope) keeps alive while it is in effect,
    // which covers this call; the increment makes the reference we hand out our own.
    unsafe {
        Arc::increment_strong_count(current);
        Some(Arc::from_raw(current))
    }
}

/// Walks the chain in effect for `key`'s value.
fn lookup<R>(key: usize, f: impl FnOnce(Option<&(dyn Any + Send + Sync)>) -> R) -> R {
    let mut node = current_locals_ptr();
    // SAFETY: the chain in effect is kept alive by whoever set it for as long as it is in
    // effect, and every node keeps its parents alive; `f` runs before we return.
    while let Some(n) = unsafe { node.as_ref() } {
        if n.key == key {
            return f(Some(&*n.value));
        }
        node = n.parent.as_ref().map_or(ptr::null(), Arc::as_ptr);
    }
    f(None)
}

/// Declares task-local keys: `static NAME: LocalKey<T>` values set with
/// [`scope`](crate::task::LocalKey::scope) and inherited by tasks spawned inside the scope.
///
/// ```
/// spindle::task_local! {
///     static REQUEST_ID: u64;
///     pub static USER: String;
/// }
///
/// spindle::run(REQUEST_ID.scope(7, async {
///     assert_eq!(REQUEST_ID.get(), 7);
///     // A spawned task sees the spawner's values (asyncio's contextvars).
///     let child = spindle::spawn(async { REQUEST_ID.get() });
///     assert_eq!(child.await.unwrap(), 7);
/// }));
/// ```
#[macro_export]
macro_rules! task_local {
    () => {};
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty; $($rest:tt)*) => {
        $(#[$attr])*
        $vis static $name: $crate::task::LocalKey<$t> = $crate::task::LocalKey::__new();
        $crate::task_local!($($rest)*);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty) => {
        $(#[$attr])*
        $vis static $name: $crate::task::LocalKey<$t> = $crate::task::LocalKey::__new();
    };
}

/// A task-local key, declared with [`task_local!`](crate::task_local!).
///
/// A value is set for the duration of a future with [`scope`](Self::scope) (or of a closure with
/// [`sync_scope`](Self::sync_scope)) and read with [`with`](Self::with), [`try_with`](Self::try_with)
/// or [`get`](Self::get). Every task, `spawn_blocking` job, task-group child and `JoinSet` member
/// spawned inside the scope sees the value the spawner saw at spawn time; a `scope` inside a
/// child never changes what the parent sees. Values are shared with the children (on other
/// threads), so `T` must be `Send + Sync`; use a `Mutex` or atomics for mutable state.
///
/// ```
/// spindle::task_local! { static DEPTH: u32; }
///
/// spindle::run(DEPTH.scope(1, async {
///     let child = spindle::spawn(DEPTH.scope(2, async { DEPTH.get() }));
///     assert_eq!(child.await.unwrap(), 2);
///     assert_eq!(DEPTH.get(), 1); // the child's scope did not touch ours
/// }));
/// ```
pub struct LocalKey<T: 'static> {
    /// Never read: makes the key non-zero-sized, so every key static has its own address
    /// (which is the key's identity).
    _unique: u8,
    _value: PhantomData<fn() -> T>,
}

impl<T: 'static> LocalKey<T> {
    #[doc(hidden)]
    pub const fn __new() -> LocalKey<T> {
        LocalKey {
            _unique: 0,
            _value: PhantomData,
        }
    }

    fn id(&'static self) -> usize {
        self as *const LocalKey<T> as usize
    }
}

impl<T: Send + Sync + 'static> LocalKey<T> {
    /// Runs `future` with this key set to `value`; tasks spawned inside inherit it.
    ///
    /// ```
    /// spindle::task_local! { static NAME: &'static str; }
    ///
    /// let name = spindle::run(NAME.scope("alice", async { NAME.get() }));
    /// assert_eq!(name, "alice");
    /// ```
    pub fn scope<F: Future>(&'static self, value: T, future: F) -> TaskLocalFuture<T, F> {
        TaskLocalFuture {
            key: self,
            value: Arc::new(value),
            node: None,
            future: ManuallyDrop::new(future),
            future_dropped: false,
        }
    }

    /// Runs `f` with this key set to `value` (tasks spawned inside inherit it).
    ///
    /// ```
    /// spindle::task_local! { static LIMIT: usize; }
    ///
    /// let doubled = LIMIT.sync_scope(21, || LIMIT.with(|l| l * 2));
    /// assert_eq!(doubled, 42);
    /// ```
    pub fn sync_scope<F: FnOnce() -> R, R>(&'static self, value: T, f: F) -> R {
        let node = Arc::new(Node {
            key: self.id(),
            value: Arc::new(value),
            parent: inherit(),
        });
        let _enter = enter_locals(&node);
        f()
    }

    /// Calls `f` with a reference to the value in effect.
    ///
    /// # Panics
    /// If the key is not set here (outside every `scope` of it, and not inherited).
    ///
    /// ```
    /// spindle::task_local! { static NUMBER: u32; }
    ///
    /// NUMBER.sync_scope(5, || NUMBER.with(|n| assert_eq!(*n, 5)));
    /// ```
    #[track_caller]
    pub fn with<F: FnOnce(&T) -> R, R>(&'static self, f: F) -> R {
        match self.try_with(f) {
            Ok(r) => r,
            Err(_) => panic!(
                "cannot access a task-local value that is not set here: set it with \
                 `LocalKey::scope` (or `sync_scope`), or spawn this task inside such a scope"
            ),
        }
    }

    /// Calls `f` with a reference to the value in effect, or returns an [`AccessError`] if the
    /// key is not set here.
    ///
    /// ```
    /// spindle::task_local! { static NUMBER: u32; }
    ///
    /// assert!(NUMBER.try_with(|n| *n).is_err());
    /// assert_eq!(NUMBER.sync_scope(1, || NUMBER.try_with(|n| *n)), Ok(1));
    /// ```
    pub fn try_with<F: FnOnce(&T) -> R, R>(&'static self, f: F) -> Result<R, AccessError> {
        lookup(self.id(), |value| match value {
            Some(value) => Ok(f(value
                .downcast_ref::<T>()
                .expect("a key's nodes always hold its own type"))),
            None => Err(AccessError { _private: () }),
        })
    }

    /// A clone of the value in effect.
    ///
    /// # Panics
    /// If the key is not set here.
    ///
    /// ```
    /// spindle::task_local! { static TAG: String; }
    ///
    /// let tag = TAG.sync_scope("x".to_string(), || TAG.get());
    /// assert_eq!(tag, "x");
    /// ```
    #[track_caller]
    pub fn get(&'static self) -> T
    where
        T: Clone,
    {
        self.with(T::clone)
    }
}

impl<T: 'static> fmt::Debug for LocalKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LocalKey { .. }")
    }
}

/// The error of [`LocalKey::try_with`] when the key is not set.
///
/// ```
/// spindle::task_local! { static KEY: u8; }
///
/// let err = KEY.try_with(|_| ()).unwrap_err();
/// assert_eq!(err.to_string(), "task-local value not set");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccessError {
    _private: (),
}

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task-local value not set")
    }
}

impl std::error::Error for AccessError {}

/// The future returned by [`LocalKey::scope`]: runs the inner future with the value set.
///
/// The inner future is also dropped with the value in effect (when it completes, and when the
/// scope is dropped early, e.g. by an abort), so its destructors can read it.
pub struct TaskLocalFuture<T: Send + Sync + 'static, F> {
    key: &'static LocalKey<T>,
    value: Arc<T>,
    /// This scope's node, built on the chain in effect at the first poll (rebuilt if the
    /// future is ever polled under another chain).
    node: Option<Arc<Node>>,
    /// Pinned; dropped in place, inside the scope.
    future: ManuallyDrop<F>,
    future_dropped: bool,
}

impl<T: Send + Sync + 'static, F> TaskLocalFuture<T, F> {
    /// The node for the chain in effect now.
    fn node(&mut self) -> &Arc<Node> {
        let parent = current_locals_ptr();
        let stale = match &self.node {
            Some(node) => node.parent.as_ref().map_or(ptr::null(), Arc::as_ptr) != parent,
            None => true,
        };
        if stale {
            let value: Arc<dyn Any + Send + Sync> = self.value.clone();
            self.node = Some(Arc::new(Node {
                key: self.key.id(),
                value,
                parent: inherit(),
            }));
        }
        self.node.as_ref().expect("just built")
    }
}

impl<T: Send + Sync + 'static, F: Future> Future for TaskLocalFuture<T, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned: it is only polled through this pinned
        // projection and only dropped in place (below and in `Drop`); the other fields are
        // never pinned.
        let this = unsafe { self.get_unchecked_mut() };
        assert!(
            !this.future_dropped,
            "`TaskLocalFuture` polled after it completed"
        );
        let node = this.node().clone();
        let _enter = enter_locals(&node);
        // SAFETY: see above.
        let future = unsafe { Pin::new_unchecked(&mut *this.future) };
        let poll = future.poll(cx);
        if poll.is_ready() {
            this.future_dropped = true;
            // SAFETY: dropped in place exactly once (the flag is set first), inside the scope.
            unsafe { ManuallyDrop::drop(&mut this.future) };
        }
        poll
    }
}

impl<T: Send + Sync + 'static, F> Drop for TaskLocalFuture<T, F> {
    fn drop(&mut self) {
        if self.future_dropped {
            return;
        }
        self.future_dropped = true;
        // Dropped with the value in effect. Without a node yet (never polled), the value is
        // made current on top of whatever is in effect now.
        let node = Arc::new(Node {
            key: self.key.id(),
            value: self.value.clone(),
            parent: inherit(),
        });
        let _enter = enter_locals(&node);
        // SAFETY: not dropped before (flag), and never moved since it was pinned: dropped in
        // place.
        unsafe { ManuallyDrop::drop(&mut self.future) };
    }
}

impl<T: Send + Sync + 'static, F: fmt::Debug> fmt::Debug for TaskLocalFuture<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskLocalFuture")
            .field("future", &*self.future)
            .finish_non_exhaustive()
    }
}
