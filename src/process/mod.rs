//! Child processes on the runtime's reactor: [`Command`], [`Child`] and its pipes
//! ([`ChildStdin`], [`ChildStdout`], [`ChildStderr`]).
//!
//! The API is `std::process`'s, made async: the same builder, `output()` / `status()` and
//! [`Child::wait`] are futures, and piped stdio implements `futures_io::AsyncWrite` /
//! `AsyncRead`. asyncio's `create_subprocess_exec` is `Command::new(prog).args(..).spawn()`,
//! and `create_subprocess_shell(cmd)` is `Command::new("sh").arg("-c").arg(cmd)`.
//!
//! ```
//! use futures_lite::{AsyncBufReadExt, StreamExt, io::BufReader};
//! use spindle::process::{Command, Stdio};
//!
//! spindle::run(async {
//!     // Run to completion and capture everything.
//!     let out = Command::new("sh").args(["-c", "echo hi; exit 3"]).output().await.unwrap();
//!     assert_eq!((out.stdout.as_slice(), out.status.code()), (&b"hi\n"[..], Some(3)));
//!
//!     // Stream a child's output line by line while it runs.
//!     let mut child = Command::new("sh")
//!         .args(["-c", "for i in 1 2 3; do echo line $i; done"])
//!         .stdout(Stdio::piped())
//!         .spawn()
//!         .unwrap();
//!     let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
//!     let mut seen = Vec::new();
//!     while let Some(line) = lines.next().await {
//!         seen.push(line.unwrap());
//!     }
//!     assert_eq!(seen, ["line 1", "line 2", "line 3"]);
//!     assert!(child.wait().await.unwrap().success());
//! });
//! ```
//!
//! # How exits are observed
//!
//! No thread per child and no helper thread: on Linux ≥ 5.3 each child gets a pidfd registered
//! with the reactor of the runtime that spawned it (readable = exited), and its readiness event
//! leads to one `waitpid(pid, WNOHANG)`. Where `pidfd_open` is unavailable (an older kernel, a
//! seccomp sandbox), a child waits for `SIGCHLD` deliveries through [`crate::signal`] — the same
//! reactor, via the signal self-pipe — and re-checks with `waitpid(pid, WNOHANG)` on each.
//!
//! # Zombies: what is guaranteed
//!
//! A child that exited stays a zombie until its parent reaps it. spindle reaps:
//!
//! * on [`Child::wait`], [`Child::wait_with_output`], `output`, `status`, and a
//!   [`Child::try_wait`] that sees the exit;
//! * when a [`Child`] is dropped unreaped — including by task cancellation or runtime shutdown,
//!   and after `kill_on_drop` killed it. Its pid joins a process-global orphan table; the first
//!   orphan installs a `SIGCHLD` action that reaps every exited orphan (`waitpid` is
//!   async-signal-safe). So **an orphan is reaped as soon as it exits, whether or not any
//!   runtime is still alive** — a process started on a runtime that is then dropped never
//!   lingers as a zombie — and the table is also swept on every spawn.
//!
//! At runtime shutdown, tasks are cancelled and drop their `Child`ren: `kill_on_drop` children
//! are killed (and reaped right after by the action above); the others keep running, as with
//! std and tokio, and are reaped when they exit. A `Child` you keep outside any task is yours:
//! it is reaped when you wait for it or drop it; `wait` works from another runtime once its own
//! has shut down.
//!
//! The one thing outside spindle's control: code that sets `SIGCHLD` to `SIG_IGN` (the kernel
//! then reaps every child itself, and waits report an error) or replaces the process's
//! `SIGCHLD` handler without chaining the previous one.

mod child;
mod command;
mod exit;
mod orphan;
mod pipes;
#[cfg(test)]
mod tests;

pub use child::Child;
pub use command::Command;
pub use pipes::{ChildStderr, ChildStdin, ChildStdout};
pub use std::process::{ExitStatus, Output, Stdio};
