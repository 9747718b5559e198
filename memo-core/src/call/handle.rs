//! [`CacheHandle`]: what `fib_cache()` returns; the caches of one memoized
//! function.

use core::any::{Any, TypeId};
use core::cell::Cell;
use core::fmt;
use core::hash::Hash;
use core::num::NonZeroUsize;
use core::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use parking_lot::RwLock;

use crate::call::cache::Cache;
use crate::call::instances::{Instances, slot_id};
use crate::store::Store;
use crate::store::info::CacheInfo;

/// The cache of one memoized function, as its handle returns it:
/// `fib_cache()` for `fn fib`. Like Python's `fib.cache_info()` and
/// `fib.cache_clear()`, it reports and manages what the cache holds.
///
/// ```
/// use memo::memoize;
///
/// #[memoize]
/// fn fib(n: u64) -> u64 {
///     if n < 2 { n } else { fib(n - 1) + fib(n - 2) }
/// }
///
/// assert_eq!(fib(30), 832_040);
/// let info = fib_cache().info();
/// assert_eq!((info.misses, info.hits, info.currsize), (31, 28, 31));
///
/// assert!(fib_cache().remove(&30_u64));
/// assert_eq!(fib_cache().len(), 30);
///
/// fib_cache().clear();
/// assert_eq!(fib_cache().info().to_string(), "CacheInfo(hits=0, misses=0, maxsize=None, currsize=0)");
/// ```
///
/// # Generic functions
///
/// A generic function has one cache per instantiation (its type and const
/// parameters, those of its `impl`, `Self` in a trait's provided method),
/// each of up to `maxsize` entries, whether or not the parameters appear in
/// its signature. Its handle covers all of them: [`info`](Self::info) adds up
/// their counts, [`clear`](Self::clear) and [`len`](Self::len) act on all, and
/// [`remove`](Self::remove) removes the key from every cache whose key type
/// is the type of the key given.
pub struct CacheHandle {
    name: &'static str,
    /// The module path of the function.
    module: &'static str,
    maxsize: Option<NonZeroUsize>,
    /// The first cache made: the only one of a function that is not generic,
    /// reached with one load and one comparison.
    first: OnceLock<Slot>,
    /// The caches of instantiations after the first, by the `TypeId` that
    /// names the instantiation: read without a lock; made with the second.
    others: OnceLock<Box<Instances<Slot>>>,
    /// Every cache made, the first included, for what acts on all of them.
    all: RwLock<Vec<Slot>>,
    /// Calls of `refresh` under way, on any thread: while there are none, a
    /// lookup reads only this.
    refreshing: AtomicUsize,
    /// The counts that `clear()`s reset, added up (hits, misses,
    /// expirations, evictions, store errors): with `info()`, the counts since
    /// the program began, for metrics. Made by the first `clear()`, so that
    /// a handle never cleared does not carry them.
    #[cfg(feature = "metrics")]
    cleared: OnceLock<Box<[core::sync::atomic::AtomicU64; 5]>>,
}

thread_local! {
    /// The handle whose next lookup on this thread is to compute afresh.
    static REFRESH: Cell<usize> = const { Cell::new(0) };
}

#[derive(Clone, Copy)]
struct Slot {
    /// [`slot_id`] of the instantiation and of the type of `any`: one
    /// comparison finds both.
    id: TypeId,
    any: &'static (dyn Any + Send + Sync),
    cache: &'static dyn ErasedCache,
}

impl Slot {
    /// The cache, if this slot is the one of instantiation `F` and its type
    /// is `T`: what `<dyn Any>::downcast_ref` does, without its virtual call
    /// for the type (a tenth of a hit's time), and with the instantiation in
    /// the same comparison.
    #[inline]
    #[allow(unsafe_code, reason = "a downcast by the TypeId stored with the reference")]
    fn cast<F: ?Sized, T: Any>(&self) -> Option<&'static T> {
        if self.id != slot_id::<F, T>() {
            return None;
        }
        debug_assert!(self.any.is::<T>());
        // SAFETY: `any` was made from a `&'static U` with `id` set to
        // `slot_id::<G, U>()` (see `instance_slow`, the only place that makes
        // a `Slot`), and `id == slot_id::<F, T>()`: the pair types are one
        // type, so `U` is `T`, and the pointer is a valid `&'static T`, as in
        // `<dyn Any>::downcast_ref`.
        Some(unsafe { &*core::ptr::from_ref(self.any).cast::<T>() })
    }
}

