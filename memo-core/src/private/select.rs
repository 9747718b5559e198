//! One mistake, one error: the expansion reaches the cache only through a
//! [`Probe`] of the key's view and the value type, and the probe leads to the
//! cache only when those types can be cached.
//!
//! `(&Probe::of(&view)).select()` is autoref specialization: the method is
//! looked up first on `Probe` (by the receiver `&Probe`), where [`ToCache`]
//! applies only to types that can be cached, and then on `&Probe`, where
//! [`ToPlain`] applies to all. So a function whose argument lacks `Hash`
//! gets [`Plain`], whose lookups always miss and need no trait at all: the
//! only error left is the check that says, at the argument, what is missing
//! (`by_value_arg` and its siblings in `__private`).
//!
//! A store of other key or value types than the function's (`store =
//! ...`) leads to `Plain` as well, and is reported once, by
//! [`StoreOf::check`], which the probe gives only where key and value pass.
//!
//! Could `Plain` be chosen where the checks pass, and a function silently
//! not cache? The bounds of [`ToCache`] are what the checks check (the
//! argument and value checks in `__private`, and `StoreOf::check`): a type
//! that passes the checks passes them. And `Plain`'s lookups leave the key
//! and store types to inference, which rustc reports as "type annotations
//! needed" (an error, not silence) unless an error was reported already.

use core::marker::PhantomData;

use crate::per_thread::{LocalMiss, LocalProbe, LocalSite};
use crate::store::Store;
use crate::store::key::KeyView;
use crate::{Cache, CacheHandle, Expiring, Miss};

/// A cache shared by every thread (`Send + Sync` keys and values).
pub struct Shared;
/// A cache per thread (`scope = thread`).
pub struct Local;

/// The key's view `Q`, the value type `V` and the maker `M` of the cache (of
/// its store) of one memoized function, for [`ToCache`] or [`ToPlain`] to
/// choose its lookups. A thread's cache has no maker: `M` is `()`.
pub struct Probe<Q, V, Scope, M>(PhantomData<fn(Q, Scope, M) -> V>);

impl<Q, V, Scope, M> Probe<Q, V, Scope, M> {
    /// The probe of the view `view` and the maker `make`.
    #[must_use]
    #[inline(always)]
    pub fn of(view: &Q, make: &M) -> Self {
        let _ = (view, make);
        Probe(PhantomData)
    }
}

/// The lookups of a function whose key and value can be cached.
pub struct Cached<Q, V>(PhantomData<fn(Q) -> V>);

impl<Q, V> Clone for Cached<Q, V> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<Q, V> Copy for Cached<Q, V> {}

/// The lookups of a function whose key or value cannot be cached, which
/// the checks have reported already: every call computes.
pub struct Plain<Q, V>(PhantomData<fn(Q) -> V>);

impl<Q, V> Clone for Plain<Q, V> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<Q, V> Copy for Plain<Q, V> {}

/// `Probe::select` for types that can be cached.
pub trait ToCache {
    /// [`Cached`].
    type Lookups;
    /// The lookups of the cache.
    fn select(&self) -> Self::Lookups;
}

/// `Probe::select` for every other type.
pub trait ToPlain {
    /// [`Plain`].
    type Lookups;
    /// Lookups that always miss.
    fn select(&self) -> Self::Lookups;
}

impl<Q, V, M, E, S> ToCache for Probe<Q, V, Shared, M>
where
    Q: KeyView,
    Q::Owned: Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    M: FnOnce() -> Cache<Q::Owned, E, S>,
    S: Store<Q::Owned, E>,
{
    type Lookups = Cached<Q, V>;
    #[inline(always)]
    fn select(&self) -> Cached<Q, V> {
        Cached(PhantomData)
    }
}

impl<Q, V> ToCache for Probe<Q, V, Local, ()>
where
    Q: KeyView,
    Q::Owned: Clone + 'static,
    V: Clone + 'static,
{
    type Lookups = Cached<Q, V>;
    #[inline(always)]
    fn select(&self) -> Cached<Q, V> {
        Cached(PhantomData)
    }
}

impl<Q, V, Scope, M> ToPlain for &Probe<Q, V, Scope, M> {
    type Lookups = Plain<Q, V>;
    #[inline(always)]
    fn select(&self) -> Plain<Q, V> {
        Plain(PhantomData)
    }
}

