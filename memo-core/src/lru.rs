//! [`Lru`]: a store that keeps at most `maxsize` entries and evicts the least
//! recently used.
//!
//! The entries live in one `Vec` of nodes linked by `u32` indices into a list
//! from most to least recently used, beside a hashbrown `HashTable` of indices.
//! Compared with the `lru` crate (one heap node per entry, 68 bytes per
//! `u64 -> u64` entry), this makes no allocation per entry and takes about 35
//! bytes per entry; and the table looks up a borrowed view of the arguments,
//! which `lru`'s `Borrow`-based `get` cannot do for several arguments.

use core::fmt;
use core::hash::{BuildHasher, Hash};
use core::num::NonZeroUsize;

use foldhash::fast::RandomState;
use hashbrown::HashTable;
use parking_lot::Mutex;

use crate::info::CacheInfo;
use crate::key::{KeyView, hash_view};
use crate::store::{Store, StoreError};

/// No node: the end of the list.
const NIL: u32 = u32::MAX;

/// The most entries an [`Lru`] holds, whatever its `maxsize`: indices are
/// `u32`, and one value marks the end of the list.
pub const LRU_MAX_ENTRIES: usize = NIL as usize;

/// A store of at most `maxsize` entries: inserting into a full store evicts
/// the least recently used entry. A hit makes its entry the most recently
/// used. This is what `#[memoize(maxsize = N)]` uses, and what Python's
/// `functools.lru_cache(maxsize=N)` does.
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
    inner: Mutex<Inner<K, V>>,
    state: RandomState,
    maxsize: usize,
}

struct Node<K, V> {
    key: K,
    value: V,
    prev: u32,
    next: u32,
}

struct Inner<K, V> {
    nodes: Vec<Node<K, V>>,
    table: HashTable<u32>,
    /// Most recently used.
    head: u32,
    /// Least recently used: the next to go.
    tail: u32,
    /// Counted under the lock that a lookup takes anyway: exact, and free.
    hits: u64,
    misses: u64,
}

impl<K, V> Lru<K, V> {
    /// An empty store that keeps at most `maxsize` entries (and never more
    /// than [`LRU_MAX_ENTRIES`]). Memory grows with the entries stored, not
    /// with `maxsize`.
    #[must_use]
    pub fn new(maxsize: NonZeroUsize) -> Self {
        Lru {
            inner: Mutex::new(Inner {
                nodes: Vec::new(),
                table: HashTable::new(),
                head: NIL,
                tail: NIL,
                hits: 0,
                misses: 0,
            }),
            state: RandomState::default(),
            maxsize: maxsize.get().min(LRU_MAX_ENTRIES),
        }
    }
}

impl<K, V> fmt::Debug for Lru<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lru")
            .field("len", &self.inner.lock().nodes.len())
            .field("maxsize", &self.maxsize)
            .finish_non_exhaustive()
    }
}

/// Converts an index that is below `LRU_MAX_ENTRIES` by construction.
#[inline]
#[expect(
    clippy::cast_possible_truncation,
    reason = "indices stay below LRU_MAX_ENTRIES"
)]
fn idx(i: usize) -> u32 {
    debug_assert!(i < LRU_MAX_ENTRIES);
    i as u32
}

impl<K, V> Inner<K, V> {
    fn unlink(&mut self, i: u32) {
        let Node { prev, next, .. } = self.nodes[i as usize];
        match prev {
            NIL => self.head = next,
            p => self.nodes[p as usize].next = next,
        }
        match next {
            NIL => self.tail = prev,
            n => self.nodes[n as usize].prev = prev,
        }
    }

    fn push_front(&mut self, i: u32) {
        let old_head = self.head;
        let node = &mut self.nodes[i as usize];
        node.prev = NIL;
        node.next = old_head;
        match old_head {
            NIL => self.tail = i,
            h => self.nodes[h as usize].prev = i,
        }
        self.head = i;
    }

    #[inline]
    fn touch(&mut self, i: u32) {
        if self.head != i {
            self.unlink(i);
            self.push_front(i);
        }
    }

    /// Removes node `i`'s index from the table; `hash` is its key's hash.
    fn unindex(&mut self, hash: u64, i: u32) {
        if let Ok(entry) = self.table.find_entry(hash, |&j| j == i) {
            entry.remove();
        }
    }
}

impl<K: Hash, V> Lru<K, V> {
    fn index(&self, inner: &mut Inner<K, V>, hash: u64, i: u32) {
        let Inner { nodes, table, .. } = inner;
        let state = &self.state;
        table.insert_unique(hash, i, |&j| state.hash_one(&nodes[j as usize].key));
    }
}

