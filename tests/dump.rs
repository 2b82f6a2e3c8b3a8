//! Task dumps (`Handle::dump`) and slow-poll reports (`Builder::on_slow_poll`): what a dump
//! lists for a named sleeper, a socket reader, a task blocking its worker and 100 000 idle
//! tasks; which polls get reported, and that a panicking callback harms nothing.

use spindle::net::{TcpListener, TcpStream};
use spindle::runtime::{Builder, Dump, Handle, Runtime, SlowPoll, TaskInfo, TaskState, WaitsOn};
use spindle::task::Id;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

fn rt(workers: usize) -> Runtime {
    Builder::new()
        .worker_threads(workers)
        .compute_threads(1)
        .build()
        .unwrap()
}

/// Dumps until `pick` finds the task in the wanted state (up to 10 s: it must get there).
async fn dump_until(what: &str, mut pick: impl FnMut(&Dump) -> bool) -> Dump {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let dump = Handle::current().dump().await;
        if pick(&dump) {
            return dump;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}:\n{dump}"
        );
        spindle::time::sleep(Duration::from_millis(2)).await;
    }
}

fn find(dump: &Dump, id: Id) -> Option<&TaskInfo> {
    dump.tasks().iter().find(|t| t.id() == id)
}

/// The `Display` line of task `id`.
fn line_of(dump: &Dump, id: Id) -> String {
    let text = dump.to_string();
    let prefix = format!("{id} ");
    text.lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no line for task {id} in\n{text}"))
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// What a dump shows

#[spindle::test(worker_threads = 2)]
async fn a_named_task_asleep_on_a_timer() {
    let (line, sleeper) = (
        line!(),
        spindle::task::Builder::new()
            .name("sleeper")
            .spawn(spindle::time::sleep(Duration::from_secs(60)))
            .unwrap(),
    );
    let id = sleeper.id();
    let dump = dump_until("the sleeper to go idle", |d| {
        find(d, id).is_some_and(|t| t.state() == TaskState::Idle)
    })
    .await;
    let t = find(&dump, id).unwrap();
    assert_eq!(t.name(), Some("sleeper"));
    assert_eq!(t.spawned_at().file(), file!());
    assert_eq!(
        t.spawned_at().line(),
        line + 3,
        "the line of the spawn call"
    );
    assert_eq!(t.polls(), 1);
    assert!(t.since_last_poll().unwrap() < Duration::from_secs(10));
    match t.waits_on() {
        Some(WaitsOn::Timer { deadline }) => {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                left > Duration::from_secs(45) && left <= Duration::from_secs(61),
                "deadline in {left:?}"
            );
        }
        other => panic!("waits on {other:?}"),
    }
    let text = line_of(&dump, id);
    for part in [
        "sleeper",
        &format!("{}:{}:", file!(), line + 3),
        "idle",
        "timer in",
    ] {
        assert!(text.contains(part), "{part:?} missing from {text:?}");
    }
    // The header names the columns.
    let header = dump.to_string().lines().next().unwrap().to_string();
    for column in [
        "id",
        "name",
        "spawned at",
        "state",
        "polls",
        "last poll",
        "waits on",
    ] {
        assert!(
            header.contains(column),
            "{column:?} missing from {header:?}"
        );
    }
    sleeper.abort();
}

#[spindle::test(worker_threads = 2)]
async fn a_task_waiting_on_a_socket_read() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (client, accepted) =
        futures_lite::future::zip(TcpStream::connect(addr), listener.accept()).await;
    let (mut client, _server) = (client.unwrap(), accepted.unwrap().0);
    let fd = client.as_raw_fd();
    let reader = spindle::task::Builder::new()
        .name("reader")
        .spawn(async move {
            use futures_lite::AsyncReadExt;
            let mut buf = [0u8; 8];
            client.read(&mut buf).await
        })
        .unwrap();
    let id = reader.id();
    let dump = dump_until("the reader to wait on its socket", |d| {
        find(d, id).is_some_and(|t| t.waits_on().is_some())
    })
    .await;
    let t = find(&dump, id).unwrap();
    assert_eq!(t.state(), TaskState::Idle);
    assert_eq!(t.waits_on(), Some(WaitsOn::Socket { fd, write: false }));
    let text = line_of(&dump, id);
    assert!(text.contains("reader") && text.contains("idle"), "{text}");
    assert!(text.contains(&format!("socket fd {fd} (read)")), "{text:?}");
    reader.abort();
}

