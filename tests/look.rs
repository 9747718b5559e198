//! Looking at a cache without computing: `contains`, `peek` and
//! `expires_in` count nothing, leave an LRU's order alone, never show an
//! expired entry, and survive user code that calls back into the cache.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use memo::clock::MockClock;
use memo::{Exact, Lru, Store, Tiered, Unbounded, memoize};

#[memoize]
fn double(x: u64) -> u64 {
    x * 2
}

#[test]
fn a_look_counts_nothing_and_finds_only_what_is_there() {
    double(1);
    let before = double_cache().info();
    assert!(double_cache().contains(&1_u64));
    assert!(!double_cache().contains(&2_u64));
    assert_eq!(double_cache().peek(&1_u64), Some(2_u64));
    assert_eq!(double_cache().peek::<_, u64>(&2_u64), None);
    // A key or a value of another type than the cache's finds nothing.
    assert!(!double_cache().contains(&1_i32));
    assert_eq!(double_cache().peek::<_, u32>(&1_u64), None);
    // An entry that never expires has no time left to tell.
    assert_eq!(double_cache().expires_in(&1_u64), None);
    let after = double_cache().info();
    assert_eq!((after.hits, after.misses, after.currsize), (before.hits, before.misses, before.currsize));
}

static RECENT_RUNS: AtomicU32 = AtomicU32::new(0);

#[memoize(maxsize = 2)]
fn recent(x: u64) -> u64 {
    RECENT_RUNS.fetch_add(1, Ordering::SeqCst);
    x + 100
}

#[memoize(scope = thread, maxsize = 2)]
fn recent_here(x: u64) -> u64 {
    x + 100
}

#[test]
fn a_look_leaves_the_lru_order_alone() {
    recent(1);
    recent(2);
    // A lookup of 1 would make 2 the least recent; a look does not.
    assert_eq!(recent_cache().peek(&1_u64), Some(101_u64));
    assert!(recent_cache().contains(&1_u64));
    recent(3);
    assert!(!recent_cache().contains(&1_u64), "the look moved 1 up the LRU order");
    assert!(recent_cache().contains(&2_u64));
    assert_eq!(recent_cache().info().hits, 0);

    recent_here(1);
    recent_here(2);
    assert_eq!(recent_here_cache().peek(&1_u64), Some(101_u64));
    recent_here(3);
    assert!(!recent_here_cache().contains(&1_u64), "the look moved 1 up the LRU order");
    assert!(recent_here_cache().contains(&2_u64));
    assert_eq!(recent_here_cache().info().hits, 0);
}

#[memoize(ttl = Duration::from_secs(60))]
fn quote(item: u64) -> u64 {
    item * 10
}

#[memoize(expires = |_value: &u64| None::<Duration>)]
fn kept(item: u64) -> u64 {
    item
}

#[test]
fn a_look_never_shows_an_expired_entry_and_tells_the_time_left_to_the_nanosecond() {
    let clock = MockClock::start();
    quote(7);
    assert_eq!(quote_cache().expires_in(&7_u64), Some(Duration::from_secs(60)));
    clock.advance(Duration::from_secs(60) - Duration::from_nanos(1));
    assert!(quote_cache().contains(&7_u64));
    assert_eq!(quote_cache().peek(&7_u64), Some(70_u64));
    assert_eq!(quote_cache().expires_in(&7_u64), Some(Duration::from_nanos(1)));
    clock.advance(Duration::from_nanos(1));
    assert!(!quote_cache().contains(&7_u64));
    assert_eq!(quote_cache().peek::<_, u64>(&7_u64), None);
    assert_eq!(quote_cache().expires_in(&7_u64), None);
    assert_eq!(quote_cache().info().hits, 0);

    // An entry of a cache with expiry that never expires.
    kept(3);
    assert!(kept_cache().contains(&3_u64));
    assert_eq!(kept_cache().expires_in(&3_u64), None);
    assert_eq!(kept_cache().peek(&3_u64), Some(3_u64));
}

#[memoize]
fn shown<T: std::fmt::Display + 'static>(x: u64) -> String {
    format!("{x}:{}", std::any::type_name::<T>())
}

#[memoize]
fn sized<T: 'static>(x: u64) -> usize {
    x as usize + std::mem::size_of::<T>()
}

