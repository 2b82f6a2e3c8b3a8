//! A tour of spindle's asyncio-style API, printing as it goes.
//!
//! ```text
//! cargo run --release --example tour
//! TOUR_SCALE=0.2 cargo run --release --example tour   # everything 5× shorter
//! ```
//!
//! 1. asyncio's classic `gather(slow(3), slow(1), slow(2))` with `gather!`: ~3 s, not 6.
//! 2. The same three as children of a `task_group`, results read from the handles.
//! 3. Two children failing: the grouped error, then `split` (Python's `except*`).
//! 4. Offloading a Mandelbrot kernel (rayon `par_iter`) as a `spindle::compute` job: a live
//!    progress bar drawn from the async side while the kernel runs on the pool (and an
//!    `interval` keeps ticking), the same kernel on one thread, then a second run cancelled
//!    by `spindle::time::timeout` half-way, and how long the kernel took to stop.
//!
//! `TOUR_SCALE` (default 1.0) multiplies every sleep and the kernel's size. The progress bar
//! (indicatif) is drawn when stdout is a terminal; otherwise (CI, a pipe) a few plain progress
//! lines are printed instead.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use spindle::compute::{self, Cancelled, Job, ParallelIteratorExt, Progress};
use spindle::time::{interval, sleep, timeout};
use spindle::{GroupError, GroupHandle, task_group};
use std::cell::Cell;
use std::fmt;
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

fn main() {
    let scale = match std::env::var("TOUR_SCALE") {
        Ok(s) => s
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite() && *x > 0.0)
            .unwrap_or_else(|| {
                eprintln!("TOUR_SCALE must be a positive number (got {s:?}); using 1.0");
                1.0
            }),
        Err(_) => 1.0,
    };
    let tour_start = Instant::now();
    spindle::run(async move {
        part1_gather(scale).await;
        part2_task_group(scale).await;
        part3_errors(scale).await;
        part4_offload(scale).await;
    });
    println!(
        "\nTour finished in {:.2} s.",
        tour_start.elapsed().as_secs_f64()
    );
}

/// `seconds` scaled by `TOUR_SCALE`.
fn secs(seconds: f64, scale: f64) -> Duration {
    Duration::from_secs_f64(seconds * scale)
}

/// The lesson's coroutine, line for line:
///
/// ```python
/// async def slow(n):
///     print(f"About to sleep for {n} seconds")
///     await asyncio.sleep(n)
///     print(f"Slept for {n} seconds")
///     return n
/// ```
async fn slow(n: u64, scale: f64) -> u64 {
    println!("  About to sleep for {n} seconds");
    sleep(secs(n as f64, scale)).await;
    println!("  Slept for {n} seconds");
    n
}

async fn part1_gather(scale: f64) {
    println!("== 1. gather!: three sleeps at once, on the calling task ==");
    println!("  # asyncio: results = await asyncio.gather(slow(3), slow(1), slow(2))");
    let start = Instant::now();
    let (a, b, c) = spindle::gather!(slow(3, scale), slow(1, scale), slow(2, scale)).await;
    let took = start.elapsed().as_secs_f64();
    println!("  results (argument order): ({a}, {b}, {c})");
    println!(
        "  wall time {took:.2} s: the slowest ({:.1} s), not the sum ({:.1} s)\n",
        3.0 * scale,
        6.0 * scale
    );
}

/// A task_group child: `'static + Send`, returns `Result`.
async fn slow_child(n: u64, scale: f64) -> Result<u64, String> {
    Ok(slow(n, scale).await)
}

async fn part2_task_group(scale: f64) {
    println!("== 2. task_group: the same three as parallel children ==");
    println!("  # asyncio: async with asyncio.TaskGroup() as tg: t = tg.create_task(slow(3)) ...");
    println!("  # (children start in parallel on the workers: \"About to sleep\" in any order)");
    let start = Instant::now();
    let mut handles: Vec<GroupHandle<u64>> = Vec::new();
    let result = task_group(|g| {
        for n in [3, 1, 2] {
            handles.push(g.spawn(slow_child(n, scale)));
        }
        // The body has nothing else to do; task_group still waits for every child.
        async { Ok(()) }
    })
    .await;
    let took = start.elapsed().as_secs_f64();
    result.expect("no child fails here");
    // After task_group returned, every handle is ready at once (like task.result()).
    let results: Vec<u64> = spindle::gather(handles)
        .await
        .into_iter()
        .map(|r| r.expect("every child succeeded"))
        .collect();
    println!("  results from the handles: {results:?}");
    println!("  wall time {took:.2} s\n");
}

/// Python's exception types, for the `except*` analogue.
#[derive(Debug)]
enum PyError {
    ValueError(String),
    TypeError(String),
}

