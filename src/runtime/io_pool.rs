//! The blocking-I/O lane: an elastic pool of threads for system calls that block (files, name
//! resolution, blocking C libraries), separate from the rayon compute pool.
//!
//! The pool runs task cells ([`Notified`]) that `crate::blocking::unblock` queues. Threads are
//! created lazily: a queued job wakes an idle thread if there is one, otherwise starts a new
//! thread (`NAME-io-N`) unless `max_io_threads` are already alive, in which case it waits for a
//! busy thread to come back to the queue. A thread that finds no work for the keep-alive (10 s
//! by default) exits. Each thread carries a *weak* runtime context, like the compute threads,
//! because the runtime owns the pool.
//!
//! Idle threads wait on a **LIFO stack**, each on its own condvar. A push pops the most
//! recently idled thread, marks it claimed and signals exactly that thread, so a burst of pushes
//! claims as many distinct threads as it has jobs (never signalling one sleeper twice), the
//! thread that gets the job is the one whose cache is warm, and under a light steady load the
//! same few threads do the work while the surplus reach their keep-alive and exit (a FIFO wake
//! order would cycle through all of them and keep every one alive).
//!
//! Before any of that, a push checks `returning`: threads whose job has returned and that are
//! about to come back to the queue (they announce it before waking the job's awaiter). The
//! caller of a sequential chain of calls queues its next call exactly then; that call is left
//! for the returning thread, which takes it without going to sleep: no wake-up, no new thread.
//!
//! Shutdown: queued jobs are dropped (their tasks were already cancelled by the registry drain),
//! except *mandatory* ones (writes that `spindle::fs::File` handed over), which the lane threads
//! still run; then the runtime waits for the lane threads within its shutdown deadline.

use super::HandleInner;
use super::context;
use crate::loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use crate::loom::sync::{Condvar, Mutex, MutexGuard, StdArc, StdWeak};
use crate::task::Notified;
use std::cell::Cell;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// `Builder::max_io_threads` default.
pub(crate) const DEFAULT_MAX_THREADS: usize = 64;
/// `Builder::io_thread_keep_alive` default.
pub(crate) const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(10);

/// The lane of one runtime.
pub(crate) struct IoPool {
    shared: StdArc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    /// Lane threads whose job has returned and that have not come back to the queue yet, minus
    /// the pushes that counted on one of them. Incremented outside the lock (`run_lane_job`),
    /// decremented only under it, so it never exceeds the threads really on their way back.
    returning: AtomicUsize,
    /// Shutdown waits here for threads to exit.
    exited: Condvar,
    max_threads: usize,
    keep_alive: Duration,
    name: String,
    handle: StdWeak<HandleInner>,
}

struct State {
    queue: VecDeque<Job>,
    /// Threads started (or being started) and not yet exited.
    live: usize,
    /// Waiting threads that no push has claimed, the most recently idled last.
    idle: Vec<StdArc<Sleeper>>,
    /// Index for the next thread's name.
    next_index: usize,
    /// Jobs taken off the queue so far (run or, at shutdown, dropped); monotonic.
    jobs_taken: u64,
    shutdown: bool,
}

/// An idle thread's wait slot.
struct Sleeper {
    wake: Condvar,
    /// Set by the push that pops this sleeper off the idle stack.
    claimed: AtomicBool,
}

struct Job {
    task: Notified,
    /// Run even at shutdown (a file write that must not be lost).
    mandatory: bool,
}

/// What a push must do once the lock is released.
enum Claim {
    /// A thread finishing its job takes it when it comes back: nothing to do.
    Returning,
    /// This idle thread was claimed: signal its condvar.
    WakeIdle(StdArc<Sleeper>),
    /// No idle thread and the cap is not reached: start thread number `index`.
    Spawn(usize),
    /// Every allowed thread is alive and busy; one of them takes the job when it is done.
    Busy,
}

/// What a lane thread does next, decided under the lock.
enum Next {
    Run(Job),
    Wait,
    Exit,
}

