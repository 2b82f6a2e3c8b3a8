//! PLACEHOLDER being replaced by the I/O helper (not shippable as is).
pub(crate) struct IoDriver;
impl IoDriver {
    pub(crate) fn new() -> Self { IoDriver }
    pub(crate) fn has_sources(&self) -> bool { false }
    pub(crate) fn dispatch(&self, _events: &polling::Events) -> usize { 0 }
    pub(crate) fn shutdown(&self) {}
}
