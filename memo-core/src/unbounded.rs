//! [`Unbounded`]: a store that keeps every entry, the default of `#[memoize]`.

use core::fmt;
use core::hash::{BuildHasher, Hash};

use foldhash::fast::RandomState;
use hashbrown::HashTable;
use hashbrown::hash_table::Entry;
use parking_lot::Mutex;

use crate::info::CacheInfo;
use crate::key::{KeyView, hash_view};
use crate::store::{Store, StoreError};

/// A store with no size limit: every value stays until it is removed or the
/// cache is cleared. Right for deterministic functions over a bounded set of
/// arguments (`fib(n)` for `n < 100`), where the set of keys, not the cache,
/// limits memory.
///
/// Entries live in one hash table (hashbrown's, hashed with a per-store seeded
/// foldhash) behind a short lock that is never held while a function body runs.
///
/// ```
/// use memo::{Cache, Unbounded};
///
/// let squares: Cache<u64, u64> = Cache::new(Unbounded::new());
/// assert_eq!(squares.get_or_insert_with(&12, || 144), 144);
/// assert_eq!(squares.get_or_insert_with(&12, || unreachable!()), 144);
/// assert_eq!(squares.info().currsize, 1);
/// ```
pub struct Unbounded<K, V> {
    inner: Mutex<Inner<K, V>>,
    state: RandomState,
}

struct Inner<K, V> {
    table: HashTable<(K, V)>,
    /// Counted under the lock that a lookup takes anyway: exact, and free.
    hits: u64,
    misses: u64,
}

impl<K, V> Unbounded<K, V> {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Unbounded {
            inner: Mutex::new(Inner {
                table: HashTable::new(),
                hits: 0,
                misses: 0,
            }),
            state: RandomState::default(),
        }
    }
}

impl<K, V> Default for Unbounded<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K, V> fmt::Debug for Unbounded<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unbounded")
            .field("len", &self.inner.lock().table.len())
            .finish_non_exhaustive()
    }
}

impl<K, V> Store<K, V> for Unbounded<K, V>
where
    K: Hash + Eq + Send,
    V: Clone + Send,
{
    #[inline]
    fn get<Q>(&self, key: &Q) -> Result<Option<V>, StoreError>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        let hash = hash_view(&self.state, key);
        let mut inner = self.inner.lock();
        let found = inner
            .table
            .find(hash, |(k, _)| key.matches(k))
            .map(|(_, v)| v.clone());
        if found.is_some() {
            inner.hits += 1;
        } else {
            inner.misses += 1;
        }
        Ok(found)
    }

    fn insert(&self, key: K, value: V) -> Result<(), StoreError> {
        let hash = self.state.hash_one(&key);
        let mut inner = self.inner.lock();
        let state = &self.state;
        let replaced = match inner
            .table
            .entry(hash, |(k, _)| *k == key, |(k, _)| state.hash_one(k))
        {
            Entry::Occupied(mut entry) => Some(core::mem::replace(&mut entry.get_mut().1, value)),
            Entry::Vacant(entry) => {
                entry.insert((key, value));
                None
            }
        };
        drop(inner);
        // A replaced value is dropped after the lock is released, so that its
        // `Drop` may use this cache.
        drop(replaced);
        Ok(())
    }

    fn remove<Q>(&self, key: &Q) -> Result<bool, StoreError>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        let hash = hash_view(&self.state, key);
        let mut inner = self.inner.lock();
        let removed = match inner.table.find_entry(hash, |(k, _)| key.matches(k)) {
            Ok(entry) => Some(entry.remove().0),
            Err(_) => None,
        };
        drop(inner);
        Ok(removed.is_some())
    }

    fn clear(&self) -> Result<(), StoreError> {
        let mut inner = self.inner.lock();
        let old = core::mem::take(&mut inner.table);
        inner.hits = 0;
        inner.misses = 0;
        drop(inner);
        drop(old);
        Ok(())
    }

    fn len(&self) -> usize {
        self.inner.lock().table.len()
    }

    const COUNTS_LOOKUPS: bool = true;

    fn info(&self) -> CacheInfo {
        let inner = self.inner.lock();
        CacheInfo {
            hits: inner.hits,
            misses: inner.misses,
            maxsize: None,
            currsize: inner.table.len(),
        }
    }
}
