//! The miss path, for every cache of `peers` in one run: each sample starts
//! from a cache emptied by its own `clear` (not timed).
//!
//! - miss plus insert: 10,000 distinct keys into an unbounded cache and into
//!   one of at most 1,000 entries (which evicts 9,000 of them);
//! - `fib(90)` from an empty cache: 91 misses and 88 hits, each miss inside
//!   the one before it.
//!
//! `cargo bench --bench misses`

mod peers;

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use peers::{LRU, UNBOUNDED};

const DISTINCT: u64 = 10_000;

fn miss_insert(c: &mut Criterion) {
    for (group, families) in [("10,000 misses, unbounded", UNBOUNDED), ("10,000 misses, LRU(1000)", LRU)] {
        let mut group = c.benchmark_group(group);
        for &family in families {
            group.bench_function(family.name, |b| {
                b.iter_batched(
                    family.clear,
                    |()| {
                        for n in 0..DISTINCT {
                            black_box((family.mix)(black_box(n)));
                        }
                    },
                    BatchSize::PerIteration,
                );
            });
        }
        group.finish();
    }
}

fn fib_cold(c: &mut Criterion) {
    let mut group = c.benchmark_group("fib(90) from an empty cache");
    for &family in UNBOUNDED.iter().chain(LRU) {
        group.bench_function(family.name, |b| {
            b.iter_batched(family.clear, |()| (family.fib)(black_box(90)), BatchSize::PerIteration);
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = peers::criterion();
    targets = miss_insert, fib_cold
}
criterion_main!(benches);
