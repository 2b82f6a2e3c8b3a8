//! Scheduler benchmark: spindle vs tokio (multi-thread) vs smol (async-executor on N threads).
//!
//! Design: all three runtimes are built once, up front, in this one process, each with the same
//! worker count N (`num_cpus::get()`, or `BENCH_WORKERS`). Every workload is written once, generic
//! over the small [`Sched`] trait, so the three runtimes execute the same code and differ only in
//! the scheduler (and its timer / socket / blocking-pool implementation). Wake-ups between tasks go
//! through one runtime-neutral channel crate (`async-channel`) for everybody. Each workload's root
//! future is spawned onto the runtime from the main thread and awaited with
//! `futures_lite::future::block_on`, which is neutral too; the wall time of that wait is a sample.
//! The exceptions are said per row: the rows copied from tokio's own `benches/rt_multi_threaded.rs`
//! keep tokio's structure (the spawning loop runs inside the runtime's `block_on` on the main
//! thread, completion is signalled through `std::sync::mpsc`); a few rows time only a part of
//! the sample (the busy rows exclude starting and stopping their background load) or report a
//! latency instead of a wall time (`stranding_latency`, `fairness`); and the `tasklocal_spawn_*`
//! rows run on spindle only (no peer inherits task-locals) and report an overhead ratio between
//! them instead of a peer ratio; `dump_100k` runs on spindle only too (no peer has a stable task
//! dump) and times one `Handle::dump()` of 100 000 idle tasks.
//!
//! For each row: one warm-up round (spindle, tokio, smol; discarded), then `runs` interleaved
//! rounds (spindle, tokio, smol, spindle, tokio, smol, ...) so that drift in machine load hits all
//! three alike. The table reports the median per (row, runtime) and spindle / best-peer, printed as
//! "win" (< 0.85), "tie" (0.85..=1.15) or "loss" (> 1.15). Rows compared with a baseline row
//! instead of peers are measured interleaved with that baseline (plain, scoped, plain, ...).
//!
//! Usage: `cargo bench --bench runtime [-- <row-filter>...]`. Environment: `BENCH_WORKERS=<n>`,
//! `BENCH_RUNS=<n>` (default 21, at least 15 unless quick), `BENCH_QUICK=1` (3 runs, reduced
//! sizes: a smoke check), `BENCH_RAW=1` (also print every sample, in run order, to stderr). See
//! docs/benchmarks.md for the method, every row's definition and the measured numbers.
//!
//! Expected duration on the 2-core machine of docs/benchmarks.md (N = 2), plus the build: a
//! full run of all rows measures for about 2 minutes when the machine is quiet (estimated from
//! the per-sample times of quiet runs; most of it is tcp_echo, the two timer_churn rows, the
//! pipeline and the 50 ms rows) and measured 285 s with the machine overloaded (load average
//! 10–14 on 2 cores, tcp_echo alone 6× slower than quiet); the budget is 10 minutes.
//! `BENCH_QUICK=1` measures for about 3–5 s.

use std::future::Future;
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use futures_lite::future;

/// Reported medians need at least this many runs per (row, runtime).
const MIN_REPORTED_RUNS: usize = 15;
/// Default runs per (row, runtime) in full mode (a full run stays well under 10 minutes on 2 cores).
const DEFAULT_RUNS: usize = 21;
/// Runs per (row, runtime) in quick (smoke-test) mode.
const QUICK_RUNS: usize = 3;
/// A single measurement taking longer than this is treated as a hang: the process exits.
const HANG_LIMIT: Duration = Duration::from_secs(120);
/// Payload size of one tcp_echo message.
const MSG: usize = 64;
/// timer_churn_yielding yields every this many sleeps (see `timer_churn_yielding`).
const CHURN_YIELD_EVERY: usize = 100;
/// tokio's `STALL_DUR`: how long one "busy" step of the spawn_many_remote_busy rows spins.
const STALL: Duration = Duration::from_micros(10);
/// Forwarding tasks in the pipeline row (the channels number one more).
const PIPELINE_STAGES: usize = 8;
/// Capacity of every bounded channel in the pipeline row.
const PIPELINE_CAP: usize = 16;
/// How long task A blocks its worker in the stranding_latency row.
const STRAND_BLOCK: Duration = Duration::from_millis(50);
/// The period of the ticker whose lateness the fairness row reports.
const TICK: Duration = Duration::from_millis(1);
/// Rounds of arithmetic in one fairness hog operation (about 0.2 µs of work).
const HOG_WORK: usize = 64;
/// The overhead target of a row compared with a baseline row (issue 11: ≤ 10 %).
const OVERHEAD_TARGET: f64 = 1.10;

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

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
        // `cargo bench` passes `--bench` to harness = false targets; every other non-flag
        // argument is a row filter (substring match).
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
    /// tokio's `NUM_SPAWN` (spawn_many_local, spawn_many_remote_idle/busy1) and the size of
    /// spawn_many_in_task, spawn_many_remote and the tasklocal_spawn rows.
    spawn_tasks: usize,
    /// tokio's `NUM_SPAWN` for spawn_many_remote_busy2.
    busy2_spawns: usize,
    /// tokio's yield_many `TASKS` (also yield_many_in_task).
    yield_tasks: usize,
    /// tokio's yield_many `NUM_YIELD` (also yield_many_in_task).
    yields_per_task: usize,
    /// tokio's ping_pong `NUM_PINGS`.
    pings: usize,
    ping_pong_pairs: usize,
    /// tokio's chained_spawn `ITER`.
    chain_depth: usize,
    blocking_calls: usize,
    timer_tasks: usize,
    churn_sleeps: usize,
    tcp_conns: usize,
    tcp_round_trips: usize,
    mpsc_producers: usize,
    mpsc_per_producer: usize,
    mpsc_capacity: usize,
    pipeline_messages: usize,
    /// Operations per hog task in the fairness row.
    hog_ops: usize,
    /// Idle tasks in the dump_100k row.
    dump_tasks: usize,
}

impl Sizes {
    fn full() -> Sizes {
        Sizes {
            spawn_tasks: 10_000,
            busy2_spawns: 1_000,
            yield_tasks: 200,
            yields_per_task: 1_000,
            pings: 1_000,
            ping_pong_pairs: 1_000,
            chain_depth: 1_000,
            blocking_calls: 10_000,
            timer_tasks: 100_000,
            churn_sleeps: 1_000_000,
            tcp_conns: 64,
            tcp_round_trips: 1_000,
            mpsc_producers: 4,
            mpsc_per_producer: 25_000,
            mpsc_capacity: 1_024,
            pipeline_messages: 100_000,
            hog_ops: 250_000,
            dump_tasks: 100_000,
        }
    }

