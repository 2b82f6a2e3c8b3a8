//! Optional bridges to the rest of the async ecosystem, each behind its own cargo feature (all
//! off by default), one module per integration:
//!
//! * `hyper/` (feature `hyper`), public as [`crate::hyper`]: hyper 1.x's runtime traits
//!   (executor, timer, I/O) and a connector for hyper-util's pooled client.
//! * `tokio_io.rs` (feature `tokio-io`): tokio's `AsyncRead`/`AsyncWrite` on spindle's streams.
//! * `compat.rs` (feature `tokio-compat`), public as [`crate::compat`]: a tokio context for
//!   futures of tokio-only crates, run from spindle tasks.
//! * `uninit.rs`: reading from spindle's own sockets straight into uninitialized buffers (hyper's
//!   and tokio's read buffers), shared by the two I/O bridges.
//!
//! These sit on top of `net/`, `time/` and `runtime/`; nothing in spindle's core depends on them.

#[cfg(feature = "tokio-compat")]
pub mod compat;
#[cfg(feature = "hyper")]
pub mod hyper;
#[cfg(feature = "tokio-io")]
mod tokio_io;
#[cfg(any(feature = "hyper", feature = "tokio-io"))]
mod uninit;
