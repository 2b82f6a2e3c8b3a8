//! [`task_group`], [`TaskGroup`] and [`GroupHandle`]: asyncio's `TaskGroup` on a
//! multi-threaded runtime.
//!
//! Children are ordinary `'static + Send` tasks spawned with the runtime's public API; each one
//! carries a guard that, when the child's future is gone (finished, failed, panicked or aborted),
//! fills the child's [`GroupHandle`] slot and then reports the exit to the group's
//! [`State`](super::state::State). The body is polled by the task awaiting `task_group`, inside
//! `catch_unwind`, and is dropped in place when the group starts stopping. Panics of children
//! are caught around each poll of their future and resumed in the awaiting task once every
//! child has exited.

use super::error::GroupError;
use super::state::{Effects, Outcome, Progress, State};
use crate::loom::sync::{Arc, Mutex};
use crate::runtime::Handle;
use crate::task::Meta;
use std::any::Any;
use std::fmt;
use std::future::{Future, poll_fn};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};

/// Shared by the awaiting task, every [`TaskGroup`] clone and every child's guard.
struct Group<E> {
    state: Mutex<State<E>>,
    /// The runtime the group was started on (children are spawned there, from any thread).
    runtime: Option<Handle>,
}

impl<E> Group<E> {
    /// Runs `f` on the locked state, then the effects it returned, after unlocking.
    fn transition(&self, f: impl FnOnce(&mut State<E>) -> Effects) {
        let effects = f(&mut crate::loom::lock(&self.state));
        effects.run();
    }

    fn is_stopping(&self) -> bool {
        crate::loom::lock(&self.state).is_stopping()
    }
}

/// Runs a structured group of tasks: asyncio's `async with TaskGroup() as tg`.
///
/// `body` receives a [`TaskGroup`] to spawn children with and runs on the task that awaits
/// `task_group` (so it may borrow locals); the children run in parallel on the worker threads.
///
/// 1. `task_group` returns only after **every** child has finished, whatever happened (as long
///    as its own future is not dropped). Children may spawn more children while the body waits.
/// 2. The first failure (a child or the body returning `Err`, or a panic) cancels every other
///    child and drops the body at its current `.await`, exactly once. Cancelled children are not
///    errors.
/// 3. The errors are collected — children's in completion order, the body's last — and returned
///    as `Err(`[`GroupError`]`)`.
/// 4. A child's panic cancels everything, waits for every child, then resumes in the task
///    awaiting `task_group` (`std::panic::resume_unwind`); the collected errors are dropped. A
///    panic of the body is treated the same way.
/// 5. [`TaskGroup::cancel`] stops everything; the result is a [`GroupError`] with no errors and
///    [`is_cancelled`](GroupError::is_cancelled) set.
/// 6. Spawning into a group that is failing, cancelled or finished is refused: the future is
///    dropped unpolled and its handle yields `None`.
/// 7. Dropping the `task_group` future (e.g. in a [`timeout`](crate::time::timeout)) aborts every
///    child.
/// 8. Otherwise the body's `Ok(value)` is the result.
///
/// A running [`spawn_blocking`](TaskGroup::spawn_blocking) child cannot be interrupted, only
/// asked to stop: its [`spindle::compute::checkpoint()`](crate::compute::checkpoint) starts
/// failing when the group stops, and the group waits for it to return. An `Err` it returns after
/// a checkpoint reported the cancellation counts as cancelled, not as an error. Must be awaited
/// inside a spindle runtime when the body spawns children.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let total = spindle::run(spindle::task_group(|g| async move {
///     let a = g.spawn(async {
///         spindle::time::sleep(Duration::from_millis(20)).await;
///         Ok::<_, String>(20)
///     });
///     let b = g.spawn_blocking(|| Ok((1..=10u64).sum::<u64>()));
///     Ok(a.await.unwrap() + b.await.unwrap())
/// }));
/// assert_eq!(total.unwrap(), 75);
/// ```
pub async fn task_group<E, R, F, Fut>(body: F) -> Result<R, GroupError<E>>
where
    E: Send + 'static,
    F: FnOnce(TaskGroup<E>) -> Fut,
    Fut: Future<Output = Result<R, E>>,
{
    let group = Arc::new(Group {
        state: Mutex::new(State::new()),
        runtime: Handle::try_current(),
    });
    // Declared before the body so that, if this future is dropped, the body is dropped first
    // and then every child is aborted.
    let mut abandon = AbandonOnDrop {
        group: Some(group.clone()),
    };
    let mut body = pin!(Some(body(TaskGroup {
        group: group.clone(),
    })));
    let mut value: Option<R> = None;
    let mut body_error: Option<E> = None;

    let outcome = poll_fn(|cx| drive(&group, body.as_mut(), &mut value, &mut body_error, cx)).await;
    abandon.group = None;

    match outcome {
        Outcome::Closed => Ok(value.expect("a group that closed normally has the body's value")),
        Outcome::Cancelled => Err(GroupError::cancelled()),
        Outcome::Failed(mut errors) => {
            errors.extend(body_error);
            Err(GroupError::failed(errors))
        }
        Outcome::Panicked(payload) => resume_unwind(payload),
    }
}

