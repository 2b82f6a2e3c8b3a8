//! Socket readiness: non-blocking file descriptors registered with the reactor's poller, and the
//! read/write wakers that a reactor turn wakes.
//!
//! * Every socket is registered once, **edge-triggered**, for both directions
//!   (`PollMode::Edge` + `Event::all`), so an event never costs a re-arm syscall.
//! * Each registration owns an `Arc<Source>`: one readiness word (read and write bits, the
//!   "read closed" and "write closed" bits, the runtime's shut-down bit, and a tick that counts
//!   events) plus two waiter lists behind a small per-source mutex. The driver's slab
//!   (key → source) is locked only to register, deregister, dispatch a batch of events and shut
//!   down; polling a socket never touches it.
//! * Readiness is optimistic: a new socket counts as ready both ways and the operation is simply
//!   attempted. Readiness is cleared in exactly two cases, both only if the tick has not moved
//!   since the readiness was observed (an event that arrived meanwhile keeps it set):
//!   1. the operation hit `WouldBlock`: the OS itself says there is nothing to do, so the bit and
//!      that direction's closed bit are cleared (any later change of the socket is a new event);
//!   2. the operation succeeded and proved the direction *drained* ([`Progress::Drained`]): a
//!      TCP read after which the kernel's `TCP_INQ` count says nothing (no byte, no FIN) is left,
//!      or a short write (the send buffer filled up, so the kernel will signal when it has room
//!      again). This saves the one `WouldBlock` syscall per request that a keep-alive
//!      connection would otherwise pay. It is vetoed while the direction's closed bit is set.
//! * The closed bits are set by an event that carries `EPOLLHUP` or `EPOLLERR`
//!   (hang-up / error events) and by a read that returned end-of-file
//!   ([`Progress::Closed`]); they count as readiness for their direction. `polling` 3 cannot
//!   request `EPOLLRDHUP`, and `EPOLLHUP` only comes once *both* directions are shut, so the
//!   closed bits alone could not make tokio's rule ("a short read clears read readiness unless
//!   read-closed was seen") safe: a last data segment that carries the peer's FIN would be read
//!   short and its EOF lost. The `TCP_INQ` count is exact instead: after a FIN it is 1 even when
//!   no data is left (`net::sys`).
//! * A waiter stores its waker under the source mutex and re-reads the word there, while dispatch
//!   updates the word *before* taking that mutex, so an event that lands between "WouldBlock"
//!   (or "drained") and "waker stored" is never lost.
//! * Several tasks may wait on one direction (an `Arc<UdpSocket>` read by many tasks, several
//!   acceptors): each direction keeps a list of distinct wakers and an event wakes them all.
//! * Wakers are collected under the locks and woken (or dropped) only after every lock is released.
//! * `shutdown` sets the shut-down bit on every source and wakes every waiter; from then on each
//!   operation fails with an error instead of waiting for a reactor that nobody drives, and new
//!   registrations are refused.
//! * Dropping a [`PollIo`] deletes the fd from the poller before the fd is closed. A key freed this
//!   way may be reused at once; an event of the old fd still in the current batch then only
//!   causes one spurious wake-up and a retried operation, never a missed one.
//! * Every async socket operation goes through [`PollIo::poll_ready`] (directly, or through
//!   [`PollIo::poll_io`] / [`PollIo::poll_io_hinted`]), the one place where a cooperative budget
//!   can be spent. The `try_*` operations ([`PollIo::try_io`]) never wait and, as in tokio,
//!   spend no budget.

use crate::loom::sync::atomic::{AtomicUsize, Ordering};
use crate::loom::sync::{Arc, Mutex};
use crate::reactor::Reactor;
use polling::{Event, PollMode};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::task::{Context, Poll, Waker};

/// Readiness word layout: the low five bits are flags, the rest counts events.
const READABLE: usize = 0b0_0001;
const WRITABLE: usize = 0b0_0010;
/// The runtime shut down: every operation fails from now on.
const SHUT_DOWN: usize = 0b0_0100;
/// The peer will send nothing more (EOF seen, or a hang-up / error event).
const READ_CLOSED: usize = 0b0_1000;
/// Writing can only fail from now on (a hang-up / error event).
const WRITE_CLOSED: usize = 0b1_0000;
const TICK_ONE: usize = 0b10_0000;
const TICK_MASK: usize = !(TICK_ONE - 1);

const SHUT_DOWN_MSG: &str = "the spindle runtime this socket belongs to has shut down";
const NO_RUNTIME_MSG: &str = "this socket operation must run inside a spindle runtime \
     (inside `spindle::run`, `Runtime::block_on`, a spawned task, or under `Handle::enter`)";

