//! The rewrite of a memoized function.
//!
//! Input:
//!
//! ```text
//! #[memoize(maxsize = 128)]
//! pub fn render(page: &str, (w, h): (u32, u32)) -> Arc<String> { BODY }
//! ```
//!
//! Output:
//!
//! ```text
//! pub fn render(page: &str, __memo_arg1: (u32, u32)) -> Arc<String> {
//!     static SITE: Site = Site::new(Place { module_path!(), file!(), line!(), .. }, Some(128));
//!     by_ref_arg::<str>(); by_value_arg::<(u32, u32)>(); value::<Arc<String>>();
//!     let view = View((ByRef(page), ByVal(&__memo_arg1)));
//!     match lookup::<_, Arc<String>, _>(SITE.handle(), None, || Lru::new(128), &view) {
//!         Ok(value) => value,
//!         Err(miss) => {
//!             let value = (move || -> Arc<String> { let (w, h) = __memo_arg1; BODY })();
//!             miss.complete(value)
//!         }
//!     }
//! }
//!
//! /// The cache of `render`, made by `#[memoize]`.
//! pub fn render_cache() -> &'static ::memo::CacheHandle {
//!     static SITE: Site = /* the same place */;
//!     SITE.handle()
//! }
//! ```
//!
//! The body runs in a closure, so that `return` and `?` return from it exactly
//! as written, it sees `self` and `Self` in methods, and recursion goes back
//! through the wrapper. Function and handle find their shared cache through a
//! `Site` each (see `memo_core::__private::Site`), since no path names a
//! sibling item both in a module and in an `impl` block.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Attribute, Error, ItemFn};

use crate::args::Options;
use crate::sig::{self, Arg};

/// The most arguments a key can be made of (`memo_core::key` implements views
/// of up to 12 parts).
const MAX_KEY_PARTS: usize = 12;

