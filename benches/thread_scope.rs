//! `scope = thread` beside what a user would write by hand for one thread:
//!
//! - a hit of one of 1,000 warm `u64` keys, beside a `thread_local!`
//!   `RefCell` over a foldhash `HashMap`;
//! - a DP whose recursion is `n` deep, `ways(n) = ways(n-1) + ways(n-2) +
//!   ways(n-3)` at `n = 20,000` from an empty cache, beside the same memo by
//!   hand, passing a `&mut HashMap` down the recursion (the fastest memo
//!   there is), beside the `thread_local!` memo, and, for the shared cache,
//!   beside the hand-written `Mutex<HashMap>` memo of the other benches.
//!
//! The benches run on a thread with a 256 MiB stack, so that the depth fits
//! whatever a level costs.
//!
//! `cargo bench --bench thread_scope`

mod peers;

use std::cell::RefCell;
use std::hint::black_box;

use criterion::{BatchSize, Criterion};
use peers::{KEYS, keys};

type Map = hashbrown::HashMap<u64, u64, foldhash::fast::RandomState>;

#[memo::memoize(scope = thread)]
fn memo_square(n: u64) -> u64 {
    n.wrapping_mul(n)
}

thread_local! {
    static SQUARES: RefCell<Map> = RefCell::new(Map::default());
    static WAYS: RefCell<Map> = RefCell::new(Map::default());
}

fn tls_square(n: u64) -> u64 {
    if let Some(v) = SQUARES.with(|m| m.borrow().get(&n).copied()) {
        return v;
    }
    let v = n.wrapping_mul(n);
    SQUARES.with(|m| m.borrow_mut().insert(n, v));
    v
}

const DEPTH: u64 = 20_000;

#[memo::memoize(scope = thread)]
fn memo_ways(n: u64) -> u64 {
    if n < 3 { 1 } else { memo_ways(n - 1).wrapping_add(memo_ways(n - 2)).wrapping_add(memo_ways(n - 3)) }
}

#[memo::memoize]
fn memo_shared_ways(n: u64) -> u64 {
    if n < 3 {
        1
    } else {
        memo_shared_ways(n - 1).wrapping_add(memo_shared_ways(n - 2)).wrapping_add(memo_shared_ways(n - 3))
    }
}

fn ways_by_hand(n: u64, memo: &mut Map) -> u64 {
    if n < 3 {
        return 1;
    }
    if let Some(&v) = memo.get(&n) {
        return v;
    }
    let v = ways_by_hand(n - 1, memo)
        .wrapping_add(ways_by_hand(n - 2, memo))
        .wrapping_add(ways_by_hand(n - 3, memo));
    memo.insert(n, v);
    v
}

/// The baseline of the shared cache: the hand-written memo of the other
/// benches (a `parking_lot::Mutex` over the map: look up, unlock, run, lock,
/// insert).
static LOCKED_WAYS: std::sync::LazyLock<parking_lot::Mutex<Map>> = std::sync::LazyLock::new(Default::default);

fn locked_ways(n: u64) -> u64 {
    if n < 3 {
        return 1;
    }
    if let Some(&v) = LOCKED_WAYS.lock().get(&n) {
        return v;
    }
    let v = locked_ways(n - 1).wrapping_add(locked_ways(n - 2)).wrapping_add(locked_ways(n - 3));
    LOCKED_WAYS.lock().insert(n, v);
    v
}

fn tls_ways(n: u64) -> u64 {
    if n < 3 {
        return 1;
    }
    if let Some(v) = WAYS.with(|m| m.borrow().get(&n).copied()) {
        return v;
    }
    let v = tls_ways(n - 1).wrapping_add(tls_ways(n - 2)).wrapping_add(tls_ways(n - 3));
    WAYS.with(|m| m.borrow_mut().insert(n, v));
    v
}

fn hits(c: &mut Criterion) {
    for n in 0..KEYS {
        memo_square(n);
        tls_square(n);
    }
    let mut group = c.benchmark_group("scope = thread hit, 1,000 warm u64 keys");
    let mut next = keys();
    group.bench_function("memo scope = thread", |b| b.iter(|| memo_square(black_box(next()))));
    let mut next = keys();
    group.bench_function("by hand: thread_local! RefCell<HashMap>", |b| {
        b.iter(|| tls_square(black_box(next())))
    });
    group.finish();
}

fn deep(c: &mut Criterion) {
    let mut group = c.benchmark_group("ways(20,000), recursion 20,000 deep, from empty");
    group.bench_function("memo scope = thread", |b| {
        b.iter_batched(
            || memo_ways_cache().clear(),
            |()| memo_ways(black_box(DEPTH)),
            BatchSize::PerIteration,
        );
    });
    group.bench_function("memo (shared)", |b| {
        b.iter_batched(
            || memo_shared_ways_cache().clear(),
            |()| memo_shared_ways(black_box(DEPTH)),
            BatchSize::PerIteration,
        );
    });
    group.bench_function("by hand: &mut HashMap passed down", |b| {
        b.iter_batched(
            || Map::with_capacity_and_hasher(0, foldhash::fast::RandomState::default()),
            |mut memo| ways_by_hand(black_box(DEPTH), &mut memo),
            BatchSize::PerIteration,
        );
    });
    group.bench_function("by hand: Mutex<HashMap> (baseline)", |b| {
        b.iter_batched(
            || *LOCKED_WAYS.lock() = Map::default(),
            |()| locked_ways(black_box(DEPTH)),
            BatchSize::PerIteration,
        );
    });
    group.bench_function("by hand: thread_local! RefCell<HashMap>", |b| {
        b.iter_batched(
            || WAYS.with(|m| m.borrow_mut().clear()),
            |()| tls_ways(black_box(DEPTH)),
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

fn main() {
    let run = || {
        let mut c = peers::criterion().configure_from_args();
        hits(&mut c);
        deep(&mut c);
        c.final_summary();
    };
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(run)
        .expect("a bench thread")
        .join()
        .expect("the benches ran");
}
