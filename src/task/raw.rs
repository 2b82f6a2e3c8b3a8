//! The task cell: one heap allocation per task, and the type-erased operations on it.
//!
//! ```text
//! Cell<F, S> (repr C)   Header { state, vtable, registry_key,     <- every pointer points here
//!                                id, spawned_at, name, locals, stats }
//!                       scheduler: S                             <- the hook the task knows it by
//!                       stage: Running(F) | Finished(output) | Consumed
//!                       join_waker: Mutex<Option<Waker>>         <- the JoinHandle's waker
//! ```
//!
//! Everything outside this file holds a [`RawTask`] (a `NonNull<Header>`) and calls through the
//! `Vtable`, monomorphised per future and scheduler type. Who may touch `stage` is decided by the
//! state word: the RUNNING owner while the task is not complete; after COMPLETE, the JoinHandle
//! (or the completer when there is no handle). Panics from `poll` and from the future's or the
//! output's destructor are caught here, so a task can never unwind into a worker.

use super::error::JoinError;
use super::id::Id;
use super::info::TaskKind;
use super::local::Locals;
use super::owned::OwnedTasks;
use super::state::{State, TransitionToIdle, TransitionToNotified, TransitionToRunning};
use super::{Notified, Schedule};
use crate::loom::UnsafeCell;
use crate::loom::sync::Mutex;
use crate::loom::sync::atomic::AtomicU64;
use std::any::Any;
use std::future::Future;
use std::mem::{self, ManuallyDrop};
use std::panic::{AssertUnwindSafe, Location, catch_unwind};
use std::pin::Pin;
use std::ptr::{self, NonNull};
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

/// Registry key of a task that is not in a registry.
pub(crate) const NOT_REGISTERED: usize = usize::MAX;

pub(crate) struct Header {
    pub(crate) state: State,
    vtable: &'static Vtable,
    /// The task's slot in its runtime's [`OwnedTasks`]. Written by the thread that owns the
    /// future (RUNNING, or the spawner before the task is shared), read at completion by the
    /// next owner; the state word's AcqRel transitions order those accesses.
    pub(crate) registry_key: UnsafeCell<usize>,
    /// Immutable after spawn.
    pub(crate) id: Id,
    /// Where the task was spawned (`#[track_caller]` through every spawn function).
    pub(crate) spawned_at: &'static Location<'static>,
    pub(crate) name: Option<std::sync::Arc<str>>,
    pub(crate) kind: TaskKind,
    /// The task-local values inherited from the spawner (see `local.rs`).
    pub(crate) locals: Locals,
    /// Poll statistics for dumps: polls so far (low 32 bits) and when the last poll started
    /// (high 32 bits, the scheduler's coarse milliseconds). Written only by the poller.
    pub(crate) stats: AtomicU64,
    /// What the task waits on, as recorded by the resource that returned `Pending` (see
    /// `info.rs`).
    pub(crate) wait: AtomicU64,
    /// Feature `tracing`: the id of the task's span, for waker events (`trace.rs`; `()`
    /// without the feature).
    pub(crate) tracing_id: super::trace::TracingId,
}

/// What a spawn call records in the new task.
pub(crate) struct Meta {
    pub(crate) spawned_at: &'static Location<'static>,
    pub(crate) name: Option<std::sync::Arc<str>>,
    pub(crate) kind: TaskKind,
}

impl Meta {
    /// An unnamed async task spawned at the caller's location.
    #[track_caller]
    pub(crate) fn here() -> Meta {
        Meta {
            spawned_at: Location::caller(),
            name: None,
            kind: TaskKind::Async,
        }
    }

    /// The same spawn site for another kind of task.
    pub(crate) fn kind(self, kind: TaskKind) -> Meta {
        Meta { kind, ..self }
    }
}

struct Vtable {
    /// Runs a `Notified` (consumes its reference).
    run: unsafe fn(NonNull<Header>),
    /// Hands a `Notified` (one reference, SCHEDULED set) to the task's scheduler.
    schedule: unsafe fn(NonNull<Header>),
    /// Frees the cell; the refcount is zero.
    dealloc: unsafe fn(NonNull<Header>),
    /// JoinHandle poll: writes `Poll<Result<T, JoinError>>` to the pointer.
    try_read_output: unsafe fn(NonNull<Header>, *mut (), &Waker),
    /// JoinHandle drop.
    drop_join_handle: unsafe fn(NonNull<Header>),
    /// Cancels the task now if nobody is polling it (the caller keeps its reference).
    shutdown: unsafe fn(NonNull<Header>),
    /// The registry of the task's scheduler.
    owned_tasks: unsafe fn(NonNull<Header>) -> *const OwnedTasks,
}