/// Rewrites `item` as `options` say; on any error, emits the errors beside
/// the function left as it was and its handle, so that the call sites of both
/// still compile.
pub fn expand(options: syn::Result<Options>, item: &ItemFn) -> TokenStream {
    let mut errors = Vec::new();
    let options = options.unwrap_or_else(|error| {
        errors.push(error);
        Options::default()
    });
    let args = sig::analyse(&item.sig, &options, &mut errors);
    if options.key.is_none() && args.iter().filter(|arg| !arg.ignored).count() > MAX_KEY_PARTS {
        errors.push(Error::new_spanned(
            &item.sig.inputs,
            "#[memoize] keys at most 12 arguments: group them in a struct, or give `key = (...)`",
        ));
    }
    let id = item_id(item);
    let handle = handle(item, id, &options, errors.is_empty());
    if !errors.is_empty() {
        let errors = errors.into_iter().map(|e| e.to_compile_error());
        return quote!(#(#errors)* #item #handle);
    }
    let function = function(item, id, &options, &args);
    quote!(#function #handle)
}

fn mixed(name: &str) -> syn::Ident {
    syn::Ident::new(name, Span::mixed_site())
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

/// `Some(maxsize)` checked at compile time, or `None`.
fn maxsize_option(options: &Options, valid: bool) -> TokenStream {
    match &options.maxsize {
        Some(maxsize) if valid => {
            let maxsize = maxsize_const(maxsize);
            quote!(::core::option::Option::Some(#maxsize))
        }
        _ => quote!(::core::option::Option::None),
    }
}

/// Where the function is written, as a `Place`: the same in the function and
/// its handle, so that both reach one cache.
fn place(item: &ItemFn, id: u64) -> TokenStream {
    let ident = &item.sig.ident;
    let name = ident.to_string();
    let here = ident.span();
    let (line, column) = (quote_spanned!(here=> ::core::line!()), quote_spanned!(here=> ::core::column!()));
    quote! {
        ::memo::__private::Place {
            module: ::core::module_path!(),
            file: ::core::file!(),
            line: #line,
            column: #column,
            name: #name,
            id: #id,
        }
    }
}

/// A number for the function `item` that no other function `#[memoize]`
/// rewrites while this compiler runs has: a hash of its tokens and of how
/// many functions came before it. Two items that one `macro_rules!`
/// expansion writes at one place (same module, file, line and column) get
/// different numbers, so different handles. The function and its handle,
/// written by one expansion of the attribute, share the one number.
fn item_id(item: &ItemFn) -> u64 {
    use core::sync::atomic::{AtomicU64, Ordering};
    use quote::ToTokens;
    static NEXT: AtomicU64 = AtomicU64::new(0);
    // FNV-1a over the tokens, then the running count mixed in.
    let hash = item
        .to_token_stream()
        .to_string()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    hash ^ NEXT.fetch_add(1, Ordering::Relaxed).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// `static SITE: Site = ...;` (a thread-local `LocalSite` with `scope =
/// thread`), through which the function and its handle reach their cache.
fn site(item: &ItemFn, id: u64, options: &Options, valid: bool) -> (syn::Ident, TokenStream) {
    let (place, maxsize) = (place(item, id), maxsize_option(options, valid));
    let site = mixed("__MEMO_SITE");
    let tokens = if options.thread_scope.is_some() {
        quote! {
            ::std::thread_local! {
                static #site: ::memo::__private::LocalSite =
                    const { ::memo::__private::LocalSite::new(#place, #maxsize) };
            }
        }
    } else {
        quote! {
            static #site: ::memo::__private::Site = ::memo::__private::Site::new(#place, #maxsize);
        }
    };
    (site, tokens)
}

fn function(item: &ItemFn, id: u64, options: &Options, args: &[Arg]) -> TokenStream {
    let ItemFn { attrs, vis, sig, block } = item;
    let view = mixed("__memo_view");
    let key = mixed("__memo_key");
    let value = mixed("__memo_value");
    let miss = mixed("__memo_miss");
    let make = mixed("__memo_make");
    let found = mixed("__memo_found");
    let local = options.thread_scope.is_some();
    // A thread's own cache needs no `Send`.
    let checked = |name: &str| if local { format!("local_{name}") } else { name.to_owned() };
    let (site, site_static) = site(item, id, options, true);

    // The wrapper's signature: each argument bound to a plain name.
    let mut outer = sig.clone();
    for (input, arg) in outer.inputs.iter_mut().zip(args) {
        if let syn::FnArg::Typed(pat_type) = input {
            let name = &arg.name;
            *pat_type.pat = syn::parse_quote!(#name);
        }
    }

    // Checks of the types, spanned at what they check, so that a missing
    // trait is reported there first, in words (see `__private`).
    let mut checks = Vec::new();
    let ret = match &sig.output {
        syn::ReturnType::Default => quote!(()),
        syn::ReturnType::Type(_, ty) => {
            checks.push(check(&checked("value"), ty, ty.span()));
            quote!(#ty)
        }
    };
    let (let_key, parts) = if let Some(expr) = &options.key {
        // The check is the call that makes the key, spanned at the expression.
        let check = syn::Ident::new(&checked("key"), expr.span());
        let check = quote_spanned!(expr.span()=> ::memo::__private::#check);
        (quote!(let #key = #check(#expr);), vec![quote!(::memo::__private::ByVal(&#key))])
    } else {
        let keyed = args.iter().filter(|arg| !arg.ignored);
        let parts = keyed.map(|arg| {
            let name = &arg.name;
            // `x: &T` is viewed as `ByRef(x)` and stored as `T::Owned`; anything
            // else as `ByVal(&x)` and stored as a clone.
            if let syn::Type::Reference(reference) = &arg.ty {
                checks.push(check(&checked("by_ref_arg"), &reference.elem, arg.span));
                quote!(::memo::__private::ByRef(#name))
            } else {
                checks.push(check(&checked("by_value_arg"), &arg.ty, arg.span));
                quote!(::memo::__private::ByVal(&#name))
            }
        });
        (TokenStream::new(), parts.collect())
    };
    // The instantiation: the type of a closure written here is generic over
    // every generic parameter in scope, and differs from item to item.
    // (`typed` asks for what this gives every function: instantiations, and
    // so argument types, never share a cache.)
    let instance = quote!(&|| {});
    let store = match (&options.store, &options.maxsize) {
        (Some(store), _) => quote!(#store),
        (None, Some(maxsize)) => {
            let maxsize = maxsize_const(maxsize);
            quote!(::memo::Lru::new(#maxsize))
        }
        (None, None) => quote!(::memo::Unbounded::new()),
    };
    let single_flight = match &options.single_flight {
        Some(on) => quote!(#on),
        None => quote!(true),
    };
    // The body: the user's own block, braces and all (a block of one
    // expression inside braces of ours would be flagged by `unused_braces`),
    // with the user's patterns bound again from the wrapper's names first.
    let mut body_block = (**block).clone();
    let rebind = args.iter().filter_map(|arg| {
        let (pat, name) = (arg.rebind.as_ref()?, &arg.name);
        // `let _x = ...;` is ours, not the user's: they wrote `_x: T`.
        Some(syn::parse_quote!(#[allow(clippy::no_effect_underscore_binding)] let #pat = #name;))
    });
    body_block.stmts.splice(0..0, rebind);
    // What is cached: an `Err` not by default, a `None` by default. A return
    // type named `Result` or `Option` is recognised; an alias of another name
    // takes the policy from `cache_err` or `cache_none` written out.
    let named = |name: &str| match &sig.output {
        syn::ReturnType::Type(_, ty) => match sig::ungroup(ty) {
            syn::Type::Path(path) => path.path.segments.last().is_some_and(|s| s.ident == name),
            _ => false,
        },
        syn::ReturnType::Default => false,
    };
    let refuse_err = (named("Result") || options.cache_err.is_some())
        && !options.cache_err.as_ref().is_some_and(|on| on.value);
    let refuse_none = (named("Option") || options.cache_none.is_some())
        && options.cache_none.as_ref().is_some_and(|on| !on.value);
    let keep = if refuse_err || refuse_none {
        quote!(!::memo::__private::Outcome::is_failure(&#value))
    } else {
        quote!(true)
    };
    let expiring = options.ttl.is_some() || options.expires.is_some();
    let ttl = match &options.ttl {
        Some(ttl) => quote!(::core::option::Option::Some(::memo::__private::checked_ttl(#ttl))),
        None => quote!(::core::option::Option::None::<::core::time::Duration>),
    };
    let lifetime = match &options.expires {
        Some(expires) => quote!((#expires)(&#value).or(#ttl)),
        None => ttl.clone(),
    };
    let lifetime = match &options.jitter {
        Some(jitter) => {
            quote!(::memo::__private::jittered(#lifetime, ::core::convert::Into::<f64>::into(#jitter)))
        }
        None => lifetime,
    };
    let sweep = match &options.ttl {
        Some(ttl) => quote!(.sweep_every(::memo::__private::checked_ttl(#ttl) / 2)),
        None if expiring => quote!(.sweep_every(::core::time::Duration::from_secs(1))),
        None => TokenStream::new(),
    };
    // Whether and how long to keep the value, decided before it moves.
    let (keeps, lives) = (mixed("__memo_keep"), mixed("__memo_lifetime"));
    // `lookup`, `lookup_expiring`, `lookup_async`, `lookup_expiring_async`,
    // and the `finish` of each (the async ones give the value to a store on a
    // server from memo's I/O threads).
    let suffix = format!(
        "{}{}",
        if expiring { "_expiring" } else { "" },
        if sig.asyncness.is_some() { "_async" } else { "" }
    );
    let (lookup_fn, finish_fn) = (format_ident!("lookup{suffix}"), format_ident!("finish{suffix}"));
    // The lookups, chosen by the key's view and the value type: those of the
    // cache, or, where a check above failed, ones that always miss, so that
    // the check's error is the only one (see `__private::select`).
    let lookups = mixed("__memo_lookups");
    let select = if local {
        quote! {
            let #lookups = {
                use ::memo::__private::{ToCache as _, ToPlain as _};
                (&::memo::__private::Probe::<_, #ret, ::memo::__private::Local, _>::of(&#view, &())).select()
            };
        }
    } else {
        // A store of other types than the function's is reported once, at
        // the store's expression.
        let store_span = options.store.as_ref().map_or_else(Span::call_site, Spanned::span);
        let probe = mixed("__memo_probe");
        let check = quote_spanned!(store_span=> (&#probe).store_check().check(););
        quote! {
            let #make = || ::memo::Cache::new(#store).single_flight(#single_flight) #sweep;
            let #lookups = {
                use ::memo::__private::{ToCache as _, ToNoStoreCheck as _, ToPlain as _, ToStoreCheck as _};
                let #probe = ::memo::__private::Probe::<_, #ret, ::memo::__private::Shared, _>::of(&#view, &#make);
                #check
                (&#probe).select()
            };
        }
    };
    let lookup = quote!(#lookups.#lookup_fn);
    // The span of a miss (`tracing`): the function's name, and a guard.
    let (fname, span) = (sig.ident.to_string(), mixed("__memo_span"));
    let finish_trait = format_ident!(
        "{}",
        match (expiring, sig.asyncness.is_some()) {
            (false, false) => "Finish",
            (true, false) => "FinishExpiring",
            (false, true) => "FinishAsync",
            (true, true) => "FinishExpiringAsync",
        }
    );
    // The miss of a plain `fn` is completed where it lies (`&mut`), not
    // moved: each move is a copy in the frame that every level of a
    // memoized recursion keeps.
    // The shared cache's is borrowed where the lookup returned it (`ref
    // mut`), not moved out of the `Result` into a second copy. A thread's
    // is moved: borrowed, its hits cost a third more (the `Result` kept in
    // memory, measured with `cargo bench --bench thread_scope`).
    let completed = if local { quote!(&mut #miss) } else { quote!(#miss) };
    let finish = if expiring {
        quote! {
            let #keeps = #keep;
            let #lives = #lifetime;
            ::memo::__private::#finish_trait::#finish_fn(#completed, #value, #lives, #keeps)
        }
    } else {
        quote! {
            let #keeps = #keep;
            ::memo::__private::#finish_trait::#finish_fn(#completed, #value, #keeps)
        }
    };
    let arrow = match &sig.output {
        syn::ReturnType::Default => TokenStream::new(),
        syn::ReturnType::Type(arrow, ty) => quote!(#arrow #ty),
    };

    // Both scopes start alike: the site, the checks, the key and its view.
    let prelude = quote! {
        #site_static
        #(#checks)*
        #let_key
        let #view = ::memo::__private::View((#(#parts,)*));
        #select
    };
    if local {
        let (probe, marker) = (mixed("__memo_probe"), mixed("__memo_instance"));
        return quote! {
            #(#attrs)*
            #vis #outer {
                #prelude
                // One marker for both calls: each `|| {}` is a type of its
                // own, and the marker's type names the instantiation.
                let #marker = #instance;
                match #lookups.local_lookup(&#site, #marker, &#view) {
                    ::core::result::Result::Ok(#value) => #value,
                    ::core::result::Result::Err(#probe) => {
                        #[allow(unused_mut)]
                        let mut #miss = #lookups.local_miss(&#site, #marker, #probe, &#view);
                        #[allow(clippy::redundant_closure_call)]
                        let #value = {
                            let #span = ::memo::__private::miss_span(::core::module_path!(), #fname);
                            (move || #arrow #body_block)()
                        };
                        #finish
                    }
                }
            }
        };
    }
    if let Some(token) = &sig.asyncness {
        let pending = mixed("__memo_pending");
        // The lookup borrows the arguments only inside the block, so that the
        // future holds no borrow of them across an `.await` and they can move
        // into the body. `computing` gives the body's async block its type,
        // for `?` inside it, and makes a body that awaits its own key panic
        // instead of waiting for itself.
        let memoized = quote! {
            #(#attrs)*
            #vis #outer {
                #site_static
                #(#checks)*
                // A hit returns without awaiting anything.
                let #found = match {
                    #let_key
                    let #view = ::memo::__private::View((#(#parts,)*));
                    #select
                    #lookup(#site.handle(), #instance, #make, &#view)
                } {
                    ::core::result::Result::Ok(#value) => ::core::result::Result::Ok(#value),
                    ::core::result::Result::Err(#pending) => #pending.await,
                };
                match #found {
                    ::core::result::Result::Ok(#value) => #value,
                    ::core::result::Result::Err(#miss) => {
                        let #value = ::memo::__private::computing::<#ret, _>(
                            ::memo::__private::Computes::mark(&#miss),
                            ::memo::__private::traced(::core::module_path!(), #fname, async move #body_block),
                        )
                        .await;
                        #finish
                    }
                }
            }
        };
        // Without memo's `async` feature, the function is left as it is
        // beside an error that says which feature to enable.
        let error = quote_spanned! {token.span=>
            ::core::compile_error! {
                "#[memoize] on an `async fn` needs the `async` feature of memo: `memo = { version = \"0.1\", features = [\"async\"] }`"
            }
        };
        return quote!(::memo::__private::async_fn! { { #memoized } { #item } { #error } });
    }
    quote! {
        #(#attrs)*
        #vis #outer {
            #prelude
            match #lookup(#site.handle(), #instance, #make, #view) {
                ::core::result::Result::Ok(#value) => #value,
                ::core::result::Result::Err(ref mut #miss) => {
                    #[allow(clippy::redundant_closure_call)]
                    let #value = {
                            let #span = ::memo::__private::miss_span(::core::module_path!(), #fname);
                            (move || #arrow #body_block)()
                        };
                    #finish
                }
            }
        }
    }
}

/// `__private::check::<ty>();`, every token spanned at `span`, so that the
/// error of a missing trait points there.
fn check(check: &str, ty: &syn::Type, span: Span) -> TokenStream {
    let check = syn::Ident::new(check, span);
    sig::respan(&quote!(::memo::__private::#check::<#ty>();), span)
}

/// The handle, `fib_cache()` beside `fib`, with the same visibility and
/// `#[cfg]`.
fn handle(item: &ItemFn, id: u64, options: &Options, valid: bool) -> TokenStream {
    let vis = &item.vis;
    let name = format_ident!("{}_cache", item.sig.ident, span = item.sig.ident.span());
    let cfgs = item.attrs.iter().filter(|attr| is_cfg(attr));
    let doc = format!(
        "The cache of `{}`, made by `#[memoize]`: its statistics with `info()`, emptied with `clear()`.",
        item.sig.ident
    );
    let (ty, body) = if options.thread_scope.is_some() {
        let (place, maxsize) = (place(item, id), maxsize_option(options, valid));
        (quote!(::memo::ThreadCacheHandle), quote!(::memo::ThreadCacheHandle::new(#place, #maxsize)))
    } else {
        let (site, site_static) = site(item, id, options, valid);
        (quote!(&'static ::memo::CacheHandle), quote!(#site_static #site.handle()))
    };
    // Spanned at the function's name, so that an error about the handle (in a
    // trait impl, where it has no place) points there.
    quote_spanned! {item.sig.ident.span()=>
        #(#cfgs)*
        #[doc = #doc]
        #[must_use]
        #[allow(dead_code)] // A function need not use its handle.
        #vis fn #name() -> #ty {
            #body
        }
    }
}

fn is_cfg(attr: &Attribute) -> bool {
    attr.path().is_ident("cfg")
}
