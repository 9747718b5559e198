//! An exact LRU for one thread's cache: nodes in one `Vec`, linked by index
//! from the most to the least recently used, beside a `HashTable` of indices.
//! Each node keeps its key's hash, so that neither growing the table nor
//! evicting runs the user's `Hash` or `Eq`: only a lookup compares keys.

use hashbrown::HashTable;

const NIL: u32 = u32::MAX;

struct Node<K, V> {
    key: K,
    value: V,
    hash: u64,
    /// Toward the most recently used.
    prev: u32,
    /// Toward the least recently used.
    next: u32,
}

pub(super) struct Lru<K, V> {
    nodes: Vec<Node<K, V>>,
    table: HashTable<u32>,
    head: u32,
    tail: u32,
    maxsize: usize,
}

/// What an insert displaced: dropped by the caller once it holds no borrow,
/// since a value's `Drop` is the user's code.
pub(super) type Displaced<K, V> = Option<(Option<K>, V)>;

fn index(i: usize) -> u32 {
    u32::try_from(i).unwrap_or_else(|_| unreachable!("maxsize is checked to fit in u32"))
}

impl<K, V> Lru<K, V> {
    pub(super) fn new(maxsize: usize) -> Self {
        // Indices are `u32`, `NIL` excluded.
        let maxsize = maxsize.min(NIL as usize - 1);
        Lru { nodes: Vec::new(), table: HashTable::new(), head: NIL, tail: NIL, maxsize }
    }

    pub(super) fn maxsize(&self) -> usize {
        self.maxsize
    }

    pub(super) fn len(&self) -> usize {
        self.nodes.len()
    }

    pub(super) fn find(&self, hash: u64, mut eq: impl FnMut(&K) -> bool) -> Option<(u32, &V)> {
        let nodes = &self.nodes;
        let &i = self.table.find(hash, |&i| eq(&nodes[i as usize].key))?;
        Some((i, &nodes[i as usize].value))
    }

    fn unlink(&mut self, i: u32) {
        let (prev, next) = (self.nodes[i as usize].prev, self.nodes[i as usize].next);
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
        let old = self.head;
        self.nodes[i as usize].prev = NIL;
        self.nodes[i as usize].next = old;
        match old {
            NIL => self.tail = i,
            h => self.nodes[h as usize].prev = i,
        }
        self.head = i;
    }

    /// Makes node `i` the most recently used. `i` is an index a `find`
    /// returned since the last change of the table.
    pub(super) fn touch(&mut self, i: u32) {
        if self.head != i && (i as usize) < self.nodes.len() {
            self.unlink(i);
            self.push_front(i);
        }
    }

    /// Stores `key` with `value`: replacing the value of an equal key, in a
    /// new node while there is room, else in the least recently used node.
    /// Returns what it displaced, and whether that was an eviction.
    pub(super) fn insert(&mut self, hash: u64, key: K, value: V) -> (Displaced<K, V>, bool)
    where
        K: Eq,
    {
        let nodes = &self.nodes;
        if let Some(&i) = self.table.find(hash, |&i| nodes[i as usize].key == key) {
            self.touch(i);
            let old = core::mem::replace(&mut self.nodes[i as usize].value, value);
            return (Some((Some(key), old)), false);
        }
        if self.nodes.len() < self.maxsize {
            let i = index(self.nodes.len());
            self.nodes.push(Node { key, value, hash, prev: NIL, next: NIL });
            let nodes = &self.nodes;
            self.table.insert_unique(hash, i, |&j| nodes[j as usize].hash);
            self.push_front(i);
            return (None, false);
        }
        let t = self.tail;
        let old_hash = self.nodes[t as usize].hash;
        if let Ok(entry) = self.table.find_entry(old_hash, |&j| j == t) {
            entry.remove();
        }
        let node = &mut self.nodes[t as usize];
        let old_key = core::mem::replace(&mut node.key, key);
        let old_value = core::mem::replace(&mut node.value, value);
        node.hash = hash;
        let nodes = &self.nodes;
        self.table.insert_unique(hash, t, |&j| nodes[j as usize].hash);
        self.touch(t);
        (Some((Some(old_key), old_value)), true)
    }

