//! A spawned child process: its pipes, its exit (observed on the reactor, see `exit`), `kill`,
//! and what happens when it is dropped (see `orphan`).

use super::exit::ExitWatch;
use super::orphan;
use super::pipes::{ChildStderr, ChildStdin, ChildStdout};
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::process::{ExitStatus, Output};
use std::task::{Context, Poll};

/// A child process spawned by [`Command::spawn`](super::Command::spawn).
///
/// Its pipes are the public fields (`Some` when the command asked for [`Stdio::piped`]); take
/// them out to use them from other tasks. Its exit is observed on the runtime's reactor
/// ([`wait`](Child::wait)), without a thread per child.
///
/// **Dropping a `Child` does not wait for the process** (as with `std` and tokio): the process
/// keeps running, or is killed first if [`kill_on_drop`](super::Command::kill_on_drop) was set,
/// and spindle reaps it when it exits — also after every runtime is gone — so it never lingers
/// as a zombie.
///
/// [`Stdio::piped`]: super::Stdio::piped
///
/// ```
/// use spindle::process::Command;
///
/// spindle::run(async {
///     let mut child = Command::new("sh").args(["-c", "exit 7"]).spawn().unwrap();
///     assert!(child.id().is_some());
///     let status = child.wait().await.unwrap();
///     assert_eq!(status.code(), Some(7));
///     assert_eq!(child.id(), None); // reaped
/// });
/// ```
pub struct Child {
    /// The write end of the child's stdin, if it was [`piped`](super::Stdio::piped).
    pub stdin: Option<ChildStdin>,
    /// The read end of the child's stdout, if it was [`piped`](super::Stdio::piped).
    pub stdout: Option<ChildStdout>,
    /// The read end of the child's stderr, if it was [`piped`](super::Stdio::piped).
    pub stderr: Option<ChildStderr>,
    state: State,
    kill_on_drop: bool,
}

enum State {
    Running {
        child: std::process::Child,
        exit: ExitWatch,
    },
    /// Reaped: the pid is free for reuse and must not be signalled any more.
    Exited(ExitStatus),
}

impl Child {
    pub(crate) fn new(
        child: std::process::Child,
        exit: ExitWatch,
        pipes: (Option<ChildStdin>, Option<ChildStdout>, Option<ChildStderr>),
        kill_on_drop: bool,
    ) -> Child {
        Child {
            stdin: pipes.0,
            stdout: pipes.1,
            stderr: pipes.2,
            state: State::Running { child, exit },
            kill_on_drop,
        }
    }

    /// The OS process id, or `None` once the child has been reaped (by `wait` or a `try_wait`
    /// that saw it exit): from then on the id may belong to another process.
    ///
    /// ```
    /// use spindle::process::Command;
    ///
    /// spindle::run(async {
    ///     let mut child = Command::new("true").spawn().unwrap();
    ///     let pid = child.id().unwrap();
    ///     assert!(pid > 0);
    ///     child.wait().await.unwrap();
    ///     assert_eq!(child.id(), None);
    /// });
    /// ```
    pub fn id(&self) -> Option<u32> {
        match &self.state {
            State::Running { child, .. } => Some(child.id()),
            State::Exited(_) => None,
        }
    }