/// One poll of `task_group`: polls the body unless the group is stopping, drops it when it
/// must, and finishes once the body is gone and every child has exited.
fn drive<E, R, Fut>(
    group: &Group<E>,
    mut body: Pin<&mut Option<Fut>>,
    value: &mut Option<R>,
    body_error: &mut Option<E>,
    cx: &mut Context<'_>,
) -> Poll<Outcome<E>>
where
    Fut: Future<Output = Result<R, E>>,
{
    // Registered first: any transition after this point wakes us.
    crate::loom::lock(&group.state).register_waiter(cx.waker());
    loop {
        if body.is_some() {
            if group.is_stopping() {
                drop_body(group, body.as_mut());
            } else {
                match poll_or_drop_on_unwind(body.as_mut(), cx) {
                    Ok(Poll::Pending) => {}
                    Ok(Poll::Ready(Ok(r))) => {
                        drop_body(group, body.as_mut());
                        *value = Some(r);
                    }
                    Ok(Poll::Ready(Err(error))) => {
                        drop_body(group, body.as_mut());
                        let (keep, effects) = crate::loom::lock(&group.state).body_failed();
                        effects.run();
                        if keep {
                            *body_error = Some(error);
                        }
                    }
                    Err(payload) => {
                        drop_body(group, body.as_mut());
                        group.transition(|state| state.panicked(None, payload));
                    }
                }
            }
        }
        let progress = crate::loom::lock(&group.state).progress(body.is_some());
        match progress {
            Progress::Wait => return Poll::Pending,
            Progress::DropBody => continue,
            Progress::Finish(outcome) => return Poll::Ready(outcome),
        }
    }
}

/// Polls the future in `slot` inside `catch_unwind`. If `poll` panics, the future is dropped in
/// place *while the panic unwinds* (its destructors see `std::thread::panicking()`, as they
/// would in synchronous code), so the slot is `None` when this returns `Err`.
fn poll_or_drop_on_unwind<F: Future>(
    slot: Pin<&mut Option<F>>,
    cx: &mut Context<'_>,
) -> Result<Poll<F::Output>, Box<dyn Any + Send>> {
    struct ClearOnUnwind<'a, F>(Pin<&'a mut Option<F>>);
    impl<F> Drop for ClearOnUnwind<'_, F> {
        fn drop(&mut self) {
            // Only reached while unwinding (the happy path forgets the guard). `set` drops the
            // pinned future where it lies.
            self.0.set(None);
        }
    }
    catch_unwind(AssertUnwindSafe(|| {
        let mut guard = ClearOnUnwind(slot);
        let poll = guard
            .0
            .as_mut()
            .as_pin_mut()
            .expect("a finished child or body is never polled again")
            .poll(cx);
        std::mem::forget(guard);
        poll
    }))
}

