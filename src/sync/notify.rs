//! `Notify`: wake one task or all waiting tasks, with tokio's stored-permit semantics.
//!
//! spindle's own code (no crate has these exact semantics; `event-listener` has no stored permit
//! and counts notifications differently). The state is one mutex around a FIFO [`WaitList`] of
//! waiters, a `permit` flag and a counter of `notify_waiters` calls:
//!
//! * `notify_one`: the first queued waiter is marked notified and woken; with nobody queued,
//!   the permit is stored (at most one: storing twice still stores one).
//! * `notify_waiters`: every queued waiter is marked and woken, the counter is bumped, nothing
//!   is stored. A `Notified` remembers the counter when it is *created*, so one created before
//!   the call but not yet polled also completes (as in tokio).
//! * a `Notified` that was handed a `notify_one` but is dropped before it completed passes the
//!   notification on (to the next waiter, or as the stored permit), so none is lost.
//!
//! `Notified` is not a receiver or lock and spends no cooperative budget (as in tokio).

use super::wait_list::{Key, WaitList, WakeList};
use crate::loom::sync::Mutex;
use crate::loom::sync::atomic::{AtomicUsize, Ordering};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// Wakes tasks waiting for an event: asyncio's `Event` and `Condition` in one small primitive.
///
/// [`notified()`](Notify::notified) returns a future that completes when the task is notified.
/// [`notify_one`](Notify::notify_one) wakes the longest-waiting task (FIFO), or — when no task is
/// waiting — stores **one** permit that the next `notified().await` consumes at once.
/// [`notify_waiters`](Notify::notify_waiters) wakes every task waiting right now (including
/// `Notified` futures created before the call but not yet polled) and stores nothing.
///
/// ```
/// use spindle::sync::Notify;
/// use std::sync::Arc;
///
/// spindle::run(async {
///     let notify = Arc::new(Notify::new());
///     let waiter = spindle::spawn({
///         let notify = notify.clone();
///         async move {
///             notify.notified().await;
///             "woken"
///         }
///     });
///     // Whether or not the waiter is already waiting, the notification is not lost:
///     // with nobody waiting, it is stored as a permit.
///     notify.notify_one();
///     assert_eq!(waiter.await.unwrap(), "woken");
/// });
/// ```
pub struct Notify {
    /// Number of `notify_waiters` calls; written under `state`, read without it when a
    /// `Notified` is created.
    waiters_calls: AtomicUsize,
    state: Mutex<State>,
}

struct State {
    permit: bool,
    waiters: WaitList<Waiter>,
}

struct Waiter {
    waker: Option<Waker>,
    notified: Option<Notification>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Notification {
    One,
    All,
}

impl Notify {
    /// A `Notify` with no stored permit.
    ///
    /// ```
    /// let notify = spindle::sync::Notify::new();
    /// notify.notify_waiters(); // nobody waits: nothing happens, nothing is stored
    /// ```
    pub fn new() -> Notify {
        Notify {
            waiters_calls: AtomicUsize::new(0),
            state: Mutex::new(State {
                permit: false,
                waiters: WaitList::new(),
            }),
        }
    }

    const_fn! {
        /// [`new`](Notify::new) as a `const fn`, for statics.
        ///
        /// ```
        /// use spindle::sync::Notify;
        /// static READY: Notify = Notify::const_new();
        /// READY.notify_one();
        /// spindle::run(async { READY.notified().await }); // the stored permit
        /// ```
        pub const fn const_new() -> Notify {
            Notify {
                waiters_calls: AtomicUsize::new(0),
                state: Mutex::new(State {
                    permit: false,
                    waiters: WaitList::new(),
                }),
            }
        }
    }

