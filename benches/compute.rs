//! `spindle::compute` benchmark: what cancellation and progress cost, how fast a cancelled
//! kernel stops, and the tour's kernel via `spindle::compute` vs tokio's recommended pattern.
//!
//! Rows (docs/benchmarks.md, "Compute jobs", has the definitions and the measured numbers):
//!
//! * `checkpoint`: ns per `Job::checkpoint()` in a hot loop (10 M calls inside a running job),
//!   minus the same loop without it; also `compute::checkpoint()` (the thread-local lookup)
//!   and rdtsc cycles per call.
//! * `cancel_latency`: abort → the closure returned, for a kernel that checks its job every
//!   ~100 µs of spinning; p50 and p99 over 201 aborts (target p99 ≤ 1 ms).
//! * `progress_overhead`: the tour's Mandelbrot kernel (rayon over rows) with `advance(1)` per
//!   row, and per pixel, vs none; plus `cancel_with` per row and per pixel vs a plain
//!   `par_iter` (target ≤ 2 %).
//! * `tour_kernel`: the same kernel end to end (spawn → result on the async side) via
//!   `spindle::compute::spawn` vs tokio + `rayon::spawn` + `tokio::sync::oneshot` (tokio's
//!   recommendation for CPU-bound work), at two sizes.
//!
//! Method as in `benches/runtime.rs`: one warm-up round, then `runs` interleaved rounds
//! (A, B, A, B, ...) so that drift in machine load hits all variants alike; medians (and the
//! 25th–75th percentiles) reported. Usage: `cargo bench --bench compute [-- <row-filter>...]`;
//! `BENCH_RUNS=<n>` (default 21, at least 15), `BENCH_QUICK=1` (3 runs, smaller sizes).

use rayon::prelude::*;
use spindle::compute::{self, Cancelled, Job, ParallelIteratorExt};
use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const MIN_REPORTED_RUNS: usize = 15;
const DEFAULT_RUNS: usize = 21;
const QUICK_RUNS: usize = 3;

struct Config {
    runs: usize,
    quick: bool,
    filters: Vec<String>,
    threads: usize,
}

impl Config {
    fn from_env() -> Config {
        let quick = std::env::var("BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
        let runs = match std::env::var("BENCH_RUNS")
            .ok()
            .map(|v| v.trim().parse::<usize>())
        {
            Some(Ok(r)) if quick => r.max(1),
            Some(Ok(r)) => r.max(MIN_REPORTED_RUNS),
            Some(Err(_)) => panic!("BENCH_RUNS must be a non-negative integer"),
            None if quick => QUICK_RUNS,
            None => DEFAULT_RUNS,
        };
        let filters = std::env::args()
            .skip(1)
            .filter(|a| !a.starts_with('-'))
            .collect();
        Config {
            runs,
            quick,
            filters,
            threads: num_cpus::get(),
        }
    }

    fn wants(&self, row: &str) -> bool {
        self.filters.is_empty() || self.filters.iter().any(|f| row.contains(f.as_str()))
    }
}

/// Median and quartiles of samples (any unit).
fn stats(samples: &mut [f64]) -> (f64, f64, f64) {
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.25), at(0.75))
}

/// Runs the variants interleaved: one warm-up round, then `runs` rounds; returns the samples
/// of each variant (seconds, or whatever the closures return).
fn interleaved(runs: usize, variants: &mut [&mut dyn FnMut() -> f64]) -> Vec<Vec<f64>> {
    for v in variants.iter_mut() {
        v();
    }
    let mut samples = vec![Vec::with_capacity(runs); variants.len()];
    for _ in 0..runs {
        for (i, v) in variants.iter_mut().enumerate() {
            samples[i].push(v());
        }
    }
    samples
}

#[cfg(target_arch = "x86_64")]
fn cycles() -> u64 {
    // SAFETY: rdtsc has no preconditions on x86_64.
    unsafe { core::arch::x86_64::_rdtsc() }
}

#[cfg(not(target_arch = "x86_64"))]
fn cycles() -> u64 {
    0
}

// ---------------------------------------------------------------------------------------------
// the kernel (the tour's Mandelbrot)

const MAX_ITER: u32 = 1000;

fn escape(cr: f64, ci: f64) -> u32 {
    let (mut zr, mut zi) = (0.0f64, 0.0f64);
    for i in 0..MAX_ITER {
        let (zr2, zi2) = (zr * zr, zi * zi);
        if zr2 + zi2 > 4.0 {
            return i;
        }
        zi = 2.0 * zr * zi + ci;
        zr = zr2 - zi2 + cr;
    }
    MAX_ITER
}