    fn quick() -> Sizes {
        Sizes {
            spawn_tasks: 1_000,
            busy2_spawns: 100,
            yield_tasks: 50,
            yields_per_task: 100,
            pings: 100,
            ping_pong_pairs: 100,
            chain_depth: 1_000,
            blocking_calls: 1_000,
            timer_tasks: 10_000,
            churn_sleeps: 100_000,
            tcp_conns: 16,
            tcp_round_trips: 100,
            mpsc_producers: 4,
            mpsc_per_producer: 2_500,
            mpsc_capacity: 1_024,
            pipeline_messages: 10_000,
            hog_ops: 50_000,
            dump_tasks: 10_000,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Row {
    // tokio's benches/rt_multi_threaded.rs, as tokio defines them.
    SpawnManyLocal,
    SpawnManyRemoteIdle,
    SpawnManyRemoteBusy1,
    SpawnManyRemoteBusy2,
    PingPong,
    YieldMany,
    ChainedSpawn,
    // Our own scheduler rows.
    SpawnManyInTask,
    SpawnManyRemote,
    YieldManyInTask,
    PingPongPairs,
    Pipeline,
    StrandingLatency,
    Fairness,
    // Blocking pool, timers, sockets.
    SpawnBlocking,
    Timers,
    TimerChurn,
    TimerChurnYielding,
    TcpEcho,
    Mpsc,
    // spindle only: the cost of task-local inheritance per spawn (issue 11).
    TaskLocalSpawnPlain,
    TaskLocalSpawnScoped,
    // spindle only: the cost of one `Handle::dump()` of many idle tasks (issue 14).
    Dump,
}

/// Every row, in table order. A row compared with a baseline row comes right after it.
const ROWS: &[Row] = &[
    Row::SpawnManyLocal,
    Row::SpawnManyRemoteIdle,
    Row::SpawnManyRemoteBusy1,
    Row::SpawnManyRemoteBusy2,
    Row::PingPong,
    Row::YieldMany,
    Row::ChainedSpawn,
    Row::SpawnManyInTask,
    Row::SpawnManyRemote,
    Row::YieldManyInTask,
    Row::PingPongPairs,
    Row::Pipeline,
    Row::StrandingLatency,
    Row::Fairness,
    Row::SpawnBlocking,
    Row::Timers,
    Row::TimerChurn,
    Row::TimerChurnYielding,
    Row::TcpEcho,
    Row::Mpsc,
    Row::TaskLocalSpawnPlain,
    Row::TaskLocalSpawnScoped,
    Row::Dump,
];

impl Row {
    fn name(self) -> &'static str {
        match self {
            Row::SpawnManyLocal => "spawn_many_local",
            Row::SpawnManyRemoteIdle => "spawn_many_remote_idle",
            Row::SpawnManyRemoteBusy1 => "spawn_many_remote_busy1",
            Row::SpawnManyRemoteBusy2 => "spawn_many_remote_busy2",
            Row::PingPong => "ping_pong",
            Row::YieldMany => "yield_many",
            Row::ChainedSpawn => "chained_spawn",
            Row::SpawnManyInTask => "spawn_many_in_task",
            Row::SpawnManyRemote => "spawn_many_remote",
            Row::YieldManyInTask => "yield_many_in_task",
            Row::PingPongPairs => "ping_pong_pairs",
            Row::Pipeline => "pipeline",
            Row::StrandingLatency => "stranding_latency",
            Row::Fairness => "fairness",
            Row::SpawnBlocking => "spawn_blocking",
            Row::Timers => "timers",
            Row::TimerChurn => "timer_churn",
            Row::TimerChurnYielding => "timer_churn_yielding",
            Row::TcpEcho => "tcp_echo",
            Row::Mpsc => "mpsc",
            Row::TaskLocalSpawnPlain => "tasklocal_spawn_plain",
            Row::TaskLocalSpawnScoped => "tasklocal_spawn_scoped",
            Row::Dump => "dump_100k",
        }
    }

    /// One line per row for the "Workloads" list; says what a sample is when it is not the
    /// wall time of the whole workload.
    fn describe(self, z: &Sizes, workers: usize) -> String {
        match self {
            Row::SpawnManyLocal => format!(
                "tokio's: {} spawns from inside block_on on the main thread, last one signals a std channel",
                z.spawn_tasks
            ),
            Row::SpawnManyRemoteIdle => format!(
                "tokio's: {} spawns from the main thread, then block_on awaits every JoinHandle",
                z.spawn_tasks
            ),
            Row::SpawnManyRemoteBusy1 => format!(
                "as spawn_many_remote_idle while {} tasks loop {{yield; spin 10 µs}} (not timed: their start and stop)",
                2 * workers
            ),
            Row::SpawnManyRemoteBusy2 => format!(
                "{} spawns + joins as in spawn_many_remote_idle while {workers} chains of tasks each spin 10 µs and spawn the next",
                z.busy2_spawns
            ),
            Row::PingPong => format!(
                "tokio's: {} tasks each spawn a partner and exchange one message each way (bounded(1) as oneshot)",
                z.pings
            ),
            Row::YieldMany => format!(
                "tokio's: {} tasks spawned from the main thread x {} yields",
                z.yield_tasks, z.yields_per_task
            ),
            Row::ChainedSpawn => format!(
                "tokio's: each task spawns the next, depth {}, started from block_on",
                z.chain_depth
            ),
            Row::SpawnManyInTask => format!("{} spawns from inside a task", z.spawn_tasks),
            Row::SpawnManyRemote => format!(
                "{} detached spawns from a non-runtime thread",
                z.spawn_tasks
            ),
            Row::YieldManyInTask => format!(
                "{} tasks spawned from a task x {} yields",
                z.yield_tasks, z.yields_per_task
            ),
            Row::PingPongPairs => format!(
                "{} task pairs spawned by one task, one message each way",
                z.ping_pong_pairs
            ),
            Row::Pipeline => format!(
                "{} messages through {PIPELINE_STAGES} forwarding tasks, bounded({PIPELINE_CAP}) channels",
                z.pipeline_messages
            ),
            Row::StrandingLatency => format!(
                "sample = delay until task B runs after task A woke it and then blocked its worker for {} ms",
                STRAND_BLOCK.as_millis()
            ),
            Row::Fairness => format!(
                "sample = worst lateness of a {} ms ticker while {workers} hogs do {} budget-spending ops each",
                TICK.as_millis(),
                z.hog_ops
            ),
            Row::SpawnBlocking => format!("{} tiny blocking closures", z.blocking_calls),
            Row::Timers => format!("{} tasks each sleeping 1-2 ms", z.timer_tasks),
            Row::TimerChurn => format!(
                "{} sleeps created, polled once, dropped (one task, no yields)",
                z.churn_sleeps
            ),
            Row::TimerChurnYielding => {
                format!("as timer_churn, yielding every {CHURN_YIELD_EVERY} sleeps",)
            }
            Row::TcpEcho => format!(
                "{} connections x {} round trips of {MSG} B",
                z.tcp_conns, z.tcp_round_trips
            ),
            Row::Mpsc => format!(
                "{} producers x {} messages -> 1 consumer, bounded({})",
                z.mpsc_producers, z.mpsc_per_producer, z.mpsc_capacity
            ),
            Row::TaskLocalSpawnPlain => format!(
                "spindle only: spawn_many_local's shape ({} spawns), no task-local set",
                z.spawn_tasks
            ),
            Row::TaskLocalSpawnScoped => {
                "spindle only: as tasklocal_spawn_plain inside task_local! \
                 KEY.scope(..), every task inherits it"
                    .to_string()
            }
            Row::Dump => format!(
                "spindle only: one Handle::dump() of {} idle tasks (a sample times the dump alone)",
                z.dump_tasks
            ),
        }
    }

    /// Whether tokio and smol run the row too (false: spindle only, peers print "n/a").
    fn has_peers(self) -> bool {
        !matches!(
            self,
            Row::TaskLocalSpawnPlain | Row::TaskLocalSpawnScoped | Row::Dump
        )
    }

    /// How many of [`NAMES`] run the row (spindle first).
    fn runtimes(self) -> usize {
        if self.has_peers() { 3 } else { 1 }
    }

    /// The row whose spindle median this row is compared with (ratio and target) instead of a
    /// peer; the two are measured interleaved.
    fn baseline(self) -> Option<Row> {
        match self {
            Row::TaskLocalSpawnScoped => Some(Row::TaskLocalSpawnPlain),
            _ => None,
        }
    }

    /// The fewest workers the row means something with.
    fn min_workers(self) -> usize {
        match self {
            // B can only run early on another worker.
            Row::StrandingLatency => 2,
            _ => 1,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The runtime-neutral surface every workload is written against
// ---------------------------------------------------------------------------------------------

/// What a workload needs from a runtime. Implemented by [`Spindle`], [`Tokio`] and [`Smol`]
/// with each runtime's idiomatic call for every operation.
trait Sched: Clone + Send + Sync + 'static {
    /// Spawns a detached task from inside a task of this runtime (the idiomatic in-task spawn).
    fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static;

    /// Spawns a detached task from a thread that is not part of the runtime.
    fn spawn_remote<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static;

    /// Spawns `future` from the calling (non-runtime) thread and blocks that thread until the
    /// task's output is ready.
    fn root<T, F>(&self, future: F) -> T
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static;

    /// Spawns a task from a thread that is not part of the runtime and returns its join handle
    /// (awaited, it yields the task's output). The spawn happens in this call, not when the
    /// returned future is first polled.
    fn spawn_remote_join<T, F>(&self, future: F) -> impl Future<Output = T> + Send + 'static
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static;

    /// Runs `future` on the calling (non-runtime) thread with the runtime as the context, so
    /// that [`Sched::spawn`] works inside it: tokio's and spindle's `Handle::block_on`; smol has
    /// no runtime context, so `futures_lite::future::block_on`.
    fn block_on<T, F>(&self, future: F) -> T
    where
        F: Future<Output = T>;

    /// The runtime's `yield_now`.
    fn yield_now() -> impl Future<Output = ()> + Send;

    /// Spends one unit of the runtime's cooperative budget, yielding when it is spent (tokio's
    /// and spindle's `consume_budget`). smol has no budget: ready at once, never yields.
    fn consume_budget() -> impl Future<Output = ()> + Send;

    /// Starts `f` on the runtime's blocking/compute pool at once; the future yields its result.
    fn spawn_blocking<R, F>(f: F) -> impl Future<Output = R> + Send + 'static
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static;

    /// The runtime's sleep.
    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send + 'static;

    /// The tcp_echo workload (socket types differ per runtime; the body is the same macro).
    fn tcp_echo(
        self,
        conns: usize,
        round_trips: usize,
    ) -> impl Future<Output = ()> + Send + 'static;

    /// The mpsc workload with the runtime's own (or idiomatic) bounded channel.
    fn mpsc(
        self,
        producers: usize,
        per_producer: usize,
        capacity: usize,
    ) -> impl Future<Output = ()> + Send + 'static;
}

/// Counts completions down to zero; the last one sends a single message on an async-channel.
#[derive(Clone)]
struct Latch(Arc<LatchInner>);

struct LatchInner {
    left: AtomicUsize,
    done: async_channel::Sender<()>,
}

impl Latch {
    fn new(count: usize) -> (Latch, async_channel::Receiver<()>) {
        assert!(count > 0, "a latch needs at least one participant");
        let (done, rx) = async_channel::bounded(1);
        let latch = Latch(Arc::new(LatchInner {
            left: AtomicUsize::new(count),
            done,
        }));
        (latch, rx)
    }

    fn count_down(&self) {
        // AcqRel: the last decrement must happen-after every other participant's work.
        if self.0.left.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0
                .done
                .try_send(())
                .expect("latch completed twice or its receiver is gone");
        }
    }
}

async fn wait(done: async_channel::Receiver<()>) {
    done.recv()
        .await
        .expect("every latch participant was dropped before finishing");
}

// ---------------------------------------------------------------------------------------------
// Workloads: tokio's benches/rt_multi_threaded.rs
// ---------------------------------------------------------------------------------------------
//
// Copied from tokio's own scheduler benchmark (tokio-rs/tokio, benches/rt_multi_threaded.rs,
// read at commit ea91b33ca57f, 2026-08) with tokio's sizes and structure:
//
// - `rt()`: `new_multi_thread().worker_threads(NUM_WORKERS = 4).enable_all()`. Here every
//   runtime has N workers (BENCH_WORKERS / num_cpus), and the background load that tokio sizes
//   from NUM_WORKERS is sized from N.
// - spawn_many_local: `rem.store(NUM_SPAWN = 10_000)`; `rt.block_on(async { for _ in 0..NUM_SPAWN
//   { tokio::spawn(async move { if 1 == rem.fetch_sub(1, Relaxed) { tx.send(()) } }) }
//   rx.recv() })` with `tx, rx = std::sync::mpsc::sync_channel(1000)`. Note that on tokio's
//   multi-thread runtime `block_on` runs on the calling thread, not on a worker, so these are
//   spawns from outside the workers into the runtime's injection queue; the in-task spawn that
//   this file measured under the same name until now is kept as `spawn_many_in_task`.
// - spawn_many_remote_idle: `for _ in 0..NUM_SPAWN { handles.push(rt.spawn(async {})) }` from
//   the bench thread, then `rt.block_on(async { for h in handles.drain(..) { h.await.unwrap() } })`.
// - spawn_many_remote_busy1: as remote_idle, while `2 * NUM_WORKERS` tasks spawned with
//   `rt.spawn` loop `while flag.load(Relaxed) { yield_now().await; stall() }`, where `stall()`
//   spins for STALL_DUR = 10 µs calling `std::thread::yield_now()`. tokio starts them once
//   before criterion's warm-up and stops them after the bench; we start them before every
//   sample and stop them after it (not timed), since the interleaved rounds would otherwise run
//   one runtime's load under another runtime's samples.
// - spawn_many_remote_busy2: NUM_SPAWN = 1_000 spawns + joins as in remote_idle, while
//   NUM_WORKERS chains run `rt.spawn(async { iter(flag) })` with `fn iter(flag) {
//   tokio::spawn(async { if flag.load(Relaxed) { stall(); iter(flag) } }) }`.
// - ping_pong: NUM_PINGS = 1_000; `rt.block_on(async { tokio::spawn(async move { for _ in
//   0..NUM_PINGS { tokio::spawn(async move { let (tx1, rx1) = oneshot::channel(); let (tx2, rx2)
//   = oneshot::channel(); tokio::spawn(async move { rx1.await.unwrap(); tx2.send(()).unwrap() });
//   tx1.send(()).unwrap(); rx2.await.unwrap(); if 1 == rem.fetch_sub(1, Relaxed) {
//   done_tx.send(()).unwrap() } }) } }); done_rx.recv().unwrap() })`. The one substitution:
//   `tokio::sync::oneshot` becomes `async_channel::bounded(1)` with `try_send` for every runtime
//   (this file's rule: one neutral channel crate for every wake-up between tasks).
// - yield_many: NUM_YIELD = 1_000, TASKS = 200; `for _ in 0..TASKS { rt.spawn(async move { for _
//   in 0..NUM_YIELD { yield_now().await } tx.send(()).unwrap() }) }` from the bench thread, then
//   `for _ in 0..TASKS { rx.recv() }` with `sync_channel(TASKS)`. The previous yield_many of this
//   file spawned from inside a task; it is kept as `yield_many_in_task`.
// - chained_spawn: ITER = 1_000; `fn iter(done_tx, n) { if n == 0 { done_tx.send(()) } else {
//   tokio::spawn(async move { iter(done_tx, n - 1) }) } }`; `rt.block_on(async {
//   tokio::spawn(async move { iter(done_tx, ITER) }); done_rx.recv() })`. This replaces the
//   previous chained_spawn of this file, which was the same workload (one spawn from outside,
//   then 1 000 chained in-task spawns) and differed only in how the end was signalled (an
//   async-channel to a root task instead of a std channel to the block_on thread).

/// Runs `f` and returns its wall time.
fn timed(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

/// tokio's `stall()`: spins for [`STALL`], handing the CPU to the OS in between.
fn stall() {
    let now = Instant::now();
    while now.elapsed() < STALL {
        thread::yield_now();
    }
}

fn spawn_many_local<S: Sched>(s: &S, n: usize) {
    let (tx, rx) = mpsc::sync_channel(1);
    let rem = Arc::new(AtomicUsize::new(n));
    let spawner = s.clone();
    s.block_on(async move {
        for _ in 0..n {
            let tx = tx.clone();
            let rem = rem.clone();
            spawner.spawn(async move {
                // Relaxed, as in tokio: only the count matters, the channel publishes the end.
                if 1 == rem.fetch_sub(1, Ordering::Relaxed) {
                    tx.send(()).expect("spawn_many_local: receiver gone");
                }
            });
        }
        rx.recv().expect("spawn_many_local: a task was lost");
    });
}

/// `n` spawns from this (non-runtime) thread, then `block_on` awaits every join handle.
fn spawn_many_remote_join<S: Sched>(s: &S, n: usize) {
    let handles: Vec<_> = (0..n).map(|_| s.spawn_remote_join(async {})).collect();
    s.block_on(async move {
        for handle in handles {
            handle.await;
        }
    });
}

/// Times [`spawn_many_remote_join`] while `2 * workers` tasks yield and stall in a loop.
fn spawn_many_remote_busy1<S: Sched>(s: &S, n: usize, workers: usize) -> Duration {
    let busy = 2 * workers;
    let flag = Arc::new(AtomicBool::new(true));
    let (started, started_rx) = Latch::new(busy);
    let (ended, ended_rx) = Latch::new(busy);
    for _ in 0..busy {
        let (flag, started, ended) = (flag.clone(), started.clone(), ended.clone());
        s.spawn_remote(async move {
            started.count_down();
            // Relaxed, as in tokio: a stop flag; the end latch publishes the rest.
            while flag.load(Ordering::Relaxed) {
                S::yield_now().await;
                stall();
            }
            ended.count_down();
        });
    }
    drop((started, ended));
    future::block_on(wait(started_rx));
    let elapsed = timed(|| spawn_many_remote_join(s, n));
    // Relaxed: a stop flag; the end latch waits for every busy task anyway.
    flag.store(false, Ordering::Relaxed);
    future::block_on(wait(ended_rx));
    elapsed
}

/// One link of a busy2 chain: spins, then spawns the next link, until the flag drops.
/// A plain function (not `async fn`) so the spawned future's type is not recursive.
fn busy_chain<S: Sched>(s: S, flag: Arc<AtomicBool>, ended: Latch) {
    let next = s.clone();
    s.spawn(async move {
        // Relaxed, as in tokio: a stop flag; the end latch publishes the rest.
        if flag.load(Ordering::Relaxed) {
            stall();
            busy_chain(next, flag, ended);
        } else {
            ended.count_down();
        }
    });
}

/// Times [`spawn_many_remote_join`] while `workers` chains of tasks stall and respawn.
fn spawn_many_remote_busy2<S: Sched>(s: &S, n: usize, workers: usize) -> Duration {
    let flag = Arc::new(AtomicBool::new(true));
    let (started, started_rx) = Latch::new(workers);
    let (ended, ended_rx) = Latch::new(workers);
    for _ in 0..workers {
        let (chain, flag, started, ended) =
            (s.clone(), flag.clone(), started.clone(), ended.clone());
        s.spawn_remote(async move {
            started.count_down();
            busy_chain(chain, flag, ended);
        });
    }
    drop((started, ended));
    future::block_on(wait(started_rx));
    let elapsed = timed(|| spawn_many_remote_join(s, n));
    // Relaxed: a stop flag; the end latch waits for every busy task anyway.
    flag.store(false, Ordering::Relaxed);
    future::block_on(wait(ended_rx));
    elapsed
}

fn ping_pong<S: Sched>(s: &S, pings: usize) {
    let (done_tx, done_rx) = mpsc::sync_channel(1);
    let rem = Arc::new(AtomicUsize::new(pings));
    let spawner = s.clone();
    s.block_on(async move {
        let outer = spawner.clone();
        spawner.spawn(async move {
            for _ in 0..pings {
                let rem = rem.clone();
                let done_tx = done_tx.clone();
                let inner = outer.clone();
                outer.spawn(async move {
                    let (tx1, rx1) = async_channel::bounded::<()>(1);
                    let (tx2, rx2) = async_channel::bounded::<()>(1);
                    inner.spawn(async move {
                        rx1.recv().await.expect("ping_pong: ping sender dropped");
                        tx2.try_send(()).expect("ping_pong: pong receiver dropped");
                    });
                    tx1.try_send(()).expect("ping_pong: ping receiver dropped");
                    rx2.recv().await.expect("ping_pong: pong sender dropped");
                    // Relaxed, as in tokio: only the count matters, the channel publishes the end.
                    if 1 == rem.fetch_sub(1, Ordering::Relaxed) {
                        done_tx.send(()).expect("ping_pong: receiver gone");
                    }
                });
            }
        });
        done_rx.recv().expect("ping_pong: a task was lost");
    });
}

fn yield_many<S: Sched>(s: &S, tasks: usize, yields: usize) {
    let (tx, rx) = mpsc::sync_channel(tasks);
    for _ in 0..tasks {
        let tx = tx.clone();
        s.spawn_remote(async move {
            for _ in 0..yields {
                S::yield_now().await;
            }
            tx.send(()).expect("yield_many: receiver gone");
        });
    }
    for _ in 0..tasks {
        rx.recv().expect("yield_many: a task was lost");
    }
}

/// tokio's `iter`. A plain function (not `async fn`) so the spawned future's type is not
/// recursive.
fn chain<S: Sched>(s: S, done_tx: mpsc::SyncSender<()>, n: usize) {
    if n == 0 {
        done_tx.send(()).expect("chained_spawn: receiver gone");
    } else {
        let next = s.clone();
        s.spawn(async move { chain(next, done_tx, n - 1) });
    }
}

fn chained_spawn<S: Sched>(s: &S, depth: usize) {
    let (done_tx, done_rx) = mpsc::sync_channel(1);
    let spawner = s.clone();
    s.block_on(async move {
        let first = spawner.clone();
        spawner.spawn(async move { chain(first, done_tx, depth) });
        done_rx.recv().expect("chained_spawn: the chain broke");
    });
}

// ---------------------------------------------------------------------------------------------
// Workloads: our own
// ---------------------------------------------------------------------------------------------

/// Spawns from inside a task (a worker's local queue; tokio's spawn_many_local spawns from
/// `block_on`, outside the workers). This file's `spawn_many_local` until tokio's was added.
async fn spawn_many_in_task<S: Sched>(s: S, n: usize) {
    let (latch, done) = Latch::new(n);
    for _ in 0..n {
        let latch = latch.clone();
        s.spawn(async move { latch.count_down() });
    }
    drop(latch);
    wait(done).await;
}

/// Runs on the main thread: spawns from outside, then blocks until the last task signals.
fn spawn_many_remote<S: Sched>(s: &S, n: usize) {
    let (latch, done) = Latch::new(n);
    for _ in 0..n {
        let latch = latch.clone();
        s.spawn_remote(async move { latch.count_down() });
    }
    drop(latch);
    future::block_on(wait(done));
}

/// tokio's yield_many with the tasks spawned from inside a task. This file's `yield_many`
/// until tokio's was added.
async fn yield_many_in_task<S: Sched>(s: S, tasks: usize, yields: usize) {
    let (latch, done) = Latch::new(tasks);
    for _ in 0..tasks {
        let latch = latch.clone();
        s.spawn(async move {
            for _ in 0..yields {
                S::yield_now().await;
            }
            latch.count_down();
        });
    }
    drop(latch);
    wait(done).await;
}

/// One task spawns `pairs` pairs; each pair exchanges one message each way. This file's
/// `ping_pong` until tokio's was added (tokio's has every pinger spawn its own partner).
async fn ping_pong_pairs<S: Sched>(s: S, pairs: usize) {
    let (latch, done) = Latch::new(pairs);
    for i in 0..pairs {
        let (ping_tx, ping_rx) = async_channel::bounded::<usize>(1);
        let (pong_tx, pong_rx) = async_channel::bounded::<usize>(1);
        s.spawn(async move {
            let v = ping_rx.recv().await.expect("ping sender dropped");
            pong_tx.send(v + 1).await.expect("pong receiver dropped");
        });
        let latch = latch.clone();
        s.spawn(async move {
            ping_tx.send(i).await.expect("ping receiver dropped");
            let v = pong_rx.recv().await.expect("pong sender dropped");
            assert_eq!(v, i + 1, "ping_pong reply mismatch");
            latch.count_down();
        });
    }
    drop(latch);
    wait(done).await;
}

/// A message-forwarding pipeline: a source task, [`PIPELINE_STAGES`] tasks that each receive
/// from one `bounded(PIPELINE_CAP)` channel and send to the next, and a sink that checks every
/// message arrives once and in order.
///
/// This is the load that tokio's stealable-LIFO-slot attempt slowed down by 29 % (tokio#8065,
/// reverted in tokio#8100): every send wakes the next stage, and with small channels the wake
/// chain hops from task to task, which a LIFO slot keeps on one warm core. It guards spindle's
/// no-stranding design against the same cost. Sizes: 8 stages (9 channels) of capacity 16 keep
/// both "channel full" and "channel empty" hand-offs in play; 100 000 messages make 900 000
/// channel hops, about 50–300 ms per sample on the 2-core machine, long enough that the
/// set-up (10 spawns) does not matter and short enough for 21 interleaved runs.
async fn pipeline<S: Sched>(s: S, messages: usize) {
    let (latch, done) = Latch::new(PIPELINE_STAGES + 2);
    let (source_tx, mut input) = async_channel::bounded::<u64>(PIPELINE_CAP);
    for _ in 0..PIPELINE_STAGES {
        let (output, next_input) = async_channel::bounded::<u64>(PIPELINE_CAP);
        let stage_input = std::mem::replace(&mut input, next_input);
        let latch = latch.clone();
        s.spawn(async move {
            // Ends when the previous stage has finished and dropped its sender.
            while let Ok(message) = stage_input.recv().await {
                output
                    .send(message)
                    .await
                    .expect("pipeline: the next stage is gone");
            }
            drop(output);
            latch.count_down();
        });
    }
    let sink_latch = latch.clone();
    s.spawn(async move {
        let mut expected = 0u64;
        while let Ok(message) = input.recv().await {
            assert_eq!(
                message, expected,
                "pipeline: a message was lost or reordered"
            );
            expected += 1;
        }
        assert_eq!(expected, messages as u64, "pipeline: messages were lost");
        sink_latch.count_down();
    });
    let source_latch = latch.clone();
    s.spawn(async move {
        for message in 0..messages as u64 {
            source_tx
                .send(message)
                .await
                .expect("pipeline: the first stage is gone");
        }
        drop(source_tx);
        source_latch.count_down();
    });
    drop(latch);
    wait(done).await;
}

/// The stranding latency: how long a woken task waits while the worker it was woken onto is
/// blocked. The sample is that latency, not the wall time.
///
/// Task B parks on a channel. Task A (spawned 5 ms later, when B is parked and every worker is
/// idle) sends B the current `Instant`, which wakes B onto A's worker (into its LIFO slot on
/// tokio and spindle), and then blocks that worker in `std::thread::sleep(STRAND_BLOCK)` — a
/// long synchronous call, as a blocking file read or a heavy computation in a task would.
/// When B first runs it measures how long ago A woke it. Needs at least 2 workers (another
/// worker is idle the whole time). Lower is better: a scheduler that lets the idle worker take
/// B reports microseconds; tokio, whose LIFO slot cannot be stolen and which does not wake
/// another worker for it, reports about the whole 50 ms (tokio#4941). Sleeping rather than
/// spinning keeps the shared 2-core machine free for the worker that should pick B up.
async fn stranding_latency<S: Sched>(s: S) -> Duration {
    let (wake_tx, wake_rx) = async_channel::bounded::<Instant>(1);
    let (latency_tx, latency_rx) = async_channel::bounded::<Duration>(1);
    let (latch, done) = Latch::new(2);
    let b_latch = latch.clone();
    s.spawn(async move {
        let woken_at = wake_rx.recv().await.expect("stranding: A is gone");
        latency_tx
            .try_send(woken_at.elapsed())
            .expect("stranding: the root is gone");
        b_latch.count_down();
    });
    // Long enough for B to be parked on its channel and for every worker to go idle.
    S::sleep(Duration::from_millis(5)).await;
    let a_latch = latch.clone();
    s.spawn(async move {
        wake_tx
            .try_send(Instant::now())
            .expect("stranding: B is gone");
        thread::sleep(STRAND_BLOCK);
        a_latch.count_down();
    });
    drop(latch);
    wait(done).await;
    latency_rx.try_recv().expect("stranding: B did not report")
}

/// A little CPU work that the optimiser cannot fold (about 0.2 µs on the 2-core machine).
fn hog_work(mut x: u64) -> u64 {
    for _ in 0..HOG_WORK {
        x = black_box(x)
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
    }
    x
}

/// Fairness under always-ready work: the worst lateness of a periodic 1 ms timer task while
/// one "hog" task per worker runs `ops` operations that are always ready and each spend one unit
/// of the cooperative budget (`consume_budget`, i.e. what a budget-aware always-ready channel
/// or socket does). The sample is the worst lateness (actual wake-up minus deadline) over every
/// tick during the run, not the wall time.
///
/// Lower is better. The floor is the timer's resolution (about 1 ms on tokio and spindle, less on
/// smol); a runtime whose hogs yield every 128 units and whose timers keep firing while every
/// worker is busy stays near it; a runtime without a budget (smol: `consume_budget` is a no-op
/// there) lets the hogs hold every worker and reports about the hogs' whole run.
async fn fairness<S: Sched>(s: S, hogs: usize, ops: usize) -> Duration {
    let running = Arc::new(AtomicBool::new(true));
    let (report_tx, report_rx) = async_channel::bounded::<(Duration, usize)>(1);
    let ticking = running.clone();
    s.spawn(async move {
        let mut worst = Duration::ZERO;
        let mut ticks = 0;
        // Acquire/Release: the flag's store happens after every hog finished; nothing else rides on it.
        while ticking.load(Ordering::Acquire) {
            let deadline = Instant::now() + TICK;
            S::sleep(TICK).await;
            worst = worst.max(Instant::now().saturating_duration_since(deadline));
            ticks += 1;
        }
        report_tx
            .try_send((worst, ticks))
            .expect("fairness: the root is gone");
    });
    // Let the ticker park on its first sleep.
    S::sleep(Duration::from_millis(2)).await;
    let (latch, done) = Latch::new(hogs);
    for h in 0..hogs {
        let latch = latch.clone();
        s.spawn(async move {
            let mut x = h as u64;
            for _ in 0..ops {
                x = hog_work(x);
                S::consume_budget().await;
            }
            black_box(x);
            latch.count_down();
        });
    }
    drop(latch);
    wait(done).await;
    running.store(false, Ordering::Release);
    let (worst, ticks) = report_rx
        .recv()
        .await
        .expect("fairness: the ticker is gone");
    assert!(ticks > 0, "fairness: the ticker never ticked");
    worst
}

async fn spawn_blocking<S: Sched>(n: usize) {
    let handles: Vec<_> = (0..n as u64)
        .map(|i| S::spawn_blocking(move || black_box(i).wrapping_mul(3)))
        .collect();
    let mut sum = 0u64;
    for h in handles {
        sum += h.await;
    }
    let n = n as u64;
    assert_eq!(sum, 3 * n * (n - 1) / 2, "spawn_blocking results lost");
}

async fn timers<S: Sched>(s: S, n: usize) {
    let (latch, done) = Latch::new(n);
    for i in 0..n {
        // 1 ms .. 2 ms, spread over 1 000 distinct deadlines.
        let d = Duration::from_micros(1_000 + (i % 1_000) as u64);
        let latch = latch.clone();
        // One task in 1 000 checks that its sleep really lasted (cheap; same for every runtime).
        let started = (i % 1_000 == 0).then(Instant::now);
        s.spawn(async move {
            S::sleep(d).await;
            if let Some(started) = started {
                assert!(
                    started.elapsed() >= d,
                    "a sleep finished before its deadline"
                );
            }
            latch.count_down();
        });
    }
    drop(latch);
    wait(done).await;
}

/// Creates, polls once (registering the timer) and drops `n` sleeps on one task, without ever
/// yielding: the whole row is one task poll (issue 9's definition).
///
/// Every sleep is really registered and cancelled on all three runtimes: a pending sleep does
/// not spend cooperative budget on tokio (1.54: `Sleep` gives the unit back when it returns
/// `Pending`; checked by polling 300 sleeps in one task poll with counting wakers: all 300
/// fired) nor on spindle, and smol has no budget.
async fn timer_churn<S: Sched>(n: usize) {
    for i in 0..n {
        let d = Duration::from_millis(1_000 + (i % 1_000) as u64);
        let polled = future::poll_once(S::sleep(d)).await;
        assert!(polled.is_none(), "a one-second sleep completed at once");
    }
}

/// [`timer_churn`] with a yield every [`CHURN_YIELD_EVERY`] sleeps (the same for every
/// runtime): registrations interleaved with trips through the scheduler, which on tokio also
/// turn the timer driver (a tokio `yield_now` is deferred until the worker's next park, which
/// polls the driver). This file's `timer_churn` until the no-yield row was added; the yields
/// were added on the belief that tokio's budget would stop registering later sleeps, which is
/// not so (see [`timer_churn`]).
async fn timer_churn_yielding<S: Sched>(n: usize) {
    for i in 0..n {
        if i % CHURN_YIELD_EVERY == 0 {
            S::yield_now().await;
        }
        let d = Duration::from_millis(1_000 + (i % 1_000) as u64);
        let polled = future::poll_once(S::sleep(d)).await;
        assert!(polled.is_none(), "a one-second sleep completed at once");
    }
}

/// The tcp_echo body, expanded once per runtime with that runtime's socket types and I/O traits.
///
/// Server and clients run on the same runtime; one accept task spawns an echo task per
/// connection; every client does `round_trips` x (write 64 B, read 64 B back, compare). The
/// workload ends when every client *and* every server task has finished, so nothing from one
/// sample is still running in the next.
macro_rules! tcp_echo_body {
    ($s:expr, $conns:expr, $trips:expr, $listener:ty, $stream:ty, $($io:ident)::+) => {{
        use $($io)::+::{AsyncReadExt as _, AsyncWriteExt as _};
        let s = $s;
        let conns: usize = $conns;
        let trips: usize = $trips;
        async move {
            let listener = <$listener>::bind("127.0.0.1:0")
                .await
                .expect("tcp_echo: bind 127.0.0.1:0");
            let addr = listener.local_addr().expect("tcp_echo: local_addr");
            let (latch, done) = Latch::new(2 * conns);
            let server = s.clone();
            let server_latch = latch.clone();
            s.spawn(async move {
                for _ in 0..conns {
                    let (mut stream, _) = listener.accept().await.expect("tcp_echo: accept");
                    stream.set_nodelay(true).expect("tcp_echo: set_nodelay");
                    let latch = server_latch.clone();
                    server.spawn(async move {
                        let mut buf = [0u8; MSG];
                        // Ends with an error at EOF, when the client has closed.
                        while stream.read_exact(&mut buf).await.is_ok() {
                            stream.write_all(&buf).await.expect("tcp_echo: server write");
                        }
                        latch.count_down();
                    });
                }
            });
            for c in 0..conns {
                let latch = latch.clone();
                s.spawn(async move {
                    let mut stream = <$stream>::connect(addr).await.expect("tcp_echo: connect");
                    stream.set_nodelay(true).expect("tcp_echo: set_nodelay");
                    let mut out = [c as u8; MSG];
                    let mut back = [0u8; MSG];
                    for i in 0..trips {
                        out[MSG - 1] = i as u8;
                        stream.write_all(&out).await.expect("tcp_echo: client write");
                        stream.read_exact(&mut back).await.expect("tcp_echo: client read");
                        assert_eq!(back, out, "tcp_echo: echoed bytes differ");
                    }
                    drop(stream);
                    latch.count_down();
                });
            }
            drop(latch);
            wait(done).await;
        }
    }};
}

/// The mpsc body, expanded once per runtime with that runtime's bounded channel: `producers`
/// tasks each send `per_producer` numbers (awaiting `send`, so a full channel applies
/// backpressure) into one channel of `capacity`; the root task is the single consumer and checks
/// the count and the sum. It also waits for every producer task to finish.
macro_rules! mpsc_body {
    ($s:expr, $producers:expr, $per:expr, $channel:expr, $rx:ident => $next:expr) => {{
        let s = $s;
        let producers: usize = $producers;
        let per: usize = $per;
        async move {
            #[allow(unused_mut)]
            let (tx, mut $rx) = $channel;
            let (latch, done) = Latch::new(producers);
            for p in 0..producers {
                let tx = tx.clone();
                let latch = latch.clone();
                s.spawn(async move {
                    for i in 0..per {
                        tx.send((p * per + i) as u64)
                            .await
                            .expect("mpsc: receiver dropped");
                    }
                    drop(tx);
                    latch.count_down();
                });
            }
            drop(tx);
            drop(latch);
            let (mut count, mut sum) = (0u64, 0u64);
            while let Some(v) = $next {
                count += 1;
                sum += v;
            }
            let n = (producers * per) as u64;
            assert_eq!(count, n, "mpsc: messages lost");
            assert_eq!(sum, n * (n - 1) / 2, "mpsc: messages corrupted");
            wait(done).await;
        }
    }};
}

// ---------------------------------------------------------------------------------------------
// Workloads: spindle only
// ---------------------------------------------------------------------------------------------

/// `n` idle tasks (each polled once, waiting on one `Notify`), then one `Handle::dump()` from
/// the main thread's `block_on`, which lists all of them: the sample is the dump alone (the
/// spawns, the wait until every task is registered and the release are not timed). The dump
/// walks the registry shard by shard and copies each entry (id, name, location, state, poll
/// statistics, what it waits on), yielding between shards.
fn dump_idle_tasks(sp: &Spindle, n: usize) -> Duration {
    let release = Arc::new(spindle::sync::Notify::new());
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let release = release.clone();
            sp.handle.spawn(async move { release.notified().await })
        })
        .collect();
    // Untimed: until every task has gone idle (registered), so that the dump lists them all.
    let deadline = Instant::now() + Duration::from_secs(60);
    while sp.handle.block_on(sp.handle.dump()).unpolled() > 0 {
        assert!(
            Instant::now() < deadline,
            "dump_100k: tasks never went idle"
        );
        thread::sleep(Duration::from_millis(1));
    }
    let start = Instant::now();
    let dump = sp.handle.block_on(sp.handle.dump());
    let took = start.elapsed();
    assert!(
        dump.tasks().len() >= n,
        "dump_100k: {} listed",
        dump.tasks().len()
    );
    drop(black_box(dump));
    release.notify_waiters();
    sp.handle.block_on(async {
        for h in handles {
            h.await.expect("dump_100k: a task failed");
        }
    });
    took
}

spindle::task_local! {
    /// The task-local that tasklocal_spawn_scoped sets around its spawns.
    static BENCH_LOCAL: u64;
}

/// spawn_many_local's shape on spindle, with or without a task-local in scope around the
/// spawns (issue 11: inheriting task-locals must cost ≤ 10 % per spawn, and nothing when none
/// is set). Every spawned task inherits the scope's value (one reference count increment at
/// spawn, one decrement when the task is dropped); the last task checks that it did, or, in the
/// plain row, that it saw nothing. tokio's task-locals are not inherited, so there is no peer.
fn tasklocal_spawn(sp: &Spindle, n: usize, scoped: bool) {
    const VALUE: u64 = 7;
    let (tx, rx) = mpsc::sync_channel(1);
    let rem = Arc::new(AtomicUsize::new(n));
    let expected = scoped.then_some(VALUE);
    let spawns = async move {
        for _ in 0..n {
            let tx = tx.clone();
            let rem = rem.clone();
            drop(spindle::spawn(async move {
                // Relaxed, as in tokio's spawn_many_local: the channel publishes the end.
                if 1 == rem.fetch_sub(1, Ordering::Relaxed) {
                    let seen = BENCH_LOCAL.try_with(|v| *v).ok();
                    assert_eq!(seen, expected, "tasklocal_spawn: wrong inherited value");
                    tx.send(()).expect("tasklocal_spawn: receiver gone");
                }
            }));
        }
        rx.recv().expect("tasklocal_spawn: a task was lost");
    };
    if scoped {
        sp.block_on(BENCH_LOCAL.scope(VALUE, spawns));
    } else {
        sp.block_on(spawns);
    }
}

// ---------------------------------------------------------------------------------------------
// The three runtimes
// ---------------------------------------------------------------------------------------------

/// spindle: `Builder` with N workers and N compute threads; in-task spawn is `spindle::spawn`.
#[derive(Clone)]
struct Spindle {
    handle: spindle::runtime::Handle,
}

impl Sched for Spindle {
    fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        drop(spindle::spawn(future));
    }

    fn spawn_remote<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        drop(self.handle.spawn(future));
    }