impl<Q, V> Cached<Q, V>
where
    Q: KeyView,
    Q::Owned: Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// Looks the call's view up in the function's cache (made by `make` on
    /// the first call of each instantiation). A thread that waited for
    /// another's computation of the key gets its value here, as `Ok`.
    ///
    /// Out of line: what is inlined into the memoized function stays in its
    /// frame, which every level of a recursion keeps (at 99c01c7, 96 bytes
    /// a level with this out of line against 192 inlined; a hit costs a
    /// call more). The view comes by value, in registers where it is small
    /// (one argument's), not in the frame.
    #[inline(never)]
    pub fn lookup<F: ?Sized, S: Store<Q::Owned, V> + 'static>(
        self,
        handle: &'static CacheHandle,
        marker: &F,
        make: impl FnOnce() -> Cache<Q::Owned, V, S>,
        view: Q,
    ) -> Result<V, Miss<'static, Q::Owned, V, S>> {
        let cache: &'static Cache<Q::Owned, V, S> = handle.instance(marker, make);
        if handle.refresh_requested() {
            return cache.lookup_refresh(&view);
        }
        cache.lookup(&view)
    }

    /// [`lookup`](Self::lookup) for a function with `ttl` or `expires`: its
    /// cache stores [`Expiring`] values, and never returns one past its
    /// deadline. Out of line, as [`lookup`](Self::lookup) is.
    #[inline(never)]
    pub fn lookup_expiring<F: ?Sized, S: Store<Q::Owned, Expiring<V>> + 'static>(
        self,
        handle: &'static CacheHandle,
        marker: &F,
        make: impl FnOnce() -> Cache<Q::Owned, Expiring<V>, S>,
        view: Q,
    ) -> Result<V, Miss<'static, Q::Owned, Expiring<V>, S>> {
        let cache: &'static Cache<Q::Owned, Expiring<V>, S> = handle.instance(marker, make);
        if handle.refresh_requested() {
            return cache.lookup_refresh(&view).map(|entry| entry.value);
        }
        cache.lookup_fresh(&view)
    }

    /// [`lookup`](Self::lookup) for an `async fn`: the lookup happens now
    /// (the arguments are borrowed only for this call); a hit is `Ok`, a miss
    /// a future that waits, if another task computes the key, without
    /// blocking the thread.
    #[cfg(feature = "async")]
    #[inline(always)]
    pub fn lookup_async<F: ?Sized, S: Store<Q::Owned, V> + 'static>(
        self,
        handle: &'static CacheHandle,
        marker: &F,
        make: impl FnOnce() -> Cache<Q::Owned, V, S>,
        view: &Q,
    ) -> Result<V, crate::Pending<'static, Q::Owned, V, S>> {
        let cache = handle.instance(marker, make);
        if S::BLOCKING {
            return cache.lookup_offloaded(view, |_| true);
        }
        cache.lookup_async(view)
    }

    /// [`lookup_expiring`](Self::lookup_expiring) for an `async fn`.
    #[cfg(feature = "async")]
    #[inline(always)]
    pub fn lookup_expiring_async<F: ?Sized, S: Store<Q::Owned, Expiring<V>> + 'static>(
        self,
        handle: &'static CacheHandle,
        marker: &F,
        make: impl FnOnce() -> Cache<Q::Owned, Expiring<V>, S>,
        view: &Q,
    ) -> Result<V, crate::PendingFresh<'static, Q::Owned, V, S>> {
        let cache = handle.instance(marker, make);
        if S::BLOCKING {
            let fresh: fn(&Expiring<V>) -> bool = |entry| entry.is_fresh(crate::clock::now());
            return cache
                .lookup_offloaded(view, fresh)
                .map(|entry| entry.value)
                .map_err(crate::PendingFresh::from);
        }
        cache.lookup_fresh_async(view)
    }
}

impl<Q, V> Cached<Q, V>
where
    Q: KeyView,
    Q::Owned: Clone + 'static,
    V: Clone + 'static,
{
    /// This thread's cache of a `scope = thread` function: a hit, or what
    /// [`local_miss`](Self::local_miss) makes the miss of.
    #[inline(always)]
    pub fn local_lookup<F: ?Sized>(
        self,
        site: &'static std::thread::LocalKey<LocalSite>,
        marker: &F,
        view: &Q,
    ) -> Result<V, LocalProbe> {
        let _ = marker;
        crate::per_thread::lookup::<F, _, _>(site, view)
    }

    /// The miss that [`local_lookup`](Self::local_lookup) found, made
    /// where the memoized function keeps it (one copy in the frame, not a
    /// second one moved out of a `Result`); `None` when the thread is
    /// exiting and its caches are gone.
    #[inline(always)]
    pub fn local_miss<F: ?Sized>(
        self,
        site: &'static std::thread::LocalKey<LocalSite>,
        marker: &F,
        probe: LocalProbe,
        view: &Q,
    ) -> Option<LocalMiss<Q::Owned, V>> {
        let _ = marker;
        crate::per_thread::open::<F, _, _>(site, probe, view)
    }
}