enum Stage<F: Future> {
    Running(F),
    Finished(Result<F::Output, JoinError>),
    Consumed,
}

#[repr(C)]
struct Cell<F: Future, S> {
    header: Header,
    scheduler: S,
    stage: UnsafeCell<Stage<F>>,
    join_waker: Mutex<Option<Waker>>,
}

/// A counted pointer to a task's header. Copying it does not take a reference: each owner type
/// (`Notified`, `JoinHandle`, waker, registry slot) accounts for exactly one.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct RawTask {
    ptr: NonNull<Header>,
}

// SAFETY: the header is only reached through atomics, the stage only by the owner the state word
// designates, and the future and output are `Send` (required by every constructor).
unsafe impl Send for RawTask {}
// SAFETY: as above; shared access never touches the stage without ownership from the state.
unsafe impl Sync for RawTask {}

impl RawTask {
    /// Allocates a task holding `future`, scheduled once, with `refs` references
    /// (one for the initial `Notified`, one for the JoinHandle).
    /// The task inherits the task-local values in effect on the calling thread.
    pub(crate) fn new<F, S>(future: F, scheduler: S, meta: Meta) -> RawTask
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
        S: Schedule,
    {
        let id = Id::next();
        // Feature `tracing`: the future inside its span (see `trace.rs`); else unchanged.
        let (future, tracing_id) = super::trace::instrument(future, &meta, id);
        let cell = Box::new(Cell {
            header: Header {
                state: State::new(2),
                vtable: vtable::<super::trace::Traced<F>, S>(),
                registry_key: UnsafeCell::new(NOT_REGISTERED),
                id,
                spawned_at: meta.spawned_at,
                name: meta.name,
                kind: meta.kind,
                locals: super::local::inherit(),
                stats: AtomicU64::new(0),
                wait: AtomicU64::new(0),
                tracing_id,
            },
            scheduler,
            stage: UnsafeCell::new(Stage::Running(future)),
            join_waker: Mutex::new(None),
        });
        let ptr = NonNull::from(Box::leak(cell)).cast::<Header>();
        RawTask { ptr }
    }

    pub(crate) fn as_ptr(self) -> NonNull<()> {
        self.ptr.cast()
    }

    /// # Safety
    /// `ptr` must come from [`as_ptr`](Self::as_ptr) of a task that is still referenced.
    pub(crate) unsafe fn from_ptr(ptr: NonNull<()>) -> RawTask {
        RawTask { ptr: ptr.cast() }
    }

    pub(crate) fn header(&self) -> &Header {
        // SAFETY: every RawTask in use stands for a counted reference, so the cell is alive.
        unsafe { self.ptr.as_ref() }
    }

    pub(crate) fn state(&self) -> &State {
        &self.header().state
    }

    pub(crate) fn run(self) {
        // SAFETY: the caller passes ownership of a Notified reference.
        unsafe { (self.header().vtable.run)(self.ptr) }
    }

    pub(crate) fn schedule(self) {
        // SAFETY: the caller passes ownership of a Notified reference.
        unsafe { (self.header().vtable.schedule)(self.ptr) }
    }

    /// # Safety
    /// `dst` must point to a `Poll<Result<T, JoinError>>` for this task's output type `T`, and
    /// the caller must be the JoinHandle.
    pub(crate) unsafe fn try_read_output(self, dst: *mut (), waker: &Waker) {
        // SAFETY: forwarded contract.
        unsafe { (self.header().vtable.try_read_output)(self.ptr, dst, waker) }
    }

    pub(crate) fn drop_join_handle(self) {
        // SAFETY: called once, by the JoinHandle, with its reference.
        unsafe { (self.header().vtable.drop_join_handle)(self.ptr) }
    }

    /// Cancels the task if nobody is polling it; a running task is cancelled when its poll returns.
    pub(crate) fn shutdown(self) {
        // SAFETY: the caller holds a reference for the duration of the call.
        unsafe { (self.header().vtable.shutdown)(self.ptr) }
    }

