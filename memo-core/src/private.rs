//! What `#[memoize]` expands to calls; not for users, not covered by semver.

use core::any::TypeId;

use crate::key::KeyView;
pub use crate::key::{ByRef, ByVal, View};
use crate::store::Store;
use crate::{Cache, CacheHandle, Miss};

/// Looks the call's view up in the function's cache (made by `make` on the
/// first call of each instantiation).
#[inline]
pub fn lookup<Q, V, S>(
    handle: &'static CacheHandle,
    args: Option<TypeId>,
    make: impl FnOnce() -> S,
    view: &Q,
) -> Result<V, Miss<'static, Q::Owned, V, S>>
where
    Q: KeyView,
    Q::Owned: Clone + Send + 'static,
    V: Clone + Send + 'static,
    S: Store<Q::Owned, V> + 'static,
{
    let cache: &'static Cache<Q::Owned, V, S> = handle.instance(args, make);
    cache.lookup(view)
}

/// Why `maxsize` must not be zero; the macro's `const` check panics with it.
pub const MAXSIZE_ZERO: &str = "`maxsize` must be at least 1: a cache that keeps no entry caches nothing (leave `maxsize` out for an unbounded cache)";

/// The identity of the argument types of a `typed` generic function.
/// Lifetimes do not count, so it needs no `'static` bound.
#[must_use]
pub fn type_id<T: ?Sized>() -> TypeId {
    typeid::of::<T>()
}
