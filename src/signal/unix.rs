//! Unix signals as async streams of deliveries: [`signal`] → [`Signal`], one per listener.

use super::driver::Driver;
use super::registry;
use crate::loom::sync::Arc;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::task::{Context, Poll};

/// A Unix signal number, with constructors for the usual ones.
///
/// ```
/// use spindle::signal::unix::SignalKind;
///
/// assert_eq!(SignalKind::interrupt().as_raw_value(), libc::SIGINT);
/// assert_eq!(SignalKind::from_raw(libc::SIGUSR1), SignalKind::user_defined1());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SignalKind(libc::c_int);

impl SignalKind {
    /// Any signal number. Numbers that cannot be listened for are refused by [`signal`].
    ///
    /// ```
    /// use spindle::signal::unix::SignalKind;
    ///
    /// let kind = SignalKind::from_raw(libc::SIGRTMIN() + 1);
    /// assert_eq!(kind.as_raw_value(), libc::SIGRTMIN() + 1);
    /// ```
    pub const fn from_raw(signum: libc::c_int) -> SignalKind {
        SignalKind(signum)
    }

    /// The signal number.
    ///
    /// ```
    /// use spindle::signal::unix::SignalKind;
    ///
    /// assert_eq!(SignalKind::terminate().as_raw_value(), libc::SIGTERM);
    /// ```
    pub const fn as_raw_value(&self) -> libc::c_int {
        self.0
    }

    /// `SIGINT`: the terminal's interrupt key (Ctrl-C).
    ///
    /// ```
    /// assert_eq!(spindle::signal::unix::SignalKind::interrupt().as_raw_value(), libc::SIGINT);
    /// ```
    pub const fn interrupt() -> SignalKind {
        SignalKind(libc::SIGINT)
    }

    /// `SIGTERM`: a polite request to terminate (what `kill` and service managers send).
    ///
    /// ```
    /// assert_eq!(spindle::signal::unix::SignalKind::terminate().as_raw_value(), libc::SIGTERM);
    /// ```
    pub const fn terminate() -> SignalKind {
        SignalKind(libc::SIGTERM)
    }

    /// `SIGHUP`: the terminal hung up; daemons use it as "reload your configuration".
    ///
    /// ```
    /// assert_eq!(spindle::signal::unix::SignalKind::hangup().as_raw_value(), libc::SIGHUP);
    /// ```
    pub const fn hangup() -> SignalKind {
        SignalKind(libc::SIGHUP)
    }

    /// `SIGQUIT`: the terminal's quit key (Ctrl-\\).
    ///
    /// ```
    /// assert_eq!(spindle::signal::unix::SignalKind::quit().as_raw_value(), libc::SIGQUIT);
    /// ```
    pub const fn quit() -> SignalKind {
        SignalKind(libc::SIGQUIT)
    }

    /// `SIGUSR1`, free for applications.
    ///
    /// ```
    /// assert_eq!(spindle::signal::unix::SignalKind::user_defined1().as_raw_value(), libc::SIGUSR1);
    /// ```
    pub const fn user_defined1() -> SignalKind {
        SignalKind(libc::SIGUSR1)
    }

    /// `SIGUSR2`, free for applications.
    ///
    /// ```
    /// assert_eq!(spindle::signal::unix::SignalKind::user_defined2().as_raw_value(), libc::SIGUSR2);
    /// ```
    pub const fn user_defined2() -> SignalKind {
        SignalKind(libc::SIGUSR2)
    }

    /// `SIGCHLD`: a child process exited, stopped or continued.
    ///
    /// ```
    /// assert_eq!(spindle::signal::unix::SignalKind::child().as_raw_value(), libc::SIGCHLD);
    /// ```
    pub const fn child() -> SignalKind {
        SignalKind(libc::SIGCHLD)
    }

    /// `SIGPIPE`: a write to a pipe or socket with no reader (Rust programs ignore it by default;
    /// listening for it replaces that).
    ///
    /// ```
    /// assert_eq!(spindle::signal::unix::SignalKind::pipe().as_raw_value(), libc::SIGPIPE);
    /// ```
    pub const fn pipe() -> SignalKind {
        SignalKind(libc::SIGPIPE)
    }

    /// `SIGALRM`: a timer set with `alarm(2)` or `setitimer(2)` expired.
    ///
    /// ```
    /// assert_eq!(spindle::signal::unix::SignalKind::alarm().as_raw_value(), libc::SIGALRM);
    /// ```
    pub const fn alarm() -> SignalKind {
        SignalKind(libc::SIGALRM)
    }

    /// `SIGWINCH`: the terminal window changed size.
    ///
    /// ```
    /// assert_eq!(spindle::signal::unix::SignalKind::window_change().as_raw_value(), libc::SIGWINCH);
    /// ```
    pub const fn window_change() -> SignalKind {
        SignalKind(libc::SIGWINCH)
    }

    /// `SIGIO`: asynchronous I/O is possible on a descriptor set up for it.
    ///
    /// ```
    /// assert_eq!(spindle::signal::unix::SignalKind::io().as_raw_value(), libc::SIGIO);
    /// ```
    pub const fn io() -> SignalKind {
        SignalKind(libc::SIGIO)
    }
}

impl From<libc::c_int> for SignalKind {
    fn from(signum: libc::c_int) -> SignalKind {
        SignalKind(signum)
    }
}

impl From<SignalKind> for libc::c_int {
    fn from(kind: SignalKind) -> libc::c_int {
        kind.0
    }
}

impl fmt::Debug for SignalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SignalKind").field(&self.0).finish()
    }
}

