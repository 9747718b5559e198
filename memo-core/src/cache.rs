//! [`Cache`]: one store with its statistics, and the call path of a memoized
//! function.

use core::fmt;
use core::hash::Hash;
use core::marker::PhantomData;
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::info::CacheInfo;
use crate::key::{Exact, KeyView};
use crate::store::Store;
use crate::unbounded::Unbounded;

/// A cache from keys `K` to values `V`, kept in a [`Store`] `S`, with hit and
/// miss counts (kept by the store where it [counts them](Store::COUNTS_LOOKUPS)
/// under its own lock, else here). `#[memoize]` makes one per function (per instantiation, for a
/// generic function); it can also be used by hand.
///
/// ```
/// use memo::{Cache, Lru};
/// use std::num::NonZeroUsize;
///
/// let cache = Cache::new(Lru::new(NonZeroUsize::new(100).unwrap()));
/// let len = cache.get_or_insert_with(&"hello".to_string(), || 5);
/// assert_eq!(len, 5);
/// assert_eq!(cache.info().to_string(), "CacheInfo(hits=0, misses=1, maxsize=100, currsize=1)");
/// ```
pub struct Cache<K, V, S = Unbounded<K, V>> {
    store: S,
    hits: AtomicU64,
    misses: AtomicU64,
    types: PhantomData<fn(K) -> V>,
}

impl<K, V, S> Cache<K, V, S> {
    /// A cache over `store`, with zero counts.
    pub const fn new(store: S) -> Self {
        Cache {
            store,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            types: PhantomData,
        }
    }

    /// The store, for what only it can tell.
    pub fn store(&self) -> &S {
        &self.store
    }
}

impl<K, V, S> Cache<K, V, S>
where
    K: Hash + Eq + Clone,
    V: Clone,
    S: Store<K, V>,
{
    /// Returns the value cached for `key`, or runs `f`, caches its value and
    /// returns it. No lock is held while `f` runs.
    pub fn get_or_insert_with(&self, key: &K, f: impl FnOnce() -> V) -> V {
        match self.lookup(&Exact(key)) {
            Ok(value) => value,
            Err(miss) => miss.complete(f()),
        }
    }

    /// Looks `view` up. A hit counts and returns the value; a miss counts and
    /// returns a [`Miss`] that holds the owned key, to be completed with the
    /// value. The owned key is built here, before the caller's arguments move
    /// into the function body.
    ///
    /// A store that fails to answer is a miss.
    ///
    /// # Errors
    ///
    /// A miss is the `Err`: complete it with the value.
    #[inline]
    pub fn lookup<Q>(&self, view: &Q) -> Result<V, Miss<'_, K, V, S>>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        let counted = match self.store.get(view) {
            Ok(Some(value)) => {
                if !S::COUNTS_LOOKUPS {
                    self.hits.fetch_add(1, Relaxed);
                }
                return Ok(value);
            }
            Ok(None) => S::COUNTS_LOOKUPS,
            // The store could not answer: a miss it did not count.
            Err(_) => false,
        };
        Err(self.miss(view, counted))
    }

    #[cold]
    #[inline(never)]
    fn miss<Q>(&self, view: &Q, counted: bool) -> Miss<'_, K, V, S>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        if !counted {
            self.misses.fetch_add(1, Relaxed);
        }
        Miss {
            cache: self,
            key: view.to_owned_key(),
        }
    }

    /// Removes the entry for `key`; returns whether there was one (`false` also
    /// when the store could not be reached).
    pub fn remove(&self, key: &K) -> bool {
        self.store.remove(&Exact(key)).unwrap_or(false)
    }
}

impl<K, V, S: Store<K, V>> Cache<K, V, S> {
    /// Hits, misses, maxsize and current size.
    pub fn info(&self) -> CacheInfo {
        let mut info = self.store.info();
        info.hits += self.hits.load(Relaxed);
        info.misses += self.misses.load(Relaxed);
        info
    }

    /// Removes every entry and resets the counts to zero.
    pub fn clear(&self) {
        // A store that cannot clear keeps its entries, which stay correct.
        let _ = self.store.clear();
        self.hits.store(0, Relaxed);
        self.misses.store(0, Relaxed);
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.store.len()
    }

    /// Whether the cache holds no entry.
    pub fn is_empty(&self) -> bool {
        self.store.is_empty()
    }
}

impl<K, V, S: Store<K, V>> fmt::Debug for Cache<K, V, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache")
            .field("info", &self.info())
            .finish_non_exhaustive()
    }
}

/// A lookup that missed: holds the owned key until the caller has computed the
/// value and hands it to [`complete`](Miss::complete).
#[must_use = "a miss does nothing until it is completed with the value"]
pub struct Miss<'c, K, V, S> {
    cache: &'c Cache<K, V, S>,
    key: K,
}

impl<K, V: Clone, S: Store<K, V>> Miss<'_, K, V, S> {
    /// Stores a clone of `value` under the missed key and returns `value`. A
    /// store that fails to keep it changes nothing for the caller.
    #[inline]
    pub fn complete(self, value: V) -> V {
        let _ = self.cache.store.insert(self.key, value.clone());
        value
    }
}