    fn root<T, F>(&self, future: F) -> T
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        future::block_on(self.handle.spawn(future)).expect("spindle: workload task failed")
    }

    fn spawn_remote_join<T, F>(&self, future: F) -> impl Future<Output = T> + Send + 'static
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        let handle = self.handle.spawn(future);
        async move { handle.await.expect("spindle: task failed") }
    }

    fn block_on<T, F>(&self, future: F) -> T
    where
        F: Future<Output = T>,
    {
        self.handle.block_on(future)
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        spindle::yield_now()
    }

    fn consume_budget() -> impl Future<Output = ()> + Send {
        spindle::task::consume_budget()
    }

    fn spawn_blocking<R, F>(f: F) -> impl Future<Output = R> + Send + 'static
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let handle = spindle::spawn_blocking(f);
        async move { handle.await.expect("spindle: blocking closure failed") }
    }

    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send + 'static {
        spindle::time::sleep(duration)
    }

    fn tcp_echo(
        self,
        conns: usize,
        round_trips: usize,
    ) -> impl Future<Output = ()> + Send + 'static {
        tcp_echo_body!(
            self,
            conns,
            round_trips,
            spindle::net::TcpListener,
            spindle::net::TcpStream,
            futures_lite::io
        )
    }

    fn mpsc(
        self,
        producers: usize,
        per_producer: usize,
        capacity: usize,
    ) -> impl Future<Output = ()> + Send + 'static {
        mpsc_body!(
            self,
            producers,
            per_producer,
            spindle::sync::mpsc::bounded::<u64>(capacity),
            rx => rx.recv().await.ok()
        )
    }
}

