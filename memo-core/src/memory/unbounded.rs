//! [`Unbounded`]: a store that keeps every entry, the default of `#[memoize]`.

use core::fmt;
use core::hash::{BuildHasher, Hash};
use core::sync::atomic::AtomicU64;
use core::sync::atomic::Ordering::Acquire;

use foldhash::fast::RandomState;
use hashbrown::HashTable;
use hashbrown::hash_table::Entry;

use crate::flight::{self, Claim, Claims, Ticket, Want};
use crate::memory::books::Books;
use crate::parts::{DEFAULT_SHARDS, Shards};
use crate::store::expiry::Found;
use crate::store::info::CacheInfo;
use crate::store::key::{KeyView, hash_view};
use crate::store::{Store, StoreError};

/// A store with no size limit: every value stays until it is removed or the
/// cache is cleared. Right for deterministic functions over a bounded set of
/// arguments (`fib(n)` for `n < 100`), where the set of keys, not the cache,
/// limits memory.
///
/// Entries live in hashbrown tables, hashed with a per-store seeded foldhash:
/// one table until threads meet on its lock, then split by hash into 128
/// independently locked parts, so that threads on different keys rarely
/// meet on a lock. No lock is held while a function body runs.
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
    shards: Shards<Entries<K, V>, Books<K, V>>,
}

/// The entries of one part: what lock-free readers read.
type Entries<K, V> = HashTable<(K, V)>;

/// Stores `value` for `key` in `table`; returns the value it replaces.
fn put<K: Hash + Eq, V>(
    table: &mut HashTable<(K, V)>,
    state: &RandomState,
    hash: u64,
    key: K,
    value: V,
) -> Option<V> {
    put_from(table, state, hash, &mut Some(key), value)
}

/// [`put`] of the key in `key` (a claim's entry's), taken out of it only
/// once the user's code (`Eq` in the probe, `Hash` in a rehash) has run:
/// if that panics, the entry keeps its key. Returns the value it replaces
/// (and `value` itself if there is no key).
fn put_from<K: Hash + Eq, V>(
    table: &mut HashTable<(K, V)>,
    state: &RandomState,
    hash: u64,
    key: &mut Option<K>,
    value: V,
) -> Option<V> {
    let Some(k) = key.as_ref() else { return Some(value) };
    match table.entry(hash, |(other, _)| other == k, |(k, _)| state.hash_one(k)) {
        Entry::Occupied(mut entry) => {
            key.take();
            Some(core::mem::replace(&mut entry.get_mut().1, value))
        }
        Entry::Vacant(entry) => {
            if let Some(key) = key.take() {
                entry.insert((key, value));
            }
            None
        }
    }
}

/// Parts `1..count` for a growing store, with the entries of `table` that
/// `place` puts there; the counts stay. `None` while keys are in flight
/// (see `Shards`).
#[allow(clippy::type_complexity, reason = "the parts, each its entries and books")]
fn split<K: Hash, V>(
    table: &mut Entries<K, V>,
    books: &mut Books<K, V>,
    count: usize,
    state: &RandomState,
    place: &dyn Fn(u64) -> usize,
) -> Option<Vec<(Entries<K, V>, Books<K, V>)>> {
    let mut parts: Vec<(Entries<K, V>, Books<K, V>)> = books
        .flights
        .parts_after(count)?
        .into_iter()
        .map(|f| (HashTable::new(), Books::with_flights(f)))
        .collect();
    for (key, value) in table.extract_if(|(k, _)| place(state.hash_one(k)) != 0) {
        let hash = state.hash_one(&key);
        if let Some((part, _)) = parts.get_mut(place(hash).wrapping_sub(1)) {
            part.insert_unique(hash, (key, value), |(k, _)| state.hash_one(k));
        }
    }
    Some(parts)
}

impl<K: Hash, V> Unbounded<K, V> {
    /// An empty store: one part, which grows into 128 parts the first
    /// times threads meet on its lock, so that a cache one thread uses
    /// costs one table.
    #[must_use]
    pub fn new() -> Self {
        Unbounded { shards: Shards::growing(DEFAULT_SHARDS, true, (HashTable::new(), Books::new(0)), split) }
    }
}

impl<K: Hash, V> Default for Unbounded<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K, V> fmt::Debug for Unbounded<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut len = 0;
        self.shards.each(|part| len += part.len());
        f.debug_struct("Unbounded").field("len", &len).finish_non_exhaustive()
    }
}

