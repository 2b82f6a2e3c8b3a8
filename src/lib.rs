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
//! output. `time/`, `net/`, `group/` and `blocking/` are built on top of that.
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

pub(crate) mod loom;
#[cfg(loom)]
#[doc(hidden)]
pub mod loom_api;

mod blocking;
#[doc(hidden)] // public only so that the gather!/try_gather! macros can name their helpers
pub mod group;
mod integrations;
pub mod net;
mod reactor;
pub mod runtime;
mod scheduler;
pub mod task;
pub mod time;

#[cfg(feature = "tokio-compat")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio-compat")))]
pub use integrations::compat;
#[cfg(feature = "hyper")]
#[cfg_attr(docsrs, doc(cfg(feature = "hyper")))]
pub use integrations::hyper;

pub use blocking::spawn_blocking;
pub use group::{GroupError, GroupHandle, JoinSet, TaskGroup, gather, task_group, try_gather};
pub use runtime::{run, spawn};
pub use task::{AbortHandle, JoinError, JoinHandle, yield_now};

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
