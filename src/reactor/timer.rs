//! PLACEHOLDER being replaced by the timer helper (not shippable as is).
use std::time::{Duration, Instant};
pub(crate) struct TimerDriver;
impl TimerDriver {
    pub(crate) fn new() -> Self { TimerDriver }
    pub(crate) fn has_timers(&self) -> bool { false }
    pub(crate) fn process(&self, _now: Instant) -> usize { 0 }
    pub(crate) fn next_timeout(&self, _now: Instant) -> Option<Duration> { None }
    pub(crate) fn begin_wait(&self, _until: Option<Instant>) {}
    pub(crate) fn end_wait(&self) {}
    pub(crate) fn shutdown(&self) {}
}