impl fmt::Display for PyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PyError::ValueError(m) => write!(f, "ValueError: {m}"),
            PyError::TypeError(m) => write!(f, "TypeError: {m}"),
        }
    }
}

impl std::error::Error for PyError {}

async fn part3_errors(scale: f64) {
    println!("== 3. Two failing children: grouped errors, then split (except*) ==");
    let blocking_started = Arc::new(AtomicBool::new(false));
    let result: Result<(), GroupError<PyError>> = task_group(|g| {
        let started = blocking_started.clone();
        // This blocking child never looks at its cancellation token (no
        // `spindle::compute::checkpoint()`), so the error it returns after the group began
        // failing is its own and is collected (asyncio: an exception other than CancelledError).
        g.spawn_blocking(move || {
            started.store(true, Ordering::SeqCst);
            std::thread::sleep(secs(0.1, scale));
            Err::<(), _>(PyError::TypeError("Second error".into()))
        });
        let started = blocking_started.clone();
        g.spawn(async move {
            while !started.load(Ordering::SeqCst) {
                sleep(Duration::from_millis(1)).await;
            }
            sleep(secs(0.05, scale)).await;
            Err::<(), _>(PyError::ValueError("First error".into()))
        });
        // A sibling that would run for a minute: cancelled by the first failure (not an error).
        g.spawn(async {
            sleep(Duration::from_secs(60)).await;
            println!("  (never printed: cancelled)");
            Ok(())
        });
        async { Ok(()) }
    })
    .await;
    let err = result.expect_err("two children fail");
    println!("  {}", err.to_string().replace('\n', "\n  "));
    // except* ValueError / except* TypeError:
    let (values, others) = err.split(|e| matches!(e, PyError::ValueError(_)));
    if let Some(values) = values {
        println!(
            "  except* ValueError caught {} error(s): {:?}",
            values.len(),
            values.errors()
        );
    }
    if let Some(others) = others {
        println!(
            "  except* TypeError  caught {} error(s): {:?}",
            others.len(),
            others.errors()
        );
    }
    println!();
}

/// Escape-time of one point (at most `max_iter`).
fn escape(cr: f64, ci: f64, max_iter: u32) -> u32 {
    let (mut zr, mut zi) = (0.0f64, 0.0f64);
    for i in 0..max_iter {
        let (zr2, zi2) = (zr * zr, zi * zi);
        if zr2 + zi2 > 4.0 {
            return i;
        }
        zi = 2.0 * zr * zi + ci;
        zr = zr2 - zi2 + cr;
    }
    max_iter
}

const MAX_ITER: u32 = 1000;

/// Sum of the escape times of one row of a `w`×`h` view of the Mandelbrot set.
fn mandelbrot_row(y: usize, w: usize, h: usize) -> u64 {
    let ci = -1.2 + 2.4 * (y as f64 + 0.5) / h as f64;
    (0..w)
        .map(|x| {
            let cr = -2.1 + 2.7 * (x as f64 + 0.5) / w as f64;
            u64::from(escape(cr, ci, MAX_ITER))
        })
        .sum()
}

fn mandelbrot_serial(w: usize, h: usize) -> u64 {
    (0..h).map(|y| mandelbrot_row(y, w, h)).sum()
}

/// The parallel kernel as a compute job: one unit of progress per row; stops early (between
/// rows) once the job is cancelled.
fn mandelbrot_job(w: usize, h: usize, job: &Job) -> Result<u64, Cancelled> {
    job.set_total(h as u64);
    let sum = (0..h)
        .into_par_iter()
        .cancel_with(job)
        .map(|y| {
            let row = mandelbrot_row(y, w, h);
            job.advance(1);
            row
        })
        .sum();
    job.checkpoint()?; // a cancelled run's sum is partial
    Ok(sum)
}

/// A progress display: an indicatif bar on a terminal, a few plain lines otherwise.
enum Bar {
    Live(ProgressBar),
    Plain { next_quarter: u64, start: Instant },
}

impl Bar {
    fn new(total: u64) -> Bar {
        if std::io::stdout().is_terminal() {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stdout());
            bar.set_style(
                ProgressStyle::with_template(
                    "  {bar:40.cyan/blue} {percent:>3}% {pos}/{len} rows, {elapsed_precise}",
                )
                .expect("a valid template")
                .progress_chars("█▉▊▋▌▍▎▏ "),
            );
            Bar::Live(bar)
        } else {
            Bar::Plain {
                next_quarter: 1,
                start: Instant::now(),
            }
        }
    }

    fn update(&mut self, p: Progress) {
        match self {
            Bar::Live(bar) => bar.set_position(p.done),
            Bar::Plain {
                next_quarter,
                start,
            } => {
                let fraction = p.fraction().unwrap_or(0.0);
                if *next_quarter <= 4 && fraction >= *next_quarter as f64 / 4.0 {
                    println!(
                        "  progress {:>3.0} % ({}/{} rows) at {:.2} s",
                        fraction * 100.0,
                        p.done,
                        p.total.unwrap_or(0),
                        start.elapsed().as_secs_f64()
                    );
                    while *next_quarter <= 4 && fraction >= *next_quarter as f64 / 4.0 {
                        *next_quarter += 1;
                    }
                }
            }
        }
    }

    fn finish(self) {
        if let Bar::Live(bar) = self {
            bar.finish();
        }
    }
}

