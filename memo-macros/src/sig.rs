//! The memoized function's signature: how each argument becomes part of the
//! key, and the signatures `#[memoize]` refuses.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident};
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{Error, FnArg, Pat, ReturnType, Signature, Type};

use crate::args::Options;

/// One argument of the function, `self` included.
pub struct Arg {
    /// The name the wrapper binds it to: the user's for `name: T` and `self`,
    /// a fresh one for a pattern such as `(a, b): (u32, u32)`.
    pub name: syn::Ident,
    /// Its type as written; `&Self` for `&self`.
    pub ty: Type,
    /// The user's pattern, where the body must bind it again from `name`
    /// (`mut x`, `(a, b)`).
    pub rebind: Option<Pat>,
    /// Where the argument is written, for errors about it.
    pub span: Span,
    /// Left out of the key by `ignore = [...]`.
    pub ignored: bool,
}

/// Reads the signature, reporting every argument it cannot cache.
pub fn analyse(sig: &Signature, options: &Options, errors: &mut Vec<Error>) -> Vec<Arg> {
    check_function(sig, errors);
    if let (Some(_), Some(scope)) = (&sig.asyncness, options.thread_scope) {
        errors.push(Error::new(
            scope,
            "`scope = thread` cannot cache an `async fn`: its task may move between threads as it runs; use the shared cache",
        ));
    }
    let ignore = options.ignore.as_deref().unwrap_or_default();
    let mut args = Vec::new();
    for (i, input) in sig.inputs.iter().enumerate() {
        let arg = match input {
            FnArg::Receiver(receiver) => {
                check_receiver(receiver, errors);
                let name = syn::Ident::from(receiver.self_token);
                Arg {
                    ty: syn::parse_quote!(&Self),
                    rebind: None,
                    span: receiver.span(),
                    ignored: ignore.contains(&name),
                    name,
                }
            }
            FnArg::Typed(pat_type) => {
                let ty = ungroup(&pat_type.ty).clone();
                check_no_impl_trait(&ty, "an argument", errors);
                if let Type::Reference(reference) = &ty {
                    if let Some(mutability) = reference.mutability {
                        errors.push(Error::new_spanned(
                            mutability,
                            "#[memoize] cannot cache a function that takes `&mut`: a cached call would skip the mutation; take `&T`, or return the new value instead",
                        ));
                    }
                }
                let generated = || format_ident!("__memo_arg{}", i, span = Span::mixed_site());
                let (name, rebind, ignored) = match &*pat_type.pat {
                    // `_x` says "unused": the key uses it, so it is bound to a
                    // name of ours (clippy's `used_underscore_binding`), and the
                    // body gets it back as `_x`.
                    Pat::Ident(ident) if ident.ident.to_string().starts_with('_') => {
                        (generated(), Some((*pat_type.pat).clone()), ignore.contains(&ident.ident))
                    }
                    Pat::Ident(ident) if ident.by_ref.is_none() && ident.subpat.is_none() => {
                        let rebind = ident.mutability.is_some().then(|| (*pat_type.pat).clone());
                        (ident.ident.clone(), rebind, ignore.contains(&ident.ident))
                    }
                    pat => (generated(), Some(pat.clone()), false),
                };
                Arg { ignored, span: pat_type.pat.span(), ty, name, rebind }
            }
        };
        args.push(arg);
    }
    for ignored in ignore {
        let named = |arg: &Arg| match &arg.rebind {
            Some(Pat::Ident(ident)) => ident.ident == *ignored,
            _ => arg.name == *ignored,
        };
        if !args.iter().any(named) {
            errors.push(Error::new(
                ignored.span(),
                format!("`ignore` names `{ignored}`, which is not an argument of this function (arguments bound by a pattern cannot be named)"),
            ));
        }
    }
    args
}

fn check_receiver(receiver: &syn::Receiver, errors: &mut Vec<Error>) {
    let advice = match &*receiver.ty {
        Type::Reference(reference) if reference.mutability.is_none() => return,
        Type::Reference(_) => {
            "#[memoize] cannot cache a method that takes `&mut self`: a cached call would skip the mutation; take `&self`"
        }
        _ => {
            "#[memoize] cannot cache a method that takes `self` by value: a cached call would not consume it; take `&self`"
        }
    };
    errors.push(Error::new_spanned(receiver, advice));
}

fn check_function(sig: &Signature, errors: &mut Vec<Error>) {
    if let Some(token) = &sig.constness {
        errors.push(Error::new_spanned(
            token,
            "#[memoize] cannot cache a `const fn`: its cache lives at run time; remove `const`",
        ));
    }
    if let Some(abi) = &sig.abi {
        errors.push(Error::new_spanned(
            abi,
            "#[memoize] cannot cache an `extern` function: memoize a Rust function and call it from the `extern` one",
        ));
    }
    if let Some(variadic) = &sig.variadic {
        errors.push(Error::new_spanned(
            variadic,
            "#[memoize] cannot cache a variadic function: its arguments cannot form a key",
        ));
    }
    if let ReturnType::Type(_, ty) = &sig.output {
        check_no_impl_trait(ty, "the return type", errors);
        if let Type::Reference(reference) = ungroup(ty) {
            let is_static = reference.lifetime.as_ref().is_some_and(|l| l.ident == "static");
            if !is_static {
                errors.push(Error::new_spanned(
                    reference,
                    "#[memoize] cannot cache a returned reference: it may borrow from the arguments; return an owned value or an `Arc` instead",
                ));
            }
        }
    }
}

fn check_no_impl_trait(ty: &Type, what: &str, errors: &mut Vec<Error>) {
    struct Finder(Option<syn::TypeImplTrait>);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_type_impl_trait(&mut self, node: &'ast syn::TypeImplTrait) {
            self.0.get_or_insert_with(|| node.clone());
        }
    }
    let mut finder = Finder(None);
    finder.visit_type(ty);
    if let Some(found) = finder.0 {
        let advice = if what == "an argument" {
            "use a named generic parameter instead: `fn f<T: Trait>(x: T)`"
        } else {
            "return a concrete type instead (a `Box<dyn Trait>` if it must be dynamic)"
        };
        errors.push(Error::new_spanned(
            found,
            format!("#[memoize] cannot cache a function with `impl Trait` in {what}: {advice}"),
        ));
    }
}

/// `tokens` with every span set to `span`, so that an error about them points
/// at the argument they belong to.
pub fn respan(tokens: &impl ToTokens, span: Span) -> TokenStream {
    tokens
        .to_token_stream()
        .into_iter()
        .map(|mut tree| {
            if let proc_macro2::TokenTree::Group(group) = &tree {
                let mut inner = proc_macro2::Group::new(group.delimiter(), respan(&group.stream(), span));
                inner.set_span(span);
                tree = inner.into();
            }
            tree.set_span(span);
            tree
        })
        .collect()
}

/// `ty` without the invisible group that a `macro_rules!` `$t:ty` wraps it
/// in, or the parentheses written around it: `&str` passed as `$t` is still
/// an argument taken by reference.
pub fn ungroup(mut ty: &Type) -> &Type {
    loop {
        match ty {
            Type::Group(group) => ty = &group.elem,
            Type::Paren(paren) => ty = &paren.elem,
            _ => return ty,
        }
    }
}