    /// A future that completes when this task is notified (see the type's docs for which
    /// notifications reach it). It is registered in the FIFO on its first poll, or earlier
    /// with [`Notified::enable`].
    ///
    /// ```
    /// use spindle::sync::Notify;
    /// spindle::run(async {
    ///     let notify = Notify::new();
    ///     let notified = notify.notified(); // created, not yet polled
    ///     notify.notify_waiters();          // still reaches it
    ///     notified.await;
    /// });
    /// ```
    pub fn notified(&self) -> Notified<'_> {
        Notified {
            notify: self,
            // SeqCst: pairs with the increment in `notify_waiters` (made under the lock), so a
            // call that happens-before this creation is not counted as a later one.
            stage: Stage::Init {
                waiters_calls: self.waiters_calls.load(Ordering::SeqCst),
            },
        }
    }

    /// Wakes the task that has waited longest; with no task waiting, stores one permit for
    /// the next [`notified()`](Notify::notified) (a second call stores nothing more).
    ///
    /// ```
    /// use spindle::sync::Notify;
    /// spindle::run(async {
    ///     let notify = Notify::new();
    ///     notify.notify_one();
    ///     notify.notify_one(); // still one permit
    ///     notify.notified().await; // consumes it at once
    ///     let second = spindle::time::timeout(
    ///         std::time::Duration::from_millis(20),
    ///         notify.notified(),
    ///     );
    ///     assert!(second.await.is_err(), "only one permit was stored");
    /// });
    /// ```
    pub fn notify_one(&self) {
        let waker = {
            let mut state = crate::loom::lock(&self.state);
            state.notify(Notification::One, false)
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Like [`notify_one`](Notify::notify_one) but wakes the task that has waited the
    /// *shortest* time (LIFO). With no task waiting it stores the permit as well.
    ///
    /// ```
    /// use spindle::sync::Notify;
    /// spindle::run(async {
    ///     let notify = Notify::new();
    ///     notify.notify_last();
    ///     notify.notified().await;
    /// });
    /// ```
    pub fn notify_last(&self) {
        let waker = {
            let mut state = crate::loom::lock(&self.state);
            state.notify(Notification::One, true)
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Wakes every task waiting now, and every `Notified` created before this call that has
    /// not completed yet. Stores no permit: a `notified()` created afterwards waits for the
    /// next notification.
    ///
    /// ```
    /// use spindle::sync::Notify;
    /// use std::sync::Arc;
    /// spindle::run(async {
    ///     let notify = Arc::new(Notify::new());
    ///     let (a, b) = (notify.notified(), notify.notified());
    ///     notify.notify_waiters();
    ///     spindle::gather!(a, b).await; // both complete
    /// });
    /// ```
    pub fn notify_waiters(&self) {
        let mut wakers = WakeList::new();
        let mut state = crate::loom::lock(&self.state);
        // SeqCst: see `notified`. Bumped first, so that waiters not in the list yet (created
        // but not polled) see it when they are polled.
        self.waiters_calls.fetch_add(1, Ordering::SeqCst);
        // Every queued waiter is unlinked and marked here, under one lock hold, so the set
        // woken is exactly the set waiting at this call; only the waking is batched.
        let mut pending = Vec::new();
        while let Some(key) = state.waiters.pop_front() {
            let waiter = state.waiters.get_mut(key);
            waiter.notified = Some(Notification::All);
            if let Some(waker) = waiter.waker.take() {
                if wakers.is_full() {
                    pending.push(waker);
                } else {
                    wakers.push(waker);
                }
            }
        }
        drop(state);
        wakers.wake_all();
        for waker in pending {
            waker.wake();
        }
    }
}

impl State {
    /// Hands one notification to a queued waiter (front, or back when `lifo`), or stores the
    /// permit. Returns the waker to wake once the lock is released.
    fn notify(&mut self, kind: Notification, lifo: bool) -> Option<Waker> {
        let key = if lifo {
            self.waiters.pop_back()
        } else {
            self.waiters.pop_front()
        };
        match key {
            Some(key) => {
                let waiter = self.waiters.get_mut(key);
                waiter.notified = Some(kind);
                waiter.waker.take()
            }
            None => {
                self.permit = true;
                None
            }
        }
    }
}

impl Default for Notify {
    fn default() -> Notify {
        Notify::new()
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = crate::loom::lock(&self.state);
        f.debug_struct("Notify")
            .field("permit", &state.permit)
            .field("waiting", &!state.waiters.is_empty())
            .finish()
    }
}

/// The future returned by [`Notify::notified`]. Completes once this task is notified.
///
/// It is `Unpin` (no intrusive list), so it can be polled by `&mut` and moved freely.
#[must_use = "futures do nothing unless polled"]
pub struct Notified<'a> {
    notify: &'a Notify,
    stage: Stage,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// Not registered yet; `waiters_calls` as seen at creation.
    Init {
        waiters_calls: usize,
    },
    /// Queued (or already marked notified) under this key.
    Waiting(Key),
    Done,
}

impl Notified<'_> {
    /// Registers this future as a waiter now, without waiting for its first poll, so that a
    /// later `notify_one` can pick it. Returns `true` if it is already notified (then the next
    /// poll completes at once). Calling it again is harmless.
    ///
    /// This closes the gap of "check a condition, then wait": enable, check, then await.
    ///
    /// ```
    /// use spindle::sync::Notify;
    /// use std::pin::pin;
    /// spindle::run(async {
    ///     let notify = Notify::new();
    ///     let mut notified = pin!(notify.notified());
    ///     assert!(!notified.as_mut().enable()); // queued, not notified
    ///     notify.notify_one();                  // goes to this waiter, not to a permit
    ///     notified.await;
    /// });
    /// ```
    pub fn enable(self: Pin<&mut Self>) -> bool {
        let this = self.get_mut();
        this.poll_notified(None).is_notified()
    }

    /// The state transition shared by `poll` and `enable`: `Ready` when notified.
    fn poll_notified(&mut self, waker: Option<&Waker>) -> Progress {
        let mut state = crate::loom::lock(&self.notify.state);
        match self.stage {
            Stage::Init { waiters_calls } => {
                // SeqCst: see `Notify::notified`.
                if self.notify.waiters_calls.load(Ordering::SeqCst) != waiters_calls {
                    self.stage = Stage::Done;
                    return Progress::Notified;
                }
                if std::mem::take(&mut state.permit) {
                    self.stage = Stage::Done;
                    return Progress::Notified;
                }
                let key = state.waiters.push_back(Waiter {
                    waker: waker.cloned(),
                    notified: None,
                });
                self.stage = Stage::Waiting(key);
                Progress::Waiting
            }
            Stage::Waiting(key) => {
                let waiter = state.waiters.get_mut(key);
                if waiter.notified.is_some() {
                    if waker.is_some() {
                        state.waiters.remove(key);
                        self.stage = Stage::Done;
                        Progress::Notified
                    } else {
                        // `enable` on a notified waiter: keep the slot for the poll to consume.
                        Progress::NotifiedKept
                    }
                } else {
                    if let Some(waker) = waker {
                        match &mut waiter.waker {
                            Some(old) if old.will_wake(waker) => {}
                            slot => *slot = Some(waker.clone()),
                        }
                    }
                    Progress::Waiting
                }
            }
            Stage::Done => Progress::Notified,
        }
    }
}

enum Progress {
    Waiting,
    Notified,
    /// Notified, the slot still held (only from `enable`).
    NotifiedKept,
}

impl Progress {
    fn is_notified(&self) -> bool {
        !matches!(self, Progress::Waiting)
    }
}

impl Future for Notified<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match self.get_mut().poll_notified(Some(cx.waker())) {
            Progress::Waiting => Poll::Pending,
            Progress::Notified | Progress::NotifiedKept => Poll::Ready(()),
        }
    }
}

impl Drop for Notified<'_> {
    fn drop(&mut self) {
        let Stage::Waiting(key) = self.stage else {
            return;
        };
        let waker = {
            let mut state = crate::loom::lock(&self.notify.state);
            let waiter = state.waiters.remove(key);
            // A `notify_one` handed to a future that will never complete goes to the next
            // waiter (or becomes the permit): it must not be lost.
            match waiter.notified {
                Some(Notification::One) => state.notify(Notification::One, false),
                Some(Notification::All) | None => None,
            }
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl fmt::Debug for Notified<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notified")
            .field("stage", &self.stage)
            .finish()
    }
}
