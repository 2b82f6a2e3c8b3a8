//! Model-checking hooks: the crate-internal pieces that `loom-tests/` drives, built only with
//! `RUSTFLAGS="--cfg loom"` and hidden from the docs.
//!
//! Everything here is a thin wrapper over the real code; nothing is re-implemented:
//! * [`TaskQueue`]: a `Schedule` that keeps `Notified` tasks in a loom `Mutex<VecDeque>` so a
//!   model decides which thread runs which task, counts the cells it sees freed, and cancels
//!   what is left at [`TaskQueue::shutdown`] like the runtime does.
//! * [`Idle`], [`Parker`]/[`Unparker`]/[`ParkDriver`]: `scheduler/idle.rs` and
//!   `scheduler/park.rs` compiled a second time here (their modules are private to the
//!   scheduler), over the reactor's loom stand-in for the OS poller.
//! * [`Runtime`]/[`Worker`]: the real scheduler and worker loop, with workers run on loom
//!   threads and the crossbeam queues replaced by `scheduler/queue.rs`'s loom stand-in.
//! * [`TimerDriver`] and [`GroupState`]: the timer driver's entry API and the task group's
//!   state machine.
//!
//! ```ignore
//! loom::model(|| {
//!     let queue = spindle::loom_api::TaskQueue::new();
//!     let join = queue.spawn(async { 1 });
//!     assert_eq!(queue.run_until_idle(), 1);
//!     drop(join);
//!     queue.shutdown();
//! });
//! ```

use crate::loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use crate::loom::sync::{Arc, Mutex};
use crate::reactor::Reactor;
use crate::scheduler::{Scheduler, WorkerLauncher};
use crate::task::{self, JoinHandle, Notified, OwnedTasks, Schedule};
use std::collections::VecDeque;
use std::future::Future;
use std::task::Waker;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Tasks
// ---------------------------------------------------------------------------------------------

/// A model scheduler for bare tasks (no worker loop): wakes land in a queue that the model's
/// threads pop and run explicitly.
#[derive(Clone)]
pub struct TaskQueue {
    inner: Arc<QueueInner>,
}

struct QueueInner {
    queue: Mutex<VecDeque<Notified>>,
    owned: OwnedTasks,
    closed: AtomicBool,
    spawned: AtomicUsize,
    freed: AtomicUsize,
    scheduled: AtomicUsize,
    yielded: AtomicUsize,
}

/// The `Schedule` stored in each task cell. Its drop is the cell's deallocation, which is
/// how models count frees.
struct Hook {
    inner: Arc<QueueInner>,
}

impl Schedule for Hook {
    fn schedule(&self, task: Notified) {
        self.inner.scheduled.fetch_add(1, Ordering::SeqCst);
        self.inner.push(task);
    }

    fn yield_now(&self, task: Notified) {
        self.inner.yielded.fetch_add(1, Ordering::SeqCst);
        self.inner.push(task);
    }

    fn owned_tasks(&self) -> &OwnedTasks {
        &self.inner.owned
    }
}

impl Drop for Hook {
    fn drop(&mut self) {
        self.inner.freed.fetch_add(1, Ordering::SeqCst);
    }
}

impl QueueInner {
    fn push(&self, task: Notified) {
        let mut queue = crate::loom::lock(&self.queue);
        if self.closed.load(Ordering::SeqCst) {
            // Like the runtime after shutdown: a registered task only gives its reference back
            // (the registry drain cancels it), a fresh one is cancelled on the spot.
            drop(queue);
            task.discard_after_shutdown();
        } else {
            queue.push_back(task);
        }
    }
}

/// A task that is ready to run (a `Notified`). Dropping it cancels the task.
pub struct Runnable(Notified);

impl Runnable {
    /// Polls the task once (or cancels it, if abort was requested).
    pub fn run(self) {
        self.0.run();
    }
}

/// `scheduler/lifo.rs`: a worker's LIFO slot, which the owner puts into and takes from, and a
/// thief may take from when the watchdog saw the owner stuck.
pub struct LifoSlot(crate::scheduler::lifo::LifoSlot);

impl Default for LifoSlot {
    fn default() -> Self {
        LifoSlot::new()
    }
}

impl LifoSlot {
    /// An empty slot.
    pub fn new() -> LifoSlot {
        LifoSlot(crate::scheduler::lifo::LifoSlot::new())
    }

