//! `#[spindle::main]`: an `async fn main` that returns a `Result`, on a runtime sized by the
//! attribute's options.
//!
//! ```text
//! cargo run --example main_macro              # the numbers 1..=10
//! cargo run --example main_macro -- 3 4 5     # your numbers
//! cargo run --example main_macro -- 3 x 5     # a bad one: main returns Err, exit code 1
//! ```
//!
//! Each input is parsed by its own task in a task group (the first bad one cancels the rest),
//! then the sum of squares is computed on the rayon pool. `?` carries any failure out of `main`,
//! which prints it as `Error: …` and exits with code 1, as a synchronous `main` would.

use spindle::time::sleep;
use std::fmt;
use std::time::Duration;

#[derive(Debug)]
struct BadNumber {
    input: String,
    reason: std::num::ParseIntError,
}

impl fmt::Display for BadNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} is not a number: {}", self.input, self.reason)
    }
}

impl std::error::Error for BadNumber {}

#[spindle::main(worker_threads = 2, compute_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let inputs = if args.is_empty() {
        (1..=10).map(|n| n.to_string()).collect()
    } else {
        args
    };

    let numbers = spindle::task_group(|group| async move {
        let handles: Vec<_> = inputs
            .into_iter()
            .map(|input| {
                group.spawn(async move {
                    sleep(Duration::from_millis(10)).await; // as if it came over the network
                    match input.trim().parse::<u64>() {
                        Ok(number) => Ok(number),
                        Err(reason) => Err(BadNumber { input, reason }),
                    }
                })
            })
            .collect();
        let mut numbers = Vec::new();
        for handle in handles {
            numbers.extend(handle.await);
        }
        Ok(numbers)
    })
    .await?;

    let count = numbers.len();
    let sum_of_squares =
        spindle::spawn_blocking(move || numbers.iter().map(|n| n * n).sum::<u64>()).await?;
    println!("{count} numbers, sum of squares {sum_of_squares}");
    Ok(())
}
