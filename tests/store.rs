//! The `Store` trait is public: a store of one's own plugs in with
//! `store = ...`, and a store that fails is a miss, never a wrong or lost value.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};

use memo::{KeyView, Store, StoreError, memoize};

/// A store over a `BTreeMap`, which can be told to fail.
struct Flaky<K, V> {
    map: Mutex<BTreeMap<K, V>>,
    down: &'static AtomicBool,
}

impl<K, V> Flaky<K, V> {
    fn new(down: &'static AtomicBool) -> Self {
        Flaky { map: Mutex::new(BTreeMap::new()), down }
    }

    fn check(&self) -> Result<(), StoreError> {
        if self.down.load(SeqCst) { Err(StoreError::new("the store is down")) } else { Ok(()) }
    }
}

impl<K: Ord + Send + std::hash::Hash, V: Clone + Send> Store<K, V> for Flaky<K, V> {
    fn get<Q>(&self, key: &Q) -> Result<Option<V>, StoreError>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        self.check()?;
        let map = self.map.lock().unwrap();
        Ok(map.iter().find(|(k, _)| key.matches(k)).map(|(_, v)| v.clone()))
    }

    fn insert(&self, key: K, value: V) -> Result<(), StoreError> {
        self.check()?;
        self.map.lock().unwrap().insert(key, value);
        Ok(())
    }

    fn remove<Q>(&self, key: &Q) -> Result<bool, StoreError>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        self.check()?;
        Ok(self.map.lock().unwrap().remove(&key.to_owned_key()).is_some())
    }

    fn clear(&self) -> Result<(), StoreError> {
        self.check()?;
        self.map.lock().unwrap().clear();
        Ok(())
    }

    fn len(&self) -> usize {
        self.map.lock().unwrap().len()
    }

    fn maxsize(&self) -> Option<usize> {
        Some(1_000)
    }
}

static DOWN: AtomicBool = AtomicBool::new(false);

#[memoize(store = Flaky::new(&DOWN))]
fn cube(x: u32) -> u32 {
    x * x * x
}

#[test]
fn a_store_of_ones_own_plugs_in() {
    assert_eq!(cube(3), 27);
    assert_eq!(cube(3), 27);
    let info = cube_cache().info();
    assert_eq!((info.hits, info.misses, info.currsize, info.maxsize), (1, 1, 1, Some(1_000)));

    // Down: every call is a miss that still returns the right value.
    DOWN.store(true, SeqCst);
    assert_eq!(cube(3), 27);
    assert_eq!(cube(4), 64);
    assert!(!cube_cache().remove(&3_u32));
    let info = cube_cache().info();
    assert_eq!((info.hits, info.misses, info.currsize), (1, 3, 1));

    // Up again: the entry kept before is still there, and right.
    DOWN.store(false, SeqCst);
    assert_eq!(cube(3), 27);
    assert_eq!(cube_cache().info().hits, 2);
    assert!(cube_cache().remove(&3_u32));
}

static NEVER_DOWN: AtomicBool = AtomicBool::new(false);
static SLOW_RUNS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

#[memoize(store = Flaky::new(&NEVER_DOWN))]
fn slow_double(x: u32) -> u32 {
    SLOW_RUNS.fetch_add(1, SeqCst);
    std::thread::sleep(std::time::Duration::from_millis(50));
    x * 2
}

#[test]
fn a_store_of_ones_own_gets_single_flight_from_the_cache() {
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(6));
    let threads: Vec<_> = (0..6)
        .map(|_| {
            let barrier = std::sync::Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                slow_double(21)
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), 42);
    }
    assert_eq!(SLOW_RUNS.load(SeqCst), 1);
    let info = slow_double_cache().info();
    assert_eq!(info.hits + info.misses, 6);
}