    /// Owner: puts a task; returns the one it displaced.
    pub fn put(&self, task: Runnable) -> Option<Runnable> {
        self.0.put(task.0).map(Runnable)
    }

    /// Owner or thief: takes the task, if any.
    pub fn take(&self) -> Option<Runnable> {
        self.0.take().map(Runnable)
    }
}

impl std::fmt::Debug for Runnable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl Default for TaskQueue {
    fn default() -> Self {
        TaskQueue::new()
    }
}

impl TaskQueue {
    /// An empty queue with its own task registry.
    pub fn new() -> TaskQueue {
        TaskQueue {
            inner: Arc::new(QueueInner {
                queue: Mutex::new(VecDeque::new()),
                owned: OwnedTasks::new(1),
                closed: AtomicBool::new(false),
                spawned: AtomicUsize::new(0),
                freed: AtomicUsize::new(0),
                scheduled: AtomicUsize::new(0),
                yielded: AtomicUsize::new(0),
            }),
        }
    }

    /// Creates a task and queues it.
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (runnable, join) = self.spawn_runnable(future);
        self.inner.push(runnable.0);
        join
    }

    /// Creates a task and hands its first `Notified` to the caller instead of the queue.
    pub fn spawn_runnable<F>(&self, future: F) -> (Runnable, JoinHandle<F::Output>)
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.inner.spawned.fetch_add(1, Ordering::SeqCst);
        let hook = Hook {
            inner: self.inner.clone(),
        };
        let (notified, join) = task::new_task(future, hook, task::Meta::here());
        (Runnable(notified), join)
    }

    /// Takes the oldest ready task.
    pub fn pop(&self) -> Option<Runnable> {
        crate::loom::lock(&self.inner.queue)
            .pop_front()
            .map(Runnable)
    }

    /// Runs the oldest ready task; false if there was none.
    pub fn run_one(&self) -> bool {
        match self.pop() {
            Some(task) => {
                task.run();
                true
            }
            None => false,
        }
    }

    /// Runs tasks until the queue is empty; returns how many ran.
    pub fn run_until_idle(&self) -> usize {
        let mut ran = 0;
        while self.run_one() {
            ran += 1;
        }
        ran
    }

    /// Number of queued `Notified`s.
    pub fn len(&self) -> usize {
        crate::loom::lock(&self.inner.queue).len()
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Shuts down like the runtime: refuses further wakes, cancels every queued task and every
    /// idle task in the registry. Call it again after late wakes, as the runtime's final drain
    /// does.
    pub fn shutdown(&self) {
        self.inner.closed.store(true, Ordering::SeqCst);
        loop {
            let drained: Vec<Notified> = crate::loom::lock(&self.inner.queue).drain(..).collect();
            drop(drained);
            task::shutdown_all(&self.inner.owned);
            if self.is_empty() {
                break;
            }
        }
    }

    /// Tasks created by this queue.
    pub fn spawned(&self) -> usize {
        self.inner.spawned.load(Ordering::SeqCst)
    }

    /// Task cells deallocated so far.
    pub fn freed(&self) -> usize {
        self.inner.freed.load(Ordering::SeqCst)
    }

    /// `Schedule::schedule` calls (wakes of idle tasks and aborts) so far.
    pub fn scheduled(&self) -> usize {
        self.inner.scheduled.load(Ordering::SeqCst)
    }

    /// `Schedule::yield_now` calls (woken while running) so far.
    pub fn yielded(&self) -> usize {
        self.inner.yielded.load(Ordering::SeqCst)
    }
}

// ---------------------------------------------------------------------------------------------
// Idle accounting and parking (the scheduler's private modules, compiled again here)
// ---------------------------------------------------------------------------------------------

#[allow(dead_code, clippy::duplicate_mod)] // a second copy, driven by the models
#[path = "scheduler/idle.rs"]
mod idle;

#[allow(dead_code, clippy::duplicate_mod)] // a second copy, driven by the models
#[path = "scheduler/park.rs"]
mod park;

/// `scheduler/idle.rs`: who is searching, who is parked, whom a notification wakes.
pub struct Idle(idle::Idle);

impl Idle {
    /// Accounting for `workers` workers, all awake.
    pub fn new(workers: usize) -> Idle {
        Idle(idle::Idle::new(workers))
    }

