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
//! 4. Offloading a Mandelbrot kernel (rayon `par_iter`) with `spawn_blocking` while an
//!    `interval` keeps ticking on the async side; then the same kernel on one thread.
//!
//! `TOUR_SCALE` (default 1.0) multiplies every sleep and the kernel's size.

use rayon::prelude::*;
use spindle::time::{interval, sleep};
use spindle::{GroupError, GroupHandle, task_group};
use std::cell::Cell;
use std::fmt;
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

/// asyncio's `async def slow(n): print(...); await asyncio.sleep(n); print(...); return n`.
async fn slow(n: u64, scale: f64) -> u64 {
    println!("  About to sleep {n}");
    sleep(secs(n as f64, scale)).await;
    println!("  Slept {n}");
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
        // A blocking call cannot be interrupted once it runs, so its error is collected even
        // though the group is already failing when it returns.
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

fn mandelbrot_parallel(w: usize, h: usize) -> u64 {
    (0..h)
        .into_par_iter()
        .map(|y| mandelbrot_row(y, w, h))
        .sum()
}

fn mandelbrot_serial(w: usize, h: usize) -> u64 {
    (0..h).map(|y| mandelbrot_row(y, w, h)).sum()
}

async fn part4_offload(scale: f64) {
    println!("== 4. Offload: a rayon kernel via spawn_blocking, while the async side ticks ==");
    // Size the image so the single-threaded kernel takes about 1.4 s × TOUR_SCALE here (the whole
    // tour then stays near 8 s, leaving room under 10 s on a busy machine).
    let (w, h) = spindle::spawn_blocking(move || {
        let start = Instant::now();
        std::hint::black_box(mandelbrot_serial(240, 180));
        let per_pixel = start.elapsed().as_secs_f64().max(1e-6) / (240.0 * 180.0);
        let pixels = (1.4 * scale / per_pixel).clamp(10_000.0, 16_000_000.0);
        let w = (pixels * 4.0 / 3.0).sqrt() as usize;
        (w, w * 3 / 4)
    })
    .await
    .expect("calibration");
    let threads = spindle::spawn_blocking(rayon::current_num_threads)
        .await
        .expect("pool size");
    println!("  {w}×{h} pixels, up to {MAX_ITER} iterations; rayon pool: {threads} threads");

    // The kernel runs on the compute pool; a ticker runs on the calling task at the same time.
    // `gather!` polls both here, so they may share a non-Send `Cell`.
    let done = Cell::new(false);
    let period = Duration::from_millis(200);
    let start = Instant::now();
    let ((parallel_sum, parallel_time), (ticks, worst_late)) = spindle::gather!(
        async {
            let out = spindle::spawn_blocking(move || {
                let t = Instant::now();
                (mandelbrot_parallel(w, h), t.elapsed())
            })
            .await
            .expect("kernel");
            done.set(true);
            out
        },
        async {
            let mut iv = interval(period);
            let (mut ticks, mut worst) = (0u32, Duration::ZERO);
            iv.tick().await;
            while !done.get() {
                let scheduled = iv.tick().await;
                let late = scheduled.elapsed();
                worst = worst.max(late);
                ticks += 1;
                println!(
                    "  tick {ticks:>2} at {:>5.2} s ({} ms late) — async side alive",
                    start.elapsed().as_secs_f64(),
                    late.as_millis()
                );
            }
            (ticks, worst)
        },
    )
    .await;
    println!(
        "  parallel kernel: {:.2} s on {threads} threads; {ticks} ticks meanwhile, worst lateness {} ms",
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
}
