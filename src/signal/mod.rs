//! Asynchronous signal handling, delivered through the runtime's reactor: [`ctrl_c`] and
//! [`unix::signal`].
//!
//! How a signal travels (no thread, no task of its own):
//!
//! 1. the first listener of a signal number installs a handler (with `signal-hook-registry`,
//!    which chains any handler installed before it). The handler is async-signal-safe: it bumps
//!    a per-signal counter and writes one byte to a non-blocking, process-wide self-pipe;
//! 2. every runtime that has listeners registers a dup of the pipe's read end with its reactor,
//!    exactly like a socket. An idle worker blocked in `epoll_wait` wakes up on the byte;
//! 3. the registration's waker drains the pipe and wakes every listener whose signal's counter
//!    moved; each listener compares the counter with the value it last reported.
//!
//! So a delivery is never lost: a [`Signal`](unix::Signal) created before the signal arrived
//! sees it at its next `recv`, even if nobody was waiting at the time (several deliveries in
//! between coalesce into one, as in tokio). Several listeners of one kind all see it.
//!
//! The handler stays installed until the process exits, replacing the signal's default action:
//! once something listens for `SIGINT`, Ctrl-C no longer terminates the process by itself.
//!
//! ```
//! use spindle::signal::unix::{SignalKind, signal};
//!
//! spindle::run(async {
//!     let mut term = signal(SignalKind::terminate()).unwrap();
//!     // Pretend a service manager asked us to stop.
//!     // SAFETY: `getpid` and `kill` have no preconditions; the handler is installed.
//!     unsafe { libc::kill(libc::getpid(), libc::SIGTERM) };
//!     term.recv().await.unwrap();
//!     println!("shutting down gracefully");
//! });
//! ```

mod driver;
mod registry;
pub mod unix;

use std::io;

/// Waits for the next Ctrl-C (`SIGINT`).
///
/// The handler is installed when the returned future is first polled; a Ctrl-C that arrives
/// before that is not seen by this call (create a [`unix::signal`] listener up front if that
/// matters). From then on `SIGINT` no longer ends the process by itself.
///
/// # Errors
///
/// Outside a spindle runtime, when the handler cannot be installed, or when the runtime shuts
/// down while waiting.
///
/// A server's graceful shutdown:
///
/// ```no_run
/// spindle::run(async {
///     let server = spindle::spawn(async { /* accept loop */ });
///     spindle::signal::ctrl_c().await.expect("listen for Ctrl-C");
///     println!("Ctrl-C: stopping");
///     server.abort();
/// });
/// ```
///
/// Checked without a terminal by raising `SIGINT` once the listener is in place:
///
/// ```
/// spindle::run(async {
///     let mut ctrl_c = std::pin::pin!(spindle::signal::ctrl_c());
///     // The first poll installs the handler and starts listening (nothing delivered yet).
///     assert!(futures_lite::future::poll_once(&mut ctrl_c).await.is_none());
///     // SAFETY: `raise` has no preconditions; the SIGINT handler is installed now.
///     unsafe { libc::raise(libc::SIGINT) };
///     ctrl_c.await.unwrap();
/// });
/// ```
pub async fn ctrl_c() -> io::Result<()> {
    let mut interrupt = unix::signal(unix::SignalKind::interrupt())?;
    interrupt
        .recv()
        .await
        .ok_or_else(|| io::Error::other("the spindle runtime shut down while waiting for Ctrl-C"))
}
