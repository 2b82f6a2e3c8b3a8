//! The options inside the attribute: `worker_threads = N`, `compute_threads = N` and
//! `crate = "path"`. Parsing collects every mistake (each one spanned on the user's tokens)
//! instead of stopping at the first.

use crate::Kind;
use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::{Expr, Ident, Lit, Token};

/// The names accepted, in the order the "unknown option" message lists them.
const VALID: &str = "`worker_threads`, `compute_threads` and `crate`";

/// The parsed options of one `#[spindle::main(...)]` / `#[spindle::test(...)]`.
#[derive(Default)]
pub(crate) struct Options {
    pub(crate) worker_threads: Option<usize>,
    pub(crate) compute_threads: Option<usize>,
    /// `crate = "path"`: how the expansion names the spindle crate.
    pub(crate) krate: Option<syn::Path>,
}

impl Options {
    /// Whether any runtime setting differs from `spindle::run`'s defaults.
    pub(crate) fn needs_builder(&self) -> bool {
        self.worker_threads.is_some() || self.compute_threads.is_some()
    }

    /// The path of the spindle crate in the expansion: `::spindle` unless `crate = "..."`.
    pub(crate) fn crate_path(&self) -> TokenStream {
        match &self.krate {
            Some(path) => path.to_token_stream(),
            None => quote!(::spindle),
        }
    }

    /// Parses the attribute's arguments. On errors, returns every one of them combined, along
    /// with the options that were valid (so the caller can still expand something sensible).
    pub(crate) fn parse(kind: Kind, args: TokenStream) -> (Options, Option<syn::Error>) {
        let mut options = Options::default();
        let mut errors = Errors::default();
        let parser = |input: ParseStream| {
            while !input.is_empty() {
                let arg = RawOption::parse(input)?;
                options.apply(kind, arg, &mut errors);
                if input.is_empty() {
                    break;
                }
                input.parse::<Token![,]>()?;
            }
            Ok(())
        };
        if let Err(error) = parser.parse2(args) {
            errors.push(error);
        }
        (options, errors.0)
    }

    fn apply(&mut self, kind: Kind, arg: RawOption, errors: &mut Errors) {
        let name = arg.name.to_string();
        match name.as_str() {
            "worker_threads" | "compute_threads" => {
                let slot = if name == "worker_threads" {
                    &mut self.worker_threads
                } else {
                    &mut self.compute_threads
                };
                if slot.is_some() {
                    errors.push(syn::Error::new(
                        arg.name.span(),
                        format!("`{name}` is set twice"),
                    ));
                    return;
                }
                match thread_count(&name, &arg) {
                    Ok(count) => *slot = Some(count),
                    Err(error) => errors.push(error),
                }
            }
            "crate" => {
                if self.krate.is_some() {
                    errors.push(syn::Error::new(arg.name.span(), "`crate` is set twice"));
                    return;
                }
                match crate_path(&arg) {
                    Ok(path) => self.krate = Some(path),
                    Err(error) => errors.push(error),
                }
            }
            _ => {
                let attr = kind.attr();
                let mut message =
                    format!("unknown option `{name}` for `{attr}`: the options are {VALID}");
                match name.as_str() {
                    "flavor" => message.push_str(
                        "\n(spindle has one runtime flavor, the multi-threaded one; for a single \
                         worker thread write `worker_threads = 1`)",
                    ),
                    "core_threads" => message.push_str("\n(did you mean `worker_threads`?)"),
                    _ => {}
                }
                errors.push(syn::Error::new(arg.name.span(), message));
            }
        }
    }
}

/// One `name`, `name = value` or `name(...)` as written.
struct RawOption {
    name: Ident,
    value: RawValue,
}

enum RawValue {
    Missing,
    Expr(Expr),
    /// `name(...)`: never valid here, kept to point the error at it.
    List(TokenStream),
}

