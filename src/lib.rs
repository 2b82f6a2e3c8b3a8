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
//! output. `time/`, `net/`, `group/`, `blocking/` and `fs/` are built on top of that.
//!
//! Two pools sit beside the workers for synchronous code: [`spawn_blocking`] runs CPU work on
//! the bounded rayon compute pool, [`unblock`] runs blocking I/O (and [`fs`] runs every file
//! operation) on the elastic blocking-I/O lane.

#![warn(missing_docs)]

pub(crate) mod loom;
#[cfg(loom)]
#[doc(hidden)]
pub mod loom_api;

mod blocking;
pub mod fs;
#[doc(hidden)] // public only so that the gather!/try_gather! macros can name their helpers
pub mod group;
pub mod net;
mod reactor;
pub mod runtime;
mod scheduler;
pub mod task;
pub mod time;

pub use blocking::{spawn_blocking, unblock};
pub use group::{GroupError, GroupHandle, JoinSet, TaskGroup, gather, task_group, try_gather};
pub use runtime::{run, spawn};
pub use task::{AbortHandle, JoinError, JoinHandle, yield_now};

/// The README's code blocks, compiled and run as doc tests so that the README stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
