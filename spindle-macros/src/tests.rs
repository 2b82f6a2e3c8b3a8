//! Unit tests of the parsing and the rewrite, on `proc_macro2` tokens (the compile errors as
//! users see them are checked by `spindle-macros/tests/ui.rs`).

use crate::Kind;
use crate::expand::expand;
use crate::item::is_test_attribute;
use crate::options::Options;
use proc_macro2::TokenStream;
use quote::quote;

fn parse_options(args: TokenStream) -> (Options, Vec<String>) {
    let (options, errors) = Options::parse(Kind::Main, args);
    let messages = errors
        .map(|e| e.into_iter().map(|e| e.to_string()).collect())
        .unwrap_or_default();
    (options, messages)
}

/// The expansion as one string with token spacing normalised, for `contains` checks.
fn expanded(kind: Kind, args: TokenStream, item: TokenStream) -> String {
    expand(kind, args, item).to_string()
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

#[test]
fn parses_every_option() {
    let (options, errors) = parse_options(quote!(
        worker_threads = 3,
        compute_threads = 5usize,
        crate = "my::spin"
    ));
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(options.worker_threads, Some(3));
    assert_eq!(options.compute_threads, Some(5));
    assert_eq!(options.crate_path().to_string(), "my :: spin");
    assert!(options.needs_builder());

    let (options, errors) = parse_options(quote!(crate = ::renamed,));
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(options.crate_path().to_string(), ":: renamed");
    assert!(!options.needs_builder());

    let (options, errors) = parse_options(TokenStream::new());
    assert!(errors.is_empty());
    assert_eq!(options.crate_path().to_string(), ":: spindle");
}

#[test]
fn collects_every_option_error() {
    let (options, errors) = parse_options(quote!(
        worker_threads = 0,
        pool = 2,
        compute_threads = "2",
        worker_threads = 2,
        worker_threads = 3
    ));
    assert_eq!(
        errors,
        [
            "`worker_threads` must be at least 1 (a runtime cannot run on 0 threads)",
            "unknown option `pool` for `#[spindle::main]`: the options are `worker_threads`, \
             `compute_threads` and `crate`",
            "`compute_threads` takes an integer literal, like `compute_threads = 4`",
            "`worker_threads` is set twice",
        ]
    );
    // The valid one was kept.
    assert_eq!(options.worker_threads, Some(2));
}

#[test]
fn rejects_counts_that_do_not_fit() {
    let (_, errors) = parse_options(quote!(worker_threads = 99999999999999999999999));
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].starts_with("`worker_threads` must fit in a `usize`"),
        "{errors:?}"
    );
}

#[test]
fn recognises_the_built_in_test_attribute() {
    let attrs: Vec<syn::Attribute> = syn::parse_quote! {
        #[test]
        #[::core::prelude::v1::test]
        #[std::prelude::rust_2024::test]
        #[tokio::test]
        #[test(x)]
        #[::test]
    };
    let found: Vec<bool> = attrs.iter().map(is_test_attribute).collect();
    assert_eq!(found, [true, true, true, false, false, false]);
}

#[test]
fn main_without_options_calls_run_on_a_nested_async_fn() {
    let out = expanded(
        Kind::Main,
        TokenStream::new(),
        quote!(
            /// Docs stay.
            pub async fn main() -> std::io::Result<()> {
                Ok(())
            }
        ),
    );
    assert!(
        out.contains("pub fn main () -> std :: io :: Result < () >"),
        "{out}"
    );
    assert!(
        out.contains("async fn main () -> std :: io :: Result < () > { Ok (()) }"),
        "{out}"
    );
    assert!(out.contains(":: spindle :: run (future)"), "{out}");
    assert!(out.contains("doc = r\" Docs stay.\""), "{out}");
    assert!(!out.contains("Builder"), "{out}");
    assert!(!out.contains("compile_error"), "{out}");
}

