//! Structured concurrency: asyncio's `gather` and `TaskGroup`, for a multi-threaded runtime.
//!
//! `group/` owns everything that waits for *several* pieces of work at once:
//!
//! * [`gather!`](crate::gather!) / [`try_gather!`](crate::try_gather!) (`join`): a fixed number
//!   of futures polled on the calling task, stored in a pinned tuple of slots: no allocation, no
//!   `Send`/`'static` bounds, output in argument order; `try_` drops the rest on the first `Err`.
//! * [`gather`] / [`try_gather`] (`gather`): the same for a collection. Each child has its own
//!   waker that queues its index, so only woken children are polled again (linear cost for
//!   100 000 futures).
//! * [`task_group`] (`task_group`, `state`, `error`): children are real tasks on the worker
//!   threads (`'static + Send`), the body runs on the awaiting task, the first failure cancels
//!   everything, and the group always waits for every child. Its state machine lives in `state`
//!   behind one mutex; [`GroupError`] groups the errors (`except*` via [`GroupError::split`]).
//!
//! * [`JoinSet`] (`join_set`): tokio's set of spawned tasks joined in completion order; dropping
//!   it aborts them.
//!
//! Only the runtime's public API is used (`spawn`, `spawn_blocking`, `AbortHandle`), so this
//! module sits above `runtime/` and below nothing.

mod error;
mod gather;
mod join;
mod join_set;
mod state;
mod task_group;

pub use error::GroupError;
pub use gather::{gather, try_gather};
#[doc(hidden)]
pub use join::{MaybeDone, TryMaybeDone, try_maybe_done};
pub use join_set::JoinSet;
pub use task_group::{GroupHandle, TaskGroup, task_group};
