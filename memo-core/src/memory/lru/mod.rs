//! [`Lru`]: a store that keeps at most `maxsize` entries and evicts the least
//! recently used.
//!
//! A part of the store is a `Vec` of nodes linked by `u32` indices into a list
//! from most to least recently used, beside a hashbrown `HashTable` of indices.
//! Compared with the `lru` crate (one heap node per entry, 68 bytes per
//! `u64 -> u64` entry), this makes no allocation per entry and takes about 36
//! bytes per entry; and the table looks up a borrowed view of the arguments,
//! which `lru`'s `Borrow`-based `get` cannot do for several arguments.
//!
//! A store of fewer than 128 entries is one part: an exact LRU, whose hits
//! move their entry to the front of the list. (Moving entries on every hit
//! writes to lines that other threads read: measured with 128 exact parts, two
//! threads got 1.06 times the hits of one.)
//!
//! A larger store is read without a lock, and is one part until threads
//! contend for its lock; then it splits by hash into parts with a lock
//! each (see [`Shards`]), which only writers take. There a
//! hit only marks its entry as used (and writes nothing at all if it
//! is marked already, so that threads hitting the same entries do not pass
//! cache lines back and forth), and eviction gives marked entries a second
//! chance: the victim is the least recently inserted or rescued entry that has
//! not been used since, which is how CLOCK approximates LRU. `maxsize` holds
//! for the whole store, not per part: a count of all entries decides when to
//! evict, and the victim comes from the part the new entry goes to while that
//! part holds its fair share of `maxsize`, else from a part above its share,
//! so that parts stay balanced.

use core::fmt;
use core::hash::{BuildHasher, Hash};
use core::num::NonZeroUsize;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::parts::WriteGuard;

mod claims;
mod part;

use part::MAX_ENTRIES;
pub(crate) use part::{Node, Part};

use crate::memory::books::Books;

use crate::flight::{self, Claim, Claims, Ticket, Want};
use crate::parts::{EXACT_BELOW, Shards};
use crate::store::expiry::Found;
use crate::store::info::CacheInfo;
use crate::store::key::{KeyView, hash_view};
use crate::store::{Store, StoreError};

/// The most entries an [`Lru`] holds, whatever its `maxsize`: indices are
/// `u32`, and one value marks the end of the list.
pub const LRU_MAX_ENTRIES: usize = MAX_ENTRIES;

/// A store of at most `maxsize` entries: inserting into a full store evicts
/// the least recently used entry. A hit makes its entry the most recently
/// used. This is what `#[memoize(maxsize = N)]` uses, and what Python's
/// `functools.lru_cache(maxsize=N)` does.
///
/// Below 128 entries the store is an exact LRU. From 128 on, hits read it
/// without a lock and mark their entry, and eviction takes an entry not
/// used since the hand last passed it (second chance, as CLOCK does): one
/// part, in which a working set of `maxsize` keys or fewer is never evicted
/// (after one pass that brings it in), until threads contend for its lock.
/// Then it splits into up to 128 parts by hash, so that threads scale;
/// `maxsize` still bounds the whole, the victim is chosen within the new
/// key's part, and a working set of `maxsize` keys is no longer sure to
/// stay: give a contended store room to spare.
///
/// ```
/// use memo::{Cache, Lru};
/// use std::num::NonZeroUsize;
///
/// let cache: Cache<u32, u32, Lru<u32, u32>> = Cache::new(Lru::new(NonZeroUsize::new(2).unwrap()));
/// cache.get_or_insert_with(&1, || 10);
/// cache.get_or_insert_with(&2, || 20);
/// cache.get_or_insert_with(&1, || unreachable!()); // 1 is now the most recent
/// cache.get_or_insert_with(&3, || 30); // evicts 2
/// assert!(!cache.remove(&2));
/// assert!(cache.remove(&1));
/// assert_eq!(cache.info().maxsize, Some(2));
/// ```
pub struct Lru<K, V> {
    shards: Shards<Part<K, V>, Books<K, V>>,
    /// Entries in all parts, plus slots taken by inserts under way: never more
    /// than `maxsize`.
    len: AtomicUsize,
    maxsize: usize,
}

