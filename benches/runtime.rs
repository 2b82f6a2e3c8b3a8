//! Scheduler benchmark: spindle vs tokio (multi-thread) vs smol (async-executor on N threads).
//!
//! Design: all three runtimes are built once, up front, in this one process, each with the same
//! worker count N (`num_cpus::get()`, or `BENCH_WORKERS`). Every workload is written once, generic
//! over the small [`Sched`] trait, so the three runtimes execute the same code and differ only in
//! the scheduler (and its timer / socket / blocking-pool implementation). Wake-ups between tasks go
//! through one runtime-neutral channel crate (`async-channel`) for everybody. Each workload's root
//! future is spawned onto the runtime from the main thread and awaited with
//! `futures_lite::future::block_on`, which is neutral too; the wall time of that wait is a sample.
//!
//! For each row: one warm-up round (spindle, tokio, smol; discarded), then `runs` interleaved
//! rounds (spindle, tokio, smol, spindle, tokio, smol, ...) so that drift in machine load hits all
//! three alike. The table reports the median per (row, runtime) and spindle / best-peer, printed as
//! "win" (< 0.85), "tie" (0.85..=1.15) or "loss" (> 1.15).
//!
//! Usage: `cargo bench --bench runtime [-- <row-filter>...]`. Environment: `BENCH_WORKERS=<n>`,
//! `BENCH_RUNS=<n>` (default 21, at least 15 unless quick), `BENCH_QUICK=1` (3 runs, reduced
//! sizes: a smoke check), `BENCH_RAW=1` (also print every sample, in run order, to stderr). See docs/benchmarks.md for the method and the measured numbers.

use std::future::Future;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
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
/// timer_churn yields every this many sleeps (see `timer_churn`).
const CHURN_YIELD_EVERY: usize = 100;

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
    spawn_tasks: usize,
    yield_tasks: usize,
    yields_per_task: usize,
    ping_pong_pairs: usize,
    chain_depth: usize,
    blocking_calls: usize,
    timer_tasks: usize,
    churn_sleeps: usize,
    tcp_conns: usize,
    tcp_round_trips: usize,
    mpsc_producers: usize,
    mpsc_per_producer: usize,
    mpsc_capacity: usize,
}

impl Sizes {
    fn full() -> Sizes {
        Sizes {
            spawn_tasks: 10_000,
            yield_tasks: 200,
            yields_per_task: 1_000,
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
        }
    }

