//! A parameter sweep of numeric kernels as cancellable, watchable compute jobs.
//!
//! ```text
//! cargo run --release --example compute
//! ```
//!
//! Each kernel integrates the 1-D heat equation `u_t = u_xx` on a rod (explicit finite
//! differences, rayon over the grid each step) for one value of the Courant number
//! `r = dt / dx²`. The explicit scheme is stable only for `r <= 0.5`: above that the solution
//! blows up, which the kernel detects and reports as an error.
//!
//! The sweep runs every kernel as a `spindle::compute` job inside a `task_group`, under a
//! deadline (`spindle::time::timeout`), while the group's body draws the combined progress
//! from the jobs' `changed()` reports. Three sweeps:
//!
//! 1. stable values only: every kernel finishes, results in a table;
//! 2. one unstable value: its failure cancels the kernels still running — they stop between
//!    two time steps instead of burning the cores to the end;
//! 3. the stable sweep under a deadline that is too short: the timeout drops the group, which
//!    cancels every kernel.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use spindle::compute::{self, Cancelled, Job};
use spindle::time::timeout;
use spindle::{GroupError, task_group};
use std::fmt;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// Grid points of the rod.
const POINTS: usize = 200_000;
/// Time steps per kernel.
const STEPS: u64 = 600;

/// Why a kernel produced no result.
#[derive(Debug)]
enum KernelError {
    /// The scheme blew up (r > 0.5) at `step`, noticed at `at`.
    Unstable { r: f64, step: u64, at: Instant },
    /// The sweep was cancelled while the kernel ran.
    Cancelled,
}

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KernelError::Unstable { r, step, .. } => {
                write!(f, "r = {r}: unstable, blew up at step {step}")
            }
            KernelError::Cancelled => f.write_str("cancelled"),
        }
    }
}

impl From<Cancelled> for KernelError {
    fn from(_: Cancelled) -> KernelError {
        KernelError::Cancelled
    }
}

/// What one kernel computed: the temperature at the middle of the rod, and how long it took.
struct Outcome {
    r: f64,
    middle: f64,
    took: Duration,
}

/// `STEPS` explicit steps of the heat equation with Courant number `r`, starting from a hot
/// segment in the middle of a cold rod (ends held at 0). Checks for cancellation every step.
fn heat_kernel(r: f64, job: &Job) -> Result<Outcome, KernelError> {
    let start = Instant::now();
    job.set_total(STEPS);
    let mut u = vec![0.0f64; POINTS];
    let mut next = vec![0.0f64; POINTS];
    // A hot segment of 40 points in the middle: narrow enough that diffusion (or, for an
    // unstable r, the growing oscillation) reaches the middle point within the run.
    let (lo, hi) = (POINTS / 2 - 20, POINTS / 2 + 20);
    u[lo..hi].fill(100.0);
    for step in 1..=STEPS {
        job.checkpoint()?;
        next[1..POINTS - 1]
            .par_chunks_mut(8192)
            .enumerate()
            .for_each(|(chunk, out)| {
                let first = 1 + chunk * 8192;
                for (k, v) in out.iter_mut().enumerate() {
                    let i = first + k;
                    *v = u[i] + r * (u[i + 1] - 2.0 * u[i] + u[i - 1]);
                }
            });
        std::mem::swap(&mut u, &mut next);
        // An unstable scheme oscillates with a growing amplitude: detect it early.
        if step % 20 == 0 && u[POINTS / 2].abs() > 1e6 {
            return Err(KernelError::Unstable {
                r,
                step,
                at: Instant::now(),
            });
        }
        job.advance(1);
    }
    Ok(Outcome {
        r,
        middle: u[POINTS / 2],
        took: start.elapsed(),
    })
}

/// The combined progress of the sweep: an indicatif bar on a terminal, plain lines otherwise.
struct Display {
    bar: Option<ProgressBar>,
    done: Vec<u64>,
    total: u64,
    next_quarter: u64,
}

impl Display {
    fn new(kernels: usize) -> Display {
        let total = kernels as u64 * STEPS;
        let bar = std::io::stdout().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stdout());
            bar.set_style(
                ProgressStyle::with_template("  {bar:40.green/white} {percent:>3}% of all steps")
                    .expect("a valid template"),
            );
            bar
        });
        Display {
            bar,
            done: vec![0; kernels],
            total,
            next_quarter: 1,
        }
    }

    fn update(&mut self, kernel: usize, done: u64) {
        self.done[kernel] = done;
        let sum: u64 = self.done.iter().sum();
        match &self.bar {
            Some(bar) => bar.set_position(sum),
            None => {
                if self.next_quarter <= 4 && sum * 4 >= self.next_quarter * self.total {
                    println!("  progress: {} % of all steps", sum * 100 / self.total);
                    while self.next_quarter <= 4 && sum * 4 >= self.next_quarter * self.total {
                        self.next_quarter += 1;
                    }
                }
            }
        }
    }

    fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

/// When and where a kernel's closure returned (whatever the reason).
struct Exit {
    r: f64,
    steps: u64,
    at: Instant,
}

type SweepResult = Result<Result<Vec<Outcome>, GroupError<KernelError>>, spindle::time::Elapsed>;