    /// Removes the entry whose key `eq` accepts.
    pub(super) fn remove(&mut self, hash: u64, mut eq: impl FnMut(&K) -> bool) -> Option<(K, V)> {
        let nodes = &self.nodes;
        let entry = self.table.find_entry(hash, |&i| eq(&nodes[i as usize].key)).ok()?;
        let (i, _) = entry.remove();
        self.unlink(i);
        let last = index(self.nodes.len() - 1);
        if i != last {
            // The last node moves into slot `i`: its neighbours and its table
            // entry follow it.
            let last_hash = self.nodes[last as usize].hash;
            if let Ok(mut entry) = self.table.find_entry(last_hash, |&j| j == last) {
                *entry.get_mut() = i;
            }
            let (prev, next) = (self.nodes[last as usize].prev, self.nodes[last as usize].next);
            match prev {
                NIL => self.head = i,
                p => self.nodes[p as usize].next = i,
            }
            match next {
                NIL => self.tail = i,
                n => self.nodes[n as usize].prev = i,
            }
        }
        let node = self.nodes.swap_remove(i as usize);
        Some((node.key, node.value))
    }

    /// Takes every entry out, to be dropped by the caller.
    pub(super) fn take(&mut self) -> Vec<(K, V)> {
        self.table.clear();
        self.head = NIL;
        self.tail = NIL;
        core::mem::take(&mut self.nodes).into_iter().map(|n| (n.key, n.value)).collect()
    }

    /// The keys from the most to the least recently used, for tests.
    #[cfg(test)]
    fn order(&self) -> Vec<&K> {
        let mut out = Vec::new();
        let mut i = self.head;
        while i != NIL {
            out.push(&self.nodes[i as usize].key);
            i = self.nodes[i as usize].next;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(k: u32) -> u64 {
        u64::from(k % 3) // collisions on purpose
    }

    fn put(lru: &mut Lru<u32, u32>, k: u32) -> bool {
        lru.insert(h(k), k, k * 10).1
    }

    #[test]
    fn evicts_the_least_recently_used_and_keeps_the_order() {
        let mut lru = Lru::new(3);
        for k in [1, 2, 3] {
            assert!(!put(&mut lru, k));
        }
        let (i, v) = lru.find(h(1), |k| *k == 1).unwrap();
        assert_eq!(*v, 10);
        lru.touch(i);
        assert!(put(&mut lru, 4), "2 is evicted");
        assert_eq!(lru.order(), [&4, &1, &3]);
        assert!(lru.find(h(2), |k| *k == 2).is_none());
        assert_eq!(lru.len(), 3);
    }

    #[test]
    fn removal_keeps_links_and_table_right() {
        let mut lru = Lru::new(5);
        for k in 1..=5 {
            put(&mut lru, k);
        }
        assert_eq!(lru.remove(h(2), |k| *k == 2), Some((2, 20)));
        assert_eq!(lru.remove(h(5), |k| *k == 5), Some((5, 50)));
        assert_eq!(lru.order(), [&4, &3, &1]);
        for k in [1, 3, 4] {
            assert_eq!(lru.find(h(k), |x| *x == k).map(|(_, v)| *v), Some(k * 10));
        }
        put(&mut lru, 6);
        put(&mut lru, 7);
        assert!(put(&mut lru, 8), "full at 5: 1 goes");
        assert_eq!(lru.order(), [&8, &7, &6, &4, &3]);
        assert_eq!(lru.take().len(), 5);
        assert_eq!(lru.len(), 0);
        assert!(!put(&mut lru, 9));
    }

    #[test]
    fn a_working_set_of_maxsize_keys_is_never_evicted() {
        let mut lru = Lru::new(100);
        for k in 1000..1300 {
            put(&mut lru, k);
        }
        for _ in 0..5 {
            for k in 0..100 {
                match lru.find(h(k), |x| *x == k) {
                    Some((i, _)) => lru.touch(i),
                    None => {
                        put(&mut lru, k);
                    }
                }
            }
        }
        for k in 0..100 {
            assert!(lru.find(h(k), |x| *x == k).is_some());
        }
    }
}
