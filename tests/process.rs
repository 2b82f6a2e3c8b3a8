//! spindle::process: exact outputs and statuses, pipes on the reactor, kill, try_wait, many
//! children at once, kill_on_drop, and no zombie after wait, drop or runtime shutdown.
//! (The SIGCHLD fallback is forced and tested in `src/process/tests.rs`.)

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use spindle::process::{Command, Stdio};
use spindle::runtime::{Builder, Runtime};
use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

fn runtime() -> Runtime {
    Builder::new()
        .worker_threads(2)
        .compute_threads(1)
        .build()
        .unwrap()
}

/// `(state, ppid, starttime)` of process `pid`, if it exists.
fn stat(pid: u32) -> Option<(String, u32, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid ...": comm may contain spaces, so parse after the last ')'.
    let fields: Vec<&str> = stat[stat.rfind(')')? + 2..].split(' ').collect();
    // After comm: state is field 3 of the file, ppid 4, starttime 22.
    Some((
        fields[0].to_string(),
        fields[1].parse().ok()?,
        fields[19].parse().ok()?,
    ))
}

/// Whether `pid` is a zombie child of this process right now.
fn is_zombie_child(pid: u32) -> bool {
    stat(pid).is_some_and(|(state, ppid, _)| state == "Z" && ppid == std::process::id())
}

/// A process identity that survives pid reuse.
#[derive(Clone, Copy, Debug)]
struct Proc {
    pid: u32,
    started: u64,
}

impl Proc {
    fn of(pid: u32) -> Proc {
        Proc {
            pid,
            started: stat(pid).expect("the child exists until reaped").2,
        }
    }

    /// Gone for good: no such process, or its pid now belongs to a newer one.
    fn is_gone(self) -> bool {
        stat(self.pid).is_none_or(|(_, _, started)| started != self.started)
    }
}

fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within 20 s");
        std::thread::sleep(Duration::from_millis(5));
    }
}

async fn within<F: std::future::Future>(what: &str, future: F) -> F::Output {
    spindle::time::timeout(Duration::from_secs(30), future)
        .await
        .unwrap_or_else(|_| panic!("{what}: not done within 30 s"))
}

#[test]
fn echo_and_exit_code_exactly() {
    runtime().block_on(async {
        let out = Command::new("sh")
            .args(["-c", "echo hi; exit 3"])
            .output()
            .await
            .unwrap();
        assert_eq!(out.stdout, b"hi\n");
        assert_eq!(out.stderr, b"");
        assert_eq!(out.status.code(), Some(3));
        assert!(!out.status.success());

        let status = Command::new("sh")
            .args(["-c", "echo hi >/dev/null; exit 3"])
            .status()
            .await
            .unwrap();
        assert_eq!(status.code(), Some(3));

        // stdin defaults to null for output(): `cat` sees end-of-file at once.
        let out = Command::new("cat").output().await.unwrap();
        assert!(out.status.success());
        assert!(out.stdout.is_empty());
    });
}

#[test]
fn cat_pipes_one_mebibyte_byte_exact() {
    const LEN: usize = 1 << 20;
    let data: Vec<u8> = (0..LEN as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    runtime().block_on(async {
        let mut child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        // Writer and reader concurrently: 1 MiB is far more than a pipe holds in either
        // direction, so doing one after the other would deadlock.
        let to_write = data.clone();
        let writer = spindle::spawn(async move {
            stdin.write_all(&to_write).await.unwrap();
            stdin.close().await.unwrap(); // cat sees end-of-file
        });
        let reader = spindle::spawn(async move {
            let mut out = Vec::new();
            stdout.read_to_end(&mut out).await.unwrap();
            out
        });
        within("writer", writer).await.unwrap();
        let echoed = within("reader", reader).await.unwrap();
        assert_eq!(echoed.len(), LEN);
        assert!(echoed == data, "cat's output differs from its input");
        assert!(child.wait().await.unwrap().success());
    });
}

#[test]
fn kill_then_wait_reports_signal_9() {
    runtime().block_on(async {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id().unwrap();
        child.kill().unwrap();
        let status = within("wait", child.wait()).await.unwrap();
        assert_eq!(status.signal(), Some(libc::SIGKILL));
        assert_eq!(status.code(), None);
        assert!(!is_zombie_child(pid));
        // Killing a reaped child is a no-op, as with std.
        child.kill().unwrap();
        child.start_kill().unwrap();
    });
}

#[test]
fn try_wait_before_and_after_exit() {
    runtime().block_on(async {
        let mut child = Command::new("sh")
            .args(["-c", "read line; exit 6"])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        assert_eq!(child.try_wait().unwrap(), None);
        spindle::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(child.try_wait().unwrap(), None, "it waits for its input");
        assert!(child.id().is_some());
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"go\n").await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "the child did not exit");
            spindle::time::sleep(Duration::from_millis(2)).await;
        };
        assert_eq!(status.code(), Some(6));
        assert_eq!(child.id(), None);
        // After the exit: the same status, from try_wait and wait.
        assert_eq!(child.try_wait().unwrap(), Some(status));
        assert_eq!(child.wait().await.unwrap(), status);
    });
}