crate::loom::thread_local! {
    /// The `Shared` of the lane this thread belongs to, null elsewhere. Set from the thread's
    /// own `StdArc<Shared>`, which outlives it (it is cleared before the thread lets go).
    static LANE: Cell<*const Shared> = const { Cell::new(std::ptr::null()) };
    /// Set by a lane thread right before it runs a queued job; taken by that job's closure
    /// (`run_lane_job`), so a job nested inside it (a mandatory write run inline) does not
    /// count as the thread's own.
    static JOB_STARTING: Cell<bool> = const { Cell::new(false) };
    /// This thread's job returned and it announced that it is coming back to the queue.
    static ANNOUNCED: Cell<bool> = const { Cell::new(false) };
}

/// Runs the closure of an `unblock` job. On a lane thread, once the closure has returned, the
/// thread announces that it will be back at the queue in a moment (it only has to hand the
/// result over), so a job queued meanwhile, by the very task it is about to wake for example,
/// is left for it instead of waking or starting another thread.
pub(crate) fn run_lane_job<R>(f: impl FnOnce() -> R) -> R {
    let mine = JOB_STARTING.with(|starting| starting.replace(false));
    let output = f();
    if mine {
        LANE.with(|lane| {
            // SAFETY: JOB_STARTING is only set on a lane thread, whose LANE points to the
            // `Shared` it holds an `Arc` of for as long as it runs jobs.
            let shared = unsafe { &*lane.get() };
            // Relaxed: every decrement is a read-modify-write under the state lock, and the
            // queue hand-off goes through that lock; see `claim_thread`.
            shared.returning.fetch_add(1, Ordering::Relaxed);
        });
        ANNOUNCED.with(|announced| announced.set(true));
    }
    output
}

impl IoPool {
    pub(super) fn new(
        max_threads: usize,
        keep_alive: Duration,
        name: &str,
        handle: StdWeak<HandleInner>,
    ) -> IoPool {
        IoPool {
            shared: StdArc::new(Shared {
                state: Mutex::new(State {
                    queue: VecDeque::new(),
                    live: 0,
                    idle: Vec::new(),
                    next_index: 0,
                    jobs_taken: 0,
                    shutdown: false,
                }),
                returning: AtomicUsize::new(0),
                exited: Condvar::new(),
                max_threads,
                keep_alive,
                name: name.to_string(),
                handle,
            }),
        }
    }

    /// Queues `task`; gives it back once the lane is shut down (the caller cancels it, or runs
    /// it inline if it is mandatory).
    pub(crate) fn push(&self, task: Notified, mandatory: bool) -> Result<(), Notified> {
        let mut state = self.shared.lock();
        if state.shutdown {
            return Err(task);
        }
        state.queue.push_back(Job { task, mandatory });
        let claim = state.claim_thread(&self.shared);
        drop(state);
        match claim {
            Claim::WakeIdle(sleeper) => sleeper.wake.notify_one(),
            Claim::Spawn(index) => self.shared.spawn_thread(index),
            Claim::Returning | Claim::Busy => {}
        }
        Ok(())
    }

    /// Threads alive now (busy or idle).
    pub(crate) fn threads(&self) -> usize {
        self.shared.lock().live
    }

    /// Threads waiting for work.
    #[cfg_attr(not(test), allow(dead_code))] // read by tests; a future metric
    pub(crate) fn idle_threads(&self) -> usize {
        self.shared.lock().idle.len()
    }

    /// Jobs queued and not yet picked up by a thread.
    pub(crate) fn queue_depth(&self) -> usize {
        self.shared.lock().queue.len()
    }

    /// Jobs the lane has taken off its queue since the runtime started (each is one hop).
    #[cfg_attr(not(test), allow(dead_code))] // read by tests; a future metric
    pub(crate) fn jobs_taken(&self) -> u64 {
        self.shared.lock().jobs_taken
    }

