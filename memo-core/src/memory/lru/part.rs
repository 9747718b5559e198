//! One part of an [`Lru`](super::Lru): a `Vec` of nodes linked by `u32`
//! indices into a list from most to least recently used, beside a hashbrown
//! `HashTable` of indices. No allocation per entry.

use core::hash::{BuildHasher, Hash};
use core::sync::atomic::{AtomicBool, Ordering::Relaxed};

use foldhash::fast::RandomState;
use hashbrown::HashTable;

use crate::memory::books::Books;

/// No node: the end of the list.
pub(crate) const NIL: u32 = u32::MAX;

/// The most entries a part holds: indices are `u32`, and one value marks the
/// end of the list.
pub(crate) const MAX_ENTRIES: usize = NIL as usize;

pub(crate) struct Node<K, V> {
    pub(crate) key: K,
    pub(crate) value: V,
    pub(crate) prev: u32,
    pub(crate) next: u32,
    /// Used since it was inserted or last given a second chance (split
    /// stores). Atomic: lock-free readers mark it (see `readers`).
    pub(crate) used: AtomicBool,
}

impl<K, V> Node<K, V> {
    /// Marks the node as used, by a reader that shares it: writes only if it
    /// is not marked yet, so that hits on a hot entry write nothing.
    #[inline]
    pub(crate) fn mark_used(&self) {
        if !self.used.load(Relaxed) {
            self.used.store(true, Relaxed);
        }
    }
}

/// One part: an exact LRU list over its own entries.
pub(crate) struct Part<K, V> {
    pub(crate) nodes: Vec<Node<K, V>>,
    pub(crate) table: HashTable<u32>,
    /// Most recently used.
    pub(crate) head: u32,
    /// Least recently used: the next to go.
    pub(crate) tail: u32,
}

/// Converts an index that is below `LRU_MAX_ENTRIES` by construction.
#[inline]
#[expect(clippy::cast_possible_truncation, reason = "indices stay below MAX_ENTRIES")]
pub(crate) fn idx(i: usize) -> u32 {
    debug_assert!(i < MAX_ENTRIES);
    i as u32
}

impl<K, V> Part<K, V> {
    /// A part, empty.
    pub(crate) const fn new() -> Self {
        Part { nodes: Vec::new(), table: HashTable::new(), head: NIL, tail: NIL }
    }

    /// Empties the part; returns the nodes, to be dropped once the lock is
    /// released.
    pub(crate) fn empty(&mut self) -> Vec<Node<K, V>> {
        core::mem::replace(self, Part::new()).nodes
    }