/// Drops the body's future in place; a panic in its destructor counts as a body panic.
fn drop_body<E, Fut>(group: &Group<E>, mut body: Pin<&mut Option<Fut>>) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(|| body.set(None))) {
        group.transition(|state| state.panicked(None, payload));
    }
}

/// Aborts every child if the `task_group` future is dropped before it finished.
struct AbandonOnDrop<E> {
    group: Option<Arc<Group<E>>>,
}

impl<E> Drop for AbandonOnDrop<E> {
    fn drop(&mut self) {
        if let Some(group) = self.group.take() {
            group.transition(State::abandon);
        }
    }
}

/// The spawner handed to a [`task_group`]'s body: cheap to clone, `Send + Sync`, usable from
/// any thread (children may keep a clone and spawn more children).
///
/// # Examples
///
/// ```
/// let n = spindle::run(spindle::task_group(|g| async move {
///     let g2 = g.clone();
///     let outer = g.spawn(async move {
///         // A child spawning a sibling into the same group.
///         let inner = g2.spawn(async { Ok::<_, ()>(1) });
///         Ok(inner.await.unwrap() + 1)
///     });
///     Ok(outer.await.unwrap())
/// }));
/// assert_eq!(n, Ok(2));
/// ```
pub struct TaskGroup<E> {
    group: Arc<Group<E>>,
}

impl<E> Clone for TaskGroup<E> {
    fn clone(&self) -> Self {
        TaskGroup {
            group: self.group.clone(),
        }
    }
}

impl<E> fmt::Debug for TaskGroup<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = crate::loom::lock(&self.group.state);
        f.debug_struct("TaskGroup")
            .field("phase", &state.phase())
            .field("live_children", &state.live())
            .finish()
    }
}