    /// Abort from a JoinHandle or AbortHandle: the future is dropped on a runtime thread.
    pub(crate) fn remote_abort(self) {
        if self.state().transition_to_notified_and_cancel() == TransitionToNotified::Submit {
            self.schedule();
        }
    }

    pub(crate) fn ref_inc(self) {
        self.state().ref_inc();
    }

    pub(crate) fn ref_dec(self) {
        if self.state().ref_dec() {
            // SAFETY: that was the last reference.
            unsafe { (self.header().vtable.dealloc)(self.ptr) }
        }
    }

    /// Whether the task is in its runtime's registry. The key is written before the task first
    /// goes idle, and every wake or abort that can observe an idle task synchronizes with that
    /// through the state word, so this read is ordered after the write.
    pub(crate) fn is_registered(&self) -> bool {
        // SAFETY: see above; the key only changes from NOT_REGISTERED to a slot, once.
        self.header().registry_key.with(|k| unsafe { *k }) != NOT_REGISTERED
    }

    pub(crate) fn owned_tasks(&self) -> &OwnedTasks {
        // SAFETY: the scheduler lives inside the cell, which our reference keeps alive.
        unsafe { &*(self.header().vtable.owned_tasks)(self.ptr) }
    }

    /// A waker that borrows this task's reference (no count change until cloned).
    fn waker_ref(&self) -> ManuallyDrop<Waker> {
        // SAFETY: the vtable upholds the RawWaker contract over a counted header pointer; the
        // ManuallyDrop keeps us from releasing a reference we do not own.
        ManuallyDrop::new(unsafe { Waker::from_raw(raw_waker(self.ptr)) })
    }
}

fn vtable<F, S>() -> &'static Vtable
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    &Vtable {
        run: run::<F, S>,
        schedule: schedule::<F, S>,
        dealloc: dealloc::<F, S>,
        try_read_output: try_read_output::<F, S>,
        drop_join_handle: drop_join_handle::<F, S>,
        shutdown: shutdown::<F, S>,
        owned_tasks: owned_tasks::<F, S>,
    }
}

/// # Safety
/// `ptr` must be the header of a live `Cell<F, S>`.
unsafe fn cell<'a, F: Future, S>(ptr: NonNull<Header>) -> &'a Cell<F, S> {
    // SAFETY: the header is the first field of the repr(C) cell; the caller holds a reference.
    unsafe { ptr.cast::<Cell<F, S>>().as_ref() }
}

unsafe fn run<F, S>(ptr: NonNull<Header>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    let task = RawTask { ptr };
    // SAFETY: the Notified reference we consumed keeps the cell alive.
    let cell = unsafe { cell::<F, S>(ptr) };
    let output = match task.state().transition_to_running() {
        TransitionToRunning::Success => {
            let waker = task.waker_ref();
            let mut cx = Context::from_waker(&waker);
            let polled = {
                let _enter = enter(cell);
                poll_future(cell, &mut cx)
            };
            match polled {
                Poll::Ready(output) => discard_if_cancelled_closure(task, output),
                Poll::Pending => return go_idle::<F, S>(task),
            }
        }
        TransitionToRunning::Cancelled => cancel_in_task(cell),
        TransitionToRunning::Failed => return task.ref_dec(),
    };
    complete::<F, S>(task, output);
}

// ---- spindle::compute: the completion rule of blocking and compute closures ----

/// A `spawn_blocking` or `compute::spawn` closure cannot be interrupted, only asked to stop
/// (`spindle::compute::checkpoint`). If it was cancelled while it ran (abort, its task group
/// stopping, runtime shutdown), its handle yields a cancelled `JoinError` once it returns,
/// never the value of a computation the caller gave up on; the value is dropped here. A panic
/// stays a panic. Async tasks keep tokio's rule: a task that completes in the poll during
/// which it was aborted yields its value.
fn discard_if_cancelled_closure<T>(
    task: RawTask,
    output: Result<T, JoinError>,
) -> Result<T, JoinError> {
    let closure = matches!(task.header().kind, TaskKind::Blocking | TaskKind::Compute);
    match output {
        Ok(value) if closure && task.state().load().is_cancelled() => {
            // A panicking destructor of the discarded value becomes the task's panic, as a
            // panicking future destructor does.
            match catch_unwind(AssertUnwindSafe(move || drop(value))) {
                Ok(()) => Err(JoinError::cancelled()),
                Err(payload) => Err(JoinError::panic(payload)),
            }
        }
        output => output,
    }
}

