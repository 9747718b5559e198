//! Tests of the LRU store: strict LRU order when exact, `maxsize` for the
//! whole when split, and the hit ratio of a split store.

use super::part::NIL;
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

#[test]
fn a_split_store_keeps_maxsize_for_the_whole_and_a_working_set_of_maxsize_stays() {
    let lru: Lru<u32, u32> = Lru::new(NonZeroUsize::new(1000).unwrap());
    assert!(lru.shards.len() > 1);
    for k in 0..1000 {
        lru.insert(k, k * 2).unwrap();
    }
    assert_eq!(lru.len(), 1000);
    // Every key of a working set of exactly maxsize is still there.
    for k in 0..1000 {
        assert_eq!(lru.get(&Exact(&k)).unwrap(), Some(k * 2));
    }
    for k in 1000..5000 {
        lru.insert(k, k * 2).unwrap();
        assert!(lru.len() <= 1000);
    }
    assert_eq!(lru.len(), 1000);
    let mut present = 0;
    for k in 0..5000 {
        if let Some(v) = lru.get(&Exact(&k)).unwrap() {
            assert_eq!(v, k * 2);
            present += 1;
        }
    }
    assert_eq!(present, 1000);
    let mut sizes = 0;
    lru.shards.each(|part| sizes += part.nodes.len());
    assert_eq!(sizes, 1000);
    // Parts stay near their fair share: evicting only from the part a key
    // goes to would let them drift apart, down to one entry each.
    let mut x = 7_u32;
    for _ in 0..50_000 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        lru.insert(x, x).unwrap();
    }
    let mut smallest = usize::MAX;
    lru.shards.each(|part| smallest = smallest.min(part.nodes.len()));
    assert!(smallest >= lru.fair / 2, "a part shrank to {smallest} of a fair {}", lru.fair);
    assert_eq!(lru.len(), 1000);
    lru.clear().unwrap();
    assert_eq!(lru.len(), 0);
}

proptest! {
    #[test]
    fn behaves_as_a_strict_lru(maxsize in 1..12_usize, ops in proptest::collection::vec(op(), 0..300)) {
        let lru: Lru<u8, u32> = Lru::new(NonZeroUsize::new(maxsize).unwrap());
        assert_eq!(lru.shards.len(), 1, "a small store is one exact LRU");
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
        let inner = lru.shards.lock(0);
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
