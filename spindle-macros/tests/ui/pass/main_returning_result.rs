//! A `#[spindle::main]` program that compiles and runs (trybuild runs it): options, a Result
//! return type, `?`, a task, a timer.

use std::time::Duration;

#[spindle::main(worker_threads = 2, compute_threads = 1)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let number: u64 = "41".parse()?;
    let task = spindle::spawn(async move { number + 1 });
    spindle::time::sleep(Duration::from_millis(1)).await;
    let answer = task.await?;
    if answer != 42 {
        return Err(format!("expected 42, got {answer}").into());
    }
    Ok(())
}