/// tokio: multi-thread runtime with N workers, `enable_all`; in-task spawn is `tokio::spawn`.
#[derive(Clone)]
struct Tokio {
    handle: tokio::runtime::Handle,
}

impl Sched for Tokio {
    fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        drop(tokio::spawn(future));
    }

    fn spawn_remote<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        drop(self.handle.spawn(future));
    }

    fn root<T, F>(&self, future: F) -> T
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        future::block_on(self.handle.spawn(future)).expect("tokio: workload task failed")
    }

    fn spawn_remote_join<T, F>(&self, future: F) -> impl Future<Output = T> + Send + 'static
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        let handle = self.handle.spawn(future);
        async move { handle.await.expect("tokio: task failed") }
    }

    fn block_on<T, F>(&self, future: F) -> T
    where
        F: Future<Output = T>,
    {
        self.handle.block_on(future)
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        tokio::task::yield_now()
    }

    fn consume_budget() -> impl Future<Output = ()> + Send {
        tokio::task::coop::consume_budget()
    }

    fn spawn_blocking<R, F>(f: F) -> impl Future<Output = R> + Send + 'static
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let handle = tokio::task::spawn_blocking(f);
        async move { handle.await.expect("tokio: blocking closure failed") }
    }

    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send + 'static {
        tokio::time::sleep(duration)
    }

    fn tcp_echo(
        self,
        conns: usize,
        round_trips: usize,
    ) -> impl Future<Output = ()> + Send + 'static {
        tcp_echo_body!(
            self,
            conns,
            round_trips,
            tokio::net::TcpListener,
            tokio::net::TcpStream,
            tokio::io
        )
    }

    fn mpsc(
        self,
        producers: usize,
        per_producer: usize,
        capacity: usize,
    ) -> impl Future<Output = ()> + Send + 'static {
        mpsc_body!(
            self,
            producers,
            per_producer,
            tokio::sync::mpsc::channel::<u64>(capacity),
            rx => rx.recv().await
        )
    }
}