/// The error every operation on a socket returns once its runtime has shut down.
pub(crate) fn shut_down_error() -> io::Error {
    io::Error::other(SHUT_DOWN_MSG)
}

/// The reactor of the runtime this thread runs in, or an error that names the fix.
pub(crate) fn current_reactor() -> io::Result<Arc<Reactor>> {
    crate::runtime::context::reactor().ok_or_else(|| io::Error::other(NO_RUNTIME_MSG))
}

/// Which half of a socket an operation needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

impl Direction {
    fn bit(self) -> usize {
        match self {
            Direction::Read => READABLE,
            Direction::Write => WRITABLE,
        }
    }

    fn closed_bit(self) -> usize {
        match self {
            Direction::Read => READ_CLOSED,
            Direction::Write => WRITE_CLOSED,
        }
    }
}

/// What a successful operation learned about its direction (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Progress {
    /// Nothing: the readiness stays as it is (the next operation is attempted at once).
    Unknown,
    /// The OS proved the direction drained: clear its readiness if that is still safe.
    Drained,
    /// The direction reached its end (a read returned EOF): keep it ready for good.
    Closed,
}

/// The readiness of one registered fd and the tasks waiting on it.
struct Source {
    key: usize,
    /// Readiness flags plus the event tick (see the constants above).
    state: AtomicUsize,
    waiters: Mutex<Waiters>,
}

#[derive(Default)]
struct Waiters {
    read: Vec<Waker>,
    write: Vec<Waker>,
}

impl Source {
    fn new(key: usize) -> Source {
        Source {
            key,
            // Optimistic: the first operation is attempted before any event arrived.
            state: AtomicUsize::new(READABLE | WRITABLE),
            waiters: Mutex::new(Waiters::default()),
        }
    }

    /// Sets `bits`, advances the tick, and moves the wakers that `bits` concern into `out`.
    fn set_ready(&self, bits: usize, out: &mut Vec<Waker>) {
        // AcqRel: publishes the new bits to the Acquire loads in `poll_ready`; the waiter mutex
        // taken below is what orders this against a concurrent registration.
        let _ = self
            .state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
                Some((s | bits).wrapping_add(TICK_ONE))
            });
        let mut waiters = crate::loom::lock(&self.waiters);
        if bits & (READABLE | READ_CLOSED | SHUT_DOWN) != 0 {
            out.append(&mut waiters.read);
        }
        if bits & (WRITABLE | WRITE_CLOSED | SHUT_DOWN) != 0 {
            out.append(&mut waiters.write);
        }
    }

    /// `Some` when a poll of `dir` can finish now: the tick of the observed readiness, or the
    /// shut-down error.
    fn check(state: usize, dir: Direction) -> Option<io::Result<usize>> {
        if state & SHUT_DOWN != 0 {
            Some(Err(shut_down_error()))
        } else if state & (dir.bit() | dir.closed_bit()) != 0 {
            Some(Ok(state & TICK_MASK))
        } else {
            None
        }
    }

    /// The readiness of `dir` without registering a waker: `Ok(None)` when not ready.
    fn try_ready(&self, dir: Direction) -> io::Result<Option<usize>> {
        // Acquire: pairs with the AcqRel update in `set_ready`.
        Self::check(self.state.load(Ordering::Acquire), dir).transpose()
    }

    fn poll_ready(&self, cx: &mut Context<'_>, dir: Direction) -> Poll<io::Result<usize>> {
        // Acquire: pairs with the AcqRel update in `set_ready`.
        if let Some(ready) = Self::check(self.state.load(Ordering::Acquire), dir) {
            return Poll::Ready(ready);
        }
        let mut waiters = crate::loom::lock(&self.waiters);
        // Re-check under the mutex: `set_ready` updates the word before it takes this mutex, so
        // either we see its bit now or it sees (and wakes) the waker we store below.
        // Acquire: as above.
        if let Some(ready) = Self::check(self.state.load(Ordering::Acquire), dir) {
            return Poll::Ready(ready);
        }
        let list = match dir {
            Direction::Read => &mut waiters.read,
            Direction::Write => &mut waiters.write,
        };
        if !list.iter().any(|w| w.will_wake(cx.waker())) {
            list.push(cx.waker().clone());
        }
        Poll::Pending
    }

    /// Clears `dir`'s readiness and closed bits after an operation hit `WouldBlock`, unless an
    /// event arrived since the readiness with `tick` was observed.
    fn clear_readiness(&self, dir: Direction, tick: usize) {
        let bits = dir.bit() | dir.closed_bit();
        // AcqRel/Acquire: the same word as in `set_ready`; a failed update (tick moved) keeps
        // the newer readiness.
        let _ = self
            .state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
                (s & TICK_MASK == tick && s & bits != 0).then_some(s & !bits)
            });
    }

    /// Clears `dir`'s readiness bit after a successful operation proved the direction drained,
    /// unless an event arrived since the readiness with `tick` was observed or the direction
    /// is closed (then the next operation must run at once to report EOF or the error).
    fn clear_drained(&self, dir: Direction, tick: usize) {
        let (bit, closed) = (dir.bit(), dir.closed_bit());
        // AcqRel/Acquire: as in `clear_readiness`.
        let _ = self
            .state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
                (s & TICK_MASK == tick && s & closed == 0 && s & bit != 0).then_some(s & !bit)
            });
    }

    /// Records that `dir` reached its end (EOF was read): it stays ready from now on.
    fn mark_closed(&self, dir: Direction) {
        // Release: an ordinary flag update of the same word; nobody needs waking (the caller
        // already holds this readiness) and no other memory is published with it.
        self.state.fetch_or(dir.closed_bit(), Ordering::Release);
    }
}