/// One worker sits in a 1 s `std::thread::sleep`; a dump from another thread returns well
/// before that ends and shows the blocked task as running, both when the block is in the
/// task's first poll (the task is not in the registry yet: the worker's published poll in
/// progress is what lists it) and in a later poll.
#[test]
fn a_dump_does_not_wait_for_a_blocked_worker() {
    let rt = rt(2);
    for first_poll in [true, false] {
        let started = Arc::new(Barrier::new(2));
        let s = started.clone();
        let (line, blocker) = (
            line!(),
            spindle::task::Builder::new()
                .name("blocker")
                .spawn_on(
                    async move {
                        if !first_poll {
                            spindle::time::sleep(Duration::from_millis(1)).await;
                        }
                        s.wait();
                        std::thread::sleep(Duration::from_secs(1));
                    },
                    rt.handle(),
                )
                .unwrap(),
        );
        let id = blocker.id();
        started.wait();
        let began = Instant::now();
        let dump = rt.block_on(rt.handle().dump());
        let took = began.elapsed();
        assert!(
            took < Duration::from_millis(500),
            "the dump took {took:?} while a worker was blocked for 1 s"
        );
        let t = find(&dump, id).unwrap_or_else(|| panic!("blocked task missing:\n{dump}"));
        assert_eq!(t.state(), TaskState::Running, "{dump}");
        assert_eq!(t.spawned_at().line(), line + 3);
        if first_poll {
            assert_eq!(t.polls(), 1);
        } else {
            assert_eq!(t.name(), Some("blocker"));
            assert_eq!(t.polls(), 2);
        }
        assert!(line_of(&dump, id).contains("running"));
        rt.block_on(blocker).unwrap();
    }
}

/// 100 000 idle tasks are all listed, each exactly once; nothing is counted as unpolled.
#[test]
fn a_dump_of_100_000_live_tasks() {
    const N: usize = 100_000;
    let rt = rt(2);
    let release = Arc::new(spindle::sync::Notify::new());
    let (line, handles) = (
        line!(),
        (0..N)
            .map(|_| {
                let release = release.clone();
                rt.spawn(async move { release.notified().await })
            })
            .collect::<Vec<_>>(),
    );
    let ours =
        |t: &&TaskInfo| t.spawned_at().file() == file!() && t.spawned_at().line() == line + 4;
    let dump = rt.block_on(async {
        dump_until("every task to be polled", |d| {
            d.unpolled() == 0 && d.tasks().iter().filter(ours).count() == N
        })
        .await
    });
    let listed: Vec<&TaskInfo> = dump.tasks().iter().filter(ours).collect();
    assert_eq!(listed.len(), N);
    let ids: std::collections::HashSet<Id> = listed.iter().map(|t| t.id()).collect();
    assert_eq!(ids.len(), N, "each task once");
    let expected: std::collections::HashSet<Id> = handles.iter().map(|h| h.id()).collect();
    assert_eq!(ids, expected);
    assert!(
        listed
            .iter()
            .all(|t| t.state() == TaskState::Idle && t.polls() == 1)
    );
    assert!(
        dump.tasks().windows(2).all(|w| w[0].id() < w[1].id()),
        "sorted by id"
    );
    let text = dump.to_string();
    assert_eq!(
        text.lines().count(),
        dump.tasks().len() + 1,
        "a header and a line per task"
    );
    release.notify_waiters();
    rt.block_on(async {
        for h in handles {
            h.await.unwrap();
        }
    });
}

#[test]
fn unpolled_tasks_are_counted_not_listed() {
    let rt = rt(1);
    let started = Arc::new(Barrier::new(2));
    let release = Arc::new(Barrier::new(2));
    let (s, r) = (started.clone(), release.clone());
    let blocker = rt.spawn(async move {
        s.wait();
        r.wait();
    });
    started.wait();
    // The only worker is busy: these wait in the global queue, never polled.
    let queued: Vec<_> = (0..7).map(|_| rt.spawn(async {})).collect();
    // block_on polls the dump on this thread: the blocked worker is not needed.
    let dump = rt.block_on(rt.handle().dump());
    assert_eq!(dump.unpolled(), 7, "{dump}");
    assert!(
        dump.tasks()
            .iter()
            .all(|t| !queued.iter().any(|q| q.id() == t.id()))
    );
    assert!(
        dump.to_string()
            .contains("(+ 7 task(s) spawned and not polled yet)")
    );
    release.wait();
    rt.block_on(async {
        blocker.await.unwrap();
        for q in queued {
            q.await.unwrap();
        }
    });
}