    /// The sleeper a notification wakes, if any (counted as unparked and searching).
    pub fn worker_to_notify(&self) -> Option<usize> {
        self.0.worker_to_notify()
    }

    /// A worker wants to steal; false when half the workers already search.
    pub fn transition_to_searching(&self) -> bool {
        self.0.transition_to_searching()
    }

    /// A searcher stops searching; true if it was the last one.
    pub fn transition_from_searching(&self) -> bool {
        self.0.transition_from_searching()
    }

    /// A worker registers as parked; true if it was the last searcher.
    pub fn transition_to_parked(&self, worker: usize, searching: bool) -> bool {
        self.0.transition_to_parked(worker, searching)
    }

    /// A worker woke; true if a notifier woke it (it is now searching).
    pub fn transition_from_parked(&self, worker: usize) -> bool {
        self.0.transition_from_parked(worker)
    }
}

/// `scheduler/park.rs`'s driver lock around a reactor (whose poller is the loom stand-in).
pub struct ParkDriver(park::Driver);

impl ParkDriver {
    /// A driver over a fresh reactor.
    pub fn new() -> ParkDriver {
        let reactor = Reactor::new().expect("reactor");
        ParkDriver(park::Driver::new(Arc::new(reactor)))
    }

    /// A busy worker's non-blocking reactor turn: `None` if another thread holds the driver,
    /// else the index of a worker that parked on its condvar meanwhile and wants the driver.
    pub fn poll_driver(&self) -> Option<Option<usize>> {
        let guard = self.0.try_lock()?;
        drop(guard);
        let (_, waiter) = park::Parker::poll_driver(&self.0);
        Some(waiter)
    }
}

impl Default for ParkDriver {
    fn default() -> Self {
        ParkDriver::new()
    }
}

/// The sleeping side of one worker.
pub struct Parker(park::Parker);

/// The waking side.
#[derive(Clone)]
pub struct Unparker(park::Unparker);

/// A parker and its unparker.
pub fn park_pair() -> (Parker, Unparker) {
    let (parker, unparker) = park::pair();
    (Parker(parker), Unparker(unparker))
}

impl Parker {
    /// Sleeps (on the reactor if the driver is free, else on the condvar) until unparked.
    pub fn park(&self, driver: &ParkDriver, worker: usize) -> usize {
        self.0.park(&driver.0, worker)
    }
}

impl Unparker {
    /// Wakes the parker, or makes its next `park` return at once.
    pub fn unpark(&self, driver: &ParkDriver) {
        self.0.unpark(&driver.0);
    }
}

// ---------------------------------------------------------------------------------------------
// The whole scheduler
// ---------------------------------------------------------------------------------------------

/// The real scheduler (injector, idle accounting, parking, shutdown) without threads: the model
/// runs each [`Worker`] on a loom thread.
#[derive(Clone)]
pub struct Runtime {
    scheduler: Scheduler,
}

/// One worker loop, to be run on a loom thread.
pub struct Worker(WorkerLauncher);

impl Worker {
    /// Runs the worker loop until shutdown.
    pub fn run(self) {
        self.0.run();
    }
}

impl Runtime {
    /// A scheduler with `workers` workers over a fresh reactor.
    pub fn new(workers: usize) -> (Runtime, Vec<Worker>) {
        let reactor = Arc::new(Reactor::new().expect("reactor"));
        let (scheduler, launchers) = Scheduler::new(workers, reactor, None);
        (
            Runtime { scheduler },
            launchers.into_iter().map(Worker).collect(),
        )
    }

    /// Spawns a task (from a non-worker thread: through the injector).
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.scheduler.spawn(future, crate::task::Meta::here())
    }

    /// Refuses new work and wakes every worker so it exits.
    pub fn begin_shutdown(&self) -> bool {
        self.scheduler.begin_shutdown()
    }

    /// After the workers exited: cancels what is left.
    pub fn finish_shutdown(&self) {
        self.scheduler.finish_shutdown();
    }
}

// ---------------------------------------------------------------------------------------------
// Timers
// ---------------------------------------------------------------------------------------------

/// What a poll of a registered entry found (mirror of the crate's `EntryStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryStatus {
    /// The deadline was reached.
    Fired,
    /// Still waiting; the waker is stored.
    Pending,
    /// The driver shut down first.
    ShutDown,
}

