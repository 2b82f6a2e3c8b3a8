//! Task dumps: a snapshot of every live task, taken without stopping the runtime.
//!
//! Sources: the registry of tasks that have been polled at least once and went idle (sharded;
//! each shard's lock is held only while its tasks are copied, and the dump yields between
//! shards), and each worker's published "poll in progress" (which covers a task stuck in its
//! very first poll, the case a dump is most often wanted for). Tasks spawned but not polled yet
//! sit in run queues that cannot be walked without stopping workers; they are counted, not
//! listed (see [`Dump::unpolled`]).

use crate::runtime::Handle;
use crate::task::Id;
use crate::task::info::{TaskKind, WaitOn};
use std::collections::HashSet;
use std::fmt;
use std::panic::Location;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a task is doing, as far as the scheduler knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskState {
    /// Waiting to be woken.
    Idle,
    /// Woken, waiting in a run queue.
    Scheduled,
    /// Being polled on a worker right now.
    Running,
    /// A `spawn_blocking` or `compute::spawn` job, queued on or running on the compute pool.
    Compute,
}

impl TaskState {
    /// The word dumps print: `idle`, `scheduled`, `running` or `compute`.
    ///
    /// ```
    /// assert_eq!(spindle::runtime::TaskState::Idle.as_str(), "idle");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Idle => "idle",
            TaskState::Scheduled => "scheduled",
            TaskState::Running => "running",
            TaskState::Compute => "compute",
        }
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an idle task waits on, where the runtime knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WaitsOn {
    /// A timer (a `sleep`, `timeout` or `interval`) due at this instant (millisecond
    /// resolution, rounded up).
    Timer {
        /// When it fires.
        deadline: Instant,
    },
    /// A socket or another file descriptor registered with the reactor.
    Socket {
        /// The raw file descriptor.
        fd: i32,
        /// Waiting to write (else to read).
        write: bool,
    },
    /// A compute job (`spindle::compute`), by its task id.
    Compute {
        /// The job's task id.
        job: u64,
    },
}

/// One live task in a [`Dump`].
#[derive(Clone, Debug)]
pub struct TaskInfo {
    id: Id,
    name: Option<Arc<str>>,
    spawned_at: &'static Location<'static>,
    state: TaskState,
    polls: u64,
    since_last_poll: Option<Duration>,
    waits_on: Option<WaitsOn>,
}

impl TaskInfo {
    /// The task's id.
    ///
    /// ```
    /// fn id(t: &spindle::runtime::TaskInfo) -> spindle::task::Id {
    ///     t.id()
    /// }
    /// ```
    pub fn id(&self) -> Id {
        self.id
    }

    /// Its name (`task::Builder::name`), if it has one.
    ///
    /// ```
    /// fn name(t: &spindle::runtime::TaskInfo) -> Option<&str> {
    ///     t.name()
    /// }
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Where it was spawned (the spawn call's `file:line:column`).
    ///
    /// ```
    /// fn at(t: &spindle::runtime::TaskInfo) -> String {
    ///     t.spawned_at().to_string()
    /// }
    /// ```
    pub fn spawned_at(&self) -> &'static Location<'static> {
        self.spawned_at
    }

    /// What it is doing.
    ///
    /// ```
    /// fn state(t: &spindle::runtime::TaskInfo) -> spindle::runtime::TaskState {
    ///     t.state()
    /// }
    /// ```
    pub fn state(&self) -> TaskState {
        self.state
    }

    /// How many times it has been polled.
    ///
    /// ```
    /// fn polls(t: &spindle::runtime::TaskInfo) -> u64 {
    ///     t.polls()
    /// }
    /// ```
    pub fn polls(&self) -> u64 {
        self.polls
    }

    /// How long ago its last poll started (millisecond resolution); `None` if never polled.
    ///
    /// ```
    /// fn idle_for(t: &spindle::runtime::TaskInfo) -> Option<std::time::Duration> {
    ///     t.since_last_poll()
    /// }
    /// ```
    pub fn since_last_poll(&self) -> Option<Duration> {
        self.since_last_poll
    }

    /// What it waits on, if it is idle and the runtime knows.
    ///
    /// ```
    /// fn waits(t: &spindle::runtime::TaskInfo) -> Option<spindle::runtime::WaitsOn> {
    ///     t.waits_on()
    /// }
    /// ```
    pub fn waits_on(&self) -> Option<WaitsOn> {
        self.waits_on
    }
}

/// A snapshot of every live task of a runtime (see [`Handle::dump`]). `Display` prints an
/// aligned table, one task per line.
///
/// ```
/// use std::time::Duration;
///
/// spindle::run(async {
///     let _sleeper = spindle::task::Builder::new()
///         .name("sleeper")
///         .spawn(spindle::time::sleep(Duration::from_secs(60)))
///         .unwrap();
///     spindle::time::sleep(Duration::from_millis(20)).await; // let it go idle
///     let dump = spindle::runtime::Handle::current().dump().await;
///     let sleeper = dump.tasks().iter().find(|t| t.name() == Some("sleeper")).unwrap();
///     assert_eq!(sleeper.state(), spindle::runtime::TaskState::Idle);
///     println!("{dump}");
/// });
/// ```
#[derive(Clone, Debug)]
pub struct Dump {
    tasks: Vec<TaskInfo>,
    unpolled: usize,
}

impl Dump {
    /// One entry per live task that has been polled at least once (or is being polled).
    ///
    /// ```
    /// spindle::run(async {
    ///     let dump = spindle::runtime::Handle::current().dump().await;
    ///     let _count = dump.tasks().len();
    /// });
    /// ```
    pub fn tasks(&self) -> &[TaskInfo] {
        &self.tasks
    }