    fn quick() -> Sizes {
        Sizes {
            spawn_tasks: 1_000,
            yield_tasks: 50,
            yields_per_task: 100,
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
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Row {
    SpawnManyLocal,
    SpawnManyRemote,
    YieldMany,
    PingPong,
    ChainedSpawn,
    SpawnBlocking,
    Timers,
    TimerChurn,
    TcpEcho,
    Mpsc,
}

const ROWS: [Row; 10] = [
    Row::SpawnManyLocal,
    Row::SpawnManyRemote,
    Row::YieldMany,
    Row::PingPong,
    Row::ChainedSpawn,
    Row::SpawnBlocking,
    Row::Timers,
    Row::TimerChurn,
    Row::TcpEcho,
    Row::Mpsc,
];

impl Row {
    fn name(self) -> &'static str {
        match self {
            Row::SpawnManyLocal => "spawn_many_local",
            Row::SpawnManyRemote => "spawn_many_remote",
            Row::YieldMany => "yield_many",
            Row::PingPong => "ping_pong",
            Row::ChainedSpawn => "chained_spawn",
            Row::SpawnBlocking => "spawn_blocking",
            Row::Timers => "timers",
            Row::TimerChurn => "timer_churn",
            Row::TcpEcho => "tcp_echo",
            Row::Mpsc => "mpsc",
        }
    }

    fn describe(self, z: &Sizes) -> String {
        match self {
            Row::SpawnManyLocal => format!("{} spawns from inside a task", z.spawn_tasks),
            Row::SpawnManyRemote => format!("{} spawns from a non-runtime thread", z.spawn_tasks),
            Row::YieldMany => format!("{} tasks x {} yields", z.yield_tasks, z.yields_per_task),
            Row::PingPong => format!("{} task pairs, one message each way", z.ping_pong_pairs),
            Row::ChainedSpawn => format!("each task spawns the next, depth {}", z.chain_depth),
            Row::SpawnBlocking => format!("{} tiny blocking closures", z.blocking_calls),
            Row::Timers => format!("{} tasks each sleeping 1-2 ms", z.timer_tasks),
            Row::TimerChurn => format!(
                "{} sleeps created, polled once, dropped (one task)",
                z.churn_sleeps
            ),
            Row::TcpEcho => format!(
                "{} connections x {} round trips of {MSG} B",
                z.tcp_conns, z.tcp_round_trips
            ),
            Row::Mpsc => format!(
                "{} producers x {} messages -> 1 consumer, bounded({})",
                z.mpsc_producers, z.mpsc_per_producer, z.mpsc_capacity
            ),
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

    /// The runtime's `yield_now`.
    fn yield_now() -> impl Future<Output = ()> + Send;

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
// Workloads
// ---------------------------------------------------------------------------------------------

async fn spawn_many_local<S: Sched>(s: S, n: usize) {
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

async fn yield_many<S: Sched>(s: S, tasks: usize, yields: usize) {
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

async fn ping_pong<S: Sched>(s: S, pairs: usize) {
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

/// A plain function (not `async fn`) so the spawned future's type is not recursive.
fn chain<S: Sched>(s: S, left: usize, latch: Latch) {
    if left == 0 {
        latch.count_down();
        return;
    }
    let next = s.clone();
    s.spawn(async move { chain(next, left - 1, latch) });
}

async fn chained_spawn<S: Sched>(s: S, depth: usize) {
    let (latch, done) = Latch::new(1);
    chain(s, depth, latch);
    wait(done).await;
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

/// Creates, polls once (registering the timer) and drops `n` sleeps on one task.
///
/// The task yields every [`CHURN_YIELD_EVERY`] sleeps: tokio's cooperative budget (128 per task
/// poll) would otherwise make every later `Sleep` return `Pending` *without registering*, and the
/// row would stop measuring tokio's timer at all. The yields are the same for every runtime.
async fn timer_churn<S: Sched>(n: usize) {
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

    fn yield_now() -> impl Future<Output = ()> + Send {
        spindle::yield_now()
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

    fn yield_now() -> impl Future<Output = ()> + Send {
        tokio::task::yield_now()
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

    fn yield_now() -> impl Future<Output = ()> + Send {
        future::yield_now()
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

/// Runs one sample of `row` on runtime `s` and returns its wall time.
fn measure<S: Sched>(s: &S, row: Row, z: &Sizes) -> Duration {
    let start = Instant::now();
    match row {
        Row::SpawnManyLocal => s.root(spawn_many_local(s.clone(), z.spawn_tasks)),
        Row::SpawnManyRemote => spawn_many_remote(s, z.spawn_tasks),
        Row::YieldMany => s.root(yield_many(s.clone(), z.yield_tasks, z.yields_per_task)),
        Row::PingPong => s.root(ping_pong(s.clone(), z.ping_pong_pairs)),
        Row::ChainedSpawn => s.root(chained_spawn(s.clone(), z.chain_depth)),
        Row::SpawnBlocking => s.root(spawn_blocking::<S>(z.blocking_calls)),
        Row::Timers => s.root(timers(s.clone(), z.timer_tasks)),
        Row::TimerChurn => s.root(timer_churn::<S>(z.churn_sleeps)),
        Row::TcpEcho => s.root(s.clone().tcp_echo(z.tcp_conns, z.tcp_round_trips)),
        Row::Mpsc => s.root(
            s.clone()
                .mpsc(z.mpsc_producers, z.mpsc_per_producer, z.mpsc_capacity),
        ),
    }
    start.elapsed()
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
            0 => measure(&sp, row, &sizes),
            1 => measure(&tk, row, &sizes),
            _ => measure(&sm, row, &sizes),
        };
        watchdog.disarm();
        d
    };

    let raw = std::env::var("BENCH_RAW").is_ok_and(|v| !v.is_empty() && v != "0");
    let started = Instant::now();
    println!("| row | spindle | tokio | smol | spindle/best-peer |");
    println!("|---|---:|---:|---:|---|");
    let mut spreads = Vec::new();
    for &row in &rows {
        eprintln!("running {} ({})", row.name(), row.describe(&sizes));
        for rt in 0..3 {
            sample(rt, row, "warm-up");
        }
        let mut samples: [Vec<Duration>; 3] = Default::default();
        for run in 0..cfg.runs {
            for (rt, s) in samples.iter_mut().enumerate() {
                s.push(sample(rt, row, &format!("run {}", run + 1)));
            }
        }
        if raw {
            for (name, s) in NAMES.iter().zip(&samples) {
                let all: Vec<String> = s.iter().map(|d| fmt_duration(*d)).collect();
                eprintln!("  {name:>7} (run order): {}", all.join(", "));
            }
        }
        let st: Vec<Stats> = samples.iter_mut().map(|s| stats(s)).collect();
        let (peer, best) = if st[1].median <= st[2].median {
            ("tokio", st[1].median)
        } else {
            ("smol", st[2].median)
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
        spreads.push((row, st));
    }

    println!();
    println!("Spread (25th-75th percentile of the {} runs):", cfg.runs);
    println!();
    println!("| row | spindle | tokio | smol |");
    println!("|---|---:|---:|---:|");
    for (row, st) in &spreads {
        let cell = |s: &Stats| format!("{} – {}", fmt_duration(s.p25), fmt_duration(s.p75));
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
    for &row in &rows {
        println!("- {}: {}", row.name(), row.describe(&sizes));
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