/// The timer driver's entry API (`reactor/timer.rs`). Time is explicit: every instant is given
/// in milliseconds after the wrapper's creation, so a model decides when the clock moves.
pub struct TimerDriver {
    driver: crate::reactor::timer::TimerDriver,
    base: Instant,
}

/// A registered entry.
#[derive(Debug)]
pub struct TimerKey(crate::reactor::timer::TimerKey);

/// What [`TimerDriver::register`] reports.
#[derive(Debug)]
pub struct Registration {
    /// The entry's key.
    pub key: TimerKey,
    /// The deadline was already processed: the entry fired at once.
    pub fired: bool,
    /// The driving thread must be notified (the deadline is earlier than its wait).
    pub needs_notify: bool,
}

impl Default for TimerDriver {
    fn default() -> Self {
        TimerDriver::new()
    }
}

impl TimerDriver {
    /// A driver with two worker shards and the shared one; its clock starts at (or just
    /// before) ms 0 of the model. Threads register in the shared shard unless they called
    /// [`enter_home`](Self::enter_home).
    pub fn new() -> TimerDriver {
        let driver = crate::reactor::timer::TimerDriver::new(2);
        TimerDriver {
            driver,
            base: Instant::now(),
        }
    }

    fn at(&self, ms: u64) -> Instant {
        self.base + Duration::from_millis(ms)
    }

    /// Makes worker shard `worker` (0 or 1) the one this thread registers in, as a worker does
    /// for its whole run, until the guard drops.
    pub fn enter_home(&self, worker: usize) -> impl Drop {
        self.driver.enter_home(worker)
    }

    /// Registers an entry due at `deadline_ms` in this thread's shard. `None` after shutdown.
    pub fn register(&self, deadline_ms: u64, waker: &Waker) -> Option<Registration> {
        let tick = self.driver.deadline_tick(self.at(deadline_ms));
        let reg = self.driver.register(tick, waker).ok()?;
        Some(Registration {
            key: TimerKey(reg.key),
            fired: reg.fired,
            needs_notify: reg.needs_notify,
        })
    }

    /// Polls an entry, storing `waker` if it is still pending.
    pub fn poll_entry(&self, key: &TimerKey, waker: &Waker) -> EntryStatus {
        use crate::reactor::timer::EntryStatus as S;
        match self.driver.poll_entry(&key.0, waker) {
            S::Fired => EntryStatus::Fired,
            S::Pending => EntryStatus::Pending,
            S::ShutDown => EntryStatus::ShutDown,
        }
    }

    /// Moves an entry to `deadline_ms`; true if the driving thread must be notified.
    pub fn reset(&self, key: &TimerKey, deadline_ms: u64) -> bool {
        let tick = self.driver.deadline_tick(self.at(deadline_ms));
        self.driver.reset(&key.0, tick)
    }

    /// Frees an entry in whatever state it is (cancel).
    pub fn remove(&self, key: TimerKey) {
        self.driver.remove(key.0);
    }

    /// Fires everything due at `now_ms`; returns the wakers woken.
    pub fn process(&self, now_ms: u64) -> usize {
        self.driver.process(self.at(now_ms))
    }

    /// Whether any entry is pending.
    pub fn has_timers(&self) -> bool {
        self.driver.has_timers()
    }

    /// The driving thread's view before it blocks: how long it would wait (`None`: no timer).
    pub fn next_timeout(&self, now_ms: u64) -> Option<Duration> {
        self.driver.next_timeout(self.at(now_ms))
    }

    /// The driving thread blocks until `until_ms` (`None`: until notified).
    pub fn begin_wait(&self, until_ms: Option<u64>) {
        self.driver.begin_wait(until_ms.map(|ms| self.at(ms)));
    }

    /// The driving thread stopped blocking.
    pub fn end_wait(&self) {
        self.driver.end_wait();
    }

    /// Wakes every entry (they report `ShutDown`) and refuses new ones.
    pub fn shutdown(&self) {
        self.driver.shutdown();
    }
}

// ---------------------------------------------------------------------------------------------
// Task groups (the group's private state module, compiled again here)
// ---------------------------------------------------------------------------------------------

#[allow(dead_code, clippy::duplicate_mod)] // a second copy, driven by the models
#[path = "group/state.rs"]
mod group_state;

