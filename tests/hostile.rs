//! User code that misbehaves inside the cache's bookkeeping, on every store of
//! the shared scope: the plain function's result, never a hang, and nothing
//! left behind.
//!
//! - a value's `Clone` that calls the same memoized function, or another one
//!   whose values' `Clone` calls back (from two threads at once);
//! - a `Clone` or a store's `insert` that panics once, after the body
//!   returned: no claim stays behind, the body runs again;
//! - a waiting thread whose hand-over `Clone` panics: no stale value stays in
//!   the single-flight table for later callers;
//! - `clear()` and `refresh()` while a computation runs: its value is never
//!   stored after them, nor handed to a caller who came after them.
//!
//! Each test runs under a watchdog: a hang fails it.

mod watchdog;

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::thread;
use std::time::Duration;

use memo::{KeyView, Store, StoreError, memoize};
use watchdog::within;

const LIMIT: Duration = Duration::from_secs(60);

/// A store of the user's own, with the cache's single-flight table instead
/// of the built-in stores' own.
pub struct ListStore<K, V> {
    map: Mutex<HashMap<K, V>>,
}

impl<K, V> ListStore<K, V> {
    pub fn new() -> Self {
        ListStore { map: Mutex::new(HashMap::new()) }
    }
}

impl<K, V> Default for ListStore<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

fn poisoned<T>(_: T) -> StoreError {
    StoreError::new("poisoned")
}

impl<K: Eq + std::hash::Hash + Send, V: Clone + Send> Store<K, V> for ListStore<K, V> {
    fn get<Q>(&self, key: &Q) -> Result<Option<V>, StoreError>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        let map = self.map.lock().map_err(poisoned)?;
        Ok(map.iter().find(|(k, _)| key.matches(k)).map(|(_, v)| v.clone()))
    }

    fn insert(&self, key: K, value: V) -> Result<(), StoreError> {
        self.map.lock().map_err(poisoned)?.insert(key, value);
        Ok(())
    }

    fn remove<Q>(&self, key: &Q) -> Result<bool, StoreError>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        let mut map = self.map.lock().map_err(poisoned)?;
        let before = map.len();
        map.retain(|k, _| !key.matches(k));
        Ok(map.len() != before)
    }

    fn clear(&self) -> Result<(), StoreError> {
        self.map.lock().map_err(poisoned)?.clear();
        Ok(())
    }

    fn len(&self) -> usize {
        self.map.lock().map_or(0, |map| map.len())
    }
}

thread_local! {
    /// How deep this thread is in `Clone`s that call memoized functions.
    static CLONING: Cell<u32> = const { Cell::new(0) };
    /// Whether the next `Clone` of a [`Flaky`] on this thread panics.
    static CLONE_PANICS: Cell<bool> = const { Cell::new(false) };
}

/// A value whose `Clone` calls `via(n + 1)`, up to key 100: every hit and
/// every store of it re-enters the cache that holds it.
#[derive(Debug)]
pub struct Chain {
    n: u64,
    via: fn(u64) -> Chain,
}

impl Clone for Chain {
    fn clone(&self) -> Self {
        if self.n < 100 {
            assert_eq!((self.via)(self.n + 1).n, self.n + 1);
        }
        Chain { n: self.n, via: self.via }
    }
}

/// A value whose `Clone` calls `via(n)` (another function's cache) once per
/// nesting level, up to two: two caches whose values' clones call each other.
#[derive(Debug)]
pub struct Ping {
    n: u64,
    via: fn(u64) -> Ping,
}

impl Clone for Ping {
    fn clone(&self) -> Self {
        if CLONING.get() < 2 {
            CLONING.set(CLONING.get() + 1);
            let n = (self.via)(self.n).n;
            CLONING.set(CLONING.get() - 1);
            assert_eq!(n, self.n);
        }
        Ping { n: self.n, via: self.via }
    }
}

/// A value whose `Clone` panics when this thread's [`CLONE_PANICS`] is set
/// (once: it is reset).
#[derive(Debug, PartialEq)]
pub struct Flaky(pub u64);

impl Clone for Flaky {
    fn clone(&self) -> Self {
        assert!(!CLONE_PANICS.replace(false), "a Clone that panics, once");
        Flaky(self.0)
    }
}