    /// Refuses new jobs, drops the queued ones that are not mandatory, and waits (until
    /// `deadline`) for the lane threads to finish what they run and exit.
    pub(super) fn shutdown(&self, deadline: Option<Instant>) {
        let mut state = self.shared.lock();
        if state.shutdown {
            return;
        }
        state.shutdown = true;
        let (mandatory, cancelled): (VecDeque<Job>, VecDeque<Job>) =
            std::mem::take(&mut state.queue)
                .into_iter()
                .partition(|job| job.mandatory);
        // Mandatory jobs stay for the lane threads: each queued job already has a thread
        // coming for it (a claim or a busy thread), and those threads run them before exiting.
        state.queue = mandatory;
        let sleepers = state.idle.clone();
        drop(state);
        for sleeper in sleepers {
            sleeper.wake.notify_one();
        }
        // Outside the lock: these tasks were cancelled by the registry drain, so this only
        // releases references (a destructor must never run under the lane's lock).
        drop(cancelled);

        // A lane thread dropping its own runtime cannot wait for itself.
        let me = usize::from(LANE.with(|lane| lane.get()) == StdArc::as_ptr(&self.shared));
        let mut state = self.shared.lock();
        while state.live > me {
            match deadline {
                None => {
                    state = self
                        .shared
                        .exited
                        .wait(state)
                        .unwrap_or_else(|p| p.into_inner())
                }
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return; // stragglers exit on their own when their job returns
                    }
                    state = self
                        .shared
                        .exited
                        .wait_timeout(state, deadline - now)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
            }
        }
    }
}

impl State {
    /// Decides who takes a job that was just queued (called under the state lock).
    fn claim_thread(&mut self, shared: &Shared) -> Claim {
        // A returning thread re-takes the lock after this and empties the queue before it
        // waits: `returning` only counts threads that have not re-taken it yet (every decrement
        // is under the lock), so the one counted on comes after this push. Relaxed: the lock
        // orders the hand-off.
        if shared
            .returning
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok()
        {
            return Claim::Returning;
        }
        if let Some(sleeper) = self.idle.pop() {
            // Relaxed: written and read only under the state lock, which orders them.
            sleeper.claimed.store(true, Ordering::Relaxed);
            Claim::WakeIdle(sleeper)
        } else if self.live < shared.max_threads {
            self.live += 1;
            self.next_index += 1;
            Claim::Spawn(self.next_index - 1)
        } else {
            Claim::Busy
        }
    }

    /// A thread back at the queue: run the next job, wait for one, or exit.
    fn next(&mut self) -> Next {
        match self.queue.pop_front() {
            Some(job) => {
                self.jobs_taken += 1;
                Next::Run(job)
            }
            None if self.shutdown => Next::Exit,
            None => Next::Wait,
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        crate::loom::lock(&self.state)
    }

    fn spawn_thread(self: &StdArc<Self>, index: usize) {
        let shared = self.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("{}-io-{index}", self.name))
            .spawn(move || shared.run());
        if spawned.is_err() {
            self.thread_not_started();
        }
    }

    /// The OS refused a thread. If no lane thread is alive, nobody would ever take the queued
    /// jobs: cancel them (their handles yield a cancelled `JoinError`), except mandatory writes,
    /// which run here, on the pushing thread.
    fn thread_not_started(&self) {
        let mut state = self.lock();
        state.live -= 1;
        let orphans: Vec<Job> = if state.live == 0 {
            state.queue.drain(..).collect()
        } else {
            Vec::new()
        };
        drop(state);
        self.exited.notify_all();
        for job in orphans {
            if job.mandatory {
                job.task.run();
            }
        }
    }

