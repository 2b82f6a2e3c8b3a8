//! [`JoinSet`]: a set of spawned tasks awaited in completion order (tokio's `JoinSet`).
//!
//! The set keeps each task's `JoinHandle` in a slab. Every handle is polled with a waker of its
//! own ([`EntryWaker`]): when the task completes, that waker queues the entry's key on the
//! set's ready queue (once, thanks to its `queued` flag) and wakes whoever waits in
//! `join_next`. `join_next` therefore only polls handles whose tasks finished (plus each new
//! handle once, to install its waker), in the order they finished: cost per completion, not
//! per member. Dropping the set aborts every task still in it.

use crate::loom::sync::Mutex;
use crate::loom::sync::atomic::{AtomicBool, Ordering};
use crate::runtime::Handle;
use crate::task::{AbortHandle, Id, JoinError, JoinHandle, Meta};
use std::collections::VecDeque;
use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::Pin;
// `Wake` needs std's `Arc`; these wakers only ever reach the runtime as plain `Waker`s.
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

/// A collection of tasks spawned into it, awaited in the order they complete.
///
/// Unlike a [`task_group`](crate::task_group), a `JoinSet` does not stop the others when one
/// fails; it hands every result back (`Ok` or a [`JoinError`]) and leaves the decision to you.
/// Dropping the set aborts every task still in it (without waiting: use
/// [`shutdown`](Self::shutdown) to wait).
///
/// ```
/// use std::time::Duration;
/// use spindle::task::JoinSet;
///
/// spindle::run(async {
///     let mut set = JoinSet::new();
///     for (name, ms) in [("slow", 30), ("fast", 10), ("medium", 20)] {
///         set.spawn(async move {
///             spindle::time::sleep(Duration::from_millis(ms)).await;
///             name
///         });
///     }
///     let mut order = Vec::new();
///     while let Some(result) = set.join_next().await {
///         order.push(result.unwrap());
///     }
///     assert_eq!(order, ["fast", "medium", "slow"]); // completion order
/// });
/// ```
pub struct JoinSet<T> {
    entries: Vec<Option<Entry<T>>>,
    free: Vec<usize>,
    len: usize,
    ready: Arc<Ready>,
}

struct Entry<T> {
    handle: JoinHandle<T>,
    waker: Arc<EntryWaker>,
}

/// The keys of entries to poll, and the task waiting in `join_next`.
struct Ready {
    queue: Mutex<ReadyQueue>,
}

struct ReadyQueue {
    keys: VecDeque<usize>,
    waiter: Option<Waker>,
}

/// The waker a member's `JoinHandle` is polled with.
struct EntryWaker {
    key: usize,
    /// Set while the key sits in the ready queue (or is about to be polled).
    queued: AtomicBool,
    ready: Arc<Ready>,
}

impl Wake for EntryWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // SeqCst: the flag is the only synchronisation between concurrent wakers of one entry.
        if self.queued.swap(true, Ordering::SeqCst) {
            return;
        }
        let waiter = {
            let mut queue = crate::loom::lock(&self.ready.queue);
            queue.keys.push_back(self.key);
            queue.waiter.take()
        };
        // Woken outside the lock: a waker may run arbitrary code.
        if let Some(waiter) = waiter {
            waiter.wake();
        }
    }
}

impl<T> JoinSet<T> {
    /// An empty set.
    ///
    /// ```
    /// let set: spindle::task::JoinSet<u32> = spindle::task::JoinSet::new();
    /// assert!(set.is_empty());
    /// ```
    pub fn new() -> JoinSet<T> {
        JoinSet {
            entries: Vec::new(),
            free: Vec::new(),
            len: 0,
            ready: Arc::new(Ready {
                queue: Mutex::new(ReadyQueue {
                    keys: VecDeque::new(),
                    waiter: None,
                }),
            }),
        }
    }