/// The poll returned `Pending`: register the task (first time only) and go idle, unless a wake
/// or an abort arrived meanwhile.
///
/// Takes the pointer, not a `&Cell`, for the reason `complete` does: both `complete` and the
/// final `ref_dec` may free the cell while this call is still on the stack.
fn go_idle<F, S>(task: RawTask)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    // SAFETY: the caller's running reference keeps the cell alive until `complete` or the
    // `ref_dec` below releases it; `cell` is not used after either.
    let cell = unsafe { cell::<F, S>(task.ptr) };
    // A task is registered with its runtime the first time it goes idle, so that shutdown can
    // find and cancel it; tasks that finish in one poll never pay for it.
    if !task.is_registered() && !cell.scheduler.owned_tasks().insert(task) {
        // The runtime is shutting down: cancel instead of going idle.
        let output = cancel_in_task(cell);
        return complete::<F, S>(task, output);
    }
    match task.state().transition_to_idle() {
        TransitionToIdle::Ok => {}
        TransitionToIdle::OkNotified => {
            // Our reference outlives the call: the scheduler may drop the Notified.
            cell.scheduler.yield_now(Notified::from_raw(task));
            task.ref_dec();
        }
        TransitionToIdle::Cancelled => {
            let output = cancel_in_task(cell);
            complete::<F, S>(task, output);
        }
    }
}

/// Makes the task and its inherited task-locals current on this thread while its future is
/// polled or dropped (its destructors may read them). The guard must end before anything that
/// may free the cell (`complete`, a reference drop): the thread-local borrows the cell's locals.
fn enter<F: Future, S>(cell: &Cell<F, S>) -> super::local::Enter {
    super::local::enter_task(&cell.header)
}

/// Drops the future inside the task's context; the caller owns RUNNING.
fn cancel_in_task<F: Future, S>(cell: &Cell<F, S>) -> Result<F::Output, JoinError> {
    let _enter = enter(cell);
    cancel_future(cell)
}

/// Polls the future; a panic becomes the output.
///
/// The future is pinned in the cell and is dropped where it lies on every path: after `Ready`,
/// and — while the panic is still unwinding, so that its destructors see
/// `std::thread::panicking() == true` as they would in synchronous code — after a panic.
fn poll_future<F: Future, S>(
    cell: &Cell<F, S>,
    cx: &mut Context<'_>,
) -> Poll<Result<F::Output, JoinError>> {
    let polled = catch_unwind(AssertUnwindSafe(|| {
        cell.stage.with_mut(|stage| {
            // Drops the future during the unwind if `poll` panics. A destructor that panics
            // while unwinding aborts the process, exactly as it would outside a task.
            struct DropOnUnwind<F: Future>(*mut Stage<F>);
            impl<F: Future> Drop for DropOnUnwind<F> {
                fn drop(&mut self) {
                    // SAFETY: armed only while we own RUNNING and the stage is `Running`; the
                    // future is dropped in place, never moved.
                    unsafe { drop_stage_in_place(self.0) }
                }
            }
            let on_unwind = DropOnUnwind(stage);
            // SAFETY: we own RUNNING, so the stage is ours, and it is `Running` until we complete;
            // the cell is heap-pinned for the task's whole life.
            let poll = match unsafe { &mut *stage } {
                Stage::Running(future) => unsafe { Pin::new_unchecked(future) }.poll(cx),
                _ => unreachable!("polled a task whose future is gone"),
            };
            mem::forget(on_unwind);
            poll
        })
    }));
    match polled {
        Ok(Poll::Pending) => Poll::Pending,
        Ok(Poll::Ready(value)) => Poll::Ready(match drop_future(cell) {
            None => Ok(value),
            Some(payload) => Err(JoinError::panic(payload)),
        }),
        // The future was already dropped during the unwind.
        Err(payload) => Poll::Ready(Err(JoinError::panic(payload))),
    }
}