/// A computation that the test holds up: its first run says it started,
/// then waits until the gate opens; each run returns its number.
pub struct Gate {
    runs: AtomicU64,
    started: AtomicBool,
    open: AtomicBool,
}

impl Gate {
    const fn new() -> Self {
        Gate { runs: AtomicU64::new(0), started: AtomicBool::new(false), open: AtomicBool::new(false) }
    }

    /// A run: its number; the first waits for [`open`](Gate::open).
    pub fn run(&self) -> u64 {
        let run = self.runs.fetch_add(1, SeqCst);
        if run == 0 {
            self.started.store(true, SeqCst);
            while !self.open.load(SeqCst) {
                thread::sleep(Duration::from_millis(1));
            }
        }
        run
    }

    /// Runs `call` on a thread of its own, and returns once the first run
    /// has started (and waits).
    pub fn start<T: Send + 'static>(&self, call: fn() -> T) -> thread::JoinHandle<T> {
        let first = thread::spawn(call);
        while !self.started.load(SeqCst) {
            thread::sleep(Duration::from_millis(1));
        }
        first
    }

    pub fn open(&self) {
        self.open.store(true, SeqCst);
    }
}

/// The same tests for every store: `$opts` are the options of `#[memoize]`.
macro_rules! on_every_store {
    ($($store:ident: [$($opts:tt)*];)*) => {$(
        mod $store {
            use super::*;

            #[memoize($($opts)*)]
            pub fn chain(n: u64) -> Chain {
                Chain { n, via: chain }
            }

            #[memoize($($opts)*)]
            pub fn ping(n: u64) -> Ping {
                Ping { n, via: pong }
            }

            #[memoize($($opts)*)]
            pub fn pong(n: u64) -> Ping {
                Ping { n, via: ping }
            }

            pub static RUNS: AtomicU64 = AtomicU64::new(0);

            #[memoize($($opts)*)]
            pub fn flaky(n: u64) -> Flaky {
                RUNS.fetch_add(1, SeqCst);
                Flaky(n)
            }

            pub static SLOW: Gate = Gate::new();

            /// Returns its run number; the first run waits for `SLOW` to open.
            #[memoize($($opts)*)]
            pub fn slow(n: u64) -> Flaky {
                Flaky(n * 1000 + SLOW.run())
            }

            #[test]
            fn a_clone_that_calls_the_same_function_never_hangs() {
                within(concat!(stringify!($store), ": Clone re-enters"), LIMIT, || {
                    for _ in 0..3 {
                        for n in 0..=100 {
                            assert_eq!(chain(n).n, n);
                        }
                    }
                });
            }

            #[test]
            fn two_caches_whose_clones_call_each_other_never_deadlock() {
                within(concat!(stringify!($store), ": Clones call each other"), LIMIT, || {
                    let threads: Vec<_> = (0..4)
                        .map(|t| {
                            thread::spawn(move || {
                                for round in 0..2_000_u64 {
                                    let n = (round * 7 + t) % 40;
                                    if (round + t) % 2 == 0 {
                                        assert_eq!(ping(n).n, n);
                                    } else {
                                        assert_eq!(pong(n).n, n);
                                    }
                                }
                            })
                        })
                        .collect();
                    for thread in threads {
                        thread.join().unwrap();
                    }
                });
            }

            #[test]
            fn a_clone_that_panics_after_the_body_leaves_no_claim() {
                within(concat!(stringify!($store), ": Clone panics once"), LIMIT, || {
                    // The body returns, then storing a clone of its value panics.
                    CLONE_PANICS.set(true);
                    assert!(std::panic::catch_unwind(|| flaky(1)).is_err());
                    CLONE_PANICS.set(false);
                    // Another thread computes the key (it would wait for ever
                    // for a claim left behind), and so does this one, again and
                    // again (it would take that claim for infinite recursion).
                    assert_eq!(thread::spawn(|| flaky(1)).join().unwrap(), Flaky(1));
                    for _ in 0..100 {
                        assert_eq!(flaky(1), Flaky(1));
                    }
                });
            }

            #[test]
            fn a_waiter_whose_clone_panics_leaves_no_stale_value() {
                within(concat!(stringify!($store), ": a waiter's Clone panics"), LIMIT, || {
                    let first = SLOW.start(|| slow(1));
                    // A waiter, whose hand-over clone panics.
                    let waiter = thread::spawn(|| {
                        CLONE_PANICS.set(true);
                        let got = std::panic::catch_unwind(|| slow(1));
                        CLONE_PANICS.set(false);
                        got.map_err(drop)
                    });
                    thread::sleep(Duration::from_millis(100));
                    SLOW.open();
                    let old = first.join().unwrap();
                    let _ = waiter.join().unwrap();
                    // After `clear()`, the body runs again: no value of the old
                    // computation comes back.
                    slow_cache().clear();
                    let new = slow(1);
                    assert_ne!(new, old, "a value from before clear() came back");
                    assert_eq!(slow(1), new);
                });
            }
        }
    )*};
}