async fn part4_offload(scale: f64) {
    println!("== 4. Offload: a rayon kernel you can watch and cancel (spindle::compute) ==");
    // Size the image so the single-threaded kernel takes about 1.2 s × TOUR_SCALE here (the whole
    // tour then stays near 9 s, leaving room under 10 s on a busy machine).
    let (w, h) = spindle::spawn_blocking(move || {
        let start = Instant::now();
        std::hint::black_box(mandelbrot_serial(240, 180));
        let per_pixel = start.elapsed().as_secs_f64().max(1e-6) / (240.0 * 180.0);
        let pixels = (1.2 * scale / per_pixel).clamp(10_000.0, 16_000_000.0);
        let w = (pixels * 4.0 / 3.0).sqrt() as usize;
        (w, w * 3 / 4)
    })
    .await
    .expect("calibration");
    let threads = spindle::spawn_blocking(rayon::current_num_threads)
        .await
        .expect("pool size");
    println!("  {w}×{h} pixels, up to {MAX_ITER} iterations; rayon pool: {threads} threads");

    // The kernel runs on the compute pool. On the calling task, at the same time, one branch
    // draws its progress as `changed()` reports it (coalesced to ~one wake per 10 ms) and
    // another ticks an interval to measure how late the async side is. `gather!` polls both
    // here, so they may share a non-Send `Cell`.
    let mut job = compute::spawn(move |job| {
        let t = Instant::now();
        mandelbrot_job(w, h, job).map(|sum| (sum, t.elapsed()))
    });
    let done = Cell::new(false);
    let ((), (ticks, worst_late)) = spindle::gather!(
        async {
            let mut bar = Bar::new(h as u64);
            while let Some(progress) = job.changed().await {
                bar.update(progress);
            }
            bar.finish();
            done.set(true);
        },
        async {
            let mut iv = interval(Duration::from_millis(50));
            let (mut ticks, mut worst) = (0u32, Duration::ZERO);
            iv.tick().await;
            while !done.get() {
                let scheduled = iv.tick().await;
                worst = worst.max(scheduled.elapsed());
                ticks += 1;
            }
            (ticks, worst)
        },
    )
    .await;
    let (parallel_sum, parallel_time) = job.await.expect("kernel").expect("not cancelled");
    println!(
        "  parallel kernel: {:.2} s on {threads} threads; meanwhile a 50 ms interval ticked {ticks} times, worst lateness {} ms",
        parallel_time.as_secs_f64(),
        worst_late.as_millis()
    );

    let (serial_sum, serial_time) = spindle::spawn_blocking(move || {
        let t = Instant::now();
        (mandelbrot_serial(w, h), t.elapsed())
    })
    .await
    .expect("kernel");
    assert_eq!(
        parallel_sum, serial_sum,
        "both kernels compute the same image"
    );
    println!(
        "  serial kernel:   {:.2} s on 1 thread (checksum {serial_sum} matches)",
        serial_time.as_secs_f64()
    );
    println!(
        "  speed-up: {:.2}× with {threads} threads",
        serial_time.as_secs_f64() / parallel_time.as_secs_f64()
    );

    // A second run, abandoned half-way: `timeout` drops the JobHandle, which cancels the job;
    // the kernel's `cancel_with` sees it between rows. (asyncio's to_thread and tokio's
    // spawn_blocking would keep the cores busy until the kernel finished.)
    let (stopped_tx, stopped_rx) = spindle::sync::oneshot::channel();
    let job = compute::spawn(move |job| {
        let result = mandelbrot_job(w, h, job);
        let _ = stopped_tx.send((Instant::now(), job.progress()));
        result
    });
    let deadline = parallel_time / 2;
    match timeout(deadline, job).await {
        Err(_elapsed) => {
            let expired = Instant::now();
            let (stopped_at, progress) = stopped_rx.await.expect("the kernel reports its stop");
            println!(
                "  cancelled by timeout({:.2} s) at {:.0} % of the rows: the kernel stopped {:.1} ms after the deadline",
                deadline.as_secs_f64(),
                progress.fraction().unwrap_or(0.0) * 100.0,
                stopped_at.saturating_duration_since(expired).as_secs_f64() * 1e3
            );
        }
        Ok(_) => println!("  (the second run finished before its deadline: a very noisy machine)"),
    }
}
