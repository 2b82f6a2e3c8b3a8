//! File-system benchmark: spindle::fs vs tokio::fs (multi-thread runtime) vs async-fs (on smol).
//!
//! Same method as `benches/runtime.rs`: the three runtimes are built once, in this one process,
//! with the same worker count N (`num_cpus::get()`, or `BENCH_WORKERS`); every workload is
//! written once, generic over the small [`Files`] trait, so only the runtime and its file API
//! differ. A sample is the wall time from spawning the workload's root task (from the main
//! thread) until `futures_lite::future::block_on` on the main thread sees its output.
//!
//! For each row: one warm-up round (discarded), then `runs` interleaved rounds (spindle, tokio,
//! smol, spindle, ...), so drift in machine load hits all three alike; the table reports the
//! median per (row, runtime) and spindle / best-peer.
//!
//! Every runtime's blocking pool keeps its threads alive between samples (10 s keep-alive for
//! spindle and tokio, 500 ms for `blocking`'s pool behind async-fs; samples follow each other
//! within milliseconds), so after the warm-up no row pays for thread creation.
//!
//! Usage: `cargo bench --bench fs [-- <row-filter>...]` (a filter that is a row's full name
//! selects only that row). Environment: `BENCH_WORKERS=<n>`,
//! `BENCH_RUNS=<n>` (default 21, at least 15 unless quick), `BENCH_QUICK=1` (3 runs, a smoke
//! check), `BENCH_RAW=1` (every sample, in run order, on stderr), `BENCH_ONLY=spindle|tokio|smol`
//! (measure one runtime only, e.g. under `perf record`; the other cells are meaningless).
//! See docs/benchmarks.md.

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use futures_lite::future;

const MIN_REPORTED_RUNS: usize = 15;
const DEFAULT_RUNS: usize = 21;
const QUICK_RUNS: usize = 3;
const HANG_LIMIT: Duration = Duration::from_secs(120);
/// Files in the small-file rows, and the size of each.
const SMALL_FILES: usize = 1_000;
const SMALL_SIZE: usize = 1_024;
/// The big file read in 8 KiB pieces.
const BIG_SIZE: usize = 1 << 20;
const PIECE: usize = 8 * 1024;

struct Config {
    workers: usize,
    runs: usize,
    filters: Vec<String>,
}

fn env_usize(name: &str) -> Option<usize> {
    let value = std::env::var(name).ok()?;
    Some(value.trim().parse().unwrap_or_else(|_| {
        panic!("{name}={value:?} is not a non-negative integer; unset it or set e.g. {name}=4")
    }))
}