/// smol: one `async_executor::Executor` run by N threads (see [`SmolRuntime`]); every spawn is
/// `Executor::spawn(..).detach()` (async-executor has no separate in-task spawn).
#[derive(Clone)]
struct Smol {
    ex: Arc<async_executor::Executor<'static>>,
}

impl Sched for Smol {
    fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.ex.spawn(future).detach();
    }

    fn spawn_remote<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.ex.spawn(future).detach();
    }

    fn root<T, F>(&self, future: F) -> T
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        future::block_on(self.ex.spawn(future))
    }

    fn spawn_remote_join<T, F>(&self, future: F) -> impl Future<Output = T> + Send + 'static
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        self.ex.spawn(future)
    }

    fn block_on<T, F>(&self, future: F) -> T
    where
        F: Future<Output = T>,
    {
        future::block_on(future)
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        future::yield_now()
    }

    fn consume_budget() -> impl Future<Output = ()> + Send {
        future::ready(())
    }

    fn spawn_blocking<R, F>(f: F) -> impl Future<Output = R> + Send + 'static
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        smol::unblock(f)
    }

    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send + 'static {
        let timer = smol::Timer::after(duration);
        async move {
            timer.await;
        }
    }

    fn tcp_echo(
        self,
        conns: usize,
        round_trips: usize,
    ) -> impl Future<Output = ()> + Send + 'static {
        tcp_echo_body!(
            self,
            conns,
            round_trips,
            smol::net::TcpListener,
            smol::net::TcpStream,
            futures_lite::io
        )
    }

    fn mpsc(
        self,
        producers: usize,
        per_producer: usize,
        capacity: usize,
    ) -> impl Future<Output = ()> + Send + 'static {
        mpsc_body!(
            self,
            producers,
            per_producer,
            async_channel::bounded::<u64>(capacity),
            rx => rx.recv().await.ok()
        )
    }
}