/// Runs one kernel per value of `rs` in a task group under `deadline`, drawing the progress.
/// Returns the sweep's result and, once every kernel's closure has returned, their exits.
async fn sweep(rs: &[f64], deadline: Duration) -> (SweepResult, Vec<Exit>) {
    let (exits_tx, exits_rx) = std::sync::mpsc::channel::<Exit>();
    let kernels = rs.len();
    let rs = rs.to_vec();
    let result = timeout(
        deadline,
        task_group(|g| async move {
            let (tx, rx) = spindle::sync::mpsc::unbounded::<(usize, u64)>();
            let handles: Vec<_> = rs
                .iter()
                .enumerate()
                .map(|(i, &r)| {
                    let (tx, exits) = (tx.clone(), exits_tx.clone());
                    g.spawn(async move {
                        // If this child is dropped (a sibling failed, or the deadline dropped
                        // the group), the JobHandle goes with it, which cancels the kernel.
                        let mut job = compute::spawn(move |job| {
                            let result = heat_kernel(r, job);
                            let steps = job.progress().done;
                            let _ = exits.send(Exit {
                                r,
                                steps,
                                at: Instant::now(),
                            });
                            result
                        });
                        while let Some(progress) = job.changed().await {
                            let _ = tx.send((i, progress.done)).await;
                        }
                        job.await.map_err(|_| KernelError::Cancelled)?
                    })
                })
                .collect();
            drop((tx, exits_tx));
            // The body: draw until every child dropped its sender.
            let mut display = Display::new(rs.len());
            while let Ok((kernel, done)) = rx.recv().await {
                display.update(kernel, done);
            }
            display.finish();
            let mut outcomes = Vec::new();
            for handle in handles {
                outcomes.extend(handle.await);
            }
            Ok(outcomes)
        }),
    )
    .await;
    // Dropping a JobHandle cancels its kernel but cannot wait for it: collect every kernel's
    // exit report (each closure sends one when it returns, at its next step if cancelled).
    let exits = spindle::spawn_blocking(move || {
        (0..kernels)
            .filter_map(|_| exits_rx.recv_timeout(Duration::from_secs(60)).ok())
            .collect()
    })
    .await
    .unwrap();
    (result, exits)
}

/// The kernels (other than a failing one) that did not run to the end, how long after
/// `since` the last one returned, and how many never started.
fn report_stops(exits: &[Exit], kernels: usize, failed: Option<f64>, since: Instant) {
    let stopped: Vec<&Exit> = exits
        .iter()
        .filter(|e| e.steps < STEPS && Some(e.r) != failed)
        .collect();
    let last = stopped.iter().map(|e| e.at).max().unwrap_or(since);
    let list: Vec<String> = stopped
        .iter()
        .map(|e| format!("r = {} after {}/{STEPS} steps", e.r, e.steps))
        .collect();
    println!("  cancelled while running: {}", list.join(", "));
    println!(
        "  the last of them returned {:.1} ms later; {} kernel(s) never started (cancelled in the queue)",
        last.saturating_duration_since(since).as_secs_f64() * 1e3,
        kernels - exits.len()
    );
}

fn main() {
    spindle::run(async {
        let threads = spindle::spawn_blocking(rayon::current_num_threads)
            .await
            .unwrap();
        println!(
            "Heat-equation sweep: {POINTS} grid points × {STEPS} steps per kernel, rayon pool of {threads} threads\n"
        );

        println!("== 1. Stable values, deadline 60 s ==");
        let stable = [0.1, 0.2, 0.3, 0.4, 0.45, 0.5];
        let start = Instant::now();
        match sweep(&stable, Duration::from_secs(60)).await {
            (Ok(Ok(outcomes)), _) => {
                println!("     r    u(middle)   kernel time");
                for o in &outcomes {
                    println!(
                        "  {:>5.2}  {:>10.4}   {:>8.3} s",
                        o.r,
                        o.middle,
                        o.took.as_secs_f64()
                    );
                }
                println!(
                    "  sweep finished in {:.2} s\n",
                    start.elapsed().as_secs_f64()
                );
            }
            (other, _) => println!("  unexpected: {:?}\n", other.map(|r| r.map(|v| v.len()))),
        }

        println!("== 2. One unstable value (r = 0.7): the first failure cancels the rest ==");
        match sweep(&[0.7, 0.1, 0.2, 0.3, 0.4], Duration::from_secs(60)).await {
            (Ok(Err(err)), exits) => {
                println!("  {}", err.to_string().replace('\n', "\n  "));
                if let Some(KernelError::Unstable { r, at, .. }) = err.errors().first() {
                    report_stops(&exits, 5, Some(*r), *at);
                }
                println!();
            }
            (other, _) => println!("  unexpected: {:?}\n", other.map(|r| r.map(|v| v.len()))),
        }

        let short = Duration::from_millis(300);
        println!(
            "== 3. The stable sweep under a {} ms deadline ==",
            short.as_millis()
        );
        let start = Instant::now();
        match sweep(&stable, short).await {
            (Err(_elapsed), exits) => {
                println!("  deadline hit after {:.2} s", short.as_secs_f64());
                report_stops(&exits, stable.len(), None, start + short);
            }
            (Ok(_), _) => println!("  (finished before the deadline: a very fast machine)"),
        }
    });
}
