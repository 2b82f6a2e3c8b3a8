//! The attribute macros of [spindle](https://crates.io/crates/spindle): `#[spindle::main]` and
//! `#[spindle::test]`. Use them through the `spindle` crate, which re-exports and documents them;
//! this crate alone gives you nothing you can run.
//!
//! ```text
//! #[spindle::main]                         fn main() -> io::Result<()> {
//! async fn main() -> io::Result<()> {  =>      async fn main() -> io::Result<()> { … }
//!     …                                        ::spindle::run(main())
//! }                                        }
//! ```
//!
//! * `options.rs`: `worker_threads = N`, `compute_threads = N`, `crate = "path"`.
//! * `item.rs`: parsing the function (its body stays raw tokens) and checking its signature.
//! * `expand.rs`: the rewrite, and what is emitted next to a `compile_error!` on misuse.

#![warn(missing_docs)]

mod expand;
mod item;
mod options;

use proc_macro::TokenStream;

/// Which attribute is being expanded.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Main,
    Test,
}

impl Kind {
    /// The attribute as users write it, for error messages.
    pub(crate) fn attr(self) -> &'static str {
        match self {
            Kind::Main => "#[spindle::main]",
            Kind::Test => "#[spindle::test]",
        }
    }
}

/// Runs an `async fn` (usually `main`) on a fresh spindle runtime, shut down before it returns.
/// Documented, with examples, as `spindle::main` in the `spindle` crate.
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(Kind::Main, args.into(), item.into()).into()
}

/// Runs an `async fn` test on a fresh spindle runtime per test. Documented, with examples, as
/// `spindle::test` in the `spindle` crate.
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(Kind::Test, args.into(), item.into()).into()
}
