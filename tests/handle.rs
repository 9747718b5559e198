//! The handle: `f_cache()` beside `f`, with `info`, `clear`, `remove`, `len`,
//! and a `CacheInfo` that prints like Python's.

use memo::memoize;

#[memoize(maxsize = 2)]
fn shout(s: &str) -> String {
    s.to_uppercase()
}

mod inner {
    use memo::memoize;

    #[memoize]
    pub fn visible(x: u8) -> u8 {
        x
    }
}

#[test]
fn the_handle_reports_and_manages_the_cache() {
    let fresh = shout_cache().info();
    assert_eq!(fresh.to_string(), "CacheInfo(hits=0, misses=0, maxsize=2, currsize=0)");
    assert!(shout_cache().is_empty());

    shout("a");
    shout("a");
    shout("b");
    shout("c");
    let info = shout_cache().info();
    assert_eq!(info.to_string(), "CacheInfo(hits=1, misses=3, maxsize=2, currsize=2, evictions=1)");
    assert_eq!(shout_cache().len(), 2);
    assert!((info.hit_rate() - 0.25).abs() < 1e-9);

    assert!(shout_cache().remove(&String::from("c")));
    assert!(!shout_cache().remove(&String::from("c")));
    assert!(!shout_cache().remove(&"b"), "a key of another type matches nothing");
    assert_eq!(shout_cache().len(), 1);

    shout_cache().clear();
    assert_eq!(shout_cache().info(), fresh);
    assert_eq!(shout_cache().name(), "shout");
    assert!(format!("{:?}", shout_cache()).contains("shout"));
}

#[test]
fn the_handle_has_the_functions_visibility() {
    assert_eq!(inner::visible(3), 3);
    assert_eq!(inner::visible_cache().info().misses, 1);
}

static FIB_RUNS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

#[memoize]
fn fib(n: u64) -> u64 {
    FIB_RUNS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    if n < 2 { n } else { fib(n - 1) + fib(n - 2) }
}

#[test]
fn refresh_recomputes_one_entry_and_recursion_still_hits() {
    use std::sync::atomic::Ordering::SeqCst;
    assert_eq!(fib(20), 6765);
    assert_eq!(FIB_RUNS.load(SeqCst), 21);
    // Only fib(20)'s body runs again; fib(19) and fib(18) come from the cache.
    assert_eq!(fib_cache().refresh(|| fib(20)), 6765);
    assert_eq!(FIB_RUNS.load(SeqCst), 22);
    // Refreshing a key that was never cached computes and caches it.
    assert_eq!(fib_cache().refresh(|| fib(21)), 10946);
    assert_eq!(FIB_RUNS.load(SeqCst), 23);
    assert_eq!(fib(21), 10946);
    assert_eq!(FIB_RUNS.load(SeqCst), 23);
    assert_eq!(fib_cache().len(), 22);
}
