//! The memoized function's signature: how each argument becomes part of the
//! key, and the signatures `#[memoize]` refuses.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::visit::Visit;
use syn::{Error, FnArg, GenericParam, Pat, ReturnType, Signature, Type};

/// One argument of the function.
pub struct Arg {
    /// The name the wrapper binds it to: the user's for `name: T`, a fresh one
    /// for a pattern such as `(a, b): (u32, u32)`.
    pub name: syn::Ident,
    /// Its type, as written.
    pub ty: Type,
    /// `x: &T` is viewed as `ByRef(x)` and stored as `T::Owned`; anything else
    /// as `ByVal(&x)` and stored as a clone.
    pub by_ref: bool,
}

impl quote::ToTokens for Arg {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        self.name.to_tokens(tokens);
    }
}

/// The signature, analysed.
pub struct Analysed {
    pub args: Vec<Arg>,
    /// Whether the function has type or const parameters, so that one cache
    /// per instantiation is needed.
    pub generic: bool,
}

/// Reads the signature, reporting every argument it cannot cache.
pub fn analyse(sig: &Signature, errors: &mut Vec<Error>) -> Analysed {
    check_function(sig, errors);
    let mut args = Vec::new();
    for (i, input) in sig.inputs.iter().enumerate() {
        match input {
            FnArg::Receiver(receiver) => errors.push(Error::new_spanned(
                receiver,
                "#[memoize] does not support methods yet: make it a free function or an associated function that takes the value as an argument",
            )),
            FnArg::Typed(pat_type) => {
                let ty = (*pat_type.ty).clone();
                check_no_impl_trait(&ty, "an argument", errors);
                if let Type::Reference(reference) = &ty {
                    if let Some(mutability) = reference.mutability {
                        errors.push(Error::new_spanned(
                            mutability,
                            "#[memoize] cannot cache a function that takes `&mut`: a cached call would skip the mutation; take `&T` or return the new value instead",
                        ));
                    }
                }
                let name = match &*pat_type.pat {
                    Pat::Ident(ident) if ident.by_ref.is_none() && ident.subpat.is_none() => ident.ident.clone(),
                    _ => format_ident!("__memo_arg{}", i, span = Span::mixed_site()),
                };
                let by_ref = matches!(&ty, Type::Reference(_));
                args.push(Arg { name, ty, by_ref });
            }
        }
    }
    let generic = sig
        .generics
        .params
        .iter()
        .any(|param| !matches!(param, GenericParam::Lifetime(_)));
    Analysed { args, generic }
}

fn check_function(sig: &Signature, errors: &mut Vec<Error>) {
    if let Some(token) = &sig.asyncness {
        errors.push(Error::new_spanned(
            token,
            "#[memoize] does not support `async fn` yet",
        ));
    }
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
            "#[memoize] cannot cache a variadic function",
        ));
    }
    if let ReturnType::Type(_, ty) = &sig.output {
        check_no_impl_trait(ty, "the return type", errors);
        if let Type::Reference(reference) = &**ty {
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

/// The type and const parameters, for calling the body with a turbofish.
pub fn turbofish(sig: &Signature) -> TokenStream {
    let params: Vec<_> = sig
        .generics
        .params
        .iter()
        .filter_map(|param| match param {
            GenericParam::Type(t) => Some(t.ident.clone()),
            GenericParam::Const(c) => Some(c.ident.clone()),
            GenericParam::Lifetime(_) => None,
        })
        .collect();
    if params.is_empty() {
        TokenStream::new()
    } else {
        quote!(::<#(#params),*>)
    }
}