/// Drops the stage where it lies and leaves it `Consumed`, even if a destructor panics (the
/// guard's write runs during that unwind, so there is never a double drop).
///
/// # Safety
/// The caller owns the stage exclusively (RUNNING, or the output after COMPLETE).
unsafe fn drop_stage_in_place<F: Future>(stage: *mut Stage<F>) {
    struct MarkConsumed<F: Future>(*mut Stage<F>);
    impl<F: Future> Drop for MarkConsumed<F> {
        fn drop(&mut self) {
            // SAFETY: the old value was dropped in place (or is being unwound out of): `write`
            // overwrites it without dropping it again.
            unsafe { ptr::write(self.0, Stage::Consumed) }
        }
    }
    let _mark = MarkConsumed(stage);
    // SAFETY: forwarded contract; a pinned future is destroyed at its address, never moved.
    unsafe { ptr::drop_in_place(stage) }
}

/// Drops the future in place. Returns the destructor's panic, if any.
fn drop_future<F: Future, S>(cell: &Cell<F, S>) -> Option<Box<dyn Any + Send>> {
    cell.stage.with_mut(|stage| {
        // SAFETY: the caller owns RUNNING, so the stage is exclusively ours.
        catch_unwind(AssertUnwindSafe(|| unsafe { drop_stage_in_place(stage) })).err()
    })
}

fn cancel_future<F: Future, S>(cell: &Cell<F, S>) -> Result<F::Output, JoinError> {
    match drop_future(cell) {
        None => Err(JoinError::cancelled()),
        Some(payload) => Err(JoinError::panic(payload)),
    }
}

/// Stores the output, publishes COMPLETE, wakes the JoinHandle, leaves the registry and drops the
/// running reference. The caller owns RUNNING and one reference.
///
/// Takes the pointer, not a `&Cell`: it may free the cell, which must not happen while a
/// reference argument (protected for the whole call) still points into it.
fn complete<F, S>(task: RawTask, output: Result<F::Output, JoinError>)
where
    F: Future,
    S: Schedule,
{
    // SAFETY: the caller's running reference keeps the cell alive until we release it below;
    // `cell` is not used after that.
    let cell = unsafe { cell::<F, S>(task.ptr) };
    // Counted before the JoinHandle can see COMPLETE, so that a joiner reads the task as gone.
    cell.scheduler.task_completed();
    // SAFETY: we own RUNNING, so the stage is exclusively ours until COMPLETE is published.
    cell.stage
        .with_mut(|stage| unsafe { *stage = Stage::Finished(output) });
    let prev = task.state().transition_to_complete();
    if !prev.has_join_interest() {
        // Nobody will read the output: drop it here. A panic in its destructor is swallowed,
        // because there is nobody to report it to and a worker must not unwind.
        // SAFETY: without join interest the completer owns the output after COMPLETE.
        let old = cell
            .stage
            .with_mut(|stage| unsafe { mem::replace(&mut *stage, Stage::Consumed) });
        drop(catch_unwind(AssertUnwindSafe(move || drop(old))));
    } else if prev.has_join_waker() {
        let waker = crate::loom::lock(&cell.join_waker).take();
        if let Some(waker) = waker {
            // A JoinHandle waker can be anything, including one that panics.
            drop(catch_unwind(AssertUnwindSafe(move || waker.wake())));
        }
    }
    let released = cell.scheduler.owned_tasks().remove(task);
    if task.state().transition_to_terminal(1 + released as usize) {
        // SAFETY: those were the last references.
        unsafe { dealloc::<F, S>(task.ptr) }
    }
}

unsafe fn schedule<F, S>(ptr: NonNull<Header>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    // SAFETY: the caller's Notified reference keeps the cell alive.
    let cell = unsafe { cell::<F, S>(ptr) };
    cell.scheduler.schedule(Notified::from_raw(RawTask { ptr }));
}

unsafe fn dealloc<F: Future, S>(ptr: NonNull<Header>) {
    // SAFETY: the refcount reached zero, so this is the only pointer; it came from Box::leak.
    drop(unsafe { Box::from_raw(ptr.cast::<Cell<F, S>>().as_ptr()) });
}

unsafe fn try_read_output<F, S>(ptr: NonNull<Header>, dst: *mut (), waker: &Waker)
where
    F: Future,
{
    // SAFETY: the JoinHandle's reference keeps the cell alive.
    let cell = unsafe { cell::<F, S>(ptr) };
    let state = &cell.header.state;
    if !state.load().is_complete() {
        {
            let mut slot = crate::loom::lock(&cell.join_waker);
            if !slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
                *slot = Some(waker.clone());
            }
        }
        // Published after the store: a completer that sees JOIN_WAKER finds the waker; if the
        // task completed before this, the completer did not look and we read the output now.
        if !state.set_join_waker().is_complete() {
            return;
        }
    }
    // SAFETY: COMPLETE is set and we are the JoinHandle, so the output is ours to take.
    let stage = cell
        .stage
        .with_mut(|stage| unsafe { mem::replace(&mut *stage, Stage::Consumed) });
    let Stage::Finished(output) = stage else {
        panic!("JoinHandle polled after it returned Ready");
    };
    // SAFETY: the caller guarantees dst is a Poll<Result<F::Output, JoinError>>.
    unsafe { *dst.cast::<Poll<Result<F::Output, JoinError>>>() = Poll::Ready(output) };
}

