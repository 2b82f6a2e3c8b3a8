//! # spindle
//!
//! A multi-threaded async runtime with Python asyncio's friendly model: [`run`] a future,
//! [`spawn`] tasks, [`time::sleep`], [`gather!`] futures concurrently, structure work with
//! [`task_group`], and offload numeric kernels with [`spawn_blocking`] onto a bounded rayon pool.
//!
//! ```
//! use std::time::Duration;
//!
//! let (a, b) = spindle::run(async {
//!     spindle::gather!(
//!         async { spindle::time::sleep(Duration::from_millis(20)).await; "slow" },
//!         async { "fast" },
//!     )
//!     .await
//! });
//! assert_eq!((a, b), ("slow", "fast"));
//! ```
//!
//! Follow a task through the source: [`spawn`] (`runtime/`) creates a cell (`task/`), the
//! scheduler (`scheduler/`) queues and polls it on a worker, its wakers come from the reactor
//! (`reactor/`: timers and sockets) or from other tasks, and its [`JoinHandle`] receives the
//! output. `compute/`, `time/`, `net/`, `group/`, `blocking/`, `fs/`, `signal/`, `process/`
//! and `sync/` are built on top of that; [`compute`] has kernels you can cancel and watch,
//! [`sync`] the channels and locks, [`io`] the I/O extension traits and helpers.
//!
//! Two pools sit beside the workers for synchronous code: [`spawn_blocking`] runs CPU work on
//! the bounded rayon compute pool, [`unblock`] runs blocking I/O (and [`fs`] runs every file
//! operation) on the elastic blocking-I/O lane.
//!
//! # Cargo features
//!
//! All off by default; each one adds a bridge to the wider ecosystem (`src/integrations/`):
//!
//! | feature | adds |
//! |---|---|
//! | `hyper` | `spindle::hyper`: `SpindleExecutor`, `SpindleTimer`, `SpindleIo`, `SpindleConnector` — hyper 1.x servers and clients (and hyper-util's pooled client) on spindle |
//! | `tokio-io` | `tokio::io::AsyncRead`/`AsyncWrite` for `net::TcpStream`, `net::UnixStream` (and `SpindleIo` with `hyper`) |
//! | `tokio-compat` | `spindle::compat::tokio(future)`: run futures of tokio-only crates (reqwest, tonic, sqlx) from spindle tasks |
//!
//! ```toml
//! [dependencies]
//! spindle = { version = "0.1", features = ["hyper"] }
//! ```

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// The attribute macros name the crate `::spindle`; this makes that path work in spindle's own
// unit tests too.
extern crate self as spindle;

pub(crate) mod loom;
#[cfg(loom)]
#[doc(hidden)]
pub mod loom_api;

mod blocking;
pub mod compute;
pub mod fs;
#[doc(hidden)] // public only so that the gather!/try_gather! macros can name their helpers
pub mod group;
mod integrations;
pub mod io;
mod macro_support;
pub mod metrics;
pub mod net;
#[cfg(not(loom))] // process-global orphan table in statics, outside the loom models
pub mod process;
mod reactor;
pub mod runtime;
mod scheduler;
#[cfg(not(loom))] // process-wide handler state in statics, outside the loom models
pub mod signal;
pub mod sync;
pub mod task;
pub mod time;

#[cfg(feature = "tokio-compat")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio-compat")))]
pub use integrations::compat;
#[cfg(feature = "hyper")]
#[cfg_attr(docsrs, doc(cfg(feature = "hyper")))]
pub use integrations::hyper;

pub use blocking::{spawn_blocking, unblock};
pub use group::{GroupError, GroupHandle, JoinSet, TaskGroup, gather, task_group, try_gather};
pub use runtime::{run, spawn};
pub use task::{AbortHandle, JoinError, JoinHandle, yield_now};

#[doc(hidden)] // named by the expansion of `#[spindle::main(..)]` / `#[spindle::test(..)]`
pub mod __macro_support {
    pub use crate::macro_support::block_on_with;
}

