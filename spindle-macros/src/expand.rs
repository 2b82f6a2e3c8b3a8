//! The rewrite: `async fn name() -> T { body }` becomes a synchronous `fn name() -> T` that
//! starts a runtime, runs the body on it and shuts it down before returning.
//!
//! The body moves, token for token, into a nested `async fn` with the user's own return type,
//! so the compiler checks it exactly as it would check the user's function: a wrong tail
//! expression, a `return` of the wrong type or a `?` that cannot convert is reported on the
//! user's tokens, next to the user's return type. (An associated function whose body names
//! `Self`, and an `unsafe fn`, use an `async move` block instead, since a nested item cannot see
//! `Self` and calling an `unsafe` one would need an `unsafe` block around code the user did not
//! mark. One case is left out: an associated function of a generic `impl` whose body uses the
//! impl's type parameters without naming `Self` gets "can't use generic parameters from outer
//! item"; the attributes are meant for free functions.)

use crate::Kind;
use crate::item::{FnItem, Usable, is_test_attribute};
use crate::options::{Errors, Options};
use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::{AttrStyle, ReturnType, Type};

/// Expands `#[spindle::main(args)]` / `#[spindle::test(args)]` on `item`. Errors become
/// `compile_error!`s spanned on the user's tokens, emitted next to an item that compiles, so
/// that each mistake is reported once and the rest of the crate (and an IDE) still resolves
/// the function.
pub(crate) fn expand(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let (options, option_errors) = Options::parse(kind, args);
    errors.extend(option_errors);

    let function = match FnItem::parse(kind, item.clone()) {
        Ok(function) => function,
        Err(error) => {
            errors.push(error);
            return with_errors(item, errors);
        }
    };
    let (signature_errors, usable) = function.check(kind);
    errors.extend(signature_errors);

    let output = match usable {
        Usable::Yes => rewrite(kind, &options, function),
        Usable::No => keep_unusable(kind, &function, item),
    };
    with_errors(output, errors)
}

fn with_errors(mut tokens: TokenStream, errors: Errors) -> TokenStream {
    if let Some(error) = errors.into_option() {
        tokens.extend(error.into_compile_error());
    }
    tokens
}

/// A function whose signature cannot be rewritten (arguments, generics, `self`, `const`):
/// keep it as written but inert, so that the one error reported is the macro's. A `main`
/// is tucked inside an empty `fn main()` so the crate still has a valid entry point.
fn keep_unusable(kind: Kind, function: &FnItem, item: TokenStream) -> TokenStream {
    if kind == Kind::Main && function.sig.ident == "main" {
        quote! {
            fn main() {
                #[allow(dead_code)]
                #item
            }
        }
    } else {
        quote! {
            #[allow(dead_code)]
            #item
        }
    }
}

fn rewrite(kind: Kind, options: &Options, function: FnItem) -> TokenStream {
    let krate = options.crate_path();
    let nested_item =
        !matches!(function.sig.safety, syn::Safety::Unsafe(_)) && !function.mentions_self_type();
    let FnItem {
        attrs,
        vis,
        mut sig,
        brace,
        inner_attrs,
        body,
    } = function;
    sig.asyncness = None;
    let ident = &sig.ident;
    let output = &sig.output;
    let mut block = TokenStream::new();
    brace.surround(&mut block, |tokens| tokens.extend(body));

    // Inner attributes (`#![allow(..)]`) cannot stay at the top of an expression block:
    // lift them onto the function, where they cover the same code.
    let lifted = inner_attrs.into_iter().map(|mut attr| {
        attr.style = AttrStyle::Outer;
        attr
    });
    let test_attr = match kind {
        Kind::Test if !attrs.iter().any(is_test_attribute) => {
            quote!(#[::core::prelude::v1::test])
        }
        _ => TokenStream::new(),
    };

    let future = local("future");
    let (define, make_future) = if nested_item {
        // The body runs on the calling thread and is never sent: `future_not_send` (a
        // nursery lint some users turn on) would be noise here.
        let define = quote! {
            #[allow(clippy::future_not_send)]
            async fn #ident() #output #block
        };
        (define, quote!(#ident()))
    } else {
        (TokenStream::new(), quote!(async move #block))
    };
    // Tests run through `Pin<&mut dyn Future>` so that a crate's many tests share one copy of
    // the runtime's generic `block_on` instead of compiling one per test.
    let erase = match (kind, output_type(output)) {
        (Kind::Test, Some(ty)) => quote! {
            let #future = ::core::pin::pin!(#future);
            let #future: ::core::pin::Pin<&mut dyn ::core::future::Future<Output = #ty>> = #future;
        },
        _ => TokenStream::new(),
    };
    let run = if options.needs_builder() {
        let mut builder = quote!(#krate::runtime::Builder::new());
        if let Some(count) = options.worker_threads {
            builder.extend(quote!(.worker_threads(#count)));
        }
        if let Some(count) = options.compute_threads {
            builder.extend(quote!(.compute_threads(#count)));
        }
        let attr = kind.attr();
        quote!(#krate::__macro_support::block_on_with(#builder, #attr, #future))
    } else {
        quote!(#krate::run(#future))
    };

    quote! {
        #(#attrs)*
        #(#lifted)*
        #test_attr
        #vis #sig {
            #define
            let #future = #make_future;
            #erase
            #run
        }
    }
}

/// The body's output type, when it can be written in a `dyn Future<Output = _>`: not for
/// `impl Trait` (not allowed there) nor `!` (unstable as a type argument).
fn output_type(output: &ReturnType) -> Option<TokenStream> {
    match output {
        ReturnType::Default => Some(quote!(())),
        ReturnType::Type(_, ty) if contains_impl_or_never(ty) => None,
        ReturnType::Type(_, ty) => Some(ty.to_token_stream()),
    }
}

fn contains_impl_or_never(ty: &Type) -> bool {
    fn tokens_have_impl(tokens: TokenStream) -> bool {
        tokens.into_iter().any(|tree| match tree {
            proc_macro2::TokenTree::Ident(ident) => ident == "impl",
            proc_macro2::TokenTree::Group(group) => tokens_have_impl(group.stream()),
            _ => false,
        })
    }
    matches!(ty, Type::Never(_)) || tokens_have_impl(ty.to_token_stream())
}

/// An identifier for the expansion's own locals: `mixed_site` hygiene keeps it invisible to
/// (and unclashable with) the user's code.
fn local(name: &str) -> syn::Ident {
    syn::Ident::new(name, Span::mixed_site())
}
