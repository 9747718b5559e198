//! Everything at once, from four threads, on every store: seeded random calls
//! over 64 keys, interleaved with `clear()`, `remove(&key)` and
//! `refresh(|| f(key))`, with values whose `Clone` panics now and then and
//! values whose `Clone` calls another memoized function (whose values' `Clone`
//! may call back). Every value that comes back is checked against the plain
//! function; afterwards the counts of a function that is never cleared must
//! add up to the calls made to it.
//!
//! Each test runs under a watchdog: a hang fails it.

mod watchdog;

use std::cell::Cell;
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind, panic_any};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Barrier, Mutex, MutexGuard, Once, PoisonError};
use std::thread;
use std::time::Duration;

use memo::{CacheInfo, KeyView, Store, StoreError, memoize};
use watchdog::within;

const LIMIT: Duration = Duration::from_secs(60);
const THREADS: usize = 4;
const KEYS: u64 = 64;
/// Operations per thread.
const OPS: u64 = 20_000;
/// How deep `Clone`s that call memoized functions may nest on one thread.
const MAX_DEPTH: u32 = 2;

/// A tiny xorshift64: seeded, so that every run makes the same choices on
/// each thread (the threads' interleaving is the only thing left to chance).
#[derive(Clone, Copy)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

thread_local! {
    /// 0: clones do not panic; n > 0: the n-th clone from now on this thread
    /// panics (with [`Deliberate`]).
    static PANIC_IN: Cell<u32> = const { Cell::new(0) };
    /// How deep this thread is in `Clone`s that call memoized functions.
    static DEPTH: Cell<u32> = const { Cell::new(0) };
    /// The choices of `Clone`s on this thread: whether to call back, and with
    /// which key.
    static CLONE_RNG: Cell<Rng> = const { Cell::new(Rng(0x2545_F491_4F6C_DD1D)) };
}

/// The payload of the panics that the tests provoke.
struct Deliberate;

/// The three memoized functions of each store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Which {
    /// Values whose `Clone` calls `inner`.
    Outer,
    /// Values whose `Clone` calls `outer`, where the store allows it.
    Inner,
    /// Never cleared, no re-entry: its counts are checked.
    Counted,
}

const ALL: [Which; 3] = [Which::Outer, Which::Inner, Which::Counted];

/// The plain functions: a different one for each memoized function, so that
/// a value of another function, or of another key, shows up.
fn plain(which: Which, k: u64) -> u64 {
    match which {
        Which::Outer => k * 31 + 7,
        Which::Inner => k * 17 + 3,
        Which::Counted => k * 13 + 5,
    }
}

/// A value, computed by the body of `which` for `key`.
#[derive(Debug)]
pub struct Val {
    which: Which,
    key: u64,
    value: u64,
    /// Called with a key by `Clone` (a checked call of another memoized
    /// function), at most [`MAX_DEPTH`] deep.
    via: Option<fn(u64)>,
}

impl Val {
    fn new(which: Which, key: u64, via: Option<fn(u64)>) -> Self {
        Val { which, key, value: plain(which, key), via }
    }
}

/// Puts a thread's clone depth back, also when a clone unwinds.
struct Depth(u32);

impl Drop for Depth {
    fn drop(&mut self) {
        DEPTH.set(self.0);
    }
}

impl Clone for Val {
    fn clone(&self) -> Self {
        if let Some(via) = self.via {
            let mut rng = CLONE_RNG.get();
            let (again, key) = (rng.below(2) == 0, rng.below(KEYS));
            CLONE_RNG.set(rng);
            let depth = DEPTH.get();
            if again && depth < MAX_DEPTH {
                let _back = Depth(depth);
                DEPTH.set(depth + 1);
                // A hit or a miss of another cache, from inside this one's
                // bookkeeping; its own clones may panic, through this one.
                via(key);
            }
        }
        let countdown = PANIC_IN.get();
        if countdown > 0 {
            PANIC_IN.set(countdown - 1);
            if countdown == 1 {
                panic_any(Deliberate);
            }
        }
        Val { which: self.which, key: self.key, value: self.value, via: self.via }
    }
}