impl<K: Hash + Eq, V> Lru<K, V> {
    /// An empty store that keeps at most `maxsize` entries (and never more
    /// than [`LRU_MAX_ENTRIES`]). Memory grows with the entries stored, not
    /// with `maxsize`.
    #[must_use]
    pub fn new(maxsize: NonZeroUsize) -> Self {
        let maxsize = maxsize.get().min(LRU_MAX_ENTRIES);
        let parts = Shards::<Part<K, V>, Books<K, V>>::for_maxsize(maxsize);
        // An exact LRU (one part) reorders its list on every hit: hits lock.
        // A larger one is read without locks, and its hits mark entries
        // (CLOCK); it is one part until threads contend for its lock, then
        // it splits.
        let shards = if parts > 1 {
            Shards::growing(parts, true, (Part::new(), Books::new(0)), Part::split)
        } else {
            Shards::new(1, false, |index| (Part::new(), Books::new(index)))
        };
        Lru { shards, len: AtomicUsize::new(0), maxsize }
    }

    /// A store of `parts` parts from the start (tests of the split store).
    #[cfg(test)]
    fn with_parts(maxsize: usize, parts: usize) -> Self {
        let shards = Shards::new(parts, parts > 1, |index| (Part::new(), Books::new(index)));
        Lru { shards, len: AtomicUsize::new(0), maxsize }
    }

    /// Whether the store is an exact LRU, whose hits reorder the list and
    /// whose eviction takes its tail: below [`EXACT_BELOW`] entries.
    #[inline]
    fn exact(&self) -> bool {
        self.maxsize < EXACT_BELOW
    }

    /// A part's fair share of `maxsize`.
    #[inline]
    fn fair(&self) -> usize {
        (self.maxsize / self.shards.len()).max(1)
    }

    /// Takes a slot for a new entry if the store is not full.
    fn reserve(&self) -> bool {
        self.len
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < self.maxsize).then_some(n + 1))
            .is_ok()
    }
}

impl<K, V> fmt::Debug for Lru<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lru")
            .field("len", &self.len.load(Ordering::Relaxed))
            .field("maxsize", &self.maxsize)
            .finish_non_exhaustive()
    }
}

/// What an insert displaced: a replaced value, an evicted entry, a node freed
/// in another part. Dropped by the caller once the locks are released.
type Displaced<K, V> = (Option<V>, Option<(K, V)>, Option<Node<K, V>>);

/// A part, locked.
type PartGuard<'a, K, V> = WriteGuard<'a, Part<K, V>, Books<K, V>>;

