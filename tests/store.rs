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

/// A store whose `abandoned` panics while `ANGRY` is set, and counts its calls.
struct Grudging(Flaky<u32, Result<u32, String>>);

static ANGRY: AtomicBool = AtomicBool::new(true);
static ABANDONED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

impl Store<u32, Result<u32, String>> for Grudging {
    fn get<Q>(&self, key: &Q) -> Result<Option<Result<u32, String>>, StoreError>
    where
        Q: KeyView<Owned = u32> + ?Sized,
    {
        self.0.get(key)
    }

    fn insert(&self, key: u32, value: Result<u32, String>) -> Result<(), StoreError> {
        self.0.insert(key, value)
    }

    fn remove<Q>(&self, key: &Q) -> Result<bool, StoreError>
    where
        Q: KeyView<Owned = u32> + ?Sized,
    {
        self.0.remove(key)
    }

    fn clear(&self) -> Result<(), StoreError> {
        self.0.clear()
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn abandoned<Q>(&self, _key: &Q)
    where
        Q: KeyView<Owned = u32> + ?Sized,
    {
        ABANDONED.fetch_add(1, SeqCst);
        assert!(!ANGRY.load(SeqCst), "abandoned() of the user's store panics");
    }
}

#[memoize(store = Grudging(Flaky::new(&NEVER_DOWN)))]
fn grudged(x: u32) -> Result<u32, String> {
    assert!(x != 0, "the body panics for 0");
    if x % 2 == 1 { Err(format!("{x} is odd")) } else { Ok(x / 2) }
}

#[test]
fn a_store_whose_abandoned_panics_breaks_neither_a_panicking_body_nor_the_claims() {
    // The body panics: the store hears of it during the unwinding, and its
    // own panic there is swallowed (a second panic would abort the
    // process); the caller gets the body's panic.
    let body = std::panic::catch_unwind(|| grudged(0)).expect_err("the body panicked");
    let message = body.downcast_ref::<&str>().copied().unwrap_or_default();
    assert_eq!(message, "the body panics for 0");
    assert_eq!(ABANDONED.load(SeqCst), 1);
    // An uncached result: the store's panic reaches the caller whose store
    // panicked, after the claim was settled.
    let store = std::panic::catch_unwind(|| grudged(3)).expect_err("abandoned() panicked");
    let message = store.downcast_ref::<&str>().copied().unwrap_or_default();
    assert_eq!(message, "abandoned() of the user's store panics");
    assert_eq!(ABANDONED.load(SeqCst), 2);
    // No claim is left behind: other threads compute both keys again.
    ANGRY.store(false, SeqCst);
    let again = std::thread::spawn(|| (grudged(3), grudged(4))).join().unwrap();
    assert_eq!(again, (Err("3 is odd".to_owned()), Ok(2)));
    assert_eq!(grudged(4), Ok(2));
    assert_eq!(ABANDONED.load(SeqCst), 3, "the odd key's Err was abandoned again; 4 was stored");
    assert!(std::panic::catch_unwind(|| grudged(0)).is_err());
}
