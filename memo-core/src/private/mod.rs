//! What `#[memoize]` expands to calls; not for users, not covered by semver.

use std::time::Duration;

pub use crate::call::site::{Place, Site};
pub use crate::per_thread::{LocalProbe, LocalSite};
pub use crate::store::key::{ByRef, ByVal, View};

mod finish;
mod jitter;
mod select;
mod trace;
#[cfg(feature = "async")]
pub use finish::{Computes, FinishAsync, FinishExpiringAsync};
pub use finish::{Finish, FinishExpiring};
pub use jitter::jittered;
#[cfg(feature = "async")]
pub use select::NoPending;
pub use select::{
    Cached, Local, NoLocalMiss, NoMiss, NoStoreCheck, Plain, Probe, Shared, StoreOf, ToCache, ToNoStoreCheck,
    ToPlain, ToStoreCheck,
};
pub use trace::{miss_span, traced};

/// Awaits the body of a memoized `async fn`, an async block whose output is
/// `V` (said here, so that `?` in the block knows what it returns), with the
/// claim it computes known to the lookups polled inside it: one that would
/// wait for that very claim is infinite recursion, and panics instead of
/// hanging.
#[cfg(feature = "async")]
pub async fn computing<V, F: Future<Output = V>>(mark: Option<crate::flight::Mark>, body: F) -> V {
    let mut body = core::pin::pin!(body);
    let Some(mark) = mark else { return body.await };
    core::future::poll_fn(|cx| crate::flight::computing::during(mark, || body.as_mut().poll(cx))).await
}

/// `#[memoize]` on an `async fn`: with the `async` feature, the memoized
/// function (the first group); without, the function as written and an error,
/// made by the macro to point at `async` (the second and third).
#[cfg(feature = "async")]
#[doc(hidden)]
#[macro_export]
macro_rules! __memo_async_fn {
    ({ $($memoized:tt)* } { $($original:tt)* } { $($error:tt)* }) => { $($memoized)* };
}

/// `#[memoize]` on an `async fn`: with the `async` feature, the memoized
/// function (the first group); without, the function as written and an error,
/// made by the macro to point at `async` (the second and third).
#[cfg(not(feature = "async"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __memo_async_fn {
    ({ $($memoized:tt)* } { $($original:tt)* } { $($error:tt)* }) => { $($error)* $($original)* };
}

pub use crate::__memo_async_fn as async_fn;

/// `ttl` checked when it is first used: a zero `ttl` would expire every entry
/// at once.
///
/// # Panics
///
/// If `ttl` is zero.
#[must_use]
pub fn checked_ttl(ttl: Duration) -> Duration {
    assert!(
        !ttl.is_zero(),
        "memo: `ttl` is zero, so every entry would expire as soon as it is stored: give a positive duration, or leave `ttl` out"
    );
    ttl
}

/// Results that are failures: an `Err`, or a `None`. Which of them are cached
/// is the memoized function's policy (`cache_err`, `cache_none`).
pub trait Outcome {
    /// Whether this is the failing kind of result.
    fn is_failure(&self) -> bool;
}

impl<T, E> Outcome for Result<T, E> {
    fn is_failure(&self) -> bool {
        self.is_err()
    }
}

impl<T> Outcome for Option<T> {
    fn is_failure(&self) -> bool {
        self.is_none()
    }
}

/// Why `maxsize` must not be zero; the macro's `const` check panics with it.
pub const MAXSIZE_ZERO: &str = "`maxsize` must be at least 1: a cache that keeps no entry caches nothing (leave `maxsize` out for an unbounded cache)";

pub use crate::call::instances::instance_of;

// The traits below turn "this argument cannot be a key" into an error on the
// argument itself, in words, rather than on the macro's internals: the macro
// calls the check functions first with each argument's type, spanned at the
// argument. The internals are reached through `select::Probe`, which leads to
// them only when every check below passes, so a fault is reported once, here.
//
// Each check is what `select::ToCache` asks of the key's view and the value,
// but for `'static` (see below): a type that passes every check is cached,
// never silently computed. (Lifetimes do not take part in choosing an impl,
// so a missing `'static` never leads to `Plain`: it is an error.)

