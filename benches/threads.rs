//! Hits per second on a shared cache, one thread against two, on warm keys,
//! for every shared cache of `peers` in one run (`memoize`'s default cache is
//! one per thread, so its `SharedCache` mode stands in).
//!
//! Each sample is wall time over all the hits of all threads, divided by the
//! number of hits: the time per hit of the cache as a whole. One thread's
//! figure divided by two threads' is the scaling factor.
//!
//! `cargo bench --bench threads`

mod peers;

use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use peers::{KEYS, SHARED};

/// Wall time of `threads` threads making `iters` calls each, per call.
fn run(threads: u64, iters: u64, f: fn(u64) -> u64) -> Duration {
    let start = Arc::new(Barrier::new(usize::try_from(threads).unwrap() + 1));
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let start = Arc::clone(&start);
            thread::spawn(move || {
                // Each thread its own sequence of warm keys.
                let mut x = 0x2545_F491_4F6C_DD1D_u64 ^ (t + 1);
                start.wait();
                for _ in 0..iters {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    black_box(f(black_box(x % KEYS)));
                }
            })
        })
        .collect();
    start.wait();
    let begin = Instant::now();
    for worker in workers {
        worker.join().unwrap();
    }
    begin.elapsed() / u32::try_from(threads).unwrap()
}

fn scaling(c: &mut Criterion) {
    let mut group = c.benchmark_group("shared cache, time per hit");
    for &family in SHARED {
        for n in 0..KEYS {
            (family.mix)(n);
        }
        for threads in [1, 2] {
            group.bench_function(format!("{}, {threads} thread(s)", family.name), |b| {
                b.iter_custom(|iters| run(threads, iters, family.mix));
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = peers::criterion();
    targets = scaling
}
criterion_main!(benches);
