//! Tests of the LRU store: strict LRU order when exact, `maxsize` for the
//! whole when split, and the hit ratio of a split store.

use super::part::NIL;
use super::*;
use crate::store::key::Exact;
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
    let lru: Lru<u32, u32> = Lru::with_parts(1000, Shards::<Part<u32, u32>>::for_maxsize(1000));
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
    assert!(smallest >= lru.fair() / 2, "a part shrank to {smallest} of a fair {}", lru.fair());
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

/// One pass of misses-then-inserts over `keys`, as a memoized function
/// makes them: how many missed.
fn pass(lru: &Lru<u32, u32>, keys: impl Iterator<Item = u32>) -> usize {
    let mut missed = 0;
    for k in keys {
        if lru.get(&Exact(&k)).unwrap().is_none() {
            missed += 1;
            lru.insert(k, k * 2).unwrap();
        }
    }
    missed
}

#[test]
fn a_working_set_of_maxsize_keys_is_never_evicted_after_a_scan_of_other_keys() {
    // The case that broke the sharded store: an LRU(1000) filled with other
    // keys, then looping over 1,000 keys, missed 323-595 times a pass.
    for maxsize in [128_u32, 1000, 5000] {
        let lru: Lru<u32, u32> = Lru::new(NonZeroUsize::new(maxsize as usize).unwrap());
        assert_eq!(pass(&lru, 1_000_000..1_000_000 + maxsize), maxsize as usize);
        assert_eq!(pass(&lru, 0..maxsize), maxsize as usize, "the first pass misses every key");
        for round in 0..30 {
            assert_eq!(pass(&lru, 0..maxsize), 0, "pass {round} of LRU({maxsize}) missed");
        }
        assert_eq!(lru.shards.len(), 1, "one thread alone never splits it");
    }
}

#[test]
fn a_large_store_splits_when_contended_and_keeps_every_entry_and_the_count() {
    let lru: Lru<u32, u32> = Lru::new(NonZeroUsize::new(1000).unwrap());
    assert_eq!(pass(&lru, 0..1000), 1000);
    assert_eq!(lru.shards.len(), 1);
    // Another thread looks up a key that no lock-free read can answer
    // while this one holds part 0, until it has been kept waiting often
    // enough.
    for _ in 0..1000 {
        if lru.shards.len() > 1 {
            break;
        }
        std::thread::scope(|scope| {
            let held = lru.shards.lock(0);
            scope.spawn(|| lru.get(&Exact(&1_000_000)).unwrap());
            std::thread::sleep(std::time::Duration::from_millis(2));
            drop(held);
        });
    }
    assert!(lru.shards.len() > 1, "contended, it split");
    assert_eq!(lru.len(), 1000);
    let mut sizes = 0;
    lru.shards.each(|part| sizes += part.nodes.len());
    assert_eq!(sizes, 1000, "nothing lost, nothing doubled");
    for k in 0..1000 {
        assert_eq!(lru.get(&Exact(&k)).unwrap(), Some(k * 2), "key {k}");
    }
    // Split, it reads without locks, and still keeps maxsize for the whole.
    assert_eq!(pass(&lru, 5000..7000), 2000);
    assert_eq!(lru.len(), 1000);
}

static PANIC_HASH: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A key whose `Hash` panics while `PANIC_HASH` is set.
#[derive(Clone, PartialEq, Eq, Debug)]
struct Touchy(u32);

impl core::hash::Hash for Touchy {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        assert!(!PANIC_HASH.load(std::sync::atomic::Ordering::SeqCst), "the user's Hash panics");
        self.0.hash(state);
    }
}

#[test]
fn a_hash_that_panics_while_the_store_splits_leaves_it_whole_and_its_count_right() {
    let lru: Lru<Touchy, u32> = Lru::new(NonZeroUsize::new(1000).unwrap());
    for k in 0..1000 {
        lru.insert(Touchy(k), k).unwrap();
    }
    PANIC_HASH.store(true, std::sync::atomic::Ordering::SeqCst);
    // Contend for part 0 (by hash, so that nothing else runs the user's
    // `Hash`) until the thread that grows it panics in the split.
    let mut panicked = false;
    for _ in 0..1000 {
        std::thread::scope(|scope| {
            let held = lru.shards.lock(0);
            let contender = scope.spawn(|| drop(lru.shards.lock_for(0)));
            std::thread::sleep(std::time::Duration::from_millis(2));
            drop(held);
            panicked = contender.join().is_err();
        });
        if panicked {
            break;
        }
    }
    PANIC_HASH.store(false, std::sync::atomic::Ordering::SeqCst);
    assert!(panicked, "the split ran the user's Hash");
    assert_eq!(lru.shards.len(), 1, "it did not split");
    assert_eq!(lru.len(), 1000, "the count is right");
    for k in 0..1000 {
        assert_eq!(lru.get(&Exact(&Touchy(k))).unwrap(), Some(k), "key {k}");
    }
    // And it still keeps maxsize: 1,000 new keys evict the old ones.
    for k in 1000..2000 {
        lru.insert(Touchy(k), k).unwrap();
    }
    assert_eq!(lru.len(), 1000);
    let mut nodes = 0;
    lru.shards.each(|part| nodes += part.nodes.len());
    assert_eq!(nodes, 1000);
}
