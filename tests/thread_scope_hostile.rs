//! `scope = thread` against user code that calls back into the cache: a
//! value's `Clone`, a key's `Eq`, a value's `Drop`, a body that clears the
//! cache or calls itself with its own key. Each returns what the plain
//! function returns, and nothing panics inside memo ("RefCell already
//! borrowed", or a false "infinite recursion").

use std::cell::Cell;
use std::hash::{Hash, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind};

use memo::memoize;

thread_local! {
    static CLONES_CALL_BACK: Cell<bool> = const { Cell::new(false) };
    static RUNS: Cell<u32> = const { Cell::new(0) };
    /// Set while a callback runs: callbacks go one level deep, so that the
    /// tests stay linear.
    static IN_CALLBACK: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` as a callback, unless one is running already.
fn callback(f: impl FnOnce()) {
    if !IN_CALLBACK.with(|c| c.replace(true)) {
        f();
        IN_CALLBACK.with(|c| c.set(false));
    }
}

/// A value whose `Clone` calls the memoized function that returns it.
#[derive(Debug, PartialEq)]
struct Echo(u32);

impl Clone for Echo {
    fn clone(&self) -> Self {
        if CLONES_CALL_BACK.with(Cell::get) && self.0 > 0 {
            // A hit or a miss of another key, from inside this cache's work.
            callback(|| {
                let _ = echo(self.0 - 1);
            });
        }
        Echo(self.0)
    }
}

#[memoize(scope = thread)]
fn echo(n: u32) -> Echo {
    Echo(n)
}

#[test]
fn a_value_whose_clone_calls_the_same_function() {
    CLONES_CALL_BACK.with(|c| c.set(true));
    for n in 0..50 {
        assert_eq!(echo(n), Echo(n));
        assert_eq!(echo(n), Echo(n));
    }
    CLONES_CALL_BACK.with(|c| c.set(false));
}

#[memoize(scope = thread, maxsize = 10)]
fn echo_lru(n: u32) -> EchoLru {
    EchoLru(n)
}

#[derive(Debug, PartialEq)]
struct EchoLru(u32);

impl Clone for EchoLru {
    fn clone(&self) -> Self {
        if self.0 > 0 {
            callback(|| {
                let _ = echo_lru(self.0 - 1);
            });
        }
        EchoLru(self.0)
    }
}

#[test]
fn a_value_whose_clone_calls_the_same_function_in_an_lru() {
    for round in 0..3 {
        for n in 0..30 {
            assert_eq!(echo_lru(n), EchoLru(n), "round {round}");
        }
    }
    assert!(echo_lru_cache().info().currsize <= 10);
}

/// A key whose `Eq` calls the memoized function it is a key of.
#[derive(Debug, Clone)]
struct Nosy(u32);

impl PartialEq for Nosy {
    fn eq(&self, other: &Self) -> bool {
        if self.0 > 0 {
            callback(|| {
                let _ = nosy(Nosy(self.0 - 1));
            });
        }
        self.0 == other.0
    }
}
impl Eq for Nosy {}
impl Hash for Nosy {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Every key in one bucket: every lookup compares.
        0_u8.hash(state);
    }
}

#[memoize(scope = thread)]
fn nosy(key: Nosy) -> u32 {
    key.0 * 2
}

#[test]
fn a_key_whose_eq_calls_the_same_function() {
    for n in 0..20 {
        assert_eq!(nosy(Nosy(n)), n * 2);
        assert_eq!(nosy(Nosy(n)), n * 2);
    }
}

/// A value whose `Drop` calls the function, when it is evicted.
#[derive(Debug, Clone, PartialEq)]
struct Loud(u32);

impl Drop for Loud {
    fn drop(&mut self) {
        if self.0 > 1000 {
            callback(|| {
                let _ = loud(self.0 - 1000);
            });
        }
    }
}

#[memoize(scope = thread, maxsize = 1)]
fn loud(n: u32) -> Loud {
    Loud(n)
}

#[test]
fn a_value_whose_drop_calls_the_function_on_eviction() {
    for n in 1001..1020 {
        assert_eq!(loud(n), Loud(n));
    }
    assert_eq!(loud_cache().info().currsize, 1);
}

#[memoize(scope = thread, key = n / 2)]
fn paired(n: u64) -> u64 {
    if n == 0 { 0 } else { paired(n - 1) + 1 }
}

#[test]
fn a_same_key_call_that_is_not_infinite_recursion() {
    // `paired(5)` calls `paired(4)`, of the same key 2: the plain function's
    // value, not a panic.
    assert_eq!(paired(5), 5);
    assert_eq!(paired(1), 1);
}

#[memoize(scope = thread)]
fn clears_itself(n: u32) -> u32 {
    RUNS.with(|r| r.set(r.get() + 1));
    clears_itself_cache().clear();
    n
}

#[test]
fn a_value_computed_before_a_clear_is_not_stored_after_it() {
    RUNS.with(|r| r.set(0));
    assert_eq!(clears_itself(7), 7);
    assert_eq!(clears_itself(7), 7);
    assert_eq!(RUNS.with(Cell::get), 2, "the first value was computed before the clear, so it was not kept");
    assert_eq!(clears_itself_cache().info().currsize, 0);
}

/// A value whose `Clone` clears the cache that holds it.
#[derive(Debug, PartialEq)]
struct Eraser(u32);

impl Clone for Eraser {
    fn clone(&self) -> Self {
        eraser_cache().clear();
        Eraser(self.0)
    }
}

#[memoize(scope = thread)]
fn eraser(n: u32) -> Eraser {
    RUNS.with(|r| r.set(r.get() + 1));
    Eraser(n)
}

#[test]
fn a_clone_that_clears_the_cache_wins() {
    RUNS.with(|r| r.set(0));
    // The miss's clone for the store clears first; the value is from before.
    assert_eq!(eraser(1), Eraser(1));
    assert_eq!(eraser(1), Eraser(1));
    assert_eq!(RUNS.with(Cell::get), 2);
    assert_eq!(eraser_cache().info().currsize, 0);
}

thread_local! {
    static PANIC_ONCE: Cell<bool> = const { Cell::new(false) };
}

#[derive(Debug, PartialEq)]
struct Brittle(u32);

impl Clone for Brittle {
    fn clone(&self) -> Self {
        if PANIC_ONCE.with(|p| p.replace(false)) {
            panic!("clone failed");
        }
        Brittle(self.0)
    }
}

#[memoize(scope = thread)]
fn brittle(n: u32) -> Brittle {
    Brittle(n)
}

#[test]
fn a_clone_that_panics_reaches_the_caller_and_leaves_the_cache_working() {
    assert_eq!(brittle(3), Brittle(3));
    PANIC_ONCE.with(|p| p.set(true));
    let caught = catch_unwind(AssertUnwindSafe(|| brittle(3)));
    assert!(caught.is_err(), "the hit's clone panicked: the caller sees it");
    assert_eq!(brittle(3), Brittle(3));
    PANIC_ONCE.with(|p| p.set(true));
    let caught = catch_unwind(AssertUnwindSafe(|| brittle(4)));
    assert!(caught.is_err(), "the miss's clone for the store panicked");
    assert_eq!(brittle(4), Brittle(4));
    assert_eq!(brittle(4), Brittle(4));
    assert!(brittle_cache().info().hits >= 2);
}