    /// A lane thread's life: run queued jobs; when there are none, wait up to the keep-alive
    /// for a claim; exit on timeout or shutdown.
    fn run(self: StdArc<Self>) {
        context::set_weak(self.handle.clone());
        LANE.with(|lane| lane.set(StdArc::as_ptr(&self)));
        let mut state = self.lock();
        loop {
            match state.next() {
                Next::Run(job) => {
                    let skip = state.shutdown && !job.mandatory;
                    drop(state);
                    if skip {
                        drop(job.task); // already cancelled by the shutdown's registry drain
                    } else {
                        JOB_STARTING.with(|starting| starting.set(true));
                        job.task.run(); // catches the job's panic itself
                        JOB_STARTING.with(|starting| starting.set(false)); // if it never ran
                    }
                    state = self.lock();
                    if ANNOUNCED.with(|announced| announced.replace(false)) {
                        // Back: no longer counted on, unless a push already did (then the
                        // count is lower and the queue holds that push's job for us).
                        // Relaxed: under the state lock, like every decrement.
                        let _ = self.returning.fetch_update(
                            Ordering::Relaxed,
                            Ordering::Relaxed,
                            |n| n.checked_sub(1),
                        );
                    }
                }
                Next::Exit => break,
                Next::Wait => match self.wait_for_claim(state) {
                    (s, true) => state = s,
                    (s, false) => {
                        state = s;
                        break;
                    }
                },
            }
        }
        state.live -= 1;
        drop(state);
        self.exited.notify_all();
        LANE.with(|lane| lane.set(std::ptr::null()));
        context::clear();
    }