/// What a handle needs of a cache whose types it does not know.
trait ErasedCache: Send + Sync {
    fn info(&self) -> CacheInfo;
    fn clear(&self);
    fn len(&self) -> usize;
    fn remove_any(&self, key: &dyn Any) -> bool;
    fn look_any(&self, key: &dyn Any, out: Option<&mut dyn Any>) -> Option<Option<Instant>>;
}

impl<K, V, S> ErasedCache for Cache<K, V, S>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    S: Store<K, V> + 'static,
{
    fn info(&self) -> CacheInfo {
        Cache::info(self)
    }

    fn clear(&self) {
        Cache::clear(self);
    }

    fn len(&self) -> usize {
        Cache::len(self)
    }

    fn remove_any(&self, key: &dyn Any) -> bool {
        key.downcast_ref::<K>().is_some_and(|key| self.remove(key))
    }

    fn look_any(&self, key: &dyn Any, out: Option<&mut dyn Any>) -> Option<Option<Instant>> {
        Cache::look_any(self, key, out)
    }
}

impl CacheHandle {
    /// A handle with no cache yet. `maxsize` is reported by
    /// [`info`](Self::info) until the first call.
    pub(crate) const fn new(module: &'static str, name: &'static str, maxsize: Option<NonZeroUsize>) -> Self {
        CacheHandle {
            name,
            module,
            maxsize,
            first: OnceLock::new(),
            others: OnceLock::new(),
            all: RwLock::new(Vec::new()),
            refreshing: AtomicUsize::new(0),
            #[cfg(feature = "metrics")]
            cleared: OnceLock::new(),
        }
    }

    /// The name of the function.
    #[must_use]
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Hits, misses, maxsize and current size. For a generic function, the
    /// counts of all its caches added up.
    pub fn info(&self) -> CacheInfo {
        let all = self.caches();
        let mut info = CacheInfo { maxsize: self.maxsize.map(NonZeroUsize::get), ..CacheInfo::default() };
        for (i, slot) in all.iter().enumerate() {
            let one = slot.cache.info();
            if i == 0 {
                // Made by the store: what it really keeps.
                info.maxsize = one.maxsize;
            }
            info.absorb(one);
        }
        info
    }

    /// Removes every entry and resets the counts to zero.
    pub fn clear(&self) {
        for slot in self.caches() {
            // The counts it resets are kept for `totals` (but those of calls
            // between this look and the clear).
            #[cfg(feature = "metrics")]
            let reset = slot.cache.info();
            slot.cache.clear();
            #[cfg(feature = "metrics")]
            {
                let cleared = self
                    .cleared
                    .get_or_init(|| Box::new([const { core::sync::atomic::AtomicU64::new(0) }; 5]));
                for (kept, count) in cleared.iter().zip(Self::counts(&reset)) {
                    kept.fetch_add(count, Ordering::Relaxed);
                }
            }
        }
    }

    /// The counts of `info` that `clear()` resets, in the order of `cleared`.
    #[cfg(feature = "metrics")]
    fn counts(info: &CacheInfo) -> [u64; 5] {
        [info.hits, info.misses, info.expirations, info.evictions, info.store_errors]
    }

    /// The counts since the program began: `info()`'s, and those that
    /// `clear()`s reset.
    #[cfg(feature = "metrics")]
    pub(crate) fn totals(&self) -> CacheInfo {
        let mut totals = self.info();
        let [hits, misses, expirations, evictions, store_errors] = self
            .cleared
            .get()
            .map_or([0; 5], |cleared| cleared.each_ref().map(|kept| kept.load(Ordering::Relaxed)));
        totals.hits += hits;
        totals.misses += misses;
        totals.expirations += expirations;
        totals.evictions += evictions;
        totals.store_errors += store_errors;
        totals
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.caches().iter().map(|slot| slot.cache.len()).sum()
    }

