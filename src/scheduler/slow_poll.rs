//! Slow-poll reports: [`SlowPoll`] and the hook a runtime calls when one poll of a task held
//! its worker longer than a threshold (`Builder::on_slow_poll`).

use crate::task::Id;
use std::fmt;
use std::panic::Location;
use std::sync::Arc;
use std::time::Duration;

/// One poll of a task that held its worker longer than the threshold given to
/// [`Builder::on_slow_poll`](crate::runtime::Builder::on_slow_poll): which task, and for how
/// long. This is how a `std::thread::sleep`, a blocking read or a contended synchronous mutex
/// inside async code shows up.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use std::time::Duration;
///
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let s = seen.clone();
/// let rt = spindle::runtime::Builder::new()
///     .on_slow_poll(Duration::from_millis(50), move |slow| {
///         s.lock().unwrap().push((slow.name().map(str::to_string), slow.duration()));
///     })
///     .build()
///     .unwrap();
/// let task = spindle::task::Builder::new()
///     .name("blocker")
///     .spawn_on(async { std::thread::sleep(Duration::from_millis(120)) }, rt.handle())
///     .unwrap();
/// rt.block_on(task).unwrap();
/// drop(rt); // the report is made on the worker right after the poll
/// let seen = seen.lock().unwrap();
/// assert_eq!(seen[0].0.as_deref(), Some("blocker"));
/// assert!(seen[0].1 >= Duration::from_millis(120));
/// ```
#[derive(Clone)]
pub struct SlowPoll {
    pub(crate) task_id: Id,
    pub(crate) name: Option<Arc<str>>,
    pub(crate) spawned_at: &'static Location<'static>,
    pub(crate) duration: Duration,
}

impl SlowPoll {
    /// The task's id.
    ///
    /// ```
    /// fn id_of(slow: &spindle::runtime::SlowPoll) -> spindle::task::Id {
    ///     slow.task_id()
    /// }
    /// ```
    pub fn task_id(&self) -> Id {
        self.task_id
    }

    /// The task's name, if it was spawned with one (`task::Builder::name`).
    ///
    /// ```
    /// fn name_of(slow: &spindle::runtime::SlowPoll) -> Option<&str> {
    ///     slow.name()
    /// }
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Where the task was spawned.
    ///
    /// ```
    /// fn line_of(slow: &spindle::runtime::SlowPoll) -> u32 {
    ///     slow.spawned_at().line()
    /// }
    /// ```
    pub fn spawned_at(&self) -> &'static Location<'static> {
        self.spawned_at
    }

    /// How long the poll held the worker.
    ///
    /// ```
    /// fn took(slow: &spindle::runtime::SlowPoll) -> std::time::Duration {
    ///     slow.duration()
    /// }
    /// ```
    pub fn duration(&self) -> Duration {
        self.duration
    }
}

impl fmt::Debug for SlowPoll {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlowPoll")
            .field("task_id", &self.task_id)
            .field("name", &self.name())
            .field("spawned_at", &format_args!("{}", self.spawned_at))
            .field("duration", &self.duration)
            .finish()
    }
}

impl fmt::Display for SlowPoll {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task {}", self.task_id)?;
        if let Some(name) = self.name() {
            write!(f, " ({name})")?;
        }
        write!(
            f,
            " spawned at {} held its worker for {:?} in one poll",
            self.spawned_at, self.duration
        )
    }
}

/// The hook: a threshold and the user's callback.
#[derive(Clone)]
pub(crate) struct SlowPollHook {
    pub(crate) threshold: Duration,
    pub(crate) callback: Arc<dyn Fn(&SlowPoll) + Send + Sync>,
}

// The callback is only ever called inside `catch_unwind`, and a panic in it is dropped: no
// broken invariant can be observed after it, so the hook (and the `Builder` holding it) stays
// unwind-safe whatever the callback captures.
impl std::panic::UnwindSafe for SlowPollHook {}
impl std::panic::RefUnwindSafe for SlowPollHook {}

impl fmt::Debug for SlowPollHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlowPollHook")
            .field("threshold", &self.threshold)
            .finish_non_exhaustive()
    }
}
