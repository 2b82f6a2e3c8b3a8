//! tokio-console against spindle: a small busy workload, visible task by task in `tokio-console`.
//!
//! ```text
//! cargo run --example console --features tracing      # serves on 127.0.0.1:6669
//! tokio-console                                       # in another terminal (cargo install tokio-console)
//! ```
//!
//! The workspace's `.cargo/config.toml` passes `--cfg console_without_tokio_unstable`, which
//! console-subscriber requires from runtimes other than tokio; outside this repository, build
//! with `RUSTFLAGS="--cfg console_without_tokio_unstable"`. `CONSOLE_SECS` (default 300) bounds
//! the run. See docs/observability.md.

use std::time::Duration;

fn main() {
    // The console layer plus its gRPC server (on its own thread and tokio runtime); spindle's
    // `runtime.spawn` spans and waker events are what it shows.
    console_subscriber::init();
    let secs: u64 = std::env::var("CONSOLE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    println!("console-subscriber on 127.0.0.1:6669; run `tokio-console` (for {secs} s)");
    fn named(name: &str) -> spindle::task::Builder<'_> {
        spindle::task::Builder::new().name(name)
    }
    spindle::run(async move {
        // Tickers: many short polls, woken by the timer.
        for i in 0..4u64 {
            named(&format!("ticker-{i}"))
                .spawn(async move {
                    let mut tick = spindle::time::interval(Duration::from_millis(50 + 25 * i));
                    loop {
                        tick.tick().await;
                    }
                })
                .unwrap();
        }
        // Ping-pong over a channel: wakes by other tasks.
        let (ping_tx, ping_rx) = spindle::sync::mpsc::bounded::<u64>(1);
        let (pong_tx, pong_rx) = spindle::sync::mpsc::bounded::<u64>(1);
        named("ping")
            .spawn(async move {
                let mut n = 0;
                loop {
                    ping_tx.send(n).await.unwrap();
                    n = pong_rx.recv().await.unwrap() + 1;
                    spindle::time::sleep(Duration::from_millis(5)).await;
                }
            })
            .unwrap();
        named("pong")
            .spawn(async move {
                while let Ok(n) = ping_rx.recv().await {
                    pong_tx.send(n).await.unwrap();
                }
            })
            .unwrap();
        // A task that hogs its worker now and then (console flags its long polls).
        named("hog")
            .spawn(async {
                loop {
                    spindle::time::sleep(Duration::from_secs(2)).await;
                    std::thread::sleep(Duration::from_millis(150));
                }
            })
            .unwrap();
        // Short-lived workers and compute jobs, spawned continuously.
        named("spawner")
            .spawn(async {
                for round in 0u64.. {
                    let jobs: Vec<_> = (0..8)
                        .map(|i| {
                            spindle::spawn(async move {
                                spindle::yield_now().await;
                                i
                            })
                        })
                        .collect();
                    for job in jobs {
                        job.await.unwrap();
                    }
                    spindle::spawn_blocking(move || {
                        (0..200_000u64).map(|x| x ^ round).sum::<u64>()
                    })
                    .await
                    .unwrap();
                    spindle::time::sleep(Duration::from_millis(200)).await;
                }
            })
            .unwrap();
        // Idle forever: shows up as idle, never polled again.
        named("forever-idle")
            .spawn(std::future::pending::<()>())
            .unwrap();
        spindle::time::sleep(Duration::from_secs(secs)).await;
    });
}
