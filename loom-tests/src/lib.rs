//! Loom models of spindle's concurrency core; see README.md. Built only with `--cfg loom`.
