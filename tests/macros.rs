//! `#[spindle::main]` and `#[spindle::test]` used for real: the tests below are themselves
//! `#[spindle::test]`s (with and without options), and plain `#[test]`s call
//! `#[spindle::main]` functions to check what happens around them (shutdown, panics).
//! The compile errors of misuse are in `macros_ui.rs`.

use std::collections::BTreeSet;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Spawns `count` tasks that each hold their worker until all `count` are running at once
/// (or 10 s passed), and returns the names of the threads they ran on. Only a runtime with at
/// least `count` workers gets all of them in; the names say which workers exist.
async fn names_of_concurrent_tasks(count: usize) -> (BTreeSet<String>, bool) {
    let arrived = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..count)
        .map(|_| {
            let arrived = arrived.clone();
            spindle::spawn(async move {
                arrived.fetch_add(1, Ordering::SeqCst);
                let deadline = Instant::now() + Duration::from_secs(10);
                while arrived.load(Ordering::SeqCst) < count && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(1)); // hold this worker
                }
                std::thread::current().name().unwrap().to_string()
            })
        })
        .collect();
    let mut names = BTreeSet::new();
    for handle in handles {
        names.insert(handle.await.unwrap());
    }
    (names, arrived.load(Ordering::SeqCst) == count)
}

fn worker_names(count: usize) -> BTreeSet<String> {
    (0..count).map(|i| format!("spindle-worker-{i}")).collect()
}

// ---------- #[spindle::test] ----------

#[spindle::test]
async fn runs_inside_a_spindle_runtime() {
    assert!(spindle::runtime::Handle::try_current().is_some());
    let task = spindle::spawn(async { 6 * 7 });
    spindle::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(task.await.unwrap(), 42);
}

#[spindle::test]
async fn the_body_runs_on_the_test_thread_and_need_not_be_send() {
    // The harness names each test's thread after the test; the body is `block_on`ed there.
    assert_eq!(
        std::thread::current().name(),
        Some("the_body_runs_on_the_test_thread_and_need_not_be_send")
    );
    let local = Rc::new(5); // not Send, held across an await
    spindle::yield_now().await;
    assert_eq!(*local, 5);
}

#[spindle::test(worker_threads = 3)]
async fn worker_threads_sets_the_number_of_workers() {
    let (names, all_at_once) = names_of_concurrent_tasks(3).await;
    assert!(all_at_once, "3 tasks could not run at once on 3 workers");
    assert_eq!(names, worker_names(3));
}

#[spindle::test(worker_threads = 1)]
async fn a_single_worker() {
    let handles: Vec<_> = (0..8)
        .map(|_| {
            spindle::spawn(async {
                spindle::yield_now().await; // may resume on any worker there is
                std::thread::current().name().unwrap().to_string()
            })
        })
        .collect();
    let names: BTreeSet<String> = spindle::gather(handles)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(names, worker_names(1));
}

#[spindle::test(compute_threads = 2, worker_threads = 1)]
async fn compute_threads_sets_the_size_of_the_rayon_pool() {
    let arrived = Arc::new(AtomicUsize::new(0));
    let jobs: Vec<_> = (0..2)
        .map(|_| {
            let arrived = arrived.clone();
            spindle::spawn_blocking(move || {
                arrived.fetch_add(1, Ordering::SeqCst);
                let deadline = Instant::now() + Duration::from_secs(10);
                while arrived.load(Ordering::SeqCst) < 2 && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(1));
                }
                std::thread::current().name().unwrap().to_string()
            })
        })
        .collect();
    let mut names = BTreeSet::new();
    for job in jobs {
        names.insert(job.await.unwrap());
    }
    assert_eq!(arrived.load(Ordering::SeqCst), 2);
    let expected: BTreeSet<String> = ["spindle-compute-0", "spindle-compute-1"]
        .map(String::from)
        .into();
    assert_eq!(names, expected);
}

#[spindle::test]
#[should_panic(expected = "the body panicked after an await")]
async fn a_panic_in_the_body_fails_the_test() {
    spindle::time::sleep(Duration::from_millis(1)).await;
    panic!("the body panicked after an await");
}

#[spindle::test(worker_threads = 2)]
#[should_panic(expected = "with options too")]
async fn a_panic_with_options_fails_the_test() {
    spindle::yield_now().await;
    panic!("with options too");
}

#[should_panic(expected = "attribute order does not matter")]
#[spindle::test]
async fn should_panic_may_come_first() {
    panic!("attribute order does not matter");
}

#[spindle::test]
async fn a_test_may_return_a_result() -> Result<(), Box<dyn std::error::Error>> {
    let number: u32 = "42".parse()?; // `?` converts into the declared error type
    let task = spindle::spawn(async move { number + 1 });
    assert_eq!(task.await?, 43);
    if number == 0 {
        return Err("an early return reaches the harness as well".into());
    }
    Ok(())
}

#[spindle::test(worker_threads = 1)]
async fn a_result_test_with_options() -> std::io::Result<()> {
    let listener = spindle::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (client, accepted) =
        spindle::gather!(spindle::net::TcpStream::connect(addr), listener.accept()).await;
    assert_eq!(client?.local_addr()?, accepted?.1);
    Ok(())
}

#[spindle::test]
#[ignore = "shows that #[ignore] composes; passes when run with --ignored"]
async fn an_ignored_test() {
    spindle::yield_now().await;
}

#[spindle::test]
#[test] // written by hand: kept, and no second #[test] is added
async fn an_explicit_test_attribute_is_not_duplicated() {
    spindle::yield_now().await;
}