/// What went wrong in one test, kept rather than panicked, since a panic
/// inside a `Clone` may be one that the test catches; and how often the
/// hostile paths ran, so that a test that no longer exercises them fails.
struct Failures {
    failed: Mutex<(usize, Vec<String>)>,
    /// Provoked panics that came back to the caller.
    caught: AtomicU64,
    /// Calls made by `Clone`s.
    reentries: AtomicU64,
}

impl Failures {
    const fn new() -> Self {
        Failures {
            failed: Mutex::new((0, Vec::new())),
            caught: AtomicU64::new(0),
            reentries: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, (usize, Vec<String>)> {
        self.failed.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn add(&self, what: String) {
        let mut failures = self.lock();
        failures.0 += 1;
        if failures.1.len() < 20 {
            failures.1.push(what);
        }
    }

    /// Checks what a call of `which` from a `Clone` returned.
    fn reentered(&self, which: Which, k: u64, got: &Val) {
        self.reentries.fetch_add(1, Relaxed);
        self.expect(which, k, got);
    }

    /// Checks that `got` is what the plain function `which` returns for `k`.
    fn expect(&self, which: Which, k: u64, got: &Val) {
        if (got.which, got.key, got.value) != (which, k, plain(which, k)) {
            self.add(format!(
                "{which:?}({k}) returned {:?}({}) = {}, the plain function {}",
                got.which,
                got.key,
                got.value,
                plain(which, k)
            ));
        }
    }

    fn assert_none(&self, name: &str) {
        let failures = self.lock();
        assert!(
            failures.0 == 0,
            "{name}: {} failures, the first ones:\n{}",
            failures.0,
            failures.1.join("\n")
        );
    }
}

/// A store of the user's own (as `ListStore` in `tests/hostile.rs`), which
/// takes a `Clone` that panics under its lock in its stride.
pub struct UserStore<K, V> {
    map: Mutex<HashMap<K, V>>,
}

impl<K, V> UserStore<K, V> {
    pub fn new() -> Self {
        UserStore { map: Mutex::new(HashMap::new()) }
    }

    /// A panic under the lock can only have been a value's `Clone` in `get`,
    /// which changed nothing.
    fn map(&self) -> MutexGuard<'_, HashMap<K, V>> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<K, V> Default for UserStore<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Eq + std::hash::Hash + Send, V: Clone + Send> Store<K, V> for UserStore<K, V> {
    fn get<Q>(&self, key: &Q) -> Result<Option<V>, StoreError>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        Ok(self.map().iter().find(|(k, _)| key.matches(k)).map(|(_, v)| v.clone()))
    }

    fn insert(&self, key: K, value: V) -> Result<(), StoreError> {
        self.map().insert(key, value);
        Ok(())
    }

    fn remove<Q>(&self, key: &Q) -> Result<bool, StoreError>
    where
        Q: KeyView<Owned = K> + ?Sized,
    {
        let mut map = self.map();
        let before = map.len();
        map.retain(|k, _| !key.matches(k));
        Ok(map.len() != before)
    }

    fn clear(&self) -> Result<(), StoreError> {
        self.map().clear();
        Ok(())
    }

    fn len(&self) -> usize {
        self.map().len()
    }
}

/// What the driver needs of one store's functions.
#[derive(Clone, Copy)]
struct Fns {
    call: fn(Which, u64) -> Val,
    clear: fn(Which),
    remove: fn(Which, u64) -> bool,
    /// `None` for `scope = thread`, whose handle has no `refresh`.
    refresh: Option<fn(Which, u64) -> Val>,
    info: fn(Which) -> CacheInfo,
    failures: &'static Failures,
    /// Whether the threads share the caches (else each has its own).
    shared: bool,
}

/// Silences the panics the tests provoke; passes the others on.
fn quiet_deliberate_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !info.payload().is::<Deliberate>() {
                previous(info);
            }
        }));
    });
}