    pub(crate) fn unlink(&mut self, i: u32) {
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

    pub(crate) fn push_front(&mut self, i: u32) {
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
    pub(crate) fn touch(&mut self, i: u32) {
        if self.head != i {
            self.unlink(i);
            self.push_front(i);
        }
    }

    /// Records a use of node `i`: moves it to the front in an exact LRU,
    /// marks it otherwise (writing only if it is not marked yet).
    #[inline]
    pub(crate) fn used(&mut self, i: u32, exact: bool) {
        if exact {
            self.touch(i);
        } else {
            self.nodes[i as usize].mark_used();
        }
    }

    /// The node to evict from this non-empty part: the tail of an exact LRU;
    /// otherwise the first unmarked node from the tail, the marked ones passed
    /// over unmarked and moved to the front (their second chance).
    pub(crate) fn victim(&mut self, exact: bool) -> u32 {
        loop {
            let t = self.tail;
            if exact || !*self.nodes[t as usize].used.get_mut() {
                return t;
            }
            *self.nodes[t as usize].used.get_mut() = false;
            self.touch(t);
        }
    }

    /// Removes node `i`'s index from the table; `hash` is its key's hash.
    pub(crate) fn unindex(&mut self, hash: u64, i: u32) {
        if let Ok(entry) = self.table.find_entry(hash, |&j| j == i) {
            entry.remove();
        }
    }
}

impl<K: Hash + Eq, V> Part<K, V> {
    /// Parts `1..count` for a store that grows (see `Shards`), with the
    /// entries of `self` that `place` puts there; `self` keeps the others
    /// and its counts. Each part gets its entries in their order of use,
    /// least recent first, so that its list keeps the order. `None` while
    /// keys are in flight. Every key is hashed (the user's `Hash`, which
    /// may panic) and every table sized before anything moves: a panic
    /// leaves the part as it was, and the store's count right.
    pub(crate) fn split(
        &mut self,
        books: &mut Books<K, V>,
        count: usize,
        state: &RandomState,
        place: &dyn Fn(u64) -> usize,
    ) -> Option<Vec<(Self, Books<K, V>)>> {
        let flights = books.flights.parts_after(count)?;
        let mut parts: Vec<Self> = (1..count).map(|_| Part::new()).collect();
        let mut order = Vec::with_capacity(self.nodes.len());
        let mut i = self.tail;
        while i != NIL {
            let hash = state.hash_one(&self.nodes[i as usize].key);
            order.push((i, hash, place(hash)));
            i = self.nodes[i as usize].prev;
        }
        let mut sizes = vec![0_usize; count];
        for &(_, _, to) in &order {
            sizes[to] += 1;
        }
        let no_rehash = |_: &u32| 0;
        self.table.clear();
        self.table.reserve(sizes[0], no_rehash);
        for (part, &size) in parts.iter_mut().zip(&sizes[1..]) {
            part.nodes.reserve(size);
            part.table.reserve(size, no_rehash);
        }
        let mut nodes: Vec<Option<Node<K, V>>> =
            core::mem::take(&mut self.nodes).into_iter().map(Some).collect();
        self.nodes.reserve(sizes[0]);
        (self.head, self.tail) = (NIL, NIL);
        for (i, hash, to) in order {
            let Some(Node { key, value, used, .. }) = nodes[i as usize].take() else { continue };
            let part = match to.checked_sub(1).and_then(|to| parts.get_mut(to)) {
                Some(part) => part,
                None => &mut *self,
            };
            part.push(state, hash, key, value);
            if let Some(node) = part.nodes.last_mut() {
                node.used = used;
            }
        }
        Some(parts.into_iter().zip(flights.into_iter().map(Books::with_flights)).collect())
    }

    #[inline]
    pub(crate) fn find(&self, hash: u64, matches: impl Fn(&K) -> bool) -> Option<u32> {
        let nodes = &self.nodes;
        self.table.find(hash, |&j| matches(&nodes[j as usize].key)).copied()
    }

    pub(crate) fn index(&mut self, state: &RandomState, hash: u64, i: u32) {
        let Part { nodes, table, .. } = self;
        table.insert_unique(hash, i, |&j| state.hash_one(&nodes[j as usize].key));
    }

    /// Adds an entry as the most recently used.
    pub(crate) fn push(&mut self, state: &RandomState, hash: u64, key: K, value: V) {
        let i = idx(self.nodes.len());
        self.nodes.push(Node { key, value, prev: NIL, next: NIL, used: AtomicBool::new(false) });
        self.push_front(i);
        self.index(state, hash, i);
    }

    /// Gives the victim's node to a new entry, at the front; returns what it
    /// held. The part must not be empty.
    pub(crate) fn replace_victim(
        &mut self,
        state: &RandomState,
        hash: u64,
        key: K,
        value: V,
        exact: bool,
    ) -> (K, V) {
        let t = self.victim(exact);
        let old_hash = state.hash_one(&self.nodes[t as usize].key);
        self.unindex(old_hash, t);
        let node = &mut self.nodes[t as usize];
        let old = (core::mem::replace(&mut node.key, key), core::mem::replace(&mut node.value, value));
        *node.used.get_mut() = false;
        self.touch(t);
        self.index(state, hash, t);
        old
    }

    /// Removes node `i`, whose index is already out of the table, and keeps
    /// the nodes dense: the last node moves into the hole.
    pub(crate) fn remove_at(&mut self, state: &RandomState, i: u32) -> Node<K, V> {
        self.unlink(i);
        let last = idx(self.nodes.len() - 1);
        if i != last {
            let last_hash = state.hash_one(&self.nodes[last as usize].key);
            if let Ok(entry) = self.table.find_entry(last_hash, |&j| j == last) {
                *entry.into_mut() = i;
            }
            let Node { prev, next, .. } = self.nodes[last as usize];
            match prev {
                NIL => self.head = i,
                p => self.nodes[p as usize].next = i,
            }
            match next {
                NIL => self.tail = i,
                n => self.nodes[n as usize].prev = i,
            }
        }
        self.nodes.swap_remove(i as usize)
    }

    /// Removes node `i`, whose key hashes to `hash`.
    pub(crate) fn remove_index(&mut self, state: &RandomState, hash: u64, i: u32) -> Option<Node<K, V>> {
        self.unindex(hash, i);
        Some(self.remove_at(state, i))
    }

    /// Removes the entry whose key `matches`, if any.
    pub(crate) fn remove(
        &mut self,
        state: &RandomState,
        hash: u64,
        matches: impl Fn(&K) -> bool,
    ) -> Option<Node<K, V>> {
        let nodes = &self.nodes;
        let (i, _) = self.table.find_entry(hash, |&j| matches(&nodes[j as usize].key)).ok()?.remove();
        Some(self.remove_at(state, i))
    }

    /// Removes the victim, if the part is not empty.
    pub(crate) fn pop_victim(&mut self, state: &RandomState, exact: bool) -> Option<Node<K, V>> {
        if self.tail == NIL {
            return None;
        }
        let t = self.victim(exact);
        let hash = state.hash_one(&self.nodes[t as usize].key);
        self.unindex(hash, t);
        Some(self.remove_at(state, t))
    }
}