fn pixel(x: usize, y: usize, w: usize, h: usize) -> u64 {
    let ci = -1.2 + 2.4 * (y as f64 + 0.5) / h as f64;
    let cr = -2.1 + 2.7 * (x as f64 + 0.5) / w as f64;
    u64::from(escape(cr, ci))
}

fn row(y: usize, w: usize, h: usize) -> u64 {
    (0..w).map(|x| pixel(x, y, w, h)).sum()
}

/// How a kernel run reports progress / checks its job.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Variant {
    Plain,
    AdvancePerRow,
    AdvancePerPixel,
    CancelWithRows,
    CancelWithPixels,
    PlainPixels,
}

fn kernel(variant: Variant, w: usize, h: usize, job: &Job) -> u64 {
    match variant {
        Variant::Plain => (0..h).into_par_iter().map(|y| row(y, w, h)).sum(),
        Variant::AdvancePerRow => (0..h)
            .into_par_iter()
            .map(|y| {
                let r = row(y, w, h);
                job.advance(1);
                r
            })
            .sum(),
        Variant::AdvancePerPixel => (0..h)
            .into_par_iter()
            .map(|y| {
                (0..w)
                    .map(|x| {
                        let p = pixel(x, y, w, h);
                        job.advance(1);
                        p
                    })
                    .sum::<u64>()
            })
            .sum(),
        Variant::CancelWithRows => (0..h)
            .into_par_iter()
            .cancel_with(job)
            .map(|y| row(y, w, h))
            .sum(),
        Variant::PlainPixels => (0..w * h)
            .into_par_iter()
            .map(|i| pixel(i % w, i / w, w, h))
            .sum(),
        Variant::CancelWithPixels => (0..w * h)
            .into_par_iter()
            .cancel_with(job)
            .map(|i| pixel(i % w, i / w, w, h))
            .sum(),
    }
}

/// The tour's kernel as a cancellable job (as in examples/tour.rs).
fn tour_job(w: usize, h: usize, job: &Job) -> Result<u64, Cancelled> {
    job.set_total(h as u64);
    let sum = (0..h)
        .into_par_iter()
        .cancel_with(job)
        .map(|y| {
            let r = row(y, w, h);
            job.advance(1);
            r
        })
        .sum();
    job.checkpoint()?;
    Ok(sum)
}

// ---------------------------------------------------------------------------------------------
// rows

fn spindle_rt(threads: usize) -> spindle::runtime::Runtime {
    spindle::runtime::Builder::new()
        .worker_threads(threads)
        .compute_threads(threads)
        .build()
        .expect("spindle runtime")
}

fn row_checkpoint(cfg: &Config, out: &mut Vec<String>) {
    let rt = spindle_rt(cfg.threads);
    let calls: u64 = if cfg.quick { 1_000_000 } else { 10_000_000 };
    // Each sample: one job running three hot loops of `calls` iterations; returns
    // (seconds, cycles) per loop.
    let sample = || -> [(f64, u64); 3] {
        rt.block_on(async move {
            compute::spawn(move |job| {
                let time = |f: &dyn Fn() -> u64| {
                    let (t, c) = (Instant::now(), cycles());
                    black_box(f());
                    (t.elapsed().as_secs_f64(), cycles().wrapping_sub(c))
                };
                let base = time(&|| {
                    let mut acc = 0u64;
                    for i in 0..calls {
                        acc = acc.wrapping_add(black_box(i));
                    }
                    acc
                });
                let method = time(&|| {
                    let mut acc = 0u64;
                    for i in 0..calls {
                        acc = acc.wrapping_add(black_box(i));
                        if job.checkpoint().is_err() {
                            break;
                        }
                    }
                    acc
                });
                let free = time(&|| {
                    let mut acc = 0u64;
                    for i in 0..calls {
                        acc = acc.wrapping_add(black_box(i));
                        if compute::checkpoint().is_err() {
                            break;
                        }
                    }
                    acc
                });
                [base, method, free]
            })
            .await
        })
        .expect("checkpoint job")
    };
    sample(); // warm-up
    let mut ns = [Vec::new(), Vec::new()];
    let mut cyc = [Vec::new(), Vec::new()];
    let mut base_ns = Vec::new();
    for _ in 0..cfg.runs {
        let [base, method, free] = sample();
        base_ns.push(base.0 / calls as f64 * 1e9);
        for (k, v) in [method, free].into_iter().enumerate() {
            ns[k].push((v.0 - base.0) / calls as f64 * 1e9);
            cyc[k].push((v.1 as f64 - base.1 as f64) / calls as f64);
        }
    }
    let (b, _, _) = stats(&mut base_ns);
    for (k, name) in ["Job::checkpoint()", "compute::checkpoint()"]
        .into_iter()
        .enumerate()
    {
        let (m, q1, q3) = stats(&mut ns[k]);
        let (c, _, _) = stats(&mut cyc[k]);
        out.push(format!(
            "| checkpoint: {name} | {m:.2} ns/call ({q1:.2}–{q3:.2}); {c:.1} cycles/call | loop body without it: {b:.2} ns |"
        ));
    }
}

