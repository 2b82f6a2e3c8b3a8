//! Child-process benchmark: spindle::process vs tokio::process (multi-thread runtime) vs
//! async-process (smol's process crate, on an async-executor run by N threads).
//!
//! Same method as `benches/runtime.rs`: the three runtimes are built once in this process with
//! the same worker count N (`num_cpus::get()`, or `BENCH_WORKERS`); each workload is written once
//! per runtime with its idiomatic process API and differs only in that; each sample is the wall
//! time from spawning the workload's root task (from the main thread) until
//! `futures_lite::future::block_on` sees its output. Per row: one warm-up round, then `runs`
//! interleaved rounds (spindle, tokio, smol, spindle, ...); the table reports medians, the
//! 25th–75th percentile spread and spindle / best peer ("win" < 0.85, "tie", "loss" > 1.15).
//!
//! Usage: `cargo bench --bench process [-- <row-filter>...]`. Environment: `BENCH_WORKERS=<n>`,
//! `BENCH_RUNS=<n>` (default 21, at least 15 unless quick), `BENCH_QUICK=1` (3 runs, reduced
//! sizes), `BENCH_RAW=1` (every sample to stderr). See docs/benchmarks.md.

use std::future::Future;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use futures_lite::future;

const MIN_REPORTED_RUNS: usize = 15;
const DEFAULT_RUNS: usize = 21;
const QUICK_RUNS: usize = 3;
const HANG_LIMIT: Duration = Duration::from_secs(120);

struct Config {
    workers: usize,
    runs: usize,
    quick: bool,
    filters: Vec<String>,
}

fn env_usize(name: &str) -> Option<usize> {
    let value = std::env::var(name).ok()?;
    match value.trim().parse() {
        Ok(n) => Some(n),
        Err(_) => {
            panic!("{name}={value:?} is not a non-negative integer; unset it or set e.g. {name}=4")
        }
    }
}

impl Config {
    fn from_env() -> Config {
        let quick = std::env::var("BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
        let workers = env_usize("BENCH_WORKERS").unwrap_or_else(num_cpus::get);
        assert!(
            workers > 0,
            "BENCH_WORKERS=0: every runtime needs at least one worker thread; unset it or set BENCH_WORKERS=1 or more"
        );
        let runs = match (env_usize("BENCH_RUNS"), quick) {
            (Some(r), true) => r.max(1),
            (None, true) => QUICK_RUNS,
            (Some(r), false) if r < MIN_REPORTED_RUNS => {
                eprintln!(
                    "note: BENCH_RUNS={r} raised to {MIN_REPORTED_RUNS} (the minimum for reported medians); \
                     use BENCH_QUICK=1 for fewer runs"
                );
                MIN_REPORTED_RUNS
            }
            (Some(r), false) => r,
            (None, false) => DEFAULT_RUNS,
        };
        let filters = std::env::args()
            .skip(1)
            .filter(|a| !a.starts_with('-'))
            .collect();
        Config {
            workers,
            runs,
            quick,
            filters,
        }
    }
}

/// Workload sizes. Full sizes are the ones named in docs/benchmarks.md.
struct Sizes {
    children: usize,
    sequential: usize,
    outputs: usize,
}

impl Sizes {
    fn full() -> Sizes {
        Sizes {
            children: 200,
            sequential: 100,
            outputs: 100,
        }
    }