/// N threads each running `smol::block_on(ex.run(stop))`, exactly as smol's own global executor
/// runs its threads (`smol::block_on` is `async_io::block_on`, which also drives smol's reactor
/// while the thread is idle).
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
                        // Err(closed) is the shutdown signal.
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

// ---------------------------------------------------------------------------------------------
// Measurement
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

/// Runs one sample of `row` on runtime `s` and returns it: the wall time of the workload, or
/// for the rows that say so, the part they time or the latency they measure.
fn measure<S: Sched>(s: &S, row: Row, z: &Sizes, workers: usize) -> Duration {
    match row {
        Row::SpawnManyLocal => timed(|| spawn_many_local(s, z.spawn_tasks)),
        Row::SpawnManyRemoteIdle => timed(|| spawn_many_remote_join(s, z.spawn_tasks)),
        Row::SpawnManyRemoteBusy1 => spawn_many_remote_busy1(s, z.spawn_tasks, workers),
        Row::SpawnManyRemoteBusy2 => spawn_many_remote_busy2(s, z.busy2_spawns, workers),
        Row::PingPong => timed(|| ping_pong(s, z.pings)),
        Row::YieldMany => timed(|| yield_many(s, z.yield_tasks, z.yields_per_task)),
        Row::ChainedSpawn => timed(|| chained_spawn(s, z.chain_depth)),
        Row::SpawnManyInTask => timed(|| s.root(spawn_many_in_task(s.clone(), z.spawn_tasks))),
        Row::SpawnManyRemote => timed(|| spawn_many_remote(s, z.spawn_tasks)),
        Row::YieldManyInTask => timed(|| {
            s.root(yield_many_in_task(
                s.clone(),
                z.yield_tasks,
                z.yields_per_task,
            ))
        }),
        Row::PingPongPairs => timed(|| s.root(ping_pong_pairs(s.clone(), z.ping_pong_pairs))),
        Row::Pipeline => timed(|| s.root(pipeline(s.clone(), z.pipeline_messages))),
        Row::StrandingLatency => s.root(stranding_latency(s.clone())),
        Row::Fairness => s.root(fairness(s.clone(), workers, z.hog_ops)),
        Row::SpawnBlocking => timed(|| s.root(spawn_blocking::<S>(z.blocking_calls))),
        Row::Timers => timed(|| s.root(timers(s.clone(), z.timer_tasks))),
        Row::TimerChurn => timed(|| s.root(timer_churn::<S>(z.churn_sleeps))),
        Row::TimerChurnYielding => timed(|| s.root(timer_churn_yielding::<S>(z.churn_sleeps))),
        Row::TcpEcho => timed(|| s.root(s.clone().tcp_echo(z.tcp_conns, z.tcp_round_trips))),
        Row::Mpsc => timed(|| {
            s.root(
                s.clone()
                    .mpsc(z.mpsc_producers, z.mpsc_per_producer, z.mpsc_capacity),
            )
        }),
        Row::TaskLocalSpawnPlain | Row::TaskLocalSpawnScoped | Row::Dump => {
            unreachable!("{} runs on spindle only (measure_spindle_only)", row.name())
        }
    }
}