impl RawOption {
    fn parse(input: ParseStream) -> syn::Result<RawOption> {
        // `crate` is a keyword, so accept any identifier-like token.
        let name = if input.peek(Ident::peek_any) {
            input.call(Ident::parse_any)?
        } else {
            return Err(input.error(
                "expected the name of an option: `worker_threads`, `compute_threads` or `crate`",
            ));
        };
        let value = if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            RawValue::Expr(input.parse()?)
        } else if input.peek(syn::token::Paren) {
            let group: proc_macro2::TokenTree = input.parse()?;
            RawValue::List(group.into_token_stream())
        } else {
            RawValue::Missing
        };
        Ok(RawOption { name, value })
    }
}

/// `worker_threads = N` / `compute_threads = N`: a positive integer literal.
fn thread_count(name: &str, arg: &RawOption) -> syn::Result<usize> {
    let example = format!("`{name} = 4`");
    let int = match &arg.value {
        RawValue::Expr(Expr::Lit(syn::ExprLit {
            lit: Lit::Int(int), ..
        })) => int,
        RawValue::Expr(expr) => {
            return Err(syn::Error::new_spanned(
                expr,
                format!("`{name}` takes an integer literal, like {example}"),
            ));
        }
        RawValue::List(tokens) => {
            return Err(syn::Error::new_spanned(
                tokens,
                format!("`{name}` takes a value after `=`, like {example}"),
            ));
        }
        RawValue::Missing => {
            return Err(syn::Error::new(
                arg.name.span(),
                format!("`{name}` needs a value, like {example}"),
            ));
        }
    };
    if !matches!(int.suffix(), "" | "usize") {
        return Err(syn::Error::new(
            int.span(),
            format!(
                "`{name}` is a `usize`: write the number without the `{}` suffix",
                int.suffix()
            ),
        ));
    }
    let count: usize = int.base10_parse().map_err(|error| {
        syn::Error::new(
            int.span(),
            format!("`{name}` must fit in a `usize`: {error}"),
        )
    })?;
    if count == 0 {
        return Err(syn::Error::new(
            int.span(),
            format!("`{name}` must be at least 1 (a runtime cannot run on 0 threads)"),
        ));
    }
    Ok(count)
}

/// `crate = "path"` (or the path unquoted): the path under which the user's crate sees spindle.
fn crate_path(arg: &RawOption) -> syn::Result<syn::Path> {
    let example = "`crate = \"my_spindle\"`";
    let lit = match &arg.value {
        RawValue::Expr(Expr::Lit(syn::ExprLit {
            lit: Lit::Str(lit), ..
        })) => lit,
        // Unquoted also works: it is what rustc suggests when the quoted path does not resolve.
        RawValue::Expr(Expr::Path(path))
            if path.qself.is_none()
                && path.attrs.is_empty()
                && path.path.segments.iter().all(|s| s.arguments.is_none()) =>
        {
            return Ok(path.path.clone());
        }
        RawValue::Expr(expr) => {
            return Err(syn::Error::new_spanned(
                expr,
                format!("`crate` takes the path of the spindle crate, like {example}"),
            ));
        }
        RawValue::List(tokens) => {
            return Err(syn::Error::new_spanned(
                tokens,
                format!("`crate` takes a value after `=`, like {example}"),
            ));
        }
        RawValue::Missing => {
            return Err(syn::Error::new(
                arg.name.span(),
                format!("`crate` needs a value, like {example}"),
            ));
        }
    };
    // Tokens parsed from the string get the literal's span, so errors about the path (an
    // unresolved crate) point at the string the user wrote.
    let path = lit.parse_with(syn::Path::parse_mod_style).map_err(|_| {
        syn::Error::new(
            lit.span(),
            format!(
                "`{}` is not a path, expected something like {example}",
                lit.value()
            ),
        )
    })?;
    Ok(path)
}

/// Several errors reported together.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) fn extend(&mut self, errors: Option<syn::Error>) {
        if let Some(error) = errors {
            self.push(error);
        }
    }

    pub(crate) fn into_option(self) -> Option<syn::Error> {
        self.0
    }
}