#[test]
fn a_generic_function_is_looked_at_in_the_cache_of_the_value_asked_for() {
    shown::<u8>(1);
    shown::<u16>(2);
    assert_eq!(shown_cache().peek(&2_u64), Some("2:u16".to_string()));
    assert!(shown_cache().contains(&1_u64));
    sized::<u8>(5);
    sized::<u64>(6);
    assert_eq!(sized_cache().peek(&6_u64), Some(14_usize));
}

/// A value whose `Clone` looks at its own cache and calls its function
/// again, for a key not cached yet.
#[derive(Debug, PartialEq)]
struct Nosy(u64);

impl Clone for Nosy {
    fn clone(&self) -> Self {
        if self.0 < 3 {
            let _ = nosy_cache().contains(&(self.0 + 1));
            let _ = nosy_cache().peek::<_, Nosy>(&self.0);
            let _ = nosy(self.0 + 1);
        }
        Nosy(self.0)
    }
}

#[memoize]
fn nosy(x: u64) -> Nosy {
    Nosy(x)
}

/// Runs `f` on a thread of its own; fails if it does not end within 10 s
/// (a hang, where the old code deadlocked).
fn within(what: &str, f: impl FnOnce() + Send + 'static) {
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        f();
        let _ = done.send(());
    });
    finished.recv_timeout(Duration::from_secs(10)).unwrap_or_else(|_| panic!("{what} hung"));
}

#[test]
fn a_clone_that_calls_back_into_the_cache_during_a_look_does_not_hang() {
    within("a look whose clone calls back", || {
        nosy(0);
        assert_eq!(nosy_cache().peek(&0_u64), Some(Nosy(0)));
        assert!(nosy_cache().contains(&3_u64));
    });
}

/// A value whose `Drop` calls a generic function with a type it was never
/// called with, which makes that instantiation's cache.
struct Haunting(u64);

impl Drop for Haunting {
    fn drop(&mut self) {
        let _ = haunted::<[u8; 7]>(self.0);
    }
}

impl Clone for Haunting {
    fn clone(&self) -> Self {
        Haunting(self.0)
    }
}

#[memoize]
fn haunted<T: 'static>(x: u64) -> std::sync::Arc<Haunting> {
    let _ = std::mem::size_of::<T>();
    std::sync::Arc::new(Haunting(x))
}

#[test]
fn a_value_whose_drop_makes_a_new_instantiation_during_clear_does_not_deadlock() {
    within("clear() with a drop that makes a cache", || {
        let kept = haunted::<u8>(1);
        drop(kept);
        // The handle's clear drops the value, whose `Drop` makes the cache
        // of `haunted::<[u8; 7]>`: the handle must not hold its list of
        // caches while the user's code runs.
        haunted_cache().clear();
        assert!(haunted_cache().len() <= 1);
    });
}

#[test]
fn a_tiered_look_does_not_fill_the_near_tier() {
    let store = Tiered::new(Lru::<u64, u64>::new(std::num::NonZeroUsize::new(10).unwrap()), Unbounded::new());
    store.far().insert(1, 10).unwrap();
    assert_eq!(store.peek(&Exact(&1), &|_| true).unwrap(), Some(10));
    assert_eq!(store.near().len(), 0, "a look filled the near tier");
    assert_eq!(store.get(&Exact(&1)).unwrap(), Some(10));
    assert_eq!(store.near().len(), 1, "a lookup fills the near tier");
}

#[test]
fn a_tiered_look_past_a_stale_near_entry_finds_the_far_one() {
    // The near tier holds a value that is no longer fresh, the far one a
    // fresh value (another process refreshed it): a look finds the far one,
    // as a lookup would.
    let store = Tiered::new(Unbounded::<u64, u64>::new(), Unbounded::new());
    store.near().insert(1, 3).unwrap();
    store.far().insert(1, 10).unwrap();
    let fresh = |value: &u64| *value > 5;
    assert_eq!(store.peek(&Exact(&1), &fresh).unwrap(), Some(10));
    assert_eq!(store.near().peek(&Exact(&1), &fresh).unwrap(), None);
    assert_eq!(store.near().peek(&Exact(&1), &|_| true).unwrap(), Some(3), "a look removed the stale entry");
}