    /// Waits as an idle thread. True (back to the queue) when a push claimed this thread;
    /// false (exit) after the keep-alive or at shutdown.
    fn wait_for_claim<'a>(
        &'a self,
        mut state: MutexGuard<'a, State>,
    ) -> (MutexGuard<'a, State>, bool) {
        let me = StdArc::new(Sleeper {
            wake: Condvar::new(),
            claimed: AtomicBool::new(false),
        });
        state.idle.push(me.clone());
        let deadline = Instant::now().checked_add(self.keep_alive);
        loop {
            let timeout = match deadline {
                Some(deadline) => deadline.saturating_duration_since(Instant::now()),
                None => Duration::from_secs(3600),
            };
            state = me
                .wake
                .wait_timeout(state, timeout)
                .unwrap_or_else(|p| p.into_inner())
                .0;
            // Relaxed: read under the state lock, like the store.
            if me.claimed.load(Ordering::Relaxed) {
                // The push that claimed us took us off the stack.
                return (state, true);
            }
            let expired = deadline.is_some_and(|d| Instant::now() >= d);
            if state.shutdown || expired {
                // Unclaimed, so still on the stack: leave it.
                state.idle.retain(|s| !StdArc::ptr_eq(s, &me));
                return (state, false);
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use crate::runtime::{Builder, Runtime};
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    fn runtime(max: usize, keep_alive: Duration) -> Runtime {
        Builder::new()
            .worker_threads(1)
            .compute_threads(1)
            .max_io_threads(max)
            .io_thread_keep_alive(keep_alive)
            .build()
            .unwrap()
    }

    /// Polls `check` until it holds (generous deadline: CI is a loaded 2-core machine).
    fn eventually(what: &str, mut check: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !check() {
            assert!(Instant::now() < deadline, "timed out waiting until {what}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn threads_start_lazily_one_per_concurrent_job_and_are_reused() {
        let rt = runtime(8, Duration::from_secs(60));
        let io = &rt.handle().inner.io;
        assert_eq!(io.threads(), 0, "no lane thread before the first job");

        // Sequential jobs: one thread, reused, even when the next job is queued before the
        // thread is back at the queue (it announced its return before waking the caller).
        for i in 0..100 {
            assert_eq!(rt.block_on(rt.unblock(move || i)).unwrap(), i);
            assert_eq!(io.threads(), 1);
        }
        eventually("the lane thread is idle again", || io.idle_threads() == 1);

        // Three jobs that wait for each other: they can only finish on three threads.
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(3));
        let jobs: Vec<_> = (0..3)
            .map(|_| {
                let barrier = barrier.clone();
                rt.unblock(move || {
                    barrier.wait();
                })
            })
            .collect();
        for job in jobs {
            rt.block_on(job).unwrap();
        }
        assert_eq!(io.threads(), 3);
        eventually("all three are idle", || io.idle_threads() == 3);
        assert_eq!(io.queue_depth(), 0);
        assert_eq!(io.jobs_taken(), 103);
    }

    #[test]
    fn idle_threads_exit_after_the_keep_alive() {
        let rt = runtime(4, Duration::from_millis(100));
        let io = &rt.handle().inner.io;
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
        let jobs: Vec<_> = (0..2)
            .map(|_| {
                let barrier = barrier.clone();
                rt.unblock(move || {
                    barrier.wait();
                })
            })
            .collect();
        for job in jobs {
            rt.block_on(job).unwrap();
        }
        assert_eq!(io.threads(), 2);
        eventually("idle lane threads exit", || io.threads() == 0);
        assert_eq!(io.idle_threads(), 0);
        // And the lane starts a thread again on demand.
        assert_eq!(rt.block_on(rt.unblock(|| 5)).unwrap(), 5);
        assert_eq!(io.threads(), 1);
    }

    #[test]
    fn the_most_recently_idle_thread_takes_the_job_so_surplus_threads_expire() {
        let rt = runtime(8, Duration::from_millis(300));
        let io = &rt.handle().inner.io;
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(3));
        let jobs: Vec<_> = (0..3)
            .map(|_| {
                let barrier = barrier.clone();
                rt.unblock(move || {
                    barrier.wait();
                })
            })
            .collect();
        for job in jobs {
            rt.block_on(job).unwrap();
        }
        assert_eq!(io.threads(), 3);
        eventually("all three are idle", || io.idle_threads() == 3);
        // A trickle of jobs, far more often than the keep-alive: with a LIFO idle stack one
        // thread serves them all and the other two expire; a FIFO order would keep all three.
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut names = std::collections::BTreeSet::new();
        while io.threads() > 1 {
            assert!(
                Instant::now() < deadline,
                "surplus lane threads never expired"
            );
            let name = rt
                .block_on(rt.unblock(|| std::thread::current().name().unwrap().to_string()))
                .unwrap();
            names.insert(name);
            // Back on the stack before the next job (block_on may return first).
            eventually("the thread is idle again", || {
                io.idle_threads() == io.threads()
            });
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(names.len(), 1, "jobs went to {names:?}");
        assert_eq!(io.threads(), 1);
    }

    #[test]
    fn host_names_are_resolved_on_the_lane() {
        let rt = runtime(4, Duration::from_secs(60));
        let io = &rt.handle().inner.io;
        let addrs: Vec<_> = rt
            .block_on(crate::net::lookup_host("localhost:80"))
            .unwrap()
            .collect();
        assert!(!addrs.is_empty());
        assert_eq!(io.jobs_taken(), 1, "the lookup ran as one lane job");
        // A numeric address needs no lookup at all.
        let numeric = rt
            .block_on(crate::net::lookup_host("127.0.0.1:80"))
            .unwrap();
        assert_eq!(numeric.count(), 1);
        assert_eq!(io.jobs_taken(), 1);
    }

    #[test]
    fn jobs_beyond_the_cap_queue_until_a_thread_is_free() {
        let rt = runtime(1, Duration::from_secs(60));
        let io = &rt.handle().inner.io;
        let (release, wait) = mpsc::channel::<()>();
        let blocker = rt.unblock(move || wait.recv().unwrap());
        eventually("the blocker runs", || io.jobs_taken() == 1);
        let queued: Vec<_> = (0..3).map(|i| rt.unblock(move || i)).collect();
        assert_eq!(io.queue_depth(), 3);
        assert_eq!(io.threads(), 1);
        release.send(()).unwrap();
        rt.block_on(blocker).unwrap();
        let outputs: Vec<_> = queued
            .into_iter()
            .map(|j| rt.block_on(j).unwrap())
            .collect();
        assert_eq!(outputs, [0, 1, 2]);
        assert_eq!(io.threads(), 1);
    }
}