impl<E: Send + 'static> TaskGroup<E> {
    /// Spawns a child task on the worker threads.
    ///
    /// If the group is failing, cancelled or finished, the future is dropped without being
    /// polled and the handle yields `None`.
    ///
    /// ```
    /// let r = spindle::run(spindle::task_group(|g| async move {
    ///     let h = g.spawn(async { Ok::<_, String>("child") });
    ///     Ok(h.await)
    /// }));
    /// assert_eq!(r.unwrap(), Some("child"));
    /// ```
    #[track_caller]
    pub fn spawn<F, T>(&self, future: F) -> GroupHandle<T>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
    {
        let Some((guard, handle)) = self.admit() else {
            drop(future);
            return GroupHandle::refused();
        };
        let id = guard.id;
        let task = child_task(future, guard);
        let join = match &self.group.runtime {
            Some(runtime) => runtime.spawn_with(task, Meta::here()),
            None => crate::runtime::spawn_with(task, Meta::here()),
        };
        self.attach(id, join.abort_handle());
        handle
    }

    /// Runs a blocking or CPU-heavy child on the runtime's rayon pool (asyncio's `to_thread`).
    ///
    /// The closure runs as a compute job: a child that has not started when the group stops
    /// never runs; a running one is asked to stop — its
    /// [`compute::checkpoint()`](crate::compute::checkpoint) (or the [`Job`](crate::compute::Job)
    /// of [`compute::current()`](crate::compute::current)) fails — and the group waits until it
    /// returns. Then:
    ///
    /// * an `Err` returned after one of its checkpoints reported the cancellation is the
    ///   cancellation (asyncio: the child let `CancelledError` propagate): not collected;
    /// * an `Err` returned without a checkpoint having reported it is the child's own error and
    ///   is collected (asyncio: it caught `CancelledError` and raised something else);
    /// * an `Ok` value of a child cancelled while it ran is dropped, and its handle yields
    ///   `None`, as its `JoinHandle` would yield a cancelled error.
    ///
    /// ```
    /// use spindle::compute::{self, Cancelled};
    /// use std::time::Duration;
    ///
    /// let r = spindle::run(spindle::task_group(|g| async move {
    ///     let kernel = g.spawn_blocking(|| -> Result<u64, String> {
    ///         let mut steps = 0;
    ///         loop {
    ///             // Fails once the sibling below failed: the child stops within a step.
    ///             compute::checkpoint().map_err(|Cancelled| "cancelled".to_string())?;
    ///             std::thread::sleep(Duration::from_millis(1));
    ///             steps += 1;
    ///         }
    ///     });
    ///     g.spawn(async {
    ///         spindle::time::sleep(Duration::from_millis(20)).await;
    ///         Err::<(), _>("sibling failed".to_string())
    ///     });
    ///     Ok(kernel.await)
    /// }));
    /// // Only the sibling's error: the kernel's "cancelled" is its cancellation.
    /// assert_eq!(r.unwrap_err().into_errors(), ["sibling failed"]);
    /// ```
    ///
    /// ```
    /// use rayon::prelude::*;
    ///
    /// let r = spindle::run(spindle::task_group(|g| async move {
    ///     let h = g.spawn_blocking(|| Ok::<_, ()>((0..1000u64).into_par_iter().sum::<u64>()));
    ///     Ok(h.await)
    /// }));
    /// assert_eq!(r.unwrap(), Some(499_500));
    /// ```
    #[track_caller]
    pub fn spawn_blocking<F, T>(&self, f: F) -> GroupHandle<T>
    where
        F: FnOnce() -> Result<T, E> + Send + 'static,
        T: Send + 'static,
    {
        let Some((guard, handle)) = self.admit() else {
            drop(f);
            return GroupHandle::refused();
        };
        let id = guard.id;
        let child = BlockingChild { f: Some(f), guard };
        let job = move || child.run();
        let join = match &self.group.runtime {
            Some(runtime) => runtime.spawn_blocking_with(job, Meta::here()),
            None => crate::blocking::spawn_blocking_with(job, Meta::here()),
        };
        self.attach(id, join.abort_handle());
        handle
    }

    /// Cancels every child and the body; the group then returns a cancelled [`GroupError`].
    /// Idempotent, and a no-op once the group is failing or finished.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let r = spindle::run(spindle::task_group(|g| async move {
    ///     g.spawn(async {
    ///         spindle::time::sleep(Duration::from_secs(3600)).await;
    ///         Ok::<_, String>(())
    ///     });
    ///     g.cancel();
    ///     assert!(g.is_cancelled());
    ///     spindle::time::sleep(Duration::from_secs(3600)).await; // the body is dropped here
    ///     Ok(())
    /// }));
    /// assert!(r.unwrap_err().is_cancelled());
    /// ```
    pub fn cancel(&self) {
        self.group.transition(State::cancel);
    }

    /// Whether the group is stopping or stopped early: [`cancel`](Self::cancel) was called, a
    /// failure happened, or the `task_group` future was dropped. (Blocking children are better
    /// served by [`compute::checkpoint()`](crate::compute::checkpoint): one load instead of a
    /// lock, and an `Err` returned after it reported the cancellation counts as cancelled.)
    ///
    /// ```
    /// let r = spindle::run(spindle::task_group(|g: spindle::TaskGroup<()>| async move {
    ///     assert!(!g.is_cancelled());
    ///     Ok(())
    /// }));
    /// assert_eq!(r.unwrap(), ());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.group.is_stopping()
    }

    /// Registers a child; `None` if the group refuses new children.
    fn admit<T>(&self) -> Option<(ChildGuard<T, E>, GroupHandle<T>)> {
        let id = crate::loom::lock(&self.group.state).admit_child()?;
        let slot = Arc::new(Mutex::new(Slot::Waiting(None)));
        let guard = ChildGuard {
            group: self.group.clone(),
            id,
            slot: slot.clone(),
            filled: false,
        };
        Some((guard, GroupHandle { slot }))
    }

    /// Stores a spawned child's abort handle, or aborts it at once if the group began stopping
    /// while it was being spawned.
    fn attach(&self, id: u64, handle: crate::AbortHandle) {
        let late = crate::loom::lock(&self.group.state).attach_abort(id, handle);
        if let Some(handle) = late {
            handle.abort();
        }
    }
}