on_every_store! {
    unbounded: [];
    small_lru: [maxsize = 10];
    big_lru: [maxsize = 1000];
    expiring: [ttl = Duration::from_secs(600)];
    expiring_lru: [maxsize = 10, ttl = Duration::from_secs(600)];
}

/// The same tests on stores whose values a thread cannot re-enter (the
/// user's store clones under its own `std` mutex) or whose insert panics.
macro_rules! on_every_store_with_flights {
    ($($store:ident: [$($opts:tt)*];)*) => {$(
        mod $store {
            use super::*;

            pub static SLOW: Gate = Gate::new();
            pub static REFRESHED: Gate = Gate::new();

            /// Returns its run number; the first run waits for `SLOW` to open.
            #[memoize($($opts)*)]
            pub fn slow(n: u64) -> u64 {
                n * 1000 + SLOW.run()
            }

            /// The same, with a gate of its own.
            #[memoize($($opts)*)]
            pub fn refreshed(n: u64) -> u64 {
                n * 1000 + REFRESHED.run()
            }

            #[test]
            fn clear_wins_against_a_running_computation() {
                within(concat!(stringify!($store), ": clear() during a computation"), LIMIT, || {
                    let first = SLOW.start(|| slow(1));
                    slow_cache().clear();
                    // Called after clear(): it must not get, or wait for, the
                    // value of the computation from before.
                    let after = slow(1);
                    assert_eq!(after, 1001, "a call after clear() got the old computation's value");
                    SLOW.open();
                    assert_eq!(first.join().unwrap(), 1000, "the first caller gets its own value");
                    // The old value is not stored after the clear().
                    assert_eq!(slow(1), 1001, "a value from before clear() was stored after it");
                });
            }

            #[test]
            fn refresh_wins_against_a_running_computation() {
                within(concat!(stringify!($store), ": refresh() during a computation"), LIMIT, || {
                    let first = REFRESHED.start(|| refreshed(1));
                    let fresh = refreshed_cache().refresh(|| refreshed(1));
                    assert_eq!(fresh, 1001, "refresh() returned the running computation's value");
                    REFRESHED.open();
                    assert_eq!(first.join().unwrap(), 1000);
                    assert_eq!(refreshed(1), 1001, "a value from before refresh() was stored after it");
                });
            }
        }
    )*};
}

on_every_store_with_flights! {
    flights_unbounded: [];
    flights_small_lru: [maxsize = 10];
    flights_big_lru: [maxsize = 1000];
    flights_expiring: [ttl = Duration::from_secs(600)];
    flights_user_store: [store = ListStore::new()];
}

static PANIC_NEXT_INSERT: AtomicBool = AtomicBool::new(false);

/// A store whose `insert` panics once when [`PANIC_NEXT_INSERT`] is set.
pub struct ArmedStore<K, V>(ListStore<K, V>);

