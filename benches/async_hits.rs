//! The hit path of a memoized `async fn`, next to the same function memoized
//! sync and to `cached`'s `async fn`, and to a hand-written async memo over a
//! `Mutex<HashMap>`. Each call is polled once, to completion, with a no-op
//! waker: what is measured is the cache and the future, not an executor.
//!
//! `cargo bench --all-features --bench async_hits`

mod peers;

use std::hint::black_box;
use std::pin::pin;
use std::sync::LazyLock;
use std::task::{Context, Poll, Waker};

use criterion::{Criterion, criterion_group, criterion_main};
use parking_lot::Mutex;
use peers::{KEYS, keys};

#[memo::memoize]
async fn memo_async(n: u64) -> u64 {
    n.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

#[cached::proc_macro::cached]
async fn cached_async(n: u64) -> u64 {
    n.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

type Map = hashbrown::HashMap<u64, u64, foldhash::fast::RandomState>;
static BASELINE: LazyLock<Mutex<Map>> = LazyLock::new(Mutex::default);

async fn baseline_async(n: u64) -> u64 {
    if let Some(&v) = BASELINE.lock().get(&n) {
        return v;
    }
    let v = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    BASELINE.lock().insert(n, v);
    v
}

/// Polls `future` once; a hit is ready at once.
fn ready<T>(future: impl Future<Output = T>) -> T {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(future).poll(&mut cx) {
        Poll::Ready(value) => value,
        Poll::Pending => panic!("a hit was not ready on its first poll"),
    }
}

fn hits(c: &mut Criterion) {
    for n in 0..KEYS {
        ready(memo_async(n));
        ready(cached_async(n));
        ready(baseline_async(n));
        peers::memo_unbounded::mix(n);
    }
    let mut group = c.benchmark_group("async u64 hit, unbounded");
    let mut next = keys();
    group.bench_function("memo async fn", |b| b.iter(|| ready(memo_async(black_box(next())))));
    group.bench_function("memo sync fn", |b| b.iter(|| peers::memo_unbounded::mix(black_box(next()))));
    group.bench_function("baseline async Mutex<HashMap>", |b| {
        b.iter(|| ready(baseline_async(black_box(next()))));
    });
    group.bench_function("cached async fn", |b| b.iter(|| ready(cached_async(black_box(next())))));
    group.finish();
}

criterion_group! {
    name = benches;
    config = peers::criterion();
    targets = hits
}
criterion_main!(benches);
