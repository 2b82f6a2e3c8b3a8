//! `task_group`: children in parallel on the worker threads, the body on the calling task.
//!
//! ```text
//! cargo run --example task_group
//! ```

use spindle::task_group;
use spindle::time::sleep;
use std::time::{Duration, Instant};

/// A child: `'static + Send`, returns `Result`.
async fn download(id: u32) -> Result<usize, String> {
    sleep(Duration::from_millis(100 * u64::from(id))).await;
    Ok(1000 * id as usize)
}

fn main() {
    let start = Instant::now();
    let total = spindle::run(task_group(|g| async move {
        let handles: Vec<_> = (1..=3).map(|id| g.spawn(download(id))).collect();

        // Children may spawn more children into the same group.
        let g2 = g.clone();
        g.spawn(async move {
            let extra = g2.spawn_blocking(|| Ok((1..=100u64).sum::<u64>()));
            println!("child spawned a blocking grandchild: {:?}", extra.await);
            Ok(0)
        });

        // The body awaits the handles; `Some(v)` if the child succeeded.
        let mut total = 0;
        for h in handles {
            total += h.await.expect("child failed");
        }
        Ok::<_, String>(total)
    }));
    println!(
        "total = {:?} after {} ms (children ran concurrently: 300 ms, not 600)",
        total,
        start.elapsed().as_millis()
    );
}