/// One call of `which` (through `refresh` if asked and there is one), whose
/// `arm`-th clone panics (none if 0); returns whether it was a call of
/// `Which::Counted`.
fn attempt(fns: Fns, which: Which, k: u64, refresh: bool, arm: u32) -> bool {
    let call = match (refresh, fns.refresh) {
        (true, Some(refresh)) => refresh,
        _ => fns.call,
    };
    PANIC_IN.set(arm);
    let got = catch_unwind(AssertUnwindSafe(|| call(which, k)));
    PANIC_IN.set(0);
    if DEPTH.get() != 0 {
        fns.failures.add(format!("{which:?}({k}): clone depth {} after the call", DEPTH.get()));
        DEPTH.set(0);
    }
    match got {
        Ok(got) => fns.failures.expect(which, k, &got),
        Err(panic) if arm > 0 && panic.is::<Deliberate>() => {
            fns.failures.caught.fetch_add(1, Relaxed);
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or(if panic.is::<Deliberate>() { "a clone's panic, unarmed" } else { "?" });
            fns.failures.add(format!("{which:?}({k}) panicked (refresh: {refresh}, arm: {arm}): {what}"));
        }
    }
    which == Which::Counted
}

/// One thread's random operations; returns how many calls it made of
/// `Which::Counted`, and that function's counts as this thread sees them.
fn work(fns: Fns, seed: u64) -> (u64, CacheInfo) {
    let mut rng = Rng::new(seed);
    CLONE_RNG.set(Rng::new(seed ^ 0xC0FF_EE00));
    let mut counted = 0;
    for _ in 0..OPS {
        let k = rng.below(KEYS);
        let mut arm = if rng.below(100) < 15 { 1 + rng.below(3) as u32 } else { 0 };
        let op = rng.below(100);
        let (which, refresh) = match op {
            0..40 => (Which::Outer, false),
            40..60 => (Which::Inner, false),
            60..80 => (Which::Counted, false),
            80..84 => {
                // `Which::Counted` is never cleared: its counts must add up.
                (fns.clear)(if rng.below(2) == 0 { Which::Outer } else { Which::Inner });
                continue;
            }
            84..92 => {
                (fns.remove)(ALL[rng.below(3) as usize], k);
                continue;
            }
            _ => (ALL[rng.below(3) as usize], true),
        };
        if which == Which::Counted {
            // Whether a hit whose clone panicked counts depends on the store
            // (see `panicking_hits` below): the counts of `Which::Counted`
            // are checked, so its clones never panic.
            arm = 0;
        }
        counted += u64::from(attempt(fns, which, k, refresh, arm));
        if arm > 0 {
            // Whether or not it panicked, nothing is left behind: the next
            // call returns the plain function's value.
            counted += u64::from(attempt(fns, which, k, false, 0));
        }
    }
    let info = (fns.info)(Which::Counted);
    if !fns.shared {
        finish(fns);
    }
    (counted, info)
}

/// After the storm, with no other thread on these caches: every key gives
/// the plain function's value, bounded stores hold no more than their
/// maxsize, and from a clear cache the counts are exact.
fn finish(fns: Fns) {
    for which in ALL {
        let info = (fns.info)(which);
        if let Some(maxsize) = info.maxsize
            && info.currsize > maxsize
        {
            fns.failures.add(format!("{which:?}: {info}, more entries than maxsize"));
        }
        for k in 0..KEYS {
            fns.failures.expect(which, k, &(fns.call)(which, k));
        }
    }
    (fns.clear)(Which::Counted);
    for k in 0..KEYS {
        fns.failures.expect(Which::Counted, k, &(fns.call)(Which::Counted, k));
        fns.failures.expect(Which::Counted, k, &(fns.call)(Which::Counted, k));
    }
    let info = (fns.info)(Which::Counted);
    if (info.hits, info.misses) != (KEYS, KEYS) {
        fns.failures.add(format!("Counted: {info} after one miss and one hit of each of {KEYS} keys"));
    }
}