fn row_cancel_latency(cfg: &Config, out: &mut Vec<String>) {
    let rt = spindle_rt(cfg.threads);
    let aborts = if cfg.quick { 21 } else { 201 };
    let mut latencies = Vec::with_capacity(aborts);
    let mut first_check = 0usize;
    for i in 0..aborts + 1 {
        // (the last checkpoint that passed, the closure's return)
        let stopped: Arc<Mutex<Option<(Instant, Instant)>>> = Arc::default();
        let started = Arc::new(std::sync::Barrier::new(2));
        let (s, st) = (stopped.clone(), started.clone());
        let handle = {
            let _enter = rt.handle().enter();
            compute::spawn(move |job| {
                st.wait();
                let mut last_ok = Instant::now();
                loop {
                    if job.checkpoint().is_err() {
                        break;
                    }
                    last_ok = Instant::now();
                    let t = Instant::now();
                    while t.elapsed() < Duration::from_micros(100) {
                        std::hint::spin_loop();
                    }
                }
                *s.lock().unwrap() = Some((last_ok, Instant::now()));
            })
        };
        started.wait();
        // Abort at a varying point of the 100 µs step.
        std::thread::sleep(Duration::from_micros(2_000 + (i as u64 * 37) % 1000));
        let aborted = Instant::now();
        handle.abort();
        let result = rt.block_on(handle);
        assert!(result.unwrap_err().is_cancelled());
        let (last_ok, at) = stopped.lock().unwrap().expect("the closure returned");
        if i > 0 {
            latencies.push(at.saturating_duration_since(aborted).as_secs_f64() * 1e6);
            // The checkpoint that failed was the first one after the abort.
            first_check += usize::from(last_ok <= aborted);
        }
    }
    latencies.sort_by(f64::total_cmp);
    let pct = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    out.push(format!(
        "| cancel_latency (abort → closure returned, checks every 100 µs) | p50 {:.0} µs, p90 {:.0} µs, p99 {:.0} µs, max {:.0} µs over {aborts} aborts | target p99 ≤ 1000 µs: {}; stopped at the first checkpoint after the abort in {first_check}/{aborts} |",
        pct(0.5),
        pct(0.9),
        pct(0.99),
        pct(1.0),
        if pct(0.99) <= 1000.0 { "met" } else { "missed" }
    ));
}

fn row_progress_overhead(cfg: &Config, out: &mut Vec<String>) {
    let rt = spindle_rt(cfg.threads);
    let (w, h) = if cfg.quick { (320, 240) } else { (640, 480) };
    let run = |variant: Variant| {
        let t = Instant::now();
        let sum = rt
            .block_on(async move { compute::spawn(move |job| kernel(variant, w, h, job)).await })
            .unwrap();
        let secs = t.elapsed().as_secs_f64();
        black_box(sum);
        secs
    };
    let variants = [
        Variant::Plain,
        Variant::AdvancePerRow,
        Variant::AdvancePerPixel,
        Variant::CancelWithRows,
        Variant::PlainPixels,
        Variant::CancelWithPixels,
    ];
    let mut closures: Vec<Box<dyn FnMut() -> f64>> = variants
        .iter()
        .map(|&v| Box::new(move || run(v)) as Box<dyn FnMut() -> f64>)
        .collect();
    let mut refs: Vec<&mut dyn FnMut() -> f64> = closures
        .iter_mut()
        .map(|c| c.as_mut() as &mut dyn FnMut() -> f64)
        .collect();
    let mut samples = interleaved(cfg.runs, &mut refs);
    let medians: Vec<(f64, f64, f64)> = samples.iter_mut().map(|s| stats(s)).collect();
    let cell = |i: usize| {
        let (m, q1, q3) = medians[i];
        format!("{:.1} ms ({:.1}–{:.1})", m * 1e3, q1 * 1e3, q3 * 1e3)
    };
    let ratio = |i: usize, base: usize| {
        let r = medians[i].0 / medians[base].0;
        format!(
            "{:+.1} % vs {:?}{}",
            (r - 1.0) * 100.0,
            variants[base],
            if r <= 1.02 {
                ""
            } else {
                " (over the 2 % target)"
            }
        )
    };
    let name = |v: Variant| match v {
        Variant::Plain => "rows, no progress (baseline)",
        Variant::AdvancePerRow => "rows, advance(1) per row",
        Variant::AdvancePerPixel => "rows, advance(1) per pixel",
        Variant::CancelWithRows => "rows, cancel_with",
        Variant::PlainPixels => "pixels as items, plain (baseline)",
        Variant::CancelWithPixels => "pixels as items, cancel_with",
    };
    for (i, &v) in variants.iter().enumerate() {
        let base = if i >= 4 { 4 } else { 0 };
        out.push(format!(
            "| progress_overhead {w}×{h}: {} | {} | {} |",
            name(v),
            cell(i),
            if i == base {
                "—".to_string()
            } else {
                ratio(i, base)
            }
        ));
    }
}

