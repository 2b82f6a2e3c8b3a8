//! Every "outside a runtime" panic reports the caller's line, not a line inside spindle.
//!
//! One test in its own binary: it installs a process-wide panic hook to read the location.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Runs `f`, which must panic, and returns the file and line the panic reported and its message.
fn panic_site(f: impl FnOnce()) -> (String, u32, String) {
    let seen = Arc::new(Mutex::new(None));
    let s = seen.clone();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let location = info.location().unwrap();
        let message = info
            .payload()
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| info.payload().downcast_ref::<&str>().map(|m| m.to_string()))
            .unwrap_or_default();
        *s.lock().unwrap() = Some((location.file().to_string(), location.line(), message));
    }));
    let result = catch_unwind(AssertUnwindSafe(f));
    std::panic::set_hook(previous);
    assert!(result.is_err(), "expected a panic");
    seen.lock().unwrap().take().unwrap()
}

#[test]
fn outside_a_runtime_panics_report_the_callers_line() {
    let (file, line, message) = panic_site(|| {
        spindle::runtime::Handle::current();
    });
    assert_eq!((file.as_str(), line), (file!(), line!() - 2), "{message}");
    assert!(message.contains("outside a spindle runtime"), "{message}");

    let (file, line, _) = panic_site(|| {
        drop(spindle::spawn(async {}));
    });
    assert_eq!((file.as_str(), line), (file!(), line!() - 2));

    let (file, line, _) = panic_site(|| {
        drop(spindle::spawn_blocking(|| {}));
    });
    assert_eq!((file.as_str(), line), (file!(), line!() - 2));

    let (file, line, message) = panic_site(|| {
        drop(spindle::unblock(|| {}));
    });
    assert_eq!((file.as_str(), line), (file!(), line!() - 2), "{message}");
    assert!(message.contains("spindle::unblock"), "{message}");

    // A timer cannot know who polls it, so its message names where it was created.
    let created_line = line!() + 1;
    let sleep = spindle::time::sleep(Duration::from_millis(1));
    let (_, _, message) = panic_site(move || {
        futures_lite::future::block_on(sleep);
    });
    assert!(
        message.contains(&format!("{}:{created_line}:", file!())),
        "{message}"
    );

    let (file, line, _) = panic_site(|| {
        spindle::time::interval(Duration::ZERO);
    });
    assert_eq!((file.as_str(), line), (file!(), line!() - 2));
}