/// Wraps a child's future: polls it inside `catch_unwind`, drops it, then reports.
///
/// If the task is aborted, this future is dropped: before its first poll the parameters drop in
/// order (`future`, then `guard`); at the await the pinned `future` (declared after `guard`)
/// drops first. Either way the child's destructors have run when the guard reports the exit.
async fn child_task<F, T, E>(future: F, guard: ChildGuard<T, E>)
where
    F: Future<Output = Result<T, E>>,
{
    let mut future = pin!(Some(future));
    let mut outcome = poll_fn(|cx| match poll_or_drop_on_unwind(future.as_mut(), cx) {
        Ok(Poll::Pending) => Poll::Pending,
        Ok(Poll::Ready(result)) => Poll::Ready(Ok(result)),
        Err(payload) => Poll::Ready(Err(payload)),
    })
    .await;
    // The child's destructors run before the group hears about it.
    if let Err(payload) = catch_unwind(AssertUnwindSafe(|| future.set(None))) {
        if outcome.is_ok() {
            outcome = Err(payload);
        }
    }
    guard.finish(outcome);
}

/// A `spawn_blocking` child: the user's closure and its guard, in that field order, so that
/// when the job is dropped unrun (cancelled before it started) the closure's captured state is
/// dropped *before* the guard reports the exit: `task_group` never returns while a child's
/// state is still alive.
struct BlockingChild<F, T, E> {
    f: Option<F>,
    guard: ChildGuard<T, E>,
}

impl<F, T, E> BlockingChild<F, T, E>
where
    F: FnOnce() -> Result<T, E>,
{
    fn run(mut self) {
        let f = self.f.take().expect("a blocking child runs once");
        if self.guard.group.is_stopping() {
            // Stopped before it started: never run; its state goes before the guard reports.
            drop(f);
            return;
        }
        // Calling the closure consumes it: its captures are dropped before `finish` reports.
        let outcome = catch_unwind(AssertUnwindSafe(f));
        let BlockingChild { guard, .. } = self;
        // The closure runs as a compute job: its token says whether the group (or the
        // runtime) cancelled it while it ran, and whether it saw that through a checkpoint.
        let cancellation =
            crate::compute::with_current_job(|job| job.cancellation()).unwrap_or_default();
        match outcome {
            // Cancelled while it ran: the value of a computation the group gave up on is
            // dropped, as its JoinHandle would drop it; the handle yields `None`.
            Ok(Ok(value)) if cancellation.requested => guard.cancelled(value),
            // An error returned after a checkpoint reported the cancellation is that
            // cancellation (asyncio: the child let `CancelledError` propagate), not a failure.
            // An error returned without having looked is the child's own and is collected.
            Ok(Err(error)) if cancellation.observed => guard.cancelled(error),
            outcome => guard.finish(outcome),
        }
    }
}

/// A child's result slot, shared by its guard and its [`GroupHandle`].
enum Slot<T> {
    /// Not finished; the waker of a task awaiting the handle.
    Waiting(Option<Waker>),
    /// Finished; `None` unless it succeeded.
    Ready(Option<T>),
    /// The handle returned the value.
    Taken,
}

/// Owned by a child task (inside its future or closure). Whatever happens to the child, the
/// guard's drop fills the handle's slot (with `None` unless the child succeeded) and then
/// reports the exit to the group.
struct ChildGuard<T, E> {
    group: Arc<Group<E>>,
    id: u64,
    slot: Arc<Mutex<Slot<T>>>,
    filled: bool,
}