/// Key → source, plus a free list of keys.
struct Slab {
    entries: Vec<Option<Arc<Source>>>,
    free: Vec<usize>,
    closed: bool,
}

/// The socket half of the reactor: every registered source, by poller key.
pub(crate) struct IoDriver {
    slab: Mutex<Slab>,
    /// How many sources are registered (read without the slab lock by `has_sources`).
    registered: AtomicUsize,
    /// The waker buffer of the one thread that dispatches at a time (kept for its capacity).
    scratch: Mutex<Vec<Waker>>,
}

impl IoDriver {
    pub(crate) fn new() -> Self {
        IoDriver {
            slab: Mutex::new(Slab {
                entries: Vec::new(),
                free: Vec::new(),
                closed: false,
            }),
            registered: AtomicUsize::new(0),
            scratch: Mutex::new(Vec::new()),
        }
    }

    /// How many sources are registered (the `io_sources` metric).
    pub(crate) fn sources(&self) -> usize {
        // Relaxed: a statistic.
        self.registered.load(Ordering::Relaxed)
    }

    /// Whether any socket is registered (so a zero-timeout turn may find events).
    pub(crate) fn has_sources(&self) -> bool {
        // Relaxed: a hint for busy workers; a stale answer delays one opportunistic poll, and an
        // idle worker's blocking turn polls regardless.
        self.registered.load(Ordering::Relaxed) > 0
    }

    /// Records the readiness carried by `events` and wakes the tasks waiting for it. Returns how
    /// many wakers were woken.
    pub(crate) fn dispatch(&self, events: impl Iterator<Item = super::wait::IoEvent>) -> usize {
        let mut wakers = std::mem::take(&mut *crate::loom::lock(&self.scratch));
        {
            let slab = crate::loom::lock(&self.slab);
            for event in events {
                let mut bits = 0;
                if event.readable {
                    bits |= READABLE;
                }
                if event.writable {
                    bits |= WRITABLE;
                }
                // A hang-up (both directions shut, or a reset) or a socket error: the next
                // operation in either direction returns at once (EOF or the error), so neither
                // direction may be cleared as drained any more.
                if event.closed {
                    bits |= READ_CLOSED | WRITE_CLOSED;
                }
                if bits == 0 {
                    continue;
                }
                if let Some(Some(source)) = slab.entries.get(event.key) {
                    source.set_ready(bits, &mut wakers);
                }
            }
        }
        let woken = wakers.len();
        for waker in wakers.drain(..) {
            waker.wake();
        }
        *crate::loom::lock(&self.scratch) = wakers;
        woken
    }

    /// Marks every source shut down and wakes all their waiters; later registrations fail.
    pub(crate) fn shutdown(&self) {
        let mut wakers = Vec::new();
        {
            let mut slab = crate::loom::lock(&self.slab);
            slab.closed = true;
            for source in slab.entries.iter().flatten() {
                source.set_ready(SHUT_DOWN, &mut wakers);
            }
        }
        for waker in wakers {
            waker.wake();
        }
    }