/// The test of one store: `THREADS` threads of [`work`] at once.
fn stress(name: &'static str, fns: Fns) {
    quiet_deliberate_panics();
    within(name, LIMIT, move || {
        let seed = name
            .bytes()
            .fold(0x51_7CC1_B727_220A_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01B3));
        let start = Arc::new(Barrier::new(THREADS));
        let workers: Vec<_> = (0..THREADS as u64)
            .map(|t| {
                let start = Arc::clone(&start);
                thread::spawn(move || {
                    start.wait();
                    work(fns, seed.wrapping_add(t))
                })
            })
            .collect();
        let done: Vec<(u64, CacheInfo)> =
            workers.into_iter().map(|worker| worker.join().expect("a worker panicked")).collect();
        fns.failures.assert_none(name);
        if fns.shared {
            let calls: u64 = done.iter().map(|(calls, _)| calls).sum();
            let info = (fns.info)(Which::Counted);
            assert_eq!(info.hits + info.misses, calls, "{name}: {info} after {calls} calls of Counted");
            finish(fns);
        } else {
            for (t, (calls, info)) in done.iter().enumerate() {
                assert_eq!(
                    info.hits + info.misses,
                    *calls,
                    "{name}: thread {t}: {info} after {calls} calls of Counted on that thread"
                );
            }
        }
        fns.failures.assert_none(name);
        let (caught, reentries) = (fns.failures.caught.load(Relaxed), fns.failures.reentries.load(Relaxed));
        eprintln!("{name}: {caught} provoked panics caught, {reentries} calls from clones");
        assert!(
            caught > 100 && reentries > 1000,
            "{name}: too little hostility: {caught} panics, {reentries} re-entries"
        );
    });
}

/// What differs between the scopes: `refresh` is only on shared handles.
macro_rules! scoped {
    (shared) => {
        fn refresh(which: Which, k: u64) -> Val {
            match which {
                Which::Outer => outer_cache().refresh(|| outer(k)),
                Which::Inner => inner_cache().refresh(|| inner(k)),
                Which::Counted => counted_cache().refresh(|| counted(k)),
            }
        }
        const REFRESH: Option<fn(Which, u64) -> Val> = Some(refresh);
        const SHARED: bool = true;
    };
    (thread) => {
        const REFRESH: Option<fn(Which, u64) -> Val> = None;
        const SHARED: bool = false;
    };
}

/// The same test for every store: `$scope` is `shared` or `thread`, `$opts`
/// the options of `#[memoize]`, `$cyclic` whether `inner`'s values' `Clone`
/// calls `outer` back (not in a user store that clones under its own lock:
/// that would be the user's deadlock, the cache's locks or not).
macro_rules! on_every_store {
    ($($store:ident: $scope:ident [$($opts:tt)*] cyclic = $cyclic:literal;)*) => {$(
        mod $store {
            use super::*;

            static FAILURES: Failures = Failures::new();
            const CYCLIC: bool = $cyclic;

            #[memoize($($opts)*)]
            pub fn outer(k: u64) -> Val {
                Val::new(Which::Outer, k, Some(via_inner))
            }

            #[memoize($($opts)*)]
            pub fn inner(k: u64) -> Val {
                Val::new(Which::Inner, k, CYCLIC.then_some(via_outer as fn(u64)))
            }

            #[memoize($($opts)*)]
            pub fn counted(k: u64) -> Val {
                Val::new(Which::Counted, k, None)
            }

            fn via_inner(k: u64) {
                FAILURES.reentered(Which::Inner, k, &inner(k));
            }

            fn via_outer(k: u64) {
                FAILURES.reentered(Which::Outer, k, &outer(k));
            }

            fn call(which: Which, k: u64) -> Val {
                match which {
                    Which::Outer => outer(k),
                    Which::Inner => inner(k),
                    Which::Counted => counted(k),
                }
            }

            fn clear(which: Which) {
                match which {
                    Which::Outer => outer_cache().clear(),
                    Which::Inner => inner_cache().clear(),
                    Which::Counted => counted_cache().clear(),
                }
            }

            fn remove(which: Which, k: u64) -> bool {
                match which {
                    Which::Outer => outer_cache().remove(&k),
                    Which::Inner => inner_cache().remove(&k),
                    Which::Counted => counted_cache().remove(&k),
                }
            }

            fn info(which: Which) -> CacheInfo {
                match which {
                    Which::Outer => outer_cache().info(),
                    Which::Inner => inner_cache().info(),
                    Which::Counted => counted_cache().info(),
                }
            }

            scoped!($scope);

            #[test]
            fn four_threads_of_random_calls_clears_removes_refreshes_and_hostile_clones() {
                stress(
                    concat!(stringify!($store), ": stress"),
                    Fns { call, clear, remove, refresh: REFRESH, info, failures: &FAILURES, shared: SHARED },
                );
            }
        }
    )*};
}

