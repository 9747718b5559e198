//! The options of `#[memoize(...)]`, parsed into [`Options`].

use proc_macro2::Span;
use syn::parse::{ParseStream, Result};
use syn::{Error, Expr, Lit, Token};

mod kw {
    syn::custom_keyword!(maxsize);
    syn::custom_keyword!(key);
    syn::custom_keyword!(typed);
    syn::custom_keyword!(store);
    syn::custom_keyword!(ignore);
    syn::custom_keyword!(single_flight);
    syn::custom_keyword!(scope);
    syn::custom_keyword!(thread);
    syn::custom_keyword!(shared);
    syn::custom_keyword!(ttl);
    syn::custom_keyword!(expires);
    syn::custom_keyword!(jitter);
    syn::custom_keyword!(cache_err);
    syn::custom_keyword!(cache_none);
}

const VALID: &str = "the options are `maxsize = N`, `ttl = duration`, `expires = |value| ...`, \
                     `jitter = 0.1`, `key = expr`, `typed`, `ignore = [arg, ...]`, `cache_err = bool`, `cache_none = bool`, \
                     `store = expr`, `single_flight = false` and `scope = thread`";

/// Everything the attribute said, each option at most once.
#[derive(Default)]
pub struct Options {
    /// `maxsize = N`: an LRU of at most N entries.
    pub maxsize: Option<Expr>,
    /// `key = expr`: the key, computed from the arguments.
    pub key: Option<Expr>,
    /// `typed`: the argument types are part of the key, as Python's
    /// `typed=True`. Every function has this already (each instantiation has
    /// a cache of its own), so the option is accepted and changes nothing.
    pub typed: Option<Span>,
    /// `store = expr`: a store of the user's.
    pub store: Option<Expr>,
    /// `ignore = [a, b]`: arguments left out of the key.
    pub ignore: Option<Vec<syn::Ident>>,
    /// `single_flight = false`: threads that miss one key at once each run
    /// the body.
    pub single_flight: Option<syn::LitBool>,
    /// `scope = thread`: a cache per thread, with no synchronization.
    pub thread_scope: Option<Span>,
    /// `ttl = duration`: how long an entry stays valid.
    pub ttl: Option<Expr>,
    /// `expires = |value| Option<Duration>`: the value's own lifetime.
    pub expires: Option<Expr>,
    /// `jitter = fraction`: each entry's lifetime spread by up to that
    /// fraction of it, either way.
    pub jitter: Option<Expr>,
    /// `cache_err = bool`: whether an `Err` is cached (default: no).
    pub cache_err: Option<syn::LitBool>,
    /// `cache_none = bool`: whether a `None` is cached (default: yes).
    pub cache_none: Option<syn::LitBool>,
}