    /// How many tasks are in the set (finished ones stay until they are joined).
    ///
    /// ```
    /// spindle::run(async {
    ///     let mut set = spindle::task::JoinSet::new();
    ///     set.spawn(async {});
    ///     assert_eq!(set.len(), 1);
    ///     set.join_next().await;
    ///     assert_eq!(set.len(), 0);
    /// });
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the set holds no task.
    ///
    /// ```
    /// let set: spindle::task::JoinSet<()> = spindle::task::JoinSet::default();
    /// assert!(set.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds an already spawned task; its key is queued so that its waker gets installed.
    fn insert(&mut self, handle: JoinHandle<T>) -> AbortHandle {
        let abort = handle.abort_handle();
        let key = self.free.pop().unwrap_or_else(|| {
            self.entries.push(None);
            self.entries.len() - 1
        });
        let waker = Arc::new(EntryWaker {
            key,
            queued: AtomicBool::new(false),
            ready: self.ready.clone(),
        });
        waker.wake_by_ref();
        self.entries[key] = Some(Entry { handle, waker });
        self.len += 1;
        abort
    }

    fn remove(&mut self, key: usize) -> Entry<T> {
        let entry = self.entries[key].take().expect("a live key");
        self.free.push(key);
        self.len -= 1;
        entry
    }