on_every_store! {
    unbounded: shared [] cyclic = true;
    small_lru: shared [maxsize = 10] cyclic = true;
    big_lru: shared [maxsize = 1000] cyclic = true;
    expiring: shared [ttl = Duration::from_secs(600)] cyclic = true;
    expiring_lru: shared [maxsize = 10, ttl = Duration::from_secs(600)] cyclic = true;
    user_store: shared [store = UserStore::new()] cyclic = false;
    thread_unbounded: thread [scope = thread] cyclic = true;
    thread_small_lru: thread [scope = thread, maxsize = 10] cyclic = true;
}

/// The counts of a miss, a hit, and a hit whose value's `Clone` panics, on
/// every store: the same sequence of calls must give the same counts
/// (README: "`hits + misses` is always the number of calls").
macro_rules! panicking_hits {
    ($($store:ident: [$($opts:tt)*];)*) => {
        mod panicking_hits {
            use super::*;

            $(
                mod $store {
                    use super::*;

                    #[memoize($($opts)*)]
                    pub fn f(k: u64) -> Val {
                        Val::new(Which::Counted, k, None)
                    }

                    /// (hits, misses) after the three calls.
                    pub fn counts() -> (u64, u64) {
                        assert_eq!(f(1).value, plain(Which::Counted, 1), "a miss");
                        assert_eq!(f(1).value, plain(Which::Counted, 1), "a hit");
                        PANIC_IN.set(1);
                        let got = catch_unwind(|| f(1));
                        PANIC_IN.set(0);
                        assert!(got.is_err_and(|panic| panic.is::<Deliberate>()), "the hit's clone panics");
                        let info = f_cache().info();
                        (info.hits, info.misses)
                    }
                }
            )*

            #[test]
            fn a_hit_whose_clone_panics_is_not_counted_by_any_store() {
                quiet_deliberate_panics();
                within("a hit whose clone panics", LIMIT, || {
                    let counts = [$((stringify!($store), $store::counts())),*];
                    let report = counts
                        .iter()
                        .map(|(store, (hits, misses))| format!("{store}: hits={hits}, misses={misses}"))
                        .collect::<Vec<_>>()
                        .join("; ");
                    // A hit whose `Clone` panics did not return: it is not
                    // counted (README, "Threads").
                    assert!(
                        counts.iter().all(|(_, c)| *c == (1, 1)),
                        "3 calls (a miss, a hit, a hit whose Clone panicked), counted otherwise than 1 hit and 1 miss: {report}"
                    );
                });
            }
        }
    };
}

panicking_hits! {
    unbounded: [];
    small_lru: [maxsize = 10];
    big_lru: [maxsize = 1000];
    expiring: [ttl = Duration::from_secs(600)];
    expiring_lru: [maxsize = 10, ttl = Duration::from_secs(600)];
    user_store: [store = UserStore::new()];
    thread_unbounded: [scope = thread];
    thread_small_lru: [scope = thread, maxsize = 10];
}