    /// Tasks spawned but not polled yet (waiting in run queues): counted, not listed.
    ///
    /// ```
    /// spindle::run(async {
    ///     let dump = spindle::runtime::Handle::current().dump().await;
    ///     let _queued = dump.unpolled();
    /// });
    /// ```
    pub fn unpolled(&self) -> usize {
        self.unpolled
    }
}

impl fmt::Display for Dump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows: Vec<[String; 7]> = self
            .tasks
            .iter()
            .map(|t| {
                [
                    t.id.to_string(),
                    t.name().unwrap_or("-").to_string(),
                    t.spawned_at.to_string(),
                    t.state.to_string(),
                    t.polls.to_string(),
                    t.since_last_poll
                        .map_or_else(|| "-".into(), |d| format!("{} ms", d.as_millis())),
                    match t.waits_on {
                        None => "-".into(),
                        Some(WaitsOn::Timer { deadline }) => {
                            let now = Instant::now();
                            if deadline > now {
                                format!("timer in {} ms", (deadline - now).as_millis())
                            } else {
                                "timer (due)".into()
                            }
                        }
                        Some(WaitsOn::Socket { fd, write }) => {
                            format!("socket fd {fd} ({})", if write { "write" } else { "read" })
                        }
                        Some(WaitsOn::Compute { job }) => format!("compute job {job}"),
                    },
                ]
            })
            .collect();
        let header = [
            "id",
            "name",
            "spawned at",
            "state",
            "polls",
            "last poll",
            "waits on",
        ];
        let mut widths = header.map(str::len);
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |f: &mut fmt::Formatter<'_>, cells: &[&str]| -> fmt::Result {
            for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
                if i + 1 == cells.len() {
                    writeln!(f, "{cell}")?;
                } else {
                    write!(f, "{cell:<w$}  ")?;
                }
            }
            Ok(())
        };
        line(f, &header)?;
        for row in &rows {
            line(f, &row.each_ref().map(String::as_str))?;
        }
        if self.unpolled > 0 {
            writeln!(
                f,
                "(+ {} task(s) spawned and not polled yet)",
                self.unpolled
            )?;
        }
        Ok(())
    }
}

impl Handle {
    /// A snapshot of every live task: id, name, spawn location, state, polls, time since the
    /// last poll, and what it waits on where the runtime knows (a timer and its deadline, a
    /// socket, a compute job). Taken without stopping the runtime: it never waits for a worker,
    /// so it works while one is stuck in a long synchronous call; between registry shards it
    /// yields, so a dump of 100 000 tasks does not hold up the caller's worker.
    ///
    /// ```
    /// spindle::run(async {
    ///     let dump = spindle::runtime::Handle::current().dump().await;
    ///     print!("{dump}");
    /// });
    /// ```
    pub async fn dump(&self) -> Dump {
        let shared = self.inner.scheduler.shared();
        let clock = &shared.clock;
        let timers = &shared.reactor().timers;
        let now_ms = clock.since_ms(0);
        let owned = shared.owned();
        let mut tasks = Vec::new();
        let mut seen = HashSet::new();
        for shard in 0..owned.shard_count() {
            owned.for_each_in_shard(shard, |view| {
                let snapshot = view.state();
                if snapshot.is_complete() {
                    return;
                }
                let (polls, last_ms) = view.polls();
                let state = if matches!(view.kind(), TaskKind::Blocking | TaskKind::Compute) {
                    TaskState::Compute
                } else if snapshot.is_running() {
                    TaskState::Running
                } else if snapshot.is_scheduled() {
                    TaskState::Scheduled
                } else {
                    TaskState::Idle
                };
                let waits_on = match (state, view.waiting_on()) {
                    (TaskState::Idle, WaitOn::Timer(tick)) => timers
                        .tick_instant(tick)
                        .map(|deadline| WaitsOn::Timer { deadline }),
                    (TaskState::Idle, WaitOn::Io { fd, write }) => {
                        Some(WaitsOn::Socket { fd, write })
                    }
                    (TaskState::Idle, WaitOn::Compute(job)) => Some(WaitsOn::Compute { job }),
                    _ => None,
                };
                seen.insert(view.id());
                tasks.push(TaskInfo {
                    id: view.id(),
                    name: view.name_arc(),
                    spawned_at: view.spawned_at(),
                    state,
                    polls: u64::from(polls),
                    since_last_poll: (polls > 0)
                        .then(|| Duration::from_millis(u64::from(now_ms.wrapping_sub(last_ms)))),
                    waits_on,
                });
            });
            crate::task::yield_now().await;
        }
        // Polls in progress of tasks not in the registry (first polls, e.g. a task stuck in
        // its first poll).
        for remote in shared.remotes.iter() {
            if let Some((id, spawned_at, started_ms)) = remote.current_poll() {
                let Some(id) = Id::from_u64(id) else { continue };
                if seen.insert(id) {
                    tasks.push(TaskInfo {
                        id,
                        name: None,
                        spawned_at,
                        state: TaskState::Running,
                        polls: 1,
                        since_last_poll: Some(Duration::from_millis(u64::from(
                            now_ms.wrapping_sub(started_ms),
                        ))),
                        waits_on: None,
                    });
                }
            }
        }
        tasks.sort_by_key(|t| t.id);
        let alive = shared.task_counts().1 as usize;
        Dump {
            unpolled: alive.saturating_sub(tasks.len()),
            tasks,
        }
    }
}
