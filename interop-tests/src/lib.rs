//! Shared helpers for the interop tests in `tests/`: a hyper service and a counting accept loop.
//! The tests are the point of this package; see its `Cargo.toml` for why it exists.