/// A listener for one kind of signal, created by [`signal`].
///
/// Every delivery of the signal after the listener was created makes its next
/// [`recv`](Signal::recv) return `Some(())`; deliveries that arrive while nobody waits are kept
/// (several of them coalesce into one). Several listeners of the same kind each see every
/// delivery. `recv` returns `None` once the runtime the listener was created in has shut down.
///
/// ```
/// use spindle::signal::unix::{SignalKind, signal};
///
/// spindle::run(async {
///     let mut usr2 = signal(SignalKind::user_defined2()).unwrap();
///     // SAFETY: `raise` has no preconditions; the handler is installed, so the process lives.
///     unsafe { libc::raise(libc::SIGUSR2) };
///     assert_eq!(usr2.recv().await, Some(()));
/// });
/// ```
pub struct Signal {
    kind: SignalKind,
    /// This listener's entry in its signal's waiter list.
    key: usize,
    /// The delivery count this listener has reported.
    seen: usize,
    driver: Arc<Driver>,
}

/// Starts listening for `kind` on the current runtime's reactor.
///
/// The first listener of a signal number installs a process-wide handler (kept until the
/// process exits), which replaces the signal's default action: after `signal(interrupt())`,
/// Ctrl-C no longer ends the process, it is delivered to listeners.
///
/// # Errors
///
/// * `InvalidInput` for `SIGKILL`, `SIGSTOP` (they cannot be caught), `SIGSEGV`, `SIGILL`,
///   `SIGFPE`, `SIGBUS` (returning from their handler is undefined behaviour) and for numbers
///   that are not signals;
/// * an error naming the fix when called outside a spindle runtime, or after the runtime shut
///   down;
/// * the OS's error if the handler cannot be installed.
///
/// ```
/// use spindle::signal::unix::{SignalKind, signal};
///
/// spindle::run(async {
///     let mut hup = signal(SignalKind::hangup()).unwrap();
///     // SAFETY: `getpid` and `kill` have no preconditions; the handler is installed.
///     unsafe { libc::kill(libc::getpid(), libc::SIGHUP) };
///     hup.recv().await.unwrap();
///
///     let err = signal(SignalKind::from_raw(libc::SIGKILL)).unwrap_err();
///     assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
/// });
/// ```
pub fn signal(kind: SignalKind) -> io::Result<Signal> {
    let signum = kind.0;
    registry::check(signum)?;
    let reactor = crate::runtime::context::reactor().ok_or_else(|| {
        io::Error::other(
            "spindle::signal must be called inside a spindle runtime (inside `spindle::run`, \
             `Runtime::block_on`, a spawned task, or under `Handle::enter`): signals are \
             delivered through the runtime's reactor",
        )
    })?;
    let driver = Driver::get(reactor)?;
    registry::install(signum)?;
    let key = registry::add_waiter(signum);
    Ok(Signal {
        kind,
        key,
        seen: registry::generation(signum),
        driver,
    })
}

impl Signal {
    /// Waits for the next delivery of the signal: `Some(())`, or `None` once the runtime this
    /// listener belongs to has shut down. Cancel-safe: dropping the future loses nothing.
    ///
    /// ```
    /// use spindle::signal::unix::{SignalKind, signal};
    ///
    /// spindle::run(async {
    ///     let mut usr1 = signal(SignalKind::user_defined1()).unwrap();
    ///     for _ in 0..2 {
    ///         // SAFETY: `raise` has no preconditions; the handler is installed.
    ///         unsafe { libc::raise(libc::SIGUSR1) };
    ///         assert_eq!(usr1.recv().await, Some(()));
    ///     }
    /// });
    /// ```
    pub async fn recv(&mut self) -> Option<()> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// The poll form of [`recv`](Signal::recv): `Ready(Some(()))` if the signal was delivered
    /// since the last time this listener reported it, `Ready(None)` once the runtime has shut
    /// down, otherwise `Pending` (and `cx`'s waker is woken on the next delivery).
    ///
    /// ```
    /// use spindle::signal::unix::{SignalKind, signal};
    /// use std::future::poll_fn;
    /// use std::task::Poll;
    ///
    /// spindle::run(async {
    ///     let mut winch = signal(SignalKind::window_change()).unwrap();
    ///     // Nothing delivered yet.
    ///     poll_fn(|cx| {
    ///         assert!(winch.poll_recv(cx).is_pending());
    ///         Poll::Ready(())
    ///     })
    ///     .await;
    ///     // SAFETY: `raise` has no preconditions; the handler is installed.
    ///     unsafe { libc::raise(libc::SIGWINCH) };
    ///     assert_eq!(poll_fn(|cx| winch.poll_recv(cx)).await, Some(()));
    /// });
    /// ```
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<()>> {
        if let Some(ready) = self.check() {
            return Poll::Ready(ready);
        }
        registry::set_waker(self.kind.0, self.key, cx.waker());
        // Re-check after storing the waker: a broadcast that took the wakers before ours was
        // stored read the counter first, so we see its delivery now.
        match self.check() {
            Some(ready) => Poll::Ready(ready),
            None => Poll::Pending,
        }
    }

    fn check(&mut self) -> Option<Option<()>> {
        let now = registry::generation(self.kind.0);
        if now != self.seen {
            self.seen = now;
            Some(Some(()))
        } else if self.driver.is_closed() {
            Some(None)
        } else {
            None
        }
    }
}

impl Drop for Signal {
    fn drop(&mut self) {
        registry::remove_waiter(self.kind.0, self.key);
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signal")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}