    /// The caches made so far, copied out of the lock: what a handle does
    /// with them runs the user's code (a value's `Drop` in `clear`, a key's
    /// `Eq`), which may call the function with a type it was never called
    /// with, and so make a cache, which takes this lock to write.
    fn caches(&self) -> Vec<Slot> {
        self.all.read().clone()
    }

    /// Whether the cache holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes the entry of one set of arguments; returns whether there was
    /// one. `key` is the key the cache stores: for one argument its owned form
    /// (`&90_u64` for `fib(90)`, `&"page".to_string()` for an `&str`), for
    /// several the tuple of them, for `key = expr` the value of `expr`.
    ///
    /// A key of another type than the cache's matches nothing, so mind the
    /// type of literals: `remove(&90)` looks for an `i32`.
    pub fn remove<K: Any>(&self, key: &K) -> bool {
        let mut removed = false;
        for slot in self.caches() {
            removed |= slot.cache.remove_any(key);
        }
        removed
    }

    /// Whether the cache holds a value for `key` (a key as for
    /// [`remove`](Self::remove)) that has not expired. Only a look: no hit
    /// or miss is counted, and the entry keeps its place in an LRU's order.
    ///
    /// ```
    /// #[memo::memoize(maxsize = 2)]
    /// fn double(x: u32) -> u32 {
    ///     x * 2
    /// }
    ///
    /// double(1);
    /// assert!(double_cache().contains(&1_u32));
    /// assert!(!double_cache().contains(&2_u32));
    /// assert_eq!(double_cache().peek(&1_u32), Some(2_u32));
    /// assert_eq!(double_cache().peek::<_, u32>(&2_u32), None);
    /// let info = double_cache().info();
    /// assert_eq!((info.hits, info.misses), (0, 1)); // looks are not lookups
    /// ```
    pub fn contains<K: Any>(&self, key: &K) -> bool {
        self.look(key).is_some()
    }

    /// A clone of the value cached for `key` (a key as for
    /// [`remove`](Self::remove)), if it has one that has not expired,
    /// without computing anything: no hit or miss is counted, and the entry
    /// keeps its place in an LRU's order. `V` is the type the function
    /// returns; of another type, nothing is found. On a shared server, a
    /// look is a request, and a failed one is a counted store error.
    pub fn peek<K: Any, V: Any>(&self, key: &K) -> Option<V> {
        // Of a generic function, the cache of the instantiation that
        // returns `V`.
        self.caches().iter().find_map(|slot| {
            let mut value = None::<V>;
            slot.cache.look_any(key, Some(&mut value));
            value
        })
    }

    /// How long the entry of `key` (a key as for [`remove`](Self::remove))
    /// has left before it expires: `None` if there is no entry, or it never
    /// expires (tell the two apart with [`contains`](Self::contains)). For
    /// a store on a server, the lifetime that this process gave the entry,
    /// which the server keeps too.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// #[memo::memoize(ttl = Duration::from_secs(60))]
    /// fn rate(currency: &str) -> f64 {
    ///     if currency == "EUR" { 1.08 } else { 1.0 }
    /// }
    ///
    /// rate("EUR");
    /// let left = rate_cache().expires_in(&"EUR".to_string()).unwrap();
    /// assert!(left <= Duration::from_secs(60) && left > Duration::from_secs(50));
    /// assert_eq!(rate_cache().expires_in(&"USD".to_string()), None);
    /// ```
    pub fn expires_in<K: Any>(&self, key: &K) -> Option<Duration> {
        let deadline = self.look(key)??;
        Some(deadline.saturating_duration_since(crate::clock::now()))
    }

    /// The deadline of the first entry of `key` that has not expired (see
    /// [`Cache::look_any`]).
    fn look(&self, key: &dyn Any) -> Option<Option<Instant>> {
        self.caches().iter().find_map(|slot| slot.cache.look_any(key, None))
    }

