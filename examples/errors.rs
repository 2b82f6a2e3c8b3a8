//! Failures in a `task_group`: first failure cancels the rest, errors are grouped, `split` is
//! the `except*` analogue, `cancel()` stops everything, and an outer timeout drops the group.
//!
//! ```text
//! cargo run --example errors
//! ```

use spindle::time::{sleep, timeout};
use spindle::{TaskGroup, task_group};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

fn main() {
    spindle::run(async {
        // 1. The first failure cancels the siblings and the body; cancelled children are not
        //    errors.
        let err = task_group(|g| async move {
            g.spawn(async {
                sleep(Duration::from_millis(50)).await;
                Err::<(), _>("disk full".to_string())
            });
            let slow = g.spawn(async {
                sleep(Duration::from_secs(60)).await;
                Ok(())
            });
            slow.await; // the body is dropped here when the first child fails
            Ok(())
        })
        .await
        .unwrap_err();
        println!("{err}");

        // 2. The body's error comes last; split sorts errors like `except*`.
        let err = task_group(|g| async move {
            let started = Arc::new(AtomicBool::new(false));
            let (g2, started2) = (g.clone(), started.clone());
            g.spawn_blocking(move || {
                started2.store(true, Ordering::SeqCst);
                // A running blocking child sees the cancellation and reports its own error.
                while !g2.is_cancelled() {
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err::<(), _>("network down".to_string())
            });
            while !started.load(Ordering::SeqCst) {
                sleep(Duration::from_millis(1)).await;
            }
            Err::<(), _>("bad config".to_string())
        })
        .await
        .unwrap_err();
        println!("{err}");
        let (config, rest) = err.split(|e| e.contains("config"));
        println!("config errors: {:?}", config.map(|e| e.into_errors()));
        println!("other errors:  {:?}", rest.map(|e| e.into_errors()));

        // 3. cancel(): no errors, is_cancelled() is true.
        let err = task_group(|g: TaskGroup<String>| async move {
            g.spawn(async {
                sleep(Duration::from_secs(60)).await;
                Ok(())
            });
            g.cancel();
            Ok(())
        })
        .await
        .unwrap_err();
        println!("{err} (is_cancelled = {})", err.is_cancelled());

        // 4. An outer timeout drops the group's future, which aborts every child.
        let r = timeout(
            Duration::from_millis(50),
            task_group(|g| async move {
                g.spawn(async {
                    sleep(Duration::from_secs(60)).await;
                    Ok::<_, String>(())
                });
                sleep(Duration::from_secs(60)).await;
                Ok(())
            }),
        )
        .await;
        println!("timeout: {r:?}");
    });
}