impl<K, V> Lru<K, V>
where
    K: Hash + Eq + Clone + Send + Sync,
    V: Clone + Send + Sync,
{
    /// A hit found without the part's lock (see `readers`), if there is one:
    /// a stored value that `want` accepts, marked as used. Not in an exact
    /// LRU, where a hit moves its entry to the front of the list.
    #[inline]
    fn read_hit<Q>(&self, hash: u64, key: &Q, want: Want<'_, V>) -> Option<V>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        if self.exact() {
            return None;
        }
        self.shards.read(hash, |part| {
            let node = &part.nodes[part.find(hash, |k| key.matches(k))? as usize];
            if !want.accepts(&node.value) {
                return None;
            }
            node.mark_used();
            Some(node.value.clone())
        })
    }

    /// Marks entry `i` of `part` as used: in an exact LRU, moves it to the
    /// front of the list (its readers are the lock's holders only); else
    /// sets its mark, an atomic that lock-free readers set too.
    #[inline]
    fn used(&self, part: &mut PartGuard<'_, K, V>, i: u32) {
        if self.exact() {
            part.used(i, true);
        } else {
            part.nodes[i as usize].mark_used();
        }
    }

    /// Stores `value` for `key` (whose hash is `hash`), or, with no `key`,
    /// for the key that `claim`'s entry holds, evicting if full, if `keep`
    /// says so of the key's part once it is locked. Returns the key's part,
    /// still locked, unless the value could not be kept (every slot held by
    /// inserts under way, or the part taken inside memo's bookkeeping), and
    /// what was displaced (the value itself, if not kept).
    fn put(
        &self,
        hash: u64,
        key: Option<K>,
        claim: Option<&Ticket>,
        value: V,
        blocking: bool,
        keep: impl Fn(&mut PartGuard<'_, K, V>) -> bool,
    ) -> (Option<PartGuard<'_, K, V>>, Displaced<K, V>) {
        let state = self.shards.hasher();
        let home = self.shards.index(hash);
        let Some(mut part) = self.shards.take_for(hash, blocking) else {
            return (None, (Some(value), None, None));
        };
        if !keep(&mut part) {
            return (Some(part), (Some(value), None, None));
        }
        let Some(key) = key
            .or_else(|| claim.and_then(|ticket| part.books().flights.take_key(ticket).map(|(key, _)| key)))
        else {
            return (Some(part), (Some(value), None, None));
        };
        if let Some(i) = part.find(hash, |k| *k == key) {
            part.used(i, self.exact());
            let old = core::mem::replace(&mut part.nodes[i as usize].value, value);
            return (Some(part), (Some(old), None, None));
        }
        if self.reserve() {
            part.push(state, hash, key, value);
            return (Some(part), (None, None, None));
        }
        if self.exact() || part.nodes.len() >= self.fair() {
            // Full: a victim of this part gives its node to the new entry.
            let old = part.replace_victim(state, hash, key, value, self.exact());
            part.books().evictions += 1;
            return (Some(part), (None, Some(old), None));
        }
        // Full, and this part holds less than its share: free a slot in a part
        // above its share (or, failing that, any part), one lock at a time,
        // then come back. The slot passes from one part to the other, so the
        // count never exceeds `maxsize`.
        drop(part);
        let mut freed = None;
        for threshold in [self.fair() + 1, 1] {
            for step in 1..self.shards.len() {
                // Inside memo's bookkeeping, a part that is taken is skipped.
                let Some(mut other) = self.shards.enter((home + step) % self.shards.len()) else {
                    continue;
                };
                if other.nodes.len() >= threshold {
                    freed = other.pop_victim(state, self.exact());
                    other.books().evictions += u64::from(freed.is_some());
                    break;
                }
            }
            if freed.is_some() {
                break;
            }
        }
        if freed.is_none() && !self.reserve() {
            // Every part is empty and yet the count is full: other inserts
            // hold the slots. Keeping this value is not worth waiting for them.
            return (None, (Some(value), None, None));
        }
        // From here this insert holds a slot of the count (freed or
        // reserved): given back if the value is not kept after all.
        let Some(mut part) = self.shards.take_for(hash, blocking) else {
            self.len.fetch_sub(1, Ordering::AcqRel);
            return (None, (Some(value), None, freed));
        };
        if !keep(&mut part) {
            // A clear() came while the slot was being freed.
            self.len.fetch_sub(1, Ordering::AcqRel);
            return (Some(part), (Some(value), None, freed));
        }
        if let Some(i) = part.find(hash, |k| *k == key) {
            // Inserted meanwhile by another thread: replace, and give the slot back.
            part.used(i, self.exact());
            let old = core::mem::replace(&mut part.nodes[i as usize].value, value);
            self.len.fetch_sub(1, Ordering::AcqRel);
            return (Some(part), (Some(old), None, freed));
        }
        part.push(state, hash, key, value);
        (Some(part), (None, None, freed))
    }

    /// The miss of [`Claims::claim`], under the part's lock: drops a stale
    /// entry, then waits for the thread computing the key or claims it.
    #[cold]
    #[inline(never)]
    fn claim_miss<Q>(
        &self,
        mut part: PartGuard<'_, K, V>,
        hash: u64,
        key: &Q,
        want: Want<'_, V>,
        epoch: &AtomicU64,
        name: &str,
    ) -> Claim<V>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        let state = self.shards.hasher();
        part.books().misses += 1;
        // An expired entry goes, and so does the entry a refresh()
        // replaces: callers that come meanwhile wait for the new value.
        let mut stale = None;
        if let Some(i) = part.find(hash, |k| key.matches(k)) {
            if !want.accepts(&part.nodes[i as usize].value) {
                stale = part.remove_index(state, hash, i);
                self.len.fetch_sub(1, Ordering::AcqRel);
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
            epoch.load(Ordering::Acquire),
            || None,
        );
        drop(part);
        flight::drop_claimed(stale, &claim, |ticket| {
            Claims::settle(self, Some(ticket), None, false, None, &|_| false)
        });
        claim.unwrap_or_else(|flight::Reentry| flight::reentry(name))
    }
}

