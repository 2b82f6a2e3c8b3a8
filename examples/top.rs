//! `top` for a spindle runtime: a live view of its workers, queues, timers, sockets, compute
//! pool and tasks, built only on the public metrics (`RuntimeMetrics`), task dumps
//! (`Handle::dump`) and slow-poll reports (`Builder::on_slow_poll`).
//!
//! ```text
//! cargo run --release --example top            # refreshes in place until Ctrl-C
//! cargo run --release --example top | cat      # not a terminal: 3 plain snapshots
//! TOP_SECS=20 cargo run --example top          # stop after 20 s
//! ```
//!
//! It drives its own demo workload: sleepers, busy tasks, a TCP echo server with clients,
//! compute jobs, and one task that blocks its worker for 120 ms every 2 s (it shows up as a slow
//! poll, and as "running" in the task list while it blocks).

use spindle::net::{TcpListener, TcpStream};
use spindle::runtime::{Builder, Dump, RuntimeMetrics, SlowPoll, TaskState, WaitsOn};
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const REFRESH: Duration = Duration::from_millis(500);
const SLOW_POLL: Duration = Duration::from_millis(50);

/// The last slow polls, newest first.
type SlowLog = Arc<Mutex<VecDeque<(Instant, SlowPoll)>>>;

fn main() -> std::io::Result<()> {
    let slow: SlowLog = Arc::default();
    let log = slow.clone();
    let rt = Builder::new()
        .thread_name("top")
        .on_slow_poll(SLOW_POLL, move |poll| {
            let mut log = log.lock().unwrap();
            log.push_front((Instant::now(), poll.clone()));
            log.truncate(5);
        })
        .build()?;
    rt.block_on(start_workload())?;

    let tty = std::io::stdout().is_terminal();
    let secs = std::env::var("TOP_SECS").ok().and_then(|s| s.parse().ok());
    let (frames, refresh) = match (tty, secs) {
        (true, secs) => (secs.map_or(u64::MAX, |s: u64| s * 2), REFRESH),
        (false, secs) => (secs.unwrap_or(3), Duration::from_secs(1)),
    };
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let s = stop.clone();
    spindle::task::Builder::new().name("ctrl-c").spawn_on(
        async move {
            let _ = spindle::signal::ctrl_c().await;
            s.store(true, std::sync::atomic::Ordering::SeqCst);
        },
        rt.handle(),
    )?;

    let metrics = rt.metrics();
    let started = Instant::now();
    let mut before = Sample::take(&metrics);
    let mut out = std::io::stdout().lock();
    if tty {
        write!(out, "\x1b[?25l\x1b[2J")?; // hide the cursor, clear the screen
    }
    for frame in 0..frames {
        if stop.load(std::sync::atomic::Ordering::SeqCst) {
            break;
        }
        std::thread::sleep(refresh);
        let now = Sample::take(&metrics);
        let dump = rt.block_on(rt.handle().dump());
        let screen = render(&metrics, &before, &now, &dump, &slow, started.elapsed());
        before = now;
        if tty {
            // Home, draw, clear what the previous frame left below.
            write!(out, "\x1b[H{}\x1b[J", screen.replace('\n', "\x1b[K\n"))?;
        } else {
            writeln!(out, "--- snapshot {} ---\n{screen}", frame + 1)?;
        }
        out.flush()?;
    }
    if tty {
        write!(out, "\x1b[?25h")?; // cursor back
    }
    Ok(())
}

/// The counters at one instant (per-second rates are differences of two samples).
struct Sample {
    at: Instant,
    polls: Vec<u64>,
    steals: Vec<u64>,
    parks: Vec<u64>,
    busy: Vec<Duration>,
    spawned: u64,
    forced_yields: u64,
}

impl Sample {
    fn take(m: &RuntimeMetrics) -> Sample {
        let per = |f: &dyn Fn(usize) -> u64| (0..m.num_workers()).map(f).collect();
        Sample {
            at: Instant::now(),
            polls: per(&|i| m.worker_poll_count(i)),
            steals: per(&|i| m.worker_steal_count(i)),
            parks: per(&|i| m.worker_park_count(i)),
            busy: (0..m.num_workers())
                .map(|i| m.worker_total_busy_duration(i))
                .collect(),
            spawned: m.spawned_tasks_count(),
            forced_yields: m.budget_forced_yield_count(),
        }
    }
}