macro_rules! checks {
    ($($(#[$attr:meta])* $name:ident: $($bound:ident)::+ $(, ?$sized:ident)?;)*) => {$(
        $(#[$attr])*
        pub trait $name {}
        impl<T: $(?$sized +)? $($bound)::+> $name for T {}
    )*};
}

checks! {
    /// An argument type that can be hashed into a key.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be part of a cache key: it is not `Hash`",
        label = "this argument is part of the cache key, so its type must implement `Hash`",
        note = "derive or implement `Hash`, or leave the argument out of the key with `#[memoize(ignore = [name])]`"
    )]
    KeyHash: core::hash::Hash, ?Sized;

    /// An argument type that keys can be compared by.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be part of a cache key: it is not `Eq`",
        label = "this argument is part of the cache key, so its type must implement `Eq`",
        note = "derive or implement `PartialEq` and `Eq`, or leave the argument out of the key with `#[memoize(ignore = [name])]`"
    )]
    KeyEq: Eq, ?Sized;

    /// An argument taken by value, cloned into the key on a miss.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be part of a cache key: it is not `Clone`",
        label = "this argument is part of the cache key, which keeps a clone of it, so its type must implement `Clone`",
        note = "derive or implement `Clone`, or leave the argument out of the key with `#[memoize(ignore = [name])]`"
    )]
    KeyClone: Clone;

    /// Key and value types live in a cache shared by every thread.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be cached: it is not `Send`, and the cache is shared by every thread",
        label = "the cache keeps this, and every thread may read it",
        note = "use a `Send` type (`Arc` instead of `Rc`, `Mutex` instead of `RefCell`)"
    )]
    Shareable: Send, ?Sized;

    /// Key and value types that threads read at once, without a lock.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be cached: it is not `Sync`, and every thread may read the cached copy at once",
        label = "the cache keeps this, and threads read it without a lock",
        note = "use a `Sync` type (a `Mutex` or an atomic instead of `Cell` or `RefCell`), or give each thread its own cache with `#[memoize(scope = thread)]`"
    )]
    Readable: Sync, ?Sized;

    /// The value of `key = expr`, hashed into the key.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be a cache key: it is not `Hash`",
        label = "the value of `key = ...` is the cache key, so its type must implement `Hash`",
        note = "derive or implement `Hash`, or give `key = ...` a value of another type"
    )]
    KeyExprHash: core::hash::Hash;

    /// The value of `key = expr`, compared with the stored keys.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be a cache key: it is not `Eq`",
        label = "the value of `key = ...` is the cache key, so its type must implement `Eq`",
        note = "derive or implement `PartialEq` and `Eq`, or give `key = ...` a value of another type"
    )]
    KeyExprEq: Eq;

    /// The value of `key = expr`, kept in the cache.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be a cache key: it is not `Clone`",
        label = "the value of `key = ...` is the cache key, which the cache keeps a clone of, so its type must implement `Clone`",
        note = "derive or implement `Clone`, or give `key = ...` a value of another type"
    )]
    KeyExprClone: Clone;

    /// A returned value, cloned out of the cache on every hit.
    #[diagnostic::on_unimplemented(
        message = "the return type `{Self}` cannot be cached: it is not `Clone`",
        label = "a hit returns a clone of the cached value, so this type must implement `Clone`",
        note = "derive or implement `Clone`, or return an `Arc<{Self}>`"
    )]
    ValueClone: Clone;
}

/// An argument taken by reference, whose owned form goes into a key that
/// every thread reads.
#[diagnostic::on_unimplemented(
    message = "`&{Self}` cannot be part of a cache key: `{Self}` has no owned form (`ToOwned`) that can be",
    label = "this argument is part of the cache key, which keeps an owned copy of it: `Hash + Eq + Clone + Send + Sync`",
    note = "derive or implement `Clone` (which gives `ToOwned`), or leave the argument out of the key with `#[memoize(ignore = [name])]`"
)]
pub trait KeyToOwned {}
impl<T> KeyToOwned for T
where
    T: ?Sized + ToOwned,
    T::Owned: core::hash::Hash + Eq + Clone + Send + Sync,
{
}

/// An argument taken by reference, whose owned form goes into the key of a
/// thread's own cache.
#[diagnostic::on_unimplemented(
    message = "`&{Self}` cannot be part of a cache key: `{Self}` has no owned form (`ToOwned`) that can be",
    label = "this argument is part of the cache key, which keeps an owned copy of it: `Hash + Eq + Clone`",
    note = "derive or implement `Clone` (which gives `ToOwned`), or leave the argument out of the key with `#[memoize(ignore = [name])]`"
)]
pub trait LocalKeyToOwned {}
impl<T> LocalKeyToOwned for T
where
    T: ?Sized + ToOwned,
    T::Owned: core::hash::Hash + Eq + Clone,
{
}

// `'static`, which the cache needs of keys and values, is not checked here:
// rustc checks lifetimes apart from traits, and would report a missing
// `'static` twice, here and in the internals. The internals' error says it.

/// Checks an argument taken by value.
pub const fn by_value_arg<T: KeyHash + KeyEq + KeyClone + Shareable + Readable>() {}

/// Checks an argument taken by reference.
pub const fn by_ref_arg<T: ?Sized + KeyHash + KeyEq + KeyToOwned + Shareable + Readable>() {}

/// Checks the value of `key = expr`, and is that value.
#[inline(always)]
pub const fn key<T: KeyExprHash + KeyExprEq + KeyExprClone + Shareable + Readable>(key: T) -> T {
    key
}

/// Checks the return type.
pub const fn value<T: ValueClone + Shareable + Readable>() {}

/// Checks an argument taken by value, for a thread's own cache.
pub const fn local_by_value_arg<T: KeyHash + KeyEq + KeyClone>() {}

/// Checks an argument taken by reference, for a thread's own cache.
pub const fn local_by_ref_arg<T: ?Sized + KeyHash + KeyEq + LocalKeyToOwned>() {}

/// Checks the value of `key = expr`, for a thread's own cache, and is that
/// value.
#[inline(always)]
pub const fn local_key<T: KeyExprHash + KeyExprEq + KeyExprClone>(key: T) -> T {
    key
}

/// Checks the return type, for a thread's own cache.
pub const fn local_value<T: ValueClone>() {}