    /// Runs `call`, in which the first call of this handle's function computes
    /// its value again and replaces the cached one, whether it was cached or
    /// not; calls it makes in turn (recursion) use the cache as usual. Returns
    /// what `call` returns.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU32, Ordering};
    ///
    /// static RUNS: AtomicU32 = AtomicU32::new(0);
    ///
    /// #[memo::memoize]
    /// fn price(item: u32) -> u32 {
    ///     RUNS.fetch_add(1, Ordering::SeqCst) + item
    /// }
    ///
    /// assert_eq!(price(100), 100);
    /// assert_eq!(price(100), 100); // cached
    /// assert_eq!(price_cache().refresh(|| price(100)), 101); // computed again
    /// assert_eq!(price(100), 101); // and the new value is cached
    /// ```
    pub fn refresh<R>(&self, call: impl FnOnce() -> R) -> R {
        /// Puts the thread's previous request back, even if `call` panics.
        struct Restore<'a>(usize, &'a AtomicUsize);
        impl Drop for Restore<'_> {
            fn drop(&mut self) {
                let _ = REFRESH.try_with(|target| target.set(self.0));
                self.1.fetch_sub(1, Ordering::Release);
            }
        }
        // The handle's address names it: handles live for the whole program,
        // so no other handle ever has this address.
        let me = core::ptr::from_ref(self).addr();
        let previous = REFRESH.with(|target| target.replace(me));
        self.refreshing.fetch_add(1, Ordering::Acquire);
        let _restore = Restore(previous, &self.refreshing);
        call()
    }

    /// Whether this thread asked for its next lookup through this handle to
    /// compute afresh; asking again returns `false` until the next `refresh`.
    #[doc(hidden)]
    #[inline]
    pub fn refresh_requested(&self) -> bool {
        if self.refreshing.load(Ordering::Relaxed) == 0 {
            return false;
        }
        let me = core::ptr::from_ref(self).addr();
        REFRESH.try_with(|target| target.get() == me && target.replace(0) == me).unwrap_or(false)
    }

    /// The cache of one instantiation, named by the type of `marker` (see
    /// [`instance_of`](crate::__private::instance_of)), made by `make` the
    /// first time.
    #[doc(hidden)]
    #[inline]
    pub fn instance<F: ?Sized, K, V, S>(
        &'static self,
        marker: &F,
        make: impl FnOnce() -> Cache<K, V, S>,
    ) -> &'static Cache<K, V, S>
    where
        K: Hash + Eq + Clone + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
        S: Store<K, V> + 'static,
    {
        if let Some(slot) = self.first.get() {
            if let Some(cache) = slot.cast::<F, Cache<K, V, S>>() {
                return cache;
            }
            let id = slot_id::<F, Cache<K, V, S>>();
            if let Some(cache) = self.others.get().and_then(|others| others.get(id)?.cast::<F, _>()) {
                return cache;
            }
        }
        self.instance_slow(crate::call::instances::instance_of(marker), slot_id::<F, Cache<K, V, S>>(), make)
    }

    #[cold]
    #[inline(never)]
    fn instance_slow<K, V, S>(
        &'static self,
        instance: TypeId,
        id: TypeId,
        make: impl FnOnce() -> Cache<K, V, S>,
    ) -> &'static Cache<K, V, S>
    where
        K: Hash + Eq + Clone + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
        S: Store<K, V> + 'static,
    {
        let find = |slots: &[Slot]| {
            let slot = slots.iter().find(|slot| slot.id == id)?;
            // The id is of the pair (instantiation, cache type).
            slot.any.downcast_ref::<Cache<K, V, S>>()
        };
        if let Some(cache) = find(&self.all.read()) {
            return cache;
        }
        // The store is made outside the lock: `make` is the user's code.
        let mut fresh = Box::new(make());
        fresh.name = self.name;
        fresh.bind(self.module, self.name, instance);
        let mut all = self.all.write();
        if let Some(cache) = find(&all) {
            return cache;
        }
        let cache: &'static Cache<K, V, S> = Box::leak(fresh);
        let slot = Slot { id, any: cache, cache };
        if all.is_empty() {
            let _ = self.first.set(slot);
        } else {
            self.others.get_or_init(|| Box::new(Instances::new())).get_or_insert(id, slot);
        }
        // Most functions have one instantiation: room for one (48 bytes,
        // not the 192 of a first push).
        if all.is_empty() {
            all.reserve_exact(1);
        }
        all.push(slot);
        cache
    }
}

impl fmt::Debug for CacheHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CacheHandle")
            .field("function", &self.name)
            .field("info", &self.info())
            .finish_non_exhaustive()
    }
}
