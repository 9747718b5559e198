//! Recursion goes through the cache: `fib(90)` from an empty cache runs the
//! body exactly 91 times.

use std::sync::atomic::{AtomicU64, Ordering::SeqCst};

use memo::memoize;

static BODY_RUNS: AtomicU64 = AtomicU64::new(0);

#[memoize]
fn fib(n: u64) -> u64 {
    BODY_RUNS.fetch_add(1, SeqCst);
    if n < 2 { n } else { fib(n - 1) + fib(n - 2) }
}

static LRU_RUNS: AtomicU64 = AtomicU64::new(0);

#[memoize(maxsize = 3)]
fn fib_lru(n: u64) -> u64 {
    LRU_RUNS.fetch_add(1, SeqCst);
    if n < 2 { n } else { fib_lru(n - 1) + fib_lru(n - 2) }
}

#[test]
fn fib_90_runs_the_body_91_times() {
    assert_eq!(fib(90), 2_880_067_194_370_816_120);
    assert_eq!(BODY_RUNS.load(SeqCst), 91);
    let info = fib_cache().info();
    assert_eq!((info.misses, info.hits, info.currsize), (91, 88, 91));
    assert_eq!(fib(90), 2_880_067_194_370_816_120);
    assert_eq!(BODY_RUNS.load(SeqCst), 91);
}

#[test]
fn a_small_lru_is_enough_for_fib() {
    // fib(n) needs fib(n-1) and fib(n-2): three entries keep it linear.
    assert_eq!(fib_lru(90), 2_880_067_194_370_816_120);
    assert_eq!(LRU_RUNS.load(SeqCst), 91);
    assert_eq!(fib_lru_cache().info().currsize, 3);
}