    /// Waits for the child to exit and returns its status; the child is reaped.
    ///
    /// Closes [`stdin`](Child::stdin) first (drops it, if it is still here), so a child that
    /// reads its input to the end can finish — as tokio does. Cancel-safe: dropping the future
    /// loses nothing, and calling `wait` again after the exit returns the same status.
    ///
    /// Waiting needs the runtime the child was spawned on, or, once that runtime has shut down,
    /// another runtime to await it from.
    ///
    /// ```
    /// use spindle::process::Command;
    ///
    /// spindle::run(async {
    ///     let mut child = Command::new("sh").args(["-c", "exit 3"]).spawn().unwrap();
    ///     assert_eq!(child.wait().await.unwrap().code(), Some(3));
    ///     assert_eq!(child.wait().await.unwrap().code(), Some(3));
    /// });
    /// ```
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        poll_fn(|cx| self.poll_wait(cx)).await
    }

    fn poll_wait(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<ExitStatus>> {
        match &mut self.state {
            State::Exited(status) => Poll::Ready(Ok(*status)),
            State::Running { child, exit } => match exit.poll_exit(cx, child) {
                Poll::Ready(Ok(status)) => {
                    // Reaped: drop the watch (its pidfd leaves the reactor) and forget the pid.
                    self.state = State::Exited(status);
                    Poll::Ready(Ok(status))
                }
                other => other,
            },
        }
    }

    /// Returns the exit status if the child has exited (reaping it), `None` if it still runs.
    /// Never blocks.
    ///
    /// ```
    /// use spindle::process::Command;
    ///
    /// spindle::run(async {
    ///     let mut child = Command::new("sleep").arg("10").spawn().unwrap();
    ///     assert!(child.try_wait().unwrap().is_none());
    ///     child.kill().unwrap();
    ///     child.wait().await.unwrap();
    ///     assert!(child.try_wait().unwrap().is_some());
    /// });
    /// ```
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        match &mut self.state {
            State::Exited(status) => Ok(Some(*status)),
            State::Running { child, .. } => match child.try_wait()? {
                Some(status) => {
                    self.state = State::Exited(status);
                    Ok(Some(status))
                }
                None => Ok(None),
            },
        }
    }

    /// Sends `SIGKILL` to the child (synchronously; it does not wait for the exit — await
    /// [`wait`](Child::wait) for that, which then reports signal 9). `Ok` if the child has
    /// already exited and been reaped, as with `std`.
    ///
    /// ```
    /// use spindle::process::Command;
    /// use std::os::unix::process::ExitStatusExt;
    ///
    /// spindle::run(async {
    ///     let mut child = Command::new("sleep").arg("10").spawn().unwrap();
    ///     child.kill().unwrap();
    ///     assert_eq!(child.wait().await.unwrap().signal(), Some(9));
    /// });
    /// ```
    pub fn kill(&mut self) -> io::Result<()> {
        match &mut self.state {
            State::Exited(_) => Ok(()),
            // An exited but unreaped child is a zombie: SIGKILL to it succeeds and does nothing.
            State::Running { child, .. } => child.kill(),
        }
    }

    /// The same as [`kill`](Child::kill): sends `SIGKILL` without waiting. (tokio's `kill` is
    /// async and waits; here [`kill`](Child::kill) is `std`'s synchronous one, and this name is
    /// kept for code written against tokio.)
    ///
    /// ```
    /// use spindle::process::Command;
    ///
    /// spindle::run(async {
    ///     let mut child = Command::new("sleep").arg("10").spawn().unwrap();
    ///     child.start_kill().unwrap();
    ///     assert!(!child.wait().await.unwrap().success());
    /// });
    /// ```
    pub fn start_kill(&mut self) -> io::Result<()> {
        self.kill()
    }

    /// Waits for the child to exit while collecting all of its stdout and stderr (both pipes
    /// are read concurrently, so a child that fills one while we read the other cannot
    /// deadlock). Closes stdin first. Pipes that were not [`piped`](super::Stdio::piped) give
    /// empty buffers.
    ///
    /// ```
    /// use spindle::process::{Command, Stdio};
    ///
    /// spindle::run(async {
    ///     let child = Command::new("sh")
    ///         .args(["-c", "echo out; echo err >&2"])
    ///         .stdout(Stdio::piped())
    ///         .stderr(Stdio::piped())
    ///         .spawn()
    ///         .unwrap();
    ///     let output = child.wait_with_output().await.unwrap();
    ///     assert!(output.status.success());
    ///     assert_eq!(output.stdout, b"out\n");
    ///     assert_eq!(output.stderr, b"err\n");
    /// });
    /// ```
    pub async fn wait_with_output(mut self) -> io::Result<Output> {
        drop(self.stdin.take());
        let mut stdout_pipe = self.stdout.take();
        let mut stderr_pipe = self.stderr.take();
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        let (mut out_done, mut err_done) = (false, false);
        poll_fn(|cx| {
            if !out_done {
                out_done = ready_or_err(poll_read_to_end(&mut stdout_pipe, &mut stdout, cx))?;
            }
            if !err_done {
                err_done = ready_or_err(poll_read_to_end(&mut stderr_pipe, &mut stderr, cx))?;
            }
            if out_done && err_done {
                Poll::Ready(Ok::<_, io::Error>(()))
            } else {
                Poll::Pending
            }
        })
        .await?;
        let status = self.wait().await?;
        Ok(Output {
            status,
            stdout,
            stderr,
        })
    }
}