fn row_tour_kernel(cfg: &Config, out: &mut Vec<String>) {
    let rt = spindle_rt(cfg.threads);
    let tokio_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cfg.threads)
        .enable_all()
        .build()
        .expect("tokio runtime");
    // tokio's CPU-bound recommendation: a rayon pool, results sent back over a oneshot.
    let pool = Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(cfg.threads)
            .build()
            .expect("rayon pool"),
    );
    let sizes: &[(usize, usize)] = if cfg.quick {
        &[(320, 240), (32, 24)]
    } else {
        &[(640, 480), (64, 48)]
    };
    for &(w, h) in sizes {
        let expected = (0..h).map(|y| row(y, w, h)).sum::<u64>();
        let mut spindle_run = || {
            let t = Instant::now();
            let sum = rt
                .block_on(async move { compute::spawn(move |job| tour_job(w, h, job)).await })
                .unwrap()
                .unwrap();
            assert_eq!(sum, expected);
            t.elapsed().as_secs_f64()
        };
        let pool2 = pool.clone();
        let mut tokio_run = || {
            let t = Instant::now();
            let pool = pool2.clone();
            let sum = tokio_rt.block_on(async move {
                tokio::spawn(async move {
                    let (tx, rx) = tokio::sync::oneshot::channel();
                    pool.spawn(move || {
                        let sum: u64 = (0..h).into_par_iter().map(|y| row(y, w, h)).sum();
                        let _ = tx.send(sum);
                    });
                    rx.await.expect("rayon job")
                })
                .await
                .unwrap()
            });
            assert_eq!(sum, expected);
            t.elapsed().as_secs_f64()
        };
        let mut samples = interleaved(cfg.runs, &mut [&mut spindle_run, &mut tokio_run]);
        let (s, s1, s3) = stats(&mut samples[0]);
        let (t, t1, t3) = stats(&mut samples[1]);
        let unit = |x: f64| {
            if x < 0.01 {
                format!("{:.0} µs", x * 1e6)
            } else {
                format!("{:.1} ms", x * 1e3)
            }
        };
        let r = s / t;
        out.push(format!(
            "| tour_kernel {w}×{h}: spindle::compute (progress + cancel_with) vs tokio + rayon::spawn + oneshot | {} ({}–{}) vs {} ({}–{}) | ratio {r:.2}: {} |",
            unit(s),
            unit(s1),
            unit(s3),
            unit(t),
            unit(t1),
            unit(t3),
            if r < 0.85 {
                "win"
            } else if r <= 1.15 {
                "tie"
            } else {
                "loss"
            }
        ));
    }
}

fn main() {
    let cfg = Config::from_env();
    eprintln!(
        "compute bench: {} threads, {} runs per cell{}",
        cfg.threads,
        cfg.runs,
        if cfg.quick { " (quick)" } else { "" }
    );
    let mut out = Vec::new();
    type Row = fn(&Config, &mut Vec<String>);
    let rows: [(&str, Row); 4] = [
        ("checkpoint", row_checkpoint),
        ("cancel_latency", row_cancel_latency),
        ("progress_overhead", row_progress_overhead),
        ("tour_kernel", row_tour_kernel),
    ];
    for (name, row) in rows {
        if cfg.wants(name) {
            let t = Instant::now();
            row(&cfg, &mut out);
            eprintln!("{name}: {:.1} s", t.elapsed().as_secs_f64());
        }
    }
    println!("| row | median (25th–75th percentile) | note |");
    println!("|---|---|---|");
    for line in out {
        println!("{line}");
    }
}
