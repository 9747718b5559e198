//! The functions every bench measures, once per cache: ours, the hand-written
//! baselines, and the peer crates `cached` 4 and `memoize` 0.6. Each family has
//! a recursive `fib` and a one-step `mix`, the same bodies under every cache,
//! and a `clear` that empties both caches the way that cache's users would.

#![allow(dead_code, reason = "each bench uses some of the families")]

use std::hash::BuildHasher;

/// A family of memoized functions under one cache attribute.
macro_rules! family {
    ($module:ident, [$($attr:tt)*], $clear:block) => {
        pub mod $module {
            #[$($attr)*]
            pub fn fib(n: u64) -> u64 {
                if n < 2 { n } else { fib(n - 1).wrapping_add(fib(n - 2)) }
            }

            #[$($attr)*]
            pub fn mix(n: u64) -> u64 {
                n.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            }

            /// Empties both caches.
            pub fn clear() $clear
        }
    };
}

family!(memo_unbounded, [memo::memoize], {
    fib_cache().clear();
    mix_cache().clear();
});
family!(memo_lru, [memo::memoize(maxsize = 1000)], {
    fib_cache().clear();
    mix_cache().clear();
});
family!(memo_no_flight, [memo::memoize(single_flight = false)], {
    fib_cache().clear();
    mix_cache().clear();
});
family!(cached_unbounded, [cached::proc_macro::cached], {
    use cached::Cached;
    FIB.write().cache_reset();
    MIX.write().cache_reset();
});
family!(cached_lru, [cached::proc_macro::cached(max_size = 1000)], {
    use cached::Cached;
    FIB.write().cache_reset();
    MIX.write().cache_reset();
});
family!(memoize_unbounded, [memoize::memoize], {
    memoized_flush_fib();
    memoized_flush_mix();
});
family!(memoize_lru, [memoize::memoize(Capacity: 1000)], {
    memoized_flush_fib();
    memoized_flush_mix();
});
family!(memoize_shared, [memoize::memoize(SharedCache)], {
    memoized_flush_fib();
    memoized_flush_mix();
});

/// What one writes by hand: look up under the lock, release it, run the body,
/// lock again to insert.
macro_rules! baseline {
    ($module:ident, $map:ty, $new:expr, $get:ident, $insert:ident) => {
        pub mod $module {
            use std::sync::LazyLock;

            use parking_lot::Mutex;

            type Map = $map;
            static FIB: LazyLock<Mutex<Map>> = LazyLock::new(|| Mutex::new($new));
            static MIX: LazyLock<Mutex<Map>> = LazyLock::new(|| Mutex::new($new));

            pub fn fib(n: u64) -> u64 {
                if let Some(&v) = FIB.lock().$get(&n) {
                    return v;
                }
                let v = if n < 2 { n } else { fib(n - 1).wrapping_add(fib(n - 2)) };
                FIB.lock().$insert(n, v);
                v
            }

            pub fn mix(n: u64) -> u64 {
                if let Some(&v) = MIX.lock().$get(&n) {
                    return v;
                }
                let v = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
                MIX.lock().$insert(n, v);
                v
            }

            /// Empties both maps and gives their memory back, as
            /// `memo`'s `clear` does.
            pub fn clear() {
                *FIB.lock() = $new;
                *MIX.lock() = $new;
            }
        }
    };
}

baseline!(
    baseline_unbounded,
    hashbrown::HashMap<u64, u64, foldhash::fast::RandomState>,
    Map::default(),
    get,
    insert
);
baseline!(
    baseline_lru,
    lru::LruCache<u64, u64, foldhash::fast::RandomState>,
    Map::with_hasher(std::num::NonZeroUsize::new(1000).unwrap(), foldhash::fast::RandomState::default()),
    get,
    put
);

/// One cache's functions, for a bench to run them in turn.
#[derive(Clone, Copy)]
pub struct Family {
    pub name: &'static str,
    pub fib: fn(u64) -> u64,
    pub mix: fn(u64) -> u64,
    pub clear: fn(),
}

macro_rules! families {
    ($($name:literal => $module:ident),* $(,)?) => {
        [$(Family { name: $name, fib: $module::fib, mix: $module::mix, clear: $module::clear }),*]
    };
}

/// The unbounded caches (ours also without single-flight, for its cost).
pub const UNBOUNDED: &[Family] = &families![
    "memo" => memo_unbounded,
    "memo single_flight=false" => memo_no_flight,
    "baseline Mutex<HashMap>" => baseline_unbounded,
    "cached" => cached_unbounded,
    "memoize" => memoize_unbounded,
];

/// The caches of at most 1,000 entries.
pub const LRU: &[Family] = &families![
    "memo maxsize=1000" => memo_lru,
    "baseline Mutex<LruCache>" => baseline_lru,
    "cached max_size=1000" => cached_lru,
    "memoize Capacity:1000" => memoize_lru,
];

/// The caches that threads share (`memoize`'s default is one per thread).
pub const SHARED: &[Family] = &families![
    "memo" => memo_unbounded,
    "memo maxsize=1000" => memo_lru,
    "baseline Mutex<HashMap>" => baseline_unbounded,
    "baseline Mutex<LruCache>" => baseline_lru,
    "cached" => cached_unbounded,
    "cached max_size=1000" => cached_lru,
    "memoize SharedCache" => memoize_shared,
];

/// The warm keys of the hit benches.
pub const KEYS: u64 = 1_000;

/// Keys in an order the branch predictor cannot learn, all below `KEYS`.
pub fn keys() -> impl FnMut() -> u64 {
    let state = foldhash::fast::FixedState::with_seed(1);
    let mut i = 0_u64;
    move || {
        i += 1;
        state.hash_one(i) % KEYS
    }
}

/// Criterion set for the whole suite to stay within a few minutes.
pub fn criterion() -> criterion::Criterion {
    criterion::Criterion::default()
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(2))
}