    /// Aborts every task in the set; they stay in it until joined (each then yields a
    /// cancelled `JoinError`, unless it had already finished).
    ///
    /// ```
    /// spindle::run(async {
    ///     let mut set = spindle::task::JoinSet::new();
    ///     set.spawn(std::future::pending::<()>());
    ///     set.abort_all();
    ///     assert!(set.join_next().await.unwrap().unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn abort_all(&mut self) {
        for entry in self.entries.iter().flatten() {
            entry.handle.abort();
        }
    }

    /// Removes every task from the set without aborting them (they keep running, detached).
    ///
    /// ```
    /// spindle::run(async {
    ///     let mut set = spindle::task::JoinSet::new();
    ///     set.spawn(async {});
    ///     set.detach_all();
    ///     assert!(set.is_empty());
    /// });
    /// ```
    pub fn detach_all(&mut self) {
        self.entries.clear();
        self.free.clear();
        self.len = 0;
        crate::loom::lock(&self.ready.queue).keys.clear();
    }

    /// Polls for the next finished task: `Ready(None)` when the set is empty.
    ///
    /// ```
    /// use std::future::poll_fn;
    ///
    /// spindle::run(async {
    ///     let mut set = spindle::task::JoinSet::new();
    ///     set.spawn(async { 3 });
    ///     let out = poll_fn(|cx| set.poll_join_next(cx)).await;
    ///     assert_eq!(out.unwrap().unwrap(), 3);
    /// });
    /// ```
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        self.poll_join_next_with_id(cx)
            .map(|next| next.map(|result| result.map(|(_, value)| value)))
    }

    /// Like [`poll_join_next`](Self::poll_join_next), also returning the finished task's id.
    ///
    /// ```
    /// use std::future::poll_fn;
    ///
    /// spindle::run(async {
    ///     let mut set = spindle::task::JoinSet::new();
    ///     let id = set.spawn(async { 3 }).id();
    ///     let (got, value) = poll_fn(|cx| set.poll_join_next_with_id(cx)).await.unwrap().unwrap();
    ///     assert_eq!((got, value), (id, 3));
    /// });
    /// ```
    pub fn poll_join_next_with_id(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<(Id, T), JoinError>>> {
        if let Some(done) = self.poll_ready_entries(Some(cx)) {
            return Poll::Ready(Some(done));
        }
        if self.is_empty() {
            return Poll::Ready(None);
        }
        Poll::Pending
    }

    /// Polls queued entries until one is finished. With `cx`, registers the waiter first, so a
    /// completion after the last look is never missed.
    fn poll_ready_entries(
        &mut self,
        cx: Option<&mut Context<'_>>,
    ) -> Option<Result<(Id, T), JoinError>> {
        if let Some(cx) = &cx {
            let mut queue = crate::loom::lock(&self.ready.queue);
            if !queue
                .waiter
                .as_ref()
                .is_some_and(|w| w.will_wake(cx.waker()))
            {
                queue.waiter = Some(cx.waker().clone());
            }
        }
        loop {
            let key = crate::loom::lock(&self.ready.queue).keys.pop_front()?;
            let Some(Some(entry)) = self.entries.get_mut(key) else {
                continue; // a stale key of a removed entry
            };
            // SeqCst: pairs with the swap in `wake_by_ref`; cleared before polling, so a
            // completion during the poll queues the key again.
            entry.waker.queued.store(false, Ordering::SeqCst);
            let waker = Waker::from(entry.waker.clone());
            let mut entry_cx = Context::from_waker(&waker);
            // The JoinHandle spends the coop budget; it was given a unit back if Pending.
            if let Poll::Ready(result) = Pin::new(&mut entry.handle).poll(&mut entry_cx) {
                let entry = self.remove(key);
                let id = entry.handle.id();
                return Some(result.map(|value| (id, value)));
            }
            if !crate::task::coop::has_budget_remaining() {
                // Out of budget: the handle said Pending only to make us yield. Keep the key
                // queued and wake ourselves through it.
                entry.waker.wake_by_ref();
                return None;
            }
        }
    }

    /// Waits for the next task to finish and returns its result, in completion order; `None`
    /// once the set is empty. Cancel-safe: dropping the future loses no result.
    ///
    /// ```
    /// spindle::run(async {
    ///     let mut set = spindle::task::JoinSet::new();
    ///     set.spawn(async { panic!("boom") });
    ///     let err = set.join_next().await.unwrap().unwrap_err();
    ///     assert!(err.is_panic());
    ///     assert!(set.join_next().await.is_none());
    /// });
    /// ```
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        poll_fn(|cx| self.poll_join_next(cx)).await
    }

    /// Like [`join_next`](Self::join_next), with the finished task's id.
    ///
    /// ```
    /// spindle::run(async {
    ///     let mut set = spindle::task::JoinSet::new();
    ///     let id = set.spawn(async { "x" }).id();
    ///     assert_eq!(set.join_next_with_id().await.unwrap().unwrap(), (id, "x"));
    /// });
    /// ```
    pub async fn join_next_with_id(&mut self) -> Option<Result<(Id, T), JoinError>> {
        poll_fn(|cx| self.poll_join_next_with_id(cx)).await
    }

    /// The result of a task that has already finished, without waiting; `None` if none has.
    ///
    /// ```
    /// spindle::run(async {
    ///     let mut set = spindle::task::JoinSet::new();
    ///     set.spawn(async { 1 });
    ///     let mut got = None;
    ///     while got.is_none() {
    ///         got = set.try_join_next();
    ///         spindle::yield_now().await;
    ///     }
    ///     assert_eq!(got.unwrap().unwrap(), 1);
    /// });
    /// ```
    pub fn try_join_next(&mut self) -> Option<Result<T, JoinError>> {
        self.try_join_next_with_id()
            .map(|result| result.map(|(_, value)| value))
    }

    /// Like [`try_join_next`](Self::try_join_next), with the finished task's id.
    ///
    /// ```
    /// let set: &mut spindle::task::JoinSet<()> = &mut Default::default();
    /// assert!(set.try_join_next_with_id().is_none());
    /// ```
    pub fn try_join_next_with_id(&mut self) -> Option<Result<(Id, T), JoinError>> {
        // Never "pending because of the budget": this does not wait, so it must not yield.
        crate::task::coop::with_unconstrained(|| self.poll_ready_entries(None))
    }

    /// Aborts every task and waits until all of them are gone (their futures dropped).
    ///
    /// ```
    /// spindle::run(async {
    ///     let mut set = spindle::task::JoinSet::new();
    ///     for _ in 0..10 {
    ///         set.spawn(std::future::pending::<()>());
    ///     }
    ///     set.shutdown().await;
    ///     assert!(set.is_empty());
    /// });
    /// ```
    pub async fn shutdown(&mut self) {
        self.abort_all();
        while self.join_next().await.is_some() {}
    }

    /// Waits for every task and returns their outputs in completion order.
    ///
    /// # Panics
    /// If a task panicked, its panic resumes here (the remaining tasks are aborted when the set
    /// is dropped during the unwind); if a task was cancelled, this panics with the error.
    /// Use [`join_next`](Self::join_next) in a loop to handle failures yourself.
    ///
    /// ```
    /// spindle::run(async {
    ///     let mut set = spindle::task::JoinSet::new();
    ///     for i in 0..3 {
    ///         set.spawn(async move { i * 10 });
    ///     }
    ///     let mut all = set.join_all().await;
    ///     all.sort();
    ///     assert_eq!(all, [0, 10, 20]);
    /// });
    /// ```
    pub async fn join_all(mut self) -> Vec<T> {
        let mut output = Vec::with_capacity(self.len());
        while let Some(result) = self.join_next().await {
            match result {
                Ok(value) => output.push(value),
                Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
                Err(err) => panic!("a task of the JoinSet failed: {err}"),
            }
        }
        output
    }
}

