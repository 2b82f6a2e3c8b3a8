//! The function under the attribute: parsed just enough to rewrite it (attributes, visibility,
//! signature), with its body kept as raw tokens so that a body full of errors, or using syntax
//! newer than this crate's syn, still passes through untouched. Also the checks that decide
//! whether the signature can be turned into a synchronous entry point.

use crate::Kind;
use crate::options::Errors;
use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use syn::parse::ParseStream;
use syn::{Attribute, FnArg, Signature, Visibility, braced, token};

/// A function item: `#[attrs] vis sig { #![inner] body }`.
pub(crate) struct FnItem {
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) sig: Signature,
    pub(crate) brace: token::Brace,
    pub(crate) inner_attrs: Vec<Attribute>,
    /// The statements of the body, unparsed.
    pub(crate) body: TokenStream,
}

impl FnItem {
    /// Parses `item`; anything that is not a function with a body is an error pointing at the
    /// item's first token after its attributes and visibility (`struct`, `mod`, `const`, …).
    pub(crate) fn parse(kind: Kind, item: TokenStream) -> syn::Result<FnItem> {
        syn::parse::Parser::parse2(|input: ParseStream| FnItem::parse_as(kind, input), item)
    }

    fn parse_as(kind: Kind, input: ParseStream) -> syn::Result<FnItem> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        let not_a_fn = |input: ParseStream| {
            let message = format!("`{}` can only be used on an `async fn`", kind.attr());
            match input.cursor().token_tree() {
                Some((tree, _)) => syn::Error::new(tree.span(), message),
                None => input.error(message),
            }
        };
        let ahead = input.fork();
        if ahead.parse::<Signature>().is_err() || !ahead.peek(token::Brace) {
            return Err(not_a_fn(input));
        }
        let sig: Signature = input.parse()?;
        let content;
        let brace = braced!(content in input);
        let inner_attrs = content.call(Attribute::parse_inner)?;
        let body: TokenStream = content.parse()?;
        if !input.is_empty() {
            return Err(input.error("unexpected tokens after the function"));
        }
        Ok(FnItem {
            attrs,
            vis,
            sig,
            brace,
            inner_attrs,
            body,
        })
    }

    /// Checks the signature. Returns the errors found and whether the signature is still usable
    /// for the rewrite (a missing `async` is an error, but the rewrite works the same).
    pub(crate) fn check(&self, kind: Kind) -> (Option<syn::Error>, Usable) {
        let attr = kind.attr();
        let sig = &self.sig;
        let mut errors = Errors::default();
        let mut usable = Usable::Yes;
        let what = match kind {
            Kind::Main if sig.ident == "main" => "the main function".to_string(),
            Kind::Main => format!("a `{attr}` function"),
            Kind::Test => "a test function".to_string(),
        };

        if let Some(constness) = &sig.constness {
            errors.push(syn::Error::new(
                constness.span,
                format!("{what} cannot be a `const fn`: remove `const`"),
            ));
            usable = Usable::No;
        }
        if sig.asyncness.is_none() {
            let hint = match kind {
                Kind::Main => "",
                Kind::Test => " (a synchronous test needs only `#[test]`)",
            };
            errors.push(syn::Error::new(
                sig.fn_token.span,
                format!("`{attr}` needs an `async fn`: write `async fn`{hint}"),
            ));
        }
        if !sig.generics.params.is_empty() {
            errors.push(syn::Error::new_spanned(
                &sig.generics,
                format!("{what} cannot be generic: the runtime has no types to pick"),
            ));
            usable = Usable::No;
        }
        if let Some(where_clause) = &sig.generics.where_clause {
            errors.push(syn::Error::new_spanned(
                where_clause,
                format!("{what} cannot have a `where` clause"),
            ));
            usable = Usable::No;
        }
        if let Some(FnArg::Receiver(receiver)) = sig.inputs.first() {
            errors.push(syn::Error::new_spanned(
                receiver,
                format!(
                    "{what} cannot take `self` (there is no value to call it on): put `{attr}` \
                     on a free function"
                ),
            ));
            usable = Usable::No;
        } else if !sig.inputs.is_empty() || sig.variadic.is_some() {
            let mut arguments = sig.inputs.to_token_stream();
            sig.variadic.to_tokens(&mut arguments);
            let hint = match kind {
                Kind::Main if sig.ident == "main" => {
                    " (command-line arguments come from `std::env::args()`)"
                }
                Kind::Main => "",
                Kind::Test => " (the test harness calls it with none)",
            };
            errors.push(syn::Error::new_spanned(
                arguments,
                format!("{what} takes no arguments{hint}"),
            ));
            usable = Usable::No;
        }
        (errors.into_option(), usable)
    }

    /// Whether `Self` appears in the return type or the body: then the function is an
    /// associated function, and its body cannot move into a nested `fn` item.
    pub(crate) fn mentions_self_type(&self) -> bool {
        mentions_self_type(self.sig.output.to_token_stream())
            || mentions_self_type(self.body.clone())
    }
}

/// Whether a signature can be rewritten into a synchronous function with the same signature.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Usable {
    Yes,
    No,
}

fn mentions_self_type(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|tree| match tree {
        TokenTree::Ident(ident) => ident == "Self",
        TokenTree::Group(group) => mentions_self_type(group.stream()),
        _ => false,
    })
}

/// Whether `attr` is the built-in `#[test]`: `#[test]`, `#[core::prelude::*::test]` or
/// `#[std::prelude::*::test]` (with or without a leading `::`).
pub(crate) fn is_test_attribute(attr: &Attribute) -> bool {
    let syn::Meta::Path(path) = &attr.meta else {
        return false;
    };
    let segments: Vec<_> = path.segments.iter().collect();
    if segments.iter().any(|segment| !segment.arguments.is_none()) {
        return false;
    }
    match segments.as_slice() {
        [test] => path.leading_colon.is_none() && test.ident == "test",
        [root, prelude, _, test] => {
            (root.ident == "core" || root.ident == "std")
                && prelude.ident == "prelude"
                && test.ident == "test"
        }
        _ => false,
    }
}