    fn quick() -> Sizes {
        Sizes {
            children: 40,
            sequential: 20,
            outputs: 20,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Row {
    SpawnWait,
    SpawnWaitSequential,
    OutputConcurrent,
}

const ROWS: [Row; 3] = [
    Row::SpawnWait,
    Row::SpawnWaitSequential,
    Row::OutputConcurrent,
];

impl Row {
    fn name(self) -> &'static str {
        match self {
            Row::SpawnWait => "spawn_wait",
            Row::SpawnWaitSequential => "spawn_wait_sequential",
            Row::OutputConcurrent => "output_concurrent",
        }
    }

    fn describe(self, z: &Sizes) -> String {
        match self {
            Row::SpawnWait => format!(
                "{} `true` children: each spawned and awaited by its own task, all at once",
                z.children
            ),
            Row::SpawnWaitSequential => {
                format!(
                    "{} `true` children, one after the other, on one task",
                    z.sequential
                )
            }
            Row::OutputConcurrent => format!(
                "{} `echo` children, output() (stdout+stderr pipes) from their own tasks, all at once",
                z.outputs
            ),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The three runtimes: each workload, written with the runtime's own process API
// ---------------------------------------------------------------------------------------------

/// Expands to the three workloads for one runtime. `$spawn` spawns a `'static + Send` future
/// as a task and returns an awaitable handle whose output is `$unwrap`ped; `$cmd` is the
/// runtime's `Command` type and `$wait` its `Child`'s wait method.
macro_rules! workloads {
    ($name:ident, $cmd:path, $wait:ident, $spawn:expr, $unwrap:expr) => {
        mod $name {
            use super::*;

            async fn true_child() {
                let mut child = <$cmd>::new("true")
                    .stdin(Stdio::null())
                    .spawn()
                    .expect("spawn `true`");
                let status = child.$wait().await.expect("wait for `true`");
                assert!(status.success());
            }

            pub async fn spawn_wait(n: usize) {
                let tasks: Vec<_> = (0..n).map(|_| ($spawn)(true_child())).collect();
                for task in tasks {
                    ($unwrap)(task.await);
                }
            }

            pub async fn spawn_wait_sequential(n: usize) {
                for _ in 0..n {
                    true_child().await;
                }
            }

            pub async fn output_concurrent(n: usize) {
                let tasks: Vec<_> = (0..n)
                    .map(|i| {
                        ($spawn)(async move {
                            let out = <$cmd>::new("echo")
                                .arg(i.to_string())
                                .output()
                                .await
                                .expect("echo output");
                            assert!(out.status.success());
                            assert_eq!(out.stdout, format!("{i}\n").into_bytes());
                        })
                    })
                    .collect();
                for task in tasks {
                    ($unwrap)(task.await);
                }
            }
        }
    };
}

workloads!(
    spindle_w,
    spindle::process::Command,
    wait,
    spindle::spawn,
    |r: Result<(), spindle::JoinError>| r.expect("spindle task")
);
workloads!(
    tokio_w,
    tokio::process::Command,
    wait,
    tokio::spawn,
    |r: Result<(), tokio::task::JoinError>| r.expect("tokio task")
);
// async-process names its wait `status`.
workloads!(
    smol_w,
    smol::process::Command,
    status,
    smol_spawn,
    |(): ()| ()
);

thread_local! {
    /// The executor of the smol runtime on its own threads (async-executor has no "current").
    static SMOL_EX: std::cell::RefCell<Option<Arc<async_executor::Executor<'static>>>> =
        const { std::cell::RefCell::new(None) };
}

fn smol_spawn<F>(future: F) -> async_executor::Task<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    SMOL_EX.with(|ex| {
        ex.borrow()
            .as_ref()
            .expect("smol_spawn outside the smol executor's threads")
            .spawn(future)
    })
}

/// N threads each running `smol::block_on(ex.run(stop))`, exactly as smol's own global executor
/// runs its threads (see benches/runtime.rs).
struct SmolRuntime {
    ex: Arc<async_executor::Executor<'static>>,
    stop: Option<async_channel::Sender<()>>,
    threads: Vec<thread::JoinHandle<()>>,
}

impl SmolRuntime {
    fn new(workers: usize) -> SmolRuntime {
        let ex = Arc::new(async_executor::Executor::new());
        let (stop, stopped) = async_channel::bounded::<()>(1);
        let threads = (0..workers)
            .map(|i| {
                let ex = ex.clone();
                let stopped = stopped.clone();
                thread::Builder::new()
                    .name(format!("smol-bench-{i}"))
                    .spawn(move || {
                        SMOL_EX.with(|slot| *slot.borrow_mut() = Some(ex.clone()));
                        let _ = smol::block_on(ex.run(stopped.recv()));
                    })
                    .expect("cannot spawn a smol executor thread")
            })
            .collect();
        SmolRuntime {
            ex,
            stop: Some(stop),
            threads,
        }
    }
}

impl Drop for SmolRuntime {
    fn drop(&mut self) {
        drop(self.stop.take());
        for t in self.threads.drain(..) {
            t.join().expect("a smol executor thread panicked");
        }
    }
}

struct Runtimes {
    spindle: spindle::runtime::Runtime,
    tokio: tokio::runtime::Runtime,
    smol: SmolRuntime,
}

/// The root future of `row` for one runtime's workload module.
macro_rules! root {
    ($module:ident, $row:expr, $z:expr) => {{
        let (row, children, sequential, outputs) = ($row, $z.children, $z.sequential, $z.outputs);
        async move {
            match row {
                Row::SpawnWait => $module::spawn_wait(children).await,
                Row::SpawnWaitSequential => $module::spawn_wait_sequential(sequential).await,
                Row::OutputConcurrent => $module::output_concurrent(outputs).await,
            }
        }
    }};
}

/// CPU time (user + system) used so far by this process's threads — not by its children.
fn process_cpu_time() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::uninit();
    // SAFETY: `getrusage` fills the struct it is given; RUSAGE_SELF is always valid.
    let usage = unsafe {
        assert_eq!(libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()), 0);
        usage.assume_init()
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// One sample: wall time and the CPU time this process spent meanwhile.
#[derive(Clone, Copy)]
struct Sample {
    wall: Duration,
    cpu: Duration,
}

impl Runtimes {
    /// Runs `row` once on runtime `rt` (0 spindle, 1 tokio, 2 smol): wall and CPU time.
    fn measure(&self, rt: usize, row: Row, z: &Sizes) -> Sample {
        let cpu = process_cpu_time();
        let start = Instant::now();
        match rt {
            0 => future::block_on(self.spindle.spawn(root!(spindle_w, row, z)))
                .expect("spindle: workload task failed"),
            1 => future::block_on(self.tokio.spawn(root!(tokio_w, row, z)))
                .expect("tokio: workload task failed"),
            _ => future::block_on(self.smol.ex.spawn(root!(smol_w, row, z))),
        }
        Sample {
            wall: start.elapsed(),
            cpu: process_cpu_time() - cpu,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Measurement and report (as in benches/runtime.rs)
// ---------------------------------------------------------------------------------------------

/// Exits the process if one measurement hangs, naming the row and runtime.
struct Watchdog {
    armed: Arc<Mutex<Option<(Instant, String)>>>,
}

impl Watchdog {
    fn start() -> Watchdog {
        let armed: Arc<Mutex<Option<(Instant, String)>>> = Arc::new(Mutex::new(None));
        let watched = armed.clone();
        thread::Builder::new()
            .name("bench-watchdog".into())
            .spawn(move || {
                loop {
                    thread::sleep(Duration::from_millis(500));
                    let guard = watched.lock().unwrap_or_else(|e| e.into_inner());
                    let expired = guard
                        .as_ref()
                        .filter(|(since, _)| since.elapsed() > HANG_LIMIT);
                    if let Some((_, what)) = expired {
                        eprintln!(
                            "error: {what} has not finished after {HANG_LIMIT:?}; treating it as a hang and exiting"
                        );
                        std::process::exit(2);
                    }
                }
            })
            .expect("cannot spawn the watchdog thread");
        Watchdog { armed }
    }

    fn arm(&self, what: String) {
        *self.armed.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), what));
    }

    fn disarm(&self) {
        *self.armed.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

struct Stats {
    median: Duration,
    p25: Duration,
    p75: Duration,
}

fn stats(samples: &mut [Duration]) -> Stats {
    assert!(!samples.is_empty());
    samples.sort();
    let n = samples.len();
    let median = if n % 2 == 1 {
        samples[n / 2]
    } else {
        (samples[n / 2 - 1] + samples[n / 2]) / 2
    };
    // Nearest-rank quartiles.
    let rank = |q: f64| samples[((q * n as f64).ceil() as usize).clamp(1, n) - 1];
    Stats {
        median,
        p25: rank(0.25),
        p75: rank(0.75),
    }
}

fn fmt_duration(d: Duration) -> String {
    let ns = d.as_nanos() as f64;
    if ns < 1e6 {
        format!("{:.1} µs", ns / 1e3)
    } else if ns < 1e9 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.3} s", ns / 1e9)
    }
}

const NAMES: [&str; 3] = ["spindle", "tokio", "smol"];

fn verdict(ratio: f64) -> &'static str {
    if ratio < 0.85 {
        "win"
    } else if ratio > 1.15 {
        "loss"
    } else {
        "tie"
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn main() {
    let cfg = Config::from_env();
    let sizes = if cfg.quick {
        Sizes::quick()
    } else {
        Sizes::full()
    };
    let rows: Vec<Row> = ROWS
        .into_iter()
        .filter(|r| {
            cfg.filters.is_empty() || cfg.filters.iter().any(|f| r.name().contains(f.as_str()))
        })
        .collect();
    if rows.is_empty() {
        let names: Vec<_> = ROWS.iter().map(|r| r.name()).collect();
        eprintln!(
            "error: no row matches {:?}; rows are: {}",
            cfg.filters,
            names.join(", ")
        );
        std::process::exit(1);
    }

    println!("# spindle process benchmark");
    println!();
    println!(
        "machine: {} logical cores; N = {} worker threads per runtime; {} mode, {} interleaved \
         runs per (row, runtime) after 1 warm-up round; medians",
        num_cpus::get(),
        cfg.workers,
        if cfg.quick {
            "QUICK (not for reporting)"
        } else {
            "full"
        },
        cfg.runs
    );
    println!("load average at start: {}", load_average());
    println!();

    let runtimes = Runtimes {
        spindle: spindle::runtime::Builder::new()
            .worker_threads(cfg.workers)
            .compute_threads(cfg.workers)
            .build()
            .expect("cannot build the spindle runtime"),
        tokio: tokio::runtime::Builder::new_multi_thread()
            .worker_threads(cfg.workers)
            .enable_all()
            .build()
            .expect("cannot build the tokio runtime"),
        smol: SmolRuntime::new(cfg.workers),
    };

    let watchdog = Watchdog::start();
    let sample = |rt: usize, row: Row, round: &str| -> Sample {
        watchdog.arm(format!("{} on {} ({round})", row.name(), NAMES[rt]));
        let d = runtimes.measure(rt, row, &sizes);
        watchdog.disarm();
        d
    };

    let raw = std::env::var("BENCH_RAW").is_ok_and(|v| !v.is_empty() && v != "0");
    let started = Instant::now();
    println!("| row | spindle | tokio | async-process (smol) | spindle/best-peer |");
    println!("|---|---:|---:|---:|---|");
    let mut spreads = Vec::new();
    for &row in &rows {
        eprintln!("running {} ({})", row.name(), row.describe(&sizes));
        for rt in 0..3 {
            sample(rt, row, "warm-up");
        }
        let mut samples: [Vec<Duration>; 3] = Default::default();
        let mut cpu: [Vec<Duration>; 3] = Default::default();
        for run in 0..cfg.runs {
            for rt in 0..3 {
                let one = sample(rt, row, &format!("run {}", run + 1));
                samples[rt].push(one.wall);
                cpu[rt].push(one.cpu);
            }
        }
        if raw {
            for (name, s) in NAMES.iter().zip(&samples) {
                let all: Vec<String> = s.iter().map(|d| fmt_duration(*d)).collect();
                eprintln!("  {name:>7} (run order): {}", all.join(", "));
            }
        }
        let st: Vec<Stats> = samples.iter_mut().map(|s| stats(s)).collect();
        let cpu: Vec<Stats> = cpu.iter_mut().map(|s| stats(s)).collect();
        let (peer, best) = if st[1].median <= st[2].median {
            ("tokio", st[1].median)
        } else {
            ("async-process", st[2].median)
        };
        // Rounded to the two decimals printed, so the number and the verdict always agree.
        let ratio = (st[0].median.as_secs_f64() / best.as_secs_f64() * 100.0).round() / 100.0;
        println!(
            "| {} | {} | {} | {} | {:.2} {} (vs {peer}) |",
            row.name(),
            fmt_duration(st[0].median),
            fmt_duration(st[1].median),
            fmt_duration(st[2].median),
            ratio,
            verdict(ratio)
        );
        spreads.push((row, st, cpu));
    }

    println!();
    println!("Spread (25th-75th percentile of the {} runs):", cfg.runs);
    println!();
    println!("| row | spindle | tokio | async-process (smol) |");
    println!("|---|---:|---:|---:|");
    for (row, st, _) in &spreads {
        let cell = |s: &Stats| format!("{}–{}", fmt_duration(s.p25), fmt_duration(s.p75));
        println!(
            "| {} | {} | {} | {} |",
            row.name(),
            cell(&st[0]),
            cell(&st[1]),
            cell(&st[2])
        );
    }
    println!();
    println!(
        "CPU time of this process per sample (user + system, all threads; the children's own \
         CPU is not included), median of the {} runs:",
        cfg.runs
    );
    println!();
    println!("| row | spindle | tokio | async-process (smol) | spindle/best-peer |");
    println!("|---|---:|---:|---:|---|");
    for (row, _, cpu) in &spreads {
        let best = cpu[1].median.min(cpu[2].median);
        let ratio = (cpu[0].median.as_secs_f64() / best.as_secs_f64() * 100.0).round() / 100.0;
        println!(
            "| {} | {} | {} | {} | {ratio:.2} |",
            row.name(),
            fmt_duration(cpu[0].median),
            fmt_duration(cpu[1].median),
            fmt_duration(cpu[2].median),
        );
    }
    println!();
    println!("Rows:");
    for row in &rows {
        println!("- {}: {}", row.name(), row.describe(&sizes));
    }
    println!();
    println!(
        "measured for {:.1} s; load average at end: {}",
        started.elapsed().as_secs_f64(),
        load_average()
    );
}