/// Runs an `async fn` on a fresh runtime and shuts the runtime down before returning:
/// `asyncio.run(main())` as an attribute.
///
/// ```
/// use std::time::Duration;
///
/// #[spindle::main]
/// async fn main() -> std::io::Result<()> {
///     let task = spindle::spawn(async { 6 * 7 });
///     spindle::time::sleep(Duration::from_millis(1)).await;
///     assert_eq!(task.await?, 42);
///     Ok(())
/// }
/// ```
///
/// The function stays a function with the same name, visibility, attributes and return type,
/// minus the `async`; its body runs on the calling thread, exactly as if it were passed to
/// [`run`]:
///
/// ```text
/// #[spindle::main]                         fn main() -> io::Result<()> {
/// async fn main() -> io::Result<()> {  =>      async fn main() -> io::Result<()> { BODY }
///     BODY                                     spindle::run(main())
/// }                                        }
/// ```
///
/// So: the body may borrow and need not be `Send`; when it returns, every task still alive is
/// cancelled (its future dropped) and the worker and compute threads are joined, before the
/// function returns; a panic in the body propagates to the caller after that shutdown; and a
/// `main` returning `Result` reports an `Err` the way a synchronous `main` does (printed with
/// `Debug`, exit code 1). Type errors in the body are reported on your code, against your return
/// type, as in any function.
///
/// It works on any free function without arguments, not only `main`: `#[spindle::main] async fn
/// serve() -> u32` becomes a synchronous `fn serve() -> u32` that runs its own runtime (calling
/// it from inside a runtime panics, as [`run`] does).
///
/// # Options
///
/// * `worker_threads = N`: async worker threads (default: one per core).
/// * `compute_threads = N`: threads in the rayon pool behind [`spawn_blocking`]
///   (default: one per core).
/// * `crate = "path"` (or `crate = path`): where the expansion finds spindle, if your crate
///   renamed it (`my_spindle = { package = "spindle", .. }` in `Cargo.toml`) or re-exports it.
///   Default: `::spindle`.
///
/// With thread counts, the runtime comes from [`runtime::Builder`]
/// instead of [`run`], with the same shutdown. A count of `0` is a compile error.
///
/// ```
/// use spindle as my_spindle;
///
/// #[my_spindle::main(worker_threads = 2, compute_threads = 1, crate = "my_spindle")]
/// async fn main() {
///     let names: Vec<String> = my_spindle::gather((0..8).map(|_| {
///         my_spindle::spawn(async { std::thread::current().name().unwrap().to_string() })
///     }))
///     .await
///     .into_iter()
///     .map(Result::unwrap)
///     .collect();
///     assert!(names.iter().all(|n| n == "spindle-worker-0" || n == "spindle-worker-1"));
/// }
/// ```
///
/// # Compile errors
///
/// Each points at the offending tokens: a function that is not `async` (at `fn`), one with
/// arguments, generics or `self`, an unknown option (the message lists the valid ones), a
/// value that is not a positive integer literal, and the attribute on anything but a function.
///
/// ```compile_fail
/// #[spindle::main(worker_threads = 0)] // error: `worker_threads` must be at least 1
/// async fn main() {}
/// ```
#[doc(inline)]
pub use spindle_macros::main;

/// Runs an `async fn` test on a fresh runtime, one runtime per test, shut down (every task
/// cancelled, threads joined) before the test returns.
///
/// ```
/// #[spindle::test]
/// async fn spawned_tasks_run() {
///     assert_eq!(spindle::spawn(async { 1 + 1 }).await.unwrap(), 2);
/// }
///
/// #[spindle::test(worker_threads = 1)]
/// #[should_panic(expected = "boom")]
/// async fn a_panic_fails_the_test() {
///     spindle::yield_now().await;
///     panic!("boom");
/// }
///
/// #[spindle::test]
/// async fn tests_may_return_result() -> std::io::Result<()> {
///     let listener = spindle::net::TcpListener::bind("127.0.0.1:0").await?;
///     assert!(listener.local_addr()?.port() > 0);
///     Ok(())
/// }
/// # fn main() {}
/// ```
///
/// The expansion is a `#[test] fn` with the same name, attributes and return type, whose body
/// runs like [`#[spindle::main]`](macro@crate::main)'s. The options are the same
/// (`worker_threads`, `compute_threads`, `crate`). It works with `#[should_panic]` (a panic in
/// the body reaches the test harness after the runtime shut down), `#[ignore]`, and tests
/// returning `Result`.
///
/// If you also write `#[test]` *below* `#[spindle::test]`, it is kept and no second one is
/// added (tokio rejects this; accepting it is harmless). Above it, the built-in `#[test]` runs
/// first and rejects the `async fn` itself, so put `#[spindle::test]` first.
#[doc(inline)]
pub use spindle_macros::test;

/// The README's code blocks, compiled and run as doc tests so that the README stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// docs/servers.md's code blocks, compiled and run as doc tests (they need every interop
/// feature, which `cargo test --workspace` turns on through `interop-tests/`).
#[cfg(all(
    doctest,
    feature = "hyper",
    feature = "tokio-io",
    feature = "tokio-compat"
))]
#[doc = include_str!("../docs/servers.md")]
pub struct ServersDoctests;