#[test]
fn fifty_concurrent_children_all_reaped() {
    const CHILDREN: usize = 50;
    let rt = runtime();
    let results = rt.block_on(async {
        let tasks: Vec<_> = (0..CHILDREN)
            .map(|i| {
                spindle::spawn(async move {
                    let mut cmd = Command::new("sh");
                    cmd.arg("-c").arg(format!("echo {i}; exit {}", i % 5));
                    run_capturing(&mut cmd).await
                })
            })
            .collect();
        let mut results = Vec::new();
        for task in tasks {
            results.push(within("child", task).await.unwrap());
        }
        results
    });
    for (i, (pid, stdout, code)) in results.into_iter().enumerate() {
        assert_eq!(stdout, format!("{i}\n"));
        assert_eq!(code, Some((i % 5) as i32));
        // Reaped by `wait`, synchronously: not a zombie now.
        assert!(!is_zombie_child(pid), "child {i} (pid {pid}) is a zombie");
    }
}

/// `spawn` with piped stdout, read it, wait: `(pid, stdout, exit code)`.
async fn run_capturing(cmd: &mut Command) -> (u32, String, Option<i32>) {
    let mut child = cmd.stdout(Stdio::piped()).spawn().unwrap();
    let pid = child.id().unwrap();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .await
        .unwrap();
    (pid, out, child.wait().await.unwrap().code())
}

#[test]
fn kill_on_drop_kills_and_reaps() {
    let rt = runtime();
    let (dropped, aborted, kept) = rt.block_on(async {
        // Dropped directly.
        let child = Command::new("sleep")
            .arg("30")
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let dropped = Proc::of(child.id().unwrap());
        drop(child);

        // Dropped by cancelling the task that waits for it.
        let (tx, rx) = async_channel::bounded(1);
        let task = spindle::spawn(async move {
            let mut child = Command::new("sleep")
                .arg("30")
                .kill_on_drop(true)
                .spawn()
                .unwrap();
            tx.send(child.id().unwrap()).await.unwrap();
            child.wait().await.unwrap();
        });
        let aborted = Proc::of(rx.recv().await.unwrap());
        task.abort();
        assert!(task.await.unwrap_err().is_cancelled());

        // Without kill_on_drop, dropping leaves the process running.
        let child = Command::new("sleep").arg("1").spawn().unwrap();
        let kept = Proc::of(child.id().unwrap());
        drop(child);
        (dropped, aborted, kept)
    });
    assert!(
        !kept.is_gone(),
        "without kill_on_drop the child keeps running"
    );
    for proc in [dropped, aborted] {
        eventually("kill_on_drop child killed and reaped", || proc.is_gone());
    }
    // The one left running is reaped when it exits, though nobody waits for it.
    eventually("dropped child reaped after its exit", || kept.is_gone());
    drop(rt);
}

#[test]
fn runtime_dropped_with_running_children_leaves_no_zombie() {
    let rt = runtime();
    let (waited_in_task, killed, held) = rt.block_on(async {
        // A task waiting for a child when the runtime goes away: the task is cancelled, the
        // child keeps running and must be reaped when it exits.
        let (tx, rx) = async_channel::bounded(1);
        let (tx2, rx2) = async_channel::bounded(1);
        spindle::spawn(async move {
            let mut child = Command::new("sleep").arg("0.3").spawn().unwrap();
            tx.send(child.id().unwrap()).await.unwrap();
            let _ = child.wait().await;
        });
        // A kill_on_drop child in a task: killed at shutdown.
        spindle::spawn(async move {
            let mut child = Command::new("sleep")
                .arg("30")
                .kill_on_drop(true)
                .spawn()
                .unwrap();
            tx2.send(child.id().unwrap()).await.unwrap();
            let _ = child.wait().await;
        });
        let waited = Proc::of(rx.recv().await.unwrap());
        let killed = Proc::of(rx2.recv().await.unwrap());
        // A child held outside any task, across the runtime's end.
        let held = Command::new("sh").args(["-c", "exit 9"]).spawn().unwrap();
        (waited, killed, held)
    });
    drop(rt);
    eventually("kill_on_drop child killed at shutdown", || killed.is_gone());
    eventually("running child reaped after the runtime is gone", || {
        waited_in_task.is_gone()
    });
    // The held child's runtime is gone: another runtime can still wait for it.
    let mut held = held;
    let status = runtime().block_on(async { within("wait", held.wait()).await.unwrap() });
    assert_eq!(status.code(), Some(9));
}