#[spindle::test]
async fn inner_attributes_still_apply() {
    #![allow(unused_variables)]
    let unused = spindle::spawn(async {}).await;
}

mod renamed {
    use spindle as spin;

    #[spin::test(crate = "spin", worker_threads = 1)]
    async fn the_crate_option_names_a_renamed_spindle() {
        assert_eq!(spin::spawn(async { 1 }).await.unwrap(), 1);
    }

    #[spin::test(crate = spin)]
    async fn the_path_may_be_unquoted() {
        assert_eq!(spin::spawn(async { 2 }).await.unwrap(), 2);
    }
}

// ---------- #[spindle::main] on ordinary functions ----------

/// Flags when dropped: proves a task's future was dropped.
struct DropFlag(&'static AtomicBool);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Spawns a task that never finishes (its future holds `flag`), and returns.
async fn leave_a_task_pending(flag: &'static AtomicBool) {
    let guard = DropFlag(flag);
    drop(spindle::spawn(async move {
        let _guard = guard;
        std::future::pending::<()>().await
    }));
    spindle::time::sleep(Duration::from_millis(2)).await; // let it start
}

static PLAIN_TASK_DROPPED: AtomicBool = AtomicBool::new(false);

#[spindle::main]
async fn answer_leaving_a_task() -> u32 {
    leave_a_task_pending(&PLAIN_TASK_DROPPED).await;
    assert!(!PLAIN_TASK_DROPPED.load(Ordering::SeqCst));
    42
}

static BUILDER_TASK_DROPPED: AtomicBool = AtomicBool::new(false);

/// With options the runtime comes from a `Builder`: same shutdown.
#[spindle::main(worker_threads = 2, compute_threads = 1)]
pub(crate) async fn answer_with_options_leaving_a_task() -> u32 {
    leave_a_task_pending(&BUILDER_TASK_DROPPED).await;
    assert!(!BUILDER_TASK_DROPPED.load(Ordering::SeqCst));
    43
}

#[test]
fn main_returns_the_output_after_cancelling_every_task() {
    assert_eq!(answer_leaving_a_task(), 42);
    assert!(PLAIN_TASK_DROPPED.load(Ordering::SeqCst));
}

#[test]
fn main_with_options_returns_the_output_after_cancelling_every_task() {
    assert_eq!(answer_with_options_leaving_a_task(), 43);
    assert!(BUILDER_TASK_DROPPED.load(Ordering::SeqCst));
}

static PANIC_TASK_DROPPED: [AtomicBool; 2] = [AtomicBool::new(false), AtomicBool::new(false)];

#[spindle::main]
async fn panic_after_spawning() {
    leave_a_task_pending(&PANIC_TASK_DROPPED[0]).await;
    panic!("main body panicked");
}

#[spindle::main(worker_threads = 1)]
async fn panic_after_spawning_with_options() {
    leave_a_task_pending(&PANIC_TASK_DROPPED[1]).await;
    panic!("main body with options panicked");
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

#[test]
fn a_panic_in_main_propagates_after_the_shutdown() {
    let payload = std::panic::catch_unwind(panic_after_spawning).unwrap_err();
    assert_eq!(panic_message(payload), "main body panicked");
    assert!(PANIC_TASK_DROPPED[0].load(Ordering::SeqCst));

    let payload = std::panic::catch_unwind(panic_after_spawning_with_options).unwrap_err();
    assert_eq!(panic_message(payload), "main body with options panicked");
    assert!(PANIC_TASK_DROPPED[1].load(Ordering::SeqCst));
}

#[spindle::main]
async fn one() -> u32 {
    1
}

#[spindle::main(worker_threads = 1)]
async fn two() -> u32 {
    2
}

#[test]
fn calling_a_main_function_inside_a_runtime_panics() {
    spindle::run(async {
        for f in [one as fn() -> u32, two] {
            let message = panic_message(std::panic::catch_unwind(f).unwrap_err());
            assert!(message.contains("inside a spindle runtime"), "{message}");
        }
    });
    assert_eq!((one(), two()), (1, 2)); // and fine outside
}

#[derive(Debug, PartialEq)]
struct Workers(usize);

impl Workers {
    /// An associated function whose body names `Self`.
    #[spindle::main(worker_threads = 2)]
    async fn count() -> Self {
        let (names, all_at_once) = names_of_concurrent_tasks(2).await;
        assert!(all_at_once);
        Self(names.len())
    }
}

#[spindle::main]
async fn returns_impl_trait() -> impl std::fmt::Display {
    spindle::spawn(async { "displayed" }).await.unwrap()
}

/// # Safety
/// None needed; shows that an `unsafe fn` keeps its `unsafe`.
#[spindle::main]
async unsafe fn an_unsafe_fn() -> u8 {
    spindle::yield_now().await;
    3
}

#[spindle::main]
async fn diverges() -> ! {
    spindle::yield_now().await;
    panic!("a `-> !` function ends by panicking");
}

#[test]
fn main_works_on_associated_impl_trait_unsafe_and_diverging_functions() {
    assert_eq!(Workers::count(), Workers(2));
    assert_eq!(returns_impl_trait().to_string(), "displayed");
    // SAFETY: `an_unsafe_fn` has no safety requirements.
    assert_eq!(unsafe { an_unsafe_fn() }, 3);
    let payload = std::panic::catch_unwind(|| diverges()).unwrap_err();
    assert_eq!(
        panic_message(payload),
        "a `-> !` function ends by panicking"
    );
}