    fn insert(&self) -> io::Result<Arc<Source>> {
        let mut slab = crate::loom::lock(&self.slab);
        if slab.closed {
            return Err(shut_down_error());
        }
        let key = match slab.free.pop() {
            Some(key) => key,
            None => {
                slab.entries.push(None);
                slab.entries.len() - 1
            }
        };
        let source = Arc::new(Source::new(key));
        slab.entries[key] = Some(source.clone());
        // Relaxed: only a hint (see `has_sources`); the slab itself is guarded by the mutex.
        self.registered.fetch_add(1, Ordering::Relaxed);
        Ok(source)
    }

    /// Removes the source under `key`; the caller drops it after the slab lock is released.
    fn remove(&self, key: usize) -> Option<Arc<Source>> {
        let mut slab = crate::loom::lock(&self.slab);
        let source = slab.entries.get_mut(key).and_then(Option::take);
        if source.is_some() {
            slab.free.push(key);
            // Relaxed: as in `insert`.
            self.registered.fetch_sub(1, Ordering::Relaxed);
        }
        source
    }
}

/// A non-blocking I/O object registered with a reactor. Owns the object so that it can delete the
/// fd from the poller before the fd is closed.
pub(crate) struct PollIo<T: AsFd> {
    /// Always `Some` until `into_inner` takes it (and that consumes `self`).
    io: Option<T>,
    source: Arc<Source>,
    reactor: Arc<Reactor>,
}

impl<T: AsFd> PollIo<T> {
    /// Registers `io` (which must already be in non-blocking mode) with the current runtime.
    pub(crate) fn new(io: T) -> io::Result<Self> {
        Self::with_reactor(current_reactor()?, io)
    }

    /// Registers `io` (which must already be in non-blocking mode) with `reactor`.
    pub(crate) fn with_reactor(reactor: Arc<Reactor>, io: T) -> io::Result<Self> {
        let source = reactor.io.insert()?;
        let fd = io.as_fd().as_raw_fd();
        // SAFETY: `polling` requires the fd to be deleted from the poller before it is closed.
        // From here on `io` (which owns the fd) belongs to this `PollIo`, whose `Drop` and
        // `into_inner` both delete the fd before `io` can be dropped or handed out; if `add`
        // fails, nothing was registered.
        let added = unsafe {
            reactor
                .poller()
                .add_with_mode(fd, Event::all(source.key), PollMode::Edge)
        };
        if let Err(err) = added {
            drop(reactor.io.remove(source.key));
            return Err(err);
        }
        Ok(PollIo {
            io: Some(io),
            source,
            reactor,
        })
    }

    pub(crate) fn get_ref(&self) -> &T {
        self.io
            .as_ref()
            .expect("PollIo's object is only taken by `into_inner`, which consumes it")
    }

    pub(crate) fn get_mut(&mut self) -> &mut T {
        self.io
            .as_mut()
            .expect("PollIo's object is only taken by `into_inner`, which consumes it")
    }

    /// The reactor this object is registered with (sockets it accepts join the same one).
    pub(crate) fn reactor(&self) -> &Arc<Reactor> {
        &self.reactor
    }

    /// Deregisters and returns the object (still in non-blocking mode).
    pub(crate) fn into_inner(mut self) -> T {
        let io = self
            .io
            .take()
            .expect("PollIo's object is only taken by `into_inner`, which consumes it");
        self.deregister(io.as_fd());
        io
    }

    fn deregister(&self, fd: BorrowedFd<'_>) {
        // An error means the fd was never (or no longer) in the poller; nothing to undo.
        let _ = self.reactor.poller().delete(fd);
        drop(self.reactor.io.remove(self.source.key));
    }

