//! The rewrite of a memoized function.
//!
//! Input:
//!
//! ```text
//! #[memoize(maxsize = 128)]
//! pub fn render(page: &str, lang: Lang) -> Arc<String> { BODY }
//! ```
//!
//! Output:
//!
//! ```text
//! pub fn render(page: &str, lang: Lang) -> Arc<String> {
//!     fn __memo_body(page: &str, lang: Lang) -> Arc<String> { BODY }
//!     let view = ::memo::__private::View((ByRef(page), ByVal(&lang)));
//!     match ::memo::__private::lookup::<_, Arc<String>, _>(
//!         render_cache(), None, || ::memo::Lru::new(const { maxsize(128) }), &view,
//!     ) {
//!         Ok(value) => value,
//!         Err(miss) => miss.complete(__memo_body(page, lang)),
//!     }
//! }
//!
//! /// The cache of `render`, made by `#[memoize]`.
//! pub fn render_cache() -> &'static ::memo::CacheHandle {
//!     static HANDLE: ::memo::CacheHandle = ::memo::CacheHandle::new("render", Some(maxsize(128)));
//!     &HANDLE
//! }
//! ```
//!
//! The body moves into an inner function with the user's own signature, so
//! that `return`, `?`, patterns and recursion behave exactly as written.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Attribute, Error, ItemFn, ReturnType};

use crate::args::Options;
use crate::sig::{self, Analysed};

/// Rewrites `item` as `options` say; on any error, emits the errors beside
/// the function left as it was, so that its call sites still compile.
pub fn expand(options: syn::Result<Options>, item: &ItemFn) -> TokenStream {
    let mut errors = Vec::new();
    let options = options.unwrap_or_else(|error| {
        errors.push(error);
        Options::default()
    });
    let analysed = sig::analyse(&item.sig, &mut errors);
    if analysed.args.len() > 12 && options.key.is_none() {
        errors.push(Error::new_spanned(
            &item.sig.inputs,
            "#[memoize] keys at most 12 arguments: group them in a struct, or give `key = (...)`",
        ));
    }
    let handle = handle(item, &options, errors.is_empty());
    if !errors.is_empty() {
        let errors = errors.into_iter().map(|e| e.to_compile_error());
        return quote!(#(#errors)* #item #handle);
    }
    let function = function(item, &options, &analysed);
    quote!(#function #handle)
}

fn mixed(name: &str) -> syn::Ident {
    syn::Ident::new(name, Span::mixed_site())
}

fn handle_name(item: &ItemFn) -> syn::Ident {
    format_ident!("{}_cache", item.sig.ident)
}

/// `maxsize` checked at compile time, as a `NonZeroUsize`; a zero is an error
/// pointing at the expression.
fn maxsize_const(expr: &syn::Expr) -> TokenStream {
    quote_spanned! {expr.span()=>
        const {
            match ::core::num::NonZeroUsize::new(#expr) {
                ::core::option::Option::Some(maxsize) => maxsize,
                ::core::option::Option::None => ::core::panic!("{}", ::memo::__private::MAXSIZE_ZERO),
            }
        }
    }
}

fn function(item: &ItemFn, options: &Options, analysed: &Analysed) -> TokenStream {
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = item;
    let body_fn = mixed("__memo_body");
    let view = mixed("__memo_view");
    let key = mixed("__memo_key");
    let value = mixed("__memo_value");
    let miss = mixed("__memo_miss");
    let handle = handle_name(item);

    // The wrapper's signature: each argument bound to a plain name.
    let mut outer = sig.clone();
    for (input, arg) in outer.inputs.iter_mut().zip(&analysed.args) {
        if let syn::FnArg::Typed(pat_type) = input {
            *pat_type.pat = syn::parse_quote!(#arg);
        }
    }
    let mut inner = sig.clone();
    inner.ident = body_fn.clone();

    let names: Vec<_> = analysed.args.iter().map(|arg| &arg.name).collect();
    let (let_key, parts) = if let Some(expr) = &options.key {
        (
            quote!(let #key = #expr;),
            vec![quote!(::memo::__private::ByVal(&#key))],
        )
    } else {
        let parts = analysed.args.iter().map(|arg| {
            let name = &arg.name;
            if arg.by_ref {
                quote!(::memo::__private::ByRef(#name))
            } else {
                quote!(::memo::__private::ByVal(&#name))
            }
        });
        (TokenStream::new(), parts.collect())
    };
    let ret = match &sig.output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => quote!(#ty),
    };
    let typed = match options.typed {
        Some(_) if analysed.generic => {
            let types = analysed.args.iter().map(|arg| &arg.ty);
            quote!(::core::option::Option::Some(::memo::__private::type_id::<(#(#types,)*)>()))
        }
        _ => quote!(::core::option::Option::None),
    };
    let store = match (&options.store, &options.maxsize) {
        (Some(store), _) => quote!(#store),
        (None, Some(maxsize)) => {
            let maxsize = maxsize_const(maxsize);
            quote!(::memo::Lru::new(#maxsize))
        }
        (None, None) => quote!(::memo::Unbounded::new()),
    };
    let turbofish = sig::turbofish(sig);
    let mut call = quote!(#body_fn #turbofish(#(#names),*));
    if sig.unsafety.is_some() {
        call = quote!(unsafe { #call });
    }

    quote! {
        #(#attrs)*
        #vis #outer {
            #[allow(clippy::too_many_arguments, clippy::needless_pass_by_value)]
            #inner #block

            #let_key
            let #view = ::memo::__private::View((#(#parts,)*));
            match ::memo::__private::lookup::<_, #ret, _>(#handle(), #typed, || #store, &#view) {
                ::core::result::Result::Ok(#value) => #value,
                ::core::result::Result::Err(#miss) => #miss.complete(#call),
            }
        }
    }
}

/// The handle, `fib_cache()` beside `fib`, with the same visibility and
/// `#[cfg]`.
fn handle(item: &ItemFn, options: &Options, valid: bool) -> TokenStream {
    let vis = &item.vis;
    let name = handle_name(item);
    let function = item.sig.ident.to_string();
    let cfgs = item.attrs.iter().filter(|attr| is_cfg(attr));
    let doc = format!(
        "The cache of `{function}`, made by `#[memoize]`: its statistics with `info()`, emptied with `clear()`."
    );
    let maxsize = match &options.maxsize {
        Some(maxsize) if valid => {
            let maxsize = maxsize_const(maxsize);
            quote!(::core::option::Option::Some(#maxsize))
        }
        _ => quote!(::core::option::Option::None),
    };
    let handle = mixed("__MEMO_HANDLE");
    quote! {
        #(#cfgs)*
        #[doc = #doc]
        #[must_use]
        #vis fn #name() -> &'static ::memo::CacheHandle {
            static #handle: ::memo::CacheHandle = ::memo::CacheHandle::new(#function, #maxsize);
            &#handle
        }
    }
}

fn is_cfg(attr: &Attribute) -> bool {
    attr.path().is_ident("cfg")
}