/// `Ok(true)` when `poll` finished, `Ok(false)` when pending, the error otherwise.
fn ready_or_err(poll: Poll<io::Result<()>>) -> Result<bool, io::Error> {
    match poll {
        Poll::Ready(Ok(())) => Ok(true),
        Poll::Ready(Err(err)) => Err(err),
        Poll::Pending => Ok(false),
    }
}

/// The most one read asks for (a pipe holds 64 KiB by default).
const MAX_READ: usize = 64 * 1024;
/// The least one read asks for.
const MIN_READ: usize = 1024;

/// Reads `pipe` to its end into `buf`; `pipe` becomes `None` (closed) at the end.
fn poll_read_to_end<R: futures_io::AsyncRead + Unpin>(
    pipe: &mut Option<R>,
    buf: &mut Vec<u8>,
    cx: &mut Context<'_>,
) -> Poll<io::Result<()>> {
    let Some(reader) = pipe else {
        return Poll::Ready(Ok(()));
    };
    loop {
        let start = buf.len();
        // Ask for about as much as we already have (between 1 and 64 KiB): the zeroing of the
        // read area stays proportional to the data, so a short output costs a few KiB of
        // memset per read, not 64 KiB.
        let chunk = start.clamp(MIN_READ, MAX_READ);
        buf.reserve(chunk);
        buf.resize(start + chunk, 0);
        let poll = Pin::new(&mut *reader).poll_read(cx, &mut buf[start..]);
        let filled = match &poll {
            Poll::Ready(Ok(n)) => *n,
            _ => 0,
        };
        buf.truncate(start + filled);
        match poll {
            Poll::Ready(Ok(0)) => {
                *pipe = None;
                return Poll::Ready(Ok(()));
            }
            Poll::Ready(Ok(_)) => {}
            Poll::Ready(Err(err)) if err.kind() == io::ErrorKind::Interrupted => {}
            Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
            Poll::Pending => return Poll::Pending,
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let State::Running { child, .. } = &mut self.state else {
            return;
        };
        if self.kill_on_drop {
            // An error means it is already gone (ESRCH cannot happen for an unreaped child).
            let _ = child.kill();
        }
        match child.try_wait() {
            Ok(Some(_)) => {}
            // Still running (or just killed and not dead yet): the orphan reaper takes it.
            _ => orphan::adopt(child.id()),
        }
    }
}

impl fmt::Debug for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Child");
        match &self.state {
            State::Running { child, .. } => d.field("pid", &child.id()),
            State::Exited(status) => d.field("status", status),
        };
        d.field("stdin", &self.stdin)
            .field("stdout", &self.stdout)
            .field("stderr", &self.stderr)
            .field("kill_on_drop", &self.kill_on_drop)
            .finish()
    }
}

#[cfg(test)]
impl Child {
    pub(crate) fn uses_pidfd(&self) -> Option<bool> {
        match &self.state {
            State::Running { exit, .. } => Some(exit.is_pidfd()),
            State::Exited(_) => None,
        }
    }
}
