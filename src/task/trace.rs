//! Feature `tracing`: the spans and events through which tokio-console's `console-subscriber`
//! sees spindle's tasks. Without the feature everything here compiles to nothing (the task
//! cell holds the bare future and the waker hooks are empty inline functions).
//!
//! What console-subscriber (0.4, 0.5) recognizes, and what spindle emits in exactly that shape
//! (the same as tokio's `tokio/src/runtime/task` and `tokio/src/util/trace.rs`):
//!
//! * a span per task, **named `runtime.spawn`** (console selects spawn spans by this name; the
//!   target is `tokio::task`, as tokio's, so that the `tokio=trace` filters people already use
//!   keep working), created at spawn with `parent: None` and the fields `kind` (`task`,
//!   `blocking`, `compute`), `task.name` (only for named tasks), `task.id` (the spindle task
//!   id), `loc.file`, `loc.line`, `loc.col` (the spawn call, read by console as the task's
//!   location). The span wraps the task's future, so it is entered around every poll (console
//!   counts polls and busy time from enter/exit) and closes when the future is dropped
//!   (console then shows the task as completed, even while a `JoinHandle` still holds the
//!   cell).
//! * an event per waker operation, **target `tokio::task::waker`**, with `op` one of
//!   `waker.wake`, `waker.wake_by_ref`, `waker.clone`, `waker.drop` and `task.id` = the task
//!   span's *tracing* id (console looks the span up by it: that is how it attributes wakes).
//!   The span's id is kept in the task header for this.

use super::id::Id;
use super::raw::{Header, Meta};
use std::future::Future;

/// What the task header keeps for the waker events: the id of the task's span.
#[cfg(feature = "tracing")]
pub(crate) type TracingId = Option<tracing::Id>;
/// Without the feature: nothing.
#[cfg(not(feature = "tracing"))]
pub(crate) type TracingId = ();

/// The future a task cell holds for a spawned `F`.
#[cfg(feature = "tracing")]
pub(crate) type Traced<F> = Instrumented<F>;
/// Without the feature: `F` itself.
#[cfg(not(feature = "tracing"))]
pub(crate) type Traced<F> = F;

/// Wraps a new task's future in its `runtime.spawn` span.
#[cfg(not(feature = "tracing"))]
#[inline(always)]
pub(crate) fn instrument<F: Future>(future: F, _meta: &Meta, _id: Id) -> (F, TracingId) {
    (future, ())
}

/// Emits one waker event for the task of `header` (`op`: `waker.wake`, ...).
#[cfg(not(feature = "tracing"))]
#[inline(always)]
pub(crate) fn waker_op(header: &Header, _op: &'static str) {
    let () = header.tracing_id;
}

#[cfg(feature = "tracing")]
pin_project_lite::pin_project! {
    /// A task's future inside its span: the span is entered around every poll.
    pub(crate) struct Instrumented<F> {
        #[pin]
        future: F,
        span: tracing::Span,
    }
}

#[cfg(feature = "tracing")]
impl<F: Future> Future for Instrumented<F> {
    type Output = F::Output;

    #[inline]
    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        let this = self.project();
        let _entered = this.span.enter();
        this.future.poll(cx)
    }
}

/// Wraps a new task's future in its `runtime.spawn` span (see the module documentation); the
/// span's id goes into the task header for the waker events.
#[cfg(feature = "tracing")]
#[inline]
pub(crate) fn instrument<F: Future>(
    future: F,
    meta: &Meta,
    id: Id,
) -> (Instrumented<F>, TracingId) {
    use super::info::TaskKind;
    let kind = match meta.kind {
        TaskKind::Async => "task",
        TaskKind::Blocking | TaskKind::Io => "blocking",
        TaskKind::Compute => "compute",
    };
    let location = meta.spawned_at;
    let span = tracing::trace_span!(
        target: "tokio::task",
        parent: None,
        "runtime.spawn",
        kind = %kind,
        task.name = meta.name.as_deref(),
        task.id = id.as_u64(),
        loc.file = location.file(),
        loc.line = location.line(),
        loc.col = location.column(),
    );
    let tracing_id = span.id();
    (Instrumented { future, span }, tracing_id)
}

/// Emits one waker event for the task of `header` (`op`: `waker.wake`, ...).
#[cfg(feature = "tracing")]
#[inline]
pub(crate) fn waker_op(header: &Header, op: &'static str) {
    if let Some(id) = &header.tracing_id {
        tracing::trace!(target: "tokio::task::waker", op, task.id = id.into_u64());
    }
}
