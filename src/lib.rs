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
//! output. `time/`, `net/`, `group/`, `blocking/` and `sync/` are built on top of that;
//! [`sync`] has the channels and locks, [`io`] the I/O extension traits and helpers.

#![warn(missing_docs)]

pub(crate) mod loom;
#[cfg(loom)]
#[doc(hidden)]
pub mod loom_api;

mod blocking;
#[doc(hidden)] // public only so that the gather!/try_gather! macros can name their helpers
pub mod group;
pub mod io;
pub mod net;
mod reactor;
pub mod runtime;
mod scheduler;
pub mod sync;
pub mod task;
pub mod time;

pub use blocking::spawn_blocking;
pub use group::{GroupError, GroupHandle, TaskGroup, gather, task_group, try_gather};
pub use runtime::{run, spawn};
pub use task::{AbortHandle, JoinError, JoinHandle, yield_now};

/// The README's code blocks, compiled and run as doc tests so that the README stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
