//! The paths that the README's instruction table counts, each in a function
//! of its own, so that callgrind can count one at a time: a `u64` hit of one
//! warm key, a miss of an ever new key (unbounded and LRU(1000)), the same
//! beside a hand-written `Mutex<HashMap>` memo, `fib(90)` from an empty
//! cache, memoized and by hand, and a hit of `scope = thread` beside a
//! `thread_local!` `RefCell<HashMap>` memo.
//!
//! Run as an example it checks the results and prints the operations per
//! path. Counted (instructions per operation = the path's count / its
//! operations):
//!
//! ```text
//! cargo build --release --example instructions
//! for path in hit lru_hit miss lru_miss hand_miss fib hand_fib local_hit tls_hit; do
//!   valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.$path \
//!     --toggle-collect="instructions::$path" target/release/examples/instructions
//! done
//! ```
//!
//! then `callgrind_annotate /tmp/cg.<path> | head` for each (the "PROGRAM
//! TOTALS" line).

use std::cell::RefCell;
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::{LazyLock, Mutex};

use memo::memoize;

/// Operations per path.
const ROUNDS: u64 = 100_000;

#[memoize]
fn unbounded(n: u64) -> u64 {
    n.wrapping_mul(3)
}

#[memoize(maxsize = 1000)]
fn bounded(n: u64) -> u64 {
    n.wrapping_mul(3)
}

#[memoize(scope = thread)]
fn per_thread(n: u64) -> u64 {
    n.wrapping_mul(3)
}

thread_local! {
    static TLS_BY_HAND: RefCell<HashMap<u64, u64, foldhash::fast::RandomState>> = RefCell::default();
}

fn tls_memo(n: u64) -> u64 {
    if let Some(value) = TLS_BY_HAND.with_borrow(|memo| memo.get(&n).copied()) {
        return value;
    }
    let value = n.wrapping_mul(3);
    TLS_BY_HAND.with_borrow_mut(|memo| memo.insert(n, value));
    value
}

#[memoize]
fn fib_memo(n: u64) -> u64 {
    if n < 2 { n } else { fib_memo(n - 1).wrapping_add(fib_memo(n - 2)) }
}

static BY_HAND: LazyLock<Mutex<HashMap<u64, u64, foldhash::fast::RandomState>>> =
    LazyLock::new(Mutex::default);

fn hand_memo(n: u64) -> u64 {
    if let Some(&value) = BY_HAND.lock().unwrap().get(&n) {
        return value;
    }
    let value = n.wrapping_mul(3);
    BY_HAND.lock().unwrap().insert(n, value);
    value
}

static FIB_BY_HAND: LazyLock<Mutex<HashMap<u64, u64, foldhash::fast::RandomState>>> =
    LazyLock::new(Mutex::default);

fn fib_by_hand(n: u64) -> u64 {
    if let Some(&value) = FIB_BY_HAND.lock().unwrap().get(&n) {
        return value;
    }
    let value = if n < 2 { n } else { fib_by_hand(n - 1).wrapping_add(fib_by_hand(n - 2)) };
    FIB_BY_HAND.lock().unwrap().insert(n, value);
    value
}

#[inline(never)]
fn hit() -> u64 {
    (0..ROUNDS).fold(0, |sum, _| sum.wrapping_add(unbounded(black_box(7))))
}

#[inline(never)]
fn lru_hit() -> u64 {
    (0..ROUNDS).fold(0, |sum, _| sum.wrapping_add(bounded(black_box(7))))
}

#[inline(never)]
fn miss() -> u64 {
    (0..ROUNDS).fold(0, |sum, n| sum.wrapping_add(unbounded(black_box(1_000 + n))))
}

#[inline(never)]
fn lru_miss() -> u64 {
    (0..ROUNDS).fold(0, |sum, n| sum.wrapping_add(bounded(black_box(1_000 + n))))
}

#[inline(never)]
fn hand_miss() -> u64 {
    (0..ROUNDS).fold(0, |sum, n| sum.wrapping_add(hand_memo(black_box(1_000 + n))))
}

#[inline(never)]
fn local_hit() -> u64 {
    (0..ROUNDS).fold(0, |sum, _| sum.wrapping_add(per_thread(black_box(7))))
}

#[inline(never)]
fn tls_hit() -> u64 {
    (0..ROUNDS).fold(0, |sum, _| sum.wrapping_add(tls_memo(black_box(7))))
}

/// `fib(90)` from an empty cache, `ROUNDS / 100` times.
#[inline(never)]
fn fib() -> u64 {
    (0..ROUNDS / 100).fold(0, |sum, _| {
        fib_memo_cache().clear();
        sum.wrapping_add(fib_memo(black_box(90)))
    })
}

#[inline(never)]
fn hand_fib() -> u64 {
    (0..ROUNDS / 100).fold(0, |sum, _| {
        FIB_BY_HAND.lock().unwrap().clear();
        sum.wrapping_add(fib_by_hand(black_box(90)))
    })
}

fn main() {
    // Warm: the one key of the hits, and each function's cache made.
    unbounded(7);
    bounded(7);
    hand_memo(7);
    per_thread(7);
    tls_memo(7);
    let triple = |n: u64| n.wrapping_mul(3);
    let misses = (0..ROUNDS).fold(0u64, |sum, n| sum.wrapping_add(triple(1_000 + n)));
    assert_eq!(hit(), triple(7).wrapping_mul(ROUNDS));
    assert_eq!(lru_hit(), triple(7).wrapping_mul(ROUNDS));
    assert_eq!(local_hit(), triple(7).wrapping_mul(ROUNDS));
    assert_eq!(tls_hit(), triple(7).wrapping_mul(ROUNDS));
    assert_eq!(miss(), misses);
    assert_eq!(lru_miss(), misses);
    assert_eq!(hand_miss(), misses);
    let fib90 = 2_880_067_194_370_816_120_u64;
    assert_eq!(fib(), fib90.wrapping_mul(ROUNDS / 100));
    assert_eq!(hand_fib(), fib90.wrapping_mul(ROUNDS / 100));
    println!("hit, lru_hit, miss, lru_miss, hand_miss, local_hit, tls_hit: {ROUNDS} operations each");
    println!("fib, hand_fib: {} runs of fib(90) from an empty cache each", ROUNDS / 100);
}