impl<K, V> Store<K, V> for Lru<K, V>
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
        let nodes = &inner.nodes;
        let Some(&i) = inner.table.find(hash, |&j| key.matches(&nodes[j as usize].key)) else {
            inner.misses += 1;
            return Ok(None);
        };
        inner.hits += 1;
        inner.touch(i);
        Ok(Some(inner.nodes[i as usize].value.clone()))
    }

    fn insert(&self, key: K, value: V) -> Result<(), StoreError> {
        let hash = self.state.hash_one(&key);
        let mut guard = self.inner.lock();
        let inner = &mut *guard;
        let nodes = &inner.nodes;
        // What the insert displaces is dropped after the lock is released, so
        // that a value's `Drop` may use this cache.
        let displaced;
        if let Some(&i) = inner.table.find(hash, |&j| nodes[j as usize].key == key) {
            inner.touch(i);
            displaced = (
                None,
                Some(core::mem::replace(&mut inner.nodes[i as usize].value, value)),
            );
        } else if inner.nodes.len() < self.maxsize {
            if inner.nodes.len() == inner.nodes.capacity() {
                // Grow by doubling, but never past maxsize.
                let room = inner.nodes.len().max(4).min(self.maxsize - inner.nodes.len());
                inner.nodes.reserve_exact(room);
            }
            let i = idx(inner.nodes.len());
            inner.nodes.push(Node {
                key,
                value,
                prev: NIL,
                next: NIL,
            });
            inner.push_front(i);
            self.index(inner, hash, i);
            displaced = (None, None);
        } else {
            // Full: the least recently used node takes the new entry.
            let t = inner.tail;
            let old_hash = self.state.hash_one(&inner.nodes[t as usize].key);
            inner.unindex(old_hash, t);
            let node = &mut inner.nodes[t as usize];
            displaced = (
                Some(core::mem::replace(&mut node.key, key)),
                Some(core::mem::replace(&mut node.value, value)),
            );
            inner.touch(t);
            self.index(inner, hash, t);
        }
        drop(guard);
        drop(displaced);
        Ok(())
    }

    fn remove<Q>(&self, key: &Q) -> Result<bool, StoreError>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        let hash = hash_view(&self.state, key);
        let mut guard = self.inner.lock();
        let inner = &mut *guard;
        let nodes = &inner.nodes;
        let Ok(entry) = inner
            .table
            .find_entry(hash, |&j| key.matches(&nodes[j as usize].key))
        else {
            return Ok(false);
        };
        let (i, _) = entry.remove();
        inner.unlink(i);
        // Keep the nodes dense: the last node moves into the hole.
        let last = idx(inner.nodes.len() - 1);
        if i != last {
            let last_hash = self.state.hash_one(&inner.nodes[last as usize].key);
            if let Ok(entry) = inner.table.find_entry(last_hash, |&j| j == last) {
                *entry.into_mut() = i;
            }
            let Node { prev, next, .. } = inner.nodes[last as usize];
            match prev {
                NIL => inner.head = i,
                p => inner.nodes[p as usize].next = i,
            }
            match next {
                NIL => inner.tail = i,
                n => inner.nodes[n as usize].prev = i,
            }
        }
        let removed = inner.nodes.swap_remove(i as usize);
        drop(guard);
        drop(removed);
        Ok(true)
    }

    fn clear(&self) -> Result<(), StoreError> {
        let mut inner = self.inner.lock();
        let nodes = core::mem::take(&mut inner.nodes);
        inner.table = HashTable::new();
        inner.head = NIL;
        inner.tail = NIL;
        inner.hits = 0;
        inner.misses = 0;
        drop(inner);
        drop(nodes);
        Ok(())
    }

    fn len(&self) -> usize {
        self.inner.lock().nodes.len()
    }

    fn maxsize(&self) -> Option<usize> {
        Some(self.maxsize)
    }

    const COUNTS_LOOKUPS: bool = true;

    fn info(&self) -> CacheInfo {
        let inner = self.inner.lock();
        CacheInfo {
            hits: inner.hits,
            misses: inner.misses,
            maxsize: Some(self.maxsize),
            currsize: inner.nodes.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::Exact;
    use proptest::prelude::*;
    use std::collections::VecDeque;

    /// A strict LRU, written the obvious way, to compare with.
    struct Model {
        maxsize: usize,
        order: VecDeque<(u8, u32)>, // front: most recent
    }

    impl Model {
        fn get(&mut self, k: u8) -> Option<u32> {
            let pos = self.order.iter().position(|&(key, _)| key == k)?;
            let e = self.order.remove(pos)?;
            self.order.push_front(e);
            Some(e.1)
        }
        fn insert(&mut self, k: u8, v: u32) {
            if let Some(pos) = self.order.iter().position(|&(key, _)| key == k) {
                self.order.remove(pos);
            } else if self.order.len() == self.maxsize {
                self.order.pop_back();
            }
            self.order.push_front((k, v));
        }
        fn remove(&mut self, k: u8) -> bool {
            let pos = self.order.iter().position(|&(key, _)| key == k);
            pos.map(|p| self.order.remove(p)).is_some()
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Get(u8),
        Insert(u8, u32),
        Remove(u8),
        Clear,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            8 => (0..24_u8).prop_map(Op::Get),
            8 => (0..24_u8, any::<u32>()).prop_map(|(k, v)| Op::Insert(k, v)),
            3 => (0..24_u8).prop_map(Op::Remove),
            1 => Just(Op::Clear),
        ]
    }

    proptest! {
        #[test]
        fn behaves_as_a_strict_lru(maxsize in 1..12_usize, ops in proptest::collection::vec(op(), 0..300)) {
            let lru: Lru<u8, u32> = Lru::new(NonZeroUsize::new(maxsize).unwrap());
            let mut model = Model { maxsize, order: VecDeque::new() };
            for op in ops {
                match op {
                    Op::Get(k) => prop_assert_eq!(lru.get(&Exact(&k)).unwrap(), model.get(k)),
                    Op::Insert(k, v) => {
                        lru.insert(k, v).unwrap();
                        model.insert(k, v);
                    }
                    Op::Remove(k) => prop_assert_eq!(lru.remove(&Exact(&k)).unwrap(), model.remove(k)),
                    Op::Clear => {
                        lru.clear().unwrap();
                        model.order.clear();
                    }
                }
                prop_assert_eq!(lru.len(), model.order.len());
                prop_assert!(lru.len() <= maxsize);
            }
            // The recency order matches too, walked from the most recent.
            let inner = lru.inner.lock();
            let mut walked = Vec::new();
            let mut i = inner.head;
            while i != NIL {
                let node = &inner.nodes[i as usize];
                walked.push((node.key, node.value));
                i = node.next;
            }
            prop_assert_eq!(walked, model.order.iter().copied().collect::<Vec<_>>());
        }
    }
}
