//! `gather!`, `try_gather!`, `gather` and `try_gather`: run futures concurrently on one task.
//!
//! ```text
//! cargo run --example gather
//! ```

use spindle::time::sleep;
use std::time::{Duration, Instant};

async fn fetch(name: &str, ms: u64) -> String {
    sleep(Duration::from_millis(ms)).await;
    format!("{name} ({ms} ms)")
}

async fn parse(input: &str) -> Result<u32, String> {
    sleep(Duration::from_millis(20)).await;
    input.parse().map_err(|e| format!("{input:?}: {e}"))
}

fn main() {
    spindle::run(async {
        // A fixed set of futures of different types; they may borrow locals.
        let prefix = String::from("item");
        let start = Instant::now();
        let (a, b, n) = spindle::gather!(fetch("alpha", 300), fetch("beta", 100), async {
            sleep(Duration::from_millis(200)).await;
            prefix.len()
        })
        .await;
        println!(
            "gather!  -> ({a}, {b}, {n}) in {} ms",
            start.elapsed().as_millis()
        );

        // A collection: outputs in input order, whatever the completion order.
        let names = ["c", "b", "a"];
        let all = spindle::gather(names.iter().zip([30, 20, 10]).map(|(n, ms)| fetch(n, ms))).await;
        println!("gather   -> {all:?}");

        // The first error wins and the other futures are dropped.
        let ok = spindle::try_gather!(parse("1"), parse("22")).await;
        println!("try_gather! ok  -> {ok:?}");
        let bad = spindle::try_gather(["1", "x", "3"].map(parse)).await;
        println!("try_gather  err -> {bad:?}");
    });
}