impl<K, V> Unbounded<K, V>
where
    K: Hash + Eq + Clone + Send + Sync,
    V: Clone + Send + Sync,
{
    /// [`Claims::claim`] under the part's lock, after the lock-free read
    /// found nothing: a hit after all, or the miss, which drops a stale
    /// entry, then waits for the thread computing the key or claims it.
    /// Not inlined: a memoized recursion's every level keeps the frame of
    /// what is inlined into it.
    #[inline(never)]
    fn claim_locked<Q>(
        &self,
        hash: u64,
        key: &Q,
        want: Want<'_, V>,
        epoch: &AtomicU64,
        name: &str,
    ) -> Claim<V>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        let Some(mut part) = self.shards.enter_lookup(hash) else { return Claim::Unsupported };
        // Read beside lock-free readers: a claim changes only the books.
        let mut stored = false;
        if let Some((_, value)) = part.find(hash, |(k, _)| key.matches(k)) {
            if want.accepts(value) {
                let value = value.clone();
                part.books().hits += 1;
                return Claim::Hit(value);
            }
            stored = true;
        }
        part.books().misses += 1;
        // An expired entry goes, and so does the entry a refresh()
        // replaces: callers that come meanwhile wait for the new value.
        let mut stale = None;
        if stored {
            if let Ok(entry) = part.find_entry(hash, |(k, _)| key.matches(k)) {
                stale = Some(entry.remove().0);
                part.books().expirations += u64::from(matches!(want, Want::Fresh(_)));
            }
        }
        let nested = part.nested;
        let refresh = matches!(want, Want::Recompute);
        let claim = flight::claim_in(
            &mut part,
            |g| self.shards.wait(g),
            |p| &mut p.books().flights,
            hash,
            key,
            nested,
            refresh,
            epoch.load(Acquire),
            || None,
        );
        drop(part);
        flight::drop_claimed(stale, &claim, |ticket| {
            Claims::settle(self, Some(ticket), None, false, None, &|_| false)
        });
        claim.unwrap_or_else(|flight::Reentry| flight::reentry(name))
    }
}

impl<K, V> Unbounded<K, V>
where
    K: Hash + Eq + Clone + Send + Sync,
    V: Clone + Send + Sync,
{
    /// A hit found without the part's lock (see `readers`), if there is one:
    /// a stored value that `want` accepts.
    #[inline]
    fn read_hit<Q>(&self, hash: u64, key: &Q, want: Want<'_, V>) -> Option<V>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        self.shards.read(hash, |part| {
            let (_, value) = part.find(hash, |(k, _)| key.matches(k))?;
            want.accepts(value).then(|| value.clone())
        })
    }
}