#[test]
fn missing_program_is_not_found() {
    runtime().block_on(async {
        let err = Command::new("/definitely/not/a/program")
            .output()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
        let err = Command::new("spindle-no-such-program-in-path")
            .status()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    });
}

#[test]
fn env_and_current_dir_are_applied() {
    let dir = std::env::temp_dir().join(format!("spindle-process-cwd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dir = dir.canonicalize().unwrap();
    runtime().block_on(async {
        let out = Command::new("sh")
            .args(["-c", "echo \"$SPINDLE_A|${SPINDLE_GONE-unset}\"; pwd -P"])
            .env("SPINDLE_A", "alpha")
            .env("SPINDLE_GONE", "x")
            .env_remove("SPINDLE_GONE")
            .current_dir(&dir)
            .output()
            .await
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert_eq!(text, format!("alpha|unset\n{}\n", dir.display()));

        let out = Command::new("/usr/bin/env")
            .env_clear()
            .envs([("ONE", "1"), ("TWO", "2")])
            .output()
            .await
            .unwrap();
        let mut lines: Vec<_> = std::str::from_utf8(&out.stdout).unwrap().lines().collect();
        lines.sort();
        assert_eq!(lines, ["ONE=1", "TWO=2"]);
    });
    std::fs::remove_dir(&dir).unwrap();
}

#[test]
fn wait_with_output_reads_both_pipes_concurrently() {
    runtime().block_on(async {
        // 256 KiB to each stream, interleaved: reading one pipe to its end before the other
        // would deadlock once the other pipe's 64 KiB buffer is full.
        let script = "i=0; while [ $i -lt 64 ]; do head -c 4096 /dev/zero; \
                      head -c 4096 /dev/zero >&2; i=$((i+1)); done";
        let child = Command::new("sh")
            .args(["-c", script])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = within("wait_with_output", child.wait_with_output())
            .await
            .unwrap();
        assert!(out.status.success());
        assert_eq!(out.stdout.len(), 256 * 1024);
        assert_eq!(out.stderr.len(), 256 * 1024);
        assert!(out.stdout.iter().chain(&out.stderr).all(|&b| b == 0));
    });
}

#[test]
fn a_childs_stdout_becomes_the_next_ones_stdin() {
    runtime().block_on(async {
        let mut first = Command::new("echo")
            .arg("shout")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let pipe: Stdio = first.stdout.take().unwrap().try_into().unwrap();
        let out = Command::new("tr")
            .args(["a-z", "A-Z"])
            .stdin(pipe)
            .output()
            .await
            .unwrap();
        assert_eq!(out.stdout, b"SHOUT\n");
        assert!(first.wait().await.unwrap().success());
    });
}

#[test]
fn spawn_outside_a_runtime_is_an_error_and_starts_nothing() {
    let err = Command::new("true").spawn().unwrap_err();
    assert!(
        err.to_string().contains("inside a spindle runtime"),
        "{err}"
    );
}

#[test]
fn writes_after_close_fail_and_wait_closes_stdin() {
    runtime().block_on(async {
        let mut child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"x").await.unwrap();
        stdin.close().await.unwrap();
        let err = stdin.write_all(b"y").await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe);
        assert!(within("wait", child.wait()).await.unwrap().success());

        // wait() itself closes a stdin still in the Child.
        let mut child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        assert!(within("wait", child.wait()).await.unwrap().success());
    });
}

#[test]
fn public_types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Command>();
    send_sync::<spindle::process::Child>();
    send_sync::<spindle::process::ChildStdin>();
    send_sync::<spindle::process::ChildStdout>();
    send_sync::<spindle::process::ChildStderr>();
    // The futures can be spawned (they are Send).
    fn send<T: Send>(_: &T) {}
    let mut cmd = Command::new("true");
    send(&cmd.output());
    send(&cmd.status());
}

/// Children that exit at once, many times over on several tasks: an exit event that lands
/// while the watch is being registered must never be lost (each wait is bounded).
#[test]
fn instantly_exiting_children_never_lose_their_exit() {
    const TASKS: usize = 4;
    const EACH: usize = 150;
    runtime().block_on(async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                spindle::spawn(async {
                    for _ in 0..EACH {
                        let mut child = Command::new("true").stdin(Stdio::null()).spawn().unwrap();
                        let status = within("true's exit", child.wait()).await.unwrap();
                        assert!(status.success());
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
}
