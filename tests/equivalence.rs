//! A memoized function returns exactly what the plain function returns, for
//! any sequence of calls and any `maxsize`; the counts add up and the size
//! stays within `maxsize`.

use std::num::NonZeroUsize;

use memo::{Cache, Lru, memoize};
use proptest::prelude::*;

/// The plain function: anything deterministic that mixes its arguments.
fn plain(a: u16, s: &str) -> u64 {
    s.bytes().fold(u64::from(a), |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)))
}

#[memoize]
fn unbounded(a: u16, s: &str) -> u64 {
    plain(a, s)
}

#[memoize(maxsize = 1)]
fn lru1(a: u16, s: &str) -> u64 {
    plain(a, s)
}

#[memoize(maxsize = 3)]
fn lru3(a: u16, s: &str) -> u64 {
    plain(a, s)
}

const SEVENTEEN: usize = 17;

#[memoize(maxsize = SEVENTEEN)]
fn lru17(a: u16, s: &str) -> u64 {
    plain(a, s)
}

type Memoized = fn(u16, &str) -> u64;

fn calls() -> impl Strategy<Value = Vec<(u16, String)>> {
    proptest::collection::vec((0..20_u16, "[ab]{0,3}"), 0..200)
}

proptest! {
    // The macro's functions are process-wide, so one test drives all of them.
    #[test]
    fn memoized_functions_return_what_the_plain_function_returns(calls in calls()) {
        let functions: [(Memoized, &memo::CacheHandle); 4] = [
            (unbounded, unbounded_cache()),
            (lru1, lru1_cache()),
            (lru3, lru3_cache()),
            (lru17, lru17_cache()),
        ];
        for (function, handle) in functions {
            handle.clear();
            for (i, (a, s)) in calls.iter().enumerate() {
                prop_assert_eq!(function(*a, s), plain(*a, s));
                let info = handle.info();
                prop_assert_eq!(info.hits + info.misses, i as u64 + 1);
                if let Some(maxsize) = info.maxsize {
                    prop_assert!(info.currsize <= maxsize);
                }
            }
        }
    }

    #[test]
    fn any_maxsize_returns_what_the_plain_function_returns(maxsize in 1..40_usize, calls in calls()) {
        let cache: Cache<(u16, String), u64, Lru<_, _>> = Cache::new(Lru::new(NonZeroUsize::new(maxsize).unwrap()));
        let mut body_runs = 0_u64;
        for (i, (a, s)) in calls.iter().enumerate() {
            let key = (*a, s.clone());
            let value = cache.get_or_insert_with(&key, || {
                body_runs += 1;
                plain(*a, s)
            });
            prop_assert_eq!(value, plain(*a, s));
            let info = cache.info();
            prop_assert_eq!(info.hits + info.misses, i as u64 + 1);
            prop_assert_eq!(info.misses, body_runs);
            prop_assert!(info.currsize <= maxsize);
        }
    }
}

#[memoize(maxsize = 3)]
fn recent3(a: u16, s: &str) -> u64 {
    plain(a, s)
}

#[test]
fn lru_keeps_the_most_recently_used() {
    for s in ["a", "b", "c", "a", "d"] {
        recent3(0, s);
    }
    // "b" was the least recently used when "d" came.
    assert!(!recent3_cache().remove(&(0_u16, String::from("b"))));
    assert!(recent3_cache().remove(&(0_u16, String::from("a"))));
    assert_eq!(recent3_cache().len(), 2);
}