impl<T, E> ChildGuard<T, E> {
    /// Records the child's result; the exit is reported when the guard drops right after.
    fn finish(mut self, outcome: Result<Result<T, E>, Box<dyn Any + Send>>) {
        match outcome {
            Ok(Ok(value)) => self.fill(Some(value)),
            Ok(Err(error)) => {
                self.fill(None);
                let id = self.id;
                self.group.transition(|state| state.child_failed(id, error));
            }
            Err(payload) => {
                self.fill(None);
                let id = self.id;
                self.group
                    .transition(|state| state.panicked(Some(id), payload));
            }
        }
    }

    /// The child was cancelled: `discarded` (its value or error) is dropped and the handle
    /// yields `None`. A panic in that drop is the child's panic.
    fn cancelled<V>(self, discarded: V) {
        if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(discarded))) {
            self.finish(Err(payload));
        }
        // Otherwise dropping the unfilled guard fills `None` and reports the exit.
    }

    fn fill(&mut self, value: Option<T>) {
        self.filled = true;
        let previous = std::mem::replace(&mut *crate::loom::lock(&self.slot), Slot::Ready(value));
        if let Slot::Waiting(Some(waker)) = previous {
            waker.wake();
        }
    }
}

impl<T, E> Drop for ChildGuard<T, E> {
    fn drop(&mut self) {
        if !self.filled {
            // Aborted (or refused to start): the handle yields `None`.
            self.fill(None);
        }
        let id = self.id;
        self.group.transition(|state| state.child_exited(id));
    }
}

/// The handle of one child of a [`task_group`]: a future of `Some(value)` if the child
/// succeeded, `None` if it failed, panicked, was cancelled or was refused (the reasons are in
/// the group's result).
///
/// It can be awaited in the body, in another child, or after `task_group` returned (it is then
/// ready at once). Dropping it does not affect the child.
///
/// # Examples
///
/// ```
/// let (h, r) = spindle::run(async {
///     let mut kept = None;
///     let r = spindle::task_group(|g| {
///         kept = Some(g.spawn(async { Ok::<_, ()>(42) }));
///         async { Ok(()) }
///     })
///     .await;
///     (kept.unwrap().await, r)
/// });
/// assert_eq!((h, r), (Some(42), Ok(())));
/// ```
pub struct GroupHandle<T> {
    slot: Arc<Mutex<Slot<T>>>,
}

impl<T> GroupHandle<T> {
    fn refused() -> GroupHandle<T> {
        GroupHandle {
            slot: Arc::new(Mutex::new(Slot::Ready(None))),
        }
    }

    /// Whether the child is over (its handle would be ready).
    ///
    /// ```
    /// spindle::run(async {
    ///     let mut kept = None;
    ///     spindle::task_group(|g| {
    ///         kept = Some(g.spawn(async { Ok::<_, ()>(()) }));
    ///         async { Ok(()) }
    ///     })
    ///     .await
    ///     .unwrap();
    ///     assert!(kept.unwrap().is_finished());
    /// });
    /// ```
    pub fn is_finished(&self) -> bool {
        !matches!(*crate::loom::lock(&self.slot), Slot::Waiting(_))
    }
}

impl<T> Future for GroupHandle<T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut slot = crate::loom::lock(&self.slot);
        match &mut *slot {
            Slot::Waiting(waker) => {
                if !waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    *waker = Some(cx.waker().clone());
                }
                Poll::Pending
            }
            Slot::Ready(_) => match std::mem::replace(&mut *slot, Slot::Taken) {
                Slot::Ready(value) => Poll::Ready(value),
                _ => unreachable!(),
            },
            Slot::Taken => panic!("GroupHandle polled again after it returned its value"),
        }
    }
}

impl<T> fmt::Debug for GroupHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}