impl<K: Eq + std::hash::Hash + Send, V: Clone + Send> Store<K, V> for ArmedStore<K, V> {
    fn get<Q>(&self, key: &Q) -> Result<Option<V>, StoreError>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        self.0.get(key)
    }

    fn insert(&self, key: K, value: V) -> Result<(), StoreError> {
        assert!(!PANIC_NEXT_INSERT.swap(false, SeqCst), "the store's insert panics, once");
        self.0.insert(key, value)
    }

    fn remove<Q>(&self, key: &Q) -> Result<bool, StoreError>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        self.0.remove(key)
    }

    fn clear(&self) -> Result<(), StoreError> {
        self.0.clear()
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

#[memoize(store = ArmedStore(ListStore::new()))]
fn armed(n: u64) -> u64 {
    n
}

#[test]
fn a_store_insert_that_panics_once_leaves_no_claim() {
    within("a store's insert panics once", LIMIT, || {
        PANIC_NEXT_INSERT.store(true, SeqCst);
        assert!(std::panic::catch_unwind(|| armed(1)).is_err());
        assert_eq!(thread::spawn(|| armed(1)).join().unwrap(), 1);
        for _ in 0..100 {
            assert_eq!(armed(1), 1);
        }
    });
}

thread_local! {
    /// Whether the next drop of a [`Bomb`] on this thread panics (once).
    static DROP_PANICS: Cell<bool> = const { Cell::new(false) };
}

/// A value whose `Drop` panics once when this thread's [`DROP_PANICS`] is set.
#[derive(Debug, Clone, PartialEq)]
pub struct Bomb(u64);

impl Drop for Bomb {
    fn drop(&mut self) {
        if DROP_PANICS.replace(false) && !thread::panicking() {
            panic!("a Drop that panics, once");
        }
    }
}

#[memoize(ttl = Duration::from_secs(60))]
fn bombs(n: u64) -> Bomb {
    Bomb(n)
}

#[memoize(maxsize = 10, ttl = Duration::from_secs(60))]
fn bombs_lru(n: u64) -> Bomb {
    Bomb(n)
}

#[test]
fn an_expired_entry_whose_drop_panics_leaves_no_claim() {
    within("an expired entry's Drop panics", LIMIT, || {
        for f in [bombs as fn(u64) -> Bomb, bombs_lru] {
            let clock = memo::clock::MockClock::start();
            assert_eq!(f(1), Bomb(1));
            clock.advance(Duration::from_secs(61));
            // The lookup removes the expired entry, claims the key, and
            // drops the entry: its Drop panics.
            DROP_PANICS.set(true);
            assert!(std::panic::catch_unwind(|| f(1)).is_err());
            DROP_PANICS.set(false);
            drop(clock);
            assert_eq!(thread::spawn(move || f(1)).join().unwrap(), Bomb(1));
            for _ in 0..100 {
                assert_eq!(f(1), Bomb(1));
            }
        }
    });
}

thread_local! {
    /// Whether the next `Clone` of a [`TouchyKey`] on this thread panics.
    static KEY_CLONE_PANICS: Cell<bool> = const { Cell::new(false) };
}

/// A key whose `Clone` panics once when this thread's [`KEY_CLONE_PANICS`]
/// is set.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct TouchyKey(u64);

impl Clone for TouchyKey {
    fn clone(&self) -> Self {
        assert!(!KEY_CLONE_PANICS.replace(false), "a key's Clone that panics, once");
        TouchyKey(self.0)
    }
}

static TAKEOVER_RUNS: AtomicU64 = AtomicU64::new(0);

/// The first run waits, then panics; later runs return the key.
#[memoize]
fn taken_over(key: TouchyKey) -> u64 {
    if TAKEOVER_RUNS.fetch_add(1, SeqCst) == 0 {
        thread::sleep(Duration::from_millis(200));
        panic!("the first computation panics");
    }
    key.0
}

#[test]
fn a_key_whose_clone_panics_in_a_takeover_leaves_no_claim() {
    within("a key's Clone panics as a waiter takes over", LIMIT, || {
        let first = thread::spawn(|| std::panic::catch_unwind(|| taken_over(TouchyKey(3))).is_err());
        thread::sleep(Duration::from_millis(50));
        // Two waiters; the one whose key's Clone panics may be the one to
        // take over, and the other must not wait for ever.
        let touchy = thread::spawn(|| {
            KEY_CLONE_PANICS.set(true);
            let got = std::panic::catch_unwind(|| taken_over(TouchyKey(3)));
            KEY_CLONE_PANICS.set(false);
            got.ok()
        });
        let calm = thread::spawn(|| taken_over(TouchyKey(3)));
        assert!(first.join().unwrap());
        assert!(matches!(touchy.join().unwrap(), None | Some(3)));
        assert_eq!(calm.join().unwrap(), 3);
        assert_eq!(taken_over(TouchyKey(3)), 3);
    });
}
