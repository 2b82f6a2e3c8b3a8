//! spindle