/// `Probe::store_check` where the key and value can be cached: the store
/// made by `M` must then be a store of them, which
/// [`StoreOf::check`] checks, at the `store = ...` expression.
pub trait ToStoreCheck {
    /// [`StoreOf`].
    type Check;
    /// What checks the store.
    fn store_check(&self) -> Self::Check;
}

/// `Probe::store_check` where the key or value cannot be cached (and the
/// checks said so): the store is not checked, so as not to report the same
/// fault again.
pub trait ToNoStoreCheck {
    /// [`NoStoreCheck`].
    type Check;
    /// Nothing to check.
    fn store_check(&self) -> Self::Check;
}

/// The check that `S` is a store of keys `K` and entries `E`.
pub struct StoreOf<K, E, S>(PhantomData<fn(K, E) -> S>);

/// No check.
pub struct NoStoreCheck;

impl<Q, V, M, E, S> ToStoreCheck for Probe<Q, V, Shared, M>
where
    Q: KeyView,
    Q::Owned: Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    M: FnOnce() -> Cache<Q::Owned, E, S>,
{
    type Check = StoreOf<Q::Owned, E, S>;
    #[inline(always)]
    fn store_check(&self) -> Self::Check {
        StoreOf(PhantomData)
    }
}

impl<Q, V, Scope, M> ToNoStoreCheck for &Probe<Q, V, Scope, M> {
    type Check = NoStoreCheck;
    #[inline(always)]
    fn store_check(&self) -> NoStoreCheck {
        NoStoreCheck
    }
}

impl<K, E, S> StoreOf<K, E, S> {
    /// Nothing at run time; does not compile unless `S` is a
    /// `Store<K, E>`.
    #[inline(always)]
    pub fn check(self)
    where
        S: Store<K, E>,
    {
    }
}

impl NoStoreCheck {
    /// Nothing.
    #[inline(always)]
    pub fn check(self) {}
}

/// The miss of [`Plain`] lookups: the value is only returned.
pub struct NoMiss;

/// What `Plain`'s async lookups wait for: nothing.
#[cfg(feature = "async")]
pub type NoPending<V> = core::future::Ready<Result<V, NoMiss>>;

impl<Q, V> Plain<Q, V> {
    /// A miss.
    #[inline(always)]
    pub fn lookup<F: ?Sized, K, S>(
        self,
        handle: &'static CacheHandle,
        marker: &F,
        make: impl FnOnce() -> Cache<K, V, S>,
        view: Q,
    ) -> Result<V, NoMiss> {
        let _ = (handle, marker, make, view);
        Err(NoMiss)
    }

    /// A miss.
    #[inline(always)]
    pub fn lookup_expiring<F: ?Sized, K, S>(
        self,
        handle: &'static CacheHandle,
        marker: &F,
        make: impl FnOnce() -> Cache<K, Expiring<V>, S>,
        view: Q,
    ) -> Result<V, NoMiss> {
        let _ = (handle, marker, make, view);
        Err(NoMiss)
    }

    /// A miss.
    #[cfg(feature = "async")]
    #[inline(always)]
    pub fn lookup_async<F: ?Sized, K, S>(
        self,
        handle: &'static CacheHandle,
        marker: &F,
        make: impl FnOnce() -> Cache<K, V, S>,
        view: &Q,
    ) -> Result<V, NoPending<V>> {
        let _ = (handle, marker, make, view);
        Err(core::future::ready(Err(NoMiss)))
    }

    /// A miss.
    #[cfg(feature = "async")]
    #[inline(always)]
    pub fn lookup_expiring_async<F: ?Sized, K, S>(
        self,
        handle: &'static CacheHandle,
        marker: &F,
        make: impl FnOnce() -> Cache<K, Expiring<V>, S>,
        view: &Q,
    ) -> Result<V, NoPending<V>> {
        let _ = (handle, marker, make, view);
        Err(core::future::ready(Err(NoMiss)))
    }

    /// A miss.
    #[inline(always)]
    pub fn local_lookup<F: ?Sized>(
        self,
        site: &'static std::thread::LocalKey<LocalSite>,
        marker: &F,
        view: &Q,
    ) -> Result<V, LocalProbe> {
        let _ = (site, marker, view);
        Err(LocalProbe::NONE)
    }

    /// No miss: nothing is cached.
    #[inline(always)]
    pub fn local_miss<F: ?Sized, K>(
        self,
        site: &'static std::thread::LocalKey<LocalSite>,
        marker: &F,
        probe: LocalProbe,
        view: &Q,
    ) -> Option<NoLocalMiss<K>> {
        let _ = (site, marker, probe, view);
        None
    }
}

/// The local miss of [`Plain`] lookups, never made.
pub struct NoLocalMiss<K>(PhantomData<K>);
