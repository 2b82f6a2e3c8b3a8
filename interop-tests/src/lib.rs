//! Integration tests of spindle's optional features, in `tests/`; see this package's
//! `Cargo.toml` for why it exists.
