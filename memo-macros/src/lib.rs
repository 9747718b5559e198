//! The `#[memoize]` attribute of the [`memo`](https://docs.rs/memo) crate.
//!
//! This crate only parses and rewrites; every behaviour lives in `memo-core`,
//! reached through the hidden path `::memo::__private`. Use it through `memo`.

mod args;
mod expand;
mod sig;

use proc_macro::TokenStream;

/// Caches a function's results: see the `memo` crate's documentation.
#[proc_macro_attribute]
pub fn memoize(attr: TokenStream, item: TokenStream) -> TokenStream {
    let options = syn::parse::Parser::parse(args::Options::parse_terminated, attr);
    let Ok(function) = syn::parse::<syn::ItemFn>(item.clone()) else {
        let message = "#[memoize] goes on a function: `fn name(args) -> Value { ... }`";
        let item = proc_macro2::TokenStream::from(item);
        let error = syn::Error::new_spanned(&item, message).to_compile_error();
        return quote::quote!(#error #item).into();
    };
    expand::expand(options, &function).into()
}
