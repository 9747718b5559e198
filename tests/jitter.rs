//! `jitter`: entries written together get lifetimes spread over the whole
//! range asked for, each expires at exactly its own deadline, and the
//! option combines with `expires`.

use std::collections::BTreeSet;
use std::time::Duration;

use memo::clock::MockClock;
use memo::memoize;

#[memoize(ttl = Duration::from_secs(100), jitter = 0.1)]
fn spread(n: u64) -> u64 {
    n + 1
}

#[test]
fn entries_written_together_expire_apart_within_the_range() {
    let clock = MockClock::start();
    for n in 0..1000 {
        spread(n);
    }
    let left: Vec<Duration> = (0..1000_u64).map(|n| spread_cache().expires_in(&n).unwrap()).collect();
    let (min, max) = (*left.iter().min().unwrap(), *left.iter().max().unwrap());
    assert!(min >= Duration::from_secs(90) && max < Duration::from_secs(110), "{min:?}..{max:?}");
    // 1,000 uniform draws reach into each end's last 5%.
    assert!(min < Duration::from_secs(91) && max > Duration::from_secs(109), "{min:?}..{max:?}");
    let distinct: BTreeSet<Duration> = left.iter().copied().collect();
    assert!(distinct.len() > 900, "only {} distinct lifetimes", distinct.len());

    // Each entry expires at its own deadline, to the nanosecond.
    let first = (0..1000_u64).min_by_key(|&n| left[n as usize]).unwrap();
    clock.advance(min - Duration::from_nanos(1));
    assert_eq!(spread_cache().len(), 1000);
    assert!(spread_cache().contains(&first));
    clock.advance(Duration::from_nanos(1));
    assert!(!spread_cache().contains(&first));
    let misses = spread_cache().info().misses;
    assert_eq!(spread(first), first + 1);
    assert_eq!(spread_cache().info().misses, misses + 1, "an expired entry was a hit");
    // By the last deadline, nothing is left.
    clock.advance(max - min);
    assert!((0..1000_u64).all(|n| !spread_cache().contains(&n) || n == first));
}

#[memoize(expires = |value: &u64| Some(Duration::from_secs(*value)), jitter = 0.5)]
fn own_lifetime(seconds: u64) -> u64 {
    seconds
}

#[memoize(ttl = Duration::from_secs(10), jitter = 0)]
fn unspread(n: u64) -> u64 {
    n
}

#[test]
fn jitter_spreads_a_value_s_own_lifetime_and_zero_spreads_nothing() {
    let _clock = MockClock::start();
    own_lifetime(1000);
    let left = own_lifetime_cache().expires_in(&1000_u64).unwrap();
    assert!(left >= Duration::from_secs(500) && left < Duration::from_secs(1500), "{left:?}");
    unspread(1);
    assert_eq!(unspread_cache().expires_in(&1_u64), Some(Duration::from_secs(10)));
}