impl Config {
    fn from_env() -> Config {
        let quick = std::env::var("BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
        let workers = env_usize("BENCH_WORKERS").unwrap_or_else(num_cpus::get);
        assert!(workers > 0, "BENCH_WORKERS=0: set BENCH_WORKERS=1 or more");
        let runs = match (env_usize("BENCH_RUNS"), quick) {
            (Some(r), true) => r.max(1),
            (None, true) => QUICK_RUNS,
            (Some(r), false) => r.max(MIN_REPORTED_RUNS),
            (None, false) => DEFAULT_RUNS,
        };
        let filters = std::env::args()
            .skip(1)
            .filter(|a| !a.starts_with('-'))
            .collect();
        Config {
            workers,
            runs,
            filters,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Row {
    ReadFiles,
    ReadFilesSeq,
    BigFilePieces,
}

const ROWS: [Row; 3] = [Row::ReadFiles, Row::ReadFilesSeq, Row::BigFilePieces];

impl Row {
    fn name(self) -> &'static str {
        match self {
            Row::ReadFiles => "read_1000_files",
            Row::ReadFilesSeq => "read_1000_files_seq",
            Row::BigFilePieces => "file_1mib_8k_reads",
        }
    }

    fn describe(self) -> String {
        match self {
            Row::ReadFiles => format!(
                "read {SMALL_FILES} small files ({SMALL_SIZE} B each), one task per file, all at once (`fs::read`)"
            ),
            Row::ReadFilesSeq => format!(
                "read {SMALL_FILES} small files ({SMALL_SIZE} B each) one after another on one task (`fs::read`)"
            ),
            Row::BigFilePieces => format!(
                "open a {} MiB file and read it to the end in {} KiB `read` calls (`File` + `AsyncRead`)",
                BIG_SIZE >> 20,
                PIECE >> 10
            ),
        }
    }
}

/// What a workload needs from a runtime and its file API.
trait Files: Clone + Send + Sync + 'static {
    fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static;

    fn root<T, F>(&self, future: F) -> T
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static;

    /// The runtime's `fs::read`.
    fn read(path: PathBuf) -> impl Future<Output = io::Result<Vec<u8>>> + Send + 'static;

    /// Opens `path` with the runtime's `File` and reads it to the end in `PIECE`-byte reads;
    /// returns (bytes, checksum).
    fn read_in_pieces(path: PathBuf) -> impl Future<Output = io::Result<(usize, u64)>> + Send;
}

/// Counts completions down to zero; the last one sends a single message on an async-channel.
#[derive(Clone)]
struct Latch(Arc<(AtomicUsize, async_channel::Sender<()>)>);

impl Latch {
    fn new(count: usize) -> (Latch, async_channel::Receiver<()>) {
        let (done, rx) = async_channel::bounded(1);
        (Latch(Arc::new((AtomicUsize::new(count), done))), rx)
    }

    fn count_down(&self) {
        // AcqRel: the last decrement happens-after every participant's work.
        if self.0.0.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.1.try_send(()).expect("latch completed twice");
        }
    }
}

/// The data set: `SMALL_FILES` files whose first byte is their index mod 251, and one big file.
struct DataSet {
    dir: PathBuf,
    small: Vec<PathBuf>,
    big: PathBuf,
    big_checksum: u64,
}

/// The wrapping sum of the bytes taken as little-endian u64 words (the tail byte by byte):
/// 8 bytes per add, so the big-file row measures the I/O, not this check. With the length it
/// catches lost, repeated or zeroed pieces (every reader's pieces are 8-byte aligned).
fn checksum(bytes: &[u8]) -> u64 {
    let mut words = bytes.chunks_exact(8);
    let sum = words
        .by_ref()
        .map(|w| u64::from_le_bytes(w.try_into().expect("8 bytes")))
        .fold(0u64, u64::wrapping_add);
    words
        .remainder()
        .iter()
        .fold(sum, |a, &b| a.wrapping_add(b as u64))
}

impl DataSet {
    fn create() -> DataSet {
        let dir = std::env::temp_dir().join(format!("spindle-fs-bench-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).expect("cannot create the bench directory");
        let small = (0..SMALL_FILES)
            .map(|i| {
                let path = dir.join(format!("small-{i:04}"));
                let mut bytes = vec![(i % 251) as u8; SMALL_SIZE];
                bytes[SMALL_SIZE - 1] = b'\n';
                std::fs::write(&path, bytes).expect("cannot write a bench file");
                path
            })
            .collect();
        let big = dir.join("big");
        let bytes: Vec<u8> = (0..BIG_SIZE).map(|i| (i * 13 % 256) as u8).collect();
        std::fs::write(&big, &bytes).expect("cannot write the big bench file");
        DataSet {
            dir,
            small,
            big,
            big_checksum: checksum(&bytes),
        }
    }
}

impl Drop for DataSet {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn check_small(i: usize, bytes: &[u8]) {
    assert!(
        bytes.len() == SMALL_SIZE && bytes[0] == (i % 251) as u8,
        "file {i} read back wrong"
    );
}

async fn read_files<R: Files>(r: R, paths: Arc<Vec<PathBuf>>) {
    let (latch, done) = Latch::new(paths.len());
    for i in 0..paths.len() {
        let (latch, paths) = (latch.clone(), paths.clone());
        r.spawn(async move {
            let bytes = R::read(paths[i].clone()).await.expect("read failed");
            check_small(i, &bytes);
            latch.count_down();
        });
    }
    drop(latch);
    done.recv().await.expect("latch dropped");
}

async fn read_files_seq<R: Files>(paths: Arc<Vec<PathBuf>>) {
    for (i, path) in paths.iter().enumerate() {
        let bytes = R::read(path.clone()).await.expect("read failed");
        check_small(i, &bytes);
    }
}

async fn big_file_pieces<R: Files>(path: PathBuf, expected: u64) {
    let (len, sum) = R::read_in_pieces(path).await.expect("read failed");
    assert_eq!((len, sum), (BIG_SIZE, expected), "big file read back wrong");
}

/// Reads `$file` to the end in `PIECE`-byte `read` calls (the caller imports its runtime's
/// `AsyncReadExt`).
macro_rules! read_loop {
    ($file:ident) => {{
        let mut piece = vec![0u8; PIECE];
        let (mut len, mut sum) = (0usize, 0u64);
        loop {
            let n = $file.read(&mut piece).await?;
            if n == 0 {
                break;
            }
            len += n;
            sum += checksum(&piece[..n]);
        }
        Ok((len, sum))
    }};
}

#[derive(Clone)]
struct Spindle {
    handle: spindle::runtime::Handle,
}

impl Files for Spindle {
    fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        drop(spindle::spawn(future));
    }

    fn root<T, F>(&self, future: F) -> T
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        future::block_on(self.handle.spawn(future)).expect("spindle: workload task failed")
    }

    fn read(path: PathBuf) -> impl Future<Output = io::Result<Vec<u8>>> + Send + 'static {
        spindle::fs::read(path)
    }