    /// Ready once `dir` may make progress, with the tick to hand to `clear_readiness`.
    ///
    /// Spends one unit of the task's cooperative budget when ready (see `task::coop`).
    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
    ) -> Poll<io::Result<usize>> {
        let coop = match crate::task::coop::poll_proceed(cx) {
            Poll::Ready(coop) => coop,
            Poll::Pending => return Poll::Pending,
        };
        let ready = self.poll_source(cx, dir);
        if ready.is_ready() {
            coop.made_progress();
        }
        ready
    }

    /// The source's readiness; records what the task waits on when it is not ready.
    fn poll_source(&self, cx: &mut Context<'_>, dir: Direction) -> Poll<io::Result<usize>> {
        let ready = self.source.poll_ready(cx, dir);
        if ready.is_pending() {
            crate::task::info::set_waiting(crate::task::info::WaitOn::Io {
                fd: self.get_ref().as_fd().as_raw_fd(),
                write: dir == Direction::Write,
            });
        }
        ready
    }

    /// Forget `dir`'s readiness observed at `tick` (after the operation hit `WouldBlock`).
    pub(crate) fn clear_readiness(&self, dir: Direction, tick: usize) {
        self.source.clear_readiness(dir, tick);
    }

    /// Applies what a successful operation learned about `dir` (readiness observed at `tick`).
    fn record(&self, dir: Direction, tick: usize, progress: Progress) {
        match progress {
            Progress::Unknown => {}
            Progress::Drained => self.source.clear_drained(dir, tick),
            Progress::Closed => self.source.mark_closed(dir),
        }
    }

    /// Runs `op` when `dir` is ready, retrying after the next event each time it hits
    /// `WouldBlock` (and at once on `Interrupted`). Any other result is returned as is.
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_io_hinted(cx, dir, |io| op(io).map(|r| (r, Progress::Unknown)))
    }

    /// [`poll_io`](Self::poll_io) for an operation that also reports what it learned about the
    /// direction ([`Progress`]): a drained direction waits for the next event instead of trying
    /// (and failing with `WouldBlock`) first.
    pub(crate) fn poll_io_hinted<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        mut op: impl FnMut(&T) -> io::Result<(R, Progress)>,
    ) -> Poll<io::Result<R>> {
        // One unit of the cooperative budget per completed operation (given back if the
        // operation ends up waiting), so a task whose socket is always ready still yields.
        let coop = match crate::task::coop::poll_proceed(cx) {
            Poll::Ready(coop) => coop,
            Poll::Pending => return Poll::Pending,
        };
        loop {
            let tick = match self.poll_source(cx, dir) {
                Poll::Ready(Ok(tick)) => tick,
                Poll::Ready(Err(err)) => {
                    coop.made_progress();
                    return Poll::Ready(Err(err));
                }
                Poll::Pending => return Poll::Pending,
            };
            match op(self.get_ref()) {
                Ok((value, progress)) => {
                    self.record(dir, tick, progress);
                    coop.made_progress();
                    return Poll::Ready(Ok(value));
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    self.clear_readiness(dir, tick);
                }
                // A signal interrupted the call before it did anything: just retry.
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => {
                    coop.made_progress();
                    return Poll::Ready(Err(err));
                }
            }
        }
    }

    /// Runs `op` once if `dir` is ready, without waiting: `WouldBlock` when it is not ready or
    /// the operation would block (then the readiness is cleared, as in `poll_io`). Spends no
    /// cooperative budget, as tokio's `try_*` operations do.
    pub(crate) fn try_io<R>(
        &self,
        dir: Direction,
        mut op: impl FnMut(&T) -> io::Result<(R, Progress)>,
    ) -> io::Result<R> {
        loop {
            let Some(tick) = self.source.try_ready(dir)? else {
                return Err(io::ErrorKind::WouldBlock.into());
            };
            match op(self.get_ref()) {
                Ok((value, progress)) => {
                    self.record(dir, tick, progress);
                    return Ok(value);
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    self.clear_readiness(dir, tick);
                    return Err(err);
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
    }
}

impl<T: AsFd> Drop for PollIo<T> {
    fn drop(&mut self) {
        if let Some(io) = &self.io {
            self.deregister(io.as_fd());
        }
        // `io` (and with it the fd) is dropped after this, so the fd left the poller first.
    }
}

#[cfg(all(test, not(loom), not(miri)))] // sockets: no OS poller under miri
mod tests;

/// One source's readiness state, for the models in `loom-tests/tests/io.rs` (via
/// `crate::loom_api::IoSource`): the race between a task that clears readiness and waits and
/// the reactor dispatching an event.
#[cfg(loom)]
pub(crate) struct ModelSource(Arc<Source>);

#[cfg(loom)]
impl ModelSource {
    pub(crate) fn new() -> ModelSource {
        ModelSource(Arc::new(Source::new(0)))
    }

    pub(crate) fn poll_read(&self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        self.0.poll_ready(cx, Direction::Read)
    }

    pub(crate) fn clear_read(&self, tick: usize) {
        self.0.clear_readiness(Direction::Read, tick);
    }

    /// What a read that proved the socket drained does (`Progress::Drained`).
    pub(crate) fn clear_read_drained(&self, tick: usize) {
        self.0.clear_drained(Direction::Read, tick);
    }

    /// What `IoDriver::dispatch` does for a read event: set the bit, then wake the waiters.
    pub(crate) fn dispatch_readable(&self) {
        let mut wakers = Vec::new();
        self.0.set_ready(READABLE, &mut wakers);
        for waker in wakers {
            waker.wake();
        }
    }
}

#[cfg(loom)]
impl Clone for ModelSource {
    fn clone(&self) -> ModelSource {
        ModelSource(self.0.clone())
    }
}