/// Runs one sample of a spindle-only row (see [`Row::has_peers`]).
fn measure_spindle_only(sp: &Spindle, row: Row, z: &Sizes) -> Duration {
    match row {
        Row::TaskLocalSpawnPlain => timed(|| tasklocal_spawn(sp, z.spawn_tasks, false)),
        Row::TaskLocalSpawnScoped => timed(|| tasklocal_spawn(sp, z.spawn_tasks, true)),
        Row::Dump => dump_idle_tasks(sp, z.dump_tasks),
        _ => unreachable!("{} runs on every runtime (measure)", row.name()),
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

/// Rounded to the two decimals printed, so the number and its verdict always agree.
fn ratio(a: Duration, b: Duration) -> f64 {
    (a.as_secs_f64() / b.as_secs_f64() * 100.0).round() / 100.0
}

/// Medians per runtime; `None` where the runtime does not run the row.
type Measured = [Option<Stats>; 3];

fn median_cell(s: &Option<Stats>) -> String {
    s.as_ref()
        .map_or_else(|| "n/a".to_string(), |s| fmt_duration(s.median))
}

/// The last column: spindle / best peer with a verdict, or for a spindle-only row its ratio
/// to its baseline row against [`OVERHEAD_TARGET`], or "n/a".
fn comparison(st: &Measured, baseline: Option<(Row, Duration)>) -> String {
    let spindle = st[0].as_ref().expect("every row runs on spindle").median;
    match (&st[1], &st[2], baseline) {
        (Some(tokio), Some(smol), _) => {
            let (peer, best) = if tokio.median <= smol.median {
                ("tokio", tokio.median)
            } else {
                ("smol", smol.median)
            };
            let r = ratio(spindle, best);
            format!("{r:.2} {} (vs {peer})", verdict(r))
        }
        (_, _, Some((base, base_median))) => {
            let r = ratio(spindle, base_median);
            let met = if r <= OVERHEAD_TARGET {
                "met"
            } else {
                "missed"
            };
            format!(
                "n/a; {r:.2} × {} (target ≤ {OVERHEAD_TARGET:.2}: {met})",
                base.name()
            )
        }
        _ => "n/a (no peer)".to_string(),
    }
}

/// What main does for one entry of the table.
enum Step {
    /// Measure these rows together, their cells interleaved in every round.
    Measure(Vec<Row>),
    /// The row needs more workers than N; printed as "n/a".
    Skip(Row),
}

/// The rows matching any filter (substring of the name; no filter: every row), in table order,
/// each with its baseline row (pulled in if not selected) in one interleaved group.
fn plan(filters: &[String], workers: usize) -> Vec<Step> {
    let selected =
        |r: &Row| filters.is_empty() || filters.iter().any(|f| r.name().contains(f.as_str()));
    let mut steps: Vec<Step> = Vec::new();
    for &row in ROWS {
        let wanted = selected(&row)
            || ROWS
                .iter()
                .any(|r| r.baseline() == Some(row) && selected(r));
        if !wanted {
            continue;
        }
        if workers < row.min_workers() {
            steps.push(Step::Skip(row));
            continue;
        }
        match (row.baseline(), steps.last_mut()) {
            (Some(base), Some(Step::Measure(group))) if group.contains(&base) => group.push(row),
            _ => steps.push(Step::Measure(vec![row])),
        }
    }
    steps
}

fn read_first_line(path: &str, prefix: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find(|l| l.starts_with(prefix))
        .map(|l| l.split_once(':').map_or(l, |(_, v)| v).trim().to_string())
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
    let steps = plan(&cfg.filters, cfg.workers);
    if steps.is_empty() {
        let names: Vec<_> = ROWS.iter().map(|r| r.name()).collect();
        eprintln!(
            "error: no row matches {:?}; rows are: {}",
            cfg.filters,
            names.join(", ")
        );
        std::process::exit(1);
    }

    let cpu = read_first_line("/proc/cpuinfo", "model name").unwrap_or_else(|| "unknown".into());
    println!("# spindle runtime benchmark");
    println!();
    println!(
        "machine: {} logical cores ({} physical), {cpu}",
        num_cpus::get(),
        num_cpus::get_physical()
    );
    println!(
        "N = {} worker threads per runtime{}",
        cfg.workers,
        if std::env::var("BENCH_WORKERS").is_ok() {
            " (BENCH_WORKERS)"
        } else {
            " (num_cpus)"
        }
    );
    println!(
        "mode: {}, {} interleaved runs per (row, runtime) after 1 warm-up round; medians",
        if cfg.quick {
            "QUICK (reduced sizes, smoke check only; not for reporting)"
        } else {
            "full"
        },
        cfg.runs
    );
    println!("load average at start: {}", load_average());
    println!();

    let spindle_rt = spindle::runtime::Builder::new()
        .worker_threads(cfg.workers)
        .compute_threads(cfg.workers)
        .build()
        .expect("cannot build the spindle runtime");
    let tokio_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cfg.workers)
        .enable_all()
        .build()
        .expect("cannot build the tokio runtime");
    let smol_rt = SmolRuntime::new(cfg.workers);

    let sp = Spindle {
        handle: spindle_rt.handle().clone(),
    };
    let tk = Tokio {
        handle: tokio_rt.handle().clone(),
    };
    let sm = Smol {
        ex: smol_rt.ex.clone(),
    };

    let watchdog = Watchdog::start();
    let sample = |runtime: usize, row: Row, round: &str| -> Duration {
        watchdog.arm(format!("{} on {} ({round})", row.name(), NAMES[runtime]));
        let d = match runtime {
            0 if !row.has_peers() => measure_spindle_only(&sp, row, &sizes),
            0 => measure(&sp, row, &sizes, cfg.workers),
            1 => measure(&tk, row, &sizes, cfg.workers),
            _ => measure(&sm, row, &sizes, cfg.workers),
        };
        watchdog.disarm();
        d
    };

    let raw = std::env::var("BENCH_RAW").is_ok_and(|v| !v.is_empty() && v != "0");
    let started = Instant::now();
    println!("| row | spindle | tokio | smol | spindle/best-peer |");
    println!("|---|---:|---:|---:|---|");
    let mut results: Vec<(Row, Option<Measured>)> = Vec::new();
    for step in &steps {
        let group = match step {
            Step::Skip(row) => {
                eprintln!(
                    "skipping {}: it needs at least {} workers, N = {}",
                    row.name(),
                    row.min_workers(),
                    cfg.workers
                );
                println!(
                    "| {} | n/a | n/a | n/a | n/a (needs N ≥ {}) |",
                    row.name(),
                    row.min_workers()
                );
                results.push((*row, None));
                continue;
            }
            Step::Measure(group) => group,
        };
        // Every (row, runtime) cell of the group, interleaved in this order in every round.
        let cells: Vec<(Row, usize)> = group
            .iter()
            .flat_map(|&row| (0..row.runtimes()).map(move |rt| (row, rt)))
            .collect();
        for &row in group {
            eprintln!(
                "running {} ({})",
                row.name(),
                row.describe(&sizes, cfg.workers)
            );
        }
        for &(row, rt) in &cells {
            sample(rt, row, "warm-up");
        }
        let mut samples: Vec<Vec<Duration>> = vec![Vec::with_capacity(cfg.runs); cells.len()];
        for run in 0..cfg.runs {
            for (cell, &(row, rt)) in samples.iter_mut().zip(&cells) {
                cell.push(sample(rt, row, &format!("run {}", run + 1)));
            }
        }
        if raw {
            for (s, &(row, rt)) in samples.iter().zip(&cells) {
                let all: Vec<String> = s.iter().map(|d| fmt_duration(*d)).collect();
                let who = if group.len() > 1 {
                    format!("{} on {}", row.name(), NAMES[rt])
                } else {
                    format!("{:>7}", NAMES[rt])
                };
                eprintln!("  {who} (run order): {}", all.join(", "));
            }
        }
        let first = results.len();
        for &row in group {
            let mut st: [Option<Stats>; 3] = Default::default();
            for (s, &(cell_row, rt)) in samples.iter_mut().zip(&cells) {
                if cell_row == row {
                    st[rt] = Some(stats(s));
                }
            }
            results.push((row, Some(st)));
        }
        for (row, st) in &results[first..] {
            let st = st.as_ref().expect("measured just now");
            let baseline = row.baseline().and_then(|b| {
                results[first..]
                    .iter()
                    .find(|(r, _)| *r == b)
                    .and_then(|(_, m)| m.as_ref()?[0].as_ref().map(|s| (b, s.median)))
            });
            println!(
                "| {} | {} | {} | {} | {} |",
                row.name(),
                median_cell(&st[0]),
                median_cell(&st[1]),
                median_cell(&st[2]),
                comparison(st, baseline)
            );
        }
    }

    println!();
    println!("Spread (25th-75th percentile of the {} runs):", cfg.runs);
    println!();
    println!("| row | spindle | tokio | smol |");
    println!("|---|---:|---:|---:|");
    for (row, st) in &results {
        let Some(st) = st else {
            println!("| {} | n/a | n/a | n/a |", row.name());
            continue;
        };
        let cell = |s: &Option<Stats>| match s {
            Some(s) => format!("{} – {}", fmt_duration(s.p25), fmt_duration(s.p75)),
            None => "n/a".to_string(),
        };
        println!(
            "| {} | {} | {} | {} |",
            row.name(),
            cell(&st[0]),
            cell(&st[1]),
            cell(&st[2])
        );
    }
    println!();
    println!("Workloads:");
    for (row, _) in &results {
        println!("- {}: {}", row.name(), row.describe(&sizes, cfg.workers));
    }
    println!();
    println!(
        "load average at end: {}; total time {:.1} s",
        load_average(),
        started.elapsed().as_secs_f64()
    );

    drop(spindle_rt);
    tokio_rt.shutdown_timeout(Duration::from_secs(5));
    drop(smol_rt);
}
