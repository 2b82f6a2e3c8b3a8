//! `Command`: `std::process::Command`'s builder plus `kill_on_drop`, spawning onto the reactor.

use super::Child;
use super::exit::{ExitWatch, Mode};
use super::orphan;
use super::pipes::{ChildStderr, ChildStdin, ChildStdout};
use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{CommandArgs, CommandEnvs, ExitStatus, Output, Stdio};

/// A process builder, with the methods of [`std::process::Command`] and the same defaults,
/// plus [`kill_on_drop`](Command::kill_on_drop); [`spawn`](Command::spawn) registers the
/// child's pipes and exit with the current runtime's reactor.
///
/// ```
/// use spindle::process::Command;
///
/// spindle::run(async {
///     let output = Command::new("sh").args(["-c", "echo hi; exit 3"]).output().await.unwrap();
///     assert_eq!(output.stdout, b"hi\n");
///     assert_eq!(output.status.code(), Some(3));
/// });
/// ```
pub struct Command {
    std: std::process::Command,
    kill_on_drop: bool,
    /// Whether stdin / stdout / stderr were configured through this builder (so `output` and
    /// `status` know which defaults to apply, as std does).
    stdio_set: [bool; 3],
    mode: Mode,
}

impl Command {
    /// A command for `program`, looked up in `PATH` when it has no `/`, as in std.
    ///
    /// ```
    /// let cmd = spindle::process::Command::new("ls");
    /// assert_eq!(cmd.get_program(), "ls");
    /// ```
    pub fn new<S: AsRef<OsStr>>(program: S) -> Command {
        Command::from(std::process::Command::new(program))
    }

    /// Adds an argument.
    ///
    /// ```
    /// let mut cmd = spindle::process::Command::new("ls");
    /// cmd.arg("-l").arg("/tmp");
    /// assert_eq!(cmd.get_args().collect::<Vec<_>>(), ["-l", "/tmp"]);
    /// ```
    pub fn arg<S: AsRef<OsStr>>(&mut self, arg: S) -> &mut Command {
        self.std.arg(arg);
        self
    }

