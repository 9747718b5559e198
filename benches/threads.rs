//! Hits per second on a shared cache, one thread against two, on warm keys:
//! the stores are split into independently locked parts, so two threads should
//! get close to twice the hits of one. A hand-written `Mutex<HashMap>` memo,
//! which stops scaling at one core, runs beside them.
//!
//! Each sample is wall time over all the hits of all threads, divided by the
//! number of hits: the time per hit of the cache as a whole. One thread's
//! figure divided by two threads' is the scaling factor.
//!
//! `cargo bench --bench threads`

use std::hint::black_box;
use std::sync::{Arc, Barrier, LazyLock};
use std::thread;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use memo::memoize;
use parking_lot::Mutex;

const KEYS: u64 = 1_000;

#[memoize]
fn unbounded(n: u64) -> u64 {
    n.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

#[memoize(maxsize = 1_000)]
fn lru(n: u64) -> u64 {
    n.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

type Map = hashbrown::HashMap<u64, u64, foldhash::fast::RandomState>;
static BASELINE: LazyLock<Mutex<Map>> = LazyLock::new(Mutex::default);

fn baseline(n: u64) -> u64 {
    if let Some(&v) = BASELINE.lock().get(&n) {
        return v;
    }
    let v = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    BASELINE.lock().insert(n, v);
    v
}

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
    for n in 0..KEYS {
        unbounded(n);
        lru(n);
        baseline(n);
    }
    type Memoized = fn(u64) -> u64;
    let functions: [(&str, Memoized); 3] =
        [("memo unbounded", unbounded), ("memo lru(1000)", lru), ("baseline Mutex<HashMap>", baseline)];
    let mut group = c.benchmark_group("shared cache, time per hit");
    for (name, f) in functions {
        for threads in [1, 2] {
            group.bench_function(format!("{name}, {threads} thread(s)"), |b| {
                b.iter_custom(|iters| run(threads, iters, f));
            });
        }
    }
    group.finish();
}

criterion_group!(benches, scaling);
criterion_main!(benches);
