//! The hit and miss paths of a memoized `fib`, beside a hand-written
//! `parking_lot::Mutex<hashbrown::HashMap>` memo with the same shape (look up
//! under the lock, release it, run the body, lock again to insert).
//!
//! `cargo bench --bench fib`

use std::hash::BuildHasher;
use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use memo::memoize;

const KEYS: u64 = 1_000;

#[memoize]
fn fib(n: u64) -> u64 {
    if n < 2 { n } else { fib(n - 1).wrapping_add(fib(n - 2)) }
}

#[memoize(maxsize = 1_000)]
fn fib_lru(n: u64) -> u64 {
    if n < 2 { n } else { fib_lru(n - 1).wrapping_add(fib_lru(n - 2)) }
}

/// The baseline: what one writes by hand.
mod baseline {
    use std::sync::LazyLock;

    use parking_lot::Mutex;

    pub type Map = hashbrown::HashMap<u64, u64, foldhash::fast::RandomState>;
    pub static MEMO: LazyLock<Mutex<Map>> = LazyLock::new(Mutex::default);

    pub fn fib(n: u64) -> u64 {
        if let Some(&v) = MEMO.lock().get(&n) {
            return v;
        }
        let v = if n < 2 { n } else { fib(n - 1).wrapping_add(fib(n - 2)) };
        MEMO.lock().insert(n, v);
        v
    }
}

fn hits(c: &mut Criterion) {
    let mut group = c.benchmark_group("fib hit, 1,000 warm keys");
    for n in 0..KEYS {
        fib(n);
        fib_lru(n);
        baseline::fib(n);
    }
    let mut next = keys();
    group.bench_function("memo unbounded", |b| b.iter(|| fib(black_box(next()))));
    group.bench_function("memo lru(1000)", |b| b.iter(|| fib_lru(black_box(next()))));
    group.bench_function("baseline Mutex<HashMap>", |b| b.iter(|| baseline::fib(black_box(next()))));
    group.finish();
}

fn misses(c: &mut Criterion) {
    let mut group = c.benchmark_group("fib(90) from an empty cache");
    group.bench_function("memo unbounded", |b| {
        b.iter_batched(|| fib_cache().clear(), |()| fib(black_box(90)), BatchSize::PerIteration);
    });
    group.bench_function("memo lru(1000)", |b| {
        b.iter_batched(|| fib_lru_cache().clear(), |()| fib_lru(black_box(90)), BatchSize::PerIteration);
    });
    group.bench_function("baseline Mutex<HashMap>", |b| {
        b.iter_batched(
            // From nothing, as `fib_cache().clear()` leaves the cache.
            || *baseline::MEMO.lock() = baseline::Map::default(),
            |()| baseline::fib(black_box(90)),
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

/// Keys in an order the branch predictor cannot learn, all below `KEYS`.
fn keys() -> impl FnMut() -> u64 {
    let state = foldhash::fast::FixedState::with_seed(1);
    let mut i = 0_u64;
    move || {
        i += 1;
        state.hash_one(i) % KEYS
    }
}

criterion_group!(benches, hits, misses);
criterion_main!(benches);
