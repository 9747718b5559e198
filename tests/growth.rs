//! A store is one part until threads meet on its lock, then grows into many
//! (memo-core's `Shards::growing`, model-checked with loom in
//! `memo-core/src/parts/loom_model.rs`). Here the growth races what a program
//! does: misses, hits, `remove` and `clear()` from four threads on a fresh
//! cache each round, so that rounds grow a store while it is used. Every
//! value must be the function's, and no round may hang.

mod watchdog;

use std::num::NonZeroUsize;
use std::time::Duration;

use memo::{Cache, Exact, Lru, Store, Unbounded};
use watchdog::within;

fn value(k: u64) -> u64 {
    k.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 7
}

fn next(x: u64) -> u64 {
    let x = x ^ (x << 13);
    let x = x ^ (x >> 7);
    x ^ (x << 17)
}

/// Four threads on `cache`; every value they get, and every value left in
/// it, is checked.
fn round<S: Store<u64, u64> + Send + Sync + 'static>(cache: &Cache<u64, u64, S>) {
    std::thread::scope(|scope| {
        for thread in 0..4_u64 {
            scope.spawn(move || {
                let mut x = thread + 1;
                for i in 0..2_000_u64 {
                    x = next(x);
                    let k = x % 256;
                    let got = cache.get_or_insert_with(&k, || {
                        if i % 64 == 0 {
                            // Long enough, now and then, for others to wait.
                            std::thread::yield_now();
                        }
                        value(k)
                    });
                    assert_eq!(got, value(k), "key {k}");
                    if thread == 0 && i % 500 == 250 {
                        cache.clear();
                    }
                    if i % 97 == 0 {
                        cache.remove(&k);
                    }
                }
            });
        }
    });
    for k in 0..256 {
        if let Ok(stored) = cache.lookup(&Exact(&k)) {
            assert_eq!(stored, value(k), "stored for key {k}");
        }
    }
    let info = cache.info();
    assert!(info.currsize <= 256, "{info}");
}

#[test]
fn an_unbounded_store_that_grows_while_used_keeps_every_value_right() {
    within("unbounded growth", Duration::from_secs(120), || {
        for _ in 0..100 {
            round(&Cache::new(Unbounded::new()));
        }
    });
}

#[test]
fn an_lru_that_grows_while_used_keeps_every_value_right_and_its_bound() {
    within("LRU growth", Duration::from_secs(120), || {
        for maxsize in [128, 1000] {
            for _ in 0..50 {
                let cache = Cache::new(Lru::new(NonZeroUsize::new(maxsize).unwrap()));
                round(&cache);
                assert!(cache.len() <= maxsize);
            }
        }
    });
}
