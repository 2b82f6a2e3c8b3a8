//! The SIGCHLD fallback, forced on a system that has pidfd, and the orphan table. (The public
//! behaviour is tested in `tests/process.rs`; these need the crate-private switch.)

use super::Command;
use super::orphan;
use crate::runtime::Builder;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

fn runtime() -> crate::runtime::Runtime {
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

fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within 20 s");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn pidfd_is_used_when_available() {
    runtime().block_on(async {
        let mut child = Command::new("true").spawn().unwrap();
        let uses_pidfd = child.uses_pidfd().unwrap();
        // SAFETY: pidfd_open(own pid, 0) has no preconditions; the fd is closed right away.
        let available = unsafe {
            let fd = libc::syscall(libc::SYS_pidfd_open, libc::getpid(), 0);
            if fd >= 0 {
                libc::close(fd as libc::c_int);
            }
            fd >= 0
        };
        assert_eq!(uses_pidfd, available);
        assert!(child.wait().await.unwrap().success());
    });
}

#[test]
fn sigchld_fallback_waits_kills_and_pipes() {
    let rt = runtime();
    rt.block_on(async {
        // Exit code through the fallback.
        let mut child = Command::new("sh")
            .args(["-c", "sleep 0.05; exit 5"])
            .force_sigchld()
            .spawn()
            .unwrap();
        assert_eq!(child.uses_pidfd(), Some(false));
        assert_eq!(child.wait().await.unwrap().code(), Some(5));
        assert_eq!(child.id(), None);

        // kill + wait.
        let mut child = Command::new("sleep")
            .arg("30")
            .force_sigchld()
            .spawn()
            .unwrap();
        assert!(child.try_wait().unwrap().is_none());
        child.kill().unwrap();
        assert_eq!(child.wait().await.unwrap().signal(), Some(libc::SIGKILL));

        // Output (pipes on the reactor, exit through SIGCHLD).
        let out = Command::new("sh")
            .args(["-c", "echo hi; echo there >&2; exit 3"])
            .force_sigchld()
            .output()
            .await
            .unwrap();
        assert_eq!(out.stdout, b"hi\n");
        assert_eq!(out.stderr, b"there\n");
        assert_eq!(out.status.code(), Some(3));
    });
}

#[test]
fn sigchld_fallback_many_children_at_once() {
    const CHILDREN: usize = 20;
    runtime().block_on(async {
        let tasks: Vec<_> = (0..CHILDREN)
            .map(|i| {
                crate::spawn(async move {
                    let mut child = Command::new("sh")
                        .arg("-c")
                        .arg(format!("exit {}", i % 7))
                        .stdin(Stdio::null())
                        .force_sigchld()
                        .spawn()
                        .unwrap();
                    let pid = child.id().unwrap();
                    (pid, child.wait().await.unwrap().code())
                })
            })
            .collect();
        for (i, task) in tasks.into_iter().enumerate() {
            let (pid, code) = crate::time::timeout(Duration::from_secs(20), task)
                .await
                .expect("a fallback child's exit was missed")
                .unwrap();
            assert_eq!(code, Some((i % 7) as i32));
            assert!(!is_zombie_child(pid));
        }
    });
}

#[test]
fn dropped_children_are_reaped_by_the_orphan_reaper() {
    let rt = runtime();
    let pids: Vec<(u32, u64)> = rt.block_on(async {
        let mut pids = Vec::new();
        for mode_sigchld in [false, true] {
            let mut cmd = Command::new("sleep");
            cmd.arg("0.2");
            if mode_sigchld {
                cmd.force_sigchld();
            }
            let child = cmd.spawn().unwrap();
            let pid = child.id().unwrap();
            pids.push((pid, stat(pid).unwrap().2));
            drop(child); // still running: adopted
        }
        pids
    });
    drop(rt);
    // Nobody waits and no runtime is alive: the SIGCHLD action reaps them when they exit.
    for (pid, started) in pids {
        // Gone: no such process any more, or the pid was reused by a newer one.
        eventually("orphan reaped", || {
            stat(pid).is_none_or(|(_, _, starttime)| starttime != started)
        });
    }
    eventually("orphan table drained", || orphan::pending() == 0);
}

/// Several threads sweep the orphan table in a loop while orphans exit and while other
/// children of this process are waited for by std: every orphan is reaped, and no sweeper ever
/// reaps a child that is not in the table (std's `wait` would then fail with ECHILD).
#[test]
fn concurrent_sweeps_reap_orphans_and_nothing_else() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let stop = Arc::new(AtomicBool::new(false));
    let sweepers: Vec<_> = (0..3)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    orphan::reap();
                    std::thread::yield_now();
                }
            })
        })
        .collect();
    let mut orphans = Vec::new();
    for i in 0..30 {
        let child = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("exit {}", i % 3))
            .spawn()
            .unwrap();
        let pid = child.id();
        orphans.push((pid, stat(pid).map(|s| s.2)));
        // Handing the pid to the reaper is this test's way of waiting for it.
        #[allow(clippy::zombie_processes)]
        drop(child);
        orphan::adopt(pid);
        // A child that is not an orphan, waited for by std meanwhile.
        let status = std::process::Command::new("true").status();
        assert!(
            status.unwrap().success(),
            "a sweeper reaped a child that was not its own"
        );
    }
    for (pid, started) in orphans {
        eventually("orphan reaped", || match (stat(pid), started) {
            (None, _) | (_, None) => true,
            (Some((_, _, now)), Some(then)) => now != then,
        });
    }
    stop.store(true, Ordering::Relaxed);
    for sweeper in sweepers {
        sweeper.join().unwrap();
    }
    eventually("orphan table drained", || orphan::pending() == 0);
}
