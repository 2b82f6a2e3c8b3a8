//! Fixed-size workloads for instruction counts, to compare builds (before/after a scheduler
//! change, feature `tracing` off/on) without the noise of wall-clock timing on a shared machine:
//!
//! ```text
//! cargo bench --bench cost_probe --no-run     # prints the binary's path
//! valgrind --tool=callgrind --separate-threads=yes <binary> spawn 20000
//! ```
//!
//! `spawn N`: one task spawns N empty tasks and joins them; `yield N`: one task yields N times;
//! both on a 1-worker runtime (deterministic). The cost of one spawn (or poll) is the
//! difference of the *worker thread's* instruction totals (`spindle-worker-0`, the busiest of
//! the per-thread outputs) for two N, divided by the difference of N: start-up, shutdown, the
//! watchdog and the main thread cancel out. docs/benchmarks.md ("Observability cost") has the
//! results. Without arguments (as under a plain `cargo bench`) it does nothing.
//!
//! `COST_PROBE_SUBSCRIBER=registry` installs `tracing_subscriber::registry()` as the global
//! subscriber first: with feature `tracing`, spans are then really created, entered and closed
//! (the floor of what any subscriber, console-subscriber included, costs on top).

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with('-'));
    let (Some(mode), Some(n)) = (args.next(), args.next()) else {
        eprintln!(
            "cost_probe: usage: cost_probe (spawn | yield) N  (see the file's documentation)"
        );
        return;
    };
    let n: usize = n.parse().expect("N must be a number");
    if std::env::var("COST_PROBE_SUBSCRIBER").as_deref() == Ok("registry") {
        use tracing_subscriber::util::SubscriberInitExt;
        tracing_subscriber::registry().init();
    }
    let rt = spindle::runtime::Builder::new()
        .worker_threads(1)
        .compute_threads(1)
        .build()
        .unwrap();
    let task = match mode.as_str() {
        "spawn" => rt.spawn(async move {
            let handles: Vec<_> = (0..n).map(|_| spindle::spawn(async {})).collect();
            for h in handles {
                h.await.unwrap();
            }
        }),
        "yield" => rt.spawn(async move {
            for _ in 0..n {
                spindle::yield_now().await;
            }
        }),
        other => panic!("cost_probe: unknown mode {other:?} (spawn | yield)"),
    };
    rt.block_on(task).unwrap();
}