impl Options {
    /// Parses `option, option, ...`, reporting every mistake, not just the first.
    pub fn parse_terminated(input: ParseStream) -> Result<Self> {
        let mut options = Options::default();
        let mut errors: Option<Error> = None;
        let mut report = |error: Error| match &mut errors {
            Some(errors) => errors.combine(error),
            None => errors = Some(error),
        };
        while !input.is_empty() {
            if let Err(error) = options.parse_one(input, &mut report) {
                // The option's tokens could not be read: skip to the next comma.
                report(error);
                while !input.is_empty() && !input.peek(Token![,]) {
                    input.parse::<proc_macro2::TokenTree>()?;
                }
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        if let (Some(ignore), Some(_)) = (&options.ignore, &options.key) {
            if let Some(first) = ignore.first() {
                report(Error::new(
                    first.span(),
                    "`ignore` has no effect beside `key = ...`, which already says what the key is: remove one of them",
                ));
            }
        }
        if let Some(scope) = options.thread_scope {
            if options.store.is_some() {
                report(Error::new(
                    scope,
                    "`scope = thread` keeps each thread's entries in a store of its own, unbounded or `maxsize`: it cannot be combined with `store = ...`",
                ));
            }
            if let Some(ttl) = options.ttl.as_ref().or(options.expires.as_ref()) {
                report(Error::new_spanned(
                    ttl,
                    "expiry (`ttl`, `expires`) is not supported with `scope = thread` yet: use the shared cache",
                ));
            }
            if let Some(single_flight) = &options.single_flight {
                report(Error::new_spanned(
                    single_flight,
                    "`single_flight` is for threads that share a cache; with `scope = thread` no thread waits for another",
                ));
            }
        }
        if let Some(jitter) = &options.jitter {
            if options.ttl.is_none() && options.expires.is_none() {
                report(Error::new_spanned(
                    jitter,
                    "`jitter` spreads the lifetimes of entries, and these never expire: add `ttl = ...` or `expires = ...`, or leave `jitter` out",
                ));
            }
        }
        if let (Some(maxsize), Some(_)) = (&options.maxsize, &options.store) {
            report(Error::new_spanned(
                maxsize,
                "`maxsize` sizes the built-in LRU store; with `store = ...`, give the size to your store's constructor instead",
            ));
        }
        match errors {
            Some(errors) => Err(errors),
            None => Ok(options),
        }
    }

    fn parse_one(&mut self, input: ParseStream, report: &mut impl FnMut(Error)) -> Result<()> {
        let lookahead = input.lookahead1();
        if lookahead.peek(kw::maxsize) {
            let token: kw::maxsize = input.parse()?;
            let value = value_of(input, "maxsize", "maxsize = 128")?;
            if let Err(error) = check_maxsize(&value) {
                report(error);
            }
            set(&mut self.maxsize, value, token.span, "maxsize", report);
        } else if lookahead.peek(kw::key) {
            let token: kw::key = input.parse()?;
            let value = value_of(input, "key", "key = (a, b.len())")?;
            set(&mut self.key, value, token.span, "key", report);
        } else if lookahead.peek(kw::store) {
            let token: kw::store = input.parse()?;
            let value = value_of(input, "store", "store = MyStore::new()")?;
            set(&mut self.store, value, token.span, "store", report);
        } else if lookahead.peek(kw::ignore) {
            let token: kw::ignore = input.parse()?;
            let names = ignore_list(input)?;
            set(&mut self.ignore, names, token.span, "ignore", report);
        } else if lookahead.peek(kw::scope) {
            let token: kw::scope = input.parse()?;
            const EXAMPLE: &str = "`scope` takes `thread` (a cache per thread) or `shared` (one cache for all threads, the default)";
            if !input.peek(Token![=]) {
                return Err(input.error(EXAMPLE));
            }
            input.parse::<Token![=]>()?;
            if input.peek(kw::thread) {
                let value: kw::thread = input.parse()?;
                set(&mut self.thread_scope, value.span, token.span, "scope", report);
            } else if input.peek(kw::shared) {
                input.parse::<kw::shared>()?;
            } else {
                return Err(input.error(EXAMPLE));
            }
        } else if lookahead.peek(kw::single_flight) {
            let token: kw::single_flight = input.parse()?;
            let value = bool_of(input, "single_flight", "single_flight = false")?;
            set(&mut self.single_flight, value, token.span, "single_flight", report);
        } else if lookahead.peek(kw::cache_err) {
            let token: kw::cache_err = input.parse()?;
            let value = bool_of(input, "cache_err", "cache_err = true")?;
            set(&mut self.cache_err, value, token.span, "cache_err", report);
        } else if lookahead.peek(kw::cache_none) {
            let token: kw::cache_none = input.parse()?;
            let value = bool_of(input, "cache_none", "cache_none = false")?;
            set(&mut self.cache_none, value, token.span, "cache_none", report);
        } else if lookahead.peek(kw::ttl) {
            let token: kw::ttl = input.parse()?;
            let value = value_of(input, "ttl", "ttl = Duration::from_secs(30)")?;
            if let Err(error) = check_ttl(&value) {
                report(error);
            }
            set(&mut self.ttl, value, token.span, "ttl", report);
        } else if lookahead.peek(kw::expires) {
            let token: kw::expires = input.parse()?;
            let value = value_of(input, "expires", "expires = |response: &Response| response.max_age")?;
            set(&mut self.expires, value, token.span, "expires", report);
        } else if lookahead.peek(kw::jitter) {
            let token: kw::jitter = input.parse()?;
            let value = value_of(input, "jitter", "jitter = 0.1")?;
            if let Err(error) = check_jitter(&value) {
                report(error);
            }
            set(&mut self.jitter, value, token.span, "jitter", report);
        } else if lookahead.peek(kw::typed) {
            let token: kw::typed = input.parse()?;
            if input.peek(Token![=]) {
                return Err(input.error("`typed` takes no value: write `typed` to make the argument types part of the key, or leave it out"));
            }
            set(&mut self.typed, token.span, token.span, "typed", report);
        } else if input.peek(syn::Ident) {
            let ident: syn::Ident = input.parse()?;
            return Err(Error::new(ident.span(), format!("unknown option `{ident}`: {VALID}")));
        } else {
            return Err(Error::new(lookahead.error().span(), format!("expected an option: {VALID}")));
        }
        Ok(())
    }
}

/// Parses `= [a, b, self]` after `ignore`.
fn ignore_list(input: ParseStream) -> Result<Vec<syn::Ident>> {
    const EXAMPLE: &str = "`ignore` takes a list of argument names: write `ignore = [logger, conn]`";
    if !input.peek(Token![=]) {
        return Err(input.error(EXAMPLE));
    }
    input.parse::<Token![=]>()?;
    if !input.peek(syn::token::Bracket) {
        return Err(input.error(EXAMPLE));
    }
    let content;
    syn::bracketed!(content in input);
    let names = content.parse_terminated(syn::ext::IdentExt::parse_any, Token![,])?;
    Ok(names.into_iter().collect())
}

/// Parses `= true` or `= false` after an option's name.
fn bool_of(input: ParseStream, name: &str, example: &str) -> Result<syn::LitBool> {
    match value_of(input, name, example)? {
        Expr::Lit(syn::ExprLit { lit: Lit::Bool(value), .. }) => Ok(value),
        other => {
            Err(Error::new_spanned(other, format!("`{name}` takes `true` or `false`, like `{example}`")))
        }
    }
}

/// A `ttl` written as a zero literal (`Duration::from_secs(0)`,
/// `Duration::ZERO`) is refused here; any other zero panics at first use.
fn check_ttl(value: &Expr) -> Result<()> {
    let zero = match value {
        Expr::Path(path) => path.path.segments.last().is_some_and(|s| s.ident == "ZERO"),
        Expr::Call(call) => {
            let constructor = match &*call.func {
                Expr::Path(path) => path.path.segments.last().map(|s| s.ident.to_string()),
                _ => None,
            };
            let is_zero = |arg: &Expr| match arg {
                Expr::Lit(syn::ExprLit { lit: Lit::Int(int), .. }) => {
                    int.base10_parse::<u128>().ok() == Some(0)
                }
                Expr::Lit(syn::ExprLit { lit: Lit::Float(float), .. }) => {
                    float.base10_parse::<f64>().ok() == Some(0.0)
                }
                _ => false,
            };
            constructor.is_some_and(|c| c.starts_with("from_"))
                && call.args.len() == 1
                && call.args.iter().all(is_zero)
        }
        _ => false,
    };
    if zero {
        return Err(Error::new_spanned(
            value,
            "a zero `ttl` would expire every entry as soon as it is stored: give a positive duration, or leave `ttl` out",
        ));
    }
    Ok(())
}

/// A literal `jitter` must be a fraction from 0 up to, not including, 1 (a
/// lifetime spread by 100% could be zero); any other expression is an
/// `f64`, clamped to that range when it is used.
fn check_jitter(value: &Expr) -> Result<()> {
    let lit = match value {
        Expr::Lit(lit) => lit,
        // `-0.5`: a negative literal.
        Expr::Unary(syn::ExprUnary { op: syn::UnOp::Neg(_), expr, .. }) if matches!(**expr, Expr::Lit(_)) => {
            return Err(Error::new_spanned(
                value,
                "`jitter` takes the fraction of a lifetime by which entries' lifetimes may differ, from 0 up to (not including) 1: `jitter = 0.1` spreads them by up to 10% either way",
            ));
        }
        _ => return Ok(()),
    };
    let fraction = match &lit.lit {
        Lit::Float(float) => float.base10_parse::<f64>().ok(),
        Lit::Int(int) => int.base10_parse::<u32>().ok().map(f64::from),
        _ => None,
    };
    match fraction {
        Some(fraction) if (0.0..1.0).contains(&fraction) => Ok(()),
        _ => Err(Error::new_spanned(
            value,
            "`jitter` takes the fraction of a lifetime by which entries' lifetimes may differ, from 0 up to (not including) 1: `jitter = 0.1` spreads them by up to 10% either way",
        )),
    }
}

/// Parses `= value` after an option's name.
fn value_of(input: ParseStream, name: &str, example: &str) -> Result<Expr> {
    if !input.peek(Token![=]) {
        return Err(input.error(format!("`{name}` needs a value: write `{example}`")));
    }
    input.parse::<Token![=]>()?;
    input.parse()
}

fn set<T>(slot: &mut Option<T>, value: T, span: Span, name: &str, report: &mut impl FnMut(Error)) {
    if slot.is_some() {
        report(Error::new(span, format!("`{name}` is given twice: keep one")));
    } else {
        *slot = Some(value);
    }
}

/// A literal `maxsize` must be a positive integer; any other expression is
/// checked by the compiler, in a `const`.
fn check_maxsize(value: &Expr) -> Result<()> {
    let Expr::Lit(lit) = value else { return Ok(()) };
    match &lit.lit {
        Lit::Int(int) => match int.base10_parse::<usize>() {
            Ok(0) => Err(Error::new_spanned(
                int,
                "`maxsize = 0` would cache nothing: give a positive number of entries, or leave `maxsize` out for an unbounded cache",
            )),
            Ok(_) => Ok(()),
            Err(_) => {
                Err(Error::new_spanned(int, "`maxsize` takes a number of entries that fits in a `usize`"))
            }
        },
        other => Err(Error::new_spanned(
            other,
            "`maxsize` takes a positive integer number of entries, like `maxsize = 128`",
        )),
    }
}