#[test]
fn a_blocking_job_shows_as_compute() {
    let rt = rt(1);
    let (started, release) = (Arc::new(Barrier::new(2)), Arc::new(Barrier::new(2)));
    let (s, r) = (started.clone(), release.clone());
    let job = rt.spawn_blocking(move || {
        s.wait();
        r.wait();
    });
    started.wait();
    let dump = rt.block_on(rt.handle().dump());
    let t = find(&dump, job.id()).unwrap();
    assert_eq!(t.state(), TaskState::Compute);
    assert!(line_of(&dump, job.id()).contains("compute"));
    release.wait();
    rt.block_on(job).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Slow-poll reports

type Reports = Arc<Mutex<Vec<SlowPoll>>>;

fn reporting_rt(workers: usize, threshold: Duration) -> (Runtime, Reports) {
    let reports: Reports = Arc::default();
    let r = reports.clone();
    let rt = Builder::new()
        .worker_threads(workers)
        .compute_threads(1)
        .on_slow_poll(threshold, move |slow| r.lock().unwrap().push(slow.clone()))
        .build()
        .unwrap();
    (rt, reports)
}

#[test]
fn the_slow_poll_callback_names_a_task_that_blocked_200_ms_and_no_other() {
    let (rt, reports) = reporting_rt(2, Duration::from_millis(150));
    // Well-behaved neighbours: many short polls.
    let neighbours: Vec<_> = (0..50)
        .map(|i| {
            rt.spawn(async move {
                for _ in 0..20 {
                    spindle::time::sleep(Duration::from_millis(1)).await;
                    spindle::yield_now().await;
                }
                i
            })
        })
        .collect();
    let (line, blocker) = (
        line!(),
        spindle::task::Builder::new()
            .name("blocker")
            .spawn_on(
                async { std::thread::sleep(Duration::from_millis(200)) },
                rt.handle(),
            )
            .unwrap(),
    );
    let id = blocker.id();
    rt.block_on(async {
        blocker.await.unwrap();
        for n in neighbours {
            n.await.unwrap();
        }
    });
    drop(rt); // joins the workers: every report has been made
    let reports = reports.lock().unwrap();
    assert_eq!(reports.len(), 1, "{reports:?}");
    let slow = &reports[0];
    assert_eq!(slow.task_id(), id);
    assert_eq!(slow.name(), Some("blocker"));
    assert_eq!(slow.spawned_at().file(), file!());
    assert_eq!(slow.spawned_at().line(), line + 3);
    assert!(slow.duration() >= Duration::from_millis(200), "{slow:?}");
    let at = slow.spawned_at();
    let debug = format!("{slow:?}");
    assert!(
        debug.contains(&format!(
            "spawned_at: {}:{}:{}",
            file!(),
            line + 3,
            at.column()
        )),
        "{debug}"
    );
    let display = slow.to_string();
    assert!(
        display.contains("(blocker)") && display.contains(&format!("{}:{}:", file!(), line + 3)),
        "{display}"
    );
}

#[test]
fn a_panicking_slow_poll_callback_does_not_kill_the_worker() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let rt = Builder::new()
        .worker_threads(1)
        .compute_threads(1)
        .on_slow_poll(Duration::from_millis(20), move |_| {
            c.fetch_add(1, Ordering::SeqCst);
            panic!("callback panics on purpose");
        })
        .build()
        .unwrap();
    for round in 1..=2 {
        rt.block_on(rt.spawn(async { std::thread::sleep(Duration::from_millis(40)) }))
            .unwrap();
        // The only worker still runs tasks (and reports again).
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        rt.block_on(rt.spawn(async move { r.store(true, Ordering::SeqCst) }))
            .unwrap();
        assert!(ran.load(Ordering::SeqCst));
        let deadline = Instant::now() + Duration::from_secs(10);
        while calls.load(Ordering::SeqCst) < round {
            assert!(Instant::now() < deadline, "callback not called");
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    drop(rt);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}