impl<K, V> Store<K, V> for Unbounded<K, V>
where
    K: Hash + Eq + Clone + Send + Sync,
    V: Clone + Send + Sync,
{
    #[inline]
    fn get<Q>(&self, key: &Q) -> Result<Option<V>, StoreError>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        let hash = hash_view(self.shards.hasher(), key);
        if let Some(value) = self.read_hit(hash, key, Want::Any) {
            return Ok(Some(value));
        }
        let Some(mut part) = self.shards.enter_lookup(hash) else { return Ok(None) };
        let found = part.find(hash, |(k, _)| key.matches(k)).map(|(_, v)| v.clone());
        if found.is_some() {
            part.books().hits += 1;
        } else {
            part.books().misses += 1;
        }
        Ok(found)
    }

    /// Under the part's lock, and counted nowhere.
    fn peek<Q>(&self, key: &Q, fresh: &dyn Fn(&V) -> bool) -> Result<Option<V>, StoreError>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        let hash = hash_view(self.shards.hasher(), key);
        let Some(part) = self.shards.enter_for(hash) else { return Ok(None) };
        Ok(part.find(hash, |(k, _)| key.matches(k)).filter(|(_, v)| fresh(v)).map(|(_, v)| v.clone()))
    }

    fn get_fresh<Q>(&self, key: &Q, fresh: &dyn Fn(&V) -> bool) -> Result<Found<V>, StoreError>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        let hash = hash_view(self.shards.hasher(), key);
        let Some(mut guard) = self.shards.enter_lookup(hash) else {
            return Ok(Found::Miss);
        };
        let (found, expired) = match guard.find(hash, |(k, _)| key.matches(k)) {
            Some((_, value)) if fresh(value) => (Found::Hit(value.clone()), None),
            Some(_) => {
                let removed =
                    guard.find_entry(hash, |(k, _)| key.matches(k)).ok().map(|entry| entry.remove().0);
                (Found::Expired, removed)
            }
            None => (Found::Miss, None),
        };
        if matches!(found, Found::Hit(_)) {
            guard.books().hits += 1;
        } else {
            guard.books().misses += 1;
        }
        drop(guard);
        drop(expired);
        Ok(found)
    }

    fn retain(&self, keep: &mut dyn FnMut(&K, &V) -> bool) -> Result<usize, StoreError> {
        let mut removed = Vec::new();
        self.shards.each(|part| removed.extend(part.extract_if(|(k, v)| !keep(k, v))));
        // Dropped after every lock is released.
        Ok(removed.len())
    }

    fn insert(&self, key: K, value: V) -> Result<(), StoreError> {
        let hash = self.shards.hash_one(&key);
        // Inside memo's bookkeeping with the part taken: not kept.
        let Some(mut part) = self.shards.enter_for(hash) else { return Ok(()) };
        let replaced = put(&mut part, self.shards.hasher(), hash, key, value);
        drop(part);
        // A replaced value is dropped after the lock is released, so that its
        // `Drop` may use this cache.
        drop(replaced);
        Ok(())
    }

    fn remove<Q>(&self, key: &Q) -> Result<bool, StoreError>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        let hash = hash_view(self.shards.hasher(), key);
        let Some(mut part) = self.shards.enter_for(hash) else { return Ok(false) };
        let removed = match part.find_entry(hash, |(k, _)| key.matches(k)) {
            Ok(entry) => Some(entry.remove().0),
            Err(_) => None,
        };
        drop(part);
        Ok(removed.is_some())
    }

    fn clear(&self) -> Result<(), StoreError> {
        let mut old = Vec::new();
        self.shards.each(|part| {
            old.push(core::mem::take(&mut **part));
            part.books().clear();
        });
        self.shards.reset_read_hits();
        drop(old);
        Ok(())
    }

    fn len(&self) -> usize {
        let mut len = 0;
        self.shards.each(|part| len += part.len());
        len
    }

    const COUNTS_LOOKUPS: bool = true;

    fn info(&self) -> CacheInfo {
        let mut info = CacheInfo::default();
        self.shards.each(|part| {
            info.currsize += part.len();
            part.books().count_into(&mut info);
        });
        info.hits += self.shards.read_hits();
        info.misses += self.shards.bypassed();
        info
    }
}

impl<K, V> Claims<K, V> for Unbounded<K, V>
where
    K: Hash + Eq + Clone + Send + Sync,
    V: Clone + Send + Sync,
{
    #[inline]
    fn claim<Q>(&self, key: &Q, want: Want<'_, V>, epoch: &AtomicU64, name: &str) -> Claim<V>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        let hash = hash_view(self.shards.hasher(), key);
        if let Some(value) = self.read_hit(hash, key, want) {
            return Claim::Hit(value);
        }
        self.claim_locked(hash, key, want, epoch, name)
    }

    fn settle(
        &self,
        ticket: Option<&Ticket>,
        key: Option<K>,
        store: bool,
        value: Option<&V>,
        current: &dyn Fn(u64) -> bool,
    ) where
        V: Clone,
    {
        let state = self.shards.hasher();
        // The table's clone is made before the lock: the user's `Clone` may
        // call back into this cache, or panic (the caller's `Miss` then
        // gives the claim up).
        let mut stored = value.filter(|_| store).cloned();
        let Some(ticket) = ticket else {
            let Some(key) = key.filter(|_| store) else { return };
            let hash = state.hash_one(&key);
            let Some(mut part) = self.shards.enter_for(hash) else { return };
            let (mut replaced, mut unstored) = (None, None);
            match stored.take() {
                // No claim: the closure knows the miss's epoch.
                Some(value) if current(0) => replaced = put(&mut part, state, hash, key, value),
                value => unstored = Some((key, value)),
            }
            drop(part);
            // The user's types are dropped after the lock is released.
            drop((replaced, unstored));
            return;
        };
        // The claim's part is its key's (a store grows only while no key
        // is in flight in part 0, see `Shards`).
        let mut guard = self.shards.lock(ticket.part());
        let (table, books) = guard.both();
        let (mut replaced, mut unstored) = (None, None);
        let settled = books.flights.settle_keeping(ticket, value, current, |key| match stored.take() {
            Some(value) => replaced = put_from(table, state, ticket.hash, key, value),
            None => unstored = key.take(),
        });
        drop(guard);
        // The user's types are dropped after the lock is released.
        drop((replaced, stored, unstored));
        settled.finish(self.shards.settled(ticket.part()));
    }
}