#[test]
fn options_go_through_the_builder() {
    let out = expanded(
        Kind::Main,
        quote!(compute_threads = 2, worker_threads = 1, crate = "spin"),
        quote!(
            async fn main() {}
        ),
    );
    assert!(
        out.contains(
            "spin :: __macro_support :: block_on_with (spin :: runtime :: Builder :: new () \
             . worker_threads (1usize) . compute_threads (2usize) , \"#[spindle::main]\" , future)"
        ),
        "{out}"
    );
}

#[test]
fn test_adds_one_test_attribute_and_erases_the_future_type() {
    let out = expanded(
        Kind::Test,
        TokenStream::new(),
        quote!(
            async fn t() {}
        ),
    );
    assert_eq!(
        count(&out, "# [:: core :: prelude :: v1 :: test]"),
        1,
        "{out}"
    );
    assert!(
        out.contains("dyn :: core :: future :: Future < Output = () >"),
        "{out}"
    );

    // A `#[test]` written below the attribute is kept, and no second one is added.
    let out = expanded(
        Kind::Test,
        TokenStream::new(),
        quote!(
            #[test]
            #[should_panic]
            async fn t() {}
        ),
    );
    assert_eq!(count(&out, "test]"), 1, "{out}");
    assert!(out.contains("# [should_panic]"), "{out}");
}

#[test]
fn impl_trait_and_never_outputs_are_not_erased() {
    let out = expanded(
        Kind::Test,
        TokenStream::new(),
        quote!(
            async fn t() -> impl std::process::Termination {}
        ),
    );
    assert!(!out.contains("dyn"), "{out}");
    let out = expanded(
        Kind::Test,
        TokenStream::new(),
        quote!(
            async fn t() -> ! {
                loop {}
            }
        ),
    );
    assert!(!out.contains("dyn"), "{out}");
}

#[test]
fn bodies_naming_self_and_unsafe_fns_use_an_async_block() {
    for item in [
        quote!(
            async fn make() -> Self {
                Self
            }
        ),
        quote!(
            async fn make() {
                let _ = Self::new();
            }
        ),
        quote!(
            async unsafe fn make() {}
        ),
    ] {
        let out = expanded(Kind::Main, TokenStream::new(), item);
        assert!(out.contains("async move {"), "{out}");
        assert_eq!(count(&out, "async fn"), 0, "{out}");
    }
}

#[test]
fn inner_attributes_move_onto_the_function() {
    let out = expanded(
        Kind::Main,
        TokenStream::new(),
        quote!(
            async fn f() {
                #![allow(unused)]
                let x = 1;
            }
        ),
    );
    assert!(out.starts_with("# [allow (unused)] fn f ()"), "{out}");
    assert!(!out.contains("#!"), "{out}");
}

#[test]
fn an_unusable_signature_is_kept_inert_next_to_the_error() {
    let out = expanded(
        Kind::Test,
        TokenStream::new(),
        quote!(
            async fn t(x: u8) {}
        ),
    );
    assert!(
        out.starts_with("# [allow (dead_code)] async fn t (x : u8) { }"),
        "{out}"
    );
    assert!(out.contains("compile_error"), "{out}");
    assert!(!out.contains("test]"), "{out}");

    // `main` stays inside a stand-in `fn main()`, so the crate still has an entry point.
    let out = expanded(
        Kind::Main,
        TokenStream::new(),
        quote!(
            async fn main<T>() {}
        ),
    );
    assert!(
        out.starts_with("fn main () { # [allow (dead_code)] async fn main < T > () { } }"),
        "{out}"
    );
    assert_eq!(count(&out, "compile_error"), 1, "{out}");
}

#[test]
fn a_missing_async_is_reported_and_the_rewrite_still_happens() {
    let out = expanded(
        Kind::Main,
        TokenStream::new(),
        quote!(
            fn main() {}
        ),
    );
    assert!(out.contains("needs an `async fn`"), "{out}");
    assert!(out.contains(":: spindle :: run"), "{out}");
}

#[test]
fn anything_but_a_function_is_left_alone_next_to_the_error() {
    let out = expanded(
        Kind::Main,
        TokenStream::new(),
        quote!(
            struct S;
        ),
    );
    assert!(out.starts_with("struct S ;"), "{out}");
    assert!(out.contains("can only be used on an `async fn`"), "{out}");
}