fn render(
    m: &RuntimeMetrics,
    a: &Sample,
    b: &Sample,
    dump: &Dump,
    slow: &SlowLog,
    uptime: Duration,
) -> String {
    let secs = (b.at - a.at).as_secs_f64();
    let rate = |x: u64, y: u64| (y - x) as f64 / secs;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "spindle top - up {:.0} s - {} workers - {} tasks alive ({:.0} spawned/s, {} unpolled) - Ctrl-C quits",
        uptime.as_secs_f64(),
        m.num_workers(),
        m.num_alive_tasks(),
        rate(a.spawned, b.spawned),
        dump.unpolled(),
    );
    let _ = writeln!(
        s,
        "global queue {:>4} | forced yields {:>6.0}/s | timers {:>5} | io sources {:>4}",
        m.global_queue_depth(),
        rate(a.forced_yields, b.forced_yields),
        m.timers_pending(),
        m.io_sources(),
    );
    let _ = writeln!(
        s,
        "compute: {} threads, {} running, {} queued\n",
        m.compute_threads(),
        m.compute_active_jobs(),
        m.compute_queue_depth(),
    );
    let _ = writeln!(s, "worker  busy%  queue   polls/s  steals/s  parks/s");
    for i in 0..m.num_workers() {
        let busy = (b.busy[i] - a.busy[i]).as_secs_f64() / secs * 100.0;
        let _ = writeln!(
            s,
            "{i:>6}  {:>5.1}  {:>5}  {:>8.0}  {:>8.0}  {:>7.0}  {}",
            busy.min(100.0),
            m.worker_local_queue_depth(i),
            rate(a.polls[i], b.polls[i]),
            rate(a.steals[i], b.steals[i]),
            rate(a.parks[i], b.parks[i]),
            bar(busy),
        );
    }

    let _ = writeln!(s, "\nslow polls (over {} ms):", SLOW_POLL.as_millis());
    let log = slow.lock().unwrap();
    if log.is_empty() {
        let _ = writeln!(s, "  none yet");
    }
    for (when, poll) in log.iter() {
        let _ = writeln!(
            s,
            "  {:>5.1} s ago  {:>6} ms  task {} {} at {}",
            when.elapsed().as_secs_f64(),
            poll.duration().as_millis(),
            poll.task_id(),
            poll.name().unwrap_or("-"),
            poll.spawned_at(),
        );
    }
    drop(log);

    let mut tasks: Vec<_> = dump.tasks().iter().collect();
    let line = |t: &&spindle::runtime::TaskInfo| {
        let waits = match t.waits_on() {
            Some(WaitsOn::Timer { deadline }) => format!(
                "timer in {} ms",
                deadline
                    .saturating_duration_since(Instant::now())
                    .as_millis()
            ),
            Some(WaitsOn::Socket { fd, write }) => {
                format!("socket {fd} {}", if write { "write" } else { "read" })
            }
            _ => "-".into(),
        };
        format!(
            "  {:>6}  {:<14} {:<9} {:>8} polls  {:>7}  {:<16} {}",
            t.id().to_string(),
            t.name().unwrap_or("-"),
            t.state().as_str(),
            t.polls(),
            t.since_last_poll()
                .map_or("-".into(), |d| format!("{} ms", d.as_millis())),
            waits,
            t.spawned_at(),
        )
    };
    let running: Vec<_> = tasks
        .iter()
        .filter(|t| t.state() == TaskState::Running)
        .collect();
    let _ = writeln!(s, "\nrunning now (time in the current poll):");
    for t in running.iter().take(4) {
        let _ = writeln!(s, "{}", line(t));
    }
    tasks.sort_by_key(|t| std::cmp::Reverse(t.since_last_poll()));
    let _ = writeln!(s, "\nlongest idle:");
    for t in tasks
        .iter()
        .filter(|t| t.state() == TaskState::Idle)
        .take(4)
    {
        let _ = writeln!(s, "{}", line(t));
    }
    tasks.sort_by_key(|t| std::cmp::Reverse(t.polls()));
    let _ = writeln!(s, "\nmost polled:");
    for t in tasks.iter().take(4) {
        let _ = writeln!(s, "{}", line(t));
    }
    s
}

fn bar(percent: f64) -> String {
    let filled = (percent / 5.0).round().clamp(0.0, 20.0) as usize;
    format!("[{}{}]", "#".repeat(filled), " ".repeat(20 - filled))
}

/// The demo workload (all detached; the runtime's shutdown cancels it).
async fn start_workload() -> std::io::Result<()> {
    fn named(name: &str) -> spindle::task::Builder<'_> {
        spindle::task::Builder::new().name(name)
    }
    // Sleepers: timers, mostly idle.
    for i in 0..20u64 {
        named("sleeper").spawn(async move {
            loop {
                spindle::time::sleep(Duration::from_millis(200 + 37 * i)).await;
            }
        })?;
    }
    // Busy tasks: short CPU bursts and yields (polls, budget, steals).
    for _ in 0..4 {
        named("busy").spawn(async {
            loop {
                let start = Instant::now();
                while start.elapsed() < Duration::from_micros(300) {
                    std::hint::spin_loop();
                }
                for _ in 0..200 {
                    spindle::task::consume_budget().await;
                }
                spindle::time::sleep(Duration::from_millis(2)).await;
            }
        })?;
    }
    // Sockets: an echo server and clients (io sources, waits on sockets).
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    named("echo-server").spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = named("echo-conn").spawn(async move {
                let (reader, mut writer) = spindle::io::split(stream);
                let _ = spindle::io::copy(reader, &mut writer).await;
            });
        }
    })?;
    for _ in 0..6 {
        named("echo-client").spawn(async move {
            use spindle::io::{AsyncReadExt, AsyncWriteExt};
            let mut stream = TcpStream::connect(addr).await?;
            let mut buf = [0u8; 64];
            loop {
                stream.write_all(&[7u8; 64]).await?;
                stream.read_exact(&mut buf).await?;
                spindle::time::sleep(Duration::from_millis(10)).await;
            }
            #[allow(unreachable_code)]
            Ok::<(), std::io::Error>(())
        })?;
    }
    // Compute: a 100 ms kernel every 300 ms on the rayon pool.
    named("compute-feeder").spawn(async {
        loop {
            let _ = spindle::spawn_blocking(|| {
                let start = Instant::now();
                let mut x = 0u64;
                while start.elapsed() < Duration::from_millis(100) {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                }
                x
            })
            .await;
            spindle::time::sleep(Duration::from_millis(300)).await;
        }
    })?;
    // The culprit: blocks its worker now and then.
    named("blocker").spawn(async {
        loop {
            spindle::time::sleep(Duration::from_secs(2)).await;
            std::thread::sleep(Duration::from_millis(120));
        }
    })?;
    // Churn: short-lived tasks.
    named("spawner").spawn(async {
        loop {
            let handles: Vec<_> = (0..50).map(|i| spindle::spawn(async move { i })).collect();
            for h in handles {
                let _ = h.await;
            }
            spindle::time::sleep(Duration::from_millis(20)).await;
        }
    })?;
    Ok(())
}