    async fn read_in_pieces(path: PathBuf) -> io::Result<(usize, u64)> {
        use futures_lite::AsyncReadExt;
        let mut file = spindle::fs::File::open(path).await?;
        read_loop!(file)
    }
}

#[derive(Clone)]
struct Tokio {
    handle: tokio::runtime::Handle,
}

impl Files for Tokio {
    fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        drop(tokio::spawn(future));
    }

    fn root<T, F>(&self, future: F) -> T
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        future::block_on(self.handle.spawn(future)).expect("tokio: workload task failed")
    }

    fn read(path: PathBuf) -> impl Future<Output = io::Result<Vec<u8>>> + Send + 'static {
        tokio::fs::read(path)
    }

    async fn read_in_pieces(path: PathBuf) -> io::Result<(usize, u64)> {
        use tokio::io::AsyncReadExt;
        let mut file = tokio::fs::File::open(path).await?;
        read_loop!(file)
    }
}

#[derive(Clone)]
struct Smol {
    ex: Arc<async_executor::Executor<'static>>,
}

impl Files for Smol {
    fn spawn<F>(&self, future: F)
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

    fn read(path: PathBuf) -> impl Future<Output = io::Result<Vec<u8>>> + Send + 'static {
        async_fs::read(path)
    }

    async fn read_in_pieces(path: PathBuf) -> io::Result<(usize, u64)> {
        use futures_lite::AsyncReadExt;
        let mut file = async_fs::File::open(path).await?;
        read_loop!(file)
    }
}

