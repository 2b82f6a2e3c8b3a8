//! The attribute macros of [spindle](https://crates.io/crates/spindle): `#[spindle::main]` and
//! `#[spindle::test]`. Use them through the `spindle` crate, which re-exports them and documents
//! them (with examples) as `spindle::main` and `spindle::test`; the code they expand into calls
//! spindle, so this crate alone runs nothing.
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
#[cfg(test)]
mod tests;

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

/// *(Implemented in the `spindle-macros` crate; write it as `#[spindle::main]`.)*
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(Kind::Main, args.into(), item.into()).into()
}

/// *(Implemented in the `spindle-macros` crate; write it as `#[spindle::test]`.)*
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(Kind::Test, args.into(), item.into()).into()
}