unsafe fn drop_join_handle<F: Future, S>(ptr: NonNull<Header>) {
    let task = RawTask { ptr };
    if task.state().unset_join_interest().is_err() {
        // Complete and nobody took the output: it is ours to drop. A panic from its destructor
        // surfaces here, in the code dropping the handle, as it would for any value.
        // SAFETY: COMPLETE with join interest means the JoinHandle owns the stage.
        let cell = unsafe { cell::<F, S>(ptr) };
        let old = cell
            .stage
            .with_mut(|stage| unsafe { mem::replace(&mut *stage, Stage::Consumed) });
        drop(old);
    }
    task.ref_dec();
}

unsafe fn shutdown<F, S>(ptr: NonNull<Header>)
where
    F: Future,
    S: Schedule,
{
    let task = RawTask { ptr };
    if task.state().transition_to_shutdown() {
        // We took RUNNING; complete() releases a running reference, so take one.
        task.ref_inc();
        // SAFETY: our caller's reference keeps the cell alive.
        let cell = unsafe { cell::<F, S>(ptr) };
        let output = cancel_in_task(cell);
        complete::<F, S>(task, output);
    }
}

unsafe fn owned_tasks<F: Future, S: Schedule>(ptr: NonNull<Header>) -> *const OwnedTasks {
    // SAFETY: the caller holds a reference.
    let cell = unsafe { cell::<F, S>(ptr) };
    cell.scheduler.owned_tasks()
}

// ---- the waker: a vtable over the header pointer; clone = one refcount increment ----

static WAKER_VTABLE: RawWakerVTable =
    RawWakerVTable::new(waker_clone, waker_wake, waker_wake_by_ref, waker_drop);

fn raw_waker(ptr: NonNull<Header>) -> RawWaker {
    RawWaker::new(ptr.as_ptr() as *const (), &WAKER_VTABLE)
}

unsafe fn waker_clone(data: *const ()) -> RawWaker {
    // SAFETY: data is a header pointer kept alive by the waker being cloned.
    let task = RawTask {
        ptr: unsafe { NonNull::new_unchecked(data as *mut Header) },
    };
    super::trace::waker_op(task.header(), "waker.clone");
    task.ref_inc();
    raw_waker(task.ptr)
}

unsafe fn waker_wake(data: *const ()) {
    // SAFETY: data is a header pointer; this waker owns one reference, consumed here.
    let task = RawTask {
        ptr: unsafe { NonNull::new_unchecked(data as *mut Header) },
    };
    super::trace::waker_op(task.header(), "waker.wake");
    match task.state().transition_to_notified_by_val() {
        TransitionToNotified::Submit => {
            // The waker's reference outlives the call: the scheduler may drop the Notified.
            task.schedule();
            task.ref_dec();
        }
        TransitionToNotified::Dealloc => {
            // SAFETY: that was the last reference.
            unsafe { (task.header().vtable.dealloc)(task.ptr) }
        }
        TransitionToNotified::DoNothing => {}
    }
}

unsafe fn waker_wake_by_ref(data: *const ()) {
    // SAFETY: data is a header pointer kept alive by the waker.
    let task = RawTask {
        ptr: unsafe { NonNull::new_unchecked(data as *mut Header) },
    };
    super::trace::waker_op(task.header(), "waker.wake_by_ref");
    if task.state().transition_to_notified_by_ref() == TransitionToNotified::Submit {
        task.schedule();
    }
}

unsafe fn waker_drop(data: *const ()) {
    // SAFETY: data is a header pointer; this waker owns one reference.
    let task = RawTask {
        ptr: unsafe { NonNull::new_unchecked(data as *mut Header) },
    };
    super::trace::waker_op(task.header(), "waker.drop");
    task.ref_dec();
}