/// How a group ended (mirror of the state module's `Outcome`, with `&'static str` errors).
#[derive(Debug, PartialEq, Eq)]
pub enum GroupOutcome {
    /// Everything succeeded.
    Closed,
    /// `cancel()` stopped the group.
    Cancelled,
    /// The children's errors, in completion order.
    Failed(Vec<&'static str>),
    /// A child or the body panicked.
    Panicked,
}

/// `group/state.rs` behind a mutex, driven the way `task_group.rs` drives it: every transition
/// runs under the lock and its effects (aborts, the waiter's wake) after it is released.
pub struct GroupState {
    state: Mutex<group_state::State<&'static str>>,
}

impl Default for GroupState {
    fn default() -> Self {
        GroupState::new()
    }
}

impl GroupState {
    /// A running group with no children.
    pub fn new() -> GroupState {
        GroupState {
            state: Mutex::new(group_state::State::new()),
        }
    }

    fn transition(
        &self,
        f: impl FnOnce(&mut group_state::State<&'static str>) -> group_state::Effects,
    ) {
        let effects = f(&mut crate::loom::lock(&self.state));
        effects.run();
    }

    /// Registers a child; `None` if the group refuses it.
    pub fn admit_child(&self) -> Option<u64> {
        crate::loom::lock(&self.state).admit_child()
    }

    /// Stores a spawned child's abort handle, aborting it at once if the group began stopping
    /// meanwhile (as `TaskGroup::spawn` does).
    pub fn attach_abort(&self, id: u64, handle: crate::AbortHandle) {
        let late = crate::loom::lock(&self.state).attach_abort(id, handle);
        if let Some(handle) = late {
            handle.abort();
        }
    }

    /// A child returned `Err(error)`.
    pub fn child_failed(&self, id: u64, error: &'static str) {
        self.transition(|state| state.child_failed(id, error));
    }

    /// A child's future is gone.
    pub fn child_exited(&self, id: u64) {
        self.transition(|state| state.child_exited(id));
    }

    /// `TaskGroup::cancel`.
    pub fn cancel(&self) {
        self.transition(|state| state.cancel());
    }

    /// Children admitted and not yet exited.
    pub fn live(&self) -> usize {
        crate::loom::lock(&self.state).live()
    }

    /// The awaiting task's poll once the body is done: registers `waker`, then finishes if
    /// every child has exited.
    pub fn poll_finish(&self, waker: &Waker) -> std::task::Poll<GroupOutcome> {
        use group_state::{Outcome, Progress};
        // Two lock sections, as in `task_group`'s `drive`.
        crate::loom::lock(&self.state).register_waiter(waker);
        let progress = crate::loom::lock(&self.state).progress(false);
        match progress {
            Progress::Wait | Progress::DropBody => std::task::Poll::Pending,
            Progress::Finish(outcome) => std::task::Poll::Ready(match outcome {
                Outcome::Closed => GroupOutcome::Closed,
                Outcome::Cancelled => GroupOutcome::Cancelled,
                Outcome::Failed(errors) => GroupOutcome::Failed(errors),
                Outcome::Panicked(_) => GroupOutcome::Panicked,
            }),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Socket readiness
// ---------------------------------------------------------------------------------------------

/// One socket's readiness word and waiter list (`reactor/io.rs`), without an OS poller: the
/// model plays both the task (poll, clear on `WouldBlock`, wait) and the dispatching reactor.
#[derive(Clone)]
pub struct IoSource(crate::reactor::io::ModelSource);

impl IoSource {
    /// A registered source (starts ready in both directions, as a fresh socket is).
    #[allow(clippy::new_without_default)]
    pub fn new() -> IoSource {
        IoSource(crate::reactor::io::ModelSource::new())
    }

    /// Polls read readiness: `Ready(Ok(tick))` with the readiness tick, or `Pending` with the
    /// waker registered.
    pub fn poll_read(
        &self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.0.poll_read(cx)
    }

    /// The operation hit `WouldBlock` after observing readiness at `tick`.
    pub fn clear_read(&self, tick: usize) {
        self.0.clear_read(tick);
    }

    /// A read succeeded and proved the socket drained after observing readiness at `tick`.
    pub fn clear_read_drained(&self, tick: usize) {
        self.0.clear_read_drained(tick);
    }

    /// The reactor dispatches a read event for this source.
    pub fn dispatch_readable(&self) {
        self.0.dispatch_readable();
    }
}