    /// Adds several arguments.
    ///
    /// ```
    /// let mut cmd = spindle::process::Command::new("ls");
    /// cmd.args(["-l", "-a"]);
    /// assert_eq!(cmd.get_args().count(), 2);
    /// ```
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.std.args(args);
        self
    }

    /// Sets an environment variable for the child.
    ///
    /// ```
    /// spindle::run(async {
    ///     let out = spindle::process::Command::new("sh")
    ///         .args(["-c", "echo $GREETING"])
    ///         .env("GREETING", "hello")
    ///         .output()
    ///         .await
    ///         .unwrap();
    ///     assert_eq!(out.stdout, b"hello\n");
    /// });
    /// ```
    pub fn env<K, V>(&mut self, key: K, val: V) -> &mut Command
    where
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.std.env(key, val);
        self
    }

    /// Sets several environment variables.
    ///
    /// ```
    /// let mut cmd = spindle::process::Command::new("env");
    /// cmd.envs([("A", "1"), ("B", "2")]);
    /// assert_eq!(cmd.get_envs().count(), 2);
    /// ```
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.std.envs(vars);
        self
    }

    /// Removes an environment variable from the child's environment.
    ///
    /// ```
    /// let mut cmd = spindle::process::Command::new("env");
    /// cmd.env_remove("HOME");
    /// assert_eq!(cmd.get_envs().next(), Some((std::ffi::OsStr::new("HOME"), None)));
    /// ```
    pub fn env_remove<K: AsRef<OsStr>>(&mut self, key: K) -> &mut Command {
        self.std.env_remove(key);
        self
    }

    /// Clears the child's environment (it inherits nothing from this process).
    ///
    /// ```
    /// spindle::run(async {
    ///     let out = spindle::process::Command::new("/usr/bin/env").env_clear().env("ONLY", "me")
    ///         .output().await.unwrap();
    ///     assert_eq!(out.stdout, b"ONLY=me\n");
    /// });
    /// ```
    pub fn env_clear(&mut self) -> &mut Command {
        self.std.env_clear();
        self
    }

    /// Sets the child's working directory.
    ///
    /// ```
    /// spindle::run(async {
    ///     let out = spindle::process::Command::new("pwd").current_dir("/").output().await.unwrap();
    ///     assert_eq!(out.stdout, b"/\n");
    /// });
    /// ```
    pub fn current_dir<P: AsRef<Path>>(&mut self, dir: P) -> &mut Command {
        self.std.current_dir(dir);
        self
    }

    /// Configures the child's stdin: [`Stdio::piped`] makes [`Child::stdin`] a
    /// [`ChildStdin`]. Default: inherited for `spawn` and `status`, null for `output`.
    ///
    /// ```
    /// use spindle::process::{Command, Stdio};
    ///
    /// spindle::run(async {
    ///     let mut child = Command::new("cat").stdin(Stdio::piped()).spawn().unwrap();
    ///     assert!(child.stdin.is_some());
    ///     child.wait().await.unwrap(); // closes stdin: cat ends
    /// });
    /// ```
    pub fn stdin<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.std.stdin(cfg);
        self.stdio_set[0] = true;
        self
    }

    /// Configures the child's stdout: [`Stdio::piped`] makes [`Child::stdout`] a
    /// [`ChildStdout`]. Default: inherited for `spawn` and `status`, piped for `output`.
    ///
    /// ```
    /// use spindle::process::{Command, Stdio};
    ///
    /// spindle::run(async {
    ///     let out = Command::new("echo").arg("quiet").stdout(Stdio::null()).output().await.unwrap();
    ///     assert!(out.stdout.is_empty());
    /// });
    /// ```
    pub fn stdout<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.std.stdout(cfg);
        self.stdio_set[1] = true;
        self
    }

    /// Configures the child's stderr: [`Stdio::piped`] makes [`Child::stderr`] a
    /// [`ChildStderr`]. Default: inherited for `spawn` and `status`, piped for `output`.
    ///
    /// ```
    /// use spindle::process::{Command, Stdio};
    ///
    /// spindle::run(async {
    ///     let status = Command::new("sh").args(["-c", "echo hidden >&2"])
    ///         .stderr(Stdio::null()).status().await.unwrap();
    ///     assert!(status.success());
    /// });
    /// ```
    pub fn stderr<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.std.stderr(cfg);
        self.stdio_set[2] = true;
        self
    }

    /// Kill the child (`SIGKILL`) when its [`Child`] is dropped before it was reaped — also
    /// when the task holding it is cancelled or its runtime shuts down. Default `false`: the
    /// child keeps running (and is reaped when it exits).
    ///
    /// ```
    /// use spindle::process::Command;
    ///
    /// spindle::run(async {
    ///     let child = Command::new("sleep").arg("60").kill_on_drop(true).spawn().unwrap();
    ///     drop(child); // sleep is killed (and reaped) now, not in a minute
    /// });
    /// ```
    pub fn kill_on_drop(&mut self, kill_on_drop: bool) -> &mut Command {
        self.kill_on_drop = kill_on_drop;
        self
    }

    /// Whether [`kill_on_drop`](Command::kill_on_drop) is set.
    ///
    /// ```
    /// let mut cmd = spindle::process::Command::new("true");
    /// assert!(!cmd.get_kill_on_drop());
    /// assert!(cmd.kill_on_drop(true).get_kill_on_drop());
    /// ```
    pub fn get_kill_on_drop(&self) -> bool {
        self.kill_on_drop
    }

    /// The program, as given to [`new`](Command::new).
    ///
    /// ```
    /// assert_eq!(spindle::process::Command::new("echo").get_program(), "echo");
    /// ```
    pub fn get_program(&self) -> &OsStr {
        self.std.get_program()
    }

    /// The arguments (without the program).
    ///
    /// ```
    /// let mut cmd = spindle::process::Command::new("echo");
    /// cmd.args(["a", "b"]);
    /// assert_eq!(cmd.get_args().collect::<Vec<_>>(), ["a", "b"]);
    /// ```
    pub fn get_args(&self) -> CommandArgs<'_> {
        self.std.get_args()
    }

    /// The environment changes: `(key, Some(value))` set, `(key, None)` removed.
    ///
    /// ```
    /// let mut cmd = spindle::process::Command::new("env");
    /// cmd.env("K", "V");
    /// let envs: Vec<_> = cmd.get_envs().collect();
    /// assert_eq!(envs, [(std::ffi::OsStr::new("K"), Some(std::ffi::OsStr::new("V")))]);
    /// ```
    pub fn get_envs(&self) -> CommandEnvs<'_> {
        self.std.get_envs()
    }

    /// The working directory set with [`current_dir`](Command::current_dir), if any.
    ///
    /// ```
    /// let mut cmd = spindle::process::Command::new("ls");
    /// assert_eq!(cmd.get_current_dir(), None);
    /// cmd.current_dir("/tmp");
    /// assert_eq!(cmd.get_current_dir(), Some(std::path::Path::new("/tmp")));
    /// ```
    pub fn get_current_dir(&self) -> Option<&Path> {
        self.std.get_current_dir()
    }

    /// Runs the child as user `id` (`setuid`; needs the privilege to do so).
    ///
    /// ```
    /// // SAFETY: `getuid` has no preconditions.
    /// let me = unsafe { libc::getuid() };
    /// spindle::run(async {
    ///     let out = spindle::process::Command::new("id").arg("-u").uid(me).output().await.unwrap();
    ///     assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), me.to_string());
    /// });
    /// ```
    pub fn uid(&mut self, id: u32) -> &mut Command {
        self.std.uid(id);
        self
    }

    /// Runs the child as group `id` (`setgid`; needs the privilege to do so).
    ///
    /// ```
    /// // SAFETY: `getgid` has no preconditions.
    /// let group = unsafe { libc::getgid() };
    /// spindle::run(async {
    ///     let out = spindle::process::Command::new("id").arg("-g").gid(group).output().await.unwrap();
    ///     assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), group.to_string());
    /// });
    /// ```
    pub fn gid(&mut self, id: u32) -> &mut Command {
        self.std.gid(id);
        self
    }

    /// Puts the child in process group `pgroup` (0: a new group led by the child), so that
    /// for example a terminal's Ctrl-C does not reach it.
    ///
    /// ```
    /// spindle::run(async {
    ///     // Field 5 of /proc/PID/stat is the process group.
    ///     let script = "echo $$; cut -d' ' -f5 /proc/$$/stat";
    ///     let out = spindle::process::Command::new("sh").args(["-c", script])
    ///         .process_group(0).output().await.unwrap();
    ///     let text = String::from_utf8(out.stdout).unwrap();
    ///     let mut lines = text.lines().map(str::trim);
    ///     assert_eq!(lines.next(), lines.next()); // its own group: pgid == pid
    /// });
    /// ```
    pub fn process_group(&mut self, pgroup: i32) -> &mut Command {
        self.std.process_group(pgroup);
        self
    }

    /// Sets the child's `argv[0]` (what it sees as its own name); the program run is still
    /// the one given to [`new`](Command::new).
    ///
    /// ```
    /// spindle::run(async {
    ///     let out = spindle::process::Command::new("sh").arg0("renamed").args(["-c", "echo $0"])
    ///         .output().await.unwrap();
    ///     assert_eq!(out.stdout, b"renamed\n");
    /// });
    /// ```
    pub fn arg0<S: AsRef<OsStr>>(&mut self, arg: S) -> &mut Command {
        self.std.arg0(arg);
        self
    }

    /// Runs `f` in the child after `fork` and before `exec` (see
    /// [`std::os::unix::process::CommandExt::pre_exec`]).
    ///
    /// # Safety
    ///
    /// As for std: `f` runs in a copy of this process with only the forking thread, so it may
    /// only use async-signal-safe functions (no allocation, no locks held by other threads).
    ///
    /// ```
    /// spindle::run(async {
    ///     let mut cmd = spindle::process::Command::new("sh");
    ///     cmd.args(["-c", "umask"]);
    ///     // SAFETY: `umask` is async-signal-safe and the closure allocates nothing.
    ///     unsafe {
    ///         cmd.pre_exec(|| {
    ///             libc::umask(0o077);
    ///             Ok(())
    ///         });
    ///     }
    ///     assert_eq!(cmd.output().await.unwrap().stdout, b"0077\n");
    /// });
    /// ```
    pub unsafe fn pre_exec<F>(&mut self, f: F) -> &mut Command
    where
        F: FnMut() -> io::Result<()> + Send + Sync + 'static,
    {
        // SAFETY: the caller upholds `pre_exec`'s contract (documented above, as std's).
        unsafe { self.std.pre_exec(f) };
        self
    }

    /// The underlying `std` command.
    ///
    /// ```
    /// let cmd = spindle::process::Command::new("ls");
    /// assert_eq!(cmd.as_std().get_program(), "ls");
    /// ```
    pub fn as_std(&self) -> &std::process::Command {
        &self.std
    }

    /// The underlying `std` command, for settings this type has no method for. (Stdio set
    /// there is not seen by `output`'s defaults: set it here to be sure.)
    ///
    /// ```
    /// let mut cmd = spindle::process::Command::new("ls");
    /// cmd.as_std_mut().arg("-l");
    /// assert_eq!(cmd.get_args().count(), 1);
    /// ```
    pub fn as_std_mut(&mut self) -> &mut std::process::Command {
        &mut self.std
    }

    /// The underlying `std` command.
    ///
    /// ```
    /// let std_cmd = spindle::process::Command::new("ls").into_std();
    /// assert_eq!(std_cmd.get_program(), "ls");
    /// ```
    pub fn into_std(self) -> std::process::Command {
        self.std
    }

    /// Starts the child. Its pipes and its exit are registered with the current runtime's
    /// reactor, so this must run inside a spindle runtime.
    ///
    /// `fork`/`exec` happen on the calling thread, as with std and tokio (well under a
    /// millisecond with std's `posix_spawn`/`vfork` path).
    ///
    /// # Errors
    ///
    /// `NotFound` for a missing program, the OS's error for other spawn failures, and an error
    /// naming the fix outside a runtime (checked before anything is started).
    ///
    /// ```
    /// use spindle::process::Command;
    ///
    /// spindle::run(async {
    ///     let mut child = Command::new("true").spawn().unwrap();
    ///     assert!(child.wait().await.unwrap().success());
    ///     let err = Command::new("/no/such/program").spawn().unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    /// });
    /// ```
    pub fn spawn(&mut self) -> io::Result<Child> {
        let reactor = crate::runtime::context::reactor().ok_or_else(|| {
            io::Error::other(
                "spindle::process::Command::spawn must be called inside a spindle runtime \
                 (inside `spindle::run`, `Runtime::block_on`, a spawned task, or under \
                 `Handle::enter`): the child's pipes and exit are watched by its reactor",
            )
        })?;
        orphan::reap_if_any();
        let mut child = self.std.spawn()?;
        let registered = (|| {
            let stdin = child
                .stdin
                .take()
                .map(|p| ChildStdin::register(reactor.clone(), p))
                .transpose()?;
            let stdout = child
                .stdout
                .take()
                .map(|p| ChildStdout::register(reactor.clone(), p))
                .transpose()?;
            let stderr = child
                .stderr
                .take()
                .map(|p| ChildStderr::register(reactor.clone(), p))
                .transpose()?;
            let exit = ExitWatch::new(reactor, child.id(), self.mode)?;
            Ok::<_, io::Error>((exit, (stdin, stdout, stderr)))
        })();
        match registered {
            Ok((exit, pipes)) => Ok(Child::new(child, exit, pipes, self.kill_on_drop)),
            Err(err) => {
                // The runtime is shutting down (or out of descriptors): do not leave a process
                // nobody can see behind.
                let _ = child.kill();
                if !matches!(child.try_wait(), Ok(Some(_))) {
                    orphan::adopt(child.id());
                }
                Err(err)
            }
        }
    }

    /// Runs the child to completion and collects its output. Unless set on this builder,
    /// stdout and stderr are piped (and captured) and stdin is null, as with std's `output`.
    /// Those defaults stay set on this `Command` afterwards (as in tokio).
    ///
    /// ```
    /// spindle::run(async {
    ///     let out = spindle::process::Command::new("echo").arg("hi").output().await.unwrap();
    ///     assert!(out.status.success());
    ///     assert_eq!(out.stdout, b"hi\n");
    ///     let err = spindle::process::Command::new("/no/such/program").output().await.unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    /// });
    /// ```
    pub async fn output(&mut self) -> io::Result<Output> {
        if !self.stdio_set[0] {
            self.std.stdin(Stdio::null());
        }
        if !self.stdio_set[1] {
            self.std.stdout(Stdio::piped());
        }
        if !self.stdio_set[2] {
            self.std.stderr(Stdio::piped());
        }
        self.spawn()?.wait_with_output().await
    }

    /// Runs the child to completion and returns its exit status. stdio is inherited unless
    /// set; pipes set on this builder are closed right after the spawn, so the child cannot
    /// block on them.
    ///
    /// ```
    /// spindle::run(async {
    ///     let status = spindle::process::Command::new("sh").args(["-c", "exit 4"]).status().await.unwrap();
    ///     assert_eq!(status.code(), Some(4));
    /// });
    /// ```
    pub async fn status(&mut self) -> io::Result<ExitStatus> {
        let mut child = self.spawn()?;
        drop(child.stdin.take());
        drop(child.stdout.take());
        drop(child.stderr.take());
        child.wait().await
    }

    /// Forces the SIGCHLD exit notification (tests keep the fallback exercised with it).
    #[cfg(test)]
    pub(crate) fn force_sigchld(&mut self) -> &mut Command {
        self.mode = Mode::Sigchld;
        self
    }
}

impl From<std::process::Command> for Command {
    /// Wraps a `std` command (whatever it configured is kept; `output` treats its stdio as
    /// not set).
    ///
    /// ```
    /// let mut std_cmd = std::process::Command::new("echo");
    /// std_cmd.arg("wrapped");
    /// spindle::run(async {
    ///     let out = spindle::process::Command::from(std_cmd).output().await.unwrap();
    ///     assert_eq!(out.stdout, b"wrapped\n");
    /// });
    /// ```
    fn from(std: std::process::Command) -> Command {
        Command {
            std,
            kill_on_drop: false,
            stdio_set: [false; 3],
            mode: Mode::Auto,
        }
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.std.fmt(f)?;
        if self.kill_on_drop {
            f.write_str(" (kill_on_drop)")?;
        }
        Ok(())
    }
}