impl<T: Send + 'static> JoinSet<T> {
    /// Spawns `future` on the current runtime as a member of the set; returns a handle that can
    /// abort it.
    ///
    /// # Panics
    /// Outside a runtime, like [`spawn`](crate::spawn).
    ///
    /// ```
    /// spindle::run(async {
    ///     let mut set = spindle::task::JoinSet::new();
    ///     let abort = set.spawn(std::future::pending::<()>());
    ///     abort.abort();
    ///     assert!(set.join_next().await.unwrap().unwrap_err().is_cancelled());
    /// });
    /// ```
    #[track_caller]
    pub fn spawn<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
    {
        let handle = crate::runtime::spawn_with(future, Meta::here());
        self.insert(handle)
    }

    /// Spawns `future` on the runtime behind `handle` as a member of the set.
    ///
    /// ```
    /// let rt = spindle::runtime::Runtime::new().unwrap();
    /// let mut set = spindle::task::JoinSet::new();
    /// set.spawn_on(async { 5 }, rt.handle());
    /// assert_eq!(rt.block_on(set.join_next()).unwrap().unwrap(), 5);
    /// ```
    #[track_caller]
    pub fn spawn_on<F>(&mut self, future: F, handle: &Handle) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
    {
        let join = handle.spawn_with(future, Meta::here());
        self.insert(join)
    }

    /// Runs `f` on the runtime's compute pool (like [`spawn_blocking`](crate::spawn_blocking))
    /// as a member of the set.
    ///
    /// ```
    /// spindle::run(async {
    ///     let mut set = spindle::task::JoinSet::new();
    ///     set.spawn_blocking(|| (1..=10u64).product::<u64>());
    ///     assert_eq!(set.join_next().await.unwrap().unwrap(), 3_628_800);
    /// });
    /// ```
    #[track_caller]
    pub fn spawn_blocking<F>(&mut self, f: F) -> AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
    {
        let handle = crate::blocking::spawn_blocking_with(f, Meta::here());
        self.insert(handle)
    }

    /// Runs `f` on the compute pool of the runtime behind `handle` as a member of the set.
    ///
    /// ```
    /// let rt = spindle::runtime::Runtime::new().unwrap();
    /// let mut set = spindle::task::JoinSet::new();
    /// set.spawn_blocking_on(|| 7, rt.handle());
    /// assert_eq!(rt.block_on(set.join_next()).unwrap().unwrap(), 7);
    /// ```
    #[track_caller]
    pub fn spawn_blocking_on<F>(&mut self, f: F, handle: &Handle) -> AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
    {
        let join = handle.spawn_blocking_with(f, Meta::here());
        self.insert(join)
    }
}

impl<T> Default for JoinSet<T> {
    fn default() -> Self {
        JoinSet::new()
    }
}

impl<T> Drop for JoinSet<T> {
    fn drop(&mut self) {
        self.abort_all();
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet").field("len", &self.len).finish()
    }
}

impl<T, F> FromIterator<F> for JoinSet<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    /// Spawns every future of the iterator into a new set.
    #[track_caller]
    fn from_iter<I: IntoIterator<Item = F>>(iter: I) -> Self {
        let mut set = JoinSet::new();
        for future in iter {
            set.spawn(future);
        }
        set
    }
}

impl<T, F> Extend<F> for JoinSet<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    /// Spawns every future of the iterator into the set.
    #[track_caller]
    fn extend<I: IntoIterator<Item = F>>(&mut self, iter: I) {
        for future in iter {
            self.spawn(future);
        }
    }
}