impl<K, V> Store<K, V> for Lru<K, V>
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
        let Some(i) = part.find(hash, |k| key.matches(k)) else {
            part.books().misses += 1;
            return Ok(None);
        };
        // Counted once the clone (the user's, which may panic) is made, as
        // everywhere: a hit whose `Clone` panics is not a hit.
        let value = part.nodes[i as usize].value.clone();
        part.books().hits += 1;
        self.used(&mut part, i);
        Ok(Some(value))
    }

    /// Under the part's lock, counted nowhere, and the entry keeps its place
    /// in the eviction order.
    fn peek<Q>(&self, key: &Q, fresh: &dyn Fn(&V) -> bool) -> Result<Option<V>, StoreError>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        let hash = hash_view(self.shards.hasher(), key);
        let Some(part) = self.shards.enter_for(hash) else { return Ok(None) };
        let found = part.find(hash, |k| key.matches(k)).map(|i| &part.nodes[i as usize].value);
        Ok(found.filter(|value| fresh(value)).cloned())
    }

    fn get_fresh<Q>(&self, key: &Q, fresh: &dyn Fn(&V) -> bool) -> Result<Found<V>, StoreError>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        let state = self.shards.hasher();
        let hash = hash_view(state, key);
        let Some(mut part) = self.shards.enter_lookup(hash) else {
            return Ok(Found::Miss);
        };
        let Some(i) = part.find(hash, |k| key.matches(k)) else {
            part.books().misses += 1;
            return Ok(Found::Miss);
        };
        if fresh(&part.nodes[i as usize].value) {
            let value = part.nodes[i as usize].value.clone();
            part.books().hits += 1;
            self.used(&mut part, i);
            return Ok(Found::Hit(value));
        }
        part.books().misses += 1;
        let expired = part.remove(state, hash, |k| key.matches(k));
        self.len.fetch_sub(1, Ordering::AcqRel);
        drop(part);
        drop(expired);
        Ok(Found::Expired)
    }

    fn retain(&self, keep: &mut dyn FnMut(&K, &V) -> bool) -> Result<usize, StoreError> {
        let state = self.shards.hasher();
        let mut removed = Vec::new();
        self.shards.each(|part| {
            // From the last node down: a removal moves the last node, already
            // looked at, into the hole.
            for i in (0..part.nodes.len()).rev() {
                let node = &part.nodes[i];
                if !keep(&node.key, &node.value) {
                    let hash = state.hash_one(&node.key);
                    removed.extend(part.remove_index(state, hash, part::idx(i)));
                }
            }
        });
        self.len.fetch_sub(removed.len(), Ordering::AcqRel);
        // Dropped after every lock is released.
        Ok(removed.len())
    }

    fn insert(&self, key: K, value: V) -> Result<(), StoreError> {
        let hash = self.shards.hasher().hash_one(&key);
        let (part, displaced) = self.put(hash, Some(key), None, value, false, |_| true);
        drop(part);
        // What the insert displaced is dropped after the lock is released, so
        // that a value's `Drop` may use this cache.
        drop(displaced);
        Ok(())
    }

    fn remove<Q>(&self, key: &Q) -> Result<bool, StoreError>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        let state = self.shards.hasher();
        let hash = hash_view(state, key);
        let Some(mut part) = self.shards.enter_for(hash) else { return Ok(false) };
        let removed = part.remove(state, hash, |k| key.matches(k));
        drop(part);
        let found = removed.is_some();
        if found {
            self.len.fetch_sub(1, Ordering::AcqRel);
        }
        drop(removed);
        Ok(found)
    }

    fn clear(&self) -> Result<(), StoreError> {
        let mut old = Vec::new();
        self.shards.each(|part| {
            let nodes = part.empty();
            part.books().clear();
            self.len.fetch_sub(nodes.len(), Ordering::AcqRel);
            old.push(nodes);
        });
        self.shards.reset_read_hits();
        drop(old);
        Ok(())
    }

    fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    fn maxsize(&self) -> Option<usize> {
        Some(self.maxsize)
    }

    const COUNTS_LOOKUPS: bool = true;

    fn info(&self) -> CacheInfo {
        let mut info = CacheInfo { maxsize: Some(self.maxsize), ..CacheInfo::default() };
        self.shards.each(|part| {
            part.books().count_into(&mut info);
        });
        info.currsize = self.len();
        info.hits += self.shards.read_hits();
        info.misses += self.shards.bypassed();
        info
    }
}

#[cfg(test)]
mod tests;