/// N threads each running `smol::block_on(ex.run(stop))`, as in `benches/runtime.rs`.
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
                let (ex, stopped) = (ex.clone(), stopped.clone());
                thread::Builder::new()
                    .name(format!("smol-bench-{i}"))
                    .spawn(move || {
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

fn measure<R: Files>(r: &R, row: Row, data: &DataSet, small: &Arc<Vec<PathBuf>>) -> Duration {
    let start = Instant::now();
    match row {
        Row::ReadFiles => r.root(read_files(r.clone(), small.clone())),
        Row::ReadFilesSeq => r.root(read_files_seq::<R>(small.clone())),
        Row::BigFilePieces => r.root(big_file_pieces::<R>(data.big.clone(), data.big_checksum)),
    }
    start.elapsed()
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    let n = samples.len();
    if n % 2 == 1 {
        samples[n / 2]
    } else {
        (samples[n / 2 - 1] + samples[n / 2]) / 2
    }
}

fn quartiles(sorted: &[Duration]) -> (Duration, Duration) {
    let n = sorted.len();
    let rank = |q: f64| sorted[((q * n as f64).ceil() as usize).clamp(1, n) - 1];
    (rank(0.25), rank(0.75))
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

/// Exits the process if one measurement hangs.
fn watchdog() -> Arc<Mutex<Option<(Instant, String)>>> {
    let armed: Arc<Mutex<Option<(Instant, String)>>> = Arc::new(Mutex::new(None));
    let watched = armed.clone();
    thread::Builder::new()
        .name("bench-watchdog".into())
        .spawn(move || {
            loop {
                thread::sleep(Duration::from_millis(500));
                let guard = watched.lock().unwrap_or_else(|e| e.into_inner());
                if let Some((since, what)) = guard.as_ref()
                    && since.elapsed() > HANG_LIMIT
                {
                    eprintln!("error: {what} has not finished after {HANG_LIMIT:?}; exiting");
                    std::process::exit(2);
                }
            }
        })
        .expect("cannot spawn the watchdog thread");
    armed
}

const NAMES: [&str; 3] = ["spindle", "tokio", "smol"];

fn main() {
    let cfg = Config::from_env();
    // A filter that names a row exactly selects only that row; otherwise it is a substring.
    let exact: Vec<&String> = cfg
        .filters
        .iter()
        .filter(|f| ROWS.iter().any(|r| r.name() == f.as_str()))
        .collect();
    let rows: Vec<Row> = ROWS
        .into_iter()
        .filter(|r| {
            if !exact.is_empty() {
                exact.iter().any(|f| r.name() == f.as_str())
            } else {
                cfg.filters.is_empty() || cfg.filters.iter().any(|f| r.name().contains(f.as_str()))
            }
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
    let data = DataSet::create();
    let small = Arc::new(data.small.clone());

    println!("# spindle file-system benchmark");
    println!();
    println!(
        "N = {} worker threads per runtime; {} interleaved runs per cell after 1 warm-up round; medians",
        cfg.workers, cfg.runs
    );
    println!(
        "files in {} ({})",
        data.dir.display(),
        temp_dir_fs(&data.dir)
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

    let armed = watchdog();
    let sample = |runtime: usize, row: Row, round: &str| -> Duration {
        *armed.lock().unwrap() = Some((
            Instant::now(),
            format!("{} on {} ({round})", row.name(), NAMES[runtime]),
        ));
        let d = match runtime {
            0 => measure(&sp, row, &data, &small),
            1 => measure(&tk, row, &data, &small),
            _ => measure(&sm, row, &data, &small),
        };
        *armed.lock().unwrap() = None;
        d
    };

    // BENCH_ONLY=<runtime>: measure one runtime only (for profiling it; no valid ratios).
    let only = std::env::var("BENCH_ONLY").ok().map(|name| {
        NAMES
            .iter()
            .position(|n| *n == name)
            .unwrap_or_else(|| panic!("BENCH_ONLY={name:?}: expected one of {NAMES:?}"))
    });
    let raw = std::env::var("BENCH_RAW").is_ok_and(|v| !v.is_empty() && v != "0");
    println!("| row | spindle | tokio | smol (async-fs) | spindle/best-peer |");
    println!("|---|---:|---:|---:|---|");
    let mut spreads = Vec::new();
    for &row in &rows {
        eprintln!("running {} ({})", row.name(), row.describe());
        for rt in 0..3 {
            if only.is_none_or(|o| o == rt) {
                sample(rt, row, "warm-up");
            }
        }
        let mut samples: [Vec<Duration>; 3] = Default::default();
        for run in 0..cfg.runs {
            for (rt, s) in samples.iter_mut().enumerate() {
                if only.is_none_or(|o| o == rt) {
                    s.push(sample(rt, row, &format!("run {}", run + 1)));
                } else {
                    s.push(Duration::from_nanos(1)); // not measured (BENCH_ONLY)
                }
            }
        }
        if raw {
            for (name, s) in NAMES.iter().zip(&samples) {
                let all: Vec<String> = s.iter().map(|d| fmt_duration(*d)).collect();
                eprintln!("  {name:>7} (run order): {}", all.join(", "));
            }
        }
        let medians: Vec<Duration> = samples.iter_mut().map(|s| median(s)).collect();
        let (peer, best) = if medians[1] <= medians[2] {
            ("tokio", medians[1])
        } else {
            ("smol", medians[2])
        };
        let ratio = (medians[0].as_secs_f64() / best.as_secs_f64() * 100.0).round() / 100.0;
        println!(
            "| {} | {} | {} | {} | {:.2} {} (vs {peer}) |",
            row.name(),
            fmt_duration(medians[0]),
            fmt_duration(medians[1]),
            fmt_duration(medians[2]),
            ratio,
            verdict(ratio)
        );
        spreads.push((row, samples));
    }
    println!();
    println!("Spread (25th-75th percentile):");
    println!();
    println!("| row | spindle | tokio | smol (async-fs) |");
    println!("|---|---:|---:|---:|");
    for (row, samples) in &spreads {
        let cell = |s: &Vec<Duration>| {
            let (p25, p75) = quartiles(s);
            format!("{} – {}", fmt_duration(p25), fmt_duration(p75))
        };
        println!(
            "| {} | {} | {} | {} |",
            row.name(),
            cell(&samples[0]),
            cell(&samples[1]),
            cell(&samples[2])
        );
    }
    println!();
    println!("Workloads:");
    for &row in &rows {
        println!("- {}: {}", row.name(), row.describe());
    }
    println!();
    println!("load average at end: {}", load_average());

    drop(spindle_rt);
    tokio_rt.shutdown_timeout(Duration::from_secs(5));
    drop(smol_rt);
}

/// The file system type of `dir` (from /proc/mounts: the longest mount point containing it).
fn temp_dir_fs(dir: &Path) -> String {
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (_, point, kind) = (f.next()?, f.next()?, f.next()?);
            dir.starts_with(point)
                .then(|| (point.len(), kind.to_string()))
        })
        .max()
        .map_or_else(|| "unknown fs".into(), |(_, kind)| kind)
}
